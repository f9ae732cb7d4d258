/*
 * admin_customers.c: staff looking after customers.
 *
 *   GET  /admin/customers                      (customers.read) search by email
 *                                              or name, 50 a page
 *   GET  /admin/customers/{id:int}             (customers.read) profile, 2FA
 *                                              state, live sessions, wallet
 *                                              and ledger, orders, referrals
 *   POST /admin/customers/{id:int}/wallet      (wallet.adjust) credit or debit
 *   POST /admin/customers/{id:int}/disable     (customers.write) ends their sessions
 *   POST /admin/customers/{id:int}/enable      (customers.write)
 *   POST /admin/customers/{id:int}/sessions/end (customers.write) sign one
 *                                              session of theirs out
 *   POST /admin/customers/{id:int}/sessions/end-all (customers.write) all
 *
 * A credit or debit moves money, so it asks for a recent
 * re-authentication (password and code, /admin/reauth) first, and a
 * reason that goes into the ledger's memo and the audit row.  The
 * ledger row, the cached balance, the audit row with the balance before
 * and after, and the customer's mail job are one
 * BEGIN IMMEDIATE transaction through wallet_post(); its idempotency key
 * is the staff member and the one-time "op" token of the form, so a
 * double click or a resubmitted form moves the money once.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "account.h"
#include "mfa_reset.h"
#include "admin.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mailq.h"
#include "money.h"
#include "page_wallet.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "spool.h"
#include "util.h"
#include "ui.h"
#include "valid.h"
#include "view.h"
#include "wallet.h"

#define CUST_PAGE	50
#define CUST_MAX_PAGE	100000
#define REASON_MAX	500

struct cust {
	int64_t		 id;
	const char	*email;
	const char	*name;
	const char	*state;
	const char	*currency;
};

static const struct {
	const char	*code;
	const char	*text;
} notices[] = {
	{ "credited", "The wallet is credited and the customer is told by mail." },
	{ "debited", "The wallet is debited and the customer is told by mail." },
	{ "disabled", "The account is disabled and its sessions are ended." },
	{ "enabled", "The account is enabled again." },
	{ "session_ended", "That session is signed out." },
	{ "sessions_ended", "Every session of the account is signed out." },
	{ "2fa_reset", "The customer's two-factor sign-in is reset: authenticator, recovery codes and passkeys "
	    "removed, every session ended, the customer told by mail." },
};

static const char *
cust_target(struct request *r, int64_t id)
{
	return arena_printf(r->a, "customer:%lld", (long long)id);
}

/* The customer {id} (not deleted): 1, or 0 when there is none. */
static int
cust_get(struct request *r, int64_t id, struct cust *c, struct vm *vm)
{
	struct stmt *st = db_q(r->db, Q_ADMIN_CUSTOMER_GET);
	char	 when[32];
	int	 ok = 0;

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) == DB_ROW) {
		c->id = db_int(st, 0);
		c->email = db_text(r->db, st, 1);
		c->name = db_text(r->db, st, 2);
		c->state = db_text(r->db, st, 3);
		c->currency = db_text(r->db, st, 10);
		if (vm != NULL) {
			vm_set_int(vm, "cid", c->id);
			vm_set(vm, "email", c->email);
			vm_set(vm, "name", c->name);
			vm_set(vm, "state", c->state);
			vm_set_bool(vm, "disabled", strcmp(c->state, "disabled") == 0);
			iso8601(when, db_int(st, 4));
			vm_set(vm, "since", arena_strndup(r->a, when, 10));
			vm_set_bool(vm, "verified", db_int(st, 5));
			vm_set_bool(vm, "totp", db_int(st, 6));
			vm_set(vm, "billing_name", db_text(r->db, st, 7));
			vm_set(vm, "billing_address", db_text(r->db, st, 8));
			vm_set(vm, "tax_id", db_text(r->db, st, 9));
		}
		ok = 1;
	}
	db_reset(st);
	return ok;
}

/* The wallet's currency, or the customer's when there is no wallet yet. */
static const char *
wallet_currency(struct request *r, const struct cust *c)
{
	struct stmt *st = db_q(r->db, Q_WALLET_PAGE_HEAD);
	const char *cur = c->currency;

	db_bind_int(r->db, st, ":cid", c->id);
	if (db_step(r->db, st) == DB_ROW)
		cur = db_text(r->db, st, 2);
	db_reset(st);
	return cur;
}

