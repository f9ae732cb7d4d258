/*
 * page_passkey.c: the passkey pages, one implementation for both kinds
 * of people (parametrised by enum sess_kind, as page_tokens.c is); the
 * ceremonies themselves are passkey.c.
 *
 *   GET  /account/passkeys                 a customer's passkeys, the add form
 *   POST /account/passkeys/options         JSON for navigator.credentials.create
 *   POST /account/passkeys                 name, password (+ code), credential
 *   POST /account/passkeys/{id:int}/rename name
 *   POST /account/passkeys/{id:int}/delete
 *   .../admin/passkeys...                  the same for a staff member
 *   POST /login/passkey/options            JSON for a passwordless sign-in
 *   POST /login/passkey                    credential, next: signed in
 *   POST /login/2fa/passkey/options        JSON for the second factor
 *   POST /login/2fa/passkey                credential, next
 *   .../admin/login/...                    the same for staff
 *
 * The browser side is public/js/passkey.js: it asks the options route
 * for JSON, runs the ceremony and posts the result as the "credential"
 * field of an ordinary form, so every answer here is a page or a 303.
 *
 * Adding a passkey is a credential change: it asks for the current
 * password (and the TOTP or a recovery code where enrolled), checked
 * and throttled as at sign-in.  Renaming and deleting need the session
 * only, as revoking a token does; every change is audited.  Another
 * person's passkey id is a 404.  Sessions are started by session_start()
 * as after a password and a code: a passwordless sign-in needs user
 * verification (the authenticator's PIN or biometrics), so it is
 * two factors on its own and the session has mfa_ok.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "cart.h"
#include "admin.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mailq.h"
#include "mfa.h"
#include "next.h"
#include "notice.h"
#include "passkey.h"
#include "response.h"
#include "session.h"
#include "signin.h"
#include "spool.h"
#include "throttle.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

static const struct pk_kind {
	const char	*base;		/* the list's address */
	const char	*login;		/* the sign-in page */
	const char	*home;		/* where a sign-in goes by default */
	enum q		 q_phc;
	const char	*name;		/* audit target prefix */
} kinds[SESS__MAX] = {
	[SESS_CUSTOMER] = { "/account/passkeys", "/login", "/account", Q_TOKEN_OWNER_PHC_CUSTOMER, "customer" },
	[SESS_STAFF] = { "/admin/passkeys", "/admin/login", "/admin", Q_TOKEN_OWNER_PHC_STAFF, "staff" },
};

static const char *
when(struct request *r, struct stmt *st, int col, const char *none)
{
	char	 t[32];

	if (db_is_null(st, col))
		return none;
	time_human(t, db_int(st, col));
	return arena_strdup(r->a, t);
}

/* The list and the add form, with error above it (NULL for none). */
static void
passkeys_page(struct request *r, enum sess_kind k, const char *error)
{
	struct vm *vm = page_vm(r, "Passkeys"), *row;
	const char *done = req_query(r, "done");
	struct stmt *st;
	int	 n = 0;

	st = db_q(r->db, Q_PASSKEY_LIST);
	pk_bind_owner(r, st, k, r->principal[k]->user_id);
	while (db_step(r->db, st) == DB_ROW) {
		row = vm_push(vm, "passkeys");
		vm_set_int(row, "id", db_int(st, 0));
		vm_set(row, "name", db_text(r->db, st, 1));
		vm_set(row, "alg", db_int(st, 2) == PK_ALG_ES256 ? "ES256" : "EdDSA");
		vm_set(row, "created", when(r, st, 3, ""));
		vm_set(row, "last_used", when(r, st, 4, "never"));
		n++;
	}
	vm_set_bool(vm, "has_passkeys", n > 0);
	vm_set_bool(vm, "in_account", k == SESS_CUSTOMER);
	vm_set_bool(vm, "nav_passkeys", 1);
	vm_set_bool(vm, "need_code", r->principal[k]->totp_enrolled);
	vm_set(vm, "base", kinds[k].base);
	vm_set(vm, "csrf", csrf_token(r, k));
	if (r->redisplay && req_form(r, "name") != NULL)
		vm_set(vm, "f_name", req_form(r, "name"));
	if (error != NULL)
		vm_set(vm, "error", error);
	else if (done != NULL && strcmp(done, "added") == 0)
		vm_set(vm, "notice", "The passkey is added. You can sign in with it now.");
	else if (done != NULL && strcmp(done, "renamed") == 0)
		vm_set(vm, "notice", "The passkey is renamed.");
	else if (done != NULL && strcmp(done, "deleted") == 0)
		vm_set(vm, "notice", "The passkey is deleted. It can no longer sign in to this account.");
	page_render(r, "pages/passkeys", vm);
}

