/*
 * payment.c: the payment state machine and its fulfilment (payment.h).
 *
 * Every change to a payment after payment_create goes through
 * payment_apply(), inside the caller's transaction, in this order:
 *  1. find the payment (ours by id or public id when the gateway echoed
 *     it, else by the gateway's reference);
 *  2. record the event under UNIQUE (gateway, event_id): a replay stops
 *     here (PAY_DUPLICATE) before it can change anything;
 *  3. the state moves forward only (rank() below); an observation that
 *     would move it back is recorded as 'stale';
 *  4. money that arrived is checked (currency, amount) before anything
 *     is fulfilled; what does not match is held for staff;
 *  5. fulfilment by a conditional UPDATE of fulfilled_at, so whichever of
 *     webhook, return page and reconciliation comes first does it, once:
 *     an order is paid (checkout_fulfil: provision jobs, commission,
 *     invoice, audit), a top-up credits the wallet (ledger key
 *     "topup:<payment>") with its receipt; the customer's mail with it.
 * A hard error anywhere rolls all of it back with the caller's
 * transaction (db.h), so a crash between two of these steps leaves the
 * event unrecorded and the next delivery does the whole again.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "audit.h"
#include "checkout.h"
#include "db.h"
#include "invoice.h"
#include "mailq.h"
#include "money.h"
#include "order.h"
#include "payment.h"
#include "refund.h"
#include "session.h"
#include "setting.h"
#include "spool.h"
#include "testpause.h"
#include "util.h"
#include "wallet.h"

const char *const pay_apply_rc_text[PAY_APPLY__MAX] = {
	[PAY_APPLIED] = "applied",
	[PAY_DUPLICATE] = "duplicate",
	[PAY_STALE] = "stale",
	[PAY_HELD] = "held",
	[PAY_UNKNOWN] = "unknown",
};

/* How long an unpaid payment is kept open (payments.expires_at) when the
 * setting payments.expire_minutes says nothing; the order expiry leaves
 * an order alone while a payment of it is open (cron.c). */
#define PAY_EXPIRE_DEFAULT	60

void
pay_observation_init(struct pay_observation *o, const char *gateway, const char *source)
{
	memset(o, 0, sizeof(*o));
	o->gateway = gateway;
	o->source = source;
	o->state = -1;
	o->amount = -1;
	o->refunded_total = -1;
	o->refund_amount = -1;
}

/*
 * The order of states: a move to a lower rank is stale.  failed,
 * expired and cancelled end an unpaid payment and share a rank, above
 * pending and below any money: a payment the gateway says was paid
 * after all (crypto that arrives after the invoice expired) still
 * moves, because the money is real and must not be lost; it is then
 * judged as any payment is (an order cancelled meanwhile holds it).
 */
static int
rank(int s)
{
	switch (s) {
	case PAY_CREATED:		return 0;
	case PAY_PENDING:		return 1;
	case PAY_FAILED:
	case PAY_EXPIRED:
	case PAY_CANCELLED:		return 2;
	case PAY_PARTIALLY_PAID:	return 3;
	case PAY_SUCCEEDED:		return 4;
	case PAY_PARTIALLY_REFUNDED:	return 5;
	case PAY_REFUNDED:		return 6;
	}
	return -1;
}

/* One payment row as payment.c reads it (Q_PAY_GET's columns). */
struct pay_row {
	int64_t		 id;
	const char	*public_id;
	int64_t		 order;
	int64_t		 customer;
	const char	*gateway;
	const char	*purpose;
	const char	*ref, *ref2;
	int64_t		 amount;
	const char	*currency;
	int64_t		 received;	/* -1: not known */
	int		 state;
	int64_t		 refunded;
	const char	*held_reason;
	int64_t		 fulfilled_at;	/* 0: not yet */
};

static int
pay_read(struct db *db, struct stmt *st, struct pay_row *p)
{
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		return -1;
	}
	p->id = db_int(st, 0);
	p->public_id = db_text(db, st, 1);
	p->order = db_int(st, 2);
	p->customer = db_int(st, 3);
	p->gateway = db_text(db, st, 4);
	p->purpose = db_text(db, st, 5);
	p->ref = db_text(db, st, 6);
	p->ref2 = db_text(db, st, 7);
	p->amount = db_int(st, 8);
	p->currency = db_text(db, st, 9);
	p->received = db_int(st, 10);
	p->state = pay_state_parse(db_text(db, st, 11));
	p->refunded = db_int(st, 12);
	p->held_reason = db_text(db, st, 13);
	p->fulfilled_at = db_int(st, 14);
	db_reset(st);
	if (p->state < 0)
		db_fail(db, "payment %" PRId64 " in a state this program does not know", p->id);
	return 0;
}

