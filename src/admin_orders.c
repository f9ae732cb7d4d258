/*
 * admin_orders.c: staff looking at orders.
 *
 *   GET  /admin/orders     (orders.read) every order, newest first, 50 a
 *                          page, filtered by state, a date range
 *                          (created, UTC days, both ends included) and
 *                          a part of the customer's email
 *   GET  /admin/orders/{public_id}         (orders.read) items, totals,
 *                          the timeline of order_events, the invoice
 *                          (order_view.c, shared with the customer's page)
 *   POST /admin/orders/{public_id}/cancel  (orders.write) a pending
 *                          (unpaid) order only
 *   POST /admin/orders/{public_id}/refund  (orders.write and
 *                          wallet.adjust) a wallet-paid order back to
 *                          the wallet (refund.c), after re-authentication
 *
 * Cancelling moves the order through order_transition() (the one state
 * machine, which writes the 'cancelled' event), gives the stock its
 * items took back to their plans, and writes the audit row, in one
 * BEGIN IMMEDIATE transaction.  A paid order is not cancelled here: its
 * money went somewhere, and giving it back is a refund: refund_to_wallet()
 * in one transaction moves the state, credits the wallet, reverses the
 * referral commission, discards the provision jobs that have not run
 * and writes the audit row.
 */
#include "config.h"

#include <string.h>

#include "admin.h"
#include "audit.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "order.h"
#include "order_view.h"
#include "refund.h"
#include "response.h"
#include "session.h"
#include "spool.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

#define ORDERS_PAGE	50
#define ORDERS_MAX_PAGE	100000

/*
 * GET /admin/orders — ?state (one of order_state_name, else every
 * state), ?from and ?to ("YYYY-MM-DD"), ?email (a part of it, one line
 * of at most 254 characters), ?page.  A malformed date is shown as an
 * error and lists nothing rather than everything.  200.  Allocates in
 * the request's arena.
 */
