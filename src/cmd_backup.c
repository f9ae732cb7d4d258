/*
 * cmd_backup.c: `1000proxy backup [--with-key] [DIR]`, `1000proxy
 * restore [--force] DIR` and `1000proxy cron backup` (ASVS V14.1.4,
 * 1000proxy(8), BACKUP and RESTORE).
 *
 * A backup is one directory, DIR/1000proxy-YYYYMMDDTHHMMSSZ (mode
 * 0700), holding:
 *   1000proxy.db    the database as of one commit (db_backup: SQLite's
 *                   online backup API, while the service runs)
 *   spool/new/...   the spool's pending wake-up files (new/ and cur/)
 *   MANIFEST        written last: the format, the schema version, and
 *                   "file SHA-256 SIZE PATH" for each file above
 * every file mode 0600.  A directory without MANIFEST is an unfinished
 * backup and restore refuses it.
 *
 * The key file is not in it: a copy holding both the sealed values and
 * the key that opens them would make the sealing worthless to whoever
 * gets the copy.  --with-key writes the key to DIR/NAME.key, beside the
 * backup rather than in it, and says so, so the operator can carry the
 * two to different places.
 *
 * The job rows are the spool's truth (spool.h); the files only wake the
 * daemon, so restoring them can neither lose nor double a job, and the
 * work daemon's recovery re-wakes any pending row whose file is absent.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "seal.h"
#include "spool.h"
#include "sql.h"
#include "util.h"

#define MANIFEST	"MANIFEST"
#define MANIFEST_HEAD	"1000proxy-backup 1"
#define DBNAME		"1000proxy.db"
#define PREFIX		"1000proxy-"
#define MAXFILES	100000

/* Paths: a command may end on one too long for its buffer (an
 * operator's error, never data); truncating it could name another file. */
#define PJOIN(buf, ...) pjoin((buf), sizeof(buf), __VA_ARGS__)

static void PX_PRINTF(3, 4)
pjoin(char *out, size_t n, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n) {
		fprintf(stderr, "1000proxy: a path is too long\n");
		exit(1);
	}
}

struct mfile {
	char	 path[512];	/* relative to the backup directory */
	char	 sha[65];
	int64_t	 size;
};

struct manifest {
	int		 schema;
	struct mfile	*f;
	size_t		 n, cap;
};

static void
mf_add(struct manifest *m, const char *path, const char *sha, int64_t size)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 32;
		m->f = xrealloc(m->f, m->cap * sizeof(*m->f));
	}
	snprintf(m->f[m->n].path, sizeof(m->f[m->n].path), "%s", path);
	snprintf(m->f[m->n].sha, sizeof(m->f[m->n].sha), "%s", sha);
	m->f[m->n].size = size;
	m->n++;
}

/* SHA-256 of the file at path as hex into sha, its size into *size: 0 or -1. */
static int
file_sha256(const char *path, char sha[65], int64_t *size)
{
	unsigned char	 buf[65536], md[32];
	unsigned int	 mdlen = 0;
	EVP_MD_CTX	*ctx;
	ssize_t		 r;
	int		 fd, rc = -1;
	size_t		 i;

	*size = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1)
			goto out;
		*size += r;
	}
	if (r < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/* Copy from to the new file to (mode), fsync'ed: 0, -1 with errno
 * (ENOENT when from vanished, as a claimed spool file does). */
static int
copy_file(const char *from, const char *to, mode_t mode)
{
	char	 buf[65536];
	ssize_t	 r;
	int	 in, out, rc = -1, e;

	if ((in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) < 0) {
		e = errno;
		close(in);
		errno = e;
		return -1;
	}
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r)
			goto out;
	if (r == 0 && fchmod(out, mode) == 0 && fsync(out) == 0)
		rc = 0;
out:
	e = errno;
	close(in);
	if (close(out) != 0)
		rc = -1;
	errno = e;
	return rc;
}

/* Copy the regular files of spool sub (new, cur) into bdir/spool/new
 * (a cur/ file's claimer is gone once the service is stopped): the
 * number copied, or -1. */
