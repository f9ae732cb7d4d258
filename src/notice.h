/*
 * notice.h: security notices by mail (issue 16, authflow16; ASVS V2.2.3,
 * V2.5.5, V2.8.5), implemented in notice.c: after a password reset,
 * after a staff member's 2FA is reset by another admin, when a reused
 * TOTP code is refused, and when staff sign in from a browser not seen
 * before (the staff device cookie).  Every notice goes through the mail
 * queue (mailq.h) in the caller's transaction; the caller wakes the
 * spool after COMMIT.
 */
#ifndef PX_NOTICE_H
#define PX_NOTICE_H

#include <stdint.h>

#include "session.h"

struct json_object;
struct request;

/* How long the staff device cookie lives: 400 days, the most browsers
 * keep a cookie. */
#define DEVICE_COOKIE_AGE	(400 * 86400)

/*
 * The variables every notice gets: site_name, when (now), ip and
 * browser (the request's User-Agent, cut to 120 characters).  A new
 * object the caller hands to notice_queue() (which consumes it).
 */
struct json_object *notice_vars(struct request *);

/*
 * Queue template tmpl to the account (id of kind k), adding its name
 * and the account page's URL to vars (consumed), under idempotency key
 * idem.  Call inside a transaction.  Returns the job id, or 0 when the
 * account is gone (nothing queued).  500 on a database error.
 */
int64_t	notice_queue(struct request *, enum sess_kind, int64_t id, const char *tmpl,
	    struct json_object *vars, const char *idem);

/*
 * A right TOTP code of account id was refused because its step was used
 * already (mfa.c): the owner is told, once per step, and it is audited.
 * Inside the caller's transaction when one is open (the work daemon's
 * scan delivers it, within work_poll_ms), else in one of its own that
 * is woken at once.
 */
void	notice_totp_reused(struct request *, enum sess_kind, int64_t id, int64_t step);

/*
 * Staff member sid signs in from this browser: its device cookie (made
 * now when it has none) is recorded against sid.  When the cookie was
 * not sid's yet and sid had signed in from another device before, a
 * "new device" notice is queued and audited and its job id returned
 * (the caller wakes it after COMMIT); otherwise 0.  The first device of
 * an account (enrolment, or the first sign-in after the upgrade that
 * brought this table) is recorded without a mail.  Call inside a
 * transaction.
 */
int64_t	staff_device_seen(struct request *, int64_t sid);

#endif
