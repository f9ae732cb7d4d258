/*
 * cron_sync.c: the cron tasks that keep the shop in step with its
 * panels (issue 12): `cron traffic-sync`, `cron drift [--fix]`,
 * `cron alerts`.  The table lines are in cron.c.
 *
 * None of them calls a panel itself.  The panel calls run in `work` as
 * traffic_sync jobs (job_traffic_sync.c): there the per-panel lane
 * (servers.max_concurrency) holds whoever asks, the runner's panel
 * session is reused, and libcurl with what it pulls in (about 8 MB of
 * RSS) stays out of a process that cron starts every few minutes.
 * `cron drift` therefore enqueues and waits for the jobs, as `server
 * test` does, and prints what they found.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "cmd.h"
#include "conf.h"
#include "cron_sync.h"
#include "db.h"
#include "mailq.h"
#include "spool.h"
#include "util.h"

static struct db *
open_db(const struct conf *c, const char *task, struct arena **a)
{
	struct db *db;
	char	 err[1024];

	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: cron %s: %s\n", task, err);
		return NULL;
	}
	*a = arena_new(8192);
	db_set_arena(db, *a);
	return db;
}

/* The panels a task works on: every one not disabled, or the one named. */
struct panels {
	int64_t		*id;
	const char	**name;
	size_t		 n;
};

static void
panels_load(struct db *db, struct arena *a, int64_t only, struct panels *p)
{
	struct stmt *st;
	size_t	 cap = 16;

	memset(p, 0, sizeof(*p));
	p->id = arena_zalloc(a, cap * sizeof(*p->id));
	p->name = arena_zalloc(a, cap * sizeof(*p->name));
	st = db_q(db, Q_CSYNC_SERVERS);
	while (db_step(db, st) == DB_ROW) {
		if (only > 0 && db_int(st, 0) != only)
			continue;
		if (p->n == cap) {
			int64_t	*ni = arena_zalloc(a, 2 * cap * sizeof(*ni));
			const char **nn = arena_zalloc(a, 2 * cap * sizeof(*nn));

			memcpy(ni, p->id, cap * sizeof(*ni));
			memcpy(nn, p->name, cap * sizeof(*nn));
			p->id = ni;
			p->name = nn;
			cap *= 2;
		}
		p->id[p->n] = db_int(st, 0);
		p->name[p->n++] = db_text(db, st, 1);
	}
	db_reset(st);
}

/*
 * traffic-sync: one traffic_sync job per panel that is not disabled
 * (maintenance panels carry traffic too), keyed by the panel and the
 * slot of traffic_sync_minutes, and none for a panel whose last one is
 * still pending or running: a slow panel never piles up jobs, and two
 * runs at once enqueue one (the key is UNIQUE, and the check and the
 * insert share a BEGIN IMMEDIATE transaction).
 */
int
cron_traffic_sync(const struct conf *c, int argc, char **argv)
{
	struct panels p;
	struct arena *a;
	struct stmt *st;
	struct db *db;
	int64_t	 slot, *jobs;
	const char **kinds;
	size_t	 i, n = 0, busy = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: 1000proxy cron traffic-sync\n");
		return 2;
	}
	if ((db = open_db(c, "traffic-sync", &a)) == NULL)
		return 1;
	panels_load(db, a, 0, &p);
	slot = now_unix() / (c->traffic_sync_minutes * 60);
	jobs = arena_zalloc(a, (p.n ? p.n : 1) * sizeof(*jobs));
	kinds = arena_zalloc(a, (p.n ? p.n : 1) * sizeof(*kinds));
	db_begin(db);
	for (i = 0; i < p.n; i++) {
		st = db_q(db, Q_CSYNC_PENDING);
		db_bind_int(db, st, ":sid", p.id[i]);
		if (db_one_int(db, st, 0) > 0) {
			busy++;
			continue;
		}
		kinds[n] = "traffic_sync";
		jobs[n++] = spool_enqueue_at(db, "traffic_sync", arena_printf(a, "traffic_sync:%" PRId64
		    ":slot:%" PRId64, p.id[i], slot), "{}", 0, p.id[i]);
	}
	db_commit(db);
	if (n > 0)
		spool_wake_many(c, n, jobs, kinds);
	printf("traffic-sync: %zu panel%s, %zu job%s enqueued, %zu still syncing\n", p.n,
	    p.n == 1 ? "" : "s", n, n == 1 ? "" : "s", busy);
	db_close(db);
	arena_free(a);
	return 0;
}

