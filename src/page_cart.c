/*
 * page_cart.c: the cart's pages (/cart, /cart/add ...).  Anyone may fill
 * a cart; which cart a request has is cart.c's.
 */
#include "config.h"

#include <string.h>

#include "cart.h"
#include "catalog.h"
#include "checkout.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

/* Fill vm's "lines" from the cart, with the kept and the current
 * price; sets "changed" when any line differs from what checkout would
 * charge now.  Returns the number of lines; *total the kept total. */
size_t
cart_fill(struct request *r, struct vm *vm, int64_t cart, int64_t *total)
{
	struct checkout_line *l;
	size_t	 n = checkout_lines(r->db, cart, &l), i;
	int	 changed = 0;
	struct buf b;

	*total = 0;
	buf_init(&b);
	for (i = 0; i < n; i++) {
		struct vm *it = vm_push(vm, "lines");
		int	 c = checkout_line_changed(&l[i]);

		vm_set(it, "slug", l[i].slug);
		vm_set(it, "name", l[i].name);
		vm_set_int(it, "qty", l[i].qty);
		buf_reset(&b);
		money_format(&b, l[i].price, l[i].currency);
		vm_set(it, "price", b.p);
		buf_reset(&b);
		money_format(&b, l[i].price * l[i].qty, l[i].currency);
		vm_set(it, "line_total", b.p);
		buf_reset(&b);
		money_format(&b, l[i].price_now, l[i].currency_now);
		vm_set(it, "price_now", b.p);
		vm_set_bool(it, "price_moved", l[i].price != l[i].price_now ||
		    strcmp(l[i].currency, l[i].currency_now) != 0);
		vm_set_bool(it, "withdrawn", !l[i].active);
		vm_set_bool(it, "short", l[i].active && l[i].stock >= 0 && l[i].stock < l[i].qty);
		vm_set_int(it, "left", l[i].stock < 0 ? 0 : l[i].stock);
		vm_set_bool(it, "changed", c);
		/* A renewal line (page_orders.c): one period of the service,
		 * removed by the item it renews, its quantity fixed. */
		vm_set_bool(it, "renewal", l[i].renewal_of > 0);
		vm_set_int(it, "renewal_of", l[i].renewal_of);
		vm_set(it, "renewal_order", l[i].renewal_order);
		vm_set_int(it, "renewal_n", l[i].renewal_n);
		changed |= c;
		*total += l[i].price * l[i].qty;
	}
	if (n > 0) {
		buf_reset(&b);
		money_format(&b, *total, l[0].currency);
		vm_set(vm, "total", b.p);
	} else
		vm_set(vm, "total", "");
	buf_free(&b);
	vm_set_bool(vm, "changed", changed);
	vm_set_bool(vm, "empty", n == 0);
	return n;
}

static void
cart_show(struct request *r, const char *error)
{
	struct vm *vm = page_vm(r, "Your cart");
	int64_t	 total;

	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	cart_fill(r, vm, cart_of(r, 0), &total);
	vm_set_bool(vm, "signed_in_cart", cart_owner(r) != 0);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/cart", vm);
}

/* GET /cart (and the GET of each cart POST, for a refused token): the
 * lines, their kept prices and what moved since, quantity and remove
 * forms, the way to checkout.  Never cached (it carries forms). */
void
page_cart(struct request *r)
{
	cart_show(r, NULL);
}

/*
 * GET /cart/add?plan=SLUG[&qty=N] — the add form for one plan, reached
 * from the catalog and the plan page, whose cached pages carry no CSRF
 * token.  404 for no such plan.
 */
void
page_cart_add(struct request *r)
{
	struct stmt *st = db_q(r->db, Q_PLAN_BY_SLUG);
	const char *slug = req_query(r, "plan"), *q;
	struct vm *vm;
	int64_t	 v;

	/* Without a plan (a refused POST shown again, a bare URL): the cart. */
	if (slug == NULL) {
		page_cart(r);
		return;
	}
	if (!valid_slug(slug, 64))
		req_fail(r, 404, "There is no such plan. It may have been retired.");
	db_bind_text(r->db, st, ":slug", slug);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such plan. It may have been retired.");
	vm = page_vm(r, "Add to your cart");
	plan_fill(r, vm_push(vm, "plan"), st);
	/* The quantity the plan page's form asked for, if it is one. */
	q = req_query(r, "qty");
	vm_set_int(vm, "qty", q != NULL && parse_i64(q, &v) == 0 && v >= 1 && v <= 100 ? v : 1);
	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	page_render(r, "pages/cart_add", vm);
}

static const struct field page_cart_add_fields[] = {
	{ "plan", FK_SLUG, FIELD_REQUIRED, 0, 64 },
	{ "qty", FK_INT, 0, 1, 100 },
};
const struct form page_cart_add_form = { FORM(page_cart_add_fields) };

