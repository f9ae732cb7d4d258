/*
 * cron_life.h: the provisioned client's lifecycle from cron
 * (cron_life.c): `1000proxy cron expire|quota|remind|renew|traffic-reset`.
 * Each asks `work` to act on the panel through client_job_enqueue (the
 * op names the occasion, so a repeat is the same job) or writes its mail
 * and its mark in one transaction, so every task is idempotent and safe
 * to run twice at once.
 *
 * Settings (the settings table; defaults when unset):
 *   clients.expire_grace_days  days after expiry before the client is
 *                              deleted from its panel (3; 0..365)
 *   clients.remind_days        days before expiry the reminder goes (3; 1..60)
 *   clients.renew_days         days before expiry auto-renew buys the
 *                              renewal (1; 0..60)
 */
#ifndef PX_CRON_LIFE_H
#define PX_CRON_LIFE_H

struct conf;

int	cron_expire(const struct conf *, int argc, char **argv);
int	cron_quota(const struct conf *, int argc, char **argv);
int	cron_remind(const struct conf *, int argc, char **argv);
int	cron_renew(const struct conf *, int argc, char **argv);
int	cron_traffic_reset(const struct conf *, int argc, char **argv);

#endif
