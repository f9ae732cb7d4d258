/*
 * payment.h: payments through a gateway, for an order or a wallet
 * top-up (issue 13; DESIGN.md "Payments"; sql/021_payments.sql).
 *
 * One path changes a payment: payment_apply().  A webhook (after its
 * signature), the return page's follow-up job and reconciliation all
 * read what the gateway says into a struct pay_observation and hand it
 * here, inside the caller's BEGIN IMMEDIATE transaction, so that:
 *   - the event is recorded in gateway_events under UNIQUE (gateway,
 *     event_id) in the same transaction as the state change: a replay
 *     is PAY_DUPLICATE and changes nothing;
 *   - the state moves forward only (created < pending < partially_paid
 *     < succeeded < partially_refunded < refunded; failed, expired and
 *     cancelled end an unpaid payment): an out-of-order event is
 *     recorded as 'stale' and changes nothing;
 *   - fulfilment (the order paid with its provision jobs and invoice,
 *     or the wallet credited) happens once, by a conditional UPDATE of
 *     payments.fulfilled_at, whoever comes first;
 *   - amount and currency are checked against the payment: a mismatch
 *     is held for staff (held_reason), never fulfilled; NOWPayments'
 *     under- and over-payment follow the setting payments.mismatch
 *     ('hold' or 'wallet': credit what arrived, or the difference, to
 *     the wallet).
 * As with wallet.h and order.h, the caller owns the transaction; every
 * call here runs inside it and follows db.h's error contract.
 */
#ifndef PX_PAYMENT_H
#define PX_PAYMENT_H

#include <stddef.h>
#include <stdint.h>

struct actor;
struct db;

enum pay_state {
	PAY_CREATED,		/* row written; payment_create has not run */
	PAY_PENDING,		/* the gateway's checkout exists; the customer has not paid */
	PAY_PARTIALLY_PAID,	/* some money arrived, not all (NOWPayments) */
	PAY_SUCCEEDED,		/* paid */
	PAY_FAILED,
	PAY_EXPIRED,
	PAY_CANCELLED,
	PAY_PARTIALLY_REFUNDED,
	PAY_REFUNDED,
	PAY__MAX
};
/* The names the schema uses ("created", "pending", ...). */
extern const char *const pay_state_name[PAY__MAX];
/* The state named s, or -1. */
int	pay_state_parse(const char *s);

/*
 * What a gateway says about one payment, from whatever source.  Strings
 * are borrowed for the call.  Unknown numbers are -1, unknown strings
 * NULL.
 */
struct pay_observation {
	const char	*gateway;	/* "stripe", "paypal", "nowpayments" */
	const char	*source;	/* "webhook", "return", "reconcile", "staff" */
	const char	*event_id;	/* UNIQUE per gateway: Stripe evt_..., PayPal WH-...,
					 * NOWPayments "<payment_id>:<status>:<actually_paid>";
					 * a poll makes "poll:<ref>:<state>:<amount>" */
	const char	*event_type;	/* the gateway's name for it, for the page */
	const char	*payload;	/* the raw body (or the polled object), stored as is */
	int64_t		 payment;	/* ours, when the gateway echoed it (metadata); 0: find by ref */
	const char	*ref;		/* gateway_ref: session / PayPal order / NOWPayments invoice id */
	const char	*ref2;		/* PaymentIntent / capture id / NOWPayments payment_id, to record */
	int		 state;		/* enum pay_state the gateway reports; -1: says nothing
					 * about the payment's state (recorded only) */
	int64_t		 amount;	/* what was paid, minor units of currency; -1 unknown */
	const char	*currency;	/* upper case; NULL unknown */
	/* Refunds seen at the gateway (charge.refunded, PAYMENT.CAPTURE.REFUNDED,
	 * NOWPayments 'refunded'): the cumulative amount refunded so far, and
	 * the one refund this event is about (its gateway id and amount), when
	 * known.  refund.c records a refund the shop did not make (origin
	 * 'gateway') and completes one it did. */
	int64_t		 refunded_total;	/* -1 unknown */
	const char	*refund_ref;
	int64_t		 refund_amount;		/* -1 unknown */
	/* Added by core13: ours by its public id, as the gateways echo it
	 * (Stripe client_reference_id / metadata[payment], PayPal
	 * custom_id, NOWPayments order_id); NULL: not echoed.  payment_apply
	 * looks by payment, then payment_public, then ref, then ref2. */
	const char	*payment_public;
};
/* An observation with every field unknown (-1 / NULL). */
void	pay_observation_init(struct pay_observation *, const char *gateway, const char *source);

