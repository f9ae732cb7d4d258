/*
 * cron_payments.h: `1000proxy cron payments`, the payments'
 * reconciliation with their gateways (cron_payments.c); cron.c's table
 * names it.
 */
#ifndef PX_CRON_PAYMENTS_H
#define PX_CRON_PAYMENTS_H

struct conf;

int	cron_payments(const struct conf *, int argc, char **argv);

#endif
