/*
 * referral.c: attribution, accrual, release and reversal of referral
 * commissions (referral.h).
 *
 * The cookie: "CODE.EXPIRES.SIG", where SIG is presession_sign() of
 * "ref:CODE:EXPIRES" (session.c's one HMAC of the anonymous side, under
 * the pre-session subkey; no second scheme).  The expiry is signed, so a
 * client that keeps the cookie past its Max-Age gains nothing.  The
 * cookie does not change what any page shows, so it is not one of the
 * page cache's bypass cookies (cache.c, rule 1): a visitor who came by
 * a link is served the same cached catalog as anyone.
 *
 * Money: a commission is pending (no ledger row) until cron releases
 * it; only then does wallet_post credit the referrer, and only a refund
 * after that moves money back.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "audit.h"
#include "conf.h"
#include "db.h"
#include "setting.h"
#include "http.h"
#include "mailq.h"
#include "money.h"
#include "referral.h"
#include "response.h"
#include "session.h"
#include "spool.h"
#include "util.h"
#include "valid.h"
#include "wallet.h"

#define CODE_MAX	64

const char *
referral_cookie_name(const struct request *r)
{
	return r->https ? "__Host-px_ref" : "px_ref";
}

/* A referral code as links carry it: 1..64 of [A-Za-z0-9_-]. */
static int
code_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > CODE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static void
cookie_sig(const struct request *r, const char *code, int64_t exp, char out[65])
{
	char	 msg[CODE_MAX + 32];

	snprintf(msg, sizeof(msg), "ref:%s:%" PRId64, code, exp);
	presession_sign(r, msg, out);
}

