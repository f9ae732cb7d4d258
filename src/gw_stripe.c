/*
 * gw_stripe.c: Stripe Checkout (contracts/payments.md section 1).
 *
 * The web worker's part is verify(): the Stripe-Signature header over
 * the raw body (1.4), then the event read into an observation for
 * payment_apply (1.5).  The work daemon's part is the outgoing calls
 * over http_out.h: create a Checkout Session (1.2) with the payment's
 * idempotency key (1.3), retrieve it (lookup), refund its PaymentIntent
 * (1.6), and list the sessions created since a time (recent, for cron
 * payments' report).  Every request pins Stripe-Version, so the objects
 * read here have the shape of one API version whatever the account's
 * default is; webhooks are rendered in the endpoint's version, which is
 * why the readers take a PaymentIntent as a string or an object and
 * treat every member as optional.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "db.h"
#include "gateway.h"
#include "gw_stripe.h"
#include "http_out.h"
#include "json_get.h"
#include "payment.h"
#include "util.h"

const char *const stripe_sig_text[STRIPE_SIG__MAX] = {
	"verified",
	"malformed Stripe-Signature header",
	"no signature matches",
	"signature older than the tolerance",
	"no webhook secret is set",
};

/* The deepest JSON a Stripe object nests (an event's charge with its
 * refunds and their metadata is about 6). */
#define STRIPE_JSON_DEPTH	32

void
stripe_hmac_hex(const char *secret, const char *p1, size_t n1, const char *p2, size_t n2,
    char out[65])
{
	/* Fetched once per process: a fetch walks the provider tables. */
	static EVP_MAC	*hmac;
	EVP_MAC_CTX	*c = NULL;
	OSSL_PARAM	 params[2];
	unsigned char	 mac[32];
	size_t		 maclen = 0;
	int		 ok;

	memset(out, 0, 65);
	if (hmac == NULL)
		hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = hmac != NULL && (c = EVP_MAC_CTX_new(hmac)) != NULL &&
	    EVP_MAC_init(c, (const unsigned char *)secret, strlen(secret), params) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)p1, n1) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)p2, n2) == 1 &&
	    EVP_MAC_final(c, mac, &maclen, sizeof(mac)) == 1 && maclen == 32;
	EVP_MAC_CTX_free(c);
	/* Only an allocation failure fails: all zeros, which no hex matches. */
	if (ok)
		hex_encode(out, mac, 32);
	OPENSSL_cleanse(mac, sizeof(mac));
	out[64] = '\0';
}

void
stripe_sig_hex(const char *secret, int64_t t, const char *body, size_t len, char out[65])
{
	char	 ts[24];
	int	 n = snprintf(ts, sizeof(ts), "%" PRId64 ".", t);

	/* "<t>." and the body go in as two updates: no copy of the body. */
	stripe_hmac_hex(secret, ts, (size_t)n, body, len, out);
}

/* A decimal timestamp of 1 to 18 digits into *t; -1 otherwise. */
static int
parse_t(const char *p, size_t n, int64_t *t)
{
	int64_t	 v = 0;
	size_t	 i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*t = v;
	return 0;
}

#define STRIPE_SIG_MAX_V1	16	/* candidates compared; more are ignored */

