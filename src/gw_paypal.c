/*
 * gw_paypal.c: PayPal behind struct gw_ops (gateway.h; gw_paypal.h for
 * the pieces and the verification design; section numbers are
 * contracts/payments.md's).
 *
 * Every reader here takes what came from outside (a webhook body, a
 * reply) as hostile: a member of the wrong type is absent (json_get.h),
 * an amount that is not the currency's decimal text is unknown, and
 * nothing borrowed from a json-c object outlives it (copied into the
 * arena first).
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "db.h"
#include "gw_paypal.h"
#include "json_get.h"
#include "money.h"
#include "payment.h"
#include "util.h"

/* ---- CRC-32 ---- */

/*
 * zlib's CRC-32 (polynomial 0xEDB88320 reflected, init and final xor
 * all ones), which is what Java's CRC32 computes.  The binary links no
 * zlib and OpenSSL has none, so a table made once.
 */
uint32_t
pp_crc32(const void *p, size_t n)
{
	static uint32_t	 table[256];
	static int	 made;
	const unsigned char *s = p;
	uint32_t	 c;
	size_t		 i;
	int		 k;

	if (!made) {
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		made = 1;
	}
	c = 0xFFFFFFFFu;
	for (i = 0; i < n; i++)
		c = table[(c ^ s[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

const char *
pp_expected(struct arena *a, const char *tid, const char *ttime, const char *webhook_id,
    const char *body, size_t len)
{
	/* The CRC is printed unsigned and decimal, as Java's long. */
	return arena_printf(a, "%s|%s|%s|%" PRIu32, tid, ttime, webhook_id, pp_crc32(body, len));
}

/* ---- the certificate URL, the certificate, the signature ---- */

/* Whether host (length n) matches one allow-list entry. */
static int
host_matches(const char *host, size_t n, const char *ent, size_t en)
{
	if (en == 0)
		return 0;
	if (ent[0] == '.') {
		/* ".paypal.com": paypal.com itself or anything under it. */
		if (n == en - 1 && strncasecmp(host, ent + 1, n) == 0)
			return 1;
		return n > en && strncasecmp(host + n - en, ent, en) == 0;
	}
	return n == en && strncasecmp(host, ent, n) == 0;
}

int
pp_cert_url_ok(const char *url, const char *hosts, char *err, size_t errsz)
{
	const char	*h, *e, *p;
	size_t		 n, en;

	if (url == NULL || *url == '\0') {
		snprintf(err, errsz, "no certificate URL");
		return 0;
	}
	if (strncmp(url, "https://", 8) != 0) {
		snprintf(err, errsz, "certificate URL is not https");
		return 0;
	}
	h = url + 8;
	n = strcspn(h, "/?#");
	/* The host ends at the port's colon; an '@' (user info) or
	 * anything odd in the authority is refused outright: the URL is
	 * in a header the sender chose. */
	for (p = h; p < h + n; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':')) {
			snprintf(err, errsz, "certificate URL has an odd host");
			return 0;
		}
	if ((e = memchr(h, ':', n)) != NULL) {
		for (p = e + 1; p < h + n; p++)
			if (!isdigit((unsigned char)*p)) {
				snprintf(err, errsz, "certificate URL has an odd port");
				return 0;
			}
		n = (size_t)(e - h);
	}
	if (n == 0) {
		snprintf(err, errsz, "certificate URL has no host");
		return 0;
	}
	if (hosts == NULL)
		hosts = PP_CERT_HOSTS_DEFAULT;
	for (e = hosts; *e != '\0'; e += en) {
		e += strspn(e, ", \t");
		en = strcspn(e, ", \t");
		if (host_matches(h, n, e, en))
			return 1;
	}
	snprintf(err, errsz, "certificate host %.*s is not allowed (paypal_cert_hosts)", (int)n, h);
	return 0;
}

/* Every certificate of a PEM text, the leaf first; NULL when none. */
static STACK_OF(X509) *
pem_certs(const char *pem)
{
	BIO		*b;
	STACK_OF(X509)	*sk;
	X509		*x;

	if (pem == NULL || (b = BIO_new_mem_buf(pem, -1)) == NULL)
		return NULL;
	sk = sk_X509_new_null();
	while (sk != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(sk, x))
			X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	if (sk != NULL && sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		sk = NULL;
	}
	return sk;
}

static int64_t
asn1_unix(const ASN1_TIME *t)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	return (int64_t)timegm(&tm);
}

int
pp_cert_check(const char *pem, const char *ca_file, int64_t now, int64_t *not_after,
    char *err, size_t errsz)
{
	STACK_OF(X509)	*sk;
	X509		*leaf;
	X509_STORE	*store = NULL;
	X509_STORE_CTX	*ctx = NULL;
	X509_NAME	*subj;
	X509_NAME_ENTRY	*ent;
	const unsigned char *cn;
	int		 idx, cnlen, rc = -1;
	int64_t		 nb, na;
	size_t		 pl = strlen(PP_CERT_CN_PREFIX), sl = strlen(PP_CERT_CN_SUFFIX);

	if ((sk = pem_certs(pem)) == NULL) {
		snprintf(err, errsz, "not a PEM certificate");
		return -1;
	}
	leaf = sk_X509_value(sk, 0);
	nb = asn1_unix(X509_get0_notBefore(leaf));
	na = asn1_unix(X509_get0_notAfter(leaf));
	if (nb < 0 || na < 0 || now < nb || now > na) {
		snprintf(err, errsz, "certificate not valid at %" PRId64 " (%" PRId64 "..%" PRId64 ")",
		    now, nb, na);
		goto out;
	}
	/* The CN rule (Java SDK SSLUtil): messageverificationcerts*.paypal.com. */
	subj = X509_get_subject_name(leaf);
	idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	ent = idx >= 0 ? X509_NAME_get_entry(subj, idx) : NULL;
	cn = ent != NULL ? ASN1_STRING_get0_data(X509_NAME_ENTRY_get_data(ent)) : NULL;
	cnlen = ent != NULL ? ASN1_STRING_length(X509_NAME_ENTRY_get_data(ent)) : 0;
	if (cn == NULL || cnlen < 0 || (size_t)cnlen < pl + sl || memchr(cn, '\0', (size_t)cnlen) ||
	    strncmp((const char *)cn, PP_CERT_CN_PREFIX, pl) != 0 ||
	    strncasecmp((const char *)cn + cnlen - sl, PP_CERT_CN_SUFFIX, sl) != 0 ||
	    X509_NAME_get_index_by_NID(subj, NID_commonName, idx) >= 0) {
		snprintf(err, errsz, "certificate CN is not %s*%s", PP_CERT_CN_PREFIX, PP_CERT_CN_SUFFIX);
		goto out;
	}
	if (ca_file != NULL && *ca_file != '\0') {
		if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
		if (X509_STORE_load_file(store, ca_file) != 1) {
			snprintf(err, errsz, "cannot read paypal_ca_file %s", ca_file);
			goto out;
		}
		/* The rest of the PEM is the untrusted chain; the clock is
		 * ours (the injected one in tests). */
		if (X509_STORE_CTX_init(ctx, store, leaf, sk) != 1) {
			snprintf(err, errsz, "cannot check the chain");
			goto out;
		}
		X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
		if (X509_verify_cert(ctx) != 1) {
			snprintf(err, errsz, "certificate chain: %s",
			    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
			goto out;
		}
	}
	if (not_after != NULL)
		*not_after = na;
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(sk, X509_free);
	ERR_clear_error();
	return rc;
}

int
pp_sig_verify(const char *pem, const char *msg, const char *sig_b64, char *err, size_t errsz)
{
	STACK_OF(X509)	*sk;
	EVP_PKEY	*pk;
	EVP_MD_CTX	*md = NULL;
	unsigned char	*sig = NULL;
	size_t		 bl, i, pad = 0;
	int		 n, ok = 0;

	if ((sk = pem_certs(pem)) == NULL) {
		snprintf(err, errsz, "not a PEM certificate");
		return 0;
	}
	pk = X509_get0_pubkey(sk_X509_value(sk, 0));
	if (pk == NULL || EVP_PKEY_base_id(pk) != EVP_PKEY_RSA) {
		snprintf(err, errsz, "certificate key is not RSA");
		goto out;
	}
	bl = sig_b64 != NULL ? strlen(sig_b64) : 0;
	if (bl == 0 || bl % 4 != 0 || bl > 4096) {
		snprintf(err, errsz, "signature is not base64");
		goto out;
	}
	for (i = 0; i < bl; i++)
		if (!(isalnum((unsigned char)sig_b64[i]) || sig_b64[i] == '+' || sig_b64[i] == '/' ||
		    (sig_b64[i] == '=' && i >= bl - 2))) {
			snprintf(err, errsz, "signature is not base64");
			goto out;
		}
	pad = sig_b64[bl - 1] == '=' ? (sig_b64[bl - 2] == '=' ? 2 : 1) : 0;
	sig = xmalloc(bl / 4 * 3 + 1);
	if ((n = EVP_DecodeBlock(sig, (const unsigned char *)sig_b64, (int)bl)) < 0 ||
	    (size_t)n < pad) {
		snprintf(err, errsz, "signature is not base64");
		goto out;
	}
	n -= (int)pad;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1) {
		snprintf(err, errsz, "cannot verify");
		goto out;
	}
	ok = EVP_DigestVerify(md, sig, (size_t)n, (const unsigned char *)msg, strlen(msg)) == 1;
	if (!ok)
		snprintf(err, errsz, "signature does not verify");
out:
	EVP_MD_CTX_free(md);
	free(sig);
	sk_X509_pop_free(sk, X509_free);
	ERR_clear_error();
	return ok;
}

/* ---- readers of PayPal's objects ---- */

/* A string member copied into a, or NULL. */
static const char *
astr(struct arena *a, struct json_object *o, const char *k)
{
	const char	*s = jstr(o, k);

	return s != NULL ? arena_strdup(a, s) : NULL;
}

int64_t
pp_amount(struct json_object *amount, const char **currency)
{
	const char	*cur = jstr(amount, "currency_code"), *v = jstr(amount, "value");
	int64_t		 m;

	if (currency != NULL)
		*currency = NULL;
	if (cur == NULL || v == NULL || !money_known(cur) || money_parse(v, cur, &m) != MONEY_OK)
		return -1;
	if (currency != NULL)
		*currency = cur;
	return m;
}

/* The amount of o into obs (currency copied into a). */
static void
read_amount(struct arena *a, struct json_object *o, int64_t *amount, const char **currency)
{
	const char	*cur;
	int64_t		 m = pp_amount(jobj(o, "amount"), &cur);

	if (m >= 0) {
		*amount = m;
		*currency = arena_strdup(a, cur);
	}
}

/* A capture's status as ours. */
static int
capture_state(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "COMPLETED") == 0)
		return PAY_SUCCEEDED;
	if (strcmp(s, "PENDING") == 0)
		return PAY_PENDING;
	if (strcmp(s, "DECLINED") == 0 || strcmp(s, "FAILED") == 0)
		return PAY_FAILED;
	if (strcmp(s, "PARTIALLY_REFUNDED") == 0)
		return PAY_PARTIALLY_REFUNDED;
	if (strcmp(s, "REFUNDED") == 0)
		return PAY_REFUNDED;
	return -1;
}

