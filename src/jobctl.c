/*
 * jobctl.c: retry and discard of a job row (jobctl.h).
 */
#include "config.h"

#include <inttypes.h>

#include "audit.h"
#include "conf.h"
#include "db.h"
#include "jobctl.h"
#include "spool.h"
#include "sql.h"
#include "util.h"

enum jobctl_rc
jobctl_change(struct db *db, int64_t id, int retry, const struct actor *who, const char *note,
    const char **kind, const char **state)
{
	struct arena *a = db_arena(db);
	struct stmt *st;
	const char *k;

	/* One guarded UPDATE: the state it may come from is in its WHERE,
	 * so a runner finishing the job at the same moment cannot be
	 * overwritten. */
	st = db_q(db, retry ? Q_JOB_RETRY : Q_JOB_DISCARD);
	db_bind_int(db, st, ":id", id);
	db_bind_int(db, st, ":now", now_unix());
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		st = db_q(db, Q_JOB_STATE);
		db_bind_int(db, st, ":id", id);
		if (db_step(db, st) != DB_ROW) {
			db_reset(st);
			return JOBCTL_NONE;
		}
		if (state != NULL)
			*state = arena_strdup(a, db_text(db, st, 0));
		db_reset(st);
		return JOBCTL_STATE;
	}
	k = arena_strdup(a, db_text(db, st, 0));
	db_reset(st);
	/* A discarded message is never sent: its sealed link goes now
	 * (mail_seal.c).  A retry of it then fails and says why. */
	if (!retry) {
		st = db_q(db, Q_MAIL_SCRUB);
		db_bind_int(db, st, ":id", id);
		db_step(db, st);
	}
	audit(db, who, retry ? "job.retry" : "job.discard", arena_printf(a, "job:%" PRId64, id),
	    "%s%s%s", k, note != NULL && *note != '\0' ? ": " : "", note != NULL ? note : "");
	if (kind != NULL)
		*kind = k;
	return JOBCTL_OK;
}

void
jobctl_files(const struct conf *c, int64_t id, const char *kind, int retry)
{
	spool_move_job(c->spool_dir, id, "failed", "done");
	if (retry)
		spool_wake(c, id, kind);
	else {
		spool_move_job(c->spool_dir, id, "new", "done");
		spool_move_job(c->spool_dir, id, "cur", "done");
	}
}
