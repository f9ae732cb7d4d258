/*
 * session.c: sessions, CSRF tokens, API tokens, permissions and the
 * audit log.  See session.h.
 *
 * Tokens are 128 random bits from OpenSSL; the database keeps only their
 * SHA-256, so a stolen database file signs nobody in.  A session has an
 * absolute lifetime (expires_at) and an idle limit (last_seen_at, touched
 * at most once a minute so that reading pages does not become a write per
 * request).
 *
 * The pre-session CSRF token (login and register forms, before anyone is
 * signed in) is a signed double-submit: a random cookie, and in the form
 * HMAC-SHA256(pre-session key, cookie), the pre-session key being the
 * server key's own HKDF subkey for this use (seal.h), never the key
 * that seals secrets.  A page from another site can neither read the
 * cookie nor forge the HMAC.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "audit.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "response.h"
#include "session.h"

#define TOUCH_EVERY 60

void
token_hash(const char *token, unsigned char out[32])
{
	SHA256((const unsigned char *)token, strlen(token), out);
}

void
token_new(char out[33])
{
	unsigned char b[16];

	random_bytes(b, sizeof(b));
	hex_encode(out, b, sizeof(b));
}

static const char *const cookie_base[SESS__MAX] = { "px_c", "px_s" };

const char *
session_cookie_name(const struct request *r, enum sess_kind k)
{
	/* __Host- requires Secure, Path=/ and no Domain: only over TLS. */
	if (r->https)
		return k == SESS_CUSTOMER ? "__Host-px_c" : "__Host-px_s";
	return cookie_base[k];
}

static const char *
pre_cookie_name(const struct request *r)
{
	return r->https ? "__Host-px_pre" : "px_pre";
}

static int64_t
idle_limit(const struct request *r, enum sess_kind k)
{
	return k == SESS_CUSTOMER ? r->app->conf.customer_idle : r->app->conf.staff_idle;
}

static int64_t
absolute_limit(const struct request *r, enum sess_kind k)
{
	return k == SESS_CUSTOMER ? r->app->conf.customer_absolute : r->app->conf.staff_absolute;
}

/*
 * The role's permissions, all of them: the array doubles in the arena
 * when it fills (the old one stays until the request ends), so a role
 * with more grants than a fixed cap never loses one silently.
 */
static void
load_perms(struct request *r, struct principal *p)
{
	struct stmt *st = db_q(r->db, Q_STAFF_PERMS);
	const char **grown;
	size_t	 cap = 16;

	p->perms = arena_alloc(r->a, cap * sizeof(*p->perms));
	p->nperms = 0;
	db_bind_int(r->db, st, ":id", p->user_id);
	while (db_step(r->db, st) == DB_ROW) {
		if (p->nperms == cap) {
			grown = arena_alloc(r->a, 2 * cap * sizeof(*p->perms));
			memcpy(grown, p->perms, cap * sizeof(*p->perms));
			p->perms = grown;
			cap *= 2;
		}
		p->perms[p->nperms++] = db_text(r->db, st, 0);
	}
}

/* The session whose token hashes to h, checked for state and timeouts. */
static struct principal *
load_by_hash(struct request *r, enum sess_kind k, const unsigned char h[32])
{
	struct stmt *st;
	struct principal *p;
	int64_t	 now = now_unix(), last;
	const char *state;

	st = db_q(r->db, k == SESS_CUSTOMER ? Q_SESSION_CUSTOMER : Q_SESSION_STAFF);
	db_bind_blob(r->db, st, ":hash", h, 32);
	if (db_step(r->db, st) != DB_ROW)
		return NULL;
	p = arena_zalloc(r->a, sizeof(*p));
	p->kind = k;
	p->session_id = db_int(st, 0);
	p->user_id = db_int(st, 1);
	p->csrf = db_text(r->db, st, 2);
	p->mfa_ok = (int)db_int(st, 3);
	p->created_at = db_int(st, 4);
	last = db_int(st, 5);
	p->reauth_at = db_int(st, 6);
	p->email = db_text(r->db, st, 7);
	p->name = db_text(r->db, st, 8);
	p->totp_enrolled = (int)db_int(st, 9);
	p->email_verified = (int)db_int(st, 10);
	state = db_text(r->db, st, 11);
	if (k == SESS_STAFF)
		p->role = db_text(r->db, st, 12);
	db_reset(st);

	/* A half-done sign-in (password given, second factor or TOTP
	 * enrolment not yet) lives SESSION_PENDING_MAX seconds: a stolen
	 * password alone must not hold a session open for hours. */
	if (strcmp(state, "active") != 0 || now - last > idle_limit(r, k) ||
	    now - p->created_at > absolute_limit(r, k) ||
	    (!p->mfa_ok && now - p->created_at > SESSION_PENDING_MAX)) {
		/* Bookkeeping (db.h): a busy or full database still answers
		 * this request, as signed out; cron prune removes the row. */
		st = db_q(r->db, Q_SESSION_DELETE);
		db_bind_int(r->db, st, ":id", p->session_id);
		db_bookkeep(r->db, st);
		set_cookie(r, session_cookie_name(r, k), "", 0);
		return NULL;
	}
	if (now - last >= TOUCH_EVERY) {
		/* Bookkeeping: a failed touch costs at most an idle timeout
		 * that counts from the previous touch. */
		st = db_q(r->db, Q_SESSION_TOUCH);
		db_bind_int(r->db, st, ":id", p->session_id);
		db_bind_int(r->db, st, ":now", now);
		db_bookkeep(r->db, st);
	}
	if (k == SESS_STAFF)
		load_perms(r, p);
	r->principal[k] = p;
	if (r->user_id == 0)
		r->user_id = p->user_id;
	return p;
}

