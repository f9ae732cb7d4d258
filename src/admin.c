/*
 * admin.c: the staff dashboard and the helpers every staff panel
 * shares (see admin.h).
 *
 *   GET /admin                   counts the role may see, and its sections
 */
#include "config.h"

#include <string.h>

#include "admin.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "next.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "util.h"
#include "view.h"

const char *
staff_target(struct request *r, int64_t id)
{
	return arena_printf(r->a, "staff:%lld", (long long)id);
}

int
admin_reauth_ok(struct request *r, const char *next)
{
	if (session_recent_auth(r, SESS_STAFF, ADMIN_REAUTH_MAX))
		return 1;
	resp_redirect(r, 303, arena_printf(r->a, "/admin/reauth?next=%s",
	    next_staff(next, "/admin")));
	return 0;
}

void
admin_message(struct request *r, int status, const char *heading, const char *message,
    const char *link, const char *link_text)
{
	struct vm *vm = page_vm(r, heading);

	vm_set(vm, "heading", heading);
	vm_set(vm, "message", message);
	vm_set(vm, "link", link);
	vm_set(vm, "link_text", link_text);
	page_render(r, "pages/admin/message", vm);
	r->status = status;
}

/*
 * GET /admin — the dashboard: customers, orders, failed jobs, open
 * tickets, mail queued and failed in the last 24 hours, each only when
 * the role may read it, and links to the
 * sections the role may open.  200.
 */
void
admin_home(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct vm *vm = page_vm(r, "Dashboard");
	struct stmt *st = db_q(r->db, Q_ADMIN_COUNTS);
	struct vm *it;

	vm_set(vm, "me", *p->name ? p->name : p->email);
	if (db_step(r->db, st) == DB_ROW) {
		if (has_perm(r, "customers.read")) {
			it = vm_push(vm, "counts");
			vm_set(it, "label", "Customers");
			vm_set_int(it, "n", db_int(st, 0));
		}
		if (has_perm(r, "orders.read")) {
			it = vm_push(vm, "counts");
			vm_set(it, "label", "Orders");
			vm_set_int(it, "n", db_int(st, 1));
		}
		if (has_perm(r, "jobs.manage")) {
			it = vm_push(vm, "counts");
			vm_set(it, "label", "Failed jobs");
			vm_set_int(it, "n", db_int(st, 2));
			vm_set_bool(it, "bad", db_int(st, 2) > 0);
		}
		if (has_perm(r, "tickets.read")) {
			it = vm_push(vm, "counts");
			vm_set(it, "label", "Open tickets");
			vm_set_int(it, "n", db_int(st, 3));
		}
	}
	db_reset(st);
	/* Mail (issue 14): queued now and failed in the last 24 hours, each
	 * a link to the mail log filtered so. */
	if (has_perm(r, "mail.read")) {
		st = db_q(r->db, Q_AMAIL_COUNTS);
		db_bind_int(r->db, st, ":since", now_unix() - 86400);
		if (db_step(r->db, st) == DB_ROW) {
			it = vm_push(vm, "counts");
			vm_set(it, "label", "Mail queued");
			vm_set(it, "link", "/admin/mail?state=queued");
			vm_set_int(it, "n", db_int(st, 0));
			it = vm_push(vm, "counts");
			vm_set(it, "label", "Mail failed (24 h)");
			vm_set(it, "link", "/admin/mail?state=failed");
			vm_set_int(it, "n", db_int(st, 1));
			vm_set_bool(it, "bad", db_int(st, 1) > 0);
		}
		db_reset(st);
	}
	vm_set_bool(vm, "can_mail", has_perm(r, "mail.read"));
	vm_set_bool(vm, "can_customers", has_perm(r, "customers.read"));
	vm_set_bool(vm, "can_orders", has_perm(r, "orders.read"));
	vm_set_bool(vm, "can_catalog", has_perm(r, "plans.write"));
	vm_set_bool(vm, "can_servers", has_perm(r, "servers.write"));
	vm_set_bool(vm, "can_jobs", has_perm(r, "jobs.manage"));
	vm_set_bool(vm, "can_settings", has_perm(r, "settings.write"));
	vm_set_bool(vm, "can_coupons", has_perm(r, "plans.write"));
	vm_set_bool(vm, "can_staff", has_perm(r, "staff.manage"));
	vm_set_bool(vm, "can_audit", has_perm(r, "audit.read"));
	vm_set_bool(vm, "can_security", has_perm(r, "security.manage"));
	page_render(r, "pages/admin/dashboard", vm);
}
