/*
 * page_auth.c: customers signing up and in.
 *
 *   GET/POST /register            create an account; a verification mail
 *   GET/POST /verify/{token}      confirm the email (POST: no GET changes state)
 *   GET/POST /login, POST /logout
 *   GET/POST /password/forgot     a reset mail
 *   GET/POST /password/reset/{token}
 *
 * None of these answers reveals whether an email is registered: register,
 * login and forgot say the same thing either way and cost the same time
 * (an unknown email still costs one argon2id hash).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mailq.h"
#include "next.h"
#include "notice.h"
#include "password.h"
#include "referral.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "signin.h"
#include "spool.h"
#include "throttle.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

#define VERIFY_TTL	(24 * 3600)
#define RESET_TTL	3600
#define FORGOT_SENT	"If an account uses that address, we have sent it a link to choose a " \
	"new password. The link works for one hour."

/* A demonstration shop (conf demo = yes, ./quickstart demo) delivers its
 * mail to a local sink, not to an inbox: a newcomer told only "check your
 * inbox" waits for a message that never comes.  Said to every address, as
 * the rest of the page is, so it tells nothing about accounts. */
#define DEMO_MAIL_HINT	" This is a demonstration shop: its mail is not sent out but " \
	"kept as files on its own machine (.demo/mail/ beside ./quickstart) and " \
	"in the staff mail log."

/* The "Check your inbox" page's text, with the demo's hint when it is one. */
static const char *
sent_text(struct request *r, const char *text)
{
	return r->app->conf.demo ? arena_printf(r->a, "%s%s", text, DEMO_MAIL_HINT) : text;
}

/* A new single-use email token of purpose for a customer; returns the
 * clear token for the link (only its hash is stored). */
static const char *
email_token(struct request *r, const char *purpose, int64_t customer_id, int64_t ttl,
    const char *new_email)
{
	char	 tok[33];
	unsigned char h[32];
	struct stmt *st = db_q(r->db, Q_EMAIL_TOKEN_INSERT);

	token_new(tok);
	token_hash(tok, h);
	db_bind_blob(r->db, st, ":hash", h, 32);
	db_bind_text(r->db, st, ":purpose", purpose);
	db_bind_int(r->db, st, ":cid", customer_id);
	db_bind_text(r->db, st, ":new_email", new_email);
	db_bind_int(r->db, st, ":expires", now_unix() + ttl);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "email token insert failed");
	return arena_strdup(r->a, tok);
}

/* The live token of purpose named by the path's {token}: its id and customer. */
static int
email_token_find(struct request *r, const char *purpose, int64_t *id, int64_t *cid,
    const char **new_email)
{
	unsigned char h[32];
	struct stmt *st = db_q(r->db, Q_EMAIL_TOKEN_FIND);
	int	 ok = 0;

	token_hash(req_param(r, "token"), h);
	db_bind_blob(r->db, st, ":hash", h, 32);
	db_bind_text(r->db, st, ":purpose", purpose);
	db_bind_int(r->db, st, ":now", now_unix());
	if (db_step(r->db, st) == DB_ROW) {
		*id = db_int(st, 0);
		*cid = db_int(st, 1);
		if (new_email)
			*new_email = db_text(r->db, st, 2);
		ok = 1;
	}
	db_reset(st);
	return ok;
}

static struct json_object *
link_vars(struct request *r, const char *path, const char *tok, const char *name)
{
	struct json_object *v = json_object_new_object();

	json_object_object_add(v, "link", json_object_new_string(
	    arena_printf(r->a, "%s%s%s", r->app->conf.base_url, path, tok)));
	json_object_object_add(v, "name", json_object_new_string(name ? name : ""));
	json_object_object_add(v, "site_name", json_object_new_string(shop_name(r->db, r->a, &r->app->conf)));
	return v;
}

