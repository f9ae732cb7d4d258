/*
 * passkey_parse.c: the byte-level parsers of passkeys (passkey.h), apart
 * from the ceremonies in passkey.c so that the fuzzer (fuzz/, probe
 * "passkey") and test-parse link them without the database: the
 * attestationObject, authenticator data, COSE keys and the signature
 * check with OpenSSL.
 *
 * CBOR: a small strict decoder of the subset WebAuthn uses instead of
 * libcbor.  libcbor-dev is not on the build machines, its 0.8 decoder
 * takes indefinite lengths, tags and floats that no attestationObject
 * or COSE key needs, and keeps duplicate map keys; ours refuses all of
 * them, bounds the nesting at 8 and checks every length against the
 * bytes left, in about 100 lines the fuzzer reaches without a library.
 */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "passkey.h"

#define CBOR_DEPTH	8

/* ---- CBOR, strictly ---- */

struct cb {
	const unsigned char *p, *end;
};

/* Read one head: major type and argument.  -1 for an indefinite length,
 * a reserved value, a tag, a float or a simple value other than false,
 * true and null, or too few bytes. */
static int
cb_head(struct cb *c, int *major, uint64_t *arg)
{
	unsigned ib, ai, i, len;

	if (c->p >= c->end)
		return -1;
	ib = *c->p++;
	*major = (int)(ib >> 5);
	ai = ib & 0x1f;
	*arg = 0;
	if (ai < 24)
		*arg = ai;
	else if (ai <= 27) {
		len = 1u << (ai - 24);
		if ((size_t)(c->end - c->p) < len)
			return -1;
		for (i = 0; i < len; i++)
			*arg = *arg << 8 | *c->p++;
	} else
		return -1;
	if (*major == 6 || (*major == 7 && !(ai >= 20 && ai <= 22)))
		return -1;
	return 0;
}

/* Skip one whole item, nested at most CBOR_DEPTH deep.  0 or -1. */
static int
cb_skip(struct cb *c, int depth)
{
	uint64_t a, i;
	int	 m;

	if (depth > CBOR_DEPTH || cb_head(c, &m, &a) != 0)
		return -1;
	switch (m) {
	case 0: case 1: case 7:
		return 0;
	case 2: case 3:
		if (a > (uint64_t)(c->end - c->p))
			return -1;
		c->p += a;
		return 0;
	case 4: case 5:
		/* Every item takes a byte at least, so a huge count ends at
		 * the end of the bytes. */
		for (i = 0; i < a; i++)
			if (cb_skip(c, depth + 1) != 0 || (m == 5 && cb_skip(c, depth + 1) != 0))
				return -1;
		return 0;
	}
	return -1;
}

/* A byte or text string of major type m: *s and *n into the bytes. */
static int
cb_str(struct cb *c, int want, const unsigned char **s, size_t *n)
{
	uint64_t a;
	int	 m;

	if (cb_head(c, &m, &a) != 0 || m != want || a > (uint64_t)(c->end - c->p))
		return -1;
	*s = c->p;
	*n = (size_t)a;
	c->p += a;
	return 0;
}

/* An integer (major type 0 or 1) within int64_t. */
static int
cb_int(struct cb *c, int64_t *v)
{
	uint64_t a;
	int	 m;

	if (cb_head(c, &m, &a) != 0 || (m != 0 && m != 1) || a > INT64_MAX)
		return -1;
	*v = m == 0 ? (int64_t)a : -1 - (int64_t)a;
	return 0;
}

