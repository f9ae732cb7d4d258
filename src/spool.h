/*
 * spool.h: the job spool (DESIGN.md, "The spool").
 *
 * A job is a row in `jobs`, written in the caller's transaction; the
 * file under spool_dir is only the wake-up, written after COMMIT:
 *
 *   tmp/<id>.<unique>   being written (fsync, then rename)
 *   new/<id>.<unique>   waiting to be claimed
 *   cur/<id>.<unique>   claimed by the work daemon (rename: one winner)
 *   done/ failed/       finished; failed/ is what staff retry from
 *   corrupt/            a file without its end marker; never runs
 *   lock                flock(2)ed by the work daemon, holds its pid
 *
 * The file is one JSON line {"job":ID,"kind":"..."} and the line
 * SPOOL_END_MARKER; anything else is corrupt.
 */
#ifndef PX_SPOOL_H
#define PX_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct db;
struct request;

#define SPOOL_END_MARKER "%end"

/* Counts of what recovery did, for logs and tests. */
struct spool_recovery {
	int	 tmp_swept;	/* stale tmp/ files removed */
	int	 cur_returned;	/* cur/ files moved back to new/ */
	int	 rows_reset;	/* 'running' rows of a dead daemon made pending */
	int	 dropped;	/* files whose row does not exist */
	int	 finished;	/* files of done/failed rows moved out of new/ */
	int	 corrupt;	/* files moved to corrupt/ */
	int	 rewoken;	/* pending rows that had no file */
};

/*
 * Enqueue inside the request's open transaction (db_begin .. db_commit):
 * returns the job id; an existing idem_key returns that job's id.  A
 * kind the schema refuses, invalid JSON or no open transaction is a
 * programming error: 500 (req_fail, does not return).  After COMMIT the
 * caller calls spool_wake().
 */
int64_t	 spool_enqueue(struct request *, const char *kind, const char *idem_key,
	    const char *payload_json);
/* The same on any unit of work's db inside its open transaction (CLI,
 * daemon, cron): the job id; the errors above end the unit of work
 * through the db's fail handler (db.h). */
int64_t	 spool_enqueue_db(struct db *, const char *kind, const char *idem_key,
	    const char *payload_json);
/* The same for a job due at run_at (unix time; 0: now) and, when
 * server_id > 0, for that panel (jobs.server_id): it then runs in the
 * panel's lane (work.h). */
int64_t	 spool_enqueue_at(struct db *, const char *kind, const char *idem_key,
	    const char *payload_json, int64_t run_at, int64_t server_id);
/*
 * Drop the wake-up file for a committed job.  Best effort: a failure is
 * logged and returns -1, and the daemon's periodic scan of `jobs` still
 * finds the row.
 */
int	 spool_wake(const struct conf *, int64_t job_id, const char *kind);
/* The same for n jobs committed together: one fsync of new/ for all. */
int	 spool_wake_many(const struct conf *, size_t n, const int64_t *ids,
	    const char *const *kinds);

/* Create spool_dir and its subdirectories; -1 with err set. */
int	 spool_init(const char *dir, char *err, size_t errsz);
/* Take the daemon lock (spool/lock, flock LOCK_EX|LOCK_NB).  Returns the
 * fd, -1 with err set, or -2 when another process holds it (*holder is
 * the pid written in the file, 0 if none). */
int	 spool_lock(const char *dir, int write_pid, long *holder, char *err, size_t errsz);

/* Claim new/NAME into cur/NAME: 0 if this process won, -1 if not. */
int	 spool_claim(const char *dir, const char *name);
/* Parse a spool file; 0 and *id, kind filled, or -1 if corrupt. */
int	 spool_parse(const char *path, const char *name, int64_t *id, char *kind, size_t kindsz);
/* The job id a file name starts with, or 0 if the name is not ours. */
int64_t	 spool_name_id(const char *name);
/* Move every file of job id found in new/ or cur/ into sub ("done",
 * "failed", "new").  Returns how many moved. */
int	 spool_move_job(const char *dir, int64_t id, const char *from, const char *sub);
/* Move sub_from/NAME to sub_to/NAME; 0 or -1. */
int	 spool_move(const char *dir, const char *from, const char *name, const char *to);

/*
 * Recovery (DESIGN.md): full = 1 only for the lock holder (returns
 * cur/ to new/ and resets 'running' rows); full = 0 is what a cron run
 * may do while a daemon works (sweep tmp/, drop orphans from new/,
 * re-wake pending rows without a file).  0, or -1 with err set (the
 * spool directory); a database error goes to the db's fail handler.
 */
int	 spool_recover(const struct conf *, struct db *, int full, struct spool_recovery *,
	    char *err, size_t errsz);
/*
 * The daemon's side of the wake-up: claim every file in new/ into cur/,
 * quarantine unreadable ones in corrupt/, drop a file whose row is gone
 * and file away one whose row already finished.  A file of a pending
 * job stays in cur/ until the job finishes.  Returns how many files were
 * claimed; *corrupt counts the quarantined ones.
 */
int	 spool_drain_new(const char *dir, struct db *, int *corrupt);
/* Remove files in sub older than age seconds; returns how many. */
int	 spool_prune(const char *dir, const char *sub, int64_t age);

#endif
