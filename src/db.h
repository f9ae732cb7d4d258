/*
 * db.h: the one data layer.  Every process (a web worker's requests,
 * the `work` daemon's job attempts, every cron task and subcommand)
 * holds a struct db: the connection, the statement table of sql.c
 * (each statement prepared once) and the error path.  Nothing outside
 * db.c sees a SQLite type or calls SQLite; a second backend would be a
 * second statement table and a second db.c behind this same header
 * (README.md, "Where a PostgreSQL backend would go"; DESIGN.md).
 *
 * The error contract, the same in every process:
 *  - A unit of work (a request, a job attempt, a command) sets its
 *    arena (db_set_arena: text columns are copied there) and its fail
 *    handler (db_on_fail) on the db before it runs SQL.
 *  - db_step() returns DB_ROW or DB_DONE, nothing else.  Any other
 *    outcome, a constraint violation (UNIQUE, CHECK, FOREIGN KEY, NOT
 *    NULL) included, is a hard error: the open transaction is rolled
 *    back, every statement reset, and the fail handler ends the unit of
 *    work; it never returns.  For a request it is req_fail(500): the
 *    request ends with a page that shows no SQL, the worker goes on.
 *    For a job attempt it is a longjmp back to the attempt, which is
 *    retried or failed, and the daemon goes on.  For a command (the
 *    default handler) it is the message on stderr and exit status 1.
 *  - The few places that expect a constraint violation (a unique email
 *    on register, an idempotent insert) call db_step_try(), which
 *    returns DB_CONSTRAINT for it (the statement is reset; an open
 *    transaction stays open and usable) and is otherwise db_step().
 *  - Binding a name the statement does not have, or running SQL before
 *    the statements are prepared, is a programming error: a hard error.
 *  - Every statement is reset at the end of the unit of work
 *    (db_reset_all), so no read transaction outlives it.
 *  - Bookkeeping writes that must never fail a page (a session's
 *    last-seen time, a token's last use, deleting an expired session)
 *    go through db_bookkeep(): outside any transaction, a short busy
 *    wait, and a failure is logged and swallowed.
 */
#ifndef PX_DB_H
#define PX_DB_H

#include <stddef.h>
#include <stdint.h>

#include "sql.h"
#include "util.h"

struct arena;
struct db;
struct stmt;	/* one prepared statement of the table; owned by its db */

/* The schema version this binary needs (the highest migration number). */
#define PX_SCHEMA_VERSION 32

enum { DB_DONE = 0, DB_ROW = 1, DB_CONSTRAINT = -1 };

/*
 * A unit of work's fail handler: msg is the error (it may name SQL and
 * is for logs only).  It must not return (longjmp or exit); if it does,
 * db.c aborts.
 */
typedef void (*db_fail_fn)(void *ctx, const char *msg);

/* Open with WAL, busy timeout, foreign keys, defensive mode, trusted_schema
 * off, double-quoted strings off, synchronous=FULL.  The statements are
 * not prepared yet (a database before its first migration has no tables):
 * db_prepare_all.  NULL with err set. */
struct db *db_open(const char *path, int64_t cache_kb, char *err, size_t errsz);
/* db_open, the schema version check, and db_prepare_all: what every
 * process but `migrate` wants.  NULL with err set. */
struct db *db_open_ready(const char *path, int64_t cache_kb, char *err, size_t errsz);
void	 db_close(struct db *);
/* How long a statement waits for another connection's write lock
 * before it is a hard error (default 5 s). */
void	 db_set_busy_ms(struct db *, int ms);
/* "%s%" with s's own % _ and \ escaped, for LIKE ... ESCAPE '\'. */
const char *db_like_contains(struct arena *, const char *s);
int	 db_schema_version(struct db *);
/*
 * Apply every migration in dir newer than the database, in order, each
 * in one BEGIN IMMEDIATE transaction with its schema_migrations row.
 * Returns the number applied, or -1 with err naming the file and why.
 *
 * The rules for migration authors (sql/README.md):
 *  - One number, one file: a duplicate number is refused before any
 *    file applies.
 *  - A file never says BEGIN, COMMIT, ROLLBACK, PRAGMA foreign_keys or
 *    PRAGMA legacy_alter_table; the runner refuses them.
 *  - A file whose first line is "-- px:rebuild" may drop and re-create
 *    referenced tables (SQLite's 12-step rebuild): the runner turns
 *    foreign keys off outside the transaction and legacy_alter_table on,
 *    runs the file, refuses to COMMIT while PRAGMA foreign_key_check
 *    reports any row (err names the table, row, column and parent; the
 *    file is rolled back whole), and turns foreign keys back on whether
 *    the file applied or not.  The file re-creates the indexes and
 *    triggers of each table it rebuilds.
 */
