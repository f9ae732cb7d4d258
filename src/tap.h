/*
 * tap.h: the Test Anything Protocol lines of the test commands
 * (cmd_test*.c: test-unit, test-stripe, test-paypal, test-nowpay), one
 * count for the process, so that cases kept in several files number on
 * from each other and one plan line ends them.
 */
#ifndef PX_TAP_H
#define PX_TAP_H

#include <stdint.h>

extern int	 tap_n, tap_fail;
/* Put before every case's name ("payment: "); "" by default. */
extern const char *tap_prefix;

/* "ok N - what", or "not ok N - what" when cond is 0. */
void	tap_ok(int cond, const char *what);
/* tap_ok of got == want, saying both when they differ (NULL is "(null)"). */
void	tap_is_str(const char *got, const char *want, const char *what);
void	tap_is_int(int64_t got, int64_t want, const char *what);
struct db;

/*
 * A throwaway database for the cases that need one (cmd_test_payment.c,
 * cmd_test_refund.c): a fresh directory from dir (a mkdtemp template,
 * changed in place), migrated from sqldir, every statement prepared,
 * fixture (a SQL script) run.  The connection, or NULL after a failed
 * "not ok" line; tap_db_close() closes it (NULL is fine) and removes the
 * files and the directory.
 */
struct db *tap_db_open(char *dir, const char *sqldir, const char *fixture);
void	tap_db_close(struct db *, const char *dir);

/* The plan line "1..N"; the exit status: 1 when a case failed. */
int	tap_plan(void);

#endif
