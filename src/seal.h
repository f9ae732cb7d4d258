/*
 * seal.h: secrets at rest (TOTP seeds, panel passwords, gateway keys)
 * sealed with AES-256-GCM under a key file kept apart from the database,
 * with the row's identity as associated data.
 *
 * A sealed blob is  version (1 byte) || key id (4) || nonce (12) ||
 * ciphertext || tag (16), exactly SEAL_OVERHEAD bytes longer than the
 * plaintext; the header (version and key id) is authenticated with the
 * caller's aad.  The key id names the key file the blob was sealed
 * under, so after `1000proxy key rotate` a blob not yet re-sealed still
 * opens under its retired key (the keyring, below).
 *
 * Keys: the key file holds one 32-byte key, and every use gets its own
 * subkey derived from it with HKDF-SHA256 (no salt: the key file is
 * uniformly random already) and a label naming the use, so the key
 * that seals secrets never also signs cookies.  Version 2 blobs are
 * sealed under the "1000proxy seal v1" subkey without a key id, version
 * 3 ones the same way with one; version 1 blobs, made before the
 * subkeys existed, were sealed under the key file's key itself.  Both
 * older versions still open (under the key handed in or a retired one);
 * seal() makes only version 3.  Callers always hand seal() and unseal()
 * the key file's key.
 */
#ifndef PX_SEAL_H
#define PX_SEAL_H

#include <stddef.h>

#define SEAL_KEY_LEN	32
#define SEAL_NONCE_LEN	12
#define SEAL_TAG_LEN	16
#define SEAL_VERSION	3	/* under the SEAL_LABEL subkey, with a key id */
#define SEAL_VERSION_SUBKEY 2	/* old: the same without a key id; opens only */
#define SEAL_VERSION_RAW 1	/* old: under the key file's key; opens only */
#define SEAL_LABEL	"1000proxy seal v1"
#define SEAL_LABEL_PRESESSION "1000proxy presession v1"	/* session.c's CSRF HMAC */
#define SEAL_LABEL_PEPPER "1000proxy pepper v1"	/* password.c's pepper HMAC */
#define SEAL_LABEL_KID	"1000proxy key id v1"	/* a key's public id */
#define SEAL_KID_LEN	8	/* hex digits of a key id */
#define SEAL_RETIRED_MAX 16	/* retired keys kept beside the key file */
#define SEAL_HEAD_LEN	(1 + SEAL_KID_LEN / 2)	/* version, raw key id */
#define SEAL_OVERHEAD	(SEAL_HEAD_LEN + SEAL_NONCE_LEN + SEAL_TAG_LEN)
/* Bytes of a sealed blob for n bytes of plaintext. */
#define SEAL_LEN(n)	((n) + SEAL_OVERHEAD)

/*
 * Derive the subkey for label (SEAL_LABEL, SEAL_LABEL_PRESESSION) from
 * the key file's key into out: HKDF-SHA256, key as the input keying
 * material, no salt, label as the info.  Returns 0, or -1 when OpenSSL
 * fails (out is then wiped).  Does not allocate (OpenSSL's context
 * aside).
 */
int	seal_subkey(unsigned char out[SEAL_KEY_LEN],
	    const unsigned char key[SEAL_KEY_LEN], const char *label);
/*
 * Seal pt[0..ptlen) under the seal subkey of key (the key file's key), binding it to aad (a NUL-terminated row
 * identity such as "staff:42:totp"; NULL means ""), into out, which has
 * room for outsz >= SEAL_LEN(ptlen) bytes; *outlen gets the length.
 * The nonce is fresh from the CSPRNG.  Returns 0, or -1 when out is too
 * small or OpenSSL fails.  Does not allocate (OpenSSL's context aside).
 */
int	seal(unsigned char *out, size_t outsz, size_t *outlen,
	    const unsigned char key[SEAL_KEY_LEN],
	    const void *pt, size_t ptlen, const char *aad);
