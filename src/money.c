/*
 * money.c: ISO 4217 minor units, formatting and parsing of amounts
 * (money.h).  Integers only: an amount is never a double, not even on
 * its way through a printf.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "money.h"
#include "util.h"

/*
 * The currencies a shop may run in, with their minor units (ISO 4217,
 * list one).  Most have two; the table names the exceptions a reseller
 * is likely to meet and the common two-decimal ones, and refuses the
 * rest rather than guess: a code missing here is a line to add.  A
 * symbol only where it is unambiguous; "$" is USD alone (CAD, AUD and
 * the others print their code).
 */
static const struct currency {
	char		 code[4];
	int		 exp;
	const char	*sym;
} currencies[] = {
	{ "AED", 2, NULL }, { "ARS", 2, NULL }, { "AUD", 2, NULL }, { "BHD", 3, NULL },
	{ "BRL", 2, NULL }, { "CAD", 2, NULL }, { "CHF", 2, NULL }, { "CLP", 0, NULL },
	{ "CNY", 2, NULL }, { "CZK", 2, NULL }, { "DKK", 2, NULL }, { "EGP", 2, NULL },
	{ "EUR", 2, "\xe2\x82\xac" }, { "GBP", 2, "\xc2\xa3" }, { "HKD", 2, NULL },
	{ "HUF", 2, NULL }, { "IDR", 2, NULL }, { "ILS", 2, NULL }, { "INR", 2, NULL },
	{ "IQD", 3, NULL }, { "IRR", 2, NULL }, { "ISK", 0, NULL }, { "JOD", 3, NULL },
	{ "JPY", 0, "\xc2\xa5" }, { "KRW", 0, NULL }, { "KWD", 3, NULL }, { "KZT", 2, NULL },
	{ "LYD", 3, NULL }, { "MXN", 2, NULL }, { "MYR", 2, NULL }, { "NGN", 2, NULL },
	{ "NOK", 2, NULL }, { "NZD", 2, NULL }, { "OMR", 3, NULL }, { "PHP", 2, NULL },
	{ "PKR", 2, NULL }, { "PLN", 2, NULL }, { "PYG", 0, NULL }, { "RON", 2, NULL },
	{ "RUB", 2, NULL }, { "SAR", 2, NULL }, { "SEK", 2, NULL }, { "SGD", 2, NULL },
	{ "THB", 2, NULL }, { "TND", 3, NULL }, { "TRY", 2, NULL }, { "TWD", 2, NULL },
	{ "UAH", 2, NULL }, { "UGX", 0, NULL }, { "USD", 2, "$" }, { "VND", 0, NULL },
	{ "XAF", 0, NULL }, { "XOF", 0, NULL }, { "ZAR", 2, NULL },
};

const char *const money_err_text[MONEY__MAX] = {
	[MONEY_OK] = "ok",
	[MONEY_EMPTY] = "Enter an amount.",
	[MONEY_SYNTAX] = "Enter an amount as digits with an optional decimal point, such as 12.50.",
	[MONEY_DECIMALS] = "That amount has more decimals than the currency has.",
	[MONEY_RANGE] = "That amount is too large.",
	[MONEY_CURRENCY] = "That currency is not supported.",
};

static const struct currency *
lookup(const char *code)
{
	size_t	 i;

	if (code == NULL)
		return NULL;
	for (i = 0; i < NELEM(currencies); i++)
		if (strcmp(currencies[i].code, code) == 0)
			return &currencies[i];
	return NULL;
}

int
money_exponent(const char *currency)
{
	const struct currency *c = lookup(currency);

	return c != NULL ? c->exp : -1;
}

int
money_known(const char *currency)
{
	return lookup(currency) != NULL;
}

/* The magnitude a with exp decimals: "1250" exp 2 is "12.50". */
static void
digits(struct buf *b, uint64_t a, int exp)
{
	uint64_t unit = 1;
	int	 i;

	for (i = 0; i < exp; i++)
		unit *= 10;
	buf_printf(b, "%" PRIu64, a / unit);
	if (exp > 0)
		buf_printf(b, ".%0*" PRIu64, exp, a % unit);
}

void
money_format(struct buf *b, int64_t minor, const char *currency)
{
	const struct currency *c = lookup(currency);
	int	 exp = c != NULL ? c->exp : 2;
	uint64_t a;

	/* The magnitude as unsigned, so INT64_MIN has one too. */
	a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	if (minor < 0)
		buf_putc(b, '-');
	if (c != NULL && c->sym != NULL)
		buf_puts(b, c->sym);
	digits(b, a, exp);
	if (c == NULL || c->sym == NULL)
		buf_printf(b, " %.3s", currency != NULL && *currency != '\0' ? currency : "???");
}

enum money_err
money_parse(const char *s, const char *currency, int64_t *out)
{
	int	 exp = money_exponent(currency), decimals = -1;
	int64_t	 v = 0;

	if (exp < 0)
		return MONEY_CURRENCY;
	if (s == NULL || *s == '\0')
		return MONEY_EMPTY;
	if (*s < '0' || *s > '9')
		return MONEY_SYNTAX;	/* signs, spaces, a leading point */
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (decimals >= 0 || s[1] == '\0')
				return MONEY_SYNTAX;	/* two points, or a trailing one */
			decimals = 0;
			continue;
		}
		if (*s < '0' || *s > '9')
			return MONEY_SYNTAX;
		if (decimals >= 0 && ++decimals > exp)
			return MONEY_DECIMALS;
		/* v * 10 + digit stays within MONEY_MAX, itself far below
		 * INT64_MAX / 10, so nothing here can overflow. */
		v = v * 10 + (*s - '0');
		if (v > MONEY_MAX)
			return MONEY_RANGE;
	}
	for (decimals = decimals < 0 ? 0 : decimals; decimals < exp; decimals++) {
		v *= 10;
		if (v > MONEY_MAX)
			return MONEY_RANGE;
	}
	*out = v;
	return MONEY_OK;
}

int64_t
money_tax(int64_t amount, int rate_bp, int inclusive)
{
	uint64_t a, net;

	if (amount < 0 || amount > MONEY_MAX || rate_bp < 0 || rate_bp > 10000)
		return -1;
	a = (uint64_t)amount;
	if (!inclusive)
		return (int64_t)((a * (uint64_t)rate_bp + 5000) / 10000);
	/* net = a * 10000 / (10000 + rate), rounded half up; the tax is
	 * what is left, so net + tax is exactly the price. */
	net = (a * 10000 + (uint64_t)(10000 + rate_bp) / 2) / (uint64_t)(10000 + rate_bp);
	return (int64_t)(a - net);
}

const char *
money_str(struct arena *a, int64_t minor, const char *currency)
{
	struct buf b;
	const char *s;

	buf_init(&b);
	money_format(&b, minor, currency);
	s = arena_strdup(a, b.p != NULL ? b.p : "");
	buf_free(&b);
	return s;
}

const char *
money_rate_str(struct arena *a, int64_t bp)
{
	if (bp % 100 == 0)
		return arena_printf(a, "%lld", (long long)(bp / 100));
	if (bp % 10 == 0)
		return arena_printf(a, "%lld.%lld", (long long)(bp / 100), (long long)(bp % 100 / 10));
	return arena_printf(a, "%lld.%02lld", (long long)(bp / 100), (long long)(bp % 100));
}

void
money_plain(struct buf *b, int64_t minor, const char *currency)
{
	const struct currency *c = lookup(currency);

	if (minor < 0)
		buf_putc(b, '-');
	digits(b, minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor,
	    c != NULL ? c->exp : 2);
}
