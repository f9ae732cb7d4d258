/*
 * checkout.c: paying for a cart from the wallet (checkout.h).  The
 * order of the steps matters only for what a refusal costs: every step
 * runs inside the caller's transaction and a refusal rolls it back, so
 * the idempotency key is looked at first (a replay must not look at a
 * cart the first submit emptied), the plans next (a price that moved is
 * asked about before any money), the wallet last.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "checkout.h"
#include "coupon.h"
#include "db.h"
#include "setting.h"
#include "invoice.h"
#include "money.h"
#include "order.h"
#include "referral.h"
#include "spool.h"
#include "testpause.h"
#include "util.h"
#include "wallet.h"

const char *const checkout_rc_text[CHECKOUT__MAX] = {
	[CHECKOUT_OK] = "Paid.",
	[CHECKOUT_REPLAY] = "This checkout was already made.",
	[CHECKOUT_EMPTY] = "Your cart is empty.",
	[CHECKOUT_CHANGED] = "A price in your cart has changed since you saw it. Nothing was charged: please check the new prices.",
	[CHECKOUT_UNAVAILABLE] = "A plan in your cart is no longer sold. Nothing was charged: please remove it.",
	[CHECKOUT_SOLD_OUT] = "A plan in your cart is sold out (or has fewer left than you asked for). Nothing was charged.",
	[CHECKOUT_INSUFFICIENT] = "Your wallet balance is not enough for this order. Nothing was charged.",
	[CHECKOUT_CURRENCY] = "Your cart mixes currencies, or is not in your wallet's currency. Nothing was charged.",
	[CHECKOUT_BAD_KEY] = "This checkout form is not valid. Please open the checkout page again.",
	[CHECKOUT_COUPON] = "Your coupon can no longer be used. Nothing was charged.",
	[CHECKOUT_RENEWAL] = "A service in your cart can no longer be renewed (its order was refunded, "
	    "cancelled or failed). Nothing was charged: please remove it.",
};

size_t
checkout_lines(struct db *db, int64_t cart, struct checkout_line **out)
{
	struct stmt *st;
	struct checkout_line *l = NULL;
	size_t	 n = 0, cap = 0;

	*out = NULL;
	if (cart <= 0)
		return 0;
	st = db_q(db, Q_CART_ITEMS);
	db_bind_int(db, st, ":cart", cart);
	while (db_step(db, st) == DB_ROW) {
		if (n == cap) {
			struct checkout_line *nl;

			cap = cap ? cap * 2 : 8;
			nl = arena_alloc(db_arena(db), cap * sizeof(*nl));
			if (n)
				memcpy(nl, l, n * sizeof(*nl));
			l = nl;
		}
		memset(&l[n], 0, sizeof(l[n]));
		l[n].slug = db_text(db, st, 0);
		l[n].name = db_text(db, st, 1);
		l[n].qty = db_int(st, 2);
		l[n].price = db_int(st, 3);
		l[n].currency = db_text(db, st, 4);
		l[n].price_now = db_int(st, 5);
		l[n].currency_now = db_text(db, st, 6);
		l[n].active = (int)db_int(st, 7);
		l[n].stock = db_is_null(st, 8) ? -1 : db_int(st, 8);
		l[n].plan = db_int(st, 9);
		l[n].renewal_of = db_int(st, 10);
		l[n].renewal_order = db_text(db, st, 11);
		l[n].renewal_n = db_int(st, 12);
		n++;
	}
	*out = l;
	return n;
}

int
checkout_line_changed(const struct checkout_line *l)
{
	return l->price != l->price_now || strcmp(l->currency, l->currency_now) != 0 ||
	    !l->active || (l->stock >= 0 && l->stock < l->qty);
}

void
checkout_tax(struct db *db, int64_t lines, int64_t *subtotal, int64_t *tax, int64_t *rate,
    int *inclusive)
{
	checkout_tax_discounted(db, lines, 0, subtotal, tax, rate, inclusive);
}

void
checkout_tax_discounted(struct db *db, int64_t lines, int64_t discount, int64_t *subtotal,
    int64_t *tax, int64_t *rate, int *inclusive)
{
	/* Exclusive prices: the lines and the discount are net and the tax
	 * is added on what is left.  Inclusive: the customer pays the
	 * lines' sum less the discount, the tax is taken out of that and
	 * the subtotal kept net of it (money.h, money_tax), so that
	 * subtotal - discount + tax is what is paid either way. */
	if (discount < 0 || discount > lines)
		db_fail(db, "checkout: discount %" PRId64 " outside 0..%" PRId64, discount, lines);
	if (parse_i64(setting_text(db, "tax.rate_bp", "0"), rate) != 0 || *rate < 0 || *rate > 10000)
		*rate = 0;
	*inclusive = strcmp(setting_text(db, "tax.inclusive", "0"), "1") == 0;
	if ((*tax = money_tax(lines - discount, (int)*rate, *inclusive)) < 0)
		db_fail(db, "checkout: tax out of range");
	*subtotal = *inclusive ? lines - *tax : lines;
	if (*subtotal > MONEY_MAX - *tax)
		db_fail(db, "checkout total beyond MONEY_MAX");
}