static void
form_page(struct request *r, const char *tmpl, const char *title, const char *error)
{
	struct vm *vm = page_vm(r, title);

	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	vm_set(vm, "f_email", req_form(r, "email"));
	vm_set(vm, "f_name", req_form(r, "name"));
	vm_set(vm, "next", next_customer(req_form(r, "next") ? req_form(r, "next") :
	    req_query(r, "next"), ""));
	vm_set_bool(vm, "f_terms", req_form(r, "terms") != NULL);
	if (error != NULL)
		vm_set(vm, "error", error);
	if (req_param(r, "token") != NULL)
		vm_set(vm, "token", req_param(r, "token"));
	page_render(r, tmpl, vm);
}

static void
message_page(struct request *r, const char *title, const char *msg)
{
	struct vm *vm = page_vm(r, title);

	vm_set(vm, "heading", title);
	vm_set(vm, "message", msg);
	page_render(r, "pages/message", vm);
}

/* The form again with 429: this client address sent too many. */
static void
too_many(struct request *r, const char *tmpl, const char *title)
{
	r->status = 429;
	resp_header(r, "Retry-After", "3600");
	form_page(r, tmpl, title, "Too many attempts from your address. Please wait a while and try again.");
}

/* GET /register */
void
page_register(struct request *r)
{
	form_page(r, "pages/register", "Create an account", NULL);
}

static const struct field page_register_fields[] = {
	{ "email", FK_EMAIL, FIELD_REQUIRED, 0, 0 },
	{ "name", FK_NAME, FIELD_REQUIRED, 0, 0 },
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "terms", FK_FLAG, 0, 0, 0 },
};
const struct form page_register_form = { FORM(page_register_fields) };

/*
 * POST /register — email, name, password, terms, csrf.
 * 200 with the form and a message on a validation error; otherwise the
 * same "check your inbox" page whether or not the email was new (and
 * whether or not the address was past its mail limits, when nothing is
 * sent).  429 past this client address's limit; 503 when no hash slot
 * comes free.
 */