enum stripe_sig_rc
stripe_sig_verify(const char *header, const char *body, size_t len,
    const char *const *secrets, size_t nsecrets, int64_t now, int64_t tolerance,
    int64_t *t_out)
{
	const char	*v1[STRIPE_SIG_MAX_V1];
	size_t		 v1len[STRIPE_SIG_MAX_V1];
	size_t		 nv1 = 0, i, j, hlen;
	const char	*p, *end, *comma, *eq;
	int64_t		 t = -1;
	int		 have_t = 0, match = 0, usable = 0;
	char		 want[65];

	if (header == NULL || *header == '\0')
		return STRIPE_SIG_MALFORMED;
	hlen = strlen(header);
	if (hlen > STRIPE_SIG_HEADER_MAX)
		return STRIPE_SIG_MALFORMED;
	for (p = header, end = header + hlen; p <= end; p = comma + 1) {
		const char *key = p, *val;
		size_t	 klen, vlen;

		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		eq = memchr(p, '=', (size_t)(comma - p));
		klen = (size_t)((eq ? eq : comma) - key);
		val = eq ? eq + 1 : comma;
		vlen = (size_t)(comma - val);
		if (klen == 1 && key[0] == 't') {
			/* "t=" and a second t are malformed: a header
			 * Stripe sent has exactly one. */
			if (have_t || eq == NULL || parse_t(val, vlen, &t) != 0)
				return STRIPE_SIG_MALFORMED;
			have_t = 1;
		} else if (klen == 2 && key[0] == 'v' && key[1] == '1') {
			/* A bare or empty v1 cannot be compared: stripe-node
			 * 23 throws on it even beside a valid one. */
			if (eq == NULL || vlen == 0)
				return STRIPE_SIG_MALFORMED;
			if (nv1 < STRIPE_SIG_MAX_V1) {
				v1[nv1] = val;
				v1len[nv1] = vlen;
				nv1++;
			}
		}
		/* v0 and every other scheme: ignored (no downgrade). */
		if (comma == end)
			break;
	}
	if (!have_t || nv1 == 0)
		return STRIPE_SIG_MALFORMED;
	if (t_out != NULL)
		*t_out = t;
	for (i = 0; i < nsecrets; i++) {
		if (secrets[i] == NULL || *secrets[i] == '\0')
			continue;
		usable = 1;
		stripe_sig_hex(secrets[i], t, body, len, want);
		/* Every candidate is compared, a match or not, each in
		 * constant time; a candidate of another length (garbage,
		 * "bad_signature") cannot match and is no error. */
		for (j = 0; j < nv1; j++)
			if (v1len[j] == 64 && CRYPTO_memcmp(v1[j], want, 64) == 0)
				match = 1;
	}
	OPENSSL_cleanse(want, sizeof(want));
	if (!usable)
		return STRIPE_SIG_NO_SECRET;
	if (!match)
		return STRIPE_SIG_MISMATCH;
	/* Only a signed timestamp is worth judging (1.4 step 5). */
	if (tolerance > 0 && now - t > tolerance)
		return STRIPE_SIG_STALE;
	return STRIPE_SIG_OK;
}

/* s copied into a, or NULL. */
static const char *
dup_or_null(struct arena *a, const char *s)
{
	return s != NULL ? arena_strdup(a, s) : NULL;
}

/* A currency code copied upper case into a, or NULL when it is not
 * three letters. */
static const char *
currency_upper(struct arena *a, const char *s)
{
	char	*u;
	int	 i;

	if (s == NULL || strlen(s) != 3)
		return NULL;
	u = arena_strdup(a, s);
	for (i = 0; i < 3; i++) {
		if (!isalpha((unsigned char)u[i]))
			return NULL;
		u[i] = (char)toupper((unsigned char)u[i]);
	}
	return u;
}

/* The id of a member that is either an id string or an expanded object
 * (payment_intent, charge), or NULL. */
static const char *
id_of(struct json_object *o, const char *key)
{
	const char *s = jstr(o, key);

	return s != NULL ? s : jstr(jobj(o, key), "id");
}

/* Our payment's public id as a Stripe object carries it: its
 * client_reference_id (sessions) or metadata.payment. */
static const char *
our_payment(struct json_object *o)
{
	const char *s = jstr(o, "client_reference_id");

	if (s == NULL || *s == '\0')
		s = jstr(jobj(o, "metadata"), "payment");
	return s != NULL && *s != '\0' ? s : NULL;
}

int
stripe_session_read(struct arena *a, struct json_object *s, struct pay_observation *o,
    const char **pub)
{
	const char *id = jstr(s, "id"), *status, *paid;

	if (pub != NULL)
		*pub = NULL;
	if (id == NULL || *id == '\0' || strcmp(jstr_or(s, "object", ""), "checkout.session") != 0)
		return -1;
	o->ref = arena_strdup(a, id);
	o->ref2 = dup_or_null(a, id_of(s, "payment_intent"));
	o->amount = jint(s, "amount_total", -1);
	o->currency = currency_upper(a, jstr(s, "currency"));
	status = jstr_or(s, "status", "");
	paid = jstr_or(s, "payment_status", "");
	if (strcmp(status, "expired") == 0)
		o->state = PAY_EXPIRED;
	else if (strcmp(status, "complete") == 0)
		o->state = strcmp(paid, "unpaid") == 0 ? PAY_PENDING : PAY_SUCCEEDED;
	else if (strcmp(status, "open") == 0)
		o->state = PAY_PENDING;
	else
		o->state = -1;
	if (pub != NULL)
		*pub = dup_or_null(a, our_payment(s));
	return 0;
}

