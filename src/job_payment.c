/*
 * job_payment.c: the work daemon's payment jobs (issue 13), the only
 * place the shop calls a gateway for a payment:
 *
 *   payment_create    {"payment":ID}: make the hosted checkout (Stripe
 *                     Checkout Session, PayPal order, NOWPayments
 *                     invoice) with the payment's idempotency key, then
 *                     record its reference and URL (payment_created),
 *                     which /pay/{public_id} is waiting for;
 *   payment_capture   {"payment":ID}: PayPal's capture of an approved
 *                     order (PayPal-Request-Id "capture:<payment>"),
 *                     what it says applied through payment_apply;
 *   gateway_followup  {"payment":ID,"source":"return"|"reconcile"}: the
 *                     gateway's view of the payment now (lookup),
 *                     applied through payment_apply; and paypal13's
 *                     {"verify":"paypal",...} deliveries, handed to
 *                     paypal_verify_followup() (paypal13), and the
 *                     {"recent":...} report, to gateway_recent_run()
 *                     (settings13).
 *
 * Each call is made with no transaction open; what it found is written
 * in one transaction of its own (payment_apply's event key makes a
 * rerun after a crash between that commit and the job's 'done' a
 * duplicate, so nothing happens twice), and the jobs it wrote (provision,
 * mail) are woken after that commit.
 *
 * A payment_create that keeps failing is given up after
 * PAY_CREATE_TRIES attempts (or at once for a refusal that retrying will
 * not cure): the payment becomes 'failed' with the reason, and the
 * customer's /pay page shows it with a retry that makes a new payment.
 * Until then every failure is written to payments.last_error, which the
 * page shows while it waits.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "conf.h"
#include "db.h"
#include "gateway.h"
#include "gw_paypal.h"
#include "http_out.h"
#include "job_gateway_recent.h"
#include "job_payment.h"
#include "json_get.h"
#include "log.h"
#include "payment.h"
#include "spool.h"
#include "testpause.h"
#include "util.h"
#include "work.h"

/* Attempts at creating a checkout before the customer is told it
 * failed (each waits retry_base, doubling: with the defaults about 15 s
 * plus the calls' own timeouts). */
#define PAY_CREATE_TRIES	3

static const struct actor sys_actor = { "system", 0, NULL, NULL };

/*
 * One http_out handle per gateway per runner process, kept across jobs
 * so that calls reuse their connection (http_out.h).  Runner-local state
 * that dies with the runner; its arena lives as long as the handles.
 */
static struct http_out *handles[GW__MAX];
static struct arena *handle_arena;

static struct http_out *
handle(struct work *w, enum gw_id id, char *err, size_t errsz)
{
	if (handles[id] != NULL)
		return handles[id];
	if (handle_arena == NULL)
		handle_arena = arena_new(4096);
	handles[id] = http_out_open(handle_arena, gw_name[id], w->conf->gateway_timeout,
	    w->conf->gateway_ca_file, 1, err, errsz);
	return handles[id];
}

/* What a job knows of its payment (Q_PAY_FOR_GATEWAY). */
struct pay_job {
	struct gw_payment p;
	enum gw_id	 gw;
	const char	*state;
	const char	*order_state;	/* "" for a top-up */
	struct gw_created created;
	struct pay_observation obs;
	const char	*why;	/* payment_create: the reason it failed for good */
};

