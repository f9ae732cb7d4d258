/*
 * cron.c: `1000proxy cron TASK`, the batch entry points run from
 * etc/cron.d/1000proxy.  Every task is idempotent and safe to run twice
 * at once (DESIGN.md): each works on rows and renames, which either
 * happen once or fail harmlessly for the loser.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cmd.h"
#include "conf.h"
#include "cron_life.h"
#include "cron_payments.h"
#include "cron_sync.h"
#include "db.h"
#include "setting.h"
#include "order.h"
#include "referral.h"
#include "spool.h"
#include "util.h"
#include "valid.h"

/*
 * reconcile: spool recovery.  With the spool lock (no work daemon runs)
 * the full recovery, cur/ included; while a daemon holds it, only what
 * cannot disturb a job it is running.
 */
static int
cron_reconcile(const struct conf *c, int argc, char **argv)
{
	struct spool_recovery rec;
	char	 err[1024];
	struct db *db;
	struct arena *a;
	long	 holder;
	int	 fd, rc;

	(void)argc;
	(void)argv;
	if (spool_init(c->spool_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: cron reconcile: %s\n", err);
		return 1;
	}
	fd = spool_lock(c->spool_dir, 0, &holder, err, sizeof(err));
	if (fd == -1) {
		fprintf(stderr, "1000proxy: cron reconcile: %s\n", err);
		return 1;
	}
	/* A database error ends the task (db.h): stderr, exit 1. */
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: cron reconcile: %s\n", err);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	a = arena_new(4096);
	db_set_arena(db, a);
	rc = spool_recover(c, db, fd >= 0, &rec, err, sizeof(err));
	db_close(db);
	arena_free(a);
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		fprintf(stderr, "1000proxy: cron reconcile: %s\n", err);
		return 1;
	}
	printf("reconcile (%s): %d cur/ returned, %d running reset, %d re-woken, "
	    "%d dropped, %d finished, %d corrupt, %d tmp/ swept\n",
	    fd >= 0 ? "full" : "work daemon running", rec.cur_returned, rec.rows_reset,
	    rec.rewoken, rec.dropped, rec.finished, rec.corrupt, rec.tmp_swept);
	return 0;
}

/*
 * The database side of prune: sessions past their absolute lifetime,
 * email tokens spent or expired more than keep seconds ago, throttle
 * rows that lock nothing and last failed more than a day ago, and
 * anonymous carts whose cookie has expired (30 days).  Then retention
 * (issue 16, the values /terms states): the client address of audit
 * rows older than audit_ip_keep_days, mail_log rows older than
 * mail_log_keep_days (before the job rows, which they hold back), and
 * the payloads of jobs finished more than job_payload_keep_days ago.
 * One transaction; idempotent, so two runs at once are harmless.  The
 * audit log's rows and the ledgers are never deleted.  A database error
 * ends the task (db.h): the transaction rolls back, stderr, exit 1.
 */