int	 db_migrate(struct db *, const char *dir, char *err, size_t errsz);
/* The first column of the first row of sql (one of sql.h's strings) as
 * an int, or -1 when there is none or it fails; never calls the fail
 * handler. */
int	 db_query_int(struct db *, const char *sql);
/* Prepare every statement of sql.c; -1 with err naming the first bad one. */
int	 db_prepare_all(struct db *, char *err, size_t errsz);
/* Reset every statement (end of a unit of work). */
void	 db_reset_all(struct db *);
/* Run a script (no results) outside the statement table: migrations and
 * the seed.  0, or -1 with err set; never calls the fail handler. */
int	 db_exec(struct db *, const char *sql, char *err, size_t errsz);
/* The same in one BEGIN IMMEDIATE transaction: all of it or none. */
int	 db_exec_tx(struct db *, const char *sql, char *err, size_t errsz);

/* The unit of work's arena and fail handler (fn NULL: the default,
 * message on stderr and exit(1)). */
void	 db_set_arena(struct db *, struct arena *);
void	 db_on_fail(struct db *, db_fail_fn fn, void *ctx);
/* The unit of work's arena (a hard error when none is set). */
struct arena *db_arena(struct db *);
/* Roll back, reset, and end the unit of work through its fail handler. */
void	 db_fail(struct db *, const char *fmt, ...) PX_PRINTF(2, 3) PX_NORETURN;

/* The statement id, reset and with its bindings cleared. */
struct stmt *db_q(struct db *, enum q);
void	 db_bind_text(struct db *, struct stmt *, const char *name, const char *);
void	 db_bind_int(struct db *, struct stmt *, const char *name, int64_t);
void	 db_bind_null(struct db *, struct stmt *, const char *name);
/* Bind n bytes of p as a BLOB (copied). */
void	 db_bind_blob(struct db *, struct stmt *, const char *name, const void *p, size_t n);
/* DB_ROW or DB_DONE; anything else ends the unit of work. */
int	 db_step(struct db *, struct stmt *);
/* As db_step, but a constraint violation returns DB_CONSTRAINT. */
int	 db_step_try(struct db *, struct stmt *);
/* Reset a statement early (ends its read; keeps its bindings). */
void	 db_reset(struct stmt *);
/* Column values; text is copied into the db's arena ("" for NULL). */
const char *db_text(struct db *, struct stmt *, int col);
int64_t	 db_int(struct stmt *, int col);
int	 db_is_null(struct stmt *, int col);
/* A BLOB column: valid until the statement steps or resets; *n its size. */
const void *db_blob(struct stmt *, int col, size_t *n);
/* One integer from a statement's first row, or dflt; the statement is reset. */
int64_t	 db_one_int(struct db *, struct stmt *, int64_t dflt);
/* Rows changed by the last INSERT, UPDATE or DELETE on this connection. */
int64_t	 db_changes(struct db *);
/* The rowid of the last INSERT on this connection. */
int64_t	 db_last_id(struct db *);

/*
 * Limit the page cache to kb KiB (never above the configured
 * cache_size_kb); 0 puts the configured size back.  For a read that
 * walks far more pages than it will read again (a CSV export): a cache
 * it fills to its configured size stays resident in the worker after
 * (DESIGN.md, memory budget).  The worker puts it back after every
 * request.
 */
void	 db_cache_limit(struct db *, int64_t kb);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback: harmless outside one). */
void	 db_begin(struct db *);
void	 db_commit(struct db *);
void	 db_rollback(struct db *);
int	 db_in_tx(struct db *);

/* A bookkeeping write (see the contract): steps st outside any
 * transaction with a short busy wait.  0, or -1 (logged, swallowed). */
int	 db_bookkeep(struct db *, struct stmt *);

/* Whether the database answers a trivial query: 0, or -1 (no fail
 * handler: /healthz answers 503 then). */
int	 db_ping(struct db *);
/* The first column of the first row of a statement without parameters,
 * or dflt on no row or any error, without the fail handler: for code
 * outside a unit of work's error path (the page cache's validator). */
int64_t	 db_peek_int(struct db *, enum q, int64_t dflt);
/* The same for text, copied into a: NULL when there is no row or on an error. */
const char	*db_peek_text(struct db *, enum q, struct arena *);
/* `check`'s integrity and foreign-key checks: how many problems, -1 on
 * an error (no fail handler). */
int64_t	 db_integrity_problems(struct db *);
int64_t	 db_foreign_key_problems(struct db *);
/* PRAGMA data_version: moves when another connection commits. */
int64_t	 db_data_version(struct db *);
/* Rows this connection has changed since it opened. */
int64_t	 db_total_changes(struct db *);

/* backup16: copy the whole database, as of its last commit, into the
 * new file dest while others write (db.c says how).  0, or -1 with err. */
int	 db_backup(struct db *, const char *dest, char *err, size_t errsz);

#endif
