/*
 * coupon.h: checking a coupon code against a cart and redeeming it
 * (issue 11, "Coupons"; the table is sql/009_commerce.sql's coupons).
 * The check runs twice: when the cart shows a discount, and again inside
 * the checkout's BEGIN IMMEDIATE transaction, where it is the one that
 * counts: the uses are counted from the unreleased coupon_redemptions
 * rows under the write lock, and the redemption row is written in the
 * same transaction, so a coupon of N uses gives N redemptions however
 * many checkouts race.
 */
#ifndef PX_COUPON_H
#define PX_COUPON_H

#include <stddef.h>
#include <stdint.h>

struct checkout_line;
struct db;

enum coupon_rc {
	COUPON_OK = 0,
	COUPON_UNKNOWN,		/* no such code, or deactivated */
	COUPON_NOT_STARTED,	/* before starts_at */
	COUPON_EXPIRED,		/* at or after ends_at */
	COUPON_EXHAUSTED,	/* max_uses reached */
	COUPON_CUSTOMER_LIMIT,	/* max_uses_per_customer reached for this customer */
	COUPON_MIN_AMOUNT,	/* the lines sum to less than min_order_minor */
	COUPON_FIRST_ORDER,	/* first_order_only, and the customer has ordered before */
	COUPON_NOT_APPLICABLE,	/* no line in the coupon's scope, or a fixed amount in another currency */
	COUPON__MAX
};

/* A sentence for each outcome, for a page or a command. */
extern const char *const coupon_rc_text[COUPON__MAX];

struct coupon_apply {
	int64_t		 coupon;	/* coupons.id */
	const char	*code;		/* as stored, in the db's arena */
	int64_t		 discount;	/* minor units off the lines, 0..lines */
};

/*
 * Check code (case-blind) for customer (0: an anonymous cart, whose
 * per-customer and first-order rules cannot be known yet and pass) over
 * the n lines (their kept prices, one currency), at now_unix().  On
 * COUPON_OK, out holds the coupon and its discount: percent of the
 * lines in scope rounded half up to the minor unit, or the fixed amount,
 * never more than the lines in scope.  The minimum order is compared
 * with the sum of all the lines before any discount.  Reads only.
 */
enum coupon_rc coupon_check(struct db *, const char *code, int64_t customer,
	    const struct checkout_line *, size_t n, struct coupon_apply *out);

/* Write the redemption row of a checked coupon for order, inside the
 * caller's transaction (one coupon per order: a second is a hard error). */
void	coupon_redeem(struct db *, const struct coupon_apply *, int64_t customer, int64_t order);

/*
 * Give back the coupon use of order (a cancelled or refunded order),
 * inside the caller's transaction: its coupon_redemptions row gets
 * released_at, so coupon_check no longer counts it against max_uses or
 * max_uses_per_customer.  The row stays (the history of who used what).
 * Returns 1 when a use was released, 0 when the order had no coupon or
 * its use was released already (a second call changes nothing).
 */
int	coupon_release(struct db *, int64_t order_id);

#endif