/* Read the job's payment into pj; -1 with j->err when there is none. */
static int
load(struct work *w, struct job *j, struct pay_job *pj)
{
	const struct conf *c = w->conf;
	struct json_object *o;
	struct stmt *st;
	int64_t	 id;
	int	 gw;

	memset(pj, 0, sizeof(*pj));
	o = json_tokener_parse(j->payload);
	id = jint(o, "payment", 0);
	json_object_put(o);
	st = db_q(w->db, Q_PAY_FOR_GATEWAY);
	db_bind_int(w->db, st, ":id", id);
	if (db_step(w->db, st) != DB_ROW) {
		db_reset(st);
		snprintf(j->err, sizeof(j->err), "no payment %" PRId64, id);
		return -1;
	}
	pj->p.id = db_int(st, 0);
	pj->p.public_id = db_text(w->db, st, 1);
	pj->p.order = db_int(st, 2);
	gw = gw_parse(db_text(w->db, st, 4));
	pj->p.purpose = db_text(w->db, st, 5);
	pj->p.ref = *db_text(w->db, st, 6) ? db_text(w->db, st, 6) : NULL;
	pj->p.ref2 = *db_text(w->db, st, 7) ? db_text(w->db, st, 7) : NULL;
	pj->p.amount = db_int(st, 8);
	pj->p.currency = db_text(w->db, st, 9);
	pj->state = db_text(w->db, st, 11);
	pj->p.idem_key = db_text(w->db, st, 15);
	pj->p.email = db_text(w->db, st, 20);
	pj->p.order_public = pj->p.order > 0 ? db_text(w->db, st, 21) : NULL;
	pj->order_state = db_text(w->db, st, 22);
	db_reset(st);
	if (gw < 0) {
		snprintf(j->err, sizeof(j->err), "payment %" PRId64 " is not a gateway's", id);
		return -1;
	}
	pj->gw = (enum gw_id)gw;
	pj->p.description = pj->p.order > 0 ?
	    arena_printf(j->a, "Order %s", pj->p.order_public) : "Wallet top-up";
	pj->p.return_url = arena_printf(j->a, "%s/pay/return/%s/%s", c->base_url, gw_name[gw],
	    pj->p.public_id);
	pj->p.cancel_url = arena_printf(j->a, "%s/pay/%s?cancelled=1", c->base_url, pj->p.public_id);
	pj->p.notify_url = arena_printf(j->a, "%s/webhooks/%s", c->base_url, gw_name[gw]);
	return 0;
}

/* The secret a gateway's calls authenticate with (gateway.h, gw_call). */
static const char *
call_secret(struct work *w, enum gw_id id)
{
	const char *a, *b;

	switch (id) {
	case GW_STRIPE:
		return gw_secret(w->db, w->key, "stripe.secret_key");
	case GW_PAYPAL:
		a = gw_secret(w->db, w->key, "paypal.client_id");
		b = gw_secret(w->db, w->key, "paypal.client_secret");
		return a != NULL && b != NULL ? arena_printf(db_arena(w->db), "%s:%s", a, b) : NULL;
	case GW_NOWPAYMENTS:
		return gw_secret(w->db, w->key, "nowpayments.api_key");
	default:
		return NULL;
	}
}

/* Fill call for pj's gateway; -1 with j->err (no libcurl, no key). */
static int
call_init(struct work *w, struct job *j, struct pay_job *pj, struct gw_call *call)
{
	memset(call, 0, sizeof(*call));
	call->a = j->a;
	call->base = gw_api_base(w->db, w->conf, pj->gw);
	call->live = gw_live(w->db, pj->gw);
	if ((call->secret = call_secret(w, pj->gw)) == NULL) {
		snprintf(j->err, sizeof(j->err), "%s has no API key set (1000proxy gateway set)",
		    gw_name[pj->gw]);
		return -1;
	}
	if ((call->http = handle(w, pj->gw, j->err, sizeof(j->err))) == NULL)
		return -1;
	return 0;
}

/* The payment's last_error, in a commit of its own (the page shows it
 * while the job retries). */
static void
note_error(struct work *w, int64_t payment, const char *why)
{
	struct stmt *st;

	db_begin(w->db);
	st = db_q(w->db, Q_PAY_SET_ERROR);
	db_bind_int(w->db, st, ":id", payment);
	db_bind_text(w->db, st, ":why", why);
	db_bind_int(w->db, st, ":now", now_unix());
	db_step(w->db, st);
	db_commit(w->db);
}

/* ---- payment_create ---- */

