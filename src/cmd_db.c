/*
 * cmd_db.c: `migrate`, `seed --demo` and `check`.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "cmd.h"
#include "db.h"
#include "password.h"
#include "pool.h"
#include "seal.h"
#include "util.h"
#include "wallet.h"

/*
 * The demo shopper (`seed --demo --customer`, run by `./quickstart demo`).
 * The password is public on purpose, printed by quickstart beside the
 * staff account's: it is a demo on loopback.  Tests never get this
 * customer (their Stack seeds the catalog only), so shop-wide settings
 * such as the tax rate stay theirs to set.
 */
#define DEMO_EMAIL	"customer@demo.example"
#define DEMO_PASSWORD	"demo customer passphrase 1000"
#define DEMO_FUNDS	50000	/* USD 500.00, through the ledger */

static const struct { const char *key, *value; } demo_settings[] = {
	{ "shop.currency", "USD" },
	{ "seller.name", "1000proxy Demo Ltd" },
	{ "seller.address", "1 Example Street, 10115 Berlin, Germany" },
	{ "seller.tax_id", "DE000000000" },
	{ "tax.rate_bp", "1900" },	/* 19 %, added to the plans' prices */
	{ "tax.inclusive", "0" },
	{ "referral.percent_bp", "1000" },	/* 10 % of a referred customer's orders */
	{ "referral.hold_days", "14" },
};

/* The demo customer's referred friend: shows on /account/referrals.  No
 * password ("!" is no PHC string, so no sign-in matches it); a reset by
 * mail would give one. */
#define DEMO_FRIEND_EMAIL	"friend@demo.example"

/*
 * The demo customer (verified), a wallet funded by one ledger entry, the
 * seller's details and tax settings, and two coupon rows, in one
 * transaction.  Idempotent: an existing customer is kept (its password
 * too), the funding's idempotency key makes a second post a replay,
 * settings staff already set and coupon codes already taken are left
 * alone.  A database error ends the command (db.h).  Returns 0, or 1
 * when the password cannot be hashed.
 */
static int
seed_customer(const struct conf *c, struct db *db)
{
	static const struct actor cli = { "cli", 0, NULL, NULL };
	struct wallet_entry e = { 0, DEMO_FUNDS, "adjustment", 0, 0, 0,
	    "demo funds (seed --demo)", "demo:seed:funds" };
	char	 phc[PHC_MAX];
	struct stmt *st;
	int64_t	 cid, bal, friend;
	enum wallet_rc wrc;
	size_t	 i;
	int	 made = 0;

	st = db_q(db, Q_CUSTOMER_BY_EMAIL);
	db_bind_text(db, st, ":email", DEMO_EMAIL);
	cid = db_one_int(db, st, 0);
	/* Hash before the write transaction: argon2id takes a while and the
	 * transaction must stay short. */
	if (cid == 0) {
		mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
		if (password_hash(c, DEMO_PASSWORD, phc) != 0) {
			fprintf(stderr, "1000proxy: could not hash the demo password\n");
			return 1;
		}
	}
	db_begin(db);
	st = db_q(db, Q_CUSTOMER_BY_EMAIL);
	db_bind_text(db, st, ":email", DEMO_EMAIL);
	if ((cid = db_one_int(db, st, 0)) == 0) {
		st = db_q(db, Q_CUSTOMER_INSERT);
		db_bind_text(db, st, ":email", DEMO_EMAIL);
		db_bind_text(db, st, ":name", "Demo Customer");
		db_bind_text(db, st, ":hash", phc);
		db_bind_text(db, st, ":currency", "USD");
		db_step(db, st);
		cid = db_last_id(db);
		st = db_q(db, Q_CUSTOMER_VERIFY);
		db_bind_int(db, st, ":id", cid);
		db_step(db, st);
		audit(db, &cli, "customer.register", arena_printf(db_arena(db), "customer:%lld",
		    (long long)cid), "demo customer via seed --demo");
		made = 1;
	}
	explicit_bzero(phc, sizeof(phc));
	e.wallet = wallet_of_customer(db, cid, "USD");
	wrc = wallet_post(db, &e, &bal, NULL);
	if (wrc != WALLET_OK && wrc != WALLET_REPLAY)
		db_fail(db, "demo funds: %s", wallet_rc_text[wrc]);
	if (wrc == WALLET_OK)
		audit(db, &cli, "wallet.credited", arena_printf(db_arena(db), "customer:%lld",
		    (long long)cid), "demo funds %lld minor units via seed --demo", (long long)DEMO_FUNDS);
	for (i = 0; i < sizeof(demo_settings) / sizeof(demo_settings[0]); i++) {
		st = db_q(db, Q_SETTING_INIT);
		db_bind_text(db, st, ":key", demo_settings[i].key);
		db_bind_text(db, st, ":value", demo_settings[i].value);
		db_step(db, st);
	}
	/* A referral: the demo customer brought a friend (referrals row,
	 * first touch as registration would write it). */
	st = db_q(db, Q_DEMO_REFERRAL_FRIEND);
	db_bind_text(db, st, ":email", DEMO_FRIEND_EMAIL);
	db_bind_text(db, st, ":name", "Demo Friend");
	db_bind_text(db, st, ":hash", "!");
	db_bind_text(db, st, ":currency", "USD");
	db_step(db, st);
	st = db_q(db, Q_CUSTOMER_BY_EMAIL);
	db_bind_text(db, st, ":email", DEMO_FRIEND_EMAIL);
	friend = db_one_int(db, st, 0);
	st = db_q(db, Q_REFERRAL_INSERT);
	db_bind_int(db, st, ":referrer", cid);
	db_bind_int(db, st, ":referred", friend);
	db_step(db, st);
	/* Two coupons the schema can hold; redeeming them is the coupon
	 * code's business (checkout), not the seed's. */
	st = db_q(db, Q_DEMO_COUPON_INSERT);
	db_bind_text(db, st, ":code", "WELCOME10");
	db_bind_text(db, st, ":kind", "percent");
	db_bind_int(db, st, ":percent", 10);
	db_bind_null(db, st, ":amount");
	db_bind_null(db, st, ":currency");
	db_bind_int(db, st, ":min_order", 0);
	db_bind_text(db, st, ":note", "demo: 10 % off any order");
	db_step(db, st);
	st = db_q(db, Q_DEMO_COUPON_INSERT);
	db_bind_text(db, st, ":code", "SAVE5");
	db_bind_text(db, st, ":kind", "fixed");
	db_bind_null(db, st, ":percent");
	db_bind_int(db, st, ":amount", 500);
	db_bind_text(db, st, ":currency", "USD");
	db_bind_int(db, st, ":min_order", 1000);
	db_bind_text(db, st, ":note", "demo: USD 5.00 off orders from USD 10.00");
	db_step(db, st);
	db_commit(db);
	printf("demo customer %s %s; wallet balance %lld minor units%s\n", DEMO_EMAIL,
	    made ? "created" : "already present", (long long)bal,
	    made || wrc == WALLET_OK ? "" : "; nothing done");
	return 0;
}

