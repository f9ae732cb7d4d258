/*
 * admin_auth.c: staff signing in, and proving it again.
 *
 *   GET/POST /admin/login        email and password (throttled, equal cost)
 *   POST     /admin/logout
 *   GET/POST /admin/2fa/setup    TOTP enrolment, required for every staff account
 *   GET/POST /admin/login/2fa    the second factor: a TOTP or a recovery code
 *   GET/POST /admin/reauth       password and code again before a privileged change
 *
 * A password alone makes a staff session with mfa_ok = 0.  The router
 * keeps every other page under /admin closed for it (F_PARTIAL routes
 * aside) until enrolment or the second factor has rotated it into a new
 * session with mfa_ok = 1.  The TOTP seed is sealed (AES-256-GCM under
 * the server key) with "staff:<id>:totp" as associated data, so a seed
 * copied onto another row does not open.  The password step is
 * signin.c's and the second factor's mechanics are mfa.c's, shared with
 * customers; this file keeps the pages, their messages and redirects.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mfa.h"
#include "next.h"
#include "notice.h"
#include "response.h"
#include "session.h"
#include "signin.h"
#include "spool.h"
#include "throttle.h"
#include "totp.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

const char *
staff_2fa_key(struct request *r, int64_t id)
{
	return arena_printf(r->a, "2fa:staff:%lld", (long long)id);
}

/* A typed code without the spaces people copy from their app. */
static const char *
code_clean(struct request *r, const char *in)
{
	char	*out, *o;

	if (in == NULL || strlen(in) > 64)
		return "";
	out = o = arena_strdup(r->a, in);
	for (; *in; in++)
		if (*in != ' ' && *in != '\t')
			*o++ = *in;
	*o = '\0';
	return out;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int
staff_second_factor(struct request *r, int64_t id, const char *typed, const char **how)
{
	const char *code = code_clean(r, typed);

	if (strlen(code) == TOTP_DIGITS && all_digits(code)) {
		*how = "TOTP code";
		return mfa_totp_accept(r, SESS_STAFF, id, code, 0);
	}
	*how = "recovery code";
	return mfa_recovery_accept(r, SESS_STAFF, id, code);
}

/* ---- password ---- */

static void
login_form(struct request *r, const char *error)
{
	struct vm *vm = page_vm(r, "Staff sign-in");

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "f_email", req_form(r, "email"));
	vm_set(vm, "next", next_staff(req_form(r, "next") ? req_form(r, "next") :
	    req_query(r, "next"), ""));
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/login", vm);
}

/* GET /admin/login — ?next.  200, or 303 to /admin when already fully signed in. */
void
admin_login(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];

	if (p != NULL && p->mfa_ok && p->totp_enrolled && !r->redisplay) {
		resp_redirect(r, 303, "/admin");
		return;
	}
	login_form(r, NULL);
}

static const struct field admin_login_fields[] = {
	{ "email", FK_EMAIL, FIELD_REQUIRED, 0, 0 },
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "next", FK_TEXT, 0, 0, 200 },
};
const struct form admin_login_form = { FORM(admin_login_fields) };

/*
 * POST /admin/login — email, password, next, csrf.  303 to
 * /admin/2fa/setup (not enrolled) or /admin/login/2fa (enrolled) with a
 * new session of mfa_ok = 0; 200 with one message for an unknown email,
 * a wrong password and an account that is not active; 429 while the
 * account or the address is throttled (before any hashing); 503 when
 * no hash slot came free.
 */
void
admin_login_post(struct request *r)
{
	struct signin si;
	const char *next;

	switch (signin_password(r, SESS_STAFF, form_get(r, "email"), form_get(r, "password"),
	    &si)) {
	case SIGNIN_THROTTLED:
		login_form(r, signin_refuse(r, si.wait, "Too many failed attempts"));
		return;
	case SIGNIN_WRONG:
		login_form(r, "The email or password is wrong.");
		return;
	default:
		break;
	}
	if (!si.totp) {
		resp_redirect(r, 303, "/admin/2fa/setup");
		return;
	}
	next = next_staff(form_get(r, "next"), "");
	resp_redirect(r, 303, *next ? arena_printf(r->a, "/admin/login/2fa?next=%s", next) :
	    "/admin/login/2fa");
}

