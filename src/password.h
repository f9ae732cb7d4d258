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
/* Bytes a typed password may have before normalisation (the forms' cap). */
#define PASSWORD_INPUT_MAX 1024
/* Bytes of a normalised password and its NUL: 128 code points of 4. */
#define PASSWORD_NFKC_MAX (4 * PASSWORD_MAX + 1)
#define PW_NFKC_INVALID	-1
#define PW_NFKC_LONG	-2

/*
 * NFKC-normalise pw into out, *cps (when not NULL) getting its length in
 * code points.  Returns 0, PW_NFKC_INVALID for broken UTF-8 or control
 * characters, PW_NFKC_LONG past PASSWORD_INPUT_MAX bytes or, normalised,
 * PASSWORD_MAX code points.  out is wiped on failure.  Does not allocate.
 */
int	password_nfkc(const char *pw, char out[PASSWORD_NFKC_MAX], size_t *cps);

/*
 * Hash pw, NFKC-normalised and peppered under the current key, into
 * out: "$pepper1$KEYID" then a PHC string "$argon2id$v=19$m=...$salt$hash"
 * with the configured parameters (the key file is loaded first when
 * this process has not).  Waits for one of the two hash slots
 * shared by every process (at most two hashes in flight on the machine).
 * Returns 0, or -1 when hashing failed or no slot came free in time.
 */
int	password_hash(const struct conf *, const char *pw, char out[PHC_MAX]);
/* 1 when pw matches phc, 0 when not (or phc's pepper key is gone),
 * -1 on a malformed hash, no key file or no slot.  Plain argon2id hashes
 * (before the pepper) are checked against the bytes as typed. */
int	password_verify(const struct conf *, const char *pw, const char *phc);
/* Spend the time of one verification on nothing, so an unknown account
 * costs what a known one does: 0, or -1 exactly when a real verification
 * would fail for want of a hash slot. */
int	password_dummy_verify(const struct conf *, const char *pw);
/* 1 when phc was made with weaker parameters than the configured ones,
 * without the pepper, or under a key other than the current one. */
int	password_needs_rehash(const struct conf *, const char *phc);
/* NULL when pw may be used, otherwise a message for the person. */
const char *password_policy(const struct conf *, const char *pw, const char *email);
/* 1 when pw (case-folded) is on the bundled common-password list. */
int	password_is_common(const struct conf *, const char *pw);

#endif
