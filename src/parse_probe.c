/*
 * parse_probe.c: the parsers of request.c and view.c, utf8_valid, and
 * the panel reply readers of xui.c and xui_client.c, driven from raw
 * bytes without the transport (STYLE.md section 15).
 * fuzz/fuzz_*.c call probe_run() from LLVMFuzzerTestOneInput(); the
 * `test-parse` command calls it on stdin.  See parse_probe.h.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "gw_paypal.h"
#include "gw_stripe.h"
#include "http.h"
#include "money.h"
#include "nowpay.h"
#include "parse_probe.h"
#include "passkey.h"
#include "payment.h"
#include "util.h"
#include "view.h"
#include "xui.h"
#include "xui_client.h"

const char *const probe_names[PROBE__MAX] = {
	"query", "cookie", "multipart", "json", "template", "utf8", "xui",
	"nowpay", "stripe", "paypal", "passkey"
};

/* Small limits, so that the fuzzer reaches every limit check. */
static const struct limits plim = { 65536, 16, 256 };

int
probe_find(const char *name)
{
	int	 i;

	for (i = 0; i < PROBE__MAX; i++)
		if (strcmp(probe_names[i], name) == 0)
			return i;
	return -1;
}

#define MUST(c)	do { if (!(c)) abort(); } while (0)

/*
 * No C1 control (U+0080-U+009F) and no bidirectional override or isolate
 * (U+202A-U+202E, U+2066-U+2069), decoding code points rather than
 * matching bytes as request.c does.  s is valid UTF-8.
 */
static int
no_c1_bidi(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t	 i = 0, len, k;

	while (i < n) {
		unsigned long cp = s[i];

		len = cp < 0x80 ? 1 : cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
		if (len > 1)
			cp &= 0x3f >> (len - 1);
		for (k = 1; k < len && i + k < n; k++)
			cp = (cp << 6) | (s[i + k] & 0x3f);
		if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return 0;
		i += len;
	}
	return 1;
}

/* Every key and string of an accepted JSON body is clean text within
 * the limits (keys on one line). */
static void
check_json(struct json_object *o)
{
	size_t	 i;

	switch (json_object_get_type(o)) {
	case json_type_string: {
		const char *v = json_object_get_string(o);
		size_t	 n = (size_t)json_object_get_string_len(o);

		MUST(n <= plim.max_field_len && utf8_valid(v, n, 1) && no_c1_bidi(v, n));
		break;
	}
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			MUST(strlen(k) <= plim.max_field_len && utf8_valid(k, strlen(k), 0) &&
			    no_c1_bidi(k, strlen(k)));
			if (v != NULL)
				check_json(v);
		}
		break;
	}
	case json_type_array:
		MUST(json_object_array_length(o) <= plim.max_fields);
		for (i = 0; i < json_object_array_length(o); i++)
			if (json_object_array_get_idx(o, i) != NULL)
				check_json(json_object_array_get_idx(o, i));
		break;
	default:
		break;
	}
}

/* Every field a parser handed out obeys the limits and is clean text. */
static void
check_list(const struct kvlist *l, int newlines)
{
	size_t	 i;

	MUST(l->n <= plim.max_fields);
	for (i = 0; i < l->n; i++) {
		size_t	 kn = strlen(l->v[i].key);

		MUST(kn > 0 && kn <= 64);
		MUST(l->v[i].len <= plim.max_field_len);
		MUST(strlen(l->v[i].val) == l->v[i].len);
		MUST(utf8_valid(l->v[i].val, l->v[i].len, newlines));
		MUST(no_c1_bidi(l->v[i].val, l->v[i].len));
	}
}

/*
 * A strict UTF-8 decoder written the other way round (by code point
 * ranges, RFC 3629 table 4) to compare utf8_valid against.
 */
