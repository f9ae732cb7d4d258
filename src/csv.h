/*
 * csv.h: the one CSV writer (csv.c), for the staff's exports
 * (admin_export.c).  RFC 4180 with the defences a spreadsheet needs.
 *
 * The rule that keeps a negative amount a number while hostile text is
 * neutralised: a cell's origin decides, not its content.
 *   - Text that came from anyone (a memo, an email, a name, a state
 *     read back from the database) goes through csv_text(): when its
 *     first byte is '=', '+', '-', '@', TAB or CR it is prefixed with
 *     a single quote, so Excel, LibreOffice and Sheets show it as text
 *     and never evaluate it ("-5" typed as a memo stays "'-5", text).
 *   - Numbers the program prints itself from integers (csv_int,
 *     csv_amount) are never prefixed: they hold only digits, at most
 *     one leading '-' and one '.', which no spreadsheet takes for a
 *     formula, and "-12.50" must stay a number that sums.
 * Then, for both, a cell holding a comma, a double quote, CR or LF is
 * quoted, its quotes doubled.  Rows end with CRLF.
 */
#ifndef PX_CSV_H
#define PX_CSV_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* A writer over b: cells are appended to b, one row at a time. */
struct csv {
	struct buf	*b;
	int		 col;		/* cells written in the current row */
};

void	csv_init(struct csv *, struct buf *);
/* One text cell, neutralised and quoted as above.  NULL is empty. */
void	csv_text(struct csv *, const char *);
/* The same for n bytes of s (a column read in place, db_blob). */
void	csv_textn(struct csv *, const char *s, size_t n);
/* One integer cell: digits with an optional '-'. */
void	csv_int(struct csv *, int64_t);
/* One amount in minor units of currency as a plain decimal ("-12.50",
 * money_plain): a number, never prefixed. */
void	csv_amount(struct csv *, int64_t minor, const char *currency);
/* End the row (CRLF). */
void	csv_end(struct csv *);

#endif