/* ---- the list ---- */

/*
 * GET /admin/customers — ?q (a part of the email or name, at most 254
 * characters of one line; anything else searches for nothing), ?page.
 * 200.
 */
void
admin_customers(struct request *r)
{
	struct vm *vm = page_vm(r, "Customers"), *it;
	struct stmt *st;
	const char *q = req_query(r, "q"), *ps = req_query(r, "page");
	int64_t	 page = 1, n = 0;
	char	 when[32];

	if (ps == NULL || !valid_int(ps, 1, CUST_MAX_PAGE, &page))
		page = 1;
	if (q != NULL && (*q == '\0' || !valid_line(q, 254)))
		q = NULL;
	vm_set(vm, "f_q", q != NULL ? q : "");
	st = db_q(r->db, Q_ADMIN_CUSTOMERS);
	if (q != NULL)
		db_bind_text(r->db, st, ":q", db_like_contains(r->a, q));
	else
		db_bind_null(r->db, st, ":q");
	/* One more than a page: whether there is a next one. */
	db_bind_int(r->db, st, ":limit", CUST_PAGE + 1);
	db_bind_int(r->db, st, ":offset", (page - 1) * CUST_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		if (++n > CUST_PAGE)
			break;
		it = vm_push(vm, "customers");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "email", db_text(r->db, st, 1));
		vm_set(it, "name", db_text(r->db, st, 2));
		vm_set(it, "state", db_text(r->db, st, 3));
		iso8601(when, db_int(st, 4));
		vm_set(it, "since", arena_strndup(r->a, when, 10));
		vm_set(it, "balance", money_str(r->a, db_int(st, 5), db_text(r->db, st, 6)));
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	vm_set_bool(vm, "shown", n > 0);
	ui_pager(vm, page, n > CUST_PAGE);
	page_render(r, "pages/admin/customers", vm);
}

/* ---- one customer ---- */

/* The customer's referrals for staff: who referred them, whom they
 * referred (with emails: staff may see them), and their commissions by
 * state (referral.c). */
static void
referrals_vm(struct request *r, struct vm *vm, int64_t cid)
{
	struct stmt *st;
	struct vm *it;
	const char *cur = NULL;
	char	 when[32];
	int64_t	 n = 0;

	st = db_q(r->db, Q_REFERRAL_REFERRER_OF);
	db_bind_int(r->db, st, ":cid", cid);
	if (db_step(r->db, st) == DB_ROW) {
		vm_set_int(vm, "referrer_id", db_int(st, 0));
		vm_set(vm, "referrer_email", db_text(r->db, st, 1));
	}
	db_reset(st);
	st = db_q(r->db, Q_REFERRAL_CODE_OF);
	db_bind_int(r->db, st, ":id", cid);
	vm_set(vm, "referral_code", db_step(r->db, st) == DB_ROW ? db_text(r->db, st, 0) : "");
	db_reset(st);
	st = db_q(r->db, Q_REFERRAL_REFERRED_LIST);
	db_bind_int(r->db, st, ":cid", cid);
	db_bind_int(r->db, st, ":limit", 100);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "referred");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "email", db_text(r->db, st, 2));
		iso8601(when, db_int(st, 3));
		vm_set(it, "joined", arena_strndup(r->a, when, 10));
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_referred", n > 0);
	st = db_q(r->db, Q_WALLET_PAGE_HEAD);
	db_bind_int(r->db, st, ":cid", cid);
	if (db_step(r->db, st) == DB_ROW)
		cur = db_text(r->db, st, 2);
	db_reset(st);
	st = db_q(r->db, Q_REFERRAL_TOTALS);
	db_bind_int(r->db, st, ":cid", cid);
	if (db_step(r->db, st) == DB_ROW && db_int(st, 3) > 0) {
		vm_set_bool(vm, "has_commissions", 1);
		vm_set(vm, "ref_earned", money_str(r->a, db_int(st, 0), cur ? cur : "USD"));
		vm_set(vm, "ref_pending", money_str(r->a, db_int(st, 1), cur ? cur : "USD"));
		vm_set(vm, "ref_reversed", money_str(r->a, db_int(st, 2), cur ? cur : "USD"));
	}
	db_reset(st);
}

/* The customer's live sessions (account.c's list, as the customer sees
 * it on /account/sessions): sessions[], has_sessions. */