/* The key's order, if any: 1 with res filled when it is this
 * customer's, -1 when another customer's, 0 when unused. */
static int
replayed(struct db *db, int64_t customer, const char *key, struct checkout_result *res)
{
	struct stmt *st = db_q(db, Q_ORDER_BY_IDEM);
	int	 rc = 0;

	db_bind_text(db, st, ":key", key);
	if (db_step(db, st) == DB_ROW) {
		rc = db_int(st, 2) == customer ? 1 : -1;
		res->order = db_int(st, 0);
		res->public_id = db_text(db, st, 1);
	}
	db_reset(st);
	return rc;
}

enum checkout_rc
checkout_wallet(struct db *db, int64_t customer, const struct checkout_line *l, size_t n,
    const char *idem_key, const struct actor *who, struct checkout_result *res)
{
	return checkout_wallet_coupon(db, customer, l, n, NULL, idem_key, who, res);
}

enum checkout_rc
checkout_wallet_coupon(struct db *db, int64_t customer, const struct checkout_line *l, size_t n,
    const char *coupon, const char *idem_key, const struct actor *who,
    struct checkout_result *res)
{
	struct wallet_entry we;
	struct stmt *st;
	const char *currency;
	int64_t	 wallet;
	enum checkout_rc rc;
	enum wallet_rc wrc;

	rc = checkout_place(db, customer, l, n, coupon, "wallet", idem_key, who, res);
	if (rc != CHECKOUT_OK)
		return rc;
	currency = l[0].currency;

	/* The money last: a refusal here rolls everything above back.  The
	 * ledger has no currency of its own: a wallet in another currency
	 * than the plans' is refused, never debited. */
	wallet = wallet_of_customer(db, customer, currency);
	st = db_q(db, Q_ACCT_CUSTOMER);
	db_bind_int(db, st, ":id", customer);
	if (db_step(db, st) != DB_ROW || strcmp(db_text(db, st, 7), currency) != 0)
		return CHECKOUT_CURRENCY;
	db_reset(st);
	memset(&we, 0, sizeof(we));
	we.wallet = wallet;
	we.amount = -res->total;
	we.kind = "purchase";
	we.order = res->order;
	we.memo = arena_printf(db_arena(db), "Order %s", res->public_id);
	we.idem_key = arena_printf(db_arena(db), "buy:%" PRId64, res->order);
	if (res->total > 0) {
		wrc = wallet_post(db, &we, &res->balance, NULL);
		if (wrc == WALLET_INSUFFICIENT)
			return CHECKOUT_INSUFFICIENT;
		if (wrc == WALLET_NONE)
			return CHECKOUT_CURRENCY;
		if (wrc != WALLET_OK)
			db_fail(db, "checkout debit: %s", wallet_rc_text[wrc]);
	} else
		res->balance = wallet_balance(db, wallet);
	test_pause("checkout:debit");
	checkout_fulfil(db, res->order, "wallet", who, res);
	return CHECKOUT_OK;
}

enum checkout_rc
checkout_place(struct db *db, int64_t customer, const struct checkout_line *l, size_t n,
    const char *coupon, const char *method, const char *idem_key, const struct actor *who,
    struct checkout_result *res)
{
	struct coupon_apply ca;
	struct order_new on;
	struct stmt *st;
	const char *currency, *shop;
	int64_t	 subtotal = 0, items = 0, rate = 0, tax;
	int	 inclusive;
	size_t	 i;
	int	 replay;

