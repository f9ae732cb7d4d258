/*
 * signin.c: the password step of signing in for both kinds of people
 * (see signin.h).  What differs between customers and staff is data:
 * their statements, their audit wording, and two rules kept as they
 * were: a customer's attempt while throttled counts as a failure, and a
 * staff account that is not active is never verified against (a dummy
 * hash instead).
 */
#include "config.h"

#include <string.h>

#include "cart.h"
#include "db.h"
#include "http.h"
#include "password.h"
#include "pw_due.h"
#include "response.h"
#include "session.h"
#include "signin.h"
#include "throttle.h"
#include "util.h"

static const struct signin_kind {
	const char	*name;		/* audit target prefix and detail */
	enum q		 q_by_email;	/* :email: id, hash, totp, state */
	enum q		 q_set_password; /* :id, :hash */
	int		 count_throttled; /* a throttled try is a failure too */
	int		 verify_active_only; /* dummy hash unless state is active */
	int		 audit_state;	/* name a state other than active */
	int		 mfa_required;	/* the password alone never finishes */
	const char	*ok_detail[2];	/* audit detail, by TOTP enrolled */
} kinds[SESS__MAX] = {
	[SESS_CUSTOMER] = { "customer", Q_CUSTOMER_BY_EMAIL, Q_CUSTOMER_SET_PASSWORD,
	    1, 0, 0, 0, { "customer", "customer" } },
	[SESS_STAFF] = { "staff", Q_STAFF_BY_EMAIL, Q_STAFF_SET_PASSWORD,
	    0, 1, 1, 1, { "staff, TOTP enrolment next", "staff, second factor next" } },
};

int64_t
signin_wait(struct request *r, const char *key1, const char *key2)
{
	int64_t	 w1 = throttle_wait(r, key1), w2 = throttle_wait(r, key2);

	return w2 > w1 ? w2 : w1;
}

int64_t
signin_attempt(struct request *r, const char *kacct, const char *kip)
{
	int64_t	 wait;

	/* As in signin_password: the check and the count are one write
	 * transaction, so parallel wrong guesses cannot all pass the check
	 * before any of them is counted. */
	db_begin(r->db);
	wait = kip != NULL ? signin_wait(r, kacct, kip) : throttle_wait(r, kacct);
	if (wait == 0) {
		throttle_fail(r, kacct);
		if (kip != NULL)
			throttle_fail(r, kip);
	}
	db_commit(r->db);
	return wait;
}

void
signin_attempt_ok(struct request *r, const char *kacct, const char *kip)
{
	throttle_clear(r, kacct);
	if (kip != NULL)
		throttle_undo(r, kip);
}

const char *
signin_refuse(struct request *r, int64_t wait, const char *what)
{
	r->status = 429;
	resp_header(r, "Retry-After", arena_printf(r->a, "%lld", (long long)wait));
	return arena_printf(r->a, "%s. Please wait %lld second%s and try again.", what,
	    (long long)wait, wait == 1 ? "" : "s");
}