static void
cust_sessions_vm(struct request *r, struct vm *vm, int64_t cid)
{
	vm_set_bool(vm, "has_sessions", ui_sessions(r, vm, SESS_CUSTOMER, cid, 0) > 0);
}

/*
 * The customer's page with an optional error (status set by the
 * caller after); what the adjustment form held is shown again.  A new
 * one-time op token each time the form is shown.
 */
static void
cust_page(struct request *r, int status, const char *error)
{
	struct vm *vm;
	struct cust c;
	struct stmt *st;
	struct vm *it;
	const char *done = req_query(r, "done"), *dir = NULL;
	int64_t	 id = req_param_int(r, "id"), norders = 0;
	unsigned char raw[16];
	char	 op[33], when[32];
	size_t	 i;

	vm = page_vm(r, "Customer");
	if (!cust_get(r, id, &c, vm))
		req_fail(r, 404, "There is no such customer.");
	vm_set(vm, "title", *c.name ? c.name : c.email);
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_bool(vm, "can_adjust", has_perm(r, "wallet.adjust"));
	vm_set_bool(vm, "can_write", has_perm(r, "customers.write"));
	vm_set_bool(vm, "can_orders", has_perm(r, "orders.read"));
	vm_set_bool(vm, "can_reset_2fa", has_perm(r, "security.manage"));
	vm_set_bool(vm, "fresh", session_recent_auth(r, SESS_STAFF, ADMIN_REAUTH_MAX));
	random_bytes(raw, sizeof(raw));
	hex_encode(op, raw, sizeof(raw));
	vm_set(vm, "op", op);
	if (r->method == M_POST && r->fields != NULL) {
		dir = form_get(r, "direction");
		vm_set(vm, "f_amount", form_get(r, "amount"));
		vm_set(vm, "f_reason", form_get(r, "reason"));
	} else {
		vm_set(vm, "f_amount", "");
		vm_set(vm, "f_reason", "");
	}
	vm_set_bool(vm, "f_debit", dir != NULL && strcmp(dir, "debit") == 0);
	vm_set_bool(vm, "f_credit", dir == NULL || strcmp(dir, "debit") != 0);
	if (error != NULL)
		vm_set(vm, "error", error);
	for (i = 0; done != NULL && i < NELEM(notices); i++)
		if (strcmp(done, notices[i].code) == 0)
			vm_set(vm, "notice", notices[i].text);

	/* The ledger's CSV export (admin_export.c): the last 366 days, its
	 * longest range. */
	iso8601(when, now_unix());
	vm_set(vm, "x_to", arena_strndup(r->a, when, 10));
	iso8601(when, now_unix() - 365 * 86400);
	vm_set(vm, "x_from", arena_strndup(r->a, when, 10));

	cust_sessions_vm(r, vm, c.id);
	wallet_ledger_vm(r, vm, c.id, wallet_page_number(r),
	    arena_printf(r->a, "/admin/customers/%lld", (long long)c.id));

	st = db_q(r->db, Q_ADMIN_CUSTOMER_ORDERS);
	db_bind_int(r->db, st, ":cid", c.id);
	while (db_step(r->db, st) == DB_ROW) {
		const char *inv = db_text(r->db, st, 5);

		it = vm_push(vm, "orders");
		vm_set(it, "public_id", db_text(r->db, st, 0));
		vm_set(it, "state", db_text(r->db, st, 1));
		vm_set(it, "total", money_str(r->a, db_int(st, 2), db_text(r->db, st, 3)));
		time_human(when, db_int(st, 4));
		vm_set(it, "at", when);
		if (*inv)
			vm_set(it, "invoice", inv);
		norders++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_orders", norders > 0);
	referrals_vm(r, vm, c.id);
	page_render(r, "pages/admin/customer", vm);
	if (status)
		r->status = status;
}

/* GET /admin/customers/{id:int} — ?done (a fixed notice), ?page of the
 * ledger.  200; 404 for no such customer. */
void
admin_customer(struct request *r)
{
	cust_page(r, 0, NULL);
}

static void
done(struct request *r, int64_t id, const char *what)
{
	resp_redirect(r, 303, arena_printf(r->a, "/admin/customers/%lld?done=%s",
	    (long long)id, what));
}

static const struct field admin_customer_wallet_fields[] = {
	{ "direction", FK_SLUG, FIELD_REQUIRED, 0, 6 },
	{ "amount", FK_TEXT, FIELD_REQUIRED, 0, 32 },
	{ "reason", FK_TEXT, FIELD_REQUIRED, 0, REASON_MAX },
	{ "op", FK_SLUG, FIELD_REQUIRED, 0, 32 },
};
const struct form admin_customer_wallet_form = { FORM(admin_customer_wallet_fields) };

/* 32 lowercase hex digits: the form's one-time token. */
static int
op_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != 32)
		return 0;
	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * The customer's mail about a credit or a debit, queued in the open
 * transaction with a key naming the ledger row.  The reason is shown:
 * it is the ledger row's memo, which the customer's /wallet shows
 * anyway, and a customer who sees money move is owed the why (the staff
 * form says so).  Who on the staff moved it is not shown.
 */
