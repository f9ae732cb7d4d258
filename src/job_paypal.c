/*
 * job_paypal.c: the gateway_followup step {"verify":"paypal"} in work
 * (gw_paypal.h has the whole design of PayPal webhook verification).
 *
 * A delivery the worker could not verify (no certificate cached yet, or
 * payments.paypal.verify = postback) or could not act on (an approval
 * wants a capture) arrives here with its headers and raw body.  Order:
 *  1. verify: by the postback API, or offline (the certificate URL on
 *     the allow-list, the certificate from cache or fetched over https,
 *     its chain checked against paypal_ca_file, its dates and CN; then
 *     RSA-SHA256).  A delivery that does not verify is recorded
 *     'rejected' under its transmission's key and changes nothing else;
 *     the job is done (retrying a forgery helps nobody).  A transport
 *     failure is a retry.
 *  2. for CHECKOUT.ORDER.APPROVED of a payment still open: the capture
 *     (PayPal-Request-Id "capture:<payment>", the same as the return
 *     page's payment_capture job, so the two make one capture).
 *  3. one transaction: the certificate cached, the deferred row (if
 *     webhook.c kept one) dropped, every observation through
 *     payment_apply; after COMMIT the jobs it wrote are woken.
 * A rerun after a crash between 3's commit and the job's 'done' finds
 * every event id recorded (PAY_DUPLICATE): nothing happens twice.
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
#include "json_get.h"
#include "log.h"
#include "payment.h"
#include "spool.h"
#include "testpause.h"
#include "util.h"
#include "work.h"

static const struct actor hook_actor = { "webhook:paypal", 0, NULL, NULL };

/*
 * This runner's handles: the API, and the certificate hosts (another
 * remote; both over gateway_ca_file, which tests point at the double's
 * CA).  Kept, as job_payment.c keeps its own, for keep-alive.
 */
static struct http_out *api_http, *cert_http;
static struct arena *http_arena;

static struct http_out *
handle(struct work *w, int cert, char *err, size_t errsz)
{
	struct http_out **h = cert ? &cert_http : &api_http;

	if (*h != NULL)
		return *h;
	if (http_arena == NULL)
		http_arena = arena_new(4096);
	*h = http_out_open(http_arena, cert ? "paypal-cert" : "paypal", w->conf->gateway_timeout,
	    w->conf->gateway_ca_file, 1, err, errsz);
	return *h;
}

/* The delivery as the worker queued it (gw_paypal.h). */
struct delivery {
	const char	*tid, *ttime, *sig, *url, *algo, *body;
	size_t		 len;
};

static int
read_payload(struct job *j, struct delivery *d)
{
	struct json_object *o = json_tokener_parse(j->payload), *ev;
	const char	*s;
	int		 rc = -1;

	ev = jobj(o, "event");
	if ((s = jstr(o, "verify")) != NULL && strcmp(s, "paypal") == 0 &&
	    (d->tid = jstr(ev, "transmission_id")) != NULL &&
	    (d->ttime = jstr(ev, "transmission_time")) != NULL &&
	    (d->sig = jstr(ev, "transmission_sig")) != NULL &&
	    (d->url = jstr(ev, "cert_url")) != NULL &&
	    (d->algo = jstr(ev, "auth_algo")) != NULL &&
	    (d->body = jstr(ev, "body")) != NULL) {
		d->tid = arena_strdup(j->a, d->tid);
		d->ttime = arena_strdup(j->a, d->ttime);
		d->sig = arena_strdup(j->a, d->sig);
		d->url = arena_strdup(j->a, d->url);
		d->algo = arena_strdup(j->a, d->algo);
		/* The body's length from json-c, not strlen: a NUL inside
		 * would otherwise cut what gets verified. */
		d->len = (size_t)json_object_get_string_len(json_object_object_get(ev, "body"));
		d->body = arena_strndup(j->a, d->body, d->len);
		rc = 0;
	}
	json_object_put(o);
	if (rc != 0)
		snprintf(j->err, sizeof(j->err), "not a PayPal delivery payload");
	return rc;
}

