/*
 * totp.h: one-time passwords for two-factor sign-in: RFC 4226 HOTP and
 * RFC 6238 TOTP, RFC 4648 base32 for the shared secret, the otpauth://
 * Key URI that authenticator apps scan, and the ten single-use recovery
 * codes.  Pure functions: no HTTP, no SQL, no global state.
 */
#ifndef PX_TOTP_H
#define PX_TOTP_H

#include <stddef.h>
#include <stdint.h>

struct buf;

enum totp_alg {
	TOTP_SHA1,
	TOTP_SHA256,
	TOTP_SHA512,
	TOTP__MAX
};
/* "SHA1", "SHA256", "SHA512": the spelling the Key URI format uses. */
extern const char *const totp_alg_names[TOTP__MAX];

#define TOTP_SECRET_LEN	20	/* bytes: 160 bits, RFC 4226's recommendation */
#define TOTP_PERIOD	30	/* seconds per step */
#define TOTP_DIGITS	6
#define TOTP_DIGITS_MIN	6
#define TOTP_DIGITS_MAX	8

/* Characters base32_encode() writes for n bytes, without the NUL. */
#define BASE32_LEN(n)	(((n) * 8 + 4) / 5)

/*
 * Write the HOTP value of counter under key (digits 6..8, zero-padded)
 * into out, which has room for digits + 1 bytes.  Returns 0, or -1 on a
 * bad algorithm, digit count or empty key.  Does not allocate.
 */
int	hotp(enum totp_alg, const unsigned char *key, size_t keylen,
	    uint64_t counter, int digits, char *out);
/*
 * Write the TOTP value for unix time t (30 s steps from the epoch) into
 * out (digits + 1 bytes).  Returns 0, or -1 as hotp() or when t < 0.
 * Does not allocate.
 */
int	totp_code(enum totp_alg, const unsigned char *key, size_t keylen,
	    int64_t t, int digits, char *out);
/*
 * Check a code typed by a person against key (SHA-1, 6 digits, 30 s:
 * what every authenticator app supports) at time now.  Accepts the
 * current step and one step back (clock drift, slow typing), but never
 * a step <= last_used_step, so each code works once: on success the
 * caller must store *matched_step as the new last_used_step (pass -1
 * when none was ever used).  Refuses codes that are not exactly six
 * ASCII digits.  Returns 1 when accepted, 0 otherwise (never negative,
 * so "if (totp_verify(...))" is safe).  Does not allocate.
 */
int	totp_verify(const unsigned char *key, size_t keylen, const char *code,
	    int64_t now, int64_t last_used_step, int64_t *matched_step);
/* totp_verify() with a chosen algorithm and digit count. */
int	totp_verify_alg(enum totp_alg, int digits, const unsigned char *key,
	    size_t keylen, const char *code, int64_t now,
	    int64_t last_used_step, int64_t *matched_step);

/* Fill key with TOTP_SECRET_LEN random bytes.  Does not allocate. */
void	totp_secret_new(unsigned char key[TOTP_SECRET_LEN]);

/*
 * Base32 (RFC 4648 alphabet, upper case, no '=' padding) of in[0..n)
 * into out, which has room for BASE32_LEN(n) + 1 bytes.  Does not
 * allocate.
 */
void	base32_encode(char *out, const unsigned char *in, size_t n);
/*
 * Decode base32 text: upper or lower case, spaces ignored, '=' padding
 * allowed only at the end.  Refuses other characters, impossible
 * lengths and non-zero trailing bits (one text, one value).  Writes at
 * most outsz bytes and their count in *outlen.  Returns 0 or -1 (out
 * is then zeroed).  Does not allocate.
 */
int	base32_decode(unsigned char *out, size_t outsz, size_t *outlen,
	    const char *in);

/*
 * Append the Key URI (otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=
 * ISSUER&algorithm=SHA1&digits=6&period=30) to b: issuer and account
 * percent-encoded, the label's colon literal.  Grows b.
 */
void	totp_uri(struct buf *b, const char *issuer, const char *account,
	    const unsigned char *key, size_t keylen);

/*
 * Recovery codes: "abcd-efgh-jkmn", 12 characters of a 32-letter
 * alphabet (60 bits from the CSPRNG) in groups of four.  The alphabet
 * (Crockford's: digits and lower-case letters without i, l, o, u) has no
 * look-alikes, and normalisation folds the ones a person may still type
 * (o -> 0, i and l -> 1) as well as case, dashes and spaces.
 */
#define RC_COUNT	10
#define RC_CHARS	12	/* significant characters */
#define RC_LEN		15	/* "xxxx-xxxx-xxxx" and the NUL */
#define RC_NORM_LEN	(RC_CHARS + 1)
#define RC_SALT_LEN	16
#define RC_HASH_LEN	32

/* Fill codes with RC_COUNT distinct fresh codes.  Does not allocate. */
void	recovery_codes_generate(char codes[RC_COUNT][RC_LEN]);
/*
 * Normalise a typed code into out: lower case, dashes and spaces
 * removed, look-alikes folded.  Returns 0, or -1 when what is left is
 * not exactly RC_CHARS letters of the alphabet.  Does not allocate.
 */
int	recovery_code_normalise(char out[RC_NORM_LEN], const char *in);
/*
 * SHA-256(salt || normalised code) into out, for storage.  The salt is
 * random per stored code (RC_SALT_LEN bytes from random_bytes()): 60
 * bits is below the 112 that ASVS 2.6.2 lets go unsalted.  Returns 0,
 * or -1 when the code does not normalise.  Does not allocate.
 */
int	recovery_code_hash(unsigned char out[RC_HASH_LEN], const char *code,
	    const unsigned char salt[RC_SALT_LEN]);

#endif
