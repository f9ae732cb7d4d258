/*
 * request.c: parsing of the query string, urlencoded and multipart
 * forms, cookies and JSON bodies, with limits on size, count and field
 * length and UTF-8 validation.
 *
 * Every parser returns 0 or an HTTP status (400, 413, 415) with
 * r->error set to a message a person can act on.  Field names with odd
 * characters are dropped silently, as Fossil's cgi.c does: no handler
 * asks for them, so they can only be probes.
 *
 * One rule for text, wherever it comes from (query, form, multipart,
 * cookie, every key and string of a JSON body): valid UTF-8, no NUL, no
 * C0 control but tab (and CR/LF where a field may hold lines), no C1
 * control (U+0080-U+009F) and no bidirectional override or isolate
 * (U+202A-U+202E, U+2066-U+2069), which make text display in another
 * order than it is stored ("Trojan Source").  See text_check().
 */
#include "config.h"

#include <ctype.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "http.h"

const char *const method_names[M__MAX] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"
};

const char *
kv_get(const struct kvlist *l, const char *k)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, k) == 0)
			return l->v[i].val;
	return NULL;
}

void
kv_add(struct arena *a, struct kvlist *l, const char *k, const char *v,
    size_t len)
{
	if (l->n == l->cap) {
		size_t	 cap = l->cap ? l->cap * 2 : 16;
		struct kv *nv = arena_alloc(a, cap * sizeof(*nv));

		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].key = k;
	l->v[l->n].val = v;
	l->v[l->n].len = len;
	l->n++;
}

const char *
req_query(const struct request *r, const char *k)
{
	return kv_get(&r->query, k);
}

const char *
req_header(const struct request *r, const char *name)
{
	char	 env[128] = "HTTP_";
	size_t	 i, n = 5;

	if (r->env == NULL)
		return NULL;
	for (i = 0; name[i] != '\0' && n + 1 < sizeof(env); i++)
		env[n++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	if (name[i] != '\0')
		return NULL;
	env[n] = '\0';
	return r->env(r->env_ctx, env);
}

const char *
req_form(const struct request *r, const char *k)
{
	return kv_get(&r->form, k);
}

const char *
req_param(const struct request *r, const char *k)
{
	return kv_get(&r->params, k);
}

const char *
req_cookie(const struct request *r, const char *k)
{
	return kv_get(&r->cookies, k);
}

int64_t
req_param_int(const struct request *r, const char *k)
{
	int64_t	 v = 0;

	if (parse_i64(req_param(r, k), &v) != 0)
		return 0;
	return v;
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

/* Decode %XX (and '+' when asked) in place.  -1 on a malformed escape. */
int
url_decode(char *s, size_t *n, int plus_is_space)
{
	size_t	 i, o = 0;

	for (i = 0; i < *n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= *n)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			s[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+' && plus_is_space)
			s[o++] = ' ';
		else
			s[o++] = s[i];
	}
	s[o] = '\0';
	*n = o;
	return 0;
}

/* A field name we are willing to hand to a handler. */
static int
name_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
		    c == '[' || c == ']'))
			return 0;
	}
	return 1;
}

static int
fail(struct request *r, int status, const char *msg)
{
	r->error = msg;
	return status;
}

/*
 * The text rule (see the top of this file).  NULL when s is acceptable,
 * else the message for the 400.  allow_newlines: CR and LF pass, as in
 * form fields, which may hold a multi-line message.
 */
static const char *
text_check(const char *s, size_t n, int allow_newlines)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t	 i;

	if (!utf8_valid(s, n, allow_newlines))
		return "The request contains text that is not valid UTF-8, or control characters.";
	/* Valid UTF-8 from here: C1 controls are C2 80..C2 9F, the
	 * overrides E2 80 AA..AE and the isolates E2 81 A6..A9. */
	for (i = 0; i + 1 < n; i++) {
		if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
			return "The request contains a C1 control character (U+0080 to U+009F).";
		if (u[i] == 0xe2 && i + 2 < n &&
		    ((u[i + 1] == 0x80 && u[i + 2] >= 0xaa && u[i + 2] <= 0xae) ||
		    (u[i + 1] == 0x81 && u[i + 2] >= 0xa6 && u[i + 2] <= 0xa9)))
			return "The request contains a bidirectional override or isolate "
			    "(U+202A to U+202E, U+2066 to U+2069), which would show text in another order than it is.";
	}
	return NULL;
}

