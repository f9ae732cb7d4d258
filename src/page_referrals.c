/*
 * page_referrals.c: the pages of referrals (referral.h).
 *
 *   GET /r/{code}             anyone: the first-touch cookie, 302 to /
 *   GET /account/referrals    the customer's link, the customers it
 *                             brought (no emails), and the commissions:
 *                             earned (available), pending, reversed
 *
 * The account page's statements name the customer from the session,
 * never from the URL: another customer's referrals cannot be reached.
 */
#include "config.h"

#include <string.h>

#include "account.h"
#include "db.h"
#include "setting.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "referral.h"
#include "session.h"
#include "ui.h"
#include "util.h"
#include "view.h"

#define REFERRED_SHOWN		100
#define COMMISSIONS_SHOWN	50

/* GET /r/{code} — a referral link.  302 to / (referral.c says when a
 * cookie is set). */
void
page_referral_visit(struct request *r)
{
	referral_visit(r);
}

/* A referred customer as the referrer sees them: the first letter of
 * the name (one UTF-8 character) and an ellipsis; no email, no id. */
static const char *
masked(struct request *r, const char *name)
{
	size_t	 n = 1;

	if (*name == '\0')
		return "A customer";
	while (name[n] != '\0' && ((unsigned char)name[n] & 0xC0) == 0x80)
		n++;
	return arena_printf(r->a, "%.*s…", (int)n, name);
}

/*
 * GET /account/referrals — no inputs.  200; the account gate's 303
 * (acct_load).  Allocates in the request's arena.
 */
void
page_referrals(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	struct vm *vm, *it;
	struct stmt *st;
	const char *code;
	char	 when[32];
	int64_t	 n = 0;

	if (a == NULL)
		return;
	vm = acct_vm(r, a, "Referrals", "referrals");
	st = db_q(r->db, Q_REFERRAL_CODE_OF);
	db_bind_int(r->db, st, ":id", a->id);
	code = db_step(r->db, st) == DB_ROW ? db_text(r->db, st, 0) : "";
	db_reset(st);
	/* An absolute link from the configured base URL: the customer
	 * pastes it elsewhere, where a relative one means nothing. */
	if (*code)
		vm_set(vm, "link", arena_printf(r->a, "%s/r/%s", r->app->conf.base_url, code));
	st = db_q(r->db, Q_REFERRAL_TOTALS);
	db_bind_int(r->db, st, ":cid", a->id);
	if (db_step(r->db, st) == DB_ROW) {
		vm_set(vm, "earned", money_str(r->a, db_int(st, 0), a->currency));
		vm_set(vm, "pending", money_str(r->a, db_int(st, 1), a->currency));
		vm_set(vm, "reversed", money_str(r->a, db_int(st, 2), a->currency));
	}
	db_reset(st);
	vm_set(vm, "percent", money_rate_str(r->a,
	    setting_int(r->db, "referral.percent_bp", 0, 0, 10000)));
	vm_set_bool(vm, "paying", setting_int(r->db, "referral.percent_bp", 0, 0, 10000) > 0);
	vm_set_int(vm, "hold_days", setting_int(r->db, "referral.hold_days",
	    REFERRAL_HOLD_DEFAULT, 0, 365));

	st = db_q(r->db, Q_REFERRAL_REFERRED_LIST);
	db_bind_int(r->db, st, ":cid", a->id);
	db_bind_int(r->db, st, ":limit", REFERRED_SHOWN);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "referred");
		vm_set(it, "who", masked(r, db_text(r->db, st, 1)));
		iso8601(when, db_int(st, 3));
		vm_set(it, "joined", arena_strndup(r->a, when, 10));
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_referred", n > 0);

	n = 0;
	st = db_q(r->db, Q_REFERRAL_COMMISSIONS_LIST);
	db_bind_int(r->db, st, ":cid", a->id);
	db_bind_int(r->db, st, ":limit", COMMISSIONS_SHOWN);
	while (db_step(r->db, st) == DB_ROW) {
		const char *state = db_text(r->db, st, 2);

		it = vm_push(vm, "commissions");
		vm_set(it, "amount", money_str(r->a, db_int(st, 0), db_text(r->db, st, 1)));
		vm_set(it, "state", state);
		time_human(when, db_int(st, 3));
		vm_set(it, "at", when);
		if (strcmp(state, "pending") == 0) {
			iso8601(when, db_int(st, 4));
			vm_set(it, "until", arena_strndup(r->a, when, 10));
		}
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_commissions", n > 0);
	page_render(r, "pages/account_referrals", vm);
}
