/*
 * tap.c: the Test Anything Protocol lines of the test commands (tap.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

int	 tap_n, tap_fail;
const char *tap_prefix = "";

void
tap_ok(int cond, const char *what)
{
	tap_n++;
	if (!cond)
		tap_fail++;
	printf("%sok %d - %s%s\n", cond ? "" : "not ", tap_n, tap_prefix, what);
}

void
tap_is_str(const char *got, const char *want, const char *what)
{
	int	 same = got && want && strcmp(got, want) == 0;

	tap_ok(same, what);
	if (!same)
		printf("#   got:  \"%s\"\n#   want: \"%s\"\n", got ? got : "(null)", want ? want : "(null)");
}

void
tap_is_int(int64_t got, int64_t want, const char *what)
{
	tap_ok(got == want, what);
	if (got != want)
		printf("#   got:  %" PRId64 "\n#   want: %" PRId64 "\n", got, want);
}

int
tap_plan(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}
