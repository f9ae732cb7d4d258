/*
 * http.h: the request struct passed explicitly to every handler, the
 * parsed inputs, the buffered response, and the worker-wide state.
 *
 * Lifetimes: everything hanging off a struct request lives in its arena
 * and dies at request_free(); struct app lives as long as the worker.
 */
#ifndef PX_HTTP_H
#define PX_HTTP_H

#include <setjmp.h>
#include <stdint.h>

#include "conf.h"
#include "util.h"

struct cache;
struct db;
struct json_object;
struct views;
struct vm;
struct route;
struct principal;
struct request;
struct field;

enum method {
	M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS, M__MAX
};
extern const char *const method_names[M__MAX];

struct kv {
	const char	*key;
	const char	*val;
	size_t		 len;
};

struct kvlist {
	struct kv	*v;
	size_t		 n;
	size_t		 cap;
};

struct upload {
	const char	*name;		/* form field name */
	const char	*filename;
	const char	*ctype;
	const char	*data;
	size_t		 len;
};

/* Worker-wide state: built once at worker start. */
struct app {
	struct conf	 conf;
	struct db	*db;		/* the worker's connection (db.h) */
	struct views	*views;
	struct cache	*cache;		/* rendered anonymous pages (cache.c) */
	int		 worker_id;
	uint64_t	 served;
	void		*slot;		/* this worker's scoreboard slot (pool.c) */
	unsigned char	 key[32];	/* the key file's key: for seal()/unseal() only */
	unsigned char	 presession_key[32];	/* its HKDF subkey for pre-session CSRF (seal.h) */
	/* CSP form-action's sources beyond 'self': the checkout origins of
	 * the enabled payment gateways (worker.c builds it, response.c
	 * writes it); NULL: 'self' only.  Rebuilt when the catalog version
	 * (which every settings write moves, sql/008) differs from
	 * form_action_version. */
	char		*form_action;
	int64_t		 form_action_version;
	/* The HTML error page in the shop's layout (ui.c), plugged in by
	 * app_init so that response.c needs nothing above it; NULL: errors
	 * answer in JSON. */
	void		(*error_page)(struct request *, int status, const char *msg);
};

struct request {
	struct app	*app;
	struct db	*db;		/* app->db, bound to this request (req_bind_db) */
	struct arena	*a;
	jmp_buf		*fail;		/* req_fail() jumps here */
	char		 id[17];	/* request id, 16 hex digits */
	double		 t0;

	/* From the transport (CGI-style parameters). */
	enum method	 method;
	const char	*method_name;
	const char	*path;		/* decoded, no query */
	const char	*raw_query;
	const char	*remote_addr;
	const char	*host;
	const char	*ctype;		/* request Content-Type */
	const char	*origin;
	const char	*referer;
	const char	*sec_fetch_site;
	const char	*authorization;
	const char	*user_agent;
	const char	*cookie_header;
	const char	*csrf_header;	/* X-CSRF-Token */
	int		 https;
	/* Any other parameter of the transport (req_header): a webhook's
	 * signature headers.  NULL outside a worker. */
	const char	*(*env)(void *ctx, const char *name);
	void		*env_ctx;

	/* Parsed inputs. */
	struct kvlist	 query;
	struct kvlist	 form;
	const struct field *fields;	/* the handler's declared form fields (valid.h) */
	size_t		 nfields;
	struct kvlist	 cookies;
	struct kvlist	 params;	/* typed path parameters */
	struct upload	*uploads;
	size_t		 nuploads;
	struct json_object *json;	/* a JSON body, owned: freed by request_free */
	const char	*body;
	size_t		 body_len;

	const struct route *route;
	int64_t		 user_id;	/* 0: anonymous; logged */
	struct principal *principal[2];	/* by enum sess_kind (session.h) */
	struct principal *api;		/* a Bearer token's owner */
	const char	*pre_token;	/* pre-session CSRF token of this page */
	const char	*form_error;	/* shown above a re-displayed form */
	int		 redisplay;	/* a form shown again after a refused POST */

	/* The response, buffered whole unless streamed (below). */
	int		 status;
	const char	*resp_ctype;
	struct kvlist	 resp_headers;
	struct buf	*out;		/* body; owned by the worker, reset per request */
	const char	*error;		/* message shown on an error page */
	const char	*error_code;	/* JSON error code, when more specific than the status's */
	int		 cacheable;	/* the handler called cache_allow() */
	int		 has_csrf;	/* a CSRF token was handed out: never cached */
	const char	*cache;		/* "hit", "miss", "bypass" or NULL; logged */

	/*
	 * A streamed response (response.h, resp_stream_begin): the head is
	 * on the wire and out holds only what is not sent yet.  sink is the
	 * worker's transport; NULL where nothing can be streamed (the
	 * response is then buffered whole, as before).
	 */
	const struct sink *sink;
	int		 streamed;	/* the head has been sent */
	int		 cut;		/* the body ended early: an error after the head */
	size_t		 sent;		/* body bytes written so far (logged in total) */
	const char	*trailer;	/* written last when the body is cut */
};

/* Where a streamed response goes (worker.c fills it in). */
struct sink {
	/* Write n bytes to the client, as they come. */
	void	(*write)(void *ctx, const char *, size_t);
	/* Called once, just before the head is written: from here on no
	 * other head (the timeout's 504) may be written for r. */
	void	(*began)(const struct request *r);
	void	*ctx;
};

/* Input accessors: NULL when absent.  Values are valid UTF-8. */
const char	*req_query(const struct request *, const char *);
const char	*req_form(const struct request *, const char *);
const char	*req_param(const struct request *, const char *);
const char	*req_cookie(const struct request *, const char *);
/* A request header by its HTTP name ("Stripe-Signature"), as the
 * transport passes it (HTTP_STRIPE_SIGNATURE); NULL when absent. */
const char	*req_header(const struct request *, const char *name);
int64_t		 req_param_int(const struct request *, const char *);
const char	*kv_get(const struct kvlist *, const char *);
void		 kv_add(struct arena *, struct kvlist *, const char *k,
		    const char *v, size_t len);

/* Parsing (request.c).  Returns 0, or an HTTP status with r->error set. */
struct limits {
	size_t	max_body;
	size_t	max_fields;
	size_t	max_field_len;
};
int	req_parse_query(struct request *, struct kvlist *, const char *s,
	    size_t n, const struct limits *);
int	req_parse_cookies(struct request *, const char *, const struct limits *);
int	req_parse_body(struct request *, const struct limits *);
int	url_decode(char *s, size_t *n, int plus_is_space);

#endif
