/*
 * cmd_test_payment.c: unit tests of the payment state machine
 * (payment.c) on a throwaway database, run by `1000proxy test-unit
 * SQLDIR` (t/00-unit.t passes the tree's sql/).  Each case is what a
 * webhook, a return page or reconciliation hands payment_apply inside
 * its transaction: forward-only states, replayed event ids, amount and
 * currency mismatches held, fulfilment exactly once (an order paid with
 * its jobs and invoice; a top-up credited with its receipt), refunds
 * seen, NOWPayments' under- and over-payment under both settings, and
 * staff's resolutions of a held payment.
 *
 * The fixture is a script (sql_test_payment_fixture in sql.c, run by
 * db_exec as the seed is); the checks read through the statement table
 * (Q_TEST_PAY_*).  A hard error ends the
 * process (the command's default fail handler): the test then fails by
 * its missing plan.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "checkout.h"
#include "cmd.h"
#include "db.h"
#include "order.h"
#include "payment.h"
#include "tap.h"
#include "util.h"
#include "wallet.h"

static const struct actor hook = { "webhook:stripe", 0, NULL, NULL };

/* A payment as the checks see it. */
struct seen {
	const char	*state;
	const char	*held;
	int64_t		 fulfilled, received, refunded;
};

static struct seen
row(struct db *db, int64_t id)
{
	struct stmt *st = db_q(db, Q_TEST_PAY_ROW);
	struct seen s = { "", "", 0, 0, 0 };

	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) == DB_ROW) {
		s.state = db_text(db, st, 0);
		s.held = db_text(db, st, 1);
		s.fulfilled = db_int(st, 2);
		s.received = db_int(st, 3);
		s.refunded = db_int(st, 4);
	}
	db_reset(st);
	return s;
}

/* count of kind: 0 events, 1 provision jobs, 2 email jobs, 3 invoices,
 * 4 ledger rows, 5 audit rows "order.paid" */
static int64_t
count(struct db *db, int what)
{
	struct stmt *st = db_q(db, Q_TEST_PAY_COUNTS);
	int64_t	 n = -1;

	if (db_step(db, st) == DB_ROW)
		n = db_int(st, what);
	db_reset(st);
	return n;
}

/* A pending order of qty of plan 1 for customer 1, placed as the
 * gateway checkout does. */
static int64_t
place(struct db *db, const char *key)
{
	struct checkout_line l;
	struct checkout_result res;
	enum checkout_rc rc;

	memset(&l, 0, sizeof(l));
	l.plan = 1;
	l.name = "Plan";
	l.qty = 1;
	l.price = 1000;
	l.currency = "USD";
	db_begin(db);
	rc = checkout_place(db, 1, &l, 1, NULL, "stripe", key, &hook, &res);
	db_commit(db);
	return rc == CHECKOUT_OK ? res.order : 0;
}

static int64_t
newpay(struct db *db, int64_t order, const char *gw, int64_t amount, const char *key, int *replay)
{
	struct payment_new pn;
	int64_t	 id;

	memset(&pn, 0, sizeof(pn));
	pn.customer = 1;
	pn.order = order;
	pn.gateway = gw;
	pn.amount = amount;
	pn.currency = "USD";
	pn.idem_key = key;
	db_begin(db);
	id = payment_new(db, &pn, NULL, NULL, replay);
	db_commit(db);
	return id;
}

static enum pay_apply_rc
apply(struct db *db, const char *gw, const char *evt, int64_t payment, const char *ref, int state,
    int64_t amount, const char *cur, struct pay_apply_result *res)
{
	struct pay_observation o;
	enum pay_apply_rc rc;

	pay_observation_init(&o, gw, "webhook");
	o.event_id = evt;
	o.event_type = "test";
	o.payload = "{}";
	o.payment = payment;
	o.ref = ref;
	o.state = state;
	o.amount = amount;
	o.currency = cur;
	db_begin(db);
	rc = payment_apply(db, &o, &hook, res);
	db_commit(db);
	return rc;
}

static void
created(struct db *db, int64_t id, const char *ref)
{
	db_begin(db);
	payment_created(db, id, ref, NULL, "https://checkout.invalid/x");
	db_commit(db);
}

static int64_t
balance(struct db *db)
{
	int64_t	 b;

	db_begin(db);
	b = wallet_balance(db, wallet_of_customer(db, 1, "USD"));
	db_commit(db);
	return b;
}

