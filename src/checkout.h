/*
 * checkout.h: paying for a cart from the wallet (DESIGN.md, "Data").
 * Everything that must change together is written inside the caller's
 * one BEGIN IMMEDIATE transaction: the order and its items (a quantity
 * of N is N items of quantity 1: one proxy each), the stock taken, the
 * ledger debit, the invoice with its number, one `provision` job per
 * item, the order moved to paid, the audit row.  A refusal (anything
 * but CHECKOUT_OK and CHECKOUT_REPLAY) may have written part of that:
 * the caller rolls back, so a refusal writes nothing and takes no
 * invoice number.
 *
 * Renewals: a line with renewal_of makes items that carry it, whose
 * provision jobs say "renewal_of": ITEM (the job extends that item's
 * client); the renewed item is checked again inside the transaction
 * (still the customer's, its order still renewable), or the checkout is
 * CHECKOUT_RENEWAL.
 *
 * Coupons: checkout_wallet_coupon re-checks the code inside the
 * transaction (coupon.h) and writes its coupon_redemptions row with the
 * order; the order keeps subtotal - discount + tax = total, the tax
 * computed on the discounted amount.  Referrals: a referred customer's
 * paid order writes its referrer's pending commission in the same
 * transaction (referral_accrue, referral.h).  Tax and the shop's currency come from
 * the settings (tax.rate_bp, tax.inclusive, shop.currency) at checkout
 * and are kept on the order.
 */
#ifndef PX_CHECKOUT_H
#define PX_CHECKOUT_H

#include <stddef.h>
#include <stdint.h>

struct actor;
struct db;

/* One line of a cart as checkout sees it: the price kept when it was
 * shown, and (from checkout_lines) the plan as it stands now. */
struct checkout_line {
	int64_t		 plan;
	const char	*slug, *name;
	int64_t		 qty;		/* 1..100 */
	int64_t		 price;		/* the price the cart showed, minor units */
	const char	*currency;	/* ... in this currency */
	/* Filled by checkout_lines (informative: checkout re-reads them). */
	int64_t		 price_now;
	const char	*currency_now;
	int		 active;
	int64_t		 stock;		/* -1: unlimited */
	/* A renewal line (page_orders.c, Renew): the order item whose
	 * client the new item extends, 0 for a new purchase; its order's
	 * public id and its place in that order, for "Renewal of ORDER item
	 * N".  Checkout copies renewal_of into the order item and its
	 * provision job's payload. */
	int64_t		 renewal_of;
	const char	*renewal_order;
	int64_t		 renewal_n;
};

enum checkout_rc {
	CHECKOUT_OK = 0,	/* written: the order is paid */
	CHECKOUT_REPLAY,	/* this idempotency key made an order before: nothing new */
	CHECKOUT_EMPTY,		/* no lines */
	CHECKOUT_CHANGED,	/* a price or currency moved since the cart showed it */
	CHECKOUT_UNAVAILABLE,	/* a plan was withdrawn */
	CHECKOUT_SOLD_OUT,	/* not enough stock left */
	CHECKOUT_INSUFFICIENT,	/* the wallet does not hold the total */
	CHECKOUT_CURRENCY,	/* lines in more than one currency, or not the wallet's */
	CHECKOUT_BAD_KEY,	/* the key belongs to another customer's order */
	CHECKOUT_COUPON,	/* the coupon is no longer usable (res->coupon_rc says why) */
	CHECKOUT_RENEWAL,	/* a renewed item is no longer renewable (or not the customer's) */
	CHECKOUT__MAX
};
/* A sentence for each outcome, for a page or a command. */
extern const char *const checkout_rc_text[CHECKOUT__MAX];

