/*
 * cmd_key.c: `1000proxy key init`, which makes the key file that seals
 * secrets at rest (key_file), once.  The package's postinst runs it as
 * the service user (runuser -u 1000proxy -- 1000proxy key init), so the
 * key belongs to the service and nobody else can read it; `migrate` and
 * `serve` make it too on their first start when it is missing.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "seal.h"

int
cmd_key(const struct conf *c, int argc, char **argv)
{
	char	 err[1024];

	if (argc != 2 || strcmp(argv[1], "init") != 0) {
		fprintf(stderr, "usage: 1000proxy key init\n");
		return 2;
	}
	/* Never over an existing key: what it sealed would be lost. */
	if (seal_key_init(c->key_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: key init: %s\n", err);
		return 1;
	}
	printf("created the key file %s (mode 0600)\n", c->key_file);
	return 0;
}
