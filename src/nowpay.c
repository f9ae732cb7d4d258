/*
 * nowpay.c: the pure parts of the NOWPayments gateway: the JSON reader
 * that keeps what the signature needs, the canonical form, HMAC-SHA512,
 * the status map and the amount arithmetic (see nowpay.h).
 *
 * Why a reader of our own and not json-c: the signature is over
 * JavaScript's view of the body, and json-c's doubles are not
 * JavaScript's numbers (nor does it refuse duplicate keys).  The fields
 * the shop acts on are read from the same tree the signature was checked
 * over, so what was signed is what is applied.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "money.h"
#include "nowpay.h"
#include "payment.h"
#include "util.h"

struct rd {
	struct arena	*a;
	const char	*p, *end;
	char		*err;
	size_t		 errsz;
	int		 failed;
};

static void PX_PRINTF(2, 3)
rd_fail(struct rd *r, const char *fmt, ...)
{
	va_list	 ap;

	if (r->failed)
		return;
	r->failed = 1;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errsz, fmt, ap);
	va_end(ap);
}

static void
skip_ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex4(const char *p, const char *end)
{
	int	 v = 0, i, d;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((d = hexval((unsigned char)p[i])) < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void
put_utf8(struct buf *b, unsigned long cp)
{
	char	 o[4];

	if (cp < 0x80) {
		o[0] = (char)cp;
		buf_add(b, o, 1);
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, o, 2);
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, o, 3);
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, o, 4);
	}
}

/* A string token at r->p (the opening quote), decoded into the arena. */
static const char *
rd_string(struct rd *r, size_t *len)
{
	struct buf b;
	const char *s;

	buf_init(&b);
	r->p++;
	for (;;) {
		unsigned char c;

		if (r->p >= r->end) {
			rd_fail(r, "unterminated string");
			break;
		}
		c = (unsigned char)*r->p;
		if (c == '"') {
			r->p++;
			break;
		}
		if (c < 0x20) {
			rd_fail(r, "a control character inside a string");
			break;
		}
		if (c != '\\') {
			const char *q = r->p;

			while (q < r->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
				q++;
			buf_add(&b, r->p, (size_t)(q - r->p));
			r->p = q;
			continue;
		}
		if (r->end - r->p < 2) {
			rd_fail(r, "unterminated escape");
			break;
		}
		c = (unsigned char)r->p[1];
		r->p += 2;
		switch (c) {
		case '"': buf_putc(&b, '"'); continue;
		case '\\': buf_putc(&b, '\\'); continue;
		case '/': buf_putc(&b, '/'); continue;
		case 'b': buf_putc(&b, '\b'); continue;
		case 'f': buf_putc(&b, '\f'); continue;
		case 'n': buf_putc(&b, '\n'); continue;
		case 'r': buf_putc(&b, '\r'); continue;
		case 't': buf_putc(&b, '\t'); continue;
		case 'u': {
			int	 u = hex4(r->p, r->end), lo;

			if (u < 0) {
				rd_fail(r, "a bad \\u escape");
				goto out;
			}
			r->p += 4;
			if (u == 0) {
				rd_fail(r, "\\u0000 inside a string");
				goto out;
			}
			if (u >= 0xdc00 && u <= 0xdfff) {
				rd_fail(r, "a lone low surrogate");
				goto out;
			}
			if (u >= 0xd800 && u <= 0xdbff) {
				if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
				    (lo = hex4(r->p + 2, r->end)) < 0xdc00 || lo > 0xdfff) {
					rd_fail(r, "a lone high surrogate");
					goto out;
				}
				r->p += 6;
				put_utf8(&b, 0x10000 + (((unsigned long)u - 0xd800) << 10) +
				    ((unsigned long)lo - 0xdc00));
				continue;
			}
			put_utf8(&b, (unsigned long)u);
			continue;
		}
		default:
			rd_fail(r, "a bad escape");
			goto out;
		}
	}
out:
	if (!r->failed && b.len > 0) {
		/* Valid UTF-8?  utf8_valid also refuses the C0 controls and
		 * DEL, which escapes (\b, \u007f) may put here: judge a
		 * copy with those masked. */
		char	*t = xmalloc(b.len);
		size_t	 i;

		for (i = 0; i < b.len; i++)
			t[i] = (unsigned char)b.p[i] < 0x20 || b.p[i] == 0x7f ? ' ' : b.p[i];
		if (!utf8_valid(t, b.len, 0))
			rd_fail(r, "invalid UTF-8 in a string");
		free(t);
	}
	s = arena_strndup(r->a, b.p ? b.p : "", b.len);
	*len = b.len;
	buf_free(&b);
	return s;
}