static int
prune_rows(const struct conf *c, int64_t keep, char *err, size_t errsz)
{
	static const enum q q[] = { Q_PRUNE_SESSIONS, Q_PRUNE_EMAIL_TOKENS, Q_PRUNE_THROTTLE,
	    Q_PRUNE_CARTS, Q_RET_MAIL_LOG, Q_RET_AUDIT_IP, Q_RET_JOB_PAYLOAD, Q_RET_STAFF_DEVICES,
	    Q_PRUNE_PASSKEY_CHALLENGES };
	static const char *const what[] = { "expired sessions removed", "spent email tokens removed",
	    "idle throttle rows removed", "anonymous carts past their cookie removed",
	    "mail log rows past mail_log_keep_days removed",
	    "audit rows past audit_ip_keep_days had their address cleared",
	    "finished job payloads past job_payload_keep_days emptied",
	    "staff devices unused past audit_ip_keep_days removed",
	    "expired passkey challenges removed" };
	struct db *db;
	struct stmt *st;
	size_t	 i;
	int64_t	 n[NELEM(q)] = { 0 }, jobs = 0, now = now_unix();

	if ((db = db_open_ready(c->database, c->cache_size_kb, err, errsz)) == NULL)
		return -1;
	db_begin(db);
	for (i = 0; i < NELEM(q); i++) {
		st = db_q(db, q[i]);
		if (q[i] == Q_PRUNE_EMAIL_TOKENS)
			db_bind_int(db, st, ":keep", keep);
		else if (q[i] == Q_RET_MAIL_LOG)
			db_bind_int(db, st, ":before", now - c->mail_log_keep_days * 86400);
		else if (q[i] == Q_RET_AUDIT_IP || q[i] == Q_RET_STAFF_DEVICES)
			db_bind_int(db, st, ":before", now - c->audit_ip_keep_days * 86400);
		else if (q[i] == Q_PRUNE_PASSKEY_CHALLENGES)
			db_bind_int(db, st, ":now", now);
		else if (q[i] == Q_RET_JOB_PAYLOAD)
			db_bind_int(db, st, ":before", now - c->job_payload_keep_days * 86400);
		db_step(db, st);
		n[i] = db_changes(db);
	}
	/* Finished job rows (done or discarded) older than job_keep_days,
	 * except those a proof of effect references (sql.c Q_JOB_PRUNE
	 * says which); failed rows stay for staff. */
	st = db_q(db, Q_JOB_PRUNE);
	db_bind_int(db, st, ":before", now - c->job_keep_days * 86400);
	while (db_step(db, st) == DB_ROW)
		jobs++;
	db_commit(db);
	db_close(db);
	for (i = 0; i < NELEM(q); i++)
		printf("prune: %lld %s\n", (long long)n[i], what[i]);
	printf("prune: %lld finished job row%s older than %lld day%s removed\n", (long long)jobs,
	    jobs == 1 ? "" : "s", (long long)c->job_keep_days, c->job_keep_days == 1 ? "" : "s");
	return 0;
}

/* prune [DAYS]: delete done/ files older than DAYS (default 7), and the
 * rows prune_rows() names. */