static int64_t
wallet_mail(struct request *r, const struct cust *c, int64_t tx, int credit, const char *amount,
    const char *balance, const char *reason)
{
	struct json_object *v = json_object_new_object();

	json_object_object_add(v, "name", json_object_new_string(*c->name ? c->name : c->email));
	json_object_object_add(v, "amount", json_object_new_string(amount));
	json_object_object_add(v, "balance", json_object_new_string(balance));
	json_object_object_add(v, "reason", json_object_new_string(reason));
	json_object_object_add(v, "site_name", json_object_new_string(shop_name(r->db, r->a, &r->app->conf)));
	json_object_object_add(v, "wallet_url", json_object_new_string(
	    arena_printf(r->a, "%s/wallet", r->app->conf.base_url)));
	return mailq_add(r, c->email, credit ? "emails/wallet_credit" : "emails/wallet_debit", v,
	    arena_printf(r->a, "wallet-%s:%lld", credit ? "credit" : "debit", (long long)tx));
}

/*
 * POST /admin/customers/{id:int}/wallet — direction (credit|debit),
 * amount (major units of the wallet's currency, "12.50"), reason (one
 * line, required), op (the form's one-time token), csrf.  One ledger
 * row of kind 'adjustment' with the reason as its memo, the cached
 * balance with it, an audit row naming the balance before and after,
 * and a mail to the customer (amount, new balance, reason); all in one
 * transaction.  The
 * same op again moves nothing (303 as the first time).  303 to the
 * customer's page; 400 for a bad field (nothing written); 404 for no
 * such customer; 409 for a debit larger than the balance or a credit
 * past the limit (nothing written), and for the same op with another
 * amount or direction (nothing written); 303 to /admin/reauth when the
 * last re-authentication is not recent.
 */
