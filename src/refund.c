/*
 * refund.c: refunds of orders (refund.h).
 *
 * Everything a refund changes is one transaction (the caller's): if the
 * credit is refused, or the state machine refuses the move, nothing of
 * it stays.  The ledger key "refund:<order>" is what makes a refund
 * happen once even past the state check: two refunds of one order can
 * never both credit.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "client_job.h"
#include "coupon.h"
#include "db.h"
#include "log.h"
#include "mailq.h"
#include "money.h"
#include "order.h"
#include "referral.h"
#include "refund.h"
#include "setting.h"
#include "spool.h"
#include "util.h"
#include "wallet.h"

const char *const refund_rc_text[REFUND__MAX] = {
	[REFUND_OK] = "The order is refunded to the customer's wallet.",
	[REFUND_REPLAY] = "The order was refunded already.",
	[REFUND_STATE] = "This order cannot be refunded in its state.",
	[REFUND_NOT_WALLET] = "This order was not paid from the wallet: it is refunded through its payment gateway.",
	[REFUND_LIMIT] = "The refund would take the wallet past the largest balance it may hold. Nothing was changed.",
	[REFUND_NONE] = "There is no such order.",
};

static int64_t apply_policy(struct db *, int64_t order, struct pay_apply_result *);

enum refund_rc
refund_to_wallet(struct db *db, int64_t order, const char *reason, int64_t staff,
    const struct actor *who, struct refund_result *res)
{
	struct arena *a = db_arena(db);
	struct wallet_entry e;
	struct stmt *st;
	const char *method;
	int	 state;
	enum wallet_rc wrc;

	memset(res, 0, sizeof(*res));
	st = db_q(db, Q_REFUND_ORDER_GET);
	db_bind_int(db, st, ":id", order);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		return REFUND_NONE;
	}
	res->public_id = db_text(db, st, 0);
	res->state = db_text(db, st, 1);
	res->amount = db_int(st, 2);
	res->currency = db_text(db, st, 3);
	res->customer = db_int(st, 4);
	method = db_text(db, st, 5);
	db_reset(st);
	state = order_state_parse(res->state);
	if (state == ORDER_REFUNDED)
		return REFUND_REPLAY;
	if (state < 0 || !order_can_transition((enum order_state)state, ORDER_REFUNDED))
		return REFUND_STATE;
	if (strcmp(method, "wallet") != 0)
		return REFUND_NOT_WALLET;
	/* What failed items gave back already (refund_item_to_wallet) is
	 * not given twice. */
	st = db_q(db, Q_RFI_REFUNDED);
	db_bind_int(db, st, ":order", order);
	if (db_step(db, st) == DB_ROW)
		res->amount -= db_int(st, 0);
	db_reset(st);
	if (res->amount < 0)
		res->amount = 0;

	/* The reason goes into the ledger's memo and the audit row; the
	 * event's note (at most 500 characters) only says where the money went. */
	order_transition(db, order, ORDER_REFUNDED, who, "refunded to the wallet");
	memset(&e, 0, sizeof(e));
	e.wallet = wallet_of_customer(db, res->customer, res->currency);
	if (res->amount > 0) {
		e.amount = res->amount;
		e.kind = "refund";
		e.order = order;
		e.staff = staff;
		e.memo = arena_printf(a, "Refund of order %s: %s", res->public_id, reason);
		e.idem_key = arena_printf(a, "refund:%" PRId64, order);
		wrc = wallet_post(db, &e, &res->balance, &res->wallet_tx);
		if (wrc == WALLET_LIMIT)
			return REFUND_LIMIT;	/* the caller rolls back the transition */
		if (wrc != WALLET_OK)
			db_fail(db, "refund of order %" PRId64 ": %s", order, wallet_rc_text[wrc]);
	} else
		res->balance = wallet_balance(db, e.wallet);
	res->referral = referral_reverse(db, order, who);
	/* The coupon use comes back: a refunded order's redemption no
	 * longer counts against the coupon's limits (coupon.h). */
	res->coupon = coupon_release(db, order);
	st = db_q(db, Q_REFUND_DISCARD_JOBS);
	db_bind_int(db, st, ":order", order);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
	res->jobs_discarded = db_changes(db);
	st = db_q(db, Q_REFUND_INVOICE);
	db_bind_int(db, st, ":order", order);
	db_step(db, st);
	/* The proxies the money paid for, per payments.refund_policy. */
	apply_policy(db, order, &res->pay);
	audit(db, who, "order.refunded", arena_printf(a, "order:%" PRId64, order),
	    "order %s (%s) refunded to the wallet: %s (ledger row %" PRId64 ", balance %s); "
	    "%" PRId64 " provision job%s discarded%s%s%s; reason: %s", res->public_id, res->state,
	    money_str(a, res->amount, res->currency), res->wallet_tx,
	    money_str(a, res->balance, res->currency), res->jobs_discarded,
	    res->jobs_discarded == 1 ? "" : "s", res->referral ? "; " : "",
	    res->referral ? res->referral : "", res->coupon ? "; coupon use released" : "", reason);
	return REFUND_OK;
}

