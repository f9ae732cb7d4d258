/*
 * admin.h: pieces shared by the staff panels (admin*.c): the
 * second factor, re-authentication before a privileged change, and the
 * small page helpers every panel uses.
 */
#ifndef PX_ADMIN_H
#define PX_ADMIN_H

#include <stdint.h>

struct request;
struct vm;

/* How long a password-and-code re-entry lets privileged changes through. */
#define ADMIN_REAUTH_MAX	300

/*
 * Check a second factor for staff_id inside the caller's transaction: a
 * six-digit TOTP code (its step recorded atomically, so a code works
 * once even across workers) or a recovery code (spent atomically).
 * *how says which.  Returns 1 when accepted, 0 otherwise.  May end the
 * request with 500.  (admin_auth.c)
 */
int	staff_second_factor(struct request *, int64_t staff_id, const char *code,
	    const char **how);
/*
 * Password and code again in the same form ("password", "code"): NULL
 * when right (reauth_at recorded), else a message with r->status 403
 * or 429; failures audited.  Call outside a transaction.  (admin_auth.c)
 */
const char *staff_reauth_fields(struct request *);
/* The throttle key of a staff member's second factor. */
const char *staff_2fa_key(struct request *, int64_t staff_id);

/*
 * 1 when the signed-in staff member re-entered password and code within
 * ADMIN_REAUTH_MAX seconds; otherwise makes a 303 to /admin/reauth that
 * comes back to next, and returns 0.  (admin.c)
 */
int	admin_reauth_ok(struct request *, const char *next);
/* "staff:<id>", the audit target of a staff member (arena). */
const char *staff_target(struct request *, int64_t id);
/* A short page under /admin with a heading, a message and a link. */
void	admin_message(struct request *, int status, const char *heading,
	    const char *message, const char *link, const char *link_text);

#endif
