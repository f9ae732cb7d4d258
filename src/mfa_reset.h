/*
 * mfa_reset.h: a customer who lost every second factor (ASVS V2.5.7).
 */
#ifndef PX_MFA_RESET_H
#define PX_MFA_RESET_H

#include <stdint.h>

struct conf;
struct db;

/*
 * Remove customer cid's TOTP, recovery codes and passkeys and end every
 * session of theirs, on db inside the caller's transaction, and queue
 * the notice to email (name, by: who reset it, site: the shop's name)
 * under idempotency key idem; *job gets the mail job (wake it after
 * COMMIT).  Returns the number of passkeys removed.
 */
int64_t	cust_2fa_reset(struct db *, int64_t cid, const char *email, const char *name,
	    const char *by, const char *site, const char *idem, int64_t *job);
/* `1000proxy user reset-2fa EMAIL`: the same from the command line,
 * audited as the CLI.  The exit status. */
int	cmd_user_reset_2fa(const struct conf *, int argc, char **argv);

#endif
