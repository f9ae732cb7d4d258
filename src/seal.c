/*
 * seal.c: AES-256-GCM sealing of secrets at rest, and the key file.
 *
 * Why GCM with random nonces: one key seals at most a few thousand
 * rows over its life, far below the 2^32 messages at which random
 * 96-bit nonces start to risk a collision.  The version byte is part of
 * the associated data, so a blob cannot be relabelled as another
 * format; the caller's row identity is the rest of it, so a blob copied
 * into another row (or another column) fails to open.
 *
 * Why HKDF subkeys: the key file's key also keyed the pre-session CSRF
 * HMAC; one key for two algorithms is one cross-protocol surprise away
 * from a break, and a subkey per use costs nothing.  The version byte
 * says which key a blob is under, so blobs sealed before the subkeys
 * (version 1) still open and nothing needs migrating at once.
 *
 * Why key ids (version 3): `1000proxy key rotate` replaces the key file
 * while the service runs and keeps the old key beside it; a blob names
 * its key, so it opens under the right one without trying each, and
 * `key status` can tell when a retired key protects nothing any more.
 * The id is public (in every blob): 4 bytes of an HKDF subkey, which
 * says nothing of the key.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "log.h"
#include "seal.h"
#include "util.h"

/*
 * The process's keyring: the current key and the retired ones beside
 * it, as the last seal_key_load() found them.  Process-wide because the
 * agreed seal()/unseal() and password_hash()/password_verify()
 * signatures take one key (or none) and every caller keeps them: the
 * key file's key is still what callers hand in, and the keyring is
 * where unseal() and the pepper look up a blob's or a hash's older key
 * by its id.  Written only by seal_key_load(), which every process runs
 * at start (and a worker again when the key file changes).
 */
struct keyring {
	int		 loaded;
	unsigned char	 cur[SEAL_KEY_LEN];
	char		 cur_id[SEAL_KID_LEN + 1];
	size_t		 n;
	unsigned char	 old[SEAL_RETIRED_MAX][SEAL_KEY_LEN];
	char		 old_id[SEAL_RETIRED_MAX][SEAL_KID_LEN + 1];
	/* PATH.ident: the key stable identifiers are derived under (see
	 * seal_ident_key()); has_ident 0 means the key file's key. */
	int		 has_ident;
	unsigned char	 ident[SEAL_KEY_LEN];
	/* The key file loaded, to notice a rotation (seal_key_refresh()). */
	dev_t		 dev;
	ino_t		 ino;
	struct timespec	 mtime;
};
/* ring: in use; next: built by a load, copied over ring when whole. */
static struct keyring ring, next;

/* Feed the blob's header (version byte, and key id from version 3 on)
 * and the caller's aad to ctx.  Does not allocate. */
static int
seal_aad(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *head, size_t hlen,
    const char *aad)
{
	int	 n;
	size_t	 alen = aad != NULL ? strlen(aad) : 0;

	if (alen > INT_MAX)
		return -1;
	if (enc) {
		if (EVP_EncryptUpdate(ctx, NULL, &n, head, (int)hlen) != 1 ||
		    (alen > 0 && EVP_EncryptUpdate(ctx, NULL, &n,
		    (const unsigned char *)aad, (int)alen) != 1))
			return -1;
	} else {
		if (EVP_DecryptUpdate(ctx, NULL, &n, head, (int)hlen) != 1 ||
		    (alen > 0 && EVP_DecryptUpdate(ctx, NULL, &n,
		    (const unsigned char *)aad, (int)alen) != 1))
			return -1;
	}
	return 0;
}

/* The raw 4 bytes of key's id (its SEAL_LABEL_KID subkey's first bytes). */
static int
key_id_raw(unsigned char id[SEAL_KID_LEN / 2], const unsigned char key[SEAL_KEY_LEN])
{
	unsigned char	 sub[SEAL_KEY_LEN];

	if (seal_subkey(sub, key, SEAL_LABEL_KID) != 0)
		return -1;
	memcpy(id, sub, SEAL_KID_LEN / 2);
	OPENSSL_cleanse(sub, sizeof(sub));
	return 0;
}

