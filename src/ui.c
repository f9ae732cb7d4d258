/*
 * ui.c: the layout shared by every page.  Pages under /admin get the
 * staff chrome (partials/admin_nav) instead of the shop's header: the
 * sections the signed-in staff member's role may open, and sign-out.
 */
#include "config.h"

#include <string.h>

#include "budget.h"
#include "db.h"
#include "mail_health.h"
#include "cart.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "ui.h"
#include "util.h"
#include "view.h"

/*
 * The mail banner (issue 14): more than mail.alert_failures email jobs
 * failed in the last hour.  It mails nobody (mail is what is broken).
 * One statement per staff page (Q_MAIL_ALERT: a range of the partial
 * index jobs_failed, the setting's primary key, jobs_state's pending
 * rows): measured at about 40 us with 100,000 sent, 10,000 failed and
 * 200 queued jobs, so no per-worker cache (whose staleness a test would
 * have to wait out).  Without migration 024 the planner read every email
 * job through jobs_kind: 167 ms a page at 100,000.
 * Not on an error page: the database may be what failed.
 */
static void
mail_banner(struct request *r, struct vm *vm)
{
	struct mail_health h;

	if (r->error != NULL)
		return;
	mail_health(r->db, now_unix(), &h);
	if (!h.alert)
		return;
	vm_set_bool(vm, "mail_banner", 1);
	vm_set_int(vm, "mail_banner_n", h.failed_hour);
	vm_set_bool(vm, "mail_banner_link", has_perm(r, "mail.read"));
}

/*
 * The budget banner (requests16): request budgets (budget.h) tripped at
 * least budget_alert_trips times in the last hour, that is, something
 * is hammering the shop.  One statement a staff page, a range of
 * audit_log_action.  Not on an error page, as above.
 */
static void
budget_banner(struct request *r, struct vm *vm)
{
	struct budget_health h;

	if (r->error != NULL)
		return;
	budget_health(r->db, r->app->conf.budget_alert_trips, &h);
	if (!h.alert)
		return;
	vm_set_bool(vm, "budget_banner", 1);
	vm_set_int(vm, "budget_banner_n", h.trips_hour);
	vm_set_bool(vm, "budget_banner_link", has_perm(r, "audit.read"));
}

/* The staff header: links only to what the role may open, and only
 * once the second factor is done. */
static void
admin_chrome(struct request *r, struct vm *vm)
{
	const struct principal *p = r->principal[SESS_STAFF];

	vm_set_bool(vm, "admin", 1);
	if (p == NULL)
		return;
	vm_set_bool(vm, "staff_in", 1);
	vm_set(vm, "staff_me", *p->name ? p->name : p->email);
	vm_set(vm, "staff_role", p->role);
	vm_set(vm, "staff_logout_csrf", p->csrf);
	if (!p->mfa_ok || !p->totp_enrolled)
		return;
	vm_set_bool(vm, "staff_full", 1);
	vm_set_bool(vm, "nav_staff", has_perm(r, "staff.manage"));
	vm_set_bool(vm, "nav_audit", has_perm(r, "audit.read"));
	vm_set_bool(vm, "nav_security", has_perm(r, "security.manage"));
	vm_set_bool(vm, "nav_customers", has_perm(r, "customers.read"));
	vm_set_bool(vm, "nav_settings", has_perm(r, "settings.write"));
	vm_set_bool(vm, "nav_catalog", has_perm(r, "plans.write"));
	vm_set_bool(vm, "nav_servers", has_perm(r, "servers.write"));
	vm_set_bool(vm, "here_servers", strncmp(r->path, "/admin/servers", 14) == 0);
	vm_set_bool(vm, "nav_jobs", has_perm(r, "jobs.manage"));
	vm_set_bool(vm, "here_jobs", strncmp(r->path, "/admin/jobs", 11) == 0);
	vm_set_bool(vm, "nav_clients", has_perm(r, "orders.read"));
	vm_set_bool(vm, "here_clients", strncmp(r->path, "/admin/clients", 14) == 0);
	vm_set_bool(vm, "here_payments", strncmp(r->path, "/admin/payments", 15) == 0);
	vm_set_bool(vm, "here_catalog", strncmp(r->path, "/admin/plans", 12) == 0 ||
	    strncmp(r->path, "/admin/categories", 17) == 0 || strncmp(r->path, "/admin/brands", 13) == 0);
	vm_set_bool(vm, "here_customers", strncmp(r->path, "/admin/customers", 16) == 0);
	vm_set_bool(vm, "here_settings", strncmp(r->path, "/admin/settings", 15) == 0);
	vm_set_bool(vm, "here_dash", strcmp(r->path, "/admin") == 0);
	vm_set_bool(vm, "here_staff", strncmp(r->path, "/admin/staff", 12) == 0);
	vm_set_bool(vm, "here_audit", strncmp(r->path, "/admin/audit", 12) == 0);
	vm_set_bool(vm, "here_security", strncmp(r->path, "/admin/security", 15) == 0);
	vm_set_bool(vm, "here_tokens", strncmp(r->path, "/admin/tokens", 13) == 0);
	vm_set_bool(vm, "here_passkeys", strncmp(r->path, "/admin/passkeys", 15) == 0);
	vm_set_bool(vm, "nav_mail", has_perm(r, "mail.read"));
	vm_set_bool(vm, "here_mail", strncmp(r->path, "/admin/mail", 11) == 0);
	mail_banner(r, vm);
	budget_banner(r, vm);
}

