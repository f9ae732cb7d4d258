/*
 * cmd_test_refund.c: unit tests of refunds of gateway payments
 * (refund.c, job_refund.c) on a throwaway database, run by `1000proxy
 * test-unit SQLDIR` after the payment cases (t/00-unit.t).
 *
 * An order paid through "stripe" (payment_apply, as a webhook would),
 * with a proxy and a referral commission, then: partial refunds up to
 * the payment and never beyond (refused in words, nothing written), a
 * resubmitted form, the whole payment refunded (the order, the policy's
 * suspend job, the commission reversed, the mails); a refund through
 * the gateway run by the refund job against a stand-in gw_ops that
 * times out after refunding, so the retry must carry the same key and
 * the stand-in refunds once; a permanent refusal that frees the amount;
 * refunds seen at the gateway (ours completed by id, a dashboard refund
 * recorded once, cumulative totals, a total beyond the payment); the
 * gateways and purposes that refuse a destination.
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
#include "conf.h"
#include "db.h"
#include "gateway.h"
#include "order.h"
#include "payment.h"
#include "refund.h"
#include "tap.h"
#include "util.h"
#include "wallet.h"
#include "work.h"

static const struct actor hook = { "webhook:stripe", 0, NULL, NULL };
static const struct actor staff = { "staff", 1, "127.0.0.1", "t" };


/* Q_TEST_RF_COUNTS's column what (see sql.c). */
static int64_t
count(struct db *db, int what)
{
	struct stmt *st = db_q(db, Q_TEST_RF_COUNTS);
	int64_t	 n = -1;

	if (db_step(db, st) == DB_ROW)
		n = db_int(st, what);
	db_reset(st);
	return n;
}
enum { C_REFUNDS, C_SUCCEEDED_SUM, C_FAILED, C_SUSPEND_JOBS, C_REFUND_JOBS, C_MAILS, C_REVERSED,
	C_AUDIT_REFUND, C_AUDIT_SEEN, C_FOREIGN, C_AUDIT_EXCESS };

/* The payment's state and refunded amount. */
static const char *
pstate(struct db *db, int64_t id, int64_t *refunded)
{
	struct stmt *st = db_q(db, Q_TEST_PAY_ROW);
	const char *s = "";

	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) == DB_ROW) {
		s = db_text(db, st, 0);
		*refunded = db_int(st, 4);
	}
	db_reset(st);
	return s;
}

/* An order of one plan paid through gw: placed, its payment made,
 * created and succeeded by a webhook; *order set. */
static int64_t
paid(struct db *db, const char *gw, const char *key, int64_t *order)
{
	struct checkout_line l;
	struct checkout_result cr;
	struct pay_observation o;
	struct pay_apply_result res;
	struct payment_new pn;
	int64_t	 id;
	int	 replay;

	memset(&l, 0, sizeof(l));
	l.plan = 1;
	l.name = "Plan";
	l.qty = 1;
	l.price = 1000;
	l.currency = "USD";
	db_begin(db);
	if (checkout_place(db, 1, &l, 1, NULL, gw, key, &hook, &cr) != CHECKOUT_OK)
		db_fail(db, "checkout_place");
	*order = cr.order;
	memset(&pn, 0, sizeof(pn));
	pn.customer = 1;
	pn.order = cr.order;
	pn.gateway = gw;
	pn.amount = 1000;
	pn.currency = "USD";
	pn.idem_key = arena_printf(db_arena(db), "pay:%s", key);
	id = payment_new(db, &pn, NULL, NULL, &replay);
	payment_created(db, id, arena_printf(db_arena(db), "cs_%s", key), NULL, "https://checkout.invalid/x");
	pay_observation_init(&o, gw, "webhook");
	o.event_id = arena_printf(db_arena(db), "evt_paid_%s", key);
	o.event_type = "test";
	o.payload = "{}";
	o.payment = id;
	o.state = PAY_SUCCEEDED;
	o.amount = 1000;
	o.currency = "USD";
	if (payment_apply(db, &o, &hook, &res) != PAY_APPLIED || !res.fulfilled)
		db_fail(db, "payment_apply did not fulfil");
	db_commit(db);
	return id;
}

static enum refund_pay_rc
ask(struct db *db, int64_t payment, int64_t amount, enum refund_dest dest, int64_t seq,
    struct refund_pay_result *res)
{
	struct refund_ask q;
	enum refund_pay_rc rc;

