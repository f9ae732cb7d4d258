/*
 * valid.c: the input validators and the declared form fields (valid.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "http.h"
#include "response.h"
#include "util.h"
#include "valid.h"

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A DNS name of min_labels labels or more: letters, digits, '-'
 * inside a label, at most 63 bytes a label and 253 in all. */
static int
host_name_ok(const char *s, size_t n, size_t min_labels)
{
	size_t	 i, label = 0, labels = 1;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if (s[i] == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[n - 1] != '-' && labels >= min_labels;
}

int
valid_email(const char *e)
{
	const char *at;
	size_t	 i, n;

	if (e == NULL || (n = strlen(e)) < 3 || n > VALID_EMAIL_MAX ||
	    (at = strchr(e, '@')) == NULL || at == e ||
	    (size_t)(at - e) > VALID_EMAIL_LOCAL_MAX)
		return 0;
	for (i = 0; e + i < at; i++)
		if ((unsigned char)e[i] <= ' ' || (unsigned char)e[i] >= 0x7f ||
		    strchr("()<>[],;:\\\"@", e[i]) != NULL)
			return 0;
	return host_name_ok(at + 1, strlen(at + 1), 2);
}

int
valid_slug(const char *s, size_t max)
{
	size_t	 i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
valid_coupon_code(const char *s)
{
	size_t	 i, n;

	if (s == NULL || (n = strlen(s)) < 3 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* The code point of the UTF-8 sequence at *p (valid: checked before),
 * advancing *p past it. */
static unsigned
next_cp(const unsigned char **p)
{
	const unsigned char *u = *p;

	if (u[0] < 0x80) {
		*p += 1;
		return u[0];
	}
	if (u[0] < 0xe0) {
		*p += 2;
		return ((unsigned)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
	}
	if (u[0] < 0xf0) {
		*p += 3;
		return ((unsigned)(u[0] & 0x0f) << 12) | ((unsigned)(u[1] & 0x3f) << 6) |
		    (u[2] & 0x3f);
	}
	*p += 4;
	return ((unsigned)(u[0] & 0x07) << 18) | ((unsigned)(u[1] & 0x3f) << 12) |
	    ((unsigned)(u[2] & 0x3f) << 6) | (u[3] & 0x3f);
}

int
valid_line(const char *s, size_t max)
{
	const unsigned char *p, *end;
	size_t	 n, chars = 0;
	unsigned c;

	if (s == NULL || !utf8_valid(s, (n = strlen(s)), 0))
		return 0;
	p = (const unsigned char *)s;
	end = p + n;
	while (p < end) {
		c = next_cp(&p);
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
		    c == 0x061c || c == 0x200e || c == 0x200f ||
		    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
			return 0;
		if (++chars > max)
			return 0;
	}
	return 1;
}

/*
 * valid_line's rule with line breaks and tabs let through: a plan's or a
 * category's description is a paragraph or two typed into a textarea,
 * which browsers send with CRLF.  Everything else valid_line refuses
 * stays refused (NUL, other C0, DEL, C1, U+2028/2029, bidi controls).
 */
int
valid_text(const char *s, size_t max)
{
	const unsigned char *p, *end;
	size_t	 n, chars = 0;
	unsigned c;

	if (s == NULL || !utf8_valid(s, (n = strlen(s)), 1))
		return 0;
	p = (const unsigned char *)s;
	end = p + n;
	while (p < end) {
		c = next_cp(&p);
		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') ||
		    (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
		    c == 0x061c || c == 0x200e || c == 0x200f ||
		    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
			return 0;
		if (++chars > max)
			return 0;
	}
	return 1;
}

int
valid_name(const char *s)
{
	return valid_line(s, 100);
}

int
valid_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	int64_t	 v = 0;
	int	 neg = 0;
	size_t	 i = 0;

	if (s == NULL)
		return 0;
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (s[i] == '\0' || (s[i] == '0' && s[i + 1] != '\0'))
		return 0;
	for (; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		/* Accumulate negatively: INT64_MIN has no positive twin. */
		if (v < (INT64_MIN + (s[i] - '0')) / 10)
			return 0;
		v = v * 10 - (s[i] - '0');
	}
	if (!neg) {
		if (v == INT64_MIN)
			return 0;
		v = -v;
	} else if (v == 0)
		return 0;	/* "-0" */
	if (v < min || v > max)
		return 0;
	if (out != NULL)
		*out = v;
	return 1;
}

/* Digits after the decimal point in currency's minor unit (ISO 4217). */
static int
minor_digits(const char *cur)
{
	static const char *const none[] = { "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF",
	    "XOF" };
	size_t	 i;

	for (i = 0; i < NELEM(none); i++)
		if (strcmp(cur, none[i]) == 0)
			return 0;
	return 2;
}

int
valid_money(const char *s, const char *cur, int64_t max, int64_t *minor)
{
	int64_t	 v = 0;
	int	 digits, frac = -1, i;

	if (s == NULL || cur == NULL || strlen(cur) != 3 ||
	    cur[0] < 'A' || cur[0] > 'Z' || cur[1] < 'A' || cur[1] > 'Z' ||
	    cur[2] < 'A' || cur[2] > 'Z' || s[0] == '\0' || s[0] == '.')
		return 0;
	digits = minor_digits(cur);
	for (; *s; s++) {
		if (*s == '.') {
			if (frac >= 0 || digits == 0 || s[1] == '\0')
				return 0;
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || (frac >= 0 && ++frac > digits))
			return 0;
		if (v > (INT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	for (i = frac < 0 ? 0 : frac; i < digits; i++) {
		if (v > INT64_MAX / 10)
			return 0;
		v *= 10;
	}
	if (v > max)
		return 0;
	if (minor != NULL)
		*minor = v;
	return 1;
}

int
valid_url(const char *u)
{
	const char *h, *end, *p;
	size_t	 n;

	if (u == NULL || (n = strlen(u)) > 2000)
		return 0;
	for (p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '\\' ||
		    *p == '#')
			return 0;
	if (strncmp(u, "https://", 8) == 0)
		h = u + 8;
	else if (strncmp(u, "http://", 7) == 0)
		h = u + 7;
	else
		return 0;
	end = h + strcspn(h, "/?");
	if (memchr(h, '@', (size_t)(end - h)) != NULL)
		return 0;	/* user:password@ in a URL ends up in logs */
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (close == NULL || close == h + 1)
			return 0;
		for (p = h + 1; p < close; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			    (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
				return 0;
		p = close + 1;
	} else {
		p = h + strcspn(h, ":/?");
		/* One label ("localhost", a test double's host) is a host too. */
		if (!host_name_ok(h, (size_t)(p - h), 1))
			return 0;
	}
	if (*p == ':') {
		int64_t	 port;
		char	 num[8];
		size_t	 pn = strcspn(p + 1, "/?");

		if (pn == 0 || pn >= sizeof(num))
			return 0;
		memcpy(num, p + 1, pn);
		num[pn] = '\0';
		if (!valid_int(num, 1, 65535, &port))
			return 0;
		p += 1 + pn;
	}
	return *p == '\0' || *p == '/' || *p == '?';
}

/*
 * A 3X-UI panel URL (issue 16, ASVS V1.9.1/V9.2.2): valid_url, and
 * https:// unless the host is loopback (127.0.0.0/8, [::1], localhost),
 * where the traffic never leaves the machine (the demo's panel double,
 * the tests).  The admin form, `1000proxy server add/set` and the panel
 * client (xui_open, so an old http:// row is refused at its next call)
 * all ask here.
 */
int
valid_panel_url(const char *u)
{
	const char *h;
	size_t	 n;

	if (!valid_url(u))
		return 0;
	if (strncmp(u, "https://", 8) == 0)
		return 1;
	h = u + 7;
	n = strcspn(h, "/?");
	if (h[0] == '[')
		return n >= 5 && strncmp(h, "[::1]", 5) == 0 && (n == 5 || h[5] == ':');
	n = strcspn(h, ":/?");
	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return 1;
	/* 127.a.b.c, all digits and dots (valid_url checked the rest). */
	return n >= 9 && strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == n;
}

/*
 * A host for share links: an IPv4 address, an IPv6 one (bare, as links
 * bracket it themselves), or a DNS name of two labels or more whose last
 * label is not all digits (so "1.2.3.999" is neither).
 */
int
valid_host(const char *s)
{
	unsigned char addr[16];
	const char *last;
	size_t	 n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 253)
		return 0;
	if (inet_pton(AF_INET, s, addr) == 1)
		return 1;
	if (strchr(s, ':') != NULL)
		return inet_pton(AF_INET6, s, addr) == 1;
	if (!host_name_ok(s, n, 2))
		return 0;
	last = strrchr(s, '.') + 1;
	return strspn(last, "0123456789") != strlen(last);
}

/* ---- declared form fields ---- */

const struct form form_none = { NULL, 0 };

static const struct field *
field_find(const struct request *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return &r->fields[i];
	return NULL;
}

static int
field_ok(const struct field *f, const char *v)
{
	size_t	 max = f->max > 0 ? (size_t)f->max : 1000;

	switch (f->kind) {
	case FK_TEXT:
		return valid_line(v, max);
	case FK_NAME:
		return valid_name(v);
	case FK_EMAIL:
		return valid_email(v);
	case FK_SECRET:
		return strlen(v) <= max;	/* request.c checked UTF-8 */
	case FK_INT:
		return valid_int(v, f->min, f->max, NULL);
	case FK_SLUG:
		return valid_slug(v, max);
	case FK_URL:
		return valid_url(v);
	case FK_PARA:
		return valid_text(v, max);
	case FK_FLAG:
		return 1;
	}
	return 0;
}

const char *
form_check(struct request *r, const struct field *fields, size_t n)
{
	const char *bad = NULL;
	size_t	 i;

	r->fields = fields;
	r->nfields = n;
	for (i = 0; i < r->form.n; i++)
		if (strcmp(r->form.v[i].key, "csrf") != 0 && field_find(r, r->form.v[i].key) == NULL)
			req_fail(r, 400, "This form has no field \"%s\".", r->form.v[i].key);
	for (i = 0; i < n; i++) {
		const char *v = kv_get(&r->form, fields[i].name);

		if (v == NULL && (fields[i].flags & FIELD_REQUIRED))
			req_fail(r, 400, "The field \"%s\" is missing from this form.", fields[i].name);
		if (v != NULL && bad == NULL && !field_ok(&fields[i], v))
			bad = fields[i].name;
	}
	return bad;
}

const char *
form_get(struct request *r, const char *name)
{
	if (field_find(r, name) == NULL)
		req_fail(r, 500, "form field %s read but not declared", name);
	return kv_get(&r->form, name);
}

int
form_valid(struct request *r, const char *name)
{
	const struct field *f = field_find(r, name);
	const char *v;

	if (f == NULL)
		req_fail(r, 500, "form field %s read but not declared", name);
	v = kv_get(&r->form, name);
	return v != NULL && field_ok(f, v);
}

/*
 * A JSON value against its declared field: the JSON type the kind
 * takes (FK_INT an integer in [min, max], FK_FLAG a boolean, every
 * other kind a string that field_ok() takes).  1 when it fits.
 */
static int
json_field_ok(const struct field *f, struct json_object *v)
{
	int64_t	 n;

	switch (f->kind) {
	case FK_INT:
		if (!json_object_is_type(v, json_type_int))
			return 0;
		n = json_object_get_int64(v);
		return n >= f->min && n <= f->max;
	case FK_FLAG:
		return json_object_is_type(v, json_type_boolean);
	default:
		return json_object_is_type(v, json_type_string) &&
		    field_ok(f, json_object_get_string(v));
	}
}

/* What a field's kind takes, for the refusal's message. */
static const char *
json_kind_text(const struct field *f)
{
	switch (f->kind) {
	case FK_INT: return "an integer in range";
	case FK_FLAG: return "true or false";
	case FK_EMAIL: return "an email address";
	case FK_URL: return "an http(s) URL";
	case FK_SLUG: return "a short name of a-z, 0-9 and -";
	default: return "a string within its length";
	}
}

/* 400 with the API's error contract: code invalid_body, the message. */
static void json_refuse(struct request *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void
json_refuse(struct request *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = arena_vprintf(r->a, fmt, ap);
	va_end(ap);
	r->error_code = "invalid_body";
	req_fail(r, 400, "%s", msg);
}

void
json_check(struct request *r, const struct form *shape)
{
	const struct field *f;
	size_t	 i;

	r->fields = shape->fields;
	r->nfields = shape->n;
	if (r->body_len == 0 || r->json == NULL) {
		/* No body: every field is absent. */
		for (i = 0; i < shape->n; i++)
			if (shape->fields[i].flags & FIELD_REQUIRED)
				json_refuse(r, "The field \"%s\" is missing from the JSON body.",
				    shape->fields[i].name);
		return;
	}
	if (!json_object_is_type(r->json, json_type_object))
		json_refuse(r, "The JSON body must be an object.");
	{
		json_object_object_foreach(r->json, k, v) {
			if ((f = field_find(r, k)) == NULL)
				json_refuse(r, "The JSON body has no field \"%.64s\".", k);
			if (!json_field_ok(f, v))
				json_refuse(r, "The field \"%s\" must be %s.", f->name, json_kind_text(f));
		}
	}
	for (i = 0; i < shape->n; i++)
		if ((shape->fields[i].flags & FIELD_REQUIRED) &&
		    !json_object_object_get_ex(r->json, shape->fields[i].name, NULL))
			json_refuse(r, "The field \"%s\" is missing from the JSON body.",
			    shape->fields[i].name);
}

struct json_object *
json_field(struct request *r, const char *name)
{
	struct json_object *v = NULL;

	if (field_find(r, name) == NULL)
		req_fail(r, 500, "JSON field %s read but not declared", name);
	if (r->json == NULL || !json_object_object_get_ex(r->json, name, &v))
		return NULL;
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* valid.h */
int
valid_date(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int64_t	 y, m, d;
	int	 i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
		return -1;
	*out = days_from_civil(y, m, d) * 86400;
	return 0;
}