/* A failed re-authentication (counted already), audited. */
static void
fail_reauth(struct request *r, enum sess_kind k, const char *what)
{
	db_begin(r->db);
	req_audit(r, "passkey.reauth_failed", arena_printf(r->a, "%s:%lld", kinds[k].name,
	    (long long)r->principal[k]->user_id), "%s", what);
	db_commit(r->db);
}

/*
 * The current password (and TOTP or recovery code when enrolled) of
 * the signed-in person, throttled as at sign-in.  1 when right;
 * otherwise renders the page again (403 wrong, 429 throttled) and
 * returns 0.  503 when no hashing slot comes free.
 */
static int
reauth(struct request *r, enum sess_kind k)
{
	const struct principal *p = r->principal[k];
	const char *kacct = throttle_key_account(r, p->email), *kip = throttle_key_ip(r);
	const char *phc = NULL, *code = form_get(r, "code");
	struct stmt *st;
	int64_t	 wait;

	if ((wait = signin_attempt(r, kacct, kip)) > 0) {
		passkeys_page(r, k, signin_refuse(r, wait, "Too many wrong passwords"));
		return 0;
	}
	st = db_q(r->db, kinds[k].q_phc);
	db_bind_int(r->db, st, ":id", p->user_id);
	if (db_step(r->db, st) == DB_ROW)
		phc = db_text(r->db, st, 0);
	db_reset(st);
	if (!signin_check(r, form_get(r, "password"), phc)) {
		fail_reauth(r, k, "password");
		r->status = 403;
		passkeys_page(r, k, "Your current password was wrong, so no passkey was added.");
		return 0;
	}
	if (p->totp_enrolled && (code == NULL || strlen(code) > 64 ||
	    !(mfa_totp_accept(r, k, p->user_id, code, 0) ||
	    mfa_recovery_accept(r, k, p->user_id, code)))) {
		fail_reauth(r, k, "second factor");
		r->status = 403;
		passkeys_page(r, k, "The authentication code was wrong or already used, so no passkey was added.");
		return 0;
	}
	db_begin(r->db);
	signin_attempt_ok(r, kacct, kip);
	session_reauth(r, k);
	db_commit(r->db);
	return 1;
}

/*
 * Mail the signed-in person that a passkey named name was added or
 * deleted (change), inside the open transaction: a passkey is a way in
 * without the password, so its owner hears of each (ASVS V2.2.3).
 * Returns the job id for spool_wake().
 */
static int64_t
notice(struct request *r, enum sess_kind k, const char *name, const char *change)
{
	const struct principal *p = r->principal[k];
	struct json_object *v = json_object_new_object();
	char	 when[32];

	iso8601(when, now_unix());
	json_object_object_add(v, "name", json_object_new_string(p->name && *p->name ? p->name : p->email));
	json_object_object_add(v, "site_name", json_object_new_string(r->app->conf.site_name));
	json_object_object_add(v, "passkey", json_object_new_string(name));
	json_object_object_add(v, "change", json_object_new_string(change));
	json_object_object_add(v, "when", json_object_new_string(when));
	json_object_object_add(v, "ip", json_object_new_string(r->remote_addr ? r->remote_addr : "unknown"));
	return mailq_add(r, p->email, "emails/passkey_changed", v,
	    arena_printf(r->a, "passkey:%s:%lld:%s", kinds[k].name, (long long)p->user_id, r->id));
}

