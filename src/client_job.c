/*
 * client_job.c: enqueue a job on a provisioned client (client_job.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "client_job.h"
#include "db.h"
#include "spool.h"
#include "sql.h"
#include "util.h"

int64_t
client_job_enqueue(struct db *db, const char *kind, int64_t client_id, const char *op)
{
	struct stmt	*st;
	int64_t		 server;
	const char	*p;
	char		 key[160], payload[160];

	/* op goes into a key and a JSON string unescaped: callers pass
	 * names they made, never input. */
	if (strlen(op) == 0 || strlen(op) > 64)
		db_fail(db, "client_job_enqueue: bad op");
	for (p = op; *p != '\0'; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-", *p) == NULL)
			db_fail(db, "client_job_enqueue: bad op");
	st = db_q(db, Q_CLIENT_JOB_SERVER);
	db_bind_int(db, st, ":id", client_id);
	if (db_step(db, st) != DB_ROW) {
		db_reset(st);
		return 0;
	}
	server = db_int(st, 0);
	db_reset(st);
	snprintf(key, sizeof(key), "%s:client:%" PRId64 ":%s", kind, client_id, op);
	snprintf(payload, sizeof(payload), "{\"client\":%" PRId64 ",\"op\":\"%s\"}", client_id, op);
	return spool_enqueue_at(db, kind, key, payload, 0, server);
}
