/*
 * cmd_test_commerce.c: `1000proxy test-commerce`, the hidden entry to
 * the money model (wallet.c, order.c, invoice.c) for t/70-commerce.t.
 * Each verb is one unit of work as a page or a job will run it: one
 * BEGIN IMMEDIATE transaction, the domain calls, COMMIT; a hard error
 * ends the process with status 1 and the message on stderr (the
 * command's default fail handler, db.h).  Refused unless test_routes is
 * on: it moves money without a person behind it.
 *
 *   wallet CUSTOMER AMOUNT KIND KEY [GATE]
 *        post a signed amount to the customer's wallet (made in USD if
 *        missing); prints "ok|replay|insufficient|limit|none|conflict BALANCE";
 *        status 0 for ok and replay, 3 for a refusal
 *   balance CUSTOMER
 *        prints "CACHED LEDGER_SUM" of the customer's wallet
 *   order-new CUSTOMER SUBTOTAL DISCOUNT TAX [KEY]
 *        prints "ID PUBLIC_ID" and " replay" for a key used before
 *   order-move ORDER STATE [NOTE]
 *        prints "FROM STATE"; a move the state machine refuses: status 1
 *   invoice ORDER [commit|rollback] [GATE]
 *        issue the order's invoice; prints the number, then commits or
 *        rolls back (a rolled-back number must come back)
 *   receipt PAYMENT
 *        issue a top-up payment's receipt; prints the number
 *   checkout CUSTOMER PLAN QTY KEY [coupon=CODE] [GATE]
 *        pay QTY of plan PLAN (id, at its price now) from the wallet as
 *        the checkout page does (checkout.c), idempotency key KEY, with
 *        coupon CODE if given; prints "ok|replay|... PUBLIC_ID"
 *        (a coupon refusal: "coupon:REASON -"); status 0 for ok and
 *        replay, 3 for a refusal (nothing written)
 *   pending CUSTOMER PLAN QTY [coupon=CODE]
 *        an unpaid order as a gateway checkout (issue 13) will leave
 *        it: QTY items of plan PLAN at its price now, the stock taken,
 *        the coupon's redemption written, no money; prints "ID
 *        PUBLIC_ID" (a coupon refusal: "coupon:REASON -", status 3)
 *
 * GATE: a file to wait for (up to 10 s) after opening the database and
 * before the transaction, so that many processes really race.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "checkout.h"
#include "cmd.h"
#include "conf.h"
#include "coupon.h"
#include "db.h"
#include "invoice.h"
#include "order.h"
#include "util.h"
#include "wallet.h"

static const struct actor cli_actor = { "cli", 0, NULL, NULL };

/* A coupon refusal as one word, for the tests to match. */
static const char *const cword[COUPON__MAX] = {
	[COUPON_OK] = "ok", [COUPON_UNKNOWN] = "unknown", [COUPON_NOT_STARTED] = "not-started",
	[COUPON_EXPIRED] = "expired", [COUPON_EXHAUSTED] = "exhausted",
	[COUPON_CUSTOMER_LIMIT] = "customer-limit", [COUPON_MIN_AMOUNT] = "min-amount",
	[COUPON_FIRST_ORDER] = "first-order", [COUPON_NOT_APPLICABLE] = "not-applicable",
};

static void
gate(const char *path)
{
	int	 i;

	if (path != NULL)
		for (i = 0; i < 10000 && access(path, F_OK) != 0; i++)
			usleep(1000);
}

static int
t_wallet(struct db *db, int argc, char **argv)
{
	static const char *const word[WALLET__MAX] = {
		[WALLET_OK] = "ok", [WALLET_REPLAY] = "replay", [WALLET_INSUFFICIENT] = "insufficient",
		[WALLET_LIMIT] = "limit", [WALLET_NONE] = "none", [WALLET_CONFLICT] = "conflict",
	};
	struct wallet_entry e;
	enum wallet_rc rc;
	int64_t	 cust, bal;

	memset(&e, 0, sizeof(e));
	if (argc < 6 || parse_i64(argv[2], &cust) != 0 || parse_i64(argv[3], &e.amount) != 0)
		return 2;
	e.kind = argv[4];
	e.idem_key = argv[5];
	e.memo = "test-commerce";
	gate(argc > 6 ? argv[6] : NULL);
	db_begin(db);
	e.wallet = wallet_of_customer(db, cust, "USD");
	rc = wallet_post(db, &e, &bal, NULL);
	if (rc == WALLET_OK || rc == WALLET_REPLAY)
		db_commit(db);
	else
		db_rollback(db);
	printf("%s %" PRId64 "\n", word[rc], bal);
	if (rc != WALLET_OK && rc != WALLET_REPLAY)
		fprintf(stderr, "1000proxy: %s\n", wallet_rc_text[rc]);
	return rc == WALLET_OK || rc == WALLET_REPLAY ? 0 : 3;
}

