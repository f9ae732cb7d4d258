/*
 * cmd_user.c: `1000proxy user add [--role ROLE] [--name NAME] EMAIL`,
 * which creates a staff account from the command line (the first admin
 * of a new shop), and `user list`.
 *
 * The password is read from standard input (first line), or asked for
 * twice without echo when standard input is a terminal.  It must pass
 * the password policy.  Staff enrol TOTP at their first sign-in.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "audit.h"
#include "cmd.h"
#include "mfa_reset.h"
#include "conf.h"
#include "db.h"
#include "password.h"
#include "util.h"
#include "valid.h"

static int
user_add(const struct conf *c, int argc, char **argv)
{
	const char *role = "super_admin", *name = "", *email = NULL, *why;
	static const struct actor cli = { "cli", 0, NULL, NULL };
	char	 pw[PASSWORD_INPUT_MAX + 2], pw2[PASSWORD_INPUT_MAX + 2], phc[PHC_MAX], err[512];
	struct db *db;
	struct stmt *st;
	struct arena *a;
	int	 i, tty, rc = 1, test_fail_after_audit = 0;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--test-fail-after-audit") == 0 && c->test_routes)
			/* Test mode only (test_routes = yes; t/15-dblayer.t): break a
			 * constraint after the staff row and its audit row, to show
			 * that a command's transaction rolls back whole. */
			test_fail_after_audit = 1;
		else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: 1000proxy user add [--role ROLE] [--name NAME] EMAIL\n");
			return 2;
		} else
			email = argv[i];
	}
	if (email == NULL) {
		fprintf(stderr, "usage: 1000proxy user add [--role ROLE] [--name NAME] EMAIL\n");
		return 2;
	}
	if (!valid_email(email)) {
		fprintf(stderr, "1000proxy: \"%s\" is not a valid email address\n", email);
		return 1;
	}
	if (strlen(name) > 100 || !utf8_valid(name, strlen(name), 0)) {
		fprintf(stderr, "1000proxy: the name must be at most 100 characters of text\n");
		return 1;
	}
	tty = cmd_read_secret("Password: ", pw, sizeof(pw));
	if (tty) {
		cmd_read_secret("Again: ", pw2, sizeof(pw2));
		if (strcmp(pw, pw2) != 0) {
			fprintf(stderr, "1000proxy: the passwords differ\n");
			return 1;
		}
	}
	if ((why = password_policy(c, pw, email)) != NULL) {
		fprintf(stderr, "1000proxy: %s\n", why);
		return 1;
	}
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	if (password_hash(c, pw, phc) != 0) {
		fprintf(stderr, "1000proxy: could not hash the password\n");
		return 1;
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(pw2, sizeof(pw2));
	/* A database error ends the command (db.h): the transaction rolls
	 * back, the message goes to stderr, exit status 1. */
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	db_set_arena(db, a = arena_new(1024));
	db_begin(db);
	st = db_q(db, Q_STAFF_CREATE);
	db_bind_text(db, st, ":email", email);
	db_bind_text(db, st, ":name", name);
	db_bind_text(db, st, ":hash", phc);
	db_bind_text(db, st, ":role", role);
	/* The one constraint expected here: the email's UNIQUE. */
	if (db_step_try(db, st) == DB_CONSTRAINT) {
		fprintf(stderr, "1000proxy: a staff account with that email exists\n");
		goto out;
	}
	if (db_changes(db) != 1) {
		fprintf(stderr, "1000proxy: no role \"%s\" (super_admin, manager, support, analyst)\n", role);
		goto out;
	}
	audit(db, &cli, "staff.create", arena_printf(a, "staff:%lld", (long long)db_last_id(db)),
	    "role %s via command line", role);
	if (test_fail_after_audit)
		db_step(db, db_q(db, Q_TEST_CONSTRAINT));
	db_commit(db);
	printf("staff account %s created with role %s; TOTP enrolment happens at the first sign-in\n",
	    email, role);
	rc = 0;
out:
	db_rollback(db);
	db_close(db);
	arena_free(a);
	return rc;
}

static int
user_list(const struct conf *c)
{
	char	 err[512];
	struct db *db;
	struct stmt *st;
	struct arena *a;

	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	db_set_arena(db, a = arena_new(4096));
	st = db_q(db, Q_STAFF_LIST_ALL);
	while (db_step(db, st) == DB_ROW) {
		printf("%s\t%s\t%s\t%s\n", db_text(db, st, 0), db_text(db, st, 1),
		    db_text(db, st, 2), db_int(st, 3) ? "totp" : "no-totp");
		arena_reset(a);
	}
	db_close(db);
	arena_free(a);
	return 0;
}

int
cmd_user(const struct conf *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return user_add(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return user_list(c);
	if (argc >= 2 && strcmp(argv[1], "reset-2fa") == 0)
		return cmd_user_reset_2fa(c, argc, argv);
	fprintf(stderr, "usage: 1000proxy user add [--role ROLE] [--name NAME] EMAIL\n"
	    "       1000proxy user list\n"
	    "       1000proxy user reset-2fa EMAIL\n");
	return 2;
}