/*
 * The unit's ExecStartPre runs migrate as the service user: the first
 * start makes the key file there (logged), so the package and the
 * operator need not.  Only when it is missing and its directory is
 * writable: any other trouble with the key is serve's and check's to
 * report, not a reason for the schema not to move.
 */
static void
migrate_key(const struct conf *c)
{
	unsigned char key[SEAL_KEY_LEN];
	char	 err[1024], dir[PATH_MAX];
	const char *slash = strrchr(c->key_file, '/');
	struct stat st;

	if (*c->key_file == '\0' || lstat(c->key_file, &st) == 0 || errno != ENOENT)
		return;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == c->key_file ? 1 : (int)(slash - c->key_file),
		    c->key_file);
	if (access(dir, W_OK) != 0)
		return;
	if (seal_key_load(c->key_file, key, 1, err, sizeof(err)) != 0)
		fprintf(stderr, "1000proxy: %s\n", err);
	OPENSSL_cleanse(key, sizeof(key));
}

int
cmd_migrate(const struct conf *c, int argc, char **argv)
{
	char	 err[1024];
	struct db *db;
	int	 n, v;

	(void)argc;
	(void)argv;
	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	n = db_migrate(db, c->sql_dir, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "1000proxy: migrate: %s\n", err);
		db_close(db);
		return 1;
	}
	v = db_schema_version(db);
	printf("schema at version %d (%d migration%s applied)\n", v, n, n == 1 ? "" : "s");
	db_close(db);
	migrate_key(c);
	return v >= PX_SCHEMA_VERSION ? 0 : 1;
}

/*
 * test-migrate: migrate as `migrate` does, then print the connection's
 * state as the runner left it, applied or not (t/15-migrate-rebuild.t:
 * a failed rebuild must still leave foreign keys on):
 * "foreign_keys=1 legacy_alter_table=0 autocommit=1".
 */
int
cmd_test_migrate(const struct conf *c, int argc, char **argv)
{
	char	 err[1024];
	struct db *db;
	int	 n;

	(void)argc;
	(void)argv;
	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	if ((n = db_migrate(db, c->sql_dir, err, sizeof(err))) < 0)
		fprintf(stderr, "1000proxy: migrate: %s\n", err);
	printf("foreign_keys=%d legacy_alter_table=%d autocommit=%d\n",
	    db_query_int(db, sql_mig_fk_enabled), db_query_int(db, sql_mig_legacy_enabled),
	    !db_in_tx(db));
	db_close(db);
	return n < 0 ? 1 : 0;
}

/* seed --demo [--customer]: the demo catalog, once; refuses a database
 * with plans.  The seed is a script (db_exec); a database error ends the
 * command.  --customer adds the demo shopper (seed_customer above), on
 * every run, idempotently.  --demo-panel NAME is seed_panel.c's. */