/*
 * The number as JavaScript's Number::toString writes it (ECMA-262
 * 6.1.6.1.20): the shortest digits that read back to the same double,
 * plain between 1e-7 and 1e21, else d.ddde+N.  glibc's printf and strtod
 * round correctly, so the first precision that reads back is the
 * shortest, and its correctly rounded digits are the closest.
 */
static const char *
js_number(struct arena *a, const char *tok, size_t n)
{
	char	 e[40], digits[24], out[64];
	double	 v;
	int	 p, k = 0, exp10, i, o = 0;
	char	*q;

	v = strtod(arena_strndup(a, tok, n), NULL);
	if (!isfinite(v))
		return "null";	/* JSON.stringify(Infinity) */
	if (v == 0)
		return "0";	/* and -0 */
	for (p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	q = e;
	if (*q == '-') {
		out[o++] = '-';
		q++;
	}
	for (; *q && *q != 'e'; q++)
		if (*q != '.')
			digits[k++] = *q;
	digits[k] = '\0';
	exp10 = atoi(q + 1);
	while (k > 1 && digits[k - 1] == '0')
		digits[--k] = '\0';
	{
		int	 np = exp10 + 1;

		if (k <= np && np <= 21) {
			memcpy(out + o, digits, (size_t)k);
			o += k;
			for (i = 0; i < np - k; i++)
				out[o++] = '0';
		} else if (0 < np && np <= 21) {
			memcpy(out + o, digits, (size_t)np);
			o += np;
			out[o++] = '.';
			memcpy(out + o, digits + np, (size_t)(k - np));
			o += k - np;
		} else if (-6 < np && np <= 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (i = 0; i < -np; i++)
				out[o++] = '0';
			memcpy(out + o, digits, (size_t)k);
			o += k;
		} else {
			out[o++] = digits[0];
			if (k > 1) {
				out[o++] = '.';
				memcpy(out + o, digits + 1, (size_t)(k - 1));
				o += k - 1;
			}
			o += snprintf(out + o, sizeof(out) - (size_t)o, "e%c%d",
			    np - 1 >= 0 ? '+' : '-', np - 1 >= 0 ? np - 1 : 1 - np);
		}
	}
	out[o] = '\0';
	return arena_strdup(a, out);
}

/* A number token (RFC 8259 grammar) at r->p. */
static const char *
rd_number(struct rd *r, size_t *len)
{
	const char *s = r->p, *p = r->p;
	const char *t;

	if (p < r->end && *p == '-')
		p++;
	if (p < r->end && *p == '0')
		p++;
	else if (p < r->end && *p >= '1' && *p <= '9')
		while (p < r->end && isdigit((unsigned char)*p))
			p++;
	else {
		rd_fail(r, "a bad number");
		return NULL;
	}
	if (p < r->end && *p == '.') {
		p++;
		if (p >= r->end || !isdigit((unsigned char)*p)) {
			rd_fail(r, "a bad number");
			return NULL;
		}
		while (p < r->end && isdigit((unsigned char)*p))
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || !isdigit((unsigned char)*p)) {
			rd_fail(r, "a bad number");
			return NULL;
		}
		while (p < r->end && isdigit((unsigned char)*p))
			p++;
	}
	r->p = p;
	t = js_number(r->a, s, (size_t)(p - s));
	*len = strlen(t);
	return t;
}

static int
member_cmp(const void *x, const void *y)
{
	const struct np_member *a = x, *b = y;
	size_t	 n = a->keylen < b->keylen ? a->keylen : b->keylen;
	int	 c = memcmp(a->key, b->key, n);

	if (c != 0)
		return c;
	return a->keylen < b->keylen ? -1 : a->keylen > b->keylen;
}

static struct np_val *rd_value(struct rd *, int depth);

