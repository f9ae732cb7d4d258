/*
 * response.h: everything a request sends back, in one place: the
 * status line and its text, headers (the security headers every
 * response carries), cookies, redirects, JSON responses, the error
 * contract (req_fail and the error page) and the timeout page the
 * worker's SIGALRM handler writes.
 *
 * This file sits below sessions, pages and the dispatcher: it calls
 * none of them.  The HTML error page needs the shop's layout (ui.c,
 * which needs the sessions), so the worker plugs that renderer in as
 * app->error_page; without it (or without templates) errors answer in
 * JSON.
 */
#ifndef PX_RESPONSE_H
#define PX_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* "Not Found" for 404; "Unknown" for a status we never send. */
const char	*status_text(int);

/* Add a response header; a value with CR or LF ends the request (500):
 * header injection never reaches the wire. */
void	resp_header(struct request *, const char *name, const char *val);
/* A redirect: status (302, 303), Location, a short text body. */
void	resp_redirect(struct request *, int status, const char *location);
/* Status and JSON content type; the caller writes the body. */
void	resp_json(struct request *, int status);
/* Set-Cookie: HttpOnly, SameSite=Lax, Path=/, Secure over TLS; max_age
 * < 0 for a session cookie, 0 to delete it. */
void	set_cookie(struct request *, const char *name, const char *value,
	    int64_t max_age);

/*
 * End the request now with an error page (or a JSON error on API
 * routes).  A 4xx shows msg to the user; a 5xx logs it and shows only
 * the request id.  Rolls back an open transaction.  Never returns.
 */
void	req_fail(struct request *, int status, const char *fmt, ...)
	    PX_PRINTF(3, 4) PX_NORETURN;
/* Render the error page (or JSON error) for status with r->error,
 * replacing whatever body the handler wrote. */
void	render_error(struct request *, int status);

/*
 * Bind the worker's db to r: r->db, its arena is r's, and a database
 * error ends r with req_fail(500) (db.h's contract).
 */
void	req_bind_db(struct request *);

/* The response head (CGI style, ends with the blank line) for r's
 * status, type, headers and a body of body_len bytes, with the
 * security headers and Cache-Control: no-store unless r set one. */
void	resp_head(const struct request *, size_t body_len, struct buf *);
/* The same without Content-Length, for a streamed body. */
void	resp_head_streamed(const struct request *, struct buf *);
/*
 * Streaming, for a body too large to hold (admin_export.c's CSV): a
 * handler calls resp_stream_begin() once its status, type and headers
 * are final (they go out at once, without Content-Length: FastCGI and
 * nginx frame the body), then writes r->out as usual and calls
 * resp_stream_flush() every row or so; whenever out holds
 * RESP_STREAM_PIECE bytes they are sent and out starts again empty.
 * The worker sends what is left when the handler returns.  Without a
 * sink (no transport to stream to) both are no-ops and the response is
 * buffered whole.
 *
 * After the head is sent there is no error page: req_fail() then logs
 * its message, appends trailer (when not NULL: a last line the
 * consumer of the body can recognise, e.g. a CSV's) to what is not yet
 * sent, and marks r cut; the worker sends that and then closes the
 * connection without ending the response, so nginx ends the chunked
 * body without its last chunk and the client sees a truncated
 * download, never a complete-looking one.
 */
#define RESP_STREAM_PIECE	(32 * 1024)
void	resp_stream_begin(struct request *, const char *trailer);
void	resp_stream_flush(struct request *);
/* The whole 504 response (head and page) for request id, for the
 * SIGALRM handler to write as it is.  Allocates only in out. */
void	resp_timeout(const char *id, int https, struct buf *out);

#endif
