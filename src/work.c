/*
 * work.c: `1000proxy work`, the daemon that drains the job spool.
 *
 * One process per spool (flock on spool/lock), its own database
 * connection, no threads.  It wakes on a file arriving in new/ (inotify)
 * and at least every work_poll_ms, when it also scans `jobs` for due
 * pending rows: the row is the truth, so a lost wake-up file only costs
 * one poll interval.  SIGTERM or SIGINT lets the current job finish.
 */
#include "config.h"

#include <sys/inotify.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "spool.h"
#include "util.h"
#include "view.h"
#include "work.h"

/* The handler table: one row per job kind.  Kinds the schema knows
 * but nobody handles yet fail with a clear last_error. */
static const struct job_kind *const kinds[] = {
	&job_kind_email,
};

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

int64_t
work_backoff(const struct conf *c, int64_t attempts)
{
	int64_t	 d = c->retry_base;
	uint32_t r;

	while (--attempts > 0 && d < c->retry_cap)
		d *= 2;
	if (d > c->retry_cap)
		d = c->retry_cap;
	/* Jitter spreads the retries of jobs that failed together. */
	random_bytes(&r, sizeof(r));
	d = d - (int64_t)(r % (uint32_t)(d / 2 + 1));
	return d < 1 ? 1 : d;
}

static const struct job_kind *
find_kind(const char *kind)
{
	size_t	 i;

	for (i = 0; i < NELEM(kinds); i++)
		if (strcmp(kinds[i]->kind, kind) == 0)
			return kinds[i];
	return NULL;
}

/* Run one prepared statement that returns no rows; SQLite's code. */
static int
exec_stmt(sqlite3 *db, const char *sql, int64_t id, const char *t1, int64_t i1)
{
	sqlite3_stmt *st;
	int	 rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_text(st, 2, t1, -1, SQLITE_TRANSIENT);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, i1);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Take the next due pending job and mark it running, in one short
 * transaction.  1 with *j filled, 0 if none is due, -1 on error.
 */
static int
take_job(struct work *w, struct job *j)
{
	sqlite3_stmt *st = NULL;
	const struct job_kind *k;
	int	 rc;

	if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto err;
	if (sqlite3_prepare_v2(w->db, "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
	    "updated_at = unixepoch() WHERE id = (SELECT id FROM jobs WHERE state = 'pending' "
	    "AND next_attempt_at <= unixepoch() ORDER BY next_attempt_at, id LIMIT 1) "
	    "RETURNING id, kind, idem_key, payload, step, attempts, created_at",
	    -1, &st, NULL) != SQLITE_OK)
		goto err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
		return 0;
	}
	if (rc != SQLITE_ROW)
		goto err;
	j->id = sqlite3_column_int64(st, 0);
	j->kind = arena_strdup(j->a, (const char *)sqlite3_column_text(st, 1));
	j->idem_key = arena_strdup(j->a, (const char *)sqlite3_column_text(st, 2));
	j->payload = arena_strdup(j->a, (const char *)sqlite3_column_text(st, 3));
	j->step = arena_strdup(j->a, (const char *)sqlite3_column_text(st, 4));
	j->attempts = sqlite3_column_int64(st, 5);
	j->created_at = sqlite3_column_int64(st, 6);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto err;
	sqlite3_finalize(st);
	st = NULL;
	/* The row remembers which step the job reached. */
	k = find_kind(j->kind);
	if (exec_stmt(w->db, "UPDATE jobs SET step = ?2 WHERE id = ?1", j->id,
	    k ? k->step : "unhandled", 0) != SQLITE_OK)
		goto err;
	if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto err;
	return 1;
err:
	log_sys("work", "take job: %s", sqlite3_errmsg(w->db));
	sqlite3_finalize(st);
	sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* The job's effect happened: record() and 'done' in one transaction. */
