/*
 * next.h: checking the "next" parameter of sign-in and re-authentication
 * forms before it becomes a Location header (next.c).
 */
#ifndef PX_NEXT_H
#define PX_NEXT_H

/* next when it is a plain local path under prefix ("/" or "/admin"),
 * otherwise fallback.  Allocates nothing. */
const char	*next_local(const char *next, const char *prefix, const char *fallback);
/* next_local() under "/": after a customer's sign-in. */
const char	*next_customer(const char *next, const char *fallback);
/* next_local() under "/admin": after a staff sign-in. */
const char	*next_staff(const char *next, const char *fallback);

#endif