static enum job_rc
create_run(struct work *w, struct job *j)
{
	struct pay_job *pj = arena_zalloc(j->a, sizeof(*pj));
	const struct gw_ops *ops;
	struct gw_call call;

	j->ctx = pj;
	if (load(w, j, pj) != 0)
		return JOB_FAIL;
	/* Created before (a rerun after a crash between the record and
	 * 'done'), or given up: nothing to do. */
	if (strcmp(pj->state, "created") != 0)
		return JOB_DONE;
	/* An order cancelled (or paid otherwise) while the job waited:
	 * no checkout for it, the customer is told on /pay. */
	if (pj->p.order > 0 && strcmp(pj->order_state, "pending") != 0) {
		pj->why = arena_printf(j->a, "the order is no longer waiting for a payment (%s)",
		    pj->order_state);
		return JOB_DONE;
	}
	if (!gw_enabled(w->db, pj->gw)) {
		pj->why = arena_printf(j->a, "%s is not enabled for payments any more", gw_label[pj->gw]);
		return JOB_DONE;
	}
	ops = gw_ops(pj->gw);
	if (ops == NULL || ops->create == NULL || call_init(w, j, pj, &call) != 0) {
		if (ops == NULL || ops->create == NULL)
			snprintf(j->err, sizeof(j->err), "%s cannot create payments in this version",
			    gw_name[pj->gw]);
		pj->why = arena_strdup(j->a, j->err);
		return JOB_DONE;
	}
	test_pause("payment_create:call");
	if (ops->create(&call, &pj->p, &pj->created) == 0 && pj->created.ref != NULL &&
	    pj->created.url != NULL) {
		test_pause("payment_create:called");
		return JOB_DONE;
	}
	if (call.err[0] == '\0')
		snprintf(call.err, sizeof(call.err), "the gateway's answer had no checkout");
	snprintf(j->err, sizeof(j->err), "%s: %s", gw_name[pj->gw], call.err);
	if (call.permanent || j->attempts >= PAY_CREATE_TRIES) {
		pj->why = arena_strdup(j->a, j->err);
		return JOB_DONE;
	}
	note_error(w, pj->p.id, j->err);
	return JOB_RETRY;
}

static int
create_record(struct work *w, struct job *j)
{
	struct pay_job *pj = j->ctx;

	if (pj == NULL || pj->p.id == 0 || strcmp(pj->state, "created") != 0)
		return 0;
	if (pj->why != NULL) {
		payment_create_failed(w->db, pj->p.id, pj->why);
		j->result = "{\"failed\":true}";
		log_sys("work", "payment %" PRId64 " (%s): not created: %s", pj->p.id,
		    gw_name[pj->gw], pj->why);
		return 0;
	}
	payment_created(w->db, pj->p.id, pj->created.ref, pj->created.ref2, pj->created.url);
	j->result = "{\"created\":true}";
	return 0;
}

const struct job_kind job_kind_payment_create = {
	"payment_create", "create", create_run, create_record
};

/* ---- what a gateway said, applied ---- */

/* Apply obs in a transaction of its own and wake what it wrote. */
static void
apply_now(struct work *w, struct job *j, struct pay_observation *obs)
{
	struct pay_apply_result res;
	enum pay_apply_rc rc;

	db_begin(w->db);
	rc = payment_apply(w->db, obs, &sys_actor, &res);
	db_commit(w->db);
	test_pause("payment_apply:committed");
	if (res.njobs > 0)
		spool_wake_many(w->conf, res.njobs, res.jobs, res.kinds);
	j->result = arena_printf(j->a, "{\"outcome\":\"%s\",\"state\":\"%s\",\"fulfilled\":%s}",
	    pay_apply_rc_text[rc], pay_state_name[res.to], res.fulfilled ? "true" : "false");
}

/* ---- payment_capture (PayPal) ---- */