/* Derive label's subkey of key (see seal.h).  Does not allocate. */
int
seal_subkey(unsigned char out[SEAL_KEY_LEN], const unsigned char key[SEAL_KEY_LEN],
    const char *label)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx = NULL;
	OSSL_PARAM	 params[4];
	int		 rc = -1;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) != NULL)
		kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		goto done;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, SEAL_KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)label,
	    strlen(label));
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, SEAL_KEY_LEN, params) == 1)
		rc = 0;
done:
	if (rc != 0)
		OPENSSL_cleanse(out, SEAL_KEY_LEN);
	EVP_KDF_CTX_free(kctx);
	return rc;
}

/* Seal pt into out (see seal.h).  Does not allocate. */
int
seal(unsigned char *out, size_t outsz, size_t *outlen,
    const unsigned char key[SEAL_KEY_LEN], const void *pt, size_t ptlen,
    const char *aad)
{
	EVP_CIPHER_CTX	*ctx;
	unsigned char	*nonce = out + SEAL_HEAD_LEN, *ct = nonce + SEAL_NONCE_LEN;
	unsigned char	 sub[SEAL_KEY_LEN];
	int		 n, fin, rc = -1;

	*outlen = 0;
	if (ptlen > INT_MAX - SEAL_OVERHEAD || outsz < SEAL_LEN(ptlen))
		return -1;
	out[0] = SEAL_VERSION;
	if (key_id_raw(out + 1, key) != 0 || seal_subkey(sub, key, SEAL_LABEL) != 0)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		OPENSSL_cleanse(sub, sizeof(sub));
		return -1;
	}
	random_bytes(nonce, SEAL_NONCE_LEN);
	n = 0;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, sub, nonce) != 1 ||
	    seal_aad(ctx, 1, out, SEAL_HEAD_LEN, aad) != 0 ||
	    (ptlen > 0 && EVP_EncryptUpdate(ctx, ct, &n, pt, (int)ptlen) != 1) ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 ||
	    (size_t)(n + fin) != ptlen ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	    ct + ptlen) != 1)
		goto done;
	*outlen = SEAL_LEN(ptlen);
	rc = 0;
done:
	if (rc != 0)
		OPENSSL_cleanse(out, SEAL_LEN(ptlen));
	OPENSSL_cleanse(sub, sizeof(sub));
	/* Frees the expanded key schedule too, after wiping it. */
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/*
 * Open b[0..bloblen) whose header is hlen bytes under the AES key k
 * (the key itself for version 1, its seal subkey after).  Does not
 * allocate (OpenSSL's context aside).
 */
static int
open_under(unsigned char *out, size_t *outlen, const unsigned char *k,
    const unsigned char *b, size_t bloblen, size_t hlen, const char *aad)
{
	const unsigned char *nonce = b + hlen, *ct = nonce + SEAL_NONCE_LEN, *tag;
	unsigned char	 tagcopy[SEAL_TAG_LEN];
	EVP_CIPHER_CTX	*ctx;
	size_t		 ctlen = bloblen - hlen - SEAL_NONCE_LEN - SEAL_TAG_LEN;
	int		 n = 0, fin, rc = -1;

	tag = ct + ctlen;
	/* OpenSSL's ctrl takes a non-const pointer; do not hand it the caller's. */
	memcpy(tagcopy, tag, SEAL_TAG_LEN);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, k, nonce) != 1 ||
	    seal_aad(ctx, 0, b, hlen, aad) != 0 ||
	    (ctlen > 0 && EVP_DecryptUpdate(ctx, out, &n, ct, (int)ctlen) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	    tagcopy) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1 ||
	    (size_t)(n + fin) != ctlen)
		goto done;
	*outlen = ctlen;
	rc = 0;
done:
	if (rc != 0 && ctlen > 0)
		OPENSSL_cleanse(out, ctlen);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Open b, of version 1 or 2 (no key id), under key: 0 or -1. */
static int
open_old(unsigned char *out, size_t *outlen, const unsigned char key[SEAL_KEY_LEN],
    const unsigned char *b, size_t bloblen, const char *aad)
{
	unsigned char	 sub[SEAL_KEY_LEN];
	int		 rc;

	/* Version 1 predates the subkeys: it is under the key file's key. */
	if (b[0] == SEAL_VERSION_RAW)
		return open_under(out, outlen, key, b, bloblen, 1, aad);
	if (seal_subkey(sub, key, SEAL_LABEL) != 0)
		return -1;
	rc = open_under(out, outlen, sub, b, bloblen, 1, aad);
	OPENSSL_cleanse(sub, sizeof(sub));
	return rc;
}

