/*
 * password.h: password hashing (argon2id, PHC strings), verification,
 * the rehash rule and the password policy.
 */
#ifndef PX_PASSWORD_H
#define PX_PASSWORD_H

#include <stddef.h>

struct conf;

#define PASSWORD_MIN 12
#define PASSWORD_MAX 128
#define PHC_MAX 160

/*
 * Hash pw into out (a PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash")
 * with the configured parameters.  Waits for one of the two hash slots
 * shared by every process (at most two hashes in flight on the machine).
 * Returns 0, or -1 when hashing failed or no slot came free in time.
 */
int	password_hash(const struct conf *, const char *pw, char out[PHC_MAX]);
/* 1 when pw matches phc, 0 when not, -1 on a malformed hash or no slot. */
int	password_verify(const struct conf *, const char *pw, const char *phc);
/* Spend the time of one verification on nothing, so an unknown account
 * costs what a known one does: 0, or -1 exactly when a real verification
 * would fail for want of a hash slot. */
int	password_dummy_verify(const struct conf *, const char *pw);
/* 1 when phc was made with weaker parameters than the configured ones. */
int	password_needs_rehash(const struct conf *, const char *phc);
/* NULL when pw may be used, otherwise a message for the person. */
const char *password_policy(const struct conf *, const char *pw, const char *email);
/* 1 when pw (case-folded) is on the bundled common-password list. */
int	password_is_common(const struct conf *, const char *pw);

#endif