static struct np_val *
rd_object(struct rd *r, int depth)
{
	struct np_val *v = arena_zalloc(r->a, sizeof(*v));
	struct np_member *m = NULL;
	size_t	 n = 0, cap = 0, i;

	v->t = NP_OBJ;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return v;
	}
	for (;;) {
		struct np_member one;

		skip_ws(r);
		if (r->p >= r->end || *r->p != '"') {
			rd_fail(r, "an object key must be a string");
			break;
		}
		one.key = rd_string(r, &one.keylen);
		if (r->failed)
			break;
		skip_ws(r);
		if (r->p >= r->end || *r->p != ':') {
			rd_fail(r, "':' expected");
			break;
		}
		r->p++;
		one.val = rd_value(r, depth + 1);
		if (r->failed)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			m = xrealloc(m, cap * sizeof(*m));
		}
		m[n++] = one;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			break;
		}
		rd_fail(r, "',' or '}' expected");
		break;
	}
	if (!r->failed && n > 0) {
		qsort(m, n, sizeof(*m), member_cmp);
		for (i = 1; i < n; i++)
			if (member_cmp(&m[i - 1], &m[i]) == 0)
				rd_fail(r, "a duplicate key");
		v->m = arena_alloc(r->a, n * sizeof(*m));
		memcpy(v->m, m, n * sizeof(*m));
		v->count = n;
	}
	free(m);
	return v;
}

static struct np_val *
rd_array(struct rd *r, int depth)
{
	struct np_val *v = arena_zalloc(r->a, sizeof(*v)), **it = NULL, *one;
	size_t	 n = 0, cap = 0;

	v->t = NP_ARR;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return v;
	}
	for (;;) {
		one = rd_value(r, depth + 1);
		if (r->failed)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			it = xrealloc(it, cap * sizeof(*it));
		}
		it[n++] = one;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			break;
		}
		rd_fail(r, "',' or ']' expected");
		break;
	}
	if (!r->failed && n > 0) {
		v->v = arena_alloc(r->a, n * sizeof(*it));
		memcpy(v->v, it, n * sizeof(*it));
		v->count = n;
	}
	free(it);
	return v;
}

static struct np_val *
rd_value(struct rd *r, int depth)
{
	struct np_val *v;
	static const struct { const char *w; enum np_type t; } lit[] = {
		{ "null", NP_NULL }, { "true", NP_TRUE }, { "false", NP_FALSE },
	};
	size_t	 i;

	if (depth > NP_DEPTH_MAX) {
		rd_fail(r, "nested too deep");
		return NULL;
	}
	skip_ws(r);
	if (r->p >= r->end) {
		rd_fail(r, "a value expected");
		return NULL;
	}
	if (*r->p == '{')
		return rd_object(r, depth);
	if (*r->p == '[')
		return rd_array(r, depth);
	v = arena_zalloc(r->a, sizeof(*v));
	if (*r->p == '"') {
		v->t = NP_STR;
		v->s = rd_string(r, &v->n);
		return v;
	}
	if (*r->p == '-' || isdigit((unsigned char)*r->p)) {
		v->t = NP_NUM;
		v->s = rd_number(r, &v->n);
		return v;
	}
	for (i = 0; i < NELEM(lit); i++) {
		size_t	 wl = strlen(lit[i].w);

		if ((size_t)(r->end - r->p) >= wl && memcmp(r->p, lit[i].w, wl) == 0) {
			r->p += wl;
			v->t = lit[i].t;
			return v;
		}
	}
	rd_fail(r, "a value expected");
	return NULL;
}

struct np_val *
np_parse(struct arena *a, const char *body, size_t len, char *err, size_t errsz)
{
	struct rd r;
	struct np_val *v;

	memset(&r, 0, sizeof(r));
	r.a = a;
	r.p = body;
	r.end = body + len;
	r.err = err;
	r.errsz = errsz;
	if (errsz > 0)
		err[0] = '\0';
	if (len > NP_BODY_MAX) {
		snprintf(err, errsz, "body over %d bytes", NP_BODY_MAX);
		return NULL;
	}
	v = rd_value(&r, 0);
	skip_ws(&r);
	if (!r.failed && r.p != r.end)
		rd_fail(&r, "text after the JSON value");
	return r.failed ? NULL : v;
}

/* s as JSON.stringify writes a string (QuoteJSONString). */
static void
js_string(struct buf *b, const char *s, size_t n)
{
	size_t	 i, run = 0;

	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char	 u[8];

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(u, sizeof(u), "\\u%04x", c);
				esc = u;
			}
		}
		if (esc == NULL)
			continue;
		buf_add(b, s + run, i - run);
		buf_puts(b, esc);
		run = i + 1;
	}
	buf_add(b, s + run, n - run);
	buf_putc(b, '"');
}

/* An array index as JavaScript objects know it ("0", "7", "42", below
 * 2^32 - 1, no leading zero), or -1. */
