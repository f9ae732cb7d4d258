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

#endif
