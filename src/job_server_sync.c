/*
 * job_server_sync.c: the server_sync job, "Sync inbounds" for a 3X-UI
 * panel.
 *
 * It signs in, reads server/status (the version and generation, recorded
 * as server_test does), then lists the panel's inbounds (GET {base}panel/api/inbounds/list, the
 * same route in G2 and G3, contract 2.1 and 2.2) and, in the transaction
 * that finishes the job, upserts server_inbounds: protocol, port,
 * remark, network, security, and in settings_json what the share links
 * need ({"stream": streamSettings}, plus "method" and "password" for
 * shadowsocks, "encryption" for vless).  An
 * inbound disabled on the panel is inactive here; one that vanished from
 * the panel is marked inactive, never deleted (plans may point at it).
 * Protocols the shop does not sell (wireguard, dokodemo, http ...) are
 * reported in jobs.result as unsupported, not stored and not a failure.
 * G2 sends settings and streamSettings as JSON strings, G3 (v3.1+) as
 * objects (3.1): both are read.  A reply of the wrong shape is the
 * job's error, not a crash.  Listing changes nothing on the panel, so
 * running it twice is harmless.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "db.h"
#include "util.h"
#include "work.h"
#include "xui.h"
#include "xui_job.h"
#include "json_get.h"

struct inbound {
	int64_t		 id;
	int64_t		 port;
	int		 enable;
	const char	*protocol, *remark, *network, *security, *settings;
};

struct sync {
	struct inbound	*ib;
	size_t		 n;
	struct json_object *unsupported;	/* [{id, protocol, port, remark}] */
	int		 ok;
	const char	*msg;
};

static const char *const sold[] = { "vless", "vmess", "trojan", "shadowsocks" };

/* The list into s; 0, or -1 with *why. */
static int
read_list(struct job *j, struct json_object *list, struct sync *s, const char **why)
{
	size_t	 i, n;

	if (list == NULL || !json_object_is_type(list, json_type_array)) {
		*why = "inbounds/list: obj is not an array";
		return -1;
	}
	n = json_object_array_length(list);
	s->ib = arena_zalloc(j->a, (n ? n : 1) * sizeof(*s->ib));
	s->unsupported = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(list, i), *v, *st, *set, *out;
		struct inbound *ib = &s->ib[s->n];
		const char *proto;
		size_t	 k;
		int	 known = 0;

		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_int) ||
		    (ib->id = json_object_get_int64(v)) <= 0 ||
		    !json_object_object_get_ex(o, "port", &v) || !json_object_is_type(v, json_type_int) ||
		    (proto = jstr_or(o, "protocol", NULL)) == NULL) {
			*why = arena_printf(j->a, "inbounds/list: element %zu is not an inbound", i);
			return -1;
		}
		ib->port = json_object_get_int64(v);
		for (k = 0; k < sizeof(sold) / sizeof(sold[0]); k++)
			known |= strcmp(proto, sold[k]) == 0;
		if (!known || ib->port < 1 || ib->port > 65535) {
			struct json_object *u = json_object_new_object();

			json_object_object_add(u, "id", json_object_new_int64(ib->id));
			json_object_object_add(u, "protocol", json_object_new_string(proto));
			json_object_object_add(u, "port", json_object_new_int64(ib->port));
			json_object_object_add(u, "remark", json_object_new_string(jstr_or(o, "remark", "")));
			json_object_array_add(s->unsupported, u);
			continue;
		}
		ib->protocol = arena_strdup(j->a, proto);
		ib->remark = arena_strdup(j->a, jstr_or(o, "remark", ""));
		ib->enable = !json_object_object_get_ex(o, "enable", &v) ||
		    !json_object_is_type(v, json_type_boolean) || json_object_get_boolean(v);
		st = jsub(o, "streamSettings");
		ib->network = arena_strdup(j->a, jstr_or(st, "network", "tcp"));
		ib->security = arena_strdup(j->a, jstr_or(st, "security", "none"));
		out = json_object_new_object();
		json_object_object_add(out, "stream", st != NULL ? st : json_object_new_object());
		/* The inbound settings a link carries (contract section 6):
		 * vless's encryption, and shadowsocks's method and, for the
		 * 2022 methods, the server key that precedes the client's in
		 * every link (so it is no more secret than a link). */
		if ((set = jsub(o, "settings")) != NULL) {
			if (strcmp(proto, "shadowsocks") == 0) {
				json_object_object_add(out, "method",
				    json_object_new_string(jstr_or(set, "method", "")));
				if (*jstr_or(set, "password", "") != '\0')
					json_object_object_add(out, "password",
					    json_object_new_string(jstr_or(set, "password", "")));
			} else if (strcmp(proto, "vless") == 0 && *jstr_or(set, "encryption", "") != '\0')
				json_object_object_add(out, "encryption",
				    json_object_new_string(jstr_or(set, "encryption", "")));
			json_object_put(set);
		}
		ib->settings = arena_strdup(j->a, json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
		json_object_put(out);
		s->n++;
	}
	return 0;
}

