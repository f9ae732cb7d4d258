/*
 * page_orders.c: the customer's orders, /orders (paginated) and
 * /orders/{public_id} (items, amounts, state, the timeline of
 * order_events: order_view.c, shared with the staff's page).  An order is found by its public id and its owner
 * together, so another customer's order is a 404, the same page as no
 * order at all.  Each item of a paid (or further along) order can be
 * renewed: POST /orders/{public_id}/renew puts its plan in the cart as a
 * renewal line of that item (checkout.h, "Renewals").
 */
#include "config.h"

#include <string.h>

#include "cart.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "order_view.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
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
	vm_set_int(vm, "pages", pages);
	vm_set_bool(vm, "paginate", pages > 1);
	ui_pager(vm, page, page < pages);
	page_render(r, "pages/orders", vm);
}

/* The order page of the route's public_id, with error shown if not
 * NULL; 404 unless the order is the customer's.  ?ok=paid shows the
 * thank-you notice. */
static void
order_show(struct request *r, const char *error)
{
	int64_t	 cust = r->principal[SESS_CUSTOMER]->user_id;
	const char *pub = req_param(r, "public_id"), *ok = req_query(r, "ok"), *order_state_now;
	struct stmt *st;
	struct vm *vm;
	int64_t	 order_id;

	st = db_q(r->db, Q_ORDER_OF_CUSTOMER);
	db_bind_text(r->db, st, ":public_id", pub);
	db_bind_int(r->db, st, ":customer", cust);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such order.");
	order_id = db_int(st, 0);
	order_state_now = db_text(r->db, st, 2);
	vm = page_vm(r, arena_printf(r->a, "Order %s", pub));
	order_view_vm(r, vm, st);
	vm_set_bool(vm, "paid_now", ok != NULL && strcmp(ok, "paid") == 0);
	/* A pending order paid through a gateway: the way back to its
	 * latest payment's page (page_pay.c). */
	if (strcmp(order_state_now, "pending") == 0) {
		struct stmt *ps = db_q(r->db, Q_PAY_LATEST_OF_ORDER);

		db_bind_int(r->db, ps, ":order", order_id);
		if (db_step(r->db, ps) == DB_ROW)
			vm_set(vm, "pay_link", db_text(r->db, ps, 0));
		db_reset(ps);
	}
	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/order", vm);
}

/* GET /orders/{public_id} (customers): 404 unless it is theirs. */
void
page_order(struct request *r)
{
	order_show(r, NULL);
}

static const struct field page_order_renew_fields[] = {
	/* Not required: another customer's order is a 404 whatever the form
	 * holds (t/80-idor.t), so the handler looks at the order first. */
	{ "item", FK_INT, 0, 1, INT64_MAX },
};
const struct form page_order_renew_form = { FORM(page_order_renew_fields) };

/*
 * POST /orders/{public_id}/renew — item (an order item id), csrf.  Puts
 * the item's plan, at its price now, in the customer's cart as a
 * renewal line of the item (of the item it renewed, for a renewal):
 * quantity 1, and a second Renew keeps the one line.  303 to /cart.
 * 404 when the order is not the customer's (whatever the form holds) or
 * the item not in it; 400 for a missing or malformed item; 409 with the order page when the order is not
 * (or no longer) renewable or the plan is no longer sold: nothing added.
 */
void
page_order_renew_post(struct request *r)
{
	int64_t	 cust = r->principal[SESS_CUSTOMER]->user_id, item, root, plan, cart;
	const char *name, *it = form_get(r, "item");
	struct stmt *st;
	int	 active, renewable;

	st = db_q(r->db, Q_ORDER_OF_CUSTOMER);
	db_bind_text(r->db, st, ":public_id", req_param(r, "public_id"));
	db_bind_int(r->db, st, ":customer", cust);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such order.");
	db_reset(st);
	if (it == NULL || !form_valid(r, "item") || parse_i64(it, &item) != 0)
		req_fail(r, 400, "The item to renew is not valid.");
	db_begin(r->db);
	st = db_q(r->db, Q_RENEW_ITEM);
	db_bind_int(r->db, st, ":item", item);
	db_bind_text(r->db, st, ":public_id", req_param(r, "public_id"));
	db_bind_int(r->db, st, ":customer", cust);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such order.");
	root = db_int(st, 0);
	plan = db_int(st, 1);
	active = db_int(st, 2) == 1;
	name = db_text(r->db, st, 3);
	renewable = db_int(st, 4) == 1;
	db_reset(st);
	if (!renewable || !active) {
		db_rollback(r->db);
		r->status = 409;
		order_show(r, !renewable ?
		    "This service cannot be renewed: only a paid service can. Nothing was added to your cart." :
		    arena_printf(r->a, "The plan %s is no longer sold, so this service cannot be renewed. "
		    "Nothing was added to your cart.", name));
		return;
	}
	cart = cart_of(r, 1);
	st = db_q(r->db, Q_CART_RENEWAL_ADD);
	db_bind_int(r->db, st, ":cart", cart);
	db_bind_int(r->db, st, ":plan", plan);
	db_bind_int(r->db, st, ":renewal_of", root);
	db_bind_int(r->db, st, ":now", now_unix());
	if (db_step(r->db, st) != DB_ROW)
		db_fail(r->db, "renewal line of plan %lld not written", (long long)plan);
	db_reset(st);
	db_commit(r->db);
	resp_redirect(r, 303, "/cart");
}
