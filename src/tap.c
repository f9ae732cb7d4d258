/*
 * tap.c: the Test Anything Protocol lines of the test commands (tap.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "db.h"
#include "tap.h"
#include "util.h"

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

struct db *
tap_db_open(char *dir, const char *sqldir, const char *fixture)
{
	char	 path[512], err[1024] = "";
	struct db *db;

	if (mkdtemp(dir) == NULL) {
		tap_ok(0, "a temp directory");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/t.db", dir);
	if ((db = db_open(path, 2048, err, sizeof(err))) == NULL ||
	    db_migrate(db, sqldir, err, sizeof(err)) < 0 ||
	    db_prepare_all(db, err, sizeof(err)) != 0 ||
	    db_exec(db, fixture, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		tap_ok(0, "a migrated database");
		if (db != NULL)
			db_close(db);
		return NULL;
	}
	return db;
}

void
tap_db_close(struct db *db, const char *dir)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char	 path[512];
	size_t	 i;

	if (db != NULL)
		db_close(db);
	for (i = 0; i < NELEM(sfx); i++) {
		snprintf(path, sizeof(path), "%s/t.db%s", dir, sfx[i]);
		unlink(path);
	}
	rmdir(dir);
}
