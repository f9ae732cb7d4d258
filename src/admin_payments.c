/*
 * admin_payments.c: staff and the payments made through a gateway
 * (issue 13), and the refund form that the order page shows.
 *
 *   GET  /admin/payments              (orders.read) newest first, 50 a
 *                                     page, filtered by gateway, state,
 *                                     held only, a part of the email
 *   GET  /admin/payments/{public_id}  (orders.read) the payment, its
 *                                     gateway events (outcome, source,
 *                                     the raw payload escaped in <pre>),
 *                                     its refunds, the refund form, and
 *                                     for a held one: fulfil, credit wallet
 *   POST /admin/payments/{public_id}/refund   (refunds.issue) refund.c's
 *                                     refund_payment: full or partial, to
 *                                     the gateway, the wallet or manual
 *   POST /admin/payments/{public_id}/release  (orders.write) a held
 *                                     payment fulfilled as if it matched
 *                                     (payment.c, payment_release)
 *   POST /admin/payments/{public_id}/credit   (wallet.adjust) what a held
 *                                     payment brought credited to the
 *                                     wallet (payment_credit_wallet)
 *
 * Every POST asks for a recent re-authentication first (a money action:
 * DESIGN.md, security defaults), runs one BEGIN IMMEDIATE transaction
 * with one audit row, wakes the jobs it wrote after COMMIT, and answers
 * 303 to the page it came from.  Payments of the wallet (gateway
 * 'wallet') are not listed: a wallet-paid order is refunded on its
 * order page (refund_to_wallet).
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "admin.h"
#include "audit.h"
#include "conf.h"
#include "db.h"
#include "gateway.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "payment.h"
#include "refund.h"
#include "response.h"
#include "session.h"
#include "spool.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

#define PAYMENTS_PAGE		50
#define PAYMENTS_MAX_PAGE	100000
#define REASON_MAX		500

/* Whether a payment has money to give back, and how much is left
 * (refund.c's rule: what arrived, at most the payment, less every
 * refund that has not failed). */
static int64_t
left_to_refund(struct request *r, int64_t payment)
{
	struct stmt *st = db_q(r->db, Q_RP_PAYMENT);
	int64_t	 amount, received, committed = 0, base;
	const char *state, *held;
	int	 fulfilled;

	db_bind_int(r->db, st, ":id", payment);
	if (db_step(r->db, st) != DB_ROW) {
		db_reset(st);
		return 0;
	}
	amount = db_int(st, 5);
	state = db_text(r->db, st, 8);
	fulfilled = db_int(st, 9) != 0;
	held = db_text(r->db, st, 13);
	received = db_int(st, 14);
	db_reset(st);
	/* Never more than arrived (refund.c, refundable). */
	if ((*held != '\0' && !fulfilled) || fulfilled || strcmp(state, "succeeded") == 0 ||
	    strcmp(state, "partially_refunded") == 0)
		base = received >= 0 && received < amount ? received : amount;
	else
		return 0;
	st = db_q(r->db, Q_RP_SUMS);
	db_bind_int(r->db, st, ":payment", payment);
	if (db_step(r->db, st) == DB_ROW)
		committed = db_int(st, 0);
	db_reset(st);
	return base > committed ? base - committed : 0;
}

/* The number the next refund form carries (refund_ask.seq). */
static int64_t
next_seq(struct request *r, int64_t payment)
{
	struct stmt *st = db_q(r->db, Q_RP_SUMS);
	int64_t	 n = 0;

	db_bind_int(r->db, st, ":payment", payment);
	if (db_step(r->db, st) == DB_ROW)
		n = db_int(st, 3);
	db_reset(st);
	return n + 1;
}

/* Whether the payment has refunds that have not failed: its money is
 * (partly) back with the customer, so it is neither fulfilled nor
 * credited any more. */
static int
has_refunds(struct request *r, int64_t payment)
{
	struct stmt *st = db_q(r->db, Q_RP_SUMS);
	int64_t	 committed = 0;

	db_bind_int(r->db, st, ":payment", payment);
	if (db_step(r->db, st) == DB_ROW)
		committed = db_int(st, 0);
	db_reset(st);
	return committed > 0;
}

