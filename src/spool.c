/*
 * spool.c: the maildir-style job spool: enqueue (the row), wake (the
 * file), claim, finish and recovery.  The protocol is in spool.h and
 * DESIGN.md; the row is the source of truth and the file only makes the
 * work daemon notice it fast, so every file operation here may fail or
 * be repeated without losing or duplicating a job.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "spool.h"
#include "util.h"

static const char *const subdirs[] = { "tmp", "new", "cur", "done", "failed", "corrupt" };

/* Is s one JSON object?  The payload column holds only objects. */
static int
json_object_ok(const char *s)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	size_t	 n = strlen(s);
	int	 ok;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)n);
	ok = o != NULL && json_object_is_type(o, json_type_object) &&
	    json_tokener_get_error(tok) == json_tokener_success &&
	    (size_t)json_tokener_get_parse_end(tok) == n;
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

int64_t
spool_enqueue(struct request *r, const char *kind, const char *idem_key,
    const char *payload_json)
{
	return spool_enqueue_db(r->db, kind, idem_key, payload_json);
}

int64_t
spool_enqueue_db(struct db *db, const char *kind, const char *idem_key,
    const char *payload_json)
{
	return spool_enqueue_at(db, kind, idem_key, payload_json, 0, 0);
}

int64_t
spool_enqueue_at(struct db *db, const char *kind, const char *idem_key,
    const char *payload_json, int64_t run_at, int64_t server_id)
{
	struct stmt *st;
	int64_t	 id;

	/* The job must commit with the change that needs it. */
	if (!db_in_tx(db))
		db_fail(db, "spool_enqueue(%s) outside a transaction", kind);
	if (!json_object_ok(payload_json))
		db_fail(db, "spool_enqueue(%s): payload is not a JSON object", kind);
	/* ON CONFLICT covers only the idempotency key: a kind the schema
	 * refuses still fails its CHECK, a hard error (db_step). */
	st = db_q(db, Q_JOB_ENQUEUE);
	db_bind_text(db, st, ":kind", kind);
	db_bind_text(db, st, ":idem_key", idem_key);
	db_bind_text(db, st, ":payload", payload_json);
	/* NULLs: due now, not for a panel. */
	if (run_at > 0)
		db_bind_int(db, st, ":run_at", run_at);
	else
		db_bind_null(db, st, ":run_at");
	if (server_id > 0)
		db_bind_int(db, st, ":server_id", server_id);
	else
		db_bind_null(db, st, ":server_id");
	db_step(db, st);
	st = db_q(db, Q_JOB_ID_BY_IDEM);
	db_bind_text(db, st, ":idem_key", idem_key);
	if ((id = db_one_int(db, st, 0)) <= 0)
		db_fail(db, "spool_enqueue: no job row for %s", idem_key);
	return id;
}

