/*
 * throttle.c: the login throttle.  See throttle.h.
 *
 * Policy: an account may fail 5 times freely; then each further failure
 * doubles a delay (2, 4, 8 ... seconds); the 10th failure locks it for
 * 15 minutes.  A client address gets 4 times that allowance, since many
 * people can share one (NAT).  The throttle runs before any password is
 * hashed, so a flood costs a SELECT, not 7 MiB and 30 ms.  Unknown
 * accounts are throttled exactly like known ones.
 *
 * The mail throttle is a second, simpler counter: mail-sending forms
 * never fail a password, so nothing would ever reach login_throttle,
 * and 25 reset mails to one address from one client met no limit.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "throttle.h"

#define FREE_FAILS	5
#define LOCK_FAILS	10
#define LOCK_SECONDS	900

static int
scale(const char *key)
{
	return strncmp(key, "ip:", 3) == 0 ? 4 : 1;
}

const char *
throttle_key_account(struct request *r, const char *email)
{
	char	*k = arena_printf(r->a, "acct:%.254s", email ? email : "");
	char	*p;

	for (p = k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

const char *
throttle_key_ip(struct request *r)
{
	return arena_printf(r->a, "ip:%.64s", r->remote_addr ? r->remote_addr : "-");
}

int64_t
throttle_wait(struct request *r, const char *key)
{
	struct stmt *st = db_q(r->db, Q_THROTTLE_GET);
	int64_t	 until = 0, now = now_unix();

	db_bind_text(r->db, st, ":key", key);
	if (db_step(r->db, st) == DB_ROW)
		until = db_int(st, 1);
	db_reset(st);
	return until > now ? until - now : 0;
}

int
throttle_fail(struct request *r, const char *key)
{
	struct stmt *st = db_q(r->db, Q_THROTTLE_GET);
	int64_t	 fails = 0, now = now_unix(), until = 0;
	int	 k = scale(key), locked = 0;

	db_bind_text(r->db, st, ":key", key);
	if (db_step(r->db, st) == DB_ROW)
		fails = db_int(st, 0);
	db_reset(st);
	fails++;
	if (fails >= LOCK_FAILS * k) {
		until = now + LOCK_SECONDS;
		locked = fails == LOCK_FAILS * k;
	} else if (fails > FREE_FAILS * k) {
		int64_t	 shift = fails - FREE_FAILS * k;

		until = now + ((int64_t)1 << (shift > 9 ? 9 : shift));
	}
	st = db_q(r->db, Q_THROTTLE_PUT);
	db_bind_text(r->db, st, ":key", key);
	db_bind_int(r->db, st, ":fails", fails);
	db_bind_int(r->db, st, ":now", now);
	db_bind_int(r->db, st, ":until", until);
	db_step(r->db, st);
	if (locked)
		req_audit(r, "login.locked", key, "locked for %d minutes after %lld failures",
		    LOCK_SECONDS / 60, (long long)fails);
	return locked;
}

void
throttle_clear(struct request *r, const char *key)
{
	struct stmt *st = db_q(r->db, Q_THROTTLE_CLEAR);

	db_bind_text(r->db, st, ":key", key);
	db_step(r->db, st);
}

void
throttle_undo(struct request *r, const char *key)
{
	struct stmt *st = db_q(r->db, Q_THROTTLE_UNDO);

	db_bind_text(r->db, st, ":key", key);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "throttle undo failed");
}

/* The mail-throttle key of a recipient: case-folded like an account. */
static const char *
mail_key_to(struct request *r, const char *to)
{
	char	*k = arena_printf(r->a, "to:%.254s", to ? to : "");
	char	*p;

	for (p = k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

int
mail_client_over(struct request *r)
{
	struct stmt *st = db_q(r->db, Q_MAIL_THROTTLE_HOUR);
	int64_t	 n = 0;

	db_bind_text(r->db, st, ":key", throttle_key_ip(r));
	db_bind_int(r->db, st, ":now", now_unix());
	if (db_step(r->db, st) == DB_ROW)
		n = db_int(st, 0);
	db_reset(st);
	return n >= r->app->conf.mail_client_hourly;
}

/* Count one for key; its counts in the current hour and day windows. */
static void
mail_count(struct request *r, const char *key, int64_t now, int64_t *hour, int64_t *day)
{
	struct stmt *st = db_q(r->db, Q_MAIL_THROTTLE_COUNT);

	db_bind_text(r->db, st, ":key", key);
	db_bind_int(r->db, st, ":now", now);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 500, "mail throttle count failed");
	*hour = db_int(st, 0);
	*day = db_int(st, 1);
	db_reset(st);
}

enum mail_verdict
mail_throttle(struct request *r, const char *to)
{
	const struct conf *c = &r->app->conf;
	struct stmt *st = db_q(r->db, Q_MAIL_THROTTLE_PRUNE);
	int64_t	 now = now_unix(), hour, day;

	db_bind_int(r->db, st, ":now", now);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "mail throttle prune failed");
	mail_count(r, throttle_key_ip(r), now, &hour, &day);
	if (hour > c->mail_client_hourly)
		return MAIL_REFUSE;
	mail_count(r, mail_key_to(r, to), now, &hour, &day);
	if (hour > c->mail_recipient_hourly || day > c->mail_recipient_daily) {
		log_msg(r, "mail throttle: nothing sent to a recipient at its limit (%lld this hour, "
		    "%lld today)", (long long)hour, (long long)day);
		return MAIL_SILENT;
	}
	return MAIL_SEND;
}

int64_t
throttle_hit(struct request *r, const char *key, int64_t window)
{
	struct stmt *st;
	int64_t	 now = now_unix(), start = now - now % window, n;

	/* Pruning one key in 64 keeps the table small without a cron task. */
	if ((now ^ (int64_t)key[strlen(key) / 2]) % 64 == 0) {
		st = db_q(r->db, Q_RATE_PRUNE);
		db_bind_int(r->db, st, ":before", start - window);
		db_step(r->db, st);
		db_reset(st);
	}
	st = db_q(r->db, Q_RATE_HIT);
	db_bind_text(r->db, st, ":key", key);
	db_bind_int(r->db, st, ":window", start);
	n = db_one_int(r->db, st, 1);
	return n;
}
