/*
 * xui.h: the 3X-UI panel client (contracts/3x-ui.md), used by the work
 * daemon's panel jobs.  One handle per panel: it signs in (G2 cookie,
 * v3 cookie + CSRF, or a v3 Bearer token), detects the API generation,
 * and makes calls that come back as the {success, msg, obj} envelope.
 */
#ifndef PX_XUI_H
#define PX_XUI_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct arena;
struct conf;
struct xui;

/* The reply of one call.  obj belongs to root; xui_env_free() frees both. */
struct xui_env {
	int		 success;
	const char	*msg;		/* "" when absent */
	struct json_object *obj;	/* NULL for JSON null */
	struct json_object *root;
	long		 http;
};

/* A handle for one panel.  password or token may be NULL (not both);
 * a token is sent as Bearer and skips login.  Strings are copied into a.
 * pin ("sha256//BASE64" of the certificate's SubjectPublicKeyInfo) or
 * ca_pem (the panel's own CA or self-signed certificate) may be NULL or
 * "".  tls_verify = 0 (a row from before issue 16) is refused unless a
 * pin or CA is given.  NULL with err set when libcurl cannot be loaded,
 * the URL is bad (http:// off loopback) or the server needs a pin. */
struct xui *xui_open(struct arena *a, const struct conf *c, const char *name,
	    const char *base, const char *user, const char *password,
	    const char *token, int tls_verify, const char *pin, const char *ca_pem,
	    char *err, size_t errsz);
/* The panel's current certificate key as "sha256//BASE64" into pin
 * (trust on first use: the caller shows it for confirmation; nothing
 * is checked here).  0, or -1 with err. */
int	xui_fetch_pin(const struct conf *c, const char *base, char *pin, size_t pinsz,
	    char *err, size_t errsz);
/* Sign in (or, with a token, only detect v3 auth): 0, or -1 with
 * xui_error() set (the panel's msg when it refused). */
int	xui_login(struct xui *);
/* method "GET" or "POST"; path under {base}; body JSON text or NULL.
 * 0 with env filled (success may be false), or -1 with xui_error() set:
 * unreachable, timeout, a reply over the size cap, not an envelope.  An
 * expired session is signed in again once. */
int	xui_call(struct xui *, const char *method, const char *path, const char *body,
	    struct xui_env *env);
void	xui_env_free(struct xui_env *);
/* The reply body (len bytes, NUL-terminated) of HTTP status code as an
 * envelope: 0 with env filled (free it with xui_env_free), or -1 with
 * err set.  Pure: what every call's reply goes through, and what the
 * fuzz probe "xui" drives. */
int	xui_envelope_parse(const char *body, size_t len, long code, struct xui_env *env,
	    char *err, size_t errsz);
/* Generation detection (section 0): server/status and, on v3.0, the
 * clients route.  Fills version ("" when the panel does not say) and
 * gen ("g2" or "g3"); xray (its state) when non-NULL.  0 or -1. */
int	xui_detect(struct xui *, char *version, size_t vsz, const char **gen,
	    char *xray, size_t xsz);
const char *xui_error(const struct xui *);
/* The last failure's kind: "unreachable" (transport, timeout, size cap),
 * "refused" (success:false), "bad_reply" (not an envelope, or a session
 * that would not stay), "no_credentials". */
const char *xui_fail(const struct xui *);
/* The last reply's HTTP status (0: none). */
long	xui_http(const struct xui *);
/* Whether the panel speaks v3 authentication (csrf-token answered). */
int	xui_v3auth(const struct xui *);
/* Logins made so far (a re-login after expiry counts). */
int	xui_logins(const struct xui *);
/* The API generation the client calls speak (xui_client.h): "g2"
 * (the default) or "g3"; xui_detect() sets it, xui_set_gen() forces it
 * (a generation remembered on the server row). */
const char *xui_gen(const struct xui *);
void	xui_set_gen(struct xui *, const char *gen);
/* Set the failure kind (as xui_fail()) and message, for the layers
 * above the transport (xui_client.c). */
void	xui_set_error(struct xui *, const char *fail, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Where per-call strings (URLs, headers) go.  xui_open()'s arena holds
 * the handle itself; a handle kept across jobs (xui_job.c) is given
 * each job's arena here, so it never grows. */
void	xui_use_arena(struct xui *, struct arena *);
/* Frees the handle's curl state and wipes the secrets. */
void	xui_close(struct xui *);

#endif
