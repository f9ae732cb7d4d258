/*
 * admin_account.c: a staff member's own account (issue 16, authflow16).
 *
 *   GET  /admin/account                          where I am signed in
 *   GET/POST /admin/account/sessions/{id:int}/end end one of those sessions
 *   GET/POST /admin/account/password             change my password
 *   GET/POST /admin/password/forgot              a reset link by mail
 *   GET/POST /admin/password/reset/{token}       new password + second factor
 *
 * Ending the current session is signing out; ending another one, and
 * changing the password, ask for the password and a code again in the
 * same form (staff_reauth_fields, V3.3.4, V2.1.5).  Every query names
 * the staff member from the session, so another's session id is a 404.
 *
 * The forgotten-password flow keeps the customer reset's token rules
 * (128-bit token, only its SHA-256 stored, one hour, single use, every
 * other reset link spent) and asks for the second factor (a TOTP or a
 * recovery code) on the reset page before the new password takes: a
 * mailbox alone never opens a staff account.  Only an active staff
 * member with TOTP enrolled gets a link; the page says the same either
 * way.  Afterwards every session ends, every API token is revoked and
 * a notice is mailed.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mailq.h"
#include "notice.h"
#include "password.h"
#include "pw_due.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "signin.h"
#include "spool.h"
#include "throttle.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define STAFF_RESET_TTL	3600
#define FORGOT_SENT	"If a staff account with two-factor sign-in uses that address, we have " \
	"sent it a link to choose a new password. The link works for one hour, and " \
	"it asks for a code from your authenticator app (or a recovery code)."

/* ---- sessions ---- */

static const struct {
	const char	*key;
	const char	*msg;
} notices[] = {
	{ "ended", "That session is signed out." },
	{ "password", "Your password is changed, and every other session is signed out." },
};

/* GET /admin/account — ?ok.  200: my sessions (device, address,
 * created, last seen; this one marked), links to end them and to change
 * the password. */
void
admin_account(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct vm *vm = page_vm(r, "Your staff account");
	const char *ok = req_query(r, "ok");
	size_t	 i;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "email", p->email);
	vm_set(vm, "role", p->role);
	if (ok != NULL)
		for (i = 0; i < NELEM(notices); i++)
			if (strcmp(ok, notices[i].key) == 0)
				vm_set(vm, "notice", notices[i].msg);
	vm_set_bool(vm, "others", ui_sessions(r, vm, SESS_STAFF, p->user_id, p->session_id) > 0);
	page_render(r, "pages/admin/account", vm);
}

/* The confirm page of ending session id (this one or another). */
static void
end_page(struct request *r, int64_t id, const char *error)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct vm *vm = page_vm(r, "End a session");

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_int(vm, "id", id);
	vm_set_bool(vm, "current", id == p->session_id);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/session_end", vm);
}

/* 1 when session id is the signed-in staff member's own. */
static int
session_owned(struct request *r, int64_t id)
{
	struct stmt *st = db_q(r->db, Q_AF_STAFF_SESSION_OWNED);

	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":sid", r->principal[SESS_STAFF]->user_id);
	return db_one_int(r->db, st, 0) == 1;
}

/* GET /admin/account/sessions/{id:int}/end.  200: the confirm form
 * (password and code for another session); 404 when {id} is not one of
 * mine (another staff member's id looks like one that does not exist). */
void
admin_account_session_end(struct request *r)
{
	int64_t	 id = req_param_int(r, "id");

	if (!session_owned(r, id)) {
		/* A refused POST's re-display keeps its 403 and shows only
		 * this staff member's own sessions. */
		if (!r->redisplay)
			req_fail(r, 404, "There is no such session.");
		admin_account(r);
		return;
	}
	end_page(r, id, r->form_error);
}

