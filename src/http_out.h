/*
 * http_out.h: outgoing HTTP calls from the work daemon (payment
 * gateways; the 3X-UI client in xui.c predates it).  libcurl is loaded
 * on first use (curl_lib.h): only processes that call out pay for it,
 * never a web worker.
 *
 * One handle per process and remote, reused across calls (keep-alive);
 * every call has a timeout, a reply cap, https/http only, TLS verified
 * (a CA file may be named for test doubles), and logs one line without
 * headers or bodies: the names of the headers that carry secrets are the
 * caller's, and nothing here ever prints them.
 */
#ifndef PX_HTTP_OUT_H
#define PX_HTTP_OUT_H

#include <stddef.h>

struct arena;

#define HTTP_OUT_REPLY_MAX	(1 << 20)	/* a gateway object is a few KB */

struct http_out;

/* One reply.  body is NUL-terminated, in the call's arena. */
struct http_reply {
	long		 status;	/* 0: no reply (transport error) */
	const char	*body;
	size_t		 len;
	const char	*content_type;	/* "" when absent */
};

/*
 * A handle named name (for the log: "stripe"), with timeout seconds per
 * call (connect within min(timeout, 10)), ca_file (NULL or "": the
 * system's) and verify (0 only for a double over https with no CA).  NULL
 * with err set when libcurl cannot be loaded.  Strings copied into a.
 */
struct http_out *http_out_open(struct arena *a, const char *name, long timeout,
	    const char *ca_file, int verify, char *err, size_t errsz);
/*
 * method "GET", "POST" or "DELETE" on url (absolute, http:// or
 * https://); headers a NULL-terminated list of "Name: value" lines (may
 * be NULL); body (may be NULL) of len bytes sent as is with content_type
 * (NULL: none).  Strings of the reply in a.  Returns 0 with *rep filled
 * whatever the status, or -1 with err set (unreachable, timeout, reply
 * over HTTP_OUT_REPLY_MAX, a scheme other than http/https): a -1 is
 * always worth a retry, a status is for the caller to judge.
 */
int	http_out_call(struct http_out *, struct arena *a, const char *method, const char *url,
	    const char *const *headers, const char *body, size_t len, const char *content_type,
	    struct http_reply *rep, char *err, size_t errsz);
void	http_out_close(struct http_out *);

/* application/x-www-form-urlencoded escaping of s (Stripe's bodies), in a. */
const char *http_out_form_escape(struct arena *a, const char *s);

#endif