/* Check one value and add it. */
static int
add_field(struct request *r, struct kvlist *l, const char *k, size_t kn,
    char *v, size_t vn, const struct limits *lim)
{
	const char *why;

	if (!name_ok(k, kn))
		return 0;
	if (l->n >= lim->max_fields)
		return fail(r, 400, "Too many fields in the request.");
	if (vn > lim->max_field_len)
		return fail(r, 413, "A field in the request is too long.");
	if ((why = text_check(v, vn, 1)) != NULL)
		return fail(r, 400, why);
	kv_add(r->a, l, arena_strndup(r->a, k, kn), v, vn);
	return 0;
}

int
req_parse_query(struct request *r, struct kvlist *l, const char *s, size_t n,
    const struct limits *lim)
{
	char	*copy = arena_strndup(r->a, s ? s : "", s ? n : 0);
	char	*p = copy, *end = copy + (s ? n : 0);
	int	 rc;

	while (p < end) {
		char	*amp = memchr(p, '&', (size_t)(end - p));
		char	*fe = amp ? amp : end;
		char	*eq = memchr(p, '=', (size_t)(fe - p));
		size_t	 kn, vn;
		char	*v;

		*fe = '\0';
		if (fe == p) {
			p = fe + 1;
			continue;
		}
		if (eq == NULL) {
			kn = (size_t)(fe - p);
			v = fe;
			vn = 0;
		} else {
			*eq = '\0';
			kn = (size_t)(eq - p);
			v = eq + 1;
			vn = (size_t)(fe - v);
		}
		if (url_decode(p, &kn, 1) != 0 || url_decode(v, &vn, 1) != 0)
			return fail(r, 400, "The request has a malformed %-escape.");
		if ((rc = add_field(r, l, p, kn, v, vn, lim)) != 0)
			return rc;
		p = fe + 1;
	}
	return 0;
}

int
req_parse_cookies(struct request *r, const char *h, const struct limits *lim)
{
	char	*copy, *p, *semi;

	if (h == NULL)
		return 0;
	if (strlen(h) > 8192)
		return fail(r, 400, "The Cookie header is too long.");
	copy = arena_strdup(r->a, h);
	for (p = copy; p && *p; p = semi) {
		char	*eq, *k, *v, *e;

		if ((semi = strchr(p, ';')) != NULL)
			*semi++ = '\0';
		while (*p == ' ')
			p++;
		if ((eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		k = p;
		v = eq + 1;
		e = v + strlen(v);
		while (e > v && e[-1] == ' ')
			*--e = '\0';
		if (*v == '"' && e - v >= 2 && e[-1] == '"') {
			e[-1] = '\0';
			v++;
		}
		/* A malformed or over-long cookie is ignored, not fatal:
		 * browsers keep stale cookies from other software on the
		 * same host, and a cookie set by a sibling subdomain would
		 * otherwise lock its victim out with a 400 on every page.
		 * The text rule applies all the same: no handler ever sees
		 * a value that breaks it.  (Found by fuzz/: values longer
		 * than max_field_len used to pass.) */
		if (!name_ok(k, strlen(k)) || strlen(v) > lim->max_field_len ||
		    text_check(v, strlen(v), 0) != NULL)
			continue;
		if (r->cookies.n >= lim->max_fields)
			return fail(r, 400, "Too many cookies.");
		kv_add(r->a, &r->cookies, k, v, strlen(v));
	}
	return 0;
}

/* The value of parameter "name" in a header like "multipart/form-data; boundary=x". */
static const char *
header_param(struct request *r, const char *h, const char *name)
{
	size_t	 nl = strlen(name);
	const char *p = h;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1, *e;

			if (*v == '"') {
				v++;
				e = strchr(v, '"');
				if (e == NULL)
					return NULL;
			} else
				e = v + strcspn(v, "; \t");
			return arena_strndup(r->a, v, (size_t)(e - v));
		}
	}
	return NULL;
}

static const char *
memmem_c(const char *h, size_t hn, const char *n, size_t nn)
{
	return memmem(h, hn, n, nn);
}

/*
 * multipart/form-data (RFC 7578).  Text parts become form fields; parts
 * with a filename become uploads.  Any structural error is a 400.
 */
