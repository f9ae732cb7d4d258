/*
 * admin_security.c: the login throttle, seen and lifted by staff.
 *
 *   GET  /admin/security          (security.manage) keys locked now or with failures
 *   POST /admin/security/unlock   key: forget its failures and lock
 *
 * Keys are "acct:<email>" (a sign-in or re-authentication account),
 * "ip:<address>" and "2fa:staff:<id>" (a staff member's second factor);
 * see throttle.c for the policy.
 */
#include "config.h"

#include <string.h>

#include "admin.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "throttle.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

/* GET /admin/security — ?done.  200: every throttle row with failures or
 * a lock, locks first, at most 200. */
void
admin_security(struct request *r)
{
	struct vm *vm = page_vm(r, "Login locks"), *it;
	struct stmt *st = db_q(r->db, Q_THROTTLE_LIST);
	int64_t	 now = now_unix(), until;
	char	 when[32];
	int	 n = 0;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	if (req_query(r, "done") != NULL && strcmp(req_query(r, "done"), "unlocked") == 0)
		vm_set(vm, "notice", "The lock is lifted and its failures are forgotten.");
	db_bind_int(r->db, st, ":now", now);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "rows");
		vm_set(it, "key", db_text(r->db, st, 0));
		vm_set_int(it, "failures", db_int(st, 1));
		if (db_int(st, 2) > 0) {
			iso8601(when, db_int(st, 2));
			vm_set(it, "last_failure", when);
		}
		until = db_int(st, 3);
		if (until > now) {
			iso8601(when, until);
			vm_set(it, "locked_until", when);
			vm_setf(it, "remaining", "%lld s", (long long)(until - now));
		}
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	page_render(r, "pages/admin/security", vm);
}

static const struct field admin_security_unlock_fields[] = {
	{ "key", FK_TEXT, FIELD_REQUIRED, 0, 100 },
};
const struct form admin_security_unlock_form = { FORM(admin_security_unlock_fields) };

/*
 * POST /admin/security/unlock — key, csrf.  Clears the key's failures
 * and lock, audited as login.unlocked.  303 to /admin/security; 400 for
 * a missing or over-long key; 404 when the key has no row.
 */
void
admin_security_unlock_post(struct request *r)
{
	const char *key = form_get(r, "key");
	struct stmt *st;

	if (key == NULL || *key == '\0' || strlen(key) > 300)
		req_fail(r, 400, "Which lock? The key is missing or too long.");
	db_begin(r->db);
	st = db_q(r->db, Q_THROTTLE_EXISTS);
	db_bind_text(r->db, st, ":key", key);
	if (db_one_int(r->db, st, 0) == 0) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no lock or failure recorded for that key.");
	}
	throttle_clear(r, key);
	req_audit(r, "login.unlocked", key, "%s", "failures and lock cleared");
	db_commit(r->db);
	resp_redirect(r, 303, "/admin/security?done=unlocked");
}
