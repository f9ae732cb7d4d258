/*
 * cron.c: `1000proxy cron TASK`, the batch entry points run from
 * etc/cron.d/1000proxy.  Every task is idempotent and safe to run twice
 * at once (DESIGN.md): each works on rows and renames, which either
 * happen once or fail harmlessly for the loser.
 */
#include "config.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "pool.h"
#include "spool.h"
#include "util.h"

/*
 * reconcile: spool recovery.  With the spool lock (no work daemon runs)
 * the full recovery, cur/ included; while a daemon holds it, only what
 * cannot disturb a job it is running.
 */
static int
cron_reconcile(const struct conf *c, int argc, char **argv)
{
	struct spool_recovery rec;
	char	 err[1024];
	sqlite3	*db;
	long	 holder;
	int	 fd, rc;

	(void)argc;
	(void)argv;
	if (spool_init(c->spool_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: cron reconcile: %s\n", err);
		return 1;
	}
	fd = spool_lock(c->spool_dir, 0, &holder, err, sizeof(err));
	if (fd == -1) {
		fprintf(stderr, "1000proxy: cron reconcile: %s\n", err);
		return 1;
	}
	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: cron reconcile: %s\n", err);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	rc = spool_recover(c, db, fd >= 0, &rec, err, sizeof(err));
	sqlite3_close(db);
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		fprintf(stderr, "1000proxy: cron reconcile: %s\n", err);
		return 1;
	}
	printf("reconcile (%s): %d cur/ returned, %d running reset, %d re-woken, "
	    "%d dropped, %d finished, %d corrupt, %d tmp/ swept\n",
	    fd >= 0 ? "full" : "work daemon running", rec.cur_returned, rec.rows_reset,
	    rec.rewoken, rec.dropped, rec.finished, rec.corrupt, rec.tmp_swept);
	return 0;
}

/*
 * The database side of prune: sessions past their absolute lifetime,
 * email tokens spent or expired more than keep seconds ago, and throttle
 * rows that lock nothing and last failed more than a day ago.  One
 * transaction; idempotent, so two runs at once are harmless.  The audit
 * log and the ledgers are never pruned.
 */
static int
prune_rows(const struct conf *c, int64_t keep, char *err, size_t errsz)
{
	static const char *const sql[] = {
		"DELETE FROM sessions WHERE expires_at < unixepoch()",
		"DELETE FROM email_tokens WHERE coalesce(used_at, expires_at) < unixepoch() - ?1",
		"DELETE FROM login_throttle WHERE locked_until < unixepoch() AND "
		    "last_failure_at < unixepoch() - 86400",
	};
	static const char *const what[] = { "expired sessions", "spent email tokens", "idle throttle rows" };
	sqlite3	*db;
	sqlite3_stmt *st;
	size_t	 i;
	int	 n[3] = { 0, 0, 0 };

	if ((db = db_open(c->database, c->cache_size_kb, err, errsz)) == NULL)
		return -1;
	if (db_exec(db, "BEGIN IMMEDIATE", err, errsz) != 0)
		goto fail;
	for (i = 0; i < NELEM(sql); i++) {
		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK) {
			snprintf(err, errsz, "%s", sqlite3_errmsg(db));
			goto fail;
		}
		if (sqlite3_bind_parameter_count(st) > 0)
			sqlite3_bind_int64(st, 1, keep);
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(err, errsz, "%s", sqlite3_errmsg(db));
			sqlite3_finalize(st);
			goto fail;
		}
		n[i] = sqlite3_changes(db);
		sqlite3_finalize(st);
	}
	if (db_exec(db, "COMMIT", err, errsz) != 0)
		goto fail;
	sqlite3_close(db);
	for (i = 0; i < NELEM(sql); i++)
		printf("prune: %d %s removed\n", n[i], what[i]);
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return -1;
}

/*
 * Finished job rows (done or discarded) older than job_keep_days go,
 * except those a proof of effect references (mail_log): the statement
 * (sql.c Q_JOB_PRUNE) says which.  Failed rows stay for staff.
 */
static int
prune_jobs(const struct conf *c)
{
	struct app app;
	struct request *r;
	struct arena *a;
	struct buf out;
	sqlite3_stmt *st;
	jmp_buf	 jb;
	char	 err[1024];
	volatile int n = 0;

	if (app_init(&app, c, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: cron prune: %s\n", err);
		app_fini(&app);
		return 1;
	}
	a = arena_new(4096);
	buf_init(&out);
	r = arena_zalloc(a, sizeof(*r));
	r->app = &app;
	r->a = a;
	r->out = &out;
	r->fail = &jb;
	snprintf(r->id, sizeof(r->id), "cron-prune");
	if (setjmp(jb) != 0) {
		fprintf(stderr, "1000proxy: cron prune: %s\n", r->error ? r->error : "database error");
		n = -1;
		goto out;
	}
	db_begin(r);
	st = db_q(r, Q_JOB_PRUNE);
	db_bind_int(r, st, ":before", now_unix() - c->job_keep_days * 86400);
	while (db_step(r, st) == DB_ROW)
		n++;
	db_commit(r);
	printf("prune: %d finished job row%s older than %lld day%s removed\n", n, n == 1 ? "" : "s",
	    (long long)c->job_keep_days, c->job_keep_days == 1 ? "" : "s");
out:
	db_reset_all(app.stmts);
	buf_free(&out);
	arena_free(a);
	app_fini(&app);
	return n < 0 ? 1 : 0;
}

/* prune [DAYS]: delete done/ files older than DAYS (default 7), and the
 * rows prune_rows() names. */
static int
cron_prune(const struct conf *c, int argc, char **argv)
{
	int64_t	 days = 7;
	int	 n;
	char	 err[512];

	if (argc > 2 || (argc == 2 && (parse_i64(argv[1], &days) != 0 || days < 0 || days > 3650))) {
		fprintf(stderr, "usage: 1000proxy cron prune [days]\n");
		return 2;
	}
	n = spool_prune(c->spool_dir, "done", days * 86400);
	printf("prune: %d done/ file%s older than %lld day%s removed\n", n, n == 1 ? "" : "s",
	    (long long)days, days == 1 ? "" : "s");
	if (prune_rows(c, days * 86400, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: cron prune: %s\n", err);
		return 1;
	}
	return prune_jobs(c);
}

static const struct {
	const char	*name;
	int		(*fn)(const struct conf *, int, char **);
	const char	*help;
} tasks[] = {
	{ "reconcile", cron_reconcile, "spool recovery: re-wake, return, drop, sweep" },
	{ "prune", cron_prune, "delete done/ spool files older than 7 days (or DAYS), expired sessions, "
	    "spent email tokens, idle throttle rows, and finished job rows after job_keep_days" },
};

int
cmd_cron(const struct conf *c, int argc, char **argv)
{
	size_t	 i;

	if (argc >= 2)
		for (i = 0; i < NELEM(tasks); i++)
			if (strcmp(argv[1], tasks[i].name) == 0)
				return tasks[i].fn(c, argc - 1, argv + 1);
	fprintf(stderr, "usage: 1000proxy cron task\n\ntasks:\n");
	for (i = 0; i < NELEM(tasks); i++)
		fprintf(stderr, "  %-10s %s\n", tasks[i].name, tasks[i].help);
	return 2;
}