static int
parse_multipart(struct request *r, const struct limits *lim)
{
	const char *boundary = header_param(r, r->ctype, "boundary");
	const char *p, *end = r->body + r->body_len;
	char	*delim;
	size_t	 dn;
	size_t	 nup = 0;
	int	 rc;

	if (boundary == NULL || *boundary == '\0' || strlen(boundary) > 70)
		return fail(r, 400, "The multipart body has no valid boundary.");
	delim = arena_printf(r->a, "--%s", boundary);
	dn = strlen(delim);
	r->uploads = arena_zalloc(r->a, lim->max_fields * sizeof(*r->uploads));

	p = memmem_c(r->body, r->body_len, delim, dn);
	if (p == NULL)
		return fail(r, 400, "The multipart body has no parts.");
	p += dn;
	for (;;) {
		const char *hend, *next, *data, *h;
		char	*name = NULL, *filename = NULL, *ptype = NULL;
		size_t	 datalen;

		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;	/* closing delimiter */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return fail(r, 400, "The multipart body is malformed.");
		p += 2;
		hend = memmem_c(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hend == NULL || hend - p > 4096)
			return fail(r, 400, "A multipart part has malformed headers.");
		/* Part headers, one per line. */
		for (h = p; h < hend;) {
			const char *le = memmem_c(h, (size_t)(hend + 2 - h), "\r\n", 2);
			char	*line;

			if (le == NULL)
				le = hend;
			line = arena_strndup(r->a, h, (size_t)(le - h));
			/* The header carries the upload's file name, text
			 * like any other. */
			if (text_check(line, strlen(line), 0) != NULL)
				return fail(r, 400, "A multipart header is not valid UTF-8, or holds control or bidirectional characters.");
			if (strncasecmp(line, "Content-Disposition:", 20) == 0) {
				if (strstr(line, "form-data") == NULL)
					return fail(r, 400, "A multipart part is not form-data.");
				name = (char *)header_param(r, line, "name");
				filename = (char *)header_param(r, line, "filename");
			} else if (strncasecmp(line, "Content-Type:", 13) == 0) {
				ptype = line + 13;
				while (*ptype == ' ')
					ptype++;
			}
			h = le + 2;
		}
		data = hend + 4;
		next = memmem_c(data, (size_t)(end - data), "\r\n", 2);
		/* Find "\r\n--boundary". */
		for (;;) {
			if (next == NULL)
				return fail(r, 400, "A multipart part is not terminated.");
			if ((size_t)(end - next) >= dn + 2 &&
			    memcmp(next + 2, delim, dn) == 0)
				break;
			next = memmem_c(next + 2, (size_t)(end - next - 2), "\r\n", 2);
		}
		datalen = (size_t)(next - data);
		if (name == NULL)
			return fail(r, 400, "A multipart part has no name.");
		if (filename != NULL) {
			if (nup >= lim->max_fields)
				return fail(r, 400, "Too many files.");
			r->uploads[nup].name = name;
			r->uploads[nup].filename = filename;
			r->uploads[nup].ctype = ptype ? ptype : "application/octet-stream";
			r->uploads[nup].data = data;
			r->uploads[nup].len = datalen;
			r->nuploads = ++nup;
		} else {
			char *v = arena_strndup(r->a, data, datalen);

			if ((rc = add_field(r, &r->form, name, strlen(name), v,
			    datalen, lim)) != 0)
				return rc;
		}
		p = next + 2 + dn;
	}
}

