/*
 * pw_due.c: a password on the common list, found at sign-in (ASVS
 * V2.1.7, issue 16).
 *
 * The list (password_is_common) is checked whenever a password is
 * chosen, but a list update reached nobody who had chosen one before.
 * A sign-in is the only other moment the plain password is in hand:
 * signin.c calls pw_due_mark() after a right password, which sets the
 * account's password_change_due (sql/030) and audits it.  The router
 * calls pw_due_redirect() for every signed-in route except the
 * change-password pages, sign-out and the second-factor steps (F_PWDUE,
 * F_PARTIAL): a due account is sent to its change-password page, which
 * says why.  A new password hash clears the flag (the trigger in
 * sql/030), however it is set.  The flag is per account, not per
 * session: signing out and in again does not skip it.
 */
#include "config.h"

#include "audit.h"
#include "db.h"
#include "http.h"
#include "password.h"
#include "pw_due.h"
#include "response.h"
#include "sql.h"

int
pw_due_mark(struct request *r, enum sess_kind k, int64_t id, const char *pw, const char *target)
{
	struct stmt *st;

	if (!password_is_common(&r->app->conf, pw))
		return 0;
	st = db_q(r->db, k == SESS_CUSTOMER ? Q_PWDUE_CUSTOMER_SET : Q_PWDUE_STAFF_SET);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, "password.change_due", target, "the password is on the common-password list");
	return 1;
}

int
pw_due_redirect(struct request *r, enum sess_kind k, int64_t id)
{
	struct stmt *st = db_q(r->db, k == SESS_CUSTOMER ? Q_PWDUE_CUSTOMER_GET : Q_PWDUE_STAFF_GET);
	int	 due = 0;

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) == DB_ROW)
		due = db_int(st, 0) != 0;
	db_reset(st);
	if (due)
		resp_redirect(r, 303, k == SESS_CUSTOMER ? "/account/password?due=1" :
		    "/admin/account/password?due=1");
	return due;
}