void
admin_customer_wallet_post(struct request *r)
{
	const char *dir = form_get(r, "direction"), *amount = form_get(r, "amount");
	const char *reason = form_get(r, "reason"), *op = form_get(r, "op");
	const char *cur, *before_s, *after_s, *amount_s;
	int64_t	 id = req_param_int(r, "id"), minor, before, after, tx, job = 0;
	struct wallet_entry e;
	enum wallet_rc rc;
	enum money_err me;
	struct cust c;
	int	 credit;

	if (!admin_reauth_ok(r, arena_printf(r->a, "/admin/customers/%lld", (long long)id)))
		return;
	if (!cust_get(r, id, &c, NULL))
		req_fail(r, 404, "There is no such customer.");
	if (strcmp(dir, "credit") != 0 && strcmp(dir, "debit") != 0) {
		cust_page(r, 400, "Choose credit or debit.");
		return;
	}
	credit = strcmp(dir, "credit") == 0;
	if (!form_valid(r, "reason") || *reason == '\0') {
		cust_page(r, 400, "Give a reason (one line, at most 500 characters): "
		    "the customer's ledger and the audit log keep it.");
		return;
	}
	if (!op_ok(op)) {
		cust_page(r, 400, "The form is out of date. Please enter the amount again.");
		return;
	}
	cur = wallet_currency(r, &c);
	if ((me = money_parse(amount, cur, &minor)) != MONEY_OK) {
		cust_page(r, 400, money_err_text[me]);
		return;
	}
	if (minor == 0) {
		cust_page(r, 400, "The amount must be more than zero.");
		return;
	}

	db_begin(r->db);
	memset(&e, 0, sizeof(e));
	e.wallet = wallet_of_customer(r->db, c.id, cur);
	before = wallet_balance(r->db, e.wallet);
	e.amount = credit ? minor : -minor;
	e.kind = "adjustment";
	e.staff = r->principal[SESS_STAFF]->user_id;
	e.memo = reason;
	e.idem_key = arena_printf(r->a, "adjust:%lld:%s", (long long)e.staff, op);
	rc = wallet_post(r->db, &e, &after, &tx);
	amount_s = money_str(r->a, minor, cur);
	before_s = money_str(r->a, before, cur);
	switch (rc) {
	case WALLET_OK:
		break;
	case WALLET_REPLAY:
		/* The same form sent twice: the first one did it. */
		db_rollback(r->db);
		done(r, c.id, credit ? "credited" : "debited");
		return;
	case WALLET_INSUFFICIENT:
		db_rollback(r->db);
		cust_page(r, 409, arena_printf(r->a, "The wallet holds %s: a debit of %s would take "
		    "it below zero. Nothing was changed.", before_s, amount_s));
		return;
	case WALLET_LIMIT:
		db_rollback(r->db);
		cust_page(r, 409, "That credit would take the balance past the largest amount a "
		    "wallet may hold. Nothing was changed.");
		return;
	case WALLET_CONFLICT:
		/* The same one-time form sent again with another amount or
		 * direction (edited after a back button, or replayed): the
		 * first one did its work, and this one is not a new order. */
		db_rollback(r->db);
		cust_page(r, 409, arena_printf(r->a, "This form was already used for a different amount "
		    "or direction (ledger row %lld), so this %s of %s was not applied. Nothing was "
		    "changed: check the ledger, then enter the amount again on this new form if it is "
		    "still wanted.", (long long)tx, credit ? "credit" : "debit", amount_s));
		return;
	default:
		db_rollback(r->db);
		req_fail(r, 404, "There is no such wallet.");
	}
	after_s = money_str(r->a, after, cur);
	req_audit(r, credit ? "wallet.credited" : "wallet.debited", cust_target(r, c.id),
	    "%s %s: balance %s -> %s; ledger row %lld; reason: %s", credit ? "credit" : "debit",
	    amount_s, before_s, after_s, (long long)tx, reason);
	job = wallet_mail(r, &c, tx, credit, amount_s, after_s, reason);
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	done(r, c.id, credit ? "credited" : "debited");
}

/* Move the customer {id} from one state to another; audited. */
static void
set_state(struct request *r, const char *from, const char *to, const char *action)
{
	int64_t	 id = req_param_int(r, "id");
	struct stmt *st;
	struct cust c;

	db_begin(r->db);
	if (!cust_get(r, id, &c, NULL)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such customer.");
	}
	st = db_q(r->db, Q_ADMIN_CUSTOMER_SET_STATE);
	db_bind_int(r->db, st, ":id", c.id);
	db_bind_text(r->db, st, ":from", from);
	db_bind_text(r->db, st, ":to", to);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		db_rollback(r->db);
		cust_page(r, 409, strcmp(to, "disabled") == 0 ? "That account is disabled already." :
		    "That account is not disabled.");
		return;
	}
	/* A disabled customer is signed out everywhere at once, not at the
	 * next request of each session. */
	if (strcmp(to, "disabled") == 0)
		session_end_all(r, SESS_CUSTOMER, c.id, 0);
	req_audit(r, action, cust_target(r, c.id), "%s: %s to %s", c.email, from, to);
	db_commit(r->db);
	done(r, c.id, to);
}

/* POST /admin/customers/{id:int}/disable — csrf.  The customer can no
 * longer sign in and every session ends.  303; 404; 409 when disabled
 * already. */
void
admin_customer_disable_post(struct request *r)
{
	set_state(r, "active", "disabled", "customer.disabled");
}

/* POST /admin/customers/{id:int}/enable — csrf.  303; 404; 409 when not
 * disabled. */
void
admin_customer_enable_post(struct request *r)
{
	set_state(r, "disabled", "active", "customer.enabled");
}

/* ---- sessions ---- */

static const struct field admin_customer_session_end_fields[] = {
	{ "session", FK_INT, FIELD_REQUIRED, 1, INT64_MAX },
};
const struct form admin_customer_session_end_form = { FORM(admin_customer_session_end_fields) };

