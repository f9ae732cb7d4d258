/*
 * cron_tokens.c: `1000proxy cron tokens` (issue 16, authflow16; ASVS
 * V3.5.2): mail an API token's owner once, token_notice_days before the
 * token expires.  Every token has an expiry now (token_max_days caps
 * it, page_tokens.c), so this reminder is what keeps a script from
 * failing silently on the day.  Idempotent and safe to run twice at
 * once: the mark (api_tokens.expiry_mailed_at) and the mail's job are
 * one transaction, and the mark's "IS NULL" test under the write lock
 * lets exactly one run through.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include <json-c/json.h>

#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "mailq.h"
#include "setting.h"
#include "spool.h"
#include "util.h"

#define TOKENS_BATCH	100

/* Mark token id mailed and queue its reminder, in one transaction.
 * Returns the job id, or 0 when another run (or a revocation) came
 * first. */
static int64_t
remind_one(const struct conf *c, struct db *db, struct arena *a, int64_t id, int64_t now)
{
	struct json_object *v;
	struct stmt *st;
	const char *to;
	char	 when[32];
	int64_t	 job;
	int	 staff;

	db_begin(db);
	st = db_q(db, Q_AF_TOKEN_EXPIRY_MARK);
	db_bind_int(db, st, ":id", id);
	db_bind_int(db, st, ":now", now);
	db_step(db, st);
	if (db_changes(db) != 1) {
		db_rollback(db);
		return 0;
	}
	st = db_q(db, Q_AF_TOKEN_EXPIRY_MAIL);
	db_bind_int(db, st, ":id", id);
	if (db_step(db, st) != DB_ROW) {
		db_rollback(db);
		return 0;
	}
	to = db_text(db, st, 0);
	v = json_object_new_object();
	json_object_object_add(v, "name", json_object_new_string(*db_text(db, st, 1) ? db_text(db, st, 1) : to));
	json_object_object_add(v, "token_name", json_object_new_string(db_text(db, st, 2)));
	json_object_object_add(v, "prefix", json_object_new_string(db_text(db, st, 3)));
	time_human(when, db_int(st, 4));
	json_object_object_add(v, "expires", json_object_new_string(when));
	staff = (int)db_int(st, 5);
	db_reset(st);
	json_object_object_add(v, "tokens_url", json_object_new_string(arena_printf(a, "%s%s",
	    c->base_url, staff ? "/admin/tokens" : "/account/tokens")));
	json_object_object_add(v, "max_days", json_object_new_int64(c->token_max_days));
	json_object_object_add(v, "site_name", json_object_new_string(shop_name(db, a, c)));
	job = mailq_add_db(db, to, "emails/token_expiring", v,
	    arena_printf(a, "token-expiring:%" PRId64, id));
	db_commit(db);
	return job;
}

int
cron_tokens(const struct conf *c, int argc, char **argv)
{
	struct arena *a;
	struct db *db;
	struct stmt *st;
	char	 err[1024];
	int64_t	 ids[TOKENS_BATCH], after = 0, now = now_unix(), job;
	size_t	 n, i;
	int	 sent = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: 1000proxy cron tokens\n");
		return 2;
	}
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: cron tokens: %s\n", err);
		return 1;
	}
	a = arena_new(4096);
	db_set_arena(db, a);
	do {
		st = db_q(db, Q_AF_TOKENS_EXPIRING);
		db_bind_int(db, st, ":now", now);
		db_bind_int(db, st, ":until", now + c->token_notice_days * 86400);
		db_bind_int(db, st, ":after", after);
		db_bind_int(db, st, ":limit", TOKENS_BATCH);
		n = 0;
		while (n < TOKENS_BATCH && db_step(db, st) == DB_ROW)
			ids[n++] = db_int(st, 0);
		db_reset(st);
		for (i = 0; i < n; i++) {
			after = ids[i];
			if ((job = remind_one(c, db, a, ids[i], now)) > 0) {
				spool_wake(c, job, "email");
				sent++;
			}
		}
		arena_reset(a);
	} while (n == TOKENS_BATCH);
	db_close(db);
	arena_free(a);
	printf("tokens: %d expiry reminder%s queued (%" PRId64 " day%s ahead)\n", sent, sent == 1 ? "" : "s",
	    c->token_notice_days, c->token_notice_days == 1 ? "" : "s");
	return 0;
}
