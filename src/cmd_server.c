/*
 * cmd_server.c: `1000proxy server`, the operator's view of the 3X-UI
 * panels (the staff's is admin_servers.c, with the same rules).
 *
 *   server add --name NAME --country-code CC --country COUNTRY
 *              --url PANEL_URL --user USER --host PUBLIC_HOST
 *              [--city CITY] [--category ID] [--brand ID] [--capacity N]
 *              [--max-concurrency N] [--no-tls-verify] [--token]
 *                                  the panel password (or, with --token,
 *                                  its API token) is the first line of
 *                                  standard input, never an argument (argv
 *                                  is visible to every user in ps);
 *                                  prints the new server's id
 *   server list                    a table of every server
 *
 *   server test ID [--no-wait]     enqueue a server_test job (Test connection)
 *   server sync ID [--no-wait]     enqueue a server_sync job (Sync inbounds)
 *                                  as the web's buttons do (audited, actor
 *                                  "cli"); by default wait for the work
 *                                  daemon to finish it and print its result
 *                                  (JSON); exit 1 when it failed or did not
 *                                  finish within 3 * panel_timeout + 30 s
 *
 * The secret is sealed (seal.c) under the key file
 * with "server:ID:panel_password" (or ":panel_token") as associated data,
 * as admin_servers.c does and job_server_test.c opens it.  add writes one
 * audit row (actor "cli") naming the fields, never the secret.
 *
 *   server pin ID                  show the panel's current certificate key
 *                                  as a pin (sha256//BASE64), unchecked,
 *                                  for the operator to compare with the
 *                                  panel's own before trusting it
 *   server pin ID --set PIN        pin it: the panel's key must match at
 *                                  every call (its chain and name may not)
 *   server pin ID --ca PEM_FILE    check its chain against this CA (the
 *                                  panel's self-signed certificate) instead
 *   server pin ID --clear          neither (the system's CAs); each change
 *                                  writes one audit row, actor "cli"
 *
 *   server test-open ID password|token   (test_routes = yes only) 0 when
 *                                  the stored secret opens with this row's
 *                                  identity and equals standard input's
 *                                  first line, 1 when it does not open, 3
 *                                  when it opens to something else; prints
 *                                  nothing of it (t/86-admin-servers.t)
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "panel_default.h"
#include "seal.h"
#include "spool.h"
#include "util.h"
#include "valid.h"
#include "xui.h"
#include "xui_job.h"

#define SECRET_MAX	1000

static const char usage[] =
    "usage: 1000proxy server add --name NAME --country-code CC --country COUNTRY\n"
    "                            --url PANEL_URL --user USER --host PUBLIC_HOST\n"
    "                            [--city CITY] [--category ID] [--brand ID] [--capacity N]\n"
    "                            [--max-concurrency N] [--no-tls-verify] [--token]\n"
    "                            (the password, or with --token the API token, on stdin)\n"
    "       1000proxy server list\n"
    "       1000proxy server test|sync ID [--no-wait]\n"
    "       1000proxy server pin ID [--set sha256//BASE64 | --ca PEM_FILE | --clear]\n";

/* The first line of standard input into out, without echo on a tty
 * (asking with prompt there); whether it was a tty.  `user add` and
 * `gateway set` read theirs the same way (cmd.h). */
int
cmd_read_secret(const char *prompt, char *out, size_t n)
{
	struct termios old, quiet;
	int	 tty = isatty(0);

	if (tty) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(0, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &quiet);
	}
	if (fgets(out, (int)n, stdin) == NULL)
		out[0] = '\0';
	if (tty) {
		tcsetattr(0, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	out[strcspn(out, "\r\n")] = '\0';
	return tty;
}

static struct db *
open_db(const struct conf *c, struct arena **a)
{
	char	 err[512];
	struct db *db;

	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return NULL;
	}
	db_set_arena(db, *a = arena_new(4096));
	return db;
}

static int
fail(const char *msg)
{
	fprintf(stderr, "1000proxy: %s\n", msg);
	return 1;
}

/* An optional positive id or count option: 0 when absent. */
static int
opt_int(const char *v, int64_t min, int64_t max, int64_t *out)
{
	*out = 0;
	return v == NULL || valid_int(v, min, max, out);
}