/* err set from fmt; returns -1. */
static int
fail(char *err, size_t errsz, const char *why)
{
	snprintf(err, errsz, "%s", why);
	return -1;
}

/* charge.refunded: a Charge (1.5). */
static int
charge_read(struct arena *a, struct json_object *c, struct pay_observation *o, const char **pub)
{
	struct json_object *list = jarr(jobj(c, "refunds"), "data"), *re;
	int64_t	 amount = jint(c, "amount", -1), refunded = jint(c, "amount_refunded", -1);

	if (strcmp(jstr_or(c, "object", ""), "charge") != 0 || jstr(c, "id") == NULL ||
	    refunded < 0)
		return -1;
	o->ref2 = dup_or_null(a, id_of(c, "payment_intent"));
	o->currency = currency_upper(a, jstr(c, "currency"));
	o->refunded_total = refunded;
	o->state = jbool(c, "refunded", 0) || (amount > 0 && refunded >= amount) ?
	    PAY_REFUNDED : PAY_PARTIALLY_REFUNDED;
	/* The list is newest first; API versions since 2022-11-15 leave it
	 * out unless expanded, and then only the total is known. */
	if (list != NULL && json_object_array_length(list) > 0 &&
	    (re = json_object_array_get_idx(list, 0)) != NULL && jstr(re, "id") != NULL) {
		o->refund_ref = arena_strdup(a, jstr(re, "id"));
		o->refund_amount = jint(re, "amount", -1);
	}
	if (pub != NULL) {
		const char *p = jstr(jobj(c, "metadata"), "payment");

		if (p == NULL)
			p = jstr(jobj(jobj(c, "payment_intent"), "metadata"), "payment");
		*pub = p != NULL && *p != '\0' ? arena_strdup(a, p) : NULL;
	}
	return 0;
}

int
stripe_event_read(struct arena *a, const char *body, size_t len, struct pay_observation *o,
    const char **pub, char *err, size_t errsz)
{
	struct json_tokener *tok;
	struct json_object *ev, *obj;
	const char *id, *type;
	int	 rc, state = -1, is_session = 1;

	if (pub != NULL)
		*pub = NULL;
	if (len == 0 || !utf8_valid(body, len, 1))
		return fail(err, errsz, "the body is empty or not UTF-8 text");
	if ((tok = json_tokener_new_ex(STRIPE_JSON_DEPTH)) == NULL)
		return fail(err, errsz, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	ev = json_tokener_parse_ex(tok, body, (int)len);
	if (ev != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len)) {
		json_object_put(ev);
		ev = NULL;
	}
	json_tokener_free(tok);
	if (ev == NULL)
		return fail(err, errsz, "the body is not JSON");
	id = jstr(ev, "id");
	type = jstr(ev, "type");
	if (strcmp(jstr_or(ev, "object", ""), "event") != 0 || id == NULL || *id == '\0' ||
	    type == NULL || *type == '\0') {
		json_object_put(ev);
		return fail(err, errsz, "the body is not a Stripe event");
	}
	if (strcmp(type, "checkout.session.completed") == 0)
		state = -2;	/* from the session's payment_status */
	else if (strcmp(type, "checkout.session.async_payment_succeeded") == 0)
		state = PAY_SUCCEEDED;
	else if (strcmp(type, "checkout.session.async_payment_failed") == 0)
		state = PAY_FAILED;
	else if (strcmp(type, "checkout.session.expired") == 0)
		state = PAY_EXPIRED;
	else if (strcmp(type, "charge.refunded") == 0)
		is_session = 0;
	else {
		json_object_put(ev);
		return 0;
	}
	o->event_id = arena_strdup(a, id);
	o->event_type = arena_strdup(a, type);
	o->payload = arena_strndup(a, body, len);
	obj = jobj(jobj(ev, "data"), "object");
	rc = is_session ? stripe_session_read(a, obj, o, pub) : charge_read(a, obj, o, pub);
	json_object_put(ev);
	if (rc != 0)
		return fail(err, errsz, is_session ? "the event carries no checkout session" :
		    "the event carries no charge");
	/* The event's type says what happened; the session's own state is
	 * what it is now, which for a completed session is the answer. */
	if (state >= 0)
		o->state = state;
	return 1;
}

/* ---- outgoing calls (work only) ---- */