static const struct field admin_account_session_end_fields[] = {
	{ "password", FK_SECRET, 0, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
};
const struct form admin_account_session_end_form = { FORM(admin_account_session_end_fields) };

/*
 * POST /admin/account/sessions/{id:int}/end — password, code, csrf.
 * The current session: signed out, 303 to /admin/login.  Another: needs
 * the password and a code again (403 with the form when wrong, 429
 * while throttled), then it is deleted: 303 to /admin/account?ok=ended.
 * 404 when {id} is not mine.  Audited either way.
 */
void
admin_account_session_end_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	int64_t	 id = req_param_int(r, "id"), me = p->user_id;
	const char *why;
	struct stmt *st;

	if (!session_owned(r, id))
		req_fail(r, 404, "There is no such session.");
	if (id == p->session_id) {
		db_begin(r->db);
		req_audit(r, "session.ended", staff_target(r, me), "session %lld (this one)", (long long)id);
		session_end(r, SESS_STAFF);
		db_commit(r->db);
		resp_redirect(r, 303, "/admin/login");
		return;
	}
	if ((why = staff_reauth_fields(r)) != NULL) {
		end_page(r, id, why);
		return;
	}
	db_begin(r->db);
	st = db_q(r->db, Q_AF_STAFF_SESSION_END);
	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":sid", me);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		/* Ended meanwhile (expired, or from another tab). */
		db_rollback(r->db);
		req_fail(r, 404, "There is no such session.");
	}
	req_audit(r, "session.ended", staff_target(r, me), "session %lld", (long long)id);
	db_commit(r->db);
	resp_redirect(r, 303, "/admin/account?ok=ended");
}

/* ---- change password ---- */

static void
password_page(struct request *r, const char *error)
{
	struct vm *vm = page_vm(r, "Change your password");

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_int(vm, "min", PASSWORD_MIN);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/account_password", vm);
}

/* GET /admin/account/password.  200: current password, code, new one. */
void
admin_account_password(struct request *r)
{
	/* ?due=1: the router sent them here (pw_due.c). */
	password_page(r, r->form_error != NULL ? r->form_error :
	    req_query(r, "due") != NULL ? PW_DUE_MSG : NULL);
}

static const struct field admin_account_password_fields[] = {
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "new_password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
};
const struct form admin_account_password_form = { FORM(admin_account_password_fields) };

/*
 * POST /admin/account/password — password (current), code, new_password,
 * csrf.  The policy first (400), then the password and code again (403,
 * 429 while throttled), then: the new hash, a new token for this browser,
 * every other session ended, pending reset links spent, audited, a
 * notice mailed.  303 to /admin/account?ok=password; 503 when no hash
 * slot comes free.
 */
void
admin_account_password_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	const char *npw = form_get(r, "new_password"), *why;
	int64_t	 me = p->user_id, job;
	char	 phc[PHC_MAX];
	struct stmt *st;
	struct json_object *v;

	if ((why = password_policy(&r->app->conf, npw ? npw : "", p->email)) != NULL) {
		r->status = 400;
		password_page(r, why);
		return;
	}
	if ((why = staff_reauth_fields(r)) != NULL) {
		password_page(r, why);
		return;
	}
	if (password_hash(&r->app->conf, npw, phc) != 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	db_begin(r->db);
	st = db_q(r->db, Q_STAFF_SET_PASSWORD);
	db_bind_int(r->db, st, ":id", me);
	db_bind_text(r->db, st, ":hash", phc);
	if (db_step(r->db, st) != DB_DONE || db_changes(r->db) != 1)
		req_fail(r, 500, "staff password update failed");
	st = db_q(r->db, Q_AF_STAFF_RESETS_SPEND);
	db_bind_int(r->db, st, ":sid", me);
	db_step(r->db, st);
	/* A new token for this browser (no fixation), then every other
	 * session goes. */
	session_start(r, SESS_STAFF, me, 1);
	session_reauth(r, SESS_STAFF);
	session_end_all(r, SESS_STAFF, me, 1);
	req_audit(r, "password.changed", staff_target(r, me), "%s", "staff, other sessions ended");
	v = notice_vars(r);
	job = notice_queue(r, SESS_STAFF, me, "emails/password_changed", v,
	    arena_printf(r->a, "pwchanged:staff:%lld:%s", (long long)me, r->id));
	db_commit(r->db);
	OPENSSL_cleanse(phc, sizeof(phc));
	if (job)
		spool_wake(&r->app->conf, job, "email");
	resp_redirect(r, 303, "/admin/account?ok=password");
}

/* ---- forgotten password ---- */

static void
anon_page(struct request *r, const char *tmpl, const char *title, const char *error)
{
	struct vm *vm = page_vm(r, title);

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "f_email", req_form(r, "email"));
	if (req_param(r, "token") != NULL)
		vm_set(vm, "token", req_param(r, "token"));
	vm_set_int(vm, "min", PASSWORD_MIN);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, tmpl, vm);
}

/* GET /admin/password/forgot.  200: the email form. */
void
admin_forgot(struct request *r)
{
	anon_page(r, "pages/admin/forgot", "Reset your staff password", r->form_error);
}

static const struct field admin_forgot_fields[] = {
	{ "email", FK_EMAIL, FIELD_REQUIRED, 0, 0 },
};
const struct form admin_forgot_form = { FORM(admin_forgot_fields) };

