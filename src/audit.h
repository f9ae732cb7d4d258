/*
 * audit.h: the one audit writer.  Every process appends to audit_log
 * through audit(); nothing else inserts into it.  The actor is named by
 * the caller: a request derives it from its principal (req_audit in
 * session.h), the work daemon writes "system", the command line "cli",
 * a payment webhook "webhook:stripe".
 */
#ifndef PX_AUDIT_H
#define PX_AUDIT_H

#include <stdarg.h>
#include <stdint.h>

#include "util.h"

struct db;

struct actor {
	/* "customer", "staff", "anonymous", "system", "cli", "webhook:NAME" */
	const char	*name;
	int64_t		 id;		/* the customer's or staff member's id; 0: none */
	const char	*ip;		/* NULL: none */
	const char	*request_id;	/* NULL: none */
};

/*
 * Append one row inside the caller's transaction, if any.  detail is
 * printf-formatted.  A failure is a hard error of the unit of work
 * (db.h): an action that must be audited does not happen unaudited.
 * Allocates nothing; a detail over 2 KB is cut.
 */
void	audit(struct db *, const struct actor *, const char *action, const char *target,
	    const char *fmt, ...) PX_PRINTF(5, 6);
void	vaudit(struct db *, const struct actor *, const char *action, const char *target,
	    const char *fmt, va_list);

#endif
