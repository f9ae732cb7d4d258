/*
 * xui_job.h: what the panel jobs (server_test, server_sync) share: the
 * panel's row opened as a client handle, and the outcome recorded on it.
 */
#ifndef PX_XUI_JOB_H
#define PX_XUI_JOB_H

struct arena;
struct job;
struct work;
struct xui;

/* What run() hands to record(). */
struct xui_outcome {
	const char	*health;	/* 'up' or 'down' */
	const char	*version;	/* panelVersion, "" when the panel does not say */
	const char	*gen;		/* "g2", "g3", or NULL: not detected */
	const char	*err;		/* "" or the failure for servers.last_error */
	void		*more;		/* the job's own state */
};

/* The panel's handle, its secrets unsealed with w's key.  NULL with
 * *kind set: "no_credentials", "bad_url", or "retry" (libcurl did not
 * load: j->err says why); *why says it for staff. */
struct xui *xui_job_open(struct work *, struct job *, const char **kind, const char **why);
/* The same with the handle in arena own (a kept handle's). */
struct xui *xui_job_open_in(struct work *, struct job *, struct arena *own, const char **kind,
	    const char **why);
/* The runner's kept session for the job's panel (see "Panel session
 * reuse" in xui_job.c): the caller must NOT xui_close() it.  The
 * generation is set from the row (forced, else last detected); when
 * neither is known the caller runs xui_detect().
 * -1 with *x open, go on; else the job_rc run() returns:
 * JOB_FAIL (no jobs.server_id, no such server: j->err says), JOB_RETRY
 * (libcurl did not load), or JOB_DONE with *kind and *why when the
 * panel's row cannot be used (the caller records why). */
int	 xui_job_start(struct work *, struct job *, struct xui **x, const char **kind,
	    const char **why);
/* Whether the row knows the panel's generation (forced or detected). */
int	xui_job_generation_known(struct work *, struct job *);
/* Close every kept handle (the runner's end). */
void	xui_job_cache_free(struct work *);
/* Inside record(): health, last_checked_at, version, generation, last_error. */
void	xui_job_record(struct work *, struct job *, const struct xui_outcome *);

/*
 * Enqueue a server_test or server_sync job for the panel in the caller's
 * transaction (the web's button, `1000proxy server test|sync`): its id,
 * the caller wakes it after the commit.  Every press is a new job.
 */
struct db;
#include <stdint.h>
int64_t	 xui_job_enqueue(struct db *, const char *kind, int64_t server_id);

#endif