/*
 * POST /admin/password/forgot — email, csrf.  For an active staff
 * member with TOTP enrolled: a reset token (hashed, one hour) and a mail
 * with its link.  200 with the same message either way; 400 for a bad
 * address; 429 past the client's or the address's mail limits (the same
 * counters as the customer forms); 503 when no hash slot comes free (an
 * equal-cost dummy hash hides which addresses are staff).
 */
void
admin_forgot_post(struct request *r)
{
	const char *email = form_get(r, "email"), *name = "";
	struct json_object *v;
	struct stmt *st;
	char	 tok[33];
	unsigned char h[32];
	int64_t	 sid = 0, job = 0;

	if (!valid_email(email)) {
		r->status = 400;
		anon_page(r, "pages/admin/forgot", "Reset your staff password", "Please enter a valid email address.");
		return;
	}
	if (throttle_wait(r, throttle_key_ip(r)) > 0 || mail_client_over(r)) {
		r->status = 429;
		resp_header(r, "Retry-After", "3600");
		anon_page(r, "pages/admin/forgot", "Reset your staff password",
		    "Too many attempts from your address. Please wait a while and try again.");
		return;
	}
	if (password_dummy_verify(&r->app->conf, email) < 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	db_begin(r->db);
	switch (mail_throttle(r, email)) {
	case MAIL_REFUSE:
		db_rollback(r->db);
		r->status = 429;
		resp_header(r, "Retry-After", "3600");
		anon_page(r, "pages/admin/forgot", "Reset your staff password",
		    "Too many attempts from your address. Please wait a while and try again.");
		return;
	case MAIL_SILENT:
		db_commit(r->db);
		admin_message(r, 200, "Check your inbox", FORGOT_SENT, "/admin/login", "Staff sign-in");
		return;
	default:
		break;
	}
	st = db_q(r->db, Q_STAFF_BY_EMAIL);
	db_bind_text(r->db, st, ":email", email);
	if (db_step(r->db, st) == DB_ROW && db_int(st, 2) == 1 &&
	    strcmp(db_text(r->db, st, 3), "active") == 0) {
		sid = db_int(st, 0);
		name = db_text(r->db, st, 4);
	}
	db_reset(st);
	if (sid) {
		/* Only the newest link works. */
		st = db_q(r->db, Q_AF_STAFF_RESETS_SPEND);
		db_bind_int(r->db, st, ":sid", sid);
		db_step(r->db, st);
		token_new(tok);
		token_hash(tok, h);
		st = db_q(r->db, Q_AF_STAFF_RESET_INSERT);
		db_bind_blob(r->db, st, ":hash", h, sizeof(h));
		db_bind_int(r->db, st, ":sid", sid);
		db_bind_int(r->db, st, ":expires", now_unix() + STAFF_RESET_TTL);
		if (db_step(r->db, st) != DB_DONE)
			req_fail(r, 500, "staff reset token insert failed");
		v = json_object_new_object();
		json_object_object_add(v, "link", json_object_new_string(arena_printf(r->a,
		    "%s/admin/password/reset/%s", r->app->conf.base_url, tok)));
		json_object_object_add(v, "name", json_object_new_string(*name ? name : email));
		json_object_object_add(v, "site_name", json_object_new_string(
		    shop_name(r->db, r->a, &r->app->conf)));
		OPENSSL_cleanse(tok, sizeof(tok));
		job = mailq_add(r, email, "emails/staff_reset", v,
		    arena_printf(r->a, "staff-reset:%lld:%s", (long long)sid, r->id));
		req_audit(r, "password.reset_requested", staff_target(r, sid), "%s", "staff");
	}
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	admin_message(r, 200, "Check your inbox", FORGOT_SENT, "/admin/login", "Staff sign-in");
}

/* The live staff reset token named by {token}: its row and staff id. */
static int
reset_find(struct request *r, int64_t *tid, int64_t *sid)
{
	const char *tok = req_param(r, "token");
	unsigned char h[32];
	struct stmt *st;
	int	 ok = 0;

	if (tok == NULL || strlen(tok) != 32)
		return 0;
	token_hash(tok, h);
	st = db_q(r->db, Q_AF_STAFF_RESET_FIND);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_int(r->db, st, ":now", now_unix());
	if (db_step(r->db, st) == DB_ROW) {
		*tid = db_int(st, 0);
		*sid = db_int(st, 1);
		ok = 1;
	}
	db_reset(st);
	return ok;
}

static void
reset_gone(struct request *r)
{
	admin_message(r, 410, "Link expired", "This link has expired or was already used. "
	    "You can ask for a new one.", "/admin/password/forgot", "Ask for a new link");
}

/* GET /admin/password/reset/{token}.  200: new password and code; 410
 * for a spent, expired or unknown link. */
void
admin_reset(struct request *r)
{
	int64_t	 tid, sid;

	if (!reset_find(r, &tid, &sid)) {
		reset_gone(r);
		return;
	}
	anon_page(r, "pages/admin/reset", "Choose a new staff password", r->form_error);
}

static const struct field admin_reset_fields[] = {
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
};
const struct form admin_reset_form = { FORM(admin_reset_fields) };

/*
 * POST /admin/password/reset/{token} — password (the new one), code (TOTP
 * or recovery code), csrf.  400 with the form when the password breaks
 * the policy; 403 with the form for a wrong or used code (counted on the
 * staff member's second-factor throttle key: 429 while it is locked);
 * 410 for a spent link.  Otherwise: the password is set, every reset
 * link spent, every session ended and API token revoked, audited, a
 * notice mailed; 200 with a page pointing to the sign-in.  503 when no
 * hash slot comes free.
 */
void
admin_reset_post(struct request *r)
{
	const char *pw = form_get(r, "password"), *why, *how = "", *tkey, *email = NULL;
	int64_t	 tid, sid, wait, job;
	char	 phc[PHC_MAX];
	struct stmt *st;

	if (!reset_find(r, &tid, &sid)) {
		reset_gone(r);
		return;
	}
	st = db_q(r->db, Q_STAFF_GET);
	db_bind_int(r->db, st, ":id", sid);
	if (db_step(r->db, st) == DB_ROW)
		email = db_text(r->db, st, 1);
	db_reset(st);
	if ((why = password_policy(&r->app->conf, pw ? pw : "", email)) != NULL) {
		r->status = 400;
		anon_page(r, "pages/admin/reset", "Choose a new staff password", why);
		return;
	}
	tkey = staff_2fa_key(r, sid);
	if ((wait = signin_attempt(r, tkey, throttle_key_ip(r))) > 0) {
		anon_page(r, "pages/admin/reset", "Choose a new staff password",
		    signin_refuse(r, wait, "Too many wrong codes"));
		return;
	}
	if (password_hash(&r->app->conf, pw, phc) != 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	db_begin(r->db);
	/* Again under the write lock: two tabs may race for one link. */
	if (!reset_find(r, &tid, &sid)) {
		db_rollback(r->db);
		OPENSSL_cleanse(phc, sizeof(phc));
		reset_gone(r);
		return;
	}
	if (!staff_second_factor(r, sid, form_get(r, "code"), &how)) {
		/* Counted already (signin_attempt); the link stays usable. */
		r->user_id = sid;
		req_audit(r, "password.reset_refused", staff_target(r, sid), "staff, %s refused", how);
		db_commit(r->db);
		OPENSSL_cleanse(phc, sizeof(phc));
		r->status = 403;
		anon_page(r, "pages/admin/reset", "Choose a new staff password",
		    "That code is not right, or it was used already. Nothing was changed.");
		return;
	}
	signin_attempt_ok(r, tkey, throttle_key_ip(r));
	st = db_q(r->db, Q_STAFF_SET_PASSWORD);
	db_bind_int(r->db, st, ":id", sid);
	db_bind_text(r->db, st, ":hash", phc);
	if (db_step(r->db, st) != DB_DONE || db_changes(r->db) != 1)
		req_fail(r, 500, "staff password update failed");
	OPENSSL_cleanse(phc, sizeof(phc));
	st = db_q(r->db, Q_AF_STAFF_RESETS_SPEND);
	db_bind_int(r->db, st, ":sid", sid);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "staff reset tokens spend failed");
	st = db_q(r->db, Q_AF_STAFF_API_TOKENS_REVOKE);
	db_bind_int(r->db, st, ":sid", sid);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "staff api token revoke failed");
	session_end_all(r, SESS_STAFF, sid, 0);
	r->user_id = sid;
	req_audit(r, "password.reset", staff_target(r, sid), "staff, %s; all sessions ended, API tokens "
	    "revoked", how);
	job = notice_queue(r, SESS_STAFF, sid, "emails/password_reset_done", notice_vars(r),
	    arena_printf(r->a, "reset-done:staff:%lld:%s", (long long)sid, r->id));
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	admin_message(r, 200, "Password changed", "Your password is changed. Every session is signed "
	    "out and every API token of yours is revoked. You can sign in now.", "/admin/login",
	    "Staff sign-in");
}