static int
ref_utf8(const unsigned char *s, size_t n, int nl)
{
	size_t	 i = 0;

	while (i < n) {
		unsigned c = s[i], lo = 0x80, hi = 0xbf;
		size_t	 len, k;

		if (c < 0x80) {
			if (c == 0x7f || (c < 0x20 && c != '\t' &&
			    !(nl && (c == '\n' || c == '\r'))))
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c == 0xe0) {
			len = 3;
			lo = 0xa0;
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			len = 3;
		else if (c == 0xed) {
			len = 3;
			hi = 0x9f;
		} else if (c == 0xf0) {
			len = 4;
			lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3)
			len = 4;
		else if (c == 0xf4) {
			len = 4;
			hi = 0x8f;
		} else
			return 0;
		if (n - i < len)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += len;
	}
	return 1;
}

static int
probe_template(const uint8_t *data, size_t n)
{
	struct arena *a = arena_new(1024);
	struct vm *m = vm_new(a), *it;
	struct buf out;
	char	*src, err[256];
	const char *name;
	int	 rc;

	/* First byte: odd renders as an email (.txt), even as HTML. */
	name = (n > 0 && (data[0] & 1)) ? "emails/t.txt" : "pages/t";
	src = xmalloc(n + 1);
	memcpy(src, data, n);
	src[n] = '\0';
	vm_set(m, "x", "<b>\"x\"</b>&");
	vm_set(m, "u", "javascript:alert(1)");
	vm_set_bool(m, "yes", 1);
	vm_set_trusted_html(m, "h", "<em>h</em>");
	it = vm_push(m, "items");
	vm_set(it, "n", "1");
	it = vm_push(m, "items");
	vm_set(it, "n", "2");
	buf_init(&out);
	rc = view_compile_string(name, src, m, &out, err, sizeof(err));
	MUST(rc == 0 || err[0] != '\0');
	buf_free(&out);
	free(src);
	arena_free(a);
	return rc;
}

/*
 * A panel's reply body: the envelope, then obj read as the inbound list
 * (or one inbound) the traffic sync and the client calls read.  Every
 * client read has an email, counters that are not negative and the
 * object's JSON kept.
 */
static int
probe_xui(const uint8_t *data, size_t n)
{
	struct arena *a = arena_new(4096);
	struct xui_env env;
	struct xui_client *c;
	struct json_object *ib;
	char	 err[256], *s;
	size_t	 i, j, k, m;
	int	 rc, list;

	s = arena_alloc(a, n + 1);
	memcpy(s, data, n);
	s[n] = '\0';
	err[0] = '\0';
	rc = xui_envelope_parse(s, n, 200, &env, err, sizeof(err));
	MUST(rc == 0 || err[0] != '\0');
	if (rc == 0) {
		MUST(env.msg != NULL && env.root != NULL);
		list = env.obj != NULL && json_object_is_type(env.obj, json_type_array);
		m = list ? json_object_array_length(env.obj) : 1;
		for (i = 0; i < m; i++) {
			ib = list ? json_object_array_get_idx(env.obj, i) : env.obj;
			if (xui_client_read_inbound(a, ib, (int64_t)i, &c, &k) != 0)
				continue;
			for (j = 0; j < k; j++)
				MUST(c[j].email != NULL && c[j].email[0] != '\0' && c[j].up >= 0 &&
				    c[j].down >= 0 && c[j].json != NULL);
		}
		xui_env_free(&env);
	}
	arena_free(a);
	return rc == 0 ? 0 : 502;
}

/*
 * A NOWPayments IPN body (nowpay.c): what the worker's verify reads.
 * Invariants: the canonical text of an accepted body is itself accepted
 * and canonical (a fixed point), is JSON that json-c reads, and holds no
 * raw control character; the observation of a payment object has an
 * event id and a state in range; amounts are -1 or within MONEY_MAX; the
 * signature check of a body against its own HMAC holds and against a
 * flipped one fails.
 */
static int
probe_nowpay(const uint8_t *data, size_t n)
{
	struct arena *a = arena_new(4096);
	struct np_val *v, *v2;
	struct pay_observation o;
	struct json_object *j;
	const char *c, *c2, *oid;
	char	 err[256], hex[129];
	size_t	 cl, cl2, i;
	int	 rc = 0;

	v = np_parse(a, (const char *)data, n, err, sizeof(err));
	if (v == NULL) {
		MUST(err[0] != '\0');
		arena_free(a);
		return 400;
	}
	c = np_canonical(a, v, &cl);
	MUST(strlen(c) == cl);
	for (i = 0; i < cl; i++)
		MUST((unsigned char)c[i] >= 0x20);
	v2 = np_parse(a, c, cl, err, sizeof(err));
	MUST(v2 != NULL);
	c2 = np_canonical(a, v2, &cl2);
	MUST(cl2 == cl && memcmp(c, c2, cl) == 0);
	j = json_tokener_parse(c);
	MUST(j != NULL || v->t != NP_OBJ);
	json_object_put(j);
	np_sig_hex("fuzz", c, cl, hex);
	MUST(np_sig_ok("fuzz", c, cl, hex));
	hex[0] = hex[0] == '0' ? '1' : '0';
	MUST(!np_sig_ok("fuzz", c, cl, hex));
	memset(&o, 0, sizeof(o));
	o.state = -1;
	o.amount = o.refunded_total = o.refund_amount = -1;
	if (np_observe(a, v, &o, &oid, err, sizeof(err)) == 0) {
		MUST(o.event_id != NULL && o.ref2 != NULL);
		MUST(o.state >= -1 && o.state < PAY__MAX);
		MUST(o.amount >= -1 && o.amount <= MONEY_MAX);
	} else
		rc = 422;
	arena_free(a);
	return rc;
}

/* The bytes up to the first newline (NUL-terminated, in a) and the rest. */
static const char *
first_line(struct arena *a, const uint8_t *data, size_t n, const char **rest, size_t *rn)
{
	const uint8_t *nl = memchr(data, '\n', n);
	size_t	 hl = nl ? (size_t)(nl - data) : n;

	*rest = nl ? (const char *)nl + 1 : (const char *)data + n;
	*rn = nl ? n - hl - 1 : 0;
	return arena_strndup(a, (const char *)data, hl);
}

/*
 * A Stripe delivery (gw_stripe.c): the Stripe-Signature verifier over
 * the body, then the event reader.  Invariants: a verdict in range; the
 * header that stripe_sig_hex makes for the body verifies, and with the
 * fuzzed header's items after it still verifies unless they hold an
 * empty v1 (malformed); a read event has an id and a state in range.
 */
static int
probe_stripe(const uint8_t *data, size_t n)
{
	struct arena *a = arena_new(4096);
	static const char *const secrets[] = { "whsec_fuzz" };
	struct pay_observation o;
	const char *hdr, *body, *pub = NULL;
	char	 hex[65], err[256];
	size_t	 bn;
	int64_t	 t = 0, now = 1700000000;
	int	 rc, rd;

	hdr = first_line(a, data, n, &body, &bn);
	rc = stripe_sig_verify(hdr, body, bn, secrets, 1, now, STRIPE_TOLERANCE, &t);
	MUST(rc >= 0 && rc < STRIPE_SIG__MAX);
	stripe_sig_hex("whsec_fuzz", now - 10, body, bn, hex);
	MUST(stripe_sig_verify(arena_printf(a, "t=%" PRId64 ",v1=%s", now - 10, hex), body, bn,
	    secrets, 1, now, STRIPE_TOLERANCE, NULL) == STRIPE_SIG_OK);
	MUST(stripe_sig_verify(arena_printf(a, "t=%" PRId64 ",v1=%s", now - 301, hex), body, bn,
	    secrets, 1, now, STRIPE_TOLERANCE, NULL) != STRIPE_SIG_OK);
	pp_obs_init(&o, "webhook");
	o.gateway = "stripe";
	rd = stripe_event_read(a, body, bn, &o, &pub, err, sizeof(err));
	MUST(rd >= -1 && rd <= 1);
	if (rd == 1)
		MUST(o.event_id != NULL && o.state >= -1 && o.state < PAY__MAX && o.amount >= -1);
	if (rd == -1)
		MUST(err[0] != '\0');
	arena_free(a);
	return rc == STRIPE_SIG_OK ? 0 : 400 + rc;
}

/* PayPal's 2017 signing certificate (t/vectors/paypal-webhook-rsa). */
static const char pp_vector_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIILDCCBxSgAwIBAgIQDEd6EXcAnHmtnx4u7tJZlTANBgkqhkiG9w0BAQsFADB1\n"
	"MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMRkwFwYDVQQLExB3\n"
	"d3cuZGlnaWNlcnQuY29tMTQwMgYDVQQDEytEaWdpQ2VydCBTSEEyIEV4dGVuZGVk\n"
	"IFZhbGlkYXRpb24gU2VydmVyIENBMB4XDTE3MDIxODAwMDAwMFoXDTE5MDQyNjEy\n"
	"MDAwMFowggElMR0wGwYDVQQPDBRQcml2YXRlIE9yZ2FuaXphdGlvbjETMBEGCysG\n"
	"AQQBgjc8AgEDEwJVUzEZMBcGCysGAQQBgjc8AgECEwhEZWxhd2FyZTEQMA4GA1UE\n"
	"BRMHMzAxNDI2NzEWMBQGA1UECRMNMjIxMSBOIDFzdCBTdDEOMAwGA1UEERMFOTUx\n"
	"MzExCzAJBgNVBAYTAlVTMRMwEQYDVQQIEwpDYWxpZm9ybmlhMREwDwYDVQQHEwhT\n"
	"YW4gSm9zZTEVMBMGA1UEChMMUGF5UGFsLCBJbmMuMRgwFgYDVQQLEw9QYXJ0bmVy\n"
	"IFN1cHBvcnQxNDAyBgNVBAMTK21lc3NhZ2V2ZXJpZmljYXRpb25jZXJ0cy5zYW5k\n"
	"Ym94LnBheXBhbC5jb20wggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDT\n"
	"AsLQcHFGG0mvLNAlu3FJ/6QUr1EbUSBYnqF/oRbirzJRWbT3JWpFr2palaFNnfpC\n"
	"wLB/KY+UX3xDLB5Ic38piG6FzRe1TiZcxhdIbOY21OvVVFatXfM62lzwX3RASpbV\n"
	"A1cbCoDBSbgyplSPINVd8Gyf+qtJxbW7M6cVuZae1Nx0mA63SfNnRpBwOvYAUkCr\n"
	"uCCjIVLqRuWbRzn0wvayVMWasw047rHhtFmaYBwJ1L4sn5NL+HDQ5wSMb1EE46v/\n"
	"aGGdv7bcHhc4Re0C1pFW032MVb85eRD7OtvD2hZM2O5JwiwHMBXzxEjrIbGCA6be\n"
	"3acmzYKxYLZHYt6KlQDBAgMBAAGjggQEMIIEADAfBgNVHSMEGDAWgBQ901Cl1qCt\n"
	"7vNKYApl0yHU+PjWDzAdBgNVHQ4EFgQUgPw27mYvKgltHUaTXExjogwMhv8wNgYD\n"
	"VR0RBC8wLYIrbWVzc2FnZXZlcmlmaWNhdGlvbmNlcnRzLnNhbmRib3gucGF5cGFs\n"
	"LmNvbTAOBgNVHQ8BAf8EBAMCBaAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUF\n"
	"BwMCMHUGA1UdHwRuMGwwNKAyoDCGLmh0dHA6Ly9jcmwzLmRpZ2ljZXJ0LmNvbS9z\n"
	"aGEyLWV2LXNlcnZlci1nMS5jcmwwNKAyoDCGLmh0dHA6Ly9jcmw0LmRpZ2ljZXJ0\n"
	"LmNvbS9zaGEyLWV2LXNlcnZlci1nMS5jcmwwSwYDVR0gBEQwQjA3BglghkgBhv1s\n"
	"AgEwKjAoBggrBgEFBQcCARYcaHR0cHM6Ly93d3cuZGlnaWNlcnQuY29tL0NQUzAH\n"
	"BgVngQwBATCBiAYIKwYBBQUHAQEEfDB6MCQGCCsGAQUFBzABhhhodHRwOi8vb2Nz\n"
	"cC5kaWdpY2VydC5jb20wUgYIKwYBBQUHMAKGRmh0dHA6Ly9jYWNlcnRzLmRpZ2lj\n"
	"ZXJ0LmNvbS9EaWdpQ2VydFNIQTJFeHRlbmRlZFZhbGlkYXRpb25TZXJ2ZXJDQS5j\n"
	"cnQwDAYDVR0TAQH/BAIwADCCAfgGCisGAQQB1nkCBAIEggHoBIIB5AHiAHYApLkJ\n"
	"kLQYWBSHuxOizGdwCjw1mAT5G9+443fNDsgN3BAAAAFaTqxLiAAABAMARzBFAiEA\n"
	"pDFqvEjdtugwxjKvZqJ1Y1A1F1UX9EIvZL5Ar02YSe4CIBEf0EzZiic7u3IzI8BU\n"
	"y0oFKh11VL1YIBAZfIj744o/AHYAVhQGmi/XwuzT9eG9RLI+x0Z2ubyZEVzA75SY\n"
	"VdaJ0N0AAAFaTqxM2wAABAMARzBFAiEAn3lwWc95wltvaOnBaM09VQN9xhHHkwec\n"
	"w5+tdHhSimgCIC1BaJ0RodgykU0ii2QzuzEoR8ci6qF+Pj6j1GE5wvU4AHcA7ku9\n"
	"t3XOYLrhQmkfq+GeZqMPfl+wctiDAMR7iXqo/csAAAFaTqxOhwAABAMASDBGAiEA\n"
	"/+kyQku3N/kwrubEfHSM4h20mZTvrAoRZovA5qwpVLICIQDyOQQu9r6kets5tO0b\n"
	"YDXmaVWypOdS/ocseU11p5vBYAB3ALvZ37wfinG1k5Qjl6qSe0c4V5UKq1LoGpCW\n"
	"ZDaOHtGFAAABWk6sTEUAAAQDAEgwRgIhALIDDduHsT0LymHxdrOWzzEaDLhVSl5i\n"
	"vHAgWBcdl5AAAiEAgIYoXQHtSAiPyH4METNmAZAhiwo9uwTavdrjLsFJ2nowDQYJ\n"
	"KoZIhvcNAQELBQADggEBAMxgCr0MTAbu7aE8ryfK3q8grN4rJOzBBzh8tSKYW4PU\n"
	"FhAc6ZaW2/PNV+H8oYOP3nB28neglNjR/XZCyd7IRJoxSfwzUZhOBAzTFP0sp5Cu\n"
	"GZN24j2SrxcKCaq3mszLmwgiRzuDUnRFdI2OHep6EcDelfURGz8w6eTaLw7m3FZr\n"
	"gJSmmAOntirVZeVPLou74ykxWUm0kEi/OxNQWlgAlAHUcGZHpcupddK/dNRmCFSw\n"
	"RBeiGwaLsz2SXYNvTs4it8cisAxTwBD1iqyXEKRSx6HpsmIOznwENimrR8Cz3jtz\n"
	"QJmshPGmEbrpkKaJ7/DJO5EuMKFF6jYKjKiORugFKfU=\n"
	"-----END CERTIFICATE-----\n";

/*
 * A PayPal delivery (gw_paypal.c): the event reader, the signed string
 * with the body's CRC-32, the certificate URL rule and the RSA check of
 * a fuzzed base64 signature.  Invariants: a count in range with an id
 * for each observation; the signed string ends in the body's CRC-32; an
 * accepted certificate URL is https; no fuzzed signature verifies.
 */
static int
probe_paypal(const uint8_t *data, size_t n)
{
	struct arena *a = arena_new(4096);
	struct pay_observation obs[4];
	const char *line, *body, *custom = NULL, *f[4] = { "", "", "", "" }, *exp;
	char	 err[256], *p, *q, crc[16];
	size_t	 bn, i;
	int	 rc, approved = 0, k;

	line = first_line(a, data, n, &body, &bn);
	p = arena_strdup(a, line);
	for (k = 0; k < 4 && p != NULL; k++) {
		q = k < 3 ? strchr(p, '|') : NULL;
		if (q != NULL)
			*q++ = '\0';
		f[k] = p;
		p = q;
	}
	for (i = 0; i < NELEM(obs); i++)
		pp_obs_init(&obs[i], "webhook");
	rc = pp_event_read(a, body, bn, obs, (int)NELEM(obs), &approved, &custom, err, sizeof(err));
	MUST(rc >= -1 && rc <= (int)NELEM(obs));
	for (k = 0; k < rc; k++)
		MUST(obs[k].event_id != NULL && obs[k].state >= -1 && obs[k].state < PAY__MAX &&
		    obs[k].amount >= -1);
	exp = pp_expected(a, f[0], f[1], "WH-FUZZ", body, bn);
	snprintf(crc, sizeof(crc), "|%u", (unsigned)pp_crc32(body, bn));
	MUST(exp != NULL && strlen(exp) >= strlen(crc) &&
	    strcmp(exp + strlen(exp) - strlen(crc), crc) == 0);
	if (pp_cert_url_ok(f[2], PP_CERT_HOSTS_DEFAULT, err, sizeof(err)))
		MUST(strncmp(f[2], "https://", 8) == 0);
	MUST(pp_sig_verify(pp_vector_pem, exp, f[3], err, sizeof(err)) == 0);
	arena_free(a);
	return rc < 0 ? 400 : 0;
}

/*
 * Passkey bytes (passkey_parse.c).  The first byte picks what the rest
 * is: even, an attestationObject, then its authenticator data with a
 * credential, that credential's COSE key, and a signature check over
 * the bytes (which must fail: nothing signed them); odd, the
 * authenticator data of an assertion.  Invariants: whatever a parser
 * accepts points inside the input, within its bounds, and a key that
 * passes has an accepted algorithm.
 */
static int
probe_passkey(const uint8_t *data, size_t n)
{
	const unsigned char *ad = NULL, *p = data + 1;
	struct pk_authdata d;
	const char *why;
	size_t	 adlen = 0, m;
	int	 alg = 0;

	if (n == 0)
		return 400;
	m = n - 1;
	if (data[0] & 1) {
		if ((why = pk_authdata(p, m, 0, &d)) != NULL) {
			MUST(*why != '\0');
			return 400;
		}
		MUST(d.rp_id_hash == p && d.cred_id == NULL && d.cose == NULL);
		return 0;
	}
	if ((why = pk_attestation(p, m, &ad, &adlen)) != NULL) {
		MUST(*why != '\0');
		return 400;
	}
	MUST(ad >= p && adlen <= m && ad + adlen <= p + m);
	if (pk_authdata(ad, adlen, 1, &d) != NULL)
		return 400;
	MUST(d.cred_len >= PK_CRED_MIN && d.cred_len <= PK_CRED_MAX && d.cred_id == ad + 55);
	MUST(d.cose == d.cred_id + d.cred_len && d.cose_len <= PK_COSE_MAX &&
	    d.cose + d.cose_len <= ad + adlen);
	if (pk_cose_check(d.cose, d.cose_len, &alg) != NULL)
		return 400;
	MUST(alg == PK_ALG_ES256 || alg == PK_ALG_EDDSA);
	MUST(!pk_sig_ok(d.cose, d.cose_len, alg, p, m, ad, adlen));
	return 0;
}

int
probe_run(enum probe p, const uint8_t *data, size_t n)
{
	struct arena *a;
	struct request *r;
	const char *nl;
	char	*s;
	size_t	 i;
	int	 rc = 0, ref;

	if (p == PROBE_TEMPLATE)
		return probe_template(data, n);
	if (p == PROBE_XUI)
		return probe_xui(data, n);
	if (p == PROBE_NOWPAY)
		return probe_nowpay(data, n);
	if (p == PROBE_STRIPE)
		return probe_stripe(data, n);
	if (p == PROBE_PAYPAL)
		return probe_paypal(data, n);
	if (p == PROBE_PASSKEY)
		return probe_passkey(data, n);
	if (p == PROBE_UTF8) {
		int nlok = n > 0 && (data[0] & 1);

		rc = utf8_valid((const char *)data, n, nlok);
		ref = ref_utf8(data, n, nlok);
		MUST(rc == ref);
		return rc ? 0 : 400;
	}
	a = arena_new(4096);
	r = arena_zalloc(a, sizeof(*r));
	r->a = a;
	/* Parsers see a NUL-terminated copy, as the transport gives them. */
	s = arena_alloc(a, n + 1);
	memcpy(s, data, n);
	s[n] = '\0';
	switch (p) {
	case PROBE_QUERY:
		rc = req_parse_query(r, &r->query, s, n, &plim);
		if (rc == 0)
			check_list(&r->query, 1);
		break;
	case PROBE_COOKIE:
		rc = req_parse_cookies(r, s, &plim);
		if (rc == 0)
			check_list(&r->cookies, 0);
		break;
	case PROBE_MULTIPART:
		nl = memchr(s, '\n', n);
		r->ctype = arena_printf(a, "multipart/form-data%.*s",
		    (int)(nl ? (size_t)(nl - s) : n), s);
		r->body = nl ? nl + 1 : s + n;
		r->body_len = nl ? n - (size_t)(nl + 1 - s) : 0;
		rc = req_parse_body(r, &plim);
		if (rc == 0) {
			check_list(&r->form, 1);
			MUST(r->nuploads <= plim.max_fields);
			for (i = 0; i < r->nuploads; i++) {
				const struct upload *u = &r->uploads[i];

				MUST(u->data >= r->body &&
				    u->data + u->len <= r->body + r->body_len);
				MUST(u->name != NULL && u->filename != NULL &&
				    u->ctype != NULL);
			}
		}
		break;
	case PROBE_JSON:
		r->ctype = "application/json";
		r->body = s;
		r->body_len = n;
		rc = req_parse_body(r, &plim);
		MUST(rc == 0 || r->json == NULL);
		if (r->json != NULL) {
			/* What we accepted must serialize and parse back. */
			const char *j = json_object_to_json_string_ext(r->json,
			    JSON_C_TO_STRING_PLAIN);
			struct json_object *back = json_tokener_parse(j);

			MUST(back != NULL);
			json_object_put(back);
			check_json(r->json);
			json_object_put(r->json);
		}
		break;
	default:
		abort();
	}
	MUST(rc == 0 || r->error != NULL);
	arena_free(a);
	return rc;
}