static int
t_balance(struct db *db, int argc, char **argv)
{
	int64_t	 cust, w;

	if (argc != 3 || parse_i64(argv[2], &cust) != 0)
		return 2;
	db_begin(db);
	w = wallet_of_customer(db, cust, "USD");
	printf("%" PRId64 " %" PRId64 "\n", wallet_balance(db, w), wallet_ledger_sum(db, w));
	db_commit(db);
	return 0;
}

static int
t_order_new(struct db *db, int argc, char **argv)
{
	struct order_new n;
	const char *pub;
	int64_t	 id;
	int	 replay;

	memset(&n, 0, sizeof(n));
	if (argc < 6 || parse_i64(argv[2], &n.customer) != 0 || parse_i64(argv[3], &n.subtotal) != 0 ||
	    parse_i64(argv[4], &n.discount) != 0 || parse_i64(argv[5], &n.tax) != 0)
		return 2;
	n.currency = "USD";
	n.method = "wallet";
	n.idem_key = argc > 6 ? argv[6] : NULL;
	db_begin(db);
	id = order_create(db, &n, &cli_actor, &pub, &replay);
	db_commit(db);
	printf("%" PRId64 " %s%s\n", id, pub, replay ? " replay" : "");
	return 0;
}

static int
t_order_move(struct db *db, int argc, char **argv)
{
	enum order_state from;
	int64_t	 id;
	int	 to;

	if (argc < 4 || parse_i64(argv[2], &id) != 0)
		return 2;
	if ((to = order_state_parse(argv[3])) < 0) {
		fprintf(stderr, "1000proxy: no state \"%s\"\n", argv[3]);
		return 2;
	}
	db_begin(db);
	from = order_transition(db, id, (enum order_state)to, &cli_actor, argc > 4 ? argv[4] : NULL);
	db_commit(db);
	printf("%s %s\n", order_state_name[from], order_state_name[to]);
	return 0;
}

static int
t_invoice(struct db *db, int argc, char **argv)
{
	const char *num;
	int64_t	 order;
	int	 rollback;

	if (argc < 3 || parse_i64(argv[2], &order) != 0)
		return 2;
	rollback = argc > 3 && strcmp(argv[3], "rollback") == 0;
	gate(argc > 4 ? argv[4] : NULL);
	db_begin(db);
	invoice_issue(db, order, &num);
	if (rollback)
		db_rollback(db);
	else
		db_commit(db);
	printf("%s%s\n", num, rollback ? " rolled-back" : "");
	return 0;
}

static int
t_receipt(struct db *db, int argc, char **argv)
{
	const char *num;
	int64_t	 payment;

	if (argc != 3 || parse_i64(argv[2], &payment) != 0)
		return 2;
	db_begin(db);
	invoice_issue_receipt(db, payment, &num);
	db_commit(db);
	printf("%s\n", num);
	return 0;
}

static int
t_checkout(struct db *db, int argc, char **argv)
{
	static const char *const word[CHECKOUT__MAX] = {
		[CHECKOUT_OK] = "ok", [CHECKOUT_REPLAY] = "replay", [CHECKOUT_EMPTY] = "empty",
		[CHECKOUT_CHANGED] = "changed", [CHECKOUT_UNAVAILABLE] = "unavailable",
		[CHECKOUT_SOLD_OUT] = "sold-out", [CHECKOUT_INSUFFICIENT] = "insufficient",
		[CHECKOUT_CURRENCY] = "currency", [CHECKOUT_BAD_KEY] = "bad-key",
		[CHECKOUT_COUPON] = "coupon", [CHECKOUT_RENEWAL] = "renewal",
	};
	const char *coupon = NULL;
	int	 g;
	static const struct actor cust_actor = { "customer", 0, NULL, NULL };
	struct checkout_line l;
	struct checkout_result res;
	struct actor who = cust_actor;
	struct stmt *st;
	enum checkout_rc rc;
	int64_t	 cust;

	memset(&l, 0, sizeof(l));
	if (argc < 6 || parse_i64(argv[2], &cust) != 0 || parse_i64(argv[3], &l.plan) != 0 ||
	    parse_i64(argv[4], &l.qty) != 0)
		return 2;
	who.id = cust;
	st = db_q(db, Q_CHECKOUT_PLAN);
	db_bind_int(db, st, ":plan", l.plan);
	if (db_step(db, st) != DB_ROW)
		return 2;
	l.price = db_int(st, 1);
	l.currency = db_text(db, st, 2);
	l.name = db_text(db, st, 4);
	db_reset(st);
	g = 6;
	if (argc > g && strncmp(argv[g], "coupon=", 7) == 0)
		coupon = argv[g++] + 7;
	gate(argc > g ? argv[g] : NULL);
	db_begin(db);
	rc = checkout_wallet_coupon(db, cust, &l, 1, coupon, argv[5], &who, &res);
	if (rc == CHECKOUT_OK || rc == CHECKOUT_REPLAY)
		db_commit(db);
	else
		db_rollback(db);
	if (rc == CHECKOUT_COUPON)
		printf("coupon:%s -\n", cword[res.coupon_rc]);
	else
		printf("%s %s\n", word[rc], res.public_id ? res.public_id : "-");
	if (rc == CHECKOUT_COUPON)
		fprintf(stderr, "1000proxy: %s\n", coupon_rc_text[res.coupon_rc]);
	else if (rc != CHECKOUT_OK && rc != CHECKOUT_REPLAY)
		fprintf(stderr, "1000proxy: %s\n", checkout_rc_text[rc]);
	return rc == CHECKOUT_OK || rc == CHECKOUT_REPLAY ? 0 : 3;
}

