/*
 * nowpay.h: the pure parts of the NOWPayments gateway (issue 13;
 * contracts/payments.md section 3.1): reading an IPN or a payment object,
 * its canonical JSON and HMAC-SHA512 signature, the status map and the
 * amount arithmetic.  No database, no network: gw_nowpayments.c calls
 * these from the worker (verify) and from work (lookup, recent); the
 * fuzz target "nowpay" and t/00-unit drive them from bytes.
 *
 * The signature (x-nowpayments-sig) is lowercase hex HMAC-SHA512, keyed
 * with the IPN secret, over what NOWPayments' documented Node recipe
 * computes from the body: JSON.stringify(sortObject(JSON.parse(body))).
 * np_canonical() reproduces that from the raw bytes without a round trip
 * through C doubles: keys sorted recursively as JavaScript orders them
 * (by UTF-16 code units, which for the ASCII keys NOWPayments sends is
 * byte order; an object lists array-index keys such as "7" first, in
 * numeric order), compact,
 * strings re-escaped as JSON.stringify escapes them (so "\/" arrives as
 * "/" and "\u00e9" as the raw UTF-8, as JS would write them), numbers in
 * JavaScript's shortest round-trip form (for a body that JS wrote, that
 * is the token's raw text: 0.09853637216235617 stays exact), arrays in
 * order.  The older recipe (a replacer array, which writes nested
 * objects as {}) is not accepted: a delivery signed that way is refused.
 */
#ifndef PX_NOWPAY_H
#define PX_NOWPAY_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct pay_observation;

enum np_type { NP_NULL, NP_FALSE, NP_TRUE, NP_NUM, NP_STR, NP_ARR, NP_OBJ };

struct np_member;

/* A JSON value read from untrusted bytes, in an arena. */
struct np_val {
	enum np_type	 t;
	const char	*s;	/* NP_STR: the decoded text (valid UTF-8, no NUL);
				 * NP_NUM: the number as JavaScript prints it */
	size_t		 n;	/* strlen(s) */
	struct np_member *m;	/* NP_OBJ: members sorted by key bytes, keys unique */
	struct np_val	**v;	/* NP_ARR: items in order */
	size_t		 count;	/* members or items */
};
struct np_member {
	const char	*key;	/* decoded */
	size_t		 keylen;
	struct np_val	*val;
};

/* Limits on what np_parse accepts (an IPN is about twenty members, one
 * level of nesting). */
#define NP_DEPTH_MAX	32
#define NP_BODY_MAX	(256 * 1024)

/*
 * Parse one JSON text (RFC 8259, nothing before or after but
 * whitespace) into a tree in a.  Refused (NULL, err set): malformed
 * JSON, invalid UTF-8, raw control characters in strings, \u0000 or a
 * lone surrogate escape, a duplicate key in an object (JSON.parse keeps
 * the last, another reader the first: a body that could mean two things
 * is refused), nesting over NP_DEPTH_MAX, a body over NP_BODY_MAX.
 */
struct np_val	*np_parse(struct arena *a, const char *body, size_t len, char *err, size_t errsz);

/* The canonical text of v (see the top of this file), NUL-terminated in
 * a; *len its length (may be NULL). */
const char	*np_canonical(struct arena *a, const struct np_val *v, size_t *len);

/* A member of an object (NULL when v is not an object or lacks it). */
const struct np_val *np_get(const struct np_val *v, const char *key);
/* A member that is a string or a number, as text; NULL otherwise (null
 * and absent included). */
const char	*np_scalar(const struct np_val *v, const char *key);

/*
 * 1 when hexsig (the header, hex in either case, surrounding spaces
 * ignored) is HMAC-SHA512(secret, canon), compared in constant time;
 * 0 otherwise (a header of the wrong length or not hex included).
 */
int	np_sig_ok(const char *secret, const char *canon, size_t len, const char *hexsig);
/* Lowercase hex HMAC-SHA512(secret, data) into out[129]. */
void	np_sig_hex(const char *secret, const char *data, size_t len, char out[129]);

/* enum pay_state for a NOWPayments payment_status: waiting, confirming,
 * confirmed and sending are pending; partially_paid; finished is
 * succeeded; failed; expired; refunded.  -1 for any other word. */
int	np_state(const char *status);

/*
 * A decimal number (a JSON number's text or a numeric string: digits,
 * an optional fraction, an optional exponent) in minor units of a
 * currency with exp decimals, rounded down.  0, or -1 when it is not
 * such a number, is negative, or is over MONEY_MAX.
 */
int	np_minor(const char *text, int exp, int64_t *out);

/*
 * What arrived, in minor units of the price's currency: price_minor x
 * actually_paid / pay_amount, in integers, rounded down.  The two crypto
 * amounts are decimal text (up to 18 significant digits and 18
 * decimals: any crypto amount).  -1 when one is not a number, pay_amount
 * is zero, or the result would pass MONEY_MAX.
 */
int64_t	np_received(int64_t price_minor, const char *actually_paid, const char *pay_amount);

/*
 * Read a NOWPayments payment object (an IPN body, or GET /v1/payment/{id}
 * and the list's items: the same shape) into obs, whose gateway and
 * source the caller set (pay_observation_init).  Strings in a; payload
 * is the caller's.  Fills:
 *   event_id   "<payment_id>:<payment_status>:<actually_paid>" (the
 *              dedupe key of the contract: one IPN per status change,
 *              resent; a second deposit that changes actually_paid is
 *              a new event)
 *   event_type "payment.<status>"
 *   ref        invoice_id (our gateway_ref) when present
 *   ref2       payment_id
 *   state      np_state(payment_status)
 *   amount     np_received() in price_currency; currency its upper case
 *   refunded_total / refund_ref / refund_amount for 'refunded': the whole
 *              price (NOWPayments refunds are whole and made by hand)
 * *order_id is set to the order_id member (our payment's public_id) or
 * NULL, and so is obs->payment_public (payment_apply finds the payment
 * by it first).  Returns 0, or -1 when payment_id or payment_status is missing
 * (err set).
 */
int	np_observe(struct arena *a, const struct np_val *p, struct pay_observation *obs,
	    const char **order_id, char *err, size_t errsz);

#endif
