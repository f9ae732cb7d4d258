/*
 * admin_export.c: the staff's CSV exports of orders and of the wallet
 * ledger for a date range (the writer, its quoting and its formula
 * rule are csv.c's).
 *
 *   GET /admin/exports/orders.csv   (orders.read)    ?from ?to
 *   GET /admin/exports/ledger.csv   (customers.read) ?from ?to [?customer]
 *
 * The ledger needs customers.read, not wallet.adjust: whoever may open
 * a customer's page already reads that customer's ledger there, and an
 * export is a read; wallet.adjust is for moving money.
 *
 * from and to are UTC days ("YYYY-MM-DD", valid_date), both included,
 * to not before from, at most EXPORT_MAX_DAYS days; anything else is a
 * 400 that says the rule.  The response is buffered like every other
 * (worker.c), so it is capped instead of streamed: more than
 * EXPORT_MAX_ROWS rows, or EXPORT_MAX_BYTES of CSV, is refused with a
 * 400 asking for a shorter range rather than cut silently; the worker
 * frees a buffer that large after the request.  Each export writes one
 * audit row naming the range and the row count.
 */
#include "config.h"

#include <string.h>

#include "csv.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "util.h"
#include "valid.h"

#define EXPORT_MAX_DAYS		366
#define EXPORT_MAX_ROWS		10000
#define EXPORT_MAX_BYTES	(1024 * 1024)

struct range {
	const char	*from_s, *to_s;
	int64_t		 from, to;	/* [from, to): to is the day after ?to */
};

/* ?from and ?to into rg, or a 400 naming the rule. */
static void
range_read(struct request *r, struct range *rg)
{
	rg->from_s = req_query(r, "from");
	rg->to_s = req_query(r, "to");
	if (rg->from_s == NULL || rg->to_s == NULL ||
	    valid_date(rg->from_s, &rg->from) != 0 || valid_date(rg->to_s, &rg->to) != 0)
		req_fail(r, 400, "Choose the days to export: from and to, each written YYYY-MM-DD.");
	if (rg->to < rg->from)
		req_fail(r, 400, "The last day of the export comes before its first day.");
	if ((rg->to - rg->from) / 86400 + 1 > EXPORT_MAX_DAYS)
		req_fail(r, 400, "An export covers at most %d days: choose a shorter range.",
		    EXPORT_MAX_DAYS);
	rg->to += 86400;
}

/*
 * A text column as one cell, read in place (db_blob: valid until the
 * next step) rather than copied into the request's arena as db_text
 * does: an export of many rows would otherwise hold every string of it
 * in the arena until the request ends, beside the CSV itself.
 */
static void
col(struct csv *c, struct stmt *st, int i)
{
	size_t	 n;
	const char *p = db_blob(st, i, &n);

	csv_textn(c, p, n);
}

/* A currency code column into out (three letters, the schema's CHECK). */
static const char *
currency(struct stmt *st, int i, char out[4])
{
	size_t	 n;
	const char *p = db_blob(st, i, &n);

	if (p == NULL || n != 3)
		n = 0;
	memcpy(out, p != NULL ? p : "", n);
	out[n] = '\0';
	return out;
}

static void
too_big(struct request *r)
{
	buf_reset(r->out);
	req_fail(r, 400, "That range holds more than an export may (%d rows or %d MB): "
	    "choose a shorter range.", EXPORT_MAX_ROWS, EXPORT_MAX_BYTES / (1024 * 1024));
}

/* The CSV head: type and a download name made only of the validated
 * dates, so it needs no quoting beyond its own quotes. */
static void
csv_reply(struct request *r, const char *what, const struct range *rg)
{
	r->status = 200;
	r->resp_ctype = "text/csv; charset=utf-8; header=present";
	resp_header(r, "Content-Disposition", arena_printf(r->a,
	    "attachment; filename=\"%s-%s-to-%s.csv\"", what, rg->from_s, rg->to_s));
}

static void
csv_time(struct csv *c, int64_t t)
{
	char	 s[32];

	iso8601(s, t);
	csv_text(c, s);
}

/*
 * GET /admin/exports/orders.csv — ?from, ?to.  One row per order
 * created in the range, oldest first: order, created_at, paid_at,
 * state, customer_id, customer_email, currency, subtotal, discount,
 * tax, total (plain decimals), payment_method, invoice.  200 text/csv
 * as an attachment; 400 for a bad range or too many rows; 403 without
 * orders.read (dispatcher).  One audit row.
 */
