/*
 * db.c: the SQLite backend of the data layer: opening the database,
 * migrations, the statement table and the helpers every unit of work
 * uses.  The error contract is in db.h.  This is the only file that
 * includes sqlite3.h or calls sqlite3_*.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "log.h"

/* How long a statement waits for another connection's write lock;
 * bookkeeping writes wait only briefly and give up (db_bookkeep). */
#define DB_BUSY_MS	5000
#define DB_BOOKKEEP_BUSY_MS 100

struct stmt {
	sqlite3_stmt	*s;
	enum q		 id;		/* names it in error messages */
};

struct db {
	sqlite3		*h;
	struct stmt	*st;		/* Q__MAX of them once prepared, else NULL */
	sqlite3_stmt	*data_version;	/* prepared on first use */
	struct arena	*a;		/* the unit of work's (db_set_arena) */
	db_fail_fn	 fail;		/* NULL: stderr and exit(1) */
	void		*fail_ctx;
	int		 busy_ms;	/* the busy wait of every statement but bookkeeping */
	int		 wait_ms;	/* the busy wait now in force (busy_wait) */
	double		 wait_from;	/* when the current wait began, now_mono() */
	int64_t		 cache_kb;	/* the configured page cache (cache_size_kb) */
	int64_t		 cache_now;	/* the page cache's limit now (db_cache_limit) */
};

/*
 * The busy handler of every connection.  SQLite's own
 * (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50
 * and then 100 ms between tries: a writer that finds the lock taken
 * sleeps milliseconds for a lock that is free again within a fraction of
 * one (a checkout holds it for about half a millisecond, its COMMIT's
 * fsync included), and under a queue of writers the unlucky one backs
 * off to 100 ms naps while later arrivals take the lock (bench/checkout
 * measured a p99 in the worker of 110-120 ms with it, 40-50 ms with
 * this one, at the same rate).  This one retries every 100 us for the
 * first 2 ms, every 500 us up to 20 ms and every 2 ms after that (dozens
 * of waiting processes, as the tests' races start, must not spin), until
 * the connection's wait (wait_ms) has passed.  A try is a few fcntl()s
 * on the shared-memory locks.
 */
static int
busy_wait(void *arg, int tries)
{
	struct db *d = arg;
	double	 now = now_mono(), waited;

	if (tries == 0)
		d->wait_from = now;
	waited = (now - d->wait_from) * 1e3;
	if (waited >= d->wait_ms)
		return 0;
	usleep(waited < 2.0 ? 100 : waited < 20.0 ? 500 : 2000);
	return 1;
}

/* Set the connection's busy wait to ms (busy_wait). */
static void
set_wait(struct db *d, int ms)
{
	d->wait_ms = ms;
	sqlite3_busy_handler(d->h, busy_wait, d);
}

/*
 * Test mode only: SQL's unixepoch() (no argument) is now_unix(), so SQL
 * and C read the same test clock (util.c).  An application function
 * overrides the built-in of the same name and arity.  INNOCUOUS because
 * column DEFAULTs call it and trusted_schema is off; not DETERMINISTIC,
 * because it is a clock (so, unlike the built-in, two calls in one
 * statement may straddle a second).
 */
static void
test_unixepoch(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int64(cx, now_unix());
}

struct db *
db_open(const char *path, int64_t cache_kb, char *err, size_t errsz)
{
	struct db *d;
	sqlite3	*db = NULL;
	char	 pragma[128], *msg = NULL;
	int	 rc, on = 1, off = 0;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	d = xcalloc(1, sizeof(*d));
	d->h = db;
	d->busy_ms = DB_BUSY_MS;
	set_wait(d, DB_BUSY_MS);
	/* Hardening: no writes to the schema by SQL tricks, no functions
	 * from the schema running with our privileges, and no "double
	 * quoted strings" silently becoming string literals. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, on, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, off, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, off, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, off, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, off, NULL);
	if (clock_is_test() && sqlite3_create_function(db, "unixepoch", 0,
	    SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL, test_unixepoch, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s: test clock: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		free(d);
		return NULL;
	}
	snprintf(pragma, sizeof(pragma),
	    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
	    "PRAGMA foreign_keys=ON; PRAGMA cache_size=-%lld; "
	    "PRAGMA temp_store=MEMORY;", (long long)cache_kb);
	if (sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", path, msg ? msg : "pragma failed");
		sqlite3_free(msg);
		sqlite3_close(db);
		free(d);
		return NULL;
	}
	d->cache_kb = d->cache_now = cache_kb;
	return d;
}

void
db_cache_limit(struct db *d, int64_t kb)
{
	char	 pragma[64];

	if (kb <= 0 || kb > d->cache_kb)
		kb = d->cache_kb;
	if (kb == d->cache_now)
		return;
	/* Shrinking frees the unused pages beyond the limit at once
	 * (pcache1); a failure leaves the cache as it was, which is only
	 * a matter of memory, so it is not an error of the request. */
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size=-%lld", (long long)kb);
	if (sqlite3_exec(d->h, pragma, NULL, NULL, NULL) == SQLITE_OK)
		d->cache_now = kb;
}

