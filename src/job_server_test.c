/*
 * job_server_test.c: the server_test job, "Test connection" for a 3X-UI
 * panel, through the panel client (xui.c).
 *
 * The job row names the panel (jobs.server_id), so it runs in that
 * panel's lane.  It signs in as contracts/3x-ui.md section 1.1 says
 * (csrf-token, then login; or a v3 Bearer token), then reads
 * panel/api/server/status: the panel's version, the xray state, and so
 * the generation (section 0).  Whatever happens, the job finishes with
 * the outcome in jobs.result and the panel's health, last_checked_at,
 * panel_version, detected_generation and last_error set: a test that
 * times out has its answer.  Nothing here changes the panel, so running
 * it twice is harmless.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "db.h"
#include "util.h"
#include "work.h"
#include "xui.h"
#include "xui_job.h"

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Fill j->result with the outcome as a JSON object. */
static void
set_result(struct job *j, const char *login, struct xui *x, const struct xui_outcome *out,
    const char *xray, const char *msg, double ms)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(out->gen != NULL));
	json_object_object_add(o, "login", json_object_new_string(login));
	json_object_object_add(o, "csrf", json_object_new_boolean(x != NULL && xui_v3auth(x)));
	json_object_object_add(o, "http", json_object_new_int64(x != NULL ? xui_http(x) : 0));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	json_object_object_add(o, "ms", json_object_new_int64((int64_t)ms));
	if (out->gen != NULL) {
		json_object_object_add(o, "version", json_object_new_string(out->version));
		json_object_object_add(o, "generation", json_object_new_string(out->gen));
		json_object_object_add(o, "xray", json_object_new_string(xray));
	}
	j->result = arena_strdup(j->a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static enum job_rc
server_test_run(struct work *w, struct job *j)
{
	struct xui_outcome *out = arena_zalloc(j->a, sizeof(*out));
	struct timespec t0;
	struct xui *x;
	const char *kind, *why, *gen;
	char	 version[64], xray[64];
	enum job_rc rc = JOB_DONE;
	int	 start;

	j->ctx = out;
	out->health = "down";
	out->err = "";
	if ((start = xui_job_start(w, j, &x, &kind, &why)) != -1) {
		if (start == JOB_DONE) {
			out->err = why;
			set_result(j, kind, NULL, out, "", why, 0);
		}
		return (enum job_rc)start;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (job_step(w, j, "login") != 0) {
		rc = JOB_RETRY;	/* lost the claim: the new holder tests */
		goto out;
	}
	if (xui_login(x) != 0) {
		out->err = arena_strdup(j->a, xui_error(x));
		set_result(j, xui_fail(x), x, out, "", xui_error(x), ms_since(&t0));
		goto out;
	}
	if (xui_detect(x, version, sizeof(version), &gen, xray, sizeof(xray)) != 0) {
		/* Signed in, but the status route failed: say so, still down. */
		out->err = arena_printf(j->a, "server/status: %s", xui_error(x));
		set_result(j, "ok", x, out, "", out->err, ms_since(&t0));
		goto out;
	}
	out->health = "up";
	out->version = arena_strdup(j->a, version);
	out->gen = gen;
	set_result(j, "ok", x, out, xray, strcmp(xray, "running") == 0 || xray[0] == '\0' ?
	    "signed in" : arena_printf(j->a, "signed in; xray is %s", xray), ms_since(&t0));
out:
	return rc;
}

/* With 'done': the panel's health, version, generation, last error. */
static int
server_test_record(struct work *w, struct job *j)
{
	xui_job_record(w, j, j->ctx);
	return 0;
}

const struct job_kind job_kind_server_test = {
	"server_test", "csrf", server_test_run, server_test_record
};
