/*
 * page_services.c: the customer's proxies (issue 12, "The customer's
 * proxies").
 *
 *   GET  /services                    every client, the paid items not
 *                                     working yet, the subscription URL
 *   GET  /services/{id}               one client: state, usage, link, QR
 *   POST /services/{id}/regenerate    a new credential (old links stop)
 *   POST /services/{id}/auto-renew    auto-renew from the wallet on/off
 *   POST /services/subscription       a new subscription URL
 *
 * Pages read the database only (traffic and online state come from the
 * traffic sync), never a panel.  A client is found by its id and its
 * owner together, so another customer's client is a 404, the same page
 * as none.  Panel errors never reach customers: an item that failed for
 * good shows "we are on it".  The share link is shown as text in a
 * readonly field and as a QR code (qr.c, a data: URI), never as an href:
 * the view layer blocks proxy schemes in URLs, rightly.  Regenerate asks
 * `work` through client_job_enqueue() (op gen:<cred_gen + 1>, so a
 * second press is the same job) and the page says "regenerating" until
 * the job has landed.
 */
#include "config.h"

#include <string.h>

#include "client_job.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "qr.h"
#include "response.h"
#include "session.h"
#include "spool.h"
#include "svc.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

static const char *
state_label(const char *state)
{
	if (strcmp(state, "active") == 0)
		return "active";
	if (strcmp(state, "suspended") == 0)
		return "suspended";
	if (strcmp(state, "expired") == 0)
		return "expired";
	if (strcmp(state, "deleted") == 0)
		return "removed";
	return "being set up";
}

/* The facts both pages show of one client, into it. */
static void
svc_vm(struct request *r, struct vm *it, const struct svc *s)
{
	char	 iso[32];
	int64_t	 used = s->up + s->down, pct;

	vm_set_int(it, "id", s->id);
	vm_set_int(it, "item", s->order_item_id);
	vm_set(it, "plan", s->plan);
	vm_set(it, "protocol", s->in.protocol);
	vm_set(it, "location", *s->city ? arena_printf(r->a, "%s, %s", s->city, s->country) : s->country);
	vm_set(it, "state", s->state);
	vm_set(it, "state_label", state_label(s->state));
	vm_set(it, "expires", s->expires_at ? svc_when(r, s->expires_at) : "never");
	iso8601(iso, s->expires_at);
	vm_set(it, "expires_iso", s->expires_at ? iso : "");
	vm_set(it, "used", svc_bytes(r, used));
	vm_set_bool(it, "has_limit", s->limit > 0);
	vm_set(it, "limit", s->limit > 0 ? svc_bytes(r, s->limit) : "unlimited");
	pct = s->limit > 0 ? used * 100 / s->limit : 0;
	vm_set_int(it, "pct", pct > 100 ? 100 : pct);
	vm_set_bool(it, "online", s->online);
	vm_set(it, "synced", svc_when(r, s->synced_at));
	vm_set(it, "order", s->order);
	vm_set_bool(it, "regenerating", s->regenerating);
	vm_set_bool(it, "auto_renew", s->auto_renew);
}

/* GET /services (customers): 200. */
void
page_services(struct request *r)
{
	int64_t	 cust = r->principal[SESS_CUSTOMER]->user_id;
	const char *ok = req_query(r, "ok"), *url;
	struct vm *vm, *it;
	struct stmt *st;
	struct svc s;
	struct buf q;
	int	 n = 0, np = 0;

	url = svc_sub_url(r, cust);
	vm = page_vm(r, "Your proxies");
	vm_set_bool(vm, "nav_services", 1);
	st = db_q(r->db, Q_SVC_LIST);
	db_bind_int(r->db, st, ":customer", cust);
	while (db_step(r->db, st) == DB_ROW) {
		svc_read(r, st, &s);
		svc_vm(r, vm_push(vm, "services"), &s);
		n++;
	}
	db_reset(st);
	st = db_q(r->db, Q_SVC_PENDING);
	db_bind_int(r->db, st, ":customer", cust);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "pending");
		vm_set_bool(it, "failed", strcmp(db_text(r->db, st, 1), "failed") == 0);
		vm_set(it, "plan", db_text(r->db, st, 2));
		vm_set(it, "order", db_text(r->db, st, 3));
		np++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_services", n > 0);
	vm_set_bool(vm, "has_pending", np > 0);
	vm_set_bool(vm, "empty", n == 0 && np == 0);
	vm_set(vm, "sub_url", url);
	buf_init(&q);
	if (qr_svg_data_uri(&q, url) == 0)
		vm_set(vm, "sub_qr", q.p);
	buf_free(&q);
	if (ok != NULL && strcmp(ok, "subscription") == 0)
		vm_set(vm, "notice", "Your new subscription URL is below; the old one no longer works.");
	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	page_render(r, "pages/services", vm);
}