/* Is the content type t (ignoring parameters and case)? */
static int
ctype_is(const char *ct, const char *t)
{
	size_t	 n = strlen(t);

	return ct != NULL && strncasecmp(ct, t, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Objects and arrays nest at most this deep in a JSON body. */
#define JSON_MAX_DEPTH	16

/*
 * json-c turns a lone UTF-16 surrogate escape ("\ud800") into U+FFFD
 * without a word, so the escapes are checked in the raw body: a high
 * surrogate must be followed at once by a low one, a low one must follow
 * a high one, and "\u0000" is refused here too (json-c keeps it as a NUL
 * inside the string, which text_check() would also refuse).  The body has
 * already parsed, so its strings are well formed.
 */
static int
json_escapes_ok(const char *s, size_t n)
{
	size_t	 i;
	int	 in = 0;
	long	 prev = -1;		/* the \u escape just before, or -1 */

	for (i = 0; i < n; i++) {
		long	 cp = -1;

		if (!in) {
			in = s[i] == '"';
			continue;
		}
		if (s[i] == '"') {
			in = 0;
		} else if (s[i] == '\\' && i + 1 < n) {
			i++;
			if (s[i] == 'u' && i + 4 < n) {
				char	 hex[5];

				memcpy(hex, s + i + 1, 4);
				hex[4] = '\0';
				cp = strtol(hex, NULL, 16);
				i += 4;
			}
		}
		if (cp == 0)
			return 0;
		if (cp >= 0xdc00 && cp <= 0xdfff && !(prev >= 0xd800 && prev <= 0xdbff))
			return 0;
		if (prev >= 0xd800 && prev <= 0xdbff && !(cp >= 0xdc00 && cp <= 0xdfff))
			return 0;
		prev = (prev >= 0xd800 && prev <= 0xdbff) ? -1 : cp;
	}
	return prev < 0xd800 || prev > 0xdbff;
}

/* The text rule and the limits for every key and string of a JSON value;
 * *count counts members and elements against max_fields. */
static int
json_walk(struct request *r, struct json_object *o, const struct limits *lim,
    size_t *count)
{
	const char *why;
	size_t	 i, len;
	int	 rc;

	switch (json_object_get_type(o)) {
	case json_type_string:
		if ((size_t)json_object_get_string_len(o) > lim->max_field_len)
			return fail(r, 413, "A string in the JSON body is too long.");
		if ((why = text_check(json_object_get_string(o),
		    (size_t)json_object_get_string_len(o), 1)) != NULL)
			return fail(r, 400, why);
		return 0;
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			if (++*count > lim->max_fields)
				return fail(r, 400, "The JSON body has too many fields.");
			len = strlen(k);
			if (len > lim->max_field_len)
				return fail(r, 413, "A key in the JSON body is too long.");
			if ((why = text_check(k, len, 0)) != NULL)
				return fail(r, 400, why);
			if (v != NULL && (rc = json_walk(r, v, lim, count)) != 0)
				return rc;
		}
		return 0;
	}
	case json_type_array:
		len = json_object_array_length(o);
		for (i = 0; i < len; i++) {
			struct json_object *v = json_object_array_get_idx(o, i);

			if (++*count > lim->max_fields)
				return fail(r, 400, "The JSON body has too many fields.");
			if (v != NULL && (rc = json_walk(r, v, lim, count)) != 0)
				return rc;
		}
		return 0;
	default:
		return 0;
	}
}

/*
 * application/json: strict syntax, nothing after the value, depth at
 * most JSON_MAX_DEPTH, and the rules of form fields for every key and
 * string (a key is a field name that may not hold a line break; an
 * object member or array element counts as a field).
 */
static int
parse_json(struct request *r, const struct limits *lim)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t	 count = 0;
	int	 rc;

	if (!utf8_valid(r->body, r->body_len, 1))
		return fail(r, 400, "The JSON body is not valid UTF-8.");
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (tok == NULL)
		return fail(r, 500, "Out of memory.");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	r->json = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_success &&
	    (size_t)json_tokener_get_parse_end(tok) != r->body_len)
		jerr = json_tokener_error_parse_unexpected;
	json_tokener_free(tok);
	if (jerr == json_tokener_error_depth)
		rc = fail(r, 400, "The JSON body nests too deep.");
	else if (jerr != json_tokener_success)
		rc = fail(r, 400, "The JSON body is malformed.");
	else if (!json_escapes_ok(r->body, r->body_len))
		rc = fail(r, 400, "The JSON body has a \\u0000 or an unpaired surrogate escape.");
	else
		rc = json_walk(r, r->json, lim, &count);
	if (rc != 0 && r->json != NULL) {
		json_object_put(r->json);
		r->json = NULL;
	}
	return rc;
}

int
req_parse_body(struct request *r, const struct limits *lim)
{
	if (r->body_len == 0)
		return 0;
	if (r->body_len > lim->max_body)
		return fail(r, 413, "The request body is too large.");
	/* A webhook's body is verified as the raw bytes before anything
	 * reads it (webhook.c); a gateway's event would also overrun the
	 * field limits below (a Stripe charge has more members than
	 * max_fields). */
	if (r->path != NULL && strncmp(r->path, "/webhooks/", 10) == 0)
		return 0;
	if (ctype_is(r->ctype, "application/x-www-form-urlencoded"))
		return req_parse_query(r, &r->form, r->body, r->body_len, lim);
	if (ctype_is(r->ctype, "multipart/form-data"))
		return parse_multipart(r, lim);
	if (ctype_is(r->ctype, "application/json"))
		return parse_json(r, lim);
	/* Webhook routes read the raw body themselves; others refuse it
	 * when it arrives with a type nobody parses. */
	return 0;
}
