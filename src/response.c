/*
 * response.c: what a request sends back (response.h): status texts,
 * headers and the security headers, cookies, redirects, JSON
 * responses, the error contract and the timeout page.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "response.h"

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

void
resp_header(struct request *r, const char *name, const char *val)
{
	size_t	 i;

	/* Header injection: a value with CR or LF never reaches the wire. */
	for (i = 0; val[i]; i++)
		if (val[i] == '\r' || val[i] == '\n')
			req_fail(r, 500, "header %s has a line break", name);
	kv_add(r->a, &r->resp_headers, name, val, strlen(val));
}

void
resp_redirect(struct request *r, int status, const char *location)
{
	r->status = status;
	resp_header(r, "Location", location);
	r->resp_ctype = "text/plain; charset=utf-8";
	buf_reset(r->out);
	buf_printf(r->out, "See %s\n", location);
}

void
resp_json(struct request *r, int status)
{
	r->status = status;
	r->resp_ctype = "application/json";
}

void
set_cookie(struct request *r, const char *name, const char *value, int64_t max_age)
{
	const char *v = arena_printf(r->a, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s",
	    name, value, r->https ? "; Secure" : "",
	    max_age >= 0 ? arena_printf(r->a, "; Max-Age=%lld", (long long)max_age) : "");

	/* Several Set-Cookie headers are allowed; resp_header appends. */
	resp_header(r, "Set-Cookie", v);
}

static int
is_api(const struct request *r)
{
	return r->path != NULL && strncmp(r->path, "/api/", 5) == 0;
}

static const char *
error_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 422: return "unprocessable";
	case 429: return "rate_limited";
	case 503: return "unavailable";
	case 504: return "timeout";
	default: return status >= 500 ? "internal_error" : "error";
	}
}

void
render_error(struct request *r, int status)
{
	const char *msg;

	r->status = status;
	buf_reset(r->out);
	if (status >= 500)
		msg = "Something went wrong on our side. The request id below tells the operator where to look.";
	else if (r->error != NULL)
		msg = r->error;
	else switch (status) {
	case 404: msg = "There is no page at this address."; break;
	case 405: msg = "This address does not accept that method."; break;
	case 403: msg = "You may not open this page."; break;
	case 401: msg = "Please sign in first."; break;
	default: msg = status_text(status);
	}
	if (is_api(r) || r->app->views == NULL || r->app->error_page == NULL) {
		r->resp_ctype = "application/json";
		buf_puts(r->out, "{\"error\":{\"code\":");
		buf_json_str(r->out, r->error_code != NULL && status < 500 ?
		    r->error_code : error_code(status));
		buf_puts(r->out, ",\"message\":");
		buf_json_str(r->out, msg);
		buf_puts(r->out, "},\"request_id\":");
		buf_json_str(r->out, r->id);
		buf_puts(r->out, "}\n");
		return;
	}
	r->app->error_page(r, status, msg);
	r->status = status;
}

void
req_fail(struct request *r, int status, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = arena_vprintf(r->a, fmt, ap);
	va_end(ap);
	if (r->db != NULL) {
		db_rollback(r->db);
		db_reset_all(r->db);
	}
	r->error = msg;
	if (r->streamed) {
		/* The head (a 200) is out: the error can only cut the body. */
		log_msg(r, "%s (status %d after the head was sent: the body is cut)", msg, status);
		r->cut = 1;
		if (r->trailer != NULL) {
			if (r->out->len > 0 && r->out->p[r->out->len - 1] != '\n')
				buf_puts(r->out, "\r\n");
			buf_puts(r->out, r->trailer);
		}
		if (r->fail == NULL)
			abort();
		longjmp(*r->fail, 1);
	}
	if (status >= 500)
		log_msg(r, "%s", msg);
	r->resp_headers.n = 0;
	render_error(r, status);
	if (r->fail == NULL)
		abort();
	longjmp(*r->fail, 1);
}

/* The request's db fail handler: a database error ends the request
 * (500, logged with the request id), never the worker. */
static void
req_db_fail(void *ctx, const char *msg)
{
	req_fail(ctx, 500, "database: %s", msg);
}

void
req_bind_db(struct request *r)
{
	r->db = r->app->db;
	db_set_arena(r->db, r->a);
	db_on_fail(r->db, req_db_fail, r);
}

/*
 * Sent with every response, the timeout page too.  form-action is
 * 'self' plus form_action (NULL: none), the enabled payment gateways'
 * checkout origins: browsers apply form-action to the redirects that
 * follow a form's submission, and a checkout form ends at the gateway
 * (DESIGN.md, payments; worker.c builds the list).  HSTS only over TLS,
 * where the browser honours it.
 */