/* A name of 1 to PK_NAME_MAX characters that is not only blanks. */
static const char *
name_input(struct request *r)
{
	const char *name = form_get(r, "name");

	if (!form_valid(r, "name") || name[strspn(name, " \t")] == '\0')
		return NULL;
	return name;
}

static void
add(struct request *r, enum sess_kind k)
{
	const char *name = name_input(r), *why;
	int64_t	 job;

	if (name == NULL) {
		r->status = 400;
		passkeys_page(r, k, "Please give the passkey a name of 1 to 100 characters, such as the device it is on.");
		return;
	}
	if (!form_valid(r, "credential")) {
		r->status = 400;
		passkeys_page(r, k, "The passkey response is too large.");
		return;
	}
	if (!reauth(r, k))
		return;
	if ((why = pk_register(r, k, r->principal[k]->user_id, form_get(r, "credential"), name)) != NULL) {
		passkeys_page(r, k, why);
		return;
	}
	db_begin(r->db);
	job = notice(r, k, name, "added");
	db_commit(r->db);
	spool_wake(&r->app->conf, job, "email");
	resp_redirect(r, 303, arena_printf(r->a, "%s?done=added", kinds[k].base));
}

/* The passkey {id} of the signed-in person: its name, or 404. */
static const char *
own_passkey(struct request *r, enum sess_kind k, int64_t id)
{
	struct stmt *st = db_q(r->db, Q_PASSKEY_GET);
	const char *name;

	db_bind_int(r->db, st, ":id", id);
	pk_bind_owner(r, st, k, r->principal[k]->user_id);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such passkey.");
	name = db_text(r->db, st, 0);
	db_reset(st);
	return name;
}

static void
rename_one(struct request *r, enum sess_kind k)
{
	int64_t	 id = req_param_int(r, "id");
	const char *name = name_input(r), *old;
	struct stmt *st;

	db_begin(r->db);
	old = own_passkey(r, k, id);
	if (name == NULL) {
		db_rollback(r->db);
		r->status = 400;
		passkeys_page(r, k, "Please give the passkey a name of 1 to 100 characters.");
		return;
	}
	st = db_q(r->db, Q_PASSKEY_RENAME);
	db_bind_int(r->db, st, ":id", id);
	pk_bind_owner(r, st, k, r->principal[k]->user_id);
	db_bind_text(r->db, st, ":name", name);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "passkey rename failed");
	req_audit(r, "passkey.renamed", arena_printf(r->a, "passkey:%lld", (long long)id),
	    "owner=%s:%lld from=%s", kinds[k].name, (long long)r->principal[k]->user_id, old);
	db_commit(r->db);
	resp_redirect(r, 303, arena_printf(r->a, "%s?done=renamed", kinds[k].base));
}

static void
delete_one(struct request *r, enum sess_kind k)
{
	int64_t	 id = req_param_int(r, "id"), job;
	const char *name;
	struct stmt *st;

	db_begin(r->db);
	name = own_passkey(r, k, id);
	st = db_q(r->db, Q_PASSKEY_DELETE);
	db_bind_int(r->db, st, ":id", id);
	pk_bind_owner(r, st, k, r->principal[k]->user_id);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "passkey delete failed");
	req_audit(r, "passkey.deleted", arena_printf(r->a, "passkey:%lld", (long long)id),
	    "owner=%s:%lld name=%s", kinds[k].name, (long long)r->principal[k]->user_id, name);
	job = notice(r, k, name, "deleted");
	db_commit(r->db);
	spool_wake(&r->app->conf, job, "email");
	resp_redirect(r, 303, arena_printf(r->a, "%s?done=deleted", kinds[k].base));
}

/* Answer an options route with the JSON (no-store, as every page). */
static void
options(struct request *r, enum sess_kind k, enum pk_purpose purpose)
{
	const struct principal *p = r->principal[k];
	const char *json = pk_options(r, k, purpose, p != NULL ? p->user_id : 0);

	resp_json(r, 200);
	buf_reset(r->out);
	buf_puts(r->out, json);
	buf_putc(r->out, '\n');
}

/* ---- signing in ---- */

