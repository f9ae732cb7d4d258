/*
 * worker.c: one FastCGI worker.  Accept, read params and body, dispatch,
 * write the buffered response (or the rest of a streamed one,
 * response.h), reset the arena; repeat.
 *
 * Nothing from one request survives into the next: the arena is reset,
 * the output buffer emptied, every statement reset, and any open
 * transaction rolled back, whatever the handler did.
 *
 * Request timeout: a per-request interval timer, armed before the
 * accept, so that request_timeout bounds everything a client can make
 * a worker wait for: the FastCGI parameters, a slow (or never sent)
 * body, the handler and the reply.  If it fires, the SIGALRM handler
 * writes a prepared 504 response straight onto the FastCGI connection
 * with write(2) (async-signal-safe) when the request is known by then,
 * logs which request it was, and _exits; the connection closes with the
 * process and the master replaces the worker.  Once a streamed response
 * has sent its head, the handler writes no 504 (a second head inside the
 * body): it writes the handler's trailer line instead (response.h) and
 * ends the FastCGI request, then _exits, so the client sees the body
 * end with the line that says it is cut.  Streamed pieces are flushed
 * whole, a row boundary each, and the handler writes nothing while one
 * is on its way (it could land inside a record): then it only logs.
 * A worker stuck beyond that is SIGKILLed by the master.
 *
 * Stopping: SIGTERM stays blocked except while the worker waits in
 * ppoll() for a connection, so a request in flight always completes
 * (SIGHUP reloads and SIGTERM stops lose nothing) and a stop can never
 * be missed between a check and a blocking accept().
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <setjmp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "cache.h"
#include "db.h"
#include "gateway.h"
#include "log.h"
#include "pool.h"
#include "response.h"
#include "route.h"
#include "seal.h"
#include "ui.h"
#include "view.h"

static volatile sig_atomic_t stopping;

int
app_init(struct app *app, const struct conf *conf, char *err, size_t errsz)
{
	return app_init_key(app, conf, APP_KEY_CREATE, err, errsz);
}

int
app_init_key(struct app *app, const struct conf *conf, int key_mode, char *err, size_t errsz)
{
	memset(app, 0, sizeof(*app));
	app->conf = *conf;
	/* Hash memory (argon2) must go back to the system after a login,
	 * or glibc keeps it resident (DESIGN.md, memory budget). */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	if ((app->db = db_open_ready(conf->database, conf->cache_size_kb, err, errsz)) == NULL)
		return -1;
	if (views_load(&app->views, conf->views_dir, err, errsz) != 0)
		return -1;
	app->error_page = ui_error_page;
	/* Where the test suite runs, a misspelt key in a template is a 500. */
	views_set_strict(app->views, conf->test_routes);
	app->cache = cache_new((size_t)conf->page_cache_kb * 1024);
	/* The server key seals secrets (seal() derives its own subkey)
	 * and, through another subkey, signs pre-session CSRF tokens;
	 * the first process to need it creates it (mode 0600). */
	if (key_mode == APP_KEY_NONE)
		return 0;
	if (seal_key_load(conf->key_file, app->key, key_mode == APP_KEY_CREATE, err, errsz) != 0)
		return -1;
	if (seal_subkey(app->presession_key, app->key, SEAL_LABEL_PRESESSION) != 0) {
		snprintf(err, errsz, "cannot derive the pre-session key (OpenSSL HKDF)");
		return -1;
	}
	return 0;
}

void
app_fini(struct app *app)
{
	db_close(app->db);
	app->db = NULL;
	views_free(app->views);
	app->views = NULL;
	cache_free(app->cache);
	app->cache = NULL;
	free(app->form_action);
	app->form_action = NULL;
}

/* ---- CSP form-action ---- */

/* An origin fit for the header: scheme, host, port; nothing that could
 * end the directive (';', ',', a quote, a space) or the header line. */
static int
origin_ok(const char *o)
{
	const char *p;

	if (strncmp(o, "https://", 8) != 0 && strncmp(o, "http://", 7) != 0)
		return 0;
	for (p = o; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '-' || *p == ':' || *p == '/'))
			return 0;
	return 1;
}

