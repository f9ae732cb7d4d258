/*
 * gw_stripe.h: the pure parts of the Stripe gateway (gw_stripe.c), for
 * the unit tests (cmd_test_stripe.c) and the fuzz probes.  The gateway
 * itself is gw_stripe_ops (gateway.h).  Contract: contracts/payments.md
 * section 1.
 */
#ifndef PX_GW_STRIPE_H
#define PX_GW_STRIPE_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct json_object;
struct pay_observation;

/* Stripe's default tolerance for a signature's age, seconds (1.4 step 5). */
#define STRIPE_TOLERANCE	300
/* The API version every request pins (stripe-node 23.1.0's). */
#define STRIPE_API_VERSION	"2026-10-28.endive"
/* The longest Stripe-Signature header read; a longer one is malformed. */
#define STRIPE_SIG_HEADER_MAX	4096

enum stripe_sig_rc {
	STRIPE_SIG_OK,
	STRIPE_SIG_MALFORMED,	/* no header, no t, no v1, an empty v1, a bad t */
	STRIPE_SIG_MISMATCH,	/* no v1 matches any secret */
	STRIPE_SIG_STALE,	/* signed, but older than the tolerance */
	STRIPE_SIG_NO_SECRET,	/* nothing to verify with */
	STRIPE_SIG__MAX
};
extern const char *const stripe_sig_text[STRIPE_SIG__MAX];

/*
 * Verify a Stripe-Signature header over the raw body (contract 1.4):
 * the header split on ',' and each item on its first '='; "t" the
 * timestamp (decimal digits; exactly one), every "v1" a candidate (an
 * empty one makes the header malformed, as stripe-node 23 refuses it),
 * other schemes ignored; the expected value is the lowercase hex of
 * HMAC-SHA256(secret as is, "<t>.<body>") for each of nsecrets secrets
 * (a secret being rolled: the old one stays valid), compared in
 * constant time against every candidate; only then the age: older
 * than tolerance seconds is stale (tolerance 0: no check; a future
 * timestamp is not refused, as no SDK refuses it).  *t_out (may be
 * NULL) gets the timestamp when one was read.  Allocates nothing.
 */
enum stripe_sig_rc stripe_sig_verify(const char *header, const char *body, size_t len,
	    const char *const *secrets, size_t nsecrets, int64_t now, int64_t tolerance,
	    int64_t *t_out);

/* The lowercase hex HMAC-SHA256 under secret (its bytes as they are)
 * of p1 then p2, into out[65]; all NULs if OpenSSL fails. */
void	stripe_hmac_hex(const char *secret, const char *p1, size_t n1, const char *p2, size_t n2,
	    char out[65]);
/* The lowercase hex HMAC-SHA256 of "<t>.<body>" under secret into
 * out[65] (the signer of the double's twin in C, for tests). */
void	stripe_sig_hex(const char *secret, int64_t t, const char *body, size_t len, char out[65]);

/*
 * Read a Checkout Session object (a webhook's data.object, a retrieve
 * or a list entry) into o: ref (cs_...), ref2 (the PaymentIntent, a
 * string or an expanded object's id), state (complete+paid or
 * no_payment_required: succeeded; complete+unpaid or open: pending;
 * expired: expired), amount (amount_total), currency (upper case).
 * *pub (may be NULL) gets our payment's public id from
 * client_reference_id or metadata.payment, or NULL.  Strings in a.
 * 0, or -1 when s is not a checkout.session with an id.
 */
int	stripe_session_read(struct arena *a, struct json_object *s, struct pay_observation *o,
	    const char **pub);

/*
 * Read an event's raw body (already verified) into o (gateway and
 * source are left as the caller set them): event_id (evt_...),
 * event_type, payload (the body as is), and by type:
 *   checkout.session.completed           the session; paid: succeeded,
 *                                        unpaid: pending
 *   checkout.session.async_payment_succeeded   succeeded
 *   checkout.session.async_payment_failed      failed
 *   checkout.session.expired             expired
 *   charge.refunded                      ref2 the PaymentIntent;
 *                                        refunded_total amount_refunded;
 *                                        refund_ref/refund_amount the
 *                                        newest refund of the charge's
 *                                        list when it came; state
 *                                        refunded or partially_refunded
 * Returns 1 (o filled), 0 (a valid event of another type: nothing to
 * act on), or -1 (not UTF-8, not JSON, not an event, or an event of
 * these types without its object) with err set.  *pub as in
 * stripe_session_read (the PaymentIntent's or Charge's
 * metadata.payment for charge.refunded).  Strings in a.
 */
int	stripe_event_read(struct arena *a, const char *body, size_t len, struct pay_observation *o,
	    const char **pub, char *err, size_t errsz);

/* The event id of a polled state: "poll:<ref>:<state>:<amount>", in a. */
const char *stripe_poll_id(struct arena *a, const struct pay_observation *o);

#endif
