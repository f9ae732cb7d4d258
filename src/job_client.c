/*
 * job_client.c: the jobs that keep a provisioned client on its panel in
 * step with what the customer paid for: suspend, resume, deprovision,
 * reset_traffic, regenerate.  Payload {"client": ID, "op": OP}
 * (client_job.h, which is the only way they are asked for); the job
 * runs in the client's panel lane.
 *
 * Exactly once, whatever happens to `work` (DESIGN.md, "The spool"):
 *  - the op says why the job was asked (expired:<expires_at>,
 *    quota:<period_start>, grace:<expires_at>, period:<start>, gen:<N>,
 *    renew:<item>, staff:<time>), and a job whose occasion has passed
 *    (the client was renewed, its period or credential moved on, it was
 *    deleted) does nothing: a suspend queued before a renewal never
 *    suspends the renewed client;
 *  - each handler asks the panel first (get the client by its email)
 *    whether its effect is already there, acts only when it is not, and
 *    reads the client back: a `kill -9` after the panel acted, or a
 *    panel that timed out after applying the change, finds the change
 *    made and does not make it again;
 *  - the database learns what the panel read back (state,
 *    suspended_reason, panel_enable, panel_json, updated_at, and the
 *    credential, period) in the transaction that marks the job done,
 *    with one audit row by "system".
 * The panel calls are xui_client.h's (both API generations), on the
 * runner's kept session for the panel (xui_job_start).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "db.h"
#include "util.h"
#include "work.h"
#include "xui.h"
#include "xui_client.h"
#include "xui_job.h"

/* The client as the shop holds it (Q_JCLIENT_GET). */
struct lc_row {
	int64_t		 id;
	const char	*email;
	const char	*cred;		/* client_uuid: the UUID or password */
	const char	*state;
	const char	*reason;
	int64_t		 cred_gen;
	int64_t		 expires_at;	/* 0: none */
	int64_t		 limit;
	int64_t		 item;
	int64_t		 period;	/* period_start, 0: none */
	int64_t		 used;
	int64_t		 inbound;	/* the panel's inbound id */
	const char	*protocol;
	const char	*method;	/* shadowsocks: the inbound's cipher */
};

/* What run() leaves for record(). */
struct lc {
	const char	*op;
	const char	*skip;		/* non-NULL: the occasion passed; why */
	struct lc_row	 r;
	/* what the panel read back */
	int		 enable;	/* -1: the client is gone */
	const char	*json;
	const char	*state, *reason;	/* for Q_JCLIENT_STATE */
	const char	*cred;		/* regenerate: the new credential */
	int64_t		 gen;		/* regenerate: N */
	int64_t		 start;		/* reset_traffic: the new period_start */
	const char	*note;		/* for the audit row and jobs.result */
};

/* The op's number after "word:", or -1 when op is not "word:N". */
static int64_t
op_num(const char *op, const char *word)
{
	size_t	 n = strlen(word);
	int64_t	 v;

	if (strncmp(op, word, n) != 0 || op[n] != ':' || parse_i64(op + n + 1, &v) != 0)
		return -1;
	return v;
}

static int
op_is(const char *op, const char *word)
{
	size_t	 n = strlen(word);

	return strncmp(op, word, n) == 0 && op[n] == ':';
}