struct principal *
session_load(struct request *r, enum sess_kind k)
{
	const char *tok = req_cookie(r, session_cookie_name(r, k));
	unsigned char h[32];
	size_t	 i;

	if (tok == NULL || strlen(tok) != 32)
		return NULL;
	for (i = 0; i < 32; i++)
		if (!((tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f')))
			return NULL;
	token_hash(tok, h);
	return load_by_hash(r, k, h);
}

struct principal *
session_start(struct request *r, enum sess_kind k, int64_t user_id, int mfa_ok)
{
	char	 tok[33], csrf[33];
	unsigned char h[32];
	struct stmt *st;
	int64_t	 now = now_unix();
	const char *ua = r->user_agent ? r->user_agent : "";

	/* No fixation: whatever session the browser had is gone. */
	if (r->principal[k] != NULL)
		session_end(r, k);
	token_new(tok);
	token_new(csrf);
	token_hash(tok, h);
	st = db_q(r->db, Q_SESSION_INSERT);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_text(r->db, st, ":kind", k == SESS_CUSTOMER ? "customer" : "staff");
	if (k == SESS_CUSTOMER) {
		db_bind_int(r->db, st, ":cid", user_id);
		db_bind_null(r->db, st, ":sid");
	} else {
		db_bind_null(r->db, st, ":cid");
		db_bind_int(r->db, st, ":sid", user_id);
	}
	db_bind_text(r->db, st, ":csrf", csrf);
	db_bind_int(r->db, st, ":mfa", mfa_ok ? 1 : 0);
	db_bind_int(r->db, st, ":now", now);
	db_bind_int(r->db, st, ":expires", now + absolute_limit(r, k));
	db_bind_text(r->db, st, ":ip", r->remote_addr ? r->remote_addr : "");
	db_bind_text(r->db, st, ":ua", arena_strndup(r->a, ua, strlen(ua) > 512 ? 512 : strlen(ua)));
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "session insert failed");
	set_cookie(r, session_cookie_name(r, k), tok, -1);
	r->principal[k] = NULL;
	return load_by_hash(r, k, h);
}

void
session_end(struct request *r, enum sess_kind k)
{
	struct principal *p = r->principal[k];
	struct stmt *st;

	if (p != NULL && p->session_id != 0) {
		st = db_q(r->db, Q_SESSION_DELETE);
		db_bind_int(r->db, st, ":id", p->session_id);
		db_step(r->db, st);
	}
	r->principal[k] = NULL;
	set_cookie(r, session_cookie_name(r, k), "", 0);
}

void
session_end_all(struct request *r, enum sess_kind k, int64_t user_id, int keep)
{
	struct stmt *st = db_q(r->db, k == SESS_CUSTOMER ? Q_SESSION_DELETE_CUSTOMER_ALL :
	    Q_SESSION_DELETE_STAFF_ALL);
	struct principal *p = r->principal[k];

	db_bind_int(r->db, st, ":uid", user_id);
	db_bind_int(r->db, st, ":keep", keep && p != NULL ? p->session_id : 0);
	db_step(r->db, st);
}

void
session_reauth(struct request *r, enum sess_kind k)
{
	struct principal *p = r->principal[k];
	struct stmt *st;

	if (p == NULL)
		return;
	p->reauth_at = now_unix();
	st = db_q(r->db, Q_SESSION_REAUTH);
	db_bind_int(r->db, st, ":id", p->session_id);
	db_bind_int(r->db, st, ":now", p->reauth_at);
	db_step(r->db, st);
}

int
session_recent_auth(const struct request *r, enum sess_kind k, int64_t max_age)
{
	const struct principal *p = r->principal[k];

	return p != NULL && p->reauth_at > 0 && now_unix() - p->reauth_at <= max_age;
}

/* ---- CSRF ---- */

void
presession_sign(const struct request *r, const char *nonce, char out[65])
{
	unsigned char mac[32];
	unsigned int n = sizeof(mac);

	HMAC(EVP_sha256(), r->app->presession_key, sizeof(r->app->presession_key),
	    (const unsigned char *)nonce, strlen(nonce), mac, &n);
	hex_encode(out, mac, 32);
}

/*
 * The issue time a form's token carries (requests16, ASVS V11.1.2): the
 * token put in a page is BASE TIME MAC run together, all hex: BASE the
 * session's token (32 digits) or the signed pre-session one (64), TIME
 * the unix time the page was served (8 digits), MAC the first 16 digits
 * of presession_sign("csrf-at:BASE:TIME"), so the time cannot be moved
 * back without the key.  "csrf-at:" is a message no nonce or referral
 * cookie can be.  All hex, so it stays one plain form value; the length
 * tells a timed token from a bare BASE, which csrf_check() takes too
 * (scripts send the bare session token in X-CSRF-Token).
 */
#define CSRF_TIME_LEN	8
#define CSRF_MAC_LEN	16
#define CSRF_TIMED	(CSRF_TIME_LEN + CSRF_MAC_LEN)

static void
csrf_time_mac(const struct request *r, const char *base, size_t bn, const char *t,
    char out[CSRF_MAC_LEN + 1])
{
	char	 sig[65];

	presession_sign(r, arena_printf(r->a, "csrf-at:%.*s:%.*s", (int)bn, base, CSRF_TIME_LEN, t), sig);
	memcpy(out, sig, CSRF_MAC_LEN);
	out[CSRF_MAC_LEN] = '\0';
}

/* The base of a token as sent, its length into *bn, and the issue time
 * into *issued (0 when it has none).  NULL when its time's MAC is
 * wrong, which no check passes. */
static const char *
csrf_split(const struct request *r, const char *got, size_t *bn, int64_t *issued)
{
	size_t	 n = strlen(got), i;
	char	 mac[CSRF_MAC_LEN + 1];
	int64_t	 t = 0;

	*issued = 0;
	*bn = n;
	if (n != 32 + CSRF_TIMED && n != 64 + CSRF_TIMED)
		return got;
	*bn = n - CSRF_TIMED;
	for (i = *bn; i < *bn + CSRF_TIME_LEN; i++) {
		char	 c = got[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return NULL;
		t = t * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
	}
	csrf_time_mac(r, got, *bn, got + *bn, mac);
	if (CRYPTO_memcmp(mac, got + *bn + CSRF_TIME_LEN, CSRF_MAC_LEN) != 0)
		return NULL;
	*issued = t;
	return got;
}

/* base with the time now and its MAC: what a page's form carries. */
static const char *
csrf_timed(struct request *r, const char *base)
{
	char	 t[CSRF_TIME_LEN + 1], mac[CSRF_MAC_LEN + 1];

	snprintf(t, sizeof(t), "%08llx", (unsigned long long)now_unix() & 0xffffffffULL);
	csrf_time_mac(r, base, strlen(base), t, mac);
	return arena_printf(r->a, "%s%s%s", base, t, mac);
}

const char *
csrf_base(struct request *r, enum sess_kind k)
{
	const char *nonce;
	char	 sig[65], fresh[33];

	/* A page with this token is one person's: the page cache must not
	 * keep it (cache.c, rule 2). */
	r->has_csrf = 1;
	if (r->principal[k] != NULL && r->principal[k]->csrf != NULL)
		return r->principal[k]->csrf;
	if (r->pre_token != NULL)
		return r->pre_token;
	nonce = req_cookie(r, pre_cookie_name(r));
	if (nonce == NULL || strlen(nonce) != 32) {
		token_new(fresh);
		nonce = arena_strdup(r->a, fresh);
		set_cookie(r, pre_cookie_name(r), nonce, -1);
	}
	presession_sign(r, nonce, sig);
	r->pre_token = arena_strdup(r->a, sig);
	return r->pre_token;
}

const char *
csrf_token(struct request *r, enum sess_kind k)
{
	return csrf_timed(r, csrf_base(r, k));
}

int64_t
csrf_issued_at(struct request *r)
{
	const char *got = req_form(r, "csrf");
	size_t	 bn;
	int64_t	 issued;

	if (got == NULL)
		got = r->csrf_header;
	if (got == NULL || csrf_split(r, got, &bn, &issued) == NULL)
		return 0;
	return issued;
}

/* a (n bytes) equals the string b, in constant time. */
static int
same_secret(const char *a, size_t n, const char *b)
{
	return n == strlen(b) && n > 0 && CRYPTO_memcmp(a, b, n) == 0;
}

int
csrf_check(struct request *r, enum sess_kind k)
{
	const char *got = req_form(r, "csrf");
	const char *nonce;
	char	 sig[65];
	size_t	 bn;
	int64_t	 issued;

	/* A form field, or a header for script-sent JSON; never from the
	 * query string (URLs end up in logs and Referers). */
	if (got == NULL)
		got = r->csrf_header;
	if (got == NULL || *got == '\0')
		return 0;
	/* A timed token (csrf_token) is checked by its base; a time whose
	 * MAC is wrong refuses the whole token. */
	if ((got = csrf_split(r, got, &bn, &issued)) == NULL)
		return 0;
	if (r->principal[k] != NULL)
		return r->principal[k]->csrf != NULL && same_secret(got, bn, r->principal[k]->csrf);
	nonce = req_cookie(r, pre_cookie_name(r));
	if (nonce == NULL || strlen(nonce) != 32)
		return 0;
	presession_sign(r, nonce, sig);
	return same_secret(got, bn, sig);
}

/* ---- API tokens ---- */

struct principal *
token_load(struct request *r, const char **why)
{
	const char *h = r->authorization, *tok;
	unsigned char hash[32];
	struct stmt *st;
	struct principal *p;
	int64_t	 now = now_unix(), last;

	*why = "missing_token";
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	tok = h + 7;
	while (*tok == ' ')
		tok++;
	*why = "invalid_token";
	if (strlen(tok) < 20 || strlen(tok) > 128)
		return NULL;
	/* RFC 6750's b64token characters (no '=' padding: ours have none);
	 * anything else is refused before it costs a hash and a lookup. */
	if (tok[strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~+/")] != '\0')
		return NULL;
	token_hash(tok, hash);
	st = db_q(r->db, Q_TOKEN_BY_HASH);
	db_bind_blob(r->db, st, ":hash", hash, sizeof(hash));
	if (db_step(r->db, st) != DB_ROW)
		return NULL;
	p = arena_zalloc(r->a, sizeof(*p));
	p->token_id = db_int(st, 0);
	p->kind = db_is_null(st, 1) ? SESS_STAFF : SESS_CUSTOMER;
	p->user_id = p->kind == SESS_CUSTOMER ? db_int(st, 1) : db_int(st, 2);
	p->scopes = db_text(r->db, st, 3);
	if (!db_is_null(st, 5)) {
		*why = "revoked_token";
		return NULL;
	}
	if (!db_is_null(st, 4) && db_int(st, 4) <= now) {
		*why = "expired_token";
		return NULL;
	}
	last = db_int(st, 6);
	p->email = db_text(r->db, st, 7);
	p->name = db_text(r->db, st, 8);
	if (strcmp(db_text(r->db, st, 9), "active") != 0) {
		*why = "account_disabled";
		return NULL;
	}
	p->mfa_ok = 1;
	db_reset(st);
	if (now - last >= TOUCH_EVERY) {
		/* Bookkeeping (db.h): never fails the API call. */
		st = db_q(r->db, Q_TOKEN_TOUCH);
		db_bind_int(r->db, st, ":id", p->token_id);
		db_bind_int(r->db, st, ":now", now);
		db_bookkeep(r->db, st);
	}
	if (p->kind == SESS_STAFF)
		load_perms(r, p);
	r->api = p;
	r->user_id = p->user_id;
	*why = NULL;
	return p;
}

int
token_has_scope(const struct principal *p, const char *scope)
{
	const char *s;
	size_t	 n = strlen(scope);

	if (p == NULL || p->token_id == 0 || p->scopes == NULL || n == 0)
		return 0;
	for (s = p->scopes; *s; s += strcspn(s, " ")) {
		s += strspn(s, " ");
		if (strncmp(s, scope, n) == 0 && (s[n] == ' ' || s[n] == '\0'))
			return 1;
	}
	return 0;
}

int
has_perm(const struct request *r, const char *perm)
{
	const struct principal *p = r->api ? r->api : r->principal[SESS_STAFF];
	size_t	 i;

	if (p == NULL || p->kind != SESS_STAFF)
		return 0;
	for (i = 0; i < p->nperms; i++)
		if (strcmp(p->perms[i], perm) == 0)
			return 1;
	return 0;
}

void
req_audit(struct request *r, const char *action, const char *target, const char *fmt, ...)
{
	const struct principal *p = r->principal[SESS_STAFF] ? r->principal[SESS_STAFF] :
	    r->principal[SESS_CUSTOMER] ? r->principal[SESS_CUSTOMER] : r->api;
	struct actor who;
	va_list	 ap;

	who.name = p == NULL ? "anonymous" : p->kind == SESS_STAFF ? "staff" : "customer";
	who.id = p == NULL ? 0 : p->user_id;
	who.ip = r->remote_addr;
	who.request_id = r->id;
	va_start(ap, fmt);
	vaudit(r->db, &who, action, target, fmt, ap);
	va_end(ap);
}
