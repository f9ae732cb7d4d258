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

#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "password.h"
#include "util.h"

static int
read_secret(const char *prompt, char *out, size_t n)
{
	struct termios old, quiet;
	int	 tty = isatty(0);

	if (tty) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(0, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &quiet);
	}
	if (fgets(out, (int)n, stdin) == NULL)
		out[0] = '\0';
	if (tty) {
		tcsetattr(0, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	out[strcspn(out, "\r\n")] = '\0';
	return tty;
}

static int
valid_email(const char *e)
{
	const char *at = strchr(e, '@');
	size_t	 i, n = strlen(e);

	if (n < 3 || n > 254 || at == NULL || at == e || strchr(at + 1, '@') != NULL ||
	    strchr(at, '.') == NULL || at[1] == '.' || e[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)e[i] <= ' ' || e[i] == '<' || e[i] == '>' || e[i] == '"' ||
		    e[i] == ',' || e[i] == ';' || (unsigned char)e[i] >= 0x7f)
			return 0;
	return 1;
}

static int
user_add(const struct conf *c, int argc, char **argv)
{
	const char *role = "super_admin", *name = "", *email = NULL, *why;
	char	 pw[256], pw2[256], phc[PHC_MAX], err[512];
	sqlite3	*db;
	sqlite3_stmt *st = NULL;
	int	 i, tty, rc = 1, step;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
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
	tty = read_secret("Password: ", pw, sizeof(pw));
	if (tty) {
		read_secret("Again: ", pw2, sizeof(pw2));
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
	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	if (db_schema_version(db) < PX_SCHEMA_VERSION) {
		fprintf(stderr, "1000proxy: the database is behind: run `1000proxy migrate`\n");
		goto out;
	}
	if (db_exec(db, "BEGIN IMMEDIATE", err, sizeof(err)) != 0)
		goto fail;
	if (sqlite3_prepare_v2(db, "INSERT INTO staff (email, name, password_hash, role_id) "
	    "SELECT ?1, ?2, ?3, id FROM roles WHERE name = ?4", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, phc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if ((step & 0xff) == SQLITE_CONSTRAINT) {
		fprintf(stderr, "1000proxy: a staff account with that email exists\n");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if (step != SQLITE_DONE)
		goto fail;
	if (sqlite3_changes(db) != 1) {
		fprintf(stderr, "1000proxy: no role \"%s\" (super_admin, manager, support, analyst)\n", role);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "INSERT INTO audit_log (actor_kind, action, target, detail) "
	    "VALUES ('system', 'staff.create', 'staff:' || ?1, 'role ' || ?2 || ' via command line')",
	    -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(db));
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	if (db_exec(db, "COMMIT", err, sizeof(err)) != 0)
		goto fail;
	printf("staff account %s created with role %s; TOTP enrolment happens at the first sign-in\n",
	    email, role);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "1000proxy: %s\n", sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static int
user_list(const struct conf *c)
{
	char	 err[512];
	sqlite3	*db;
	sqlite3_stmt *st;

	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	if (sqlite3_prepare_v2(db, "SELECT s.email, r.name, s.state, s.totp_enabled_at IS NOT NULL "
	    "FROM staff s JOIN roles r ON r.id = s.role_id ORDER BY s.email", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "1000proxy: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("%s\t%s\t%s\t%s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2), sqlite3_column_int(st, 3) ? "totp" : "no-totp");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}

int
cmd_user(const struct conf *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return user_add(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return user_list(c);
	fprintf(stderr, "usage: 1000proxy user add [--role ROLE] [--name NAME] EMAIL\n"
	    "       1000proxy user list\n");
	return 2;
}