enum refund_rc
refund_item_to_wallet(struct db *db, int64_t item, const char *reason, int64_t staff,
    const struct actor *who, struct refund_result *res)
{
	struct arena *a = db_arena(db);
	struct wallet_entry e;
	struct stmt *st;
	const char *method, *key, *ostate;
	int64_t	 order, unit, total, subtotal, others;
	enum refund_rc rc;
	enum wallet_rc wrc;
	int	 done;

	memset(res, 0, sizeof(*res));
	st = db_q(db, Q_RFI_ITEM);
	db_bind_int(db, st, ":id", item);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		return REFUND_NONE;
	}
	order = db_int(st, 0);
	res->state = arena_strdup(a, db_text(db, st, 1));
	unit = db_int(st, 2);
	total = db_int(st, 3);
	subtotal = db_int(st, 4);
	res->currency = arena_strdup(a, db_text(db, st, 5));
	res->customer = db_int(st, 6);
	method = arena_strdup(a, db_text(db, st, 7));
	res->public_id = arena_strdup(a, db_text(db, st, 8));
	ostate = arena_strdup(a, db_text(db, st, 9));
	others = db_int(st, 10);
	db_reset(st);
	key = arena_printf(a, "refund:item:%" PRId64, item);
	/* A refunded order gave back its items with it (a failed item of
	 * it stays 'failed'): its money never moves again. */
	if (strcmp(ostate, "refunded") == 0)
		return REFUND_REPLAY;
	if (order_state_parse(ostate) < 0 ||
	    !order_can_transition((enum order_state)order_state_parse(ostate), ORDER_REFUNDED))
		return REFUND_STATE;
	if (strcmp(res->state, "cancelled") == 0) {
		st = db_q(db, Q_RFI_KEY);
		db_bind_text(db, st, ":key", key);
		done = db_step(db, st) == DB_ROW;
		db_reset(st);
		return done ? REFUND_REPLAY : REFUND_STATE;
	}
	if (strcmp(res->state, "failed") != 0)
		return REFUND_STATE;
	if (strcmp(method, "wallet") != 0)
		return REFUND_NOT_WALLET;
	st = db_q(db, Q_RFI_CANCEL);
	db_bind_int(db, st, ":id", item);
	db_step(db, st);
	if (others == 0) {
		/* The last item standing: the order's own refund. */
		rc = refund_to_wallet(db, order, reason, staff, who, res);
		res->state = "failed";
		return rc;
	}
	memset(&e, 0, sizeof(e));
	e.wallet = wallet_of_customer(db, res->customer, res->currency);
	/* The item's share of what was paid: the discount and tax spread
	 * over the items by price. */
	res->amount = subtotal > 0 ? (int64_t)((__int128)total * unit / subtotal) : 0;
	if (res->amount > 0) {
		e.amount = res->amount;
		e.kind = "refund";
		e.order = order;
		e.staff = staff;
		e.memo = arena_printf(a, "Refund of a failed item of order %s: %s", res->public_id, reason);
		e.idem_key = key;
		wrc = wallet_post(db, &e, &res->balance, &res->wallet_tx);
		if (wrc == WALLET_LIMIT)
			return REFUND_LIMIT;
		if (wrc != WALLET_OK)
			db_fail(db, "refund of order item %" PRId64 ": %s", item, wallet_rc_text[wrc]);
	} else
		res->balance = wallet_balance(db, e.wallet);
	st = db_q(db, Q_RFI_DISCARD_JOB);
	db_bind_int(db, st, ":id", item);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
	res->jobs_discarded = db_changes(db);
	audit(db, who, "order_item.refunded", arena_printf(a, "order_item:%" PRId64, item),
	    "failed item %" PRId64 " of order %s refunded to the wallet: %s (ledger row %" PRId64
	    ", balance %s); reason: %s", item, res->public_id, money_str(a, res->amount, res->currency),
	    res->wallet_tx, money_str(a, res->balance, res->currency), reason);
	return REFUND_OK;
}

/* ---- refunds of a gateway payment (issue 13) ---- */

const char *const refund_policy_name[REFUND_POLICY__MAX] = {
	[REFUND_POLICY_SUSPEND] = "suspend",
	[REFUND_POLICY_DEPROVISION] = "deprovision",
	[REFUND_POLICY_NONE] = "none",
};

const char *const refund_dest_name[REFUND_DEST__MAX] = {
	[REFUND_TO_GATEWAY] = "gateway",
	[REFUND_TO_WALLET] = "wallet",
	[REFUND_TO_MANUAL] = "manual",
};

