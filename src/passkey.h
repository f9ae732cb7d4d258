/*
 * passkey.h: WebAuthn Level 2 passkeys (attestation "none"; ES256 and
 * EdDSA/Ed25519, verified with OpenSSL), one implementation for both
 * kinds of people.  The pages are page_passkey.c; this is the ceremony:
 * the options a browser needs, the challenges (random, single use,
 * bound to the session or pre-session, short-lived, kept only as a
 * SHA-256 server-side), and the verification of a registration and of
 * an assertion step by step as the specification's sections 7.1 and
 * 7.2 list them.
 *
 * The parsers (a strict CBOR subset, authenticator data, COSE keys)
 * take bytes, not a request, so test-unit and the fuzzer drive them
 * without a transport.
 */
#ifndef PX_PASSKEY_H
#define PX_PASSKEY_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct request;

#define PK_CHALLENGE_LEN	32	/* bytes of a challenge */
#define PK_TTL			300	/* seconds a challenge lives */
#define PK_CRED_MIN		16	/* bytes of a credential id */
#define PK_CRED_MAX		1023
#define PK_COSE_MAX		1024	/* bytes of a stored COSE key */
#define PK_JSON_MAX		16384	/* bytes of a browser's response */
#define PK_NAME_MAX		100	/* characters of a passkey's name */
#define PK_PER_USER		20	/* passkeys an account may hold */
#define PK_ALG_ES256		(-7)
#define PK_ALG_EDDSA		(-8)

enum pk_purpose {
	PK_REGISTER,		/* a new passkey (a signed-in session) */
	PK_SIGNIN,		/* passwordless sign-in (pre-session; UV required) */
	PK_2FA,			/* the second factor (a half-signed-in session) */
	PK__MAX
};

/* Authenticator data (section 6.1), pointing into the parsed bytes. */
struct pk_authdata {
	const unsigned char *rp_id_hash;	/* 32 bytes */
	unsigned	 flags;
	uint32_t	 count;
	const unsigned char *cred_id;		/* AT only */
	size_t		 cred_len;
	const unsigned char *cose;		/* AT only: the COSE_Key */
	size_t		 cose_len;
};
#define PK_FLAG_UP	0x01
#define PK_FLAG_UV	0x04
#define PK_FLAG_AT	0x40
#define PK_FLAG_ED	0x80

/*
 * Parse an attestationObject (CBOR map of fmt, attStmt, authData):
 * only fmt "none" with an empty attStmt is taken.  *ad and *adlen point
 * at authData inside p.  Returns NULL, or why not (a fixed string).
 */
const char *pk_attestation(const unsigned char *p, size_t n,
	    const unsigned char **ad, size_t *adlen);
/*
 * Parse authenticator data; with need_cred the attested credential
 * data must be there (registration), without it must not.  Extensions
 * (ED) are skipped as one well-formed CBOR map; nothing may follow.
 * Returns NULL, or why not.
 */
const char *pk_authdata(const unsigned char *p, size_t n, int need_cred,
	    struct pk_authdata *out);
/*
 * Check a COSE_Key: EC2 P-256 with alg -7 or OKP Ed25519 with alg -8,
 * the point on its curve.  *alg gets the algorithm.  Returns NULL, or
 * why not.
 */
const char *pk_cose_check(const unsigned char *cose, size_t n, int *alg);
/*
 * 1 when sig is cose's (alg's) signature of msg: ES256 (DER, SHA-256)
 * or Ed25519.  0 otherwise, a key that does not parse included.
 */
int	pk_sig_ok(const unsigned char *cose, size_t cose_len, int alg,
	    const unsigned char *msg, size_t msg_len,
	    const unsigned char *sig, size_t sig_len);
/* Strict base64url (no padding, no other characters) into an arena
 * copy; NULL when it is not.  *n gets the length. */
unsigned char *pk_b64u_decode(struct request *, const char *s, size_t *n);
/* base64url without padding of p[0..n) (arena). */
char	*pk_b64u(struct request *, const void *p, size_t n);

/*
 * The JSON options for navigator.credentials (create for PK_REGISTER,
 * get otherwise) of the person user_id of kind k (0 for PK_SIGNIN),
 * with a new challenge stored for purpose and bound to the request's
 * session or pre-session (its CSRF token, which the dispatcher
 * checked).  Returns the JSON text (arena).  500 on a database error.
 */
const char *pk_options(struct request *, enum sess_kind, enum pk_purpose, int64_t user_id);
/*
 * Verify a registration response (the browser's JSON) for user_id of
 * kind k and store the passkey named name, with its audit row.  Returns
 * NULL, or the message for the form.  r->status is set to 400 or 409 on
 * a refusal.
 */
const char *pk_register(struct request *, enum sess_kind, int64_t user_id,
	    const char *json, const char *name);
/*
 * Verify an assertion (the browser's JSON) for purpose PK_SIGNIN (any
 * account of kind k; UV required) or PK_2FA (user_id's passkeys only).
 * On success *who gets the account and the passkey's counter and last
 * use are recorded.  Returns NULL, or the message for the form, with
 * r->status 400 (and the refusal audited).
 */
const char *pk_assert(struct request *, enum sess_kind, enum pk_purpose, int64_t user_id,
	    const char *json, int64_t *who);
/* Bind the owner uid of kind k as :cid and :sid (the other one NULL). */
struct stmt;
void	pk_bind_owner(struct request *, struct stmt *, enum sess_kind, int64_t uid);
/*
 * Delete every passkey of user id of kind k (a deleted account, a staff
 * member's second factor reset).  Returns how many.  Call inside the
 * caller's transaction.
 */
int64_t	pk_remove_all(struct request *, enum sess_kind, int64_t id);

#endif
