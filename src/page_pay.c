/*
 * page_pay.c: the customer's side of a gateway payment (issue 13).
 *
 *   GET  /pay/{public_id}              "redirecting to payment": 303 to
 *                                      the gateway's checkout once work
 *                                      has made it, else a page that
 *                                      refreshes itself every second
 *                                      (meta refresh and a link: no
 *                                      JavaScript), the error and a
 *                                      retry when it failed
 *   POST /pay/{public_id}/retry        try again: the same payment's job
 *                                      due now while it is still being
 *                                      created, or a new payment for the
 *                                      order (or top-up) when it failed
 *   GET  /pay/return/{gw}/{public_id}  back from the gateway: the state,
 *                                      and the follow-up job (PayPal's
 *                                      capture, else a lookup) under a
 *                                      key per payment, so a reload
 *                                      enqueues nothing new
 *   POST /wallet/topup                 a top-up through a gateway
 *
 * Why the customer waits here rather than in the POST: the gateway call
 * is made by work (DESIGN.md "Payments"): a web worker never loads
 * libcurl and a gateway that hangs never holds a pool worker.  The
 * payment row and its payment_create job commit together with the order
 * (page_checkout.c) or here, so nothing is lost to a crash, and the
 * payment's idempotency key (stored before the call) makes a retried
 * job find the checkout it made instead of making a second.
 *
 * A payment is found by its public id and its owner together: another
 * customer's payment is a 404, the same page as none at all.  The
 * return page changes nothing of the payment itself: what the gateway
 * says reaches payment_apply through the job (or the webhook).
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "gateway.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "order.h"
#include "page_pay.h"
#include "payment.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "spool.h"
#include "testpause.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

/*
 * How long GET /pay/{id} waits, in the worker, for work to make a fresh
 * payment's checkout before it answers with the page that refreshes
 * itself: work takes some 50 ms against a gateway on loopback (p99 under
 * 200 ms, bench/pay-wait), and a meta refresh cannot be shorter than a
 * second (HTML ignores fractions), so without this wait nearly every
 * customer would stare at "redirecting" for a whole second.  Only while
 * the payment is younger than PAY_WAIT_FRESH seconds and work has not
 * reported an error: a gateway that hangs holds no worker longer than
 * this, once.
 */
#define PAY_WAIT_MS		400
#define PAY_WAIT_STEP_MS	20
#define PAY_WAIT_FRESH		10

/* Top-up limits when staff set none (minor units). */
#define TOPUP_MIN_DEFAULT	500
#define TOPUP_MAX_DEFAULT	50000

/* One payment of the customer, as the pages read it. */
struct pay_view {
	int64_t		 id;
	const char	*public_id;
	int64_t		 order;
	const char	*gateway;
	const char	*purpose;
	int64_t		 amount;
	const char	*currency;
	const char	*state;
	const char	*held;
	int64_t		 fulfilled;
	const char	*key;
	const char	*url;
	const char	*error;
	const char	*order_public;
	const char	*order_state;
	int64_t		 created_at;
};

/* The route's payment if it is the signed-in customer's; 404 if not. */
static void
pay_load(struct request *r, struct pay_view *p)
{
	struct stmt *st = db_q(r->db, Q_PAY_OF_CUSTOMER);

	db_bind_text(r->db, st, ":public_id", req_param(r, "public_id"));
	db_bind_int(r->db, st, ":customer", r->principal[SESS_CUSTOMER]->user_id);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such payment.");
	p->id = db_int(st, 0);
	p->public_id = db_text(r->db, st, 1);
	p->order = db_int(st, 2);
	p->gateway = db_text(r->db, st, 4);
	p->purpose = db_text(r->db, st, 5);
	p->amount = db_int(st, 8);
	p->currency = db_text(r->db, st, 9);
	p->state = db_text(r->db, st, 11);
	p->held = db_text(r->db, st, 13);
	p->fulfilled = db_int(st, 14);
	p->key = db_text(r->db, st, 15);
	p->url = db_text(r->db, st, 16);
	p->error = db_text(r->db, st, 17);
	p->order_public = db_text(r->db, st, 20);
	p->order_state = db_text(r->db, st, 21);
	p->created_at = db_int(st, 19);
	db_reset(st);
}

static const char *
label(const char *gw)
{
	int	 id = gw_parse(gw);

	return id >= 0 ? gw_label[id] : gw;
}

/* Where a settled payment sends the customer: the order, or the wallet. */
static const char *
done_url(struct request *r, const struct pay_view *p)
{
	if (p->order > 0)
		return arena_printf(r->a, "/orders/%s%s", p->order_public,
		    p->fulfilled ? "?ok=paid" : "");
	return "/wallet";
}