struct db *
db_open_ready(const char *path, int64_t cache_kb, char *err, size_t errsz)
{
	struct db *d;
	int	 v;

	if ((d = db_open(path, cache_kb, err, errsz)) == NULL)
		return NULL;
	v = db_schema_version(d);
	if (v != PX_SCHEMA_VERSION) {
		if (v < PX_SCHEMA_VERSION)
			snprintf(err, errsz, "%s: schema version %d is behind this program's %d: "
			    "run `1000proxy migrate`", path, v, PX_SCHEMA_VERSION);
		else
			snprintf(err, errsz, "%s: schema version %d is newer than this program's %d",
			    path, v, PX_SCHEMA_VERSION);
		db_close(d);
		return NULL;
	}
	if (db_prepare_all(d, err, errsz) != 0) {
		db_close(d);
		return NULL;
	}
	return d;
}

/* Finalize the statement table and the private statements. */
static void
finalize_all(struct db *d)
{
	int	 i;

	if (d->st != NULL) {
		for (i = 0; i < Q__MAX; i++)
			sqlite3_finalize(d->st[i].s);
		free(d->st);
		d->st = NULL;
	}
	sqlite3_finalize(d->data_version);
	d->data_version = NULL;
}

void
db_close(struct db *d)
{
	if (d == NULL)
		return;
	finalize_all(d);
	sqlite3_close(d->h);
	free(d);
}

/* sqlite3_exec on the raw handle: the migration runner works below the
 * statement table (a database before its first migration has none). */
static int
raw_exec(sqlite3 *db, const char *sql, char *err, size_t errsz)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsz, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

void
db_set_busy_ms(struct db *d, int ms)
{
	d->busy_ms = ms;
	set_wait(d, ms);
}

int
db_exec(struct db *d, const char *sql, char *err, size_t errsz)
{
	return raw_exec(d->h, sql, err, errsz);
}

int
db_exec_tx(struct db *d, const char *sql, char *err, size_t errsz)
{
	if (db_exec(d, "BEGIN IMMEDIATE", err, errsz) != 0)
		return -1;
	if (db_exec(d, sql, err, errsz) != 0 || db_exec(d, "COMMIT", err, errsz) != 0) {
		db_rollback(d);
		return -1;
	}
	return 0;
}

static int
raw_query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int	 v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
db_query_int(struct db *d, const char *sql)
{
	return raw_query_int(d->h, sql);
}

