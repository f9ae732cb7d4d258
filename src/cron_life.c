/*
 * cron_life.c: the provisioned client's lifecycle from cron
 * (cron_life.h): expiry, quota, reminders, auto-renewal and the monthly
 * traffic reset.
 *
 * Why every task is safe twice at once:
 *  - expire, quota and traffic-reset only ask `work` to act, through
 *    client_job_enqueue, whose key names the client and the occasion
 *    (expired:<expires_at>, grace:<expires_at>, quota:<period_start>,
 *    period:<new period_start>): a second run, or a run beside it, finds
 *    the job the first one made.  The job handler (job_client.c) asks the
 *    panel before it acts, so even a job run twice acts once.
 *  - remind marks the client (reminded_at, quota_reminded_at) with an
 *    UPDATE whose WHERE repeats the test, in the transaction that queues
 *    the mail: under BEGIN IMMEDIATE only one run sees its change.  The
 *    mail's key names the occasion too.
 *  - renew pays through checkout.c, the customer's own checkout, with an
 *    idempotency key of the client and its expiry: a second run is
 *    CHECKOUT_REPLAY (nothing new), and the short-wallet mail's key is the
 *    same occasion.
 * A task reads its batch of ids first, resets the statement, and then
 * writes one short transaction per client: no read stays open across a
 * write.  A database error ends the task (db.h): stderr, exit 1; what was
 * committed before it stays and the next run goes on from there.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "audit.h"
#include "checkout.h"
#include "client_job.h"
#include "conf.h"
#include "cron_life.h"
#include "db.h"
#include "mailq.h"
#include "money.h"
#include "order_mail.h"
#include "setting.h"
#include "spool.h"
#include "util.h"

/* How many clients one query picks up (the task pages on by id). */
#define LIFE_BATCH	200
/* A traffic period of a 'monthly' plan (sql/016: every 30 days). */
#define LIFE_PERIOD	(30 * 86400)

/* The database for task, with an arena; NULL after saying why. */
static struct db *
life_open(const struct conf *c, const char *task, struct arena **a)
{
	struct db *db;
	char	 err[1024];

	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: cron %s: %s\n", task, err);
		return NULL;
	}
	*a = arena_new(4096);
	db_set_arena(db, *a);
	return db;
}

static void
life_close(struct db *db, struct arena *a)
{
	db_close(db);
	arena_free(a);
}

/* Up to LIFE_BATCH rows of a due query (its :after and :limit bound
 * here, the rest by the caller): the ids in ids[], the second column
 * (an int) in v[] when v is not NULL.  The statement is reset. */
static size_t
life_batch(struct db *db, struct stmt *st, int64_t after, int64_t *ids, int64_t *v)
{
	size_t	 n;

	db_bind_int(db, st, ":after", after);
	db_bind_int(db, st, ":limit", LIFE_BATCH);
	for (n = 0; n < LIFE_BATCH && db_step(db, st) == DB_ROW; n++) {
		ids[n] = db_int(st, 0);
		if (v != NULL)
			v[n] = db_int(st, 1);
	}
	db_reset(st);
	return n;
}

/* Ask work for kind on client with op, in a transaction of its own;
 * a job made now is woken.  1 when the job is new, 0 when this occasion
 * had its job already. */
static int
ask(const struct conf *c, struct db *db, const char *kind, int64_t client, const char *op)
{
	int64_t	 job;
	int	 fresh;

	db_begin(db);
	job = client_job_enqueue(db, kind, client, op);
	/* The enqueue's last write is the INSERT ... DO NOTHING of the job:
	 * one change when this call made it. */
	fresh = job > 0 && db_changes(db) == 1;
	db_commit(db);
	if (fresh)
		spool_wake(c, job, kind);
	return fresh;
}

static int
usage(const char *task)
{
	fprintf(stderr, "usage: 1000proxy cron %s\n", task);
	return 2;
}

