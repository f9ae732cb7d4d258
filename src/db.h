/*
 * db.h: the one way to open the database, the migrations, and the
 * statement helpers every handler uses.
 *
 * The error contract:
 *  - db_step() returns DB_ROW or DB_DONE.  A constraint violation
 *    (UNIQUE, CHECK, FOREIGN KEY) returns DB_CONSTRAINT so the handler can
 *    answer 400 or 409.  Any other error rolls back the open transaction,
 *    logs the SQLite message with the request id and ends the request
 *    with a 500 page that shows no SQL (req_fail does not return).
 *  - A bind name that the statement does not have is a programming error:
 *    500, logged, the request ends.
 *  - Every statement is reset when the request ends, so no read
 *    transaction outlives its request.
 */
#ifndef PX_DB_H
#define PX_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "sql.h"

struct request;

/* The schema version this binary needs (the highest migration number). */
#define PX_SCHEMA_VERSION 8

enum { DB_DONE = 0, DB_ROW = 1, DB_CONSTRAINT = -1 };

/* Open with WAL, busy timeout, foreign keys, defensive mode, trusted_schema
 * off, double-quoted strings off, synchronous=FULL.  NULL with err set. */
sqlite3	*db_open(const char *path, int64_t cache_kb, char *err, size_t errsz);
int	 db_schema_version(sqlite3 *);
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
int	 db_migrate(sqlite3 *, const char *dir, char *err, size_t errsz);
/* The first column of the first row of sql (one of sql.h's strings) as
 * an int, or -1 when there is none or it fails. */
int	 db_query_int(sqlite3 *, const char *sql);
/* Prepare every statement of sql.c; -1 with err naming the first bad one. */
int	 db_prepare_all(sqlite3 *, sqlite3_stmt ***out, char *err, size_t errsz);
void	 db_finalize_all(sqlite3_stmt **);
void	 db_reset_all(sqlite3_stmt **);
/* Run a script (no results) outside the statement table. */
int	 db_exec(sqlite3 *, const char *sql, char *err, size_t errsz);

/* Request-side helpers (they end the request on a hard error). */
sqlite3_stmt *db_q(struct request *, enum q);
void	 db_bind_text(struct request *, sqlite3_stmt *, const char *name, const char *);
void	 db_bind_int(struct request *, sqlite3_stmt *, const char *name, int64_t);
void	 db_bind_null(struct request *, sqlite3_stmt *, const char *name);
/* Bind n bytes of p as a BLOB (copied). */
void	 db_bind_blob(struct request *, sqlite3_stmt *, const char *name, const void *p, size_t n);
int	 db_step(struct request *, sqlite3_stmt *);
/* Column values; text is copied into the request arena ("" for NULL). */
const char *db_text(struct request *, sqlite3_stmt *, int col);
int64_t	 db_int(sqlite3_stmt *, int col);
int	 db_is_null(sqlite3_stmt *, int col);
/* One integer from a statement's first row, or dflt. */
int64_t	 db_one_int(struct request *, sqlite3_stmt *, int64_t dflt);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK on the worker's connection. */
void	 db_begin(struct request *);
void	 db_commit(struct request *);
void	 db_rollback(struct request *);

#endif