static int
server_add(const struct conf *c, int argc, char **argv)
{
	static const struct actor cli = { "cli", 0, NULL, NULL };
	const char *name = NULL, *cc = NULL, *country = NULL, *city = "", *url = NULL, *user = NULL;
	const char *host = NULL, *cat = NULL, *brand = NULL, *cap = NULL, *maxc = "2";
	unsigned char key[SEAL_KEY_LEN], blob[SEAL_LEN(SECRET_MAX)];
	char	 secret[SECRET_MAX + 2], err[1024], ccu[3], *base;
	int64_t	 cat_id, brand_id, capacity, maxc_n, id;
	int	 i, tls = 1, token = 0, rc = 1;
	struct arena *a;
	struct stmt *st;
	struct db *db;
	size_t	 n;

	for (i = 2; i < argc; i++) {
		const char **o = NULL;

		if (strcmp(argv[i], "--no-tls-verify") == 0) {
			tls = 0;
			continue;
		}
		if (strcmp(argv[i], "--token") == 0) {
			token = 1;
			continue;
		}
		if (strcmp(argv[i], "--name") == 0) o = &name;
		else if (strcmp(argv[i], "--country-code") == 0) o = &cc;
		else if (strcmp(argv[i], "--country") == 0) o = &country;
		else if (strcmp(argv[i], "--city") == 0) o = &city;
		else if (strcmp(argv[i], "--url") == 0) o = &url;
		else if (strcmp(argv[i], "--user") == 0) o = &user;
		else if (strcmp(argv[i], "--host") == 0) o = &host;
		else if (strcmp(argv[i], "--category") == 0) o = &cat;
		else if (strcmp(argv[i], "--brand") == 0) o = &brand;
		else if (strcmp(argv[i], "--capacity") == 0) o = &cap;
		else if (strcmp(argv[i], "--max-concurrency") == 0) o = &maxc;
		if (o == NULL || i + 1 >= argc) {
			fputs(usage, stderr);
			return 2;
		}
		*o = argv[++i];
	}
	if (name == NULL || cc == NULL || country == NULL || url == NULL || user == NULL || host == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	/* The same rules as the staff's form (admin_servers.c). */
	if (*name == '\0' || !valid_line(name, 120))
		return fail("the name is one line of 1 to 120 characters");
	if (strlen(cc) != 2 || strspn(cc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != 2)
		return fail("the country code is two letters, such as DE");
	snprintf(ccu, sizeof(ccu), "%c%c", cc[0] & ~0x20, cc[1] & ~0x20);
	if (*country == '\0' || !valid_line(country, 80))
		return fail("the country is one line of 1 to 80 characters");
	if (!valid_line(city, 80))
		return fail("the city is one line of at most 80 characters");
	if (!valid_panel_url(url) || strchr(url, '?') != NULL)
		return fail("the panel URL is https:// (http:// only on loopback: 127.0.0.1, ::1, "
		    "localhost), host, port and web base path, "
		    "without a user, query or fragment");
	if (*user == '\0' || !valid_line(user, 200))
		return fail("the panel username is one line of 1 to 200 characters");
	if (!valid_host(host))
		return fail("the public host is a DNS name or an IP address");
	if (!opt_int(cat, 1, INT64_MAX, &cat_id) || !opt_int(brand, 1, INT64_MAX, &brand_id))
		return fail("--category and --brand take an id");
	if (!opt_int(cap, 1, 1000000, &capacity))
		return fail("the capacity is a whole number of clients from 1 to 1000000");
	if (!valid_int(maxc, 1, 16, &maxc_n))
		return fail("the maximum of concurrent panel calls is 1 to 16");
	cmd_read_secret("Panel password or token: ", secret, sizeof(secret));
	if (*secret == '\0' || strlen(secret) > SECRET_MAX) {
		explicit_bzero(secret, sizeof(secret));
		return fail("give the panel password (or with --token the API token) on standard input, "
		    "1 to 1000 bytes");
	}
	/* ASVS V2.10.2: never store a panel's factory sign-in. */
	if (!token && panel_creds_default(user, secret, strlen(secret))) {
		explicit_bzero(secret, sizeof(secret));
		return fail(PANEL_DEFAULT_MSG);
	}
	if (seal_key_load(c->key_file, key, 1, err, sizeof(err)) != 0) {
		explicit_bzero(secret, sizeof(secret));
		return fail(err);
	}
	if ((db = open_db(c, &a)) == NULL)
		goto out_key;
	/* {base}: the stored URL ends in exactly one '/'. */
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	base = arena_printf(a, "%.*s/", (int)n, url);
	db_begin(db);
	st = db_q(db, Q_ASRV_NAME_TAKEN);
	db_bind_text(db, st, ":name", name);
	db_bind_int(db, st, ":id", 0);
	if (db_step(db, st) == DB_ROW) {
		fprintf(stderr, "1000proxy: another server is called \"%s\"\n", name);
		goto out;
	}
	db_reset(st);
	if (cat_id > 0) {
		st = db_q(db, Q_ACAT_CATEGORY_GET);
		db_bind_int(db, st, ":id", cat_id);
		if (db_step(db, st) != DB_ROW) {
			fprintf(stderr, "1000proxy: no category %" PRId64 "\n", cat_id);
			goto out;
		}
		db_reset(st);
	}
	if (brand_id > 0) {
		st = db_q(db, Q_ACAT_BRAND_GET);
		db_bind_int(db, st, ":id", brand_id);
		if (db_step(db, st) != DB_ROW) {
			fprintf(stderr, "1000proxy: no brand %" PRId64 "\n", brand_id);
			goto out;
		}
		db_reset(st);
	}
	st = db_q(db, Q_ASRV_INSERT);
	db_bind_text(db, st, ":name", name);
	db_bind_text(db, st, ":cc", ccu);
	db_bind_text(db, st, ":country", country);
	db_bind_text(db, st, ":city", city);
	if (cat_id > 0)
		db_bind_int(db, st, ":category", cat_id);
	else
		db_bind_null(db, st, ":category");
	if (brand_id > 0)
		db_bind_int(db, st, ":brand", brand_id);
	else
		db_bind_null(db, st, ":brand");
	db_bind_text(db, st, ":url", base);
	db_bind_text(db, st, ":user", user);
	db_bind_text(db, st, ":host", host);
	db_bind_int(db, st, ":tls", tls);
	if (capacity > 0)
		db_bind_int(db, st, ":capacity", capacity);
	else
		db_bind_null(db, st, ":capacity");
	db_bind_int(db, st, ":maxc", maxc_n);
	db_step(db, st);
	id = db_last_id(db);
	if (seal(blob, sizeof(blob), &n, key, secret, strlen(secret),
	    arena_printf(a, "server:%" PRId64 ":%s", id, token ? "panel_token" : "panel_password")) != 0) {
		fprintf(stderr, "1000proxy: sealing the secret failed\n");
		goto out;
	}
	st = db_q(db, token ? Q_ASRV_SET_TOKEN : Q_ASRV_SET_PASSWORD);
	db_bind_blob(db, st, ":sealed", blob, n);
	db_bind_int(db, st, ":id", id);
	db_step(db, st);
	audit(db, &cli, "server.created", arena_printf(a, "server:%" PRId64, id),
	    "name: \"%s\"; country_code: %s; panel_url: \"%s\"; public_host: %s; tls_verify: %d; "
	    "%s: set; via command line", name, ccu, base, host, tls,
	    token ? "panel_token" : "panel_password");
	db_commit(db);
	printf("%" PRId64 "\n", id);
	rc = 0;
out:
	db_rollback(db);
	db_close(db);
	arena_free(a);
out_key:
	explicit_bzero(blob, sizeof(blob));
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(key, sizeof(key));
	return rc;
}

static int
server_list(const struct conf *c)
{
	struct arena *a;
	struct stmt *st;
	struct db *db;

	if ((db = open_db(c, &a)) == NULL)
		return 1;
	printf("%-5s %-24s %-11s %-7s %-28s %-9s %-4s %s\n", "ID", "NAME", "STATE", "HEALTH",
	    "LOCATION", "CAPACITY", "TLS", "PANEL");
	st = db_q(db, Q_ASRV_LIST);
	while (db_step(db, st) == DB_ROW) {
		printf("%-5" PRId64 " %-24s %-11s %-7s %-28s %-9s %-4s %s\n", db_int(st, 0),
		    db_text(db, st, 1), db_text(db, st, 7), db_text(db, st, 8),
		    arena_printf(a, "%s %s%s%s", db_text(db, st, 2), db_text(db, st, 3),
		    *db_text(db, st, 4) ? ", " : "", db_text(db, st, 4)),
		    db_is_null(st, 10) ? "unlimited" : arena_printf(a, "%" PRId64, db_int(st, 10)),
		    db_int(st, 9) ? "on" : "OFF", db_text(db, st, 11));
	}
	db_close(db);
	arena_free(a);
	return 0;
}

/* Test mode only: does the stored secret open with its own row's
 * identity, and is it standard input's first line?  Prints nothing. */
static int
server_test_open(const struct conf *c, int argc, char **argv)
{
	unsigned char key[SEAL_KEY_LEN], pt[SECRET_MAX + SEAL_OVERHEAD];
	char	 want[SECRET_MAX + 2], err[1024];
	const void *blob;
	struct arena *a;
	struct stmt *st;
	struct db *db;
	int64_t	 id;
	size_t	 n, len = 0;
	int	 col, rc = 1;

	if (!c->test_routes || argc != 4 || parse_i64(argv[2], &id) != 0 ||
	    (strcmp(argv[3], "password") != 0 && strcmp(argv[3], "token") != 0))
		return 2;
	col = strcmp(argv[3], "token") == 0;
	cmd_read_secret("Secret: ", want, sizeof(want));
	if (seal_key_load(c->key_file, key, 0, err, sizeof(err)) != 0)
		return fail(err);
	if ((db = open_db(c, &a)) == NULL)
		return 1;
	st = db_q(db, Q_ASRV_SECRETS);
	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) == DB_ROW && !db_is_null(st, col)) {
		blob = db_blob(st, col, &n);
		if (unseal(pt, sizeof(pt), &len, key, blob, n,
		    arena_printf(a, "server:%" PRId64 ":panel_%s", id, argv[3])) == 0)
			rc = len == strlen(want) && memcmp(pt, want, len) == 0 ? 0 : 3;
	}
	db_close(db);
	arena_free(a);
	explicit_bzero(pt, sizeof(pt));
	explicit_bzero(want, sizeof(want));
	explicit_bzero(key, sizeof(key));
	return rc;
}

