/*
 * totp.c: RFC 4226 HOTP, RFC 6238 TOTP, RFC 4648 base32, the otpauth://
 * Key URI and recovery codes: the primitives of two-factor sign-in.
 *
 * Nothing here stores anything: the accounts layer keeps the (sealed)
 * secret and the last used step, and passes them in.  Codes are
 * compared in constant time and every intermediate secret is wiped.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "totp.h"
#include "util.h"

const char *const totp_alg_names[TOTP__MAX] = { "SHA1", "SHA256", "SHA512" };

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/* Crockford's base32 alphabet, lower case: no i, l, o, u. */
static const char rc_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* The digest for an algorithm, or NULL.  Does not allocate. */
static const EVP_MD *
alg_md(enum totp_alg alg)
{
	switch (alg) {
	case TOTP_SHA1:
		return EVP_sha1();
	case TOTP_SHA256:
		return EVP_sha256();
	case TOTP_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/*
 * HOTP (RFC 4226 section 5.3): HMAC of the big-endian counter, dynamic
 * truncation to 31 bits, the low "digits" decimal digits.  Does not
 * allocate.
 */
int
hotp(enum totp_alg alg, const unsigned char *key, size_t keylen,
    uint64_t counter, int digits, char *out)
{
	static const uint32_t pow10[] = { 1000000, 10000000, 100000000 };
	const EVP_MD	*md = alg_md(alg);
	unsigned char	 msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0, off;
	uint32_t	 bin;
	int		 i;

	if (md == NULL || key == NULL || keylen == 0 || keylen > INT32_MAX ||
	    digits < TOTP_DIGITS_MIN || digits > TOTP_DIGITS_MAX || out == NULL)
		return -1;
	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	if (HMAC(md, key, (int)keylen, msg, sizeof(msg), mac, &maclen) == NULL ||
	    maclen < 20) {
		OPENSSL_cleanse(mac, sizeof(mac));
		return -1;
	}
	off = mac[maclen - 1] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) |
	    ((uint32_t)mac[off + 1] << 16) |
	    ((uint32_t)mac[off + 2] << 8) |
	    (uint32_t)mac[off + 3];
	bin %= pow10[digits - TOTP_DIGITS_MIN];
	for (i = digits - 1; i >= 0; i--) {
		out[i] = (char)('0' + bin % 10);
		bin /= 10;
	}
	out[digits] = '\0';
	/* The MAC and the value are keyed material; do not leave them on the stack. */
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(&bin, sizeof(bin));
	return 0;
}

/* TOTP (RFC 6238 section 4): HOTP of floor(t / 30).  Does not allocate. */
int
totp_code(enum totp_alg alg, const unsigned char *key, size_t keylen,
    int64_t t, int digits, char *out)
{
	if (t < 0)
		return -1;
	return hotp(alg, key, keylen, (uint64_t)(t / TOTP_PERIOD), digits, out);
}

/*
 * Check code against the current step and the one before it, refusing
 * steps already used.  Both candidates are always computed and compared
 * in full, so the time taken says nothing about which (if any) matched.
 * Does not allocate.
 */
int
totp_verify_alg(enum totp_alg alg, int digits, const unsigned char *key,
    size_t keylen, const char *code, int64_t now, int64_t last_used_step,
    int64_t *matched_step)
{
	char	 want[TOTP_DIGITS_MAX + 1];
	int64_t	 step, s, found = -1;
	int	 i, k, same;

	if (code == NULL || now < 0 || digits < TOTP_DIGITS_MIN ||
	    digits > TOTP_DIGITS_MAX)
		return 0;
	for (i = 0; code[i] != '\0'; i++)
		if (i >= digits || code[i] < '0' || code[i] > '9')
			return 0;
	if (i != digits)
		return 0;

	step = now / TOTP_PERIOD;
	/* Oldest first, so the newest matching step wins. */
	for (k = 1; k >= 0; k--) {
		s = step - k;
		if (s < 0)
			continue;
		if (hotp(alg, key, keylen, (uint64_t)s, digits, want) != 0) {
			OPENSSL_cleanse(want, sizeof(want));
			return 0;
		}
		same = CRYPTO_memcmp(want, code, (size_t)digits) == 0;
		if (same && s > last_used_step)
			found = s;
	}
	OPENSSL_cleanse(want, sizeof(want));
	if (found < 0)
		return 0;
	if (matched_step != NULL)
		*matched_step = found;
	return 1;
}

/* totp_verify_alg() with SHA-1 and six digits.  Does not allocate. */
int
totp_verify(const unsigned char *key, size_t keylen, const char *code,
    int64_t now, int64_t last_used_step, int64_t *matched_step)
{
	return totp_verify_alg(TOTP_SHA1, TOTP_DIGITS, key, keylen, code, now,
	    last_used_step, matched_step);
}

/* A new secret from the CSPRNG.  Does not allocate. */
void
totp_secret_new(unsigned char key[TOTP_SECRET_LEN])
{
	random_bytes(key, TOTP_SECRET_LEN);
}

/* Base32 without padding; five bits at a time, MSB first.  Does not allocate. */
void
base32_encode(char *out, const unsigned char *in, size_t n)
{
	uint32_t acc = 0;
	size_t	 i, o = 0;
	int	 bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	OPENSSL_cleanse(&acc, sizeof(acc));
}

/* The value of a base32 letter, or -1.  Does not allocate. */
static int
b32_value(int c)
{
	if (c >= 'a' && c <= 'z')
		c -= 'a' - 'A';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/*
 * Decode base32: see totp.h for what is accepted.  A final group of 1,
 * 3 or 6 characters cannot come from any byte string, and leftover bits
 * must be zero, so each value has exactly one accepted spelling (up to
 * case, spaces and padding).  Does not allocate.
 */
int
base32_decode(unsigned char *out, size_t outsz, size_t *outlen, const char *in)
{
	uint32_t acc = 0;
	size_t	 o = 0, nch = 0;
	int	 bits = 0, v, padding = 0;
	const char *p;

	for (p = in; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (*p == '=') {
			padding = 1;
			continue;
		}
		if (padding || (v = b32_value((unsigned char)*p)) < 0)
			goto fail;
		nch++;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				goto fail;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (nch % 8 == 1 || nch % 8 == 3 || nch % 8 == 6 || acc != 0)
		goto fail;
	*outlen = o;
	return 0;
fail:
	if (outsz > 0)
		OPENSSL_cleanse(out, outsz);
	*outlen = 0;
	return -1;
}

/*
 * The Key URI (Google's "Key Uri Format", the de facto standard).  The
 * algorithm, digits and period are written out although they are the
 * defaults, because some apps mis-handle their absence; they are fixed
 * because many apps ignore them anyway, so anything else would enrol
 * codes that never verify.  Grows b.
 */
void
totp_uri(struct buf *b, const char *issuer, const char *account,
    const unsigned char *key, size_t keylen)
{
	char	*secret;

	secret = xmalloc(BASE32_LEN(keylen) + 1);
	base32_encode(secret, key, keylen);
	buf_puts(b, "otpauth://totp/");
	buf_urlenc(b, issuer);
	buf_putc(b, ':');
	buf_urlenc(b, account);
	buf_puts(b, "?secret=");
	buf_puts(b, secret);
	buf_puts(b, "&issuer=");
	buf_urlenc(b, issuer);
	buf_printf(b, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS, TOTP_PERIOD);
	OPENSSL_cleanse(secret, BASE32_LEN(keylen) + 1);
	free(secret);
}

/*
 * One code: 8 random bytes, of which 60 bits are used five at a time
 * (32 letters, so no modulo bias).  Does not allocate.
 */
static void
recovery_code_one(char out[RC_LEN])
{
	unsigned char	 r[8];
	uint64_t	 v = 0;
	int		 i, o = 0;

	random_bytes(r, sizeof(r));
	for (i = 0; i < 8; i++)
		v = (v << 8) | r[i];
	for (i = 0; i < RC_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = rc_alphabet[v & 31];
		v >>= 5;
	}
	out[o] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	OPENSSL_cleanse(&v, sizeof(v));
}

/*
 * Ten codes; a duplicate (chance about 2^-54) is drawn again, so the
 * promise "ten distinct codes" holds without a probability attached.
 * Does not allocate.
 */
void
recovery_codes_generate(char codes[RC_COUNT][RC_LEN])
{
	int	 i, k, dup;

	for (i = 0; i < RC_COUNT; i++) {
		do {
			recovery_code_one(codes[i]);
			dup = 0;
			for (k = 0; k < i; k++)
				if (strcmp(codes[k], codes[i]) == 0)
					dup = 1;
		} while (dup);
	}
}

/* Normalise a typed recovery code (see totp.h).  Does not allocate. */
int
recovery_code_normalise(char out[RC_NORM_LEN], const char *in)
{
	int	 n = 0, c;

	if (in == NULL)
		goto fail;
	for (; *in != '\0'; in++) {
		c = (unsigned char)*in;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c == 'o')
			c = '0';
		else if (c == 'i' || c == 'l')
			c = '1';
		if (c == '\0' || strchr(rc_alphabet, c) == NULL || n >= RC_CHARS)
			goto fail;
		out[n++] = (char)c;
	}
	if (n != RC_CHARS)
		goto fail;
	out[n] = '\0';
	return 0;
fail:
	OPENSSL_cleanse(out, RC_NORM_LEN);
	return -1;
}

/* SHA-256(salt || normalised code).  Does not allocate. */
int
recovery_code_hash(unsigned char out[RC_HASH_LEN], const char *code,
    const unsigned char salt[RC_SALT_LEN])
{
	char		 norm[RC_NORM_LEN];
	EVP_MD_CTX	*ctx;
	unsigned int	 len = 0;
	int		 rc = -1;

	if (recovery_code_normalise(norm, code) != 0)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, salt, RC_SALT_LEN) == 1 &&
	    EVP_DigestUpdate(ctx, norm, RC_CHARS) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == RC_HASH_LEN)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(norm, sizeof(norm));
	return rc;
}