static void
security_headers(int https, const char *form_action, struct buf *h)
{
	buf_puts(h, "Content-Security-Policy: default-src 'self'; script-src 'self'; "
	    "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
	    "form-action 'self'");
	if (form_action != NULL && *form_action != '\0')
		buf_printf(h, " %s", form_action);
	buf_puts(h, "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: strict-origin-when-cross-origin\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Cross-Origin-Opener-Policy: same-origin\r\n"
	    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n");
	if (https)
		buf_puts(h, "Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n");
}

/*
 * api: the response of an /api/ address.  It carries Content-Disposition
 * "attachment" with a fixed file name (ASVS V14.4.2, V12.3.4): a browser
 * sent to an API URL saves the JSON as api.json instead of showing it,
 * whatever the path looks like, so a reflected value in the JSON can
 * never be downloaded under a name of the attacker's choosing (reflected
 * file download).  API clients ignore the header.
 */
static void
write_head(struct buf *h, int status, const char *ctype, size_t len, const char *id,
    int https, int api, const char *form_action, const struct kvlist *extra)
{
	size_t	 i;

	buf_printf(h, "Status: %d %s\r\n", status, status_text(status));
	if (ctype != NULL)
		buf_printf(h, "Content-Type: %s\r\n", ctype);
	/* (size_t)-1: a streamed body, framed by the transport. */
	if (len != (size_t)-1)
		buf_printf(h, "Content-Length: %zu\r\n", len);
	buf_printf(h, "X-Request-Id: %s\r\n", id);
	if (extra == NULL || kv_get(extra, "Cache-Control") == NULL)
		buf_puts(h, "Cache-Control: no-store\r\n");
	security_headers(https, form_action, h);
	if (api && (extra == NULL || kv_get(extra, "Content-Disposition") == NULL))
		buf_puts(h, "Content-Disposition: attachment; filename=\"api.json\"\r\n");
	for (i = 0; extra != NULL && i < extra->n; i++)
		buf_printf(h, "%s: %s\r\n", extra->v[i].key, extra->v[i].val);
	buf_puts(h, "\r\n");
}

/* The gateways' origins for form-action, when the request's app has them. */
static const char *
form_action_of(const struct request *r)
{
	return r->app != NULL ? r->app->form_action : NULL;
}

void
resp_head(const struct request *r, size_t body_len, struct buf *h)
{
	write_head(h, r->status, r->resp_ctype, body_len, r->id, r->https, is_api(r),
	    form_action_of(r), &r->resp_headers);
}

void
resp_head_streamed(const struct request *r, struct buf *h)
{
	write_head(h, r->status, r->resp_ctype, (size_t)-1, r->id, r->https, is_api(r),
	    form_action_of(r), &r->resp_headers);
}

/* Send what out holds (a HEAD request's body is counted, not sent, as
 * the buffered path does) and empty it. */
static void
stream_send(struct request *r)
{
	if (r->out->len == 0)
		return;
	if (r->method != M_HEAD)
		r->sink->write(r->sink->ctx, r->out->p, r->out->len);
	r->sent += r->out->len;
	buf_reset(r->out);
}

void
resp_stream_begin(struct request *r, const char *trailer)
{
	struct buf h;

	if (r->sink == NULL || r->streamed)
		return;
	r->trailer = trailer;
	buf_init(&h);
	resp_head_streamed(r, &h);
	r->sink->began(r);
	r->sink->write(r->sink->ctx, h.p, h.len);
	buf_free(&h);
	r->streamed = 1;
	stream_send(r);
}

void
resp_stream_flush(struct request *r)
{
	if (r->streamed && r->out->len >= RESP_STREAM_PIECE)
		stream_send(r);
}

/* Static: the worker answers a timeout from a signal handler, with no
 * templates or arena to lean on. */
static const char timeout_page[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Timed out</title>"
    "<link rel=\"stylesheet\" href=\"/css/site.css\"></head><body><main class=\"container\">"
    "<h1>This took too long</h1><p>The server gave up on this request. Please try again.</p>"
    "</main></body></html>\n";

void
resp_timeout(const char *id, int https, struct buf *out)
{
	write_head(out, 504, "text/html; charset=utf-8", sizeof(timeout_page) - 1, id, https, 0,
	    NULL, NULL);
	buf_add(out, timeout_page, sizeof(timeout_page) - 1);
}