/* Open a sealed blob (see seal.h).  Does not allocate. */
int
unseal(unsigned char *out, size_t outsz, size_t *outlen,
    const unsigned char key[SEAL_KEY_LEN], const void *blob, size_t bloblen,
    const char *aad)
{
	const unsigned char *b = blob, *k = NULL;
	unsigned char	 sub[SEAL_KEY_LEN], mine[SEAL_KID_LEN / 2];
	char		 id[SEAL_KID_LEN + 1];
	size_t		 hlen, i;
	int		 rc;

	*outlen = 0;
	if (blob == NULL || bloblen > INT_MAX || bloblen < 1)
		return -1;
	hlen = b[0] == SEAL_VERSION ? SEAL_HEAD_LEN : 1;
	if ((b[0] != SEAL_VERSION && b[0] != SEAL_VERSION_SUBKEY && b[0] != SEAL_VERSION_RAW) ||
	    bloblen < hlen + SEAL_NONCE_LEN + SEAL_TAG_LEN ||
	    outsz < bloblen - hlen - SEAL_NONCE_LEN - SEAL_TAG_LEN)
		return -1;
	if (b[0] != SEAL_VERSION) {
		/* No key id: the key handed in, then each retired one (a
		 * value that a rotation has not re-sealed yet). */
		if (open_old(out, outlen, key, b, bloblen, aad) == 0)
			return 0;
		for (i = 0; i < ring.n; i++)
			if (open_old(out, outlen, ring.old[i], b, bloblen, aad) == 0)
				return 0;
		return -1;
	}
	/* Version 3 names its key: the one handed in, or one in the ring. */
	if (key_id_raw(mine, key) != 0)
		return -1;
	if (memcmp(mine, b + 1, sizeof(mine)) == 0)
		k = key;
	else {
		hex_encode(id, b + 1, SEAL_KID_LEN / 2);
		k = seal_keyring_find(id);
	}
	if (k == NULL || seal_subkey(sub, k, SEAL_LABEL) != 0)
		return -1;
	rc = open_under(out, outlen, sub, b, bloblen, SEAL_HEAD_LEN, aad);
	OPENSSL_cleanse(sub, sizeof(sub));
	return rc;
}

int
seal_blob_key_id(const void *blob, size_t bloblen, char id[SEAL_KID_LEN + 1])
{
	const unsigned char *b = blob;

	id[0] = '\0';
	if (blob == NULL || bloblen < SEAL_OVERHEAD || b[0] != SEAL_VERSION)
		return -1;
	hex_encode(id, b + 1, SEAL_KID_LEN / 2);
	return 0;
}

/* printf into err when there is one; returns -1 for "return seterr(...)". */
static int seterr(char *, size_t, const char *, ...) PX_PRINTF(3, 4);

static int
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* write(2) all of p, retrying short writes and EINTR.  Does not allocate. */
static int
write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Make a new key file at path: O_CREAT|O_EXCL under a random temporary
 * name in the same directory, fsync, link(2) into place (fails rather
 * than overwrites when path appeared meanwhile, which counts as
 * success with KC_MAYBE: the other process's key is as good, and is an
 * error with KC_EXCL), or with KC_REPLACE (rotation) rename(2) over
 * path; then fsync the directory so the name survives a crash.
 * Run as root, the file goes to the directory's owner: root making the
 * key in the service's own directory (/var/lib/1000proxy) must not
 * leave a key the service cannot read.  Returns 1 when this call made
 * the key, 0 when another had, -1 on error.  Does not allocate.
 */
enum key_create_mode { KC_MAYBE, KC_EXCL, KC_REPLACE };