	memset(res, 0, sizeof(*res));
	if (idem_key == NULL || *idem_key == '\0')
		db_fail(db, "checkout without an idempotency key");
	switch (replayed(db, customer, idem_key, res)) {
	case 1:
		return CHECKOUT_REPLAY;
	case -1:
		res->order = 0;
		res->public_id = NULL;
		return CHECKOUT_BAD_KEY;
	}
	if (n == 0)
		return CHECKOUT_EMPTY;
	/* The pause points (test mode only, testpause.h) sit between the
	 * steps, so that t/83-checkout-kill.t can kill -9 the process at
	 * each and show that all of it or none of it is there. */
	test_pause("checkout:begin");

	/* The plans as they stand inside the write lock: what the cart
	 * showed must still be what is charged, and the stock must hold
	 * every line (taken here; a later refusal rolls it back). */
	currency = l[0].currency;
	/* The shop's one currency, once set (admin_settings.c): a plan in
	 * another is not sold. */
	shop = setting_text(db, "shop.currency", "");
	if (*shop != '\0' && strcmp(shop, currency) != 0)
		return CHECKOUT_CURRENCY;
	for (i = 0; i < n; i++) {
		int64_t	 stock;

		if (l[i].qty < 1 || l[i].qty > 100)
			db_fail(db, "checkout line of quantity %" PRId64, l[i].qty);
		/* A renewal renews this customer's item of an order that is
		 * still renewable (refunded since, or failed: not any more). */
		if (l[i].renewal_of > 0) {
			st = db_q(db, Q_CHECKOUT_RENEWAL_OK);
			db_bind_int(db, st, ":item", l[i].renewal_of);
			db_bind_int(db, st, ":customer", customer);
			if (db_one_int(db, st, 0) != 1) {
				res->plan_name = l[i].name;
				return CHECKOUT_RENEWAL;
			}
		}
		st = db_q(db, Q_CHECKOUT_PLAN);
		db_bind_int(db, st, ":plan", l[i].plan);
		if (db_step(db, st) != DB_ROW || db_int(st, 0) != 1) {
			res->plan_name = l[i].name;
			return CHECKOUT_UNAVAILABLE;
		}
		res->plan_name = db_text(db, st, 4);
		if (db_int(st, 1) != l[i].price || strcmp(db_text(db, st, 2), l[i].currency) != 0)
			return CHECKOUT_CHANGED;
		if (strcmp(l[i].currency, currency) != 0)
			return CHECKOUT_CURRENCY;
		stock = db_is_null(st, 3) ? -1 : db_int(st, 3);
		db_reset(st);
		if (stock >= 0) {
			st = db_q(db, Q_CHECKOUT_TAKE_STOCK);
			db_bind_int(db, st, ":plan", l[i].plan);
			db_bind_int(db, st, ":n", l[i].qty);
			db_step(db, st);
			if (db_changes(db) != 1)
				return CHECKOUT_SOLD_OUT;
		}
		if (l[i].price > MONEY_MAX / 100 || subtotal > MONEY_MAX - l[i].price * l[i].qty)
			db_fail(db, "checkout total beyond MONEY_MAX");
		subtotal += l[i].price * l[i].qty;
		items += l[i].qty;
	}
	res->plan_name = NULL;
	test_pause("checkout:stock");

	/* The coupon, judged again under the write lock: its uses are
	 * counted here, so the redemption row written below (same
	 * transaction) is what makes a coupon of N uses give N.  A coupon
	 * that went bad since the cart showed it is a refusal, not a
	 * silent full price. */
	memset(&ca, 0, sizeof(ca));
	if (coupon != NULL && *coupon != '\0') {
		res->coupon_rc = coupon_check(db, coupon, customer, l, n, &ca);
		if (res->coupon_rc != COUPON_OK)
			return CHECKOUT_COUPON;
	}

	checkout_tax_discounted(db, subtotal, ca.discount, &subtotal, &tax, &rate, &inclusive);
	memset(&on, 0, sizeof(on));
	on.customer = customer;
	on.subtotal = subtotal;
	on.discount = ca.discount;
	on.tax = tax;
	on.tax_rate_bp = (int)rate;
	on.prices_include_tax = inclusive;
	on.currency = currency;
	on.method = method;
	on.idem_key = idem_key;
	res->order = order_create(db, &on, who, &res->public_id, &replay);
	if (replay)	/* a key made between our look and now: cannot happen under the lock */
		db_fail(db, "checkout: idempotency key appeared inside the transaction");
	res->total = subtotal - ca.discount + tax;
	res->discount = ca.discount;
	test_pause("checkout:order");
	if (ca.coupon > 0) {
		coupon_redeem(db, &ca, customer, res->order);
		test_pause("checkout:coupon");
	}

