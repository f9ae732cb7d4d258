/*
 * page_account.c: the signed-in customer's own account.
 *
 *   GET  /account, POST /account/profile        profile (name), balance, state
 *   GET/POST /account/email                     change email (re-verified)
 *   GET/POST /account/password                  change password
 *   GET  /account/sessions                      where the account is signed in
 *   POST /account/sessions/{id:int}/revoke      sign one of them out
 *   POST /account/sessions/revoke-others        sign out everywhere else
 *   GET/POST /account/delete                    delete the account
 *
 * Every statement names the customer from the session (r->principal),
 * never from the form, so an id typed into a URL reaches only the
 * customer's own rows: another customer's session id is a 404.
 * Credential changes ask for the password again (and a TOTP code when
 * enrolled) in the same form: acct_reauth().  Every GET page here also
 * serves as the re-display of its POST after a refused CSRF token
 * (router.c), so it pre-fills from req_form() (never passwords).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "account.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mailq.h"
#include "money.h"
#include "passkey.h"
#include "password.h"
#include "pw_due.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "spool.h"
#include "throttle.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define CHANGE_EMAIL_TTL	(24 * 3600)

/* Variables every account email gets. */
static struct json_object *
mail_vars(struct request *r, const struct acct *a)
{
	struct json_object *v = json_object_new_object();
	char	 when[32];

	iso8601(when, now_unix());
	json_object_object_add(v, "name", json_object_new_string(*a->name ? a->name : a->email));
	json_object_object_add(v, "site_name", json_object_new_string(shop_name(r->db, r->a, &r->app->conf)));
	json_object_object_add(v, "account_url", json_object_new_string(
	    arena_printf(r->a, "%s/account", r->app->conf.base_url)));
	json_object_object_add(v, "when", json_object_new_string(when));
	json_object_object_add(v, "ip", json_object_new_string(r->remote_addr ? r->remote_addr : "unknown"));
	return v;
}

static const char *
cust_target(struct request *r, int64_t id)
{
	return arena_printf(r->a, "customer:%lld", (long long)id);
}

/*
 * Render one of the account's form pages with what was typed (never a
 * password) and an optional error.  The status stays what the caller set.
 */
static void
form_show(struct request *r, const struct acct *a, const char *tmpl, const char *title,
    const char *nav, const char *error)
{
	struct vm *vm = acct_vm(r, a, title, nav);
	struct buf money;
	char	 since[32];

	buf_init(&money);
	money_format(&money, a->balance_minor, a->currency);
	vm_set(vm, "balance", money.p);
	buf_free(&money);
	iso8601(since, a->created_at);
	vm_set(vm, "since", arena_strndup(r->a, since, 10));
	vm_set(vm, "name", a->name);
	vm_set_bool(vm, "verified", a->verified);
	vm_set_bool(vm, "balance_nonzero", a->balance_minor != 0);
	vm_set(vm, "f_name", req_form(r, "name") ? req_form(r, "name") : a->name);
	vm_set(vm, "f_email", req_form(r, "email"));
	vm_set_bool(vm, "f_confirm", req_form(r, "confirm") != NULL);
	/* Ticked on a fresh form; a re-display keeps what was sent. */
	vm_set_bool(vm, "f_revoke_tokens", r->method != M_POST ||
	    req_form(r, "revoke_tokens") != NULL);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, tmpl, vm);
}

/* ---- profile ---- */

/* GET /account (and /account/profile, the profile form's re-display):
 * name, email and its state, 2FA state, wallet balance.  200. */
void
page_account(struct request *r)
{
	struct acct *a = acct_load(r, 1);

	if (a == NULL)
		return;
	form_show(r, a, "pages/account", "Your account", "profile", NULL);
}

static const struct field page_account_profile_fields[] = {
	{ "name", FK_NAME, FIELD_REQUIRED, 0, 0 },
};
const struct form page_account_profile_form = { FORM(page_account_profile_fields) };

/*
 * POST /account/profile — name, csrf.  303 to /account?ok=profile; 400
 * with the form when the name is empty or longer than 100 bytes.
 */
