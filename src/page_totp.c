/*
 * page_totp.c: customers' optional two-factor sign-in (RFC 6238 TOTP,
 * ten single-use recovery codes).
 *
 *   GET  /account/2fa             status; when off, a pending secret to scan
 *   POST /account/2fa/enable      password + code: TOTP on, recovery codes shown once
 *   POST /account/2fa/disable     password + code or recovery code: TOTP off
 *   GET/POST /login/2fa           the second step of signing in (F_PARTIAL)
 *
 * The secret lives sealed (AES-256-GCM, AAD "customer:<id>:totp") in
 * customers.totp_sealed.  While totp_enabled_at is NULL it is pending:
 * made on the first visit to /account/2fa, kept across reloads, and
 * confirmed by a code.  Each code works once: the step it matched is
 * recorded with "UPDATE ... WHERE totp_last_step < :step" and a code is
 * accepted only when that changed a row, so two workers racing with one
 * code cannot both win.  Recovery codes are stored salted and hashed and
 * spent the same way.  The mechanics, shared with staff, are in mfa.c;
 * this file keeps the pages, their messages and the mail notices.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "account.h"
#include "cart.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mailq.h"
#include "mfa.h"
#include "next.h"
#include "response.h"
#include "session.h"
#include "signin.h"
#include "spool.h"
#include "throttle.h"
#include "totp.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

/* The pending secret of a customer without TOTP, made (sealed and
 * stored) on first use.  Fills key. */
static void
pending_secret(struct request *r, int64_t cid, unsigned char key[TOTP_SECRET_LEN])
{
	int	 enabled = 0;

	if (mfa_secret_load(r, SESS_CUSTOMER, cid, key, NULL, &enabled) && !enabled)
		return;
	db_begin(r->db);
	mfa_secret_new(r, SESS_CUSTOMER, cid, key);
	db_commit(r->db);
}

/* Mail the account's address that 2FA was turned on or off (inside the
 * open transaction).  Returns the job id. */
static int64_t
totp_notice(struct request *r, const struct acct *a, const char *change)
{
	struct json_object *v = json_object_new_object();
	char	 when[32];

	iso8601(when, now_unix());
	json_object_object_add(v, "name", json_object_new_string(*a->name ? a->name : a->email));
	json_object_object_add(v, "site_name", json_object_new_string(r->app->conf.site_name));
	json_object_object_add(v, "change", json_object_new_string(change));
	json_object_object_add(v, "when", json_object_new_string(when));
	json_object_object_add(v, "ip", json_object_new_string(r->remote_addr ? r->remote_addr : "unknown"));
	return mailq_add(r, a->email, "emails/totp_changed", v,
	    arena_printf(r->a, "totp:%lld:%s", (long long)a->id, r->id));
}

/* The 2FA page: status and the disable form, or the pending secret (QR
 * code, Key URI, base32 text) and the enable form. */
static void
totp_show(struct request *r, const struct acct *a, const char *error)
{
	struct vm *vm = acct_vm(r, a, "Two-factor authentication", "totp");
	unsigned char key[TOTP_SECRET_LEN];
	char	 b32[BASE32_LEN(TOTP_SECRET_LEN) + 1], grouped[BASE32_LEN(TOTP_SECRET_LEN) * 2];
	const char *uri, *qr;
	size_t	 i, n = 0;

	/* The secret must not stay in any cache, shared or not. */
	resp_header(r, "Cache-Control", "no-store");
	vm_set_bool(vm, "required", r->app->conf.require_customer_totp);
	if (error != NULL)
		vm_set(vm, "error", error);
	if (a->totp) {
		struct stmt *st = db_q(r->db, Q_ACCT_RC_LEFT);

		db_bind_int(r->db, st, ":cid", a->id);
		vm_set_int(vm, "codes_left", db_one_int(r->db, st, 0));
		page_render(r, "pages/account_2fa", vm);
		return;
	}
	pending_secret(r, a->id, key);
	base32_encode(b32, key, sizeof(key));
	for (i = 0; b32[i] != '\0'; i++) {
		if (i > 0 && i % 4 == 0)
			grouped[n++] = ' ';
		grouped[n++] = b32[i];
	}
	grouped[n] = '\0';
	mfa_uri_qr(r, a->email, key, &uri, &qr);
	OPENSSL_cleanse(key, sizeof(key));
	vm_set(vm, "secret", grouped);
	vm_set(vm, "uri", uri);
	vm_set(vm, "qr", qr);
	OPENSSL_cleanse(b32, sizeof(b32));
	OPENSSL_cleanse(grouped, sizeof(grouped));
	page_render(r, "pages/account_2fa", vm);
}

