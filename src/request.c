/*
 * request.c: parsing of the query string, urlencoded and multipart
 * forms, cookies and JSON bodies, with limits on size, count and field
 * length and UTF-8 validation.
 *
 * Every parser returns 0 or an HTTP status (400, 413, 415) with
 * r->error set to a message a person can act on.  Field names with odd
 * characters are dropped silently, as Fossil's cgi.c does: no handler
 * asks for them, so they can only be probes.
 */
#include "config.h"

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

/* Check one value and add it. */
static int
add_field(struct request *r, struct kvlist *l, const char *k, size_t kn,
    char *v, size_t vn, const struct limits *lim)
{
	if (!name_ok(k, kn))
		return 0;
	if (l->n >= lim->max_fields)
		return fail(r, 400, "Too many fields in the request.");
	if (vn > lim->max_field_len)
		return fail(r, 413, "A field in the request is too long.");
	if (!utf8_valid(v, vn, 1))
		return fail(r, 400, "The request contains text that is not valid UTF-8, or control characters.");
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
		 * same host.  (Found by fuzz/: values longer than
		 * max_field_len used to pass.) */
		if (!name_ok(k, strlen(k)) || strlen(v) > lim->max_field_len ||
		    !utf8_valid(v, strlen(v), 0))
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
			if (!utf8_valid(line, strlen(line), 0))
				return fail(r, 400, "A multipart header is not valid UTF-8.");
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

int
req_parse_body(struct request *r, const struct limits *lim)
{
	if (r->body_len == 0)
		return 0;
	if (r->body_len > lim->max_body)
		return fail(r, 413, "The request body is too large.");
	if (ctype_is(r->ctype, "application/x-www-form-urlencoded"))
		return req_parse_query(r, &r->form, r->body, r->body_len, lim);
	if (ctype_is(r->ctype, "multipart/form-data"))
		return parse_multipart(r, lim);
	if (ctype_is(r->ctype, "application/json")) {
		struct json_tokener *tok;
		enum json_tokener_error jerr;

		if (!utf8_valid(r->body, r->body_len, 1))
			return fail(r, 400, "The JSON body is not valid UTF-8.");
		tok = json_tokener_new_ex(32);
		if (tok == NULL)
			return fail(r, 500, "Out of memory.");
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		r->json = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_success &&
		    (size_t)json_tokener_get_parse_end(tok) != r->body_len)
			jerr = json_tokener_error_parse_unexpected;
		json_tokener_free(tok);
		if (jerr != json_tokener_success) {
			if (r->json != NULL)
				json_object_put(r->json);
			r->json = NULL;
			return fail(r, 400, "The JSON body is malformed.");
		}
		return 0;
	}
	/* Webhook routes read the raw body themselves; others refuse it
	 * when it arrives with a type nobody parses. */
	return 0;
}

const char *
status_text(int s)
{
	switch (s) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}
