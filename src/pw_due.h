/*
 * pw_due.h: a password found on the common list at sign-in must be
 * changed before anything else opens (ASVS V2.1.7).
 */
#ifndef PX_PW_DUE_H
#define PX_PW_DUE_H

#include <stdint.h>

#include "session.h"

struct request;

/* What the change-password page says when the router sent them there. */
#define PW_DUE_MSG "Your password is on the list of common passwords that attackers try first. " \
	"Choose a new one to go on; until then only this page and signing out are open."

/*
 * On a successful sign-in with pw: when pw is on the common list, mark
 * account id of kind k as due a change and audit it (target names the
 * account).  Inside the caller's transaction.  1 when marked.
 */
int	pw_due_mark(struct request *, enum sess_kind k, int64_t id, const char *pw, const char *target);
/*
 * 1 when the signed-in account of kind k must change its password first:
 * then the response is a 303 to its change-password page.
 */
int	pw_due_redirect(struct request *, enum sess_kind k, int64_t id);

#endif
