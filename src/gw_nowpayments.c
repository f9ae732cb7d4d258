/*
 * gw_nowpayments.c: NOWPayments (crypto) behind gateway.h's table
 * (issue 13; contracts/payments.md section 3.1).  The reading,
 * canonical JSON and signature are nowpay.c's; this file is the wire.
 *
 *   create  POST /v1/invoice (the hosted page): order_id is our payment's
 *           public_id, ipn_callback_url base_url/webhooks/nowpayments.
 *           NOWPayments takes no idempotency key, so a retried job first
 *           asks the list of payments for one made under our order_id
 *           and returns that instead of a second invoice (see create()).
 *   lookup  GET /v1/payment/{payment_id} when the payment is known, else
 *           GET /v1/payment/?invoiceId= (an invoice can carry several
 *           payment attempts: the one furthest along is the answer).
 *   recent  GET /v1/payment/?dateFrom= for reconciliation's report.
 *   refund  none: NOWPayments has no refund API (refunds are manual,
 *           refund.c records them).
 *   verify  x-nowpayments-sig over the canonical body (nowpay.h), in the
 *           worker: the secret from the database, OpenSSL, no network.
 *           A refusal is -1 with err set and logged by the webhook route
 *           (one line; never the body or the secret).
 *
 * Every call made here is made by work (gateway.h); the worker runs
 * verify alone.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "gateway.h"
#include "http_out.h"
#include "log.h"
#include "money.h"
#include "nowpay.h"
#include "payment.h"
#include "util.h"

/* How many payments one list call asks for (the API's pages). */
#define NP_PAGE	100