void
page_account_profile_post(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	const char *name = form_get(r, "name");
	struct stmt *st;

	if (a == NULL)
		return;
	if (name == NULL || *name == '\0' || !valid_name(name)) {
		r->status = 400;
		form_show(r, a, "pages/account", "Your account", "profile",
		    "Please enter your name (at most 100 characters, on one line, without control characters).");
		return;
	}
	db_begin(r->db);
	st = db_q(r->db, Q_ACCT_SET_NAME);
	db_bind_int(r->db, st, ":id", a->id);
	db_bind_text(r->db, st, ":name", name);
	if (db_step_try(r->db, st) == DB_CONSTRAINT) {
		db_rollback(r->db);
		r->status = 400;
		form_show(r, a, "pages/account", "Your account", "profile",
		    "Please enter your name (at most 100 characters).");
		return;
	}
	req_audit(r, "customer.profile", cust_target(r, a->id), "%s", "name");
	db_commit(r->db);
	resp_redirect(r, 303, "/account?ok=profile");
}

/* ---- email ---- */

/* The change-email form again with 429: this client address sent too
 * many mail-sending forms this hour. */
static void
email_too_many(struct request *r, const struct acct *a)
{
	r->status = 429;
	resp_header(r, "Retry-After", "3600");
	form_show(r, a, "pages/account_email", "Change your email", "email",
	    "Too many attempts from your address. Please wait a while and try again.");
}

/* GET /account/email: the change-email form.  200. */
void
page_account_email(struct request *r)
{
	struct acct *a = acct_load(r, 1);

	if (a == NULL)
		return;
	form_show(r, a, "pages/account_email", "Change your email", "email", NULL);
}

static const struct field page_account_email_fields[] = {
	{ "email", FK_EMAIL, FIELD_REQUIRED, 0, 0 },
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
};
const struct form page_account_email_form = { FORM(page_account_email_fields) };

/*
 * POST /account/email — email (the new address), password, code (when
 * TOTP is on), csrf.  Sends the new address a confirmation link (an
 * email_tokens row of purpose change_email; POST /verify/{token} makes
 * the switch) and tells the old address.  When the new address belongs
 * to another account, that address gets a notice instead of a link, and
 * the person asking sees the same answer either way.  303 to
 * /account?ok=email; 400 on a bad address; 403 on a wrong password or
 * code; 429 while throttled or past this client address's limit of
 * mail-sending forms.  Past the new address's limits it is sent
 * nothing, and the answer is the same.
 */
void
page_account_email_post(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	const char *email = form_get(r, "email"), *why;
	struct json_object *v;
	struct stmt *st;
	char	 tok[33];
	unsigned char h[32];
	int64_t	 job_new, job_old;
	int	 taken, send = 1;

	if (a == NULL)
		return;
	if (!valid_email(email)) {
		r->status = 400;
		form_show(r, a, "pages/account_email", "Change your email", "email",
		    "Please enter a valid email address.");
		return;
	}
	if (strcasecmp(email, a->email) == 0) {
		r->status = 400;
		form_show(r, a, "pages/account_email", "Change your email", "email",
		    "That is already your address.");
		return;
	}
	if (mail_client_over(r)) {
		email_too_many(r, a);
		return;
	}
	if ((why = acct_reauth(r, a, 0)) != NULL) {
		form_show(r, a, "pages/account_email", "Change your email", "email", why);
		return;
	}
	db_begin(r->db);
	/* The new address is a recipient like any other: counted, and
	 * past its limits it gets nothing (the old address still hears). */
	switch (mail_throttle(r, email)) {
	case MAIL_REFUSE:
		db_rollback(r->db);
		email_too_many(r, a);
		return;
	case MAIL_SILENT:
		send = 0;
		break;
	default:
		break;
	}
	/* Only the latest request can be confirmed. */
	st = db_q(r->db, Q_ACCT_TOKENS_SPEND);
	db_bind_int(r->db, st, ":cid", a->id);
	db_bind_text(r->db, st, ":purpose", "change_email");
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "change_email tokens spend failed");
	st = db_q(r->db, Q_CUSTOMER_BY_EMAIL);
	db_bind_text(r->db, st, ":email", email);
	taken = db_step(r->db, st) == DB_ROW;
	db_reset(st);
	v = mail_vars(r, a);
	if (!send) {
		json_object_put(v);
		job_new = 0;
	} else if (!taken) {
		token_new(tok);
		token_hash(tok, h);
		st = db_q(r->db, Q_EMAIL_TOKEN_INSERT);
		db_bind_blob(r->db, st, ":hash", h, 32);
		db_bind_text(r->db, st, ":purpose", "change_email");
		db_bind_int(r->db, st, ":cid", a->id);
		db_bind_text(r->db, st, ":new_email", email);
		db_bind_int(r->db, st, ":expires", now_unix() + CHANGE_EMAIL_TTL);
		if (db_step(r->db, st) != DB_DONE)
			req_fail(r, 500, "change_email token insert failed");
		json_object_object_add(v, "link", json_object_new_string(
		    arena_printf(r->a, "%s/verify/%s", r->app->conf.base_url, tok)));
		OPENSSL_cleanse(tok, sizeof(tok));
		job_new = mailq_add(r, email, "emails/change_email", v,
		    arena_printf(r->a, "chemail:%lld:%s", (long long)a->id, r->id));
	} else
		job_new = mailq_add(r, email, "emails/change_email_taken", v,
		    arena_printf(r->a, "chemail:%lld:%s", (long long)a->id, r->id));
	v = mail_vars(r, a);
	json_object_object_add(v, "new_email", json_object_new_string(email));
	job_old = mailq_add(r, a->email, "emails/change_email_notice", v,
	    arena_printf(r->a, "chemail-old:%lld:%s", (long long)a->id, r->id));
	req_audit(r, "email.change_requested", cust_target(r, a->id), "to %s", email);
	db_commit(r->db);
	if (job_new)
		spool_wake(&r->app->conf, job_new, "email");
	spool_wake(&r->app->conf, job_old, "email");
	resp_redirect(r, 303, "/account?ok=email");
}

