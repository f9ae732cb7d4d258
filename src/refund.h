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

#include <stddef.h>
#include <stdint.h>

#include "payment.h"

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
	/* The refund policy's client jobs (refund_to_wallet): wake them
	 * after COMMIT (spool_wake_many with pay.njobs, pay.jobs, pay.kinds). */
	struct pay_apply_result pay;
};

/*
 * Refund a wallet-paid order to its customer's wallet, inside the
 * caller's transaction: the order moved to 'refunded' through
 * order_transition() (order.c decides which states may be refunded), a
 * 'refund' credit of the order's total (key "refund:<order>", so an
 * order is refunded at most once whatever asks), the referral commission
 * reversed (referral_reverse), its coupon use released (coupon_release),
 * the order's provision jobs that have not
 * run discarded, its paid invoice marked 'refunded', the refund policy
 * applied to its proxies (refund_policy_get), and one audit row naming reason and staff.  staff is
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

/* ---- refunds of a gateway payment (issue 13) ---- */

/*
 * The setting payments.refund_policy: what happens to the order's
 * proxies when its payment is refunded whole (a partial refund leaves
 * the service alone).  'suspend' (the default) disables the clients on
 * their panels, 'deprovision' deletes them, 'none' leaves them; through
 * client_job_enqueue(), op "refund:<order>".  Wallet refunds of a whole
 * order (refund_to_wallet) follow it too.
 */
enum refund_policy { REFUND_POLICY_SUSPEND, REFUND_POLICY_DEPROVISION, REFUND_POLICY_NONE,
	REFUND_POLICY__MAX };
extern const char *const refund_policy_name[REFUND_POLICY__MAX];
enum refund_policy refund_policy_get(struct db *);

enum refund_dest { REFUND_TO_GATEWAY, REFUND_TO_WALLET, REFUND_TO_MANUAL, REFUND_DEST__MAX };
/* "gateway", "wallet", "manual" (the schema's names). */
extern const char *const refund_dest_name[REFUND_DEST__MAX];
/* The destination named s, or -1. */
int	refund_dest_parse(const char *s);

enum refund_pay_rc {
	RPAY_OK,		/* the refund is written (and done, or queued for the gateway) */
	RPAY_REPLAY,		/* this form's refund was written before: nothing new */
	RPAY_NONE,		/* no such payment */
	RPAY_UNPAID,		/* the payment never arrived (or is held): nothing to give back */
	RPAY_AMOUNT,		/* the amount is 0 or more than what is left: nothing written */
	RPAY_NO_API,		/* the gateway has no refund API (NOWPayments): wallet or manual */
	RPAY_LIMIT,		/* the wallet credit would pass the wallet's limit */
	RPAY_TOPUP_WALLET,	/* a top-up goes back through its gateway or by hand, not to the wallet */
	RPAY__MAX
};
extern const char *const refund_pay_rc_text[RPAY__MAX];

/* What staff ask for (the refund form on the order page, /admin/payments). */
struct refund_ask {
	int64_t		 payment;
	int64_t		 amount;	/* minor units; 0: everything that is left */
	enum refund_dest dest;
	const char	*reason;	/* one line, required by the form */
	int64_t		 staff;		/* the staff member (refunds.staff_id, the ledger row) */
	int64_t		 seq;		/* the form's refund number: how many refunds the payment
					 * had when the form was shown, plus one.  The key is
					 * "refund:<payment>:<seq>", so a resubmitted form (or a
					 * second tab) is RPAY_REPLAY, never a second refund. */
};

struct refund_pay_result {
	int64_t		 refund;	/* refunds.id */
	int64_t		 amount;
	const char	*currency;
	int64_t		 left;		/* what may still be refunded after this one */
	int64_t		 job;		/* the refund job (gateway), or 0 */
	/* The payment before and after, and every job this wrote (the
	 * refund job, policy jobs, the mail): wake them all after COMMIT
	 * (spool_wake_many with pay.njobs, pay.jobs, pay.kinds). */
	struct pay_apply_result pay;
};

/*
 * Refund part or all of a payment that arrived, inside the caller's
 * transaction.  Checks in words first (what is left: the amount of the
 * payment less every refund that has not failed; the trigger
 * refunds_cap is only the belt), then writes the refunds row under its
 * key "refund:<payment>:<seq>" before anything else:
 *   - wallet: the row 'succeeded' with a 'refund' credit of the amount
 *     (wallet_post, the same key) at once;
 *   - manual: the row 'succeeded' at once (staff paid it back by hand);
 *   - gateway: the row 'pending' and a 'refund' job (payload
 *     {"refund":ID}, the gateway lane) that work runs through
 *     gw_ops(id)->refund with the row's key; refund_job_done() settles it.
 * A refund that completes moves payments.refunded_minor and its state
 * (partially_refunded, refunded); the whole payment refunded refunds the
 * order (state, referral commission, coupon, provision jobs, invoice,
 * the refund policy); the customer gets the "refund issued" mail.  One
 * audit row "payment.refund" by who.
 */
enum refund_pay_rc refund_payment(struct db *, const struct refund_ask *, const struct actor *who,
	    struct refund_pay_result *res);

/*
 * A refund observed at the gateway, from payment_apply() (a webhook,
 * the return page's follow-up, reconciliation), inside its transaction:
 * obs->refund_ref with obs->refund_amount (one refund) and/or
 * obs->refunded_total (the gateway's cumulative refunded amount).  A
 * pending refund of ours is completed (matched by its gateway reference,
 * else the oldest pending gateway refund of that amount); a refund the
 * shop did not make (the gateway's dashboard) is recorded with origin
 * 'gateway'; then as refund_payment: the payment's refunded amount and
 * state, the order, the policy, the mail.  A refund seen before changes
 * nothing.  A cumulative amount past what the payment can hold is
 * recorded only up to the payment (logged and audited).  res->payment,
 * from and to are set; its jobs are appended to.  Returns PAY_APPLIED
 * when something moved, PAY_STALE when the observation said nothing new.
 */
enum pay_apply_rc refund_seen(struct db *, int64_t payment, const struct pay_observation *,
	    const struct actor *, struct pay_apply_result *);

/*
 * The refund job's result, in the transaction that marks the job done
 * (job_refund.c): state 1 succeeded (ref the gateway's refund id), 0
 * still pending at the gateway (ref recorded; a webhook or the next
 * lookup completes it), -1 failed (why recorded; the amount may be
 * refunded again).  Settles the payment as refund_seen does.  The jobs
 * written are appended to res (may be NULL: then the caller cannot wake
 * them; work's poll finds them).
 */
void	refund_job_done(struct db *, int64_t refund, int state, const char *ref, const char *why,
	    const struct actor *, struct pay_apply_result *res);

#endif