static int
str_is(const unsigned char *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

const char *
pk_attestation(const unsigned char *p, size_t n, const unsigned char **ad, size_t *adlen)
{
	struct cb c = { p, p + n };
	const unsigned char *k, *v;
	size_t	 kl, vl;
	uint64_t a, i, na;
	int	 m, seen = 0;

	if (cb_head(&c, &m, &a) != 0 || m != 5 || a > 8)
		return "The attestation object is not a CBOR map.";
	for (i = 0; i < a; i++) {
		if (cb_str(&c, 3, &k, &kl) != 0)
			return "The attestation object has a key that is not text.";
		if (str_is(k, kl, "fmt")) {
			if (seen & 1 || cb_str(&c, 3, &v, &vl) != 0)
				return "The attestation object's fmt is malformed.";
			if (!str_is(v, vl, "none"))
				return "Only attestation \"none\" is accepted.";
			seen |= 1;
		} else if (str_is(k, kl, "attStmt")) {
			if (seen & 2 || cb_head(&c, &m, &na) != 0 || m != 5 || na != 0)
				return "Attestation \"none\" must have an empty attStmt.";
			seen |= 2;
		} else if (str_is(k, kl, "authData")) {
			if (seen & 4 || cb_str(&c, 2, ad, adlen) != 0)
				return "The attestation object's authData is malformed.";
			seen |= 4;
		} else if (cb_skip(&c, 1) != 0)
			return "The attestation object is malformed CBOR.";
	}
	if (c.p != c.end)
		return "The attestation object has bytes after its end.";
	if (seen != 7)
		return "The attestation object lacks fmt, attStmt or authData.";
	return NULL;
}

const char *
pk_authdata(const unsigned char *p, size_t n, int need_cred, struct pk_authdata *out)
{
	const unsigned char *q = p + 37, *end = p + n;
	struct cb c;
	uint64_t a;
	int	 m;

	memset(out, 0, sizeof(*out));
	if (n < 37)
		return "The authenticator data is too short.";
	out->rp_id_hash = p;
	out->flags = p[32];
	out->count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 | (uint32_t)p[35] << 8 | p[36];
	if (out->flags & PK_FLAG_AT) {
		if (!need_cred)
			return "The authenticator data carries a credential where none belongs.";
		if (end - q < 18)
			return "The attested credential data is too short.";
		out->cred_len = (size_t)q[16] << 8 | q[17];
		q += 18;
		if (out->cred_len < PK_CRED_MIN || out->cred_len > PK_CRED_MAX ||
		    (size_t)(end - q) < out->cred_len)
			return "The credential id is of a wrong length.";
		out->cred_id = q;
		q += out->cred_len;
		c.p = q;
		c.end = end;
		if (cb_skip(&c, 0) != 0)
			return "The credential public key is malformed CBOR.";
		out->cose = q;
		out->cose_len = (size_t)(c.p - q);
		if (out->cose_len > PK_COSE_MAX)
			return "The credential public key is too large.";
		q = c.p;
	} else if (need_cred)
		return "The authenticator data carries no credential.";
	if (out->flags & PK_FLAG_ED) {
		c.p = q;
		c.end = end;
		if (cb_head(&c, &m, &a) != 0 || m != 5)
			return "The authenticator extensions are not a CBOR map.";
		c.p = q;
		if (cb_skip(&c, 0) != 0)
			return "The authenticator extensions are malformed CBOR.";
		q = c.p;
	}
	if (q != end)
		return "The authenticator data has bytes after its end.";
	return NULL;
}

/* The members of a COSE_Key we read (RFC 9053): kty 1, alg 3, crv -1,
 * x -2, y -3; others are skipped, a repeated one refused. */
struct cose {
	int64_t		 kty, alg, crv;
	const unsigned char *x, *y;
	size_t		 xl, yl;
};

static const char *
cose_parse(const unsigned char *p, size_t n, struct cose *k)
{
	struct cb c = { p, p + n };
	uint64_t a, i;
	int64_t	 label;
	int	 m, seen = 0, bit;

	memset(k, 0, sizeof(*k));
	if (cb_head(&c, &m, &a) != 0 || m != 5 || a > 16)
		return "The public key is not a COSE map.";
	for (i = 0; i < a; i++) {
		if (cb_int(&c, &label) != 0)
			return "The public key has a label that is not an integer.";
		bit = label == 1 ? 1 : label == 3 ? 2 : label == -1 ? 4 : label == -2 ? 8 :
		    label == -3 ? 16 : 0;
		if (bit & seen)
			return "The public key repeats a label.";
		seen |= bit;
		if ((bit == 1 && cb_int(&c, &k->kty) != 0) || (bit == 2 && cb_int(&c, &k->alg) != 0) ||
		    (bit == 4 && cb_int(&c, &k->crv) != 0) || (bit == 8 && cb_str(&c, 2, &k->x, &k->xl) != 0) ||
		    (bit == 16 && cb_str(&c, 2, &k->y, &k->yl) != 0) || (bit == 0 && cb_skip(&c, 1) != 0))
			return "The public key is malformed.";
	}
	if (c.p != c.end)
		return "The public key has bytes after its end.";
	return NULL;
}

/* The key as OpenSSL's, or NULL with *why. */
static EVP_PKEY *
cose_pkey(const unsigned char *p, size_t n, int *alg, const char **why)
{
	struct cose k;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	unsigned char pt[65];

	if ((*why = cose_parse(p, n, &k)) != NULL)
		return NULL;
	*alg = (int)k.alg;
	if (k.kty == 2 && k.alg == PK_ALG_ES256 && k.crv == 1 && k.xl == 32 && k.yl == 32) {
		pt[0] = 0x04;
		memcpy(pt + 1, k.x, 32);
		memcpy(pt + 33, k.y, 32);
		if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
		    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) ||
		    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
		    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
		    EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
			pk = NULL;
		EVP_PKEY_CTX_free(ctx);
		ctx = NULL;
		/* fromdata takes any bytes; the point must be on the curve. */
		if (pk != NULL && ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
		    EVP_PKEY_public_check(ctx) != 1)) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(bld);
	} else if (k.kty == 1 && k.alg == PK_ALG_EDDSA && k.crv == 6 && k.xl == 32 && k.yl == 0)
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k.x, 32);
	else {
		*why = "Only ES256 (P-256) and EdDSA (Ed25519) passkeys are accepted.";
		return NULL;
	}
	if (pk == NULL)
		*why = "The passkey's public key is not a valid point.";
	return pk;
}

const char *
pk_cose_check(const unsigned char *cose, size_t n, int *alg)
{
	const char *why = NULL;
	EVP_PKEY *pk = cose_pkey(cose, n, alg, &why);

	EVP_PKEY_free(pk);
	return pk != NULL ? NULL : why;
}

int
pk_sig_ok(const unsigned char *cose, size_t cose_len, int alg, const unsigned char *msg,
    size_t msg_len, const unsigned char *sig, size_t sig_len)
{
	const char *why;
	EVP_PKEY *pk;
	EVP_MD_CTX *md;
	int	 got = 0, ok = 0;

	if ((pk = cose_pkey(cose, cose_len, &got, &why)) == NULL || got != alg) {
		EVP_PKEY_free(pk);
		return 0;
	}
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, alg == PK_ALG_ES256 ? EVP_sha256() : NULL, NULL, pk) == 1)
		ok = EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return ok;
}
