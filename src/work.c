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
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "audit.h"
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

/*
 * Test mode only (test_routes = yes): a job whose idempotency key starts
 * with TEST_ROLLBACK_KEY is run by this kind, whatever its kind column
 * says (the schema's CHECK list has no test kind).  Its record() writes
 * an audit row and then breaks a CHECK constraint inside the transaction
 * that would mark the job done, so t/15-dblayer.t can show that the
 * whole transaction rolls back, the job is retried and the daemon goes
 * on (db.h's contract for a job attempt).
 */
#define TEST_ROLLBACK_KEY "test:db-rollback:"

static enum job_rc
test_rollback_run(struct work *w, struct job *j)
{
	(void)w;
	(void)j;
	return JOB_DONE;
}

static int
test_rollback_record(struct work *w, struct job *j)
{
	static const struct actor sys = { "system", 0, NULL, NULL };

	audit(w->db, &sys, "test.job.before_constraint", j->idem_key, "job %" PRId64, j->id);
	db_step(w->db, db_q(w->db, Q_TEST_CONSTRAINT));
	return 0;
}

static const struct job_kind job_kind_test_rollback = {
	"test", "test", test_rollback_run, test_rollback_record
};

static const struct job_kind *
find_kind(const struct work *w, const struct job *j)
{
	size_t	 i;

	if (w->conf->test_routes &&
	    strncmp(j->idem_key, TEST_ROLLBACK_KEY, strlen(TEST_ROLLBACK_KEY)) == 0)
		return &job_kind_test_rollback;
	for (i = 0; i < NELEM(kinds); i++)
		if (strcmp(kinds[i]->kind, j->kind) == 0)
			return kinds[i];
	return NULL;
}

/*
 * Take the next due pending job and mark it running, in one short
 * transaction.  1 with *j filled, 0 if none is due.  A database error
 * ends the attempt (run_one).
 */
static int
take_job(struct work *w, struct job *j)
{
	struct stmt *st;
	const struct job_kind *k;

	db_begin(w->db);
	st = db_q(w->db, Q_JOB_TAKE);
	if (db_step(w->db, st) == DB_DONE) {
		db_commit(w->db);
		return 0;
	}
	j->id = db_int(st, 0);
	j->kind = db_text(w->db, st, 1);
	j->idem_key = db_text(w->db, st, 2);
	j->payload = db_text(w->db, st, 3);
	j->step = db_text(w->db, st, 4);
	j->attempts = db_int(st, 5);
	j->created_at = db_int(st, 6);
	if (db_step(w->db, st) != DB_DONE)
		db_fail(w->db, "take job: more than one row");
	/* The row remembers which step the job reached. */
	k = find_kind(w, j);
	st = db_q(w->db, Q_JOB_SET_STEP);
	db_bind_int(w->db, st, ":id", j->id);
	db_bind_text(w->db, st, ":step", k ? k->step : "unhandled");
	db_step(w->db, st);
	db_commit(w->db);
	return 1;
}

