/*
 * cron_payments.c: `1000proxy cron payments`, the reconciliation of
 * payments with their gateways (issue 13; DESIGN.md "Payments").  A
 * webhook can be lost (the shop down, the gateway giving up, a firewall);
 * this task makes sure no payment depends on one.  Each run:
 *
 *  1. expires the open payments (created or pending) that are past
 *     expires_at and whose look-up after that moment has finished with
 *     the gateway still not calling them paid: payment_apply with state
 *     'expired' and source 'reconcile', the same path as a webhook, so
 *     a payment paid meanwhile (the look-up applied it) is left alone;
 *  2. asks the gateway about each open payment past expires_at once
 *     (a gateway_followup job keyed gateway_followup:expire:<payment>);
 *  3. asks the gateway about each payment still open (created, pending,
 *     partially_paid) after payments.reconcile_minutes (default 10), one
 *     gateway_followup job per payment and window of that many minutes
 *     (gateway_followup:reconcile:<payment>:<window>), so a run twice in
 *     a window, or two runs at once, add none;
 *  4. asks each enabled gateway that can list (gw_ops()->recent) for its
 *     payments of the last day, once an hour
 *     (gateway_followup:recent:<gw>:<hour>): work records each one the
 *     shop does not know as a gateway event of outcome 'unknown' and
 *     logs it (job_gateway_recent.c); the count shows on /admin/payments
 *     and in this task's output.
 *
 * The gateway calls run in `work` (gateway lane), never here: cron
 * starts this process every few minutes and keeps libcurl out of it, as
 * cron_sync.c does for the panels.  A partially_paid payment is never
 * expired here: money arrived, and payments.mismatch or staff decide.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cmd.h"
#include "conf.h"
#include "cron_payments.h"
#include "db.h"
#include "gateway.h"
#include "payment.h"
#include "setting.h"
#include "spool.h"
#include "util.h"

/* At most this many payments per step and run: the next run goes on. */
#define CPAY_BATCH	500
/* A payment without expires_at is given up after this long. */
#define CPAY_GRACE	(2 * 86400)
/* What the report of unknown gateway payments looks back over. */
#define CPAY_REPORT_DAYS	30

/* The ids a statement gives (its first column), in a. */
static size_t
ids_of(struct db *db, struct stmt *st, int64_t *ids, size_t max)
{
	size_t	 n = 0;

	while (n < max && db_step(db, st) == DB_ROW)
		ids[n++] = db_int(st, 0);
	db_reset(st);
	return n;
}

/* Step 1: expire what the gateway did not call paid after its expiry. */
static int64_t
expire_due(const struct conf *c, struct db *db, struct arena *a, int64_t now)
{
	static const struct actor sys = { "system", 0, NULL, NULL };
	struct pay_observation o;
	struct pay_apply_result res;
	struct stmt *st;
	int64_t	 ids[CPAY_BATCH], expired = 0;
	const char *gw[CPAY_BATCH], *pub[CPAY_BATCH];
	size_t	 i, n = 0;

	st = db_q(db, Q_CPAY_EXPIRE_DUE);
	db_bind_int(db, st, ":limit", CPAY_BATCH);
	while (n < CPAY_BATCH && db_step(db, st) == DB_ROW) {
		ids[n] = db_int(st, 0);
		gw[n] = db_text(db, st, 1);
		pub[n++] = db_text(db, st, 2);
	}
	db_reset(st);
	for (i = 0; i < n; i++) {
		pay_observation_init(&o, gw[i], "reconcile");
		o.payment = ids[i];
		o.state = PAY_EXPIRED;
		/* One expiry per payment, whatever the runs: a second is a
		 * duplicate event and changes nothing. */
		o.event_id = arena_printf(a, "expire:%s", pub[i]);
		o.event_type = "expired by cron payments";
		o.payload = arena_printf(a, "{\"payment\":\"%s\",\"expired_at\":%" PRId64 "}", pub[i], now);
		db_begin(db);
		if (payment_apply(db, &o, &sys, &res) == PAY_APPLIED && res.to == PAY_EXPIRED &&
		    res.from != PAY_EXPIRED)
			expired++;
		db_commit(db);
		if (res.njobs > 0)
			spool_wake_many(c, res.njobs, res.jobs, res.kinds);
	}
	return expired;
}

/* Enqueue one gateway_followup look-up per id under key(id), in one
 * transaction; how many are new. */
