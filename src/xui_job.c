/*
 * xui_job.c: the panel's row as a client handle (see xui_job.h).  The
 * secrets are sealed with the row's identity as associated data, as
 * admin_servers.c and cmd_server.c seal them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "seal.h"
#include "spool.h"
#include "util.h"
#include "work.h"
#include "xui.h"
#include "xui_job.h"

/* A secret column unsealed into out (NUL-terminated): 0, 1 when the
 * column is NULL, -1 when it does not open. */
static int
secret(struct work *w, struct job *j, struct stmt *st, int col, const char *what,
    char *out, size_t outsz)
{
	const void *blob;
	size_t	 n, len;
	char	 aad[64];

	if (db_is_null(st, col))
		return 1;
	blob = db_blob(st, col, &n);
	if (blob == NULL || n < SEAL_OVERHEAD || n - SEAL_OVERHEAD >= outsz)
		return -1;
	snprintf(aad, sizeof(aad), "server:%" PRId64 ":panel_%s", j->server_id, what);
	if (unseal((unsigned char *)out, outsz - 1, &len, w->key, blob, n, aad) != 0)
		return -1;
	out[len] = '\0';
	return 0;
}

struct xui *
xui_job_open(struct work *w, struct job *j, const char **kind, const char **why)
{
	struct xui *x = NULL;
	struct stmt *st;
	const char *name, *base, *user;
	char	 pw[1024], tok[1024], err[1024] = "";
	int	 pr, tr, verify;

	*kind = "no_credentials";
	*why = "no panel password or API token is stored, or it does not open with this key file";
	st = db_q(w->db, Q_XUI_SERVER);
	db_bind_int(w->db, st, ":id", j->server_id);
	if (db_step(w->db, st) != DB_ROW) {
		*kind = "no_server";
		*why = arena_printf(j->a, "server %" PRId64 " does not exist", j->server_id);
		return NULL;
	}
	name = arena_strdup(j->a, db_text(w->db, st, 1));
	base = arena_strdup(j->a, db_text(w->db, st, 2));
	user = arena_strdup(j->a, db_text(w->db, st, 3));
	pr = secret(w, j, st, 4, "password", pw, sizeof(pw));
	tr = secret(w, j, st, 5, "token", tok, sizeof(tok));
	verify = db_int(st, 6) != 0;
	/* Step past the row: no read transaction may stay open across the
	 * calls (job_step's BEGIN IMMEDIATE could not upgrade it). */
	db_step(w->db, st);
	if (pr == 0 || tr == 0) {
		x = xui_open(j->a, w->conf, name, base, user, pr == 0 ? pw : NULL,
		    tr == 0 ? tok : NULL, verify, err, sizeof(err));
		if (x == NULL) {
			if (strncmp(err, "the panel URL", 13) == 0)
				*kind = "bad_url";
			else {
				*kind = "retry";
				snprintf(j->err, sizeof(j->err), "%s", err);
			}
			*why = arena_strdup(j->a, err);
		}
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(tok, sizeof(tok));
	return x;
}

int
xui_job_start(struct work *w, struct job *j, struct xui **x, const char **kind, const char **why)
{
	if (j->server_id <= 0) {
		snprintf(j->err, sizeof(j->err), "%s needs jobs.server_id", j->kind);
		return JOB_FAIL;
	}
	if ((*x = xui_job_open(w, j, kind, why)) != NULL)
		return -1;
	if (strcmp(*kind, "retry") == 0)
		return JOB_RETRY;
	if (strcmp(*kind, "no_server") == 0) {
		snprintf(j->err, sizeof(j->err), "%s", *why);
		return JOB_FAIL;
	}
	return JOB_DONE;
}

void
xui_job_record(struct work *w, struct job *j, const struct xui_outcome *o)
{
	struct stmt *st;

	st = db_q(w->db, Q_XUI_RECORD);
	db_bind_text(w->db, st, ":health", o->health);
	db_bind_int(w->db, st, ":now", now_unix());
	if (o->gen != NULL) {
		db_bind_text(w->db, st, ":gen", o->gen);
		db_bind_text(w->db, st, ":version", o->version != NULL ? o->version : "");
	} else {
		db_bind_null(w->db, st, ":gen");
		db_bind_text(w->db, st, ":version", "");
	}
	db_bind_text(w->db, st, ":err", o->err != NULL ? o->err : "");
	db_bind_int(w->db, st, ":id", j->server_id);
	db_step(w->db, st);
	/* The panel answered: cron alerts counts its silence from here. */
	if (strcmp(o->health, "up") == 0) {
		st = db_q(w->db, Q_TSYNC_SERVER_OK);
		db_bind_int(w->db, st, ":id", j->server_id);
		db_bind_int(w->db, st, ":now", now_unix());
		db_bind_int(w->db, st, ":traffic", 0);
		db_step(w->db, st);
	}
}

int64_t
xui_job_enqueue(struct db *db, const char *kind, int64_t server_id)
{
	static unsigned n;
	struct timespec ts;
	char	 key[128];

	/* Unique per press: a test is run again when asked again.  (The
	 * monotonic clock and the pid only tell presses apart.) */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(key, sizeof(key), "%s:%" PRId64 ":%" PRId64 ":%lld.%09ld:%ld:%u", kind, server_id,
	    now_unix(), (long long)ts.tv_sec, ts.tv_nsec, (long)getpid(), n++);
	return spool_enqueue_at(db, kind, key, "{}", 0, server_id);
}
