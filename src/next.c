/*
 * next.c: the "next" parameter, where a sign-in or re-authentication
 * sends the browser afterwards: one allow-list for customers and staff.
 */
#include "config.h"

#include <string.h>

#include "next.h"

/*
 * A local path under prefix ("/" or "/admin") to go to after sign-in,
 * otherwise fallback.  The value goes into a Location header and into a
 * query string unencoded, so it is allow-listed, not deny-listed: ASCII
 * letters, digits, '/', '-' and '_' only, no "//" anywhere.  Browsers
 * drop tabs and line breaks from a URL and read '\\' as '/', so
 * "/<TAB>/evil.example" and "/\\evil.example" would leave the site;
 * neither can pass.  Allocates nothing.
 */
const char *
next_local(const char *next, const char *prefix, const char *fallback)
{
	size_t	 plen = strlen(prefix);
	const char *s;

	if (next == NULL || next[0] != '/' || strlen(next) > 200 ||
	    strncmp(next, prefix, plen) != 0 ||
	    (plen > 1 && next[plen] != '\0' && next[plen] != '/'))
		return fallback;
	for (s = next; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '/' || *s == '-' || *s == '_'))
			return fallback;
	if (strstr(next, "//") != NULL)
		return fallback;
	return next;
}

/* A local path to go to after a customer's sign-in; else fallback. */
const char *
next_customer(const char *next, const char *fallback)
{
	return next_local(next, "/", fallback);
}

/* A local path under /admin to go to after a staff sign-in or
 * re-authentication; else fallback. */
const char *
next_staff(const char *next, const char *fallback)
{
	return next_local(next, "/admin", fallback);
}