const char *const refund_pay_rc_text[RPAY__MAX] = {
	[RPAY_OK] = "The refund is recorded.",
	[RPAY_REPLAY] = "This refund was recorded already.",
	[RPAY_NONE] = "There is no such payment.",
	[RPAY_UNPAID] = "This payment has not arrived: there is nothing to refund. Nothing was changed.",
	[RPAY_AMOUNT] = "The amount must be more than zero and at most what is left to refund. Nothing was changed.",
	[RPAY_NO_API] = "This gateway has no refund API (NOWPayments): refund to the wallet, or pay it back "
	    "by hand and record it as manual. Nothing was changed.",
	[RPAY_LIMIT] = "The refund would take the wallet past the largest balance it may hold. Nothing was changed.",
	[RPAY_TOPUP_WALLET] = "A wallet top-up is not refunded into the wallet it filled: refund it through "
	    "the gateway or by hand. Nothing was changed.",
};

enum refund_policy
refund_policy_get(struct db *db)
{
	const char *v = setting_text(db, "payments.refund_policy", "suspend");
	int	 i;

	for (i = 0; i < REFUND_POLICY__MAX; i++)
		if (strcmp(v, refund_policy_name[i]) == 0)
			return (enum refund_policy)i;
	/* A bad stored value never stops a refund: the safe default. */
	return REFUND_POLICY_SUSPEND;
}

int
refund_dest_parse(const char *s)
{
	int	 i;

	for (i = 0; s != NULL && i < REFUND_DEST__MAX; i++)
		if (strcmp(s, refund_dest_name[i]) == 0)
			return i;
	return -1;
}

/* Append a job to res's list (a new array in the db's arena). */
static void
jobs_add(struct db *db, struct pay_apply_result *res, int64_t job, const char *kind)
{
	struct arena *a = db_arena(db);
	int64_t	*ids;
	const char **kinds;
	size_t	 i;

	if (res == NULL || job <= 0)
		return;
	for (i = 0; i < res->njobs; i++)
		if (res->jobs[i] == job)
			return;
	ids = arena_alloc(a, (res->njobs + 1) * sizeof(*ids));
	kinds = arena_alloc(a, (res->njobs + 1) * sizeof(*kinds));
	for (i = 0; i < res->njobs; i++) {
		ids[i] = res->jobs[i];
		kinds[i] = res->kinds[i];
	}
	ids[i] = job;
	kinds[i] = kind;
	res->jobs = ids;
	res->kinds = kinds;
	res->njobs++;
}

/*
 * The refund policy on an order refunded whole: one client job per
 * proxy of the order that is still on its panel, op "refund:<order>"
 * (asking twice finds the same job).  How many.
 */
static int64_t
apply_policy(struct db *db, int64_t order, struct pay_apply_result *res)
{
	struct arena *a = db_arena(db);
	enum refund_policy pol = refund_policy_get(db);
	struct stmt *st;
	int64_t	 ids[256], job, n = 0;
	const char *states[256], *kind, *op;
	size_t	 k = 0, i;

	if (pol == REFUND_POLICY_NONE)
		return 0;
	st = db_q(db, Q_RP_CLIENTS);
	db_bind_int(db, st, ":order", order);
	while (db_step(db, st) == DB_ROW && k < NELEM(ids)) {
		ids[k] = db_int(st, 0);
		states[k++] = db_text(db, st, 1);
	}
	db_reset(st);
	op = arena_printf(a, "refund:%" PRId64, order);
	kind = pol == REFUND_POLICY_DEPROVISION ? "deprovision" : "suspend";
	for (i = 0; i < k; i++) {
		/* A client not on its panel yet has its provision job
		 * discarded; one suspended already stays suspended. */
		if (strcmp(states[i], "pending") == 0 ||
		    (pol == REFUND_POLICY_SUSPEND && strcmp(states[i], "active") != 0))
			continue;
		if ((job = client_job_enqueue(db, kind, ids[i], op)) > 0) {
			jobs_add(db, res, job, kind);
			n++;
		}
	}
	return n;
}

/*
 * What an order refunded whole undoes, after its transition: the
 * referral commission, the coupon use, the provision jobs that have not
 * run, the paid invoice.  Shared by refund_to_wallet and the payment
 * refunds.
 */
static void
order_undo(struct db *db, int64_t order, const struct actor *who, const char **referral,
    int *coupon, int64_t *discarded)
{
	struct stmt *st;

	*referral = referral_reverse(db, order, who);
	/* The coupon use comes back: a refunded order's redemption no
	 * longer counts against the coupon's limits (coupon.h). */
	*coupon = coupon_release(db, order);
	st = db_q(db, Q_REFUND_DISCARD_JOBS);
	db_bind_int(db, st, ":order", order);
	db_bind_int(db, st, ":now", now_unix());
	db_step(db, st);
	*discarded = db_changes(db);
	st = db_q(db, Q_REFUND_INVOICE);
	db_bind_int(db, st, ":order", order);
	db_step(db, st);
}