/*
 * One sweep of a due query (its :after and :limit bound by life_batch):
 * every client it returns gets job kind asked with op "<prefix>:<v>",
 * v the row's second column, in batches by id.  The query's one time
 * parameter is bound as bind = at; a monthly reset (period set) binds
 * :period too and names the period that holds now instead.  Returns how
 * many jobs were new.
 */
struct sweep {
	enum q		 q;
	const char	*bind;
	int64_t		 at;
	const char	*kind, *prefix;
	int		 period;
};

static int
sweep(const struct conf *c, struct db *db, struct arena *a, const struct sweep *sw, int64_t now)
{
	struct stmt *st;
	int64_t	 ids[LIFE_BATCH], v[LIFE_BATCH], after = 0;
	int	 asked = 0;
	size_t	 n, i;

	do {
		st = db_q(db, sw->q);
		db_bind_int(db, st, sw->bind, sw->at);
		if (sw->period)
			db_bind_int(db, st, ":period", LIFE_PERIOD);
		n = life_batch(db, st, after, ids, v);
		for (i = 0; i < n; i++) {
			int64_t	 x = sw->period ? v[i] + (now - v[i]) / LIFE_PERIOD * LIFE_PERIOD : v[i];

			asked += ask(c, db, sw->kind, ids[i], arena_printf(a, "%s:%" PRId64, sw->prefix, x));
			after = ids[i];
		}
		arena_reset(a);
	} while (n == LIFE_BATCH);
	return asked;
}

/*
 * expire: an active client past its expiry is suspended on its panel
 * (job suspend, op expired:<expires_at>); a client past its expiry and
 * the grace period (clients.expire_grace_days) is deleted from its panel
 * (job deprovision, op grace:<expires_at>).  A renewal moves expires_at,
 * so the next expiry is a new occasion.  A client suspended at expiry
 * whose expiry a renewal has moved past now is resumed (job resume, op
 * renew:<the latest renewal's order item>): the renewal's job asks for
 * the same, and this makes sure it happens.
 */
int
cron_expire(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct db *db;
	int64_t	 now, grace;
	int	 suspended, deleted, resumed;

	(void)argv;
	if (argc != 1)
		return usage("expire");
	if ((db = life_open(c, "expire", &a)) == NULL)
		return 1;
	grace = setting_int(db, "clients.expire_grace_days", 3, 0, 365);
	now = now_unix();
	/* Suspend, then delete, then resume what a renewal moved past now
	 * (op renew:<item>, the key the renewal's own job asks with, so the
	 * two are one job). */
	suspended = sweep(c, db, a, &(struct sweep){ Q_LIFE_EXPIRE_DUE, ":now", now,
	    "suspend", "expired", 0 }, now);
	deleted = sweep(c, db, a, &(struct sweep){ Q_LIFE_GRACE_DUE, ":before", now - grace * 86400,
	    "deprovision", "grace", 0 }, now);
	resumed = sweep(c, db, a, &(struct sweep){ Q_LIFE_RESUME_DUE, ":now", now,
	    "resume", "renew", 0 }, now);
	life_close(db, a);
	printf("expire: %d suspend job%s, %d deprovision job%s (after %" PRId64 " day%s of grace) and "
	    "%d resume job%s (renewed) asked\n", suspended, suspended == 1 ? "" : "s", deleted,
	    deleted == 1 ? "" : "s", grace, grace == 1 ? "" : "s", resumed, resumed == 1 ? "" : "s");
	return 0;
}

/*
 * quota: an active client whose use this period (up + down, kept by
 * traffic sync) reached its limit is suspended on its panel (job
 * suspend, op quota:<period_start or 0>): the next period is a new
 * occasion.  A client past its expiry is left to expire.
 */
