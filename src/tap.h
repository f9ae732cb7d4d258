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
/* The plan line "1..N"; the exit status: 1 when a case failed. */
int	tap_plan(void);

#endif