/*
 * Open a blob made by seal() with the same key and aad into out (room
 * for outsz >= bloblen - SEAL_OVERHEAD bytes); a version 3 blob opens
 * under the key its id names (key, or a key in the keyring), a version
 * 2 one under the seal subkey of key (or of a retired key), a version 1
 * one under key itself (or a retired key).
 * *outlen gets the length.
 * Returns 0, or -1 when the blob is short, of an unknown version, was
 * changed, or belongs to another key or row; out is then wiped, so a
 * failure never leaves unauthenticated plaintext behind.  Does not
 * allocate (OpenSSL's context aside).
 */
int	unseal(unsigned char *out, size_t outsz, size_t *outlen,
	    const unsigned char key[SEAL_KEY_LEN],
	    const void *blob, size_t bloblen, const char *aad);
/* The id of the key a version 3 blob names, in id: 0, or -1 for an
 * older blob (no id) or a short one. */
int	seal_blob_key_id(const void *blob, size_t bloblen, char id[SEAL_KID_LEN + 1]);
/*
 * Read the 32-byte key at path into key.  When create is set and the
 * file does not exist, make one from the CSPRNG first: mode 0600,
 * written and fsync'ed under a temporary name, then linked into place
 * (so two processes racing cannot both win, and nobody ever reads a
 * half-written key; run as root, it goes to the directory's owner, and
 * the creation is logged).  Refuses a key file that is not a regular file,
 * is readable or writable by group or others, or is not exactly 32
 * bytes.  Then loads the retired keys beside it (PATH.old-ID) into the
 * keyring (see below).  Returns 0, or -1 with a message for the
 * operator in err (and key wiped).  Does not allocate.
 */
int	seal_key_load(const char *path, unsigned char key[SEAL_KEY_LEN],
	    int create, char *err, size_t errsz);
/*
 * A key's id: the first 4 bytes of its SEAL_LABEL_KID subkey, as 8
 * lowercase hex digits (names a key without revealing it).  0 or -1.
 */
int	seal_key_id(char out[SEAL_KID_LEN + 1], const unsigned char key[SEAL_KEY_LEN]);
/*
 * The keyring seal_key_load() fills: the key file's key (current) and
 * the retired keys beside it, PATH.old-ID (mode 0600, kept after
 * `1000proxy key rotate` so older sealed values and peppered password
 * hashes still open).  seal_keyring_current() returns the current key
 * (and its id in id, when not NULL) or NULL when none is loaded;
 * seal_keyring_find() the key with that id, or NULL.  The pointers stay
 * valid until the next load or clear.  Do not allocate.
 */
const unsigned char *seal_keyring_current(char id[SEAL_KID_LEN + 1]);
const unsigned char *seal_keyring_find(const char *id);
void	seal_keyring_clear(void);
/* The id of the i-th retired key in id; returns how many there are
 * (0 when i is past the last). */
size_t	seal_keyring_retired(size_t i, char id[SEAL_KID_LEN + 1]);
/*
 * Reload the key file into key (and the keyring) when the file at path
 * is no longer the one loaded (a rotation renamed a new one into
 * place): one stat(2) when nothing changed.  1 reloaded, 0 unchanged,
 * -1 with err set (key and the keyring then stay as they were).
 */
int	seal_key_refresh(const char *path, unsigned char key[SEAL_KEY_LEN],
	    char *err, size_t errsz);
/*
 * The key to derive stable identifiers under (subscription tokens,
 * panel client credentials: values customers and panels hold, which a
 * rotation must not change): PATH.ident, the key file's key as it was
 * before the first rotation, when key is the current key and that file
 * exists; otherwise key itself.  Does not allocate.
 */
const unsigned char *seal_ident_key(const unsigned char key[SEAL_KEY_LEN]);
/*
 * `1000proxy key rotate`'s file part: keep the key at path as
 * PATH.old-ID (and, the first time, as PATH.ident), then put a new key
 * from the CSPRNG in its place (mode 0600, rename(2)).  Re-sealing is
 * the caller's (cmd_key.c).  0, or -1 with the reason in err.
 */
int	seal_key_rotate(const char *path, char *err, size_t errsz);
/*
 * `1000proxy key init`: make the key file at path as seal_key_load()
 * would, but never over an existing file (or a link, even a dangling
 * one): 0, or -1 with the reason in err.  Run as root, the file goes to
 * the owner of its directory.
 */
int	seal_key_init(const char *path, char *err, size_t errsz);

#endif
