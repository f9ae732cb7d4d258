/*
 * coupon.c: the coupon rules (coupon.h).  Every rule is read from the
 * row as it stands, so a coupon edited or deactivated by staff between
 * the cart page and the checkout is judged by what it says at checkout.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "checkout.h"
#include "coupon.h"
#include "db.h"
#include "money.h"
#include "util.h"

const char *const coupon_rc_text[COUPON__MAX] = {
	[COUPON_OK] = "Coupon applied.",
	[COUPON_UNKNOWN] = "This coupon code is not valid.",
	[COUPON_NOT_STARTED] = "This coupon cannot be used yet.",
	[COUPON_EXPIRED] = "This coupon has expired.",
	[COUPON_EXHAUSTED] = "This coupon has been used up.",
	[COUPON_CUSTOMER_LIMIT] = "You have already used this coupon as many times as it allows.",
	[COUPON_MIN_AMOUNT] = "Your order is below this coupon's minimum amount.",
	[COUPON_FIRST_ORDER] = "This coupon is for a first order only.",
	[COUPON_NOT_APPLICABLE] = "This coupon does not apply to anything in your cart.",
};

/* Whether plan falls in the coupon's scope. */
static int
in_scope(struct db *db, const char *scope, int64_t plan_id, int64_t category_id, int64_t plan)
{
	struct stmt *st;
	int	 in;

	if (strcmp(scope, "global") == 0)
		return 1;
	if (strcmp(scope, "plan") == 0)
		return plan == plan_id;
	st = db_q(db, Q_COUPON_PLAN_CATEGORY);
	db_bind_int(db, st, ":plan", plan);
	in = db_step(db, st) == DB_ROW && !db_is_null(st, 0) && db_int(st, 0) == category_id;
	db_reset(st);
	return in;
}

enum coupon_rc
coupon_check(struct db *db, const char *code, int64_t customer, const struct checkout_line *l,
    size_t n, struct coupon_apply *out)
{
	struct stmt *st;
	const char *kind, *cur, *scope;
	int64_t	 now = now_unix(), lines = 0, scoped = 0, percent, amount, plan_id, category_id;
	int64_t	 max_uses, max_cust, min_order, first_only, uses, mine;
	size_t	 i;

	memset(out, 0, sizeof(*out));
	st = db_q(db, Q_COUPON_BY_CODE);
	db_bind_text(db, st, ":code", code);
	if (db_step(db, st) != DB_ROW || db_int(st, 15) != 1) {
		db_reset(st);
		return COUPON_UNKNOWN;
	}
	out->coupon = db_int(st, 0);
	out->code = db_text(db, st, 1);
	kind = db_text(db, st, 2);
	percent = db_is_null(st, 3) ? 0 : db_int(st, 3);
	amount = db_is_null(st, 4) ? 0 : db_int(st, 4);
	cur = db_is_null(st, 5) ? "" : db_text(db, st, 5);
	scope = db_text(db, st, 6);
	plan_id = db_is_null(st, 7) ? 0 : db_int(st, 7);
	category_id = db_is_null(st, 8) ? 0 : db_int(st, 8);
	if (!db_is_null(st, 9) && now < db_int(st, 9)) {
		db_reset(st);
		return COUPON_NOT_STARTED;
	}
	if (!db_is_null(st, 10) && now >= db_int(st, 10)) {
		db_reset(st);
		return COUPON_EXPIRED;
	}
	max_uses = db_is_null(st, 11) ? -1 : db_int(st, 11);
	max_cust = db_is_null(st, 12) ? -1 : db_int(st, 12);
	min_order = db_int(st, 13);
	first_only = db_int(st, 14);
	db_reset(st);

	st = db_q(db, Q_COUPON_USES);
	db_bind_int(db, st, ":coupon", out->coupon);
	db_bind_int(db, st, ":cid", customer);
	if (db_step(db, st) != DB_ROW)
		db_fail(db, "coupon uses: no row");
	uses = db_int(st, 0);
	mine = db_int(st, 1);
	db_reset(st);
	if (max_uses >= 0 && uses >= max_uses)
		return COUPON_EXHAUSTED;
	if (customer > 0 && max_cust >= 0 && mine >= max_cust)
		return COUPON_CUSTOMER_LIMIT;
	if (customer > 0 && first_only) {
		st = db_q(db, Q_COUPON_PRIOR_ORDERS);
		db_bind_int(db, st, ":cid", customer);
		if (db_step(db, st) != DB_ROW)
			db_fail(db, "coupon prior orders: no row");
		uses = db_int(st, 0);
		db_reset(st);
		if (uses > 0)
			return COUPON_FIRST_ORDER;
	}

	/* The lines' prices are at most MONEY_MAX / 100 and 100 of each
	 * (checkout.c refuses more), so these sums do not overflow for a
	 * cart of sane length; the sums are capped to be sure. */
	for (i = 0; i < n; i++) {
		int64_t	 v;

		if (l[i].price < 0 || l[i].price > MONEY_MAX / 100 || l[i].qty < 0 || l[i].qty > 100)
			db_fail(db, "coupon: line out of range");
		v = l[i].price * l[i].qty;
		if (lines > MONEY_MAX - v)
			db_fail(db, "coupon: lines beyond MONEY_MAX");
		lines += v;
		if (in_scope(db, scope, plan_id, category_id, l[i].plan))
			scoped += v;
	}
	if (lines < min_order)
		return COUPON_MIN_AMOUNT;
	if (scoped == 0)
		return COUPON_NOT_APPLICABLE;
	if (strcmp(kind, "percent") == 0) {
		/* Half up, in integers: MONEY_MAX * 100 fits in 64 bits. */
		out->discount = (scoped * percent + 50) / 100;
	} else {
		if (n == 0 || strcmp(cur, l[0].currency) != 0)
			return COUPON_NOT_APPLICABLE;
		out->discount = amount < scoped ? amount : scoped;
	}
	if (out->discount > scoped)
		out->discount = scoped;
	return COUPON_OK;
}

void
coupon_redeem(struct db *db, const struct coupon_apply *c, int64_t customer, int64_t order)
{
	struct stmt *st = db_q(db, Q_COUPON_REDEEM);

	db_bind_int(db, st, ":coupon", c->coupon);
	db_bind_int(db, st, ":cid", customer);
	db_bind_int(db, st, ":order", order);
	db_bind_int(db, st, ":discount", c->discount);
	db_step(db, st);
	db_reset(st);
}

int
coupon_release(struct db *db, int64_t order_id)
{
	struct stmt *st = db_q(db, Q_COUPON_RELEASE);

	db_bind_int(db, st, ":order", order_id);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
	db_reset(st);
	return db_changes(db) > 0;
}