/* The last path segment of the link with rel under href .../<seg>/<id>,
 * or NULL. */
static const char *
link_id(struct arena *a, struct json_object *o, const char *rel, const char *seg)
{
	struct json_object *links = jarr(o, "links"), *l;
	const char	*h, *p;
	size_t		 i, sl = strlen(seg);

	for (i = 0; links != NULL && i < json_object_array_length(links); i++) {
		l = json_object_array_get_idx(links, i);
		if ((h = jstr(l, "rel")) == NULL || strcmp(h, rel) != 0 || (h = jstr(l, "href")) == NULL)
			continue;
		if ((p = strstr(h, seg)) == NULL || p[sl] != '/' || p[sl + 1] == '\0')
			continue;
		p += sl + 1;
		return arena_strndup(a, p, strcspn(p, "/?#"));
	}
	return NULL;
}

/* The schema's names of enum pay_state (payment.h's pay_state_name,
 * kept here so that these readers stand alone for test-paypal and the
 * fuzz targets). */
static const char *const state_name[PAY__MAX] = {
	"created", "pending", "partially_paid", "succeeded", "failed", "expired",
	"cancelled", "partially_refunded", "refunded",
};

/* An observation with every field unknown (as pay_observation_init). */
void
pp_obs_init(struct pay_observation *obs, const char *source)
{
	memset(obs, 0, sizeof(*obs));
	obs->gateway = "paypal";
	obs->source = source;
	obs->state = -1;
	obs->amount = obs->refunded_total = obs->refund_amount = -1;
}