/* GET /account/2fa (and /account/2fa/enable, /account/2fa/disable: the
 * re-display of their forms).  200, Cache-Control: no-store. */
void
page_account_2fa(struct request *r)
{
	struct acct *a = acct_load(r, 0);

	totp_show(r, a, NULL);
}

static const struct field page_account_2fa_enable_fields[] = {
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
};
const struct form page_account_2fa_enable_form = { FORM(page_account_2fa_enable_fields) };

/*
 * POST /account/2fa/enable — password, code, csrf.  Confirms the pending
 * secret with a code from the app: TOTP on, ten new recovery codes shown
 * on this response only (stored salted and hashed), a new session token,
 * an audit row and a notice by mail.  200 with the codes; 403 on a wrong
 * password or code; 429 while throttled; 303 to /account/2fa when TOTP is
 * already on.
 */
void
page_account_2fa_enable_post(struct request *r)
{
	struct acct *a = acct_load(r, 0);
	char	 codes[RC_COUNT][RC_LEN];
	const char *why, *code = form_get(r, "code");
	struct stmt *st;
	struct vm *vm, *it;
	int64_t	 job;
	int	 i;

	if (a->totp) {
		resp_redirect(r, 303, "/account/2fa");
		return;
	}
	if (code == NULL || *code == '\0' || strlen(code) > 64) {
		r->status = 400;
		totp_show(r, a, "Please enter the six-digit code from your authenticator app.");
		return;
	}
	if ((why = acct_reauth(r, a, 0)) != NULL) {
		totp_show(r, a, why);
		return;
	}
	db_begin(r->db);
	if (!acct_totp_accept(r, a->id, code, 1)) {
		throttle_fail(r, throttle_key_account(r, a->email));
		req_audit(r, "2fa.enable_failed", arena_printf(r->a, "customer:%lld", (long long)a->id),
		    "%s", "wrong code");
		db_commit(r->db);
		r->status = 403;
		totp_show(r, a, "That code is wrong or was already used. Check the time on your "
		    "phone and enter the code the app shows now.");
		return;
	}
	st = db_q(r->db, Q_ACCT_TOTP_ENABLE);
	db_bind_int(r->db, st, ":id", a->id);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		db_rollback(r->db);
		resp_redirect(r, 303, "/account/2fa");
		return;
	}
	mfa_codes_replace(r, SESS_CUSTOMER, a->id, codes);
	/* A privilege change: a new session token. */
	session_start(r, SESS_CUSTOMER, a->id, 1);
	session_reauth(r, SESS_CUSTOMER);
	req_audit(r, "2fa.enabled", arena_printf(r->a, "customer:%lld", (long long)a->id), "%s", "totp");
	job = totp_notice(r, a, "turned on");
	db_commit(r->db);
	spool_wake(&r->app->conf, job, "email");

	resp_header(r, "Cache-Control", "no-store");
	vm = page_vm(r, "Your recovery codes");
	for (i = 0; i < RC_COUNT; i++) {
		it = vm_push(vm, "codes");
		vm_set(it, "code", arena_strdup(r->a, codes[i]));
	}
	OPENSSL_cleanse(codes, sizeof(codes));
	page_render(r, "pages/account_codes", vm);
}

static const struct field page_account_2fa_disable_fields[] = {
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
};
const struct form page_account_2fa_disable_form = { FORM(page_account_2fa_disable_fields) };

/*
 * POST /account/2fa/disable — password, code (TOTP or a recovery code),
 * csrf.  TOTP off, recovery codes deleted, a new session token, an audit
 * row and a notice by mail.  303 to /account/2fa?ok=totp_off; 403 when
 * the shop requires TOTP or on a wrong password or code; 429 while
 * throttled.
 */
