/*
 * cmd_gateway.c: `1000proxy gateway`, the operator's (and the tests')
 * way to configure the payment gateways; staff have
 * /admin/settings/payments with the same rules.
 *
 *   gateway list                 each gateway: enabled, mode, API base,
 *                                checkout origin, and which secrets are
 *                                set (by their hint, never the value)
 *   gateway set NAME             seal the first line of standard input as
 *                                the secret NAME (stripe.secret_key, ...;
 *                                gateway.h lists them); an empty line
 *                                deletes it
 *   gateway check NAME           whether the secret NAME opens with this
 *                                key file ("opens, N bytes"; exit 1 when
 *                                it is not set or does not open: a key
 *                                file replaced, a row copied)
 *   gateway enable|disable GW    payments.GW.enabled
 *   gateway mode GW test|live    payments.GW.mode
 *
 * Each change writes one audit row (actor "cli") naming what changed,
 * never a secret's value.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "gateway.h"
#include "seal.h"
#include "util.h"

static const char usage[] =
    "usage: 1000proxy gateway list\n"
    "       1000proxy gateway set NAME          (the value on standard input)\n"
    "       1000proxy gateway check NAME\n"
    "       1000proxy gateway enable|disable stripe|paypal|nowpayments\n"
    "       1000proxy gateway mode stripe|paypal|nowpayments test|live\n";

/* The secrets a gateway has: what `set` accepts. */
static const char *const secret_names[] = {
	"stripe.secret_key", "stripe.webhook_secret",
	"paypal.client_id", "paypal.client_secret", "paypal.webhook_id",
	"nowpayments.api_key", "nowpayments.ipn_secret",
	NULL
};

static int
known_secret(const char *name)
{
	const char *const *p;

	for (p = secret_names; *p != NULL; p++)
		if (strcmp(*p, name) == 0)
			return 1;
	return 0;
}

static int
gw_list(struct db *db, const struct conf *c)
{
	struct stmt *st;
	int	 i;

	for (i = 0; i < GW__MAX; i++)
		printf("%-12s %-8s %-5s api %s  checkout %s\n", gw_name[i],
		    gw_enabled(db, (enum gw_id)i) ? "enabled" : "disabled",
		    gw_live(db, (enum gw_id)i) ? "live" : "test",
		    gw_api_base(db, c, (enum gw_id)i), gw_checkout_origin(db, c, (enum gw_id)i));
	st = db_q(db, Q_GWSECRET_LIST);
	while (db_step(db, st) == DB_ROW) {
		const char *hint = db_text(db, st, 1);

		printf("secret %-24s set%s%s\n", db_text(db, st, 0), *hint ? ", ends in " : "", hint);
	}
	return 0;
}

int
cmd_gateway(const struct conf *c, int argc, char **argv)
{
	static const struct actor cli = { "cli", 0, NULL, NULL };
	unsigned char key[SEAL_KEY_LEN];
	char	 err[512], value[4096];
	struct arena *a;
	struct db *db;
	int	 rc = 1, id;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	db_set_arena(db, a = arena_new(4096));
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		rc = gw_list(db, c);
		goto out;
	}
	if (strcmp(argv[1], "set") == 0 && argc == 3) {
		if (!known_secret(argv[2])) {
			fprintf(stderr, "1000proxy: no secret is called \"%s\"; one of: stripe.secret_key, "
			    "stripe.webhook_secret, paypal.client_id, paypal.client_secret, "
			    "paypal.webhook_id, nowpayments.api_key, nowpayments.ipn_secret\n", argv[2]);
			goto out;
		}
		cmd_read_secret("Value: ", value, sizeof(value));
		if (strlen(value) > 2048) {
			fprintf(stderr, "1000proxy: a secret is at most 2048 bytes\n");
			goto wipe;
		}
		if (seal_key_load(c->key_file, key, 1, err, sizeof(err)) != 0) {
			fprintf(stderr, "1000proxy: %s\n", err);
			goto wipe;
		}
		db_begin(db);
		if (gw_secret_put(db, key, argv[2], value, 0) != 0) {
			db_rollback(db);
			fprintf(stderr, "1000proxy: sealing the secret failed\n");
			goto wipe;
		}
		audit(db, &cli, *value ? "gateway.secret_set" : "gateway.secret_deleted",
		    arena_printf(a, "gateway_secret:%s", argv[2]), "by the command line");
		db_commit(db);
		rc = 0;
wipe:
		explicit_bzero(value, sizeof(value));
		explicit_bzero(key, sizeof(key));
		goto out;
	}
	if (strcmp(argv[1], "check") == 0 && argc == 3 && known_secret(argv[2])) {
		const char *v;

		if (seal_key_load(c->key_file, key, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "1000proxy: %s\n", err);
			goto out;
		}
		v = gw_secret(db, key, argv[2]);
		explicit_bzero(key, sizeof(key));
		if (v == NULL) {
			printf("%s is not set, or does not open with this key file\n", argv[2]);
			goto out;
		}
		printf("opens, %zu bytes\n", strlen(v));
		explicit_bzero((char *)v, strlen(v));
		rc = 0;
		goto out;
	}
	if ((strcmp(argv[1], "enable") == 0 || strcmp(argv[1], "disable") == 0) && argc == 3 &&
	    (id = gw_parse(argv[2])) >= 0) {
		int	 on = strcmp(argv[1], "enable") == 0;
		struct stmt *st;

		db_begin(db);
		st = db_q(db, Q_SETTING_PUT);
		db_bind_text(db, st, ":key", arena_printf(a, "payments.%s.enabled", gw_name[id]));
		db_bind_text(db, st, ":value", on ? "1" : "0");
		db_step(db, st);
		audit(db, &cli, on ? "gateway.enabled" : "gateway.disabled",
		    arena_printf(a, "gateway:%s", gw_name[id]), "by the command line");
		db_commit(db);
		rc = 0;
		goto out;
	}
	if (strcmp(argv[1], "mode") == 0 && argc == 4 && (id = gw_parse(argv[2])) >= 0 &&
	    (strcmp(argv[3], "test") == 0 || strcmp(argv[3], "live") == 0)) {
		struct stmt *st;

		db_begin(db);
		st = db_q(db, Q_SETTING_PUT);
		db_bind_text(db, st, ":key", arena_printf(a, "payments.%s.mode", gw_name[id]));
		db_bind_text(db, st, ":value", argv[3]);
		db_step(db, st);
		audit(db, &cli, "gateway.mode", arena_printf(a, "gateway:%s", gw_name[id]), "%s", argv[3]);
		db_commit(db);
		rc = 0;
		goto out;
	}
	fputs(usage, stderr);
	rc = 2;
out:
	db_close(db);
	arena_free(a);
	return rc;
}