static enum job_rc
capture_run(struct work *w, struct job *j)
{
	struct pay_job *pj = arena_zalloc(j->a, sizeof(*pj));
	const struct gw_ops *ops;
	struct gw_call call;

	if (load(w, j, pj) != 0)
		return JOB_FAIL;
	/* Only an open payment is captured: one paid, refunded or ended
	 * has nothing to capture (a replayed capture would be answered
	 * from PayPal's idempotency store anyway). */
	if (strcmp(pj->state, "pending") != 0 && strcmp(pj->state, "created") != 0)
		return JOB_DONE;
	ops = gw_ops(pj->gw);
	if (ops == NULL || ops->capture == NULL) {
		snprintf(j->err, sizeof(j->err), "%s has no capture", gw_name[pj->gw]);
		return JOB_FAIL;
	}
	if (call_init(w, j, pj, &call) != 0)
		return JOB_RETRY;
	pay_observation_init(&pj->obs, gw_name[pj->gw], "return");
	pj->obs.payment = pj->p.id;
	test_pause("payment_capture:call");
	if (ops->capture(&call, &pj->p, &pj->obs) != 0) {
		snprintf(j->err, sizeof(j->err), "%s capture: %s", gw_name[pj->gw], call.err);
		note_error(w, pj->p.id, j->err);
		return call.permanent ? JOB_FAIL : JOB_RETRY;
	}
	if (pj->obs.payment == 0 && pj->obs.payment_public == NULL && pj->obs.ref == NULL)
		pj->obs.payment = pj->p.id;
	apply_now(w, j, &pj->obs);
	return JOB_DONE;
}

const struct job_kind job_kind_payment_capture = {
	"payment_capture", "capture", capture_run, NULL
};

/* ---- gateway_followup ---- */

static enum job_rc
followup_run(struct work *w, struct job *j)
{
	struct pay_job *pj = arena_zalloc(j->a, sizeof(*pj));
	struct json_object *o;
	const struct gw_ops *ops;
	struct gw_call call;
	const char *source;
	int	 verify;

	/* The recent-payments report (cron payments, job_gateway_recent.c)
	 * and a PayPal delivery the worker could not verify (gw_paypal.c)
	 * ride on this kind too. */
	if (gateway_recent_wants(j->payload))
		return gateway_recent_run(w, j);
	o = json_tokener_parse(j->payload);
	verify = jstr(o, "verify") != NULL;
	source = strcmp(jstr_or(o, "source", "return"), "reconcile") == 0 ? "reconcile" : "return";
	json_object_put(o);
	if (verify)
		return paypal_verify_followup(w, j);
	if (load(w, j, pj) != 0)
		return JOB_FAIL;
	ops = gw_ops(pj->gw);
	if (ops == NULL || ops->lookup == NULL) {
		snprintf(j->err, sizeof(j->err), "%s has no lookup", gw_name[pj->gw]);
		return JOB_FAIL;
	}
	/* Nothing to look up before the gateway knows the payment. */
	if (pj->p.ref == NULL && strcmp(gw_name[pj->gw], "nowpayments") != 0)
		return JOB_DONE;
	if (call_init(w, j, pj, &call) != 0)
		return JOB_RETRY;
	pay_observation_init(&pj->obs, gw_name[pj->gw], source);
	test_pause("gateway_followup:call");
	if (ops->lookup(&call, &pj->p, &pj->obs) != 0) {
		snprintf(j->err, sizeof(j->err), "%s lookup: %s", gw_name[pj->gw], call.err);
		return call.permanent ? JOB_FAIL : JOB_RETRY;
	}
	pj->obs.source = source;
	if (pj->obs.payment == 0 && pj->obs.payment_public == NULL)
		pj->obs.payment = pj->p.id;
	/* A poll has no event id of its own: name it by what it saw, so
	 * that the same view twice is one event (payment.h). */
	if (pj->obs.event_id == NULL)
		pj->obs.event_id = arena_printf(j->a, "poll:%s:%s:%" PRId64, pj->p.ref ? pj->p.ref :
		    pj->p.public_id, pj->obs.state >= 0 ? pay_state_name[pj->obs.state] : "-",
		    pj->obs.amount);
	if (pj->obs.event_type == NULL)
		pj->obs.event_type = "lookup";
	if (pj->obs.payload == NULL)
		pj->obs.payload = "{}";
	apply_now(w, j, &pj->obs);
	return JOB_DONE;
}

const struct job_kind job_kind_gateway_followup = {
	"gateway_followup", "lookup", followup_run, NULL
};
