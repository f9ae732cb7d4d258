/*
 * wallet.c: the wallet ledger (wallet.h).  The order of the steps in
 * wallet_post matters: the idempotency key is looked up first, so a
 * retry is answered without touching the balance; the balance moves
 * next, by an UPDATE whose WHERE refuses an overdraft, so "not enough
 * money" is an answer and not a constraint crash; the ledger row goes
 * last.  All three run inside the caller's BEGIN IMMEDIATE transaction,
 * which holds SQLite's write lock from its start: no other writer can
 * slip between the look-up and the insert, and 64 concurrent debits of
 * one wallet queue up behind each other instead of overdrawing it.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "db.h"
#include "money.h"
#include "wallet.h"

const char *const wallet_rc_text[WALLET__MAX] = {
	[WALLET_OK] = "ok",
	[WALLET_REPLAY] = "already recorded",
	[WALLET_INSUFFICIENT] = "The wallet balance is not enough for this payment.",
	[WALLET_LIMIT] = "That would take the wallet balance above the largest amount allowed.",
	[WALLET_NONE] = "There is no such wallet.",
	[WALLET_CONFLICT] = "That operation was recorded before with another amount or kind.",
};

int64_t
wallet_of_customer(struct db *db, int64_t customer, const char *currency)
{
	struct stmt *st;

	st = db_q(db, Q_WALLET_ENSURE);
	db_bind_int(db, st, ":cid", customer);
	db_bind_text(db, st, ":currency", currency);
	db_step(db, st);
	st = db_q(db, Q_WALLET_OF_CUSTOMER);
	db_bind_int(db, st, ":cid", customer);
	return db_one_int(db, st, 0);
}

/* Bind id, or NULL for 0 (the optional references of a ledger row). */
static void
bind_ref(struct db *db, struct stmt *st, const char *name, int64_t id)
{
	if (id > 0)
		db_bind_int(db, st, name, id);
	else
		db_bind_null(db, st, name);
}

enum wallet_rc
wallet_post(struct db *db, const struct wallet_entry *e, int64_t *balance, int64_t *tx_id)
{
	struct stmt *st;
	int64_t	 bal, id;

	if (balance != NULL)
		*balance = 0;
	if (tx_id != NULL)
		*tx_id = 0;
	if (!db_in_tx(db))
		db_fail(db, "wallet_post outside a transaction (key %s)", e->idem_key);
	if (e->amount == 0 || e->amount > MONEY_MAX || e->amount < -MONEY_MAX)
		db_fail(db, "wallet_post: amount %" PRId64 " out of range (key %s)", e->amount, e->idem_key);
	if (e->idem_key == NULL || *e->idem_key == '\0' || e->kind == NULL)
		db_fail(db, "wallet_post: an entry needs a kind and an idempotency key");

	/* A retry of an operation that already wrote its row. */
	st = db_q(db, Q_WALLET_TX_BY_KEY);
	db_bind_text(db, st, ":key", e->idem_key);
	if (db_step(db, st) == DB_ROW) {
		enum wallet_rc rc = WALLET_REPLAY;

		id = db_int(st, 0);
		/* The same key with other values is the operation sent again
		 * changed (a form resubmitted with another amount): refused,
		 * and the caller says so; which values is its business. */
		if (db_int(st, 1) != e->wallet || db_int(st, 2) != e->amount ||
		    strcmp(db_text(db, st, 3), e->kind) != 0)
			rc = WALLET_CONFLICT;
		db_reset(st);
		if (tx_id != NULL)
			*tx_id = id;
		if (balance != NULL && (bal = wallet_balance(db, e->wallet)) >= 0)
			*balance = bal;
		return rc;
	}
	db_reset(st);

	/* The balance moves only if it stays within 0..MONEY_MAX. */
	st = db_q(db, Q_WALLET_APPLY);
	db_bind_int(db, st, ":amount", e->amount);
	db_bind_int(db, st, ":max", MONEY_MAX);
	db_bind_int(db, st, ":id", e->wallet);
	if (db_step(db, st) != DB_ROW) {
		bal = wallet_balance(db, e->wallet);
		if (balance != NULL && bal >= 0)
			*balance = bal;
		if (bal < 0)
			return WALLET_NONE;
		return e->amount < 0 ? WALLET_INSUFFICIENT : WALLET_LIMIT;
	}
	bal = db_int(st, 0);
	db_reset(st);

	st = db_q(db, Q_WALLET_TX_INSERT);
	db_bind_int(db, st, ":wallet", e->wallet);
	db_bind_int(db, st, ":amount", e->amount);
	db_bind_text(db, st, ":kind", e->kind);
	bind_ref(db, st, ":order", e->order);
	bind_ref(db, st, ":payment", e->payment);
	bind_ref(db, st, ":staff", e->staff);
	db_bind_text(db, st, ":memo", e->memo != NULL ? e->memo : "");
	db_bind_text(db, st, ":key", e->idem_key);
	id = db_one_int(db, st, 0);
	if (balance != NULL)
		*balance = bal;
	if (tx_id != NULL)
		*tx_id = id;
	return WALLET_OK;
}

int64_t
wallet_balance(struct db *db, int64_t wallet)
{
	struct stmt *st = db_q(db, Q_WALLET_BALANCE);

	db_bind_int(db, st, ":id", wallet);
	return db_one_int(db, st, -1);
}

int64_t
wallet_ledger_sum(struct db *db, int64_t wallet)
{
	struct stmt *st = db_q(db, Q_WALLET_LEDGER_SUM);

	db_bind_int(db, st, ":id", wallet);
	return db_one_int(db, st, 0);
}
