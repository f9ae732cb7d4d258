/*
 * admin_clients.c: the staff's view of provisioned clients (issue 12,
 * /admin/clients), the customers' proxies on the panels.
 *
 *   GET  /admin/clients                     every client, newest first, 50
 *                                           a page; search by email (the
 *                                           client's panel email or the
 *                                           customer's), state and panel
 *   GET  /admin/clients/{id:int}            one client: what the panel read
 *                                           back (panel_json), usage per
 *                                           day, its order and its jobs
 *   POST /admin/clients/{id:int}/suspend    \
 *   POST /admin/clients/{id:int}/resume      |  one job on the client
 *   POST /admin/clients/{id:int}/reset-traffic  (client_job_enqueue),
 *   POST /admin/clients/{id:int}/regenerate  |  audited; deprovision after
 *   POST /admin/clients/{id:int}/deprovision/   re-authentication
 *
 * Reading needs orders.read (a client is what an order item delivered);
 * the actions need orders.write.  The actions only ask: `work` acts on
 * the panel and records the outcome (the client's state, what the panel
 * read back).  The op of a staff action is "staff:<unix time>", so a
 * double click within the second is one job; regenerate's is
 * "gen:<cred_gen + 1>" (shared12's convention), so a customer's and a
 * staff member's regenerate of the same credential are one job too.
 */
#include "config.h"

#include <string.h>

#include "admin.h"
#include "client_job.h"
#include "conf.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "spool.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

#define CLIENTS_PAGE		50
#define CLIENTS_MAX_PAGE	100000
#define USAGE_DAYS		30

static const char *const client_states[] = { "pending", "active", "suspended", "expired", "deleted" };

static const char *
when(struct request *r, int64_t t)
{
	char	 b[32];

	if (t <= 0)
		return "";
	time_human(b, t);
	return arena_strdup(r->a, b);
}

/* n bytes as the shop shows them ("1.5 GB"; buf_bytes says
 * "Unlimited" for 0, which is a limit's word, not a usage's); no
 * database call while the buffer holds memory (db.h). */
static const char *
bytes(struct request *r, int64_t n)
{
	struct buf b;
	const char *s;

	if (n <= 0)
		return "0 B";
	buf_init(&b);
	buf_bytes(&b, n);
	s = arena_strdup(r->a, b.p);
	buf_free(&b);
	return s;
}

/*
 * GET /admin/clients — ?email (a part of the client's or the customer's
 * email), ?state, ?panel (a server id), ?page.  200.  Allocates in the
 * request's arena.
 */