/*
 * The status page of p: what is happening and what the customer can do.
 * refresh (seconds, 0: none) reloads self; the link does the same by
 * hand.
 */
static void
pay_page(struct request *r, const struct pay_view *p, const char *self, int refresh,
    const char *heading, const char *text, int retry)
{
	struct vm *vm = page_vm(r, heading);

	if (refresh > 0) {
		vm_setf(vm, "refresh", "%d; url=%s", refresh, self);
		vm_set(vm, "self", self);
	}
	vm_set(vm, "heading", heading);
	vm_set(vm, "text", text);
	vm_set(vm, "payment", p->public_id);
	vm_set(vm, "amount", money_str(r->a, p->amount, p->currency));
	vm_set(vm, "gateway", label(p->gateway));
	vm_set(vm, "state", p->state);
	if (*p->error != '\0')
		vm_set(vm, "last_error", p->error);
	if (p->order > 0)
		vm_set(vm, "order", p->order_public);
	vm_set_bool(vm, "retry", retry);
	/* The way back to an unfinished checkout (it is the gateway's). */
	if (strcmp(p->state, "pending") == 0 && *p->url != '\0')
		vm_set(vm, "checkout_url", p->url);
	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	page_render(r, "pages/pay", vm);
}

/*
 * GET /pay/{public_id} (customers) — ?cancelled=1 when the gateway sent
 * the customer back without paying.  303 to the checkout once work has
 * made it; 303 to the order (or the wallet) once paid; else 200 with the
 * state: waiting (refresh every second), slow (the last error, still
 * retried), failed, expired or cancelled (a retry button).  404 for a
 * payment that is not the customer's.
 */
void
page_pay(struct request *r)
{
	struct pay_view p;
	const char *self, *cancelled = req_query(r, "cancelled");

	pay_load(r, &p);
	if (strcmp(p.state, "created") == 0 && *p.error == '\0' &&
	    now_unix() - p.created_at < PAY_WAIT_FRESH) {
		struct timespec ts = { 0, PAY_WAIT_STEP_MS * 1000000L };
		int	 waited;

		/* Each look is a statement of its own, reset before the
		 * sleep: no read transaction stays open while we wait. */
		for (waited = 0; waited < PAY_WAIT_MS && strcmp(p.state, "created") == 0 &&
		    *p.error == '\0'; waited += PAY_WAIT_STEP_MS) {
			nanosleep(&ts, NULL);
			pay_load(r, &p);
		}
	}
	self = arena_printf(r->a, "/pay/%s", p.public_id);
	if (p.fulfilled || strcmp(p.state, "succeeded") == 0 ||
	    strcmp(p.state, "partially_refunded") == 0 || strcmp(p.state, "refunded") == 0) {
		if (*p.held != '\0') {
			pay_page(r, &p, self, 0, "Payment received, under review",
			    "Your payment arrived, but not as this order expected; our staff will look "
			    "at it and settle it with you. Nothing more is needed from you.", 0);
			return;
		}
		resp_redirect(r, 303, done_url(r, &p));
		return;
	}
	if (strcmp(p.state, "pending") == 0 || strcmp(p.state, "partially_paid") == 0) {
		if (cancelled != NULL || *p.url == '\0' || strcmp(p.state, "partially_paid") == 0) {
			pay_page(r, &p, self, 0, "Payment not finished",
			    "You came back without finishing the payment. Nothing was charged. You "
			    "can go back to the payment page and finish it.", 0);
			return;
		}
		resp_redirect(r, 303, p.url);
		return;
	}
	if (strcmp(p.state, "created") == 0) {
		if (*p.error != '\0')
			pay_page(r, &p, self, 2, "The payment provider is slow",
			    "We could not reach the payment provider yet and keep trying; this page "
			    "moves on by itself. Nothing has been charged.", 1);
		else
			pay_page(r, &p, self, 1, "Redirecting you to payment",
			    "We are opening the payment page for you; this takes a second or two.", 0);
		return;
	}
	/* failed, expired, cancelled */
	r->status = 200;
	pay_page(r, &p, self, 0, strcmp(p.state, "failed") == 0 ? "The payment could not start" :
	    "The payment ended", strcmp(p.state, "failed") == 0 ?
	    "We could not open the payment page. Nothing was charged. You can try again." :
	    "This payment was not completed. Nothing was charged for it. You can try again.",
	    p.order == 0 || strcmp(p.order_state, "pending") == 0);
}

/* Write a new payment for the same thing as the failed p (its order,
 * still pending, or its top-up), under a key derived from p so that a
 * double click makes one; its id, 0 when the order is no longer payable.
 * *pub and *job filled. */