/* A payment as refunds see it (Q_RP_PAYMENT). */
struct rp_pay {
	int64_t		 id, order, customer, amount, refunded, received;
	const char	*gateway, *purpose, *currency, *state, *public_id, *order_public, *order_state;
	const char	*held;
	int		 fulfilled;
};

static int
pay_load(struct db *db, int64_t id, struct rp_pay *p)
{
	struct stmt *st = db_q(db, Q_RP_PAYMENT);

	memset(p, 0, sizeof(*p));
	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		return -1;
	}
	p->id = db_int(st, 0);
	p->order = db_int(st, 1);
	p->customer = db_int(st, 2);
	p->gateway = db_text(db, st, 3);
	p->purpose = db_text(db, st, 4);
	p->amount = db_int(st, 5);
	p->currency = db_text(db, st, 6);
	p->refunded = db_int(st, 7);
	p->state = db_text(db, st, 8);
	p->fulfilled = db_int(st, 9) != 0;
	p->public_id = db_text(db, st, 10);
	p->order_public = db_text(db, st, 11);
	p->order_state = db_text(db, st, 12);
	p->held = db_text(db, st, 13);
	p->received = db_int(st, 14);
	db_reset(st);
	return 0;
}

/* What the payment's refunds add up to (Q_RP_SUMS). */
struct rp_sums {
	int64_t		 committed;	/* not failed: what the cap counts */
	int64_t		 done;		/* succeeded: payments.refunded_minor */
	int64_t		 at_gateway;	/* succeeded through the gateway */
	int64_t		 count;
};

static void
sums_load(struct db *db, int64_t payment, struct rp_sums *s)
{
	struct stmt *st = db_q(db, Q_RP_SUMS);

	db_bind_int(db, st, ":payment", payment);
	memset(s, 0, sizeof(*s));
	if (db_step(db, st) == DB_ROW) {
		s->committed = db_int(st, 0);
		s->done = db_int(st, 1);
		s->at_gateway = db_int(st, 2);
		s->count = db_int(st, 3);
	}
	db_reset(st);
}

/* Where the money of a refund went, for the mail and the audit row. */
static const char *
dest_words(const char *dest, const char *gateway)
{
	if (strcmp(dest, "wallet") == 0)
		return "your wallet";
	if (strcmp(dest, "manual") == 0)
		return "you directly";
	if (strcmp(gateway, "stripe") == 0)
		return "your card";
	if (strcmp(gateway, "paypal") == 0)
		return "your PayPal account";
	return "the account you paid from";
}

/*
 * A refund that has just become 'succeeded': the customer's mail (key
 * "refund-issued:<refund>"), and for a top-up given back outside the
 * wallet, the credit it made taken back from the wallet as far as the
 * balance goes (a 'reversal' debit, key "refund:topup:<refund>").
 */
static void
refund_completed(struct db *db, const struct rp_pay *p, int64_t refund, int64_t amount,
    const char *dest, const struct actor *who, struct pay_apply_result *res)
{
	struct arena *a = db_arena(db);
	struct json_object *v;
	struct wallet_entry e;
	struct stmt *st;
	const char *to, *name;
	int64_t	 bal, take, job;
	enum wallet_rc wrc;

	if (strcmp(p->purpose, "topup") == 0 && strcmp(dest, "wallet") != 0) {
		memset(&e, 0, sizeof(e));
		e.wallet = wallet_of_customer(db, p->customer, p->currency);
		bal = wallet_balance(db, e.wallet);
		take = bal < amount ? bal : amount;
		if (take > 0) {
			e.amount = -take;
			e.kind = "reversal";
			e.payment = p->id;
			e.memo = arena_printf(a, "Top-up %s refunded: %s%s", p->public_id,
			    money_str(a, amount, p->currency), take < amount ? " (more than the balance)" : "");
			e.idem_key = arena_printf(a, "refund:topup:%" PRId64, refund);
			wrc = wallet_post(db, &e, NULL, NULL);
			if (wrc != WALLET_OK && wrc != WALLET_REPLAY)
				db_fail(db, "refund %" PRId64 ": %s", refund, wallet_rc_text[wrc]);
		}
		if (take < amount)
			audit(db, who, "payment.refund_shortfall", arena_printf(a, "payment:%" PRId64, p->id),
			    "top-up %s refunded %s but the wallet held %s: %s could not be taken back",
			    p->public_id, money_str(a, amount, p->currency), money_str(a, bal, p->currency),
			    money_str(a, amount - take, p->currency));
	}
	st = db_q(db, Q_RP_MAIL);
	db_bind_int(db, st, ":id", p->customer);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		return;
	}
	to = db_text(db, st, 0);
	name = db_text(db, st, 1);
	db_reset(st);
	v = json_object_new_object();
	json_object_object_add(v, "name", json_object_new_string(*name ? name : to));
	json_object_object_add(v, "amount", json_object_new_string(money_str(a, amount, p->currency)));
	json_object_object_add(v, "to", json_object_new_string(dest_words(dest, p->gateway)));
	json_object_object_add(v, "what", json_object_new_string(*p->order_public ?
	    arena_printf(a, "order %s", p->order_public) : "your wallet top-up"));
	json_object_object_add(v, "card", json_object_new_boolean(strcmp(dest, "gateway") == 0));
	job = mailq_add_db(db, to, "emails/refund_issued", v, arena_printf(a, "refund-issued:%" PRId64, refund));
	jobs_add(db, res, job, "email");
}

