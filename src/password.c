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
 */
#include "config.h"

#include <argon2.h>
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
#include "password.h"
#include "util.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define SLOT_WAIT_MS 5000

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
	unsigned char salt[SALT_LEN];
	int	 fd, rc;

	random_bytes(salt, sizeof(salt));
	if ((fd = slot_acquire(c)) == -1)
		return -1;
	rc = argon2id_hash_encoded((uint32_t)c->argon2_t, (uint32_t)c->argon2_m_kib,
	    (uint32_t)c->argon2_p, pw, strlen(pw), salt, sizeof(salt), HASH_LEN,
	    out, PHC_MAX);
	slot_release(fd);
	return rc == ARGON2_OK ? 0 : -1;
}

int
password_verify(const struct conf *c, const char *pw, const char *phc)
{
	int	 fd, rc;

	if (phc == NULL || strncmp(phc, "$argon2id$", 10) != 0)
		return -1;
	if ((fd = slot_acquire(c)) == -1)
		return -1;
	rc = argon2id_verify(phc, pw, strlen(pw));
	slot_release(fd);
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

	if (dummy[0] == '\0') {
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

	if (phc == NULL || sscanf(phc, "$argon2id$v=%ld$m=%ld,t=%ld,p=%ld$", &v, &m, &t, &p) != 4)
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
	char	 low[PASSWORD_MAX + 1];
	size_t	 i, lo, hi;
	const char *end;

	if (strlen(pw) > PASSWORD_MAX || !map_common(c))
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
	size_t	 n = pw ? strlen(pw) : 0, cps = 0, i;

	if (!utf8_valid(pw ? pw : "", n, 0))
		return "The password contains characters that cannot be used.";
	for (i = 0; i < n; i++)		/* count code points, not bytes */
		if (((unsigned char)pw[i] & 0xc0) != 0x80)
			cps++;
	if (cps < PASSWORD_MIN)
		return "The password must be at least 12 characters long.";
	if (n > PASSWORD_MAX)
		return "The password must be at most 128 characters long.";
	if (password_is_common(c, pw))
		return "This password is on a list of commonly used passwords. Please choose another.";
	if (email != NULL && *email != '\0' && strcasecmp(pw, email) == 0)
		return "The password must not be your email address.";
	return NULL;
}
