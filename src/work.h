/*
 * work.h: the work daemon's job handler interface (work.c runs them;
 * job_email.c and job_server_test.c are handlers).
 *
 * `work` is a master and up to work_runners runner processes (started on
 * demand, see work.c), each with its own database connection.  A runner
 * claims one due job at a time with a single UPDATE ... RETURNING under
 * BEGIN IMMEDIATE, so two runners never hold the same job, and the same
 * statement keeps the lanes: at most servers.max_concurrency running
 * jobs per panel (and never all the panel runners while there are two),
 * work_mail_lanes emails, work_gateway_lanes payment calls, and panel
 * jobs on at most work_runners - 1 runners, so mail and payments always
 * have one.  Due payment and panel jobs go before mail.
 *
 * Slow remote work is split as DESIGN.md says: the claim marks the row
 * 'running' with the handler's first step, run() does the remote calls
 * with no transaction open (job_step() records each further step in a
 * commit of its own), then one transaction runs record() (the handler's
 * proof of effect) and marks the row 'done', so the two commit together.
 *
 * Database calls inside a handler go through w->db, whose fail handler
 * ends the attempt (db.h): the transaction rolls back and the job is put
 * back to be retried, as a hard error ends a web request.
 */
#ifndef PX_WORK_H
#define PX_WORK_H

#include <stdint.h>

struct arena;
struct conf;
struct db;
struct views;
struct xui_cache;

/* What the runner owns; handlers read it, never keep pointers into it. */
struct work {
	const struct conf *conf;
	struct db	*db;		/* its fail handler ends the attempt (work.c) */
	struct views	*views;
	unsigned char	 key[32];	/* the key file's key: unseal() panel secrets */
	char		 runner[64];	/* this runner's name: jobs.claimed_by */
	struct xui_cache *xui_cache;	/* kept panel sessions (xui_job.c) */
};

/* One claimed job; strings live in the attempt's arena. */
struct job {
	int64_t		 id;
	const char	*kind;
	const char	*idem_key;
	const char	*payload;	/* JSON object text */
	const char	*step;		/* step the row had reached before this run */
	int64_t		 attempts;	/* including this one */
	int64_t		 created_at;
	int64_t		 age_from;	/* the retry age limit counts from here */
	int64_t		 server_id;	/* 0: not a panel job */
	struct arena	*a;
	void		*ctx;		/* handler's state from run() to record() */
	const char	*result;	/* JSON object recorded in jobs.result, or NULL */
	char		 err[1024];	/* why, for JOB_RETRY and JOB_FAIL (last_error) */
	/*
	 * Set by run() when the attempt holds something that must outlive
	 * the commit of its outcome (job_email.c: the SMTP connection, whose
	 * QUIT must follow the commit of the mail_log row).  The runner calls
	 * it once, after that commit (or its rollback), on every way out of
	 * the attempt, a database error included, before the arena is reset.
	 * It must not use the database.
	 */
	void		(*after)(struct work *, struct job *);
};

enum job_rc {
	JOB_DONE,	/* effect happened (or had already): record() and finish */
	JOB_RETRY,	/* temporary failure: back off and try again */
	JOB_FAIL	/* permanent failure: failed/, staff can retry */
};

struct job_kind {
	const char	*kind;
	const char	*step;		/* recorded in jobs.step by the claim */
	enum job_rc	(*run)(struct work *, struct job *);
	/* Inside the transaction that marks the job done; 0, or -1 with
	 * job->err set (the transaction then rolls back). */
	int		(*record)(struct work *, struct job *);
};

/* The email handler (job_email.c). */
extern const struct job_kind job_kind_email;
/* The panel connection test (job_server_test.c). */
extern const struct job_kind job_kind_server_test;
/* Sync inbounds from a panel (job_server_sync.c). */
extern const struct job_kind job_kind_server_sync;
/* A paid order item onto a panel, and renewals (job_provision.c). */
extern const struct job_kind job_kind_provision;
extern const struct job_kind job_kind_renew;
/* The client's lifecycle on its panel (job_client.c). */
extern const struct job_kind job_kind_suspend;
extern const struct job_kind job_kind_resume;
extern const struct job_kind job_kind_deprovision;
extern const struct job_kind job_kind_reset_traffic;
extern const struct job_kind job_kind_regenerate;
/* Usage and online state from a panel, and drift (job_traffic_sync.c). */
extern const struct job_kind job_kind_traffic_sync;
/* A payment refunded through its gateway (job_refund.c).  The run step
 * with the gateway's operations given (NULL: gw_ops of the payment's
 * gateway), for the unit tests' stand-in. */
struct gw_ops;
extern const struct job_kind job_kind_refund;
enum job_rc job_refund_run_ops(struct work *, struct job *, const struct gw_ops *);

/*
 * Record that the job reached step, in a commit of its own, and renew
 * the lease.  0, or -1 when this runner no longer holds the job (its
 * lease ran out and another runner took it over): the handler must then
 * stop and return JOB_RETRY without acting.
 */
int	job_step(struct work *, struct job *, const char *step);

/* Delay before attempt number `attempts`+1: retry_base doubling up to
 * retry_cap, with jitter in [delay/2, delay] (never 0). */
int64_t	work_backoff(const struct conf *, int64_t attempts);

#endif