/* POST /admin/logout — csrf.  Ends the staff session; 303 to /admin/login. */
void
admin_logout_post(struct request *r)
{
	db_begin(r->db);
	req_audit(r, "logout", staff_target(r, r->principal[SESS_STAFF]->user_id), "%s", "staff");
	session_end(r, SESS_STAFF);
	db_commit(r->db);
	resp_redirect(r, 303, "/admin/login");
}

/* ---- enrolment ---- */

static void
setup_page(struct request *r, const unsigned char key[TOTP_SECRET_LEN], const char *error)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct vm *vm = page_vm(r, "Set up two-factor sign-in");
	const char *uri, *qr;
	char	 b32[BASE32_LEN(TOTP_SECRET_LEN) + 1];

	mfa_uri_qr(r, p->email, key, &uri, &qr);
	base32_encode(b32, key, TOTP_SECRET_LEN);
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "otpauth", uri);
	vm_set(vm, "qr", qr);
	vm_set(vm, "secret", b32);
	vm_set(vm, "email", p->email);
	if (error != NULL)
		vm_set(vm, "error", error);
	OPENSSL_cleanse(b32, sizeof(b32));
	page_render(r, "pages/admin/2fa_setup", vm);
}

/* Where a staff member who has enrolled already belongs. */
static int
enrolled_elsewhere(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];

	if (!p->totp_enrolled)
		return 0;
	/* A refused POST re-displays this page: never show an enrolled seed. */
	if (r->redisplay)
		admin_message(r, 403, "Nothing was changed", r->form_error, "/admin", "Dashboard");
	else
		resp_redirect(r, 303, p->mfa_ok ? "/admin" : "/admin/login/2fa");
	return 1;
}

/*
 * GET /admin/2fa/setup — (F_PARTIAL).  Makes a pending seed (sealed,
 * totp_enabled_at NULL) unless one is pending already, and shows it as a
 * QR code, the otpauth:// URI and base32.  200 (no-store, as every
 * page); 303 to /admin or /admin/login/2fa when already enrolled.
 */
void
admin_2fa_setup(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	unsigned char key[TOTP_SECRET_LEN];

	if (enrolled_elsewhere(r))
		return;
	/* Load or make the seed under the write lock, so two tabs opened at
	 * once show the same seed instead of the second replacing the first. */
	db_begin(r->db);
	if (!mfa_secret_load(r, SESS_STAFF, p->user_id, key, NULL, NULL))
		mfa_secret_new(r, SESS_STAFF, p->user_id, key);
	db_commit(r->db);
	resp_header(r, "Cache-Control", "no-store");
	setup_page(r, key, r->form_error);
	OPENSSL_cleanse(key, sizeof(key));
}

