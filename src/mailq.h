/*
 * mailq.h: queueing an email (mailq.c).
 */
#ifndef PX_MAILQ_H
#define PX_MAILQ_H

#include <stdint.h>

struct db;
struct json_object;
struct request;

/*
 * Queue an email of template tmpl ("emails/NAME") to to, inside the
 * open transaction, with idempotency key idem; the caller wakes the
 * spool after COMMIT.  vars is consumed.  Returns the job id.
 */
int64_t	mailq_add(struct request *, const char *to, const char *tmpl,
	    struct json_object *vars, const char *idem);
/* The same on a connection of its own (the command line, jobs): its
 * vars must hold no secret link (there is no key to seal it with: the
 * transaction fails).  mailq_add_key() seals them under key. */
int64_t	mailq_add_key(struct db *, const unsigned char *key, const char *to, const char *tmpl,
	    struct json_object *vars, const char *idem);
int64_t	mailq_add_db(struct db *, const char *to, const char *tmpl,
	    struct json_object *vars, const char *idem);

#endif
