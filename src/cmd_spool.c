/*
 * cmd_spool.c: `1000proxy job`, the operator's view of the job rows, and
 * `test-spool`, the hidden entry point t/40-spool.t and the lane tests
 * drive the spool API through (Fossil's test-* commands).
 *
 *   job list [-s STATE] [-k KIND] [-n N]   newest first (default 50)
 *   job show ID                            one row, with its result
 *   job retry ID                           a failed or discarded job runs again
 *   job discard ID                         a pending or failed job never runs
 *
 * retry and discard write an audit row (actor "cli").  A database error
 * ends the command (db.h's default fail handler: stderr, exit 1).
 *
 *   test-spool enqueue KIND KEY JSON [nowake] [server=N] [run_at=T|+S]
 *                                               a command's own connection
 *   test-spool enqueue-req KIND KEY JSON        request variant (a fake request)
 *   test-spool claim NAME [GOFILE]              claim new/NAME after GOFILE exists
 *   test-spool backoff ATTEMPTS                 print work_backoff()
 *   test-spool server-password ID PASSWORD      seal a panel password
 *
 * Each prints the job id (or the delay) and exits 0; claim exits 0 when
 * this process won and 1 when another did.
 */
#include "config.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "audit.h"
#include "db.h"
#include "http.h"
#include "jobctl.h"
#include "pool.h"
#include "response.h"
#include "seal.h"
#include "spool.h"
#include "util.h"
#include "work.h"

static const struct actor cli_actor = { "cli", 0, NULL, NULL };

/* A command's unit of work: its own connection and arena; a database
 * error ends the command through the default fail handler (db.h:
 * stderr, exit 1), with the open transaction rolled back. */
static struct db *
cli_open(const struct conf *c, struct arena **a)
{
	char	 err[1024];
	struct db *db;

	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return NULL;
	}
	*a = arena_new(4096);
	db_set_arena(db, *a);
	return db;
}

static void
cli_close(struct db *db, struct arena *a)
{
	db_reset_all(db);
	db_close(db);
	arena_free(a);
}

static const char *
fmt_time(char *out, size_t n, int64_t t)
{
	time_t	 tt = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return "-";
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
	return out;
}

static int
job_list(struct db *db, struct arena *a, int argc, char **argv)
{
	const char *state = NULL, *kind = NULL;
	struct stmt *st;
	int64_t	 limit = 50;
	char	 t[32];
	int	 i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
			kind = argv[++i];
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc &&
		    parse_i64(argv[i + 1], &limit) == 0 && limit > 0)
			i++;
		else
			return 2;
	}
	st = db_q(db, Q_JOB_LIST);
	db_bind_text(db, st, ":state", state);
	db_bind_text(db, st, ":kind", kind);
	db_bind_int(db, st, ":limit", limit);
	printf("%-6s %-16s %-9s %4s %-10s %-19s %6s  %s\n", "id", "kind", "state", "try",
	    "step", "next attempt (UTC)", "server", "last error");
	while (db_step(db, st) == DB_ROW) {
		printf("%-6" PRId64 " %-16s %-9s %4" PRId64 " %-10s %-19s %6s  %.60s\n",
		    db_int(st, 0), db_text(db, st, 1), db_text(db, st, 2), db_int(st, 3),
		    db_text(db, st, 4), fmt_time(t, sizeof(t), db_int(st, 5)),
		    db_int(st, 6) > 0 ? arena_printf(a, "%" PRId64, db_int(st, 6)) : "-",
		    db_text(db, st, 7));
	}
	return 0;
}