static const struct field admin_2fa_setup_fields[] = {
	{ "code", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
};
const struct form admin_2fa_setup_form = { FORM(admin_2fa_setup_fields) };

/*
 * POST /admin/2fa/setup — code, csrf (F_PARTIAL).  A right code enables
 * TOTP (its step recorded), replaces the recovery codes with ten new
 * ones shown once on the 200 answer, and rotates the session into one
 * with mfa_ok = 1.  200 with the setup page again for a wrong code; 429
 * while throttled; 303 when already enrolled.
 */
void
admin_2fa_setup_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	const char *tkey = staff_2fa_key(r, p->user_id), *code;
	unsigned char key[TOTP_SECRET_LEN];
	char	 codes[RC_COUNT][RC_LEN];
	int64_t	 id = p->user_id, last = 0, step = 0, wait, job;
	int	 i;
	struct stmt *st;
	struct vm *vm;

	if (enrolled_elsewhere(r))
		return;
	resp_header(r, "Cache-Control", "no-store");
	if (!mfa_secret_load(r, SESS_STAFF, id, key, &last, NULL)) {
		resp_redirect(r, 303, "/admin/2fa/setup");
		return;
	}
	if ((wait = signin_attempt(r, tkey, NULL)) > 0) {
		r->status = 429;
		resp_header(r, "Retry-After", arena_printf(r->a, "%lld", (long long)wait));
		setup_page(r, key, "Too many wrong codes. Please wait a few minutes and try again.");
		OPENSSL_cleanse(key, sizeof(key));
		return;
	}
	code = code_clean(r, form_get(r, "code"));
	if (!totp_verify(key, sizeof(key), code, now_unix(), last, &step)) {
		db_begin(r->db);
		/* Counted already (signin_attempt). */
		req_audit(r, "2fa.failed", staff_target(r, id), "%s", "enrolment: wrong code");
		db_commit(r->db);
		setup_page(r, key, "That code is not right. Check the time on your phone and type the current code.");
		OPENSSL_cleanse(key, sizeof(key));
		return;
	}
	OPENSSL_cleanse(key, sizeof(key));
	db_begin(r->db);
	st = db_q(r->db, Q_STAFF_TOTP_ENABLE);
	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":step", step);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		/* Enrolled meanwhile from another tab, or the code was spent. */
		db_rollback(r->db);
		resp_redirect(r, 303, "/admin/2fa/setup");
		return;
	}
	mfa_codes_replace(r, SESS_STAFF, id, codes);
	signin_attempt_ok(r, tkey, NULL);
	/* A privilege change: a new token, now with the second factor done. */
	session_start(r, SESS_STAFF, id, 1);
	req_audit(r, "2fa.enrolled", staff_target(r, id), "TOTP and %d recovery codes", RC_COUNT);
	job = staff_device_seen(r, id);
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");

	vm = page_vm(r, "Your recovery codes");
	for (i = 0; i < RC_COUNT; i++)
		vm_set(vm_push(vm, "codes"), "code", codes[i]);
	OPENSSL_cleanse(codes, sizeof(codes));
	page_render(r, "pages/admin/2fa_codes", vm);
}

/* ---- the second factor at sign-in ---- */

static void
factor_form(struct request *r, const char *tmpl, const char *title, const char *error)
{
	struct vm *vm = page_vm(r, title);

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "next", next_staff(req_form(r, "next") ? req_form(r, "next") :
	    req_query(r, "next"), ""));
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, tmpl, vm);
}

/* GET /admin/login/2fa — ?next (F_PARTIAL).  200; 303 to the setup page
 * before enrolment, to /admin when this session passed already. */
void
admin_login_2fa(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];

	if (!p->totp_enrolled) {
		resp_redirect(r, 303, "/admin/2fa/setup");
		return;
	}
	if (p->mfa_ok && !r->redisplay) {
		resp_redirect(r, 303, "/admin");
		return;
	}
	factor_form(r, "pages/admin/login_2fa", "Two-factor sign-in", NULL);
}

static const struct field admin_login_2fa_fields[] = {
	{ "code", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "next", FK_TEXT, 0, 0, 200 },
};
const struct form admin_login_2fa_form = { FORM(admin_login_2fa_fields) };

/*
 * POST /admin/login/2fa — code (six digits or a recovery code), next,
 * csrf (F_PARTIAL).  303 to next (or /admin) with a rotated session of
 * mfa_ok = 1 (and the device cookie: a browser new to this account
 * mails a notice, notice.h); 200 with the form for a wrong, reused or stale code; 429
 * while throttled.  Every outcome is audited.
 */
void
admin_login_2fa_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	int64_t	 id = p->user_id, wait, job;
	const char *tkey = staff_2fa_key(r, id), *kip = throttle_key_ip(r), *how;

	if (!p->totp_enrolled) {
		resp_redirect(r, 303, "/admin/2fa/setup");
		return;
	}
	if (p->mfa_ok) {
		resp_redirect(r, 303, "/admin");
		return;
	}
	if ((wait = signin_attempt(r, tkey, kip)) > 0) {
		factor_form(r, "pages/admin/login_2fa", "Two-factor sign-in",
		    signin_refuse(r, wait, "Too many wrong codes"));
		return;
	}
	db_begin(r->db);
	if (!staff_second_factor(r, id, form_get(r, "code"), &how)) {
		/* Counted already (signin_attempt). */
		req_audit(r, "login.2fa_failed", staff_target(r, id), "staff, %s%s", how,
		    *how ? " refused" : "");
		db_commit(r->db);
		factor_form(r, "pages/admin/login_2fa", "Two-factor sign-in",
		    "That code is not right, or it was used already.");
		return;
	}
	signin_attempt_ok(r, tkey, kip);
	session_start(r, SESS_STAFF, id, 1);
	req_audit(r, "login", staff_target(r, id), "staff, %s", how);
	job = staff_device_seen(r, id);
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	resp_redirect(r, 303, next_staff(form_get(r, "next"), "/admin"));
}

