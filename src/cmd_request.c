/*
 * cmd_request.c: `request`, one CGI request answered from the
 * environment and stdin, for tests and for debugging a page by hand.
 */
#include "config.h"

#include <stdio.h>

#include "cmd.h"
#include "pool.h"

int
cmd_request(const struct conf *c, int argc, char **argv)
{
	struct app app;
	char	 err[1024];
	int	 rc;

	(void)argc;
	(void)argv;
	if (app_init(&app, c, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: %s\n", err);
		app_fini(&app);
		return 1;
	}
	rc = worker_cgi(&app);
	app_fini(&app);
	return rc;
}
