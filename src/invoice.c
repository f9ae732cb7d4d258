/*
 * invoice.c: invoice numbers and the details snapshot (invoice.h).
 */
#include "config.h"

#include <inttypes.h>
#include <time.h>

#include "db.h"
#include "invoice.h"
#include "util.h"

int
invoice_year(int64_t t)
{
	time_t	 tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return 1970;
	return tm.tm_year + 1900;
}

int64_t
invoice_issue(struct db *db, int64_t order, const char **number)
{
	struct stmt *st;
	const char *num;
	int64_t	 id, seq, now = now_unix();
	int	 year = invoice_year(now);

	if (!db_in_tx(db))
		db_fail(db, "invoice_issue outside a transaction (order %" PRId64 ")", order);
	st = db_q(db, Q_INVOICE_OF_ORDER);
	db_bind_int(db, st, ":order", order);
	if (db_step(db, st) == DB_ROW) {
		id = db_int(st, 0);
		num = db_text(db, st, 1);
		db_reset(st);
		if (number != NULL)
			*number = num;
		return id;
	}
	db_reset(st);

	/* The counter's CHECK stops a year at 999,999: a hard error, not a
	 * seventh digit that would break the sort order of the numbers. */
	st = db_q(db, Q_INVOICE_NEXT_NUMBER);
	db_bind_int(db, st, ":year", year);
	seq = db_one_int(db, st, 0);
	num = arena_printf(db_arena(db), "%04d-%06" PRId64, year, seq);

	st = db_q(db, Q_INVOICE_INSERT_ORDER);
	db_bind_text(db, st, ":number", num);
	db_bind_int(db, st, ":order", order);
	db_bind_int(db, st, ":now", now);
	if ((id = db_one_int(db, st, 0)) == 0)
		db_fail(db, "invoice_issue: no order %" PRId64, order);
	if (number != NULL)
		*number = num;
	return id;
}