/* The sources in r's arena: each enabled gateway's checkout origin, a
 * space between.  Runs SQL: only under form_action_fail's handler. */
static const char *
form_action_build(struct request *r)
{
	const char *out = "", *o;
	int	 gw;

	for (gw = 0; gw < GW__MAX; gw++) {
		if (!gw_enabled(r->db, gw))
			continue;
		o = gw_checkout_origin(r->db, &r->app->conf, gw);
		if (!origin_ok(o)) {
			log_sys("worker", "%s_checkout_origin is not an origin: left out of form-action",
			    gw_name[gw]);
			continue;
		}
		out = arena_printf(r->a, "%s%s%s", out, *out ? " " : "", o);
	}
	return out;
}

static void
form_action_fail(void *ctx, const char *msg)
{
	log_sys("worker", "form-action: %s", msg);
	longjmp(*(jmp_buf *)ctx, 1);
}

/*
 * Keep app->form_action in step with the settings: rebuilt when the
 * catalog version (every settings write moves it, sql/008) differs from
 * the one it was built at, so an enabled or disabled gateway reaches
 * every worker's next response, and an unchanged shop costs one
 * single-row read per request.  A database error keeps what the worker
 * had (logged): the header must never fail a request.  Before the
 * request's own fail handler exists; leaves the db as req_bind_db has
 * it.
 */
static void
form_action_refresh(struct request *r)
{
	struct app *app = r->app;
	int64_t	 v = db_peek_int(r->db, Q_CATALOG_VERSION, -1);
	const char *built;
	jmp_buf	 jb;

	if (v < 0 || (v == app->form_action_version && app->form_action != NULL))
		return;
	db_on_fail(r->db, form_action_fail, &jb);
	if (setjmp(jb) == 0) {
		built = form_action_build(r);
		free(app->form_action);
		app->form_action = xstrdup(built);
		app->form_action_version = v;
	}
	db_reset_all(r->db);
	req_bind_db(r);
}

/* ---- transport ---- */

struct transport {
	const char	*(*param)(void *, const char *);
	int		 (*read)(void *, char *, int);
	void		 (*write)(void *, const char *, size_t);
	/* Write n bytes now (a streamed piece): nothing stays buffered. */
	void		 (*write_now)(void *, const char *, size_t);
	/* A streamed body was cut (its trailer is written). */
	void		 (*cut)(void *);
	void		*ctx;
};

static const char *
fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)ctx)->envp);
}

static int
fcgi_read(void *ctx, char *p, int n)
{
	return FCGX_GetStr(p, n, ((FCGX_Request *)ctx)->in);
}

static void
fcgi_write(void *ctx, const char *p, size_t n)
{
	FCGX_PutStr(p, (int)n, ((FCGX_Request *)ctx)->out);
}

/* Set while a streamed piece is being written: the SIGALRM handler
 * then writes nothing on the connection (it could land inside a record
 * or a row). */
static volatile sig_atomic_t to_writing;

/* A streamed piece goes out whole, as complete FastCGI records, so the
 * wire always ends at a piece's end (a row's, for the CSV): where the
 * timeout's trailer may follow. */
static void
fcgi_write_now(void *ctx, const char *p, size_t n)
{
	to_writing = 1;
	atomic_signal_fence(memory_order_seq_cst);
	FCGX_PutStr(p, (int)n, ((FCGX_Request *)ctx)->out);
	FCGX_FFlush(((FCGX_Request *)ctx)->out);
	atomic_signal_fence(memory_order_seq_cst);
	to_writing = 0;
}

/*
 * A cut body ends the FastCGI request with application status 1.  That
 * is all the protocol can say: nginx (1.22, tested) ignores it, and
 * even a connection closed before END_REQUEST ends its chunked reply
 * normally, so the trailer line in the body is what the client sees.
 */
static void
fcgi_cut(void *ctx)
{
	FCGX_SetExitStatus(1, ((FCGX_Request *)ctx)->out);
}

static const char *
cgi_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static int
cgi_read(void *ctx, char *p, int n)
{
	(void)ctx;
	return (int)fread(p, 1, (size_t)n, stdin);
}

