/*
 * mail_health.c: how many email jobs wait and how many failed in the
 * last hour, against the setting mail.alert_failures (mail_health.h).
 * Its own file because the layout (ui.c), /healthz and the dashboard all
 * read it, and admin_mail.c renders through ui.c.
 */
#include "config.h"

#include "db.h"
#include "mail_health.h"
#include "valid.h"

void
mail_health(struct db *db, int64_t now, struct mail_health *h)
{
	struct stmt *st = db_q(db, Q_MAIL_ALERT);
	int64_t	 v;

	h->queued = h->failed_hour = 0;
	h->limit = MAIL_ALERT_DEFAULT;
	db_bind_int(db, st, ":since", now - 3600);
	if (db_step(db, st) == DB_ROW) {
		h->failed_hour = db_int(st, 0);
		/* A bad stored value never stops a page: the default. */
		if (!db_is_null(st, 1) && valid_int(db_text(db, st, 1), 0, MAIL_ALERT_MAX, &v))
			h->limit = v;
		h->queued = db_int(st, 2);
	}
	db_reset(st);
	h->alert = h->failed_hour > h->limit;
}