static int64_t
pay_again(struct request *r, const struct pay_view *p, const char **pub, int64_t *job)
{
	struct payment_new pn;
	struct stmt *st;
	int	 replay;

	memset(&pn, 0, sizeof(pn));
	pn.customer = r->principal[SESS_CUSTOMER]->user_id;
	pn.order = p->order;
	pn.gateway = p->gateway;
	pn.amount = p->amount;
	pn.currency = p->currency;
	if (p->order > 0) {
		if (order_state(r->db, p->order) != ORDER_PENDING)
			return 0;
		/* pay:order:<order>:<gw>:<n>, n the place of the new
		 * payment among the order's. */
		st = db_q(r->db, Q_PAY_ORDER_SEQ);
		db_bind_int(r->db, st, ":order", p->order);
		db_bind_int(r->db, st, ":id", p->id);
		pn.idem_key = arena_printf(r->a, "pay:order:%" PRId64 ":%s:%" PRId64, p->order,
		    p->gateway, db_one_int(r->db, st, 0) + 1);
	} else
		pn.idem_key = arena_printf(r->a, "topup:retry:%" PRId64, p->id);
	return payment_new(r->db, &pn, pub, job, &replay);
}

/*
 * POST /pay/{public_id}/retry (customers) — csrf.  While the payment is
 * still being created: its job due now (the same payment and key: the
 * gateway sees the same request again, never a second).  When it
 * failed, expired or was cancelled: a new payment for its order (still
 * pending) or its top-up, with its own key and job.  303 to the
 * payment's page; 409 when the order can no longer be paid; 404 for a
 * payment that is not the customer's.
 */
void
page_pay_retry_post(struct request *r)
{
	struct pay_view p;
	struct stmt *st;
	const char *pub = NULL;
	int64_t	 job = 0;

	pay_load(r, &p);
	db_begin(r->db);
	if (strcmp(p.state, "created") == 0) {
		st = db_q(r->db, Q_PAY_JOB_NOW);
		db_bind_text(r->db, st, ":key", arena_printf(r->a, "payment_create:%" PRId64, p.id));
		db_bind_int(r->db, st, ":now", now_unix());
		job = db_one_int(r->db, st, 0);
		pub = p.public_id;
	} else if (strcmp(p.state, "failed") == 0 || strcmp(p.state, "expired") == 0 ||
	    strcmp(p.state, "cancelled") == 0) {
		if (pay_again(r, &p, &pub, &job) == 0) {
			db_rollback(r->db);
			req_fail(r, 409, "This order can no longer be paid (it was cancelled or paid "
			    "meanwhile). Nothing was charged.");
		}
	} else
		pub = p.public_id;
	db_commit(r->db);
	if (job > 0)
		spool_wake(&r->app->conf, job, "payment_create");
	resp_redirect(r, 303, arena_printf(r->a, "/pay/%s", pub));
}

/*
 * GET /pay/return/{gw}/{public_id} (customers) — whatever query the
 * gateway adds (PayPal's token and PayerID) is ignored: the job asks
 * the gateway itself.  Enqueues, once per payment, PayPal's capture
 * ("capture:<payment>") or a lookup ("followup:return:<payment>") while
 * the payment is open; then 303 to the order (or wallet) once it is
 * paid, else 200 with the state, refreshing every second.  404 for a
 * payment that is not the customer's or not of gateway gw.
 */
void
page_pay_return(struct request *r)
{
	struct pay_view p;
	const char *self, *kind, *key;
	int64_t	 job;

	pay_load(r, &p);
	if (strcmp(p.gateway, req_param(r, "gw")) != 0)
		req_fail(r, 404, "There is no such payment.");
	self = arena_printf(r->a, "/pay/return/%s/%s", p.gateway, p.public_id);
	if (p.fulfilled && *p.held == '\0') {
		resp_redirect(r, 303, done_url(r, &p));
		return;
	}
	if (strcmp(p.state, "created") == 0 || strcmp(p.state, "pending") == 0) {
		if (strcmp(p.gateway, "paypal") == 0) {
			kind = "payment_capture";
			key = arena_printf(r->a, "capture:%" PRId64, p.id);
		} else {
			kind = "gateway_followup";
			key = arena_printf(r->a, "followup:return:%" PRId64, p.id);
		}
		db_begin(r->db);
		job = spool_enqueue(r, kind, key, arena_printf(r->a,
		    "{\"payment\":%" PRId64 ",\"source\":\"return\"}", p.id));
		db_commit(r->db);
		spool_wake(&r->app->conf, job, kind);
		pay_page(r, &p, self, 1, "Confirming your payment",
		    "Thank you. We are confirming your payment with the provider; this page moves "
		    "on by itself.", 0);
		return;
	}
	if (*p.held != '\0') {
		pay_page(r, &p, self, 0, "Payment received, under review",
		    "Your payment arrived, but not as this order expected; our staff will look at it "
		    "and settle it with you. Nothing more is needed from you.", 0);
		return;
	}
	if (strcmp(p.state, "partially_paid") == 0) {
		pay_page(r, &p, self, 5, "Waiting for the rest of your payment",
		    "Part of the payment has arrived; the order is paid once all of it has.", 0);
		return;
	}
	resp_redirect(r, 303, arena_printf(r->a, "/pay/%s", p.public_id));
}

