/*
 * mail_health.h: the mail's health as staff see it (mail_health.c):
 * the banner on every staff page (ui.c) and /healthz's mail line
 * (page_health.c) both read it here, so they cannot disagree on what
 * "mail is failing" means.
 */
#ifndef PX_MAIL_HEALTH_H
#define PX_MAIL_HEALTH_H

#include <stdint.h>

struct db;

/* The default of the setting mail.alert_failures, and its range. */
#define MAIL_ALERT_DEFAULT	5
#define MAIL_ALERT_MAX		100000

struct mail_health {
	int64_t	 queued;	/* email jobs pending now */
	int64_t	 failed_hour;	/* email jobs that failed in the last hour */
	int64_t	 limit;		/* mail.alert_failures (default 5) */
	int	 alert;		/* failed_hour > limit */
};

/*
 * Fill h at time now with one statement (Q_MAIL_ALERT).  Database errors
 * follow db.h's contract (the request ends with a 500).
 */
void	mail_health(struct db *, int64_t now, struct mail_health *h);

#endif
