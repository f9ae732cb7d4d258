/*
 * cmd.h: the subcommands of `1000proxy` (main.c dispatches to these).
 * Each returns the process exit status.
 */
#ifndef PX_CMD_H
#define PX_CMD_H

#include <stddef.h>

struct conf;

int	cmd_migrate(const struct conf *, int argc, char **argv);
int	cmd_seed(const struct conf *, int argc, char **argv);
int	cmd_check(const struct conf *, int argc, char **argv);
int	cmd_request(const struct conf *, int argc, char **argv);
int	cmd_user(const struct conf *, int argc, char **argv);
int	cmd_server(const struct conf *, int argc, char **argv);
int	cmd_work(const struct conf *, int argc, char **argv);
int	cmd_cron(const struct conf *, int argc, char **argv);
/* cron tokens: API token expiry reminders (cron_tokens.c). */
int	cron_tokens(const struct conf *, int argc, char **argv);
int	cmd_mail_test(const struct conf *, int argc, char **argv);
int	cmd_job(const struct conf *, int argc, char **argv);
int	cmd_gateway(const struct conf *, int argc, char **argv);
int	cmd_key(const struct conf *, int argc, char **argv);
/* The first line of standard input into out (n bytes), without echo on
 * a terminal, where it asks with prompt; 1 when it was a terminal.  A
 * secret never comes as an argument (argv is visible to every user in
 * ps).  In cmd_server.c. */
int	cmd_read_secret(const char *prompt, char *out, size_t n);
/* Hidden test entry points (t/ drives them). */
int	cmd_test_unit(const struct conf *, int argc, char **argv);
int	cmd_test_arena(const struct conf *, int argc, char **argv);
int	cmd_test_keys(const struct conf *, int argc, char **argv);
int	cmd_test_views(const struct conf *, int argc, char **argv);
int	cmd_test_render(const struct conf *, int argc, char **argv);
int	cmd_test_html(const struct conf *, int argc, char **argv);
int	cmd_test_routes(const struct conf *, int argc, char **argv);
int	cmd_test_parse(const struct conf *, int argc, char **argv);
int	cmd_test_spool(const struct conf *, int argc, char **argv);
int	cmd_test_migrate(const struct conf *, int argc, char **argv);
int	cmd_test_commerce(const struct conf *, int argc, char **argv);
int	cmd_test_xui(const struct conf *, int argc, char **argv);
int	cmd_test_link(const struct conf *, int argc, char **argv);
int	cmd_test_stripe(const struct conf *, int argc, char **argv);
/* test-unit SQLDIR: payment.c's cases on a throwaway database migrated
 * from SQLDIR (cmd_test_payment.c), numbered on (tap.h); 0 or -1. */
int	test_payment(const char *sqldir);
/* test-unit SQLDIR: refund.c's and job_refund.c's cases the same way
 * (cmd_test_refund.c). */
int	test_refund(const char *sqldir);
int	cmd_test_paypal(const struct conf *, int argc, char **argv);
/* NOWPayments (cmd_test_nowpay.c): test-nowpay, and test-unit's part. */
int	cmd_test_nowpay(const struct conf *, int argc, char **argv);
void	test_unit_nowpay(void);
/* seed --demo-panel NAME (seed_panel.c): the demo's plans onto its live panel. */
int	seed_demo_panel(const struct conf *, const char *name);

/* backup16 (cmd_backup.c): backup, restore, and cron backup. */
struct db;
int	cmd_backup(const struct conf *, int argc, char **argv);
int	cmd_restore(const struct conf *, int argc, char **argv);
int	cron_backup(const struct conf *, int argc, char **argv);
/* One unseal per sealed column of db under key; failures named on
 * stderr, their number returned (cmd_key.c). */
int	key_check_sealed(struct db *, const unsigned char *key);

#endif