/* The payload and the client's row into l; JOB_FAIL with j->err, or -1. */
static int
lc_load(struct work *w, struct job *j, struct lc *l)
{
	struct json_object *o, *v;
	struct stmt *st;
	int64_t	 id = 0;
	const char *settings;

	if ((o = json_tokener_parse(j->payload)) == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(j->err, sizeof(j->err), "payload is not a JSON object");
		return JOB_FAIL;
	}
	if (json_object_object_get_ex(o, "client", &v) && json_object_is_type(v, json_type_int))
		id = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "op", &v) && json_object_is_type(v, json_type_string))
		l->op = arena_strdup(j->a, json_object_get_string(v));
	json_object_put(o);
	if (id <= 0 || l->op == NULL) {
		snprintf(j->err, sizeof(j->err), "payload needs \"client\" and \"op\"");
		return JOB_FAIL;
	}
	st = db_q(w->db, Q_JCLIENT_GET);
	db_bind_int(w->db, st, ":id", id);
	if (db_step(w->db, st) != DB_ROW) {
		db_reset(st);
		snprintf(j->err, sizeof(j->err), "client %" PRId64 " does not exist", id);
		return JOB_FAIL;
	}
	l->r.id = id;
	l->r.email = db_text(w->db, st, 2);
	l->r.cred = db_text(w->db, st, 3);
	l->r.state = db_text(w->db, st, 4);
	l->r.reason = db_text(w->db, st, 5);
	l->r.cred_gen = db_int(st, 6);
	l->r.expires_at = db_int(st, 7);
	l->r.limit = db_int(st, 8);
	l->r.item = db_int(st, 10);
	l->r.period = db_int(st, 13);
	l->r.used = db_int(st, 14);
	l->r.inbound = db_int(st, 15);
	l->r.protocol = db_text(w->db, st, 16);
	settings = db_text(w->db, st, 17);
	/* No read may stay open across the panel calls (job_step's BEGIN
	 * IMMEDIATE could not upgrade it). */
	db_reset(st);
	l->r.method = "";
	if (strcmp(l->r.protocol, "shadowsocks") == 0 &&
	    (o = json_tokener_parse(settings)) != NULL) {
		if (json_object_object_get_ex(o, "method", &v) && json_object_is_type(v, json_type_string))
			l->r.method = arena_strdup(j->a, json_object_get_string(v));
		json_object_put(o);
	}
	return -1;
}

/*
 * Whether the job's occasion has passed (the shop's side): the reason,
 * or NULL to go on.  Run again in record() is not needed: the row can
 * only move on through these jobs, one at a time in the client's lane,
 * or through renewals, whose own jobs follow.
 */
static const char *
lc_stale(const struct job *j, const struct lc *l)
{
	const struct lc_row *r = &l->r;
	int64_t	 n;

	if (strcmp(r->state, "deleted") == 0)
		return strcmp(j->kind, "deprovision") == 0 ? "already deleted" : "the client was deleted";
	if (strcmp(r->state, "pending") == 0)
		return "the client is not provisioned yet";
	if (strcmp(j->kind, "suspend") == 0) {
		if ((n = op_num(l->op, "expired")) >= 0 && n != r->expires_at)
			return "renewed since it expired";
		if ((n = op_num(l->op, "quota")) >= 0 &&
		    (n != r->period || r->limit == 0 || r->used < r->limit))
			return "a new period or limit since the quota was reached";
	} else if (strcmp(j->kind, "resume") == 0) {
		if (r->expires_at > 0 && r->expires_at <= now_unix())
			return "expired: a renewal resumes it";
		/* A renewal resumes what expiry stopped, not what staff or
		 * the quota stopped (a quota still used up). */
		if (op_is(l->op, "renew") && strcmp(r->state, "suspended") == 0 &&
		    (strcmp(r->reason, "staff") == 0 || (strcmp(r->reason, "quota") == 0 &&
		    r->limit > 0 && r->used >= r->limit)))
			return "suspended by staff or still over its quota";
	} else if (strcmp(j->kind, "deprovision") == 0) {
		if ((n = op_num(l->op, "grace")) >= 0 && n != r->expires_at)
			return "renewed since it expired";
	} else if (strcmp(j->kind, "reset_traffic") == 0) {
		if ((n = op_num(l->op, "period")) >= 0 && n <= r->period)
			return "this period was reset before";
	} else if (strcmp(j->kind, "regenerate") == 0) {
		if ((n = op_num(l->op, "gen")) < 0)
			return "regenerate needs op gen:N";
		if (n <= r->cred_gen)
			return "this credential generation is in place";
	}
	return NULL;
}

/* The credential the panel addresses a G2 client by, and holds. */
static const char *
panel_cred(const struct lc *l, const struct xui_client *c)
{
	if (strcmp(l->r.protocol, "vless") == 0 || strcmp(l->r.protocol, "vmess") == 0)
		return c->id;
	return c->password;
}