int
cmd_seed(const struct conf *c, int argc, char **argv)
{
	char	 err[1024], path[4096], *sql;
	struct db *db;
	int64_t	 have;
	struct arena *a = NULL;
	int	 customer = 0, rc;

	if (argc == 3 && strcmp(argv[1], "--demo-panel") == 0)
		return seed_demo_panel(c, argv[2]);
	if (argc == 3 && strcmp(argv[2], "--customer") == 0)
		customer = 1;
	if (argc < 2 || argc > 2 + customer || strcmp(argv[1], "--demo") != 0) {
		fprintf(stderr, "usage: 1000proxy seed --demo [--customer]\n"
		    "       1000proxy seed --demo-panel NAME\n");
		return 2;
	}
	if ((db = db_open(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	if (db_schema_version(db) < PX_SCHEMA_VERSION) {
		fprintf(stderr, "1000proxy: run `1000proxy migrate` first\n");
		db_close(db);
		return 1;
	}
	if (db_prepare_all(db, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: %s\n", err);
		db_close(db);
		return 1;
	}
	if ((have = db_one_int(db, db_q(db, Q_PLANS_TOTAL), 0)) > 0) {
		printf("demo data already present (%lld plans); nothing done\n", (long long)have);
		goto customer;
	}
	snprintf(path, sizeof(path), "%s/demo/seed.sql", c->sql_dir);
	if ((sql = file_read(path)) == NULL) {
		fprintf(stderr, "1000proxy: %s: cannot read\n", path);
		db_close(db);
		return 1;
	}
	if (db_exec_tx(db, sql, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: seed: %s\n", err);
		free(sql);
		db_close(db);
		return 1;
	}
	free(sql);
	printf("demo data loaded\n");
customer:
	rc = 0;
	if (customer) {
		db_set_arena(db, a = arena_new(1024));
		rc = seed_customer(c, db);
	}
	db_close(db);
	if (a != NULL)
		arena_free(a);
	return rc;
}

/*
 * check: the configuration loads (main did that; it says which file), the
 * key file and the database exist (it never makes them), the schema is current,
 * every statement prepares, every template parses, SQLite's integrity
 * and foreign-key checks pass, and every cached wallet balance equals
 * the sum of its ledger.  Prints one line per check; exit 1 on any
 * failure.
 */
int
cmd_check(const struct conf *c, int argc, char **argv)
{
	struct app app;
	char	 err[1024];
	struct stat st;
	long long n;
	int	 bad = 0, key_mode = APP_KEY_LOAD;

	(void)argc;
	(void)argv;
	if (c->path != NULL)
		printf("ok config: %s\n", c->path);
	else
		printf("ok config: no file at %s, defaults\n", PX_CONF_DEFAULT);
	/* A secret in a configuration file others may read (ASVS V2.10.3).
	 * Readable by the group is fine: the package ships it 0640
	 * root:1000proxy for the service to read.  A warning, not a
	 * failure: the shop runs, but the operator should act. */
	if (c->path != NULL && c->secret_in_conf != NULL && stat(c->path, &st) == 0 &&
	    (st.st_mode & S_IROTH) != 0)
		printf("WARN config: %s holds %s and others may read it (mode %04o): chmod o-r %s, "
		    "or move the secret to credentials_file or systemd's LoadCredential= "
		    "(1000proxy.conf(5))\n", c->path, c->secret_in_conf,
		    (unsigned)(st.st_mode & 07777), c->path);
	/*
	 * check creates nothing the service will own: run as root, it
	 * would make them root's, and the service could not read them
	 * (the key file) or write them (the database).  It says how to
	 * make them as the service user instead.
	 */
	if (lstat(c->key_file, &st) != 0 && errno == ENOENT) {
		printf("FAIL key file: no file at %s; create it as the service user: %s\n", c->key_file,
		    geteuid() == 0 ? "runuser -u 1000proxy -- 1000proxy key init" : "1000proxy key init");
		key_mode = APP_KEY_NONE;
		bad = 1;
	}
	if (stat(c->database, &st) != 0 && errno == ENOENT) {
		printf("FAIL database: no file at %s; create it as the service user: %s\n", c->database,
		    geteuid() == 0 ? "runuser -u 1000proxy -- 1000proxy migrate" : "1000proxy migrate");
		return 1;
	}
	if (app_init_key(&app, c, key_mode, err, sizeof(err)) != 0) {
		printf("FAIL start-up: %s\n", err);
		app_fini(&app);		/* a failed app_init leaves the connection open */
		return 1;
	}
	if (key_mode == APP_KEY_LOAD)
		printf("ok key file %s\n", c->key_file);
	printf("ok schema version %d, %d statements, templates\n", db_schema_version(app.db), (int)Q__MAX);
	n = db_integrity_problems(app.db);
	printf("%s integrity_check\n", n == 0 ? "ok" : "FAIL");
	bad |= n != 0;
	n = db_foreign_key_problems(app.db);
	printf("%s foreign_key_check\n", n == 0 ? "ok" : "FAIL");
	bad |= n != 0;
	n = db_one_int(app.db, db_q(app.db, Q_CHECK_WALLETS), -1);
	printf("%s wallet balances equal their ledgers%s\n", n == 0 ? "ok" : "FAIL",
	    n > 0 ? " (some differ)" : "");
	bad |= n != 0;
	app_fini(&app);
	return bad ? 1 : 0;
}
