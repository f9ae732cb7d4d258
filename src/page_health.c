/*
 * page_health.c: /healthz for load balancers and monitors.
 *
 * 200 with {"status":"ok",...} when the database answers; 503 when it
 * does not.  Spool depth is counted from the job table (the source of
 * truth), failed jobs likewise.
 */
#include "config.h"

#include "db.h"
#include "handlers.h"
#include "http.h"

/* GET /healthz — JSON; 200 or 503. */
void
page_healthz(struct request *r)
{
	int64_t	 pending = -1, failed = -1;
	int	 ok;

	/* A database that does not answer is a 503, not the 500 that
	 * db_step's error path would make of it. */
	ok = db_ping(r->db) == 0;
	if (ok) {
		pending = db_one_int(r->db, db_q(r->db, Q_JOBS_PENDING_COUNT), -1);
		failed = db_one_int(r->db, db_q(r->db, Q_JOBS_FAILED_COUNT), -1);
	}
	r->status = ok ? 200 : 503;
	r->resp_ctype = "application/json";
	buf_printf(r->out, "{\"status\":\"%s\",\"database\":\"%s\",\"spool_pending\":%lld,"
	    "\"jobs_failed\":%lld,\"worker_pid_requests\":%llu}\n",
	    ok ? "ok" : "unavailable", ok ? "ok" : "error",
	    (long long)pending, (long long)failed, (unsigned long long)r->app->served);
}
