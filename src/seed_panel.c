/*
 * seed_panel.c: `1000proxy seed --demo-panel NAME`, the second half of
 * the demo catalog.  `./quickstart demo` runs it after `server add` has
 * made the demo's live panel (the 3X-UI double with v2ray as its core)
 * and `server sync` has imported its inbounds, so plans bind to inbounds
 * the shop synced, never to rows a script made up.
 *
 * In one transaction: the setting demo.panel_server names the server,
 * then sql/demo/panel.sql (readable beside seed.sql) moves the plans of
 * the display-only servers (no panel secret) in the live panel's city
 * onto its inbound of the same protocol, adds the plans a protocol still
 * lacks there, and leaves every other display-only plan on show but sold
 * out, so that any plan a newcomer can buy provisions for real.  One
 * audit row (actor "cli") when it changed anything; running it again
 * changes nothing and says so.
 *
 * Refuses (exit 1, nothing written) a server that does not exist, has no
 * sealed secret, or has not synced an active inbound of each of the four
 * protocols.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "util.h"

int
seed_demo_panel(const struct conf *c, const char *name)
{
	static const struct actor cli = { "cli", 0, NULL, NULL };
	struct stmt *st;
	struct arena *a;
	struct db *db;
	char	 err[1024], path[4096], *sql = NULL;
	int64_t	 sid, sealed, protos, live, sold, before;
	int	 rc = 1, changed;

	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	db_set_arena(db, a = arena_new(4096));
	st = db_q(db, Q_DEMO_PANEL_FIND);
	db_bind_text(db, st, ":name", name);
	if (db_step(db, st) != DB_ROW) {
		fprintf(stderr, "1000proxy: seed --demo-panel: no server named %s (`1000proxy server add` it)\n", name);
		goto out;
	}
	sid = db_int(st, 0);
	sealed = db_int(st, 1);
	protos = db_int(st, 2);
	db_reset(st);
	if (!sealed || protos < 4) {
		fprintf(stderr, "1000proxy: seed --demo-panel: server %s %s\n", name, !sealed ?
		    "has no panel password or token" :
		    "has not synced an inbound of each protocol (run `1000proxy server sync` with `work` running)");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/demo/panel.sql", c->sql_dir);
	if ((sql = file_read(path)) == NULL) {
		fprintf(stderr, "1000proxy: %s: cannot read\n", path);
		goto out;
	}
	db_begin(db);
	st = db_q(db, Q_DEMO_PANEL_SET);
	db_bind_int(db, st, ":id", sid);
	db_step(db, st);
	before = db_total_changes(db);
	if (db_exec(db, sql, err, sizeof(err)) != 0) {
		db_rollback(db);
		fprintf(stderr, "1000proxy: seed --demo-panel: %s\n", err);
		goto out;
	}
	st = db_q(db, Q_DEMO_PANEL_PLANS);
	db_bind_int(db, st, ":id", sid);
	if (db_step(db, st) != DB_ROW)
		db_fail(db, "demo panel plans: no row");
	live = db_int(st, 0);
	sold = db_int(st, 1);
	db_reset(st);
	/* A run that changed no plan or server is no staff-visible act. */
	if (db_total_changes(db) != before)
		audit(db, &cli, "plans.demo_panel", arena_printf(a, "server:%lld", (long long)sid),
		    "demo plans bound to %s via seed --demo-panel: %lld live, %lld sold out",
		    name, (long long)live, (long long)sold);
	changed = db_total_changes(db) != before;
	db_commit(db);
	printf("demo panel %s (server %lld): %lld plans provision on it; %lld plans sold out%s\n",
	    name, (long long)sid, (long long)live, (long long)sold, changed ? "" : "; nothing changed");
	rc = 0;
out:
	free(sql);
	db_reset_all(db);
	db_close(db);
	arena_free(a);
	return rc;
}