/* The API call context, as job_payment.c makes it for PayPal. */
static int
call_init(struct work *w, struct job *j, struct gw_call *c)
{
	const char	*id, *sec;

	memset(c, 0, sizeof(*c));
	c->a = j->a;
	c->base = gw_api_base(w->db, w->conf, GW_PAYPAL);
	c->live = gw_live(w->db, GW_PAYPAL);
	id = gw_secret(w->db, w->key, "paypal.client_id");
	sec = gw_secret(w->db, w->key, "paypal.client_secret");
	if (id == NULL || sec == NULL) {
		snprintf(j->err, sizeof(j->err), "paypal has no API key set (1000proxy gateway set)");
		return -1;
	}
	c->secret = arena_printf(j->a, "%s:%s", id, sec);
	if ((c->http = handle(w, 0, j->err, sizeof(j->err))) == NULL)
		return -1;
	return 0;
}

/* Record the delivery as rejected (changes nothing else): the job is
 * done, with why in its result. */
static int
reject(struct work *w, struct job *j, const struct delivery *d, const char *why)
{
	struct stmt	*st;

	db_begin(w->db);
	st = db_q(w->db, Q_PAYPAL_EVENT_REJECT);
	db_bind_text(w->db, st, ":id", pp_verify_key(j->a, d->tid, d->sig, d->body, d->len));
	db_bind_text(w->db, st, ":type", "unverified");
	db_bind_text(w->db, st, ":payload", d->body);
	db_bind_int(w->db, st, ":now", now_unix());
	db_step(w->db, st);
	db_commit(w->db);
	log_sys("paypal", "webhook transmission %s rejected: %s", d->tid, why);
	j->result = arena_printf(j->a, "{\"verified\":false}");
	return JOB_DONE;
}

/* The payment an approval is about, for the capture; 0 when it is not
 * one of ours or no longer open. */
static int
load_payment(struct work *w, struct job *j, int64_t id, struct gw_payment *p)
{
	struct stmt	*st = db_q(w->db, Q_PAYPAL_PAYMENT_LOAD);
	const char	*state = "";

	memset(p, 0, sizeof(*p));
	db_bind_int(w->db, st, ":id", id);
	if (db_step(w->db, st) == DB_ROW) {
		p->id = db_int(st, 0);
		p->public_id = db_text(w->db, st, 1);
		p->purpose = db_text(w->db, st, 2);
		p->order = db_int(st, 3);
		p->order_public = db_text(w->db, st, 4);
		p->amount = db_int(st, 5);
		p->currency = db_text(w->db, st, 6);
		p->ref = db_text(w->db, st, 7);
		p->ref2 = db_text(w->db, st, 8);
		p->idem_key = db_text(w->db, st, 9);
		state = db_text(w->db, st, 10);
	}
	db_reset(st);
	(void)j;
	return p->id > 0 && (strcmp(state, "pending") == 0 || strcmp(state, "created") == 0);
}

