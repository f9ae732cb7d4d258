/*
 * page_health.c: /healthz for load balancers and monitors.
 *
 * 200 with {"status":"ok",...} when the database answers; 503 when it
 * does not.  Spool depth is counted from the job table (the source of
 * truth), failed jobs likewise.
 */
#include "config.h"

#include <sqlite3.h>

#include "db.h"
#include "handlers.h"
#include "http.h"

/* GET /healthz — JSON; 200 or 503. */
void
page_healthz(struct request *r)
{
	sqlite3_stmt *st = r->app->stmts[Q_HEALTH_PING];
	int64_t	 pending = -1, failed = -1;
	int	 ok;

	sqlite3_reset(st);
	ok = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (ok) {
		st = r->app->stmts[Q_JOBS_PENDING_COUNT];
		ok = sqlite3_step(st) == SQLITE_ROW;
		pending = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		st = r->app->stmts[Q_JOBS_FAILED_COUNT];
		ok = ok && sqlite3_step(st) == SQLITE_ROW;
		failed = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	r->status = ok ? 200 : 503;
	r->resp_ctype = "application/json";
	buf_printf(r->out, "{\"status\":\"%s\",\"database\":\"%s\",\"spool_pending\":%lld,"
	    "\"jobs_failed\":%lld,\"worker_pid_requests\":%llu}\n",
	    ok ? "ok" : "unavailable", ok ? "ok" : "error",
	    (long long)pending, (long long)failed, (unsigned long long)r->app->served);
}
