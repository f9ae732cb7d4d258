/*
 * page_checkout.c: /checkout, paying the cart from the wallet
 * (checkout.c does the paying).  The form carries an idempotency token
 * made when the page is shown; it is stored UNIQUE with the order, so a
 * double click, a back-and-resubmit or a replayed request makes one
 * order and lands on it.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "audit.h"
#include "cart.h"
#include "checkout.h"
#include "coupon.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "order_mail.h"
#include "page_pay.h"
#include "payment.h"
#include "gateway.h"
#include "response.h"
#include "session.h"
#include "spool.h"
#include "testpause.h"
#include "ui.h"
#include "valid.h"
#include "view.h"
#include "wallet.h"

/* The checkout page: the cart's lines (and what moved since they were
 * shown), the total, the wallet's balance, and the pay form with a
 * fresh idempotency token. */
static void
checkout_show(struct request *r, const char *error)
{
	struct vm *vm = page_vm(r, "Checkout");
	int64_t	 cust = r->principal[SESS_CUSTOMER]->user_id, total, bal, sub, tax, rate, cart, off;
	int	 incl;
	const char *wcur;
	struct stmt *st;
	struct buf b;
	char	 idem[33];

	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	cart = cart_of(r, 0);
	cart_fill(r, vm, cart, &total);
	/* The coupon as checkout would judge it now: its discount comes
	 * off before the tax (checkout_tax_discounted); one that no longer
	 * applies hides the pay button behind its reason. */
	off = cart_coupon_fill(r, vm, cart, total);
	checkout_tax_discounted(r->db, total, off, &sub, &tax, &rate, &incl);
	st = db_q(r->db, Q_ACCT_CUSTOMER);
	db_bind_int(r->db, st, ":id", cust);
	buf_init(&b);
	if (db_step(r->db, st) == DB_ROW) {
		bal = db_int(st, 6);
		wcur = db_text(r->db, st, 7);
	} else {
		bal = 0;
		wcur = "USD";
	}
	money_format(&b, bal, wcur);
	db_reset(st);
	vm_set(vm, "balance", b.p);
	/* What the button takes: the lines, plus the tax when prices are
	 * net of it. */
	vm_set_bool(vm, "has_tax", tax != 0);
	vm_set_bool(vm, "tax_inclusive", incl);
	vm_setf(vm, "tax_rate", "%lld.%02lld %%", (long long)(rate / 100), (long long)(rate % 100));
	buf_reset(&b);
	money_format(&b, tax, wcur);
	vm_set(vm, "tax", b.p);
	buf_reset(&b);
	money_format(&b, sub - off + tax, wcur);
	vm_set(vm, "pay_total", b.p);
	buf_free(&b);
	vm_set_bool(vm, "short_funds", bal < sub - off + tax);
	token_new(idem);
	vm_set(vm, "idem", idem);
	/* Every enabled gateway beside the wallet (issue 13): the same
	 * token, so whichever button is pressed first makes the order. */
	pay_gateways_vm(r, vm);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/checkout", vm);
}

/* GET /checkout (customers): the cart to pay, or its changes to accept. */
void
page_checkout(struct request *r)
{
	checkout_show(r, NULL);
}

static const struct field page_checkout_fields[] = {
	{ "idem", FK_SLUG, FIELD_REQUIRED, 0, 32 },
	/* "wallet" (the default) or an enabled gateway's name. */
	{ "method", FK_SLUG, 0, 0, 16 },
};
const struct form page_checkout_form = { FORM(page_checkout_fields) };

/*
 * The gateway half of POST /checkout (issue 13): one BEGIN IMMEDIATE
 * transaction places the order pending (checkout_place: stock and
 * coupon taken, no money) with its payment ("pay:order:<order>:<gw>:1")
 * and the payment's payment_create job, and empties the cart; after
 * COMMIT the job is woken and the customer goes to /pay/{public_id}
 * (303), where work's checkout appears.  A replayed form lands on the
 * order's latest payment (or the order, once paid).  400 for a method
 * not offered; the refusals of the wallet checkout otherwise (409, 400),
 * nothing written.  An order whose total is nothing (a coupon of 100 %)
 * needs no gateway: it is fulfilled here as the wallet's would be.
 */
