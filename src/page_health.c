/*
 * page_health.c: /healthz for load balancers and monitors.
 *
 * 200 with {"status":"ok",...} when the database answers; 503 when it
 * does not.  Spool depth is counted from the job table (the source of
 * truth), failed jobs likewise.  A signed-in staff member (second
 * factor done) with servers.write also gets "panels": each panel's
 * health, when it last answered and last had its traffic synced, and
 * whether an alert is open (cron alerts); nobody else learns the
 * panels' names or errors.  A staff member with servers.write or
 * mail.read gets "mail" (issue 14): email jobs queued now, failed in the
 * last hour, the setting mail.alert_failures and whether more than it
 * failed (the banner on staff pages says the same).
 */
#include "config.h"

#include <json-c/json.h>

#include "budget.h"
#include "mail_health.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "panel_default.h"
#include "session.h"
#include "util.h"

/* The panels' health as a JSON array (staff only). */
static void
panels(struct request *r)
{
	struct json_object *arr = json_object_new_array(), *o;
	struct stmt *st = db_q(r->db, Q_HEALTH_PANELS);

	while (db_step(r->db, st) == DB_ROW) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(db_int(st, 0)));
		json_object_object_add(o, "name", json_object_new_string(db_text(r->db, st, 1)));
		json_object_object_add(o, "state", json_object_new_string(db_text(r->db, st, 2)));
		json_object_object_add(o, "health", json_object_new_string(db_text(r->db, st, 3)));
		json_object_object_add(o, "last_ok_at", db_is_null(st, 4) ? NULL :
		    json_object_new_int64(db_int(st, 4)));
		json_object_object_add(o, "traffic_synced_at", db_is_null(st, 5) ? NULL :
		    json_object_new_int64(db_int(st, 5)));
		json_object_object_add(o, "alert_down", json_object_new_boolean(!db_is_null(st, 6)));
		json_object_object_add(o, "alert_stale", json_object_new_boolean(!db_is_null(st, 7)));
		json_object_object_add(o, "last_error", json_object_new_string(db_text(r->db, st, 8)));
		/* ASVS V2.10.2: a panel still on a 3X-UI default sign-in. */
		json_object_object_add(o, "default_credentials",
		    json_object_new_boolean(panel_server_default(r->db, r->app->key, db_int(st, 0))));
		json_object_array_add(arr, o);
	}
	db_reset(st);
	buf_printf(r->out, ",\"panels\":%s", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
}

/* The mail line (staff only): mail_health()'s figures. */
static void
mail_line(struct request *r)
{
	struct mail_health h;

	mail_health(r->db, now_unix(), &h);
	buf_printf(r->out, ",\"mail\":{\"queued\":%lld,\"failed_last_hour\":%lld,"
	    "\"alert_failures\":%lld,\"alert\":%s}", (long long)h.queued, (long long)h.failed_hour,
	    (long long)h.limit, h.alert ? "true" : "false");
}

/* The budget line (staff only, requests16): budget_health()'s figures. */
static void
budget_line(struct request *r)
{
	struct budget_health h;

	budget_health(r->db, r->app->conf.budget_alert_trips, &h);
	buf_printf(r->out, ",\"budgets\":{\"tripped_last_hour\":%lld,\"alert_trips\":%lld,"
	    "\"alert\":%s}", (long long)h.trips_hour, (long long)h.limit, h.alert ? "true" : "false");
}

/* GET /healthz — JSON; 200 or 503. */
void
page_healthz(struct request *r)
{
	const struct principal *staff = NULL;
	int64_t	 pending = -1, failed = -1;
	int	 ok;

	/* A database that does not answer is a 503, not the 500 that
	 * db_step's error path would make of it. */
	ok = db_ping(r->db) == 0;
	if (ok) {
		pending = db_one_int(r->db, db_q(r->db, Q_JOBS_PENDING_COUNT), -1);
		failed = db_one_int(r->db, db_q(r->db, Q_JOBS_FAILED_COUNT), -1);
		/* The route is open to anyone; the detail only to staff who
		 * may change servers, signed in with their second factor. */
		staff = session_load(r, SESS_STAFF);
		if (staff != NULL && !staff->mfa_ok)
			staff = NULL;
	}
	r->status = ok ? 200 : 503;
	r->resp_ctype = "application/json";
	buf_printf(r->out, "{\"status\":\"%s\",\"database\":\"%s\",\"spool_pending\":%lld,"
	    "\"jobs_failed\":%lld,\"worker_pid_requests\":%llu",
	    ok ? "ok" : "unavailable", ok ? "ok" : "error",
	    (long long)pending, (long long)failed, (unsigned long long)r->app->served);
	if (staff != NULL && has_perm(r, "servers.write"))
		panels(r);
	if (staff != NULL && (has_perm(r, "servers.write") || has_perm(r, "mail.read")))
		mail_line(r);
	if (staff != NULL && (has_perm(r, "audit.read") || has_perm(r, "security.manage")))
		budget_line(r);
	buf_printf(r->out, "}\n");
}