int
cron_quota(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct db *db;
	int64_t	 now = now_unix();
	int	 asked;

	(void)argv;
	if (argc != 1)
		return usage("quota");
	if ((db = life_open(c, "quota", &a)) == NULL)
		return 1;
	asked = sweep(c, db, a, &(struct sweep){ Q_LIFE_QUOTA_DUE, ":now", now, "suspend", "quota", 0 },
	    now);
	life_close(db, a);
	printf("quota: %d suspend job%s asked\n", asked, asked == 1 ? "" : "s");
	return 0;
}

/*
 * traffic-reset: a client of a plan with traffic_reset = 'monthly' whose
 * period has run 30 days gets its traffic reset on its panel (job
 * reset_traffic, op period:<new period_start>, the start of the period
 * that contains now, in whole periods from the old start); the handler
 * sets period_start, so the next period is a new occasion.
 */
int
cron_traffic_reset(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct db *db;
	int64_t	 now = now_unix();
	int	 asked;

	(void)argv;
	if (argc != 1)
		return usage("traffic-reset");
	if ((db = life_open(c, "traffic-reset", &a)) == NULL)
		return 1;
	asked = sweep(c, db, a, &(struct sweep){ Q_LIFE_RESET_DUE, ":now", now, "reset_traffic",
	    "period", 1 }, now);
	life_close(db, a);
	printf("traffic-reset: %d reset_traffic job%s asked\n", asked, asked == 1 ? "" : "s");
	return 0;
}

/* A time for a mail: "2026-12-06 05:32 UTC". */
static const char *
when(struct arena *a, int64_t t)
{
	struct tm tm;
	time_t	 tt = (time_t)t;
	char	 buf[64];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
	return arena_strdup(a, buf);
}

/* A byte count for a mail, in powers of 1024 as the panel shows it. */
static const char *
bytes(struct arena *a, int64_t b)
{
	static const char *const unit[] = { "B", "KB", "MB", "GB", "TB", "PB" };
	double	 v = (double)b;
	size_t	 u = 0;

	while (v >= 1024 && u + 1 < NELEM(unit)) {
		v /= 1024;
		u++;
	}
	return u == 0 ? arena_printf(a, "%" PRId64 " B", b) : arena_printf(a, "%.2f %s", v, unit[u]);
}

