/*
 * order.h: orders and their state machine.  An order's state moves
 * forward only, and only through order_transition(), the one place
 * that knows which moves are allowed (the schema's CHECK lists the
 * states; it cannot list transitions).  Each move writes its
 * order_events row in the same statement pair, so the timeline a page
 * shows is the history the state went through.
 *
 *   pending ──► paid ──► provisioning ──► active ──► completed
 *      │          │  \         │  \          │
 *      ▼          │   ▼        │   ▼         ▼
 *   cancelled     │  active    │  failed ──► refunded
 *                 ▼            ▼
 *               failed      refunded       (paid, provisioning,
 *                                           active ──► refunded too)
 *
 * As with wallet.h, the caller owns the transaction (db_begin), and
 * every call here runs inside it.
 */
#ifndef PX_ORDER_H
#define PX_ORDER_H

#include <stdint.h>

struct actor;
struct arena;
struct db;

enum order_state {
	ORDER_PENDING,
	ORDER_PAID,
	ORDER_PROVISIONING,
	ORDER_ACTIVE,
	ORDER_COMPLETED,
	ORDER_CANCELLED,
	ORDER_FAILED,
	ORDER_REFUNDED,
	ORDER__MAX
};
/* The names the schema uses ("pending", "paid", ...). */
extern const char *const order_state_name[ORDER__MAX];

/* The state named s, or -1. */
int	order_state_parse(const char *s);
/* Whether an order may move from one state to the other (a page asks
 * before it offers a button). */
int	order_can_transition(enum order_state from, enum order_state to);

/*
 * What order_create writes.  Amounts are minor units of currency, with
 * subtotal - discount + tax = total (checked here and by the schema).
 * method may be NULL (not chosen yet); idem_key may be NULL (no
 * idempotency: a staff-made order) or the checkout form's token, stored
 * UNIQUE with the order.
 */
struct order_new {
	int64_t		 customer;
	int64_t		 subtotal;
	int64_t		 discount;
	int64_t		 tax;
	int		 tax_rate_bp;	/* 0..10000 */
	int		 prices_include_tax;
	const char	*currency;
	const char	*method;	/* wallet, stripe, paypal, nowpayments; NULL */
	const char	*idem_key;
};

/*
 * Make a pending order with its 'created' event, inside the caller's
 * transaction.  The public id is 20 characters of base32 from 100
 * random bits (not guessable; never the row id).  An idem_key already
 * used returns that order (*replay set to 1) and writes nothing, so a
 * double submit makes one order; a key used by another customer's
 * order is a hard error.  Totals that do not add up are a hard error.
 * The order id; *public_id (may be NULL) in the db's arena.
 */
int64_t	order_create(struct db *, const struct order_new *, const struct actor *,
	    const char **public_id, int *replay);

/*
 * Move order to state to, writing its order_events row (kind: the new
 * state; the actor's name and id; note may be NULL), inside the
 * caller's transaction.  Setting 'paid' stamps paid_at.  A move the
 * state machine does not allow, from whatever state the order is in
 * now, is a hard error (db_fail: the transaction rolls back and the
 * unit of work ends), as is an order that does not exist.  Returns the
 * state the order left.
 */
enum order_state order_transition(struct db *, int64_t order, enum order_state to,
	    const struct actor *, const char *note);

/*
 * Cancel an unpaid order, inside the caller's BEGIN IMMEDIATE
 * transaction: when it is pending now, move it to cancelled (note on
 * the event), give its items' stock back to their plans and its coupon
 * use back (coupon_release), set *plans (may be NULL) to the number of
 * plans whose stock came back and *coupon to 1 when a use was released,
 * and return 1.  In any other state write nothing and return 0, so a
 * staff cancel and the expiry racing on one order cancel it once.  The
 * caller writes the audit row (it knows who and why).
 */
int	order_cancel_pending(struct db *, int64_t order, const struct actor *, const char *note,
	    int64_t *plans, int *coupon);

/* The order's state now, or -1 when there is no such order. */
int	order_state(struct db *, int64_t order);

#endif
