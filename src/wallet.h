/*
 * wallet.h: the customer's wallet, a ledger (DESIGN.md, "Data").  Every
 * movement of money is one append-only wallet_transactions row, and
 * wallets.balance_minor, the cached balance, moves in the same
 * transaction, so it always equals the sum of the ledger (`1000proxy
 * check` proves it).
 *
 * The caller owns the transaction: it calls db_begin() first and commits
 * when everything that must change together (the order, its invoice,
 * its jobs) is written.  Nothing here begins, commits or rolls back; a
 * call outside a transaction is a programming error (a hard error).
 * Database errors follow db.h's contract: they end the unit of work.
 * The audit row is the caller's too: it knows who acted and why.
 */
#ifndef PX_WALLET_H
#define PX_WALLET_H

#include <stdint.h>

struct db;

enum wallet_rc {
	WALLET_OK = 0,		/* written; *balance is the balance after it */
	WALLET_REPLAY,		/* this key was written before: nothing new; *balance now */
	WALLET_INSUFFICIENT,	/* a debit larger than the balance: nothing written */
	WALLET_LIMIT,		/* the balance would pass MONEY_MAX: nothing written */
	WALLET_NONE,		/* no such wallet: nothing written */
	WALLET_CONFLICT,	/* this key was written before for another entry: nothing new */
	WALLET__MAX
};
/* A sentence for each outcome, for a page's message or a command's. */
extern const char *const wallet_rc_text[WALLET__MAX];

/*
 * One ledger entry.  amount is signed minor units in the wallet's
 * currency (credit > 0, debit < 0, never 0, |amount| <= MONEY_MAX); kind
 * one of the ledger's kinds (topup, purchase, refund, adjustment,
 * reversal, commission); order, payment and staff 0 for none; memo may
 * be NULL.  idem_key names the business operation ("buy:<order>",
 * "topup:<payment>", "adjust:<staff>:<form token>"): a retried operation
 * writes one row, and the retry gets WALLET_REPLAY.
 */
struct wallet_entry {
	int64_t		 wallet;
	int64_t		 amount;
	const char	*kind;
	int64_t		 order;
	int64_t		 payment;
	int64_t		 staff;
	const char	*memo;
	const char	*idem_key;
};

/*
 * The customer's wallet id, made in currency if the customer has none
 * (every registration makes one; older rows may lack it).  Inside a
 * transaction.  Allocates nothing.
 */
int64_t	wallet_of_customer(struct db *, int64_t customer, const char *currency);

/*
 * Append e to the ledger and move the cached balance with it, inside
 * the caller's transaction.  A debit that would take the balance below
 * zero is WALLET_INSUFFICIENT with nothing written (not a CHECK
 * failure); a key already used for the same wallet, amount and kind is
 * WALLET_REPLAY with nothing written; a key used before for a different
 * wallet, amount or kind is WALLET_CONFLICT with nothing written (the
 * same operation sent again with other values: an answer for the
 * caller, a 409 on a page, not a crash).  An amount of 0 or beyond
 * MONEY_MAX, or a call outside a transaction, is a hard error
 * (db_fail).  *balance (may be NULL) gets the balance after, or as it
 * stands when nothing was written.  *tx_id (may be NULL) the ledger
 * row's id (the earlier row's on a replay or a conflict, 0 when
 * nothing was written).  Allocates nothing.
 */
enum wallet_rc wallet_post(struct db *, const struct wallet_entry *e, int64_t *balance, int64_t *tx_id);

/* The cached balance and the ledger's sum of a wallet (for checks and
 * tests); -1 for a wallet that does not exist. */
int64_t	wallet_balance(struct db *, int64_t wallet);
int64_t	wallet_ledger_sum(struct db *, int64_t wallet);

#endif