/*
 * The payment's refunded amount and state from its succeeded refunds,
 * and the order when the payment is now refunded whole: the transition,
 * order_undo, the refund policy.  Audit rows are the callers'; this one
 * writes the order's ("order.refunded") when the order moves.
 */
static void
settle(struct db *db, int64_t payment, const struct actor *who, struct pay_apply_result *res)
{
	struct arena *a = db_arena(db);
	struct rp_pay p;
	struct rp_sums s;
	struct stmt *st;
	const char *referral;
	int64_t	 discarded, policy;
	int	 from, to, ostate, coupon;

	if (pay_load(db, payment, &p) != 0)
		return;
	sums_load(db, payment, &s);
	from = pay_state_parse(p.state);
	to = from;
	if (s.done >= p.amount)
		to = PAY_REFUNDED;
	else if (s.done > 0 && from != PAY_REFUNDED)
		to = PAY_PARTIALLY_REFUNDED;
	if (res != NULL) {
		res->payment = payment;
		if (res->from == 0 && res->to == 0)
			res->from = from;
		res->to = to;
	}
	if (s.done == p.refunded && to == from)
		return;
	st = db_q(db, Q_RP_PAY_MOVE);
	db_bind_int(db, st, ":id", payment);
	db_bind_int(db, st, ":refunded", s.done);
	db_bind_text(db, st, ":state", pay_state_name[to]);
	db_step(db, st);
	if (to != PAY_REFUNDED || from == PAY_REFUNDED || p.order == 0)
		return;
	/* The whole payment is back with the customer: the order is
	 * refunded, when its state allows (an order never fulfilled stays
	 * pending and expires). */
	ostate = order_state_parse(p.order_state);
	if (ostate < 0 || !order_can_transition((enum order_state)ostate, ORDER_REFUNDED))
		return;
	order_transition(db, p.order, ORDER_REFUNDED, who, "payment refunded");
	order_undo(db, p.order, who, &referral, &coupon, &discarded);
	policy = apply_policy(db, p.order, res);
	audit(db, who, "order.refunded", arena_printf(a, "order:%" PRId64, p.order),
	    "order %s (%s) refunded: payment %s (%s) given back whole (%s); %" PRId64
	    " provision job%s discarded; refund policy %s: %" PRId64 " client job%s%s%s%s",
	    p.order_public, p.order_state, p.public_id, p.gateway, money_str(a, s.done, p.currency),
	    discarded, discarded == 1 ? "" : "s", refund_policy_name[refund_policy_get(db)], policy,
	    policy == 1 ? "" : "s", referral ? "; " : "", referral ? referral : "",
	    coupon ? "; coupon use released" : "");
}

/* The refund row made: its id, or 0 on a constraint (the cap's trigger
 * or the key): the caller answers. */
static int64_t
refund_insert(struct db *db, const struct rp_pay *p, int64_t amount, const char *dest,
    const char *origin, const char *state, const char *ref, const char *reason, int64_t staff,
    const char *key)
{
	struct stmt *st = db_q(db, Q_RP_INSERT);

	db_bind_int(db, st, ":payment", p->id);
	if (p->order > 0)
		db_bind_int(db, st, ":order", p->order);
	else
		db_bind_null(db, st, ":order");
	db_bind_int(db, st, ":amount", amount);
	db_bind_text(db, st, ":currency", p->currency);
	db_bind_text(db, st, ":destination", dest);
	db_bind_text(db, st, ":origin", origin);
	db_bind_text(db, st, ":state", state);
	if (ref != NULL)
		db_bind_text(db, st, ":ref", ref);
	else
		db_bind_null(db, st, ":ref");
	db_bind_text(db, st, ":reason", reason);
	if (staff > 0)
		db_bind_int(db, st, ":staff", staff);
	else
		db_bind_null(db, st, ":staff");
	db_bind_text(db, st, ":key", key);
	if (db_step_try(db, st) == DB_CONSTRAINT)
		return 0;
	return db_last_id(db);
}

