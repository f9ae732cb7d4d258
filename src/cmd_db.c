/*
 * cmd_db.c: `migrate`, `seed --demo` and `check`.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "db.h"
#include "pool.h"

int
cmd_migrate(const struct conf *c, int argc, char **argv)
{
	char	 err[1024];
	struct db *db;
	int	 n, v;

	(void)argc;
	(void)argv;
	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	n = db_migrate(db, c->sql_dir, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "1000proxy: migrate: %s\n", err);
		db_close(db);
		return 1;
	}
	v = db_schema_version(db);
	printf("schema at version %d (%d migration%s applied)\n", v, n, n == 1 ? "" : "s");
	db_close(db);
	return v >= PX_SCHEMA_VERSION ? 0 : 1;
}

/*
 * test-migrate: migrate as `migrate` does, then print the connection's
 * state as the runner left it, applied or not (t/15-migrate-rebuild.t:
 * a failed rebuild must still leave foreign keys on):
 * "foreign_keys=1 legacy_alter_table=0 autocommit=1".
 */
int
cmd_test_migrate(const struct conf *c, int argc, char **argv)
{
	char	 err[1024];
	struct db *db;
	int	 n;

	(void)argc;
	(void)argv;
	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	if ((n = db_migrate(db, c->sql_dir, err, sizeof(err))) < 0)
		fprintf(stderr, "1000proxy: migrate: %s\n", err);
	printf("foreign_keys=%d legacy_alter_table=%d autocommit=%d\n",
	    db_query_int(db, sql_mig_fk_enabled), db_query_int(db, sql_mig_legacy_enabled),
	    !db_in_tx(db));
	db_close(db);
	return n < 0 ? 1 : 0;
}

/* seed --demo: the demo catalog, once; refuses a database with plans.
 * The seed is a script (db_exec); a database error ends the command. */
int
cmd_seed(const struct conf *c, int argc, char **argv)
{
	char	 err[1024], path[4096], *sql;
	struct db *db;
	int64_t	 have;

	if (argc < 2 || strcmp(argv[1], "--demo") != 0) {
		fprintf(stderr, "usage: 1000proxy seed --demo\n");
		return 2;
	}
	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	if (db_schema_version(db) < PX_SCHEMA_VERSION) {
		fprintf(stderr, "1000proxy: run `1000proxy migrate` first\n");
		db_close(db);
		return 1;
	}
	if (db_prepare_all(db, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: %s\n", err);
		db_close(db);
		return 1;
	}
	if ((have = db_one_int(db, db_q(db, Q_PLANS_TOTAL), 0)) > 0) {
		printf("demo data already present (%lld plans); nothing done\n", (long long)have);
		db_close(db);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/demo/seed.sql", c->sql_dir);
	if ((sql = file_read(path)) == NULL) {
		fprintf(stderr, "1000proxy: %s: cannot read\n", path);
		db_close(db);
		return 1;
	}
	if (db_exec_tx(db, sql, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: seed: %s\n", err);
		free(sql);
		db_close(db);
		return 1;
	}
	free(sql);
	printf("demo data loaded\n");
	db_close(db);
	return 0;
}

/*
 * check: the configuration loads (main did that), the schema is current,
 * every statement prepares, every template parses, SQLite's integrity
 * and foreign-key checks pass, and every cached wallet balance equals
 * the sum of its ledger.  Prints one line per check; exit 1 on any
 * failure.
 */
int
cmd_check(const struct conf *c, int argc, char **argv)
{
	struct app app;
	char	 err[1024];
	long long n;
	int	 bad = 0;

	(void)argc;
	(void)argv;
	printf("ok config\n");
	if (app_init(&app, c, err, sizeof(err)) != 0) {
		printf("FAIL start-up: %s\n", err);
		app_fini(&app);		/* a failed app_init leaves the connection open */
		return 1;
	}
	printf("ok schema version %d, %d statements, templates\n", db_schema_version(app.db), (int)Q__MAX);
	n = db_integrity_problems(app.db);
	printf("%s integrity_check\n", n == 0 ? "ok" : "FAIL");
	bad |= n != 0;
	n = db_foreign_key_problems(app.db);
	printf("%s foreign_key_check\n", n == 0 ? "ok" : "FAIL");
	bad |= n != 0;
	n = db_one_int(app.db, db_q(app.db, Q_CHECK_WALLETS), -1);
	printf("%s wallet balances equal their ledgers%s\n", n == 0 ? "ok" : "FAIL",
	    n > 0 ? " (some differ)" : "");
	bad |= n != 0;
	app_fini(&app);
	return bad ? 1 : 0;
}