static void PX_PRINTF(2, 3)
call_err(struct gw_call *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/*
 * One API call: method on base + path, the API key in x-api-key, body
 * JSON (or NULL).  The reply's JSON in *out.  0 for a 2xx with a JSON
 * object; -1 otherwise with c->err set and c->permanent for a 4xx other
 * than 408, 409 and 429 (a 5xx, a timeout or a reset is worth a retry).
 */
static int
np_call(struct gw_call *c, const char *method, const char *path, const char *body,
    const struct np_val **out)
{
	struct http_reply rep;
	const char *url = arena_printf(c->a, "%s%s", c->base, path);
	const char *hdr[3];
	char	 err[256];
	struct np_val *v;

	c->permanent = 0;
	if (c->secret == NULL || *c->secret == '\0') {
		snprintf(c->err, sizeof(c->err), "no NOWPayments API key set (nowpayments.api_key)");
		c->permanent = 1;
		return -1;
	}
	hdr[0] = arena_printf(c->a, "x-api-key: %s", c->secret);
	hdr[1] = "Accept: application/json";
	hdr[2] = NULL;
	if (http_out_call(c->http, c->a, method, url, hdr, body, body ? strlen(body) : 0,
	    body ? "application/json" : NULL, &rep, err, sizeof(err)) != 0) {
		snprintf(c->err, sizeof(c->err), "NOWPayments %s %s: %s", method, path, err);
		return -1;
	}
	if (rep.status < 200 || rep.status > 299) {
		const struct np_val *e = np_parse(c->a, rep.body, rep.len, err, sizeof(err));
		const char *msg = np_scalar(e, "message");

		snprintf(c->err, sizeof(c->err), "NOWPayments %s %s: HTTP %ld%s%.200s", method, path,
		    rep.status, msg ? ": " : "", msg ? msg : "");
		c->permanent = rep.status >= 400 && rep.status < 500 && rep.status != 408 &&
		    rep.status != 409 && rep.status != 429;
		return -1;
	}
	if ((v = np_parse(c->a, rep.body, rep.len, err, sizeof(err))) == NULL || v->t != NP_OBJ) {
		snprintf(c->err, sizeof(c->err), "NOWPayments %s %s: a reply that is not a JSON object (%s)",
		    method, path, v == NULL ? err : "wrong shape");
		return -1;
	}
	*out = v;
	return 0;
}

/* How far along a payment is, for picking among an invoice's attempts:
 * paid beats part-paid beats under way beats over. */
static int
rank(int state)
{
	switch (state) {
	case PAY_REFUNDED: case PAY_PARTIALLY_REFUNDED: return 6;
	case PAY_SUCCEEDED: return 5;
	case PAY_PARTIALLY_PAID: return 4;
	case PAY_PENDING: return 3;
	case PAY_FAILED: case PAY_EXPIRED: case PAY_CANCELLED: return 1;
	default: return 0;
	}
}

static void
obs_blank(struct pay_observation *o, const char *source)
{
	pay_observation_init(o, "nowpayments", source);
}

/*
 * The list of payments (GET /v1/payment/?...), query already escaped:
 * its "data" array, or NULL with c->err set.
 */
static const struct np_val *
np_list(struct gw_call *c, const char *query)
{
	const struct np_val *r, *d;

	if (np_call(c, "GET", arena_printf(c->a, "/v1/payment/?%s", query), NULL, &r) != 0)
		return NULL;
	if ((d = np_get(r, "data")) == NULL || d->t != NP_ARR) {
		call_err(c, "NOWPayments %s: a list without data", "GET /v1/payment/");
		return NULL;
	}
	return d;
}

/* A payment object as an observation of a poll: the dedupe key is
 * prefixed "poll:" (payment.h) and the payload is the object. */
static int
poll_obs(struct gw_call *c, const struct np_val *p, struct pay_observation *obs)
{
	const char *oid;
	const char *src = obs->source ? obs->source : "reconcile";
	char	 err[128];

	obs_blank(obs, src);
	if (np_observe(c->a, p, obs, &oid, err, sizeof(err)) != 0) {
		call_err(c, "NOWPayments: %s", err);
		return -1;
	}
	obs->event_id = arena_printf(c->a, "poll:%s", obs->event_id);
	obs->payload = np_canonical(c->a, p, NULL);
	return 0;
}

/*
 * work: the invoice.  First the list of payments made under our order_id
 * (a retried job whose first call reached NOWPayments and lost its reply:
 * if the customer had already paid on that invoice, it is the answer and
 * no second invoice is made).  An invoice nobody has paid on yet leaves
 * no trace any documented endpoint can find: a second one may then be
 * made, and the first stays unseen and unpaid, since only the URL stored
 * by payment_created is ever shown; an IPN from either names our
 * order_id all the same.
 */
static int
np_create(struct gw_call *c, const struct gw_payment *p, struct gw_created *out)
{
	const struct np_val *list, *r;
	struct buf b;
	const char *id, *url;
	char	*cur;
	size_t	 i;
	int	 ex;

	memset(out, 0, sizeof(*out));
	list = np_list(c, arena_printf(c->a, "limit=%d&page=0&sortBy=created_at&orderBy=desc", NP_PAGE));
	if (list == NULL && !c->permanent)
		return -1;	/* NOWPayments down: the invoice waits for the retry */
	if (list == NULL) {
		/* The list refused us (an account whose key may not list
		 * payments): the look is an insurance, not the job. */
		log_sys("work", "nowpayments: payment %" PRId64 ": no look by order_id before the "
		    "invoice: %s", p->id, c->err);
		c->permanent = 0;
		c->err[0] = '\0';
	}
	for (i = 0; list != NULL && i < list->count; i++) {
		const char *oid = np_scalar(list->v[i], "order_id");
		const char *inv = np_scalar(list->v[i], "invoice_id");

		if (oid != NULL && strcmp(oid, p->public_id) == 0 && inv != NULL && *inv != '\0') {
			out->ref = inv;
			out->ref2 = np_scalar(list->v[i], "payment_id");
			/* the customer is paying there already: our return
			 * page shows how it goes */
			out->url = p->return_url;
			log_sys("work", "nowpayments: payment %" PRId64 " has invoice %s already "
			    "(found by order_id)", p->id, inv);
			return 0;
		}
	}

	if ((ex = money_exponent(p->currency)) < 0) {
		call_err(c, "NOWPayments: currency %s is not one the shop knows", p->currency);
		c->permanent = 1;
		return -1;
	}
	buf_init(&b);
	cur = arena_strdup(c->a, p->currency);
	for (i = 0; cur[i]; i++)
		cur[i] = (char)(cur[i] >= 'A' && cur[i] <= 'Z' ? cur[i] + 32 : cur[i]);
	buf_puts(&b, "{\"price_amount\":");
	money_plain(&b, p->amount, p->currency);
	buf_puts(&b, ",\"price_currency\":");
	buf_json_str(&b, cur);
	buf_puts(&b, ",\"order_id\":");
	buf_json_str(&b, p->public_id);
	buf_puts(&b, ",\"order_description\":");
	buf_json_str(&b, p->description ? p->description : "");
	buf_puts(&b, ",\"ipn_callback_url\":");
	buf_json_str(&b, p->notify_url);
	buf_puts(&b, ",\"success_url\":");
	buf_json_str(&b, p->return_url);
	buf_puts(&b, ",\"partially_paid_url\":");
	buf_json_str(&b, p->return_url);
	buf_puts(&b, ",\"cancel_url\":");
	buf_json_str(&b, p->cancel_url);
	/* A fixed rate: what the customer is asked to send does not move
	 * while they pay (NOWPayments expires it after 20 minutes unpaid). */
	buf_puts(&b, ",\"is_fixed_rate\":true,\"is_fee_paid_by_user\":false}");
	if (np_call(c, "POST", "/v1/invoice", arena_strdup(c->a, b.p), &r) != 0) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	id = np_scalar(r, "id");
	url = np_scalar(r, "invoice_url");
	if (id == NULL || *id == '\0' || url == NULL ||
	    (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
		call_err(c, "NOWPayments %s: an invoice without id or invoice_url", "POST /v1/invoice");
		return -1;
	}
	out->ref = id;
	out->ref2 = NULL;
	out->url = url;
	return 0;
}

/* work: what NOWPayments says about the payment now. */
static int
np_lookup(struct gw_call *c, const struct gw_payment *p, struct pay_observation *obs)
{
	const struct np_val *r, *list, *best = NULL;
	const char *src = obs->source;
	size_t	 i;
	int	 br = -1;

	if (p->ref2 != NULL && *p->ref2 != '\0') {
		struct buf b;
		const char *path;

		buf_init(&b);
		buf_puts(&b, "/v1/payment/");
		buf_urlenc(&b, p->ref2);
		path = arena_strdup(c->a, b.p);
		buf_free(&b);
		if (np_call(c, "GET", path, NULL, &r) != 0)
			return -1;
		obs->source = src;
		return poll_obs(c, r, obs);
	}
	if (p->ref == NULL || *p->ref == '\0') {
		/* No invoice recorded (payment_create lost its reply, or has
		 * not run): a payment made under our order_id is the answer;
		 * none says nothing about the state. */
		if ((list = np_list(c, arena_printf(c->a, "limit=%d&page=0&sortBy=created_at&orderBy=desc",
		    NP_PAGE))) == NULL)
			return -1;
		for (i = 0; i < list->count; i++) {
			const char *oid = np_scalar(list->v[i], "order_id");
			int	 st = np_state(np_scalar(list->v[i], "payment_status"));

			if (oid != NULL && strcmp(oid, p->public_id) == 0 && rank(st) > br) {
				br = rank(st);
				best = list->v[i];
			}
		}
		if (best == NULL) {
			obs_blank(obs, src);
			obs->event_id = arena_printf(c->a, "poll:%s:none", p->public_id);
			obs->event_type = "invoice.none";
			obs->payload = "{}";
			return 0;
		}
		obs->source = src;
		return poll_obs(c, best, obs);
	}
	{
		struct buf b;
		const char *q;

		buf_init(&b);
		buf_printf(&b, "limit=%d&page=0&sortBy=created_at&orderBy=desc&invoiceId=", NP_PAGE);
		buf_urlenc(&b, p->ref);
		q = arena_strdup(c->a, b.p);
		buf_free(&b);
		if ((list = np_list(c, q)) == NULL)
			return -1;
	}
	for (i = 0; i < list->count; i++) {
		int	 st = np_state(np_scalar(list->v[i], "payment_status"));
		const char *inv = np_scalar(list->v[i], "invoice_id");

		if (inv == NULL || strcmp(inv, p->ref) != 0)
			continue;	/* a list that ignored the filter */
		if (rank(st) > br) {
			br = rank(st);
			best = list->v[i];
		}
	}
	if (best == NULL) {
		/* nobody has paid on the invoice yet: it is there, waiting */
		obs_blank(obs, src);
		obs->ref = p->ref;
		obs->state = PAY_PENDING;
		obs->event_id = arena_printf(c->a, "poll:%s:waiting", p->ref);
		obs->event_type = "invoice.waiting";
		obs->payload = "{}";
		return 0;
	}
	obs->source = src;
	return poll_obs(c, best, obs);
}

/* work: payments made since since, newest first, for the report. */
static int
np_recent(struct gw_call *c, int64_t since, struct pay_observation *obs, int nobs)
{
	const struct np_val *list;
	char	 iso[32];
	struct buf b;
	const char *q;
	size_t	 i;
	int	 n = 0;

	iso8601(iso, since);
	buf_init(&b);
	buf_printf(&b, "limit=%d&page=0&sortBy=created_at&orderBy=desc&dateFrom=",
	    nobs < NP_PAGE ? nobs : NP_PAGE);
	buf_urlenc(&b, iso);
	q = arena_strdup(c->a, b.p);
	buf_free(&b);
	if ((list = np_list(c, q)) == NULL)
		return -1;
	for (i = 0; i < list->count && n < nobs; i++) {
		obs[n].source = "reconcile";
		if (poll_obs(c, list->v[i], &obs[n]) == 0)
			n++;
	}
	return n;
}

/* worker: the IPN (see gateway.h for the return values). */
static int
np_verify(struct db *db, const struct conf *cf, const unsigned char key[32], struct arena *a,
    const struct gw_hook *h, struct pay_observation *obs, int nobs, char *err, size_t errsz)
{
	const char *sig = h->header(h->ctx, "x-nowpayments-sig");
	const char *secret, *canon, *oid;
	struct np_val *v;
	size_t	 clen, n;
	char	*s;

	(void)cf;
	if (nobs < 1) {
		snprintf(err, errsz, "no room for an observation");
		return -1;
	}
	if (sig == NULL || *sig == '\0') {
		snprintf(err, errsz, "no x-nowpayments-sig header");
		return -1;
	}
	if ((secret = gw_secret(db, key, "nowpayments.ipn_secret")) == NULL || *secret == '\0') {
		snprintf(err, errsz, "no IPN secret set (nowpayments.ipn_secret)");
		return -1;
	}
	/* The contract: the secret as given, trimmed. */
	s = arena_strdup(a, secret);
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	if ((v = np_parse(a, h->body, h->len, err, errsz)) == NULL || v->t != NP_OBJ) {
		if (v != NULL)
			snprintf(err, errsz, "the body is not a JSON object");
		return -1;
	}
	canon = np_canonical(a, v, &clen);
	if (!np_sig_ok(s, canon, clen, sig)) {
		snprintf(err, errsz, "bad signature");
		return -1;
	}
	obs_blank(&obs[0], "webhook");
	if (np_observe(a, v, &obs[0], &oid, err, errsz) != 0)
		return -1;	/* signed, but not a payment */
	/* the raw bytes, as received (payment.h); payment_public is the
	 * order_id np_observe read */
	obs[0].payload = arena_strndup(a, h->body, h->len);
	(void)oid;
	return 1;
}

const struct gw_ops gw_nowpayments_ops = {
	.id = GW_NOWPAYMENTS,
	.create = np_create,
	.lookup = np_lookup,
	.capture = NULL,
	.refund = NULL,
	.recent = np_recent,
	.verify = np_verify,
};
