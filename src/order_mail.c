/*
 * order_mail.c: the order confirmation mail (order_mail.h).
 *
 * Everything the mail says is read back from the invoice that the same
 * transaction issued (its totals and its invoice_lines), not from the
 * cart or the plans: the mail, the printable invoice and the order page
 * say the same amounts, named the same way, and a plan renamed while
 * the mail waits in the spool does not change it.  The view model is
 * built as JSON, a list for the lines (job_email.c, view_json.c), and
 * rendered by the email job from views/emails/order_paid.txt.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "mailq.h"
#include "money.h"
#include "order_mail.h"
#include "util.h"

static void
put(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

int64_t
order_mail_paid(struct db *db, const char *base_url, int64_t order)
{
	struct arena *a = db_arena(db);
	struct json_object *v, *items, *it;
	struct stmt *st;
	const char *to, *name, *pub, *number, *cur, *method;
	int64_t	 invoice, subtotal, discount, tax, total, rate;
	int	 inclusive;

	st = db_q(db, Q_ORDER_MAIL);
	db_bind_int(db, st, ":order", order);
	if (db_step(db, st) != DB_ROW)
		db_fail(db, "order mail: order %" PRId64 " has no invoice", order);
	to = db_text(db, st, 0);
	name = db_text(db, st, 1);
	pub = db_text(db, st, 2);
	invoice = db_int(st, 3);
	number = db_text(db, st, 4);
	subtotal = db_int(st, 5);
	discount = db_int(st, 6);
	tax = db_int(st, 7);
	total = db_int(st, 8);
	rate = db_int(st, 9);
	cur = db_text(db, st, 10);
	method = db_text(db, st, 11);
	inclusive = db_int(st, 12) != 0;
	db_reset(st);

	v = json_object_new_object();
	put(v, "name", *name ? name : to);
	put(v, "order", pub);
	put(v, "invoice", number);
	put(v, "order_url", arena_printf(a, "%s/orders/%s", base_url, pub));
	put(v, "invoice_url", arena_printf(a, "%s/invoices/%s", base_url, number));
	/* Amounts in the invoice's currency, as the invoice page says them. */
	put(v, "subtotal", money_str(a, subtotal, cur));
	put(v, "discount", money_str(a, discount, cur));
	json_object_object_add(v, "has_discount", json_object_new_boolean(discount > 0));
	put(v, "tax", money_str(a, tax, cur));
	put(v, "tax_rate", money_rate_str(a, rate));
	json_object_object_add(v, "inclusive", json_object_new_boolean(inclusive));
	put(v, "total", money_str(a, total, cur));
	/* Only the wallet pays today; a gateway's name (the payments
	 * issue) would say itself. */
	put(v, "paid_with", strcmp(method, "wallet") == 0 ? "your wallet" : method);

	items = json_object_new_array();
	st = db_q(db, Q_INVOICE_LINES);
	db_bind_int(db, st, ":invoice", invoice);
	while (db_step(db, st) == DB_ROW) {
		it = json_object_new_object();
		put(it, "description", db_text(db, st, 0));
		put(it, "quantity", arena_printf(a, "%" PRId64, db_int(st, 1)));
		put(it, "unit", money_str(a, db_int(st, 2), cur));
		put(it, "amount", money_str(a, db_int(st, 3), cur));
		json_object_array_add(items, it);
	}
	db_reset(st);
	json_object_object_add(v, "items", items);
	return mailq_add_db(db, to, "emails/order_paid", v,
	    arena_printf(a, "order-paid:%" PRId64, order));
}
