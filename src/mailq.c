/*
 * mailq.c: the enqueue side of email: an email job row in the open
 * transaction, from a page or a command (the job is job_email.c).
 */
#include "config.h"

#include <json-c/json.h>

#include "db.h"
#include "http.h"
#include "mailq.h"
#include "spool.h"

int64_t
mailq_add_db(struct db *db, const char *to, const char *tmpl, struct json_object *vars,
    const char *idem)
{
	struct json_object *o = json_object_new_object();
	int64_t	 id;

	/* The payload of job_email.c: {"to", "template", "vars"}.  The
	 * statement binds a copy, so o may go right after. */
	json_object_object_add(o, "to", json_object_new_string(to));
	json_object_object_add(o, "template", json_object_new_string(tmpl));
	json_object_object_add(o, "vars", vars);
	id = spool_enqueue_db(db, "email", idem, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return id;
}

int64_t
mailq_add(struct request *r, const char *to, const char *tmpl, struct json_object *vars,
    const char *idem)
{
	return mailq_add_db(r->db, to, tmpl, vars, idem);
}
