/*
 * job_server_test.c: the server_test job, "Test connection" for a 3X-UI
 * panel (issue 12 grows it into the panel client, xui.c).
 *
 * The job row names the panel (jobs.server_id), so it runs in that
 * panel's lane.  It signs in as contracts/3x-ui.md section 1.1 says:
 * GET {base}csrf-token (v3 answers 200 with the token and a session
 * cookie; v1/v2 answer 404), then POST {base}login with the user and the
 * password (JSON; the token in X-CSRF-Token when there is one), and
 * reads the {success, msg, obj} envelope, never the HTTP status alone.
 * Every call has panel_timeout.  Whatever happens, the job finishes
 * with the outcome in jobs.result and the panel's health and
 * last_checked_at set: a test that times out has its answer.  Signing
 * in changes nothing on the panel, so running it twice is harmless.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "conf.h"
#include "curl_lib.h"
#include "db.h"
#include "http.h"
#include "seal.h"
#include "util.h"
#include "work.h"

/* A reply larger than this is not a login envelope. */
#define REPLY_MAX	65536

struct reply {
	struct buf	 body;
	int		 too_big;
};

struct outcome {
	const char	*health;	/* 'up' or 'down' */
};

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct reply *rp = arg;
	size_t	 n = size * nmemb;

	if (rp->body.len + n > REPLY_MAX) {
		rp->too_big = 1;
		return 0;	/* ends the transfer: CURLE_WRITE_ERROR */
	}
	buf_add(&rp->body, p, n);
	return n;
}

/* One call with the handle's cookies: the HTTP status, or -1 with why. */
static long
call(const struct curl_lib *cu, CURL *h, const char *url, const char *post,
    struct curl_slist *hdr, struct reply *rp, char *why, size_t whysz)
{
	char	 errbuf[CURL_ERROR_SIZE] = "";
	long	 code = 0;
	CURLcode rc;

	rp->body.len = 0;
	rp->too_big = 0;
	cu->easy_setopt(h, CURLOPT_URL, url);
	cu->easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (post != NULL) {
		cu->easy_setopt(h, CURLOPT_POSTFIELDS, post);
		cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	} else
		cu->easy_setopt(h, CURLOPT_HTTPGET, 1L);
	rc = cu->easy_perform(h);
	if (rc != CURLE_OK) {
		snprintf(why, whysz, "%s", rp->too_big ? "reply larger than 64 KiB" :
		    errbuf[0] ? errbuf : cu->easy_strerror(rc));
		return -1;
	}
	cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	buf_putc(&rp->body, '\0');
	rp->body.len--;
	return code;
}

/* The panel's password, unsealed into pw (NUL-terminated); 0 or -1. */
static int
panel_password(struct work *w, struct job *j, struct stmt *st, int col, char *pw, size_t pwsz)
{
	size_t	 n, len;
	const void *blob = db_blob(st, col, &n);
	char	 aad[64];

	if (blob == NULL || n < SEAL_OVERHEAD || n - SEAL_OVERHEAD >= pwsz)
		return -1;
	snprintf(aad, sizeof(aad), "server:%" PRId64 ":panel_password", j->server_id);
	if (unseal((unsigned char *)pw, pwsz - 1, &len, w->key, blob, n, aad) != 0)
		return -1;
	pw[len] = '\0';
	return 0;
}