void
page_register_post(struct request *r)
{
	const char *email = form_get(r, "email"), *name = form_get(r, "name");
	const char *pw = form_get(r, "password"), *why;
	char	 phc[PHC_MAX];
	struct stmt *st;
	int64_t	 cid = 0, job = 0, referrer;
	int	 rc, send = 1;

	if (!valid_email(email)) {
		form_page(r, "pages/register", "Create an account", "Please enter a valid email address.");
		return;
	}
	if (!valid_name(name)) {
		form_page(r, "pages/register", "Create an account", "Please enter your name "
		    "(at most 100 characters, on one line, without control characters).");
		return;
	}
	if ((why = password_policy(&r->app->conf, pw ? pw : "", email)) != NULL) {
		form_page(r, "pages/register", "Create an account", why);
		return;
	}
	if (form_get(r, "terms") == NULL) {
		form_page(r, "pages/register", "Create an account", "Please accept the terms of service.");
		return;
	}
	if (throttle_wait(r, throttle_key_ip(r)) > 0 || mail_client_over(r)) {
		too_many(r, "pages/register", "Create an account");
		return;
	}
	/* Hash first, outside any transaction, whether or not the email
	 * is taken: both paths cost the same. */
	if (password_hash(&r->app->conf, pw, phc) != 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");

	db_begin(r->db);
	/* Counted whether or not the address is taken, and the answer is
	 * the same either way; past the recipient's limit the account is
	 * still made, only the mail is not sent. */
	switch (mail_throttle(r, email)) {
	case MAIL_REFUSE:
		db_rollback(r->db);
		too_many(r, "pages/register", "Create an account");
		return;
	case MAIL_SILENT:
		send = 0;
		break;
	default:
		break;
	}
	st = db_q(r->db, Q_CUSTOMER_INSERT);
	db_bind_text(r->db, st, ":email", email);
	db_bind_text(r->db, st, ":name", name);
	db_bind_text(r->db, st, ":hash", phc);
	db_bind_text(r->db, st, ":currency", r->app->conf.currency);
	rc = db_step_try(r->db, st);
	if (rc == DB_DONE) {
		cid = db_last_id(r->db);
		st = db_q(r->db, Q_WALLET_CREATE);
		db_bind_int(r->db, st, ":cid", cid);
		db_bind_text(r->db, st, ":currency", r->app->conf.currency);
		if (db_step(r->db, st) != DB_DONE)
			req_fail(r, 500, "wallet insert failed");
		if (send)
			job = mailq_add(r, email, "emails/verify",
			    link_vars(r, "/verify/", email_token(r, "verify", cid, VERIFY_TTL, NULL), name),
			    arena_printf(r->a, "verify:%lld:%s", (long long)cid, r->id));
		r->user_id = cid;
		/* A referral link's cookie, if valid, names the referrer
		 * (first touch, no self-referral: referral.c). */
		referrer = referral_attribute(r, cid, email);
		req_audit(r, "customer.register", arena_printf(r->a, "customer:%lld", (long long)cid), "%s",
		    referrer ? arena_printf(r->a, "referred by customer:%lld", (long long)referrer) : "");
	} else {
		/* Taken: tell the owner by mail, tell the visitor nothing.
		 * The owner is greeted by the name on the account: the
		 * typed one is the visitor's, and could be any text. */
		st = db_q(r->db, Q_CUSTOMER_BY_EMAIL);
		db_bind_text(r->db, st, ":email", email);
		if (db_step(r->db, st) == DB_ROW) {
			const char *owner = db_text(r->db, st, 4);

			cid = db_int(st, 0);
			db_reset(st);
			if (send)
				job = mailq_add(r, email, "emails/already_registered",
				    link_vars(r, "/password/forgot", "", owner),
				    arena_printf(r->a, "already:%lld:%s", (long long)cid, r->id));
		} else
			db_reset(st);
	}
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	/* The referral cookie is spent by any registration, taken address
	 * or not: the same answer either way (no account enumeration). */
	if (req_cookie(r, referral_cookie_name(r)) != NULL)
		set_cookie(r, referral_cookie_name(r), "", 0);
	message_page(r, "Check your inbox", sent_text(r,
	    "We have sent a message to the address you gave. Follow the link in it to confirm your account."));
}

/* GET /verify/{token} — a confirmation button (a GET never changes state). */
void
page_verify(struct request *r)
{
	int64_t	 id, cid;

	if (!email_token_find(r, "verify", &id, &cid, NULL) &&
	    !email_token_find(r, "change_email", &id, &cid, NULL)) {
		message_page(r, "Link expired", "This link has expired or was already used. Sign in to ask for a new one.");
		r->status = 410;
		return;
	}
	form_page(r, "pages/verify", "Confirm your email", NULL);
}

/* POST /verify/{token} — marks the email verified (or switches to the new
 * address for an email change); the token is spent. */
void
page_verify_post(struct request *r)
{
	int64_t	 id, cid;
	const char *new_email = NULL;
	struct stmt *st;
	int	 change = 0;

	db_begin(r->db);
	if (!email_token_find(r, "verify", &id, &cid, NULL)) {
		if (!email_token_find(r, "change_email", &id, &cid, &new_email)) {
			db_rollback(r->db);
			message_page(r, "Link expired", "This link has expired or was already used.");
			r->status = 410;
			return;
		}
		change = 1;
	}
	st = db_q(r->db, Q_EMAIL_TOKEN_USE);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	st = db_q(r->db, change ? Q_CUSTOMER_SET_EMAIL : Q_CUSTOMER_VERIFY);
	db_bind_int(r->db, st, ":id", cid);
	if (change)
		db_bind_text(r->db, st, ":email", new_email);
	if (db_step_try(r->db, st) == DB_CONSTRAINT) {
		db_rollback(r->db);
		message_page(r, "Address taken", "Another account uses that address now, so it could not be changed.");
		r->status = 409;
		return;
	}
	r->user_id = cid;
	req_audit(r, change ? "customer.email_changed" : "customer.email_verified",
	    arena_printf(r->a, "customer:%lld", (long long)cid), "%s", change ? new_email : "");
	db_commit(r->db);
	message_page(r, "Email confirmed", "Thank you. Your email address is confirmed.");
}

/* GET /login */
void
page_login(struct request *r)
{
	if (r->principal[SESS_CUSTOMER] != NULL && !r->redisplay) {
		resp_redirect(r, 303, "/account");
		return;
	}
	form_page(r, "pages/login", "Sign in", NULL);
}

static const struct field page_login_fields[] = {
	{ "email", FK_EMAIL, FIELD_REQUIRED, 0, 0 },
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "next", FK_TEXT, 0, 0, 200 },
};
const struct form page_login_form = { FORM(page_login_fields) };