/* `server test|sync ID [--no-wait]`: enqueue, wait, print the result. */
static int
server_job(const struct conf *c, int argc, char **argv)
{
	static const struct actor cli = { "cli", 0, NULL, NULL };
	const char *kind = strcmp(argv[1], "test") == 0 ? "server_test" : "server_sync";
	struct arena *a;
	struct stmt *st;
	struct db *db;
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	int64_t	 id, job, waited, limit = (3 * c->panel_timeout + 30) * 5;
	int	 wait = 1, rc = 1, found;

	if (argc < 3 || argc > 4 || valid_int(argv[2], 1, INT64_MAX, &id) != 1 ||
	    (argc == 4 && strcmp(argv[3], "--no-wait") != 0)) {
		fputs(usage, stderr);
		return 2;
	}
	wait = argc == 3;
	if ((db = open_db(c, &a)) == NULL)
		return 1;
	db_begin(db);
	st = db_q(db, Q_ASRV_GET);
	db_bind_int(db, st, ":id", id);
	found = db_step(db, st) == DB_ROW;
	db_reset(st);
	if (!found) {
		db_rollback(db);
		db_close(db);
		arena_free(a);
		fprintf(stderr, "1000proxy: no server %" PRId64 "\n", id);
		return 1;
	}
	job = xui_job_enqueue(db, kind, id);
	audit(db, &cli, strcmp(kind, "server_test") == 0 ? "server.test" : "server.sync",
	    arena_printf(a, "server:%" PRId64, id), "job: %" PRId64 "; via command line", job);
	db_commit(db);
	spool_wake(c, job, kind);
	if (!wait) {
		printf("%" PRId64 "\n", job);
		rc = 0;
		goto out;
	}
	for (waited = 0; waited < limit; waited++) {
		const char *state;

		st = db_q(db, Q_XUI_JOB_RESULT);
		db_bind_int(db, st, ":id", job);
		if (db_step(db, st) != DB_ROW) {
			db_reset(st);
			break;
		}
		state = db_text(db, st, 0);
		if (strcmp(state, "done") == 0) {
			const char *res = db_text(db, st, 1);

			printf("%s\n", res);
			/* Both kinds say "ok":true when the panel answered as asked. */
			rc = strstr(res, "\"ok\":true") != NULL ? 0 : 1;
			db_reset(st);
			goto out;
		}
		if (strcmp(state, "failed") == 0) {
			fprintf(stderr, "1000proxy: job %" PRId64 " failed: %s\n", job, db_text(db, st, 2));
			db_reset(st);
			goto out;
		}
		db_reset(st);
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "1000proxy: job %" PRId64 " did not finish in time (is `1000proxy work` "
	    "running?)\n", job);
out:
	db_close(db);
	arena_free(a);
	return rc;
}