void
admin_clients(struct request *r)
{
	struct vm *vm = page_vm(r, "Clients"), *it;
	const char *email = req_query(r, "email"), *state = NULL, *s = req_query(r, "state");
	const char *ps = req_query(r, "page"), *pn = req_query(r, "panel");
	int64_t	 page = 1, panel = 0, n = 0, sid;
	struct stmt *st;
	size_t	 i;

	if (ps == NULL || !valid_int(ps, 1, CLIENTS_MAX_PAGE, &page))
		page = 1;
	if (pn == NULL || !valid_int(pn, 1, INT64_MAX, &panel))
		panel = 0;
	if (email != NULL && (*email == '\0' || !valid_line(email, 254)))
		email = NULL;
	for (i = 0; s != NULL && i < NELEM(client_states); i++)
		if (strcmp(s, client_states[i]) == 0)
			state = client_states[i];
	vm_set(vm, "f_email", email != NULL ? email : "");
	vm_set(vm, "f_state", state != NULL ? state : "");
	vm_set(vm, "f_panel", panel > 0 ? arena_printf(r->a, "%lld", (long long)panel) : "");
	vm_set_bool(vm, "f_any_state", state == NULL);
	vm_set_bool(vm, "f_any_panel", panel == 0);
	for (i = 0; i < NELEM(client_states); i++) {
		it = vm_push(vm, "states");
		vm_set(it, "name", client_states[i]);
		vm_set_bool(it, "selected", state == client_states[i]);
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
	st = db_q(r->db, Q_ACLI_LIST);
	db_bind_text(r->db, st, ":email", email != NULL ? db_like_contains(r->a, email) : NULL);
	db_bind_text(r->db, st, ":state", state);
	if (panel > 0)
		db_bind_int(r->db, st, ":panel", panel);
	else
		db_bind_null(r->db, st, ":panel");
	db_bind_int(r->db, st, ":limit", CLIENTS_PAGE + 1);
	db_bind_int(r->db, st, ":offset", (page - 1) * CLIENTS_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		int64_t	 limit = db_int(st, 9);

		if (++n > CLIENTS_PAGE)
			break;
		it = vm_push(vm, "clients");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "email", db_text(r->db, st, 1));
		vm_set(it, "state", db_text(r->db, st, 2));
		vm_set_int(it, "sid", db_int(st, 3));
		vm_set(it, "panel", db_text(r->db, st, 4));
		vm_set_int(it, "cid", db_int(st, 5));
		vm_set(it, "customer", db_text(r->db, st, 6));
		vm_set(it, "expires", when(r, db_int(st, 7)));
		vm_set(it, "order", db_text(r->db, st, 10));
		vm_set(it, "plan", db_text(r->db, st, 11));
		vm_set_bool(it, "online", db_int(st, 12));
		/* bytes() makes no database call: st stays valid. */
		vm_setf(it, "usage", "%s of %s", bytes(r, db_int(st, 8)), limit > 0 ? bytes(r, limit) : "unlimited");
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	vm_set_bool(vm, "shown", n > 0);
	ui_pager(vm, page, n > CLIENTS_PAGE);
	page_render(r, "pages/admin/clients", vm);
}

/* The actions, in the order the page shows them. */
enum cact { CACT_SUSPEND, CACT_RESUME, CACT_RESET, CACT_REGENERATE, CACT_DEPROVISION, CACT__MAX };
static const struct {
	const char	*path;		/* the route's last segment */
	const char	*kind;		/* the job's kind */
	const char	*label;
	const char	*done;		/* the notice after */
} cacts[CACT__MAX] = {
	[CACT_SUSPEND] = { "suspend", "suspend", "Suspend", "The client will be suspended on its panel." },
	[CACT_RESUME] = { "resume", "resume", "Resume", "The client will be enabled again on its panel." },
	[CACT_RESET] = { "reset-traffic", "reset_traffic", "Reset traffic",
	    "The client's traffic will be reset on its panel." },
	[CACT_REGENERATE] = { "regenerate", "regenerate", "Regenerate credential",
	    "A new credential will be set on the panel: the old links stop working." },
	[CACT_DEPROVISION] = { "deprovision", "deprovision", "Deprovision",
	    "The client will be deleted from its panel." },
};

/* Whether action a applies to a client in state. */
static int
cact_applies(enum cact a, const char *state)
{
	switch (a) {
	case CACT_SUSPEND:
		return strcmp(state, "active") == 0;
	case CACT_RESUME:
		/* An expired client is resumed by its renewal, not by staff
		 * (the job would find its occasion passed). */
		return strcmp(state, "suspended") == 0;
	case CACT_RESET:
	case CACT_REGENERATE:
		return strcmp(state, "active") == 0 || strcmp(state, "suspended") == 0;
	case CACT_DEPROVISION:
		return strcmp(state, "deleted") != 0 && strcmp(state, "pending") != 0;
	default:
		return 0;
	}
}

/*
 * The client's page, with an error (and its status) or a notice.  404
 * when there is no such client.
 */
static void
client_page(struct request *r, int status, const char *error)
{
	int64_t	 id = req_param_int(r, "id"), limit, n = 0;
	const char *done = req_query(r, "done"), *state;
	struct stmt *st;
	struct vm *vm, *it;
	int	 can = has_perm(r, "orders.write"), a;

	st = db_q(r->db, Q_ACLI_GET);
	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such client.");
	vm = page_vm(r, arena_printf(r->a, "Client %lld", (long long)id));
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_int(vm, "id", id);
	vm_set(vm, "email", db_text(r->db, st, 1));
	state = arena_strdup(r->a, db_text(r->db, st, 2));
	vm_set(vm, "state", state);
	vm_set_int(vm, "sid", db_int(st, 3));
	vm_set(vm, "panel", db_text(r->db, st, 4));
	vm_set_int(vm, "cid", db_int(st, 5));
	vm_set(vm, "customer", db_text(r->db, st, 6));
	vm_set(vm, "expires", db_is_null(st, 7) ? "never" : when(r, db_int(st, 7)));
	limit = db_int(st, 9);
	vm_set(vm, "used", bytes(r, db_int(st, 8)));
	vm_set(vm, "limit", limit > 0 ? bytes(r, limit) : "unlimited");
	vm_set(vm, "order", db_text(r->db, st, 10));
	vm_set(vm, "plan", db_text(r->db, st, 11));
	vm_set(vm, "online", db_int(st, 12) ? "online" : "offline");
	vm_set(vm, "synced", db_is_null(st, 13) ? "never" : when(r, db_int(st, 13)));
	vm_set(vm, "inbound", arena_printf(r->a, "#%lld %s (%s, port %lld)", (long long)db_int(st, 14),
	    db_text(r->db, st, 15), db_text(r->db, st, 16), (long long)db_int(st, 17)));
	vm_set(vm, "uuid", db_text(r->db, st, 18));
	vm_set(vm, "sub_id", db_text(r->db, st, 19));
	vm_set_int(vm, "cred_gen", db_int(st, 20));
	vm_set(vm, "suspended_reason", db_text(r->db, st, 21));
	vm_set(vm, "panel_enable", db_is_null(st, 22) ? "unknown" : db_int(st, 22) ? "enabled" : "disabled");
	vm_set(vm, "panel_json", *db_text(r->db, st, 23) ? db_text(r->db, st, 23) : "(nothing read back yet)");
	vm_set_int(vm, "limit_ip", db_int(st, 24));
	vm_set(vm, "created", when(r, db_int(st, 25)));
	vm_set_int(vm, "item", db_int(st, 26));
	db_reset(st);
	for (a = 0; a < CACT__MAX; a++) {
		if (!can || !cact_applies((enum cact)a, state))
			continue;
		it = vm_push(vm, "actions");
		vm_set(it, "path", cacts[a].path);
		vm_set(it, "label", cacts[a].label);
		vm_set_bool(it, "danger", a == CACT_DEPROVISION || a == CACT_REGENERATE);
	}
	st = db_q(r->db, Q_ACLI_USAGE);
	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":days", USAGE_DAYS);
	while (db_step(r->db, st) == DB_ROW) {
		char	 day[32];

		iso8601(day, db_int(st, 0) * 86400);
		it = vm_push(vm, "usage");
		vm_set(it, "day", arena_strndup(r->a, day, 10));
		vm_set(it, "up", bytes(r, db_int(st, 1)));
		vm_set(it, "down", bytes(r, db_int(st, 2)));
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "no_usage", n == 0);
	n = 0;
	st = db_q(r->db, Q_ACLI_JOBS);
	db_bind_int(r->db, st, ":id", id);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "jobs");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "kind", db_text(r->db, st, 1));
		vm_set(it, "state", db_text(r->db, st, 2));
		vm_set(it, "error", db_text(r->db, st, 3));
		vm_set(it, "at", when(r, db_int(st, 4)));
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "no_jobs", n == 0);
	vm_set_bool(vm, "can_jobs", has_perm(r, "jobs.manage"));
	for (a = 0; done != NULL && a < CACT__MAX; a++)
		if (strcmp(done, cacts[a].path) == 0)
			vm_set(vm, "notice", cacts[a].done);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/client", vm);
	if (status)
		r->status = status;
}

