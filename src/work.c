/*
 * work.c: `1000proxy work`, the daemon that drains the job spool.
 *
 * One master per spool (flock on spool/lock) and up to work_runners
 * runners, started on demand (PHP-FPM's pm = ondemand is the model, see
 * "Runners on demand" below).  The master never opens the database (a
 * SQLite connection must not cross fork()): recovery runs in a
 * short-lived child before the first runner starts; afterwards the
 * master starts and retires runners, restarts one that dies and passes
 * the dead runner's name to the new one, which releases the jobs it held
 * at once instead of after their lease.
 * Runners inherit the lock, so it is held until the last one is gone,
 * and die with the master (PR_SET_PDEATHSIG): a new master never runs
 * beside an old runner, and its recovery may reset every running row.
 *
 * Each runner has its own connection and claims one job at a time (the
 * lanes are in the claim statement, sql.c Q_JOB_CLAIM): a panel that
 * hangs for its whole timeout holds at most its max_concurrency runners,
 * never the others.  A runner wakes on a file arriving in new/ (inotify)
 * and at least every work_poll_ms, when it also scans `jobs` for due
 * rows: the row is the truth, so a lost wake-up file only costs one poll
 * interval.  SIGTERM or SIGINT lets every runner finish its current job.
 * SIGHUP reopens log_file (logrotate's postrotate): the master reopens
 * its own and relays the signal to every runner, which reopens its own
 * between jobs.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "curl_lib.h"
#include "db.h"
#include "audit.h"
#include "job_payment.h"
#include "log.h"
#include "spool.h"
#include "seal.h"
#include "util.h"
#include "view.h"
#include "work.h"
#include "xui_job.h"

/* The handler table: one row per job kind.  Kinds the schema knows
 * but nobody handles yet fail with a clear last_error. */
static const struct job_kind *const kinds[] = {
	&job_kind_email,
	&job_kind_server_test,
	&job_kind_server_sync,
	&job_kind_provision,
	&job_kind_renew,
	/* The client's lifecycle (job_client.c). */
	&job_kind_suspend,
	&job_kind_resume,
	&job_kind_deprovision,
	&job_kind_reset_traffic,
	&job_kind_regenerate,
	&job_kind_traffic_sync,
	/* issue 13: the payment jobs (job_payment.c) */
	&job_kind_payment_create,
	&job_kind_payment_capture,
	&job_kind_gateway_followup,
	/* Refunds through a payment gateway (job_refund.c). */
	&job_kind_refund,
};

/* A runner that exits with this status could not start (bad schema,
 * unreadable views or key): restarting it would only loop. */
#define RUNNER_CANNOT_START	3

/*
 * Runners on demand.  An idle work daemon is its master and one runner;
 * the runners tell the master, through a pipe, when they take a job
 * (busy), when they run out of work (idle) and when they took a job and
 * saw another one due that no runner holds (more).  The master, which
 * knows no jobs, starts another runner, up to work_runners:
 *  - on "more" when no runner is idle (one that is idle takes it: it
 *    wakes on the file or within work_poll_ms);
 *  - when every runner has been busy for SPARE_AFTER_MS: a spare, so
 *    that work arriving while the others wait on a slow panel (a new
 *    file, a retry falling due) finds a runner.  A lane that is full
 *    (max_concurrency, mail or gateway lanes) is counted in the database,
 *    so another runner could not take that job either: it does not ask.
 * A runner idle for work_runner_idle seconds is retired while another
 * runner is idle too, so one idle runner always stays: the last one, or
 * the spare beside busy ones.  That last idle runner is replaced by a
 * fresh one when it has loaded libcurl (a mail or a panel call): the
 * library and what it pulls in (OpenSSL's TLS code, GnuTLS, Kerberos,
 * the CA bundle in the heap) are about 8 MB of RSS that an idle daemon
 * need not keep, and a fork and start cost a few milliseconds.
 * Short jobs (a mail to a near SMTP server) never start a spare; the
 * hanging-panel case has its spare within SPARE_AFTER_MS plus a fork
 * and a start (database open, views load: a few ms).  bench/README.md
 * has the figures.
 */
#define SPARE_AFTER_MS		500

/* What a runner tells the master: one record per write, well under
 * PIPE_BUF, so writes of several runners never interleave. */
