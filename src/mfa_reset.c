/*
 * mfa_reset.c: the way back for a customer who lost both the
 * authenticator and the recovery codes (ASVS V2.5.7, issue 16).
 *
 * Staff with security.manage (super admins as shipped: the permission
 * that already resets a staff member's second factor and lifts login
 * locks; customers.write, which support-facing managers hold, is not
 * enough, because removing a second factor is exactly what an account
 * takeover by social engineering needs) reset it from the customer's
 * page, after a fresh re-authentication and with a reason that goes
 * into the audit row (admin_customers.c); the operator can do the same
 * with `1000proxy user reset-2fa EMAIL` (audited as the CLI).  Either
 * way: the TOTP seed and its enrolment, the recovery codes and every
 * passkey are removed, every session of the customer ends, and the
 * customer is mailed a notice at the account's address, so a reset they
 * did not ask for is seen.  The next sign-in needs only the password
 * (or, with require_customer_totp, goes to enrolment).  What staff must
 * check before resetting (the identity proof) is in 1000proxy(8) and
 * the README.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "conf.h"
#include "db.h"
#include "mailq.h"
#include "mfa_reset.h"
#include "spool.h"
#include "sql.h"
#include "util.h"

int64_t
cust_2fa_reset(struct db *db, int64_t cid, const char *email, const char *name,
    const char *by, const char *site, const char *idem, int64_t *job)
{
	struct json_object *v;
	struct stmt *st;
	int64_t	 npk;
	char	 when[32];

	st = db_q(db, Q_ACCT_TOTP_DISABLE);
	db_bind_int(db, st, ":id", cid);
	db_step(db, st);
	st = db_q(db, Q_ACCT_RC_DELETE);
	db_bind_int(db, st, ":cid", cid);
	db_step(db, st);
	st = db_q(db, Q_PASSKEY_DELETE_ALL);
	db_bind_int(db, st, ":cid", cid);
	db_bind_null(db, st, ":sid");
	db_step(db, st);
	npk = db_changes(db);
	st = db_q(db, Q_SESSION_DELETE_CUSTOMER_ALL);
	db_bind_int(db, st, ":uid", cid);
	db_bind_int(db, st, ":keep", 0);
	db_step(db, st);
	time_human(when, now_unix());
	v = json_object_new_object();
	json_object_object_add(v, "site_name", json_object_new_string(site));
	json_object_object_add(v, "name", json_object_new_string(name));
	json_object_object_add(v, "by", json_object_new_string(by));
	json_object_object_add(v, "when", json_object_new_string(when));
	*job = mailq_add_db(db, email, "emails/customer_2fa_reset", v, idem);
	return npk;
}

int
cmd_user_reset_2fa(const struct conf *c, int argc, char **argv)
{
	static const struct actor cli = { "cli", 0, NULL, NULL };
	char	 err[512];
	struct db *db;
	struct stmt *st;
	struct arena *a;
	int64_t	 cid = 0, npk, job = 0;
	const char *email = NULL, *name = NULL;
	int	 rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: 1000proxy user reset-2fa EMAIL\n");
		return 2;
	}
	/* A database error ends the command (db.h): stderr, exit 1. */
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	db_set_arena(db, a = arena_new(1024));
	db_begin(db);
	st = db_q(db, Q_C2FA_BY_EMAIL);
	db_bind_text(db, st, ":email", argv[2]);
	if (db_step(db, st) == DB_ROW) {
		cid = db_int(st, 0);
		email = arena_strdup(a, db_text(db, st, 1));
		name = arena_strdup(a, db_text(db, st, 2));
	}
	db_reset(st);
	if (cid == 0) {
		fprintf(stderr, "1000proxy: no customer account with that email\n");
		goto out;
	}
	npk = cust_2fa_reset(db, cid, email, name, "The shop's operator", c->site_name,
	    arena_printf(a, "2fa-reset:customer:%" PRId64 ":%lld", cid, (long long)now_unix()), &job);
	audit(db, &cli, "2fa.reset", arena_printf(a, "customer:%" PRId64, cid),
	    "%s: TOTP, recovery codes and %" PRId64 " passkey%s removed; sessions ended; via command line",
	    email, npk, npk == 1 ? "" : "s");
	db_commit(db);
	if (job)
		spool_wake(c, job, "email");
	printf("two-factor sign-in of %s reset: TOTP, recovery codes and %" PRId64
	    " passkey(s) removed, every session ended, a notice mailed\n", email, npk);
	rc = 0;
out:
	db_rollback(db);
	db_close(db);
	arena_free(a);
	return rc;
}