struct checkout_result {
	int64_t		 order;
	const char	*public_id;	/* in the db's arena */
	const char	*invoice;	/* the invoice number; NULL on a replay */
	int64_t		 total;		/* what the wallet paid, tax included */
	int64_t		 discount;	/* the coupon's, minor units (0: none) */
	int		 coupon_rc;	/* enum coupon_rc, on CHECKOUT_COUPON */
	int64_t		 balance;	/* the wallet's balance after */
	const char	*plan_name;	/* the plan a refusal is about, or NULL */
	int64_t		*jobs;		/* the provision jobs written, to wake after COMMIT */
	size_t		 njobs;
};

/* The lines of cart (kept prices and the plans now), in the db's arena;
 * returns how many. */
size_t	checkout_lines(struct db *, int64_t cart, struct checkout_line **);
/* Whether a line shows something other than what checkout would charge
 * now (price, currency, availability, stock). */
int	checkout_line_changed(const struct checkout_line *);
/* The tax on lines (the sum of the lines' prices) as the settings say
 * now (tax.rate_bp, tax.inclusive): *subtotal (net), *tax, *rate (basis
 * points) and *inclusive; what is paid is *subtotal + *tax. */
void	checkout_tax(struct db *, int64_t lines, int64_t *subtotal, int64_t *tax, int64_t *rate,
	    int *inclusive);
/* The same with a discount (0..lines) taken off the lines first: the
 * tax is on the discounted amount, and what is paid is *subtotal -
 * discount + *tax. */
void	checkout_tax_discounted(struct db *, int64_t lines, int64_t discount, int64_t *subtotal,
	    int64_t *tax, int64_t *rate, int *inclusive);
/*
 * Pay lines from customer's wallet, inside the caller's transaction.
 * idem_key (required) is the checkout form's token, stored UNIQUE with
 * the order: a key already used by this customer is CHECKOUT_REPLAY
 * with res->order and res->public_id of that order, whatever lines are
 * given (the cart was emptied by the first submit).  who is the actor
 * of the order's events and the audit row.
 */
enum checkout_rc checkout_wallet(struct db *, int64_t customer, const struct checkout_line *,
	    size_t n, const char *idem_key, const struct actor *who, struct checkout_result *res);
/* checkout_wallet with a coupon code (NULL or "": none), checked again
 * here (coupon.h); a coupon no longer usable is CHECKOUT_COUPON with
 * res->coupon_rc, and nothing is to be committed. */
enum checkout_rc checkout_wallet_coupon(struct db *, int64_t customer,
	    const struct checkout_line *, size_t n, const char *coupon, const char *idem_key,
	    const struct actor *who, struct checkout_result *res);

/*
 * The checkout split (issue 13): a gateway's checkout places the order
 * now and fulfils it when the payment arrives (payment.c).
 *
 * checkout_place: everything of checkout_wallet_coupon that comes
 * before the money, inside the caller's transaction: the key looked at
 * (CHECKOUT_REPLAY, CHECKOUT_BAD_KEY as there), the plans, prices and
 * stock checked and the stock taken, the coupon judged and redeemed, a
 * 'pending' order with payment_method method and its items.  No job, no
 * money, no invoice.  res->order, public_id, total and discount on
 * CHECKOUT_OK; any other outcome is the caller's to roll back.  An
 * order left pending gives its stock and coupon use back when it is
 * cancelled (order_cancel_pending, the expiry).
 */
enum checkout_rc checkout_place(struct db *, int64_t customer, const struct checkout_line *,
	    size_t n, const char *coupon, const char *method, const char *idem_key,
	    const struct actor *who, struct checkout_result *res);
/*
 * checkout_fulfil: a placed order is paid, inside the caller's
 * transaction: one provision job per item (res->jobs, to wake after
 * COMMIT), the referral commission accrued, the order moved to paid
 * (note: method), its invoice issued paid (res->invoice), one audit row
 * "order.paid".  The order must be pending (order_transition refuses
 * anything else: a hard error); the caller makes sure it is fulfilled
 * once (payment.c: payments.fulfilled_at).  res->order, public_id and
 * total filled.
 */
void	checkout_fulfil(struct db *, int64_t order, const char *method, const struct actor *who,
	    struct checkout_result *res);

#endif