struct vm *
page_vm(struct request *r, const char *title)
{
	struct vm *vm = vm_new(r->a);

	vm_set(vm, "site_name", shop_name(r->db, r->a, &r->app->conf));
	vm_set(vm, "title", title);
	vm_set(vm, "request_id", r->id);
	vm_set(vm, "path", r->path);
	vm_set_bool(vm, "nav_home", r->path && strcmp(r->path, "/") == 0);
	vm_set_bool(vm, "nav_plans", r->path && strncmp(r->path, "/plans", 6) == 0);
	vm_set(vm, "year", "2026");
	vm_set_bool(vm, "nav_cart", r->path && strncmp(r->path, "/cart", 5) == 0);
	/* The header's cart count; not on staff pages, nor on an error
	 * page (the database may be what failed). */
	vm_set_int(vm, "cart_count", r->error == NULL && r->path != NULL &&
	    strncmp(r->path, "/admin", 6) != 0 ? cart_count(r) : 0);
	/* Signed in means past the second factor too: a half-done sign-in
	 * at /login/2fa shows the anonymous header. */
	if (r->principal[SESS_CUSTOMER] != NULL && r->principal[SESS_CUSTOMER]->mfa_ok &&
	    strncmp(r->path, "/admin", 6) != 0) {
		vm_set_bool(vm, "signed_in", 1);
		vm_set(vm, "me_name", *r->principal[SESS_CUSTOMER]->name ?
		    r->principal[SESS_CUSTOMER]->name : r->principal[SESS_CUSTOMER]->email);
		vm_set(vm, "logout_csrf", r->principal[SESS_CUSTOMER]->csrf);
	}
	if (r->path && strncmp(r->path, "/admin", 6) == 0)
		admin_chrome(r, vm);
	if (r->form_error != NULL)
		vm_set(vm, "form_error", r->form_error);
	return vm;
}

void
ui_pager(struct vm *vm, int64_t page, int more)
{
	vm_set_int(vm, "page", page);
	if (page > 1)
		vm_set_int(vm, "prev_page", page - 1);
	if (more)
		vm_set_int(vm, "next_page", page + 1);
}

void
page_render(struct request *r, const char *tmpl, struct vm *vm)
{
	struct buf content;

	buf_init(&content);
	if (view_render(r->app->views, tmpl, vm, &content) != 0) {
		buf_free(&content);
		req_fail(r, 500, "view %s: %s", tmpl, view_error());
	}
	vm_set_trusted_html(vm, "content", content.p ? content.p : "");
	/* password.js (issue 16) goes only where a password field is: every
	 * such page gets its Show control and meter, and the others (the
	 * printable invoice, the catalogue) stay without any script. */
	vm_set_bool(vm, "password_js", content.p != NULL && strstr(content.p, "type=\"password\"") != NULL);
	buf_free(&content);
	buf_reset(r->out);
	if (view_render(r->app->views, "layouts/main", vm, r->out) != 0)
		req_fail(r, 500, "view layouts/main: %s", view_error());
	r->resp_ctype = "text/html; charset=utf-8";
}

/* The error page in the layout: app->error_page (response.h). */
void
ui_error_page(struct request *r, int status, const char *msg)
{
	struct vm *vm = page_vm(r, status_text(status));

	vm_set_int(vm, "status", status);
	vm_set(vm, "status_text", status_text(status));
	vm_set(vm, "message", msg);
	page_render(r, "pages/error", vm);
}

const char *
ui_ua(struct request *r, const char *ua)
{
	size_t	 n;

	if (ua == NULL || *ua == '\0')
		return "(unknown)";
	if ((n = strlen(ua)) <= UI_UA_SHOWN)
		return ua;
	/* Cut on a character boundary: the page must stay valid UTF-8. */
	n = UI_UA_SHOWN;
	while (n > 0 && ((unsigned char)ua[n] & 0xC0) == 0x80)
		n--;
	return arena_strndup(r->a, ua, n);
}

int64_t
ui_sessions(struct request *r, struct vm *vm, enum sess_kind k, int64_t uid, int64_t current)
{
	struct stmt *st = db_q(r->db, k == SESS_STAFF ? Q_AF_STAFF_SESSIONS : Q_ACCT_SESSIONS);
	struct vm *it;
	int64_t	 now = now_unix(), others = 0;
	char	 t[32];

	db_bind_int(r->db, st, k == SESS_STAFF ? ":sid" : ":cid", uid);
	db_bind_int(r->db, st, ":now", now);
	db_bind_int(r->db, st, ":idle", now - (k == SESS_STAFF ? r->app->conf.staff_idle :
	    r->app->conf.customer_idle));
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "sessions");
		vm_set_int(it, "id", db_int(st, 0));
		iso8601(t, db_int(st, 1));
		vm_set(it, "created", t);
		iso8601(t, db_int(st, 2));
		vm_set(it, "seen", t);
		vm_set(it, "ip", db_text(r->db, st, 3));
		vm_set(it, "ua", ui_ua(r, db_text(r->db, st, 4)));
		if (current > 0 && db_int(st, 0) == current)
			vm_set_bool(it, "current", 1);
		else
			others++;
	}
	db_reset(st);
	return others;
}