void
page_account_2fa_disable_post(struct request *r)
{
	struct acct *a = acct_load(r, 0);
	const char *why;
	int64_t	 job;

	if (!a->totp) {
		resp_redirect(r, 303, "/account/2fa");
		return;
	}
	if (r->app->conf.require_customer_totp) {
		r->status = 403;
		totp_show(r, a, "This shop requires two-factor authentication, so it cannot be turned off.");
		return;
	}
	if ((why = acct_reauth(r, a, 1)) != NULL) {
		totp_show(r, a, why);
		return;
	}
	db_begin(r->db);
	mfa_remove(r, SESS_CUSTOMER, a->id);
	session_start(r, SESS_CUSTOMER, a->id, 1);
	session_reauth(r, SESS_CUSTOMER);
	req_audit(r, "2fa.disabled", arena_printf(r->a, "customer:%lld", (long long)a->id), "%s", "totp");
	job = totp_notice(r, a, "turned off");
	db_commit(r->db);
	spool_wake(&r->app->conf, job, "email");
	resp_redirect(r, 303, "/account/2fa?ok=totp_off");
}

/* ---- the second step of signing in ---- */

/*
 * A session waiting for its second factor: 1 to go on; 0 when the
 * response is made (303 onwards when the session needs no code, or 303
 * to /login after ending a stale or pointless one).
 */
static int
login_2fa_pending(struct request *r)
{
	const struct principal *p = r->principal[SESS_CUSTOMER];
	const char *next = req_form(r, "next") ? req_form(r, "next") : req_query(r, "next");

	if (p->mfa_ok) {
		resp_redirect(r, 303, next_customer(next, "/account"));
		return 0;
	}
	if (!p->totp_enrolled || now_unix() - p->created_at > SESSION_PENDING_MAX) {
		db_begin(r->db);
		session_end(r, SESS_CUSTOMER);
		db_commit(r->db);
		resp_redirect(r, 303, "/login");
		return 0;
	}
	return 1;
}

static void
login_2fa_show(struct request *r, const char *error)
{
	struct vm *vm = page_vm(r, "Two-factor sign-in");
	const char *next = req_form(r, "next") ? req_form(r, "next") : req_query(r, "next");

	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	vm_set(vm, "next", next_customer(next, ""));
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/login_2fa", vm);
}

/* GET /login/2fa — next.  The code form of a half-signed-in session.
 * 200, or 303 as login_2fa_pending. */
void
page_login_2fa(struct request *r)
{
	if (login_2fa_pending(r))
		login_2fa_show(r, NULL);
}

static const struct field page_login_2fa_fields[] = {
	{ "code", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "next", FK_TEXT, 0, 0, 200 },
};
const struct form page_login_2fa_form = { FORM(page_login_2fa_fields) };

/*
 * POST /login/2fa — code (six digits, or a recovery code), next, csrf.
 * On success a new session token with the second factor done, 303 to
 * next (or /account).  A wrong or reused code is counted by the login
 * throttle on the account and the address and audited: 200 with the
 * form; 429 while throttled.
 */
void
page_login_2fa_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_CUSTOMER];
	const char *code = form_get(r, "code"), *kacct, *kip, *how = NULL;
	int64_t	 cid, wait;

	if (!login_2fa_pending(r))
		return;
	cid = p->user_id;
	kacct = throttle_key_account(r, p->email);
	kip = throttle_key_ip(r);
	if ((wait = signin_attempt(r, kacct, kip)) > 0) {
		login_2fa_show(r, signin_refuse(r, wait, "Too many failed attempts"));
		return;
	}
	if (code != NULL && strlen(code) <= 64) {
		if (acct_totp_accept(r, cid, code, 0))
			how = "totp";
		else if (acct_recovery_accept(r, cid, code))
			how = "recovery code";
	}
	db_begin(r->db);
	if (how == NULL) {
		/* Counted already (signin_attempt). */
		req_audit(r, "login.2fa_failed", arena_printf(r->a, "customer:%lld", (long long)cid),
		    "%s", "customer");
		db_commit(r->db);
		login_2fa_show(r, "That code is wrong or was already used.");
		return;
	}
	signin_attempt_ok(r, kacct, kip);
	session_start(r, SESS_CUSTOMER, cid, 1);
	cart_merge(r, cid);
	req_audit(r, "login", arena_printf(r->a, "customer:%lld", (long long)cid), "customer, %s", how);
	db_commit(r->db);
	resp_redirect(r, 303, next_customer(form_get(r, "next"), "/account"));
}
