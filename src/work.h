/*
 * work.h: the work daemon's job handler interface (work.c runs them;
 * mail.c is the first handler).
 *
 * Slow remote work is split as DESIGN.md says: the daemon marks the row
 * 'running' with the handler's step in one short transaction, calls
 * run() with no transaction open (the remote call), then opens a second
 * transaction in which record() writes the handler's proof of effect
 * and the row becomes 'done', so the two commit together.
 */
#ifndef PX_WORK_H
#define PX_WORK_H

#include <stdint.h>

struct arena;
struct conf;
struct db;
struct views;

/* What the daemon owns; handlers read it, never keep pointers into it. */
struct work {
	const struct conf *conf;
	struct db	*db;		/* its fail handler ends the attempt (work.c) */
	struct views	*views;
};

/* One claimed job; strings live in the job's arena (freed after it). */
struct job {
	int64_t		 id;
	const char	*kind;
	const char	*idem_key;
	const char	*payload;	/* JSON object text */
	const char	*step;		/* step the row had reached before this run */
	int64_t		 attempts;	/* including this one */
	int64_t		 created_at;
	struct arena	*a;
	void		*ctx;		/* handler's state from run() to record() */
	char		 err[1024];	/* why, for JOB_RETRY and JOB_FAIL (last_error) */
};

enum job_rc {
	JOB_DONE,	/* effect happened (or had already): record() and finish */
	JOB_RETRY,	/* temporary failure: back off and try again */
	JOB_FAIL	/* permanent failure: failed/, staff can retry */
};

struct job_kind {
	const char	*kind;
	const char	*step;		/* recorded in jobs.step while run() works */
	enum job_rc	(*run)(struct work *, struct job *);
	/* Inside the transaction that marks the job done; 0, or -1 with
	 * job->err set (the transaction then rolls back). */
	int		(*record)(struct work *, struct job *);
};

/* The email handler (mail.c). */
extern const struct job_kind job_kind_email;

/* Delay before attempt number `attempts`+1: retry_base doubling up to
 * retry_cap, with jitter in [delay/2, delay] (never 0). */
int64_t	work_backoff(const struct conf *, int64_t attempts);

#endif
