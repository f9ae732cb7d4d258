/*
 * xui.c: the 3X-UI panel client.  See xui.h; the contract is
 * ../shared/contracts/3x-ui.md (section numbers below are its).
 *
 * Why the envelope and not the HTTP status: panels answer 200 on
 * failure (2.0), so every reply must parse as {success: bool, msg,
 * obj} or it is an error.  A hostile reply (wrong types, JSON nested
 * past json-c's depth limit, more than XUI_REPLY_MAX bytes) is an
 * error with a reason, never a crash.  An expired session is answered
 * 404, 401 or a 307 redirect depending on the version (1.3); the client
 * signs in again once and repeats the call.  One log line per call says
 * the panel, the route, the time and the outcome, never a secret.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "curl_lib.h"
#include "log.h"
#include "util.h"
#include "valid.h"
#include "xui.h"

/* An inbound list with a few thousand clients fits; more is not a panel. */
#define XUI_REPLY_MAX	(4 << 20)

struct xui {
	struct arena	*a;		/* per-call strings (xui_use_arena) */
	const struct curl_lib *cu;
	CURL		*h;
	const char	*name;
	const char	*base;		/* ends in '/' */
	const char	*user;
	char		*pw;
	char		*token;
	char		*csrf;		/* NULL, or csrfbuf */
	char		 csrfbuf[256];
	const char	*gen;		/* "g2" or "g3" */
	int		 v3auth;
	int		 logged_in;
	int		 logins;
	struct buf	 body;
	int		 too_big;
	const char	*fail;		/* the last failure's kind */
	long		 http;		/* the last reply's status */
	char		 err[CURL_ERROR_SIZE + 256];
};

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xui *x = arg;
	size_t	 n = size * nmemb;

	if (x->body.len + n > XUI_REPLY_MAX) {
		x->too_big = 1;
		return 0;	/* ends the transfer: CURLE_WRITE_ERROR */
	}
	buf_add(&x->body, p, n);
	return n;
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