static int
pay_get(struct db *db, int64_t id, struct pay_row *p)
{
	struct stmt *st = db_q(db, Q_PAY_GET);

	db_bind_int(db, st, ":id", id);
	return pay_read(db, st, p);
}

/* The payment an observation is about, or -1: ours when the gateway
 * echoed it (and it is of that gateway), else by its reference. */
static int
pay_find(struct db *db, const struct pay_observation *o, struct pay_row *p)
{
	struct stmt *st;

	if (o->payment > 0 && pay_get(db, o->payment, p) == 0 && strcmp(p->gateway, o->gateway) == 0)
		return 0;
	if (o->payment_public != NULL && *o->payment_public != '\0') {
		st = db_q(db, Q_PAY_BY_PUBLIC);
		db_bind_text(db, st, ":public_id", o->payment_public);
		if (pay_read(db, st, p) == 0 && strcmp(p->gateway, o->gateway) == 0)
			return 0;
	}
	if (o->ref != NULL && *o->ref != '\0') {
		st = db_q(db, Q_PAY_BY_REF);
		db_bind_text(db, st, ":gateway", o->gateway);
		db_bind_text(db, st, ":ref", o->ref);
		if (pay_read(db, st, p) == 0)
			return 0;
	}
	if (o->ref2 != NULL && *o->ref2 != '\0') {
		st = db_q(db, Q_PAY_BY_REF);
		db_bind_text(db, st, ":gateway", o->gateway);
		db_bind_text(db, st, ":ref", o->ref2);
		if (pay_read(db, st, p) == 0)
			return 0;
	}
	return -1;
}

/* A job written by this call, for the caller to wake after COMMIT. */
static void
add_job(struct db *db, struct pay_apply_result *res, int64_t id, const char *kind)
{
	struct arena *a = db_arena(db);
	int64_t	*j;
	const char **k;

	if (id <= 0)
		return;
	j = arena_alloc(a, (res->njobs + 1) * sizeof(*j));
	k = arena_alloc(a, (res->njobs + 1) * sizeof(*k));
	if (res->njobs) {
		memcpy(j, res->jobs, res->njobs * sizeof(*j));
		memcpy(k, res->kinds, res->njobs * sizeof(*k));
	}
	j[res->njobs] = id;
	k[res->njobs] = kind;
	res->jobs = j;
	res->kinds = k;
	res->njobs++;
}

static const char *
gw_word(const char *gw)
{
	if (strcmp(gw, "stripe") == 0)
		return "card (Stripe)";
	if (strcmp(gw, "paypal") == 0)
		return "PayPal";
	if (strcmp(gw, "nowpayments") == 0)
		return "crypto (NOWPayments)";
	return gw;
}

/*
 * The customer's mail about payment p: tmpl "emails/NAME" with the
 * payment, its order and invoice (links are made absolute by the email
 * job's base_url), idempotency key "NAME:<payment>", so a second call
 * for the same payment returns the same job.
 */