/* A panel call failed: retry what may pass (transport, a reply of the
 * wrong shape), fail for staff what the panel refused, with its words. */
static enum job_rc
lc_panel_err(struct job *j, struct xui *x, const char *what)
{
	snprintf(j->err, sizeof(j->err), "%s: %s", what, xui_error(x));
	return strcmp(xui_fail(x), "refused") == 0 ? JOB_FAIL : JOB_RETRY;
}

/* Get the client (with its traffic when traffic): 1, 0 absent, or -1
 * with the job's rc in *rc. */
static int
lc_get(struct job *j, struct xui *x, struct lc *l, int traffic, struct xui_client *c,
    enum job_rc *rc)
{
	int	 got;

	memset(c, 0, sizeof(*c));
	got = xui_client_get(x, j->a, l->r.inbound, l->r.protocol, l->r.email, traffic, c);
	if (got < 0)
		*rc = lc_panel_err(j, x, "get client");
	return got;
}

/* Replace the client with c (its credential now key): 0, or -1 with *rc. */
static int
lc_update(struct work *w, struct job *j, struct xui *x, struct lc *l, const char *key,
    const struct xui_client *c, enum job_rc *rc)
{
	if (job_step(w, j, "update") != 0) {
		*rc = JOB_RETRY;	/* lost the claim: the new holder acts */
		return -1;
	}
	if (xui_client_update(x, l->r.inbound, l->r.protocol, l->r.email, key, c) != 0) {
		*rc = lc_panel_err(j, x, "update client");
		return -1;
	}
	return 0;
}

/* Make the panel's enable flag want (the client got as c): act only when
 * it differs, then read back.  0 with c the read-back, or -1 with *rc. */
static int
lc_enable(struct work *w, struct job *j, struct xui *x, struct lc *l, struct xui_client *c,
    int want, enum job_rc *rc)
{
	struct xui_client n;
	int	 got;

	if ((c->enable != 0) == want)
		return 0;
	n = *c;
	n.enable = want;
	if (lc_update(w, j, x, l, panel_cred(l, c), &n, rc) != 0)
		return -1;
	if ((got = lc_get(j, x, l, 0, c, rc)) < 0)
		return -1;
	if (got == 0 || (c->enable != 0) != want) {
		snprintf(j->err, sizeof(j->err), "the panel does not show the client %s after the update",
		    want ? "enabled" : "disabled");
		*rc = JOB_RETRY;
		return -1;
	}
	return 0;
}