static int
copy_spool(const char *spool, const char *sub, const char *bdir, struct manifest *m)
{
	char		 from[4096], to[4096], rel[512], sha[65];
	struct dirent	*de;
	DIR		*d;
	int64_t		 size;
	int		 n = 0;

	PJOIN(from, "%s/%s", spool, sub);
	if ((d = opendir(from)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 200)
			continue;
		PJOIN(from, "%s/%s/%s", spool, sub, de->d_name);
		snprintf(rel, sizeof(rel), "spool/new/%s", de->d_name);
		PJOIN(to, "%s/%s", bdir, rel);
		if (copy_file(from, to, 0600) != 0) {
			/* Claimed or finished since readdir: the row is
			 * in the copy, the file was only a wake-up. */
			if (errno == ENOENT || errno == EEXIST)
				continue;
			fprintf(stderr, "1000proxy: backup: %s: %s\n", from, strerror(errno));
			closedir(d);
			return -1;
		}
		if (file_sha256(to, sha, &size) != 0) {
			closedir(d);
			return -1;
		}
		mf_add(m, rel, sha, size);
		n++;
	}
	closedir(d);
	return n;
}

static int
write_manifest(const char *bdir, const struct manifest *m, const char *when)
{
	char	 tmp[4096], path[4096];
	FILE	*f;
	size_t	 i;
	int	 fd;

	PJOIN(tmp, "%s/%s.tmp", bdir, MANIFEST);
	snprintf(path, sizeof(path), "%s/%s", bdir, MANIFEST);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(f, "%s\nschema %d\ncreated %s\n", MANIFEST_HEAD, m->schema, when);
	for (i = 0; i < m->n; i++)
		fprintf(f, "file %s %" PRId64 " %s\n", m->f[i].sha, m->f[i].size, m->f[i].path);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

static int backup_remove(const char *);

/*
 * --with-key: the whole keyring, not the current key alone.  After a
 * rotation the identity key (KEY.ident) is what subscription links and
 * panel client credentials are derived from, and retired keys
 * (KEY.old-ID) still open older sealed values and pepper passwords not
 * yet re-made: a restore without them changes every subscription URL
 * and locks those accounts out.  KEY goes to to, KEY.SUFFIX to
 * to.SUFFIX, each 0600.  0, or -1 with the reason on stderr.
 */
static int
copy_keyring(const char *key, const char *to)
{
	char	 dir[4096], src[8192], dst[8192];
	const char *slash = strrchr(key, '/'), *base = slash ? slash + 1 : key;
	size_t	 bl = strlen(base);
	struct dirent *de;
	DIR	*d;
	int	 rc = 0;

	if (copy_file(key, to, 0600) != 0) {
		fprintf(stderr, "1000proxy: backup: %s -> %s: %s\n", key, to, strerror(errno));
		return -1;
	}
	if (slash == NULL)
		PJOIN(dir, ".");
	else if (slash == key)
		PJOIN(dir, "/");
	else
		PJOIN(dir, "%.*s", (int)(slash - key), key);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "1000proxy: backup: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, bl) != 0 || (strcmp(de->d_name + bl, ".ident") != 0 &&
		    strncmp(de->d_name + bl, ".old-", 5) != 0))
			continue;
		PJOIN(src, "%s/%s", dir, de->d_name);
		PJOIN(dst, "%s%s", to, de->d_name + bl);
		if ((rc = copy_file(src, dst, 0600)) != 0)
			fprintf(stderr, "1000proxy: backup: %s -> %s: %s\n", src, dst, strerror(errno));
	}
	closedir(d);
	return rc;
}

/* Make one backup under parent; its path into out.  0, or 1 with the
 * reason on stderr. */
