/*
 * job_traffic_sync.c: the traffic_sync job, usage and online state of
 * one panel's clients pulled into the database (issue 12, "Cron, kept in
 * step with the panel").  `cron traffic-sync` enqueues one per panel and
 * time slot (cron_sync.c); `cron drift` enqueues one with
 * {"drift":true} whose result also lists how the panel's client set
 * differs from the shop's (drift.c).
 *
 * The panel calls, in the panel's lane (jobs.server_id):
 *  - GET {base}panel/api/inbounds/list: every inbound with its
 *    clientStats (up, down per email; contract 2.1, 2.2, 5), one call
 *    for the whole panel, not one per client;
 *  - POST {base}panel/api/inbounds/onlines (G2) or .../clients/onlines
 *    (G3): the emails online now.  A panel without it (or a refusal)
 *    leaves the online flags as they were: usage still counts.
 *
 * Counting (record(), one BEGIN IMMEDIATE transaction for the panel,
 * prepared statements, so 10,000 clients take a fraction of a second):
 * provisioned_clients.panel_up/panel_down are the panel's counters at
 * the last sync, the baseline.  A counter at or above its baseline adds
 * the difference; a counter below it means the panel reset it (staff,
 * the monthly reset, an auto-renewing client) or restarted with fresh
 * counters, so the whole new value is new use.  Usage never goes down
 * and is never counted twice; what a panel counted between a reset and
 * a sync that still lies below the old baseline is the one thing no
 * counter can tell apart, and is counted from the reset on.  The
 * deltas also go to usage_daily (UTC day).
 *
 * Two syncs of one panel at once (cron twice, a drift run beside the
 * cron's sync): each notes the time (monotonic, in us) before it lists
 * and keeps it in its result; a sync that finds another sync of the
 * same panel that
 * listed at or after it and has already recorded its counts records
 * nothing (its list may be older than the baseline the other stored,
 * and applying it would count the difference twice).  One that listed
 * earlier and recorded first is no obstacle: the later list holds
 * counters at or above that baseline.  Skipping is always safe: the
 * baseline stays, the next sync counts it.
 *
 * A panel that does not answer: health down and last_error in a
 * transaction of its own, and the job is retried with backoff while it
 * is younger than one sync slot; after that it finishes as done with
 * "ok":false (the next slot's job takes over), so a panel down for days
 * does not fill failed/ with one job per slot.  Usage is never touched
 * on a failure.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "conf.h"
#include "db.h"
#include "drift.h"
#include "testpause.h"
#include "util.h"
#include "work.h"
#include "xui.h"
#include "xui_job.h"
#include "json_get.h"

/* One client as the inbound list shows it. */
struct pclient {
	const char	*email;
	int64_t		 up, down;	/* clientStats; -1: no stats row */
	int		 online;
	struct drift_panel conf;	/* settings.clients, for drift */
};

struct tsync {
	struct pclient	*c;
	size_t		 n, cap;
	int		 ok, onlines_ok, want_drift, want_fix;
	int64_t		 listed_at;	/* now_unix() before the list */
	int64_t		 listed_us;	/* CLOCK_MONOTONIC, us: the order of two lists */
	const char	*msg;
	struct xui_outcome out;
	struct drift_report drift;
	/* filled by record() */
	int64_t		 matched, counted_up, counted_down, resets;
	int64_t		 deferred;	/* changed by a job since the list: next sync */
	int64_t		 parse_ms;	/* reading the list (JSON to the sorted array) */
	int		 superseded;
};

/* An integer member (JSON int, or a double holding one), or def. */
static int64_t
num(struct json_object *o, const char *k, int64_t def)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v))
		return def;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (json_object_is_type(v, json_type_double))
		return (int64_t)json_object_get_double(v);
	return def;
}

static int
boolean(struct json_object *o, const char *k, int def)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_boolean))
		return def;
	return json_object_get_boolean(v);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