/* One drift item as a line for the operator. */
static void
print_item(const char *panel, const char *kind, struct json_object *e)
{
	struct json_object *v, *f;
	const char *fix = NULL;

	printf("  %s %s", kind, json_object_object_get_ex(e, "email", &v) ? json_object_get_string(v) : "?");
	if (json_object_object_get_ex(e, "client", &v))
		printf(" (client %" PRId64 ", %s)", json_object_get_int64(v),
		    json_object_object_get_ex(e, "state", &f) ? json_object_get_string(f) : "?");
	if (json_object_object_get_ex(e, "inbound", &v))
		printf(" on inbound %" PRId64, json_object_get_int64(v));
	if (json_object_object_get_ex(e, "fields", &f)) {
		size_t	 i, n = json_object_array_length(f);

		for (i = 0; i < n; i++) {
			const char *k = json_object_get_string(json_object_array_get_idx(f, i));
			const char *sk = strcmp(k, "enable") == 0 ? "shop_enable" :
			    strcmp(k, "expiry") == 0 ? "shop_expiry" : "shop_quota";
			const char *pk = strcmp(k, "enable") == 0 ? "panel_enable" :
			    strcmp(k, "expiry") == 0 ? "panel_expiry" : "panel_quota";
			struct json_object *sv, *pv;

			json_object_object_get_ex(e, sk, &sv);
			json_object_object_get_ex(e, pk, &pv);
			printf("%s %s: shop %s, panel %s", i ? ";" : ":", k, json_object_get_string(sv),
			    json_object_get_string(pv));
		}
	}
	if (json_object_object_get_ex(e, "fix", &v))
		fix = json_object_get_string(v);
	printf("%s%s\n", fix ? " -> " : "", fix ? fix : "");
	(void)panel;
}

/*
 * drift [--fix] [--quiet] [SERVER_ID]: a traffic_sync job with {"drift":true} per
 * panel (with "fix":true, the job repairs from the shop's side), then
 * wait for them and print the report (--quiet: nothing for a panel
 * that agrees, so cron mails only drift).  Exit 0 when no panel drifts (or
 * every difference was repaired), 1 when some drift remains or a panel
 * did not answer, 2 on usage.
 */
