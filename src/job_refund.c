/*
 * job_refund.c: the 'refund' job: a staff refund of a payment back
 * through its gateway (refund.h, refund_payment).  Payload
 * {"refund": ID}; the job runs in the gateway lane (work.h) and its
 * idempotency key is the refund's own, "refund:<payment>:<n>".
 *
 * Exactly once, whatever happens to `work`:
 *  - the refunds row and its key were committed before this job could
 *    run, and the key goes out as Stripe's Idempotency-Key or PayPal's
 *    PayPal-Request-Id on every attempt: a retry after a timeout (the
 *    gateway may have refunded and the reply been lost), or after a
 *    `kill -9` between the call and record(), gets the first refund
 *    back, never a second one;
 *  - run() makes the call with no transaction open; record() settles
 *    the row (refund_job_done) in the transaction that marks the job
 *    done, so the two commit together;
 *  - a refund that is no longer pending (a webhook about it overtook
 *    this job, or staff's earlier attempt settled it) is not sent again.
 * A refusal that retrying cannot cure (the gateway's 4xx other than 409
 * and 429: already refunded, amount too large) marks the refund failed,
 * which frees its amount to be refunded again; a transient failure (no
 * reply, 5xx, 409, 429) retries with backoff.  The jobs record() writes
 * (the mail, the refund policy's client jobs) are found by work's next
 * poll: nothing can wake them before the commit that makes them.
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
#include "http_out.h"
#include "json_get.h"
#include "payment.h"
#include "refund.h"
#include "util.h"
#include "work.h"

/* What run() leaves for record(). */
struct jr {
	int64_t		 refund;
	int		 state;		/* refund_job_done's: 1, 0, -1; 2: nothing to do */
	const char	*ref;
	const char	*why;
};

/* The names of the secret a gateway's API calls are made with. */
static const char *
call_secret(struct work *w, enum gw_id id, struct arena *a)
{
	const char *u, *p;

	switch (id) {
	case GW_STRIPE:
		return gw_secret(w->db, w->key, "stripe.secret_key");
	case GW_PAYPAL:
		u = gw_secret(w->db, w->key, "paypal.client_id");
		p = gw_secret(w->db, w->key, "paypal.client_secret");
		return u != NULL && p != NULL ? arena_printf(a, "%s:%s", u, p) : NULL;
	case GW_NOWPAYMENTS:
		return gw_secret(w->db, w->key, "nowpayments.api_key");
	default:
		return NULL;
	}
}