static void
cgi_write(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	fwrite(p, 1, n, stdout);
}

static void
cgi_write_now(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	to_writing = 1;
	atomic_signal_fence(memory_order_seq_cst);
	fwrite(p, 1, n, stdout);
	fflush(stdout);
	atomic_signal_fence(memory_order_seq_cst);
	to_writing = 0;
}

/* CGI: the body ends with its trailer and `request` exits 1
 * (worker_cgi). */
static void
cgi_cut(void *ctx)
{
	(void)ctx;
}

/* ---- the timeout ---- */

/*
 * What the SIGALRM handler writes.  The handler reads to_fd and the
 * lengths first: they are cleared before a buffer is rewritten and set
 * after it (with a signal fence between), so a timer firing half-way
 * through an update writes nothing rather than half a record.
 */
static char	 to_resp[2048];	/* prepared FastCGI records or CGI text */
static volatile sig_atomic_t to_resp_len;
static char	 to_log[512];
static volatile sig_atomic_t to_log_len;
static volatile sig_atomic_t to_fd = -1;
static volatile sig_atomic_t to_log_fd = 2;
static char	 to_sl[640];	/* the same line as a syslog datagram (log.c) */
static volatile sig_atomic_t to_sl_len;
static volatile sig_atomic_t to_sl_fd = -1;
static int	 to_seconds;
static int	 to_conn_fd = -1, to_fcgi_id = -1;	/* the request's, for timeout_streaming */
static int64_t	 to_deadline;	/* wall clock, for the log line */