static int
job_show(struct db *db, int64_t id)
{
	struct stmt *st = db_q(db, Q_JOB_GET);
	char	 t[32];

	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) != DB_ROW) {
		fprintf(stderr, "1000proxy: job: no job %" PRId64 "\n", id);
		return 1;
	}
	printf("id: %" PRId64 "\nkind: %s\nstate: %s\nattempts: %" PRId64 "\nstep: %s\n",
	    db_int(st, 0), db_text(db, st, 1), db_text(db, st, 2), db_int(st, 3),
	    db_text(db, st, 4));
	printf("next attempt: %s\n", fmt_time(t, sizeof(t), db_int(st, 5)));
	printf("server: %" PRId64 "\nlast error: %s\nresult: %s\n", db_int(st, 6),
	    db_text(db, st, 7), db_text(db, st, 8));
	printf("created: %s\n", fmt_time(t, sizeof(t), db_int(st, 9)));
	printf("idempotency key: %s\npayload: %s\n", db_text(db, st, 10), db_text(db, st, 11));
	printf("age limit from: %s\n", fmt_time(t, sizeof(t), db_int(st, 12)));
	printf("finished: %s\n", fmt_time(t, sizeof(t), db_int(st, 13)));
	if (*db_text(db, st, 14) != '\0')
		printf("runner: %s until %s\n", db_text(db, st, 14),
		    fmt_time(t, sizeof(t), db_int(st, 15)));
	return 0;
}

/* retry or discard through jobctl.c (the same as /admin/jobs): one
 * guarded UPDATE and its audit row, one commit, then the files. */
static int
job_change(struct db *db, const struct conf *c, int64_t id, int retry)
{
	const char *kind = NULL, *state = NULL;
	enum jobctl_rc rc;

	db_begin(db);
	rc = jobctl_change(db, id, retry, &cli_actor, NULL, &kind, &state);
	if (rc != JOBCTL_OK) {
		db_rollback(db);
		if (rc == JOBCTL_NONE)
			fprintf(stderr, "1000proxy: job: no job %" PRId64 "\n", id);
		else
			fprintf(stderr, "1000proxy: job %" PRId64 " is %s: only %s jobs can be %s\n",
			    id, state, retry ? "failed or discarded" : "pending or failed",
			    retry ? "retried" : "discarded");
		return 1;
	}
	db_commit(db);
	jobctl_files(c, id, kind, retry);
	printf("job %" PRId64 " (%s) %s\n", id, kind, retry ? "is pending again" : "discarded");
	return 0;
}

int
cmd_job(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct db *db;
	int64_t	 id = 0;
	int	 rc = 2;

	if (argc < 2 || (strcmp(argv[1], "list") != 0 &&
	    (argc != 3 || parse_i64(argv[2], &id) != 0 || id <= 0)))
		goto usage;
	if ((db = cli_open(c, &a)) == NULL)
		return 1;
	if (strcmp(argv[1], "list") == 0)
		rc = job_list(db, a, argc, argv);
	else if (strcmp(argv[1], "show") == 0)
		rc = job_show(db, id);
	else if (strcmp(argv[1], "retry") == 0)
		rc = job_change(db, c, id, 1);
	else if (strcmp(argv[1], "discard") == 0)
		rc = job_change(db, c, id, 0);
	cli_close(db, a);
	if (rc != 2)
		return rc;
usage:
	fprintf(stderr, "usage: 1000proxy job list [-s state] [-k kind] [-n count]\n"
	    "       1000proxy job show|retry|discard id\n");
	return 2;
}

/* nowake, server=N and run_at=T (unix time) or run_at=+S (from now). */
static int
enqueue_opts(int argc, char **argv, int from, int *wake, int64_t *server, int64_t *run_at)
{
	int	 i;

	*wake = 1;
	*server = *run_at = 0;
	for (i = from; i < argc; i++) {
		if (strcmp(argv[i], "nowake") == 0)
			*wake = 0;
		else if (strncmp(argv[i], "server=", 7) == 0 && parse_i64(argv[i] + 7, server) == 0)
			continue;
		else if (strncmp(argv[i], "run_at=+", 8) == 0 && parse_i64(argv[i] + 8, run_at) == 0)
			*run_at += now_unix();
		else if (strncmp(argv[i], "run_at=", 7) == 0 && parse_i64(argv[i] + 7, run_at) == 0)
			continue;
		else
			return -1;
	}
	return 0;
}

/* The request variant: spool_enqueue through a fake request, as a
 * page handler calls it. */