void
admin_export_orders(struct request *r)
{
	struct range rg;
	struct stmt *st;
	struct csv c;
	int64_t	 n = 0;
	const char *cur;
	char	 code[4];

	range_read(r, &rg);
	buf_reset(r->out);
	csv_init(&c, r->out);
	csv_text(&c, "order"); csv_text(&c, "created_at"); csv_text(&c, "paid_at");
	csv_text(&c, "state"); csv_text(&c, "customer_id"); csv_text(&c, "customer_email");
	csv_text(&c, "currency"); csv_text(&c, "subtotal"); csv_text(&c, "discount");
	csv_text(&c, "tax"); csv_text(&c, "total"); csv_text(&c, "payment_method");
	csv_text(&c, "invoice");
	csv_end(&c);
	st = db_q(r->db, Q_EXPORT_ORDERS);
	db_bind_int(r->db, st, ":from", rg.from);
	db_bind_int(r->db, st, ":to", rg.to);
	db_bind_int(r->db, st, ":limit", EXPORT_MAX_ROWS + 1);
	while (db_step(r->db, st) == DB_ROW) {
		if (++n > EXPORT_MAX_ROWS || r->out->len > EXPORT_MAX_BYTES)
			too_big(r);
		cur = currency(st, 6, code);
		col(&c, st, 0);
		csv_time(&c, db_int(st, 1));
		if (db_is_null(st, 2))
			csv_text(&c, "");
		else
			csv_time(&c, db_int(st, 2));
		col(&c, st, 3);
		csv_int(&c, db_int(st, 4));
		col(&c, st, 5);
		csv_text(&c, cur);
		csv_amount(&c, db_int(st, 7), cur);
		csv_amount(&c, db_int(st, 8), cur);
		csv_amount(&c, db_int(st, 9), cur);
		csv_amount(&c, db_int(st, 10), cur);
		col(&c, st, 11);
		col(&c, st, 12);
		csv_end(&c);
	}
	db_reset(st);
	req_audit(r, "export.orders", "orders", "CSV of orders created %s to %s: %lld row(s)",
	    rg.from_s, rg.to_s, (long long)n);
	csv_reply(r, "orders", &rg);
}

/*
 * GET /admin/exports/ledger.csv — ?from, ?to, ?customer (an id: that
 * customer's rows only).  One row per ledger entry in the range, oldest
 * first: id, created_at, customer_id, customer_email, kind, amount
 * (signed plain decimal), currency, order, payment, staff, memo.  200
 * text/csv as an attachment; 400 for a bad range, a bad customer id or
 * too many rows; 403 without customers.read.  One audit row.
 */
void
admin_export_ledger(struct request *r)
{
	const char *cs = req_query(r, "customer"), *cur;
	char	 code[4];
	struct range rg;
	struct stmt *st;
	struct csv c;
	int64_t	 n = 0, cid = 0;

	range_read(r, &rg);
	if (cs != NULL && !valid_int(cs, 1, INT64_MAX, &cid))
		req_fail(r, 400, "customer must be a customer's id.");
	buf_reset(r->out);
	csv_init(&c, r->out);
	csv_text(&c, "id"); csv_text(&c, "created_at"); csv_text(&c, "customer_id");
	csv_text(&c, "customer_email"); csv_text(&c, "kind"); csv_text(&c, "amount");
	csv_text(&c, "currency"); csv_text(&c, "order"); csv_text(&c, "payment");
	csv_text(&c, "staff"); csv_text(&c, "memo");
	csv_end(&c);
	st = db_q(r->db, Q_EXPORT_LEDGER);
	db_bind_int(r->db, st, ":from", rg.from);
	db_bind_int(r->db, st, ":to", rg.to);
	if (cid)
		db_bind_int(r->db, st, ":cid", cid);
	else
		db_bind_null(r->db, st, ":cid");
	db_bind_int(r->db, st, ":limit", EXPORT_MAX_ROWS + 1);
	while (db_step(r->db, st) == DB_ROW) {
		if (++n > EXPORT_MAX_ROWS || r->out->len > EXPORT_MAX_BYTES)
			too_big(r);
		cur = currency(st, 6, code);
		csv_int(&c, db_int(st, 0));
		csv_time(&c, db_int(st, 1));
		csv_int(&c, db_int(st, 2));
		col(&c, st, 3);
		col(&c, st, 4);
		csv_amount(&c, db_int(st, 5), cur);
		csv_text(&c, cur);
		col(&c, st, 7);
		if (db_is_null(st, 8))
			csv_text(&c, "");
		else
			csv_int(&c, db_int(st, 8));
		if (db_is_null(st, 9))
			csv_text(&c, "");
		else
			csv_int(&c, db_int(st, 9));
		col(&c, st, 10);
		csv_end(&c);
	}
	db_reset(st);
	req_audit(r, "export.ledger", cid ? arena_printf(r->a, "customer:%lld", (long long)cid) :
	    "ledger", "CSV of the wallet ledger %s to %s: %lld row(s)", rg.from_s, rg.to_s,
	    (long long)n);
	csv_reply(r, cid ? arena_printf(r->a, "ledger-customer-%lld", (long long)cid) : "ledger", &rg);
}