int
signin_check(struct request *r, const char *pw, const char *phc)
{
	int	 v = 0;

	if (pw != NULL && strlen(pw) <= PASSWORD_INPUT_MAX && phc != NULL && *phc != '\0') {
		if ((v = password_verify(&r->app->conf, pw, phc)) < 0)
			req_fail(r, 503, "The server is busy. Please try again in a moment.");
	} else if (password_dummy_verify(&r->app->conf, pw ? pw : "") < 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	return v == 1;
}

enum signin_status
signin_password(struct request *r, enum sess_kind k, const char *email, const char *pw,
    struct signin *out)
{
	const struct signin_kind *sk = &kinds[k];
	const char *kacct, *kip, *phc = NULL, *state = "", *target;
	struct stmt *st;
	int64_t	 w;
	int	 ok = 0, active, mfa_ok, v;
	char	 fresh[PHC_MAX];

	memset(out, 0, sizeof(*out));
	if (email == NULL || pw == NULL || strlen(email) > 254 || strlen(pw) > PASSWORD_INPUT_MAX)
		return SIGNIN_WRONG;
	kacct = throttle_key_account(r, email);
	kip = throttle_key_ip(r);
	/*
	 * The check and the count are one write transaction, before any
	 * hashing: the attempt is counted as a failure up front and taken
	 * back on success.  Checked outside a transaction and counted after
	 * the hash, parallel guesses all passed the check before any of
	 * them was counted, and a lock at 10 let dozens through.
	 */
	db_begin(r->db);
	if ((out->wait = signin_wait(r, kacct, kip)) > 0) {
		if (sk->count_throttled) {
			/* No hash is spent on it, but it counts, so hammering
			 * leads to the lock, not past it. */
			throttle_fail(r, kacct);
			req_audit(r, "login.failed", kacct, "%s; throttled", sk->name);
			if ((w = throttle_wait(r, kacct)) > out->wait)
				out->wait = w;
		}
		db_commit(r->db);
		return SIGNIN_THROTTLED;
	}
	throttle_fail(r, kacct);
	throttle_fail(r, kip);
	db_commit(r->db);

	st = db_q(r->db, sk->q_by_email);
	db_bind_text(r->db, st, ":email", email);
	if (db_step(r->db, st) == DB_ROW) {
		out->user_id = db_int(st, 0);
		phc = db_text(r->db, st, 1);
		out->totp = !db_is_null(st, 2) && db_int(st, 2) != 0;
		state = db_text(r->db, st, 3);
	}
	db_reset(st);
	active = strcmp(state, "active") == 0;
	/* An unknown email (or, for staff, an invited or disabled account)
	 * costs a dummy hash: the same time, and the same 503 when no slot
	 * comes free, either way. */
	if (phc != NULL && (!sk->verify_active_only || (*phc != '\0' && active)))
		v = password_verify(&r->app->conf, pw, phc);
	else
		v = password_dummy_verify(&r->app->conf, pw);
	if (v < 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	ok = v == 1 && active;

	target = out->user_id ? arena_printf(r->a, "%s:%lld", sk->name,
	    (long long)out->user_id) : kacct;
	if (!ok) {
		/* Counted already; the audit row says what happened. */
		db_begin(r->db);
		req_audit(r, "login.failed", target, "%s%s%s", sk->name,
		    sk->audit_state && *state && !active ? ", account " : "",
		    sk->audit_state && *state && !active ? state : "");
		db_commit(r->db);
		return SIGNIN_WRONG;
	}
	/* Rehash outside the transaction if the parameters rose. */
	if (password_needs_rehash(&r->app->conf, phc) &&
	    password_hash(&r->app->conf, pw, fresh) == 0)
		phc = fresh;
	else
		phc = NULL;
	mfa_ok = !sk->mfa_required && !out->totp;
	db_begin(r->db);
	throttle_clear(r, kacct);
	throttle_undo(r, kip);
	if (phc != NULL) {
		st = db_q(r->db, sk->q_set_password);
		db_bind_int(r->db, st, ":id", out->user_id);
		db_bind_text(r->db, st, ":hash", phc);
		if (db_step(r->db, st) != DB_DONE)
			req_fail(r, 500, "password rehash update failed");
	}
	/* After the rehash (whose new hash would clear the flag, sql/030). */
	pw_due_mark(r, k, out->user_id, pw, target);
	session_start(r, k, out->user_id, mfa_ok);
	/* Signed in for good: the visitor's anonymous cart becomes the
	 * customer's (with a second factor due, page_totp.c does it). */
	if (k == SESS_CUSTOMER && mfa_ok)
		cart_merge(r, out->user_id);
	req_audit(r, mfa_ok ? "login" : "login.password_ok", target, "%s", sk->ok_detail[out->totp]);
	db_commit(r->db);
	return SIGNIN_OK;
}
