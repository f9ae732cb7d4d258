/*
 * page_test.c: routes the test suite needs to reach the pool's failure
 * paths: a slow request, a crashing worker, an echo of parsed inputs,
 * a page only a signed-in customer may open, a database error inside a
 * handler's transaction, a streamed response that fails or stalls
 * after its head.
 * All answer 404 unless the configuration says test_routes = yes.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "valid.h"

static void
only_in_tests(struct request *r)
{
	if (!r->app->conf.test_routes)
		req_fail(r, 404, "There is no page at this address.");
}

/* GET /_test/sleep?ms=N — sleeps N ms (at most 120 s), then answers. */
void
page_test_sleep(struct request *r)
{
	int64_t	 ms = 0;

	only_in_tests(r);
	if (parse_i64(req_query(r, "ms"), &ms) != 0 || ms < 0 || ms > 120000)
		req_fail(r, 400, "ms must be 0..120000");
	usleep((useconds_t)(ms % 1000) * 1000);
	if (ms >= 1000)
		sleep((unsigned)(ms / 1000));
	r->resp_ctype = "text/plain";
	buf_printf(r->out, "slept %lld pid %d\n", (long long)ms, (int)getpid());
}

/* GET /_test/crash — the worker dies by SIGSEGV mid-request. */
void
page_test_crash(struct request *r)
{
	only_in_tests(r);
	/* The default action, not a sanitizer's SEGV handler: the test
	 * wants the master to see a worker killed by a signal, and a
	 * sanitizer report here would be a false alarm. */
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
}

/* GET or POST /_test/echo — the parsed query, form and cookies as JSON. */
void
page_test_echo(struct request *r)
{
	const struct kvlist *lists[3] = { &r->query, &r->form, &r->cookies };
	static const char *const names[3] = { "query", "form", "cookies" };
	size_t	 i, k;

	only_in_tests(r);
	r->resp_ctype = "application/json";
	buf_putc(r->out, '{');
	for (i = 0; i < 3; i++) {
		buf_printf(r->out, "%s\"%s\":{", i ? "," : "", names[i]);
		for (k = 0; k < lists[i]->n; k++) {
			buf_puts(r->out, k ? "," : "");
			buf_json_str(r->out, lists[i]->v[k].key);
			buf_putc(r->out, ':');
			buf_json_str(r->out, lists[i]->v[k].val);
		}
		buf_putc(r->out, '}');
	}
	buf_printf(r->out, ",\"uploads\":%zu", r->nuploads);
	for (i = 0; i < r->nuploads; i++)
		buf_printf(r->out, ",\"upload%zu_len\":%zu", i, r->uploads[i].len);
	buf_puts(r->out, ",\"json\":");
	buf_puts(r->out, r->json ? json_object_to_json_string_ext(r->json, JSON_C_TO_STRING_PLAIN) : "null");
	buf_puts(r->out, "}\n");
}

/* GET /_test/customer — a customer-only page (WHO_CUSTOMER), so tests
 * can show that a staff cookie opens nothing on the customer side. */
void
page_test_customer(struct request *r)
{
	only_in_tests(r);
	r->resp_ctype = "text/plain; charset=utf-8";
	buf_printf(r->out, "customer %lld\n", (long long)r->user_id);
}

/* GET /_test/guarded (security.manage) and POST /_test/guarded (any
 * staff): a marker line, so a test sees which caller was shown it. */
void
page_test_guarded(struct request *r)
{
	only_in_tests(r);
	r->resp_ctype = "text/plain; charset=utf-8";
	buf_puts(r->out, "the guarded page\n");
}

/*
 * GET /_test/db-rollback — db.h's contract inside a handler: an audit
 * row, then a statement that breaks a NOT NULL constraint, its result
 * ignored as a careless handler would, then COMMIT.  The constraint is
 * a hard error: the request ends with a 500 and the audit row is rolled
 * back with the rest (t/15-dblayer.t).  Without the contract the
 * handler would answer 200 with the row committed.
 */
void
page_test_db_rollback(struct request *r)
{
	only_in_tests(r);
	db_begin(r->db);
	req_audit(r, "test.handler.before_constraint", "test", "%s", "must not survive");
	db_step(r->db, db_q(r->db, Q_TEST_CONSTRAINT));
	db_commit(r->db);
	r->resp_ctype = "text/plain; charset=utf-8";
	buf_puts(r->out, "committed\n");
}

/*
 * GET /_test/stream?kb=N&then=end|fail|sleep[&ms=M] — a streamed
 * response (response.h): N KB of numbered lines (at most 64 MB), then
 * it ends, or a database error (the NOT NULL statement above, outside
 * any transaction), or it sleeps M ms (past request_timeout).  The
 * failure paths after a head was sent: the body must end cut, with the
 * trailer, never a second head (t/79-api-orders.t).
 */
void
page_test_stream(struct request *r)
{
	const char *then = req_query(r, "then");
	int64_t	 kb = 0, ms = 0, i = 0;

	only_in_tests(r);
	if (parse_i64(req_query(r, "kb"), &kb) != 0 || kb < 0 || kb > 65536 || then == NULL ||
	    (strcmp(then, "end") != 0 && strcmp(then, "fail") != 0 && strcmp(then, "sleep") != 0))
		req_fail(r, 400, "kb must be 0..65536 and then end, fail or sleep");
	if (strcmp(then, "sleep") == 0 &&
	    (parse_i64(req_query(r, "ms"), &ms) != 0 || ms < 0 || ms > 120000))
		req_fail(r, 400, "ms must be 0..120000");
	r->resp_ctype = "text/plain; charset=utf-8";
	resp_stream_begin(r, "#cut\n");
	/* Lines of 16 bytes: "%015lld\n". */
	while (i < kb * 64) {
		buf_printf(r->out, "%015lld\n", (long long)i++);
		resp_stream_flush(r);
	}
	if (strcmp(then, "fail") == 0)
		db_step(r->db, db_q(r->db, Q_TEST_CONSTRAINT));
	if (strcmp(then, "sleep") == 0) {
		usleep((useconds_t)(ms % 1000) * 1000);
		if (ms >= 1000)
			sleep((unsigned)(ms / 1000));
	}
	buf_puts(r->out, "end\n");
}

/* POST /api/v1/_test/echo: the declared JSON shape below, checked by the
 * dispatcher (json_check), answered with the values it let through.
 * No production API call reads a body yet; this one shows the shape
 * check end to end (t/28-requests.t). */
static const struct field test_api_echo_fields[] = {
	{ "name",	FK_TEXT,	FIELD_REQUIRED, 0, 40 },
	{ "count",	FK_INT,		0, 1, 10 },
	{ "notify",	FK_FLAG,	0, 0, 0 },
	{ "email",	FK_EMAIL,	0, 0, 0 },
};
const struct form test_api_echo_shape = { FORM(test_api_echo_fields) };

void
page_test_api_echo(struct request *r)
{
	struct json_object *o = json_object_new_object(), *v;
	const char *names[] = { "name", "count", "notify", "email" };
	size_t	 i;

	only_in_tests(r);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((v = json_field(r, names[i])) != NULL)
			json_object_object_add(o, names[i], json_object_get(v));
	resp_json(r, 200);
	buf_puts(r->out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	buf_puts(r->out, "\n");
	json_object_put(o);
}