static int64_t
js_index(const char *k, size_t n)
{
	int64_t	 v = 0;
	size_t	 i;

	if (n == 0 || n > 10 || (n > 1 && k[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (k[i] < '0' || k[i] > '9')
			return -1;
		v = v * 10 + (k[i] - '0');
	}
	return v < INT64_C(4294967295) ? v : -1;
}

/* The next UTF-16 code unit of UTF-8 text s (valid: np_parse checked
 * it), advancing *i; *lo holds a pending low surrogate. */
static unsigned
utf16_next(const unsigned char *s, size_t *i, unsigned *lo)
{
	unsigned long cp;

	if (*lo != 0) {
		unsigned u = *lo;

		*lo = 0;
		return u;
	}
	cp = s[*i];
	if (cp < 0x80)
		*i += 1;
	else if (cp < 0xe0) {
		cp = ((cp & 0x1f) << 6) | (s[*i + 1] & 0x3f);
		*i += 2;
	} else if (cp < 0xf0) {
		cp = ((cp & 0x0f) << 12) | ((unsigned long)(s[*i + 1] & 0x3f) << 6) | (s[*i + 2] & 0x3f);
		*i += 3;
	} else {
		cp = ((cp & 0x07) << 18) | ((unsigned long)(s[*i + 1] & 0x3f) << 12) |
		    ((unsigned long)(s[*i + 2] & 0x3f) << 6) | (s[*i + 3] & 0x3f);
		*i += 4;
	}
	if (cp < 0x10000)
		return (unsigned)cp;
	cp -= 0x10000;
	*lo = 0xdc00 + (unsigned)(cp & 0x3ff);
	return 0xd800 + (unsigned)(cp >> 10);
}

/*
 * The order JSON.stringify(sortObject(o)) writes an object's keys in:
 * Array.prototype.sort compares UTF-16 code units (byte order of UTF-8
 * but for characters past U+FFFF against U+E000-U+FFFF), and an object
 * then lists its array-index keys first, in numeric order.
 */
static int
js_key_cmp(const void *x, const void *y)
{
	const struct np_member *a = *(const struct np_member *const *)x;
	const struct np_member *b = *(const struct np_member *const *)y;
	int64_t	 ia = js_index(a->key, a->keylen), ib = js_index(b->key, b->keylen);
	size_t	 i = 0, j = 0;
	unsigned la = 0, lb = 0;

	if (ia >= 0 || ib >= 0) {
		if (ia < 0)
			return 1;
		if (ib < 0)
			return -1;
		return ia < ib ? -1 : ia > ib;
	}
	while ((i < a->keylen || la) && (j < b->keylen || lb)) {
		unsigned ua = utf16_next((const unsigned char *)a->key, &i, &la);
		unsigned ub = utf16_next((const unsigned char *)b->key, &j, &lb);

		if (ua != ub)
			return ua < ub ? -1 : 1;
	}
	if (i < a->keylen || la)
		return 1;
	if (j < b->keylen || lb)
		return -1;
	return 0;
}

static void
canon(struct buf *b, const struct np_val *v)
{
	const struct np_member **ord;
	size_t	 i;

	switch (v->t) {
	case NP_NULL: buf_puts(b, "null"); break;
	case NP_TRUE: buf_puts(b, "true"); break;
	case NP_FALSE: buf_puts(b, "false"); break;
	case NP_NUM: buf_add(b, v->s, v->n); break;
	case NP_STR: js_string(b, v->s, v->n); break;
	case NP_ARR:
		buf_putc(b, '[');
		for (i = 0; i < v->count; i++) {
			if (i > 0)
				buf_putc(b, ',');
			canon(b, v->v[i]);
		}
		buf_putc(b, ']');
		break;
	case NP_OBJ:
		ord = xcalloc(v->count ? v->count : 1, sizeof(*ord));
		for (i = 0; i < v->count; i++)
			ord[i] = &v->m[i];
		qsort(ord, v->count, sizeof(*ord), js_key_cmp);
		buf_putc(b, '{');
		for (i = 0; i < v->count; i++) {
			if (i > 0)
				buf_putc(b, ',');
			js_string(b, ord[i]->key, ord[i]->keylen);
			buf_putc(b, ':');
			canon(b, ord[i]->val);
		}
		buf_putc(b, '}');
		free(ord);
		break;
	}
}

const char *
np_canonical(struct arena *a, const struct np_val *v, size_t *len)
{
	struct buf b;
	const char *s;

	buf_init(&b);
	canon(&b, v);
	s = arena_strndup(a, b.p ? b.p : "", b.len);
	if (len != NULL)
		*len = b.len;
	buf_free(&b);
	return s;
}

const struct np_val *
np_get(const struct np_val *v, const char *key)
{
	size_t	 lo = 0, hi, kl = strlen(key);
	struct np_member k;

	if (v == NULL || v->t != NP_OBJ)
		return NULL;
	k.key = key;
	k.keylen = kl;
	hi = v->count;
	while (lo < hi) {
		size_t	 mid = lo + (hi - lo) / 2;
		int	 c = member_cmp(&k, &v->m[mid]);

		if (c == 0)
			return v->m[mid].val;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *
np_scalar(const struct np_val *v, const char *key)
{
	const struct np_val *m = np_get(v, key);

	if (m == NULL || (m->t != NP_STR && m->t != NP_NUM))
		return NULL;
	return m->s;
}

void
np_sig_hex(const char *secret, const char *data, size_t len, char out[129])
{
	unsigned char mac[64];
	unsigned int mlen = sizeof(mac);

	HMAC(EVP_sha512(), secret, (int)strlen(secret), (const unsigned char *)data, len, mac, &mlen);
	hex_encode(out, mac, sizeof(mac));
	OPENSSL_cleanse(mac, sizeof(mac));
}

int
np_sig_ok(const char *secret, const char *canon_text, size_t len, const char *hexsig)
{
	unsigned char want[64], got[64];
	unsigned int mlen = sizeof(want);
	size_t	 i, n;
	int	 ok;

	if (secret == NULL || *secret == '\0' || hexsig == NULL)
		return 0;
	while (*hexsig == ' ' || *hexsig == '\t')
		hexsig++;
	n = strlen(hexsig);
	while (n > 0 && (hexsig[n - 1] == ' ' || hexsig[n - 1] == '\t'))
		n--;
	if (n != 128)
		return 0;
	for (i = 0; i < 64; i++) {
		int	 hi = hexval((unsigned char)hexsig[2 * i]), lo = hexval((unsigned char)hexsig[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return 0;
		got[i] = (unsigned char)(hi * 16 + lo);
	}
	HMAC(EVP_sha512(), secret, (int)strlen(secret), (const unsigned char *)canon_text, len,
	    want, &mlen);
	ok = CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

int
np_state(const char *s)
{
	static const struct { const char *w; int st; } map[] = {
		{ "waiting", PAY_PENDING }, { "confirming", PAY_PENDING },
		{ "confirmed", PAY_PENDING }, { "sending", PAY_PENDING },
		{ "partially_paid", PAY_PARTIALLY_PAID }, { "finished", PAY_SUCCEEDED },
		{ "failed", PAY_FAILED }, { "expired", PAY_EXPIRED },
		{ "refunded", PAY_REFUNDED },
	};
	size_t	 i;

	for (i = 0; s != NULL && i < NELEM(map); i++)
		if (strcmp(s, map[i].w) == 0)
			return map[i].st;
	return -1;
}

/*
 * A non-negative decimal as mantissa x 10^-scale, exactly: "0.00123"
 * is 123 and 5.  Trailing fraction zeros are dropped; at most 18
 * significant digits and a scale of at most 36 (and an exponent is
 * folded in).  0, or -1.
 */
static int
decimal(const char *s, uint64_t *mant, int *scale)
{
	uint64_t m = 0;
	int	 sc = 0, digits = 0, seen = 0, frac = 0;
	long	 e = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s == '.' && !frac) {
			frac = 1;
			continue;
		}
		if (!isdigit((unsigned char)*s))
			break;
		seen = 1;
		if (m == 0 && *s == '0') {
			if (frac)
				sc++;
			continue;
		}
		if (++digits > 18)
			return -1;
		m = m * 10 + (uint64_t)(*s - '0');
		if (frac)
			sc++;
	}
	if (!seen)
		return -1;
	if (*s == 'e' || *s == 'E') {
		char	*end;

		e = strtol(s + 1, &end, 10);
		if (end == s + 1 || *end != '\0' || e > 36 || e < -36)
			return -1;
		s = end;
	}
	if (*s != '\0')
		return -1;
	sc -= (int)e;
	while (sc > 0 && m != 0 && m % 10 == 0) {
		m /= 10;
		sc--;
	}
	if (m == 0)
		sc = 0;
	while (sc < 0) {	/* 1e3: scale up into the mantissa */
		if (m > UINT64_MAX / 10)
			return -1;
		m *= 10;
		sc++;
	}
	if (sc > 36)
		return -1;
	*mant = m;
	*scale = sc;
	return 0;
}

static unsigned __int128
pow10_128(int n)
{
	unsigned __int128 p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

int
np_minor(const char *text, int exp, int64_t *out)
{
	uint64_t m;
	int	 sc;
	unsigned __int128 v;

	if (exp < 0 || exp > 4 || decimal(text, &m, &sc) != 0)
		return -1;
	/* m x 10^(exp - sc), rounded down */
	v = m;
	if (exp >= sc)
		v *= pow10_128(exp - sc);
	else
		v /= pow10_128(sc - exp);
	if (v > (unsigned __int128)MONEY_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int64_t
np_received(int64_t price_minor, const char *actually_paid, const char *pay_amount)
{
	uint64_t am, pm;
	int	 as, ps;
	unsigned __int128 num, den, q;

	if (price_minor < 0 || price_minor > MONEY_MAX ||
	    decimal(actually_paid, &am, &as) != 0 || decimal(pay_amount, &pm, &ps) != 0 || pm == 0)
		return -1;
	/* price x (am / 10^as) / (pm / 10^ps) = price x am x 10^ps / (pm x 10^as).
	 * Bring both to one scale: price <= 10^15, am and pm < 10^18, and
	 * the scales' difference is moved into whichever side keeps the
	 * product under 2^128 (about 3.4 x 10^38). */
	num = (unsigned __int128)(uint64_t)price_minor * am;	/* < 10^33 */
	den = pm;
	if (ps >= as) {
		unsigned __int128 p = pow10_128(ps - as);

		if (ps - as > 38 || num > ~(unsigned __int128)0 / p)
			return -1;	/* far beyond MONEY_MAX anyway */
		num *= p;
	} else {
		unsigned __int128 p = pow10_128(as - ps);

		if (as - ps > 38 || den > ~(unsigned __int128)0 / p)
			return 0;	/* den > 2^128 > num: less than one minor unit */
		den *= p;
	}
	if (den == 0)
		return -1;
	q = num / den;
	if (q > (unsigned __int128)MONEY_MAX)
		return -1;
	return (int64_t)q;
}

static const char *
upper(struct arena *a, const char *s)
{
	char	*u = arena_strdup(a, s), *p;

	for (p = u; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return u;
}

int
np_observe(struct arena *a, const struct np_val *p, struct pay_observation *obs,
    const char **order_id, char *err, size_t errsz)
{
	const char *pid = np_scalar(p, "payment_id"), *status = np_scalar(p, "payment_status");
	const char *inv = np_scalar(p, "invoice_id"), *paid = np_scalar(p, "actually_paid");
	const char *pcur = np_scalar(p, "price_currency"), *price = np_scalar(p, "price_amount");
	const char *payamt = np_scalar(p, "pay_amount");
	const struct np_val *oid = np_get(p, "order_id");
	int64_t	 price_minor = -1;
	int	 ex;

	*order_id = oid != NULL && (oid->t == NP_STR || oid->t == NP_NUM) ? oid->s : NULL;
	obs->payment_public = *order_id != NULL && **order_id != '\0' ? *order_id : NULL;
	if (pid == NULL || *pid == '\0' || status == NULL || *status == '\0') {
		snprintf(err, errsz, "a payment object without payment_id or payment_status");
		return -1;
	}
	obs->event_id = arena_printf(a, "%s:%s:%s", pid, status, paid != NULL ? paid : "0");
	obs->event_type = arena_printf(a, "payment.%s", status);
	obs->ref = inv != NULL && *inv != '\0' ? inv : NULL;
	obs->ref2 = pid;
	obs->state = np_state(status);
	if (pcur != NULL && *pcur != '\0') {
		obs->currency = upper(a, pcur);
		if ((ex = money_exponent(obs->currency)) >= 0 && price != NULL &&
		    np_minor(price, ex, &price_minor) != 0)
			price_minor = -1;
	}
	if (price_minor >= 0 && paid != NULL && payamt != NULL)
		obs->amount = np_received(price_minor, paid, payamt);
	if (obs->state == PAY_REFUNDED && price_minor > 0) {
		obs->refunded_total = price_minor;
		obs->refund_amount = price_minor;
		obs->refund_ref = arena_printf(a, "refund:%s", pid);
	}
	return 0;
}