static void
on_alarm(int sig)
{
	ssize_t	 w;

	(void)sig;
	if (to_fd >= 0 && to_resp_len > 0 && !to_writing)
		w = write(to_fd, to_resp, (size_t)to_resp_len);
	if (to_log_len > 0)
		w = write(to_log_fd, to_log, (size_t)to_log_len);
	/* send(2) is async-signal-safe; MSG_DONTWAIT as every log line. */
	if (to_sl_len > 0 && to_sl_fd >= 0)
		w = send(to_sl_fd, to_sl, (size_t)to_sl_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
	/*
	 * No px_leak_check() here, unlike the worker's other exits
	 * (pool.c): LeakSanitizer's check is not async-signal-safe (it
	 * would deadlock on an allocator lock the interrupted code holds),
	 * and the request's memory is live, not leaked, at this point.
	 */
	_exit(3);
}

static void
fcgi_header(unsigned char *h, int type, int id, size_t len)
{
	h[0] = 1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0;
	h[7] = 0;
}

/*
 * Prepare the log line the SIGALRM handler writes: r NULL while no
 * request has been read yet (the timer runs from before the accept).
 * The handler cannot format a time stamp, so the line carries the
 * moment the timer fires.  Allocates only temporarily.
 */
static void
timeout_log(const struct request *r, int streamed)
{
	char	 when[32], lp[LOG_PATH_MAX];
	struct buf lb;
	int	 n;

	to_log_len = 0;
	to_sl_len = 0;
	atomic_signal_fence(memory_order_seq_cst);
	buf_init(&lb);
	iso8601(when, to_deadline);
	buf_printf(&lb, "{\"time\":\"%s\",\"level\":\"error\",\"id\":\"%s\",\"method\":", when,
	    r != NULL ? r->id : "-");
	buf_json_str(&lb, r != NULL && r->method_name ? r->method_name : "-");
	buf_puts(&lb, ",\"path\":");
	buf_json_str(&lb, log_path(r != NULL ? r->path : NULL, lp, sizeof(lp)));
	buf_printf(&lb, ",\"status\":%d,\"msg\":\"request timed out after %d s%s\",\"pid\":%d}\n",
	    streamed ? r->status : 504, to_seconds, r == NULL ? " before its parameters were read" :
	    streamed ? " while streaming its body: the body is cut" : "", (int)getpid());
	if (lb.len < sizeof(to_log)) {
		memcpy(to_log, lb.p, lb.len);
		to_log_fd = log_fileno();
		atomic_signal_fence(memory_order_seq_cst);
		to_log_len = (sig_atomic_t)lb.len;
	}
	/* The syslog copy (log_syslog = yes), stamped now rather than when
	 * the timer fires: the JSON inside carries the deadline. */
	if ((n = log_syslog_prepare(to_sl, sizeof(to_sl), lb.p, lb.len)) > 0) {
		to_sl_fd = log_syslog_fileno();
		atomic_signal_fence(memory_order_seq_cst);
		to_sl_len = (sig_atomic_t)n;
	}
	buf_free(&lb);
}

/*
 * Start the request timer: called before the accept, so the client's
 * parameters and body count against request_timeout too.  Until
 * timeout_prepare() knows the connection, a timeout only logs and
 * exits (which closes the connection).
 */
static void
timeout_start(int seconds)
{
	struct itimerval it = { { 0, 0 }, { seconds, 0 } };

	to_fd = -1;
	to_resp_len = 0;
	to_seconds = seconds;
	to_deadline = wall_unix() + seconds;
	timeout_log(NULL, 0);
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * What the SIGALRM handler writes: the n bytes at p as the rest of the
 * response, in FastCGI records that end request fcgi_id (with
 * application status app), or as they are for CGI (fcgi_id -1).  The
 * caller has cleared to_fd.
 */
static void
timeout_records(const char *p, size_t n, int fcgi_id, int app)
{
	/* Too long for the prepared records: the timeout then only logs
	 * and exits, as before the request was known. */
	if (n + 32 > sizeof(to_resp) || n > 0xffff)
		n = 0;
	if (n == 0)
		to_resp_len = 0;
	else if (fcgi_id >= 0) {
		unsigned char *h = (unsigned char *)to_resp;

		fcgi_header(h, 6 /* STDOUT */, fcgi_id, n);
		memcpy(to_resp + 8, p, n);
		fcgi_header(h + 8 + n, 6, fcgi_id, 0);
		fcgi_header(h + 16 + n, 3 /* END_REQUEST */, fcgi_id, 8);
		memset(to_resp + 24 + n, 0, 8);
		to_resp[24 + n + 3] = (char)app;	/* appStatus, big-endian */
		to_resp_len = (sig_atomic_t)(n + 32);
	} else {
		memcpy(to_resp, p, n);
		to_resp_len = (sig_atomic_t)n;
	}
}

/*
 * Prepare the 504 the SIGALRM handler writes for request r on fd
 * (FastCGI request fcgi_id, or -1 for CGI text); called again once the
 * method and path are known, for the log line.  Does not touch the
 * timer.  Allocates only temporarily.
 */
static void
timeout_prepare(const struct request *r, int fd, int fcgi_id)
{
	struct buf http;

	to_fd = -1;
	atomic_signal_fence(memory_order_seq_cst);
	buf_init(&http);
	resp_timeout(r->id, r->https, &http);
	timeout_records(http.p, http.len, fcgi_id, 0);
	buf_free(&http);
	to_conn_fd = fd;
	to_fcgi_id = fcgi_id;
	timeout_log(r, 0);
	atomic_signal_fence(memory_order_seq_cst);
	to_fd = fd;
}

/*
 * The sink's began(): r's head is about to be written, so the 504 must
 * never be (it would land inside the body).  A timeout from here on
 * writes r's trailer (none for HEAD) and ends the request with status
 * 1, then exits.
 */
static void
timeout_streaming(const struct request *r)
{
	const char *tr = r->method != M_HEAD && r->trailer != NULL ? r->trailer : "";

	/* Until the head is out (write_now clears it), a trailer would
	 * come before the head: write nothing. */
	to_writing = 1;
	to_fd = -1;
	atomic_signal_fence(memory_order_seq_cst);
	timeout_records(tr, strlen(tr), to_fcgi_id, 1);
	timeout_log(r, 1);
	atomic_signal_fence(memory_order_seq_cst);
	to_fd = to_conn_fd;
}

static void
disarm_timeout(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
	to_fd = -1;
	to_log_len = 0;
}

/* ---- one request ---- */

static enum method
parse_method(const char *m)
{
	int	 i;

	for (i = 0; i < M__MAX; i++)
		if (m != NULL && strcmp(m, method_names[i]) == 0)
			return (enum method)i;
	return M__MAX;
}

/*
 * Parse the transport's parameters into r, and the Content-Length into
 * *len; 0 or an HTTP status (400, 405, 413).  Allocates in the arena.
 */
static int
read_params(struct request *r, const struct transport *t, const struct limits *lim,
    int64_t *lenp)
{
	const char *uri, *q, *cl, *https;
	char	*path;
	size_t	 pn;
	int64_t	 len = 0;
	int	 rc;

	*lenp = 0;

	r->method_name = t->param(t->ctx, "REQUEST_METHOD");
	r->method = parse_method(r->method_name);
	uri = t->param(t->ctx, "REQUEST_URI");
	if (uri == NULL)
		uri = t->param(t->ctx, "SCRIPT_NAME");
	if (uri == NULL || *uri != '/') {
		r->path = "/";
		r->error = "The request has no valid path.";
		return 400;
	}
	if (strlen(uri) > 4096) {
		r->path = "/";
		r->error = "The address is too long.";
		return 400;
	}
	q = strchr(uri, '?');
	pn = q ? (size_t)(q - uri) : strlen(uri);
	path = arena_strndup(r->a, uri, pn);
	r->path = path;
	if (url_decode(path, &pn, 0) != 0 || !utf8_valid(path, pn, 0) ||
	    strstr(path, "/../") != NULL || strstr(path, "//") != NULL) {
		r->path = "/";
		r->error = "The address is malformed.";
		return 400;
	}
	if (r->method == M__MAX) {
		r->method = M_GET;
		r->error = "This method is not supported.";
		return 405;
	}
	r->raw_query = q ? q + 1 : "";
	r->remote_addr = t->param(t->ctx, "REMOTE_ADDR");
	r->host = t->param(t->ctx, "HTTP_HOST");
	r->ctype = t->param(t->ctx, "CONTENT_TYPE");
	r->origin = t->param(t->ctx, "HTTP_ORIGIN");
	r->referer = t->param(t->ctx, "HTTP_REFERER");
	r->sec_fetch_site = t->param(t->ctx, "HTTP_SEC_FETCH_SITE");
	r->authorization = t->param(t->ctx, "HTTP_AUTHORIZATION");
	r->user_agent = t->param(t->ctx, "HTTP_USER_AGENT");
	r->cookie_header = t->param(t->ctx, "HTTP_COOKIE");
	r->csrf_header = t->param(t->ctx, "HTTP_X_CSRF_TOKEN");
	r->env = t->param;
	r->env_ctx = t->ctx;
	https = t->param(t->ctx, "HTTPS");
	r->https = https != NULL && (strcasecmp(https, "on") == 0 || strcmp(https, "1") == 0);

	if ((rc = req_parse_query(r, &r->query, r->raw_query, strlen(r->raw_query), lim)) != 0)
		return rc;
	if ((rc = req_parse_cookies(r, r->cookie_header, lim)) != 0)
		return rc;
	cl = t->param(t->ctx, "CONTENT_LENGTH");
	if (cl != NULL && *cl != '\0' && (parse_i64(cl, &len) != 0 || len < 0)) {
		r->error = "The Content-Length is malformed.";
		return 400;
	}
	if ((size_t)len > lim->max_body) {
		r->error = "The request body is too large.";
		return 413;
	}
	*lenp = len;
	return 0;
}

/*
 * Read the body of len bytes (from read_params) and parse it; 0 or an
 * HTTP status (400, 413, 415).  Allocates in the arena.
 */
static int
read_body(struct request *r, const struct transport *t, const struct limits *lim,
    int64_t len)
{
	if (len > 0) {
		char	*body = arena_alloc(r->a, (size_t)len + 1);
		int	 got = 0, n;

		while (got < len && (n = t->read(t->ctx, body + got, (int)(len - got))) > 0)
			got += n;
		body[got] = '\0';
		if (got != len) {
			r->error = "The request body ended early.";
			return 400;
		}
		r->body = body;
		r->body_len = (size_t)len;
	}
	return req_parse_body(r, lim);
}

static void
new_request_id(char id[17])
{
	unsigned char b[8];

	random_bytes(b, sizeof(b));
	hex_encode(id, b, sizeof(b));
}

/* Answer a request that did not parse; render_error may itself fail. */
static void
parse_error(struct request *r, int status)
{
	jmp_buf	 jb;

	r->fail = &jb;
	if (setjmp(jb) == 0)
		render_error(r, status);
	r->fail = NULL;
}

/*
 * Pick up a rotated key file (`1000proxy key rotate` renames a new one
 * into place): one stat(2) per request, a reload when it changed, so
 * new values are sealed and new passwords peppered under the new key
 * from the next request on, with no restart.  A reload that fails keeps
 * the keys the worker had.
 */
static void
app_key_refresh(struct app *app)
{
	char	 err[512];

	switch (seal_key_refresh(app->conf.key_file, app->key, err, sizeof(err))) {
	case 1:
		if (seal_subkey(app->presession_key, app->key, SEAL_LABEL_PRESESSION) != 0)
			log_sys("key", "worker %d: cannot derive the pre-session key", app->worker_id);
		break;
	case -1:
		log_sys("key", "worker %d: keeps its keys: %s", app->worker_id, err);
		break;
	}
}

/*
 * Handle one request from transport t.  fd and fcgi_id describe the
 * connection for the timeout path (-1 for CGI on stdout: fd 1).
 * Returns 1 when a streamed body was cut, else 0.
 */
static int
handle(struct app *app, struct arena *a, struct buf *out, const struct transport *t,
    int fd, int fcgi_id, struct slot *slot)
{
	struct request r;
	struct buf h;
	struct limits lim;
	struct sink sink = { t->write_now, timeout_streaming, t->ctx };
	char	 lp[LOG_PATH_MAX];
	int64_t	 len;
	int	 rc, cut;

	app_key_refresh(app);
	memset(&r, 0, sizeof(r));
	r.app = app;
	r.a = a;
	req_bind_db(&r);
	r.out = out;
	r.sink = &sink;
	r.t0 = now_mono();
	r.status = 200;
	new_request_id(r.id);
	buf_reset(out);

	lim.max_body = (size_t)app->conf.max_body;
	lim.max_fields = (size_t)app->conf.max_fields;
	lim.max_field_len = (size_t)app->conf.max_field_len;

	/*
	 * The timer runs since before the accept (timeout_start), which
	 * has read the parameters; from here on a timeout answers this
	 * request with a 504, so a body that never arrives in full costs
	 * the worker request_timeout at most.
	 */
	rc = read_params(&r, t, &lim, &len);
	timeout_prepare(&r, fd, fcgi_id);
	if (slot != NULL) {
		memcpy(slot->id, r.id, sizeof(slot->id));
		snprintf(slot->path, sizeof(slot->path), "%s", log_path(r.path, lp, sizeof(lp)));
		slot->busy = 1;
	}
	if (rc == 0)
		rc = read_body(&r, t, &lim, len);
	form_action_refresh(&r);
	if (rc != 0)
		parse_error(&r, rc);
	else if (!cache_lookup(&r))	/* cache.c says when it may answer */
		dispatch(&r);
	/* Whatever the handler left behind ends here. */
	db_rollback(r.db);
	db_reset_all(r.db);
	db_on_fail(r.db, NULL, NULL);
	db_set_arena(r.db, NULL);
	db_cache_limit(r.db, 0);
	if (!r.streamed)
		cache_store(&r);

	if (!r.streamed) {
		disarm_timeout();
		buf_init(&h);
		resp_head(&r, out->len, &h);
		t->write(t->ctx, h.p, h.len);
		buf_free(&h);
	}
	/* The timer stays armed over the rest of a streamed body. */
	if (r.method != M_HEAD && out->len)
		(r.streamed ? t->write_now : t->write)(t->ctx, out->p, out->len);
	if (r.cut)
		t->cut(t->ctx);
	disarm_timeout();
	r.sent += out->len;
	cut = r.cut;

	log_request(&r, r.sent);
	if (r.json != NULL)
		json_object_put(r.json);
	if (slot != NULL) {
		slot->busy = 0;
		slot->served++;
	}
	app->served++;
	arena_reset(a);
	/* A huge response must not pin its buffer for the worker's life. */
	if (out->cap > 1024 * 1024)
		buf_free(out);
	return cut;
}

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/*
 * Wait until the listening socket has a connection or SIGTERM came.
 * SIGTERM is blocked everywhere else, and ppoll() unblocks it
 * atomically, so it can neither slip in between a check of `stopping`
 * and a blocking accept() (leaving the worker asleep in accept()) nor
 * interrupt a request half-way: libfcgi's FCGX_ShutdownPending() would
 * make it drop the reply of a request in flight.  1: try to accept,
 * 0: stop.
 */
static int
wait_listen(int listen_fd, const sigset_t *waitmask)
{
	struct pollfd pfd;

	for (;;) {
		if (stopping)
			return 0;
		pfd.fd = listen_fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (ppoll(&pfd, 1, NULL, waitmask) > 0 && !stopping)
			return 1;
		if (!stopping && errno != EINTR && errno != EAGAIN) {
			log_sys("worker", "poll: %s", strerror(errno));
			return 0;
		}
	}
}

int
worker_run(struct app *app, int listen_fd, struct slot *slot)
{
	FCGX_Request req;
	struct arena *a = arena_new(64 * 1024);
	struct buf out;
	struct sigaction sa;
	struct transport t = { fcgi_param, fcgi_read, fcgi_write, fcgi_write_now, fcgi_cut,
	    &req };
	sigset_t term, waitmask;
	int	 rc, fl;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);

	/*
	 * Every idle worker wakes on a new connection and only one wins
	 * it: the others must get EAGAIN back, not sleep in accept() with
	 * SIGTERM blocked.  (The flag is on the socket shared by all the
	 * workers, which all run this loop; accepted sockets are blocking.)
	 */
	if ((fl = fcntl(listen_fd, F_GETFL)) >= 0 && !(fl & O_NONBLOCK))
		fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK);

	buf_init(&out);
	FCGX_Init();
	FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	while (wait_listen(listen_fd, &waitmask)) {
		/*
		 * The request timer starts before the accept: FCGX_Accept_r
		 * reads the parameters itself, from a blocking socket, so a
		 * client trickling them (or sending none) would otherwise
		 * hold this worker for as long as it likes.  The scoreboard
		 * says busy from here too, with no request id yet, so the
		 * master's watchdog covers the same span.
		 */
		if (slot != NULL) {
			slot->id[0] = '\0';
			snprintf(slot->path, sizeof(slot->path), "-");
			slot->started = now_mono();
			slot->busy = 1;
		}
		timeout_start((int)app->conf.request_timeout);
		if ((rc = FCGX_Accept_r(&req)) < 0) {
			disarm_timeout();
			if (slot != NULL)
				slot->busy = 0;
			/* Another worker took it, or the client left. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR ||
			    rc == -ECONNABORTED || rc == -EPROTO)
				continue;
			log_sys("worker", "accept failed (%d); leaving", rc);
			break;
		}
		handle(app, a, &out, &t, req.ipcFd, req.requestId, slot);
		FCGX_Finish_r(&req);
		if (app->conf.max_requests > 0 && app->served >= (uint64_t)app->conf.max_requests)
			break;
	}
	FCGX_Free(&req, 1);
	buf_free(&out);
	arena_free(a);
	return 0;
}

int
worker_cgi(struct app *app)
{
	struct arena *a = arena_new(64 * 1024);
	struct buf out;
	struct transport t = { cgi_param, cgi_read, cgi_write, cgi_write_now, cgi_cut,
	    NULL };
	struct sigaction sa;
	int	 cut;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	buf_init(&out);
	timeout_start((int)app->conf.request_timeout);
	cut = handle(app, a, &out, &t, 1, -1, NULL);
	fflush(stdout);
	buf_free(&out);
	arena_free(a);
	return cut;
}
