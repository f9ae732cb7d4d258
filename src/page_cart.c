/*
 * page_cart.c: the cart's pages (/cart, /cart/add ...).  Anyone may fill
 * a cart; which cart a request has is cart.c's.
 */
#include "config.h"

#include <string.h>

#include "cart.h"
#include "catalog.h"
#include "checkout.h"
#include "coupon.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "setting.h"
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
	/* Tax added on top is said before checkout too: the cart's total is
	 * not what the wallet will be charged (checkout.c adds it). */
	{
		int64_t	 bp = setting_int(r->db, "tax.rate_bp", 0, 0, 10000);

		if (bp > 0 && strcmp(setting_text(r->db, "tax.inclusive", "0"), "1") != 0)
			vm_set(vm, "tax_note", arena_printf(r->a, "Prices exclude tax: %s %% is added "
			    "at checkout.", money_rate_str(r->a, bp)));
		else
			vm_set(vm, "tax_note", "");
	}
	return n;
}

int64_t
cart_coupon_fill(struct request *r, struct vm *vm, int64_t cart, int64_t total)
{
	struct checkout_line *l;
	struct coupon_apply ca;
	const char *code = cart_coupon(r, cart);
	enum coupon_rc rc;
	size_t	 n;

	if (code == NULL)
		return 0;
	vm_set(vm, "coupon", code);
	n = checkout_lines(r->db, cart, &l);
	if (n == 0)
		return 0;
	/* An anonymous cart passes the per-customer rules here; checkout
	 * judges them with the customer known. */
	if ((rc = coupon_check(r->db, code, cart_owner(r), l, n, &ca)) != COUPON_OK) {
		vm_set_bool(vm, "coupon_bad", 1);
		vm_set(vm, "coupon_reason", coupon_rc_text[rc]);
		return 0;
	}
	vm_set(vm, "discount", money_str(r->a, ca.discount, l[0].currency));
	vm_set(vm, "after_discount", money_str(r->a, total - ca.discount, l[0].currency));
	return ca.discount;
}

/* The cart page; error: the page's message; typed: the coupon field as
 * the visitor typed it (a refused code is shown again); reason: why
 * that code was refused. */
static void
cart_page(struct request *r, const char *error, const char *typed, const char *reason)
{
	struct vm *vm = page_vm(r, "Your cart");
	int64_t	 total, cart = cart_of(r, 0);

	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	cart_fill(r, vm, cart, &total);
	cart_coupon_fill(r, vm, cart, total);
	vm_set_bool(vm, "signed_in_cart", cart_owner(r) != 0);
	if (error != NULL)
		vm_set(vm, "error", error);
	vm_set(vm, "typed", typed != NULL ? typed : "");
	if (reason != NULL)
		vm_set(vm, "coupon_refused", reason);
	if (req_query(r, "done") != NULL && strcmp(req_query(r, "done"), "coupon") == 0)
		vm_set(vm, "notice", coupon_rc_text[COUPON_OK]);
	page_render(r, "pages/cart", vm);
}

static void
cart_show(struct request *r, const char *error)
{
	cart_page(r, error, NULL, NULL);
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

static const struct field page_cart_coupon_fields[] = {
	{ "code", FK_TEXT, FIELD_REQUIRED, 0, 64 },
};
const struct form page_cart_coupon_form = { FORM(page_cart_coupon_fields) };

/*
 * POST /cart/coupon — code, csrf: apply a coupon to the cart.  The code
 * is judged now (coupon_check, for the signed-in customer or, for an
 * anonymous cart, without the per-customer rules) and kept on the cart
 * only when it applies, as stored (its case); it replaces any earlier
 * one.  Checkout judges it again inside its transaction.  303 to
 * /cart?done=coupon; 400 with the cart and the code kept for a code
 * that is no code (3 to 32 letters, digits, '-' and '_'); 409 with the
 * reason (unknown, not started, expired, used up, your limit, minimum
 * not reached, first order only, not for these plans) or an empty
 * cart, nothing written.
 */
void
page_cart_coupon_post(struct request *r)
{
	const char *code = form_get(r, "code");
	struct checkout_line *l;
	struct coupon_apply ca;
	struct stmt *st;
	enum coupon_rc rc;
	int64_t	 cart;
	size_t	 n;

	if (!form_valid(r, "code") || !valid_coupon_code(code)) {
		r->status = 400;
		cart_page(r, NULL, form_valid(r, "code") ? code : "",
		    "A coupon code is 3 to 32 letters, digits, dashes or underscores.");
		return;
	}
	db_begin(r->db);
	cart = cart_of(r, 0);
	if ((n = checkout_lines(r->db, cart, &l)) == 0) {
		db_rollback(r->db);
		r->status = 409;
		cart_page(r, NULL, code, "Your cart is empty: add a plan before a coupon.");
		return;
	}
	if ((rc = coupon_check(r->db, code, cart_owner(r), l, n, &ca)) != COUPON_OK) {
		db_rollback(r->db);
		r->status = 409;
		cart_page(r, NULL, code, coupon_rc_text[rc]);
		return;
	}
	st = db_q(r->db, Q_CART_COUPON_SET);
	db_bind_text(r->db, st, ":code", ca.code);
	db_bind_int(r->db, st, ":now", now_unix());
	db_bind_int(r->db, st, ":cart", cart);
	db_step(r->db, st);
	db_commit(r->db);
	resp_redirect(r, 303, "/cart?done=coupon");
}

static const struct field page_cart_coupon_remove_fields[] = {
	{ "next", FK_SLUG, 0, 0, 16 },
};
const struct form page_cart_coupon_remove_form = { FORM(page_cart_coupon_remove_fields) };

/* POST /cart/coupon/remove — next (optional: "checkout"), csrf: the
 * cart without its coupon.  303 to /cart, or /checkout for a signed-in
 * customer who came from there. */
void
page_cart_coupon_remove_post(struct request *r)
{
	const char *next = form_get(r, "next");
	int64_t	 cart;
	struct stmt *st;

	db_begin(r->db);
	if ((cart = cart_of(r, 0)) != 0) {
		st = db_q(r->db, Q_CART_COUPON_SET);
		db_bind_null(r->db, st, ":code");
		db_bind_int(r->db, st, ":now", now_unix());
		db_bind_int(r->db, st, ":cart", cart);
		db_step(r->db, st);
	}
	db_commit(r->db);
	resp_redirect(r, 303, next != NULL && strcmp(next, "checkout") == 0 && cart_owner(r) ?
	    "/checkout" : "/cart");
}