/* "poll:<ref>:<state>:<amount>" (payment.h). */
static const char *
poll_id(struct arena *a, const struct pay_observation *obs)
{
	return arena_printf(a, "poll:%s:%s:%" PRId64, obs->ref2 != NULL ? obs->ref2 :
	    obs->ref != NULL ? obs->ref : "-",
	    obs->state >= 0 && obs->state < PAY__MAX ? state_name[obs->state] : "unknown",
	    obs->amount);
}

int
pp_capture_read(struct arena *a, struct json_object *c, struct pay_observation *obs)
{
	struct json_object *rel;
	const char	*id = jstr(c, "id");

	if (id == NULL)
		return -1;
	obs->ref2 = arena_strdup(a, id);
	obs->state = capture_state(jstr(c, "status"));
	read_amount(a, c, &obs->amount, &obs->currency);
	rel = jobj(jobj(c, "supplementary_data"), "related_ids");
	if (obs->ref == NULL)
		obs->ref = astr(a, rel, "order_id");
	if (obs->ref == NULL)
		obs->ref = link_id(a, c, "up", "/checkout/orders");
	/* A capture's refunds (PARTIALLY_REFUNDED / REFUNDED): the total is
	 * in the breakdown when PayPal sends it. */
	if (obs->state == PAY_PARTIALLY_REFUNDED || obs->state == PAY_REFUNDED) {
		int64_t	 t = pp_amount(jobj(jobj(c, "seller_receivable_breakdown"),
		    "total_refunded_amount"), NULL);
		if (t < 0 && obs->state == PAY_REFUNDED)
			t = obs->amount;
		obs->refunded_total = t;
	}
	return 0;
}