struct note {
	int32_t	 pid;
	char	 what;		/* NOTE_* */
	char	 pad[3];
};
#define NOTE_BUSY	'B'
#define NOTE_IDLE	'I'
#define NOTE_IDLE_CURL	'C'	/* idle, with libcurl loaded */
#define NOTE_MORE	'M'

static volatile sig_atomic_t stopping, child_exited, got_hup;

/* The runner's end of the master's pipe (-1 in the master). */
static int note_fd = -1;

/* Tell the master; a full pipe drops the note (the master is alive:
 * PR_SET_PDEATHSIG), which only delays a spare by one note. */
static void
tell(char what)
{
	struct note n;

	if (note_fd < 0)
		return;
	memset(&n, 0, sizeof(n));
	n.pid = (int32_t)getpid();
	n.what = what;
	if (write(note_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_sys("work", "note to the master: %s", strerror(errno));
}

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_chld(int sig)
{
	(void)sig;
	child_exited = 1;
}

/* SIGHUP: reopen the log (logrotate has moved it).  The master relays
 * it to its runners, which hold their own descriptor of the old file. */
static void
on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
}

/* Reopen log_file at its path after a SIGHUP; the old descriptor is
 * kept when the new file cannot be opened (a line is better written to
 * the rotated file than lost). */
static void
reopen_log(const struct conf *c, const char *who)
{
	got_hup = 0;
	if (c->log_file == NULL || *c->log_file == '\0')
		return;
	if (log_open(c->log_file) != 0)
		log_sys("work", "%s: cannot reopen log %s: %s", who, c->log_file, strerror(errno));
	else
		log_sys("work", "%s: log reopened", who);
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
find_kind(const struct work *w, const char *kind, const char *idem_key)
{
	size_t	 i;

	if (w->conf->test_routes &&
	    strncmp(idem_key, TEST_ROLLBACK_KEY, strlen(TEST_ROLLBACK_KEY)) == 0)
		return &job_kind_test_rollback;
	for (i = 0; i < NELEM(kinds); i++)
		if (strcmp(kinds[i]->kind, kind) == 0)
			return kinds[i];
	return NULL;
}

/* ---- the runner: one job attempt ---- */

/* Bind the claim a runner's write must still hold (Q_JOB_STEP ...). */
static void
bind_claim(struct work *w, struct job *j, struct stmt *st)
{
	db_bind_int(w->db, st, ":id", j->id);
	db_bind_text(w->db, st, ":runner", w->runner);
	db_bind_int(w->db, st, ":attempts", j->attempts);
	db_bind_int(w->db, st, ":now", now_unix());
}

int
job_step(struct work *w, struct job *j, const char *step)
{
	struct stmt *st;

	db_begin(w->db);
	st = db_q(w->db, Q_JOB_STEP);
	bind_claim(w, j, st);
	db_bind_text(w->db, st, ":step", step);
	db_bind_int(w->db, st, ":lease", w->conf->work_lease);
	if (db_step(w->db, st) != DB_ROW) {
		db_rollback(w->db);
		snprintf(j->err, sizeof(j->err), "lost the claim before step %s", step);
		return -1;
	}
	db_step(w->db, st);
	db_commit(w->db);
	j->step = step;
	return 0;
}

/*
 * Bind the lanes of JOB_CLAIMABLE (sql.c).  They are counted from
 * work_runners, the most runners there can be, not from the runners
 * alive now: starting one more must never open a lane.
 */
static void
bind_lanes(struct work *w, struct stmt *st)
{
	const struct conf *c = w->conf;
	int64_t	 panel_cap;

	db_bind_int(w->db, st, ":now", now_unix());
	/* Panels share work_runners - 1 runners (one stays for mail and
	 * payments), and no one panel takes them all while there are two. */
	panel_cap = c->work_runners > 1 ? c->work_runners - 1 : 1;
	db_bind_int(w->db, st, ":panel_cap", panel_cap);
	db_bind_int(w->db, st, ":panel_each", panel_cap > 1 ? panel_cap - 1 : 1);
	db_bind_int(w->db, st, ":mail_lanes", c->work_mail_lanes);
	db_bind_int(w->db, st, ":gateway_lanes", c->work_gateway_lanes);
}

/* Is another job due whose lane has room?  Asked right after a claim
 * (this runner's job already counts in its lane), outside a transaction;
 * a database error here ends the attempt as any other does (db.h). */
static int
more_claimable(struct work *w)
{
	struct stmt *st = db_q(w->db, Q_JOB_CLAIMABLE);

	bind_lanes(w, st);
	return db_one_int(w->db, st, 0) == 1;
}

/*
 * Claim the next due job whose lane has room and mark it running with
 * its handler's first step, in one short transaction.  1 with *j
 * filled, 0 if none is due.  A hard error ends the attempt (longjmp).
 */
static int
claim(struct work *w, struct job *j)
{
	const struct conf *c = w->conf;
	const struct job_kind *k;
	struct db *r = w->db;
	struct stmt *st;

	db_begin(r);
	st = db_q(r, Q_JOB_CLAIM);
	db_bind_text(r, st, ":runner", w->runner);
	db_bind_int(r, st, ":lease", c->work_lease);
	bind_lanes(w, st);
	if (db_step(r, st) != DB_ROW) {
		db_commit(r);
		return 0;
	}
	j->id = db_int(st, 0);
	j->kind = db_text(r, st, 1);
	j->idem_key = db_text(r, st, 2);
	j->payload = db_text(r, st, 3);
	j->step = db_text(r, st, 4);
	j->attempts = db_int(st, 5);
	j->created_at = db_int(st, 6);
	j->age_from = db_int(st, 7);
	j->server_id = db_int(st, 8);
	db_step(r, st);
	/* The row remembers which step the job reached. */
	k = find_kind(w, j->kind, j->idem_key);
	st = db_q(r, Q_JOB_SET_STEP);
	db_bind_int(r, st, ":id", j->id);
	db_bind_text(r, st, ":step", k ? k->step : "unhandled");
	db_step(r, st);
	db_commit(r);
	return 1;
}

static void
move_files(struct work *w, int64_t id, const char *to)
{
	spool_move_job(w->conf->spool_dir, id, "cur", to);
	spool_move_job(w->conf->spool_dir, id, "new", to);
}

/* The job's effect happened: record() and 'done' in one transaction. */
static void
finish_done(struct work *w, const struct job_kind *k, struct job *j)
{
	struct stmt *st;

	db_begin(w->db);
	if (k->record != NULL && k->record(w, j) != 0) {
		/* The handler could not write its proof: the row goes back
		 * to pending and the handler's own check decides next time. */
		db_fail(w->db, "job %" PRId64 ": recording the result: %s", j->id, j->err);
	}
	st = db_q(w->db, Q_JOB_DONE);
	bind_claim(w, j, st);
	db_bind_text(w->db, st, ":result", j->result ? j->result : "");
	if (db_step(w->db, st) != DB_ROW) {
		db_rollback(w->db);
		log_sys("work", "job %" PRId64 " (%s): %s lost its claim; the new holder records it",
		    j->id, j->kind, w->runner);
		return;
	}
	db_step(w->db, st);
	db_commit(w->db);
	move_files(w, j->id, "done");
	log_sys("work", "job %" PRId64 " (%s) done after %" PRId64 " attempt%s", j->id, j->kind,
	    j->attempts, j->attempts == 1 ? "" : "s");
}

/* A permanent failure: failed/, where staff retry or discard it. */
static void
finish_fail(struct work *w, struct job *j)
{
	struct stmt *st;

	db_begin(w->db);
	st = db_q(w->db, Q_JOB_FAIL);
	bind_claim(w, j, st);
	db_bind_text(w->db, st, ":error", j->err);
	if (db_step(w->db, st) != DB_ROW) {
		db_rollback(w->db);
		return;
	}
	db_step(w->db, st);
	db_commit(w->db);
	move_files(w, j->id, "failed");
	log_sys("work", "job %" PRId64 " (%s) failed: %s", j->id, j->kind, j->err);
}

/*
 * A temporary failure: back off, or fail once the job has been failing
 * for retry_max_age, counted from its first due time or its last retry
 * by staff (age_from), never from created_at.
 */
static void
finish_retry(struct work *w, struct job *j)
{
	int64_t	 now = now_unix(), delay = work_backoff(w->conf, j->attempts);
	struct stmt *st;

	if (now + delay - j->age_from > w->conf->retry_max_age) {
		char	 why[1200];

		snprintf(why, sizeof(why), "gave up after %" PRId64 " attempts: %s", j->attempts, j->err);
		snprintf(j->err, sizeof(j->err), "%.1000s", why);
		finish_fail(w, j);
		return;
	}
	db_begin(w->db);
	st = db_q(w->db, Q_JOB_RETRY_LATER);
	bind_claim(w, j, st);
	db_bind_text(w->db, st, ":error", j->err);
	db_bind_int(w->db, st, ":delay", delay);
	if (db_step(w->db, st) != DB_ROW) {
		db_rollback(w->db);
		return;
	}
	db_step(w->db, st);
	db_commit(w->db);
	log_sys("work", "job %" PRId64 " (%s) attempt %" PRId64 " failed, retry in %" PRId64 " s: %s",
	    j->id, j->kind, j->attempts, delay, j->err);
}

/* The runner's db fail handler (db.h): back to the setjmp of the
 * attempt, or of the spool scan, with the message. */
struct attempt {
	jmp_buf	 jb;
	char	 msg[1024];
	struct job j;
	int	 phase;		/* 0 claiming, 1 ours, 2 putting it back */
};

static void
attempt_fail(void *ctx, const char *msg)
{
	struct attempt *at = ctx;

	snprintf(at->msg, sizeof(at->msg), "%s", msg);
	longjmp(at->jb, 1);
}

/*
 * Run one due job.  1 if one ran, 0 if none was due, -1 on a database
 * error before a job was claimed.  A hard database error inside the
 * attempt (db.h's contract) has rolled its transaction back and ends it
 * here: the job goes back to pending with the error, or stays running
 * for its lease (or the next start's recovery) when even that fails.
 * The attempt lives in the arena: what changes after setjmp is not on
 * this stack frame.
 */
static int
run_one(struct work *w, struct arena *a)
{
	const struct job_kind *k;
	struct attempt *at = arena_zalloc(a, sizeof(*at));
	int	 rc = 1;

	at->j.a = a;
	db_set_arena(w->db, a);
	db_on_fail(w->db, attempt_fail, at);
	if (setjmp(at->jb) != 0) {
		if (at->phase == 0) {
			log_sys("work", "claim: %s", at->msg);
			rc = -1;
		} else if (at->phase == 2)
			log_sys("work", "job %" PRId64 ": cannot put it back (%s); its lease or the "
			    "next start returns it", at->j.id, at->msg);
		else {
			at->phase = 2;
			snprintf(at->j.err, sizeof(at->j.err), "database: %.1000s", at->msg);
			finish_retry(w, &at->j);
		}
		goto out;
	}
	if (claim(w, &at->j) == 0) {
		rc = 0;
		goto out;
	}
	at->phase = 1;
	tell(NOTE_BUSY);
	if (w->conf->work_runners > 1 && more_claimable(w))
		tell(NOTE_MORE);
	if ((k = find_kind(w, at->j.kind, at->j.idem_key)) == NULL) {
		snprintf(at->j.err, sizeof(at->j.err), "no handler for job kind \"%s\" in this version",
		    at->j.kind);
		finish_fail(w, &at->j);
		goto out;
	}
	switch (k->run(w, &at->j)) {
	case JOB_DONE:
		finish_done(w, k, &at->j);
		break;
	case JOB_RETRY:
		finish_retry(w, &at->j);
		break;
	case JOB_FAIL:
		finish_fail(w, &at->j);
		break;
	}
out:
	/* The outcome is committed (or given up): now the handler may let
	 * go of what it held, once, whichever way the attempt ended. */
	if (at->j.after != NULL) {
		void	(*after)(struct work *, struct job *) = at->j.after;

		at->j.after = NULL;
		after(w, &at->j);
	}
	db_reset_all(w->db);
	db_on_fail(w->db, NULL, NULL);
	db_set_arena(w->db, NULL);
	return rc;
}

/* The jobs a dead runner held go back to pending now. */
static void
release_runner(struct work *w, const char *dead, struct arena *a)
{
	struct attempt *at = arena_zalloc(a, sizeof(*at));
	struct stmt *st;
	int	 n = 0;

	db_set_arena(w->db, a);
	db_on_fail(w->db, attempt_fail, at);
	if (setjmp(at->jb) == 0) {
		db_begin(w->db);
		st = db_q(w->db, Q_JOB_RELEASE_RUNNER);
		db_bind_text(w->db, st, ":runner", dead);
		db_bind_int(w->db, st, ":now", now_unix());
		while (db_step(w->db, st) == DB_ROW)
			at->phase++;
		db_commit(w->db);
		n = at->phase;
		if (n > 0)
			log_sys("work", "runner %s died: %d job%s back to pending", dead, n,
			    n == 1 ? "" : "s");
	} else
		log_sys("work", "releasing runner %s's jobs: %s (their lease brings them back)",
		    dead, at->msg);
	db_reset_all(w->db);
	db_on_fail(w->db, NULL, NULL);
	db_set_arena(w->db, NULL);
}

/* spool_drain_new under the same contract: a database error is logged
 * and the loop goes on (the next poll scans again). */
static void
drain_new(struct work *w, struct arena *a)
{
	struct attempt *at = arena_zalloc(a, sizeof(*at));
	int	 corrupt;

	db_set_arena(w->db, a);
	db_on_fail(w->db, attempt_fail, at);
	if (setjmp(at->jb) == 0)
		spool_drain_new(w->conf->spool_dir, w->db, &corrupt);
	else
		log_sys("work", "spool: %s", at->msg);
	db_reset_all(w->db);
	db_on_fail(w->db, NULL, NULL);
	db_set_arena(w->db, NULL);
}

/*
 * A rotated key file (`1000proxy key rotate`): reload before the next
 * job, so jobs open values re-sealed under the new key and seal under
 * it.  One stat(2) when nothing changed.  Always returns 0 (a failed
 * reload keeps the keys the runner had, and says so).
 */
static int
key_refresh(struct work *w)
{
	char	 err[512];

	if (seal_key_refresh(w->conf->key_file, w->key, err, sizeof(err)) < 0)
		log_sys("work", "runner %s keeps its keys: %s", w->runner, err);
	return 0;
}

/* A runner's life: its own connection, claim and run until told to stop
 * (SIGTERM: the daemon stops, or the master retires an idle runner). */
static int
runner_main(const struct conf *c, const char *name, const char *dead, pid_t master)
{
	struct work w;
	struct sigaction sa;
	struct arena *a;
	char	 err[1024], path[4096], evbuf[4096];
	int	 ino;

	/* Die with the master: no runner outlives the lock's owner. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != master)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* SA_RESTART: a HUP during a job's call must not cut its reads
	 * short; poll() between jobs returns early all the same. */
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_flags = 0;
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	/* SIGHUP stayed blocked since the fork (the master's mask), so one
	 * relayed before this handler existed is delivered here. */
	sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);

	memset(&w, 0, sizeof(w));
	w.conf = c;
	snprintf(w.runner, sizeof(w.runner), "%s", name);
	/* work_cache_kb, not the workers' cache_size_kb: a job touches a
	 * few pages (its row, the lane counts), and every KiB of cache a
	 * runner fills stays resident in it. */
	if ((w.db = db_open_ready(c->database, c->work_cache_kb, err, sizeof(err))) == NULL) {
		log_sys("work", "runner %s: %s", name, err);
		return RUNNER_CANNOT_START;
	}
	if (views_load(&w.views, c->views_dir, err, sizeof(err)) != 0 ||
	    seal_key_load(c->key_file, w.key, 1, err, sizeof(err)) != 0) {
		log_sys("work", "runner %s: %s", name, err);
		views_free(w.views);
		db_close(w.db);
		return RUNNER_CANNOT_START;
	}
	/* As in the pool: under the test suite a key an email template
	 * names and its job does not give fails the job (job_email.c). */
	views_set_strict(w.views, c->test_routes);
	a = arena_new(16384);
	if (dead != NULL && *dead != '\0') {
		release_runner(&w, dead, a);
		arena_reset(a);
	}

	snprintf(path, sizeof(path), "%s/new", c->spool_dir);
	if ((ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0 &&
	    inotify_add_watch(ino, path, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(ino);
		ino = -1;
	}
	while (!stopping) {
		struct pollfd pfd;
		int	 ran = 0;

		if (got_hup)
			reopen_log(c, w.runner);
		key_refresh(&w);
		drain_new(&w, a);
		arena_reset(a);
		while (!stopping && key_refresh(&w) >= 0 && run_one(&w, a) > 0) {
			arena_reset(a);
			ran = 1;
		}
		arena_reset(a);
		if (stopping)
			break;
		if (ran)
			tell(curl_lib_loaded() ? NOTE_IDLE_CURL : NOTE_IDLE);
		pfd.fd = ino;
		pfd.events = POLLIN;
		if (poll(&pfd, ino >= 0 ? 1 : 0, (int)c->work_poll_ms) > 0)
			while (read(ino, evbuf, sizeof(evbuf)) > 0)
				continue;
	}
	if (ino >= 0)
		close(ino);
	arena_free(a);
	xui_job_cache_free(&w);
	explicit_bzero(w.key, sizeof(w.key));
	views_free(w.views);
	db_close(w.db);
	return 0;
}

/* ---- the master ---- */

/* A runner slot of the master; pid 0 is a free slot. */
struct runner {
	pid_t	 pid;
	char	 name[64];
	double	 started;
	double	 since;		/* busy or idle since (monotonic) */
	int	 busy;		/* its last note said busy */
	int	 heavy;		/* its last note said idle with libcurl loaded */
	int	 retiring;	/* sent SIGTERM for idling: not restarted */
};

/* The pipe from the runners to the master: [0] the master reads. */
static int notes[2] = { -1, -1 };

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

/* Recovery on a connection of its own.  A database error here ends the
 * process (the default fail handler). */
static int
recover(const struct conf *c)
{
	struct spool_recovery rec;
	struct arena *a;
	struct db *db;
	char	 err[1024];

	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: work: %s\n", err);
		return -1;
	}
	a = arena_new(16384);
	db_set_arena(db, a);
	if (spool_recover(c, db, 1, &rec, err, sizeof(err)) != 0)
		log_sys("work", "recovery: %s", err);
	else
		log_sys("work", "started; recovery: %d cur/ returned, %d running reset, "
		    "%d re-woken, %d dropped, %d corrupt, %d tmp/ swept", rec.cur_returned,
		    rec.rows_reset, rec.rewoken, rec.dropped, rec.corrupt, rec.tmp_swept);
	db_close(db);
	arena_free(a);
	return 0;
}

/*
 * Recovery runs in a short-lived child: the master itself never opens
 * the database, so no connection of its can be copied into a runner by
 * fork(), and it carries no SQLite cache or heap.  0, or -1 (the child
 * said why on stderr).
 */
static int
recover_in_child(const struct conf *c)
{
	pid_t	 pid;
	int	 status, rc;

	fflush(NULL);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "1000proxy: work: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		rc = recover(c);
		px_leak_check();
		_exit(rc == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fork a runner into slot rn; dead names the runner it replaces ("" if none). */
static int
spawn(const struct conf *c, struct runner *rn, const char *nonce, const char *dead)
{
	pid_t	 pid, master = getpid();
	char	 name[64];

	if ((pid = fork()) < 0) {
		log_sys("work", "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* The name joins the pid with the master's nonce, so the
		 * master can name a dead runner without asking it. */
		int	 rc;

		close(notes[0]);
		note_fd = notes[1];
		snprintf(name, sizeof(name), "%ld.%s", (long)getpid(), nonce);
		rc = runner_main(c, name, dead, master);
		/* _exit skips the sanitizer's exit-time leak check: run it. */
		px_leak_check();
		_exit(rc);
	}
	memset(rn, 0, sizeof(*rn));
	rn->pid = pid;
	rn->started = rn->since = mono();
	snprintf(rn->name, sizeof(rn->name), "%ld.%s", (long)pid, nonce);
	return 0;
}

/* Read the runners' notes: busy and idle states, and how many asked for
 * another runner. */
static int
read_notes(struct runner *rn, int n)
{
	struct note nt[64];
	ssize_t	 got;
	size_t	 k;
	int	 i, more = 0;

	while ((got = read(notes[0], nt, sizeof(nt))) > 0) {
		for (k = 0; k < (size_t)got / sizeof(nt[0]); k++) {
			for (i = 0; i < n && rn[i].pid != (pid_t)nt[k].pid; i++)
				continue;
			if (i == n)
				continue;
			if (nt[k].what == NOTE_MORE) {
				more++;
				continue;
			}
			rn[i].busy = nt[k].what == NOTE_BUSY;
			rn[i].heavy = nt[k].what == NOTE_IDLE_CURL;
			rn[i].since = mono();
		}
	}
	return more;
}

/* Slot for a new runner: a free one, or -1 when work_runners live. */
static int
free_slot(const struct runner *rn, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (rn[i].pid == 0)
			return i;
	return -1;
}

/*
 * The on-demand rules (see "Runners on demand" at the top): start a
 * runner when asked and none is idle, or as a spare when every runner
 * has been busy for SPARE_AFTER_MS; retire the longest idle runner past
 * work_runner_idle while another is idle too.  Returns how long the
 * master may sleep before a rule could fire, in seconds (at most 1).
 */
static double
balance(const struct conf *c, struct runner *rn, int n, int more, const char *nonce)
{
	double	 now = mono(), wait = 1.0, newest_busy = 0, t;
	int	 i, idle = 0, busy = 0, slot, longest = -1;

	for (i = 0; i < n; i++) {
		if (rn[i].pid == 0 || rn[i].retiring)
			continue;
		if (rn[i].busy) {
			busy++;
			if (rn[i].since > newest_busy)
				newest_busy = rn[i].since;
		} else {
			idle++;
			if (longest < 0 || rn[i].since < rn[longest].since)
				longest = i;
		}
	}
	if (idle == 0 && (slot = free_slot(rn, n)) >= 0) {
		t = newest_busy + SPARE_AFTER_MS / 1000.0 - now;
		/* No runner at all: the last one was recycled. */
		if (busy == 0 || more > 0 || t <= 0) {
			if (spawn(c, &rn[slot], nonce, "") == 0)
				log_sys("work", "runner %s started: %d busy, %s", rn[slot].name, busy,
				    busy == 0 ? "a fresh one" : more > 0 ? "more jobs due" : "a spare");
		} else if (busy > 0 && t < wait)
			wait = t;
	}
	if (idle > 1 || (idle == 1 && busy == 0 && rn[longest].heavy)) {
		t = rn[longest].since + (double)c->work_runner_idle - now;
		if (t <= 0) {
			log_sys("work", "runner %s idle for %lld s: %s", rn[longest].name,
			    (long long)c->work_runner_idle, idle > 1 ? "retiring it" :
			    "replacing it with a fresh one (it loaded libcurl)");
			rn[longest].retiring = 1;
			kill(rn[longest].pid, SIGTERM);
			wait = 0;
		} else if (t < wait)
			wait = t;
	}
	return wait < 0.005 ? 0.005 : wait;
}

int
cmd_work(const struct conf *c, int argc, char **argv)
{
	struct runner *rn;
	struct sigaction sa;
	sigset_t block, orig;
	unsigned char rnd[4];
	char	 err[1024], nonce[9], dead[64];
	int64_t	 longest;
	int	 lockfd, n, i, live, status, more, rc = 0;
	pid_t	 pid;
	double	 deadline = 0, wait = 1.0;

	(void)argc;
	(void)argv;
	if (log_open(c->log_file) != 0) {
		fprintf(stderr, "1000proxy: work: cannot open log %s\n", c->log_file);
		return 1;
	}
	if (log_syslog_to(c->log_syslog ? c->log_syslog_socket : NULL) != 0) {
		fprintf(stderr, "1000proxy: work: log_syslog_socket %s: path too long\n", c->log_syslog_socket);
		return 1;
	}
	/* A HUP during start-up (a rotation racing a restart) waits for the
	 * main loop instead of ending the daemon (its default action). */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	/* A lease shorter than a call would let a second runner take a job
	 * whose first runner is still waiting for its reply. */
	longest = c->smtp_timeout > c->panel_timeout ? c->smtp_timeout : c->panel_timeout;
	if (c->gateway_timeout > longest)
		longest = c->gateway_timeout;
	if (c->work_lease <= longest + 5) {
		fprintf(stderr, "1000proxy: work: work_lease (%lld s) must exceed the longest call "
		    "timeout (%lld s) by more than 5 s\n", (long long)c->work_lease, (long long)longest);
		return 1;
	}
	if (spool_init(c->spool_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: work: %s\n", err);
		return 1;
	}
	if ((lockfd = lock_spool(c)) < 0)
		return 1;
	if (recover_in_child(c) != 0) {
		close(lockfd);
		return 1;
	}
	/* The runners' writes never block (a full pipe drops a note), the
	 * master's reads never wait. */
	if (pipe2(notes, O_CLOEXEC | O_NONBLOCK) != 0) {
		fprintf(stderr, "1000proxy: work: pipe: %s\n", strerror(errno));
		close(lockfd);
		return 1;
	}

	/*
	 * libcurl is not loaded here but by the first runner whose job
	 * needs it (curl_lib() in the handler).  Loaded before the fork,
	 * its initialisation (OpenSSL's configuration, GnuTLS, Kerberos)
	 * stayed resident in the master, about 6 MB of RSS in a process
	 * that never calls it, and its written pages counted again in
	 * every runner; a runner that loads it pays about 2 MB and, unless
	 * it is the last one, is retired when it idles.
	 */

	/* Signals arrive only inside ppoll(): no lost wake-up between the
	 * flag checks and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	/* getrandom(), not RAND_bytes(): the nonce only tells this master's
	 * runners from an earlier one's, and OpenSSL's generator would load
	 * its providers into the master (about 2 MB of RSS) for nothing. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	hex_encode(nonce, rnd, sizeof(rnd));
	n = (int)c->work_runners;
	rn = xcalloc((size_t)n, sizeof(*rn));
	spawn(c, &rn[0], nonce, "");
	log_sys("work", "runner %s started (up to %d on demand)", rn[0].name, n);

	for (;;) {
		struct pollfd pfd = { notes[0], POLLIN, 0 };
		struct timespec ts;

		if (stopping && deadline == 0) {
			/* Each runner finishes its job (bounded by the call
			 * timeouts), then exits. */
			for (i = 0; i < n; i++)
				if (rn[i].pid > 0)
					kill(rn[i].pid, SIGTERM);
			deadline = mono() + (double)longest + 10;
		}
		if (got_hup) {
			/* The master's own lines first, then each runner's. */
			reopen_log(c, "master");
			for (i = 0; i < n; i++)
				if (rn[i].pid > 0)
					kill(rn[i].pid, SIGHUP);
		}
		more = read_notes(rn, n);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n && rn[i].pid != pid; i++)
				continue;
			if (i == n)
				continue;
			rn[i].pid = 0;
			if (stopping)
				continue;
			if (WIFEXITED(status) && WEXITSTATUS(status) == RUNNER_CANNOT_START) {
				log_sys("work", "runner %s could not start: stopping", rn[i].name);
				rc = 1;
				stopping = 1;
				continue;
			}
			/* An idle runner the master retired: nothing to replace. */
			if (rn[i].retiring && WIFEXITED(status) && WEXITSTATUS(status) == 0)
				continue;
			log_sys("work", "runner %s %s %d: restarting it", rn[i].name,
			    WIFSIGNALED(status) ? "killed by signal" : "exited with",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			/* A runner that dies at once would otherwise spin. */
			if (mono() - rn[i].started < 1.0)
				usleep(500000);
			snprintf(dead, sizeof(dead), "%s", rn[i].name);
			spawn(c, &rn[i], nonce, dead);
		}
		child_exited = 0;
		for (live = 0, i = 0; i < n; i++)
			live += rn[i].pid > 0;
		if (stopping && live == 0)
			break;
		if (stopping && deadline > 0 && mono() > deadline) {
			for (i = 0; i < n; i++)
				if (rn[i].pid > 0)
					kill(rn[i].pid, SIGKILL);
		}
		if (!stopping)
			wait = balance(c, rn, n, more, nonce);
		else
			wait = 1.0;
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		if (!child_exited && !got_hup && !(stopping && deadline == 0))
			ppoll(&pfd, 1, &ts, &orig);
	}
	log_sys("work", "stopping");
	free(rn);
	close(notes[0]);
	close(notes[1]);
	/* Empty the pid before the lock goes with the descriptor. */
	if (ftruncate(lockfd, 0) != 0)
		log_sys("work", "truncate lock: %s", strerror(errno));
	close(lockfd);
	return rc;
}
