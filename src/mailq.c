/*
 * mailq.c: the enqueue side of email: an email job row in the open
 * transaction, from a page or a command (the job is job_email.c).
 */
#include "config.h"

#include <json-c/json.h>

#include "db.h"
#include "http.h"
#include "mail_seal.h"
#include "mailq.h"
#include "spool.h"

int64_t
mailq_add_key(struct db *db, const unsigned char *key, const char *to, const char *tmpl,
    struct json_object *vars, const char *idem)
{
	struct json_object *o = json_object_new_object();
	int64_t	 id;
	char	 err[256];

	/* The payload of job_email.c: {"to", "template", "vars"}, and
	 * "sealed" for a link that is a credential (mail_seal.c): never in
	 * clear in the jobs table.  A secret link with no key to seal it is
	 * a caller's mistake, so the transaction fails rather than store it.
	 * The statement binds a copy, so o may go right after. */
	json_object_object_add(o, "to", json_object_new_string(to));
	json_object_object_add(o, "template", json_object_new_string(tmpl));
	json_object_object_add(o, "vars", vars);
	/* Without a key (the command line, jobs: no arena either) it only
	 * checks that no var is a secret link. */
	if (mail_seal_links(key != NULL ? db_arena(db) : NULL, o, key, idem, err, sizeof(err)) != 0) {
		json_object_put(o);
		db_fail(db, "mailq(%s): %s", tmpl, err);
	}
	id = spool_enqueue_db(db, "email", idem, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return id;
}

int64_t
mailq_add_db(struct db *db, const char *to, const char *tmpl, struct json_object *vars,
    const char *idem)
{
	return mailq_add_key(db, NULL, to, tmpl, vars, idem);
}

int64_t
mailq_add(struct request *r, const char *to, const char *tmpl, struct json_object *vars,
    const char *idem)
{
	return mailq_add_key(r->db, r->app->key, to, tmpl, vars, idem);
}
