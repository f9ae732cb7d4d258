/*
 * audit.c: the one audit writer (see audit.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "db.h"

/* The schema's coarse class of an actor name (its CHECK list). */
static const char *
actor_kind(const char *name)
{
	if (strcmp(name, "customer") == 0 || strcmp(name, "staff") == 0 ||
	    strcmp(name, "anonymous") == 0)
		return name;
	return "system";
}

void
vaudit(struct db *db, const struct actor *who, const char *action, const char *target,
    const char *fmt, va_list ap)
{
	struct stmt *st;
	char	 detail[2048];

	/* A detail longer than this is a bug of the caller; cut, not lost. */
	vsnprintf(detail, sizeof(detail), fmt, ap);
	st = db_q(db, Q_AUDIT_INSERT);
	db_bind_text(db, st, ":kind", actor_kind(who->name));
	db_bind_text(db, st, ":who", who->name);
	if (who->id > 0)
		db_bind_int(db, st, ":actor", who->id);
	else
		db_bind_null(db, st, ":actor");
	db_bind_text(db, st, ":action", action);
	db_bind_text(db, st, ":target", target ? target : "");
	db_bind_text(db, st, ":detail", detail);
	db_bind_text(db, st, ":ip", who->ip ? who->ip : "");
	db_bind_text(db, st, ":rid", who->request_id ? who->request_id : "");
	db_step(db, st);
}

void
audit(struct db *db, const struct actor *who, const char *action, const char *target,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vaudit(db, who, action, target, fmt, ap);
	va_end(ap);
}