int
db_schema_version(struct db *d)
{
	int	 v = raw_query_int(d->h, sql_mig_version);

	return v < 0 ? 0 : v;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when the migration's first line is the rebuild marker (db.h). */
static int
mig_is_rebuild(const char *sql)
{
	static const char mark[] = "-- px:rebuild";
	size_t	 n = sizeof(mark) - 1;

	return strncmp(sql, mark, n) == 0 &&
	    (sql[n] == '\0' || sql[n] == '\n' || sql[n] == '\r' || sql[n] == ' ' || sql[n] == '\t');
}

/*
 * The authorizer in force while a migration file runs.  The runner owns
 * the transaction: a COMMIT in the file would land the rest of the file,
 * and the version row, outside it, so BEGIN, COMMIT and ROLLBACK are
 * refused (SAVEPOINTs nest inside and stay allowed).  PRAGMA foreign_keys
 * is a silent no-op inside a transaction and legacy_alter_table is the
 * runner's to set, so a file that tries either is refused too, with a
 * pointer to the marker instead of a migration that seems to work.
 */
struct mig_guard {
	const char *refused;
};

static int
mig_authorize(void *arg, int action, const char *a1, const char *a2,
    const char *dbname, const char *trigger)
{
	struct mig_guard *g = arg;

	(void)a2;
	(void)dbname;
	(void)trigger;
	if (action == SQLITE_TRANSACTION) {
		g->refused = "BEGIN, COMMIT or ROLLBACK: the runner owns the transaction";
		return SQLITE_DENY;
	}
	if (action == SQLITE_PRAGMA && a1 != NULL && (strcasecmp(a1, "foreign_keys") == 0 ||
	    strcasecmp(a1, "legacy_alter_table") == 0)) {
		g->refused = "PRAGMA foreign_keys or legacy_alter_table: "
		    "start the file with \"-- px:rebuild\" instead";
		return SQLITE_DENY;
	}
	return SQLITE_OK;
}

/*
 * PRAGMA foreign_key_check over the whole database.  0 when every
 * reference holds; else -1 with err naming the first broken row (table,
 * row, column, parent) and how many there are.
 */
static int
mig_fk_check(sqlite3 *db, char *err, size_t errsz)
{
	sqlite3_stmt *st, *cols;
	char	 first[512] = "";
	int	 rc, n = 0;

	if (sqlite3_prepare_v2(db, sql_mig_fk_check, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "foreign_key_check: %s", sqlite3_errmsg(db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *tbl = (const char *)sqlite3_column_text(st, 0);
		const char *parent = (const char *)sqlite3_column_text(st, 2);
		const char *col = NULL;
		char	 row[32] = "?";

		if (n++ > 0)
			continue;
		/* WITHOUT ROWID tables report no rowid. */
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			snprintf(row, sizeof(row), "%lld", (long long)sqlite3_column_int64(st, 1));
		cols = NULL;
		if (sqlite3_prepare_v2(db, sql_mig_fk_columns, -1, &cols, NULL) == SQLITE_OK) {
			sqlite3_bind_text(cols, sqlite3_bind_parameter_index(cols, ":table"),
			    tbl, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(cols, sqlite3_bind_parameter_index(cols, ":fkid"),
			    sqlite3_column_int64(st, 3));
			if (sqlite3_step(cols) == SQLITE_ROW)
				col = (const char *)sqlite3_column_text(cols, 0);
		}
		snprintf(first, sizeof(first), "%s row %s (%s) references %s, which has no such row",
		    tbl ? tbl : "?", row, col ? col : "?", parent ? parent : "?");
		sqlite3_finalize(cols);
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errsz, "foreign_key_check: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	if (n > 0) {
		snprintf(err, errsz, "foreign_key_check: %d broken reference%s, the first: %s",
		    n, n == 1 ? "" : "s", first);
		return -1;
	}
	return 0;
}

/* 1 when migration v has its row, 0 when not, -1 on error. */
static int
mig_applied(sqlite3 *db, int v, char *err, size_t errsz)
{
	sqlite3_stmt *st;
	int	 rc;

	if (sqlite3_prepare_v2(db, sql_mig_applied, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":version"), v);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errsz, "%s", sqlite3_errmsg(db));
		return -1;
	}
	return rc == SQLITE_ROW;
}

/* The row that says migration v (file name) is applied. */
static int
mig_record(sqlite3 *db, int v, const char *name, char *err, size_t errsz)
{
	sqlite3_stmt *st;
	int	 rc;

	if (sqlite3_prepare_v2(db, sql_mig_record, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":version"), v);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":name"), name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(err, errsz, "recording the version: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Apply one migration file in one transaction: it applies whole or not
 * at all.  A rebuild migration (db.h) runs with foreign keys off, set
 * outside the transaction where the pragma works, is checked with
 * foreign_key_check before COMMIT, and foreign keys are back on when this
 * returns, whichever way it went: the connection leaves as it came.
 */
static int
mig_apply(sqlite3 *db, int v, const char *name, const char *sql, char *err, size_t errsz)
{
	struct mig_guard g = { NULL };
	char	*msg = NULL;
	int	 rebuild = mig_is_rebuild(sql), rc = -1;

	if (rebuild) {
		if (raw_exec(db, sql_mig_rebuild_on, err, errsz) != 0)
			goto restore;
		if (raw_query_int(db, sql_mig_fk_enabled) != 0) {
			snprintf(err, errsz, "foreign keys did not turn off (a transaction is open)");
			goto restore;
		}
	}
	if (raw_exec(db, "BEGIN IMMEDIATE", err, errsz) != 0)
		goto restore;
	sqlite3_set_authorizer(db, mig_authorize, &g);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (g.refused != NULL)
			snprintf(err, errsz, "refused: %s", g.refused);
		else
			snprintf(err, errsz, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_set_authorizer(db, NULL, NULL);
		goto rollback;
	}
	sqlite3_set_authorizer(db, NULL, NULL);
	if (sqlite3_get_autocommit(db)) {
		/* The authorizer should make this impossible; never record a
		 * version for a file whose effects escaped the transaction. */
		snprintf(err, errsz, "the migration ended the runner's transaction");
		goto restore;
	}
	if (rebuild && mig_fk_check(db, err, errsz) != 0)
		goto rollback;
	if (mig_record(db, v, name, err, errsz) != 0 ||
	    raw_exec(db, "COMMIT", err, errsz) != 0)
		goto rollback;
	rc = 0;
	goto restore;
rollback:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
restore:
	if (rebuild) {
		char	 e2[256] = "";

		if (raw_exec(db, sql_mig_rebuild_off, e2, sizeof(e2)) != 0 ||
		    raw_query_int(db, sql_mig_fk_enabled) != 1) {
			if (rc == 0)
				snprintf(err, errsz, "foreign keys could not be turned back on: %s", e2);
			rc = -1;
		}
	}
	return rc;
}

int
db_migrate(struct db *dbh, const char *dir, char *err, size_t errsz)
{
	sqlite3	*db = dbh->h;
	DIR	*d;
	struct dirent *de;
	char	**names = NULL;
	size_t	 n = 0, i;
	int	 have, applied = 0, rc = 0;

	if (raw_exec(db, sql_mig_table, err, errsz) != 0)
		return -1;
	have = db_schema_version(dbh);
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t	 len = strlen(de->d_name);

		if (len > 8 && de->d_name[0] >= '0' && de->d_name[0] <= '9' &&
		    strcmp(de->d_name + len - 4, ".sql") == 0) {
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	/* Two files with one number (two branches that each took the next
	 * one) would both look new on a fresh database and only one on an
	 * old one: refuse before applying anything. */
	for (i = 1; i < n; i++)
		if (atoi(names[i]) == atoi(names[i - 1])) {
			snprintf(err, errsz, "%s and %s have the same number: renumber one",
			    names[i - 1], names[i]);
			rc = -1;
		}
	for (i = 0; i < n && rc == 0; i++) {
		int	 v = atoi(names[i]);
		char	 path[4096], *sql;

		if (v <= have) {
			/* A file numbered below the newest applied one that
			 * never ran (two branches merged out of order) would be
			 * skipped for ever on this database and applied on a
			 * fresh one: the schemas would differ without a word.
			 * Refuse, naming it; renumbering it above the newest
			 * is the fix. */
			int	 a = mig_applied(db, v, err, errsz);

			if (a == 0)
				snprintf(err, errsz, "%s was never applied and is numbered below "
				    "the newest applied migration (%d): renumber it above %d",
				    names[i], have, have);
			if (a != 1)
				rc = -1;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((sql = file_read(path)) == NULL) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		if (mig_apply(db, v, names[i], sql, err, errsz) != 0) {
			char	 tmp[1024];

			snprintf(tmp, sizeof(tmp), "%s: %s", names[i], err);
			snprintf(err, errsz, "%s", tmp);
			rc = -1;
		} else
			applied++;
		free(sql);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc == 0 ? applied : -1;
}

/*
 * Check every statement of sql.c against this database (a statement the
 * schema cannot run fails here, at start-up, not in a customer's
 * request), then keep none of them: db_q prepares each on first use.
 * A worker uses a few dozen of the table's statements; holding all of
 * them prepared cost about 1 MB per process against the 8 MB budget of
 * a worker (DESIGN.md "Memory budget").
 */
int
db_prepare_all(struct db *d, char *err, size_t errsz)
{
	struct stmt *st;
	sqlite3_stmt *s;
	int	 i;

	finalize_all(d);
	st = xcalloc(Q__MAX, sizeof(*st));
	for (i = 0; i < Q__MAX; i++) {
		st[i].id = (enum q)i;
		if (sql_text[i] == NULL ||
		    sqlite3_prepare_v2(d->h, sql_text[i], -1, &s, NULL) != SQLITE_OK) {
			snprintf(err, errsz, "statement %s: %s", sql_name[i] ? sql_name[i] : "?",
			    sql_text[i] ? sqlite3_errmsg(d->h) : "no SQL");
			d->st = st;
			finalize_all(d);
			return -1;
		}
		sqlite3_finalize(s);
	}
	d->st = st;
	return 0;
}

/* Statement id, prepared on first use (db_prepare_all checked it);
 * NULL if it cannot be prepared now (out of memory, schema changed). */
static sqlite3_stmt *
stmt_get(struct db *d, enum q id)
{
	struct stmt *st = &d->st[id];

	if (st->s == NULL && sqlite3_prepare_v3(d->h, sql_text[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &st->s, NULL) != SQLITE_OK) {
		sqlite3_finalize(st->s);
		st->s = NULL;
	}
	return st->s;
}

void
db_reset_all(struct db *d)
{
	int	 i;

	if (d == NULL || d->st == NULL)
		return;
	for (i = 0; i < Q__MAX; i++)
		if (d->st[i].s != NULL && sqlite3_stmt_busy(d->st[i].s))
			sqlite3_reset(d->st[i].s);
	if (d->data_version != NULL)
		sqlite3_reset(d->data_version);
}

/* ---- the unit of work ---- */

void
db_set_arena(struct db *d, struct arena *a)
{
	d->a = a;
}

struct arena *
db_arena(struct db *d)
{
	if (d->a == NULL)
		db_fail(d, "no arena set for this unit of work");
	return d->a;
}

void
db_on_fail(struct db *d, db_fail_fn fn, void *ctx)
{
	d->fail = fn;
	d->fail_ctx = ctx;
}

void
db_fail(struct db *d, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Whatever the unit of work had written goes. */
	db_rollback(d);
	db_reset_all(d);
	if (d->fail == NULL) {
		fprintf(stderr, "1000proxy: database: %s\n", msg);
		exit(1);
	}
	d->fail(d->fail_ctx, msg);
	/* A fail handler that returns breaks the contract: carrying on
	 * after a rolled-back transaction could commit half a change. */
	abort();
}

struct stmt *
db_q(struct db *d, enum q id)
{
	struct stmt *st;

	if (d->st == NULL || (int)id < 0 || id >= Q__MAX)
		db_fail(d, "statement %d used before the statements were prepared", (int)id);
	st = &d->st[id];
	if (stmt_get(d, id) == NULL)
		db_fail(d, "statement %s: %s", sql_name[id], sqlite3_errmsg(d->h));
	sqlite3_reset(st->s);
	sqlite3_clear_bindings(st->s);
	return st;
}

/* The index of :name in st; a name st lacks is a programming error. */
static int
bind_index(struct db *d, struct stmt *st, const char *name)
{
	int	 i = sqlite3_bind_parameter_index(st->s, name);

	if (i == 0)
		db_fail(d, "bind parameter %s not in statement %s", name, sql_name[st->id]);
	return i;
}

/* A bind that fails (out of memory, too big) is a hard error too. */
static void
bind_check(struct db *d, struct stmt *st, const char *name, int rc)
{
	if (rc != SQLITE_OK)
		db_fail(d, "bind %s in %s: %s", name, sql_name[st->id], sqlite3_errstr(rc));
}

void
db_bind_text(struct db *d, struct stmt *st, const char *name, const char *v)
{
	int	 i = bind_index(d, st, name);

	bind_check(d, st, name, v == NULL ? sqlite3_bind_null(st->s, i) :
	    sqlite3_bind_text(st->s, i, v, -1, SQLITE_TRANSIENT));
}

void
db_bind_int(struct db *d, struct stmt *st, const char *name, int64_t v)
{
	bind_check(d, st, name, sqlite3_bind_int64(st->s, bind_index(d, st, name), v));
}

void
db_bind_null(struct db *d, struct stmt *st, const char *name)
{
	bind_check(d, st, name, sqlite3_bind_null(st->s, bind_index(d, st, name)));
}

void
db_bind_blob(struct db *d, struct stmt *st, const char *name, const void *p, size_t n)
{
	int	 i = bind_index(d, st, name);

	if (n > INT32_MAX)
		db_fail(d, "bind %s in %s: blob too large", name, sql_name[st->id]);
	bind_check(d, st, name, sqlite3_bind_blob(st->s, i, p, (int)n, SQLITE_TRANSIENT));
}

/* db_step and db_step_try: try says whether a constraint violation is
 * the caller's to handle (DB_CONSTRAINT) or a hard error. */
static int
step(struct db *d, struct stmt *st, int try)
{
	int	 rc = sqlite3_step(st->s);

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	if (try && (rc & 0xff) == SQLITE_CONSTRAINT) {
		log_sys("db", "%s: expected constraint: %s", sql_name[st->id], sqlite3_errmsg(d->h));
		sqlite3_reset(st->s);
		return DB_CONSTRAINT;
	}
	db_fail(d, "%s: %s (%d)", sql_name[st->id], sqlite3_errmsg(d->h), rc);
}

int
db_step(struct db *d, struct stmt *st)
{
	return step(d, st, 0);
}

int
db_step_try(struct db *d, struct stmt *st)
{
	return step(d, st, 1);
}

void
db_reset(struct stmt *st)
{
	sqlite3_reset(st->s);
}

const char *
db_text(struct db *d, struct stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st->s, col);

	if (t == NULL)
		return "";
	if (d->a == NULL)
		db_fail(d, "%s: text column read with no arena set", sql_name[st->id]);
	return arena_strndup(d->a, (const char *)t, (size_t)sqlite3_column_bytes(st->s, col));
}

int64_t
db_int(struct stmt *st, int col)
{
	return sqlite3_column_int64(st->s, col);
}

int
db_is_null(struct stmt *st, int col)
{
	return sqlite3_column_type(st->s, col) == SQLITE_NULL;
}

const void *
db_blob(struct stmt *st, int col, size_t *n)
{
	const void *p = sqlite3_column_blob(st->s, col);

	*n = (size_t)sqlite3_column_bytes(st->s, col);
	return p;
}

int64_t
db_one_int(struct db *d, struct stmt *st, int64_t dflt)
{
	int64_t	 v = dflt;

	if (db_step(d, st) == DB_ROW && !db_is_null(st, 0))
		v = db_int(st, 0);
	sqlite3_reset(st->s);
	return v;
}

int64_t
db_changes(struct db *d)
{
	return sqlite3_changes(d->h);
}

int64_t
db_last_id(struct db *d)
{
	return sqlite3_last_insert_rowid(d->h);
}

/* BEGIN, COMMIT: a failure (busy past the timeout, a deferred foreign
 * key at COMMIT) is a hard error. */
static void
exec_or_fail(struct db *d, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(d->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		char	 copy[256];

		snprintf(copy, sizeof(copy), "%s", msg ? msg : sqlite3_errmsg(d->h));
		sqlite3_free(msg);
		db_fail(d, "%s: %s", sql, copy);
	}
}

void
db_begin(struct db *d)
{
	exec_or_fail(d, "BEGIN IMMEDIATE");
}

void
db_commit(struct db *d)
{
	exec_or_fail(d, "COMMIT");
}

void
db_rollback(struct db *d)
{
	if (d != NULL && d->h != NULL && !sqlite3_get_autocommit(d->h))
		sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
}

int
db_in_tx(struct db *d)
{
	return !sqlite3_get_autocommit(d->h);
}

int
db_bookkeep(struct db *d, struct stmt *st)
{
	int	 rc;

	/* Inside a transaction the write would share its fate (and its
	 * failure would be the transaction's): refuse, it is a bug. */
	if (!sqlite3_get_autocommit(d->h)) {
		log_sys("db", "%s: bookkeeping write inside a transaction, skipped",
		    sql_name[st->id]);
		sqlite3_reset(st->s);
		return -1;
	}
	d->wait_ms = DB_BOOKKEEP_BUSY_MS;
	rc = sqlite3_step(st->s);
	d->wait_ms = d->busy_ms;
	sqlite3_reset(st->s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	/* Busy, full, read-only: the page is served all the same. */
	log_sys("db", "%s: bookkeeping write skipped: %s (%d)", sql_name[st->id],
	    sqlite3_errmsg(d->h), rc);
	return -1;
}

int64_t
db_peek_int(struct db *d, enum q id, int64_t dflt)
{
	sqlite3_stmt *s;
	int64_t	 v = dflt;

	if (d->st == NULL || (int)id < 0 || id >= Q__MAX)
		return dflt;
	if ((s = stmt_get(d, id)) == NULL)
		return dflt;
	sqlite3_reset(s);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

const char *
db_peek_text(struct db *d, enum q id, struct arena *a)
{
	sqlite3_stmt *s;
	const char *v = NULL;

	if (d->st == NULL || (int)id < 0 || id >= Q__MAX)
		return NULL;
	if ((s = stmt_get(d, id)) == NULL)
		return NULL;
	sqlite3_reset(s);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = arena_strndup(a, (const char *)sqlite3_column_text(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0));
	sqlite3_reset(s);
	return v;
}

int
db_ping(struct db *d)
{
	return db_peek_int(d, Q_HEALTH_PING, -1) >= 0 ? 0 : -1;
}

/* One integer from a fixed pragma query, -1 on an error. */
static int64_t
pragma_count(struct db *d, const char *sql)
{
	sqlite3_stmt *st;
	int64_t	 v = -1;

	if (sqlite3_prepare_v2(d->h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int64_t
db_integrity_problems(struct db *d)
{
	return pragma_count(d, "SELECT count(*) FROM pragma_integrity_check "
	    "WHERE integrity_check <> 'ok'");
}

int64_t
db_foreign_key_problems(struct db *d)
{
	return pragma_count(d, "SELECT count(*) FROM pragma_foreign_key_check");
}

int64_t
db_data_version(struct db *d)
{
	int64_t	 v = -1;

	if (d->data_version == NULL &&
	    sqlite3_prepare_v3(d->h, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
	    &d->data_version, NULL) != SQLITE_OK)
		return -1;
	sqlite3_reset(d->data_version);
	if (sqlite3_step(d->data_version) == SQLITE_ROW)
		v = sqlite3_column_int64(d->data_version, 0);
	sqlite3_reset(d->data_version);
	return v;
}

int64_t
db_total_changes(struct db *d)
{
#if SQLITE_VERSION_NUMBER >= 3037000
	return sqlite3_total_changes64(d->h);
#else
	return sqlite3_total_changes(d->h);
#endif
}

/*
 * A LIKE pattern that finds s anywhere, its own % _ and \ escaped: for
 * statements that say ESCAPE '\' (the staff searches).  In arena a.
 */
const char *
db_like_contains(struct arena *a, const char *s)
{
	size_t	 n = strlen(s), i, j = 0;
	char	*p = arena_alloc(a, 2 * n + 3);

	p[j++] = '%';
	for (i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			p[j++] = '\\';
		p[j++] = s[i];
	}
	p[j++] = '%';
	p[j] = '\0';
	return p;
}

/*
 * backup16: the online copy.  sqlite3_backup_step(-1) copies every page
 * in one step under one read transaction: in WAL mode that is a
 * snapshot of the last commit that neither blocks the service's
 * writers nor is restarted by them (stepping a few pages at a time
 * would restart the copy after every write by another connection, and
 * might never finish on a busy shop).  The online backup API rather
 * than VACUUM INTO: it needs no SQL text outside sql.c's table, keeps
 * the page layout byte for byte (no rebuild of every index while the
 * shop runs), and has no SQL statement an attacker-chosen path could
 * be spliced into.
 */
int
db_backup(struct db *d, const char *dest, char *err, size_t errsz)
{
	sqlite3		*to = NULL;
	sqlite3_backup	*b;
	int		 rc;

	rc = sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", dest, to ? sqlite3_errmsg(to) : sqlite3_errstr(rc));
		sqlite3_close(to);
		return -1;
	}
	b = sqlite3_backup_init(to, "main", d->h, "main");
	if (b == NULL) {
		snprintf(err, errsz, "%s: %s", dest, sqlite3_errmsg(to));
		sqlite3_close(to);
		return -1;
	}
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errsz, "%s: %s", dest, sqlite3_errstr(rc));
		sqlite3_close(to);
		return -1;
	}
	/* The copy is one self-contained file: no -wal beside it. */
	sqlite3_exec(to, sql_backup_journal, NULL, NULL, NULL);
	if (sqlite3_close(to) != SQLITE_OK) {
		snprintf(err, errsz, "%s: close failed", dest);
		return -1;
	}
	return 0;
}