/*
 * The refund form's values on item it (partials/refund_form): the
 * payment's public id, the form's number, what is left, the
 * destinations its gateway offers.  Sets "can_refund" false when
 * nothing is left or the staff member may not.  Allocates in r's arena.
 */
static void
refund_form_vm(struct request *r, struct vm *it, int64_t payment, const char *pub,
    const char *gateway, const char *purpose, const char *currency)
{
	int64_t	 left = left_to_refund(r, payment);
	struct vm *d;

	vm_set(it, "pay_public", pub);
	vm_set_int(it, "seq", next_seq(r, payment));
	vm_set(it, "left", money_str(r->a, left, currency));
	vm_set_bool(it, "can_refund", left > 0 && has_perm(r, "refunds.issue"));
	/* NOWPayments has no refund API (contract table): the wallet or by hand. */
	if (strcmp(gateway, "nowpayments") != 0) {
		d = vm_push(it, "dests");
		vm_set(d, "name", "gateway");
		vm_set(d, "label", arena_printf(r->a, "Back through %s", gateway));
	}
	if (strcmp(purpose, "topup") != 0) {
		d = vm_push(it, "dests");
		vm_set(d, "name", "wallet");
		vm_set(d, "label", "The customer's wallet");
	}
	d = vm_push(it, "dests");
	vm_set(d, "name", "manual");
	vm_set(d, "label", "Paid back by hand (record only)");
}

void
admin_order_payments_vm(struct request *r, struct vm *vm, int64_t order_id)
{
	struct stmt *st = db_q(r->db, Q_AP_ORDER_PAYMENTS);
	struct vm *it;
	const char *pub, *gw, *cur;
	int64_t	 n = 0;

	db_bind_int(r->db, st, ":order", order_id);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "payments");
		pub = db_text(r->db, st, 0);
		gw = db_text(r->db, st, 1);
		cur = db_text(r->db, st, 4);
		vm_set(it, "public_id", pub);
		vm_set(it, "gateway", gw);
		vm_set(it, "state", db_text(r->db, st, 2));
		vm_set(it, "amount", money_str(r->a, db_int(st, 3), cur));
		vm_set(it, "refunded", money_str(r->a, db_int(st, 5), cur));
		vm_set(it, "held", db_text(r->db, st, 6));
		/* Another statement while this one steps: SQLite allows it. */
		refund_form_vm(r, it, db_int(st, 7), pub, gw, "order", cur);
		vm_set(it, "from", "order");
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_payments", n > 0);
}

/*
 * GET /admin/payments — ?gateway, ?state (each one of its names, else
 * every one), ?held=1, ?email (a part of it), ?page.  200.
 */