static void
run(struct db *db)
{
	struct pay_apply_result res;
	struct pay_observation o;
	struct seen s;
	int64_t	 order, order2, pay, pay2, n, jobs, mails;
	int	 replay;

	tap_ok(pay_state_parse("partially_paid") == PAY_PARTIALLY_PAID && pay_state_parse("x") == -1,
	    "pay_state_parse");

	/* -- an order paid once, whatever comes after -- */
	order = place(db, "k-order-1");
	tap_ok(order > 0 && order_state(db, order) == ORDER_PENDING, "checkout_place: a pending order");
	tap_is_int(count(db, 1), 0, "checkout_place: no provision job before the money");
	pay = newpay(db, order, "stripe", 1000, "pay:order:1:stripe:1", &replay);
	tap_ok(pay > 0 && !replay, "payment_new: a created payment");
	tap_is_int(newpay(db, order, "stripe", 1000, "pay:order:1:stripe:1", &replay), pay,
	    "payment_new: the same key returns the same payment");
	tap_ok(replay, "payment_new: ... as a replay");
	created(db, pay, "cs_1");
	s = row(db, pay);
	tap_ok(strcmp(s.state, "pending") == 0, "payment_created: created -> pending");
	tap_ok(apply(db, "stripe", "evt_1", 0, "cs_1", PAY_SUCCEEDED, 1000, "USD", &res) == PAY_APPLIED &&
	    res.fulfilled && res.payment == pay, "succeeded by reference: applied and fulfilled");
	tap_ok(order_state(db, order) == ORDER_PAID, "the order is paid");
	tap_is_int(count(db, 1), 1, "one provision job");
	tap_is_int(count(db, 3), 1, "one invoice");
	tap_is_int(count(db, 5), 1, "one order.paid audit row");
	mails = count(db, 2);
	tap_ok(mails == 1 && res.njobs == 2, "the payment-received mail and the job to wake");
	n = count(db, 0);
	tap_ok(apply(db, "stripe", "evt_1", 0, "cs_1", PAY_SUCCEEDED, 1000, "USD", &res) == PAY_DUPLICATE,
	    "the same event again: duplicate");
	tap_is_int(count(db, 0), n, "a duplicate records nothing");
	tap_ok(apply(db, "stripe", "evt_2", pay, NULL, PAY_SUCCEEDED, 1000, "USD", &res) == PAY_STALE &&
	    !res.fulfilled, "another event saying succeeded: stale, not fulfilled again");
	tap_ok(apply(db, "stripe", "evt_3", pay, NULL, PAY_PENDING, -1, NULL, &res) == PAY_STALE,
	    "pending after succeeded: stale");
	tap_ok(apply(db, "stripe", "evt_4", pay, NULL, PAY_FAILED, -1, NULL, &res) == PAY_STALE,
	    "failed after succeeded: stale");
	tap_is_int(count(db, 1), 1, "still one provision job");
	tap_is_int(count(db, 2), mails, "no second mail");
	tap_is_int(count(db, 3), 1, "still one invoice");
	s = row(db, pay);
	tap_ok(strcmp(s.state, "succeeded") == 0 && s.fulfilled && s.received == 1000,
	    "the payment: succeeded, fulfilled, 1000 received");

	/* -- refunds seen at the gateway, cumulative -- */
	pay_observation_init(&o, "stripe", "webhook");
	o.event_id = "evt_r1";
	o.payload = "{}";
	o.ref = "cs_1";
	o.refunded_total = 300;
	db_begin(db);
	tap_ok(payment_apply(db, &o, &hook, &res) == PAY_APPLIED && res.to == PAY_PARTIALLY_REFUNDED,
	    "a partial refund: partially_refunded");
	o.event_id = "evt_r2";
	o.refunded_total = 200;
	tap_ok(payment_apply(db, &o, &hook, &res) == PAY_STALE, "an earlier refund total: stale");
	o.event_id = "evt_r3";
	o.refunded_total = 1000;
	tap_ok(payment_apply(db, &o, &hook, &res) == PAY_APPLIED && res.to == PAY_REFUNDED,
	    "the rest refunded: refunded");
	db_commit(db);
	s = row(db, pay);
	tap_ok(strcmp(s.state, "refunded") == 0 && s.refunded == 1000, "refunded_minor 1000");
	tap_ok(apply(db, "stripe", "evt_5", pay, NULL, PAY_SUCCEEDED, 1000, "USD", &res) == PAY_STALE,
	    "a late succeeded after the refund: stale");

	/* -- amount and currency mismatches are held -- */
	order = order2 = place(db, "k-order-2");
	pay = newpay(db, order, "stripe", 1000, "pay:order:2:stripe:1", &replay);
	created(db, pay, "cs_2");
	tap_ok(apply(db, "stripe", "evt_6", pay, NULL, PAY_SUCCEEDED, 999, "USD", &res) == PAY_HELD &&
	    !res.fulfilled, "one cent short: held");
	s = row(db, pay);
	tap_ok(*s.held != '\0' && !s.fulfilled && order_state(db, order) == ORDER_PENDING,
	    "held: reason kept, not fulfilled, the order still pending");
	tap_is_int(count(db, 1), 1, "no provision job for a held payment");
	order = place(db, "k-order-3");
	pay2 = newpay(db, order, "stripe", 1000, "pay:order:3:stripe:1", &replay);
	tap_ok(apply(db, "stripe", "evt_7", pay2, NULL, PAY_SUCCEEDED, 1000, "EUR", &res) == PAY_HELD,
	    "another currency: held");
	s = row(db, pay2);
	tap_ok(s.received == -1, "an amount in another currency is not recorded as received");
	tap_ok(apply(db, "stripe", "evt_7b", 0, "cs_none", PAY_SUCCEEDED, 1000, "USD", &res) == PAY_UNKNOWN,
	    "a reference of no payment of ours: unknown (recorded for the report)");

	/* staff fulfil the short one as if it matched */
	db_begin(db);
	tap_ok(payment_release(db, pay, &hook, &res) == 0 && res.fulfilled, "payment_release fulfils a held payment");
	tap_ok(payment_release(db, pay, &hook, &res) == -1, "and only once");
	db_commit(db);
	tap_ok(order_state(db, order2) == ORDER_PAID, "its order is paid");
	tap_is_int(count(db, 1), 2, "with its provision job");

	/* -- an order cancelled by the expiry meanwhile: held, never fulfilled -- */
	order = place(db, "k-order-4");
	pay = newpay(db, order, "paypal", 1000, "pay:order:4:paypal:1", &replay);
	db_begin(db);
	tap_ok(order_cancel_pending(db, order, &hook, "expired", NULL, NULL) == 1, "the order expires");
	db_commit(db);
	tap_ok(apply(db, "paypal", "WH-1", pay, NULL, PAY_SUCCEEDED, 1000, "USD", &res) == PAY_HELD,
	    "paid after the order was cancelled: held");
	s = row(db, pay);
	tap_ok(strstr(s.held, "no longer payable") != NULL && order_state(db, order) == ORDER_CANCELLED,
	    "\"order no longer payable\", the order stays cancelled");
	db_begin(db);
	tap_ok(payment_credit_wallet(db, pay, 0, &hook) == 0, "staff credit what arrived to the wallet");
	db_commit(db);
	tap_is_int(balance(db), 1000, "the wallet holds it");
	db_begin(db);
	tap_ok(payment_credit_wallet(db, pay, 0, &hook) == -1, "and only once");
	db_commit(db);

	/* -- a top-up: the wallet credited once, with its receipt -- */
	pay = newpay(db, 0, "stripe", 500, "topup:abc", &replay);
	created(db, pay, "cs_t");
	n = count(db, 3);
	tap_ok(apply(db, "stripe", "evt_t1", 0, "cs_t", PAY_SUCCEEDED, 500, "USD", &res) == PAY_APPLIED &&
	    res.fulfilled, "a top-up paid: applied");
	tap_is_int(balance(db), 1500, "the wallet is credited 500");
	tap_is_int(count(db, 3), n + 1, "with a receipt");
	tap_ok(apply(db, "stripe", "evt_t1", 0, "cs_t", PAY_SUCCEEDED, 500, "USD", &res) == PAY_DUPLICATE &&
	    apply(db, "stripe", "evt_t2", 0, "cs_t", PAY_SUCCEEDED, 500, "USD", &res) == PAY_STALE,
	    "replayed and repeated: nothing more");
	tap_is_int(balance(db), 1500, "credited once");

	/* -- failed and expired end an unpaid payment; money after it still counts -- */
	pay = newpay(db, 0, "nowpayments", 400, "topup:def", &replay);
	created(db, pay, "inv_1");
	jobs = count(db, 2);
	tap_ok(apply(db, "nowpayments", "1:expired:0", pay, NULL, PAY_EXPIRED, -1, NULL, &res) == PAY_APPLIED,
	    "expired: applied");
	tap_is_int(count(db, 2), jobs + 1, "the payment-failed mail");
	tap_ok(apply(db, "nowpayments", "1:waiting:0", pay, NULL, PAY_PENDING, -1, NULL, &res) == PAY_STALE,
	    "pending after expired: stale");
	tap_ok(apply(db, "nowpayments", "1:finished:400", pay, NULL, PAY_SUCCEEDED, 400, "USD", &res) ==
	    PAY_APPLIED && res.fulfilled, "crypto that arrives after the expiry is credited");
	tap_is_int(balance(db), 1900, "the wallet holds it");

	/* -- NOWPayments short and over, payments.mismatch = hold, then wallet -- */
	pay = newpay(db, 0, "nowpayments", 1000, "topup:ghi", &replay);
	tap_ok(apply(db, "nowpayments", "2:partially_paid:300", pay, NULL, PAY_PARTIALLY_PAID, 300, "USD",
	    &res) == PAY_HELD, "partially paid under 'hold': held");
	tap_is_int(balance(db), 1900, "nothing credited");
	{
		struct stmt *st = db_q(db, Q_TEST_PAY_SETTING);

		db_bind_text(db, st, ":key", "payments.mismatch");
		db_bind_text(db, st, ":value", "wallet");
		db_step(db, st);
	}
	pay = newpay(db, 0, "nowpayments", 1000, "topup:jkl", &replay);
	tap_ok(apply(db, "nowpayments", "3:partially_paid:300", pay, NULL, PAY_PARTIALLY_PAID, 300, "USD",
	    &res) == PAY_APPLIED && res.fulfilled, "partially paid under 'wallet': what arrived is credited");
	tap_is_int(balance(db), 2200, "300 credited");
	tap_ok(apply(db, "nowpayments", "3:partially_paid:300b", pay, NULL, PAY_PARTIALLY_PAID, 300, "USD",
	    &res) == PAY_STALE, "the same amount again: stale");
	tap_is_int(balance(db), 2200, "credited once");
	order = place(db, "k-order-5");
	pay = newpay(db, order, "nowpayments", 1000, "pay:order:5:nowpayments:1", &replay);
	tap_ok(apply(db, "nowpayments", "4:finished:1200", pay, NULL, PAY_SUCCEEDED, 1200, "USD", &res) ==
	    PAY_APPLIED && res.fulfilled, "over-paid under 'wallet': fulfilled");
	tap_ok(order_state(db, order) == ORDER_PAID, "the order is paid");
	tap_is_int(balance(db), 2400, "and the 200 over credited");
	order = place(db, "k-order-6");
	pay = newpay(db, order, "stripe", 1000, "pay:order:6:stripe:1", &replay);
	tap_ok(apply(db, "stripe", "evt_8", pay, NULL, PAY_SUCCEEDED, 1200, "USD", &res) == PAY_HELD,
	    "over-paid at Stripe: held whatever the setting");

	/* -- an event before payment_create recorded the reference -- */
	order = place(db, "k-order-7");
	pay = newpay(db, order, "stripe", 1000, "pay:order:7:stripe:1", &replay);
	pay_observation_init(&o, "stripe", "webhook");
	o.event_id = "evt_9";
	o.payload = "{}";
	o.payment_public = NULL;
	{
		struct stmt *st = db_q(db, Q_TEST_PAY_PUBLIC);

		db_bind_int(db, st, ":id", pay);
		if (db_step(db, st) == DB_ROW)
			o.payment_public = db_text(db, st, 0);
		db_reset(st);
	}
	o.ref = "cs_7";
	o.state = PAY_SUCCEEDED;
	o.amount = 1000;
	o.currency = "USD";
	db_begin(db);
	tap_ok(payment_apply(db, &o, &hook, &res) == PAY_APPLIED && res.fulfilled && res.from == PAY_CREATED,
	    "found by public id while still 'created': fulfilled");
	payment_created(db, pay, "cs_7", NULL, "https://checkout.invalid/7");
	db_commit(db);
	s = row(db, pay);
	tap_ok(strcmp(s.state, "succeeded") == 0, "payment_created afterwards leaves the state alone");

	/* -- payment_create failing for good -- */
	pay = newpay(db, 0, "paypal", 700, "topup:mno", &replay);
	db_begin(db);
	payment_create_failed(db, pay, "HTTP 401");
	db_commit(db);
	s = row(db, pay);
	tap_ok(strcmp(s.state, "failed") == 0, "payment_create_failed: created -> failed");
}

int
test_payment(const char *sqldir)
{
	char	 dir[] = "/tmp/px-payment-XXXXXX";
	struct arena *a = arena_new(1 << 16);
	struct db *db;

	tap_prefix = "payment: ";
	if ((db = tap_db_open(dir, sqldir, sql_test_payment_fixture)) != NULL) {
		db_set_arena(db, a);
		run(db);
	}
	tap_db_close(db, dir);
	arena_free(a);
	return 0;
}
