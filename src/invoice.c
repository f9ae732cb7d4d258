/*
 * invoice.c: invoice numbers and the snapshot of details and lines
 * (invoice.h).
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

/*
 * Issue one invoice for the order or payment `ref`: find[] says whether
 * it has one already (returned as it is, taking no number), insert[]
 * writes it with the next number of the year, lines[] copies its lines
 * (invoice_lines, bound :invoice and, for an order, :order).  what names
 * ref in the errors.
 */
static int64_t
issue(struct db *db, enum q find, enum q insert, enum q lines, const char *param, int64_t ref,
    const char *what, const char **number)
{
	struct stmt *st;
	const char *num;
	int64_t	 id, seq, now = now_unix();
	int	 year = invoice_year(now);

	if (!db_in_tx(db))
		db_fail(db, "invoice outside a transaction (%s %" PRId64 ")", what, ref);
	st = db_q(db, find);
	db_bind_int(db, st, param, ref);
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

	st = db_q(db, insert);
	db_bind_text(db, st, ":number", num);
	db_bind_int(db, st, param, ref);
	db_bind_int(db, st, ":now", now);
	/* No row: the rollback that db_fail does gives the number back. */
	if ((id = db_one_int(db, st, 0)) == 0)
		db_fail(db, "invoice: no %s %" PRId64 " to invoice", what, ref);
	/* The lines as they are now, in the same transaction: a plan
	 * renamed or repriced later does not change what this invoice
	 * says it sold. */
	st = db_q(db, lines);
	db_bind_int(db, st, ":invoice", id);
	if (lines == Q_INVOICE_LINES_SNAPSHOT)
		db_bind_int(db, st, param, ref);
	db_step(db, st);
	if (number != NULL)
		*number = num;
	return id;
}

int64_t
invoice_issue(struct db *db, int64_t order, const char **number)
{
	return issue(db, Q_INVOICE_OF_ORDER, Q_INVOICE_INSERT_ORDER, Q_INVOICE_LINES_SNAPSHOT, ":order",
	    order, "order", number);
}

int64_t
invoice_issue_receipt(struct db *db, int64_t payment, const char **number)
{
	return issue(db, Q_INVOICE_OF_PAYMENT, Q_INVOICE_INSERT_PAYMENT, Q_INVOICE_LINE_RECEIPT,
	    ":payment", payment, "succeeded top-up payment", number);
}

void
invoice_order_paid(struct db *db, int64_t order, int64_t when)
{
	struct stmt *st = db_q(db, Q_INVOICE_ORDER_PAID);

	db_bind_int(db, st, ":order", order);
	db_bind_int(db, st, ":now", when);
	db_step(db, st);
}
