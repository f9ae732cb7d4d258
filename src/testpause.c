/*
 * testpause.c: named pause points for the kill -9 tests (testpause.h).
 * Like the test clock (util.c), the file is set once per configuration
 * load, only when test_routes is on, and read on every call: a test
 * arms a point by writing one file and every process of its stack sees
 * it at once.  A process-wide variable is the honest shape for the same
 * reason as the clock's: it is part of the process's environment, not
 * of any request.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testpause.h"
#include "util.h"

static char	*pause_file;

/* How long a paused process waits for the test to kill it before it
 * gives up and goes on (a test that forgot it must not hang the suite). */
#define PAUSE_MAX_MS	60000

void
test_pause_use_file(const char *path)
{
	free(pause_file);
	pause_file = path != NULL && *path != '\0' ? xstrdup(path) : NULL;
}

/* Whether the pause file holds exactly point (a trailing newline
 * allowed). */
static int
armed(const char *point)
{
	char	 b[128];
	ssize_t	 n;
	size_t	 len = strlen(point);
	int	 fd;

	if ((fd = open(pause_file, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = '\0';
	if (b[n - 1] == '\n')
		b[--n] = '\0';
	return (size_t)n == len && memcmp(b, point, len) == 0;
}

/* Write "POINT PID" to the .hit file, whole or not at all. */
static void
hit(const char *point)
{
	char	 path[4096], tmp[4200], line[160];
	int	 fd, len;

	snprintf(path, sizeof(path), "%s.hit", pause_file);
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	len = snprintf(line, sizeof(line), "%s %ld\n", point, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "1000proxy: test pause %s: %s\n", tmp, strerror(errno));
		return;
	}
	if (write(fd, line, (size_t)len) != len || close(fd) != 0 || rename(tmp, path) != 0)
		fprintf(stderr, "1000proxy: test pause %s: %s\n", path, strerror(errno));
}

void
test_pause(const char *point)
{
	int	 ms;

	if (pause_file == NULL || !armed(point))
		return;
	hit(point);
	for (ms = 0; ms < PAUSE_MAX_MS && armed(point); ms += 10)
		usleep(10000);
}