	/* N items of quantity 1 (one proxy each); their provision jobs
	 * come with the payment (checkout_fulfil). */
	for (i = 0; i < n; i++) {
		int64_t	 k;

		for (k = 0; k < l[i].qty; k++) {
			st = db_q(db, Q_CHECKOUT_ITEM_INSERT);
			db_bind_int(db, st, ":order", res->order);
			db_bind_int(db, st, ":plan", l[i].plan);
			db_bind_int(db, st, ":price", l[i].price);
			db_bind_text(db, st, ":currency", currency);
			db_bind_int(db, st, ":renewal_of", l[i].renewal_of);
			if (db_step(db, st) != DB_ROW)
				db_fail(db, "order item insert returned no row");
			db_reset(st);
		}
	}
	test_pause("checkout:items");
	return CHECKOUT_OK;
}

void
checkout_fulfil(struct db *db, int64_t order, const char *method, const struct actor *who,
    struct checkout_result *res)
{
	struct arena *a = db_arena(db);
	struct stmt *st;
	const char *currency;
	int64_t	 customer, items, cap;

	st = db_q(db, Q_CHECKOUT_FULFIL_ORDER);
	db_bind_int(db, st, ":order", order);
	if (db_step(db, st) != DB_ROW)
		db_fail(db, "checkout: no order %" PRId64 " to fulfil", order);
	res->order = order;
	res->public_id = db_text(db, st, 0);
	customer = db_int(st, 1);
	res->total = db_int(st, 2);
	currency = db_text(db, st, 3);
	res->discount = db_int(st, 4);
	items = db_int(st, 5);
	db_reset(st);

	/* One provision job per item, in the panel's lane; the job's key
	 * names the item, so a retried enqueue finds the job it made. */
	cap = items > 0 ? items : 1;
	res->jobs = arena_alloc(a, (size_t)cap * sizeof(*res->jobs));
	res->njobs = 0;
	st = db_q(db, Q_CHECKOUT_FULFIL_ITEMS);
	db_bind_int(db, st, ":order", order);
	{
		int64_t	*ids = arena_alloc(a, (size_t)cap * sizeof(*ids));
		int64_t	*ren = arena_alloc(a, (size_t)cap * sizeof(*ren));
		int64_t	*srv = arena_alloc(a, (size_t)cap * sizeof(*srv));
		int64_t	 k, m = 0;

		/* The rows first, the statement reset, then the inserts. */
		while (m < cap && db_step(db, st) == DB_ROW) {
			ids[m] = db_int(st, 0);
			ren[m] = db_int(st, 1);
			srv[m] = db_int(st, 2);
			m++;
		}
		db_reset(st);
		for (k = 0; k < m; k++)
			res->jobs[res->njobs++] = spool_enqueue_at(db, "provision",
			    arena_printf(a, "provision:item:%" PRId64, ids[k]),
			    ren[k] > 0 ?
			    arena_printf(a, "{\"order\":%" PRId64 ",\"order_item\":%" PRId64
			    ",\"renewal_of\":%" PRId64 "}", order, ids[k], ren[k]) :
			    arena_printf(a, "{\"order\":%" PRId64 ",\"order_item\":%" PRId64 "}",
			    order, ids[k]), 0, srv[k]);
	}

	/* A referred customer's paid order accrues its referrer's pending
	 * commission, in this transaction: a rolled-back checkout leaves
	 * none (referral.c). */
	referral_accrue(db, customer, order, res->total, currency);
	test_pause("checkout:referral");
	/* Paid first, then invoiced: the invoice copies the order's state
	 * and paid_at, so the invoice is issued paid. */
	order_transition(db, order, ORDER_PAID, who, method);
	test_pause("checkout:paid");
	invoice_issue(db, order, &res->invoice);
	test_pause("checkout:invoice");
	audit(db, who, "order.paid", arena_printf(a, "order:%s", res->public_id),
	    "%s, %" PRId64 " %s, %" PRId64 " item%s, invoice %s", method, res->total, currency,
	    items, items == 1 ? "" : "s", res->invoice);
	test_pause("checkout:audit");
}
