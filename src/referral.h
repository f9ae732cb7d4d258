/*
 * referral.h: referrals (issue 11), in referral.c.  A customer's link
 * /r/{code} leaves a signed first-touch cookie; registering with it
 * attributes the new customer to the referrer (one referrals row); each
 * paid order of a referred customer accrues a pending commission that
 * `cron referrals` credits to the referrer's wallet after the hold; a
 * refund reverses it (refund.c).
 *
 * Settings (admin_settings.c): referral.percent_bp (basis points of
 * the order's total, 0..10000, default 0: off) and referral.hold_days
 * (0..365, default 14).
 *
 * The functions that take a struct db run inside the caller's
 * transaction and follow db.h's error contract.
 */
#ifndef PX_REFERRAL_H
#define PX_REFERRAL_H

#include <stdint.h>

struct actor;
struct conf;
struct db;
struct request;

/* How long a referral cookie lasts, in seconds (the signed expiry and
 * the cookie's Max-Age). */
#define REFERRAL_COOKIE_AGE	(30 * 86400)
#define REFERRAL_HOLD_DEFAULT	14

/* The referral cookie's name: __Host-px_ref over TLS, px_ref without. */
const char *referral_cookie_name(const struct request *);
/*
 * The code of the request's referral cookie when its signature is right
 * and it has not expired, else NULL (a forged, stale or malformed cookie
 * is ignored silently).  Allocates in the request's arena.
 */
const char *referral_cookie_code(struct request *);
/*
 * GET /r/{code}: when the code is an active customer's and the request
 * has no valid referral cookie yet (first touch wins), set one for 30
 * days; in every case a 302 to the home page (an unknown code says
 * nothing).
 */
void	referral_visit(struct request *);
/*
 * At registration, inside its transaction: a valid cookie's referrer
 * becomes the new customer cid's (one referrals row), unless it is the
 * same customer or the same email (no self-referral).  Returns the
 * referrer's id, or 0 when nothing was written.  The cookie is the
 * caller's to clear (page_auth.c clears it after every registration
 * whatever the outcome, so the answer does not tell a new address from
 * a taken one).
 */
int64_t	referral_attribute(struct request *, int64_t cid, const char *email);
/*
 * At checkout, inside its transaction, after the debit: when customer
 * was referred and referral.percent_bp > 0, a pending commission of
 * total * percent_bp / 10000 (rounded down) in currency, available
 * referral.hold_days after now.  Returns the amount (0: nothing written).
 */
int64_t	referral_accrue(struct db *, int64_t customer, int64_t order, int64_t total,
	    const char *currency);
/*
 * A refund of order, inside the refund's transaction: its commission, if
 * any, becomes 'reversed'.  A pending one moved no money: only its state
 * changes.  An available one was credited to the referrer: a 'reversal'
 * debit takes it back, as far as the referrer's balance allows (the
 * ledger never goes below zero: wallet_post refuses it); what could not
 * be taken back is named in the ledger row's memo and in the audit row.
 * One audit row when anything changed.  Returns a sentence for the
 * refund's audit row and page (the db's arena), NULL when the order had
 * no commission or it was reversed already.
 */
const char *referral_reverse(struct db *, int64_t order, const struct actor *);
/*
 * `1000proxy cron referrals`: every pending commission whose hold has
 * passed is credited to its referrer (a 'commission' ledger row, key
 * "commission:<id>"), marked available with that row, audited, and
 * mailed about (emails/commission_available), one transaction each.
 * Safe to run twice at once: each commission moves under the write lock
 * and its ledger key makes a second credit a replay.  Exit status.
 */
int	cron_referrals(const struct conf *, int argc, char **argv);

#endif
