/*
 * page_wallet.c: the signed-in customer's wallet.
 *
 *   GET /wallet            balance and the ledger, newest first, 25 a page
 *
 * The balance shown is the wallet's cached balance, which wallet.c moves
 * in the same transaction as every ledger row (so it equals their sum,
 * as `1000proxy check` proves).  Statements name the customer from the
 * session, never from the URL: nobody reaches another customer's rows.
 * The ledger rows are rendered by wallet_ledger_vm(), which the staff's
 * customer page (admin_customers.c) shares.
 */
#include "config.h"

#include <string.h>

#include "account.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "page_pay.h"
#include "page_wallet.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define LEDGER_PAGE	25
#define LEDGER_MAX_PAGE	100000

/* What each ledger kind is called on the page. */
static const struct {
	const char	*kind;
	const char	*label;
} kinds[] = {
	{ "topup", "Top-up" },
	{ "purchase", "Purchase" },
	{ "refund", "Refund" },
	{ "adjustment", "Adjustment by staff" },
	{ "reversal", "Reversal" },
	{ "commission", "Referral commission" },
};

static const char *
kind_label(const char *kind)
{
	size_t	 i;

	for (i = 0; i < NELEM(kinds); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].label;
	return kind;
}

int64_t
wallet_page_number(struct request *r)
{
	const char *s = req_query(r, "page");
	int64_t	 n;

	if (s == NULL || !valid_int(s, 1, LEDGER_MAX_PAGE, &n))
		return 1;
	return n;
}

void
wallet_ledger_vm(struct request *r, struct vm *vm, int64_t customer, int64_t page,
    const char *base)
{
	struct stmt *st = db_q(r->db, Q_WALLET_PAGE_HEAD);
	struct vm *it;
	int64_t	 wallet = 0, balance = 0, total, shown = 0;
	const char *cur = "USD";
	char	 when[32];

	db_bind_int(r->db, st, ":cid", customer);
	if (db_step(r->db, st) == DB_ROW) {
		wallet = db_int(st, 0);
		balance = db_int(st, 1);
		cur = db_text(r->db, st, 2);
	}
	db_reset(st);
	vm_set(vm, "balance", money_str(r->a, balance, cur));
	vm_set_int(vm, "balance_minor", balance);
	vm_set(vm, "currency", cur);

	st = db_q(r->db, Q_WALLET_LEDGER_COUNT);
	db_bind_int(r->db, st, ":wallet", wallet);
	total = db_one_int(r->db, st, 0);

	st = db_q(r->db, Q_WALLET_LEDGER_PAGE);
	db_bind_int(r->db, st, ":wallet", wallet);
	db_bind_int(r->db, st, ":limit", LEDGER_PAGE);
	db_bind_int(r->db, st, ":offset", (page - 1) * LEDGER_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		const char *order = db_text(r->db, st, 3);
		int64_t	 amount = db_int(st, 2);

		it = vm_push(vm, "ledger");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "kind", db_text(r->db, st, 1));
		vm_set(it, "kind_label", kind_label(db_text(r->db, st, 1)));
		vm_set(it, "amount", money_str(r->a, amount, cur));
		vm_set_bool(it, "credit", amount > 0);
		if (*order)
			vm_set(it, "order", order);
		if (!db_is_null(st, 4))
			vm_set_int(it, "payment", db_int(st, 4));
		vm_set(it, "memo", db_text(r->db, st, 5));
		time_human(when, db_int(st, 6));
		vm_set(it, "at", when);
		shown++;
	}
	db_reset(st);
	vm_set_bool(vm, "ledger_empty", total == 0);
	vm_set_bool(vm, "ledger_shown", shown > 0);
	vm_set_int(vm, "ledger_total", total);
	vm_set(vm, "pager_base", base);
	ui_pager(vm, page, page * LEDGER_PAGE < total);
}

/*
 * GET /wallet — ?page (1..100000; anything else is page 1).  The
 * balance and one page of the ledger: kind, amount in the wallet's
 * currency, the order or payment, the memo, the time; the top-up form
 * when a gateway is enabled (POST /wallet/topup, page_pay.c).  200; 303 to
 * /account/2fa when the shop requires TOTP and it is not enrolled.
 */
void
page_wallet(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	struct vm *vm;

	if (a == NULL)
		return;
	vm = acct_vm(r, a, "Your wallet", "wallet");
	wallet_ledger_vm(r, vm, a->id, wallet_page_number(r), "/wallet");
	/* The top-up form through every enabled gateway (page_pay.c). */
	pay_topup_vm(r, vm, a->currency);
	page_render(r, "pages/wallet", vm);
}