/* `server pin` (issue 16, ASVS V9.2.1): pinning replaces turning TLS
 * verification off for a panel with a self-signed certificate. */
static int
server_pin(const struct conf *c, int argc, char **argv)
{
	static const struct actor cli = { "cli", 0, NULL, NULL };
	struct arena *a;
	struct stmt *st;
	struct db *db;
	const char *url, *pin = "", *ca = "", *what;
	char	 got[128], err[1024];
	int64_t	 id;
	int	 verify;

	if (argc < 3 || valid_int(argv[2], 1, INT64_MAX, &id) != 1 ||
	    !(argc == 3 || (argc == 4 && strcmp(argv[3], "--clear") == 0) ||
	    (argc == 5 && (strcmp(argv[3], "--set") == 0 || strcmp(argv[3], "--ca") == 0)))) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc == 5 && strcmp(argv[3], "--set") == 0) {
		pin = argv[4];
		if (strncmp(pin, "sha256//", 8) != 0 || strlen(pin) != 52 ||
		    strspn(pin + 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != 44)
			return fail("the pin is sha256// and 44 characters of base64, as `server pin ID` shows it");
	}
	if ((db = open_db(c, &a)) == NULL)
		return 1;
	if (argc == 5 && strcmp(argv[3], "--ca") == 0) {
		struct buf b;
		char	 chunk[4096];
		size_t	 n;
		FILE	*f;

		if ((f = fopen(argv[4], "r")) == NULL) {
			fprintf(stderr, "1000proxy: %s: cannot be read\n", argv[4]);
			db_close(db);
			arena_free(a);
			return 1;
		}
		buf_init(&b);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= 65536)
			buf_add(&b, chunk, n);
		fclose(f);
		ca = arena_strndup(a, b.p != NULL ? b.p : "", b.len);
		buf_free(&b);
		if (strlen(ca) > 65536 || strstr(ca, "-----BEGIN CERTIFICATE-----") == NULL) {
			db_close(db);
			arena_free(a);
			return fail("the CA file is one or more PEM certificates, at most 64 KiB");
		}
	}
	st = db_q(db, Q_SRV_PIN_GET);
	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		db_close(db);
		arena_free(a);
		fprintf(stderr, "1000proxy: no server %" PRId64 "\n", id);
		return 1;
	}
	url = arena_strdup(a, db_text(db, st, 0));
	verify = db_int(st, 1) != 0;
	db_reset(st);
	if (argc == 3) {
		db_close(db);
		if (xui_fetch_pin(c, url, got, sizeof(got), err, sizeof(err)) != 0) {
			fprintf(stderr, "1000proxy: %s: %s\n", url, err);
			arena_free(a);
			return 1;
		}
		printf("%s\n", got);
		fprintf(stderr, "Compare it with the panel's own (on the panel's host: openssl x509 "
		    "-in CERT -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst "
		    "-sha256 -binary | base64), then trust it with\n  1000proxy server pin %"
		    PRId64 " --set %s\n", id, got);
		arena_free(a);
		return 0;
	}
	what = *pin ? arena_printf(a, "pinned: %s", pin) : *ca ? "CA: set" : "pin and CA: cleared";
	db_begin(db);
	st = db_q(db, Q_SRV_PIN_SET);
	db_bind_text(db, st, ":pin", pin);
	db_bind_text(db, st, ":ca", ca);
	db_bind_int(db, st, ":now", now_unix());
	db_bind_int(db, st, ":id", id);
	db_step(db, st);
	db_reset(st);
	audit(db, &cli, "server.tls_pin", arena_printf(a, "server:%" PRId64, id), "%s; via command line",
	    what);
	db_commit(db);
	if (!verify && !*pin && !*ca)
		fprintf(stderr, "1000proxy: server %" PRId64 " had TLS verification off: its panel "
		    "calls stay refused until it is pinned\n", id);
	db_close(db);
	arena_free(a);
	return 0;
}

int
cmd_server(const struct conf *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "pin") == 0)
		return server_pin(c, argc, argv);
	if (argc >= 2 && (strcmp(argv[1], "test") == 0 || strcmp(argv[1], "sync") == 0))
		return server_job(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return server_add(c, argc, argv);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return server_list(c);
	if (argc >= 2 && strcmp(argv[1], "test-open") == 0)
		return server_test_open(c, argc, argv);
	fputs(usage, stderr);
	return 2;
}