	memset(&q, 0, sizeof(q));
	q.payment = payment;
	q.amount = amount;
	q.dest = dest;
	q.reason = "unit test";
	q.staff = 1;
	q.seq = seq;
	db_begin(db);
	rc = refund_payment(db, &q, &staff, res);
	if (rc == RPAY_OK)
		db_commit(db);
	else
		db_rollback(db);
	return rc;
}

static enum pay_apply_rc
seen(struct db *db, int64_t payment, const char *evt, const char *ref, int64_t amount, int64_t total)
{
	struct pay_observation o;
	struct pay_apply_result res;
	enum pay_apply_rc rc;

	pay_observation_init(&o, "stripe", "webhook");
	o.event_id = evt;
	o.event_type = "charge.refunded";
	o.payload = "{}";
	o.payment = payment;
	o.refund_ref = ref;
	o.refund_amount = amount;
	o.refunded_total = total;
	db_begin(db);
	rc = payment_apply(db, &o, &hook, &res);
	db_commit(db);
	return rc;
}

/* ---- the stand-in gateway ---- */

/* What the stand-in has refunded, by idempotency key, and how it answers. */
static struct {
	char	 keys[8][128];
	int	 made;		/* refunds it made */
	int	 calls;
	int	 mode;		/* 0 answer; 1 refund then time out; 2 refuse (permanent) */
} sg;

static int
sg_refund(struct gw_call *c, const struct gw_payment *p, const struct gw_refund_req *q,
    struct gw_refund_done *d)
{
	int	 i, mode = sg.mode;

	(void)p;
	sg.calls++;
	sg.mode = 0;
	if (mode == 2) {
		snprintf(c->err, sizeof(c->err), "HTTP 400: charge_already_refunded");
		c->permanent = 1;
		return -1;
	}
	for (i = 0; i < sg.made && strcmp(sg.keys[i], q->idem_key) != 0; i++)
		continue;
	if (i == sg.made && sg.made < 8)
		snprintf(sg.keys[sg.made++], sizeof(sg.keys[0]), "%s", q->idem_key);
	if (mode == 1) {
		/* The refund is made; the reply is lost. */
		snprintf(c->err, sizeof(c->err), "timed out after 20 s");
		return -1;
	}
	d->ref = arena_printf(c->a, "re_stand_in_%d", i);
	d->state = 1;
	return 0;
}

static const struct gw_ops stand_in = { .id = GW_STRIPE, .refund = sg_refund };

/* Run the refund job of refund id once, as a runner would: claimed, run
 * with the stand-in, finished. */
static enum job_rc
job_once(struct db *db, struct conf *c, const unsigned char key[32], int64_t refund)
{
	struct work w;
	struct job j;
	struct stmt *st;
	enum job_rc rc;

	memset(&w, 0, sizeof(w));
	memset(&j, 0, sizeof(j));
	w.conf = c;
	w.db = db;
	memcpy(w.key, key, 32);
	snprintf(w.runner, sizeof(w.runner), "unit");
	j.a = db_arena(db);
	j.kind = "refund";
	j.payload = arena_printf(j.a, "{\"refund\":%" PRId64 "}", refund);
	db_begin(db);
	st = db_q(db, Q_TEST_RF_CLAIM);
	db_bind_text(db, st, ":payload", j.payload);
	db_bind_text(db, st, ":runner", w.runner);
	if (db_step(db, st) != DB_ROW)
		db_fail(db, "no refund job for %s", j.payload);
	j.id = db_int(st, 0);
	j.attempts = db_int(st, 1);
	db_step(db, st);
	db_commit(db);
	rc = job_refund_run_ops(&w, &j, &stand_in);
	if (rc == JOB_DONE) {
		db_begin(db);
		job_kind_refund.record(&w, &j);
		db_commit(db);
	}
	return rc;
}

