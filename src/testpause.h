/*
 * testpause.h: named pause points for the kill -9 tests (test mode
 * only; t/83-checkout-kill.t).
 *
 * A unit of work that must be all-or-nothing under a crash (the
 * checkout transaction) calls test_pause("checkout:debit") between its
 * steps.  In production (test_routes = no, or test_pause_file unset)
 * that is one pointer test.  In test mode, when the file named by
 * test_pause_file holds exactly that point's name, the process writes
 * "POINT PID\n" to the file's name with ".hit" appended (tmp and
 * rename: never half-written) and waits, for as long as the file still
 * names the point (at most 60 s), so that the test can SIGKILL it
 * there.  conf_load() sets the file, as it sets the test clock.
 */
#ifndef PX_TESTPAUSE_H
#define PX_TESTPAUSE_H

/* The pause file (NULL or "": none); copied.  conf_load() calls it. */
void	test_pause_use_file(const char *path);
/* Pause at point if the pause file names it (see above). */
void	test_pause(const char *point);

#endif