static int
backup_make(const struct conf *c, const char *parent, int with_key, char *out, size_t outsz)
{
	struct manifest	 m = { 0 };
	struct db	*db;
	char		 err[1024], when[32], path[4096], sha[65];
	struct tm	 tm;
	time_t		 now = (time_t)now_unix();	/* the test clock too */
	int64_t		 size;
	int		 i, rc = 1;

	/* Everything a backup makes is the owner's alone. */
	umask(077);
	if (mkdir(parent, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "1000proxy: backup: %s: %s\n", parent, strerror(errno));
		return 1;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(out, outsz, "%s/%s%s", parent, PREFIX, when);
		else
			snprintf(out, outsz, "%s/%s%s-%d", parent, PREFIX, when, i);
		if (mkdir(out, 0700) == 0)
			break;
		if (errno != EEXIST) {
			fprintf(stderr, "1000proxy: backup: %s: %s\n", out, strerror(errno));
			return 1;
		}
	}
	if (i == 100) {
		fprintf(stderr, "1000proxy: backup: %s: too many backups this second\n", parent);
		return 1;
	}
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: backup: %s\n", err);
		return 1;
	}
	m.schema = db_schema_version(db);
	PJOIN(path, "%s/%s", out, DBNAME);
	if (db_backup(db, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: backup: %s\n", err);
		db_close(db);
		goto out;
	}
	db_close(db);
	if (chmod(path, 0600) != 0 || file_sha256(path, sha, &size) != 0) {
		fprintf(stderr, "1000proxy: backup: %s: %s\n", path, strerror(errno));
		goto out;
	}
	mf_add(&m, DBNAME, sha, size);
	PJOIN(path, "%s/spool", out);
	if (mkdir(path, 0700) != 0)
		goto out;
	PJOIN(path, "%s/spool/new", out);
	if (mkdir(path, 0700) != 0)
		goto out;
	/* The database first, then the files: a wake-up file for a job
	 * enqueued after the copy names a row the copy lacks, which the
	 * daemon moves aside as corrupt; none is lost the other way. */
	if (copy_spool(c->spool_dir, "new", out, &m) < 0 || copy_spool(c->spool_dir, "cur", out, &m) < 0)
		goto out;
	if (write_manifest(out, &m, when) != 0) {
		fprintf(stderr, "1000proxy: backup: %s/%s: %s\n", out, MANIFEST, strerror(errno));
		goto out;
	}
	if (with_key) {
		char	 kpath[4096];

		PJOIN(kpath, "%s.key", out);
		if (copy_keyring(c->key_file, kpath) != 0)
			goto out;
		fprintf(stderr,
		    "1000proxy: backup: WARNING: the key file is in %s (its retired and identity keys beside it)\n"
		    "1000proxy: backup: WARNING: it opens every sealed value in the backup: keep it\n"
		    "1000proxy: backup: WARNING: apart from the backup (another medium, another place)\n",
		    kpath);
	}
	rc = 0;
out:
	/* No half backup left behind for cron's count or a restore. */
	if (rc != 0)
		backup_remove(out);
	free(m.f);
	return rc;
}

int
cmd_backup(const struct conf *c, int argc, char **argv)
{
	char	 out[4096];
	int	 i, with_key = 0;
	const char *dir = NULL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--with-key") == 0)
			with_key = 1;
		else if (argv[i][0] == '-' || dir != NULL) {
			fprintf(stderr, "usage: 1000proxy backup [--with-key] [DIR]\n");
			return 2;
		} else
			dir = argv[i];
	}
	if (backup_make(c, dir ? dir : c->backup_dir, with_key, out, sizeof(out)) != 0)
		return 1;
	printf("%s\n", out);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove a backup directory made by backup_make (its files, spool/new,
 * spool); 0 or -1. */
static int
backup_remove(const char *bdir)
{
	static const char *const subs[] = { "spool/new", "spool", "" };
	char		 path[4096];
	struct dirent	*de;
	DIR		*d;
	size_t		 i;

	for (i = 0; i < NELEM(subs); i++) {
		PJOIN(path, "%s/%s", bdir, subs[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			char	 f[8192];
			struct stat st;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			PJOIN(f, "%s/%s", path, de->d_name);
			if (lstat(f, &st) == 0 && !S_ISDIR(st.st_mode))
				unlink(f);
		}
		closedir(d);
		if (*subs[i] != '\0')
			rmdir(path);
	}
	return rmdir(bdir);
}

/* Delete NAME.key and the NAME.key.SUFFIX files copy_keyring() put
 * beside backup NAME in dir (a `backup --with-key` made there). */
static void
remove_keyring_copy(const char *dir, const char *name)
{
	char	 pre[4096], path[8192];
	struct dirent *de;
	DIR	*d;

	PJOIN(pre, "%s.key", name);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, pre, strlen(pre)) == 0 && (de->d_name[strlen(pre)] == '\0' ||
		    de->d_name[strlen(pre)] == '.')) {
			PJOIN(path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
}

/* cron backup: one backup into backup_dir, then keep the backup_keep
 * newest (names sort by time) and delete the rest with their .key. */
int
cron_backup(const struct conf *c, int argc, char **argv)
{
	char		 out[4096], path[8192], **names = NULL;
	struct dirent	*de;
	DIR		*d;
	size_t		 n = 0, cap = 0, i, gone = 0;
	struct stat	 st;

	(void)argc;
	(void)argv;
	if (backup_make(c, c->backup_dir, 0, out, sizeof(out)) != 0)
		return 1;
	printf("%s\n", out);
	if ((d = opendir(c->backup_dir)) == NULL) {
		fprintf(stderr, "1000proxy: cron backup: %s: %s\n", c->backup_dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, PREFIX, strlen(PREFIX)) != 0 || strchr(de->d_name, '.') != NULL)
			continue;
		PJOIN(path, "%s/%s", c->backup_dir, de->d_name);
		if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		if (n - i > (size_t)c->backup_keep) {
			PJOIN(path, "%s/%s", c->backup_dir, names[i]);
			if (backup_remove(path) == 0)
				gone++;
			else
				fprintf(stderr, "1000proxy: cron backup: %s: %s\n", path, strerror(errno));
			remove_keyring_copy(c->backup_dir, names[i]);
		}
		free(names[i]);
	}
	free(names);
	if (gone > 0)
		printf("%zu backups past backup_keep (%" PRId64 ") deleted\n", gone, c->backup_keep);
	return 0;
}

