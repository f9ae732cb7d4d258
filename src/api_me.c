/*
 * api_me.c: the JSON API under /api/v1, called with Authorization: Bearer
 * and a personal access token (page_tokens.c).  The dispatcher has already
 * loaded the token's owner into r->api and checked the route's scope
 * (routes.c names it); errors, including 401 and 403, are JSON with a
 * stable code (response.c render_error), never an HTML page.
 *
 *   GET /api/v1/me       who the token belongs to      scope "read"
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"

static struct json_object *
json_time(int64_t t)
{
	char	 s[32];

	iso8601(s, t);
	return json_object_new_string(s);
}

/* The words of a space-separated list as a JSON array. */
static struct json_object *
json_words(const char *s)
{
	struct json_object *a = json_object_new_array();
	size_t	 n;

	for (s += strspn(s, " "); *s; s += n, s += strspn(s, " ")) {
		n = strcspn(s, " ");
		json_object_array_add(a, json_object_new_string_len(s, (int)n));
	}
	return a;
}

/*
 * GET /api/v1/me — no inputs.  200 with
 *   {"kind":"customer"|"staff","id":N,"email":...,"name":...,
 *    "scopes":[...],"token":{"id":N,"prefix":...,"created_at":...,
 *    "expires_at":ISO-8601|null}}
 * and, for staff, "permissions":[...].  401 and 403 come from the
 * dispatcher.
 */
void
api_me(struct request *r)
{
	const struct principal *p = r->api;
	struct json_object *o, *t, *perms;
	struct stmt *st = db_q(r->db, Q_API_TOKEN_INFO);
	const char *prefix;
	int64_t	 expires = 0, created;
	int	 has_expiry;
	size_t	 i;

	/* All SQL first: a failure past here would leak the JSON objects. */
	db_bind_int(r->db, st, ":id", p->token_id);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 500, "token %lld vanished", (long long)p->token_id);
	prefix = db_text(r->db, st, 0);
	if ((has_expiry = !db_is_null(st, 1)))
		expires = db_int(st, 1);
	created = db_int(st, 2);
	db_reset(st);

	o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(
	    p->kind == SESS_STAFF ? "staff" : "customer"));
	json_object_object_add(o, "id", json_object_new_int64(p->user_id));
	json_object_object_add(o, "email", json_object_new_string(p->email));
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "scopes", json_words(p->scopes));
	if (p->kind == SESS_STAFF) {
		perms = json_object_new_array();
		for (i = 0; i < p->nperms; i++)
			json_object_array_add(perms, json_object_new_string(p->perms[i]));
		json_object_object_add(o, "permissions", perms);
	}
	t = json_object_new_object();
	json_object_object_add(t, "id", json_object_new_int64(p->token_id));
	json_object_object_add(t, "prefix", json_object_new_string(prefix));
	json_object_object_add(t, "created_at", json_time(created));
	json_object_object_add(t, "expires_at", has_expiry ? json_time(expires) : NULL);
	json_object_object_add(o, "token", t);

	resp_json(r, 200);
	buf_reset(r->out);
	buf_puts(r->out, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_putc(r->out, '\n');
	json_object_put(o);
}
