/*
 * cron_sync.h: the cron tasks that keep the shop in step with its panels
 * (cron_sync.c): traffic-sync, drift, alerts.  cron.c's table names them.
 */
#ifndef PX_CRON_SYNC_H
#define PX_CRON_SYNC_H

struct conf;

int	cron_traffic_sync(const struct conf *, int argc, char **argv);
int	cron_drift(const struct conf *, int argc, char **argv);
int	cron_alerts(const struct conf *, int argc, char **argv);

#endif