static void
checkout_gateway(struct request *r, const char *method, const char *idem)
{
	const struct principal *p = r->principal[SESS_CUSTOMER];
	struct actor who = { "customer", p->user_id, r->remote_addr, r->id };
	struct checkout_line *l;
	struct checkout_result res;
	struct payment_new pn;
	struct stmt *st;
	enum checkout_rc rc;
	const char *pub = NULL;
	int64_t	 cart, job = 0, mail = 0;
	size_t	 n, i;
	int	 gw, replay;

	gw = gw_parse(method);
	if (gw < 0 || !gw_enabled(r->db, (enum gw_id)gw)) {
		r->status = 400;
		checkout_show(r, "That payment method is not offered. Nothing was charged.");
		return;
	}
	db_begin(r->db);
	cart = cart_of(r, 0);
	n = checkout_lines(r->db, cart, &l);
	rc = checkout_place(r->db, p->user_id, l, n, cart_coupon(r, cart), gw_name[gw], idem, &who,
	    &res);
	if (rc == CHECKOUT_REPLAY) {
		db_rollback(r->db);
		st = db_q(r->db, Q_PAY_LATEST_OF_ORDER);
		db_bind_int(r->db, st, ":order", res.order);
		if (db_step(r->db, st) == DB_ROW)
			pub = db_text(r->db, st, 0);
		db_reset(st);
		resp_redirect(r, 303, pub != NULL ? arena_printf(r->a, "/pay/%s", pub) :
		    arena_printf(r->a, "/orders/%s", res.public_id));
		return;
	}
	if (rc != CHECKOUT_OK) {
		db_rollback(r->db);
		r->status = rc == CHECKOUT_BAD_KEY ? 400 : 409;
		checkout_show(r, rc == CHECKOUT_COUPON ? arena_printf(r->a, "%s %s",
		    checkout_rc_text[rc], coupon_rc_text[res.coupon_rc]) :
		    res.plan_name ? arena_printf(r->a, "%s (%s)",
		    checkout_rc_text[rc], res.plan_name) : checkout_rc_text[rc]);
		return;
	}
	st = db_q(r->db, Q_CART_CLEAR);
	db_bind_int(r->db, st, ":cart", cart);
	db_step(r->db, st);
	if (res.total == 0) {
		checkout_fulfil(r->db, res.order, gw_name[gw], &who, &res);
		mail = order_mail_paid(r->db, r->app->conf.base_url, res.order);
	} else {
		memset(&pn, 0, sizeof(pn));
		pn.customer = p->user_id;
		pn.order = res.order;
		pn.gateway = gw_name[gw];
		pn.amount = res.total;
		pn.currency = l[0].currency;
		pn.idem_key = arena_printf(r->a, "pay:order:%" PRId64 ":%s:1", res.order, gw_name[gw]);
		payment_new(r->db, &pn, &pub, &job, &replay);
		test_pause("checkout:payment");
	}
	db_commit(r->db);
	test_pause("checkout:pay-committed");
	if (job > 0)
		spool_wake(&r->app->conf, job, "payment_create");
	for (i = 0; i < res.njobs; i++)
		spool_wake(&r->app->conf, res.jobs[i], "provision");
	if (mail > 0)
		spool_wake(&r->app->conf, mail, "email");
	resp_redirect(r, 303, pub != NULL ? arena_printf(r->a, "/pay/%s", pub) :
	    arena_printf(r->a, "/orders/%s?ok=paid", res.public_id));
}

/*
 * POST /checkout — idem (the page's 32 hex digits), csrf.  One BEGIN
 * IMMEDIATE transaction (checkout.h) with the order confirmation mail
 * (order_mail.c): 303 to /orders/{public_id} when
 * paid, or when this token paid before (nothing new written).  The
 * cart's coupon is judged again in the transaction: one that stopped
 * applying is a 409 with its reason, nothing written.  409 with
 * the checkout page and what changed, or 402 for a short wallet, or 409
 * for a sold-out plan, an empty cart: nothing written.  400 for a
 * malformed token.
 */
void
page_checkout_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_CUSTOMER];
	const char *idem = form_get(r, "idem"), *method = form_get(r, "method");
	struct checkout_line *l;
	struct checkout_result res;
	struct actor who = { "customer", p->user_id, r->remote_addr, r->id };
	enum checkout_rc rc;
	int64_t	 cart, mail = 0;
	size_t	 n, i;
	struct stmt *st;

	if (!form_valid(r, "idem") || strlen(idem) != 32) {
		r->status = 400;
		checkout_show(r, checkout_rc_text[CHECKOUT_BAD_KEY]);
		return;
	}
	if (method != NULL && *method != '\0' && strcmp(method, "wallet") != 0) {
		checkout_gateway(r, method, idem);
		return;
	}
	db_begin(r->db);
	cart = cart_of(r, 0);
	n = checkout_lines(r->db, cart, &l);
	/* The cart's coupon, judged again inside this transaction. */
	rc = checkout_wallet_coupon(r->db, p->user_id, l, n, cart_coupon(r, cart), idem, &who, &res);
	if (rc == CHECKOUT_OK) {
		st = db_q(r->db, Q_CART_CLEAR);
		db_bind_int(r->db, st, ":cart", cart);
		db_step(r->db, st);
		/* The confirmation commits with the order, or neither does. */
		mail = order_mail_paid(r->db, r->app->conf.base_url, res.order);
		test_pause("checkout:mail");
	}
	if (rc != CHECKOUT_OK && rc != CHECKOUT_REPLAY) {
		db_rollback(r->db);
		r->status = rc == CHECKOUT_INSUFFICIENT ? 402 : rc == CHECKOUT_BAD_KEY ? 400 : 409;
		checkout_show(r, rc == CHECKOUT_COUPON ? arena_printf(r->a, "%s %s",
		    checkout_rc_text[rc], coupon_rc_text[res.coupon_rc]) :
		    res.plan_name ? arena_printf(r->a, "%s (%s)",
		    checkout_rc_text[rc], res.plan_name) : checkout_rc_text[rc]);
		return;
	}
	db_commit(r->db);
	/* Killed here, the order is whole but its jobs have no wake-up
	 * file: the work daemon's start and `cron reconcile` write them
	 * (spool.h), which t/83-checkout-kill.t shows. */
	if (rc == CHECKOUT_OK)
		test_pause("checkout:committed");
	{
		/* One batch: the directory is fsynced once for all of them. */
		int64_t	*ids = arena_alloc(r->a, (res.njobs + 1) * sizeof(*ids));
		const char **kinds = arena_alloc(r->a, (res.njobs + 1) * sizeof(*kinds));
		size_t	 nw = 0;

		for (i = 0; i < res.njobs; i++) {
			ids[nw] = res.jobs[i];
			kinds[nw++] = "provision";
		}
		if (mail) {
			ids[nw] = mail;
			kinds[nw++] = "email";
		}
		spool_wake_many(&r->app->conf, nw, ids, kinds);
	}
	if (rc == CHECKOUT_OK)
		test_pause("checkout:woken");
	resp_redirect(r, 303, arena_printf(r->a, "/orders/%s%s", res.public_id,
	    rc == CHECKOUT_OK ? "?ok=paid" : ""));
}
