/*
 * page_invoice.c: the printable invoice (and a top-up's receipt).
 *
 *   GET /invoices/{number}          the signed-in customer's own invoice
 *   GET /admin/invoices/{number}    (orders.read) any invoice, for staff
 *
 * One page, two doors.  Everything it shows is what invoice.c copied
 * into the invoice row at issue (seller name, address and tax id, the
 * customer's billing details, totals, tax rate, and the lines in
 * invoice_lines): a later change to the settings, the profile or a plan's
 * name never rewrites an issued invoice.  A paid invoice says PAID and
 * the date it was paid.  Print styles come
 * from public/css/print.css; the page has no script.  Another customer's
 * invoice is a 404, the same as one that does not exist, so a number
 * cannot be probed.
 */
#include "config.h"

#include <string.h>

#include "account.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "view.h"

/* YYYY-NNNNNN, the only shape invoice.c makes: anything else is a 404
 * before any SQL. */
static int
number_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != 11 || s[4] != '-')
		return 0;
	for (i = 0; i < 11; i++)
		if (i != 4 && (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

/*
 * Render the invoice numbered {number}; cid > 0 limits it to that
 * customer's invoices, 0 is staff.  200; 404 when there is none (or it
 * is someone else's).
 */
static void
invoice_show(struct request *r, int64_t cid, int staff)
{
	const char *number = req_param(r, "number"), *cur;
	struct stmt *st;
	struct vm *vm, *it;
	int64_t	 id, payment, discount, tax, total, paid_at, n = 0;
	char	 when[32];

	if (!number_ok(number))
		req_fail(r, 404, "There is no such invoice.");
	st = db_q(r->db, Q_INVOICE_BY_NUMBER);
	db_bind_text(r->db, st, ":number", number);
	if (cid > 0)
		db_bind_int(r->db, st, ":cid", cid);
	else
		db_bind_null(r->db, st, ":cid");
	if (db_step(r->db, st) != DB_ROW) {
		db_reset(st);
		req_fail(r, 404, "There is no such invoice.");
	}
	cur = db_text(r->db, st, 15);
	id = db_int(st, 0);
	payment = db_is_null(st, 3) ? 0 : db_int(st, 3);
	vm = page_vm(r, arena_printf(r->a, "%s %s", payment ? "Receipt" : "Invoice", number));
	vm_set(vm, "kind", payment ? "Receipt" : "Invoice");
	vm_set(vm, "number", db_text(r->db, st, 1));
	vm_set(vm, "seller_name", db_text(r->db, st, 4));
	vm_set(vm, "seller_address", db_text(r->db, st, 5));
	vm_set(vm, "seller_tax_id", db_text(r->db, st, 6));
	vm_set(vm, "customer_name", db_text(r->db, st, 7));
	vm_set(vm, "customer_address", db_text(r->db, st, 8));
	vm_set(vm, "customer_tax_id", db_text(r->db, st, 9));
	vm_set(vm, "subtotal", money_str(r->a, db_int(st, 10), cur));
	discount = db_int(st, 11);
	tax = db_int(st, 12);
	vm_set(vm, "discount", money_str(r->a, discount, cur));
	vm_set_bool(vm, "has_discount", discount > 0);
	vm_set(vm, "tax", money_str(r->a, tax, cur));
	total = db_int(st, 13);
	vm_set(vm, "total", money_str(r->a, total, cur));
	vm_set(vm, "tax_rate", money_rate_str(r->a, db_int(st, 14)));
	vm_set_bool(vm, "inclusive", db_int(st, 19) != 0);
	vm_set(vm, "currency", cur);
	vm_set(vm, "state", db_text(r->db, st, 16));
	time_human(when, db_int(st, 17));
	vm_set(vm, "issued", when);
	/* The stamp: paid and when, from the invoice row (a wallet order is
	 * paid in the transaction that issues its invoice). */
	paid_at = db_int(st, 20);
	vm_set_bool(vm, "paid", strcmp(db_text(r->db, st, 16), "paid") == 0);
	if (paid_at > 0)
		time_human(when, paid_at);
	vm_set(vm, "paid_on", paid_at > 0 ? when : "");
	vm_set(vm, "order", db_text(r->db, st, 18));
	vm_set_bool(vm, "staff", staff);
	if (!staff)
		vm_set(vm, "back", "/wallet");
	db_reset(st);

	st = db_q(r->db, Q_INVOICE_LINES);
	db_bind_int(r->db, st, ":invoice", id);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "lines");
		vm_set(it, "name", db_text(r->db, st, 0));
		vm_set_int(it, "quantity", db_int(st, 1));
		vm_set(it, "unit", money_str(r->a, db_int(st, 2), cur));
		vm_set(it, "amount", money_str(r->a, db_int(st, 3), cur));
		n++;
	}
	db_reset(st);
	vm_set_int(vm, "nlines", n);
	page_render(r, "pages/invoice", vm);
}

/* GET /invoices/{number} — the customer's own invoice or receipt.  200;
 * 404 for a malformed number, an unknown one or another customer's; 303
 * to /account/2fa when the shop requires TOTP and it is not enrolled. */
void
page_invoice(struct request *r)
{
	struct acct *a = acct_load(r, 1);

	if (a == NULL)
		return;
	invoice_show(r, a->id, 0);
}

/* GET /admin/invoices/{number} — (orders.read) any invoice.  200; 404. */
void
admin_invoice(struct request *r)
{
	invoice_show(r, 0, 1);
}
