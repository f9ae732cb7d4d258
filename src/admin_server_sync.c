/*
 * admin_server_sync.c: "Test connection" and "Sync inbounds" on a
 * server's page (servers.write), and what the page shows of them.
 *
 *   POST /admin/servers/{id:int}/test   enqueue a server_test job
 *   POST /admin/servers/{id:int}/sync   enqueue a server_sync job
 *
 * Web workers never talk to a panel (they never load libcurl): a button
 * enqueues the job in `work` (job_server_test.c, job_server_sync.c), one
 * audit row says so, and the page (303 back to it) shows the last test
 * and sync, pending until work has run them, and the inbounds.  It works
 * without JavaScript: reload the page.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "admin_catalog.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "spool.h"
#include "view.h"
#include "xui_job.h"

/* The last job of kind for server sid, as "last_test" or "last_sync". */
static void
last_job(struct request *r, struct vm *vm, int64_t sid, const char *kind, const char *key)
{
	struct stmt *st = db_q(r->db, Q_XUI_LAST_JOB);
	struct json_object *o, *v;
	struct vm *it;
	const char *state, *msg = "";

	db_bind_int(r->db, st, ":sid", sid);
	db_bind_text(r->db, st, ":kind", kind);
	if (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, key);
		state = db_text(r->db, st, 1);
		vm_set(it, "state", state);
		vm_set_int(it, "job", db_int(st, 0));
		if (strcmp(state, "done") == 0 &&
		    (o = json_tokener_parse(db_text(r->db, st, 2))) != NULL) {
			if (json_object_object_get_ex(o, "msg", &v) && json_object_is_type(v, json_type_string))
				msg = arena_strdup(r->a, json_object_get_string(v));
			vm_set_bool(it, "ok", json_object_object_get_ex(o, "ok", &v) &&
			    json_object_get_boolean(v));
			json_object_put(o);
		} else if (strcmp(state, "failed") == 0)
			msg = db_text(r->db, st, 3);
		vm_set(it, "msg", msg);
	}
	db_reset(st);
}

void
admin_server_panel_vm(struct request *r, struct vm *vm, int64_t sid)
{
	struct stmt *st;
	struct vm *it;
	int	 n = 0;

	last_job(r, vm, sid, "server_test", "last_test");
	last_job(r, vm, sid, "server_sync", "last_sync");
	st = db_q(r->db, Q_XUI_INBOUNDS);
	db_bind_int(r->db, st, ":sid", sid);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "inbounds");
		vm_set_int(it, "panel_id", db_int(st, 0));
		vm_set(it, "protocol", db_text(r->db, st, 1));
		vm_set_int(it, "port", db_int(st, 2));
		vm_set(it, "remark", db_text(r->db, st, 3));
		vm_set(it, "network", db_text(r->db, st, 4));
		vm_set(it, "security", db_text(r->db, st, 5));
		vm_set_bool(it, "active", db_int(st, 6) != 0);
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "no_inbounds", n == 0);
}

/* Enqueue kind for server {id}, audited; 303 to its page; 404. */
static void
enqueue(struct request *r, const char *kind, const char *action)
{
	int64_t	 id = req_param_int(r, "id"), job;
	struct stmt *st;
	int	 found;

	db_begin(r->db);
	st = db_q(r->db, Q_ASRV_GET);
	db_bind_int(r->db, st, ":id", id);
	found = db_step(r->db, st) == DB_ROW;
	db_reset(st);
	if (!found) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such server.");
	}
	job = xui_job_enqueue(r->db, kind, id);
	req_audit(r, action, arena_printf(r->a, "server:%lld", (long long)id), "job: %lld",
	    (long long)job);
	db_commit(r->db);
	spool_wake(&r->app->conf, job, kind);
	resp_redirect(r, 303, arena_printf(r->a, "/admin/servers/%lld", (long long)id));
}

/* POST /admin/servers/{id:int}/test — csrf.  303; 404. */
void
admin_server_test_post(struct request *r)
{
	enqueue(r, "server_test", "server.test");
}

/* POST /admin/servers/{id:int}/sync — csrf.  303; 404. */
void
admin_server_sync_post(struct request *r)
{
	enqueue(r, "server_sync", "server.sync");
}
