/*
 * admin_audit.c: reading the audit log.
 *
 *   GET /admin/audit   (audit.read) newest first, filtered, 50 a page
 *
 * The log is append-only: the application has no route that changes or
 * deletes a row, and triggers in the schema (001_init.sql) refuse UPDATE
 * and DELETE from anyone else.  Filters are validated here and reach SQL
 * only as bind values of one statement (a NULL bind turns a filter off).
 */
#include "config.h"

#include <string.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define AUDIT_PAGE	50
#define AUDIT_MAX_PAGE	100000

/* The coarse kinds of the schema, then the named actors that write as
 * "system" (audit.h): the command line; gateways' webhooks will follow. */
static const char *const actor_kinds[] = { "customer", "staff", "system", "anonymous", "cli" };

static int
action_ok(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* An empty filter field is no filter. */
static const char *
filter(const struct request *r, const char *name)
{
	const char *v = req_query(r, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * GET /admin/audit — ?action (a prefix: "login" also finds
 * "login.failed"), actor (customer, staff, system, anonymous, or a
 * named actor such as cli), target (exact, e.g. "staff:3"), from and
 * to (YYYY-MM-DD, UTC, both days included), page.  200; 400 with the form and no rows for a malformed
 * filter.
 */
void
admin_audit(struct request *r)
{
	struct vm *vm = page_vm(r, "Audit log"), *it;
	const char *action = filter(r, "action"), *actor = filter(r, "actor");
	const char *target = filter(r, "target"), *from = filter(r, "from"), *to = filter(r, "to");
	const char *pg = filter(r, "page"), *error = NULL;
	int64_t	 tfrom = 0, tto = 0, page = 1, n = 0;
	struct stmt *st;
	char	 when[32];
	size_t	 i;

	vm_set(vm, "f_action", action);
	vm_set(vm, "f_target", target);
	vm_set(vm, "f_from", from);
	vm_set(vm, "f_to", to);
	vm_set(vm, "f_actor", actor);
	for (i = 0; i < NELEM(actor_kinds); i++) {
		it = vm_push(vm, "actors");
		vm_set(it, "name", actor_kinds[i]);
		vm_set_bool(it, "selected", actor != NULL && strcmp(actor, actor_kinds[i]) == 0);
	}
	if (action != NULL && !action_ok(action))
		error = "The action filter takes letters, digits, dots, dashes and underscores.";
	else if (actor != NULL) {
		for (i = 0; i < NELEM(actor_kinds) && strcmp(actor, actor_kinds[i]) != 0; i++)
			;
		if (i == NELEM(actor_kinds))
			error = "The actor filter is one of customer, staff, system, anonymous and cli.";
	}
	if (error == NULL && target != NULL && strlen(target) > 300)
		error = "The target filter is at most 300 characters.";
	if (error == NULL && ((from != NULL && valid_date(from, &tfrom) != 0) ||
	    (to != NULL && valid_date(to, &tto) != 0)))
		error = "Dates are written YYYY-MM-DD.";
	if (error == NULL && pg != NULL && (parse_i64(pg, &page) != 0 || page < 1 ||
	    page > AUDIT_MAX_PAGE))
		error = "The page number is not valid.";
	if (error != NULL) {
		vm_set(vm, "error", error);
		page_render(r, "pages/admin/audit", vm);
		r->status = 400;
		return;
	}

	st = db_q(r->db, Q_AUDIT_PAGE);
	db_bind_text(r->db, st, ":action", action);
	db_bind_text(r->db, st, ":actor", actor);
	db_bind_text(r->db, st, ":target", target);
	if (from != NULL)
		db_bind_int(r->db, st, ":from", tfrom);
	else
		db_bind_null(r->db, st, ":from");
	if (to != NULL)
		db_bind_int(r->db, st, ":to", tto + 86400);
	else
		db_bind_null(r->db, st, ":to");
	/* One row more than a page says whether there is a next one. */
	db_bind_int(r->db, st, ":limit", AUDIT_PAGE + 1);
	db_bind_int(r->db, st, ":offset", (page - 1) * AUDIT_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		if (++n > AUDIT_PAGE)
			break;
		it = vm_push(vm, "rows");
		vm_set_int(it, "id", db_int(st, 0));
		iso8601(when, db_int(st, 1));
		vm_set(it, "at", when);
		vm_set(it, "actor_kind", db_text(r->db, st, 2));
		if (!db_is_null(st, 3))
			vm_setf(it, "actor", "#%lld %s", (long long)db_int(st, 3), db_text(r->db, st, 9));
		else {
			/* A named actor inside its kind: "system" written by the
			 * command line shows as "system cli". */
			const char *named = db_text(r->db, st, 10);

			if (*named != '\0' && strcmp(named, db_text(r->db, st, 2)) != 0)
				vm_set(it, "actor", named);
		}
		vm_set(it, "action", db_text(r->db, st, 4));
		vm_set(it, "target", db_text(r->db, st, 5));
		vm_set(it, "detail", db_text(r->db, st, 6));
		vm_set(it, "ip", db_text(r->db, st, 7));
		vm_set(it, "request_id", db_text(r->db, st, 8));
	}
	db_reset(st);
	ui_pager(vm, page, n > AUDIT_PAGE);
	vm_set_bool(vm, "empty", n == 0);
	vm_set_bool(vm, "shown", n > 0);
	page_render(r, "pages/admin/audit", vm);
}
