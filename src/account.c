/*
 * account.c: what the customer's account pages share (account.h):
 * loading the signed-in customer's row, the pages' root view model and
 * notices, re-authentication before a credential change, and the
 * single-use checks of TOTP and recovery codes, and the list of a
 * customer's live sessions.  The pages themselves are page_account.c
 * and page_totp.c; both call this file and neither calls the other
 * (admin_customers.c calls it for the sessions list).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>


#include "account.h"
#include "db.h"
#include "http.h"
#include "mfa.h"
#include "password.h"
#include "response.h"
#include "session.h"
#include "signin.h"
#include "throttle.h"
#include "totp.h"
#include "ui.h"
#include "view.h"

/* How much of a stored User-Agent a sessions list shows. */

/* The notices a page may show after a redirect: ?ok=<key>. */
static const struct {
	const char	*key;
	const char	*msg;
} notices[] = {
	{ "profile", "Your name is saved." },
	{ "email", "We have sent a confirmation link to the new address. Your address "
	    "changes when you open it; until then you sign in with the current one." },
	{ "password", "Your password is changed, and every other session is signed out." },
	{ "password_tokens", "Your password is changed, every other session is signed out and "
	    "every API token of the account is revoked." },
	{ "others", "Every other session is signed out." },
	{ "revoked", "That session is signed out." },
	{ "totp_off", "Two-factor authentication is off." },
};

struct acct *
acct_load(struct request *r, int gate)
{
	const struct principal *p = r->principal[SESS_CUSTOMER];
	struct stmt *st;
	struct acct *a;

	if (p == NULL)
		req_fail(r, 401, "Please sign in first.");
	st = db_q(r->db, Q_ACCT_CUSTOMER);
	db_bind_int(r->db, st, ":id", p->user_id);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 500, "customer %lld of a live session is gone", (long long)p->user_id);
	a = arena_zalloc(r->a, sizeof(*a));
	a->id = p->user_id;
	a->email = db_text(r->db, st, 0);
	a->name = db_text(r->db, st, 1);
	a->verified = (int)db_int(st, 2);
	a->totp = (int)db_int(st, 3);
	a->phc = db_text(r->db, st, 4);
	a->balance_minor = db_int(st, 6);
	a->currency = db_text(r->db, st, 7);
	a->created_at = db_int(st, 8);
	db_reset(st);
	if (gate && r->app->conf.require_customer_totp && !a->totp) {
		resp_redirect(r, 303, "/account/2fa");
		return NULL;
	}
	return a;
}

struct vm *
acct_vm(struct request *r, const struct acct *a, const char *title, const char *nav)
{
	struct vm *vm = page_vm(r, title);
	const char *ok = req_query(r, "ok");
	size_t	 i;

	vm_set(vm, "csrf", csrf_token(r, SESS_CUSTOMER));
	vm_set(vm, "email", a->email);
	vm_set_bool(vm, "totp", a->totp);
	vm_set_bool(vm, arena_printf(r->a, "nav_%s", nav), 1);
	if (ok != NULL && !r->redisplay)
		for (i = 0; i < NELEM(notices); i++)
			if (strcmp(ok, notices[i].key) == 0)
				vm_set(vm, "notice", notices[i].msg);
	return vm;
}

/* The account's key in the login throttle. */
static const char *
acct_key(struct request *r, const struct acct *a)
{
	return throttle_key_account(r, a->email);
}

/* A failed re-authentication (counted already: signin_attempt),
 * audited with what failed; 403 with msg for the form. */
static const char *
reauth_refused(struct request *r, const struct acct *a, const char *what, const char *msg)
{
	db_begin(r->db);
	req_audit(r, "reauth.failed", arena_printf(r->a, "customer:%lld", (long long)a->id),
	    "%s", what);
	db_commit(r->db);
	r->status = 403;
	return msg;
}

const char *
acct_reauth(struct request *r, const struct acct *a, int allow_recovery)
{
	const char *pw = req_form(r, "password"), *code = req_form(r, "code");
	const char *key = acct_key(r, a);
	int64_t	 wait;
	int	 ok = 0, v;

	if ((wait = signin_attempt(r, key, NULL)) > 0)
		return signin_refuse(r, wait, "Too many failed attempts");
	if (pw != NULL && *pw != '\0' && strlen(pw) <= PASSWORD_INPUT_MAX) {
		if ((v = password_verify(&r->app->conf, pw, a->phc)) < 0)
			req_fail(r, 503, "The server is busy. Please try again in a moment.");
		ok = v == 1;
	}
	if (ok && a->totp) {
		ok = code != NULL && strlen(code) <= 64 &&
		    (acct_totp_accept(r, a->id, code, 0) ||
		    (allow_recovery && acct_recovery_accept(r, a->id, code)));
		if (!ok)
			return reauth_refused(r, a, "second factor",
			    "The authentication code is wrong or was already used.");
	}
	if (!ok)
		return reauth_refused(r, a, "password", "Your current password is wrong.");
	db_begin(r->db);
	signin_attempt_ok(r, key, NULL);
	session_reauth(r, SESS_CUSTOMER);
	db_commit(r->db);
	return NULL;
}

int
acct_totp_accept(struct request *r, int64_t cid, const char *code, int pending)
{
	char	 digits[TOTP_DIGITS + 1];
	size_t	 i, n = 0;

	if (code == NULL)
		return 0;
	/* People type "123 456"; anything but digits and spaces fails. */
	for (i = 0; code[i] != '\0'; i++) {
		if (code[i] == ' ')
			continue;
		if (n == TOTP_DIGITS)
			return 0;
		digits[n++] = code[i];
	}
	digits[n] = '\0';
	return mfa_totp_accept(r, SESS_CUSTOMER, cid, digits, pending);
}

int
acct_recovery_accept(struct request *r, int64_t cid, const char *code)
{
	return mfa_recovery_accept(r, SESS_CUSTOMER, cid, code);
}

