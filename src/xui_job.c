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

#include <stdlib.h>

#include <openssl/evp.h>

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
	/* unseal() refuses a blob whose plaintext would not fit (leaving
	 * room for the NUL); blobs from before the key ids are shorter. */
	if (blob == NULL || outsz == 0)
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
	return xui_job_open_in(w, j, j->a, kind, why);
}

struct xui *
xui_job_open_in(struct work *w, struct job *j, struct arena *own, const char **kind,
    const char **why)
{
	struct xui *x = NULL;
	struct stmt *st;
	const char *name, *base, *user, *pin, *ca;
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
	pin = arena_strdup(j->a, db_text(w->db, st, 7));
	ca = arena_strdup(j->a, db_text(w->db, st, 8));
	/* Step past the row: no read transaction may stay open across the
	 * calls (job_step's BEGIN IMMEDIATE could not upgrade it). */
	db_step(w->db, st);
	if (pr == 0 || tr == 0) {
		x = xui_open(own, w->conf, name, base, user, pr == 0 ? pw : NULL,
		    tr == 0 ? tok : NULL, verify, pin, ca, err, sizeof(err));
		if (x == NULL) {
			/* An http:// panel off loopback, or a server whose TLS
			 * verification was off and needs a pin: staff must act. */
			if (strncmp(err, "the panel URL", 13) == 0 ||
			    strncmp(err, "the panel's certificate", 23) == 0)
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

/*
 * Panel session reuse.  A runner keeps one handle per panel across jobs
 * (its cookie, CSRF token and curl connection), so a burst of orders
 * signs in once per runner, not once per job; xui.c signs in again when
 * the panel answers as an expired session does.  A handle is dropped
 * when its server row changes what it was opened with (URL, user,
 * sealed password or token, TLS verification): the fingerprint is a
 * SHA-256 over those columns as stored, so nothing secret is kept apart
 * from the handle itself.  The handle lives in an arena of its own; each
 * job lends it the job's arena for per-call strings (xui_use_arena).
 */
struct xui_cached {
	int64_t		 server_id;
	unsigned char	 fp[32];
	struct arena	*a;
	struct xui	*x;
};

struct xui_cache {
	struct xui_cached *v;
	size_t		 n;
};

/* The row's fingerprint: what the handle was opened with. */
static void
row_fp(struct work *w, struct stmt *st, unsigned char fp[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const void *p;
	size_t	 n;
	int	 col;
	unsigned int len = 0;

	(void)w;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (col = 1; col <= 6; col++) {
		uint64_t nn;

		if (col == 4 || col == 5)
			p = db_blob(st, col, &n);
		else {
			p = db_is_null(st, col) ? "" : db_text(w->db, st, col);
			n = strlen(p);
		}
		nn = (uint64_t)n;
		EVP_DigestUpdate(md, &nn, sizeof(nn));
		if (p != NULL && n > 0)
			EVP_DigestUpdate(md, p, n);
	}
	EVP_DigestFinal_ex(md, fp, &len);
	EVP_MD_CTX_free(md);
}

static void
cache_drop(struct xui_cache *c, size_t i)
{
	xui_close(c->v[i].x);
	arena_free(c->v[i].a);
	c->v[i] = c->v[--c->n];
}

void
xui_job_cache_free(struct work *w)
{
	struct xui_cache *c = w->xui_cache;

	if (c == NULL)
		return;
	while (c->n > 0)
		cache_drop(c, 0);
	free(c->v);
	free(c);
	w->xui_cache = NULL;
}

int
xui_job_start(struct work *w, struct job *j, struct xui **x, const char **kind, const char **why)
{
	struct xui_cache *c;
	struct stmt *st;
	unsigned char fp[32];
	const char *gen = NULL;
	struct arena *own;
	size_t	 i;

	if (j->server_id <= 0) {
		snprintf(j->err, sizeof(j->err), "%s needs jobs.server_id", j->kind);
		return JOB_FAIL;
	}
	if (w->xui_cache == NULL)
		w->xui_cache = xcalloc(1, sizeof(struct xui_cache));
	c = w->xui_cache;
	st = db_q(w->db, Q_XUI_SESSION_ROW);
	db_bind_int(w->db, st, ":id", j->server_id);
	if (db_step(w->db, st) != DB_ROW) {
		*kind = "no_server";
		*why = arena_printf(j->a, "server %" PRId64 " does not exist", j->server_id);
		snprintf(j->err, sizeof(j->err), "%s", *why);
		return JOB_FAIL;
	}
	row_fp(w, st, fp);
	/* A generation forced by staff, else the one last detected. */
	if (strcmp(db_text(w->db, st, 8), "auto") != 0)
		gen = db_text(w->db, st, 8);
	else if (!db_is_null(st, 9))
		gen = db_text(w->db, st, 9);
	gen = gen == NULL ? NULL : strcmp(gen, "g3") == 0 ? "g3" : "g2";
	db_step(w->db, st);
	for (i = 0; i < c->n; i++) {
		if (c->v[i].server_id != j->server_id)
			continue;
		if (memcmp(c->v[i].fp, fp, sizeof(fp)) == 0) {
			*x = c->v[i].x;
			xui_use_arena(*x, j->a);
			if (gen != NULL)
				xui_set_gen(*x, gen);
			return -1;
		}
		/* The row changed under the handle: a new secret or URL. */
		cache_drop(c, i);
		break;
	}
	own = arena_new(4096);
	if ((*x = xui_job_open_in(w, j, own, kind, why)) == NULL) {
		arena_free(own);
		if (strcmp(*kind, "retry") == 0)
			return JOB_RETRY;
		if (strcmp(*kind, "no_server") == 0) {
			snprintf(j->err, sizeof(j->err), "%s", *why);
			return JOB_FAIL;
		}
		return JOB_DONE;
	}
	xui_use_arena(*x, j->a);
	if (gen != NULL)
		xui_set_gen(*x, gen);
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n].server_id = j->server_id;
	memcpy(c->v[c->n].fp, fp, sizeof(fp));
	c->v[c->n].a = own;
	c->v[c->n].x = *x;
	c->n++;
	return -1;
}

int
xui_job_generation_known(struct work *w, struct job *j)
{
	struct stmt *st = db_q(w->db, Q_XUI_SESSION_ROW);
	int	 known;

	db_bind_int(w->db, st, ":id", j->server_id);
	known = db_step(w->db, st) == DB_ROW &&
	    (strcmp(db_text(w->db, st, 8), "auto") != 0 || !db_is_null(st, 9));
	db_reset(st);
	return known;
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