static void
pay_mail(struct db *db, int64_t payment, const char *name, const char *extra_key,
    const char *extra_val, struct pay_apply_result *res)
{
	struct arena *a = db_arena(db);
	struct json_object *v;
	struct stmt *st;
	const char *to, *cur;

	st = db_q(db, Q_PAY_MAIL);
	db_bind_int(db, st, ":id", payment);
	if (db_step(db, st) != DB_ROW)
		db_fail(db, "payment mail: no payment %" PRId64, payment);
	v = json_object_new_object();
	to = db_text(db, st, 0);
	json_object_object_add(v, "name", json_object_new_string(*db_text(db, st, 1) ?
	    db_text(db, st, 1) : to));
	json_object_object_add(v, "payment", json_object_new_string(db_text(db, st, 2)));
	cur = db_text(db, st, 4);
	json_object_object_add(v, "amount", json_object_new_string(money_str(a, db_int(st, 3), cur)));
	json_object_object_add(v, "gateway", json_object_new_string(gw_word(db_text(db, st, 5))));
	json_object_object_add(v, "order", json_object_new_string(db_text(db, st, 7)));
	json_object_object_add(v, "is_order", json_object_new_boolean(*db_text(db, st, 7) != '\0'));
	json_object_object_add(v, "invoice", json_object_new_string(db_text(db, st, 8)));
	json_object_object_add(v, "has_invoice", json_object_new_boolean(*db_text(db, st, 8) != '\0'));
	json_object_object_add(v, "state", json_object_new_string(db_text(db, st, 9)));
	json_object_object_add(v, "balance", json_object_new_string(money_str(a, db_int(st, 10),
	    db_text(db, st, 11))));
	db_reset(st);
	if (extra_key != NULL)
		json_object_object_add(v, extra_key, json_object_new_string(extra_val));
	add_job(db, res, mailq_add_db(db, to, arena_printf(a, "emails/%s", name), v,
	    arena_printf(a, "%s:%" PRId64, name, payment)), "email");
}

/* Hold p for staff with reason (kept when it was held before), with an
 * audit row. */
static void
pay_hold(struct db *db, const struct pay_row *p, const struct actor *who, const char *reason)
{
	struct stmt *st = db_q(db, Q_PAY_HOLD);

	db_bind_int(db, st, ":id", p->id);
	db_bind_text(db, st, ":reason", reason);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
	if (db_changes(db) == 1)
		audit(db, who, "payment.held", arena_printf(db_arena(db), "payment:%s", p->public_id),
		    "%s payment of %" PRId64 " %s held: %s", p->gateway, p->amount, p->currency, reason);
}

/* Claim the fulfilment of p for by: 1 when this call got it. */
static int
pay_claim(struct db *db, int64_t payment, const char *by)
{
	struct stmt *st = db_q(db, Q_PAY_FULFIL);

	db_bind_int(db, st, ":id", payment);
	db_bind_text(db, st, ":by", by);
	db_bind_int(db, st, ":now", now_unix());
	return db_one_int(db, st, 0) == payment;
}

/* Credit amount to p's customer's wallet as a top-up under key; 0, or
 * -1 with *why (a wallet in another currency, or its limit). */
static int
pay_credit(struct db *db, const struct pay_row *p, int64_t amount, const char *key,
    const char *memo, int64_t staff, const char **why)
{
	struct wallet_entry we;
	struct stmt *st;
	enum wallet_rc wrc;

	st = db_q(db, Q_ACCT_CUSTOMER);
	db_bind_int(db, st, ":id", p->customer);
	if (db_step(db, st) != DB_ROW || strcmp(db_text(db, st, 7), p->currency) != 0) {
		db_reset(st);
		*why = "the customer's wallet is in another currency";
		return -1;
	}
	db_reset(st);
	memset(&we, 0, sizeof(we));
	we.wallet = wallet_of_customer(db, p->customer, p->currency);
	we.amount = amount;
	we.kind = "topup";
	we.payment = p->id;
	we.staff = staff;
	we.memo = memo;
	we.idem_key = key;
	wrc = wallet_post(db, &we, NULL, NULL);
	if (wrc == WALLET_OK || wrc == WALLET_REPLAY)
		return 0;
	*why = wallet_rc_text[wrc];
	return -1;
}

/*
 * Fulfil p now that its money is in: the order paid or the wallet
 * credited, the mail.  The claim on fulfilled_at comes first; by is
 * who saw it (payments.fulfilled_by).  0, or -1 when p is held instead
 * (an order no longer payable): nothing else written then.
 */
static int
pay_fulfil(struct db *db, const struct pay_row *p, const char *by, const struct actor *who,
    struct pay_apply_result *res)
{
	struct checkout_result cres;
	const char *why;
	size_t	 i;
	int	 os;