int
cron_drift(const struct conf *c, int argc, char **argv)
{
	static const struct actor cli = { "cli", 0, NULL, NULL };
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	struct panels p;
	struct arena *a;
	struct stmt *st;
	struct db *db;
	int64_t	 only = 0, *jobs, waited, limit = (3 * c->panel_timeout + 30) * 5, now;
	const char **kinds, *payload;
	size_t	 i, left;
	int	 fix = 0, quiet = 0, k, rc = 0, *seen;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--fix") == 0)
			fix = 1;
		else if (strcmp(argv[k], "--quiet") == 0)
			quiet = 1;
		else if (only == 0 && parse_i64(argv[k], &only) == 0 && only > 0)
			continue;
		else {
			fprintf(stderr, "usage: 1000proxy cron drift [--fix] [--quiet] [server-id]\n");
			return 2;
		}
	}
	if ((db = open_db(c, "drift", &a)) == NULL)
		return 1;
	panels_load(db, a, only, &p);
	if (p.n == 0) {
		if (!quiet || only)
			printf("drift: no panel%s\n", only ? " with that id (or it is disabled)" : "");
		db_close(db);
		arena_free(a);
		return only ? 1 : 0;
	}
	jobs = arena_zalloc(a, p.n * sizeof(*jobs));
	kinds = arena_zalloc(a, p.n * sizeof(*kinds));
	seen = arena_zalloc(a, p.n * sizeof(*seen));
	payload = fix ? "{\"drift\":true,\"fix\":true}" : "{\"drift\":true}";
	now = now_unix();
	db_begin(db);
	for (i = 0; i < p.n; i++) {
		kinds[i] = "traffic_sync";
		/* Every run is its own job: a report is asked for now. */
		jobs[i] = spool_enqueue_at(db, "traffic_sync", arena_printf(a, "traffic_sync:%" PRId64
		    ":drift:%" PRId64 ":%ld:%zu", p.id[i], now, (long)getpid(), i), payload, 0, p.id[i]);
		if (fix)
			audit(db, &cli, "drift.fix", arena_printf(a, "server:%" PRId64, p.id[i]),
			    "job %" PRId64 ": repair the panel's clients from the shop's side", jobs[i]);
	}
	db_commit(db);
	spool_wake_many(c, p.n, jobs, kinds);

	for (left = p.n, waited = 0; left > 0 && waited < limit; waited++) {
		for (i = 0; i < p.n; i++) {
			struct json_object *r, *d, *v;
			const char *state, *res;
			size_t	 m, x;

			if (seen[i])
				continue;
			st = db_q(db, Q_XUI_JOB_RESULT);
			db_bind_int(db, st, ":id", jobs[i]);
			if (db_step(db, st) != DB_ROW) {
				db_reset(st);
				seen[i] = 1;
				left--;
				continue;
			}
			state = db_text(db, st, 0);
			res = db_text(db, st, 1);
			if (strcmp(state, "failed") == 0 || strcmp(state, "discarded") == 0) {
				printf("panel %" PRId64 " (%s): job %" PRId64 " %s: %s\n", p.id[i], p.name[i],
				    jobs[i], state, db_text(db, st, 2));
				rc = 1;
			} else if (strcmp(state, "done") != 0) {
				db_reset(st);
				continue;
			} else if ((r = json_tokener_parse(res)) == NULL ||
			    !json_object_object_get_ex(r, "drift", &d)) {
				printf("panel %" PRId64 " (%s): did not answer: %s\n", p.id[i], p.name[i],
				    r != NULL && json_object_object_get_ex(r, "msg", &v) ?
				    json_object_get_string(v) : res);
				json_object_put(r);
				rc = 1;
			} else {
				static const char *const sect[] = { "unknown", "missing", "differ" };
				static const char *const label[] = { "unknown on the panel:",
				    "missing on the panel:", "differs:" };
				size_t	 total = 0, fixed = 0;

				for (x = 0; x < 3; x++)
					if (json_object_object_get_ex(d, sect[x], &v))
						total += json_object_array_length(v);
				if (quiet && total == 0) {
					json_object_put(r);
					db_reset(st);
					seen[i] = 1;
					left--;
					continue;
				}
				printf("panel %" PRId64 " (%s): %" PRId64 " shop client%s, %zu difference%s\n",
				    p.id[i], p.name[i], json_object_object_get_ex(d, "shop", &v) ?
				    json_object_get_int64(v) : 0, json_object_get_int64(v) == 1 ? "" : "s",
				    total, total == 1 ? "" : "s");
				for (x = 0; x < 3; x++) {
					if (!json_object_object_get_ex(d, sect[x], &v))
						continue;
					m = json_object_array_length(v);
					for (k = 0; (size_t)k < m; k++) {
						struct json_object *e = json_object_array_get_idx(v, k), *f;

						print_item(p.name[i], label[x], e);
						if (json_object_object_get_ex(e, "fix", &f) &&
						    strcmp(json_object_get_string(f), "fixed") == 0)
							fixed++;
					}
				}
				if (total > fixed)
					rc = 1;
				json_object_put(r);
			}
			db_reset(st);
			seen[i] = 1;
			left--;
		}
		if (left > 0)
			nanosleep(&ts, NULL);
	}
	for (i = 0; i < p.n; i++)
		if (!seen[i]) {
			printf("panel %" PRId64 " (%s): job %" PRId64 " did not finish in time (is `1000proxy "
			    "work` running?)\n", p.id[i], p.name[i], jobs[i]);
			rc = 1;
		}
	db_close(db);
	arena_free(a);
	return rc;
}

static const char *
utc(struct arena *a, int64_t t)
{
	struct tm tm;
	time_t	 tt = (time_t)t;
	char	 buf[64];

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return "never";
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
	return arena_strdup(a, buf);
}

/* Mail every active staff member with servers.write about one alert, in
 * the open transaction; the jobs' ids are added to ids. */
static size_t
mail_staff(const struct conf *c, struct db *db, struct arena *a, int64_t sid, const char *name,
    const char *what, int64_t minutes, int64_t last, const char *last_error, int64_t at,
    int64_t *ids, size_t max)
{
	struct stmt *st;
	size_t	 n = 0;

	st = db_q(db, Q_ALERT_STAFF);
	while (db_step(db, st) == DB_ROW && n < max) {
		struct json_object *v = json_object_new_object();
		int64_t	 staff = db_int(st, 0);

		json_object_object_add(v, "server", json_object_new_string(name));
		json_object_object_add(v, "problem", json_object_new_string(strcmp(what, "down") == 0 ?
		    "has not answered" : "has not had its traffic synced"));
		json_object_object_add(v, "minutes", json_object_new_int64(minutes));
		json_object_object_add(v, "since", json_object_new_string(utc(a, last)));
		json_object_object_add(v, "last_error", json_object_new_string(*last_error ?
		    last_error : "(none recorded)"));
		json_object_object_add(v, "server_url", json_object_new_string(arena_printf(a,
		    "%s/admin/servers/%" PRId64, c->base_url, sid)));
		ids[n++] = mailq_add_db(db, db_text(db, st, 1), "emails/panel_alert", v,
		    arena_printf(a, "panel-alert:%s:%" PRId64 ":%" PRId64 ":%" PRId64, what, sid, at, staff));
	}
	db_reset(st);
	return n;
}