/* Fill j->result with the outcome as a JSON object. */
static void
set_result(struct job *j, const char *login, int csrf, long http, const char *msg, double ms)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "login", json_object_new_string(login));
	json_object_object_add(o, "csrf", json_object_new_boolean(csrf));
	json_object_object_add(o, "http", json_object_new_int64(http));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	json_object_object_add(o, "ms", json_object_new_int64((int64_t)ms));
	j->result = arena_strdup(j->a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Sign in; the outcome goes to j->result and j->ctx, the job is done. */
static enum job_rc
server_test_run(struct work *w, struct job *j)
{
	const struct conf *c = w->conf;
	struct outcome *out = arena_zalloc(j->a, sizeof(*out));
	struct json_object *o = NULL, *v, *body;
	struct curl_slist *hdr = NULL;
	struct reply rp;
	struct timespec t0;
	const struct curl_lib *cu;
	struct stmt *st;
	const char *base, *user, *csrf = NULL, *sep;
	char	 pw[1024], why[CURL_ERROR_SIZE + 64] = "";
	long	 code;
	CURL	*h;
	int	 ok;

	j->ctx = out;
	out->health = "down";
	if (j->server_id <= 0) {
		snprintf(j->err, sizeof(j->err), "server_test needs jobs.server_id");
		return JOB_FAIL;
	}
	st = db_q(w->db, Q_SERVER_PANEL);
	db_bind_int(w->db, st, ":id", j->server_id);
	if (db_step(w->db, st) != DB_ROW) {
		snprintf(j->err, sizeof(j->err), "server %" PRId64 " does not exist", j->server_id);
		return JOB_FAIL;
	}
	base = db_text(w->db, st, 2);
	user = db_text(w->db, st, 3);
	ok = panel_password(w, j, st, 4, pw, sizeof(pw)) == 0;
	/* Step past the row: no read transaction may stay open across the
	 * calls (job_step's BEGIN IMMEDIATE could not upgrade it). */
	db_step(w->db, st);
	if (!ok) {
		set_result(j, "no_credentials", 0, 0, "no panel password is stored, or it does not "
		    "open with this key file", 0);
		return JOB_DONE;
	}
	if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
		explicit_bzero(pw, sizeof(pw));
		set_result(j, "bad_url", 0, 0, "the panel URL must start with http:// or https://", 0);
		return JOB_DONE;
	}
	/* {base} always ends in '/' (the contract's webBasePath). */
	sep = base[strlen(base) - 1] == '/' ? "" : "/";
	if ((cu = curl_lib(j->err, sizeof(j->err))) == NULL || (h = cu->easy_init()) == NULL) {
		explicit_bzero(pw, sizeof(pw));
		if (j->err[0] == '\0')
			snprintf(j->err, sizeof(j->err), "curl_easy_init failed");
		return JOB_RETRY;
	}
	buf_init(&rp.body);
	cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(h, CURLOPT_COOKIEFILE, "");	/* the session cookie, in memory */
	cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->panel_timeout < 10 ? (long)c->panel_timeout : 10L);
	cu->easy_setopt(h, CURLOPT_TIMEOUT, (long)c->panel_timeout);
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	cu->easy_setopt(h, CURLOPT_WRITEDATA, &rp);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* v3 wants a CSRF token on login; v1 and v2 have no such route. */
	code = call(cu, h, arena_printf(j->a, "%s%scsrf-token", base, sep), NULL, NULL, &rp,
	    why, sizeof(why));
	if (code < 0) {
		set_result(j, "unreachable", 0, 0, why, ms_since(&t0));
		goto out;
	}
	if (code == 200 && (o = json_tokener_parse(rp.body.p ? rp.body.p : "")) != NULL &&
	    json_object_object_get_ex(o, "obj", &v) && json_object_is_type(v, json_type_string))
		csrf = arena_strdup(j->a, json_object_get_string(v));
	json_object_put(o);
	o = NULL;
	if (job_step(w, j, "login") != 0) {
		code = -1;
		goto out;
	}
	hdr = cu->slist_append(hdr, "Content-Type: application/json");
	hdr = cu->slist_append(hdr, "Accept: application/json");
	if (csrf != NULL)
		hdr = cu->slist_append(hdr, arena_printf(j->a, "X-CSRF-Token: %s", csrf));
	body = json_object_new_object();
	json_object_object_add(body, "username", json_object_new_string(user));
	json_object_object_add(body, "password", json_object_new_string(pw));
	code = call(cu, h, arena_printf(j->a, "%s%slogin", base, sep),
	    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), hdr, &rp, why, sizeof(why));
	json_object_put(body);
	if (code < 0)
		set_result(j, "unreachable", csrf != NULL, 0, why, ms_since(&t0));
	else if ((o = json_tokener_parse(rp.body.p ? rp.body.p : "")) == NULL ||
	    !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "success", &v) || !json_object_is_type(v, json_type_boolean))
		set_result(j, "bad_reply", csrf != NULL, code, code == 403 ?
		    "403 without an envelope: the panel refused the CSRF token" :
		    "the reply is not a {success, msg, obj} envelope", ms_since(&t0));
	else {
		struct json_object *msg;
		const char *m = json_object_object_get_ex(o, "msg", &msg) &&
		    json_object_is_type(msg, json_type_string) ? json_object_get_string(msg) : "";
		int	 yes = json_object_get_boolean(v);

		set_result(j, yes ? "ok" : "refused", csrf != NULL, code, m, ms_since(&t0));
		if (yes)
			out->health = "up";
	}
	json_object_put(o);
out:
	explicit_bzero(pw, sizeof(pw));
	cu->slist_free_all(hdr);
	cu->easy_cleanup(h);
	buf_free(&rp.body);
	if (code < 0 && j->result == NULL)
		return JOB_RETRY;	/* lost the claim: the new holder tests */
	return JOB_DONE;
}

/* With 'done': the panel's health and when it was checked. */
static int
server_test_record(struct work *w, struct job *j)
{
	struct outcome *out = j->ctx;
	struct stmt *st;

	(void)w;
	st = db_q(w->db, Q_SERVER_SET_HEALTH);
	db_bind_text(w->db, st, ":health", out->health);
	db_bind_int(w->db, st, ":now", now_unix());
	db_bind_int(w->db, st, ":id", j->server_id);
	db_step(w->db, st);
	return 0;
}

const struct job_kind job_kind_server_test = {
	"server_test", "csrf", server_test_run, server_test_record
};
