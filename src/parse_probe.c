/*
 * parse_probe.c: the parsers of request.c and view.c, utf8_valid, and
 * the panel reply readers of xui.c and xui_client.c, driven from raw
 * bytes without the transport (STYLE.md section 15).
 * fuzz/fuzz_*.c call probe_run() from LLVMFuzzerTestOneInput(); the
 * `test-parse` command calls it on stdin.  See parse_probe.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "http.h"
#include "money.h"
#include "nowpay.h"
#include "parse_probe.h"
#include "payment.h"
#include "util.h"
#include "view.h"
#include "xui.h"
#include "xui_client.h"

const char *const probe_names[PROBE__MAX] = {
	"query", "cookie", "multipart", "json", "template", "utf8", "xui",
	"nowpay"
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