/* What may be refunded of a payment at all: what arrived, at most the
 * payment (the cap); 0 when nothing arrived. */
static int64_t
refundable(const struct rp_pay *p)
{
	int	 st = pay_state_parse(p->state);
	/* Never more than arrived: an underpaid payment that staff
	 * credited to the wallet, or one held, gives back what came. */
	int64_t	 came = p->received >= 0 && p->received < p->amount ? p->received : p->amount;

	if ((*p->held != '\0' && !p->fulfilled) || p->fulfilled || st == PAY_SUCCEEDED ||
	    st == PAY_PARTIALLY_REFUNDED || st == PAY_REFUNDED)
		return came;
	return 0;
}

enum refund_pay_rc
refund_payment(struct db *db, const struct refund_ask *ask, const struct actor *who,
    struct refund_pay_result *res)
{
	struct arena *a = db_arena(db);
	struct wallet_entry e;
	struct rp_pay p;
	struct rp_sums s;
	struct stmt *st;
	const char *key, *dest = refund_dest_name[ask->dest];
	int64_t	 left, amount, balance = 0, tx = 0;
	enum wallet_rc wrc;

	memset(res, 0, sizeof(*res));
	if (pay_load(db, ask->payment, &p) != 0)
		return RPAY_NONE;
	res->currency = p.currency;
	res->pay.payment = p.id;
	res->pay.from = res->pay.to = pay_state_parse(p.state);
	key = arena_printf(a, "refund:%" PRId64 ":%" PRId64, p.id, ask->seq);
	st = db_q(db, Q_RP_BY_KEY);
	db_bind_text(db, st, ":key", key);
	if (db_step(db, st) == DB_ROW) {
		res->refund = db_int(st, 0);
		res->amount = db_int(st, 1);
		db_reset(st);
		return RPAY_REPLAY;
	}
	db_reset(st);
	sums_load(db, p.id, &s);
	left = refundable(&p) - s.committed;
	if (refundable(&p) == 0)
		return RPAY_UNPAID;
	amount = ask->amount == 0 ? left : ask->amount;
	res->left = left;
	if (amount <= 0 || amount > left)
		return RPAY_AMOUNT;
	/* The contract's table: NOWPayments has no refund API. */
	if (ask->dest == REFUND_TO_GATEWAY && strcmp(p.gateway, "nowpayments") == 0)
		return RPAY_NO_API;
	if (ask->dest == REFUND_TO_WALLET && strcmp(p.purpose, "topup") == 0)
		return RPAY_TOPUP_WALLET;
	/* The row and its key first: a gateway call made from it, however
	 * often retried, carries this key. */
	res->refund = refund_insert(db, &p, amount, dest, "staff",
	    ask->dest == REFUND_TO_GATEWAY ? "pending" : "succeeded", NULL, ask->reason, ask->staff, key);
	if (res->refund == 0)
		return RPAY_AMOUNT;	/* the cap's trigger: checked above, so only a belt */
	res->amount = amount;
	res->left = left - amount;
	if (ask->dest == REFUND_TO_WALLET) {
		memset(&e, 0, sizeof(e));
		e.wallet = wallet_of_customer(db, p.customer, p.currency);
		e.amount = amount;
		e.kind = "refund";
		e.order = p.order;
		e.payment = p.id;
		e.staff = ask->staff;
		e.memo = arena_printf(a, "Refund of %s %s: %s", *p.order_public ? "order" : "payment",
		    *p.order_public ? p.order_public : p.public_id, ask->reason);
		e.idem_key = key;
		wrc = wallet_post(db, &e, &balance, &tx);
		if (wrc == WALLET_LIMIT)
			return RPAY_LIMIT;	/* the caller rolls back the row */
		if (wrc != WALLET_OK)
			db_fail(db, "refund %" PRId64 ": %s", res->refund, wallet_rc_text[wrc]);
		st = db_q(db, Q_RP_WALLET_TX);
		db_bind_int(db, st, ":id", res->refund);
		db_bind_int(db, st, ":tx", tx);
		db_step(db, st);
	}
	audit(db, who, "payment.refund", arena_printf(a, "payment:%" PRId64, p.id),
	    "refund %" PRId64 " of payment %s (%s%s%s): %s to %s%s; %s left to refund; reason: %s",
	    res->refund, p.public_id, p.gateway, *p.order_public ? ", order " : "", p.order_public,
	    money_str(a, amount, p.currency), dest,
	    ask->dest == REFUND_TO_GATEWAY ? " (queued for the gateway)" :
	    ask->dest == REFUND_TO_WALLET ? arena_printf(a, " (ledger row %" PRId64 ", balance %s)", tx,
	    money_str(a, balance, p.currency)) : " (paid back by hand)",
	    money_str(a, res->left, p.currency), ask->reason);
	if (ask->dest == REFUND_TO_GATEWAY) {
		res->job = spool_enqueue_db(db, "refund", key,
		    arena_printf(a, "{\"refund\":%" PRId64 "}", res->refund));
		jobs_add(db, &res->pay, res->job, "refund");
		return RPAY_OK;
	}
	refund_completed(db, &p, res->refund, amount, dest, who, &res->pay);
	settle(db, p.id, who, &res->pay);
	return RPAY_OK;
}

