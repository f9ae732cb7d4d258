/*
 * account.h: what the customer's account pages (page_account.c and
 * page_totp.c) share, implemented in account.c: the signed-in
 * customer's row, the re-authentication of credential changes, the
 * single-use checks of TOTP codes and recovery codes, and the list of
 * live sessions (which the staff's customer page shows too).
 */
#ifndef PX_ACCOUNT_H
#define PX_ACCOUNT_H

#include <stdint.h>

struct request;
struct vm;

/* The signed-in customer's row, as the account pages need it. */
struct acct {
	int64_t		 id;
	const char	*email;
	const char	*name;
	const char	*phc;		/* password hash */
	int		 verified;
	int		 totp;		/* TOTP enrolled */
	int64_t		 balance_minor;
	const char	*currency;
	int64_t		 created_at;
};

/*
 * The signed-in customer's row.  With gate set, a customer who must
 * enrol TOTP (require_customer_totp) and has not is sent to /account/2fa
 * (303) and NULL is returned: the caller returns at once.  Allocates in
 * the request arena; 500 when the row is gone.
 */
struct acct *acct_load(struct request *, int gate);

/*
 * A root view model for an account page: title, the account navigation
 * (nav names the current item), the form's CSRF token, and the notice
 * named by ?ok= (only fixed messages, never reflected text).
 */
struct vm *acct_vm(struct request *, const struct acct *, const char *title,
	    const char *nav);

/*
 * Re-authentication in the same form as a credential change: the
 * "password" field, and when TOTP is on the "code" field (a TOTP code,
 * or a recovery code when allow_recovery).  Throttled like sign-in on the
 * account's key; a failure is counted, audited and committed.  Returns
 * NULL when both are right, otherwise a message for the form (and
 * r->status set to 403, or 429 while throttled).  Hashes: call it outside
 * any transaction, after the other inputs are validated (a right code is
 * spent).  May end the request with 503.
 */
const char *acct_reauth(struct request *, const struct acct *, int allow_recovery);

/*
 * 1 when code is a TOTP code for the customer's secret (the enrolled one,
 * or with pending set the one waiting for confirmation) at a step never
 * used before.  The step is recorded with a conditional UPDATE, so the
 * same code is accepted once even when two workers race.
 */
int	acct_totp_accept(struct request *, int64_t cid, const char *code, int pending);
/* 1 when code is one of the customer's unused recovery codes; it is then
 * marked used (atomically: a race spends it once). */
int	acct_recovery_accept(struct request *, int64_t cid, const char *code);

#endif
