/*
 * csv.c: the CSV writer (csv.h): RFC 4180 quoting, CRLF rows, and
 * formula neutralisation of text cells (the rule is written in csv.h).
 * Allocates only through the caller's buffer.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "csv.h"
#include "money.h"
#include "util.h"

void
csv_init(struct csv *c, struct buf *b)
{
	c->b = b;
	c->col = 0;
}

static void
sep(struct csv *c)
{
	if (c->col++ > 0)
		buf_putc(c->b, ',');
}

/* s (n bytes), quoted when it holds a separator, a quote or a line
 * break (RFC 4180, 2.6 and 2.7); prefix is written inside the quotes. */
static void
cell(struct csv *c, const char *prefix, const char *s, size_t n)
{
	size_t	 i;

	sep(c);
	if (memchr(s, ',', n) == NULL && memchr(s, '"', n) == NULL &&
	    memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL) {
		buf_puts(c->b, prefix);
		buf_add(c->b, s, n);
		return;
	}
	buf_putc(c->b, '"');
	buf_puts(c->b, prefix);
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			buf_putc(c->b, '"');
		buf_putc(c->b, s[i]);
	}
	buf_putc(c->b, '"');
}

void
csv_textn(struct csv *c, const char *s, size_t n)
{
	if (s == NULL)
		n = 0;
	/* OWASP's CSV injection list; TAB and CR because a spreadsheet
	 * skips them and evaluates what follows. */
	cell(c, n > 0 && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL ? "'" : "",
	    n > 0 ? s : "", n);
}

void
csv_text(struct csv *c, const char *s)
{
	csv_textn(c, s, s != NULL ? strlen(s) : 0);
}

void
csv_int(struct csv *c, int64_t v)
{
	sep(c);
	buf_printf(c->b, "%" PRId64, v);
}

void
csv_amount(struct csv *c, int64_t minor, const char *currency)
{
	sep(c);
	money_plain(c->b, minor, currency);
}

void
csv_end(struct csv *c)
{
	buf_puts(c->b, "\r\n");
	c->col = 0;
}