static enum job_rc
lc_run(struct work *w, struct job *j)
{
	struct lc *l = arena_zalloc(j->a, sizeof(*l));
	struct xui_client c, n;
	struct xui *x;
	const char *kind, *why;
	enum job_rc rc = JOB_DONE;
	int	 start, got;

	j->ctx = l;
	if ((start = lc_load(w, j, l)) != -1)
		return (enum job_rc)start;
	if ((l->skip = lc_stale(j, l)) != NULL)
		return JOB_DONE;
	if ((start = xui_job_start(w, j, &x, &kind, &why)) != -1) {
		if (start == JOB_DONE) {
			/* The panel's row cannot be used: staff must act. */
			snprintf(j->err, sizeof(j->err), "%s", why);
			return JOB_FAIL;
		}
		return (enum job_rc)start;
	}
	if (job_step(w, j, "get") != 0) {
		rc = JOB_RETRY;
		goto out;
	}
	/* The generation decides the routes: the row's, else ask once. */
	if (!xui_job_generation_known(w, j)) {
		char	 version[64];
		const char *gen;

		if (xui_detect(x, version, sizeof(version), &gen, NULL, 0) != 0) {
			rc = lc_panel_err(j, x, "server/status");
			goto out;
		}
	}
	if ((got = lc_get(j, x, l, strcmp(j->kind, "reset_traffic") == 0, &c, &rc)) < 0)
		goto out;
	l->enable = got ? c.enable != 0 : -1;
	l->json = got ? c.json : "";
	l->state = l->r.state;
	l->reason = l->r.reason;
	if (got == 0 && strcmp(j->kind, "deprovision") == 0) {
		l->state = "deleted";
		l->note = "not on the panel (deleted)";
		goto out;
	}
	if (got == 0) {
		snprintf(j->err, sizeof(j->err), "client %s is not on the panel's inbound %" PRId64,
		    l->r.email, l->r.inbound);
		rc = JOB_FAIL;
		goto out;
	}

	if (strcmp(j->kind, "suspend") == 0) {
		if (lc_enable(w, j, x, l, &c, 0, &rc) != 0)
			goto out;
		l->state = "suspended";
		l->reason = op_is(l->op, "expired") ? "expired" : op_is(l->op, "quota") ? "quota" : "staff";
	} else if (strcmp(j->kind, "resume") == 0) {
		if (lc_enable(w, j, x, l, &c, 1, &rc) != 0)
			goto out;
		l->state = "active";
		l->reason = "";
	} else if (strcmp(j->kind, "deprovision") == 0) {
		if (job_step(w, j, "delete") != 0) {
			rc = JOB_RETRY;
			goto out;
		}
		if (xui_client_delete(x, l->r.inbound, l->r.protocol, l->r.email, panel_cred(l, &c)) != 0) {
			/* G2 (v2.1.2 - v3.0.2) will not delete an inbound's
			 * last client: disabled is as near as the panel
			 * allows, and drift reports it. */
			if (strcmp(xui_fail(x), "refused") != 0 ||
			    strstr(xui_error(x), "no client remained") == NULL) {
				rc = lc_panel_err(j, x, "delete client");
				goto out;
			}
			if (lc_enable(w, j, x, l, &c, 0, &rc) != 0)
				goto out;
			l->note = "the panel keeps an inbound's last client: disabled instead";
		} else {
			if ((got = lc_get(j, x, l, 0, &c, &rc)) < 0)
				goto out;
			if (got) {
				snprintf(j->err, sizeof(j->err), "the panel still shows the client after the delete");
				rc = JOB_RETRY;
				goto out;
			}
		}
		l->state = "deleted";
	} else if (strcmp(j->kind, "reset_traffic") == 0) {
		int	 want;

		/* Resetting twice is harmless (the counters are zero, or
		 * nearly), so the panel is not asked whether it was. */
		if (job_step(w, j, "reset") != 0) {
			rc = JOB_RETRY;
			goto out;
		}
		if (xui_client_reset_traffic(x, l->r.inbound, l->r.email) != 0) {
			rc = lc_panel_err(j, x, "reset traffic");
			goto out;
		}
		if ((got = lc_get(j, x, l, 1, &c, &rc)) < 0)
			goto out;
		if (got == 0) {
			snprintf(j->err, sizeof(j->err), "the client left the panel during the reset");
			rc = JOB_RETRY;
			goto out;
		}
		/* The panel re-enables a client it resets: one suspended
		 * for its quota is active again, any other stays off. */
		want = strcmp(l->r.state, "active") == 0 ||
		    (strcmp(l->r.state, "suspended") == 0 && strcmp(l->r.reason, "quota") == 0);
		if (lc_enable(w, j, x, l, &c, want, &rc) != 0)
			goto out;
		l->state = want ? "active" : l->r.state;
		l->reason = want ? "" : l->r.reason;
		l->start = op_is(l->op, "period") ? op_num(l->op, "period") : l->r.period;
	} else if (strcmp(j->kind, "regenerate") == 0) {
		char	 cred[128];
		const char *old = panel_cred(l, &c);

		l->gen = op_num(l->op, "gen");
		if (client_cred(w->key, l->r.item, l->gen, l->r.protocol, l->r.method, cred,
		    sizeof(cred)) != 0) {
			snprintf(j->err, sizeof(j->err), "no credential for protocol %s %s",
			    l->r.protocol, l->r.method);
			rc = JOB_FAIL;
			goto out;
		}
		l->cred = arena_strdup(j->a, cred);
		/* Already on the panel (a retry after the update): done. */
		if (strcmp(old, cred) != 0) {
			n = c;
			if (strcmp(l->r.protocol, "vless") == 0 || strcmp(l->r.protocol, "vmess") == 0)
				n.id = l->cred;
			else
				n.password = l->cred;
			if (lc_update(w, j, x, l, old, &n, &rc) != 0)
				goto out;
			if ((got = lc_get(j, x, l, 0, &c, &rc)) < 0)
				goto out;
			/* Never hand out a credential the panel does not use. */
			if (got == 0 || strcmp(panel_cred(l, &c), l->cred) != 0) {
				snprintf(j->err, sizeof(j->err), "the panel does not hold the new credential "
				    "after the update");
				rc = JOB_RETRY;
				goto out;
			}
		}
	}
	l->enable = c.enable != 0;
	l->json = c.json != NULL ? c.json : "";
	if (strcmp(l->state, "deleted") == 0 && l->note == NULL) {
		l->enable = -1;
		l->json = "";
	}
out:
	/* x is the runner's kept session (xui_job.c): not closed here. */
	return rc;
}