by_email(const void *a, const void *b)
{
	return strcmp(((const struct pclient *)a)->email, ((const struct pclient *)b)->email);
}

/* The entry for email, added when absent (the list is sorted later). */
static struct pclient *
entry(struct job *j, struct tsync *s, const char *email)
{
	size_t	 i;

	/* Stats and settings of one inbound come in the same order, so the
	 * entry is nearly always one of the last few: search from the end. */
	for (i = s->n; i > 0 && s->n - i < 8; i--)
		if (strcmp(s->c[i - 1].email, email) == 0)
			return &s->c[i - 1];
	if (s->n == s->cap) {
		struct pclient *nc;

		s->cap = s->cap ? s->cap * 2 : 256;
		nc = arena_zalloc(j->a, s->cap * sizeof(*nc));
		if (s->n)
			memcpy(nc, s->c, s->n * sizeof(*nc));
		s->c = nc;
	}
	memset(&s->c[s->n], 0, sizeof(s->c[0]));
	s->c[s->n].email = arena_strdup(j->a, email);
	s->c[s->n].up = s->c[s->n].down = -1;
	return &s->c[s->n++];
}

/* settings (an object in G3, JSON text in G2): its clients, for drift. */
static void
read_settings(struct job *j, struct tsync *s, struct json_object *ib, int64_t inbound)
{
	struct json_object *v, *set = NULL, *cl;
	size_t	 i, n;

	if (!json_object_object_get_ex(ib, "settings", &v))
		return;
	if (json_object_is_type(v, json_type_object))
		set = json_object_get(v);
	else if (json_object_is_type(v, json_type_string))
		set = json_tokener_parse(json_object_get_string(v));
	if (set == NULL)
		return;
	if (json_object_is_type(set, json_type_object) && json_object_object_get_ex(set, "clients", &cl) &&
	    json_object_is_type(cl, json_type_array)) {
		n = json_object_array_length(cl);
		for (i = 0; i < n; i++) {
			struct json_object *c = json_object_array_get_idx(cl, i);
			const char *email = jstr_or(c, "email", "");
			struct pclient *p;

			if (*email == '\0')
				continue;	/* an emailless client has no stats (4.1) */
			p = entry(j, s, email);
			p->conf.present = 1;
			p->conf.inbound = inbound;
			p->conf.enable = boolean(c, "enable", 1);
			p->conf.expiry_ms = num(c, "expiryTime", 0);
			p->conf.total = num(c, "totalGB", 0);
			p->conf.limit_ip = num(c, "limitIp", 0);
		}
	}
	json_object_put(set);
}

/* The inbound list into s: 0, or -1 with s->msg. */
static int
read_list(struct job *j, struct tsync *s, struct json_object *list)
{
	size_t	 i, k, n, m;

	if (list == NULL)	/* a panel without inbounds */
		return 0;
	if (!json_object_is_type(list, json_type_array)) {
		s->msg = "inbounds/list: obj is not an array";
		return -1;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		struct json_object *ib = json_object_array_get_idx(list, i), *st;
		int64_t	 id;

		if (!json_object_is_type(ib, json_type_object) || (id = num(ib, "id", -1)) <= 0) {
			s->msg = arena_printf(j->a, "inbounds/list: element %zu is not an inbound", i);
			return -1;
		}
		if (json_object_object_get_ex(ib, "clientStats", &st) && st != NULL) {
			if (!json_object_is_type(st, json_type_array)) {
				s->msg = arena_printf(j->a, "inbounds/list: inbound %" PRId64
				    " has clientStats that are not an array", id);
				return -1;
			}
			m = json_object_array_length(st);
			for (k = 0; k < m; k++) {
				struct json_object *c = json_object_array_get_idx(st, k);
				const char *email = jstr_or(c, "email", "");
				int64_t	 up = num(c, "up", -1), down = num(c, "down", -1);
				struct pclient *p;

				if (*email == '\0' || up < 0 || down < 0) {
					s->msg = arena_printf(j->a, "inbounds/list: inbound %" PRId64
					    " clientStats[%zu] has no email, up or down", id, k);
					return -1;
				}
				p = entry(j, s, email);
				p->up = up;
				p->down = down;
			}
		}
		if (s->want_drift)
			read_settings(j, s, ib, id);
	}
	return 0;
}

