/*
 * api_services.c: the token owner's proxies in the JSON API (the
 * dispatcher has checked the Bearer token and scope "read"; routes.c).
 *
 *   GET /api/v1/services        every client (as /services lists them)
 *                               and the subscription URL
 *   GET /api/v1/services/{id}   one client, with its share link
 *
 * A client is {"id", "plan", "protocol", "country", "city", "state",
 * "expires_at": time|null, "traffic": {"up", "down", "used", "limit"}
 * (bytes; limit 0 is unlimited), "online", "last_synced_at": time|null,
 * "auto_renew", "regenerating", "order"}, and on the one-client route
 * "link" (string|null: null when the inbound cannot give one, never an
 * error text).  Only customer tokens own proxies: a staff token sees an
 * empty list, a null subscription URL and a 404 for any id.  Another
 * customer's client is a 404 not_found, as one that does not exist.
 * Rows are read into the request's arena before the first json-c object
 * is made, so a database error cannot leak a half-built tree.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "svc.h"

static int64_t
owner(const struct request *r)
{
	return r->api->kind == SESS_CUSTOMER ? r->api->user_id : 0;
}

static struct json_object *
j_time_or_null(int64_t t)
{
	char	 s[32];

	if (t <= 0)
		return NULL;
	iso8601(s, t);
	return json_object_new_string(s);
}

static struct json_object *
j_svc(const struct svc *s, const char *link, int with_link)
{
	struct json_object *o = json_object_new_object(), *t = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(s->id));
	json_object_object_add(o, "plan", json_object_new_string(s->plan));
	json_object_object_add(o, "protocol", json_object_new_string(s->in.protocol));
	json_object_object_add(o, "country", json_object_new_string(s->country));
	json_object_object_add(o, "city", json_object_new_string(s->city));
	json_object_object_add(o, "state", json_object_new_string(s->state));
	json_object_object_add(o, "expires_at", j_time_or_null(s->expires_at));
	json_object_object_add(t, "up", json_object_new_int64(s->up));
	json_object_object_add(t, "down", json_object_new_int64(s->down));
	json_object_object_add(t, "used", json_object_new_int64(s->up + s->down));
	json_object_object_add(t, "limit", json_object_new_int64(s->limit));
	json_object_object_add(o, "traffic", t);
	json_object_object_add(o, "online", json_object_new_boolean(s->online));
	json_object_object_add(o, "last_synced_at", j_time_or_null(s->synced_at));
	json_object_object_add(o, "auto_renew", json_object_new_boolean(s->auto_renew));
	json_object_object_add(o, "regenerating", json_object_new_boolean(s->regenerating));
	json_object_object_add(o, "order", json_object_new_string(s->order));
	if (with_link)
		json_object_object_add(o, "link", link != NULL ? json_object_new_string(link) : NULL);
	return o;
}

static void
reply(struct request *r, struct json_object *o)
{
	resp_json(r, 200);
	buf_reset(r->out);
	buf_puts(r->out, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_putc(r->out, '\n');
	json_object_put(o);
}

/*
 * GET /api/v1/services — no inputs.  200 with {"services": [client],
 * "subscription_url": string|null}.  401/403 from the dispatcher.
 */
void
api_services(struct request *r)
{
	int64_t	 cust = owner(r);
	const char *url = cust ? svc_sub_url(r, cust) : NULL;
	struct svc *rows = NULL, *s;
	size_t	 n = 0, cap = 0, i;
	struct stmt *st;
	struct json_object *o, *a;

	st = db_q(r->db, Q_SVC_LIST);
	db_bind_int(r->db, st, ":customer", cust);
	while (db_step(r->db, st) == DB_ROW) {
		if (n == cap) {
			s = arena_zalloc(r->a, sizeof(*s) * (cap ? cap * 2 : 16));
			if (n > 0)
				memcpy(s, rows, sizeof(*s) * n);
			rows = s;
			cap = cap ? cap * 2 : 16;
		}
		svc_read(r, st, &rows[n++]);
	}
	db_reset(st);
	o = json_object_new_object();
	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, j_svc(&rows[i], NULL, 0));
	json_object_object_add(o, "services", a);
	json_object_object_add(o, "subscription_url", url != NULL ? json_object_new_string(url) : NULL);
	reply(r, o);
}

/*
 * GET /api/v1/services/{id:int} — no inputs.  200 with the client and
 * its "link" and "subscription_url"; 404 not_found when it is not the
 * token owner's.
 */
void
api_service(struct request *r)
{
	int64_t	 cust = owner(r);
	const char *link, *why, *url;
	struct stmt *st;
	struct svc s;
	struct json_object *o;

	st = db_q(r->db, Q_SVC_GET);
	db_bind_int(r->db, st, ":id", req_param_int(r, "id"));
	db_bind_int(r->db, st, ":customer", cust);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such proxy.");
	svc_read(r, st, &s);
	db_reset(st);
	link = strcmp(s.state, "deleted") != 0 ? svc_link(r, &s, &why) : NULL;
	url = svc_sub_url(r, cust);
	o = j_svc(&s, link, 1);
	json_object_object_add(o, "subscription_url", json_object_new_string(url));
	reply(r, o);
}