/*
 * A passkey was accepted for uid: the throttle's count taken back (the
 * account key kacct cleared, one count off the address kip; without
 * kacct only the one count), a
 * new session with the second factor done (session_start, as after a
 * password and a code), a customer's anonymous cart merged, the sign-in
 * audited, and 303 to next.
 */
static void
signed_in(struct request *r, enum sess_kind k, int64_t uid, const char *kacct, const char *kip)
{
	int64_t	 job = 0;

	db_begin(r->db);
	/* A passwordless sign-in counted on the address only: take back
	 * that one count, never the address's other failures. */
	if (kacct != NULL)
		signin_attempt_ok(r, kacct, kip);
	else
		throttle_undo(r, kip);
	session_start(r, k, uid, 1);
	if (k == SESS_CUSTOMER)
		cart_merge(r, uid);
	req_audit(r, "login", arena_printf(r->a, "%s:%lld", kinds[k].name, (long long)uid), "%s, passkey",
	    kinds[k].name);
	/* Staff from a browser the account has not used hear of it, as
	 * after a password and a code (notice.c, V2.5.5). */
	if (k == SESS_STAFF)
		job = staff_device_seen(r, uid);
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	resp_redirect(r, 303, k == SESS_CUSTOMER ? next_customer(form_get(r, "next"), kinds[k].home) :
	    next_staff(form_get(r, "next"), kinds[k].home));
}

/* The page a refused passkey sign-in goes back to, with why. */
static void
signin_refused(struct request *r, enum sess_kind k, const char *why)
{
	int	 status = r->status >= 400 ? r->status : 400;

	/* The sign-in page itself (its GET handler, as the dispatcher shows
	 * a refused form), with why above it: a 303 would lose it. */
	r->form_error = why;
	r->redisplay = 1;
	if (k == SESS_CUSTOMER)
		page_login(r);
	else
		admin_login(r);
	r->status = status;
}

/*
 * POST /login/passkey, /admin/login/passkey — credential, next.  A
 * passwordless sign-in: throttled on the client address like a wrong
 * password; on success a new session with the second factor done and
 * 303 to next.  400 (the sign-in page with why), 429.
 */
static void
signin(struct request *r, enum sess_kind k)
{
	const char *kip = throttle_key_ip(r), *why;
	int64_t	 wait, who = 0;

	if ((wait = signin_attempt(r, kip, NULL)) > 0) {
		signin_refused(r, k, signin_refuse(r, wait, "Too many failed sign-ins"));
		return;
	}
	if (!form_valid(r, "credential"))
		why = "The passkey response is too large.";
	else
		why = pk_assert(r, k, PK_SIGNIN, 0, form_get(r, "credential"), &who);
	if (why != NULL) {
		signin_refused(r, k, why);
		return;
	}
	signed_in(r, k, who, NULL, kip);
}

/*
 * POST /login/2fa/passkey, /admin/login/2fa/passkey — credential, next.
 * The second factor by one of the account's passkeys, throttled and
 * audited as a code is.  303 onwards; 400 (the code page with why),
 * 429; a session not waiting for a factor goes to its page.
 */
static void
second_factor(struct request *r, enum sess_kind k)
{
	const struct principal *p = r->principal[k];
	const char *kacct, *kip, *why;
	int64_t	 wait, who = 0;

	if (p->mfa_ok || now_unix() - p->created_at > SESSION_PENDING_MAX) {
		resp_redirect(r, 303, k == SESS_CUSTOMER ? "/login/2fa" : "/admin/login/2fa");
		return;
	}
	/* The keys a code would count on, so codes and passkeys share one
	 * budget. */
	kacct = k == SESS_CUSTOMER ? throttle_key_account(r, p->email) : staff_2fa_key(r, p->user_id);
	kip = throttle_key_ip(r);
	if ((wait = signin_attempt(r, kacct, kip)) > 0)
		why = signin_refuse(r, wait, "Too many failed attempts");
	else if (!form_valid(r, "credential"))
		why = "The passkey response is too large.";
	else
		why = pk_assert(r, k, PK_2FA, p->user_id, form_get(r, "credential"), &who);
	if (why != NULL) {
		int	 status = r->status >= 400 ? r->status : 400;

		r->form_error = why;
		r->redisplay = 1;
		if (k == SESS_CUSTOMER)
			page_login_2fa(r);
		else
			admin_login_2fa(r);
		if (r->status < 300)
			r->status = status;
		return;
	}
	signed_in(r, k, p->user_id, kacct, kip);
}

