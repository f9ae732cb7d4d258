/*
 * signin.h: the password step of signing in, one implementation for
 * customers (POST /login) and staff (POST /admin/login), parametrised by
 * enum sess_kind.  The handlers keep their forms, messages and
 * redirects; this does the throttling, the lookup, the equal-cost
 * verification, the audit rows, the rehash and the new session.
 */
#ifndef PX_SIGNIN_H
#define PX_SIGNIN_H

#include <stdint.h>

#include "session.h"

struct request;

enum signin_status {
	SIGNIN_OK,		/* a new session; mfa_ok unless a code is due */
	SIGNIN_WRONG,		/* unknown email, wrong password, not active */
	SIGNIN_THROTTLED,	/* the account or the address must wait */
	SIGNIN__MAX
};

struct signin {
	int64_t		 user_id;	/* SIGNIN_OK */
	int		 totp;		/* SIGNIN_OK: TOTP enrolled */
	int64_t		 wait;		/* SIGNIN_THROTTLED: seconds */
};

/*
 * Check email and password for kind k.  Throttled on the account and
 * the address before any hashing; an unknown email or an account that
 * is not active costs a hash too.  Every attempt is counted as a
 * failure on both keys before hashing, in the write transaction that
 * checked the throttle (so parallel guesses cannot pass the lock), and
 * a failure is audited.  On success the counts are taken back (the
 * account key cleared, one off the address), the hash is renewed when
 * the configured cost rose, a session started
 * (mfa_ok = 1 only for a customer without TOTP) and the sign-in
 * audited.  Fills *out.  503 (req_fail) when no hash slot came free.
 */
enum signin_status signin_password(struct request *, enum sess_kind,
	    const char *email, const char *pw, struct signin *out);
/*
 * Check a password typed again (re-authentication) against phc, the
 * stored hash: 1 when right, 0 when not.  A missing or too long
 * password, or no stored hash, costs a dummy hash instead.  503
 * (req_fail) when no hash slot came free.
 */
int	signin_check(struct request *, const char *pw, const char *phc);
/*
 * The longer wait of two throttle keys, in seconds (0: may try now).
 */
int64_t	signin_wait(struct request *, const char *key1, const char *key2);
/*
 * An attempt at a password or a code typed again (re-authentication, a
 * second factor), counted before any hashing or code check: in one
 * write transaction, the longer wait of kacct and kip (kip may be NULL);
 * when neither must wait, a failure is counted on both up front.
 * Returns the wait (0: go on; the attempt is counted).  Call it outside
 * a transaction; on success take the count back with
 * signin_attempt_ok() inside the transaction that records it.
 */
int64_t	signin_attempt(struct request *, const char *kacct, const char *kip);
/* The attempt succeeded: kacct cleared, the one count on kip undone. */
void	signin_attempt_ok(struct request *, const char *kacct, const char *kip);
/*
 * Refuse a throttled attempt: status 429 and Retry-After: wait.
 * Returns "<what>. Please wait N second(s) and try again." for the
 * form (arena).
 */
const char *signin_refuse(struct request *, int64_t wait, const char *what);

#endif