void
admin_payments(struct request *r)
{
	struct vm *vm = page_vm(r, "Payments"), *it;
	const char *gw = req_query(r, "gateway"), *state = req_query(r, "state");
	const char *held = req_query(r, "held"), *email = req_query(r, "email");
	const char *ps = req_query(r, "page");
	struct stmt *st;
	char	 when[32];
	int64_t	 page = 1, n = 0;
	size_t	 i;

	if (ps == NULL || !valid_int(ps, 1, PAYMENTS_MAX_PAGE, &page))
		page = 1;
	if (gw != NULL && gw_parse(gw) < 0)
		gw = NULL;
	if (state != NULL && pay_state_parse(state) < 0)
		state = NULL;
	if (held != NULL && strcmp(held, "1") != 0)
		held = NULL;
	if (email != NULL && (*email == '\0' || !valid_line(email, 254)))
		email = NULL;
	vm_set(vm, "f_email", email != NULL ? email : "");
	vm_set_bool(vm, "f_held", held != NULL);
	for (i = 0; i < GW__MAX; i++) {
		it = vm_push(vm, "gateways");
		vm_set(it, "name", gw_name[i]);
		vm_set_bool(it, "selected", gw != NULL && strcmp(gw, gw_name[i]) == 0);
	}
	vm_set_bool(vm, "gw_any", gw == NULL);
	for (i = 0; i < PAY__MAX; i++) {
		it = vm_push(vm, "states");
		vm_set(it, "name", pay_state_name[i]);
		vm_set_bool(it, "selected", state != NULL && strcmp(state, pay_state_name[i]) == 0);
	}
	vm_set_bool(vm, "state_any", state == NULL);
	/* cron payments' report (settings13, job_gateway_recent.c): gateway
	 * payments the shop does not know, over the last 30 days. */
	st = db_q(r->db, Q_CPAY_UNKNOWN_COUNT);
	db_bind_int(r->db, st, ":since", now_unix() - 30 * 86400);
	n = db_one_int(r->db, st, 0);
	vm_set_bool(vm, "has_unknown", n > 0);
	vm_set_int(vm, "unknown", n);
	n = 0;
	st = db_q(r->db, Q_AP_LIST);
	if (gw != NULL)
		db_bind_text(r->db, st, ":gateway", gw);
	else
		db_bind_null(r->db, st, ":gateway");
	if (state != NULL)
		db_bind_text(r->db, st, ":state", state);
	else
		db_bind_null(r->db, st, ":state");
	if (held != NULL)
		db_bind_int(r->db, st, ":held", 1);
	else
		db_bind_null(r->db, st, ":held");
	if (email != NULL)
		db_bind_text(r->db, st, ":email", db_like_contains(r->a, email));
	else
		db_bind_null(r->db, st, ":email");
	db_bind_int(r->db, st, ":limit", PAYMENTS_PAGE + 1);
	db_bind_int(r->db, st, ":offset", (page - 1) * PAYMENTS_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		const char *cur = db_text(r->db, st, 5), *opub = db_text(r->db, st, 11);

		if (++n > PAYMENTS_PAGE)
			break;
		it = vm_push(vm, "payments");
		vm_set(it, "public_id", db_text(r->db, st, 0));
		vm_set(it, "gateway", db_text(r->db, st, 1));
		vm_set(it, "purpose", db_text(r->db, st, 2));
		vm_set(it, "state", db_text(r->db, st, 3));
		vm_set(it, "amount", money_str(r->a, db_int(st, 4), cur));
		vm_set(it, "refunded", money_str(r->a, db_int(st, 6), cur));
		vm_set(it, "held", db_text(r->db, st, 7));
		time_human(when, db_int(st, 8));
		vm_set(it, "at", when);
		vm_set_int(it, "cid", db_int(st, 9));
		vm_set(it, "email", db_text(r->db, st, 10));
		vm_set_bool(it, "has_order", *opub != '\0');
		vm_set(it, "order", opub);
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	vm_set(vm, "q_gateway", gw != NULL ? gw : "");
	vm_set(vm, "q_state", state != NULL ? state : "");
	vm_set(vm, "q_held", held != NULL ? "1" : "");
	ui_pager(vm, page, n > PAYMENTS_PAGE);
	page_render(r, "pages/admin/payments", vm);
}

/* One payment's page, with an error (and its status) or the notice of
 * ?done.  404 when there is no such payment. */
static void
payment_page(struct request *r, int status, const char *error)
{
	const char *pub = req_param(r, "public_id"), *done = req_query(r, "done");
	const char *cur, *gw, *purpose, *held, *opub;
	struct vm *vm, *it;
	struct stmt *st;
	char	 when[32];
	int64_t	 id, received, t;

	st = db_q(r->db, Q_AP_GET);
	db_bind_text(r->db, st, ":public_id", pub);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such payment.");
	vm = page_vm(r, arena_printf(r->a, "Payment %s", pub));
	id = db_int(st, 0);
	vm_set(vm, "public_id", pub);
	gw = db_text(r->db, st, 2);
	purpose = db_text(r->db, st, 3);
	cur = db_text(r->db, st, 6);
	vm_set(vm, "gateway", gw);
	vm_set(vm, "purpose", purpose);
	vm_set(vm, "state", db_text(r->db, st, 4));
	vm_set(vm, "amount", money_str(r->a, db_int(st, 5), cur));
	vm_set(vm, "refunded", money_str(r->a, db_int(st, 7), cur));
	received = db_int(st, 8);
	vm_set(vm, "received", received >= 0 ? money_str(r->a, received, cur) : "not known");
	held = db_text(r->db, st, 9);
	vm_set(vm, "held_reason", held);
	vm_set_bool(vm, "is_held", *held != '\0' && db_int(st, 11) == 0 && !has_refunds(r, db_int(st, 0)));
	t = db_int(st, 11);
	time_human(when, t);
	vm_set(vm, "fulfilled", t > 0 ? arena_printf(r->a, "%s (%s)", when, db_text(r->db, st, 12)) : "no");
	vm_set(vm, "ref", db_text(r->db, st, 13));
	vm_set(vm, "ref2", db_text(r->db, st, 14));
	vm_set(vm, "last_error", db_text(r->db, st, 15));
	time_human(when, db_int(st, 16));
	vm_set(vm, "created", when);
	vm_set_int(vm, "cid", db_int(st, 18));
	vm_set(vm, "email", db_text(r->db, st, 19));
	opub = db_text(r->db, st, 20);
	vm_set_bool(vm, "has_order", *opub != '\0');
	vm_set(vm, "order", opub);
	vm_set(vm, "idem_key", db_text(r->db, st, 21));
	db_reset(st);

	st = db_q(r->db, Q_AP_EVENTS);
	db_bind_int(r->db, st, ":payment", id);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "events");
		vm_set(it, "event_id", db_text(r->db, st, 0));
		vm_set(it, "type", db_text(r->db, st, 1));
		vm_set(it, "outcome", db_text(r->db, st, 2));
		vm_set(it, "source", db_text(r->db, st, 3));
		time_human(when, db_int(st, 4));
		vm_set(it, "at", when);
		/* The gateway's bytes: escaped by the template, never trusted. */
		vm_set(it, "payload", db_text(r->db, st, 5));
	}
	db_reset(st);
	st = db_q(r->db, Q_RP_LIST);
	db_bind_int(r->db, st, ":payment", id);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "refunds");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "amount", money_str(r->a, db_int(st, 1), db_text(r->db, st, 2)));
		vm_set(it, "destination", db_text(r->db, st, 3));
		vm_set(it, "origin", db_text(r->db, st, 4));
		vm_set(it, "state", db_text(r->db, st, 5));
		vm_set(it, "gateway_ref", db_text(r->db, st, 6));
		vm_set(it, "reason", db_text(r->db, st, 7));
		vm_set(it, "error", db_text(r->db, st, 8));
		time_human(when, db_int(st, 9));
		vm_set(it, "at", when);
	}
	db_reset(st);
	it = vm_push(vm, "payment_refunds");
	refund_form_vm(r, it, id, pub, gw, purpose, cur);
	vm_set(it, "from", "payment");
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_bool(vm, "fresh", session_recent_auth(r, SESS_STAFF, ADMIN_REAUTH_MAX));
	vm_set_bool(vm, "can_release", has_perm(r, "orders.write"));
	vm_set_bool(vm, "can_credit", has_perm(r, "wallet.adjust"));
	if (error != NULL)
		vm_set(vm, "error", error);
	if (done != NULL && strcmp(done, "refunded") == 0)
		vm_set(vm, "notice", "The refund is recorded.");
	if (done != NULL && strcmp(done, "refund-queued") == 0)
		vm_set(vm, "notice", "The refund is on its way to the gateway.");
	if (done != NULL && strcmp(done, "released") == 0)
		vm_set(vm, "notice", "The payment is fulfilled.");
	if (done != NULL && strcmp(done, "credited") == 0)
		vm_set(vm, "notice", "What the payment brought is in the customer's wallet.");
	page_render(r, "pages/admin/payment", vm);
	if (status)
		r->status = status;
}