	if (strcmp(p->purpose, "order") == 0) {
		os = order_state(db, p->order);
		if (os != ORDER_PENDING) {
			pay_hold(db, p, who, os == ORDER_CANCELLED ? "order no longer payable (cancelled)" :
			    arena_printf(db_arena(db), "order no longer payable (%s)",
			    os >= 0 ? order_state_name[os] : "missing"));
			return -1;
		}
		if (!pay_claim(db, p->id, by))
			return 0;
		test_pause("payment:claimed");
		memset(&cres, 0, sizeof(cres));
		checkout_fulfil(db, p->order, p->gateway, who, &cres);
		for (i = 0; i < cres.njobs; i++)
			add_job(db, res, cres.jobs[i], "provision");
		pay_mail(db, p->id, "payment_received", NULL, NULL, res);
	} else {
		if (pay_credit(db, p, p->amount, arena_printf(db_arena(db), "topup:%" PRId64, p->id),
		    arena_printf(db_arena(db), "Top-up by %s, payment %s", gw_word(p->gateway),
		    p->public_id), 0, &why) != 0) {
			pay_hold(db, p, who, arena_printf(db_arena(db), "top-up not credited: %s", why));
			return -1;
		}
		if (!pay_claim(db, p->id, by))
			db_fail(db, "payment %" PRId64 ": top-up credited but fulfilled before", p->id);
		test_pause("payment:claimed");
		invoice_issue_receipt(db, p->id, NULL);
		audit(db, who, "wallet.topup", arena_printf(db_arena(db), "payment:%s", p->public_id),
		    "%s top-up of %" PRId64 " %s credited", p->gateway, p->amount, p->currency);
		pay_mail(db, p->id, "topup_credited", NULL, NULL, res);
	}
	res->fulfilled = 1;
	return 0;
}

static void
pay_set_state(struct db *db, int64_t id, int state, int64_t received)
{
	struct stmt *st = db_q(db, Q_PAY_SET_STATE);

	db_bind_int(db, st, ":id", id);
	db_bind_text(db, st, ":state", pay_state_name[state]);
	db_bind_int(db, st, ":received", received);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
}

/* The gateway's references, where ours has none yet.  A reference that
 * another payment holds is not copied (it is that payment's): logged in
 * the event, nothing else. */
static void
pay_set_refs(struct db *db, const struct pay_row *p, const struct pay_observation *o)
{
	struct stmt *st;

	if (o->ref != NULL && *o->ref != '\0' && *p->ref == '\0') {
		st = db_q(db, Q_PAY_SET_REF);
		db_bind_int(db, st, ":id", p->id);
		db_bind_text(db, st, ":ref", o->ref);
		db_bind_int(db, st, ":now", now_unix());
		db_step_try(db, st);
	}
	if (o->ref2 != NULL && *o->ref2 != '\0' && *p->ref2 == '\0') {
		st = db_q(db, Q_PAY_SET_REF2);
		db_bind_int(db, st, ":id", p->id);
		db_bind_text(db, st, ":ref2", o->ref2);
		db_bind_int(db, st, ":now", now_unix());
		db_step_try(db, st);
	}
}

static void
event_outcome(struct db *db, int64_t ev, const char *outcome)
{
	struct stmt *st = db_q(db, Q_PAY_EVENT_OUTCOME);

	db_bind_int(db, st, ":id", ev);
	db_bind_text(db, st, ":outcome", outcome);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
}

/* What the mismatch setting says for NOWPayments' under- and
 * over-payment: 1 to credit the wallet, 0 to hold. */
static int
mismatch_to_wallet(struct db *db)
{
	return strcmp(setting_text(db, "payments.mismatch", "hold"), "wallet") == 0;
}

/*
 * Money arrived for p (state partially_paid or succeeded, amount paid
 * received in cur): judge it and fulfil, hold, or credit the wallet.
 * PAY_APPLIED or PAY_HELD.
 */
static int	pay_unhold(struct db *, int64_t);

