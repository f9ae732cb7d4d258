/*
 * panel_default.c: the 3X-UI panel's default credentials (ASVS V2.10.2).
 *
 * A fresh 3X-UI (and x-ui, which it grew from) creates its first user
 * as admin/admin (database/db.go, initUser) unless the installer sets
 * others; a docker image started without them keeps that.  The shop acts as that user on the panel, so a panel still
 * signed into with a default pair is one anyone can drive.  The server
 * form and `server add` refuse such a pair; a server stored before this
 * check is flagged on the servers page and in /healthz's staff detail
 * (the password is sealed, so the flag is computed by opening it).
 *
 * A password equal to the username is refused too (root/root and the
 * like): that is the shape a factory default takes, and no real panel
 * password is its own username.
 */
#include "config.h"

#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "db.h"
#include "panel_default.h"
#include "seal.h"
#include "sql.h"

static const struct { const char *user, *pass; } defaults[] = {
	{ "admin", "admin" },		/* 3X-UI, x-ui: initUser and the docker images */
};

int
panel_creds_default(const char *user, const char *pass, size_t n)
{
	size_t	 i;

	/* Usernames compared without case: the panel's are, in practice,
	 * typed either way and the attacker tries both. */
	if (strlen(user) == n && strncasecmp(user, pass, n) == 0)
		return 1;
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (strcasecmp(user, defaults[i].user) == 0 && strlen(defaults[i].pass) == n &&
		    memcmp(pass, defaults[i].pass, n) == 0)
			return 1;
	return 0;
}

int
panel_server_default(struct db *db, const unsigned char *key, int64_t id)
{
	struct stmt *st = db_q(db, Q_PANEL_DEFAULT_GET);
	unsigned char pt[1024];
	const void *blob;
	char	 aad[64], user[256];
	size_t	 n, len;
	int	 rc = 0;

	db_bind_int(db, st, ":id", id);
	if (key != NULL && db_step(db, st) == DB_ROW && !db_is_null(st, 1)) {
		snprintf(user, sizeof(user), "%s", db_text(db, st, 0));
		snprintf(aad, sizeof(aad), "server:%lld:panel_password", (long long)id);
		blob = db_blob(st, 1, &n);
		if (unseal(pt, sizeof(pt), &len, key, blob, n, aad) == 0)
			rc = panel_creds_default(user, (const char *)pt, len);
	}
	db_reset(st);
	explicit_bzero(pt, sizeof(pt));
	return rc;
}
