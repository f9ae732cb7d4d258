/*
 * admin_jobs.c: the staff's view of the job spool (issue 12, /admin/jobs).
 *
 *   GET  /admin/jobs                      queue depth per kind and per
 *                                         panel, the running jobs, and
 *                                         the jobs filtered by kind,
 *                                         state and panel, newest first,
 *                                         50 a page, failed ones with the
 *                                         panel's message
 *   POST /admin/jobs/{id:int}/retry       a failed or discarded job runs again
 *   POST /admin/jobs/{id:int}/discard     a pending or failed job never runs
 *
 * All behind jobs.manage (migration 002: "See and retry failed jobs",
 * granted to super_admin and manager, the roles that hold orders.write).
 * Retry and discard are jobctl.c's, the same operations as `1000proxy
 * job retry|discard`: one guarded UPDATE and one audit row in one
 * transaction, then the spool files follow the row.
 */
#include "config.h"

#include <string.h>

#include "audit.h"
#include "conf.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "jobctl.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

#define JOBS_PAGE	50
#define JOBS_MAX_PAGE	100000

/* The kinds and states of jobs (sql/006_jobs.sql's CHECK lists). */
static const char *const job_kinds[] = { "email", "provision", "deprovision", "renew", "suspend",
	"resume", "reset_traffic", "regenerate", "traffic_sync", "server_test", "server_sync",
	"gateway_followup", "payment_create", "payment_capture", "refund" };
static const char *const job_states[] = { "pending", "running", "done", "failed", "discarded" };

static const char *
one_of(const char *s, const char *const *list, size_t n)
{
	size_t	 i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return list[i];
	return NULL;
}

static const char *
when(struct request *r, int64_t t)
{
	char	 b[32];

	if (t <= 0)
		return "";
	time_human(b, t);
	return arena_strdup(r->a, b);
}

/* One job row of Q_AJOB_LIST into list name of vm. */
static void
job_row(struct request *r, struct vm *vm, const char *name, struct stmt *st)
{
	struct vm *it = vm_push(vm, name);
	const char *state = db_text(r->db, st, 2);

	vm_set_int(it, "id", db_int(st, 0));
	vm_set(it, "kind", db_text(r->db, st, 1));
	vm_set(it, "state", state);
	vm_set_int(it, "attempts", db_int(st, 3));
	vm_set(it, "step", db_text(r->db, st, 4));
	vm_set(it, "next_at", strcmp(state, "pending") == 0 ? when(r, db_int(st, 5)) : "");
	vm_set_bool(it, "has_panel", db_int(st, 6) > 0);
	vm_set_int(it, "sid", db_int(st, 6));
	vm_set(it, "panel", db_text(r->db, st, 7));
	vm_set(it, "error", db_text(r->db, st, 8));
	vm_set(it, "created", when(r, db_int(st, 9)));
	vm_set(it, "updated", when(r, db_int(st, 10)));
	vm_set(it, "runner", db_text(r->db, st, 11));
	vm_set_bool(it, "can_retry", strcmp(state, "failed") == 0 || strcmp(state, "discarded") == 0);
	vm_set_bool(it, "can_discard", strcmp(state, "pending") == 0 || strcmp(state, "failed") == 0);
}

/*
 * The page, with an optional error (status set after).  ?kind, ?state
 * (one of the lists above, else any), ?panel (a server id; "none": jobs
 * of no panel), ?page; ?done=retried|discarded (a fixed notice).
 * Allocates in the request's arena.
 */
