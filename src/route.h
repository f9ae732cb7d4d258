/*
 * route.h: the route table (routes.c) and the dispatcher (router.c).
 *
 * A pattern is literal segments and typed parameters: "{slug}" matches
 * [a-z0-9-]{1,64}, "{id:int}" a positive decimal up to 18 digits,
 * "{token}" [A-Za-z0-9_-]{16,128}.  The dispatcher checks, in order:
 * path (404), method (405 with Allow; HEAD runs the GET handler),
 * the body's Content-Type (415: router.c, body_type_ok), who may call it (login redirect, 401 or 403), permission (403), CSRF
 * (403) and a form's declared fields (400, valid.h) before the handler
 * runs.  API routes (WHO_API) take a Bearer token instead of cookies,
 * answer in JSON with a stable error code, and name in perm the token scope they need ("read"), optionally with the
 * staff permission the owner must hold ("write:orders.write").
 */
#ifndef PX_ROUTE_H
#define PX_ROUTE_H

#include "http.h"

struct form;

enum who {
	WHO_ANY,		/* anyone, session optional */
	WHO_CUSTOMER,		/* a signed-in customer */
	WHO_STAFF,		/* a signed-in staff member (permission below) */
	WHO_API,		/* Authorization: Bearer token */
	WHO_WEBHOOK,		/* signature-checked by the handler; cookies ignored */
	WHO__MAX
};
extern const char *const who_names[WHO__MAX];

enum csrf_rule {
	CSRF_NONE,		/* safe method, or authenticated by other means */
	CSRF_CHECK,		/* unsafe method on a cookie-authenticated route */
};

typedef void (*handler_fn)(struct request *);

/* Route flags. */
#define F_PARTIAL	0x01	/* open while the second factor (or TOTP enrolment) is pending */
#define F_UPLOAD	0x02	/* a form that takes uploads: multipart/form-data too */
#define F_HUMAN		0x04	/* refused when sent sooner than form_min_seconds after its page */
#define F_PWDUE		0x08	/* open while a password change is due (pw_due.c) */

struct route {
	enum method	 method;
	const char	*pattern;
	handler_fn	 handler;
	enum who	 who;
	const char	*perm;		/* staff permission name, or NULL; for WHO_API
					 * "SCOPE" or "SCOPE:PERMISSION" (required) */
	enum csrf_rule	 csrf;
	unsigned	 flags;
	const struct form *form;	/* a POST form's declared fields (valid.h);
					 * NULL: the handler reads the body itself */
};

extern const struct route routes[];
extern const size_t nroutes;

/* Match path against pattern, adding parameters to r->params when r is
 * not NULL.  1 on a match. */
int	route_match(const char *pattern, const char *path, struct request *r);
/* Run the request through the table and the handler; never fails. */
void	dispatch(struct request *);

#endif