/* The client {id} of the customer into s; 404 unless it is theirs. */
static void
svc_get(struct request *r, struct svc *s)
{
	struct stmt *st = db_q(r->db, Q_SVC_GET);

	db_bind_int(r->db, st, ":id", req_param_int(r, "id"));
	db_bind_int(r->db, st, ":customer", r->principal[SESS_CUSTOMER]->user_id);
	if (db_step(r->db, st) != DB_ROW) {
		db_reset(st);
		if (db_in_tx(r->db))
			db_rollback(r->db);
		req_fail(r, 404, "There is no such proxy.");
	}
	svc_read(r, st, s);
	db_reset(st);
}

static int
can_regenerate(const struct svc *s)
{
	return !s->regenerating && (strcmp(s->state, "active") == 0 || strcmp(s->state, "suspended") == 0);
}

/* The page of client s, with error (or NULL) above it. */
static void
service_show(struct request *r, const struct svc *s, const char *error)
{
	const char *ok = req_query(r, "ok"), *link, *why = NULL;
	struct vm *vm = page_vm(r, s->plan);
	struct buf q;

	vm_set_bool(vm, "nav_services", 1);
	svc_vm(r, vm, s);
	link = strcmp(s->state, "deleted") != 0 ? svc_link(r, s, &why) : NULL;
	if (link == NULL && why != NULL)
		log_msg(r, "client %lld: no share link: %s", (long long)s->id, why);
	if (link != NULL) {
		vm_set(vm, "link", link);
		buf_init(&q);
		if (qr_svg_data_uri(&q, link) == 0)
			vm_set(vm, "qr", q.p);
		buf_free(&q);
	}
	vm_set_bool(vm, "can_renew", strcmp(s->state, "deleted") != 0);
	vm_set_bool(vm, "can_regenerate", can_regenerate(s));
	vm_set(vm, "auto_renew_next", s->auto_renew ? "0" : "1");
	vm_set(vm, "auto_renew_button", s->auto_renew ? "Turn auto-renew off" : "Turn auto-renew on");
	if (error != NULL)
		vm_set(vm, "error", error);
	else if (ok != NULL && strcmp(ok, "auto-renew") == 0)
		vm_set(vm, "notice", s->auto_renew ?
		    "Auto-renew is on: before this proxy expires, it is renewed from your wallet when the wallet can pay for it." :
		    "Auto-renew is off.");
	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	page_render(r, "pages/service", vm);
}

/* GET /services/{id:int} (customers): 200; 404 unless it is theirs. */
void
page_service(struct request *r)
{
	struct svc s;

	svc_get(r, &s);
	service_show(r, &s, NULL);
}

/*
 * POST /services/{id:int}/regenerate — csrf.  Enqueues the regenerate
 * job (client_job.h, op gen:<cred_gen + 1>) and audits it, in one
 * transaction; 303 to the client's page, which says "regenerating"
 * until the job lands.  404 unless the client is the customer's; 409
 * with the page when it is neither active nor suspended.
 */