/* The online emails (a JSON array of strings, or null before the first
 * traffic tick) marked on the sorted list. */
static void
read_onlines(struct tsync *s, struct json_object *arr)
{
	struct pclient key, *p;
	size_t	 i, n;

	s->onlines_ok = 1;
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(v, json_type_string))
			continue;
		key.email = json_object_get_string(v);
		p = s->n ? bsearch(&key, s->c, s->n, sizeof(*s->c), by_email) : NULL;
		if (p != NULL)
			p->online = 1;
	}
}

/* The generation to speak: the row's (forced, else detected: set on
 * the handle by xui_job_start), else ask the panel (which the record
 * then stores). */
static const char *
generation(struct work *w, struct job *j, struct xui *x, struct tsync *s)
{
	const char *gen;
	char	 version[64];

	if (xui_job_generation_known(w, j))
		return xui_gen(x);
	if (xui_detect(x, version, sizeof(version), &gen, NULL, 0) != 0)
		return NULL;
	s->out.version = arena_strdup(j->a, version);
	s->out.gen = gen;
	return gen;
}

/* A failed attempt: health down and last_error now, in a transaction of
 * its own; retried while younger than one slot, then done with ok:false. */
static enum job_rc
failed(struct work *w, struct job *j, struct tsync *s)
{
	struct json_object *r;

	s->out.health = "down";
	s->out.err = s->msg;
	if (now_unix() - j->age_from < w->conf->traffic_sync_minutes * 60) {
		db_begin(w->db);
		xui_job_record(w, j, &s->out);
		db_commit(w->db);
		snprintf(j->err, sizeof(j->err), "%s", s->msg);
		return JOB_RETRY;
	}
	r = json_object_new_object();
	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "msg", json_object_new_string(s->msg));
	j->result = arena_strdup(j->a, json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	json_object_put(r);
	return JOB_DONE;
}