/*
 * alerts: mail staff once when an active panel has not answered for
 * alert_down_minutes (servers.last_ok_at: any answered call of work's
 * panel jobs) or its traffic has not been synced for alert_stale_minutes
 * (servers.traffic_synced_at); a panel that never answered counts from
 * its creation.  The alert is marked on the row (alert_down_at,
 * alert_stale_at) by an UPDATE ... WHERE ... IS NULL in the transaction
 * that queues the mails, so two runs at once mail once; it is cleared
 * when the panel recovers, so the next outage mails again.  Panels in
 * maintenance or disabled are not watched.
 */
int
cron_alerts(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct stmt *st;
	struct db *db;
	int64_t	 now = now_unix(), ids[256];
	const char *kinds[256];
	size_t	 i, n, nids = 0, mailed = 0, cleared = 0, watched = 0;
	struct srv {
		int64_t		 id, ok, synced, last_ok, last_sync;
		int		 down_null, stale_null;
		const char	*name, *err;
	} *s;
	size_t	 cap = 16;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: 1000proxy cron alerts\n");
		return 2;
	}
	if ((db = open_db(c, "alerts", &a)) == NULL)
		return 1;
	s = arena_zalloc(a, cap * sizeof(*s));
	n = 0;
	st = db_q(db, Q_ALERT_SERVERS);
	while (db_step(db, st) == DB_ROW) {
		if (n == cap) {
			struct srv *ns = arena_zalloc(a, 2 * cap * sizeof(*ns));

			memcpy(ns, s, cap * sizeof(*ns));
			s = ns;
			cap *= 2;
		}
		s[n].id = db_int(st, 0);
		s[n].name = db_text(db, st, 1);
		s[n].ok = db_int(st, 2);
		s[n].synced = db_int(st, 3);
		s[n].down_null = db_is_null(st, 4);
		s[n].stale_null = db_is_null(st, 5);
		s[n].err = db_text(db, st, 6);
		s[n].last_ok = db_int(st, 7);
		s[n].last_sync = db_int(st, 8);
		n++;
	}
	db_reset(st);
	for (i = 0; i < n; i++) {
		int	 down = now - s[i].ok >= c->alert_down_minutes * 60;
		int	 stale = now - s[i].synced >= c->alert_stale_minutes * 60;

		watched++;
		db_begin(db);
		st = db_q(db, down ? Q_ALERT_DOWN_SET : Q_ALERT_DOWN_CLEAR);
		if (down)
			db_bind_int(db, st, ":now", now);
		db_bind_int(db, st, ":id", s[i].id);
		db_step(db, st);
		if (db_changes(db) == 1) {
			if (down) {
				nids += mail_staff(c, db, a, s[i].id, s[i].name, "down", c->alert_down_minutes,
				    s[i].last_ok, s[i].err, now, ids + nids, NELEM(ids) - nids);
				mailed++;
			} else
				cleared++;
		}
		st = db_q(db, stale ? Q_ALERT_STALE_SET : Q_ALERT_STALE_CLEAR);
		if (stale)
			db_bind_int(db, st, ":now", now);
		db_bind_int(db, st, ":id", s[i].id);
		db_step(db, st);
		if (db_changes(db) == 1) {
			if (stale) {
				nids += mail_staff(c, db, a, s[i].id, s[i].name, "stale", c->alert_stale_minutes,
				    s[i].last_sync, s[i].err,
				    now, ids + nids, NELEM(ids) - nids);
				mailed++;
			} else
				cleared++;
		}
		db_commit(db);
		if (nids > 0) {
			size_t	 k;

			for (k = 0; k < nids; k++)
				kinds[k] = "email";
			spool_wake_many(c, nids, ids, kinds);
			nids = 0;
		}
	}
	printf("alerts: %zu panel%s watched, %zu alert%s mailed, %zu cleared\n", watched,
	    watched == 1 ? "" : "s", mailed, mailed == 1 ? "" : "s", cleared);
	db_close(db);
	arena_free(a);
	return 0;
}