/* ---- password ---- */

/* GET /account/password: the change-password form.  200. */
void
page_account_password(struct request *r)
{
	struct acct *a = acct_load(r, 1);

	if (a == NULL)
		return;
	/* ?due=1: the router sent them here (pw_due.c). */
	form_show(r, a, "pages/account_password", "Change your password", "password",
	    req_query(r, "due") != NULL ? PW_DUE_MSG : NULL);
}

static const struct field page_account_password_fields[] = {
	{ "new_password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
	{ "revoke_tokens", FK_FLAG, 0, 0, 0 },
};
const struct form page_account_password_form = { FORM(page_account_password_fields) };

/*
 * POST /account/password — password (current), new_password, code (when
 * TOTP is on), revoke_tokens (a checkbox, on by default), csrf.  Checks
 * the policy, rehashes, gives this browser a new session token, ends
 * every other session, spends pending reset and email-change links,
 * revokes every API token when revoke_tokens is sent, and mails a
 * notice.  303 to /account?ok=password
 * (or ?ok=password_tokens); 400 when the new password breaks the
 * policy; 403/429 as acct_reauth;
 * 503 when no hash slot comes free.
 */
void
page_account_password_post(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	const char *npw = form_get(r, "new_password"), *why;
	char	 phc[PHC_MAX];
	struct stmt *st;
	int64_t	 job;
	int	 revoke = form_get(r, "revoke_tokens") != NULL;

	if (a == NULL)
		return;
	if ((why = password_policy(&r->app->conf, npw ? npw : "", a->email)) != NULL) {
		r->status = 400;
		form_show(r, a, "pages/account_password", "Change your password", "password", why);
		return;
	}
	if ((why = acct_reauth(r, a, 0)) != NULL) {
		form_show(r, a, "pages/account_password", "Change your password", "password", why);
		return;
	}
	if (password_hash(&r->app->conf, npw, phc) != 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	db_begin(r->db);
	st = db_q(r->db, Q_CUSTOMER_SET_PASSWORD);
	db_bind_int(r->db, st, ":id", a->id);
	db_bind_text(r->db, st, ":hash", phc);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "password update failed");
	st = db_q(r->db, Q_ACCT_TOKENS_SPEND);
	db_bind_int(r->db, st, ":cid", a->id);
	db_bind_text(r->db, st, ":purpose", "reset");
	db_step(r->db, st);
	st = db_q(r->db, Q_ACCT_TOKENS_SPEND);
	db_bind_int(r->db, st, ":cid", a->id);
	db_bind_text(r->db, st, ":purpose", "change_email");
	db_step(r->db, st);
	/* A new token for this browser (no fixation), then every other
	 * session goes. */
	session_start(r, SESS_CUSTOMER, a->id, 1);
	session_reauth(r, SESS_CUSTOMER);
	session_end_all(r, SESS_CUSTOMER, a->id, 1);
	/* A changed password is often a suspected leak: API tokens made
	 * with the old one go too unless the person unticks the box. */
	if (revoke) {
		st = db_q(r->db, Q_ACCT_API_TOKENS_REVOKE);
		db_bind_int(r->db, st, ":cid", a->id);
		if (db_step(r->db, st) != DB_DONE)
			req_fail(r, 500, "api token revoke failed");
	}
	req_audit(r, "password.changed", cust_target(r, a->id), "%s", revoke ?
	    "other sessions ended, API tokens revoked" : "other sessions ended");
	job = mailq_add(r, a->email, "emails/password_changed", mail_vars(r, a),
	    arena_printf(r->a, "pwchanged:%lld:%s", (long long)a->id, r->id));
	db_commit(r->db);
	OPENSSL_cleanse(phc, sizeof(phc));
	spool_wake(&r->app->conf, job, "email");
	resp_redirect(r, 303, revoke ? "/account?ok=password_tokens" : "/account?ok=password");
}

/* ---- sessions ---- */

/* The sessions list, with error above it (NULL: none). */
static void
sessions_show(struct request *r, const struct acct *a, const char *error)
{
	struct vm *vm = acct_vm(r, a, "Where you are signed in", "sessions");

	vm_set_bool(vm, "others", ui_sessions(r, vm, SESS_CUSTOMER, a->id,
	    r->principal[SESS_CUSTOMER]->session_id) > 0);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/account_sessions", vm);
}

/* The confirm form of signing out session id: another session asks for
 * the password (and a code when TOTP is on) again. */
static void
revoke_show(struct request *r, const struct acct *a, int64_t id, const char *error)
{
	struct vm *vm = acct_vm(r, a, "Sign out a session", "sessions");

	vm_set_int(vm, "id", id);
	vm_set_bool(vm, "current", id == r->principal[SESS_CUSTOMER]->session_id);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/account_session_revoke", vm);
}

/* 1 when session id is this customer's. */
static int
session_owned(struct request *r, const struct acct *a, int64_t id)
{
	struct stmt *st = db_q(r->db, Q_ACCT_SESSION_OWNED);

	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":cid", a->id);
	return db_one_int(r->db, st, 0) == 1;
}