/* GET /admin/payments/{public_id} — ?done.  200, 404. */
void
admin_payment(struct request *r)
{
	payment_page(r, 0, NULL);
}

static const struct field admin_payment_refund_fields[] = {
	{ "amount", FK_TEXT, 0, 0, 32 },
	{ "destination", FK_SLUG, FIELD_REQUIRED, 0, 16 },
	{ "reason", FK_TEXT, FIELD_REQUIRED, 0, REASON_MAX },
	{ "seq", FK_INT, FIELD_REQUIRED, 1, 1000000 },
	{ "from", FK_SLUG, 0, 0, 16 },
};
const struct form admin_payment_refund_form = { FORM(admin_payment_refund_fields) };

/* The payment of the path: its id, customer-independent (staff), or 404. */
static int64_t
path_payment(struct request *r, const char **order_pub, const char **currency)
{
	struct stmt *st = db_q(r->db, Q_AP_GET);
	int64_t	 id;

	db_bind_text(r->db, st, ":public_id", req_param(r, "public_id"));
	if (db_step(r->db, st) != DB_ROW) {
		db_reset(st);
		if (db_in_tx(r->db))
			db_rollback(r->db);
		req_fail(r, 404, "There is no such payment.");
	}
	id = db_int(st, 0);
	if (order_pub != NULL)
		*order_pub = db_text(r->db, st, 20);
	if (currency != NULL)
		*currency = db_text(r->db, st, 6);
	db_reset(st);
	return id;
}

