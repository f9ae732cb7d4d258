/*
 * panel_default.h: refuse a 3X-UI panel's default sign-in (ASVS V2.10.2).
 */
#ifndef PANEL_DEFAULT_H
#define PANEL_DEFAULT_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* The sentence shown when a form or the CLI refuses a default pair. */
#define PANEL_DEFAULT_MSG "That panel username and password are a 3X-UI/x-ui default (such as admin/admin), " \
	"which anyone can try: change them in the panel (Panel Settings, Authentication) first, then type the new ones here."

/*
 * 1 when user and the password pass[0..n) are a known default pair of
 * 3X-UI or x-ui, or the password is the username itself; else 0.
 */
int	panel_creds_default(const char *user, const char *pass, size_t n);

/*
 * 1 when server id's stored username and sealed password (opened with
 * key) are a default pair; 0 when not, when there is no password (a
 * token) or when it does not open.  Does not allocate beyond the
 * statement.
 */
int	panel_server_default(struct db *db, const unsigned char *key, int64_t id);

#endif