struct xui *
xui_open(struct arena *a, const struct conf *c, const char *name, const char *base,
    const char *user, const char *password, const char *token, int tls_verify,
    const char *pin, const char *ca_pem, char *err, size_t errsz)
{
	struct xui *x;
	struct curl_blob blob;
	size_t	 n = strlen(base);

	if (pin != NULL && *pin == '\0')
		pin = NULL;
	if (ca_pem != NULL && *ca_pem == '\0')
		ca_pem = NULL;
	/* Checked here as well as in the forms: a row stored before issue
	 * 16 is refused at its next call, with this as its last error. */
	if (!valid_panel_url(base)) {
		snprintf(err, errsz, "the panel URL must be https:// (http:// only on a loopback "
		    "host: 127.0.0.1, ::1, localhost): change it on the servers page or with "
		    "`1000proxy server set`");
		return NULL;
	}
	/* tls_verify = 0 no longer turns checks off (issue 16, V9.2.1): such
	 * a server needs a pinned key or its CA first. */
	if (!tls_verify && pin == NULL && ca_pem == NULL && strncmp(base, "https://", 8) == 0) {
		snprintf(err, errsz, "the panel's certificate needs a pin: TLS verification was off "
		    "for this server; run `1000proxy server pin` or use the servers page's "
		    "\"fetch the panel's certificate\" to pin it");
		return NULL;
	}
	if (pin != NULL && (strncmp(pin, "sha256//", 8) != 0 || strlen(pin) != 8 + 44)) {
		snprintf(err, errsz, "the pinned key is not sha256//BASE64 of 44 characters");
		return NULL;
	}
	x = arena_zalloc(a, sizeof(*x));
	x->a = a;
	x->gen = "g2";
	x->name = arena_strdup(a, name);
	x->base = n > 0 && base[n - 1] == '/' ? arena_strdup(a, base) : arena_printf(a, "%s/", base);
	x->user = arena_strdup(a, user);
	x->pw = password != NULL ? arena_strdup(a, password) : NULL;
	x->token = token != NULL && *token ? arena_strdup(a, token) : NULL;
	if ((x->cu = curl_lib(err, errsz)) == NULL)
		return NULL;
	if ((x->h = x->cu->easy_init()) == NULL) {
		snprintf(err, errsz, "curl_easy_init failed");
		return NULL;
	}
	buf_init(&x->body);
	x->cu->easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
	x->cu->easy_setopt(x->h, CURLOPT_COOKIEFILE, "");	/* the session cookie, in memory */
	x->cu->easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT,
	    c->panel_timeout < 10 ? (long)c->panel_timeout : 10L);
	x->cu->easy_setopt(x->h, CURLOPT_TIMEOUT, (long)c->panel_timeout);
	x->cu->easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	/* With a pin the chain (a self-signed certificate has none) and
	 * host name may go unchecked: the key must be the pinned one, which
	 * libcurl checks on every handshake.  Without one, the chain is
	 * checked against the system's CAs, or against the server's own CA
	 * (its self-signed certificate) when one is stored. */
	if (pin != NULL) {
		x->cu->easy_setopt(x->h, CURLOPT_SSL_VERIFYPEER, 0L);
		x->cu->easy_setopt(x->h, CURLOPT_SSL_VERIFYHOST, 0L);
		x->cu->easy_setopt(x->h, CURLOPT_PINNEDPUBLICKEY, arena_strdup(a, pin));
	} else {
		x->cu->easy_setopt(x->h, CURLOPT_SSL_VERIFYPEER, 1L);
		x->cu->easy_setopt(x->h, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (ca_pem != NULL) {
		blob.data = (void *)ca_pem;
		blob.len = strlen(ca_pem);
		blob.flags = CURL_BLOB_COPY;
		x->cu->easy_setopt(x->h, CURLOPT_CAINFO_BLOB, &blob);
	}
	x->cu->easy_setopt(x->h, CURLOPT_WRITEFUNCTION, write_cb);
	x->cu->easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	return x;
}

/* One HTTP exchange: the status, or -1 with x->err.  auth: send the
 * Bearer token / CSRF header. */
static long
exchange(struct xui *x, const char *method, const char *path, const char *body, int auth)
{
	const struct curl_lib *cu = x->cu;
	struct curl_slist *hdr = NULL;
	char	 errbuf[CURL_ERROR_SIZE] = "";
	long	 code = 0;
	CURLcode rc;

	x->body.len = 0;
	x->too_big = 0;
	hdr = cu->slist_append(hdr, "Accept: application/json");
	if (body != NULL)
		hdr = cu->slist_append(hdr, "Content-Type: application/json");
	if (auth && x->token != NULL)
		hdr = cu->slist_append(hdr, arena_printf(x->a, "Authorization: Bearer %s", x->token));
	else if (x->csrf != NULL && strcmp(method, "POST") == 0)
		hdr = cu->slist_append(hdr, arena_printf(x->a, "X-CSRF-Token: %s", x->csrf));
	cu->easy_setopt(x->h, CURLOPT_URL, arena_printf(x->a, "%s%s", x->base, path));
	cu->easy_setopt(x->h, CURLOPT_HTTPHEADER, hdr);
	cu->easy_setopt(x->h, CURLOPT_ERRORBUFFER, errbuf);
	if (strcmp(method, "POST") == 0) {
		cu->easy_setopt(x->h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
		cu->easy_setopt(x->h, CURLOPT_POSTFIELDSIZE, (long)(body != NULL ? strlen(body) : 0));
	} else
		cu->easy_setopt(x->h, CURLOPT_HTTPGET, 1L);
	rc = cu->easy_perform(x->h);
	cu->easy_setopt(x->h, CURLOPT_HTTPHEADER, NULL);
	cu->slist_free_all(hdr);
	x->http = 0;
	if (rc != CURLE_OK) {
		x->fail = "unreachable";
		snprintf(x->err, sizeof(x->err), "%s", x->too_big ?
		    "reply larger than 4 MiB" :
		    errbuf[0] ? errbuf : cu->easy_strerror(rc));
		return -1;
	}
	cu->easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	x->http = code;
	buf_putc(&x->body, '\0');
	x->body.len--;
	return code;
}

int
xui_envelope_parse(const char *body, size_t len, long code, struct xui_env *env, char *err,
    size_t errsz)
{
	struct json_object *o, *v;

	memset(env, 0, sizeof(*env));
	env->http = code;
	env->msg = "";
	/* A NUL inside the body would hide the rest from the parser. */
	if (body == NULL || strlen(body) != len || (o = json_tokener_parse(body)) == NULL) {
		snprintf(err, errsz, "HTTP %ld: the reply is not a {success, msg, obj} "
		    "envelope%s", code, code == 403 ? " (403: the panel refused the CSRF token)" : "");
		return -1;
	}
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "success", &v) || !json_object_is_type(v, json_type_boolean)) {
		json_object_put(o);
		snprintf(err, errsz, "HTTP %ld: the reply is not a {success, msg, obj} envelope", code);
		return -1;
	}
	env->root = o;
	env->success = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "msg", &v) && json_object_is_type(v, json_type_string))
		env->msg = json_object_get_string(v);
	if (json_object_object_get_ex(o, "obj", &v))
		env->obj = v;
	return 0;
}

