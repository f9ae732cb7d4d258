/*
 * cmd_test_link.c: `1000proxy test-link INBOUND ID EMAIL [FLOW]`, the
 * share link the shop builds (links.c) for client ID (UUID or password)
 * with email EMAIL on the synced inbound INBOUND (server_inbounds.id),
 * from what `server sync` stored: the inbound's protocol, port, remark
 * and settings_json ({"stream": streamSettings, "method": ...}), the
 * server's public host and the panel's version (the link generation).
 * Prints the link and a newline; exit 1 naming what is missing when no
 * link can be built.  Hidden: t/94-demo-traffic.t turns its output into
 * a v2ray client and sends traffic through the demo's v2ray.  Reads
 * only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "links.h"
#include "util.h"
#include "valid.h"

int
cmd_test_link(const struct conf *c, int argc, char **argv)
{
	struct link_in in;
	struct json_object *set = NULL, *stream;
	struct stmt *st;
	struct arena *a;
	struct buf b;
	struct db *db;
	const char *why = NULL;
	char	 err[512];
	int64_t	 id;
	int	 rc = 1;

	if (argc < 4 || argc > 5 || !valid_int(argv[1], 1, INT64_MAX, &id)) {
		fprintf(stderr, "usage: 1000proxy test-link INBOUND ID EMAIL [FLOW]\n");
		return 2;
	}
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	db_set_arena(db, a = arena_new(4096));
	buf_init(&b);
	st = db_q(db, Q_TEST_LINK_INBOUND);
	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) != DB_ROW) {
		why = "no such inbound";
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.protocol = arena_strdup(a, db_text(db, st, 0));
	in.port = (int)db_int(st, 1);
	in.remark = arena_strdup(a, db_text(db, st, 2));
	in.host = arena_strdup(a, db_text(db, st, 4));
	in.gen = link_gen_of(db_text(db, st, 5));
	in.listen = "";
	/* sync keeps the streamSettings under "stream" beside the inbound
	 * settings links read (the shadowsocks method). */
	if ((set = json_tokener_parse(db_text(db, st, 3))) == NULL ||
	    !json_object_object_get_ex(set, "stream", &stream)) {
		why = "the inbound's settings_json has no stream";
		goto out;
	}
	in.stream_json = arena_strdup(a, json_object_to_json_string_ext(stream, JSON_C_TO_STRING_PLAIN));
	in.settings_json = arena_strdup(a, db_text(db, st, 3));
	in.id = argv[2];
	in.email = argv[3];
	in.flow = argc > 4 ? argv[4] : "";
	in.security = "auto";
	in.sub_id = "";
	if (link_build(&b, &in, &why) == 0) {
		printf("%s\n", b.p);
		rc = 0;
	}
out:
	db_reset_all(db);
	if (why != NULL)
		fprintf(stderr, "1000proxy: test-link: %s\n", why);
	json_object_put(set);
	buf_free(&b);
	db_close(db);
	arena_free(a);
	return rc;
}