static int
t_pending(struct db *db, int argc, char **argv)
{
	struct checkout_line l;
	struct coupon_apply ca;
	struct order_new on;
	struct stmt *st;
	const char *pub;
	int64_t	 cust, order, k;
	int	 replay, crc;

	memset(&l, 0, sizeof(l));
	memset(&ca, 0, sizeof(ca));
	if (argc < 5 || parse_i64(argv[2], &cust) != 0 || parse_i64(argv[3], &l.plan) != 0 ||
	    parse_i64(argv[4], &l.qty) != 0 || l.qty < 1 || l.qty > 100)
		return 2;
	db_begin(db);
	st = db_q(db, Q_CHECKOUT_PLAN);
	db_bind_int(db, st, ":plan", l.plan);
	if (db_step(db, st) != DB_ROW) {
		db_rollback(db);
		return 2;
	}
	l.price = db_int(st, 1);
	l.currency = db_text(db, st, 2);
	l.name = db_text(db, st, 4);
	l.stock = db_is_null(st, 3) ? -1 : db_int(st, 3);
	db_reset(st);
	if (argc > 5 && strncmp(argv[5], "coupon=", 7) == 0 &&
	    (crc = coupon_check(db, argv[5] + 7, cust, &l, 1, &ca)) != COUPON_OK) {
		db_rollback(db);
		printf("coupon:%s -\n", cword[crc]);
		fprintf(stderr, "1000proxy: %s\n", coupon_rc_text[crc]);
		return 3;
	}
	st = db_q(db, Q_CHECKOUT_TAKE_STOCK);
	db_bind_int(db, st, ":plan", l.plan);
	db_bind_int(db, st, ":n", l.qty);
	db_step(db, st);
	db_reset(st);
	if (l.stock >= 0 && db_changes(db) != 1) {
		db_rollback(db);
		printf("sold-out -\n");
		return 3;
	}
	memset(&on, 0, sizeof(on));
	on.customer = cust;
	on.subtotal = l.price * l.qty;
	on.discount = ca.discount;
	on.currency = l.currency;
	order = order_create(db, &on, &cli_actor, &pub, &replay);
	if (ca.coupon > 0)
		coupon_redeem(db, &ca, cust, order);
	for (k = 0; k < l.qty; k++) {
		st = db_q(db, Q_CHECKOUT_ITEM_INSERT);
		db_bind_int(db, st, ":order", order);
		db_bind_int(db, st, ":plan", l.plan);
		db_bind_int(db, st, ":price", l.price);
		db_bind_text(db, st, ":currency", l.currency);
		if (db_step(db, st) != DB_ROW)
			db_fail(db, "order item insert returned no row");
		db_reset(st);
	}
	db_commit(db);
	printf("%" PRId64 " %s\n", order, pub);
	return 0;
}

int
cmd_test_commerce(const struct conf *c, int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(struct db *, int, char **);
	} verbs[] = {
		{ "wallet", t_wallet }, { "balance", t_balance }, { "order-new", t_order_new },
		{ "order-move", t_order_move }, { "invoice", t_invoice }, { "receipt", t_receipt },
		{ "checkout", t_checkout }, { "pending", t_pending },
	};
	struct arena *a;
	struct db *db;
	char	 err[1024];
	size_t	 i;
	int	 rc = 2;

	if (!c->test_routes) {
		fprintf(stderr, "1000proxy: test-commerce needs test_routes = yes (never in production)\n");
		return 2;
	}
	for (i = 0; argc >= 2 && i < NELEM(verbs); i++)
		if (strcmp(argv[1], verbs[i].verb) == 0)
			break;
	if (argc < 2 || i == NELEM(verbs))
		goto usage;
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	/* The races start dozens of these processes at one gate, all
	 * wanting the write lock at once: far more writers than a pool of
	 * workers ever lines up, and on a loaded machine (a sanitizer build)
	 * the last in the queue can wait past the 5 s a request waits.
	 * What the races prove is the money, not the latency: wait longer. */
	db_set_busy_ms(db, 60000);
	a = arena_new(4096);
	db_set_arena(db, a);
	rc = verbs[i].fn(db, argc, argv);
	db_reset_all(db);
	db_close(db);
	arena_free(a);
	if (rc != 2)
		return rc;
usage:
	fprintf(stderr, "usage: 1000proxy test-commerce wallet|balance|order-new|order-move|invoice|receipt|checkout|pending ...\n");
	return 2;
}
