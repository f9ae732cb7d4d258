/*
 * password.c: argon2id hashing with a machine-wide limit of two hashes in
 * flight, and the password policy.
 *
 * Memory: m = 7 MiB per hash (DESIGN.md, memory budget).  The two-slot
 * limit uses two lock files (flock), so it holds across the workers, the
 * CLI and anything else on the machine, and a process that dies releases
 * its slot.  main/worker start-up sets M_MMAP_THRESHOLD so argon2's
 * buffer is mmap'ed and returned to the system after each hash.
 *
 * The common-password list is mmap'ed read-only and binary-searched, so
 * it costs a few touched pages per check instead of a copy per worker.
 *
 * Characters, not bytes (ASVS V2.1.2): a password is NFKC-normalised
 * (utf8proc: ICU did the same at 2 MB more per worker, DESIGN.md's
 * memory budget) before it is counted, compared,
 * peppered or hashed, so the limits are 12..128 code points whatever
 * the script, and the composed and decomposed forms of one password
 * (or a full-width one) are the same password.
 *
 * The pepper (ASVS V2.4.5): argon2id is fed HMAC-SHA256 of the
 * normalised password under the "1000proxy pepper v1" subkey of the key
 * file's key, so a stolen database alone cannot be brute-forced.  The
 * hash names the key it was peppered under ("$pepper1$KEYID$argon2id$
 * ..."), so after `1000proxy key rotate` a retired key still verifies it
 * and the sign-in re-makes it under the current key.  Plain argon2id
 * hashes (before the pepper, over the raw bytes) still verify as they
 * were made and are re-made peppered at the next sign-in.
 */
#include "config.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <utf8proc.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "password.h"
#include "seal.h"
#include "util.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define SLOT_WAIT_MS 5000
#define PEPPER_TAG "$pepper1$"
#define PEPPER_TAG_LEN (sizeof(PEPPER_TAG) - 1)
/* "$pepper1$" KEYID, then the argon2id PHC string from its '$'. */
#define PEPPER_HEAD_LEN (PEPPER_TAG_LEN + SEAL_KID_LEN)

