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

#include "gw_stripe.h"
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