/* The body as an envelope: 0, or -1 with x->err. */
static int
envelope(struct xui *x, long code, struct xui_env *env)
{
	x->fail = "bad_reply";
	return xui_envelope_parse(x->body.p ? x->body.p : "", x->body.len, code, env, x->err,
	    sizeof(x->err));
}

void
xui_env_free(struct xui_env *env)
{
	json_object_put(env->root);
	memset(env, 0, sizeof(*env));
}

static void
log_call(struct xui *x, const char *method, const char *path, const struct timespec *t0,
    long code, const char *outcome)
{
	log_sys("xui", "panel=%s %s %s http=%ld ms=%.0f %s", x->name, method, path, code,
	    ms_since(t0), outcome);
}

int
xui_login(struct xui *x)
{
	struct json_object *o, *v;
	struct xui_env env;
	struct timespec t0;
	const char *s;
	long	 code;
	int	 rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	x->csrf = NULL;
	/* v3 wants a CSRF token on login; v1 and v2 have no such route (0, 1.1). */
	code = exchange(x, "GET", "csrf-token", NULL, 0);
	log_call(x, "GET", "csrf-token", &t0, code, code < 0 ? x->err : "ok");
	if (code < 0)
		return -1;
	x->v3auth = 0;
	if (code == 200 && (o = json_tokener_parse(x->body.p ? x->body.p : "")) != NULL) {
		if (json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "obj", &v) && json_object_is_type(v, json_type_string) &&
		    strlen(json_object_get_string(v)) < sizeof(x->csrfbuf)) {
			/* In the handle, not an arena: a kept handle signs in
			 * again under another job's arena. */
			snprintf(x->csrfbuf, sizeof(x->csrfbuf), "%s", json_object_get_string(v));
			x->csrf = x->csrfbuf;
			x->v3auth = 1;
		}
		json_object_put(o);
	}
	if (x->token != NULL) {
		/* A Bearer token skips the session and CSRF (1.4). */
		x->logged_in = 1;
		return 0;
	}
	if (x->pw == NULL) {
		x->fail = "no_credentials";
		snprintf(x->err, sizeof(x->err), "no panel password or API token is stored");
		return -1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "username", json_object_new_string(x->user));
	json_object_object_add(o, "password", json_object_new_string(x->pw));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	code = exchange(x, "POST", "login", s, 0);
	/* json-c keeps the serialised text (the password) in the object. */
	explicit_bzero((char *)s, strlen(s));
	json_object_put(o);
	x->logins++;
	if (code < 0) {
		log_call(x, "POST", "login", &t0, code, x->err);
		return -1;
	}
	if (envelope(x, code, &env) != 0) {
		log_call(x, "POST", "login", &t0, code, "bad_reply");
		return -1;
	}
	rc = env.success ? 0 : -1;
	if (!env.success) {
		x->fail = "refused";
		snprintf(x->err, sizeof(x->err), "%s", env.msg);
	}
	log_call(x, "POST", "login", &t0, code, env.success ? "ok" : "refused");
	xui_env_free(&env);
	x->logged_in = rc == 0;
	return rc;
}