/*
 * GET /account/sessions (and the re-display of its POSTs): the live
 * sessions of the account, newest activity first, this one marked.  200.
 * GET /account/sessions/{id}/revoke: the confirm form (password and code
 * again for another session, V3.3.4); 404 when {id} is not one of this
 * customer's sessions (t/80-idor.t: another's id is never a 200).  A
 * refused POST's re-display (r->redisplay) keeps its 403 and shows only
 * this customer's own sessions either way.
 */
void
page_account_sessions(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	int64_t	 id;

	if (a == NULL)
		return;
	if (req_param(r, "id") != NULL) {
		id = req_param_int(r, "id");
		if (!session_owned(r, a, id)) {
			if (!r->redisplay)
				req_fail(r, 404, "There is no such session.");
			sessions_show(r, a, NULL);
			return;
		}
		revoke_show(r, a, id, NULL);
		return;
	}
	sessions_show(r, a, NULL);
}

static const struct field page_account_session_revoke_fields[] = {
	{ "password", FK_SECRET, 0, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
};
const struct form page_account_session_revoke_form = { FORM(page_account_session_revoke_fields) };
const struct form page_account_sessions_revoke_others_form = { FORM(page_account_session_revoke_fields) };

/*
 * POST /account/sessions/{id:int}/revoke — password, code (when TOTP is
 * on), csrf.  404 when {id} is not one of this customer's sessions
 * (another customer's id looks exactly like one that does not exist),
 * checked before the password.  Revoking the current session signs out
 * (303 to /, no password needed); another needs the password (and code)
 * again: 403/429 with the confirm form as acct_reauth, else 303 to
 * /account/sessions?ok=revoked.
 */
void
page_account_session_revoke_post(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	int64_t	 id = req_param_int(r, "id");
	const char *why;
	struct stmt *st;
	int	 self;

	if (a == NULL)
		return;
	if (!session_owned(r, a, id))
		req_fail(r, 404, "There is no such session.");
	self = id == r->principal[SESS_CUSTOMER]->session_id;
	if (!self && (why = acct_reauth(r, a, 1)) != NULL) {
		revoke_show(r, a, id, why);
		return;
	}
	db_begin(r->db);
	st = db_q(r->db, Q_ACCT_SESSION_REVOKE);
	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":cid", a->id);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such session.");
	}
	req_audit(r, "session.revoked", cust_target(r, a->id), "session %lld%s", (long long)id,
	    self ? " (this one)" : "");
	if (self)
		session_end(r, SESS_CUSTOMER);
	db_commit(r->db);
	resp_redirect(r, 303, self ? "/" : "/account/sessions?ok=revoked");
}

/* POST /account/sessions/revoke-others — password, code (when TOTP is
 * on), csrf.  Ends every session of the account but this one, after the
 * password (and code) again.  303 to /account/sessions?ok=others;
 * 403/429 with the list as acct_reauth. */