int
spool_init(const char *dir, char *err, size_t errsz)
{
	char	 path[4096];
	size_t	 i;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < NELEM(subdirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	int	 fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Write tmp/NAME for each job, fsync each, rename each into new/, then
 * fsync new/ once (maildir).  One directory fsync covers every rename
 * before it, so a commit that made several jobs (a checkout's provision
 * jobs and its mail) pays n + 1 fsyncs, not 2n.  A job whose file could
 * not be written is left to the periodic scan (spool.h); *done counts
 * the files renamed into new/.
 */
static int
wake_batch(const char *dir, size_t n, const int64_t *ids, const char *const *kinds,
    size_t *done, char *err, size_t errsz)
{
	char	 name[128], tmp[4096], dst[4096], rnd[9];
	unsigned char r[4];
	struct buf b;
	int	 fd, rc = 0;
	ssize_t	 w;
	size_t	 i;

	*done = 0;
	for (i = 0; i < n; i++) {
		random_bytes(r, sizeof(r));
		hex_encode(rnd, r, sizeof(r));
		snprintf(name, sizeof(name), "%" PRId64 ".%" PRId64 ".%ld.%s", ids[i], now_unix(),
		    (long)getpid(), rnd);
		snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
		snprintf(dst, sizeof(dst), "%s/new/%s", dir, name);
		buf_init(&b);
		buf_printf(&b, "{\"job\":%" PRId64 ",\"kind\":", ids[i]);
		buf_json_str(&b, kinds[i]);
		buf_puts(&b, "}\n" SPOOL_END_MARKER "\n");
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
			snprintf(err, errsz, "%.300s: %s", tmp, strerror(errno));
			buf_free(&b);
			if (errno == ENOENT && *done == 0)
				return -2;
			rc = -1;
			continue;
		}
		w = write(fd, b.p, b.len);
		if (w != (ssize_t)b.len || fsync(fd) != 0) {
			snprintf(err, errsz, "%.300s: %s", tmp, w < 0 ? strerror(errno) : "short write");
			close(fd);
			unlink(tmp);
			buf_free(&b);
			rc = -1;
			continue;
		}
		close(fd);
		buf_free(&b);
		if (rename(tmp, dst) != 0) {
			snprintf(err, errsz, "rename %.300s: %s", tmp, strerror(errno));
			unlink(tmp);
			rc = -1;
			continue;
		}
		(*done)++;
	}
	if (*done > 0) {
		snprintf(tmp, sizeof(tmp), "%s/new", dir);
		if (fsync_dir(tmp) != 0) {
			snprintf(err, errsz, "fsync %.300s: %s", tmp, strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

int
spool_wake_many(const struct conf *c, size_t n, const int64_t *ids, const char *const *kinds)
{
	char	 err[512];
	size_t	 done;
	int	 rc;

	if (n == 0)
		return 0;
	rc = wake_batch(c->spool_dir, n, ids, kinds, &done, err, sizeof(err));
	/* First use of a fresh spool: make the directories and try again. */
	if (rc == -2 && spool_init(c->spool_dir, err, sizeof(err)) == 0)
		rc = wake_batch(c->spool_dir, n, ids, kinds, &done, err, sizeof(err));
	if (rc != 0) {
		log_sys("spool", "wake %zu job%s from %" PRId64 ": %s (the periodic scan will find "
		    "what is missing)", n, n == 1 ? "" : "s", ids[0], err);
		return -1;
	}
	return 0;
}

int
spool_wake(const struct conf *c, int64_t job_id, const char *kind)
{
	return spool_wake_many(c, 1, &job_id, &kind);
}

int
spool_lock(const char *dir, int write_pid, long *holder, char *err, size_t errsz)
{
	char	 path[4096], pid[32];
	int	 fd, n;

	*holder = 0;
	snprintf(path, sizeof(path), "%s/lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
			if (n > 0) {
				pid[n] = '\0';
				*holder = strtol(pid, NULL, 10);
			}
			snprintf(err, errsz, "%s is locked by another process (pid %ld)", path, *holder);
			close(fd);
			return -2;
		}
		snprintf(err, errsz, "flock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* A lock holder that is not the daemon (a cron run) empties the
	 * file, so nobody mistakes a dead daemon's pid for a live one. */
	if (ftruncate(fd, 0) != 0) {
		snprintf(err, errsz, "ftruncate %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (write_pid) {
		n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (pwrite(fd, pid, (size_t)n, 0) != n) {
			snprintf(err, errsz, "write %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

int
spool_move(const char *dir, const char *from, const char *name, const char *to)
{
	char	 a[4096], b[4096];

	snprintf(a, sizeof(a), "%s/%s/%s", dir, from, name);
	snprintf(b, sizeof(b), "%s/%s/%s", dir, to, name);
	return rename(a, b) == 0 ? 0 : -1;
}

int
spool_claim(const char *dir, const char *name)
{
	/* rename(2) is atomic: of several claimants exactly one finds the
	 * source still there; the others get ENOENT. */
	return spool_move(dir, "new", name, "cur");
}

int64_t
spool_name_id(const char *name)
{
	int64_t	 id = 0;
	const char *p;

	for (p = name; *p >= '0' && *p <= '9'; p++) {
		if (id > (INT64_MAX - 9) / 10)
			return 0;
		id = id * 10 + (*p - '0');
	}
	if (p == name || *p != '.' || name[0] == '0')
		return 0;
	return id;
}

int
spool_parse(const char *path, const char *name, int64_t *id, char *kind, size_t kindsz)
{
	char	 data[1024], *nl;
	struct json_object *o = NULL, *v;
	ssize_t	 n;
	int	 fd, rc = -1;
	size_t	 mlen = strlen(SPOOL_END_MARKER "\n");

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n <= 0 || (size_t)n == sizeof(data) - 1)
		return -1;
	data[n] = '\0';
	/* The end marker must be the whole last line: a file cut short by
	 * a crash or a full disk never has it. */
	if ((nl = strchr(data, '\n')) == NULL || strcmp(nl + 1, SPOOL_END_MARKER "\n") != 0 ||
	    (size_t)(n - (nl + 1 - data)) != mlen)
		return -1;
	*nl = '\0';
	if ((o = json_tokener_parse(data)) == NULL || !json_object_is_type(o, json_type_object))
		goto out;
	if (!json_object_object_get_ex(o, "job", &v) || !json_object_is_type(v, json_type_int) ||
	    (*id = json_object_get_int64(v)) <= 0)
		goto out;
	if (!json_object_object_get_ex(o, "kind", &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= kindsz)
		goto out;
	snprintf(kind, kindsz, "%s", json_object_get_string(v));
	/* The name and the content must agree on the job. */
	if (spool_name_id(name) != *id)
		goto out;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* The names in sub, sorted (so jobs wake in id order); caller frees. */
static char **
list_dir(const char *dir, const char *sub, size_t *np)
{
	char	 path[4096], **v = NULL;
	DIR	*d;
	struct dirent *de;
	size_t	 n = 0;

	*np = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	*np = n;
	return v;
}

static void
free_list(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
spool_move_job(const char *dir, int64_t id, const char *from, const char *sub)
{
	char	**v;
	size_t	 n, i;
	int	 moved = 0;

	v = list_dir(dir, from, &n);
	for (i = 0; i < n; i++)
		if (spool_name_id(v[i]) == id && spool_move(dir, from, v[i], sub) == 0)
			moved++;
	free_list(v, n);
	return moved;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The state of job id: 'p'ending, 'r'unning, 'd'one, 'f'ailed, 0 if no
 * row.  A database error ends the unit of work (db.h). */
static int
row_state(struct db *db, int64_t id)
{
	struct stmt *st = db_q(db, Q_JOB_STATE);
	int	 s = 0;

	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) == DB_ROW)
		s = db_text(db, st, 0)[0];
	db_reset(st);
	return s;
}

int
spool_recover(const struct conf *c, struct db *db, int full, struct spool_recovery *rec,
    char *err, size_t errsz)
{
	const char *dir = c->spool_dir;
	struct stmt *st;
	char	**v, path[4096], kind[64];
	size_t	 n, i, nids = 0;
	int64_t	*ids = NULL, id, now = wall_unix();
	struct stat sb;
	int	 s;

	memset(rec, 0, sizeof(*rec));
	if (spool_init(dir, err, errsz) != 0)
		return -1;

	/* tmp/: a writer that died between open and rename leaves a file
	 * nobody will ever finish; an hour is far beyond any live write. */
	v = list_dir(dir, "tmp", &n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/tmp/%s", dir, v[i]);
		if (lstat(path, &sb) == 0 && now - sb.st_mtime > 3600 && unlink(path) == 0)
			rec->tmp_swept++;
	}
	free_list(v, n);

	if (full) {
		/* We hold the lock, so whoever claimed these is gone. */
		v = list_dir(dir, "cur", &n);
		for (i = 0; i < n; i++)
			if (spool_move(dir, "cur", v[i], "new") == 0)
				rec->cur_returned++;
		free_list(v, n);
		db_begin(db);
		db_step(db, db_q(db, Q_JOBS_RESET_RUNNING));
		rec->rows_reset = (int)db_changes(db);
		db_commit(db);
	}

	/* new/: drop a file whose row is gone, file away a finished one,
	 * quarantine one we cannot read.  A concurrent claim makes our
	 * rename fail, which is fine: the claimer does the same checks. */
	v = list_dir(dir, "new", &n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/new/%s", dir, v[i]);
		if (spool_parse(path, v[i], &id, kind, sizeof(kind)) != 0) {
			/* A live writer renames only complete files into new/. */
			if (spool_move(dir, "new", v[i], "corrupt") == 0)
				rec->corrupt++;
			continue;
		}
		s = row_state(db, id);
		if (s == 0 && unlink(path) == 0)
			rec->dropped++;
		else if ((s == 'd' || s == 'f') &&
		    spool_move(dir, "new", v[i], s == 'd' ? "done" : "failed") == 0)
			rec->finished++;
	}
	free_list(v, n);

	/* Every pending row needs a file in new/ or cur/. */
	v = list_dir(dir, "new", &n);
	for (i = 0; i < n; i++)
		if ((id = spool_name_id(v[i])) > 0) {
			ids = xrealloc(ids, (nids + 1) * sizeof(*ids));
			ids[nids++] = id;
		}
	free_list(v, n);
	v = list_dir(dir, "cur", &n);
	for (i = 0; i < n; i++)
		if ((id = spool_name_id(v[i])) > 0) {
			ids = xrealloc(ids, (nids + 1) * sizeof(*ids));
			ids[nids++] = id;
		}
	free_list(v, n);
	if (nids > 0)
		qsort(ids, nids, sizeof(*ids), cmp_i64);
	st = db_q(db, Q_JOBS_LIVE);
	while (db_step(db, st) == DB_ROW) {
		id = db_int(st, 0);
		if (nids > 0 && bsearch(&id, ids, nids, sizeof(*ids), cmp_i64) != NULL)
			continue;
		if (spool_wake(c, id, db_text(db, st, 1)) == 0)
			rec->rewoken++;
	}
	db_reset(st);
	free(ids);
	return 0;
}

int
spool_prune(const char *dir, const char *sub, int64_t age)
{
	char	**v, path[4096];
	size_t	 n, i;
	struct stat sb;
	int64_t	 now = wall_unix();
	int	 removed = 0;

	v = list_dir(dir, sub, &n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, v[i]);
		/* Two prunes at once: the loser's unlink gets ENOENT. */
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && now - sb.st_mtime > age &&
		    unlink(path) == 0)
			removed++;
	}
	free_list(v, n);
	return removed;
}

int
spool_drain_new(const char *dir, struct db *db, int *corrupt)
{
	char	**v, path[4096], kind[64];
	size_t	 n, i;
	int64_t	 id;
	int	 claimed = 0, s;

	*corrupt = 0;
	v = list_dir(dir, "new", &n);
	for (i = 0; i < n; i++) {
		if (spool_claim(dir, v[i]) != 0)
			continue;
		claimed++;
		snprintf(path, sizeof(path), "%s/cur/%s", dir, v[i]);
		if (spool_parse(path, v[i], &id, kind, sizeof(kind)) != 0) {
			log_sys("work", "spool: %s has no end marker or is garbled: moved to corrupt/", v[i]);
			if (spool_move(dir, "cur", v[i], "corrupt") == 0)
				(*corrupt)++;
			continue;
		}
		s = row_state(db, id);
		if (s == 0) {
			log_sys("work", "spool: %s: job %" PRId64 " does not exist: dropped", v[i], id);
			unlink(path);
		} else if (s == 'd' || s == 'f')
			spool_move(dir, "cur", v[i], s == 'd' ? "done" : "failed");
	}
	free_list(v, n);
	return claimed;
}
