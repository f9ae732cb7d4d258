/*
 * throttle.h: login throttling shared by every worker (rows in
 * login_throttle), per account and per client address, with an
 * exponential delay and a temporary lock that staff can lift.
 */
#ifndef PX_THROTTLE_H
#define PX_THROTTLE_H

#include <stdint.h>

struct request;

/* Seconds until key may try again; 0 when it may try now. */
int64_t	throttle_wait(struct request *, const char *key);
/* Record a failure for key (inside the caller's transaction).  Returns 1
 * when this failure locked the key. */
int	throttle_fail(struct request *, const char *key);
/* Take back one failure of key, counted before a check that then
 * passed (inside the caller's transaction).  A delay it set stays. */
void	throttle_undo(struct request *, const char *key);
/* Forget key's failures (after a success, or when staff lift a lock). */
void	throttle_clear(struct request *, const char *key);
/* The keys for an account (email, case-folded) and a client address. */
const char *throttle_key_account(struct request *, const char *email);
const char *throttle_key_ip(struct request *);

/*
 * Mail-sending forms (register, password reset, email change): counted
 * per client address and per recipient in fixed hour and day windows
 * (rows in mail_throttle; limits from the configuration).
 */
enum mail_verdict {
	MAIL_SEND,		/* send it */
	MAIL_SILENT,		/* the recipient had enough: send nothing, say nothing */
	MAIL_REFUSE,		/* this client address had enough: 429 */
	MAIL__MAX
};
/* 1 when this client address is at its hourly limit already (a read,
 * before any hashing; mail_throttle() decides inside the transaction). */
int	mail_client_over(struct request *);
/* Count one mail-sending request from this client to `to` inside the
 * caller's write transaction, and say what to do with it.  On
 * MAIL_REFUSE the caller rolls back (nothing is counted). */
enum mail_verdict mail_throttle(struct request *, const char *to);

/*
 * Request counting for routes anyone with a URL may call (page_sub.c):
 * count one request of key in the current fixed window of `window`
 * seconds, inside the caller's write transaction, and return the count
 * so far in this window (the caller compares it with its limit).  Rows
 * of windows that ended long ago are pruned as it goes.
 */
int64_t	throttle_hit(struct request *, const char *key, int64_t window);

#endif