enum job_rc
job_refund_run_ops(struct work *w, struct job *j, const struct gw_ops *ops)
{
	struct json_object *o;
	struct gw_refund_req req;
	struct gw_refund_done done;
	struct gw_payment gp;
	struct gw_call call;
	struct stmt *st;
	struct jr *x = arena_zalloc(j->a, sizeof(*x));
	const char *gwname, *rstate;
	int	 gw, rc;

	j->ctx = x;
	x->state = 2;
	if ((o = json_tokener_parse(j->payload)) == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(j->err, sizeof(j->err), "payload is not a JSON object");
		return JOB_FAIL;
	}
	x->refund = jint(o, "refund", 0);
	json_object_put(o);
	if (x->refund <= 0) {
		snprintf(j->err, sizeof(j->err), "payload needs \"refund\"");
		return JOB_FAIL;
	}
	memset(&req, 0, sizeof(req));
	memset(&gp, 0, sizeof(gp));
	st = db_q(w->db, Q_JR_LOAD);
	db_bind_int(w->db, st, ":id", x->refund);
	if (db_step(w->db, st) != DB_ROW) {
		db_reset(st);
		snprintf(j->err, sizeof(j->err), "refund %" PRId64 " does not exist", x->refund);
		return JOB_FAIL;
	}
	req.refund = x->refund;
	req.amount = db_int(st, 0);
	req.currency = db_text(w->db, st, 1);
	rstate = db_text(w->db, st, 2);
	req.reason = db_text(w->db, st, 3);
	req.idem_key = db_text(w->db, st, 4);
	gp.id = db_int(st, 5);
	gp.public_id = db_text(w->db, st, 6);
	gp.purpose = db_text(w->db, st, 7);
	gp.order = db_int(st, 8);
	gp.order_public = db_is_null(st, 9) ? NULL : db_text(w->db, st, 9);
	gp.amount = db_int(st, 10);
	gp.currency = db_text(w->db, st, 11);
	gp.ref = db_is_null(st, 12) ? NULL : db_text(w->db, st, 12);
	gp.ref2 = db_is_null(st, 13) ? NULL : db_text(w->db, st, 13);
	gp.idem_key = db_text(w->db, st, 14);
	gwname = db_text(w->db, st, 15);
	gp.email = db_text(w->db, st, 16);
	db_reset(st);
	/* Settled already (a webhook came first): the gateway is not asked. */
	if (strcmp(rstate, "pending") != 0) {
		j->result = arena_printf(j->a, "{\"refund\":%" PRId64 ",\"settled\":\"%s\"}", x->refund, rstate);
		return JOB_DONE;
	}
	if ((gw = gw_parse(gwname)) < 0) {
		x->state = -1;
		x->why = arena_printf(j->a, "no gateway %s", gwname);
		return JOB_DONE;
	}
	if (ops == NULL)
		ops = gw_ops((enum gw_id)gw);
	if (ops == NULL || ops->refund == NULL) {
		x->state = -1;
		x->why = arena_printf(j->a, "%s has no refund API: refund to the wallet or by hand", gwname);
		return JOB_DONE;
	}
	memset(&call, 0, sizeof(call));
	call.a = j->a;
	call.base = gw_api_base(w->db, w->conf, (enum gw_id)gw);
	call.live = gw_live(w->db, (enum gw_id)gw);
	if ((call.secret = call_secret(w, (enum gw_id)gw, j->a)) == NULL) {
		/* Staff fix the keys and retry the job from /admin/jobs; the
		 * refund stays pending (its amount stays reserved). */
		snprintf(j->err, sizeof(j->err), "%s's API key is not set (1000proxy gateway set)", gwname);
		return JOB_FAIL;
	}
	if ((call.http = http_out_open(j->a, gwname, (long)w->conf->gateway_timeout,
	    w->conf->gateway_ca_file, 1, j->err, sizeof(j->err))) == NULL)
		return JOB_RETRY;
	if (job_step(w, j, "call") != 0) {
		http_out_close(call.http);
		return JOB_RETRY;
	}
	memset(&done, 0, sizeof(done));
	rc = ops->refund(&call, &gp, &req, &done);
	http_out_close(call.http);
	if (rc != 0) {
		if (!call.permanent) {
			snprintf(j->err, sizeof(j->err), "%s refund: %s", gwname, call.err);
			return JOB_RETRY;
		}
		x->state = -1;
		x->why = arena_printf(j->a, "%s refused it: %s", gwname, call.err);
	} else {
		x->state = done.state > 0 ? 1 : done.state < 0 ? -1 : 0;
		x->ref = done.ref != NULL ? arena_strdup(j->a, done.ref) : NULL;
		if (x->state < 0)
			x->why = arena_printf(j->a, "%s says the refund failed", gwname);
	}
	return JOB_DONE;
}

static enum job_rc
refund_run(struct work *w, struct job *j)
{
	return job_refund_run_ops(w, j, NULL);
}

static int
refund_record(struct work *w, struct job *j)
{
	static const struct actor sys = { "system", 0, NULL, NULL };
	struct jr *x = j->ctx;

	if (x == NULL || x->state == 2)
		return 0;
	refund_job_done(w->db, x->refund, x->state, x->ref, x->why, &sys, NULL);
	j->result = arena_printf(j->a, "{\"refund\":%" PRId64 ",\"state\":\"%s\"}", x->refund,
	    x->state > 0 ? "succeeded" : x->state < 0 ? "failed" : "pending");
	return 0;
}

const struct job_kind job_kind_refund = { "refund", "prepare", refund_run, refund_record };