/* With 'done': what the panel read back, and one audit row. */
static int
lc_record(struct work *w, struct job *j)
{
	static const struct actor sys = { "system", 0, NULL, NULL };
	struct lc *l = j->ctx;
	struct json_object *res = json_object_new_object();
	struct stmt *st;
	int64_t	 now = now_unix();

	json_object_object_add(res, "client", json_object_new_int64(l->r.id));
	json_object_object_add(res, "op", json_object_new_string(l->op));
	if (l->skip != NULL) {
		json_object_object_add(res, "skipped", json_object_new_string(l->skip));
		goto out;
	}
	if (strcmp(j->kind, "regenerate") == 0) {
		st = db_q(w->db, Q_JCLIENT_CRED);
		db_bind_text(w->db, st, ":cred", l->cred);
		db_bind_int(w->db, st, ":gen", l->gen);
	} else if (strcmp(j->kind, "reset_traffic") == 0) {
		st = db_q(w->db, Q_JCLIENT_PERIOD);
		db_bind_int(w->db, st, ":start", l->start);
		db_bind_text(w->db, st, ":state", l->state);
		db_bind_text(w->db, st, ":reason", l->reason);
	} else {
		st = db_q(w->db, Q_JCLIENT_STATE);
		db_bind_text(w->db, st, ":state", l->state);
		db_bind_text(w->db, st, ":reason", l->reason);
	}
	if (l->enable < 0)
		db_bind_null(w->db, st, ":enable");
	else
		db_bind_int(w->db, st, ":enable", l->enable);
	db_bind_text(w->db, st, ":json", l->json);
	db_bind_int(w->db, st, ":now", now);
	db_bind_int(w->db, st, ":id", l->r.id);
	db_step(w->db, st);
	json_object_object_add(res, "state", json_object_new_string(l->state));
	json_object_object_add(res, "enable", l->enable < 0 ? NULL : json_object_new_boolean(l->enable));
	if (l->note != NULL)
		json_object_object_add(res, "note", json_object_new_string(l->note));
	audit(w->db, &sys, arena_printf(j->a, "client.%s", j->kind),
	    arena_printf(j->a, "client:%" PRId64, l->r.id), "%s on the panel (%s, op %s): %s%s%s",
	    j->kind, l->r.email, l->op, l->state, l->note != NULL ? "; " : "", l->note != NULL ? l->note : "");
out:
	j->result = arena_strdup(j->a, json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
	json_object_put(res);
	return 0;
}

const struct job_kind job_kind_suspend = { "suspend", "start", lc_run, lc_record };
const struct job_kind job_kind_resume = { "resume", "start", lc_run, lc_record };
const struct job_kind job_kind_deprovision = { "deprovision", "start", lc_run, lc_record };
const struct job_kind job_kind_reset_traffic = { "reset_traffic", "start", lc_run, lc_record };
const struct job_kind job_kind_regenerate = { "regenerate", "start", lc_run, lc_record };