/* GET /admin/clients/{id:int} — ?done.  200; 404. */
void
admin_client(struct request *r)
{
	client_page(r, 0, NULL);
}

/*
 * Action a on client {id}: one transaction that checks the client's
 * state, enqueues the job (client_job_enqueue: asking twice in the same
 * second finds the same job) and writes one audit row naming the job,
 * then wakes it.  303 to the client's page; 404 for no such client; 409
 * (the page with the reason, nothing written) when the action does not
 * apply to the client's state.
 */
static void
client_act(struct request *r, enum cact a)
{
	int64_t	 id = req_param_int(r, "id"), job, gen;
	const char *state, *op;
	struct stmt *st;

	db_begin(r->db);
	st = db_q(r->db, Q_ACLI_STATE);
	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such client.");
	}
	state = arena_strdup(r->a, db_text(r->db, st, 0));
	gen = db_int(st, 1);
	db_reset(st);
	if (!cact_applies(a, state)) {
		db_rollback(r->db);
		client_page(r, 409, arena_printf(r->a, "The client is %s: \"%s\" does not apply. Nothing "
		    "was changed.", state, cacts[a].label));
		return;
	}
	op = a == CACT_REGENERATE ? arena_printf(r->a, "gen:%lld", (long long)gen + 1) :
	    arena_printf(r->a, "staff:%lld", (long long)now_unix());
	job = client_job_enqueue(r->db, cacts[a].kind, id, op);
	if (job == 0) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such client.");
	}
	req_audit(r, arena_printf(r->a, "client.%s", cacts[a].kind), arena_printf(r->a, "client:%lld",
	    (long long)id), "%s asked (job %lld, op %s); the client was %s", cacts[a].kind,
	    (long long)job, op, state);
	db_commit(r->db);
	spool_wake(&r->app->conf, job, cacts[a].kind);
	resp_redirect(r, 303, arena_printf(r->a, "/admin/clients/%lld?done=%s", (long long)id, cacts[a].path));
}

/* POST /admin/clients/{id:int}/suspend — csrf.  303; 404; 409. */
void
admin_client_suspend_post(struct request *r)
{
	client_act(r, CACT_SUSPEND);
}

/* POST /admin/clients/{id:int}/resume — csrf.  303; 404; 409. */
void
admin_client_resume_post(struct request *r)
{
	client_act(r, CACT_RESUME);
}

/* POST /admin/clients/{id:int}/reset-traffic — csrf.  303; 404; 409. */
void
admin_client_reset_post(struct request *r)
{
	client_act(r, CACT_RESET);
}

/* POST /admin/clients/{id:int}/regenerate — csrf.  303; 404; 409. */
void
admin_client_regenerate_post(struct request *r)
{
	client_act(r, CACT_REGENERATE);
}

/* POST /admin/clients/{id:int}/deprovision — csrf, and a recent
 * re-authentication (else 303 to /admin/reauth, nothing written): it
 * deletes a paid service from its panel.  303; 404; 409. */
void
admin_client_deprovision_post(struct request *r)
{
	if (!admin_reauth_ok(r, arena_printf(r->a, "/admin/clients/%lld", (long long)req_param_int(r, "id"))))
		return;
	client_act(r, CACT_DEPROVISION);
}