void
admin_orders(struct request *r)
{
	struct vm *vm = page_vm(r, "Orders"), *it;
	struct stmt *st;
	const char *state = req_query(r, "state"), *from = req_query(r, "from");
	const char *to = req_query(r, "to"), *email = req_query(r, "email");
	const char *ps = req_query(r, "page"), *error = NULL;
	int64_t	 page = 1, n = 0, tfrom = 0, tto = 0;
	char	 when[32];
	int	 i;

	if (ps == NULL || !valid_int(ps, 1, ORDERS_MAX_PAGE, &page))
		page = 1;
	if (state != NULL && order_state_parse(state) < 0)
		state = NULL;
	if (email != NULL && (*email == '\0' || !valid_line(email, 254)))
		email = NULL;
	if (from != NULL && *from == '\0')
		from = NULL;
	if (to != NULL && *to == '\0')
		to = NULL;
	if ((from != NULL && valid_date(from, &tfrom) != 0) ||
	    (to != NULL && valid_date(to, &tto) != 0))
		error = "A date is written YYYY-MM-DD.";
	vm_set(vm, "f_email", email != NULL ? email : "");
	vm_set(vm, "f_from", from != NULL && error == NULL ? from : "");
	vm_set(vm, "f_to", to != NULL && error == NULL ? to : "");
	vm_set(vm, "f_state", state != NULL ? state : "");
	vm_set_bool(vm, "f_any", state == NULL);
	for (i = 0; i < ORDER__MAX; i++) {
		it = vm_push(vm, "states");
		vm_set(it, "name", order_state_name[i]);
		vm_set_bool(it, "selected", state != NULL && strcmp(state, order_state_name[i]) == 0);
	}
	if (error != NULL)
		vm_set(vm, "error", error);
	/* The CSV export forms (admin_export.c): the filter's days when it
	 * names both, else the last 30 days. */
	iso8601(when, now_unix());
	vm_set(vm, "x_to", from != NULL && to != NULL && error == NULL ? to :
	    arena_strndup(r->a, when, 10));
	iso8601(when, now_unix() - 29 * 86400);
	vm_set(vm, "x_from", from != NULL && to != NULL && error == NULL ? from :
	    arena_strndup(r->a, when, 10));
	vm_set_bool(vm, "can_ledger", has_perm(r, "customers.read"));
	st = db_q(r->db, Q_ADMIN_ORDERS);
	if (state != NULL)
		db_bind_text(r->db, st, ":state", state);
	else
		db_bind_null(r->db, st, ":state");
	if (email != NULL)
		db_bind_text(r->db, st, ":email", db_like_contains(r->a, email));
	else
		db_bind_null(r->db, st, ":email");
	if (from != NULL && error == NULL)
		db_bind_int(r->db, st, ":from", tfrom);
	else
		db_bind_null(r->db, st, ":from");
	/* "to" names a whole day: up to its last second. */
	if (to != NULL && error == NULL)
		db_bind_int(r->db, st, ":to", tto + 86400);
	else
		db_bind_null(r->db, st, ":to");
	/* One more than a page: whether there is a next one; nothing at
	 * all under a malformed date. */
	db_bind_int(r->db, st, ":limit", error == NULL ? ORDERS_PAGE + 1 : 0);
	db_bind_int(r->db, st, ":offset", (page - 1) * ORDERS_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		const char *inv = db_text(r->db, st, 7);

		if (++n > ORDERS_PAGE)
			break;
		it = vm_push(vm, "orders");
		vm_set(it, "public_id", db_text(r->db, st, 0));
		vm_set(it, "state", db_text(r->db, st, 1));
		vm_set(it, "total", money_str(r->a, db_int(st, 2), db_text(r->db, st, 3)));
		time_human(when, db_int(st, 4));
		vm_set(it, "at", when);
		vm_set_int(it, "cid", db_int(st, 5));
		vm_set(it, "email", db_text(r->db, st, 6));
		vm_set_bool(it, "has_invoice", *inv != '\0');
		vm_set(it, "invoice", inv);
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	vm_set_bool(vm, "shown", n > 0);
	ui_pager(vm, page, n > ORDERS_PAGE);
	page_render(r, "pages/admin/orders", vm);
	if (error != NULL)
		r->status = 400;
}

/* ---- one order ---- */

#define REASON_MAX	500

static const struct field admin_order_refund_fields[] = {
	{ "reason", FK_TEXT, FIELD_REQUIRED, 0, REASON_MAX },
	{ "op", FK_SLUG, FIELD_REQUIRED, 0, 32 },
};
const struct form admin_order_refund_form = { FORM(admin_order_refund_fields) };

/*
 * The order's page, with an error (and its status) or a notice.  404
 * when there is no such order.  Allocates in the request's arena.
 */
static void
order_page(struct request *r, int status, const char *error)
{
	const char *pub = req_param(r, "public_id"), *done = req_query(r, "done"), *method;
	struct stmt *st;
	struct vm *vm;
	unsigned char raw[16];
	char	 op[33];
	int64_t	 id;
	int	 state;

	st = db_q(r->db, Q_ADMIN_ORDER_GET);
	db_bind_text(r->db, st, ":public_id", pub);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such order.");
	vm = page_vm(r, arena_printf(r->a, "Order %s", pub));
	/* The staff's own columns first: order_view_vm() resets st. */
	id = db_int(st, 0);
	state = order_state_parse(db_text(r->db, st, 2));
	method = db_text(r->db, st, 8);
	vm_set_int(vm, "cid", db_int(st, 10));
	vm_set(vm, "email", db_text(r->db, st, 11));
	order_view_vm(r, vm, st);
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_bool(vm, "can_cancel", state == ORDER_PENDING && has_perm(r, "orders.write"));
	/* The refund form: a wallet-paid order the state machine lets go
	 * to refunded, for staff who may both write orders and move money. */
	vm_set_bool(vm, "can_refund", state >= 0 && order_can_transition(state, ORDER_REFUNDED) &&
	    strcmp(method, "wallet") == 0 && has_perm(r, "orders.write") && has_perm(r, "wallet.adjust"));
	vm_set_bool(vm, "fresh", session_recent_auth(r, SESS_STAFF, ADMIN_REAUTH_MAX));
	random_bytes(raw, sizeof(raw));
	hex_encode(op, raw, sizeof(raw));
	vm_set(vm, "op", op);
	/* A refused refund shows its reason again (only that form has one). */
	vm_set(vm, "f_reason", r->fields == admin_order_refund_fields && form_get(r, "reason") != NULL ?
	    form_get(r, "reason") : "");
	if (error != NULL)
		vm_set(vm, "error", error);
	if (done != NULL && strcmp(done, "cancelled") == 0)
		vm_set(vm, "notice", "The order is cancelled and its stock is back on sale.");
	if (done != NULL && strcmp(done, "refunded") == 0)
		vm_set(vm, "notice", "The order is refunded to the customer's wallet.");
	/* Failed items: the panel's message, retry, refund (admin_order_items.c). */
	admin_order_failed_items_vm(r, vm, id);
	/* Payments through a gateway, each with its refund form (admin_payments.c). */
	admin_order_payments_vm(r, vm, id);
	if (done != NULL && strcmp(done, "refund-queued") == 0)
		vm_set(vm, "notice", "The refund is on its way to the gateway.");
	if (done != NULL && strcmp(done, "payment-refunded") == 0)
		vm_set(vm, "notice", "The refund is recorded.");
	if (done != NULL && strcmp(done, "item-retried") == 0)
		vm_set(vm, "notice", "The item's provisioning runs again.");
	if (done != NULL && strcmp(done, "item-refunded") == 0)
		vm_set(vm, "notice", "The failed item is refunded to the customer's wallet.");
	page_render(r, "pages/admin/order", vm);
	if (status)
		r->status = status;
}

/* GET /admin/orders/{public_id} — ?done=cancelled.  200, 404. */
void
admin_order(struct request *r)
{
	order_page(r, 0, NULL);
}

/*
 * POST /admin/orders/{public_id}/cancel — no fields but the CSRF token.
 * A pending order: cancelled, its items' stock back on their plans, its
 * coupon use released (order_cancel_pending), an audit row, one
 * transaction; 303 to its page.  Any other state: 409
 * with the reason, nothing written.  No such order: 404.
 */
void
admin_order_cancel_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	const char *pub = req_param(r, "public_id");
	struct stmt *st;
	int64_t	 id, released;
	int	 state, coupon;

	db_begin(r->db);
	st = db_q(r->db, Q_ADMIN_ORDER_GET);
	db_bind_text(r->db, st, ":public_id", pub);
	if (db_step(r->db, st) != DB_ROW) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such order.");
	}
	id = db_int(st, 0);
	db_reset(st);
	/* Read inside the write transaction: the state cannot move between
	 * this check and the transition (order_cancel_pending). */
	state = order_state(r->db, id);
	if (state != ORDER_PENDING ||
	    !order_cancel_pending(r->db, id, &who, "cancelled by staff", &released, &coupon)) {
		db_rollback(r->db);
		order_page(r, 409, arena_printf(r->a, "This order is %s: only a pending (unpaid) order "
		    "can be cancelled. A paid order is refunded instead.",
		    state >= 0 ? order_state_name[state] : "gone"));
		return;
	}
	req_audit(r, "order.cancelled", arena_printf(r->a, "order:%lld", (long long)id),
	    "order %s cancelled while pending; stock released on %lld plan(s)%s", pub, (long long)released,
	    coupon ? "; coupon use released" : "");
	db_commit(r->db);
	resp_redirect(r, 303, arena_printf(r->a, "/admin/orders/%s?done=cancelled", pub));
}