static enum pay_apply_rc
pay_money(struct db *db, const struct pay_row *p, const struct pay_observation *o, int to,
    const struct actor *who, struct pay_apply_result *res)
{
	struct arena *a = db_arena(db);
	const char *by = o->source, *why;
	int	 nowpay = strcmp(p->gateway, "nowpayments") == 0;

	if (p->fulfilled_at > 0) {
		/* Credited before as an under-payment, now more arrived. */
		if (o->amount > p->received && p->received >= 0) {
			pay_hold(db, p, who, arena_printf(a, "more arrived (%" PRId64 " of %" PRId64 " %s) "
			    "after the payment was settled", o->amount, p->amount, p->currency));
			return PAY_HELD;
		}
		return PAY_APPLIED;
	}
	if (o->amount < 0 || o->currency == NULL) {
		pay_hold(db, p, who, "the gateway did not say how much arrived");
		return PAY_HELD;
	}
	if (strcasecmp(o->currency, p->currency) != 0) {
		pay_hold(db, p, who, arena_printf(a, "currency mismatch: %" PRId64 " %s arrived, "
		    "%" PRId64 " %s expected", o->amount, o->currency, p->amount, p->currency));
		return PAY_HELD;
	}
	if (to == PAY_PARTIALLY_PAID || o->amount < p->amount) {
		/* Short.  Only NOWPayments says so on purpose (crypto sent
		 * short); elsewhere a short amount is a mismatch to look at. */
		if (nowpay && mismatch_to_wallet(db) && o->amount > 0) {
			if (pay_credit(db, p, o->amount, arena_printf(a, "mismatch:%" PRId64, p->id),
			    arena_printf(a, "Under-payment of payment %s credited", p->public_id), 0,
			    &why) != 0) {
				pay_hold(db, p, who, arena_printf(a, "under-payment not credited: %s", why));
				return PAY_HELD;
			}
			if (!pay_claim(db, p->id, by))
				db_fail(db, "payment %" PRId64 ": credited but fulfilled before", p->id);
			audit(db, who, "wallet.topup", arena_printf(a, "payment:%s", p->public_id),
			    "under-payment: %" PRId64 " of %" PRId64 " %s arrived, credited to the wallet",
			    o->amount, p->amount, p->currency);
			pay_mail(db, p->id, "payment_short", "received", money_str(a, o->amount,
			    p->currency), res);
			res->fulfilled = 1;
			return PAY_APPLIED;
		}
		if (to == PAY_PARTIALLY_PAID && !nowpay)
			return PAY_APPLIED;	/* waiting for the rest */
		pay_hold(db, p, who, arena_printf(a, "under-payment: %" PRId64 " of %" PRId64 " %s "
		    "arrived", o->amount, p->amount, p->currency));
		return PAY_HELD;
	}
	if (o->amount > p->amount) {
		if (!nowpay || !mismatch_to_wallet(db)) {
			pay_hold(db, p, who, arena_printf(a, "over-payment: %" PRId64 " %s arrived, "
			    "%" PRId64 " expected", o->amount, p->currency, p->amount));
			return PAY_HELD;
		}
		if (pay_fulfil(db, p, by, who, res) != 0)
			return PAY_HELD;
		if (pay_credit(db, p, o->amount - p->amount, arena_printf(a, "mismatch:%" PRId64, p->id),
		    arena_printf(a, "Over-payment of payment %s credited", p->public_id), 0, &why) != 0)
			pay_hold(db, p, who, arena_printf(a, "over-payment not credited: %s", why));
		else
			audit(db, who, "wallet.topup", arena_printf(a, "payment:%s", p->public_id),
			    "over-payment: %" PRId64 " %s credited to the wallet", o->amount - p->amount,
			    p->currency);
		return PAY_APPLIED;
	}
	/* The amount is right now.  A hold from an earlier short arrival
	 * (NOWPayments' partially_paid, then the rest) is over: the
	 * payment leaves the staff's held list as it is fulfilled. */
	if (*p->held_reason != '\0')
		pay_unhold(db, p->id);
	return pay_fulfil(db, p, by, who, res) == 0 ? PAY_APPLIED : PAY_HELD;
}

enum pay_apply_rc
payment_apply(struct db *db, const struct pay_observation *o, const struct actor *who,
    struct pay_apply_result *res)
{
	struct pay_row p;
	struct stmt *st;
	enum pay_apply_rc rc = PAY_APPLIED;
	int64_t	 ev, received;
	int	 found, to;

	memset(res, 0, sizeof(*res));
	if (o->gateway == NULL || o->event_id == NULL || *o->event_id == '\0' || o->source == NULL)
		db_fail(db, "payment_apply: an observation without gateway, event id or source");
	found = pay_find(db, o, &p) == 0;