/* A manifest path restore accepts: DBNAME or spool/new/NAME, nothing
 * that climbs out. */
static int
path_ok(const char *p)
{
	if (strcmp(p, DBNAME) == 0)
		return 1;
	return strncmp(p, "spool/new/", 10) == 0 && p[10] != '\0' && p[10] != '.' &&
	    strchr(p + 10, '/') == NULL;
}

/* Read and check bdir's manifest and every file's size and hash: 0, or
 * 1 with each problem on stderr. */
static int
manifest_check(const char *bdir, struct manifest *m)
{
	char	 path[4096], line[1024], sha[65], fsha[65], rel[600];
	int64_t	 size, fsize;
	FILE	*f;
	int	 bad = 0, lineno = 0, have_db = 0;

	PJOIN(path, "%s/%s", bdir, MANIFEST);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "1000proxy: restore: %s: %s (not a finished backup)\n", path,
		    strerror(errno));
		return 1;
	}
	m->schema = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (++lineno == 1) {
			if (strcmp(line, MANIFEST_HEAD) != 0) {
				fprintf(stderr, "1000proxy: restore: %s: not a 1000proxy backup manifest\n", path);
				bad = 1;
				break;
			}
			continue;
		}
		if (sscanf(line, "schema %d", &m->schema) == 1 || strncmp(line, "created ", 8) == 0)
			continue;
		if (sscanf(line, "file %64s %" SCNd64 " %599s", sha, &size, rel) != 3 ||
		    strlen(sha) != 64 || !path_ok(rel) || m->n >= MAXFILES) {
			fprintf(stderr, "1000proxy: restore: %s:%d: bad line\n", path, lineno);
			bad = 1;
			continue;
		}
		PJOIN(path, "%s/%s", bdir, rel);
		if (file_sha256(path, fsha, &fsize) != 0) {
			fprintf(stderr, "1000proxy: restore: %s: %s\n", path, strerror(errno));
			bad = 1;
		} else if (fsize != size || strcmp(fsha, sha) != 0) {
			fprintf(stderr, "1000proxy: restore: %s: changed since the backup "
			    "(SHA-256 or size differs from the manifest)\n", path);
			bad = 1;
		}
		if (strcmp(rel, DBNAME) == 0)
			have_db = 1;
		mf_add(m, rel, sha, size);
		PJOIN(path, "%s/%s", bdir, MANIFEST);
	}
	fclose(f);
	if (!bad && (!have_db || m->schema < 1)) {
		fprintf(stderr, "1000proxy: restore: %s: no database or schema line\n", path);
		bad = 1;
	}
	return bad;
}

/* Run as root, give file to the owner of the directory holding near
 * (the service user, whose daemons must write the restored database and
 * claim the spool files); as anyone else, the file is already theirs. */
static int
own_like_parent(const char *file, const char *near)
{
	char		 dir[4096], *slash;
	struct stat	 st;

	if (geteuid() != 0)
		return 0;
	PJOIN(dir, "%s", near);
	if ((slash = strrchr(dir, '/')) == NULL)
		PJOIN(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0)
		return -1;
	return chown(file, st.st_uid, st.st_gid);
}

/* Is the installation running?  The work daemon holds the spool lock
 * for its life. */
static int
service_running(const struct conf *c, long *holder)
{
	char	 err[256];
	int	 fd = spool_lock(c->spool_dir, 0, holder, err, sizeof(err));

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return fd == -2;
}

