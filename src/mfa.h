/*
 * mfa.h: the second factor of signing in, one implementation for both
 * kinds of people (parametrised by enum sess_kind, as page_tokens.c is):
 * the sealed TOTP secret, single-use acceptance of a TOTP code and of a
 * recovery code, replacing the recovery codes, and the otpauth:// URI
 * with its QR code for enrolment.  The pages that use these stay in
 * page_totp.c (customers) and admin_auth.c (staff).
 */
#ifndef PX_MFA_H
#define PX_MFA_H

#include <stdint.h>

#include "session.h"
#include "totp.h"

struct request;

/*
 * The sealed secret of user id of kind k into key (AAD "<kind>:<id>:totp",
 * so a secret copied onto another row does not open).  When the row has
 * a secret, *last gets its last used step and *enabled whether it is
 * enrolled (either may be NULL).  Returns 1, or 0 when there is none or
 * it does not open.  Does not allocate beyond the arena; 500 on a
 * database error.
 */
int	mfa_secret_load(struct request *, enum sess_kind, int64_t id,
	    unsigned char key[TOTP_SECRET_LEN], int64_t *last, int *enabled);
/*
 * Make a new secret into key, seal it and store it as user id's pending
 * one (the kind's statement refuses an enrolled row).  Call inside a
 * transaction.  500 when sealing fails.
 */
void	mfa_secret_new(struct request *, enum sess_kind, int64_t id,
	    unsigned char key[TOTP_SECRET_LEN]);
/*
 * 1 when code (as typed, after the caller's clean-up; totp_verify()
 * refuses anything but six digits) is right for user id's enrolled
 * secret, or with pending set its pending one, and its step was newer
 * than the last used: the step is then recorded with "UPDATE ... WHERE
 * totp_last_step < :step", and only a changed row counts, so two
 * workers racing with one code cannot both win.  0 otherwise; a right
 * code of a step already used (a replay) also mails its owner a notice
 * (notice.h, notice_totp_reused).
 */
int	mfa_totp_accept(struct request *, enum sess_kind, int64_t id,
	    const char *code, int pending);
/*
 * 1 when code is one of user id's unused recovery codes (stored salted
 * and hashed; every unused one is hashed, found or not); it is then
 * spent with an atomic "used_at IS NULL" update, and only a changed
 * row counts.  0 otherwise.
 */
int	mfa_recovery_accept(struct request *, enum sess_kind, int64_t id,
	    const char *code);
/*
 * Replace user id's recovery codes with RC_COUNT new ones, returned in
 * codes in the clear (for one response only; the caller cleanses them).
 * Call inside a transaction.  500 when hashing or an insert fails.
 */
void	mfa_codes_replace(struct request *, enum sess_kind, int64_t id,
	    char codes[RC_COUNT][RC_LEN]);
/*
 * Turn user id's second factor off: the secret, its enrolment and the
 * recovery codes are removed.  Call inside a transaction.
 */
void	mfa_remove(struct request *, enum sess_kind, int64_t id);
/*
 * The Key URI for key under the site's name and account, and a QR code
 * of it as an SVG data: URI, both copied into the arena (*uri, *qr); the
 * working buffers are cleansed.  500 when the URI does not fit a QR code.
 */
void	mfa_uri_qr(struct request *, const char *account,
	    const unsigned char key[TOTP_SECRET_LEN], const char **uri, const char **qr);

#endif