void
page_account_sessions_revoke_others_post(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	const char *why;

	if (a == NULL)
		return;
	if ((why = acct_reauth(r, a, 1)) != NULL) {
		sessions_show(r, a, why);
		return;
	}
	db_begin(r->db);
	session_end_all(r, SESS_CUSTOMER, a->id, 1);
	req_audit(r, "session.revoked_others", cust_target(r, a->id), "%lld ended",
	    (long long)db_changes(r->db));
	db_commit(r->db);
	resp_redirect(r, 303, "/account/sessions?ok=others");
}

/* ---- delete ---- */

/* GET /account/delete: the delete form (or why it is refused).  200. */
void
page_account_delete(struct request *r)
{
	struct acct *a = acct_load(r, 1);

	if (a == NULL)
		return;
	form_show(r, a, "pages/account_delete", "Delete your account", "delete", NULL);
}

static const struct field page_account_delete_fields[] = {
	{ "confirm", FK_FLAG, 0, 0, 0 },
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
};
const struct form page_account_delete_form = { FORM(page_account_delete_fields) };

/*
 * POST /account/delete — password, code (when TOTP is on), confirm,
 * csrf.  Refused (409) while the wallet holds money.  Otherwise the
 * account becomes a tombstone: state 'deleted', email
 * 'deleted-<id>@invalid' (the address may register again), name
 * cleared, the password hash replaced by the hash of a random secret
 * nobody knows (so a sign-in attempt costs the same and never matches),
 * 2FA, recovery codes, links and API tokens gone or spent, every session
 * ended.  Orders and the ledger stay.  200 with a goodbye page; 400
 * without the confirmation; 403/429 as acct_reauth.
 */
void
page_account_delete_post(struct request *r)
{
	struct acct *a = acct_load(r, 0);
	const char *why;
	char	 phc[PHC_MAX], rnd[33];
	struct stmt *st;
	struct vm *vm;

	if (a == NULL)
		return;
	if (form_get(r, "confirm") == NULL) {
		r->status = 400;
		form_show(r, a, "pages/account_delete", "Delete your account", "delete",
		    "Please tick the box to confirm that you want to delete the account.");
		return;
	}
	if (a->balance_minor != 0) {
		r->status = 409;
		form_show(r, a, "pages/account_delete", "Delete your account", "delete",
		    "Your wallet still holds money, so the account cannot be deleted. "
		    "Spend the balance or ask support for a refund first.");
		return;
	}
	if ((why = acct_reauth(r, a, 1)) != NULL) {
		form_show(r, a, "pages/account_delete", "Delete your account", "delete", why);
		return;
	}
	token_new(rnd);
	if (password_hash(&r->app->conf, rnd, phc) != 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	OPENSSL_cleanse(rnd, sizeof(rnd));
	db_begin(r->db);
	/* Re-read inside the write transaction: a top-up may have landed
	 * since the check above. */
	a = acct_load(r, 0);
	if (a->balance_minor != 0) {
		db_rollback(r->db);
		r->status = 409;
		form_show(r, a, "pages/account_delete", "Delete your account", "delete",
		    "Your wallet still holds money, so the account cannot be deleted.");
		return;
	}
	st = db_q(r->db, Q_ACCT_DELETE);
	db_bind_int(r->db, st, ":id", a->id);
	db_bind_text(r->db, st, ":hash", phc);
	if (db_step(r->db, st) != DB_DONE || db_changes(r->db) != 1)
		req_fail(r, 500, "customer delete changed no row");
	st = db_q(r->db, Q_ACCT_RC_DELETE);
	db_bind_int(r->db, st, ":cid", a->id);
	db_step(r->db, st);
	st = db_q(r->db, Q_ACCT_TOKENS_SPEND_ALL);
	db_bind_int(r->db, st, ":cid", a->id);
	db_step(r->db, st);
	st = db_q(r->db, Q_ACCT_API_TOKENS_REVOKE);
	db_bind_int(r->db, st, ":cid", a->id);
	db_step(r->db, st);
	(void)pk_remove_all(r, SESS_CUSTOMER, a->id);
	req_audit(r, "customer.deleted", cust_target(r, a->id), "%s", "tombstoned by the customer");
	session_end_all(r, SESS_CUSTOMER, a->id, 0);
	session_end(r, SESS_CUSTOMER);
	db_commit(r->db);
	vm = page_vm(r, "Account deleted");
	vm_set(vm, "heading", "Account deleted");
	vm_set(vm, "message", "Your account is deleted and you are signed out. "
	    "Records of past orders and payments are kept, as the law requires.");
	page_render(r, "pages/message", vm);
}