/* Where a refund form goes back to: its order's page or the payment's. */
static const char *
back_url(struct request *r, const char *order_pub, const char *done)
{
	const char *from = form_get(r, "from");

	if (from != NULL && strcmp(from, "order") == 0 && order_pub != NULL && *order_pub != '\0')
		return arena_printf(r->a, "/admin/orders/%s?done=%s%s", order_pub,
		    strcmp(done, "refunded") == 0 ? "payment-" : "", done);
	return arena_printf(r->a, "/admin/payments/%s?done=%s", req_param(r, "public_id"), done);
}

/*
 * POST /admin/payments/{public_id}/refund — amount (major units, empty:
 * everything left), destination (gateway, wallet, manual), reason (one
 * line, required), seq (the form's refund number), from ("order": back
 * to the order's page), csrf.  After re-authentication (else 303 to
 * /admin/reauth, nothing written), one transaction: refund_payment()
 * with its audit row; the jobs it wrote woken after COMMIT.  303 back
 * (also for a resubmitted form: its refund was written once); 400 for a
 * bad field; 404 for no such payment; 409 when the refund is refused in
 * words (more than is left, nothing arrived, no refund API, a top-up to
 * the wallet): nothing written.
 */
void
admin_payment_refund_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	const char *amount = form_get(r, "amount"), *reason = form_get(r, "reason");
	const char *order_pub, *cur;
	struct refund_pay_result res;
	struct refund_ask ask;
	enum refund_pay_rc rc;
	enum money_err me;
	int	 dest;

	memset(&ask, 0, sizeof(ask));
	ask.payment = path_payment(r, &order_pub, &cur);
	if (!admin_reauth_ok(r, *order_pub && form_get(r, "from") != NULL && strcmp(form_get(r, "from"), "order") == 0 ?
	    arena_printf(r->a, "/admin/orders/%s", order_pub) :
	    arena_printf(r->a, "/admin/payments/%s", req_param(r, "public_id"))))
		return;
	if (!form_valid(r, "reason") || *reason == '\0') {
		payment_page(r, 400, "Give a reason (one line, at most 500 characters): the audit log keeps it.");
		return;
	}
	if ((dest = refund_dest_parse(form_get(r, "destination"))) < 0) {
		payment_page(r, 400, "Choose where the money goes: the gateway, the wallet or by hand.");
		return;
	}
	if (!form_valid(r, "seq") || !valid_int(form_get(r, "seq"), 1, 1000000, &ask.seq)) {
		payment_page(r, 400, "The form is out of date. Please open the payment again.");
		return;
	}
	if (amount != NULL && *amount != '\0') {
		if ((me = money_parse(amount, cur, &ask.amount)) != MONEY_OK) {
			payment_page(r, 400, money_err_text[me]);
			return;
		}
		if (ask.amount == 0) {
			payment_page(r, 400, refund_pay_rc_text[RPAY_AMOUNT]);
			return;
		}
	}
	ask.dest = (enum refund_dest)dest;
	ask.reason = reason;
	ask.staff = p->user_id;
	db_begin(r->db);
	rc = refund_payment(r->db, &ask, &who, &res);
	switch (rc) {
	case RPAY_OK:
		break;
	case RPAY_REPLAY:
		db_rollback(r->db);
		resp_redirect(r, 303, back_url(r, order_pub, "refunded"));
		return;
	case RPAY_NONE:
		db_rollback(r->db);
		req_fail(r, 404, "There is no such payment.");
	case RPAY_AMOUNT:
		db_rollback(r->db);
		payment_page(r, 409, arena_printf(r->a, "%s (%s left.)", refund_pay_rc_text[rc],
		    money_str(r->a, res.left > 0 ? res.left : 0, cur)));
		return;
	default:
		db_rollback(r->db);
		payment_page(r, 409, refund_pay_rc_text[rc]);
		return;
	}
	db_commit(r->db);
	if (res.pay.njobs > 0)
		spool_wake_many(&r->app->conf, res.pay.njobs, res.pay.jobs, res.pay.kinds);
	resp_redirect(r, 303, back_url(r, order_pub, ask.dest == REFUND_TO_GATEWAY ? "refund-queued" : "refunded"));
}