const char *
referral_cookie_code(struct request *r)
{
	const char *v = req_cookie(r, referral_cookie_name(r)), *d1, *d2;
	char	 code[CODE_MAX + 1], sig[65];
	int64_t	 exp;
	size_t	 n;

	if (v == NULL || (d1 = strchr(v, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL)
		return NULL;
	n = (size_t)(d1 - v);
	if (!code_ok(v, n) || d2 - d1 - 1 < 1 || d2 - d1 - 1 > 12 || strlen(d2 + 1) != 64)
		return NULL;
	memcpy(code, v, n);
	code[n] = '\0';
	{
		char	 num[13];

		memcpy(num, d1 + 1, (size_t)(d2 - d1 - 1));
		num[d2 - d1 - 1] = '\0';
		if (!valid_int(num, 1, INT64_C(999999999999), &exp))
			return NULL;
	}
	cookie_sig(r, code, exp, sig);
	if (CRYPTO_memcmp(sig, d2 + 1, 64) != 0 || exp <= now_unix())
		return NULL;
	return arena_strdup(r->a, code);
}

void
referral_visit(struct request *r)
{
	const char *code = req_param(r, "code");
	struct stmt *st;
	char	 sig[65];
	int64_t	 exp;
	int	 known = 0;

	if (code != NULL && code_ok(code, strlen(code)) && referral_cookie_code(r) == NULL) {
		st = db_q(r->db, Q_REFERRAL_CODE_OWNER);
		db_bind_text(r->db, st, ":code", code);
		known = db_step(r->db, st) == DB_ROW;
		db_reset(st);
	}
	if (known) {
		exp = now_unix() + REFERRAL_COOKIE_AGE;
		cookie_sig(r, code, exp, sig);
		set_cookie(r, referral_cookie_name(r),
		    arena_printf(r->a, "%s.%" PRId64 ".%s", code, exp, sig), REFERRAL_COOKIE_AGE);
	}
	resp_redirect(r, 302, "/");
}

int64_t
referral_attribute(struct request *r, int64_t cid, const char *email)
{
	const char *code = referral_cookie_code(r), *remail;
	struct stmt *st;
	int64_t	 referrer = 0;

	if (code == NULL)
		return 0;
	st = db_q(r->db, Q_REFERRAL_CODE_OWNER);
	db_bind_text(r->db, st, ":code", code);
	if (db_step(r->db, st) == DB_ROW) {
		referrer = db_int(st, 0);
		remail = db_text(r->db, st, 1);
		/* No self-referral: the same account, or the same address
		 * (emails compare without case, as the column does). */
		if (referrer == cid || strcasecmp(remail, email) == 0)
			referrer = 0;
	}
	db_reset(st);
	if (referrer == 0)
		return 0;
	st = db_q(r->db, Q_REFERRAL_INSERT);
	db_bind_int(r->db, st, ":referrer", referrer);
	db_bind_int(r->db, st, ":referred", cid);
	db_step(r->db, st);
	return db_changes(r->db) == 1 ? referrer : 0;
}

int64_t
referral_accrue(struct db *db, int64_t customer, int64_t order, int64_t total,
    const char *currency)
{
	struct stmt *st;
	int64_t	 bp, referral, amount, hold;

	bp = setting_int(db, "referral.percent_bp", 0, 0, 10000);
	if (bp == 0 || total <= 0)
		return 0;
	st = db_q(db, Q_REFERRAL_OF_REFERRED);
	db_bind_int(db, st, ":cid", customer);
	referral = db_one_int(db, st, 0);
	if (referral == 0)
		return 0;
	/* Rounded down; unsigned because MONEY_MAX * 10000 passes INT64_MAX
	 * (money.h).  A commission that rounds to nothing is not written. */
	if (total > MONEY_MAX)
		db_fail(db, "referral accrual: total beyond MONEY_MAX");
	amount = (int64_t)((uint64_t)total * (uint64_t)bp / 10000u);
	if (amount == 0)
		return 0;
	hold = setting_int(db, "referral.hold_days", REFERRAL_HOLD_DEFAULT, 0, 365);
	st = db_q(db, Q_REFERRAL_COMMISSION_INSERT);
	db_bind_int(db, st, ":referral", referral);
	db_bind_int(db, st, ":order", order);
	db_bind_int(db, st, ":amount", amount);
	db_bind_text(db, st, ":currency", currency);
	db_bind_int(db, st, ":available_at", now_unix() + hold * 86400);
	db_step(db, st);
	return amount;
}

const char *
referral_reverse(struct db *db, int64_t order, const struct actor *who)
{
	struct arena *a = db_arena(db);
	struct wallet_entry e;
	struct stmt *st;
	const char *state, *cur, *text, *amount_s;
	int64_t	 id, amount, referrer, bal, take, tx = 0;
	enum wallet_rc rc;

	st = db_q(db, Q_REFERRAL_COMMISSION_OF_ORDER);
	db_bind_int(db, st, ":order", order);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		return NULL;
	}
	id = db_int(st, 0);
	state = db_text(db, st, 1);
	amount = db_int(st, 2);
	cur = db_text(db, st, 3);
	referrer = db_int(st, 4);
	db_reset(st);
	if (strcmp(state, "reversed") == 0)
		return NULL;
	amount_s = money_str(a, amount, cur);
	st = db_q(db, Q_REFERRAL_REVERSE);
	db_bind_int(db, st, ":id", id);
	db_bind_int(db, st, ":now", now_unix());
	db_bind_text(db, st, ":from", state);
	db_step(db, st);
	if (db_changes(db) != 1)
		db_fail(db, "referral commission %" PRId64 " moved under the write lock", id);
	if (strcmp(state, "pending") == 0) {
		text = arena_printf(a, "referral commission of %s reversed before release (no money had moved)",
		    amount_s);
		audit(db, who, "referral.reversed", arena_printf(a, "customer:%" PRId64, referrer), "%s", text);
		return text;
	}

	/* Released: take it back from the referrer, never below zero.  The
	 * part the balance cannot cover is written down, not invented. */
	memset(&e, 0, sizeof(e));
	e.wallet = wallet_of_customer(db, referrer, cur);
	bal = wallet_balance(db, e.wallet);
	take = bal < amount ? (bal > 0 ? bal : 0) : amount;
	if (take > 0) {
		e.amount = -take;
		e.kind = "reversal";
		e.memo = take == amount ?
		    arena_printf(a, "Referral commission reversed (order refunded)") :
		    arena_printf(a, "Referral commission of %s reversed (order refunded): %s taken back, "
		    "%s not recoverable from the balance", amount_s, money_str(a, take, cur),
		    money_str(a, amount - take, cur));
		e.idem_key = arena_printf(a, "commission-reversal:%" PRId64, id);
		rc = wallet_post(db, &e, NULL, &tx);
		if (rc != WALLET_OK && rc != WALLET_REPLAY)
			db_fail(db, "referral reversal: %s", wallet_rc_text[rc]);
	}
	if (take == amount)
		text = arena_printf(a, "released referral commission of %s taken back from the referrer "
		    "(ledger row %" PRId64 ")", amount_s, tx);
	else
		text = arena_printf(a, "released referral commission of %s: %s taken back (ledger row %"
		    PRId64 "), %s not recoverable (the referrer's balance was %s)", amount_s,
		    money_str(a, take, cur), tx, money_str(a, amount - take, cur), money_str(a, bal, cur));
	audit(db, who, "referral.reversed", arena_printf(a, "customer:%" PRId64, referrer), "%s", text);
	return text;
}

/* One due commission released, in its own transaction: 1, or 0 when
 * none is due.  *job: the mail job to wake after COMMIT (0: none). */
static int
release_one(const struct conf *c, struct db *db, int64_t *job)
{
	static const struct actor sys = { "system", 0, NULL, NULL };
	struct arena *a = db_arena(db);
	struct json_object *v;
	struct wallet_entry e;
	struct stmt *st;
	const char *cur, *email, *name, *amount_s;
	int64_t	 id, amount, referrer, bal, tx, now = now_unix();
	enum wallet_rc rc;

	*job = 0;
	db_begin(db);
	st = db_q(db, Q_REFERRAL_DUE);
	db_bind_int(db, st, ":now", now);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		db_rollback(db);
		return 0;
	}
	id = db_int(st, 0);
	amount = db_int(st, 1);
	cur = db_text(db, st, 2);
	referrer = db_int(st, 3);
	email = db_text(db, st, 4);
	name = db_text(db, st, 5);
	db_reset(st);

	memset(&e, 0, sizeof(e));
	e.wallet = wallet_of_customer(db, referrer, cur);
	e.amount = amount;
	e.kind = "commission";
	/* No order on the row: the order is the referred customer's, and
	 * the referrer's ledger must not show its id. */
	e.memo = "Referral commission";
	e.idem_key = arena_printf(a, "commission:%" PRId64, id);
	rc = wallet_post(db, &e, &bal, &tx);
	if (rc != WALLET_OK && rc != WALLET_REPLAY)
		db_fail(db, "referral commission %" PRId64 ": %s", id, wallet_rc_text[rc]);
	st = db_q(db, Q_REFERRAL_RELEASE);
	db_bind_int(db, st, ":id", id);
	db_bind_int(db, st, ":tx", tx);
	db_bind_int(db, st, ":now", now);
	db_step(db, st);
	if (db_changes(db) != 1)
		db_fail(db, "referral commission %" PRId64 " moved under the write lock", id);
	amount_s = money_str(a, amount, cur);
	audit(db, &sys, "referral.released", arena_printf(a, "customer:%" PRId64, referrer),
	    "commission %" PRId64 " of %s credited (ledger row %" PRId64 "); balance %s", id, amount_s,
	    tx, money_str(a, bal, cur));
	v = json_object_new_object();
	json_object_object_add(v, "name", json_object_new_string(*name ? name : email));
	json_object_object_add(v, "amount", json_object_new_string(amount_s));
	json_object_object_add(v, "balance", json_object_new_string(money_str(a, bal, cur)));
	json_object_object_add(v, "site_name", json_object_new_string(c->site_name));
	json_object_object_add(v, "referrals_url", json_object_new_string(
	    arena_printf(a, "%s/account/referrals", c->base_url)));
	*job = mailq_add_db(db, email, "emails/commission_available", v,
	    arena_printf(a, "commission-mail:%" PRId64, id));
	db_commit(db);
	return 1;
}

int
cron_referrals(const struct conf *c, int argc, char **argv)
{
	struct db *db;
	struct arena *a;
	char	 err[1024];
	int64_t	 job;
	int	 n = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: 1000proxy cron referrals\n");
		return 2;
	}
	/* A database error ends the task (db.h): stderr, exit 1; what was
	 * committed before it stays, and the next run goes on from there. */
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: cron referrals: %s\n", err);
		return 1;
	}
	a = arena_new(4096);
	db_set_arena(db, a);
	while (release_one(c, db, &job)) {
		n++;
		if (job)
			spool_wake(c, job, "email");
		db_reset_all(db);
		arena_reset(a);
	}
	db_close(db);
	arena_free(a);
	printf("referrals: %d commission%s released\n", n, n == 1 ? "" : "s");
	return 0;
}