/*
 * POST /login — email, password, next, csrf.  303 to next (or /account)
 * on success, to /login/2fa when TOTP is on; 200 with the same message
 * for an unknown email and a wrong password; 429 while throttled.
 */
void
page_login_post(struct request *r)
{
	struct signin si;

	switch (signin_password(r, SESS_CUSTOMER, form_get(r, "email"), form_get(r, "password"),
	    &si)) {
	case SIGNIN_THROTTLED:
		form_page(r, "pages/login", "Sign in",
		    signin_refuse(r, si.wait, "Too many failed attempts"));
		return;
	case SIGNIN_WRONG:
		form_page(r, "pages/login", "Sign in", "The email or password is wrong.");
		return;
	default:
		break;
	}
	if (si.totp)
		resp_redirect(r, 303, arena_printf(r->a, "/login/2fa%s%s",
		    form_get(r, "next") ? "?next=" : "", form_get(r, "next") ? next_customer(form_get(r, "next"), "") : ""));
	else
		resp_redirect(r, 303, next_customer(form_get(r, "next"), "/account"));
}

/* POST /logout */
void
page_logout_post(struct request *r)
{
	db_begin(r->db);
	if (r->principal[SESS_CUSTOMER] != NULL)
		req_audit(r, "logout", arena_printf(r->a, "customer:%lld",
		    (long long)r->principal[SESS_CUSTOMER]->user_id), "%s", "");
	session_end(r, SESS_CUSTOMER);
	db_commit(r->db);
	resp_redirect(r, 303, "/");
}

/* GET /password/forgot */
void
page_forgot(struct request *r)
{
	form_page(r, "pages/forgot", "Reset your password", NULL);
}

static const struct field page_forgot_fields[] = {
	{ "email", FK_EMAIL, FIELD_REQUIRED, 0, 0 },
};
const struct form page_forgot_form = { FORM(page_forgot_fields) };

/* POST /password/forgot — email.  The same answer whether or not the
 * account exists; a mail only when it does and the address is under its
 * hourly and daily limits.  429 past this client address's limit (or
 * the login throttle's); 503 when no hash slot comes free. */
