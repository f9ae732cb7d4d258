/*
 * jobctl.h: what staff and operators may do to a job row (jobctl.c):
 * retry a failed or discarded job, discard a pending or failed one.
 * `1000proxy job retry|discard` (cmd_spool.c) and /admin/jobs
 * (admin_jobs.c) both go through here, so the two can never disagree on
 * what a retry means.
 *
 * The caller owns the transaction: jobctl_change() runs inside it
 * (db_begin .. db_commit) and writes the guarded UPDATE and the audit
 * row; after COMMIT the caller calls jobctl_files() so the spool's files
 * follow the row.  Database errors follow db.h's contract.
 */
#ifndef PX_JOBCTL_H
#define PX_JOBCTL_H

#include <stdint.h>

struct actor;
struct conf;
struct db;

enum jobctl_rc {
	JOBCTL_OK = 0,		/* changed; the audit row is written */
	JOBCTL_STATE,		/* the job's state allows no such change: nothing written */
	JOBCTL_NONE,		/* no such job */
	JOBCTL__MAX
};

/*
 * Retry (retry = 1: failed or discarded -> pending, attempts from 0, due
 * now, the age limit from now) or discard (retry = 0: pending or failed
 * -> discarded; a running job is left to its runner, which may be
 * mid-call) job id, with one audit row "job.retry" / "job.discard"
 * (target "job:ID", detail: the kind and note) by who.  *kind is the
 * job's kind (JOBCTL_OK) and *state its state (JOBCTL_STATE), both in
 * the db's arena; either may be NULL.
 */
enum jobctl_rc	 jobctl_change(struct db *, int64_t id, int retry, const struct actor *who,
		    const char *note, const char **kind, const char **state);
/* After COMMIT of a JOBCTL_OK change: a retried job wakes anew from
 * failed/, a discarded one's wake-up is filed away in done/. */
void		 jobctl_files(const struct conf *, int64_t id, const char *kind, int retry);

#endif