static int
key_create(const char *path, enum key_create_mode mode, char *err, size_t errsz)
{
	unsigned char	 key[SEAL_KEY_LEN], rnd[8];
	char		 tmp[PATH_MAX], dir[PATH_MAX], hex[2 * sizeof(rnd) + 1];
	const char	*slash;
	struct stat	 dst;
	int		 fd, rc = -1, saved;

	random_bytes(rnd, sizeof(rnd));
	hex_encode(hex, rnd, sizeof(rnd));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, hex) >= sizeof(tmp))
		return seterr(err, errsz, "key file path too long: %s", path);
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return seterr(err, errsz, "cannot create key file %s (as %s): %s", path, tmp,
		    strerror(errno));
	if (geteuid() == 0 && stat(dir, &dst) == 0 && dst.st_uid != 0 &&
	    fchown(fd, dst.st_uid, dst.st_gid) != 0) {
		seterr(err, errsz, "cannot give key file %s to the owner of %s: %s", tmp, dir,
		    strerror(errno));
		close(fd);
		goto done;
	}
	random_bytes(key, sizeof(key));
	/* The umask may only take bits away, but say 0600 explicitly anyway. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, key, sizeof(key)) != 0 ||
	    fsync(fd) != 0) {
		saved = errno;
		seterr(err, errsz, "cannot write key file %s: %s", tmp, strerror(saved));
		close(fd);
		goto done;
	}
	if (close(fd) != 0) {
		seterr(err, errsz, "cannot write key file %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (mode == KC_REPLACE) {
		/* Rotation: the new key takes the name in one step. */
		if (rename(tmp, path) != 0) {
			seterr(err, errsz, "cannot replace key file %s: %s", path, strerror(errno));
			goto done;
		}
	} else if (link(tmp, path) != 0) {
		if (errno == EEXIST && mode == KC_MAYBE) {
			rc = 0;
			goto done;
		}
		seterr(err, errsz, "cannot create key file %s: %s", path, strerror(errno));
		goto done;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	rc = 1;
done:
	(void)unlink(tmp);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/*
 * Read the 32-byte key file at path (already open as fd) into key,
 * refusing anything but a regular 0600-or-stricter file of exactly 32
 * bytes.  Closes fd.  Returns 0, or -1 with err set and key wiped.
 */
static int
key_read(int fd, const char *path, unsigned char key[SEAL_KEY_LEN], char *err,
    size_t errsz)
{
	struct stat	 st;
	unsigned char	 extra;
	ssize_t		 r;
	size_t		 got = 0;

	if (fstat(fd, &st) != 0) {
		seterr(err, errsz, "cannot stat key file %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errsz, "key file %s is not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		seterr(err, errsz, "key file %s has mode %04o: group and others must "
		    "have no access (chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if (st.st_size != SEAL_KEY_LEN) {
		seterr(err, errsz, "key file %s is %lld bytes; a key file is exactly %d "
		    "random bytes", path, (long long)st.st_size, SEAL_KEY_LEN);
		goto fail;
	}
	while (got < SEAL_KEY_LEN) {
		r = read(fd, key + got, SEAL_KEY_LEN - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			seterr(err, errsz, "cannot read key file %s: %s", path,
			    r < 0 ? strerror(errno) : "short file");
			goto fail;
		}
		got += (size_t)r;
	}
	/* The size was checked before reading; make sure it did not grow since. */
	do
		r = read(fd, &extra, 1);
	while (r < 0 && errno == EINTR);
	if (r != 0) {
		seterr(err, errsz, "key file %s changed while being read", path);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	OPENSSL_cleanse(key, SEAL_KEY_LEN);
	return -1;
}

int
seal_key_id(char out[SEAL_KID_LEN + 1], const unsigned char key[SEAL_KEY_LEN])
{
	unsigned char	 raw[SEAL_KID_LEN / 2];

	out[0] = '\0';
	if (key_id_raw(raw, key) != 0)
		return -1;
	hex_encode(out, raw, sizeof(raw));
	return 0;
}

/* Split path into its directory and base name.  Does not allocate. */
static void
path_split(const char *path, char *dir, size_t dirsz, const char **base)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(dir, dirsz, ".");
		*base = path;
	} else {
		snprintf(dir, dirsz, "%.*s", slash == path ? 1 : (int)(slash - path), path);
		*base = slash + 1;
	}
}

/*
 * Load the retired keys beside path (PATH.old-ID, each checked like the
 * key file, its name's ID matching its content) into the ring.  A bad
 * one is an error: a retired key that does not load is a sealed value
 * or a password that no longer opens.  Returns 0 or -1 with err set.
 */
static int
ring_load_retired(struct keyring *k, const char *path, char *err, size_t errsz)
{
	char		 dir[PATH_MAX], full[PATH_MAX], id[SEAL_KID_LEN + 1];
	const char	*base, *name;
	struct dirent	*de;
	DIR		*d;
	size_t		 bl;
	int		 fd, rc = 0;

	path_split(path, dir, sizeof(dir), &base);
	bl = strlen(base);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		name = de->d_name;
		if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".old-", 5) != 0 ||
		    strlen(name + bl + 5) != SEAL_KID_LEN ||
		    strspn(name + bl + 5, "0123456789abcdef") != SEAL_KID_LEN)
			continue;
		if (k->n == SEAL_RETIRED_MAX) {
			rc = seterr(err, errsz, "more than %d retired keys beside %s: delete "
			    "the oldest (1000proxy(8), KEY MANAGEMENT)", SEAL_RETIRED_MAX, path);
			break;
		}
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, name) >= sizeof(full))
			continue;
		if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW)) < 0) {
			rc = seterr(err, errsz, "cannot open retired key %s: %s", full,
			    strerror(errno));
			break;
		}
		if (key_read(fd, full, k->old[k->n], err, errsz) != 0) {
			rc = -1;
			break;
		}
		if (seal_key_id(id, k->old[k->n]) != 0 ||
		    strcmp(id, name + bl + 5) != 0) {
			OPENSSL_cleanse(k->old[k->n], SEAL_KEY_LEN);
			rc = seterr(err, errsz, "retired key %s holds the key with id %s, "
			    "not the one its name says", full, id);
			break;
		}
		memcpy(k->old_id[k->n], id, sizeof(id));
		k->n++;
	}
	closedir(d);
	return rc;
}