/* ---- the refund to the wallet ---- */


/*
 * POST /admin/orders/{public_id}/refund — reason (one line, required),
 * op (the form's one-time token: 32 hex digits), csrf.  Needs
 * orders.write (the route) and wallet.adjust (here: 403), and a recent
 * re-authentication (else 303 to /admin/reauth, nothing written).  One
 * transaction through refund_to_wallet(): the order refunded, the
 * wallet credited with its total, the referral commission reversed, the
 * provision jobs not yet run discarded, the audit row.  303 to the
 * order's page (also for a resubmit of an order refunded already: the
 * ledger key "refund:<order>" credits once); 400 for a bad field; 404
 * for no such order; 409 for a state or payment method that allows no
 * refund here (nothing written).
 */
void
admin_order_refund_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	const char *pub = req_param(r, "public_id"), *reason = form_get(r, "reason");
	const char *op = form_get(r, "op");
	struct refund_result res;
	enum refund_rc rc;
	struct stmt *st;
	int64_t	 id;
	size_t	 i;

	if (!has_perm(r, "wallet.adjust"))
		req_fail(r, 403, "Refunding to the wallet moves money: it needs the wallet.adjust permission.");
	if (!admin_reauth_ok(r, arena_printf(r->a, "/admin/orders/%s", pub)))
		return;
	if (!form_valid(r, "reason") || *reason == '\0') {
		order_page(r, 400, "Give a reason (one line, at most 500 characters): the ledger and the "
		    "audit log keep it.");
		return;
	}
	for (i = 0; op[i] != '\0'; i++)
		if (!((op[i] >= '0' && op[i] <= '9') || (op[i] >= 'a' && op[i] <= 'f')))
			break;
	if (i != 32 || op[i] != '\0') {
		order_page(r, 400, "The form is out of date. Please open the order again.");
		return;
	}
	db_begin(r->db);
	st = db_q(r->db, Q_ADMIN_ORDER_GET);
	db_bind_text(r->db, st, ":public_id", pub);
	if (db_step(r->db, st) != DB_ROW) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such order.");
	}
	id = db_int(st, 0);
	db_reset(st);
	rc = refund_to_wallet(r->db, id, reason, p->user_id, &who, &res);
	switch (rc) {
	case REFUND_OK:
		break;
	case REFUND_REPLAY:
		/* The same form again, or a second tab: it is done. */
		db_rollback(r->db);
		resp_redirect(r, 303, arena_printf(r->a, "/admin/orders/%s?done=refunded", pub));
		return;
	case REFUND_NONE:
		db_rollback(r->db);
		req_fail(r, 404, "There is no such order.");
	case REFUND_STATE:
		db_rollback(r->db);
		order_page(r, 409, arena_printf(r->a, "This order is %s: only a paid, provisioning, active "
		    "or failed order can be refunded. Nothing was changed.", res.state));
		return;
	default:
		db_rollback(r->db);
		order_page(r, 409, refund_rc_text[rc]);
		return;
	}
	db_commit(r->db);
	if (res.pay.njobs > 0)
		spool_wake_many(&r->app->conf, res.pay.njobs, res.pay.jobs, res.pay.kinds);
	resp_redirect(r, 303, arena_printf(r->a, "/admin/orders/%s?done=refunded", pub));
}