	/* The event first: its UNIQUE key is what makes a replay change
	 * nothing, whatever it says. */
	st = db_q(db, Q_PAY_EVENT_INSERT);
	db_bind_text(db, st, ":gateway", o->gateway);
	db_bind_text(db, st, ":event_id", o->event_id);
	db_bind_text(db, st, ":type", o->event_type ? o->event_type : "");
	db_bind_int(db, st, ":payment", found ? p.id : 0);
	db_bind_text(db, st, ":payload", o->payload ? o->payload : "");
	db_bind_text(db, st, ":outcome", found ? "applied" : "unknown");
	db_bind_text(db, st, ":source", o->source);
	db_bind_int(db, st, ":now", now_unix());
	if ((ev = db_one_int(db, st, 0)) == 0)
		return PAY_DUPLICATE;
	if (!found)
		return PAY_UNKNOWN;
	test_pause("payment:event");
	res->payment = p.id;
	res->from = res->to = p.state;
	pay_set_refs(db, &p, o);
	to = o->state;

	/* A refund seen at the gateway, whatever else the event says. */
	if (o->refunded_total >= 0 || (o->refund_ref != NULL && *o->refund_ref != '\0') ||
	    to == PAY_REFUNDED || to == PAY_PARTIALLY_REFUNDED) {
		if (rank(p.state) < rank(PAY_PARTIALLY_PAID) && p.fulfilled_at == 0)
			/* Refunded before the shop saw it paid: nothing is
			 * fulfilled from it any more, and staff should know. */
			pay_hold(db, &p, who, "refunded at the gateway before the shop saw it paid");
		/* refund.c records the refund row (or completes the shop's
		 * own), moves the payment and the order, applies the refund
		 * policy and mails the customer. */
		if (refund_seen(db, p.id, o, who, res) != PAY_APPLIED) {
			event_outcome(db, ev, "stale");
			return PAY_STALE;
		}
		return PAY_APPLIED;
	}
	if (to < 0)	/* says nothing about the state: recorded only */
		return PAY_APPLIED;
	if (rank(to) < rank(p.state) || (rank(to) == rank(p.state) &&
	    !(to == PAY_PARTIALLY_PAID && p.state == PAY_PARTIALLY_PAID && o->amount > p.received))) {
		event_outcome(db, ev, "stale");
		return PAY_STALE;
	}

	/* Forward.  What arrived is recorded in the payment's currency
	 * only: another currency's amount is the hold's reason, not a
	 * figure to credit. */
	received = o->amount >= 0 && o->currency != NULL && strcasecmp(o->currency, p.currency) == 0 ?
	    o->amount : -1;
	pay_set_state(db, p.id, to, received);
	res->to = to;
	test_pause("payment:state");
	if (to == PAY_SUCCEEDED || to == PAY_PARTIALLY_PAID) {
		rc = pay_money(db, &p, o, to, who, res);
	} else if ((to == PAY_FAILED || to == PAY_EXPIRED) && rank(p.state) <= rank(PAY_PENDING)) {
		/* The customer hears of a payment that will not come; the
		 * order stays pending (another gateway may pay it) until its
		 * expiry. */
		pay_mail(db, p.id, "payment_failed", NULL, NULL, res);
	}
	if (rc == PAY_HELD)
		event_outcome(db, ev, "held");
	return rc;
}