static int
t_enqueue_req(const struct conf *c, int argc, char **argv)
{
	struct app app;
	struct request *r;
	struct arena *a;
	struct buf out;
	jmp_buf	 jb;
	char	 err[1024];
	int64_t	 id;

	if (argc < 5)
		return 2;
	if (app_init(&app, c, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	a = arena_new(4096);
	buf_init(&out);
	r = arena_zalloc(a, sizeof(*r));
	r->app = &app;
	r->a = a;
	req_bind_db(r);
	r->out = &out;
	r->fail = &jb;
	snprintf(r->id, sizeof(r->id), "test-spool");
	if (setjmp(jb) != 0) {
		fprintf(stderr, "request failed: %d %s\n", r->status, r->error ? r->error : "");
		buf_free(&out);
		arena_free(a);
		app_fini(&app);
		return 1;
	}
	db_begin(r->db);
	id = spool_enqueue(r, argv[2], argv[3], argv[4]);
	db_commit(r->db);
	db_reset_all(r->db);
	spool_wake(c, id, argv[2]);
	printf("%" PRId64 "\n", id);
	buf_free(&out);
	arena_free(a);
	app_fini(&app);
	return 0;
}

/* The plain variant, with a panel and a due time when asked.  A
 * database error (a kind the schema refuses) ends the command. */
static int
t_enqueue(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct db *db;
	int64_t	 id, server, run_at;
	int	 wake;

	if (argc < 5 || enqueue_opts(argc, argv, 5, &wake, &server, &run_at) != 0)
		return 2;
	if ((db = cli_open(c, &a)) == NULL)
		return 1;
	db_begin(db);
	id = spool_enqueue_at(db, argv[2], argv[3], argv[4], run_at, server);
	db_commit(db);
	cli_close(db, a);
	if (wake)
		spool_wake(c, id, argv[2]);
	printf("%" PRId64 "\n", id);
	return 0;
}

/* Seal PASSWORD for server ID as the panel client will open it. */
static int
t_server_password(const struct conf *c, int argc, char **argv)
{
	unsigned char sealed[1100], key[SEAL_KEY_LEN];
	struct arena *a;
	struct stmt *st;
	struct db *db;
	char	 aad[64], err[1024];
	int64_t	 id;
	size_t	 n;

	if (argc != 4 || parse_i64(argv[2], &id) != 0 || strlen(argv[3]) > 1000)
		return 2;
	if (seal_key_load(c->key_file, key, 1, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	snprintf(aad, sizeof(aad), "server:%" PRId64 ":panel_password", id);
	if (seal(sealed, sizeof(sealed), &n, key, argv[3], strlen(argv[3]), aad) != 0) {
		explicit_bzero(key, sizeof(key));
		return 1;
	}
	explicit_bzero(key, sizeof(key));
	if ((db = cli_open(c, &a)) == NULL)
		return 1;
	st = db_q(db, Q_SERVER_SET_PASSWORD);
	db_bind_blob(db, st, ":sealed", sealed, n);
	db_bind_int(db, st, ":id", id);
	db_step(db, st);
	cli_close(db, a);
	return 0;
}

static int
t_claim(const struct conf *c, int argc, char **argv)
{
	int	 i;

	if (argc < 3)
		return 2;
	/* Line the claimants up so they really race. */
	if (argc > 3)
		for (i = 0; i < 1000 && access(argv[3], F_OK) != 0; i++)
			usleep(1000);
	return spool_claim(c->spool_dir, argv[2]) == 0 ? 0 : 1;
}

int
cmd_test_spool(const struct conf *c, int argc, char **argv)
{
	int64_t	 n;

	if (argc >= 2 && strcmp(argv[1], "enqueue") == 0)
		return t_enqueue(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "enqueue-req") == 0)
		return t_enqueue_req(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "claim") == 0)
		return t_claim(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "server-password") == 0)
		return t_server_password(c, argc, argv);
	if (argc == 3 && strcmp(argv[1], "backoff") == 0 && parse_i64(argv[2], &n) == 0) {
		printf("%" PRId64 "\n", work_backoff(c, n));
		return 0;
	}
	fprintf(stderr, "usage: 1000proxy test-spool enqueue|enqueue-req|claim|backoff|server-password ...\n");
	return 2;
}