/* Complete pending refund id (ref may be NULL) and its effects. */
static int
complete(struct db *db, const struct rp_pay *p, int64_t id, int64_t amount, const char *ref,
    const struct actor *who, struct pay_apply_result *res)
{
	struct stmt *st = db_q(db, Q_RP_SUCCEED);

	db_bind_int(db, st, ":id", id);
	if (ref != NULL)
		db_bind_text(db, st, ":ref", ref);
	else
		db_bind_null(db, st, ":ref");
	db_step(db, st);
	if (db_changes(db) == 0)
		return 0;
	refund_completed(db, p, id, amount, "gateway", who, res);
	return 1;
}

/* A refund the shop did not make, up to what the payment can still
 * hold; 1 when recorded. */
static int
record_foreign(struct db *db, const struct rp_pay *p, int64_t amount, const char *ref,
    const char *key, const struct pay_observation *obs, const struct actor *who,
    struct pay_apply_result *res)
{
	struct arena *a = db_arena(db);
	struct rp_sums s;
	int64_t	 left, id;

	sums_load(db, p->id, &s);
	left = p->amount - s.committed;
	if (amount > left) {
		/* The money left anyway; the books cannot show more than the
		 * payment: say so where staff look. */
		log_sys("refund", "payment %" PRId64 ": the gateway refunded %" PRId64 " but only %"
		    PRId64 " is left to record", p->id, amount, left);
		audit(db, who, "payment.refund_excess", arena_printf(a, "payment:%" PRId64, p->id),
		    "the gateway reports a refund of %s on payment %s, more than the %s left to refund "
		    "(event %s): recorded up to the payment", money_str(a, amount, p->currency),
		    p->public_id, money_str(a, left, p->currency), obs->event_id ? obs->event_id : "-");
		amount = left;
	}
	if (amount <= 0)
		return 0;
	id = refund_insert(db, p, amount, "gateway", "gateway", "succeeded", ref,
	    "refunded at the gateway", 0, key);
	if (id == 0)
		return 0;	/* the same refund seen before (its key) */
	audit(db, who, "payment.refund_seen", arena_printf(a, "payment:%" PRId64, p->id),
	    "refund %" PRId64 " of payment %s (%s): %s made at the gateway%s%s (event %s)", id,
	    p->public_id, p->gateway, money_str(a, amount, p->currency), ref ? ", its id " : "",
	    ref ? ref : "", obs->event_id ? obs->event_id : "-");
	refund_completed(db, p, id, amount, "gateway", who, res);
	return 1;
}