static enum job_rc
server_sync_run(struct work *w, struct job *j)
{
	struct xui_outcome *out = arena_zalloc(j->a, sizeof(*out));
	struct sync *s = arena_zalloc(j->a, sizeof(*s));
	struct xui_env env;
	struct xui *x;
	const char *kind, *why, *gen;
	char	 version[64];
	int	 start;

	j->ctx = out;
	out->more = s;
	out->health = "down";
	out->err = "";
	if ((start = xui_job_start(w, j, &x, &kind, &why)) != -1) {
		if (start == JOB_DONE)
			out->err = s->msg = why;
		return (enum job_rc)start;
	}
	if (job_step(w, j, "list") != 0) {
			return JOB_RETRY;
	}
	/* The status first: the version and generation on the row stay
	 * current, and the settings' shape follows the generation. */
	if (xui_detect(x, version, sizeof(version), &gen, NULL, 0) != 0) {
		s->msg = arena_strdup(j->a, xui_error(x));
		goto out;
	}
	out->version = arena_strdup(j->a, version);
	out->gen = gen;
	if (xui_call(x, "GET", "panel/api/inbounds/list", NULL, &env) != 0) {
		s->msg = arena_strdup(j->a, xui_error(x));
		goto out;
	}
	if (!env.success)
		s->msg = arena_printf(j->a, "inbounds/list refused: %s", env.msg);
	else if (read_list(j, env.obj, s, &why) != 0)
		s->msg = why;
	else {
		s->ok = 1;
		out->health = "up";
	}
	xui_env_free(&env);
out:
	if (!s->ok)
		out->err = s->msg;
	return JOB_DONE;
}

/* With 'done': upsert what the panel has, mark what vanished, say it. */
static int
server_sync_record(struct work *w, struct job *j)
{
	struct xui_outcome *out = j->ctx;
	struct sync *s = out->more;
	struct json_object *r = json_object_new_object(), *seen = json_object_new_array(), *gone;
	struct stmt *st;
	size_t	 i;
	int64_t	 added = 0, updated = 0;

	xui_job_record(w, j, out);
	json_object_object_add(r, "ok", json_object_new_boolean(s->ok));
	if (s->ok) {
		for (i = 0; i < s->n; i++) {
			const struct inbound *ib = &s->ib[i];

			json_object_array_add(seen, json_object_new_int64(ib->id));
			st = db_q(w->db, Q_XUI_INBOUND_KNOWN);
			db_bind_int(w->db, st, ":sid", j->server_id);
			db_bind_int(w->db, st, ":pid", ib->id);
			if (db_step(w->db, st) == DB_ROW)
				updated++;
			else
				added++;
			db_step(w->db, st);
			st = db_q(w->db, Q_XUI_INBOUND_UPSERT);
			db_bind_int(w->db, st, ":sid", j->server_id);
			db_bind_int(w->db, st, ":pid", ib->id);
			db_bind_text(w->db, st, ":remark", ib->remark);
			db_bind_text(w->db, st, ":protocol", ib->protocol);
			db_bind_int(w->db, st, ":port", ib->port);
			db_bind_text(w->db, st, ":network", ib->network);
			db_bind_text(w->db, st, ":security", ib->security);
			db_bind_text(w->db, st, ":settings", ib->settings);
			db_bind_int(w->db, st, ":active", ib->enable);
			db_step(w->db, st);
		}
		gone = json_object_new_array();
		st = db_q(w->db, Q_XUI_INBOUND_VANISHED);
		db_bind_int(w->db, st, ":sid", j->server_id);
		db_bind_text(w->db, st, ":seen", json_object_to_json_string_ext(seen, JSON_C_TO_STRING_PLAIN));
		while (db_step(w->db, st) == DB_ROW)
			json_object_array_add(gone, json_object_new_int64(db_int(st, 0)));
		st = db_q(w->db, Q_XUI_INBOUND_DEACTIVATE);
		db_bind_int(w->db, st, ":sid", j->server_id);
		db_bind_text(w->db, st, ":seen", json_object_to_json_string_ext(seen, JSON_C_TO_STRING_PLAIN));
		db_step(w->db, st);
		json_object_object_add(r, "inbounds", json_object_new_int64((int64_t)s->n));
		json_object_object_add(r, "added", json_object_new_int64(added));
		json_object_object_add(r, "updated", json_object_new_int64(updated));
		json_object_object_add(r, "vanished", gone);
		json_object_object_add(r, "unsupported", json_object_get(s->unsupported));
		json_object_object_add(r, "msg", json_object_new_string(arena_printf(j->a,
		    "%zu inbounds, %" PRId64 " new, %zu vanished, %zu unsupported", s->n, added,
		    json_object_array_length(gone), json_object_array_length(s->unsupported))));
	} else
		json_object_object_add(r, "msg", json_object_new_string(s->msg != NULL ? s->msg : ""));
	j->result = arena_strdup(j->a, json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	json_object_put(r);
	json_object_put(seen);
	json_object_put(s->unsupported);
	s->unsupported = NULL;
	return 0;
}

const struct job_kind job_kind_server_sync = {
	"server_sync", "login", server_sync_run, server_sync_record
};