const char *
stripe_poll_id(struct arena *a, const struct pay_observation *o)
{
	return arena_printf(a, "poll:%s:%s:%" PRId64, o->ref ? o->ref : "",
	    o->state >= 0 && o->state < PAY__MAX ? pay_state_name[o->state] : "unknown", o->amount);
}

/* JSON text of a reply into an object (depth-limited), or NULL. */
static struct json_object *
parse_reply(const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(STRIPE_JSON_DEPTH);
	struct json_object *o;

	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/*
 * One call to Stripe: method on base + path, body (form-encoded, may be
 * NULL), the Idempotency-Key idem (POST only; NULL: none).  0 with *out
 * the reply's object (put it) and *raw its text; -1 with c->err and
 * c->permanent set: a transport error, a 5xx, 409 or 429 may be retried
 * (Stripe's own rule, 1.1); any other 4xx will not get better.
 */
static int
call(struct gw_call *c, const char *method, const char *path, const char *idem,
    const char *body, struct json_object **out, const char **raw)
{
	const char	*hdrs[4];
	struct http_reply rep;
	struct json_object *o, *e;
	size_t		 n = 0;

	*out = NULL;
	c->permanent = 0;
	if (c->secret == NULL || *c->secret == '\0') {
		snprintf(c->err, sizeof(c->err), "stripe.secret_key is not set");
		c->permanent = 1;
		return -1;
	}
	hdrs[n++] = arena_printf(c->a, "Authorization: Bearer %s", c->secret);
	hdrs[n++] = "Stripe-Version: " STRIPE_API_VERSION;
	if (idem != NULL)
		hdrs[n++] = arena_printf(c->a, "Idempotency-Key: %s", idem);
	hdrs[n] = NULL;
	if (http_out_call(c->http, c->a, method, arena_printf(c->a, "%s%s", c->base, path), hdrs,
	    body, body ? strlen(body) : 0, body ? "application/x-www-form-urlencoded" : NULL,
	    &rep, c->err, sizeof(c->err)) != 0)
		return -1;
	o = parse_reply(rep.body, rep.len);
	if (rep.status >= 200 && rep.status < 300) {
		if (o == NULL) {
			snprintf(c->err, sizeof(c->err), "Stripe answered %ld without a JSON object",
			    rep.status);
			return -1;
		}
		*out = o;
		if (raw != NULL)
			*raw = rep.body;
		return 0;
	}
	e = jobj(o, "error");
	snprintf(c->err, sizeof(c->err), "Stripe answered %ld%s%s%s%s%s%s", rep.status,
	    e ? " " : (o ? "" : " (not JSON)"), jstr_or(e, "type", ""),
	    jstr(e, "code") ? "/" : "", jstr_or(e, "code", ""),
	    jstr(e, "message") ? ": " : "", jstr_or(e, "message", ""));
	c->permanent = rep.status >= 400 && rep.status < 500 && rep.status != 409 &&
	    rep.status != 429;
	json_object_put(o);
	return -1;
}

/* "&key=value" with the value escaped, appended to b (keys are ours:
 * Stripe's bracket notation sent bare, as stripe-node sends it). */
static void
form_add(struct arena *a, struct buf *b, const char *key, const char *value)
{
	if (b->len)
		buf_putc(b, '&');
	buf_printf(b, "%s=%s", key, http_out_form_escape(a, value));
}

/* Lower-case copy of a currency code, in a. */
static const char *
lower3(struct arena *a, const char *s)
{
	char	*l = arena_strdup(a, s);
	char	*p;

	for (p = l; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

/* create: a Checkout Session for the payment (1.2), keyed by the
 * payment's idempotency key (1.3): a retried job gets the same session. */
static int
stripe_create(struct gw_call *c, const struct gw_payment *p, struct gw_created *cr)
{
	struct json_object *o;
	struct buf b;
	const char *body, *id, *url;
	int	 rc;

	buf_init(&b);
	form_add(c->a, &b, "mode", "payment");
	form_add(c->a, &b, "line_items[0][price_data][currency]", lower3(c->a, p->currency));
	form_add(c->a, &b, "line_items[0][price_data][product_data][name]",
	    p->description && *p->description ? p->description : "Payment");
	form_add(c->a, &b, "line_items[0][price_data][unit_amount]",
	    arena_printf(c->a, "%" PRId64, p->amount));
	form_add(c->a, &b, "line_items[0][quantity]", "1");
	/* Stripe puts the session id where {CHECKOUT_SESSION_ID} stands:
	 * the return page can ask for that session at once. */
	form_add(c->a, &b, "success_url", arena_printf(c->a, "%s%ssession_id={CHECKOUT_SESSION_ID}",
	    p->return_url, strchr(p->return_url, '?') ? "&" : "?"));
	form_add(c->a, &b, "cancel_url", p->cancel_url);
	form_add(c->a, &b, "client_reference_id", p->public_id);
	form_add(c->a, &b, "metadata[payment]", p->public_id);
	form_add(c->a, &b, "metadata[purpose]", p->purpose);
	if (p->order_public != NULL)
		form_add(c->a, &b, "metadata[order]", p->order_public);
	/* On the PaymentIntent too, so its charge's refunds name us. */
	form_add(c->a, &b, "payment_intent_data[metadata][payment]", p->public_id);
	if (p->email != NULL && *p->email)
		form_add(c->a, &b, "customer_email", p->email);
	body = arena_strdup(c->a, b.p ? b.p : "");
	buf_free(&b);
	if (call(c, "POST", "/v1/checkout/sessions", p->idem_key, body, &o, NULL) != 0)
		return -1;
	id = jstr(o, "id");
	url = jstr(o, "url");
	rc = 0;
	if (id == NULL || strncmp(id, "cs_", 3) != 0 || url == NULL ||
	    (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
		/* A replayed key whose session was completed or expired
		 * has no url: the customer cannot pay it again. */
		snprintf(c->err, sizeof(c->err), "Stripe's session %s has no checkout url (status %s)",
		    id ? id : "(none)", jstr_or(o, "status", "unknown"));
		c->permanent = 1;
		rc = -1;
	} else {
		cr->ref = arena_strdup(c->a, id);
		cr->ref2 = dup_or_null(c->a, id_of(o, "payment_intent"));
		cr->url = arena_strdup(c->a, url);
	}
	json_object_put(o);
	return rc;
}

/* lookup: the session now (the fulfilment guide's "retrieve the
 * session", 1.5), as an observation keyed by what it says. */
static int
stripe_lookup(struct gw_call *c, const struct gw_payment *p, struct pay_observation *obs)
{
	struct json_object *o;
	const char *raw, *src = obs->source ? obs->source : "reconcile";
	int	 rc;

	pay_observation_init(obs, "stripe", src);
	obs->payment = p->id;
	if (p->ref == NULL || *p->ref == '\0') {
		snprintf(c->err, sizeof(c->err), "no Checkout Session is recorded for payment %s yet",
		    p->public_id);
		return -1;
	}
	if (call(c, "GET", arena_printf(c->a, "/v1/checkout/sessions/%s",
	    http_out_form_escape(c->a, p->ref)), NULL, NULL, &o, &raw) != 0)
		return -1;
	rc = stripe_session_read(c->a, o, obs, NULL);
	json_object_put(o);
	if (rc != 0) {
		snprintf(c->err, sizeof(c->err), "Stripe answered something that is not a session");
		return -1;
	}
	obs->event_type = "checkout.session";
	obs->event_id = stripe_poll_id(c->a, obs);
	obs->payload = raw;
	return 0;
}

/* refund: POST /v1/refunds on the PaymentIntent (1.6), keyed by the
 * refund row's idempotency key. */
static int
stripe_refund(struct gw_call *c, const struct gw_payment *p, const struct gw_refund_req *rq,
    struct gw_refund_done *done)
{
	struct json_object *o;
	struct buf b;
	const char *pi = p->ref2, *body, *st;
	int	 rc = 0;

	if (pi == NULL || *pi == '\0') {
		/* The PaymentIntent is on the session once it is paid. */
		if (p->ref == NULL || call(c, "GET", arena_printf(c->a, "/v1/checkout/sessions/%s",
		    http_out_form_escape(c->a, p->ref)), NULL, NULL, &o, NULL) != 0) {
			if (p->ref == NULL)
				snprintf(c->err, sizeof(c->err), "payment %s has no Stripe session",
				    p->public_id);
			return -1;
		}
		pi = dup_or_null(c->a, id_of(o, "payment_intent"));
		json_object_put(o);
		if (pi == NULL) {
			snprintf(c->err, sizeof(c->err), "session %s has no PaymentIntent: nothing was paid",
			    p->ref);
			c->permanent = 1;
			return -1;
		}
	}
	buf_init(&b);
	form_add(c->a, &b, "payment_intent", pi);
	form_add(c->a, &b, "amount", arena_printf(c->a, "%" PRId64, rq->amount));
	/* Stripe takes three reasons; staff's own words go in metadata. */
	if (rq->reason != NULL && (strcmp(rq->reason, "duplicate") == 0 ||
	    strcmp(rq->reason, "fraudulent") == 0 || strcmp(rq->reason, "requested_by_customer") == 0))
		form_add(c->a, &b, "reason", rq->reason);
	else if (rq->reason != NULL && *rq->reason)
		form_add(c->a, &b, "metadata[reason]", arena_strndup(c->a, rq->reason,
		    strnlen(rq->reason, 400)));
	form_add(c->a, &b, "metadata[payment]", p->public_id);
	form_add(c->a, &b, "metadata[refund]", arena_printf(c->a, "%" PRId64, rq->refund));
	body = arena_strdup(c->a, b.p ? b.p : "");
	buf_free(&b);
	if (call(c, "POST", "/v1/refunds", rq->idem_key, body, &o, NULL) != 0)
		return -1;
	if (jstr(o, "id") == NULL) {
		snprintf(c->err, sizeof(c->err), "Stripe's refund reply has no id");
		rc = -1;
	} else {
		done->ref = arena_strdup(c->a, jstr(o, "id"));
		st = jstr_or(o, "status", "");
		done->state = strcmp(st, "succeeded") == 0 ? 1 :
		    strcmp(st, "failed") == 0 || strcmp(st, "canceled") == 0 ? -1 : 0;
	}
	json_object_put(o);
	return rc;
}

/* recent: the sessions created since since, newest first, a page of up
 * to 100 at a time, at most nobs of them. */
static int
stripe_recent(struct gw_call *c, int64_t since, struct pay_observation *obs, int nobs)
{
	struct json_object *o, *data, *s;
	const char *after = NULL;
	int	 n = 0, more = 1;
	size_t	 i, len;

	while (more && n < nobs) {
		if (call(c, "GET", arena_printf(c->a, "/v1/checkout/sessions?limit=100&created[gte]=%" PRId64
		    "%s%s", since, after ? "&starting_after=" : "",
		    after ? http_out_form_escape(c->a, after) : ""), NULL, NULL, &o, NULL) != 0)
			return -1;
		data = jarr(o, "data");
		len = data ? json_object_array_length(data) : 0;
		for (i = 0; i < len && n < nobs; i++) {
			s = json_object_array_get_idx(data, i);
			pay_observation_init(&obs[n], "stripe", "reconcile");
			if (stripe_session_read(c->a, s, &obs[n], &obs[n].payment_public) != 0)
				continue;
			obs[n].event_type = "checkout.session";
			obs[n].event_id = stripe_poll_id(c->a, &obs[n]);
			obs[n].payload = arena_strdup(c->a, json_object_to_json_string_ext(s,
			    JSON_C_TO_STRING_PLAIN));
			after = obs[n].ref;
			n++;
		}
		more = jbool(o, "has_more", 0) && len > 0 && after != NULL;
		json_object_put(o);
	}
	return n;
}

/* ---- the webhook (web worker) ---- */

static int
stripe_verify(struct db *db, const struct conf *cf, const unsigned char key[32], struct arena *a,
    const struct gw_hook *h, struct pay_observation *obs, int nobs, char *err, size_t errsz)
{
	const char *secret[1], *pub = NULL;
	enum stripe_sig_rc v;
	int	 rc;

	(void)cf;
	if (nobs < 1)
		return 0;
	secret[0] = gw_secret(db, key, "stripe.webhook_secret");
	v = stripe_sig_verify(h->header(h->ctx, "Stripe-Signature"), h->body, h->len, secret,
	    secret[0] != NULL ? 1 : 0, h->now, STRIPE_TOLERANCE, NULL);
	if (v != STRIPE_SIG_OK) {
		snprintf(err, errsz, "%s", stripe_sig_text[v]);
		return -1;
	}
	pay_observation_init(&obs[0], "stripe", "webhook");
	rc = stripe_event_read(a, h->body, h->len, &obs[0], &pub, err, errsz);
	/* payment_apply finds ours by it, at this gateway only. */
	if (rc == 1)
		obs[0].payment_public = pub;
	return rc;
}

const struct gw_ops gw_stripe_ops = {
	.id = GW_STRIPE,
	.create = stripe_create,
	.lookup = stripe_lookup,
	.capture = NULL,
	.refund = stripe_refund,
	.recent = stripe_recent,
	.verify = stripe_verify,
};