static int
cron_prune(const struct conf *c, int argc, char **argv)
{
	int64_t	 days = 7;
	int	 n;
	char	 err[512];

	if (argc > 2 || (argc == 2 && (parse_i64(argv[1], &days) != 0 || days < 0 || days > 3650))) {
		fprintf(stderr, "usage: 1000proxy cron prune [days]\n");
		return 2;
	}
	n = spool_prune(c->spool_dir, "done", days * 86400);
	printf("prune: %d done/ file%s older than %lld day%s removed\n", n, n == 1 ? "" : "s",
	    (long long)days, days == 1 ? "" : "s");
	if (prune_rows(c, days * 86400, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: cron prune: %s\n", err);
		return 1;
	}
	return 0;
}

/* The unpaid-order expiry when staff set none (minutes). */
#define ORDERS_EXPIRE_DEFAULT	60
/* How many orders one query of cron orders picks up (it repeats). */
#define ORDERS_EXPIRE_BATCH	200

/*
 * orders: cancel unpaid orders.  An order still pending
 * orders.expire_minutes (a setting; default 60, 0 turns the expiry off)
 * after it was made is cancelled as staff would cancel it
 * (order_cancel_pending: the state, the stock back, the coupon use
 * back) with an audit row by "system", one BEGIN IMMEDIATE transaction
 * per order.  The state is read again under the write lock, so a second
 * run at once, or a staff cancel or a payment that got there first,
 * leaves the order alone: each order is cancelled once.  An order with a
 * gateway payment still open (created, pending or partially paid) and
 * not past that payment's expires_at is left alone too (issue 13): its
 * customer may be paying it now; the payment's own expiry, or
 * reconciliation, ends it first.  So is one whose payment arrived and
 * is held for staff (a mismatch): staff fulfil it or give the money
 * back, and cancelling would take that choice away.  A database
 * error ends the task (db.h): that order's transaction rolls back,
 * stderr, exit 1; the orders before it stay cancelled.
 */
static int
cron_orders(const struct conf *c, int argc, char **argv)
{
	static const struct actor sys = { "system", 0, NULL, NULL };
	struct db *db;
	struct arena *a;
	struct stmt *st;
	const char *v = NULL, *pubs[ORDERS_EXPIRE_BATCH];
	char	 err[512];
	int64_t	 minutes = ORDERS_EXPIRE_DEFAULT, ids[ORDERS_EXPIRE_BATCH], before, cancelled = 0;
	int64_t	 skipped = 0, paying = 0, plans;
	size_t	 n, i;
	int	 coupon;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: 1000proxy cron orders\n");
		return 2;
	}
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: cron orders: %s\n", err);
		return 1;
	}
	a = arena_new(4096);
	db_set_arena(db, a);
	v = setting_text(db, "orders.expire_minutes", NULL);
	if (v != NULL && !valid_int(v, 0, 366 * 24 * 60, &minutes)) {
		fprintf(stderr, "1000proxy: cron orders: setting orders.expire_minutes \"%s\" is not "
		    "0..527040; using %d\n", v, ORDERS_EXPIRE_DEFAULT);
		minutes = ORDERS_EXPIRE_DEFAULT;
	}
	if (minutes == 0) {
		printf("orders: expiry off (orders.expire_minutes = 0)\n");
		goto out;
	}
	before = now_unix() - minutes * 60;
	for (;;) {
		/* The ids first, the statement reset, then the writes: no read
		 * stays open across the transactions. */
		st = db_q(db, Q_ORDERS_EXPIRED);
		db_bind_int(db, st, ":before", before);
		db_bind_int(db, st, ":now", now_unix());
		db_bind_int(db, st, ":limit", ORDERS_EXPIRE_BATCH);
		for (n = 0; n < ORDERS_EXPIRE_BATCH && db_step(db, st) == DB_ROW; n++) {
			ids[n] = db_int(st, 0);
			pubs[n] = db_text(db, st, 1);	/* a copy in the arena */
		}
		db_reset(st);
		for (i = 0; i < n; i++) {
			db_begin(db);
			/* A payment of it still open and not past its own
			 * expiry (payments.expires_at): the customer may be
			 * paying right now; cancelling would turn that payment
			 * into one held as "order no longer payable". */
			st = db_q(db, Q_PAY_ORDER_OPEN);
			db_bind_int(db, st, ":order", ids[i]);
			db_bind_int(db, st, ":now", now_unix());
			if (db_one_int(db, st, 0) == 1) {
				db_rollback(db);
				paying++;
				continue;
			}
			if (!order_cancel_pending(db, ids[i], &sys, "unpaid after the expiry time",
			    &plans, &coupon)) {
				db_rollback(db);
				skipped++;
				continue;
			}
			audit(db, &sys, "order.expired", arena_printf(a, "order:%lld", (long long)ids[i]),
			    "order %s cancelled: unpaid after %lld minutes; stock released on %lld plan(s)%s",
			    pubs[i], (long long)minutes, (long long)plans, coupon ? "; coupon use released" : "");
			db_commit(db);
			cancelled++;
		}
		arena_reset(a);
		if (n < ORDERS_EXPIRE_BATCH)
			break;
	}
	st = db_q(db, Q_PAY_ORDERS_WAITING);
	db_bind_int(db, st, ":before", before);
	db_bind_int(db, st, ":now", now_unix());
	paying += db_one_int(db, st, 0);
	printf("orders: %lld unpaid order%s older than %lld minute%s cancelled", (long long)cancelled,
	    cancelled == 1 ? "" : "s", (long long)minutes, minutes == 1 ? "" : "s");
	if (skipped)
		printf(" (%lld moved on meanwhile)", (long long)skipped);
	if (paying)
		printf("; %lld left alone (a payment of %s open or held for staff)", (long long)paying,
		    paying == 1 ? "it" : "each");
	printf("\n");