enum job_rc
paypal_verify_followup(struct work *w, struct job *j)
{
	struct pay_observation obs[3];
	struct pay_apply_result res;
	struct delivery	 d;
	struct gw_call	 c;
	struct gw_payment p;
	struct stmt	*st;
	struct http_out	*h;
	const char	*whid, *pem = NULL, *custom, *why;
	char		 err[512];
	int64_t		 not_after = 0, now = now_unix();
	int64_t		 jobs[64];
	const char	*kinds[64];
	size_t		 nj = 0, k;
	int		 n, i, approved, ok, fetched = 0, permanent;
	enum pay_apply_rc rc;

	if (read_payload(j, &d) != 0)
		return JOB_FAIL;
	if ((whid = gw_secret(w->db, w->key, "paypal.webhook_id")) == NULL) {
		snprintf(j->err, sizeof(j->err), "paypal.webhook_id is not set (1000proxy gateway set)");
		return JOB_RETRY;
	}
	if (strcmp(pp_setting_verify(w->db), "postback") == 0) {
		if (call_init(w, j, &c) != 0)
			return JOB_RETRY;
		test_pause("paypal_verify:call");
		if ((ok = pp_postback(&c, d.tid, d.ttime, d.sig, d.url, d.algo, whid, d.body, d.len)) < 0) {
			snprintf(j->err, sizeof(j->err), "%s", c.err);
			return c.permanent ? JOB_FAIL : JOB_RETRY;
		}
		if (!ok)
			return reject(w, j, &d, "the postback says FAILURE");
	} else {
		if (!pp_cert_url_ok(d.url, w->conf->paypal_cert_hosts, err, sizeof(err)))
			return reject(w, j, &d, err);
		st = db_q(w->db, Q_PAYPAL_CERT_GET);
		db_bind_text(w->db, st, ":url", d.url);
		if (db_step(w->db, st) == DB_ROW && db_int(st, 1) >= now)
			pem = db_text(w->db, st, 0);
		db_reset(st);
		if (pem == NULL) {
			if ((h = handle(w, 1, j->err, sizeof(j->err))) == NULL)
				return JOB_RETRY;
			if (pp_cert_fetch(h, j->a, d.url, &pem, &permanent, err, sizeof(err)) != 0) {
				if (permanent)
					return reject(w, j, &d, err);
				snprintf(j->err, sizeof(j->err), "%s", err);
				return JOB_RETRY;
			}
			if (pp_cert_check(pem, w->conf->paypal_ca_file, now, &not_after, err, sizeof(err)) != 0)
				return reject(w, j, &d, err);
			fetched = 1;
		}
		if (pp_sig_verify(pem, pp_expected(j->a, d.tid, d.ttime, whid, d.body, d.len), d.sig, err,
		    sizeof(err)) != 1)
			return reject(w, j, &d, err);
	}

	/* Verified: what it says. */
	if ((n = pp_event_read(j->a, d.body, d.len, obs, 1, &approved, &custom, err, sizeof(err))) < 0)
		return reject(w, j, &d, err);
	for (i = 0; i < n; i++) {
		obs[i].payment_public = custom;
		pp_find(w->db, &obs[i], custom);
	}
	if (n == 1 && approved && obs[0].payment > 0 && load_payment(w, j, obs[0].payment, &p)) {
		if (call_init(w, j, &c) != 0)
			return JOB_RETRY;
		pp_obs_init(&obs[1], "webhook");
		test_pause("paypal_verify:capture");
		if (gw_paypal_ops.capture(&c, &p, &obs[1]) == 0) {
			obs[1].source = "webhook";
			obs[1].payment = p.id;
			n = 2;
		} else if (!c.permanent) {
			snprintf(j->err, sizeof(j->err), "paypal capture: %s", c.err);
			return JOB_RETRY;
		} else {
			/* Not capturable (declined, not approved after all): the
			 * approval is recorded; the customer's retry or
			 * reconciliation decides. */
			log_sys("paypal", "payment %" PRId64 ": capture after approval: %s", p.id, c.err);
		}
	}

	db_begin(w->db);
	if (fetched) {
		st = db_q(w->db, Q_PAYPAL_CERT_PUT);
		db_bind_text(w->db, st, ":url", d.url);
		db_bind_text(w->db, st, ":pem", pem);
		db_bind_int(w->db, st, ":not_after", not_after);
		db_bind_int(w->db, st, ":now", now);
		db_step(w->db, st);
	}
	st = db_q(w->db, Q_PAYPAL_EVENT_DROP);
	db_bind_text(w->db, st, ":id", pp_verify_key(j->a, d.tid, d.sig, d.body, d.len));
	db_step(w->db, st);
	why = "";
	for (i = 0; i < n; i++) {
		rc = payment_apply(w->db, &obs[i], &hook_actor, &res);
		why = arena_printf(j->a, "%s%s\"%s\"", why, i ? "," : "", pay_apply_rc_text[rc]);
		for (k = 0; k < res.njobs && nj < sizeof(jobs) / sizeof(jobs[0]); k++) {
			jobs[nj] = res.jobs[k];
			kinds[nj++] = arena_strdup(j->a, res.kinds[k]);
		}
	}
	db_commit(w->db);
	if (nj > 0)
		spool_wake_many(w->conf, nj, jobs, kinds);
	j->result = arena_printf(j->a, "{\"verified\":true,\"outcomes\":[%s]}", why);
	return JOB_DONE;
}
