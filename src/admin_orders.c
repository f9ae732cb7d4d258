/*
 * admin_orders.c: staff looking at orders.
 *
 *   GET  /admin/orders     (orders.read) every order, newest first, 50 a
 *                          page, filtered by state, a date range
 *                          (created, UTC days, both ends included) and
 *                          a part of the customer's email
 *
 * Read only: an order moves through order_transition() elsewhere.  Each
 * row links the customer's staff page and the order's invoice.
 */
#include "config.h"

#include <string.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "order.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define ORDERS_PAGE	50
#define ORDERS_MAX_PAGE	100000

/* A LIKE pattern that finds s anywhere, its own % _ and \ escaped. */
static const char *
contains(struct request *r, const char *s)
{
	size_t	 n = strlen(s), i, j = 0;
	char	*p = arena_alloc(r->a, 2 * n + 3);

	p[j++] = '%';
	for (i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			p[j++] = '\\';
		p[j++] = s[i];
	}
	p[j++] = '%';
	p[j] = '\0';
	return p;
}

/*
 * GET /admin/orders — ?state (one of order_state_name, else every
 * state), ?from and ?to ("YYYY-MM-DD"), ?email (a part of it, one line
 * of at most 254 characters), ?page.  A malformed date is shown as an
 * error and lists nothing rather than everything.  200.  Allocates in
 * the request's arena.
 */
void
admin_orders(struct request *r)
{
	struct vm *vm = page_vm(r, "Orders"), *it;
	struct stmt *st;
	const char *state = req_query(r, "state"), *from = req_query(r, "from");
	const char *to = req_query(r, "to"), *email = req_query(r, "email");
	const char *ps = req_query(r, "page"), *error = NULL;
	int64_t	 page = 1, n = 0, tfrom = 0, tto = 0;
	char	 when[32];
	int	 i;

	if (ps == NULL || !valid_int(ps, 1, ORDERS_MAX_PAGE, &page))
		page = 1;
	if (state != NULL && order_state_parse(state) < 0)
		state = NULL;
	if (email != NULL && (*email == '\0' || !valid_line(email, 254)))
		email = NULL;
	if (from != NULL && *from == '\0')
		from = NULL;
	if (to != NULL && *to == '\0')
		to = NULL;
	if ((from != NULL && valid_date(from, &tfrom) != 0) ||
	    (to != NULL && valid_date(to, &tto) != 0))
		error = "A date is written YYYY-MM-DD.";
	vm_set(vm, "f_email", email != NULL ? email : "");
	vm_set(vm, "f_from", from != NULL && error == NULL ? from : "");
	vm_set(vm, "f_to", to != NULL && error == NULL ? to : "");
	vm_set(vm, "f_state", state != NULL ? state : "");
	vm_set_bool(vm, "f_any", state == NULL);
	for (i = 0; i < ORDER__MAX; i++) {
		it = vm_push(vm, "states");
		vm_set(it, "name", order_state_name[i]);
		vm_set_bool(it, "selected", state != NULL && strcmp(state, order_state_name[i]) == 0);
	}
	if (error != NULL)
		vm_set(vm, "error", error);
	st = db_q(r->db, Q_ADMIN_ORDERS);
	if (state != NULL)
		db_bind_text(r->db, st, ":state", state);
	else
		db_bind_null(r->db, st, ":state");
	if (email != NULL)
		db_bind_text(r->db, st, ":email", contains(r, email));
	else
		db_bind_null(r->db, st, ":email");
	if (from != NULL && error == NULL)
		db_bind_int(r->db, st, ":from", tfrom);
	else
		db_bind_null(r->db, st, ":from");
	/* "to" names a whole day: up to its last second. */
	if (to != NULL && error == NULL)
		db_bind_int(r->db, st, ":to", tto + 86400);
	else
		db_bind_null(r->db, st, ":to");
	/* One more than a page: whether there is a next one; nothing at
	 * all under a malformed date. */
	db_bind_int(r->db, st, ":limit", error == NULL ? ORDERS_PAGE + 1 : 0);
	db_bind_int(r->db, st, ":offset", (page - 1) * ORDERS_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		const char *inv = db_text(r->db, st, 7);

		if (++n > ORDERS_PAGE)
			break;
		it = vm_push(vm, "orders");
		vm_set(it, "public_id", db_text(r->db, st, 0));
		vm_set(it, "state", db_text(r->db, st, 1));
		vm_set(it, "total", money_str(r->a, db_int(st, 2), db_text(r->db, st, 3)));
		time_human(when, db_int(st, 4));
		vm_set(it, "at", when);
		vm_set_int(it, "cid", db_int(st, 5));
		vm_set(it, "email", db_text(r->db, st, 6));
		vm_set_bool(it, "has_invoice", *inv != '\0');
		vm_set(it, "invoice", inv);
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	vm_set_bool(vm, "shown", n > 0);
	vm_set_int(vm, "page", page);
	if (page > 1)
		vm_set_int(vm, "prev_page", page - 1);
	if (n > ORDERS_PAGE)
		vm_set_int(vm, "next_page", page + 1);
	page_render(r, "pages/admin/orders", vm);
	if (error != NULL)
		r->status = 400;
}