void
page_service_regenerate_post(struct request *r)
{
	struct svc s;
	int64_t	 job;

	db_begin(r->db);
	svc_get(r, &s);
	if (s.regenerating) {
		/* Already asked: the same job, nothing new to do. */
		db_rollback(r->db);
		resp_redirect(r, 303, arena_printf(r->a, "/services/%lld", (long long)s.id));
		return;
	}
	if (!can_regenerate(&s)) {
		db_rollback(r->db);
		r->status = 409;
		service_show(r, &s, "Only an active or suspended proxy can get a new link.");
		return;
	}
	job = client_job_enqueue(r->db, "regenerate", s.id,
	    arena_printf(r->a, "gen:%lld", (long long)s.cred_gen + 1));
	if (job == 0)
		db_fail(r->db, "regenerate: client %lld vanished", (long long)s.id);
	req_audit(r, "service.regenerate", arena_printf(r->a, "client:%lld", (long long)s.id),
	    "job %lld, credential generation %lld", (long long)job, (long long)s.cred_gen + 1);
	db_commit(r->db);
	spool_wake(&r->app->conf, job, "regenerate");
	resp_redirect(r, 303, arena_printf(r->a, "/services/%lld", (long long)s.id));
}

static const struct field page_service_auto_renew_fields[] = {
	/* Not required: another customer's client is a 404 whatever the
	 * form holds (t/80-idor.t), so the handler looks at it first. */
	{ "on", FK_INT, 0, 0, 1 },
};
const struct form page_service_auto_renew_form = { FORM(page_service_auto_renew_fields) };

/*
 * POST /services/{id:int}/auto-renew — on (0 or 1), csrf.  Sets the
 * client's auto_renew (cron renew reads it), audited; 303 to the page.
 * 404 unless the client is the customer's; 400 for a missing or
 * malformed on.
 */
void
page_service_auto_renew_post(struct request *r)
{
	const char *on = form_get(r, "on");
	struct stmt *st;
	struct svc s;
	int64_t	 v;

	db_begin(r->db);
	svc_get(r, &s);
	if (on == NULL || !form_valid(r, "on") || parse_i64(on, &v) != 0) {
		db_rollback(r->db);
		req_fail(r, 400, "Say on (1) or off (0).");
	}
	st = db_q(r->db, Q_SVC_AUTO_RENEW);
	db_bind_int(r->db, st, ":on", v);
	db_bind_int(r->db, st, ":now", now_unix());
	db_bind_int(r->db, st, ":id", s.id);
	db_bind_int(r->db, st, ":customer", r->principal[SESS_CUSTOMER]->user_id);
	if (db_step(r->db, st) != DB_ROW) {
		db_reset(st);
		db_rollback(r->db);
		req_fail(r, 404, "There is no such proxy.");
	}
	db_reset(st);
	if (v != s.auto_renew)
		req_audit(r, "service.auto_renew", arena_printf(r->a, "client:%lld", (long long)s.id),
		    "auto-renew %s", v ? "on" : "off");
	db_commit(r->db);
	resp_redirect(r, 303, arena_printf(r->a, "/services/%lld?ok=auto-renew", (long long)s.id));
}

/*
 * POST /services/subscription — csrf.  A new subscription URL: gen + 1
 * and the new token's hash, audited; the old URL is a 404 from the next
 * request on.  303 to /services.
 */
void
page_sub_new_post(struct request *r)
{
	int64_t	 cust = r->principal[SESS_CUSTOMER]->user_id, gen;
	unsigned char h[32];
	char	 tok[SVC_TOKEN_LEN + 1];
	struct stmt *st;

	(void)svc_sub_url(r, cust);	/* the row exists from here on */
	db_begin(r->db);
	st = db_q(r->db, Q_SVC_SUB_GEN);
	db_bind_int(r->db, st, ":customer", cust);
	gen = db_one_int(r->db, st, -1);
	if (gen < 0)
		db_fail(r->db, "subscription of customer %lld vanished", (long long)cust);
	if (svc_token_derive(r->app->key, cust, gen + 1, tok) != 0)
		req_fail(r, 500, "The subscription token could not be made.");
	token_hash(tok, h);
	st = db_q(r->db, Q_SVC_SUB_BUMP);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_int(r->db, st, ":now", now_unix());
	db_bind_int(r->db, st, ":customer", cust);
	db_bind_int(r->db, st, ":old", gen);
	db_step(r->db, st);
	db_reset(st);
	req_audit(r, "subscription.regenerate", arena_printf(r->a, "customer:%lld", (long long)cust),
	    "generation %lld", (long long)gen + 1);
	db_commit(r->db);
	resp_redirect(r, 303, "/services?ok=subscription#subscription");
}