static int
finish_done(struct work *w, const struct job_kind *k, struct job *j)
{
	int	 tries;

	for (tries = 0; tries < 5; tries++) {
		if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			goto again;
		if (k->record != NULL && k->record(w, j) != 0)
			goto again;
		if (exec_stmt(w->db, "UPDATE jobs SET state = 'done', step = 'done', "
		    "done_at = unixepoch(), updated_at = unixepoch() WHERE id = ?1",
		    j->id, NULL, 0) != SQLITE_OK)
			goto again;
		if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
			spool_move_job(w->conf->spool_dir, j->id, "cur", "done");
			spool_move_job(w->conf->spool_dir, j->id, "new", "done");
			return 0;
		}
again:
		log_sys("work", "job %" PRId64 ": recording the result: %s%s%s", j->id,
		    sqlite3_errmsg(w->db), j->err[0] ? ": " : "", j->err);
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		usleep(200000);
	}
	/* The row stays 'running': the next start resets it to pending and
	 * the handler's own check (mail_log) decides whether to act again. */
	return -1;
}

/* A temporary failure: back off, or fail after retry_max_age. */
static void
finish_retry(struct work *w, struct job *j)
{
	int64_t	 now = now_unix(), delay = work_backoff(w->conf, j->attempts);
	int	 rc;

	if (now + delay - j->created_at > w->conf->retry_max_age) {
		char	 why[1200];

		snprintf(why, sizeof(why), "gave up after %" PRId64 " attempts: %s", j->attempts, j->err);
		snprintf(j->err, sizeof(j->err), "%.1000s", why);
		rc = exec_stmt(w->db, "UPDATE jobs SET state = 'failed', last_error = ?2, "
		    "updated_at = unixepoch() WHERE id = ?1", j->id, j->err, 0);
		if (rc == SQLITE_OK) {
			spool_move_job(w->conf->spool_dir, j->id, "cur", "failed");
			spool_move_job(w->conf->spool_dir, j->id, "new", "failed");
		}
		log_sys("work", "job %" PRId64 " (%s) failed: %s", j->id, j->kind, j->err);
		return;
	}
	rc = exec_stmt(w->db, "UPDATE jobs SET state = 'pending', last_error = ?2, "
	    "next_attempt_at = unixepoch() + ?3, updated_at = unixepoch() WHERE id = ?1",
	    j->id, j->err, delay);
	if (rc != SQLITE_OK)
		log_sys("work", "job %" PRId64 ": %s", j->id, sqlite3_errstr(rc));
	log_sys("work", "job %" PRId64 " (%s) attempt %" PRId64 " failed, retry in %" PRId64 " s: %s",
	    j->id, j->kind, j->attempts, delay, j->err);
}

static void
finish_fail(struct work *w, struct job *j)
{
	int	 rc;

	rc = exec_stmt(w->db, "UPDATE jobs SET state = 'failed', last_error = ?2, "
	    "updated_at = unixepoch() WHERE id = ?1", j->id, j->err, 0);
	if (rc != SQLITE_OK)
		log_sys("work", "job %" PRId64 ": %s", j->id, sqlite3_errstr(rc));
	else {
		spool_move_job(w->conf->spool_dir, j->id, "cur", "failed");
		spool_move_job(w->conf->spool_dir, j->id, "new", "failed");
	}
	log_sys("work", "job %" PRId64 " (%s) failed: %s", j->id, j->kind, j->err);
}

/* Run one due job.  1 if one ran, 0 if none was due, -1 on error. */
static int
run_one(struct work *w, struct arena *a)
{
	const struct job_kind *k;
	struct job j;
	int	 rc;

	memset(&j, 0, sizeof(j));
	j.a = a;
	if ((rc = take_job(w, &j)) <= 0)
		return rc;
	if ((k = find_kind(j.kind)) == NULL) {
		snprintf(j.err, sizeof(j.err), "no handler for job kind \"%s\" in this version", j.kind);
		finish_fail(w, &j);
		return 1;
	}
	switch (k->run(w, &j)) {
	case JOB_DONE:
		if (finish_done(w, k, &j) == 0)
			log_sys("work", "job %" PRId64 " (%s) done after %" PRId64 " attempt%s",
			    j.id, j.kind, j.attempts, j.attempts == 1 ? "" : "s");
		break;
	case JOB_RETRY:
		finish_retry(w, &j);
		break;
	case JOB_FAIL:
		finish_fail(w, &j);
		break;
	}
	return 1;
}

