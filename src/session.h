/*
 * session.h: who is asking.  Sessions for customers and for staff (two
 * cookies, never shared), the CSRF tokens of forms, API tokens, the
 * staff's permissions, and the audit log.
 *
 * The dispatcher (router.c) loads the principal a route needs before
 * the handler runs; handlers read r->customer, r->staff or r->api and
 * never parse a cookie themselves.
 */
#ifndef PX_SESSION_H
#define PX_SESSION_H

#include <stdint.h>

#include "util.h"

struct request;

enum sess_kind { SESS_CUSTOMER, SESS_STAFF, SESS__MAX };

/* Seconds a session may wait for its second factor (or, for staff, its
 * TOTP enrolment) before session_load() ends it. */
#define SESSION_PENDING_MAX	300

struct principal {
	enum sess_kind	 kind;
	int64_t		 session_id;	/* 0 for API tokens */
	int64_t		 token_id;	/* API tokens only */
	int64_t		 user_id;	/* customers.id or staff.id */
	const char	*email;
	const char	*name;
	const char	*csrf;		/* sessions only */
	int		 mfa_ok;	/* second factor done (or not needed) */
	int		 totp_enrolled;
	int		 email_verified;
	int64_t		 created_at;
	int64_t		 reauth_at;	/* last password re-entry */
	const char	*role;		/* staff only */
	const char	*scopes;	/* API tokens only: space-separated */
	const char	**perms;	/* staff only, loaded once per request */
	size_t		 nperms;
};

/* Load the session of kind from its cookie into r (NULL when none or
 * expired; an expired one is deleted).  Touches last_seen_at at most once
 * a minute.  May end the request with 500. */
struct principal *session_load(struct request *, enum sess_kind);
/* Load the principal of an Authorization: Bearer token into r->api.
 * NULL when absent or refused, with *why a stable API error code:
 * missing_token, invalid_token, revoked_token, expired_token or
 * account_disabled.  Touches last_used_at at most once a minute. */
struct principal *token_load(struct request *, const char **why);
/* 1 when an API principal's token carries scope (a whole word of its
 * space-separated scopes); 0 for a session or a missing scope. */
int	token_has_scope(const struct principal *, const char *scope);

/*
 * Start a new session of kind for user (a fresh token: this is also how
 * a privilege change rotates it), deleting the request's current session
 * of that kind.  Sets the cookie.  Call inside a transaction.
 */
struct principal *session_start(struct request *, enum sess_kind, int64_t user_id, int mfa_ok);
/* End the request's session of kind: row deleted, cookie expired. */
void	session_end(struct request *, enum sess_kind);
/* Delete every session of a user, except the request's own when keep. */
void	session_end_all(struct request *, enum sess_kind, int64_t user_id, int keep);
/* Record a successful password re-entry on the current session. */
void	session_reauth(struct request *, enum sess_kind);
/* 1 when the session re-entered its password within max_age seconds. */
int	session_recent_auth(const struct request *, enum sess_kind, int64_t max_age);

/* The CSRF token to put in this page's forms: the session's, or a signed
 * pre-session token (setting its cookie) when there is no session, with
 * the time now and a MAC over both, all hex (session.c). */
const char *csrf_token(struct request *, enum sess_kind);
/* The same token without its time and MAC: the same on every page of
 * one session or pre-session, for what must stay bound to it across
 * pages (passkey.c's challenges). */
const char *csrf_base(struct request *, enum sess_kind);
/*
 * The one HMAC of the anonymous side: HMAC-SHA-256 of msg under the
 * pre-session key (seal.h's subkey, never the sealing key), as 64 hex
 * digits.  The pre-session CSRF token signs its 32-hex-digit nonce with
 * it; the referral cookie (referral.c) signs "ref:CODE:EXPIRES", which
 * no nonce can equal, so neither signature passes for the other.
 */
void	presession_sign(const struct request *, const char *msg, char out[65]);
/* 1 when the request's "csrf" field is right for its route. */
int	csrf_check(struct request *, enum sess_kind);
/* The unix time the page of the request's form token was served (the
 * token carries it, signed: session.c); 0 when the token has none or
 * its time's MAC is wrong. */
int64_t	csrf_issued_at(struct request *);

/* Staff permission check, from the role's grants in the database. */
int	has_perm(const struct request *, const char *perm);

/* Append an audit row through audit() (audit.h): the actor is taken
 * from r (staff, customer or anonymous), with its address and id. */
void	req_audit(struct request *, const char *action, const char *target,
	    const char *fmt, ...) PX_PRINTF(4, 5);

/* SHA-256 of a token, for storage and lookup (32 bytes). */
void	token_hash(const char *token, unsigned char out[32]);
/* A new random token: 32 hex digits (128 bits) into out[33]. */
void	token_new(char out[33]);
/* The cookie name for kind on this request (__Host- prefixed over TLS). */
const char *session_cookie_name(const struct request *, enum sess_kind);

#endif
