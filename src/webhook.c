/*
 * webhook.c: POST /webhooks/{stripe,paypal,nowpayments}, the one route
 * every gateway's deliveries arrive at (DESIGN.md "Payments";
 * contracts/payments.md section 6).
 *
 * The order of section 6, rule 1: verify, then persist, then answer.
 *  - The raw body, exactly as received (request.c leaves a webhook's
 *    body unparsed), and the gateway's headers go to gw_ops(id)->verify.
 *    A bad signature or a malformed body is a 400 with nothing stored:
 *    one log line, counted per worker, so a flood of forgeries shows in
 *    the log without filling the database.
 *  - A delivery that cannot be verified here (PayPal before work has
 *    fetched its signing certificate: the worker makes no outgoing
 *    calls) becomes a gateway_followup job that work verifies; the
 *    gateway gets its 200 at once.
 *  - Otherwise each observation goes through payment_apply in one
 *    BEGIN IMMEDIATE transaction: the event id is recorded UNIQUE in
 *    the same transaction as the state change, so a replay, a duplicate
 *    or an out-of-order event changes nothing and still answers 200
 *    (a non-2xx would only make the gateway send it again).  The jobs
 *    that fulfilment wrote (provisioning, mail) are woken after COMMIT;
 *    the slow work runs from the spool.
 * A database error ends the request with a 500, which the gateway
 * retries: nothing was committed.
 *
 * The route is WHO_WEBHOOK: cookies are dropped before the handler runs
 * and no CSRF token is asked for; the signature is the only credential.
 * A disabled gateway still has its deliveries applied: disabling stops
 * new checkouts, and a payment already in flight must still land.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "gateway.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "payment.h"
#include "response.h"
#include "spool.h"
#include "util.h"
#include "valid.h"

/* A gateway's event is a few KB (a Stripe charge with its refunds list
 * is the largest we take); anything near max_body is not one. */
#define WEBHOOK_BODY_MAX	(256 * 1024)
/* Observations one delivery may carry. */
#define WEBHOOK_OBS_MAX		8

/* No form fields: the body is the signed payload, never a form. */
const struct form webhook_form = { NULL, 0 };

/* Deliveries this worker refused (bad signature, malformed, too big):
 * each refusal's log line carries the count so far. */
static uint64_t refused;

/* gw_hook's header reader over the request. */
static const char *
hook_header(void *ctx, const char *name)
{
	return req_header(ctx, name);
}

/* Answer 200 with {"received":true,...rest}. */
static void
ok(struct request *r, const char *rest)
{
	resp_json(r, 200);
	buf_printf(r->out, "{\"received\":true%s}\n", rest);
}

/* Refuse a delivery: 4xx, nothing stored, one counted log line. */
static void
refuse(struct request *r, int status, const char *gw, const char *why)
{
	refused++;
	log_msg(r, "webhook %s refused (%" PRIu64 " refused by this worker): %s", gw, refused, why);
	resp_json(r, status);
	buf_puts(r->out, "{\"error\":");
	buf_json_str(r->out, why);
	buf_puts(r->out, "}\n");
}

/*
 * POST /webhooks/{slug}: slug names the gateway; the body and the
 * gateway's own headers (Stripe-Signature, PAYPAL-TRANSMISSION-*,
 * x-nowpayments-sig) are read by its verify.  200 (applied, a
 * duplicate, stale, held, unknown, ignored, or queued for work), 400
 * (bad signature or malformed), 404 (no such gateway), 413 (too
 * large), 500 (the database: the gateway retries).
 */
void
page_webhook_post(struct request *r)
{
	const char	*name = req_param(r, "slug");
	int		 gw = gw_parse(name);
	const struct gw_ops *ops;
	struct pay_observation *obs;
	struct pay_apply_result res;
	struct gw_hook hook;
	struct actor who;
	const char	*outcomes = "";
	int64_t		*jobs = NULL, job;
	const char	**kinds = NULL;
	size_t		 njobs = 0;
	char		 err[512] = "";
	int		 n, i;

	if (gw < 0 || (ops = gw_ops((enum gw_id)gw)) == NULL || ops->verify == NULL) {
		render_error(r, 404);
		return;
	}
	if (r->body_len > WEBHOOK_BODY_MAX) {
		refuse(r, 413, name, "the body is too large for a webhook");
		return;
	}
	hook.body = r->body != NULL ? r->body : "";
	hook.len = r->body_len;
	hook.header = hook_header;
	hook.ctx = r;
	hook.now = now_unix();
	obs = arena_zalloc(r->a, WEBHOOK_OBS_MAX * sizeof(*obs));
	n = ops->verify(r->db, &r->app->conf, r->app->key, r->a, &hook, obs, WEBHOOK_OBS_MAX,
	    err, sizeof(err));
	if (n == -1) {
		refuse(r, 400, name, *err ? err : "the delivery does not verify");
		return;
	}
	if (n == -2) {
		/* verify left the job's key and payload in obs[0]. */
		db_begin(r->db);
		job = spool_enqueue(r, "gateway_followup", obs[0].event_id, obs[0].payload);
		db_commit(r->db);
		spool_wake(&r->app->conf, job, "gateway_followup");
		ok(r, ",\"queued\":true");
		return;
	}
	if (n <= 0) {
		ok(r, ",\"ignored\":true");
		return;
	}
	who.name = arena_printf(r->a, "webhook:%s", name);
	who.id = 0;
	who.ip = r->remote_addr;
	who.request_id = r->id;
	db_begin(r->db);
	for (i = 0; i < n && i < WEBHOOK_OBS_MAX; i++) {
		enum pay_apply_rc rc;
		size_t	 k;

		int64_t	*j;
		const char **kd;

		memset(&res, 0, sizeof(res));
		rc = payment_apply(r->db, &obs[i], &who, &res);
		outcomes = arena_printf(r->a, "%s%s\"%s\"", outcomes, i ? "," : "", pay_apply_rc_text[rc]);
		if (res.njobs == 0)
			continue;
		j = arena_alloc(r->a, (njobs + res.njobs) * sizeof(*j));
		kd = arena_alloc(r->a, (njobs + res.njobs) * sizeof(*kd));
		for (k = 0; k < njobs; k++) {
			j[k] = jobs[k];
			kd[k] = kinds[k];
		}
		for (k = 0; k < res.njobs; k++) {
			j[njobs + k] = res.jobs[k];
			kd[njobs + k] = res.kinds[k];
		}
		jobs = j;
		kinds = kd;
		njobs += res.njobs;
	}
	db_commit(r->db);
	if (njobs > 0)
		spool_wake_many(&r->app->conf, njobs, jobs, kinds);
	ok(r, arena_printf(r->a, ",\"outcome\":[%s]", outcomes));
}