/* Read PATH.ident into k when there is one: 0, or -1 with err set. */
static int
ring_load_ident(struct keyring *k, const char *path, char *err, size_t errsz)
{
	char	 full[PATH_MAX];
	int	 fd;

	if ((size_t)snprintf(full, sizeof(full), "%s.ident", path) >= sizeof(full))
		return seterr(err, errsz, "key file path too long: %s", path);
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return 0;
		return seterr(err, errsz, "cannot open %s: %s", full, strerror(errno));
	}
	if (key_read(fd, full, k->ident, err, errsz) != 0)
		return -1;
	k->has_ident = 1;
	return 0;
}

/* Load (and maybe first create) the key file (see seal.h).  Does not allocate. */
int
seal_key_load(const char *path, unsigned char key[SEAL_KEY_LEN], int create,
    char *err, size_t errsz)
{
	struct stat	 st;
	int		 fd;

	OPENSSL_cleanse(key, SEAL_KEY_LEN);
	if (path == NULL || *path == '\0')
		return seterr(err, errsz, "no key file configured (key_file)");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT && create) {
		switch (key_create(path, KC_MAYBE, err, errsz)) {
		case -1:
			return -1;
		case 1:
			/* Once in the life of an installation: say where. */
			log_sys("key", "created the key file %s (mode 0600)", path);
			break;
		}
		/* Read it back through the same checks as any other key file. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0)
		return seterr(err, errsz, "cannot open key file %s: %s", path, strerror(errno));
	OPENSSL_cleanse(&next, sizeof(next));
	if (fstat(fd, &st) == 0) {
		next.dev = st.st_dev;
		next.ino = st.st_ino;
		next.mtime = st.st_mtim;
	}
	if (key_read(fd, path, key, err, errsz) != 0)
		return -1;
	/* The ring in use changes only once the whole new one has loaded:
	 * a worker whose reload fails keeps working with what it had. */
	memcpy(next.cur, key, SEAL_KEY_LEN);
	if ((seal_key_id(next.cur_id, key) != 0 &&
	    seterr(err, errsz, "cannot derive the key id of %s", path) != 0) ||
	    ring_load_retired(&next, path, err, errsz) != 0 ||
	    ring_load_ident(&next, path, err, errsz) != 0) {
		OPENSSL_cleanse(&next, sizeof(next));
		OPENSSL_cleanse(key, SEAL_KEY_LEN);
		return -1;
	}
	next.loaded = 1;
	memcpy(&ring, &next, sizeof(ring));
	OPENSSL_cleanse(&next, sizeof(next));
	return 0;
}