/* ---- the routes ---- */

static const struct field add_fields[] = {
	{ "name", FK_TEXT, FIELD_REQUIRED, 0, PK_NAME_MAX },
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
	{ "credential", FK_SECRET, FIELD_REQUIRED, 0, PK_JSON_MAX },
};
const struct form passkey_add_form = { FORM(add_fields) };

/* The name is checked by the handler, after the passkey is found to be
 * the caller's (another's is a 404, whatever the body). */
static const struct field rename_fields[] = {
	{ "name", FK_TEXT, 0, 0, PK_NAME_MAX },
};
const struct form passkey_rename_form = { FORM(rename_fields) };

static const struct field use_fields[] = {
	{ "credential", FK_SECRET, FIELD_REQUIRED, 0, PK_JSON_MAX },
	{ "next", FK_TEXT, 0, 0, 200 },
};
const struct form passkey_use_form = { FORM(use_fields) };

/* GET /account/passkeys — ?done=added|renamed|deleted.  200. */
void
page_passkeys(struct request *r)
{
	passkeys_page(r, SESS_CUSTOMER, NULL);
}

/* POST /account/passkeys/options — csrf.  200 JSON. */
void
page_passkeys_options_post(struct request *r)
{
	options(r, SESS_CUSTOMER, PK_REGISTER);
}

/* POST /account/passkeys — name, password, code, credential.  303, 400, 403, 409, 429. */
void
page_passkeys_post(struct request *r)
{
	add(r, SESS_CUSTOMER);
}

/* POST /account/passkeys/{id:int}/rename — name.  303, 400, 404. */
void
page_passkey_rename_post(struct request *r)
{
	rename_one(r, SESS_CUSTOMER);
}

/* POST /account/passkeys/{id:int}/delete.  303, 404. */
void
page_passkey_delete_post(struct request *r)
{
	delete_one(r, SESS_CUSTOMER);
}

/* GET /admin/passkeys: as /account/passkeys, for staff. */
void
admin_passkeys(struct request *r)
{
	passkeys_page(r, SESS_STAFF, NULL);
}

void
admin_passkeys_options_post(struct request *r)
{
	options(r, SESS_STAFF, PK_REGISTER);
}

void
admin_passkeys_post(struct request *r)
{
	add(r, SESS_STAFF);
}

void
admin_passkey_rename_post(struct request *r)
{
	rename_one(r, SESS_STAFF);
}

void
admin_passkey_delete_post(struct request *r)
{
	delete_one(r, SESS_STAFF);
}

/* POST /login/passkey/options, /admin/login/passkey/options — csrf
 * (pre-session).  200 JSON. */
void
page_login_passkey_options_post(struct request *r)
{
	options(r, SESS_CUSTOMER, PK_SIGNIN);
}

void
admin_login_passkey_options_post(struct request *r)
{
	options(r, SESS_STAFF, PK_SIGNIN);
}

void
page_login_passkey_post(struct request *r)
{
	signin(r, SESS_CUSTOMER);
}

void
admin_login_passkey_post(struct request *r)
{
	signin(r, SESS_STAFF);
}

/* POST /login/2fa/passkey/options, /admin/login/2fa/passkey/options —
 * csrf (the half-signed-in session).  200 JSON. */
void
page_login_2fa_passkey_options_post(struct request *r)
{
	options(r, SESS_CUSTOMER, PK_2FA);
}

void
admin_login_2fa_passkey_options_post(struct request *r)
{
	options(r, SESS_STAFF, PK_2FA);
}

void
page_login_2fa_passkey_post(struct request *r)
{
	second_factor(r, SESS_CUSTOMER);
}

void
admin_login_2fa_passkey_post(struct request *r)
{
	second_factor(r, SESS_STAFF);
}