static void
jobs_page(struct request *r, int status, const char *error)
{
	struct vm *vm = page_vm(r, "Jobs"), *it;
	const char *kind = one_of(req_query(r, "kind"), job_kinds, NELEM(job_kinds));
	const char *state = one_of(req_query(r, "state"), job_states, NELEM(job_states));
	const char *ps = req_query(r, "page"), *pn = req_query(r, "panel"), *done = req_query(r, "done");
	int64_t	 page = 1, panel = -1, n = 0, sid;
	struct stmt *st;
	size_t	 i;

	if (ps == NULL || !valid_int(ps, 1, JOBS_MAX_PAGE, &page))
		page = 1;
	if (pn != NULL && strcmp(pn, "none") == 0)
		panel = 0;
	else if (pn != NULL && !valid_int(pn, 1, INT64_MAX, &panel))
		panel = -1;
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "f_kind", kind != NULL ? kind : "");
	vm_set(vm, "f_state", state != NULL ? state : "");
	vm_set(vm, "f_panel", panel > 0 ? arena_printf(r->a, "%lld", (long long)panel) :
	    panel == 0 ? "none" : "");
	vm_set_bool(vm, "f_any_kind", kind == NULL);
	vm_set_bool(vm, "f_any_state", state == NULL);
	vm_set_bool(vm, "f_any_panel", panel < 0);
	vm_set_bool(vm, "f_no_panel", panel == 0);
	for (i = 0; i < NELEM(job_kinds); i++) {
		it = vm_push(vm, "kinds");
		vm_set(it, "name", job_kinds[i]);
		vm_set_bool(it, "selected", kind == job_kinds[i]);
	}
	for (i = 0; i < NELEM(job_states); i++) {
		it = vm_push(vm, "states");
		vm_set(it, "name", job_states[i]);
		vm_set_bool(it, "selected", state == job_states[i]);
	}
	st = db_q(r->db, Q_AJOB_PANELS);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "panels");
		sid = db_int(st, 0);
		vm_set_int(it, "id", sid);
		vm_set(it, "name", db_text(r->db, st, 1));
		vm_set_bool(it, "selected", sid == panel);
	}
	db_reset(st);

	/* Depth: what waits, runs and failed, per kind and per panel. */
	st = db_q(r->db, Q_AJOB_DEPTH_KIND);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "by_kind");
		vm_set(it, "kind", db_text(r->db, st, 0));
		vm_set_int(it, "pending", db_int(st, 1));
		vm_set_int(it, "running", db_int(st, 2));
		vm_set_int(it, "failed", db_int(st, 3));
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "idle", n == 0);
	st = db_q(r->db, Q_AJOB_DEPTH_PANEL);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "by_panel");
		vm_set_int(it, "sid", db_int(st, 0));
		vm_set(it, "panel", db_text(r->db, st, 1));
		vm_set(it, "health", db_text(r->db, st, 2));
		vm_set_int(it, "pending", db_int(st, 3));
		vm_set_int(it, "running", db_int(st, 4));
		vm_set_int(it, "failed", db_int(st, 5));
	}
	db_reset(st);

	/* Running now, whatever the filter. */
	n = 0;
	st = db_q(r->db, Q_AJOB_LIST);
	db_bind_text(r->db, st, ":state", "running");
	db_bind_null(r->db, st, ":kind");
	db_bind_int(r->db, st, ":panel", -1);
	db_bind_int(r->db, st, ":limit", JOBS_PAGE);
	db_bind_int(r->db, st, ":offset", 0);
	while (db_step(r->db, st) == DB_ROW) {
		job_row(r, vm, "running", st);
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_running", n > 0);

	n = 0;
	st = db_q(r->db, Q_AJOB_LIST);
	db_bind_text(r->db, st, ":state", state);
	db_bind_text(r->db, st, ":kind", kind);
	db_bind_int(r->db, st, ":panel", panel);
	/* One more than a page: whether there is a next one. */
	db_bind_int(r->db, st, ":limit", JOBS_PAGE + 1);
	db_bind_int(r->db, st, ":offset", (page - 1) * JOBS_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		if (++n > JOBS_PAGE)
			break;
		job_row(r, vm, "jobs", st);
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	vm_set_bool(vm, "shown", n > 0);
	ui_pager(vm, page, n > JOBS_PAGE);
	if (done != NULL && strcmp(done, "retried") == 0)
		vm_set(vm, "notice", "The job is pending again: work runs it shortly.");
	if (done != NULL && strcmp(done, "discarded") == 0)
		vm_set(vm, "notice", "The job is discarded: it will not run.");
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/jobs", vm);
	if (status)
		r->status = status;
}

/* GET /admin/jobs — ?kind, ?state, ?panel, ?page, ?done.  200. */
void
admin_jobs(struct request *r)
{
	jobs_page(r, 0, NULL);
}

/* Retry or discard job {id}: one transaction (jobctl_change), then the
 * files.  303 to the list; 404 for no such job; 409 (the list with the
 * reason, nothing written) for a state that allows no such change. */
static void
job_change(struct request *r, int retry)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	int64_t	 id = req_param_int(r, "id");
	const char *kind = NULL, *state = NULL;
	enum jobctl_rc rc;

	db_begin(r->db);
	rc = jobctl_change(r->db, id, retry, &who, "from /admin/jobs", &kind, &state);
	if (rc == JOBCTL_NONE) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such job.");
	}
	if (rc != JOBCTL_OK) {
		db_rollback(r->db);
		jobs_page(r, 409, arena_printf(r->a, "Job %lld is %s: only %s jobs can be %s. Nothing "
		    "was changed.", (long long)id, state, retry ? "failed or discarded" : "pending or failed",
		    retry ? "retried" : "discarded"));
		return;
	}
	db_commit(r->db);
	jobctl_files(&r->app->conf, id, kind, retry);
	resp_redirect(r, 303, retry ? "/admin/jobs?done=retried" : "/admin/jobs?done=discarded");
}

/* POST /admin/jobs/{id:int}/retry — csrf.  303; 404; 409. */
void
admin_job_retry_post(struct request *r)
{
	job_change(r, 1);
}

/* POST /admin/jobs/{id:int}/discard — csrf.  303; 404; 409. */
void
admin_job_discard_post(struct request *r)
{
	job_change(r, 0);
}