static void
put(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

/*
 * Queue mail tmpl about client in the open transaction, key idem: the
 * customer's name, the plan, the expiry, the use and the limit, and the
 * service's page.  Returns the job id.
 */
static int64_t
client_mail(const struct conf *c, struct db *db, int64_t client, const char *tmpl,
    const char *idem, struct json_object *more)
{
	struct arena *a = db_arena(db);
	struct json_object *v = more != NULL ? more : json_object_new_object();
	struct stmt *st;
	const char *to;
	int64_t	 limit, used;

	st = db_q(db, Q_LIFE_MAIL_INFO);
	db_bind_int(db, st, ":id", client);
	if (db_step(db, st) != DB_ROW)
		db_fail(db, "lifecycle mail: client %" PRId64 " has no customer or plan", client);
	to = db_text(db, st, 0);
	put(v, "name", *db_text(db, st, 1) ? db_text(db, st, 1) : to);
	put(v, "plan", db_text(db, st, 2));
	put(v, "expires", when(a, db_int(st, 3)));
	limit = db_int(st, 4);
	used = db_int(st, 5);
	put(v, "used", bytes(a, used));
	put(v, "limit", limit > 0 ? bytes(a, limit) : "unlimited");
	put(v, "percent", arena_printf(a, "%" PRId64, limit > 0 ? used * 100 / limit : 0));
	json_object_object_add(v, "auto_renew", json_object_new_boolean(db_int(st, 6) != 0));
	put(v, "price", money_str(a, db_int(st, 8), db_text(db, st, 9)));
	put(v, "client", db_text(db, st, 10));
	db_reset(st);
	put(v, "service_url", arena_printf(a, "%s/services/%" PRId64, c->base_url, client));
	put(v, "wallet_url", arena_printf(a, "%s/wallet", c->base_url));
	return mailq_add_db(db, to, tmpl, v, idem);
}

/* One remind pass: the due query, the mark, the mail.  Returns how
 * many mails this run queued. */
static int
remind_pass(const struct conf *c, struct db *db, int quota, int64_t now, int64_t window)
{
	struct arena *a = db_arena(db);
	struct stmt *st;
	int64_t	 ids[LIFE_BATCH], after = 0, job;
	int	 sent = 0;
	size_t	 n, i;

	do {
		st = db_q(db, quota ? Q_LIFE_REMIND_QUOTA_DUE : Q_LIFE_REMIND_EXPIRY_DUE);
		if (!quota) {
			db_bind_int(db, st, ":now", now);
			db_bind_int(db, st, ":window", window);
		}
		n = life_batch(db, st, after, ids, NULL);
		for (i = 0; i < n; i++) {
			after = ids[i];
			db_begin(db);
			/* The test again under the write lock: a run beside
			 * this one that marked the client first wins. */
			st = db_q(db, quota ? Q_LIFE_REMIND_QUOTA_MARK : Q_LIFE_REMIND_EXPIRY_MARK);
			db_bind_int(db, st, ":id", ids[i]);
			db_bind_int(db, st, ":now", now);
			if (!quota)
				db_bind_int(db, st, ":window", window);
			db_step(db, st);
			if (db_changes(db) != 1) {
				db_rollback(db);
				continue;
			}
			job = client_mail(c, db, ids[i], quota ? "emails/client_quota" : "emails/client_expiry",
			    arena_printf(a, "remind-%s:%" PRId64 ":%" PRId64, quota ? "quota" : "expiry",
			    ids[i], now), NULL);
			db_commit(db);
			spool_wake(c, job, "email");
			sent++;
		}
		arena_reset(a);
	} while (n == LIFE_BATCH);
	return sent;
}

/*
 * remind: mail the customer clients.remind_days before a client's expiry
 * (once per expiry: reminded_at) and when it has used 80% of its quota
 * (once per period: quota_reminded_at, cleared by the traffic reset).
 */
int
cron_remind(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct db *db;
	int64_t	 days, now;
	int	 e, q;

	(void)argv;
	if (argc != 1)
		return usage("remind");
	if ((db = life_open(c, "remind", &a)) == NULL)
		return 1;
	days = setting_int(db, "clients.remind_days", 3, 1, 60);
	now = now_unix();
	e = remind_pass(c, db, 0, now, days * 86400);
	q = remind_pass(c, db, 1, now, 0);
	life_close(db, a);
	printf("remind: %d expiry reminder%s (%" PRId64 " day%s ahead), %d quota reminder%s queued\n",
	    e, e == 1 ? "" : "s", days, days == 1 ? "" : "s", q, q == 1 ? "" : "s");
	return 0;
}

/* One auto-renewal (the columns of Q_LIFE_RENEW_DUE in st's copy):
 * 1 renewed, 0 nothing new (renewed before, or mailed before), 2 the
 * wallet is short (mailed once), 3 the plan cannot be renewed. */
static int
renew_one(const struct conf *c, struct db *db, int64_t client, int64_t customer, int64_t item,
    int64_t expires, struct checkout_line *l)
{
	static const struct actor sys = { "system", 0, NULL, NULL };
	struct arena *a = db_arena(db);
	struct checkout_result res;
	enum checkout_rc rc;
	struct json_object *v;
	int64_t	 mail, job, *ids;
	const char **kinds;
	size_t	 i;

	l->renewal_of = item;
	db_begin(db);
	/* The key names the client and the expiry it renews: every run
	 * before the renewal moves expires_at is the same checkout. */
	rc = checkout_wallet(db, customer, l, 1, arena_printf(a, "autorenew:%" PRId64 ":%" PRId64,
	    client, expires), &sys, &res);
	if (rc == CHECKOUT_REPLAY) {
		db_rollback(db);
		return 0;
	}
	if (rc == CHECKOUT_OK) {
		audit(db, &sys, "client.autorenew", arena_printf(a, "client:%" PRId64, client),
		    "order %s from the wallet, %" PRId64 " %s, expiry %" PRId64, res.public_id,
		    res.total, l->currency, expires);
		mail = order_mail_paid(db, c->base_url, res.order);
		db_commit(db);
		ids = arena_alloc(a, (res.njobs + 1) * sizeof(*ids));
		kinds = arena_alloc(a, (res.njobs + 1) * sizeof(*kinds));
		for (i = 0; i < res.njobs; i++) {
			ids[i] = res.jobs[i];
			kinds[i] = "provision";
		}
		ids[i] = mail;
		kinds[i] = "email";
		spool_wake_many(c, res.njobs + 1, ids, kinds);
		return 1;
	}
	db_rollback(db);
	if (rc != CHECKOUT_INSUFFICIENT)
		return 3;
	/* Short: say so once for this expiry (the mail's key). */
	db_begin(db);
	v = json_object_new_object();
	job = client_mail(c, db, client, "emails/client_renew_short",
	    arena_printf(a, "renew-short:%" PRId64 ":%" PRId64, client, expires), v);
	mail = db_changes(db) == 1;
	db_commit(db);
	if (mail)
		spool_wake(c, job, "email");
	return mail ? 2 : 0;
}

/*
 * renew: a client with auto_renew on, due within clients.renew_days of
 * its expiry (or expired and not yet past the grace period), is renewed
 * from the customer's wallet through the same checkout as the
 * customer's Renew button (checkout.c: a renewal order of the client's
 * plan at its price now, paid from the wallet, its provision job with
 * renewal_of, the confirmation mail); a wallet that is short gets one
 * mail for this expiry instead.
 */
int
cron_renew(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct db *db;
	struct stmt *st;
	struct checkout_line l[LIFE_BATCH];
	int64_t	 ids[LIFE_BATCH], cust[LIFE_BATCH], item[LIFE_BATCH], exp[LIFE_BATCH], after = 0;
	int64_t	 now, lead, grace;
	int	 count[4] = { 0 };
	size_t	 n, i;

	(void)argv;
	if (argc != 1)
		return usage("renew");
	if ((db = life_open(c, "renew", &a)) == NULL)
		return 1;
	lead = setting_int(db, "clients.renew_days", 1, 0, 60);
	grace = setting_int(db, "clients.expire_grace_days", 3, 0, 365);
	now = now_unix();
	do {
		st = db_q(db, Q_LIFE_RENEW_DUE);
		db_bind_int(db, st, ":now", now);
		db_bind_int(db, st, ":lead", lead * 86400);
		db_bind_int(db, st, ":grace", grace * 86400);
		db_bind_int(db, st, ":after", after);
		db_bind_int(db, st, ":limit", LIFE_BATCH);
		for (n = 0; n < LIFE_BATCH && db_step(db, st) == DB_ROW; n++) {
			ids[n] = db_int(st, 0);
			cust[n] = db_int(st, 1);
			item[n] = db_int(st, 2);
			exp[n] = db_int(st, 3);
			/* A cart line as the Renew button makes it: one of
			 * the plan at its price now. */
			memset(&l[n], 0, sizeof(l[n]));
			l[n].plan = db_int(st, 4);
			l[n].slug = db_text(db, st, 5);
			l[n].name = db_text(db, st, 6);
			l[n].qty = 1;
			l[n].price = db_int(st, 7);
			l[n].currency = db_text(db, st, 8);
		}
		db_reset(st);
		for (i = 0; i < n; i++) {
			count[renew_one(c, db, ids[i], cust[i], item[i], exp[i], &l[i])]++;
			after = ids[i];
		}
		arena_reset(a);
	} while (n == LIFE_BATCH);
	life_close(db, a);
	printf("renew: %d renewed from the wallet, %d short (mailed), %d not renewable\n",
	    count[1], count[2], count[3]);
	return 0;
}