enum pay_apply_rc {
	PAY_APPLIED,	/* recorded, and the payment moved (maybe fulfilled) */
	PAY_DUPLICATE,	/* this event id was recorded before: nothing new */
	PAY_STALE,	/* recorded; would move the state backwards: nothing changed */
	PAY_HELD,	/* recorded; paid but not as the payment says: held for staff */
	PAY_UNKNOWN,	/* recorded; no payment of ours (the reconciliation report) */
	PAY_APPLY__MAX
};
extern const char *const pay_apply_rc_text[PAY_APPLY__MAX];

struct pay_apply_result {
	int64_t		 payment;	/* 0 for PAY_UNKNOWN */
	int		 from, to;	/* enum pay_state before and after */
	int		 fulfilled;	/* 1: this call fulfilled it */
	/* Jobs written (provision, email, ...): the caller wakes them after
	 * COMMIT (spool_wake_many). In the db's arena. */
	int64_t		*jobs;
	const char	**kinds;
	size_t		 njobs;
};

/*
 * Apply obs inside the caller's transaction (see the top of this file).
 * who is the actor of order events and audit rows (the system for a
 * webhook or cron, the customer for a return page, staff).
 */
enum pay_apply_rc payment_apply(struct db *, const struct pay_observation *obs,
	    const struct actor *who, struct pay_apply_result *res);

/* What payment_new writes. */
struct payment_new {
	int64_t		 customer;
	int64_t		 order;		/* 0 for a top-up */
	const char	*gateway;	/* stripe, paypal, nowpayments */
	int64_t		 amount;	/* minor units, > 0 */
	const char	*currency;
	const char	*idem_key;	/* the business operation: "pay:order:<id>:<gateway>:<n>",
					 * "topup:<form token>" */
};
/*
 * A payment row in 'created' and its payment_create job (key
 * "payment_create:<payment>"), inside the caller's transaction.  A key
 * used before returns that payment (*replay = 1) and writes nothing.
 * Returns the payment's id; *public_id (may be NULL) and *job (may be
 * NULL; 0 on a replay) filled.
 */
int64_t	payment_new(struct db *, const struct payment_new *, const char **public_id,
	    int64_t *job, int *replay);

/* Record what payment_create got from the gateway (in its job's
 * record()): gateway_ref, gateway_ref2 (may be NULL), checkout_url, and
 * created -> pending.  A payment no longer 'created' keeps its state (a
 * webhook got there first), but the references it lacks are recorded. */
void	payment_created(struct db *, int64_t payment, const char *ref, const char *ref2,
	    const char *url);
/* Record why payment_create failed for good (shown on /pay/{id} with a
 * retry), moving created -> failed. */
void	payment_create_failed(struct db *, int64_t payment, const char *why);

/* Staff's resolution of a held payment (/admin/payments), inside the
 * caller's transaction, audited by the caller: fulfil it as if it had
 * matched, or credit what arrived to the customer's wallet.  0, or -1
 * when the payment is not held (or was resolved before). */
int	payment_release(struct db *, int64_t payment, const struct actor *, struct pay_apply_result *);
int	payment_credit_wallet(struct db *, int64_t payment, int64_t staff, const struct actor *);

#endif
