/*
 * job_gateway_recent.c: the report step of `cron payments`
 * (cron_payments.c): a gateway_followup job whose payload is
 * {"recent":"<gw>","since":<unix seconds>} asks the gateway for its
 * payments created since then (gw_ops()->recent) and records each one
 * the shop does not know (no payment of ours by gateway_ref,
 * gateway_ref2 or public_id) through payment_apply, which stores it as a
 * gateway event of outcome 'unknown' and source 'reconcile' under the
 * event id "recent:<ref>": the count on /admin/payments and in the cron
 * output.  Each is logged and counted once (a second report of it is a
 * duplicate event).  A payment the shop does
 * know is left to its own look-up (cron_payments.c asks one): a list
 * entry carries too little to move a payment.
 *
 * The gateway_followup handler (job_payment.c) hands a payload with
 * "recent" here: the call with no transaction open, then one
 * transaction for what it found (as the handler's own look-ups do).
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
#include "job_gateway_recent.h"
#include "json_get.h"
#include "log.h"
#include "payment.h"
#include "util.h"
#include "work.h"

/* At most this many payments a report reads (the gateways page theirs). */
#define RECENT_MAX	100

struct recent {
	int			 gw;
	int			 n;
	struct pay_observation	 obs[RECENT_MAX];
};

/* The secret a call authenticates with (gateway.h's gw_call.secret):
 * PayPal's is "client_id:client_secret".  NULL when one is not set. */
static const char *
call_secret(struct work *w, struct job *j, enum gw_id gw)
{
	const char *id, *sec;

	switch (gw) {
	case GW_STRIPE:
		return gw_secret(w->db, w->key, "stripe.secret_key");
	case GW_PAYPAL:
		id = gw_secret(w->db, w->key, "paypal.client_id");
		sec = gw_secret(w->db, w->key, "paypal.client_secret");
		return id != NULL && sec != NULL ? arena_printf(j->a, "%s:%s", id, sec) : NULL;
	default:
		return gw_secret(w->db, w->key, "nowpayments.api_key");
	}
}

static void	 record(struct work *, struct job *, struct recent *);

int
gateway_recent_wants(const char *payload)
{
	struct json_object *pl = json_tokener_parse(payload);
	int	 yes = pl != NULL && jstr(pl, "recent") != NULL;

	json_object_put(pl);
	return yes;
}

enum job_rc
gateway_recent_run(struct work *w, struct job *j)
{
	struct json_object *pl = json_tokener_parse(j->payload);
	struct recent *r = arena_zalloc(j->a, sizeof(*r));
	struct gw_call call;
	const char *name = pl != NULL ? jstr(pl, "recent") : NULL;
	int64_t	 since = pl != NULL ? jint(pl, "since", 0) : 0;
	int	 i;

	r->gw = gw_parse(name);
	json_object_put(pl);
	j->ctx = r;
	if (r->gw < 0) {
		snprintf(j->err, sizeof(j->err), "a recent-payments report for no known gateway");
		return JOB_FAIL;
	}
	if (gw_ops(r->gw)->recent == NULL) {
		r->n = 0;	/* this gateway cannot list: nothing to report */
		return JOB_DONE;
	}
	memset(&call, 0, sizeof(call));
	call.a = j->a;
	call.base = gw_api_base(w->db, w->conf, r->gw);
	call.live = gw_live(w->db, r->gw);
	if ((call.secret = call_secret(w, j, r->gw)) == NULL) {
		snprintf(j->err, sizeof(j->err), "%s has no API secret set", gw_name[r->gw]);
		return JOB_FAIL;
	}
	call.http = http_out_open(j->a, gw_name[r->gw], (long)w->conf->gateway_timeout,
	    w->conf->gateway_ca_file, 1, j->err, sizeof(j->err));
	if (call.http == NULL)
		return JOB_RETRY;
	for (i = 0; i < RECENT_MAX; i++)
		pay_observation_init(&r->obs[i], gw_name[r->gw], "reconcile");
	r->n = gw_ops(r->gw)->recent(&call, since, r->obs, RECENT_MAX);
	http_out_close(call.http);
	if (r->n < 0) {
		snprintf(j->err, sizeof(j->err), "%s: %s", gw_name[r->gw], call.err);
		return call.permanent ? JOB_FAIL : JOB_RETRY;
	}
	db_begin(w->db);
	record(w, j, r);
	db_commit(w->db);
	return JOB_DONE;
}

/* Record and log each listed payment the shop does not know; the
 * result says how many.  Inside the caller's transaction. */
static void
record(struct work *w, struct job *j, struct recent *r)
{
	static const struct actor sys = { "system", 0, NULL, NULL };
	struct pay_apply_result res;
	struct pay_observation *o;
	struct json_object *out, *refs;
	struct stmt *st;
	int	 i, unknown = 0;

	out = json_object_new_object();
	refs = json_object_new_array();
	for (i = 0; r != NULL && r->gw >= 0 && i < r->n; i++) {
		o = &r->obs[i];
		if (o->ref == NULL || *o->ref == '\0')
			continue;
		st = db_q(w->db, Q_CPAY_KNOWN);
		db_bind_text(w->db, st, ":gateway", gw_name[r->gw]);
		db_bind_text(w->db, st, ":ref", o->ref);
		if (o->payment_public != NULL)
			db_bind_text(w->db, st, ":public", o->payment_public);
		else
			db_bind_null(w->db, st, ":public");
		if (db_one_int(w->db, st, 0) > 0)
			continue;
		o->source = "reconcile";
		o->payment = 0;
		/* One event per unknown payment, whatever its state when
		 * listed: reported and counted once. */
		o->event_id = arena_printf(j->a, "recent:%s", o->ref);
		if (o->event_type == NULL)
			o->event_type = "listed by cron payments";
		if (o->payload == NULL)
			o->payload = "{}";
		if (payment_apply(w->db, o, &sys, &res) != PAY_UNKNOWN)
			continue;	/* reported before (a duplicate) */
		unknown++;
		json_object_array_add(refs, json_object_new_string(o->ref));
		log_sys("payments", "%s reports payment %s (%s, %" PRId64 " %s) that the shop does not know",
		    gw_name[r->gw], o->ref, o->state >= 0 && o->state < PAY__MAX ?
		    pay_state_name[o->state] : "state unknown", o->amount, o->currency ? o->currency : "");
	}
	json_object_object_add(out, "gateway", json_object_new_string(r != NULL && r->gw >= 0 ?
	    gw_name[r->gw] : ""));
	json_object_object_add(out, "listed", json_object_new_int(r != NULL ? r->n : 0));
	json_object_object_add(out, "unknown", json_object_new_int(unknown));
	json_object_object_add(out, "refs", refs);
	j->result = arena_strdup(j->a, json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
}