int
pp_order_read(struct arena *a, struct json_object *o, struct pay_observation *obs,
    const char **approve, const char **order_status)
{
	struct json_object *links, *l, *pu, *caps;
	const char	*id = jstr(o, "id"), *st = jstr(o, "status"), *rel;
	size_t		 i;

	if (approve != NULL)
		*approve = NULL;
	if (order_status != NULL)
		*order_status = st != NULL ? arena_strdup(a, st) : NULL;
	if (id == NULL || st == NULL)
		return -1;
	obs->ref = arena_strdup(a, id);
	links = jarr(o, "links");
	for (i = 0; approve != NULL && links != NULL && i < json_object_array_length(links); i++) {
		l = json_object_array_get_idx(links, i);
		/* approve with application_context, payer-action with
		 * payment_source.paypal.experience_context (2.3). */
		if ((rel = jstr(l, "rel")) != NULL &&
		    (strcmp(rel, "approve") == 0 || strcmp(rel, "payer-action") == 0) &&
		    jstr(l, "href") != NULL) {
			*approve = astr(a, l, "href");
			break;
		}
	}
	pu = (pu = jarr(o, "purchase_units")) != NULL && json_object_array_length(pu) > 0 ?
	    json_object_array_get_idx(pu, 0) : NULL;
	caps = jarr(jobj(pu, "payments"), "captures");
	if (caps != NULL && json_object_array_length(caps) > 0) {
		if (pp_capture_read(a, json_object_array_get_idx(caps, 0), obs) != 0)
			return -1;
		obs->ref = arena_strdup(a, id);
	} else {
		if (strcmp(st, "VOIDED") == 0)
			obs->state = PAY_CANCELLED;
		else if (strcmp(st, "COMPLETED") == 0)
			obs->state = -1;	/* completed with no capture shown: say nothing */
		else
			obs->state = PAY_PENDING;	/* CREATED, SAVED, APPROVED, PAYER_ACTION_REQUIRED */
	}
	obs->event_id = poll_id(a, obs);
	obs->event_type = arena_printf(a, "order.%s", st);
	return 0;
}

