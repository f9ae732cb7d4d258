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

#include "audit.h"
#include "coupon.h"
#include "db.h"
#include "money.h"
#include "order.h"
#include "referral.h"
#include "refund.h"
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