enum pay_apply_rc
refund_seen(struct db *db, int64_t payment, const struct pay_observation *obs,
    const struct actor *who, struct pay_apply_result *res)
{
	struct arena *a = db_arena(db);
	struct rp_pay p;
	struct rp_sums s;
	struct stmt *st;
	const char *ref = obs->refund_ref;
	int64_t	 id, amount, delta, total;
	int	 moved = 0, ref_used = 0;

	if (pay_load(db, payment, &p) != 0)
		return PAY_STALE;
	if (res != NULL) {
		res->payment = payment;
		res->from = res->to = pay_state_parse(p.state);
	}
	if (ref != NULL && *ref == '\0')
		ref = NULL;
	if (ref != NULL) {
		st = db_q(db, Q_RP_BY_REF);
		db_bind_int(db, st, ":payment", payment);
		db_bind_text(db, st, ":ref", ref);
		if (db_step(db, st) == DB_ROW) {
			/* Ours or seen before: complete it if it waits. */
			id = db_int(st, 0);
			db_reset(st);
			st = db_q(db, Q_RP_GET);
			db_bind_int(db, st, ":id", id);
			amount = db_step(db, st) == DB_ROW ? db_int(st, 2) : 0;
			db_reset(st);
			moved |= complete(db, &p, id, amount, ref, who, res);
			ref_used = 1;
		} else {
			db_reset(st);
			/* A refund of ours whose id the job has not recorded
			 * yet (the webhook overtook the reply): the oldest
			 * pending one of this amount. */
			st = db_q(db, Q_RP_PENDING_MATCH);
			db_bind_int(db, st, ":payment", payment);
			if (obs->refund_amount > 0)
				db_bind_int(db, st, ":amount", obs->refund_amount);
			else
				db_bind_null(db, st, ":amount");
			if (db_step(db, st) == DB_ROW) {
				id = db_int(st, 0);
				amount = db_int(st, 1);
				db_reset(st);
				moved |= complete(db, &p, id, amount, ref, who, res);
				ref_used = 1;
			} else {
				db_reset(st);
				if (obs->refund_amount > 0) {
					moved |= record_foreign(db, &p, obs->refund_amount, ref,
					    arena_printf(a, "refund:%" PRId64 ":gw:%s", payment, ref), obs, who, res);
					ref_used = 1;
				}
			}
		}
	}
	/* A gateway that says "refunded" and no figure (NOWPayments'
	 * status) has given back the whole payment. */
	total = obs->refunded_total;
	if (total < 0 && obs->state == PAY_REFUNDED && !(ref != NULL && obs->refund_amount > 0))
		total = p.amount;
	if (total >= 0) {
		/* Refunds are cumulative amounts (contract section 6): what
		 * the gateway has given back beyond what we know of. */
		sums_load(db, payment, &s);
		delta = total - s.at_gateway;
		while (delta > 0) {
			st = db_q(db, Q_RP_PENDING_UPTO);
			db_bind_int(db, st, ":payment", payment);
			db_bind_int(db, st, ":amount", delta);
			if (db_step(db, st) != DB_ROW) {
				db_reset(st);
				break;
			}
			id = db_int(st, 0);
			amount = db_int(st, 1);
			db_reset(st);
			if (!complete(db, &p, id, amount, ref_used ? NULL : ref, who, res))
				break;
			moved = 1;
			ref_used = ref != NULL;
			delta -= amount;
		}
		if (delta > 0)
			moved |= record_foreign(db, &p, delta, ref_used ? NULL : ref,
			    ref != NULL && !ref_used ? arena_printf(a, "refund:%" PRId64 ":gw:%s", payment, ref) :
			    arena_printf(a, "refund:%" PRId64 ":gw-total:%" PRId64, payment, total),
			    obs, who, res);
	}
	if (!moved)
		return PAY_STALE;
	settle(db, payment, who, res);
	return PAY_APPLIED;
}

void
refund_job_done(struct db *db, int64_t refund, int state, const char *ref, const char *why,
    const struct actor *who, struct pay_apply_result *res)
{
	struct arena *a = db_arena(db);
	struct rp_pay p;
	struct stmt *st;
	int64_t	 payment, amount, other;
	const char *rstate;

	st = db_q(db, Q_RP_GET);
	db_bind_int(db, st, ":id", refund);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		return;
	}
	payment = db_int(st, 1);
	amount = db_int(st, 2);
	rstate = db_text(db, st, 6);
	db_reset(st);
	if (pay_load(db, payment, &p) != 0)
		return;
	/* Settled before (a webhook overtook the reply): nothing more. */
	if (strcmp(rstate, "pending") != 0)
		return;
	if (ref != NULL && *ref == '\0')
		ref = NULL;
	if (ref != NULL) {
		/* A webhook that could not match this refund by amount
		 * recorded the gateway's id on a row of its own (origin
		 * 'gateway'): that row holds the money; this one gives way. */
		st = db_q(db, Q_RP_BY_REF);
		db_bind_int(db, st, ":payment", payment);
		db_bind_text(db, st, ":ref", ref);
		other = db_step(db, st) == DB_ROW ? db_int(st, 0) : 0;
		db_reset(st);
		if (other != 0 && other != refund) {
			state = -1;
			why = arena_printf(a, "recorded from the gateway's webhook as refund %" PRId64, other);
			ref = NULL;
		} else {
			st = db_q(db, Q_RP_SET_REF);
			db_bind_int(db, st, ":id", refund);
			db_bind_text(db, st, ":ref", ref);
			db_step(db, st);
		}
	}
	if (state > 0) {
		if (complete(db, &p, refund, amount, ref, who, res)) {
			audit(db, who, "payment.refund_done", arena_printf(a, "payment:%" PRId64, payment),
			    "refund %" PRId64 " of payment %s: %s refunded by %s%s%s", refund, p.public_id,
			    money_str(a, amount, p.currency), p.gateway, ref ? ", its id " : "", ref ? ref : "");
			settle(db, payment, who, res);
		}
	} else if (state < 0) {
		st = db_q(db, Q_RP_FAIL);
		db_bind_int(db, st, ":id", refund);
		db_bind_text(db, st, ":error", why != NULL ? why : "refused by the gateway");
		db_step(db, st);
		audit(db, who, "payment.refund_failed", arena_printf(a, "payment:%" PRId64, payment),
		    "refund %" PRId64 " of payment %s (%s) failed at %s: %s; it may be asked again",
		    refund, p.public_id, money_str(a, amount, p.currency), p.gateway,
		    why != NULL ? why : "refused by the gateway");
	}
}