/* Lock the spool; wait a little while a cron reconcile holds it. */
static int
lock_spool(const struct conf *c)
{
	char	 err[1024];
	long	 holder;
	int	 fd, i;

	for (i = 0; i < 100; i++) {
		fd = spool_lock(c->spool_dir, 1, &holder, err, sizeof(err));
		if (fd != -2 || holder != 0)
			break;
		usleep(100000);
	}
	if (fd == -2)
		fprintf(stderr, "1000proxy: work: another work daemon (pid %ld) runs on %s\n",
		    holder, c->spool_dir);
	else if (fd < 0)
		fprintf(stderr, "1000proxy: work: %s\n", err);
	return fd;
}

int
cmd_work(const struct conf *c, int argc, char **argv)
{
	struct work w;
	struct spool_recovery rec;
	struct sigaction sa;
	struct arena *a;
	char	 err[1024], path[4096], evbuf[4096];
	int	 lockfd, ino = -1, v, corrupt, rc;

	(void)argc;
	(void)argv;
	memset(&w, 0, sizeof(w));
	w.conf = c;
	if (log_open(c->log_file) != 0) {
		fprintf(stderr, "1000proxy: work: cannot open log %s\n", c->log_file);
		return 1;
	}
	if (spool_init(c->spool_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: work: %s\n", err);
		return 1;
	}
	if ((lockfd = lock_spool(c)) < 0)
		return 1;
	if ((w.db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: work: %s\n", err);
		close(lockfd);
		return 1;
	}
	if ((v = db_schema_version(w.db)) != PX_SCHEMA_VERSION) {
		fprintf(stderr, "1000proxy: work: %s: schema version %d, this program needs %d%s\n",
		    c->database, v, PX_SCHEMA_VERSION, v < PX_SCHEMA_VERSION ? ": run `1000proxy migrate`" : "");
		sqlite3_close(w.db);
		close(lockfd);
		return 1;
	}
	if (views_load(&w.views, c->views_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: work: views: %s\n", err);
		sqlite3_close(w.db);
		close(lockfd);
		return 1;
	}

	/* No SA_RESTART: a stop request must interrupt the idle poll(). */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (spool_recover(c, w.db, 1, &rec, err, sizeof(err)) != 0)
		log_sys("work", "recovery: %s", err);
	else
		log_sys("work", "started; recovery: %d cur/ returned, %d running reset, "
		    "%d re-woken, %d dropped, %d corrupt, %d tmp/ swept", rec.cur_returned,
		    rec.rows_reset, rec.rewoken, rec.dropped, rec.corrupt, rec.tmp_swept);

	snprintf(path, sizeof(path), "%s/new", c->spool_dir);
	if ((ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0 &&
	    inotify_add_watch(ino, path, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(ino);
		ino = -1;
	}
	if (ino < 0)
		log_sys("work", "inotify unavailable (%s): polling every %lld ms",
		    strerror(errno), (long long)c->work_poll_ms);

	a = arena_new(16384);
	while (!stopping) {
		struct pollfd pfd;

		spool_drain_new(c->spool_dir, w.db, &corrupt);
		while (!stopping && (rc = run_one(&w, a)) > 0)
			arena_reset(a);
		arena_reset(a);
		if (stopping)
			break;
		pfd.fd = ino;
		pfd.events = POLLIN;
		if (poll(&pfd, ino >= 0 ? 1 : 0, (int)c->work_poll_ms) > 0)
			while (read(ino, evbuf, sizeof(evbuf)) > 0)
				continue;
	}
	log_sys("work", "stopping");
	arena_free(a);
	if (ino >= 0)
		close(ino);
	views_free(w.views);
	sqlite3_close(w.db);
	/* Empty the pid before the lock goes with the descriptor. */
	if (ftruncate(lockfd, 0) != 0)
		log_sys("work", "truncate lock: %s", strerror(errno));
	close(lockfd);
	return 0;
}