int
password_nfkc(const char *pw, char out[PASSWORD_NFKC_MAX], size_t *cps)
{
	/* NFKD of up to 1024 bytes, in code points.  NFC composes at most
	 * four code points into one, so a decomposition longer than this
	 * composes to far more than 128: too long either way. */
	utf8proc_int32_t buf[4 * PASSWORD_INPUT_MAX];
	const int	 opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
	utf8proc_ssize_t n, i, o = 0;
	size_t		 len = pw != NULL ? strlen(pw) : 0;
	int		 rc = PW_NFKC_INVALID;

	out[0] = '\0';
	if (cps != NULL)
		*cps = 0;
	if (len > PASSWORD_INPUT_MAX)
		return PW_NFKC_LONG;
	/* Controls and broken UTF-8 are refused before normalising. */
	if (pw == NULL || !utf8_valid(pw, len, 0))
		return PW_NFKC_INVALID;
	/* ASCII is its own NFKC: most passwords never touch utf8proc's
	 * tables (a worker's resident pages, DESIGN.md's budget). */
	for (i = 0; i < (utf8proc_ssize_t)len && (unsigned char)pw[i] < 0x80; i++)
		continue;
	if (i == (utf8proc_ssize_t)len) {
		if (len > PASSWORD_MAX)
			return PW_NFKC_LONG;
		memcpy(out, pw, len + 1);
		if (cps != NULL)
			*cps = len;
		return 0;
	}
	/* Caller's buffers, never utf8proc's malloc: nothing of the
	 * password is left in freed memory (V8.3.6). */
	n = utf8proc_decompose((const utf8proc_uint8_t *)pw, (utf8proc_ssize_t)len, buf,
	    (utf8proc_ssize_t)NELEM(buf), opt);
	if (n > (utf8proc_ssize_t)NELEM(buf)) {
		rc = PW_NFKC_LONG;
		goto done;
	}
	if (n < 0 || (n = utf8proc_normalize_utf32(buf, n, opt)) < 0)
		goto done;
	if (n > PASSWORD_MAX) {
		rc = PW_NFKC_LONG;
		goto done;
	}
	/* At most 128 code points of at most 4 bytes: out fits. */
	for (i = 0; i < n; i++)
		o += utf8proc_encode_char(buf[i], (utf8proc_uint8_t *)out + o);
	out[o] = '\0';
	if (cps != NULL)
		*cps = (size_t)n;
	rc = 0;
done:
	if (rc != 0)
		OPENSSL_cleanse(out, PASSWORD_NFKC_MAX);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/*
 * The pepper: HMAC-SHA256 of the normalised password nfkc under the
 * pepper subkey of key, into mac.  0 or -1.  Does not allocate
 * (OpenSSL's context aside).
 */
static int
pepper(unsigned char mac[32], const unsigned char key[SEAL_KEY_LEN], const char *nfkc)
{
	unsigned char	 sub[SEAL_KEY_LEN];
	unsigned int	 mlen = 0;
	int		 rc = -1;

	if (seal_subkey(sub, key, SEAL_LABEL_PEPPER) != 0)
		return -1;
	if (HMAC(EVP_sha256(), sub, sizeof(sub), (const unsigned char *)nfkc,
	    strlen(nfkc), mac, &mlen) != NULL && mlen == 32)
		rc = 0;
	OPENSSL_cleanse(sub, sizeof(sub));
	return rc;
}

/*
 * The current key, loading the key file first when this process has
 * not (the CLI's user commands): NULL when there is none.
 */
static const unsigned char *
pepper_key(const struct conf *c, char id[SEAL_KID_LEN + 1])
{
	unsigned char	 key[SEAL_KEY_LEN];
	char		 err[512];
	const unsigned char *k;

	if ((k = seal_keyring_current(id)) != NULL)
		return k;
	if (seal_key_load(c->key_file, key, 1, err, sizeof(err)) != 0) {
		log_sys("password", "no pepper: %s", err);
		return NULL;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return seal_keyring_current(id);
}

/* Take one of the two hash slots; returns the locked fd or -1. */
static int
slot_acquire(const struct conf *c)
{
	char	 path[4096];
	int	 i, fd, waited = 0;

	for (;;) {
		for (i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/hash-slot-%d.lock", c->run_dir, i);
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			/* No run dir (or no right to it): no slot, no hash.
			 * Hashing without one would let a flood put every
			 * worker's 7 MiB in flight at once. */
			if (fd < 0)
				return -1;
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				return fd;
			close(fd);
		}
		if (waited >= SLOT_WAIT_MS)
			return -1;
		usleep(5000);
		waited += 5;
	}
}

static void
slot_release(int fd)
{
	if (fd >= 0)
		close(fd);	/* closing drops the flock */
}

int
password_hash(const struct conf *c, const char *pw, char out[PHC_MAX])
{
	unsigned char	 salt[SALT_LEN], mac[32];
	char		 norm[PASSWORD_NFKC_MAX], id[SEAL_KID_LEN + 1], phc[PHC_MAX];
	const unsigned char *key;
	int		 fd, rc = -1;

	out[0] = '\0';
	if (password_nfkc(pw, norm, NULL) != 0)
		return -1;
	if ((key = pepper_key(c, id)) == NULL || pepper(mac, key, norm) != 0)
		goto done;
	random_bytes(salt, sizeof(salt));
	if ((fd = slot_acquire(c)) == -1)
		goto done;
	rc = argon2id_hash_encoded((uint32_t)c->argon2_t, (uint32_t)c->argon2_m_kib,
	    (uint32_t)c->argon2_p, mac, sizeof(mac), salt, sizeof(salt), HASH_LEN,
	    phc, sizeof(phc));
	slot_release(fd);
	if (rc == ARGON2_OK && (size_t)snprintf(out, PHC_MAX, PEPPER_TAG "%s%s", id, phc) <
	    PHC_MAX)
		rc = 0;
	else {
		out[0] = '\0';
		rc = -1;
	}
done:
	OPENSSL_cleanse(norm, sizeof(norm));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int
password_verify(const struct conf *c, const char *pw, const char *phc)
{
	unsigned char	 mac[32];
	char		 norm[PASSWORD_NFKC_MAX], id[SEAL_KID_LEN + 1];
	const unsigned char *key;
	int		 fd, rc;

	if (phc == NULL)
		return -1;
	if (strncmp(phc, PEPPER_TAG, PEPPER_TAG_LEN) == 0) {
		if (strlen(phc) < PEPPER_HEAD_LEN ||
		    strncmp(phc + PEPPER_HEAD_LEN, "$argon2id$", 10) != 0)
			return -1;
		memcpy(id, phc + PEPPER_TAG_LEN, SEAL_KID_LEN);
		id[SEAL_KID_LEN] = '\0';
		if (pepper_key(c, NULL) == NULL)
			return -1;
		/* Peppered under a key this machine no longer has (a
		 * deleted retired key, another installation's key file):
		 * no password opens it.  Said once per try, for the
		 * operator; the person sees a wrong password. */
		if ((key = seal_keyring_find(id)) == NULL) {
			log_sys("password", "a password hash names key %s, which is "
			    "not in the keyring: that account cannot sign in", id);
			/* The same time as a real verification, so this is
			 * not told apart from a wrong password. */
			return password_dummy_verify(c, pw) < 0 ? -1 : 0;
		}
		if (password_nfkc(pw, norm, NULL) != 0)
			return 0;
		rc = pepper(mac, key, norm);
		OPENSSL_cleanse(norm, sizeof(norm));
		if (rc != 0)
			return -1;
		if ((fd = slot_acquire(c)) == -1) {
			OPENSSL_cleanse(mac, sizeof(mac));
			return -1;
		}
		rc = argon2id_verify(phc + PEPPER_HEAD_LEN, (const char *)mac, sizeof(mac));
		slot_release(fd);
		OPENSSL_cleanse(mac, sizeof(mac));
	} else {
		/* Made before the pepper, over the bytes as typed: verified
		 * the same way, and re-made at this sign-in. */
		if (strncmp(phc, "$argon2id$", 10) != 0)
			return -1;
		if ((fd = slot_acquire(c)) == -1)
			return -1;
		rc = argon2id_verify(phc, pw, strlen(pw));
		slot_release(fd);
	}
	if (rc == ARGON2_OK)
		return 1;
	if (rc == ARGON2_VERIFY_MISMATCH)
		return 0;
	return -1;
}

int
password_dummy_verify(const struct conf *c, const char *pw)
{
	/* A hash of a random password made with the current parameters:
	 * same cost as a real verification, never matches.  It takes a
	 * slot like a real one, and fails like one when none comes free,
	 * so a 503 does not tell a known account from an unknown one. */
	static char dummy[PHC_MAX];

	/* Re-made when the key rotated or the cost rose: a dummy under a
	 * deleted key would cost nothing, and time would tell. */
	if (dummy[0] == '\0' || password_needs_rehash(c, dummy)) {
		char	 rnd[33];
		unsigned char b[16];

		random_bytes(b, sizeof(b));
		hex_encode(rnd, b, sizeof(b));
		if (password_hash(c, rnd, dummy) != 0) {
			dummy[0] = '\0';
			return -1;
		}
	}
	return password_verify(c, pw, dummy) < 0 ? -1 : 0;
}

int
password_needs_rehash(const struct conf *c, const char *phc)
{
	long	 v, m, t, p;
	char	 id[SEAL_KID_LEN + 1];

	/* Not peppered, or peppered under a key since retired: re-make. */
	if (phc == NULL || strncmp(phc, PEPPER_TAG, PEPPER_TAG_LEN) != 0 ||
	    strlen(phc) < PEPPER_HEAD_LEN || seal_keyring_current(id) == NULL ||
	    strncmp(phc + PEPPER_TAG_LEN, id, SEAL_KID_LEN) != 0)
		return 1;
	phc += PEPPER_HEAD_LEN;
	if (sscanf(phc, "$argon2id$v=%ld$m=%ld,t=%ld,p=%ld$", &v, &m, &t, &p) != 4)
		return 1;
	return v < ARGON2_VERSION_NUMBER || m < c->argon2_m_kib || t < c->argon2_t ||
	    p < c->argon2_p;
}

struct common_list {
	const char	*map;
	size_t		 len;
	int		 tried;
};

/* One map per process; mapped on first use, read-only, shared pages. */
static struct common_list common;

static int
map_common(const struct conf *c)
{
	struct stat st;
	int	 fd;

	if (common.tried)
		return common.map != NULL;
	common.tried = 1;
	if ((fd = open(c->common_passwords, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		void	*p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);

		if (p != MAP_FAILED) {
			common.map = p;
			common.len = (size_t)st.st_size;
		}
	}
	close(fd);
	return common.map != NULL;
}

/* Compare key with the line starting at p (ending at '\n' or end). */
static int
cmp_line(const char *key, const char *p, const char *end)
{
	for (; p < end && *p != '\n' && *key; p++, key++)
		if ((unsigned char)*key != (unsigned char)*p)
			return (unsigned char)*key - (unsigned char)*p;
	if (*key == '\0')
		return (p < end && *p != '\n') ? -1 : 0;
	return 1;
}

int
password_is_common(const struct conf *c, const char *pw)
{
	char	 low[PASSWORD_NFKC_MAX];
	size_t	 i, lo, hi;
	const char *end;

	if (strlen(pw) >= sizeof(low) || !map_common(c))
		return 0;
	for (i = 0; pw[i]; i++)
		low[i] = (pw[i] >= 'A' && pw[i] <= 'Z') ? (char)(pw[i] + 32) : pw[i];
	low[i] = '\0';
	end = common.map + common.len;
	/* Binary search over byte offsets, snapping to line starts. */
	lo = 0;
	hi = common.len;
	while (lo < hi) {
		size_t	 mid = lo + (hi - lo) / 2, start = mid;
		int	 d;

		while (start > lo && common.map[start - 1] != '\n')
			start--;
		d = cmp_line(low, common.map + start, end);
		if (d == 0)
			return 1;
		if (d < 0)
			hi = start;
		else {
			const char *nl = memchr(common.map + start, '\n', common.len - start);

			if (nl == NULL)
				break;
			lo = (size_t)(nl - common.map) + 1;
		}
	}
	return 0;
}

const char *
password_policy(const struct conf *c, const char *pw, const char *email)
{
	char		 norm[PASSWORD_NFKC_MAX];
	const char	*why = NULL;
	size_t		 cps = 0;

	switch (password_nfkc(pw ? pw : "", norm, &cps)) {
	case PW_NFKC_INVALID:
		return "The password contains characters that cannot be used.";
	case PW_NFKC_LONG:
		return "The password must be at most 128 characters long.";
	}
	/* Counted, compared and looked up as it will be hashed. */
	if (cps < PASSWORD_MIN)
		why = "The password must be at least 12 characters long.";
	else if (password_is_common(c, norm))
		why = "This password is on a list of commonly used passwords. Please choose another.";
	else if (email != NULL && *email != '\0' && strcasecmp(norm, email) == 0)
		why = "The password must not be your email address.";
	OPENSSL_cleanse(norm, sizeof(norm));
	return why;
}
