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

#include "conf.h"
#include "db.h"
#include "gateway.h"
#include "gw_paypal.h"
#include "http_out.h"
#include "json_get.h"
#include "money.h"
#include "payment.h"
#include "setting.h"
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
	if (n == en && strncasecmp(host, ent, n) == 0)
		return 1;
	/* An address is itself only: "1.127.0.0.1" is a name anyone's
	 * DNS may answer for. */
	if (strspn(ent, "0123456789.:[]") >= en)
		return 0;
	if (ent[0] == '.') {
		/* ".paypal.com": paypal.com itself or anything under it. */
		if (n == en - 1 && strncasecmp(host, ent + 1, n) == 0)
			return 1;
		return n > en && strncasecmp(host + n - en, ent, en) == 0;
	}
	/* "paypal.com": a suffix too, on a label boundary. */
	return n > en && host[n - en - 1] == '.' && strncasecmp(host + n - en, ent, en) == 0;
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
	if (ca_file != NULL) {
		if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
		if (*ca_file == '\0' ? X509_STORE_set_default_paths(store) != 1 :
		    X509_STORE_load_file(store, ca_file) != 1) {
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

/* ---- outgoing calls (work only: http_out.h) ---- */

/*
 * The access token of this process (one work runner), kept until a
 * minute before expires_in says, for one API base and client id.  A
 * runner is one process handling one job at a time: no lock.  Never
 * logged; freed and replaced on refresh.
 */
static struct {
	char	*who;		/* base "\n" client id */
	char	*token;
	double	 until;		/* now_mono() */
} tok;

/* Forget the cached token (test-paypal, and a runner that changes key). */
void
pp_token_forget(void)
{
	if (tok.token != NULL)
		explicit_bzero(tok.token, strlen(tok.token));
	free(tok.who);
	free(tok.token);
	memset(&tok, 0, sizeof(tok));
}

/* The gateway's word for an error reply: "NAME: ISSUE", in a. */
static const char *
pp_issue(struct arena *a, struct json_object *o)
{
	struct json_object *d = jarr(o, "details");
	const char	*name = jstr(o, "name"), *issue = NULL;

	if (d != NULL && json_object_array_length(d) > 0)
		issue = jstr(json_object_array_get_idx(d, 0), "issue");
	if (name == NULL)
		name = jstr(o, "error");
	return arena_printf(a, "%s%s%s", name ? name : "", issue ? ": " : "", issue ? issue : "");
}

/* err and permanent for a reply that is not the one wanted: 4xx other
 * than 408/409/429 will not get better by retrying; 5xx may. */
static int
pp_refused(struct gw_call *c, const char *what, const struct http_reply *rep, struct json_object *o)
{
	c->permanent = rep->status >= 400 && rep->status < 500 && rep->status != 408 &&
	    rep->status != 409 && rep->status != 429;
	snprintf(c->err, sizeof(c->err), "PayPal %s: HTTP %ld %.200s", what, rep->status,
	    o != NULL ? pp_issue(c->a, o) : "");
	return -1;
}

static const char *
pp_token(struct gw_call *c, int fresh)
{
	struct http_reply rep;
	struct json_object *o;
	const char	*colon, *hdr[2], *t;
	char		*who, *basic;
	size_t		 n;
	int64_t		 ttl;

	if (c->secret == NULL || (colon = strchr(c->secret, ':')) == NULL || colon == c->secret) {
		snprintf(c->err, sizeof(c->err), "PayPal: paypal.client_id and paypal.client_secret are not set");
		c->permanent = 1;
		return NULL;
	}
	who = arena_printf(c->a, "%s\n%.*s", c->base, (int)(colon - c->secret), c->secret);
	if (!fresh && tok.token != NULL && strcmp(tok.who, who) == 0 && now_mono() < tok.until)
		return tok.token;
	pp_token_forget();
	n = strlen(c->secret);
	basic = arena_alloc(c->a, 4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)basic, (const unsigned char *)c->secret, (int)n);
	hdr[0] = arena_printf(c->a, "Authorization: Basic %s", basic);
	hdr[1] = NULL;
	if (http_out_call(c->http, c->a, "POST", arena_printf(c->a, "%s/v1/oauth2/token", c->base), hdr,
	    "grant_type=client_credentials", 29, "application/x-www-form-urlencoded", &rep, c->err,
	    sizeof(c->err)) != 0) {
		c->permanent = 0;
		return NULL;
	}
	o = parse_body(rep.body, rep.len);
	if (rep.status != 200 || (t = jstr(o, "access_token")) == NULL || *t == '\0') {
		if (rep.status == 401)
			snprintf(c->err, sizeof(c->err), "PayPal refused the client id and secret (HTTP 401)");
		else
			pp_refused(c, "token", &rep, o);
		c->permanent = rep.status == 401 || c->permanent;
		json_object_put(o);
		return NULL;
	}
	ttl = jint(o, "expires_in", 300);
	tok.who = xstrdup(who);
	tok.token = xstrdup(t);
	tok.until = now_mono() + (double)(ttl > 120 ? ttl - 60 : ttl / 2);
	json_object_put(o);
	return tok.token;
}

/*
 * One API call with the Bearer token, refreshed once on a 401 (a token
 * PayPal revoked or expired early).  rid: PayPal-Request-Id or NULL.
 * 0 with *rep and *o (the parsed JSON object or NULL; the caller puts
 * it), or -1 with c->err (transport: retry; no token: as pp_token says).
 */
static int
pp_api(struct gw_call *c, const char *method, const char *path, const char *rid, const char *body,
    struct http_reply *rep, struct json_object **o)
{
	const char	*t, *hdr[4];
	int		 tries, n;

	*o = NULL;
	for (tries = 0; tries < 2; tries++) {
		if ((t = pp_token(c, tries > 0)) == NULL)
			return -1;
		n = 0;
		hdr[n++] = arena_printf(c->a, "Authorization: Bearer %s", t);
		if (rid != NULL)
			hdr[n++] = arena_printf(c->a, "PayPal-Request-Id: %s", rid);
		hdr[n++] = "Prefer: return=representation";
		hdr[n] = NULL;
		if (http_out_call(c->http, c->a, method, arena_printf(c->a, "%s%s", c->base, path), hdr,
		    body, body != NULL ? strlen(body) : 0, strcmp(method, "GET") == 0 ? NULL :
		    "application/json", rep, c->err, sizeof(c->err)) != 0) {
			c->permanent = 0;
			return -1;
		}
		if (rep->status != 401)
			break;
	}
	*o = parse_body(rep->body, rep->len);
	return 0;
}

/* s cut to at most n bytes on a UTF-8 boundary, in a. */
static const char *
utf8_cut(struct arena *a, const char *s, size_t n)
{
	size_t	 l = strlen(s);

	if (l <= n)
		return s;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return arena_strndup(a, s, n);
}

/* An id PayPal gave us, safe in a URL path. */
static int
id_ok(const char *s)
{
	size_t	 n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n;
}

/* Contract 2.3: create the order; the customer approves it at the
 * "payer-action" (or "approve") link. */
static int
pp_create(struct gw_call *c, const struct gw_payment *p, struct gw_created *out)
{
	struct pay_observation obs;
	struct http_reply rep;
	struct json_object *o;
	struct buf	 b, v;
	const char	*approve, *body;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	buf_init(&b);
	buf_init(&v);
	money_plain(&v, p->amount, p->currency);
	buf_puts(&b, "{\"intent\":\"CAPTURE\",\"purchase_units\":[{\"reference_id\":");
	buf_json_str(&b, p->public_id);
	/* custom_id comes back on the capture and in webhooks: how a
	 * delivery finds the payment; invoice_id must be unique per
	 * account, and a payment's public id is. */
	buf_puts(&b, ",\"custom_id\":");
	buf_json_str(&b, p->public_id);
	buf_puts(&b, ",\"invoice_id\":");
	buf_json_str(&b, p->public_id);
	buf_puts(&b, ",\"description\":");
	buf_json_str(&b, utf8_cut(c->a, p->description != NULL ? p->description : "Payment", 127));
	buf_puts(&b, ",\"amount\":{\"currency_code\":");
	buf_json_str(&b, p->currency);
	buf_puts(&b, ",\"value\":");
	buf_json_str(&b, v.p);
	buf_puts(&b, "}}],\"payment_source\":{\"paypal\":{\"experience_context\":{\"return_url\":");
	buf_json_str(&b, p->return_url);
	buf_puts(&b, ",\"cancel_url\":");
	buf_json_str(&b, p->cancel_url);
	buf_puts(&b, ",\"user_action\":\"PAY_NOW\",\"shipping_preference\":\"NO_SHIPPING\"}}}}");
	body = arena_strdup(c->a, b.p);
	buf_free(&b);
	buf_free(&v);
	if (pp_api(c, "POST", "/v2/checkout/orders", p->idem_key, body, &rep, &o) != 0)
		return -1;
	pp_obs_init(&obs, "return");
	if ((rep.status != 200 && rep.status != 201) || pp_order_read(c->a, o, &obs, &approve, NULL) != 0) {
		pp_refused(c, "create order", &rep, o);
	} else if (approve == NULL || !id_ok(obs.ref) ||
	    (strncmp(approve, "https://", 8) != 0 && strncmp(approve, "http://", 7) != 0)) {
		snprintf(c->err, sizeof(c->err), "PayPal create order: no approve link in the reply");
		c->permanent = 0;
	} else {
		out->ref = obs.ref;
		out->url = approve;
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

/* GET the order into obs. */
static int
pp_get_order(struct gw_call *c, const char *ref, struct pay_observation *obs, const char **status)
{
	struct http_reply rep;
	struct json_object *o;
	int		 rc = -1;

	if (pp_api(c, "GET", arena_printf(c->a, "/v2/checkout/orders/%s", ref), NULL, NULL, &rep, &o) != 0)
		return -1;
	if (rep.status != 200 || pp_order_read(c->a, o, obs, NULL, status) != 0)
		pp_refused(c, "show order", &rep, o);
	else {
		obs->payload = rep.body;
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

/*
 * Contract 2.4: capture, with PayPal-Request-Id "capture:<payment>" so
 * that a retry after a timeout is the same capture (201 first, 200 on a
 * replay).  ORDER_ALREADY_CAPTURED (captured under another request id,
 * or after PayPal forgot ours) is read by looking the order up.
 */
static int
pp_capture(struct gw_call *c, const struct gw_payment *p, struct pay_observation *obs)
{
	struct http_reply rep;
	struct json_object *o;
	const char	*issue;
	int		 rc = -1;

	if (!id_ok(p->ref)) {
		snprintf(c->err, sizeof(c->err), "PayPal capture: the payment has no PayPal order");
		c->permanent = 1;
		return -1;
	}
	if (pp_api(c, "POST", arena_printf(c->a, "/v2/checkout/orders/%s/capture", p->ref),
	    arena_printf(c->a, "capture:%" PRId64, p->id), "{}", &rep, &o) != 0)
		return -1;
	obs->gateway = "paypal";
	obs->payment = p->id;
	if ((rep.status == 200 || rep.status == 201) && pp_order_read(c->a, o, obs, NULL, NULL) == 0) {
		obs->payload = rep.body;
		rc = 0;
	} else if (rep.status == 422 && o != NULL &&
	    strstr((issue = pp_issue(c->a, o)), "ORDER_ALREADY_CAPTURED") != NULL) {
		rc = pp_get_order(c, p->ref, obs, NULL);
	} else {
		pp_refused(c, "capture", &rep, o);
	}
	json_object_put(o);
	return rc;
}

/*
 * The order as PayPal has it.  An order the buyer approved but nobody
 * captured (the buyer closed the tab before the return page, the
 * CHECKOUT.ORDER.APPROVED delivery lost) is captured here: the buyer
 * asked to pay, and reconciliation is the last chance to do it.
 */
static int
pp_lookup(struct gw_call *c, const struct gw_payment *p, struct pay_observation *obs)
{
	const char	*status;

	if (!id_ok(p->ref)) {
		snprintf(c->err, sizeof(c->err), "PayPal lookup: the payment has no PayPal order yet");
		c->permanent = 1;
		return -1;
	}
	obs->gateway = "paypal";
	obs->payment = p->id;
	if (pp_get_order(c, p->ref, obs, &status) != 0)
		return -1;
	if (status != NULL && strcmp(status, "APPROVED") == 0)
		return pp_capture(c, p, obs);
	return 0;
}

/* Contract 2.5: refund a capture (all of it, or an amount), with the
 * refund row's key as PayPal-Request-Id. */
static int
pp_refund(struct gw_call *c, const struct gw_payment *p, const struct gw_refund_req *r,
    struct gw_refund_done *done)
{
	struct pay_observation obs;
	struct http_reply rep;
	struct json_object *o;
	struct buf	 b, v;
	const char	*cap = p->ref2, *st, *body;
	int		 rc = -1;

	memset(done, 0, sizeof(*done));
	if (!id_ok(cap)) {
		/* The capture id was not recorded (a capture seen only by
		 * lookup): the order knows it. */
		pp_obs_init(&obs, "staff");
		if (!id_ok(p->ref) || pp_get_order(c, p->ref, &obs, NULL) != 0 || !id_ok(obs.ref2)) {
			if (c->err[0] == '\0')
				snprintf(c->err, sizeof(c->err), "PayPal refund: no capture to refund");
			return -1;
		}
		cap = obs.ref2;
	}
	buf_init(&b);
	buf_init(&v);
	money_plain(&v, r->amount, r->currency);
	buf_puts(&b, "{\"amount\":{\"value\":");
	buf_json_str(&b, v.p);
	buf_puts(&b, ",\"currency_code\":");
	buf_json_str(&b, r->currency);
	buf_puts(&b, "}");
	if (r->reason != NULL && *r->reason != '\0') {
		buf_puts(&b, ",\"note_to_payer\":");
		buf_json_str(&b, utf8_cut(c->a, r->reason, 255));
	}
	buf_puts(&b, "}");
	body = arena_strdup(c->a, b.p);
	buf_free(&b);
	buf_free(&v);
	if (pp_api(c, "POST", arena_printf(c->a, "/v2/payments/captures/%s/refund", cap), r->idem_key,
	    body, &rep, &o) != 0)
		return -1;
	if ((rep.status == 200 || rep.status == 201) && (st = jstr(o, "status")) != NULL &&
	    id_ok(jstr(o, "id"))) {
		done->ref = astr(c->a, o, "id");
		done->state = strcmp(st, "COMPLETED") == 0 ? 1 :
		    strcmp(st, "PENDING") == 0 ? 0 : -1;
		rc = 0;
	} else {
		pp_refused(c, "refund", &rep, o);
	}
	json_object_put(o);
	return rc;
}

/* Transaction Search (GET /v1/reporting/transactions): the captures
 * since since, for cron payments' report (at most 31 days back, the
 * API's window). */
static int
pp_recent(struct gw_call *c, int64_t since, struct pay_observation *obs, int nobs)
{
	struct http_reply rep;
	struct json_object *o, *rows, *ti;
	const char	*st, *id;
	char		 from[32], to[32];
	int64_t		 now = now_unix();
	size_t		 i;
	int		 n = 0;

	if (since < now - 31 * 86400)
		since = now - 31 * 86400;
	iso8601(from, since);
	iso8601(to, now);
	if (pp_api(c, "GET", arena_printf(c->a, "/v1/reporting/transactions?start_date=%s&end_date=%s"
	    "&fields=transaction_info&page_size=100", from, to), NULL, NULL, &rep, &o) != 0)
		return -1;
	if (rep.status != 200 || (rows = jarr(o, "transaction_details")) == NULL) {
		pp_refused(c, "transaction search", &rep, o);
		json_object_put(o);
		return -1;
	}
	for (i = 0; i < json_object_array_length(rows) && n < nobs; i++) {
		ti = jobj(json_object_array_get_idx(rows, i), "transaction_info");
		if ((id = jstr(ti, "transaction_id")) == NULL)
			continue;
		pp_obs_init(&obs[n], "reconcile");
		obs[n].ref2 = arena_strdup(c->a, id);
		st = jstr_or(ti, "transaction_status", "");
		obs[n].state = strcmp(st, "S") == 0 ? PAY_SUCCEEDED : strcmp(st, "P") == 0 ? PAY_PENDING :
		    strcmp(st, "D") == 0 ? PAY_FAILED : strcmp(st, "V") == 0 ? PAY_REFUNDED : -1;
		obs[n].amount = pp_amount(jobj(ti, "transaction_amount"), &obs[n].currency);
		if (obs[n].currency != NULL)
			obs[n].currency = arena_strdup(c->a, obs[n].currency);
		obs[n].event_id = poll_id(c->a, &obs[n]);
		obs[n].event_type = "transaction";
		obs[n].payload = arena_strdup(c->a, json_object_to_json_string_ext(
		    json_object_array_get_idx(rows, i), JSON_C_TO_STRING_PLAIN));
		n++;
	}
	json_object_put(o);
	return n;
}

/* ---- webhooks (the worker: no outgoing calls) ---- */

void
pp_find(struct db *db, struct pay_observation *obs, const char *custom)
{
	struct stmt	*st = db_q(db, Q_PAYPAL_PAYMENT_FIND);

	if (custom != NULL)
		db_bind_text(db, st, ":pub", custom);
	else
		db_bind_null(db, st, ":pub");
	if (obs->ref != NULL)
		db_bind_text(db, st, ":ref", obs->ref);
	else
		db_bind_null(db, st, ":ref");
	if (obs->ref2 != NULL)
		db_bind_text(db, st, ":ref2", obs->ref2);
	else
		db_bind_null(db, st, ":ref2");
	obs->payment = db_one_int(db, st, 0);
}

/* A header value fit to go into a job payload and a signed string:
 * printable ASCII, at most max bytes. */
static int
header_ok(const char *s, size_t max)
{
	size_t	 i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

const char *
pp_setting_verify(struct db *db)
{
	return strcmp(setting_text(db, "payments.paypal.verify", "postback"), "offline") == 0 ?
	    "offline" : "postback";
}

const char *
pp_verify_key(struct arena *a, const char *tid, const char *sig, const char *body, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char	 hex[17];
	int	 k;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, sig, strlen(sig) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, body, len) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		mdlen = 0;
	EVP_MD_CTX_free(ctx);
	for (k = 0; k < 8; k++)
		snprintf(hex + 2 * k, 3, "%02x", mdlen ? md[k] : 0);
	return arena_printf(a, PP_VERIFY_KEY_PREFIX "%s:%s", tid, hex);
}

const char *
pp_job_payload(struct arena *a, const char *tid, const char *ttime, const char *sig,
    const char *url, const char *algo, const char *body, size_t len)
{
	struct buf	 b;
	const char	*out;

	buf_init(&b);
	buf_puts(&b, "{\"verify\":\"paypal\",\"event\":{\"transmission_id\":");
	buf_json_str(&b, tid);
	buf_puts(&b, ",\"transmission_time\":");
	buf_json_str(&b, ttime);
	buf_puts(&b, ",\"transmission_sig\":");
	buf_json_str(&b, sig);
	buf_puts(&b, ",\"cert_url\":");
	buf_json_str(&b, url);
	buf_puts(&b, ",\"auth_algo\":");
	buf_json_str(&b, algo);
	buf_puts(&b, ",\"body\":");
	buf_json_str(&b, arena_strndup(a, body, len));
	buf_puts(&b, "}}");
	out = arena_strdup(a, b.p);
	buf_free(&b);
	return out;
}

/*
 * gw_ops.verify (gw_paypal.h has the design): -1 for what can never
 * verify, the observations when the cached certificate verifies it, -2
 * (obs[0] the job for work) when only work can.
 */
static int
pp_verify(struct db *db, const struct conf *conf, const unsigned char key[32], struct arena *a,
    const struct gw_hook *h, struct pay_observation *obs, int nobs, char *err, size_t errsz)
{
	struct pay_observation ev[2];
	struct stmt	*st;
	const char	*tid = h->header(h->ctx, "PAYPAL-TRANSMISSION-ID");
	const char	*ttime = h->header(h->ctx, "PAYPAL-TRANSMISSION-TIME");
	const char	*sig = h->header(h->ctx, "PAYPAL-TRANSMISSION-SIG");
	const char	*url = h->header(h->ctx, "PAYPAL-CERT-URL");
	const char	*algo = h->header(h->ctx, "PAYPAL-AUTH-ALGO");
	const char	*whid, *pem = NULL, *custom;
	int64_t		 not_after = 0;
	int		 n, approved, i;

	if (!header_ok(tid, 64) || strspn(tid, "0123456789abcdefABCDEF-") != strlen(tid) ||
	    !header_ok(ttime, 64) || !header_ok(sig, 1024) || !header_ok(url, 512)) {
		snprintf(err, errsz, "PayPal transmission headers missing or malformed");
		return -1;
	}
	if (algo == NULL || strcmp(algo, "SHA256withRSA") != 0) {
		snprintf(err, errsz, "PAYPAL-AUTH-ALGO is not SHA256withRSA");
		return -1;
	}
	if (!pp_cert_url_ok(url, conf->paypal_cert_hosts, err, errsz))
		return -1;
	if (!utf8_valid(h->body, h->len, 1)) {
		snprintf(err, errsz, "body is not UTF-8 text");
		return -1;
	}
	if ((n = pp_event_read(a, h->body, h->len, ev, 2, &approved, &custom, err, errsz)) < 0)
		return -1;
	if ((whid = gw_secret(db, key, "paypal.webhook_id")) == NULL) {
		snprintf(err, errsz, "paypal.webhook_id is not set: no delivery can verify");
		return -1;
	}
	if (strcmp(pp_setting_verify(db), "offline") == 0) {
		st = db_q(db, Q_PAYPAL_CERT_GET);
		db_bind_text(db, st, ":url", url);
		if (db_step(db, st) == DB_ROW) {
			pem = db_text(db, st, 0);
			not_after = db_int(st, 1);
		}
		db_reset(st);
	}
	if (pem != NULL && not_after >= h->now) {
		if (pp_sig_verify(pem, pp_expected(a, tid, ttime, whid, h->body, h->len), sig, err,
		    errsz) != 1)
			return -1;
		/* Verified.  An approval needs the capture, which only work
		 * can make: it goes there as any other deferred delivery
		 * (and verifies again at once, from the same cache). */
		if (!approved) {
			for (i = 0; i < n && i < nobs; i++) {
				obs[i] = ev[i];
				obs[i].payment_public = custom;
				pp_find(db, &obs[i], custom);
			}
			return n < nobs ? n : nobs;
		}
	} else if (n == 0) {
		/* Nothing we act on, and nothing to verify it with here: not
		 * worth a job. */
		return 0;
	}
	if (nobs < 1) {
		snprintf(err, errsz, "no room for the deferred delivery");
		return -1;
	}
	pp_obs_init(&obs[0], "webhook");
	obs[0].event_id = pp_verify_key(a, tid, sig, h->body, h->len);
	obs[0].event_type = n > 0 ? ev[0].event_type : "unverified";
	obs[0].payload = pp_job_payload(a, tid, ttime, sig, url, algo, h->body, h->len);
	return -2;
}

const struct gw_ops gw_paypal_ops = {
	.id = GW_PAYPAL,
	.create = pp_create,
	.lookup = pp_lookup,
	.capture = pp_capture,
	.refund = pp_refund,
	.recent = pp_recent,
	.verify = pp_verify,
};

/* ---- what work does for a deferred delivery (job_paypal.c) ---- */

int
pp_postback(struct gw_call *c, const char *tid, const char *ttime, const char *sig,
    const char *url, const char *algo, const char *webhook_id, const char *body, size_t len)
{
	struct http_reply rep;
	struct json_object *o;
	struct buf	 b;
	const char	*req, *vs;
	int		 rc = -1;

	/* Contract 2.7.1: PayPal checks the event's bytes as it sent them,
	 * so the raw body is spliced in, never parsed and re-serialised. */
	buf_init(&b);
	buf_puts(&b, "{\"auth_algo\":");
	buf_json_str(&b, algo);
	buf_puts(&b, ",\"cert_url\":");
	buf_json_str(&b, url);
	buf_puts(&b, ",\"transmission_id\":");
	buf_json_str(&b, tid);
	buf_puts(&b, ",\"transmission_sig\":");
	buf_json_str(&b, sig);
	buf_puts(&b, ",\"transmission_time\":");
	buf_json_str(&b, ttime);
	buf_puts(&b, ",\"webhook_id\":");
	buf_json_str(&b, webhook_id);
	buf_puts(&b, ",\"webhook_event\":");
	buf_add(&b, body, len);
	buf_puts(&b, "}");
	req = arena_strndup(c->a, b.p, b.len);
	buf_free(&b);
	if (pp_api(c, "POST", "/v1/notifications/verify-webhook-signature", NULL, req, &rep, &o) != 0)
		return -1;
	if (rep.status == 200 && (vs = jstr(o, "verification_status")) != NULL)
		rc = strcmp(vs, "SUCCESS") == 0 ? 1 : 0;
	else
		pp_refused(c, "verify-webhook-signature", &rep, o);
	json_object_put(o);
	return rc;
}

int
pp_cert_fetch(struct http_out *h, struct arena *a, const char *url, const char **pem,
    int *permanent, char *err, size_t errsz)
{
	struct http_reply rep;

	*pem = NULL;
	*permanent = 0;
	if (http_out_call(h, a, "GET", url, NULL, NULL, 0, NULL, &rep, err, errsz) != 0)
		return -1;
	if (rep.status != 200 || rep.len > 65536 || strlen(rep.body) != rep.len ||
	    strstr(rep.body, "-----BEGIN CERTIFICATE-----") == NULL) {
		/* A certificate URL that does not serve one is a forgery's
		 * (or a gone certificate's): retrying will not help, but a
		 * 5xx might. */
		*permanent = rep.status < 500;
		snprintf(err, errsz, "certificate %s: HTTP %ld, %zu bytes%s", url, rep.status, rep.len,
		    rep.status == 200 ? ", not a PEM certificate" : "");
		return -1;
	}
	*pem = rep.body;
	return 0;
}
