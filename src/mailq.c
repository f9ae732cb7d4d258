/*
 * mailq.c: the enqueue side of email, for pages: an email job row in
 * the request's open transaction (the job itself is job_email.c).
 */
#include "config.h"

#include <json-c/json.h>

#include "http.h"
#include "mailq.h"
#include "spool.h"

/* mailq.h: the payload is job_email.c's {"to", "template", "vars"}. */
int64_t
mailq_add(struct request *r, const char *to, const char *tmpl, struct json_object *vars,
    const char *idem)
{
	struct json_object *o = json_object_new_object();
	int64_t	 id;

	json_object_object_add(o, "to", json_object_new_string(to));
	json_object_object_add(o, "template", json_object_new_string(tmpl));
	json_object_object_add(o, "vars", vars);
	id = spool_enqueue(r, "email", idem,
	    arena_strdup(r->a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)));
	json_object_put(o);
	return id;
}

