/*
 * client_job.h: the one way to ask `work` to act on a provisioned
 * client (suspend, resume, deprovision, reset_traffic, regenerate,
 * renew).  The web (customer and staff buttons), cron and the command
 * line all enqueue through here, so one operation is one job whatever
 * asked for it: the idempotency key names the kind, the client and the
 * operation, and asking twice finds the job the first ask made.
 *
 * Payload: {"client": ID, "op": OP}.  The job runs in the client's
 * panel lane (jobs.server_id = provisioned_clients.server_id).
 */
#ifndef PX_CLIENT_JOB_H
#define PX_CLIENT_JOB_H
#include <stdint.h>

struct db;

/*
 * Enqueue kind for client in the caller's open transaction; op names the
 * operation so that a repeat is the same job ("expired:1767225600",
 * "gen:3", "staff:<audit id>"...): [A-Za-z0-9:._-], at most 64 bytes.
 * Returns the job id (the existing one when the same operation was
 * asked before), or 0 when there is no such client.  The caller wakes
 * the job after COMMIT (spool_wake).
 */
int64_t	 client_job_enqueue(struct db *, const char *kind, int64_t client_id, const char *op);

#endif