static void
run(struct db *db, struct conf *c, const unsigned char key[32])
{
	struct refund_pay_result res;
	int64_t	 order, order2, order3, pay, pay2, pay3, ref, r2;
	const char *s;

	/* -- a stripe order paid, with a proxy and a pending commission -- */
	pay = paid(db, "stripe", "k1", &order);
	tap_ok(pay > 0 && order_state(db, order) == ORDER_PAID, "an order paid through stripe");
	db_begin(db);
	{
		struct stmt *st = db_q(db, Q_TEST_RF_CLIENT);

		db_bind_int(db, st, ":order", order);
		db_step(db, st);
		st = db_q(db, Q_TEST_RF_COMMISSION);
		db_bind_int(db, st, ":order", order);
		db_step(db, st);
	}
	db_commit(db);

	/* -- partial refunds up to the payment and never beyond -- */
	tap_is_int(ask(db, pay, 300, REFUND_TO_WALLET, 1, &res), RPAY_OK, "300 of 1000 to the wallet");
	tap_is_int(res.left, 700, "700 left");
	s = pstate(db, pay, &ref);
	tap_ok(strcmp(s, "partially_refunded") == 0 && ref == 300, "the payment partially_refunded, 300");
	db_begin(db);
	tap_is_int(wallet_balance(db, wallet_of_customer(db, 1, "USD")), 300, "the wallet credited 300");
	db_commit(db);
	tap_is_int(order_state(db, order), ORDER_PAID, "a partial refund leaves the order paid");
	tap_is_int(ask(db, pay, 300, REFUND_TO_WALLET, 1, &res), RPAY_REPLAY, "the same form again: a replay");
	tap_is_int(count(db, C_REFUNDS), 1, "one refund row");
	tap_is_int(ask(db, pay, 400, REFUND_TO_MANUAL, 2, &res), RPAY_OK, "400 more, paid back by hand");
	tap_is_int(ask(db, pay, 301, REFUND_TO_WALLET, 3, &res), RPAY_AMOUNT,
	    "a third of 301 would pass the payment: refused in words");
	tap_ok(count(db, C_REFUNDS) == 2 && count(db, C_SUCCEEDED_SUM) == 700, "nothing written by the refusal");
	tap_is_int(count(db, C_SUSPEND_JOBS), 0, "no policy job yet");
	tap_is_int(ask(db, pay, 0, REFUND_TO_WALLET, 3, &res), RPAY_OK, "the rest (amount 0: all that is left)");
	tap_is_int(res.amount, 300, "which is 300");
	s = pstate(db, pay, &ref);
	tap_ok(strcmp(s, "refunded") == 0 && ref == 1000, "the payment refunded, 1000");
	tap_is_int(order_state(db, order), ORDER_REFUNDED, "the order refunded");
	tap_is_int(count(db, C_SUSPEND_JOBS), 1, "the refund policy (suspend): one suspend job for its proxy");
	tap_is_int(count(db, C_REVERSED), 1, "the referral commission reversed");
	tap_is_int(count(db, C_MAILS), 3, "a refund_issued mail per refund");
	tap_is_int(count(db, C_AUDIT_REFUND), 3, "one payment.refund audit row per staff refund");
	tap_is_int(ask(db, pay, 0, REFUND_TO_WALLET, 4, &res), RPAY_AMOUNT, "nothing is left: refused");

	/* -- through the gateway: the job, a timeout, one refund -- */
	pay2 = paid(db, "stripe", "k2", &order2);
	tap_is_int(ask(db, pay2, 400, REFUND_TO_GATEWAY, 1, &res), RPAY_OK, "400 through stripe");
	r2 = res.refund;
	tap_ok(res.job > 0 && count(db, C_REFUND_JOBS) == 1, "a refund job written with it");
	s = pstate(db, pay2, &ref);
	tap_ok(strcmp(s, "succeeded") == 0 && ref == 0, "the payment does not move before the gateway says so");
	tap_is_int(ask(db, pay2, 700, REFUND_TO_WALLET, 2, &res), RPAY_AMOUNT,
	    "the pending refund counts against the cap");
	sg.mode = 1;
	tap_is_int(job_once(db, c, key, r2), JOB_RETRY,
	    "the gateway refunds and the reply is lost: retry");
	s = pstate(db, pay2, &ref);
	tap_is_int(ref, 0, "still nothing recorded");
	tap_is_int(job_once(db, c, key, r2), JOB_DONE, "the retry: done");
	tap_ok(sg.calls == 2 && sg.made == 1, "two calls with one key: one refund at the gateway");
	s = pstate(db, pay2, &ref);
	tap_ok(strcmp(s, "partially_refunded") == 0 && ref == 400, "the payment partially_refunded, 400");

	/* -- seen at the gateway -- */
	tap_is_int(seen(db, pay2, "evt_r1", "re_stand_in_0", 400, 400), PAY_STALE,
	    "the webhook of our own refund: nothing new");
	tap_is_int(seen(db, pay2, "evt_r2", "re_dash_1", 100, 500), PAY_APPLIED,
	    "a refund made in the dashboard: recorded");
	tap_is_int(count(db, C_FOREIGN), 1, "as origin 'gateway'");
	tap_is_int(seen(db, pay2, "evt_r3", "re_dash_1", 100, 500), PAY_STALE, "delivered again: recorded once");
	tap_is_int(seen(db, pay2, "evt_r4", NULL, -1, 500), PAY_STALE, "the same total: nothing new");
	tap_is_int(seen(db, pay2, "evt_r5", NULL, -1, 650), PAY_APPLIED, "a higher total: the difference recorded");
	s = pstate(db, pay2, &ref);
	tap_ok(strcmp(s, "partially_refunded") == 0 && ref == 650, "650 refunded");
	tap_is_int(seen(db, pay2, "evt_r6", NULL, -1, 5000), PAY_APPLIED, "a total beyond the payment");
	s = pstate(db, pay2, &ref);
	tap_ok(strcmp(s, "refunded") == 0 && ref == 1000, "recorded up to the payment: refunded");
	tap_is_int(count(db, C_AUDIT_EXCESS), 1, "and the excess audited");
	tap_is_int(order_state(db, order2), ORDER_REFUNDED, "the order refunded by the gateway's refunds");

	/* -- a permanent refusal frees the amount -- */
	pay3 = paid(db, "stripe", "k3", &order3);
	tap_is_int(ask(db, pay3, 1000, REFUND_TO_GATEWAY, 1, &res), RPAY_OK, "the whole of a third payment");
	sg.mode = 2;
	tap_is_int(job_once(db, c, key, res.refund), JOB_DONE, "the gateway refuses it for good");
	tap_is_int(count(db, C_FAILED), 1, "the refund failed");
	s = pstate(db, pay3, &ref);
	tap_ok(strcmp(s, "succeeded") == 0 && ref == 0, "the payment untouched");
	tap_is_int(ask(db, pay3, 1000, REFUND_TO_WALLET, 2, &res), RPAY_OK, "its amount may be refunded again");
	tap_is_int(order_state(db, order3), ORDER_REFUNDED, "(to the wallet: the order refunded)");

	/* -- a webhook that could not match ours records the gateway's id
	 * first: our row gives way when the job's reply names that id -- */
	pay3 = paid(db, "stripe", "k5", &order3);
	tap_is_int(ask(db, pay3, 300, REFUND_TO_GATEWAY, 1, &res), RPAY_OK, "300 through stripe again");
	r2 = res.refund;
	tap_is_int(seen(db, pay3, "evt_q1", arena_printf(db_arena(db), "re_stand_in_%d", sg.made), 250, 250),
	    PAY_APPLIED, "the gateway's webhook says 250 under an id not yet ours: recorded as its own");
	tap_is_int(job_once(db, c, key, r2), JOB_DONE, "then the job's reply names that id");
	s = pstate(db, pay3, &ref);
	tap_ok(strcmp(s, "partially_refunded") == 0 && ref == 250, "the money counted once: 250");
	tap_is_int(count(db, C_FAILED), 2, "our row gave way (failed, naming the other)");

	/* -- what a gateway or a purpose refuses -- */
	pay = paid(db, "nowpayments", "k4", &order);
	tap_is_int(ask(db, pay, 100, REFUND_TO_GATEWAY, 1, &res), RPAY_NO_API,
	    "NOWPayments has no refund API: refused in words");
	tap_is_int(ask(db, pay, 100, REFUND_TO_MANUAL, 1, &res), RPAY_OK, "by hand it is recorded");
	tap_is_int(ask(db, 999999, 100, REFUND_TO_WALLET, 1, &res), RPAY_NONE, "no such payment");
	tap_is_str(refund_dest_name[refund_dest_parse("manual")], "manual", "destination names");
}

int
test_refund(const char *sqldir)
{
	char	 dir[] = "/tmp/px-refund-XXXXXX";
	unsigned char key[32];
	struct arena *a = arena_new(1 << 16);
	struct conf c;
	struct db *db;

	tap_prefix = "refund: ";
	memset(&c, 0, sizeof(c));
	c.gateway_timeout = 5;
	c.gateway_ca_file = (char *)"";
	memset(key, 7, sizeof(key));
	if ((db = tap_db_open(dir, sqldir, sql_test_refund_fixture)) != NULL) {
		db_set_arena(db, a);
		db_begin(db);
		gw_secret_put(db, key, "stripe.secret_key", "sk_test_unit", 0);
		db_commit(db);
		run(db, &c, key);
	}
	tap_db_close(db, dir);
	arena_free(a);
	return 0;
}