int64_t
payment_new(struct db *db, const struct payment_new *pn, const char **public_id, int64_t *job,
    int *replay)
{
	struct arena *a = db_arena(db);
	struct stmt *st;
	char	 pub[33];
	int64_t	 id, j, now = now_unix();

	*replay = 0;
	if (job != NULL)
		*job = 0;
	if (pn->idem_key == NULL || *pn->idem_key == '\0' || pn->amount <= 0 || pn->amount > MONEY_MAX)
		db_fail(db, "payment_new: no key, or an amount outside 1..MONEY_MAX");
	st = db_q(db, Q_PAY_BY_IDEM);
	db_bind_text(db, st, ":key", pn->idem_key);
	if (db_step(db, st) == DB_ROW) {
		id = db_int(st, 0);
		if (public_id != NULL)
			*public_id = db_text(db, st, 1);
		if (db_int(st, 2) != pn->customer)
			db_fail(db, "payment_new: key %s is another customer's", pn->idem_key);
		db_reset(st);
		*replay = 1;
		return id;
	}
	db_reset(st);
	/* 128 random bits (session.h's tokens), never the row id: the
	 * /pay pages are named by it. */
	token_new(pub);
	st = db_q(db, Q_PAY_INSERT);
	db_bind_text(db, st, ":public_id", pub);
	if (pn->order > 0)
		db_bind_int(db, st, ":order", pn->order);
	else
		db_bind_null(db, st, ":order");
	db_bind_int(db, st, ":customer", pn->customer);
	db_bind_text(db, st, ":gateway", pn->gateway);
	db_bind_text(db, st, ":purpose", pn->order > 0 ? "order" : "topup");
	db_bind_int(db, st, ":amount", pn->amount);
	db_bind_text(db, st, ":currency", pn->currency);
	db_bind_text(db, st, ":key", pn->idem_key);
	db_bind_int(db, st, ":expires", now + 60 * setting_int(db, "payments.expire_minutes",
	    PAY_EXPIRE_DEFAULT, 5, 10080));
	db_bind_int(db, st, ":now", now);
	if ((id = db_one_int(db, st, 0)) <= 0)
		db_fail(db, "payment insert returned no row");
	j = spool_enqueue_db(db, "payment_create", arena_printf(a, "payment_create:%" PRId64, id),
	    arena_printf(a, "{\"payment\":%" PRId64 "}", id));
	if (job != NULL)
		*job = j;
	if (public_id != NULL)
		*public_id = arena_strdup(a, pub);
	return id;
}

void
payment_created(struct db *db, int64_t payment, const char *ref, const char *ref2, const char *url)
{
	struct stmt *st = db_q(db, Q_PAY_CREATED);

	/* The references are kept even when a webhook moved the payment on
	 * before this record (it can: the gateway answers the customer's
	 * browser and our job at once); only 'created' becomes pending. */
	db_bind_int(db, st, ":id", payment);
	db_bind_text(db, st, ":ref", ref);
	if (ref2 != NULL && *ref2 != '\0')
		db_bind_text(db, st, ":ref2", ref2);
	else
		db_bind_null(db, st, ":ref2");
	db_bind_text(db, st, ":url", url);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
}

void
payment_create_failed(struct db *db, int64_t payment, const char *why)
{
	struct stmt *st = db_q(db, Q_PAY_CREATE_FAILED);

	db_bind_int(db, st, ":id", payment);
	db_bind_text(db, st, ":why", why);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
}

/* Clear p's hold as resolved by staff: 1 when this call resolved it. */
static int
pay_unhold(struct db *db, int64_t payment)
{
	struct stmt *st = db_q(db, Q_PAY_UNHOLD);

	db_bind_int(db, st, ":id", payment);
	db_bind_int(db, st, ":now", now_unix());
	return db_one_int(db, st, 0) == payment;
}

int
payment_release(struct db *db, int64_t payment, const struct actor *who, struct pay_apply_result *res)
{
	struct pay_row p;

	memset(res, 0, sizeof(*res));
	if (pay_get(db, payment, &p) != 0 || *p.held_reason == '\0' || p.fulfilled_at > 0)
		return -1;
	res->payment = p.id;
	res->from = res->to = p.state;
	/* As if it had matched: the order paid, or the top-up's amount. */
	if (strcmp(p.purpose, "order") == 0 && order_state(db, p.order) != ORDER_PENDING)
		return -1;
	if (!pay_unhold(db, p.id))
		return -1;
	p.held_reason = "";
	if (pay_fulfil(db, &p, "staff", who, res) != 0 || !res->fulfilled)
		db_fail(db, "payment %" PRId64 ": release did not fulfil", p.id);
	return 0;
}

int
payment_credit_wallet(struct db *db, int64_t payment, int64_t staff, const struct actor *who)
{
	struct pay_row p;
	const char *why;

	if (pay_get(db, payment, &p) != 0 || *p.held_reason == '\0' || p.fulfilled_at > 0 ||
	    p.received <= 0)
		return -1;
	if (!pay_unhold(db, p.id))
		return -1;
	if (pay_credit(db, &p, p.received, arena_printf(db_arena(db), "held:%" PRId64, p.id),
	    arena_printf(db_arena(db), "Payment %s credited by staff", p.public_id), staff, &why) != 0)
		return -1;	/* the caller rolls back */
	if (!pay_claim(db, p.id, "staff"))
		return -1;
	(void)who;
	return 0;
}