out:
	db_close(db);
	arena_free(a);
	return 0;
}

static const struct {
	const char	*name;
	int		(*fn)(const struct conf *, int, char **);
	const char	*help;
} tasks[] = {
	{ "reconcile", cron_reconcile, "spool recovery: re-wake, return, drop, sweep" },
	{ "prune", cron_prune, "delete done/ spool files older than 7 days (or DAYS), expired sessions, "
	    "spent email tokens, idle throttle rows, anonymous carts past their cookie, and finished job rows "
	    "after job_keep_days; clear audit addresses after audit_ip_keep_days, delete mail log rows after "
	    "mail_log_keep_days, empty finished job payloads after job_payload_keep_days" },
	{ "referrals", cron_referrals, "credit the referral commissions whose hold has passed to their "
	    "referrers' wallets, and mail them" },
	{ "orders", cron_orders, "cancel orders left unpaid longer than the setting orders.expire_minutes "
	    "(default 60), giving back their stock and coupon use" },
	/* The provisioned client's lifecycle (cron_life.c). */
	{ "expire", cron_expire, "suspend clients past their expiry on their panel, and delete them after "
	    "the setting clients.expire_grace_days (default 3)" },
	{ "quota", cron_quota, "suspend clients whose traffic this period reached their limit" },
	{ "remind", cron_remind, "mail customers clients.remind_days (default 3) before expiry and at 80% "
	    "of the quota, once each" },
	{ "renew", cron_renew, "auto-renew clients from the wallet clients.renew_days (default 1) before "
	    "expiry, or mail once that the wallet is short" },
	{ "traffic-reset", cron_traffic_reset, "reset on the panel the traffic of clients of monthly plans "
	    "whose 30-day period has run" },
	/* Kept in step with the panels (sync12, cron_sync.c). */
	{ "traffic-sync", cron_traffic_sync, "enqueue one traffic sync per panel (usage, online state), at most "
	    "one per traffic_sync_minutes slot and none while one is pending" },
	{ "drift", cron_drift, "[--fix] [--quiet] [server-id]: report panel clients the shop does not know, shop clients "
	    "missing on panels, and expiry, quota or enable differences; --fix repairs them from the shop's side "
	    "(in work, audited)" },
	{ "alerts", cron_alerts, "mail staff once when a panel has not answered for alert_down_minutes or its "
	    "traffic is older than alert_stale_minutes; cleared when it recovers" },
	/* Payments kept in step with their gateways (issue 13, cron_payments.c). */
	/* API token expiry reminders (issue 16, authflow16: cron_tokens.c). */
	{ "tokens", cron_tokens, "mail an API token's owner once, token_notice_days (default 7) before "
	    "the token expires" },
	/* backup16 (cmd_backup.c). */
	{ "backup", cron_backup, "a backup into backup_dir (as `1000proxy backup`), keeping the "
	    "backup_keep (default 7) newest" },
	{ "payments", cron_payments, "ask the gateway about payments still open after "
	    "payments.reconcile_minutes (default 10) and after their expiry, expire those it does not call "
	    "paid, and ask each gateway for its recent payments the shop does not know" },
};

int
cmd_cron(const struct conf *c, int argc, char **argv)
{
	size_t	 i;

	if (argc >= 2)
		for (i = 0; i < NELEM(tasks); i++)
			if (strcmp(argv[1], tasks[i].name) == 0)
				return tasks[i].fn(c, argc - 1, argv + 1);
	fprintf(stderr, "usage: 1000proxy cron task\n\ntasks:\n");
	for (i = 0; i < NELEM(tasks); i++)
		fprintf(stderr, "  %-10s %s\n", tasks[i].name, tasks[i].help);
	return 2;
}
