/*
 * setting.c: reading the shop's settings (setting.h).
 */
#include "config.h"

#include "conf.h"
#include "db.h"
#include "setting.h"
#include "valid.h"

const char *
setting_text(struct db *db, const char *key, const char *dflt)
{
	struct stmt *st = db_q(db, Q_SETTING_GET);
	const char *v = dflt;

	db_bind_text(db, st, ":key", key);
	if (db_step(db, st) == DB_ROW)
		v = db_text(db, st, 0);
	db_reset(st);
	return v;
}

int64_t
setting_int(struct db *db, const char *key, int64_t dflt, int64_t min, int64_t max)
{
	const char *s = setting_text(db, key, NULL);
	int64_t	 v;

	if (s == NULL || !valid_int(s, min, max, &v))
		return dflt;
	return v;
}

/* db_peek_text, not db_step: the layout of an error page calls this,
 * perhaps after the database failed, and must not fail again. */
const char *
shop_name(struct db *db, struct arena *a, const struct conf *c)
{
	const char *s = db_peek_text(db, Q_SHOP_NAME, a);

	return s != NULL ? s : c->site_name;
}