/* Section 1.3: what an expired (or missing) session looks like. */
static int
expired(const struct xui *x, long code)
{
	if (x->token != NULL)
		return 0;
	return code == 301 || code == 302 || code == 307 || code == 401 ||
	    (code == 404 && x->body.len == 0);
}

int
xui_call(struct xui *x, const char *method, const char *path, const char *body,
    struct xui_env *env)
{
	struct timespec t0;
	long	 code;
	int	 again;

	memset(env, 0, sizeof(*env));
	env->msg = "";
	if (!x->logged_in && xui_login(x) != 0)
		return -1;
	for (again = 1;; again = 0) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		code = exchange(x, method, path, body, 1);
		if (code < 0) {
			log_call(x, method, path, &t0, code, x->err);
			return -1;
		}
		if (!expired(x, code))
			break;
		log_call(x, method, path, &t0, code, "session expired");
		x->logged_in = 0;
		if (!again) {
			x->fail = "bad_reply";
			snprintf(x->err, sizeof(x->err), "HTTP %ld: the session expired again "
			    "right after a new login", code);
			return -1;
		}
		if (xui_login(x) != 0)
			return -1;
	}
	if (envelope(x, code, env) != 0) {
		log_call(x, method, path, &t0, code, "bad_reply");
		return -1;
	}
	log_call(x, method, path, &t0, code, env->success ? "ok" : "refused");
	return 0;
}

