/*
 * money.h: amounts of money as integers of minor units with an ISO 4217
 * currency code (DESIGN.md, "Data").  No floating point anywhere: an
 * amount is read from text digit by digit, printed by division, and
 * every limit is checked before it could overflow.
 */
#ifndef PX_MONEY_H
#define PX_MONEY_H

#include <stdint.h>

struct arena;
struct buf;

/*
 * The largest amount anything accepts, in minor units: 10^15, a
 * trillion dollars (or a quadrillion yen).  Far from INT64_MAX, so sums
 * of a few amounts (an order's lines, a wallet's balance plus a credit)
 * cannot overflow before a check sees them.
 */
#define MONEY_MAX	INT64_C(1000000000000000)

/* The number of decimals of an ISO 4217 code (JPY 0, USD 2, KWD 3), or
 * -1 for a code not in the table: the shop refuses those. */
int	money_exponent(const char *currency);
/* Whether currency is a code of the table (three capital letters). */
int	money_known(const char *currency);

/*
 * Append minor units of currency to b, with the currency's decimals:
 * "$12.50", "¥1250", "-€0.05", "12.500 KWD" (a symbol for the few
 * currencies that have an unambiguous one, else the code after the
 * number).  An unknown code prints with two decimals and the code.
 * Allocates only through b.
 */
void	money_format(struct buf *, int64_t minor, const char *currency);

/*
 * The amount alone as a plain decimal number, with the currency's
 * decimals and no symbol, code or grouping: "12.50", "-0.05", "1250"
 * (JPY), "12.500" (KWD).  What a spreadsheet or a program reads as a
 * number (the CSV export, csv.c).  Allocates only through b.
 */
void	money_plain(struct buf *, int64_t minor, const char *currency);

/* money_format into a string of the arena a (a page's view model). */
const char *money_str(struct arena *a, int64_t minor, const char *currency);
/* A rate in basis points as the percentage people read and type:
 * 2000 "20", 750 "7.5", 5 "0.05" (the invoice, the settings form). */
const char *money_rate_str(struct arena *a, int64_t bp);

enum money_err {
	MONEY_OK = 0,
	MONEY_EMPTY,		/* nothing typed */
	MONEY_SYNTAX,		/* not digits with an optional decimal point */
	MONEY_DECIMALS,		/* more decimals than the currency has */
	MONEY_RANGE,		/* above MONEY_MAX */
	MONEY_CURRENCY,		/* the currency is not in the table */
	MONEY__MAX
};
/* A sentence for each error, for a form's message. */
extern const char *const money_err_text[MONEY__MAX];

/*
 * Read an amount typed by staff, "12.50" or "12" or "0.5", in currency,
 * into minor units (1250, 1200, 50).  Refused: empty text, signs,
 * spaces, exponents, thousands separators, a leading or trailing
 * decimal point, more decimals than the currency has (a JPY amount has
 * none), and anything above MONEY_MAX.  A negative amount is never
 * typed: the form says credit or debit.  *out is set only on MONEY_OK.
 */
enum money_err money_parse(const char *s, const char *currency, int64_t *out);

/*
 * The tax on an amount at rate_bp basis points (2000: 20 %; 0..10000),
 * rounded half up to the minor unit.  inclusive 0: amount is net, the
 * tax is added on top (total = amount + tax).  inclusive 1: amount is
 * the gross price that already holds the tax (tax = amount - net, net =
 * amount / (1 + rate)).  An order keeps subtotal - discount + tax =
 * total either way: with exclusive prices the lines and the discount
 * are net and the tax is added; with inclusive prices the checkout takes
 * the tax out of what is paid (gross lines less the discount) and
 * stores the subtotal net of it (gross lines - tax), so the total is
 * what the customer saw.  amount 0..MONEY_MAX; -1 for an argument out
 * of range.  Integer arithmetic (unsigned 64-bit: MONEY_MAX * 10000
 * fits), no floating point.
 */
int64_t	money_tax(int64_t amount, int rate_bp, int inclusive);

#endif