int
cmd_restore(const struct conf *c, int argc, char **argv)
{
	struct manifest	 m = { 0 };
	unsigned char	 key[SEAL_KEY_LEN];
	char		 err[1024], tmp[4096], from[4096], to[4096];
	const char	*bdir = NULL;
	struct stat	 st;
	struct db	*db;
	long		 holder = 0;
	size_t		 i;
	int		 force = 0, rc = 1, n, bad;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (argv[i][0] == '-' || bdir != NULL) {
			bdir = NULL;
			break;
		} else
			bdir = argv[i];
	}
	if (bdir == NULL) {
		fprintf(stderr, "usage: 1000proxy restore [--force] DIR\n");
		return 2;
	}
	umask(027);
	if (manifest_check(bdir, &m) != 0) {
		fprintf(stderr, "1000proxy: restore: %s refused: nothing was changed\n", bdir);
		goto out;
	}
	if (m.schema > PX_SCHEMA_VERSION) {
		fprintf(stderr, "1000proxy: restore: the backup's schema %d is newer than this "
		    "1000proxy knows (%d): install the version that made it\n", m.schema, PX_SCHEMA_VERSION);
		goto out;
	}
	if (service_running(c, &holder)) {
		fprintf(stderr, "1000proxy: restore: the work daemon (pid %ld) is running: "
		    "stop the service first\n", holder);
		goto out;
	}
	if (stat(c->database, &st) == 0 && st.st_size > 0 && !force) {
		fprintf(stderr, "1000proxy: restore: %s exists: refusing to replace a database "
		    "without --force\n", c->database);
		goto out;
	}
	/* Work on a copy beside the database: migrate and check it there,
	 * and put it in place only when all is well. */
	PJOIN(tmp, "%s.restore", c->database);
	unlink(tmp);
	PJOIN(from, "%s/%s", bdir, DBNAME);
	if (copy_file(from, tmp, 0640) != 0) {
		fprintf(stderr, "1000proxy: restore: %s -> %s: %s\n", from, tmp, strerror(errno));
		goto out;
	}
	if ((db = db_open(tmp, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: restore: %s\n", err);
		goto drop;
	}
	if (db_query_int(db, sql_backup_integrity) != 1) {
		fprintf(stderr, "1000proxy: restore: %s: integrity check failed\n", from);
		db_close(db);
		goto drop;
	}
	if (db_schema_version(db) != m.schema) {
		fprintf(stderr, "1000proxy: restore: %s: schema %d, the manifest says %d\n", from,
		    db_schema_version(db), m.schema);
		db_close(db);
		goto drop;
	}
	if ((n = db_migrate(db, c->sql_dir, err, sizeof(err))) < 0) {
		fprintf(stderr, "1000proxy: restore: migrate: %s\n", err);
		db_close(db);
		goto drop;
	}
	if (n > 0)
		printf("migrated the backup from schema %d to %d\n", m.schema, PX_SCHEMA_VERSION);
	if (db_prepare_all(db, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: restore: %s\n", err);
		db_close(db);
		goto drop;
	}
	if (seal_key_load(c->key_file, key, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: restore: %s\n", err);
		bad = -1;
	} else {
		struct arena *a = arena_new(4096);

		db_set_arena(db, a);
		bad = key_check_sealed(db, key);
		db_set_arena(db, NULL);
		arena_free(a);
		OPENSSL_cleanse(key, sizeof(key));
	}
	db_close(db);
	if (bad != 0 && !force) {
		fprintf(stderr, "1000proxy: restore: the key file %s does not open the backup's "
		    "sealed values: put the key file that belongs to this backup in place (or "
		    "restore with --force and re-enter those secrets); nothing was changed\n", c->key_file);
		goto drop;
	}
	/* A -wal or -shm of the database replaced would be replayed into
	 * the restored file: they go first. */
	PJOIN(to, "%s-wal", c->database);
	unlink(to);
	PJOIN(to, "%s-shm", c->database);
	unlink(to);
	if (own_like_parent(tmp, c->database) != 0) {
		fprintf(stderr, "1000proxy: restore: %s: %s\n", tmp, strerror(errno));
		goto drop;
	}
	if (rename(tmp, c->database) != 0) {
		fprintf(stderr, "1000proxy: restore: %s -> %s: %s\n", tmp, c->database, strerror(errno));
		goto drop;
	}
	if (spool_init(c->spool_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: restore: %s\n", err);
		goto out;
	}
	for (i = 0; i < m.n; i++) {
		if (strncmp(m.f[i].path, "spool/new/", 10) != 0)
			continue;
		PJOIN(from, "%s/%s", bdir, m.f[i].path);
		snprintf(to, sizeof(to), "%s/new/%s", c->spool_dir, m.f[i].path + 10);
		if (copy_file(from, to, 0640) != 0) {
			if (errno == EEXIST)
				continue;
			fprintf(stderr, "1000proxy: restore: %s: %s\n", to, strerror(errno));
			goto out;
		}
		if (own_like_parent(to, c->spool_dir) != 0) {
			fprintf(stderr, "1000proxy: restore: %s: %s\n", to, strerror(errno));
			goto out;
		}
	}
	printf("restored %s into %s (schema %d)\n", bdir, c->database, PX_SCHEMA_VERSION);
	rc = 0;
	goto out;
drop:
	unlink(tmp);
	fprintf(stderr, "1000proxy: restore: nothing was changed\n");
out:
	free(m.f);
	return rc;
}