/* The job's effect happened: record() and 'done' in one transaction. */
static int
finish_done(struct work *w, const struct job_kind *k, struct job *j)
{
	struct stmt *st;
	int	 tries;

	for (tries = 0; tries < 5; tries++) {
		db_begin(w->db);
		if (k->record != NULL && k->record(w, j) != 0) {
			log_sys("work", "job %" PRId64 ": recording the result: %s", j->id, j->err);
			db_rollback(w->db);
			usleep(200000);
			continue;
		}
		st = db_q(w->db, Q_JOB_DONE);
		db_bind_int(w->db, st, ":id", j->id);
		db_step(w->db, st);
		db_commit(w->db);
		spool_move_job(w->conf->spool_dir, j->id, "cur", "done");
		spool_move_job(w->conf->spool_dir, j->id, "new", "done");
		return 0;
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
	struct stmt *st;

	if (now + delay - j->created_at > w->conf->retry_max_age) {
		char	 why[1200];

		snprintf(why, sizeof(why), "gave up after %" PRId64 " attempts: %s", j->attempts, j->err);
		snprintf(j->err, sizeof(j->err), "%.1000s", why);
		st = db_q(w->db, Q_JOB_FAIL);
		db_bind_int(w->db, st, ":id", j->id);
		db_bind_text(w->db, st, ":err", j->err);
		db_step(w->db, st);
		spool_move_job(w->conf->spool_dir, j->id, "cur", "failed");
		spool_move_job(w->conf->spool_dir, j->id, "new", "failed");
		log_sys("work", "job %" PRId64 " (%s) failed: %s", j->id, j->kind, j->err);
		return;
	}
	st = db_q(w->db, Q_JOB_RETRY);
	db_bind_int(w->db, st, ":id", j->id);
	db_bind_text(w->db, st, ":err", j->err);
	db_bind_int(w->db, st, ":delay", delay);
	db_step(w->db, st);
	log_sys("work", "job %" PRId64 " (%s) attempt %" PRId64 " failed, retry in %" PRId64 " s: %s",
	    j->id, j->kind, j->attempts, delay, j->err);
}

static void
finish_fail(struct work *w, struct job *j)
{
	struct stmt *st;

	st = db_q(w->db, Q_JOB_FAIL);
	db_bind_int(w->db, st, ":id", j->id);
	db_bind_text(w->db, st, ":err", j->err);
	db_step(w->db, st);
	spool_move_job(w->conf->spool_dir, j->id, "cur", "failed");
	spool_move_job(w->conf->spool_dir, j->id, "new", "failed");
	log_sys("work", "job %" PRId64 " (%s) failed: %s", j->id, j->kind, j->err);
}

/* The daemon's db fail handler (db.h): back to the setjmp of the attempt
 * (or of the loop's spool scan) with the message. */
struct attempt {
	jmp_buf	 jb;
	char	 msg[1024];
};

static void
attempt_fail(void *ctx, const char *msg)
{
	struct attempt *at = ctx;

	snprintf(at->msg, sizeof(at->msg), "%s", msg);
	longjmp(at->jb, 1);
}

/*
 * Run one due job.  1 if one ran, 0 if none was due, -1 on error.  A
 * database error anywhere in the attempt has rolled its transaction
 * back (db_fail); the job is then retried with the error as last_error.
 */
static int
run_one(struct work *w, struct arena *a)
{
	const struct job_kind *k;
	struct job *j = arena_zalloc(a, sizeof(*j));
	struct attempt at;
	volatile int taken = 0;
	volatile int rc = 1;

	j->a = a;
	db_set_arena(w->db, a);
	db_on_fail(w->db, attempt_fail, &at);
	if (setjmp(at.jb) != 0) {
		if (!taken) {
			log_sys("work", "take job: %s", at.msg);
			rc = -1;
		} else if (setjmp(at.jb) == 0) {
			snprintf(j->err, sizeof(j->err), "database: %.1000s", at.msg);
			finish_retry(w, j);
		} else {
			/* The row stays 'running': the next start resets it. */
			log_sys("work", "job %" PRId64 ": recording the failure: %s", j->id, at.msg);
			rc = -1;
		}
		goto out;
	}
	if (take_job(w, j) == 0) {
		rc = 0;
		goto out;
	}
	taken = 1;
	if ((k = find_kind(w, j)) == NULL) {
		snprintf(j->err, sizeof(j->err), "no handler for job kind \"%s\" in this version", j->kind);
		finish_fail(w, j);
		goto out;
	}
	switch (k->run(w, j)) {
	case JOB_DONE:
		if (finish_done(w, k, j) == 0)
			log_sys("work", "job %" PRId64 " (%s) done after %" PRId64 " attempt%s",
			    j->id, j->kind, j->attempts, j->attempts == 1 ? "" : "s");
		break;
	case JOB_RETRY:
		finish_retry(w, j);
		break;
	case JOB_FAIL:
		finish_fail(w, j);
		break;
	}
out:
	db_reset_all(w->db);
	db_on_fail(w->db, NULL, NULL);
	db_set_arena(w->db, NULL);
	return rc;
}

/* spool_drain_new under the same contract: a database error is logged
 * and the loop goes on (the next poll scans again). */
static void
drain_new(struct work *w, struct arena *a)
{
	struct attempt at;
	int	 corrupt;

	db_set_arena(w->db, a);
	db_on_fail(w->db, attempt_fail, &at);
	if (setjmp(at.jb) == 0)
		spool_drain_new(w->conf->spool_dir, w->db, &corrupt);
	else
		log_sys("work", "spool: %s", at.msg);
	db_reset_all(w->db);
	db_on_fail(w->db, NULL, NULL);
	db_set_arena(w->db, NULL);
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
	int	 lockfd, ino = -1, rc;

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
	if ((w.db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: work: %s\n", err);
		close(lockfd);
		return 1;
	}
	if (views_load(&w.views, c->views_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: work: views: %s\n", err);
		db_close(w.db);
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

	/* Recovery before the first job: a database error here ends the
	 * daemon (the default fail handler: stderr, exit 1). */
	a = arena_new(16384);
	db_set_arena(w.db, a);
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

	arena_reset(a);
	while (!stopping) {
		struct pollfd pfd;

		drain_new(&w, a);
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
	db_close(w.db);
	/* Empty the pid before the lock goes with the descriptor. */
	if (ftruncate(lockfd, 0) != 0)
		log_sys("work", "truncate lock: %s", strerror(errno));
	close(lockfd);
	return 0;
}