/*
 * POST /admin/customers/{id:int}/sessions/end — session (its id), csrf.
 * Signs that session of the customer out, with an audit row.  Like
 * disabling the account (which ends them all), it asks for no
 * re-authentication: it takes nothing from the customer but a sign-in.
 * 303 to the customer's page; 400 for a session field that is not an
 * id; 404 for no such customer, or a session that is not theirs (ended
 * already, or another account's).
 */
void
admin_customer_session_end_post(struct request *r)
{
	int64_t	 sid;
	struct stmt *st;
	struct cust c;

	if (!form_valid(r, "session") || parse_i64(form_get(r, "session"), &sid) != 0)
		req_fail(r, 400, "That is not a session.");
	db_begin(r->db);
	if (!cust_get(r, req_param_int(r, "id"), &c, NULL)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such customer.");
	}
	st = db_q(r->db, Q_ACCT_SESSION_REVOKE);
	db_bind_int(r->db, st, ":id", sid);
	db_bind_int(r->db, st, ":cid", c.id);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such session: it may have ended already.");
	}
	req_audit(r, "session.revoked", cust_target(r, c.id), "%s: session %lld ended by staff",
	    c.email, (long long)sid);
	db_commit(r->db);
	done(r, c.id, "session_ended");
}

/*
 * POST /admin/customers/{id:int}/sessions/end-all — csrf.  Signs every
 * session of the customer out (their API tokens stay: disable the
 * account to stop those too), with an audit row naming how many.  303
 * to the customer's page; 404 for no such customer; 409 when there is
 * no session to end (nothing written).
 */
void
admin_customer_sessions_end_post(struct request *r)
{
	int64_t	 n;
	struct cust c;

	db_begin(r->db);
	if (!cust_get(r, req_param_int(r, "id"), &c, NULL)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such customer.");
	}
	session_end_all(r, SESS_CUSTOMER, c.id, 0);
	if ((n = db_changes(r->db)) == 0) {
		db_rollback(r->db);
		cust_page(r, 409, "The customer is signed in nowhere: there was no session to end.");
		return;
	}
	req_audit(r, "session.revoked_all", cust_target(r, c.id), "%s: %lld session(s) ended by staff",
	    c.email, (long long)n);
	db_commit(r->db);
	done(r, c.id, "sessions_ended");
}

/* ---- a lost second factor (auth2x16, ASVS V2.5.7: mfa_reset.c) ---- */

static const struct field admin_customer_reset_2fa_fields[] = {
	{ "reason", FK_TEXT, FIELD_REQUIRED, 0, 500 },
};
const struct form admin_customer_reset_2fa_form = { FORM(admin_customer_reset_2fa_fields) };

/*
 * POST /admin/customers/{id:int}/reset-2fa — reason, csrf
 * (security.manage).  After a fresh re-authentication (303 to
 * /admin/reauth first): the customer's TOTP, recovery codes and passkeys
 * removed, every session ended, one audit row with the reason, a notice
 * mailed.  303 to the customer's page; 400 without a reason (how the
 * customer proved who they are); 404 for no such customer.
 */
void
admin_customer_reset_2fa_post(struct request *r)
{
	int64_t	 id = req_param_int(r, "id"), npk, job = 0;
	const char *reason = form_get(r, "reason");
	struct cust c;

	if (!admin_reauth_ok(r, arena_printf(r->a, "/admin/customers/%lld", (long long)id)))
		return;
	if (!form_valid(r, "reason") || strlen(reason) < 10) {
		req_fail(r, 400, "Say in the reason (10 to 500 characters, one line) how the customer proved "
		    "who they are: it goes into the audit log. Nothing was reset.");
	}
	db_begin(r->db);
	if (!cust_get(r, id, &c, NULL)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such customer.");
	}
	/* The customer is told by "our support team", not the staff
	 * member's address: staff addresses stay inside the shop. */
	npk = cust_2fa_reset(r->db, c.id, c.email, c.name, "Our support team", r->app->conf.site_name,
	    arena_printf(r->a, "2fa-reset:customer:%lld:%s", (long long)c.id, r->id), &job);
	req_audit(r, "2fa.reset", cust_target(r, c.id), "%s: TOTP, recovery codes and %lld passkey%s "
	    "removed; sessions ended; reason: %s", c.email, (long long)npk, npk == 1 ? "" : "s", reason);
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	done(r, c.id, "2fa_reset");
}
