/*
 * main.c: the `1000proxy` program: option parsing and the subcommand
 * table.  See 1000proxy(8).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd.h"
#include "conf.h"
#include "pool.h"

static int
usage(FILE *f)
{
	fprintf(f,
	    "usage: 1000proxy [-c config] command [args]\n"
	    "\n"
	    "commands:\n"
	    "  serve             run the FastCGI worker pool (foreground)\n"
	    "  migrate           bring the database schema up to date\n"
	    "  seed --demo [--customer]  load the demo catalog into an empty database\n"
	    "                    (--customer: and the demo shopper, idempotently)\n"
	    "  seed --demo-panel NAME  bind the demo plans to the synced live panel NAME\n"
	    "  check             validate the configuration, the key file and the database\n"
	    "  key init          create the key file (as the service user; never replaces one)\n"
	    "  config            print the configuration with every default and its help\n"
	    "  request           answer one CGI request from the environment and stdin\n"
	    "  user add [--role ROLE] [--name NAME] EMAIL\n"
	    "                    create a staff account (password on stdin)\n"
	    "  user list         list staff accounts\n"
	    "  work              run the job spool daemon (foreground)\n"
	    "  cron TASK         run a batch task: reconcile, prune\n"
	    "  mail-test ADDRESS enqueue a test email to ADDRESS\n"
	    "  job list|show|retry|discard\n"
	    "                    list the job rows; retry a failed job, discard a pending one\n"
	    "  gateway list|set|enable|disable|mode\n"
	    "                    configure the payment gateways (secrets on stdin)\n"
	    "  backup [--with-key] [DIR]\n"
	    "                    copy the database and the spool while the service runs\n"
	    "  restore [--force] DIR\n"
	    "                    restore a backup into a stopped installation\n"
	    "  --help, --version\n"
	    "\n"
	    "The configuration file defaults to %s, or $PX_CONF.\n",
	    PX_CONF_DEFAULT);
	return f == stderr ? 2 : 0;
}

static int
cmd_config(const struct conf *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	conf_print(c, 1);
	return 0;
}

struct cmd {
	const char	*name;
	int		(*fn)(const struct conf *, int, char **);
};

static const struct cmd cmds[] = {
	{ "migrate", cmd_migrate },
	{ "seed", cmd_seed },
	{ "check", cmd_check },
	{ "key", cmd_key },
	{ "config", cmd_config },
	{ "request", cmd_request },
	{ "user", cmd_user },
	{ "server", cmd_server },
	{ "work", cmd_work },
	{ "cron", cmd_cron },
	{ "mail-test", cmd_mail_test },
	{ "job", cmd_job },
	{ "gateway", cmd_gateway },
	{ "backup", cmd_backup },	/* backup16 */
	{ "restore", cmd_restore },
	{ "test-unit", cmd_test_unit },
	{ "test-arena", cmd_test_arena },
	{ "test-views", cmd_test_views },
	{ "test-render", cmd_test_render },
	{ "test-html", cmd_test_html },
	{ "test-routes", cmd_test_routes },
	{ "test-parse", cmd_test_parse },
	{ "test-spool", cmd_test_spool },
	{ "test-migrate", cmd_test_migrate },
	{ "test-commerce", cmd_test_commerce },
	{ "test-xui", cmd_test_xui },
	{ "test-link", cmd_test_link },
	{ "test-stripe", cmd_test_stripe },
	{ "test-paypal", cmd_test_paypal },
	{ "test-nowpay", cmd_test_nowpay },
	{ "test-keys", cmd_test_keys },
};

int
main(int argc, char **argv)
{
	const char *conf_path = getenv("PX_CONF");
	struct conf c;
	char	 err[1024];
	size_t	 i;
	int	 ch, rc;

	/*
	 * Before any file is made: the database (and the -wal and -shm
	 * SQLite makes with the database's mode), the pid file, logs and
	 * spool files hold customer data and must not be world-readable,
	 * whatever umask the caller (a shell, cron, an init script) hands
	 * down.  Group read stays, for an operator's group; the key file
	 * is 0600 regardless (seal.c).
	 */
	umask(027);
	/* Before any other OpenSSL call: we need only the default
	 * provider's digests, MACs, AES-GCM and the DRBG.  Reading
	 * openssl.cnf and loading every error string costs each process
	 * about 0.6 MB of resident memory (the work daemon's libcurl still
	 * reads the config when it starts TLS). */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);

	/* getopt(3) has no long options: take the two we have first. */
	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		return usage(stdout);
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("1000proxy %s\n", PACKAGE_VERSION);
		return 0;
	}
	while ((ch = getopt(argc, argv, "+c:hV")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'V':
			printf("1000proxy %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage(stderr);
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[0], "--version") == 0) {
		printf("1000proxy %s\n", PACKAGE_VERSION);
		return 0;
	}
	/*
	 * Only a default file that is not there at all means "the
	 * defaults": one that is there but unreadable (mode, owner, a
	 * dangling link) stops every command naming it and the reason,
	 * instead of running silently on the defaults.
	 */
	if (conf_path == NULL) {
		struct stat st;

		if (lstat(PX_CONF_DEFAULT, &st) == 0 || errno != ENOENT)
			conf_path = PX_CONF_DEFAULT;
	}
	if (strcmp(argv[0], "serve") == 0)
		return pool_serve(conf_path, 1);
	if (conf_load(&c, conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0) {
			rc = cmds[i].fn(&c, argc, argv);
			conf_free(&c);
			return rc;
		}
	fprintf(stderr, "1000proxy: unknown command \"%s\"\n", argv[0]);
	conf_free(&c);
	return usage(stderr);
}
