/*
 * cmd_mail.c: `mail-test`, a test email through the spool and the
 * email job (job_email.c), to check the SMTP settings.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "mailq.h"
#include "spool.h"
#include "util.h"
#include "valid.h"

/*
 * mail-test [-k KEY] TO: enqueue the test email (views/emails/test.txt)
 * to TO and wake the work daemon.  -k fixes the idempotency key, so
 * running it twice sends once.
 */
int
cmd_mail_test(const struct conf *c, int argc, char **argv)
{
	struct json_object *vars;
	char	 err[1024], key[64], rnd[17];
	unsigned char r[8];
	const char *to, *ukey = NULL;
	struct db *db;
	int64_t	 id;
	int	 i = 1;

	if (argc >= 3 && strcmp(argv[1], "-k") == 0) {
		ukey = argv[2];
		i = 3;
	}
	if (argc != i + 1) {
		fprintf(stderr, "usage: 1000proxy mail-test [-k key] address\n");
		return 2;
	}
	to = argv[i];
	if (!valid_email(to)) {
		fprintf(stderr, "1000proxy: mail-test: \"%s\" is not a plain local@domain address\n", to);
		return 2;
	}
	if (ukey == NULL) {
		random_bytes(r, sizeof(r));
		hex_encode(rnd, r, sizeof(r));
		snprintf(key, sizeof(key), "mail-test:%s", rnd);
		ukey = key;
	}
	/* A database error ends the command (db.h): stderr, exit 1. */
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	vars = json_object_new_object();
	json_object_object_add(vars, "address", json_object_new_string(to));
	db_begin(db);
	id = mailq_add_db(db, to, "emails/test", vars, ukey);
	db_commit(db);
	db_close(db);
	spool_wake(c, id, "email");
	printf("job %" PRId64 "\n", id);
	return 0;
}