void
page_forgot_post(struct request *r)
{
	const char *email = form_get(r, "email");
	struct stmt *st;
	int64_t	 cid = 0, job = 0;
	const char *name = "";

	if (!valid_email(email)) {
		form_page(r, "pages/forgot", "Reset your password", "Please enter a valid email address.");
		return;
	}
	if (throttle_wait(r, throttle_key_ip(r)) > 0 || mail_client_over(r)) {
		too_many(r, "pages/forgot", "Reset your password");
		return;
	}
	/* Equal cost for known and unknown addresses. */
	if (password_dummy_verify(&r->app->conf, email) < 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	db_begin(r->db);
	/* Counted for unknown addresses too: the same answer either way. */
	switch (mail_throttle(r, email)) {
	case MAIL_REFUSE:
		db_rollback(r->db);
		too_many(r, "pages/forgot", "Reset your password");
		return;
	case MAIL_SILENT:
		db_commit(r->db);
		message_page(r, "Check your inbox", sent_text(r, FORGOT_SENT));
		return;
	default:
		break;
	}
	st = db_q(r->db, Q_CUSTOMER_BY_EMAIL);
	db_bind_text(r->db, st, ":email", email);
	if (db_step(r->db, st) == DB_ROW && strcmp(db_text(r->db, st, 3), "active") == 0) {
		cid = db_int(st, 0);
		name = db_text(r->db, st, 4);
	}
	db_reset(st);
	if (cid) {
		job = mailq_add(r, email, "emails/reset",
		    link_vars(r, "/password/reset/", email_token(r, "reset", cid, RESET_TTL, NULL), name),
		    arena_printf(r->a, "reset:%lld:%s", (long long)cid, r->id));
		req_audit(r, "password.reset_requested", arena_printf(r->a, "customer:%lld", (long long)cid), "%s", "");
	}
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	/* The referral cookie is spent by any registration, taken address
	 * or not: the same answer either way (no account enumeration). */
	if (req_cookie(r, referral_cookie_name(r)) != NULL)
		set_cookie(r, referral_cookie_name(r), "", 0);
	message_page(r, "Check your inbox", sent_text(r, FORGOT_SENT));
}

/* GET /password/reset/{token} */
void
page_reset(struct request *r)
{
	int64_t	 id, cid;

	if (!email_token_find(r, "reset", &id, &cid, NULL)) {
		message_page(r, "Link expired", "This link has expired or was already used. You can ask for a new one.");
		r->status = 410;
		return;
	}
	form_page(r, "pages/reset", "Choose a new password", NULL);
}

static const struct field page_reset_fields[] = {
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
};
const struct form page_reset_form = { FORM(page_reset_fields) };

/* POST /password/reset/{token} — password.  Sets the password, spends
 * every reset and email-change link of the account (this one included),
 * revokes its API tokens, ends every session and mails a notice.  200; 410 for a spent
 * or expired link; 503 when no hash slot comes free. */
void
page_reset_post(struct request *r)
{
	const char *pw = form_get(r, "password"), *why;
	int64_t	 id, cid, job;
	char	 phc[PHC_MAX];
	struct stmt *st;

	if (!email_token_find(r, "reset", &id, &cid, NULL)) {
		message_page(r, "Link expired", "This link has expired or was already used.");
		r->status = 410;
		return;
	}
	if ((why = password_policy(&r->app->conf, pw ? pw : "", NULL)) != NULL) {
		form_page(r, "pages/reset", "Choose a new password", why);
		return;
	}
	if (password_hash(&r->app->conf, pw, phc) != 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	db_begin(r->db);
	/* Re-check inside the transaction: two tabs may race for one token. */
	if (!email_token_find(r, "reset", &id, &cid, NULL)) {
		db_rollback(r->db);
		message_page(r, "Link expired", "This link has expired or was already used.");
		r->status = 410;
		return;
	}
	st = db_q(r->db, Q_CUSTOMER_SET_PASSWORD);
	db_bind_int(r->db, st, ":id", cid);
	db_bind_text(r->db, st, ":hash", phc);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "password update failed");
	/* Whoever knew the old password may have left a way back in: a
	 * pending email change to their address (its link would move the
	 * account away), an older reset link, API tokens.  Spend and
	 * revoke them all; this link is spent with the resets. */
	st = db_q(r->db, Q_ACCT_TOKENS_SPEND);
	db_bind_int(r->db, st, ":cid", cid);
	db_bind_text(r->db, st, ":purpose", "reset");
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "reset tokens spend failed");
	st = db_q(r->db, Q_ACCT_TOKENS_SPEND);
	db_bind_int(r->db, st, ":cid", cid);
	db_bind_text(r->db, st, ":purpose", "change_email");
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "change_email tokens spend failed");
	st = db_q(r->db, Q_ACCT_API_TOKENS_REVOKE);
	db_bind_int(r->db, st, ":cid", cid);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "api token revoke failed");
	session_end_all(r, SESS_CUSTOMER, cid, 0);
	r->user_id = cid;
	req_audit(r, "password.reset", arena_printf(r->a, "customer:%lld", (long long)cid), "%s",
	    "all sessions ended, API tokens revoked, pending links spent");
	/* Told afterwards too (V2.2.3): whoever read the link mail could
	 * have used it. */
	job = notice_queue(r, SESS_CUSTOMER, cid, "emails/password_reset_done", notice_vars(r),
	    arena_printf(r->a, "reset-done:%lld:%s", (long long)cid, r->id));
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	message_page(r, "Password changed", "Your password is changed. Every session is signed out, "
	    "every API token of the account is revoked and any pending email change is cancelled. "
	    "You can sign in now.");
}
