/*
 * page_orders.c: the customer's orders, /orders (paginated) and
 * /orders/{public_id} (items, amounts, state, the timeline of
 * order_events: order_view.c, shared with the staff's page).  An order is found by its public id and its owner
 * together, so another customer's order is a 404, the same page as no
 * order at all.
 */
#include "config.h"

#include <string.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "order_view.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "util.h"
#include "view.h"

#define ORDERS_PAGE 20

static const char *
when(struct request *r, int64_t t)
{
	char	 iso[32];

	iso8601(iso, t);
	return arena_strdup(r->a, iso);
}

/* GET /orders?page=N (customers): newest first, ORDERS_PAGE a page. */
void
page_orders(struct request *r)
{
	int64_t	 cust = r->principal[SESS_CUSTOMER]->user_id, page = 1, total, pages;
	const char *pg = req_query(r, "page");
	struct vm *vm = page_vm(r, "Your orders");
	struct stmt *st;

	if (pg != NULL && *pg != '\0' && (parse_i64(pg, &page) != 0 || page < 1 || page > 100000))
		req_fail(r, 400, "The page number is not valid.");
	st = db_q(r->db, Q_ORDERS_OF_CUSTOMER_COUNT);
	db_bind_int(r->db, st, ":customer", cust);
	total = db_one_int(r->db, st, 0);
	pages = total ? (total + ORDERS_PAGE - 1) / ORDERS_PAGE : 1;
	if (page > pages)
		page = pages;
	st = db_q(r->db, Q_ORDERS_OF_CUSTOMER);
	db_bind_int(r->db, st, ":customer", cust);
	db_bind_int(r->db, st, ":limit", ORDERS_PAGE);
	db_bind_int(r->db, st, ":offset", (page - 1) * ORDERS_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		struct vm *it = vm_push(vm, "orders");

		vm_set(it, "public_id", db_text(r->db, st, 0));
		vm_set(it, "state", db_text(r->db, st, 1));
		vm_set(it, "total", money_str(r->a, db_int(st, 2), db_text(r->db, st, 3)));
		vm_set(it, "created", when(r, db_int(st, 4)));
		vm_set_int(it, "items", db_int(st, 5));
	}
	vm_set_bool(vm, "empty", total == 0);
	vm_set_int(vm, "page", page);
	vm_set_int(vm, "pages", pages);
	vm_set_bool(vm, "paginate", pages > 1);
	if (page > 1)
		vm_set_int(vm, "prev_page", page - 1);
	if (page < pages)
		vm_set_int(vm, "next_page", page + 1);
	page_render(r, "pages/orders", vm);
}

/* GET /orders/{public_id} (customers): 404 unless it is theirs.
 * ?ok=paid shows the thank-you notice.  200, 404. */
void
page_order(struct request *r)
{
	int64_t	 cust = r->principal[SESS_CUSTOMER]->user_id;
	const char *pub = req_param(r, "public_id"), *ok = req_query(r, "ok");
	struct stmt *st;
	struct vm *vm;

	st = db_q(r->db, Q_ORDER_OF_CUSTOMER);
	db_bind_text(r->db, st, ":public_id", pub);
	db_bind_int(r->db, st, ":customer", cust);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such order.");
	vm = page_vm(r, arena_printf(r->a, "Order %s", pub));
	order_view_vm(r, vm, st);
	vm_set_bool(vm, "paid_now", ok != NULL && strcmp(ok, "paid") == 0);
	page_render(r, "pages/order", vm);
}