/*
 * POST /admin/payments/{public_id}/release — csrf.  A held payment
 * fulfilled as if it had matched (payment_release), audited; after
 * re-authentication.  303 to the payment; 404; 409 when it is not held.
 */
void
admin_payment_release_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	struct pay_apply_result res;
	int64_t	 id;

	id = path_payment(r, NULL, NULL);
	if (!admin_reauth_ok(r, arena_printf(r->a, "/admin/payments/%s", req_param(r, "public_id"))))
		return;
	memset(&res, 0, sizeof(res));
	db_begin(r->db);
	if (has_refunds(r, id)) {
		db_rollback(r->db);
		payment_page(r, 409, "This payment was refunded (in part): it can no longer be fulfilled. "
		    "Nothing was changed.");
		return;
	}
	if (payment_release(r->db, id, &who, &res) != 0) {
		db_rollback(r->db);
		payment_page(r, 409, "This payment is not held (or was resolved already). Nothing was changed.");
		return;
	}
	req_audit(r, "payment.released", arena_printf(r->a, "payment:%" PRId64, id),
	    "held payment %s fulfilled by staff", req_param(r, "public_id"));
	db_commit(r->db);
	if (res.njobs > 0)
		spool_wake_many(&r->app->conf, res.njobs, res.jobs, res.kinds);
	resp_redirect(r, 303, arena_printf(r->a, "/admin/payments/%s?done=released", req_param(r, "public_id")));
}

/*
 * POST /admin/payments/{public_id}/credit — csrf.  What a held payment
 * brought credited to the customer's wallet (payment_credit_wallet),
 * audited; after re-authentication.  303; 404; 409 when not held.
 */
void
admin_payment_credit_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	int64_t	 id;

	id = path_payment(r, NULL, NULL);
	if (!admin_reauth_ok(r, arena_printf(r->a, "/admin/payments/%s", req_param(r, "public_id"))))
		return;
	db_begin(r->db);
	if (has_refunds(r, id)) {
		db_rollback(r->db);
		payment_page(r, 409, "This payment was refunded (in part): what is left of it is refunded, "
		    "not credited. Nothing was changed.");
		return;
	}
	if (payment_credit_wallet(r->db, id, p->user_id, &who) != 0) {
		db_rollback(r->db);
		payment_page(r, 409, "This payment is not held (or was resolved already). Nothing was changed.");
		return;
	}
	req_audit(r, "payment.credited", arena_printf(r->a, "payment:%" PRId64, id),
	    "held payment %s credited to the customer's wallet by staff", req_param(r, "public_id"));
	db_commit(r->db);
	resp_redirect(r, 303, arena_printf(r->a, "/admin/payments/%s?done=credited", req_param(r, "public_id")));
}