/* ---- the checkout and the wallet offer the gateways ---- */

void
pay_gateways_vm(struct request *r, struct vm *vm)
{
	int	 i, n = 0;

	for (i = 0; i < GW__MAX; i++) {
		struct vm *it;

		if (!gw_enabled(r->db, (enum gw_id)i))
			continue;
		it = vm_push(vm, "gateways");
		vm_set(it, "name", gw_name[i]);
		vm_set(it, "label", gw_label[i]);
		n++;
	}
	vm_set_bool(vm, "has_gateways", n > 0);
}

void
pay_topup_vm(struct request *r, struct vm *vm, const char *currency)
{
	char	 idem[33];
	int64_t	 lo, hi;

	pay_gateways_vm(r, vm);
	pay_topup_limits(r->db, &lo, &hi);
	vm_set(vm, "topup_min", money_str(r->a, lo, currency));
	vm_set(vm, "topup_max", money_str(r->a, hi, currency));
	token_new(idem);
	vm_set(vm, "topup_idem", idem);
	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
}

void
pay_topup_limits(struct db *db, int64_t *lo, int64_t *hi)
{
	*lo = setting_int(db, "payments.topup_min", TOPUP_MIN_DEFAULT, 1, INT64_MAX);
	*hi = setting_int(db, "payments.topup_max", TOPUP_MAX_DEFAULT, 1, INT64_MAX);
	if (*hi < *lo)
		*hi = *lo;
}

static const struct field page_wallet_topup_fields[] = {
	{ "amount", FK_TEXT, FIELD_REQUIRED, 0, 32 },
	{ "method", FK_SLUG, FIELD_REQUIRED, 0, 16 },
	{ "idem", FK_SLUG, FIELD_REQUIRED, 0, 32 },
};
const struct form page_wallet_topup_form = { FORM(page_wallet_topup_fields) };

/*
 * POST /wallet/topup (customers) — amount (major units, "25" or
 * "25.50", in the wallet's currency, within payments.topup_min ..
 * payments.topup_max), method (an enabled gateway), idem (the form's
 * 32 hex digits), csrf.  One transaction: the payment ("topup:<idem>")
 * and its payment_create job; 303 to /pay/{public_id} (a resubmitted
 * form lands on the same payment).  400 with the message for an amount
 * or method refused: nothing written.
 */
void
page_wallet_topup_post(struct request *r)
{
	const struct principal *pr = r->principal[SESS_CUSTOMER];
	const char *amount = form_get(r, "amount"), *method = form_get(r, "method");
	const char *idem = form_get(r, "idem"), *cur = "USD", *pub;
	struct payment_new pn;
	struct stmt *st;
	int64_t	 minor, lo, hi, job = 0;
	int	 gw, replay;

	if (!form_valid(r, "idem") || strlen(idem) != 32)
		req_fail(r, 400, "This form is not valid. Please open the wallet page again.");
	gw = gw_parse(method);
	if (gw < 0 || !gw_enabled(r->db, (enum gw_id)gw))
		req_fail(r, 400, "That payment method is not offered.");
	st = db_q(r->db, Q_ACCT_CUSTOMER);
	db_bind_int(r->db, st, ":id", pr->user_id);
	if (db_step(r->db, st) == DB_ROW)
		cur = db_text(r->db, st, 7);
	db_reset(st);
	pay_topup_limits(r->db, &lo, &hi);
	if (money_parse(amount, cur, &minor) != MONEY_OK || minor < lo || minor > hi)
		req_fail(r, 400, "A top-up is an amount from %s to %s.", money_str(r->a, lo, cur),
		    money_str(r->a, hi, cur));
	memset(&pn, 0, sizeof(pn));
	pn.customer = pr->user_id;
	pn.gateway = gw_name[gw];
	pn.amount = minor;
	pn.currency = cur;
	pn.idem_key = arena_printf(r->a, "topup:%s", idem);
	db_begin(r->db);
	payment_new(r->db, &pn, &pub, &job, &replay);
	db_commit(r->db);
	if (job > 0)
		spool_wake(&r->app->conf, job, "payment_create");
	resp_redirect(r, 303, arena_printf(r->a, "/pay/%s", pub));
}