int
seal_key_refresh(const char *path, unsigned char key[SEAL_KEY_LEN], char *err, size_t errsz)
{
	unsigned char	 fresh[SEAL_KEY_LEN];
	struct stat	 st;

	/* One stat(2) per call: a rotation renames a new file into place,
	 * so the inode (or at least the time) differs. */
	if (!ring.loaded || stat(path, &st) != 0 ||
	    (st.st_dev == ring.dev && st.st_ino == ring.ino &&
	    st.st_mtim.tv_sec == ring.mtime.tv_sec && st.st_mtim.tv_nsec == ring.mtime.tv_nsec))
		return 0;
	if (seal_key_load(path, fresh, 0, err, errsz) != 0)
		return -1;
	memcpy(key, fresh, SEAL_KEY_LEN);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	return 1;
}

const unsigned char *
seal_ident_key(const unsigned char key[SEAL_KEY_LEN])
{
	if (ring.loaded && ring.has_ident && CRYPTO_memcmp(key, ring.cur, SEAL_KEY_LEN) == 0)
		return ring.ident;
	return key;
}

size_t
seal_keyring_retired(size_t i, char id[SEAL_KID_LEN + 1])
{
	if (!ring.loaded || i >= ring.n)
		return 0;
	memcpy(id, ring.old_id[i], SEAL_KID_LEN + 1);
	return ring.n;
}

int
seal_key_rotate(const char *path, char *err, size_t errsz)
{
	unsigned char	 key[SEAL_KEY_LEN];
	char		 id[SEAL_KID_LEN + 1], link_to[PATH_MAX];
	struct stat	 st;
	int		 fd;

	if (path == NULL || *path == '\0')
		return seterr(err, errsz, "no key file configured (key_file)");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return seterr(err, errsz, "cannot open key file %s: %s", path, strerror(errno));
	if (key_read(fd, path, key, err, errsz) != 0)
		return -1;
	if (seal_key_id(id, key) != 0) {
		OPENSSL_cleanse(key, sizeof(key));
		return seterr(err, errsz, "cannot derive the key id of %s", path);
	}
	OPENSSL_cleanse(key, sizeof(key));
	/* The first rotation keeps the first key as PATH.ident: the
	 * subscription tokens and panel credentials derived under it stay
	 * what customers and panels already hold. */
	snprintf(link_to, sizeof(link_to), "%s.ident", path);
	if (lstat(link_to, &st) != 0 && link(path, link_to) != 0)
		return seterr(err, errsz, "cannot keep %s as %s: %s", path, link_to, strerror(errno));
	/* Retire before replacing: a process that sees the new key file
	 * must find the old key beside it. */
	if ((size_t)snprintf(link_to, sizeof(link_to), "%s.old-%s", path, id) >= sizeof(link_to))
		return seterr(err, errsz, "key file path too long: %s", path);
	if (link(path, link_to) != 0 && errno != EEXIST)
		return seterr(err, errsz, "cannot retire %s as %s: %s", path, link_to, strerror(errno));
	if (key_create(path, KC_REPLACE, err, errsz) < 0)
		return -1;
	log_sys("key", "rotated the key file %s: key %s retired as %s", path, id, link_to);
	return 0;
}

void
seal_keyring_clear(void)
{
	OPENSSL_cleanse(&ring, sizeof(ring));
}

const unsigned char *
seal_keyring_current(char id[SEAL_KID_LEN + 1])
{
	if (!ring.loaded)
		return NULL;
	if (id != NULL)
		memcpy(id, ring.cur_id, SEAL_KID_LEN + 1);
	return ring.cur;
}

const unsigned char *
seal_keyring_find(const char *id)
{
	size_t	 i;

	if (!ring.loaded || id == NULL)
		return NULL;
	if (strcmp(id, ring.cur_id) == 0)
		return ring.cur;
	for (i = 0; i < ring.n; i++)
		if (strcmp(id, ring.old_id[i]) == 0)
			return ring.old[i];
	return NULL;
}

int
seal_key_init(const char *path, char *err, size_t errsz)
{
	unsigned char	 key[SEAL_KEY_LEN];
	struct stat	 st;

	if (path == NULL || *path == '\0')
		return seterr(err, errsz, "no key file configured (key_file)");
	if (lstat(path, &st) == 0)
		return seterr(err, errsz, "key file %s already exists: it is never replaced "
		    "(the secrets sealed with it could no longer be read)", path);
	if (key_create(path, KC_EXCL, err, errsz) < 0)
		return -1;
	/* Read it back through the checks every start makes. */
	if (seal_key_load(path, key, 0, err, errsz) != 0)
		return -1;
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}