static size_t
ask(const struct conf *c, struct db *db, struct arena *a, const int64_t *ids, size_t n,
    const char *what, int64_t window)
{
	int64_t	*jobs = arena_zalloc(a, (n ? n : 1) * sizeof(*jobs));
	const char **kinds = arena_zalloc(a, (n ? n : 1) * sizeof(*kinds));
	size_t	 i, fresh = 0;
	struct stmt *st;
	const char *key;

	db_begin(db);
	for (i = 0; i < n; i++) {
		key = window >= 0 ?
		    arena_printf(a, "gateway_followup:%s:%" PRId64 ":%" PRId64, what, ids[i], window) :
		    arena_printf(a, "gateway_followup:%s:%" PRId64, what, ids[i]);
		st = db_q(db, Q_JOB_ID_BY_IDEM);
		db_bind_text(db, st, ":idem_key", key);
		if (db_step(db, st) == DB_ROW) {
			db_reset(st);
			continue;
		}
		db_reset(st);
		kinds[fresh] = "gateway_followup";
		jobs[fresh++] = spool_enqueue_db(db, "gateway_followup", key,
		    arena_printf(a, "{\"payment\":%" PRId64 ",\"source\":\"reconcile\"}", ids[i]));
	}
	db_commit(db);
	if (fresh > 0)
		spool_wake_many(c, fresh, jobs, kinds);
	return fresh;
}

/* Step 4: one report job per enabled gateway that can list, an hour. */
static size_t
ask_recent(const struct conf *c, struct db *db, struct arena *a, int64_t now)
{
	int64_t	 jobs[GW__MAX];
	const char *kinds[GW__MAX];
	struct stmt *st;
	const char *key;
	size_t	 n = 0;
	int	 gw;

	db_begin(db);
	for (gw = 0; gw < GW__MAX; gw++) {
		if (!gw_enabled(db, gw) || gw_ops(gw)->recent == NULL)
			continue;
		key = arena_printf(a, "gateway_followup:recent:%s:%" PRId64, gw_name[gw], now / 3600);
		st = db_q(db, Q_JOB_ID_BY_IDEM);
		db_bind_text(db, st, ":idem_key", key);
		if (db_step(db, st) == DB_ROW) {
			db_reset(st);
			continue;
		}
		db_reset(st);
		kinds[n] = "gateway_followup";
		jobs[n++] = spool_enqueue_db(db, "gateway_followup", key,
		    arena_printf(a, "{\"recent\":\"%s\",\"since\":%" PRId64 "}", gw_name[gw], now - 86400));
	}
	db_commit(db);
	if (n > 0)
		spool_wake_many(c, n, jobs, kinds);
	return n;
}

int
cron_payments(const struct conf *c, int argc, char **argv)
{
	struct db *db;
	struct arena *a;
	struct stmt *st;
	char	 err[1024];
	int64_t	 now = now_unix(), minutes, expired, ids[CPAY_BATCH], unknown;
	size_t	 n, asked_expiry, asked, reports;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: 1000proxy cron payments\n");
		return 2;
	}
	/* A database error ends the task (db.h): stderr, exit 1. */
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: cron payments: %s\n", err);
		return 1;
	}
	a = arena_new(16384);
	db_set_arena(db, a);
	minutes = setting_int(db, "payments.reconcile_minutes", 10, 2, 1440);

	expired = expire_due(c, db, a, now);

	st = db_q(db, Q_CPAY_EXPIRE_ASK);
	db_bind_int(db, st, ":now", now);
	db_bind_int(db, st, ":grace", CPAY_GRACE);
	db_bind_int(db, st, ":limit", CPAY_BATCH);
	n = ids_of(db, st, ids, CPAY_BATCH);
	asked_expiry = ask(c, db, a, ids, n, "expire", -1);

	st = db_q(db, Q_CPAY_STALE);
	db_bind_int(db, st, ":now", now);
	db_bind_int(db, st, ":before", now - minutes * 60);
	db_bind_int(db, st, ":grace", CPAY_GRACE);
	db_bind_int(db, st, ":limit", CPAY_BATCH);
	n = ids_of(db, st, ids, CPAY_BATCH);
	asked = ask(c, db, a, ids, n, "reconcile", now / (minutes * 60));

	reports = ask_recent(c, db, a, now);

	st = db_q(db, Q_CPAY_UNKNOWN_COUNT);
	db_bind_int(db, st, ":since", now - CPAY_REPORT_DAYS * 86400);
	unknown = db_one_int(db, st, 0);

	printf("payments: %zu look-up%s of payments open over %" PRId64 " minutes, %zu after expiry; "
	    "%" PRId64 " expired; %zu gateway report%s asked; %" PRId64 " gateway payment%s unknown to "
	    "the shop in %d days\n", asked, asked == 1 ? "" : "s", minutes, asked_expiry, expired, reports,
	    reports == 1 ? "" : "s", unknown, unknown == 1 ? "" : "s", CPAY_REPORT_DAYS);
	db_close(db);
	arena_free(a);
	return 0;
}