int
xui_detect(struct xui *x, char *version, size_t vsz, const char **gen, char *xray, size_t xsz)
{
	struct json_object *v, *xo;
	struct xui_env env;
	int	 major = 0, minor = 0;

	version[0] = '\0';
	if (xray != NULL && xsz > 0)
		xray[0] = '\0';
	*gen = "g2";
	if (xui_call(x, "GET", "panel/api/server/status", NULL, &env) != 0)
		return -1;
	if (!env.success) {
		x->fail = "refused";
		snprintf(x->err, sizeof(x->err), "server/status: %s", env.msg);
		xui_env_free(&env);
		return -1;
	}
	if (env.obj != NULL && json_object_is_type(env.obj, json_type_object)) {
		if (json_object_object_get_ex(env.obj, "panelVersion", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(version, vsz, "%s", json_object_get_string(v));
		if (xray != NULL && json_object_object_get_ex(env.obj, "xray", &xo) &&
		    json_object_is_type(xo, json_type_object) &&
		    json_object_object_get_ex(xo, "state", &v) && json_object_is_type(v, json_type_string))
			snprintf(xray, xsz, "%s", json_object_get_string(v));
	}
	xui_env_free(&env);
	if (version[0] != '\0') {
		/* panelVersion appears in v3.1.0, the first G3 release. */
		if (sscanf(version, "%d.%d", &major, &minor) == 2 && (major > 3 || (major == 3 && minor >= 1)))
			*gen = "g3";
		x->gen = *gen;
		return 0;
	}
	/* No panelVersion: v3.0.x (v3 auth, G2 routes) or v1/v2.  G1 is
	 * legacy (section 0) and not spoken. */
	x->gen = *gen;
	return 0;
}

const char *
xui_gen(const struct xui *x)
{
	return x->gen;
}

void
xui_set_gen(struct xui *x, const char *gen)
{
	x->gen = gen != NULL && strcmp(gen, "g3") == 0 ? "g3" : "g2";
}

void
xui_set_error(struct xui *x, const char *fail, const char *fmt, ...)
{
	va_list	 ap;

	x->fail = fail;
	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
}

void
xui_use_arena(struct xui *x, struct arena *a)
{
	x->a = a;
}

const char *
xui_error(const struct xui *x)
{
	return x->err;
}

const char *
xui_fail(const struct xui *x)
{
	return x->fail != NULL ? x->fail : "error";
}

long
xui_http(const struct xui *x)
{
	return x->http;
}

int
xui_v3auth(const struct xui *x)
{
	return x->v3auth;
}

int
xui_logins(const struct xui *x)
{
	return x->logins;
}

void
xui_close(struct xui *x)
{
	if (x == NULL)
		return;
	if (x->pw != NULL)
		explicit_bzero(x->pw, strlen(x->pw));
	if (x->token != NULL)
		explicit_bzero(x->token, strlen(x->token));
	if (x->h != NULL)
		x->cu->easy_cleanup(x->h);
	buf_free(&x->body);
}

/*
 * The key a panel shows now, as a pin (issue 16): trust on first use,
 * with confirmation.  The certificate is not checked here (a panel's
 * self-signed one would fail): the operator is shown the pin and sets
 * it only after comparing it with the panel's own (`1000proxy server
 * pin`).  The leaf's SubjectPublicKeyInfo, DER, SHA-256, base64: what
 * CURLOPT_PINNEDPUBLICKEY compares.
 */
int
xui_fetch_pin(const struct conf *c, const char *base, char *pin, size_t pinsz, char *err,
    size_t errsz)
{
	const struct curl_lib *cu;
	struct curl_certinfo *ci = NULL;
	struct curl_slist *l;
	char	 errbuf[CURL_ERROR_SIZE] = "";
	unsigned char md[32], *der = NULL;
	unsigned char b64[64];
	unsigned int mdlen = 0;
	X509	*cert = NULL;
	BIO	*bio;
	CURL	*h;
	CURLcode rc;
	int	 n, ret = -1;

	if (strncmp(base, "https://", 8) != 0 || !valid_panel_url(base)) {
		snprintf(err, errsz, "only an https:// panel has a certificate to pin");
		return -1;
	}
	if ((cu = curl_lib(err, errsz)) == NULL)
		return -1;
	if ((h = cu->easy_init()) == NULL) {
		snprintf(err, errsz, "curl_easy_init failed");
		return -1;
	}
	cu->easy_setopt(h, CURLOPT_URL, base);
	cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	cu->easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	cu->easy_setopt(h, CURLOPT_CERTINFO, 1L);
	cu->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	cu->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->panel_timeout < 10 ? (long)c->panel_timeout : 10L);
	cu->easy_setopt(h, CURLOPT_TIMEOUT, (long)c->panel_timeout);
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if ((rc = cu->easy_perform(h)) != CURLE_OK) {
		snprintf(err, errsz, "%s", errbuf[0] ? errbuf : cu->easy_strerror(rc));
		goto out;
	}
	if (cu->easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL ||
	    ci->num_of_certs < 1) {
		snprintf(err, errsz, "the panel showed no certificate");
		goto out;
	}
	for (l = ci->certinfo[0]; l != NULL; l = l->next)
		if (strncmp(l->data, "Cert:", 5) == 0)
			break;
	if (l == NULL || (bio = BIO_new_mem_buf(l->data + 5, -1)) == NULL) {
		snprintf(err, errsz, "the panel's certificate could not be read");
		goto out;
	}
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (cert == NULL || (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der)) <= 0 ||
	    !EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		snprintf(err, errsz, "the panel's certificate could not be read");
		goto out;
	}
	EVP_EncodeBlock(b64, md, 32);
	snprintf(pin, pinsz, "sha256//%s", (char *)b64);
	ret = 0;
out:
	OPENSSL_free(der);
	X509_free(cert);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	cu->easy_cleanup(h);
	return ret;
}