static enum job_rc
traffic_sync_run(struct work *w, struct job *j)
{
	struct tsync *s = arena_zalloc(j->a, sizeof(*s));
	struct json_object *pl;
	struct xui_env env;
	struct xui *x;
	const char *kind, *why, *gen;
	enum job_rc rc;
	int64_t	 t0;
	int	 start;

	j->ctx = s;
	s->out.more = s;
	s->out.health = "down";
	s->out.err = "";
	if ((pl = json_tokener_parse(j->payload)) != NULL) {
		s->want_drift = boolean(pl, "drift", 0);
		s->want_fix = s->want_drift && boolean(pl, "fix", 0);
		json_object_put(pl);
	}
	if ((start = xui_job_start(w, j, &x, &kind, &why)) != -1) {
		if (start == JOB_DONE)
			s->out.err = s->msg = why;
		return (enum job_rc)start;
	}
	if (job_step(w, j, "list") != 0)
		return JOB_RETRY;
	if ((gen = generation(w, j, x, s)) == NULL) {
		s->msg = arena_strdup(j->a, xui_error(x));
		return failed(w, j, s);
	}
	/* t/92 holds one of two twin syncs here, before it notes its time,
	 * until the other's list has reached the panel: the order of the
	 * two notes is then the order of the two lists (test mode only). */
	test_pause(arena_printf(j->a, "traffic_sync:list:%s", j->idem_key));
	s->listed_at = now_unix();
	{
		struct timespec ts;

		/* The order of two lists: CLOCK_MONOTONIC is one clock for
		 * every runner of the machine, and a sync this one must stand
		 * back for finished after this list began, so in this boot. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s->listed_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
	if (xui_call(x, "GET", "panel/api/inbounds/list", NULL, &env) != 0) {
		s->msg = arena_strdup(j->a, xui_error(x));
		return failed(w, j, s);
	}
	t0 = mono_ms();
	if (!env.success)
		s->msg = arena_printf(j->a, "inbounds/list refused: %s", env.msg);
	else if (read_list(j, s, env.obj) == 0)
		s->ok = 1;
	xui_env_free(&env);
	if (!s->ok) {
		return failed(w, j, s);
	}
	if (s->n > 1)
		qsort(s->c, s->n, sizeof(*s->c), by_email);
	s->parse_ms = mono_ms() - t0;
	if (xui_call(x, "POST", strcmp(gen, "g3") == 0 ? "panel/api/clients/onlines" :
	    "panel/api/inbounds/onlines", NULL, &env) == 0) {
		if (env.success)
			read_onlines(s, env.obj);
		xui_env_free(&env);
	}
	s->out.health = "up";
	rc = JOB_DONE;
	if (s->want_drift) {
		struct drift_panel *pc = arena_zalloc(j->a, (s->n ? s->n : 1) * sizeof(*pc));
		const char **emails = arena_zalloc(j->a, (s->n ? s->n : 1) * sizeof(*emails));
		size_t	 i;

		for (i = 0; i < s->n; i++) {
			pc[i] = s->c[i].conf;
			emails[i] = s->c[i].email;
		}
		drift_compare(w->db, j->a, j->server_id, emails, pc, s->n, &s->drift);
		if (s->want_fix && s->drift.n > 0) {
			if (job_step(w, j, "fix") != 0)
				return JOB_RETRY;
			drift_fix(w->db, x, j->a, &s->drift);
		}
	}
	return rc;
}

/* With 'done': the counts (unless superseded), health, the result. */
static int
traffic_sync_record(struct work *w, struct job *j)
{
	struct tsync *s = j->ctx;
	struct json_object *r = json_object_new_object();
	struct stmt *st, *get, *put, *day;
	int64_t	 now = now_unix(), today = now / 86400, t0 = mono_ms();
	size_t	 i;

	if (!s->ok) {
		/* failed() gave up (or the panel row could not be used). */
		s->out.health = "down";
		if (s->msg != NULL)
			s->out.err = s->msg;
		xui_job_record(w, j, &s->out);
		if (j->result == NULL) {
			json_object_object_add(r, "ok", json_object_new_boolean(0));
			json_object_object_add(r, "msg", json_object_new_string(s->msg ? s->msg : ""));
			j->result = arena_strdup(j->a, json_object_to_json_string_ext(r,
			    JSON_C_TO_STRING_PLAIN));
		}
		json_object_put(r);
		return 0;
	}
	xui_job_record(w, j, &s->out);
	st = db_q(w->db, Q_TSYNC_SUPERSEDED);
	db_bind_int(w->db, st, ":sid", j->server_id);
	db_bind_int(w->db, st, ":id", j->id);
	db_bind_int(w->db, st, ":listed", s->listed_at);
	db_bind_int(w->db, st, ":listed_us", s->listed_us);
	s->superseded = db_one_int(w->db, st, 0) > 0;
	if (!s->superseded) {
		if (s->onlines_ok) {
			st = db_q(w->db, Q_TSYNC_OFFLINE);
			db_bind_int(w->db, st, ":sid", j->server_id);
			db_step(w->db, st);
		}
		for (i = 0; i < s->n; i++) {
			const struct pclient *p = &s->c[i];
			int64_t	 id, bu, bd, du, dd;

			if (p->up < 0)
				continue;	/* configured, but no stats row */
			get = db_q(w->db, Q_TSYNC_CLIENT);
			db_bind_int(w->db, get, ":sid", j->server_id);
			db_bind_text(w->db, get, ":email", p->email);
			if (db_step(w->db, get) != DB_ROW) {
				db_reset(get);
				continue;	/* not the shop's (drift reports it) */
			}
			id = db_int(get, 0);
			bu = db_int(get, 1);
			bd = db_int(get, 2);
			/* Changed by a job since (or in the second) we listed: a
			 * traffic reset or a renewal may have zeroed the baseline
			 * after the panel gave us its old counters, which would
			 * count the last period again.  Skipping is always safe:
			 * baseline and usage stay, and the next sync counts the
			 * difference. */
			if (db_int(get, 3) >= s->listed_at) {
				db_reset(get);
				s->deferred++;
				continue;
			}
			db_reset(get);
			s->matched++;
			/* Below the baseline: the panel reset or restarted. */
			du = p->up >= bu ? p->up - bu : p->up;
			dd = p->down >= bd ? p->down - bd : p->down;
			if (p->up < bu || p->down < bd)
				s->resets++;
			put = db_q(w->db, Q_TSYNC_APPLY);
			db_bind_int(w->db, put, ":id", id);
			db_bind_int(w->db, put, ":dup", du);
			db_bind_int(w->db, put, ":ddown", dd);
			db_bind_int(w->db, put, ":up", p->up);
			db_bind_int(w->db, put, ":down", p->down);
			db_bind_int(w->db, put, ":online", s->onlines_ok ? p->online : -1);
			db_bind_int(w->db, put, ":now", now);
			db_step(w->db, put);
			if (du > 0 || dd > 0) {
				day = db_q(w->db, Q_TSYNC_DAILY);
				db_bind_int(w->db, day, ":id", id);
				db_bind_int(w->db, day, ":day", today);
				db_bind_int(w->db, day, ":up", du);
				db_bind_int(w->db, day, ":down", dd);
				db_step(w->db, day);
				s->counted_up += du;
				s->counted_down += dd;
			}
		}
	}
	st = db_q(w->db, Q_TSYNC_SERVER_OK);
	db_bind_int(w->db, st, ":id", j->server_id);
	db_bind_int(w->db, st, ":now", now);
	db_bind_int(w->db, st, ":traffic", s->superseded ? 0 : 1);
	db_step(w->db, st);

	json_object_object_add(r, "ok", json_object_new_boolean(1));
	json_object_object_add(r, "panel_clients", json_object_new_int64((int64_t)s->n));
	json_object_object_add(r, "matched", json_object_new_int64(s->matched));
	json_object_object_add(r, "deferred", json_object_new_int64(s->deferred));
	json_object_object_add(r, "up", json_object_new_int64(s->counted_up));
	json_object_object_add(r, "down", json_object_new_int64(s->counted_down));
	json_object_object_add(r, "resets", json_object_new_int64(s->resets));
	json_object_object_add(r, "onlines", json_object_new_boolean(s->onlines_ok));
	json_object_object_add(r, "superseded", json_object_new_boolean(s->superseded));
	json_object_object_add(r, "listed_us", json_object_new_int64(s->listed_us));
	/* What the shop's side cost: reading the list, writing the counts. */
	json_object_object_add(r, "parse_ms", json_object_new_int64(s->parse_ms));
	json_object_object_add(r, "record_ms", json_object_new_int64(mono_ms() - t0));
	if (s->want_drift) {
		json_object_object_add(r, "drift", drift_json(&s->drift));
		drift_audit(w->db, j->a, j->server_id, &s->drift);
	}
	json_object_object_add(r, "msg", json_object_new_string(s->superseded ?
	    "another sync of this panel finished meanwhile: nothing counted (the next sync counts it)" :
	    arena_printf(j->a, "%zu panel clients, %" PRId64 " of the shop's, %" PRId64
	    " bytes up and %" PRId64 " down counted%s", s->n, s->matched, s->counted_up,
	    s->counted_down, s->resets ? arena_printf(j->a, ", %" PRId64 " counter reset(s) seen",
	    s->resets) : "")));
	j->result = arena_strdup(j->a, json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	json_object_put(r);
	return 0;
}

const struct job_kind job_kind_traffic_sync = {
	"traffic_sync", "login", traffic_sync_run, traffic_sync_record
};