/* The quantity field: 1 when absent; -1 when out of 1..100. */
static int64_t
qty_of(struct request *r)
{
	const char *q = form_get(r, "qty");
	int64_t	 v;

	if (q == NULL || *q == '\0')
		return 1;
	if (!form_valid(r, "qty") || parse_i64(q, &v) != 0)
		return -1;
	return v;
}

/*
 * POST /cart/add — plan (slug), qty (1..100, default 1), csrf.  Adds to
 * (or raises the quantity of, at most 100) the plan's line at its price
 * now, making the cart (and an anonymous visitor's cookie) if needed.
 * 303 to /cart; 400 with the cart for a bad quantity; 404 for a plan
 * that is not sold.
 */
void
page_cart_add_post(struct request *r)
{
	const char *slug = form_get(r, "plan");
	int64_t	 qty = qty_of(r), cart;
	struct stmt *st;

	if (qty < 0 || !form_valid(r, "plan")) {
		r->status = 400;
		cart_show(r, "Please choose a quantity from 1 to 100.");
		return;
	}
	db_begin(r->db);
	cart = cart_of(r, 1);
	st = db_q(r->db, Q_CART_ITEM_ADD);
	db_bind_int(r->db, st, ":cart", cart);
	db_bind_int(r->db, st, ":qty", qty);
	db_bind_text(r->db, st, ":slug", slug);
	db_bind_int(r->db, st, ":now", now_unix());
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such plan. It may have been retired.");
	db_reset(st);
	db_commit(r->db);
	resp_redirect(r, 303, "/cart");
}

static const struct field page_cart_update_fields[] = {
	{ "plan", FK_SLUG, FIELD_REQUIRED, 0, 64 },
	{ "qty", FK_INT, FIELD_REQUIRED, 1, 100 },
};
const struct form page_cart_update_form = { FORM(page_cart_update_fields) };

/*
 * POST /cart/update — plan, qty (1..100), csrf: the line's quantity.
 * The kept price stays (the customer has seen it).  303 to /cart; 400
 * with the cart for a bad quantity.  A plan not in the cart changes
 * nothing.
 */
void
page_cart_update_post(struct request *r)
{
	int64_t	 qty = qty_of(r), cart;
	struct stmt *st;

	if (qty < 0 || !form_valid(r, "plan")) {
		r->status = 400;
		cart_show(r, "Please choose a quantity from 1 to 100.");
		return;
	}
	db_begin(r->db);
	if ((cart = cart_of(r, 0)) != 0) {
		st = db_q(r->db, Q_CART_ITEM_SET_QTY);
		db_bind_int(r->db, st, ":cart", cart);
		db_bind_int(r->db, st, ":qty", qty);
		db_bind_text(r->db, st, ":slug", form_get(r, "plan"));
		db_step(r->db, st);
	}
	db_commit(r->db);
	resp_redirect(r, 303, "/cart");
}

static const struct field page_cart_remove_fields[] = {
	{ "plan", FK_SLUG, FIELD_REQUIRED, 0, 64 },
	{ "renewal", FK_INT, 0, 1, INT64_MAX },
};
const struct form page_cart_remove_form = { FORM(page_cart_remove_fields) };

/*
 * POST /cart/remove — plan, renewal (optional: the order item a renewal
 * line renews), csrf: drop the plan's plain line, or with renewal that
 * renewal line.  303 to /cart; 400 with the cart for a bad renewal.
 */
void
page_cart_remove_post(struct request *r)
{
	const char *ren = form_get(r, "renewal");
	int64_t	 cart, item = 0;
	struct stmt *st;

	if (ren != NULL && *ren != '\0' && (!form_valid(r, "renewal") || parse_i64(ren, &item) != 0)) {
		r->status = 400;
		cart_show(r, "That cart line is not valid.");
		return;
	}
	db_begin(r->db);
	if ((cart = cart_of(r, 0)) != 0) {
		st = db_q(r->db, item > 0 ? Q_CART_RENEWAL_DELETE : Q_CART_ITEM_DELETE);
		db_bind_int(r->db, st, ":cart", cart);
		if (item > 0)
			db_bind_int(r->db, st, ":renewal_of", item);
		else
			db_bind_text(r->db, st, ":slug", form_get(r, "plan"));
		db_step(r->db, st);
	}
	db_commit(r->db);
	resp_redirect(r, 303, "/cart");
}

/*
 * POST /cart/accept — csrf: the customer has seen the new prices; the
 * cart keeps them now (what checkout will charge).  303 to the page
 * named by next (only /checkout or /cart).
 */
void
page_cart_accept_post(struct request *r)
{
	int64_t	 cart;
	struct stmt *st;

	db_begin(r->db);
	if ((cart = cart_of(r, 0)) != 0) {
		st = db_q(r->db, Q_CART_ACCEPT_PRICES);
		db_bind_int(r->db, st, ":cart", cart);
		db_step(r->db, st);
	}
	db_commit(r->db);
	resp_redirect(r, 303, cart_owner(r) ? "/checkout" : "/cart");
}