/* The parsed JSON object body (a new reference), or NULL. */
static struct json_object *
parse_body(const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t		 end;

	if (len == 0 || len > (size_t)1 << 20 || (tok = json_tokener_new_ex(32)) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	/* Only white space after the object. */
	while (o != NULL && end < len) {
		if (!isspace((unsigned char)body[end])) {
			json_object_put(o);
			o = NULL;
		}
		end++;
	}
	return o;
}

int
pp_event_read(struct arena *a, const char *body, size_t len, struct pay_observation *obs,
    int nobs, int *approved, const char **custom, char *err, size_t errsz)
{
	struct json_object *ev, *res, *pu;
	const char	*id, *type, *st;
	int		 n = 0;

	if (approved != NULL)
		*approved = 0;
	if (custom != NULL)
		*custom = NULL;
	if ((ev = parse_body(body, len)) == NULL) {
		snprintf(err, errsz, "body is not a JSON object");
		return -1;
	}
	id = jstr(ev, "id");
	type = jstr(ev, "event_type");
	res = jobj(ev, "resource");
	if (id == NULL || type == NULL || *id == '\0' || strlen(id) > 128) {
		snprintf(err, errsz, "not a webhook event (id, event_type)");
		json_object_put(ev);
		return -1;
	}
	if (nobs < 1)
		goto out;
	pp_obs_init(&obs[0], "webhook");
	obs[0].event_id = arena_strdup(a, id);
	obs[0].event_type = arena_strdup(a, type);
	obs[0].payload = arena_strndup(a, body, len);
	if (strcmp(type, "CHECKOUT.ORDER.APPROVED") == 0) {
		if ((st = jstr(res, "id")) == NULL)
			goto out;
		obs[0].ref = arena_strdup(a, st);
		obs[0].state = PAY_PENDING;
		pu = (pu = jarr(res, "purchase_units")) != NULL && json_object_array_length(pu) > 0 ?
		    json_object_array_get_idx(pu, 0) : NULL;
		if (custom != NULL)
			*custom = astr(a, pu, "custom_id");
		if (approved != NULL)
			*approved = 1;
		n = 1;
	} else if (strcmp(type, "PAYMENT.CAPTURE.COMPLETED") == 0 ||
	    strcmp(type, "PAYMENT.CAPTURE.PENDING") == 0 ||
	    strcmp(type, "PAYMENT.CAPTURE.DENIED") == 0 ||
	    strcmp(type, "PAYMENT.CAPTURE.DECLINED") == 0) {
		if (pp_capture_read(a, res, &obs[0]) != 0)
			goto out;
		/* DENIED is the event's word for a capture that will not
		 * complete (its resource says DECLINED or DENIED). */
		if (strcmp(type, "PAYMENT.CAPTURE.DENIED") == 0 ||
		    strcmp(type, "PAYMENT.CAPTURE.DECLINED") == 0)
			obs[0].state = PAY_FAILED;
		else if (strcmp(type, "PAYMENT.CAPTURE.PENDING") == 0)
			obs[0].state = PAY_PENDING;
		else
			obs[0].state = PAY_SUCCEEDED;
		if (custom != NULL)
			*custom = astr(a, res, "custom_id");
		n = 1;
	} else if (strcmp(type, "PAYMENT.CAPTURE.REFUNDED") == 0 ||
	    strcmp(type, "PAYMENT.CAPTURE.REVERSED") == 0) {
		/* The resource is the refund (or reversal); its link "up"
		 * is the capture. */
		if ((st = jstr(res, "id")) == NULL)
			goto out;
		obs[0].refund_ref = arena_strdup(a, st);
		read_amount(a, res, &obs[0].refund_amount, &obs[0].currency);
		obs[0].ref2 = link_id(a, res, "up", "/payments/captures");
		obs[0].refunded_total = pp_amount(jobj(jobj(res, "seller_payable_breakdown"),
		    "total_refunded_amount"), NULL);
		/* A reversal (chargeback) takes it all; a refund says
		 * partial until the total shows it whole, which
		 * payment_apply judges against the payment. */
		obs[0].state = strcmp(type, "PAYMENT.CAPTURE.REVERSED") == 0 ? PAY_REFUNDED :
		    PAY_PARTIALLY_REFUNDED;
		if (custom != NULL)
			*custom = astr(a, res, "custom_id");
		n = 1;
	}
out:
	json_object_put(ev);
	return n;
}
