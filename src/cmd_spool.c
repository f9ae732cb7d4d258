/*
 * cmd_spool.c: `test-spool`, the hidden entry point t/40-spool.t drives
 * the spool API through (Fossil's test-* commands):
 *
 *   test-spool enqueue KIND KEY JSON [nowake]   plain-connection variant
 *   test-spool enqueue-req KIND KEY JSON        request variant (a fake request)
 *   test-spool claim NAME [GOFILE]              claim new/NAME after GOFILE exists
 *   test-spool backoff ATTEMPTS                 print work_backoff()
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
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "pool.h"
#include "spool.h"
#include "util.h"
#include "work.h"

static int
t_enqueue(const struct conf *c, int argc, char **argv)
{
	char	 err[1024];
	struct db *db;
	int64_t	 id;

	if (argc < 5)
		return 2;
	/* A database error (a kind the schema refuses) ends the command
	 * through the default fail handler: stderr, exit 1. */
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	db_begin(db);
	id = spool_enqueue_db(db, argv[2], argv[3], argv[4]);
	db_commit(db);
	db_close(db);
	if (argc < 6 || strcmp(argv[5], "nowake") != 0)
		spool_wake(c, id, argv[2]);
	printf("%" PRId64 "\n", id);
	return 0;
}

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
	if (argc == 3 && strcmp(argv[1], "backoff") == 0 && parse_i64(argv[2], &n) == 0) {
		printf("%" PRId64 "\n", work_backoff(c, n));
		return 0;
	}
	fprintf(stderr, "usage: 1000proxy test-spool enqueue|enqueue-req|claim|backoff ...\n");
	return 2;
}