/* ---- re-authentication ---- */

/* GET /admin/reauth — ?next.  200: password and code form. */
void
admin_reauth(struct request *r)
{
	factor_form(r, "pages/admin/reauth", "Confirm it is you", NULL);
}

static const struct field admin_reauth_fields[] = {
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
	{ "next", FK_TEXT, 0, 0, 200 },
};
const struct form admin_reauth_form = { FORM(admin_reauth_fields) };

/*
 * POST /admin/reauth — password, code, next, csrf.  303 to next (or
 * /admin) with reauth_at recorded on the session; 200 with the form when
 * either is wrong (throttled like a sign-in: account and address); 429
 * while throttled; 503 when no hash slot came free.
 */
void
admin_reauth_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	const char *kacct, *kip, *how = "", *phc = "";
	int64_t	 wait;
	struct stmt *st;
	int	 v, ok = 0;

	kacct = throttle_key_account(r, p->email);
	kip = throttle_key_ip(r);
	if ((wait = signin_attempt(r, kacct, kip)) > 0) {
		factor_form(r, "pages/admin/reauth", "Confirm it is you",
		    signin_refuse(r, wait, "Too many failed attempts"));
		return;
	}
	st = db_q(r->db, Q_STAFF_GET);
	db_bind_int(r->db, st, ":id", p->user_id);
	if (db_step(r->db, st) == DB_ROW)
		phc = db_text(r->db, st, 5);
	db_reset(st);
	v = signin_check(r, form_get(r, "password"), phc);
	db_begin(r->db);
	/* The code is checked (and spent) only after the password passed. */
	if (v)
		ok = staff_second_factor(r, p->user_id, form_get(r, "code"), &how);
	if (!ok) {
		/* Counted already (signin_attempt). */
		req_audit(r, "reauth.failed", staff_target(r, p->user_id), "%s",
		    v ? "wrong second factor" : "wrong password");
		db_commit(r->db);
		factor_form(r, "pages/admin/reauth", "Confirm it is you",
		    "The password or the code is wrong.");
		return;
	}
	signin_attempt_ok(r, kacct, kip);
	session_reauth(r, SESS_STAFF);
	req_audit(r, "reauth", staff_target(r, p->user_id), "password and %s", how);
	db_commit(r->db);
	resp_redirect(r, 303, next_staff(form_get(r, "next"), "/admin"));
}

/*
 * Re-authentication in the same form as a staff credential change or
 * the end of another session: "password" and "code" (a TOTP or a
 * recovery code), throttled like a sign-in (account and address keys).
 * Returns NULL when both are right (reauth_at recorded), otherwise a
 * message for the form with r->status 403 (429 while throttled); a
 * failure is audited and committed.  Call outside any transaction.
 * 503 when no hash slot comes free.
 */
const char *
staff_reauth_fields(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	const char *kacct, *kip, *how = "", *phc = "", *msg;
	int64_t	 wait;
	struct stmt *st;
	int	 v, ok = 0;

	kacct = throttle_key_account(r, p->email);
	kip = throttle_key_ip(r);
	if ((wait = signin_attempt(r, kacct, kip)) > 0) {
		msg = signin_refuse(r, wait, "Too many failed attempts");
		return msg;
	}
	st = db_q(r->db, Q_STAFF_GET);
	db_bind_int(r->db, st, ":id", p->user_id);
	if (db_step(r->db, st) == DB_ROW)
		phc = db_text(r->db, st, 5);
	db_reset(st);
	v = signin_check(r, req_form(r, "password"), phc);
	db_begin(r->db);
	if (v)
		ok = staff_second_factor(r, p->user_id, req_form(r, "code"), &how);
	if (!ok) {
		req_audit(r, "reauth.failed", staff_target(r, p->user_id), "%s",
		    v ? "wrong second factor" : "wrong password");
		db_commit(r->db);
		r->status = 403;
		return "The password or the code is wrong.";
	}
	signin_attempt_ok(r, kacct, kip);
	session_reauth(r, SESS_STAFF);
	db_commit(r->db);
	return NULL;
}
