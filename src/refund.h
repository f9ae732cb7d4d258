/*
 * refund.h: giving an order's money back (refund.c).  Today the staff's
 * "Refund to wallet" of a wallet-paid order (admin_orders.c).  Issue
 * 13's gateway refunds belong here too: the order's side (state,
 * commission, coupon, jobs, audit) is the same, only the money leg
 * differs (the gateway's refund instead of the wallet credit).
 *
 * As with wallet.h and order.h, the caller owns the transaction
 * (db_begin) and every call here runs inside it; database errors follow
 * db.h's contract.
 */
#ifndef PX_REFUND_H
#define PX_REFUND_H

#include <stdint.h>

struct actor;
struct db;

enum refund_rc {
	REFUND_OK = 0,		/* refunded: everything below is written */
	REFUND_REPLAY,		/* refunded before (a resubmit): nothing new */
	REFUND_STATE,		/* the order's state allows no refund: nothing written */
	REFUND_NOT_WALLET,	/* not paid from the wallet (a gateway's refund, issue 13) */
	REFUND_LIMIT,		/* the credit would pass the wallet's limit: nothing written */
	REFUND_NONE,		/* no such order */
	REFUND__MAX
};
/* A sentence for each outcome, for a page's message or a command's. */
extern const char *const refund_rc_text[REFUND__MAX];

struct refund_result {
	const char	*public_id;
	const char	*state;		/* the state the order was in */
	int64_t		 customer;
	int64_t		 amount;	/* what went back to the wallet */
	const char	*currency;
	int64_t		 balance;	/* the customer's balance after */
	int64_t		 wallet_tx;	/* the refund's ledger row (0: total 0) */
	int64_t		 jobs_discarded;
	const char	*referral;	/* what happened to a commission, or NULL */
	int		 coupon;	/* 1: the order's coupon use was released */
};

/*
 * Refund a wallet-paid order to its customer's wallet, inside the
 * caller's transaction: the order moved to 'refunded' through
 * order_transition() (order.c decides which states may be refunded), a
 * 'refund' credit of the order's total (key "refund:<order>", so an
 * order is refunded at most once whatever asks), the referral commission
 * reversed (referral_reverse), its coupon use released (coupon_release),
 * the order's provision jobs that have not
 * run discarded, its paid invoice marked 'refunded', and one audit row naming reason and staff.  staff is
 * the staff member's id for the ledger row (0: none).  An order that is
 * 'refunded' already is REFUND_REPLAY (nothing moves twice).  res is
 * filled on REFUND_OK and REFUND_REPLAY (strings in the db's arena).
 */
enum refund_rc refund_to_wallet(struct db *, int64_t order, const char *reason, int64_t staff,
	    const struct actor *, struct refund_result *res);

/*
 * Refund one failed order item (a proxy that could not be provisioned)
 * to the wallet, inside the caller's transaction.  The item must be
 * 'failed' and its order paid from the wallet.  When it is the order's
 * last item still standing (every other one cancelled), this is the
 * refund of the order (refund_to_wallet: state, coupon, referral,
 * invoice), less what earlier item refunds gave back.  Otherwise the
 * item's share of what was paid (total * unit price / subtotal) is
 * credited under the ledger key "refund:item:<item>", the item becomes
 * 'cancelled', its provision job that has not run is discarded, and one
 * audit row "order_item.refunded" is written.  An item refunded before,
 * or of an order refunded already, is REFUND_REPLAY (the money never
 * moves twice); an item in another state, or of an order the state
 * machine does not let go to refunded, REFUND_STATE; res as for refund_to_wallet (public_id, state:
 * the item's state, customer, amount, currency, balance).
 */
enum refund_rc refund_item_to_wallet(struct db *, int64_t item, const char *reason, int64_t staff,
	    const struct actor *, struct refund_result *res);

#endif
