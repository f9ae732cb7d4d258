/*
 * invoice.h: invoices with gapless numbers per year.  A number is
 * YYYY-NNNNNN (2026-000123), the year UTC at issue and NNNNNN from that
 * year's row of invoice_counters, incremented inside the caller's
 * transaction: a checkout that rolls back gives its number back, and
 * concurrent issuers queue on the write lock, so a year's numbers run
 * 1, 2, 3 ... without a gap.  The seller's details (settings
 * seller.name, seller.address, seller.tax_id) and the customer's
 * (billing name, or the name; billing address; tax id) are copied into
 * the invoice when it is issued, with the totals and the lines
 * (invoice_lines: one per plan, price and kind of the order's items,
 * named as the plan is called at issue).  An invoice is 'paid' at issue
 * when its order is paid by then (a wallet checkout marks the order
 * paid first, in the same transaction), else 'open'.  Top-ups get
 * receipts from the same sequence, paid, with one line.
 *
 * The caller owns the transaction (db_begin), as with wallet.h.
 */
#ifndef PX_INVOICE_H
#define PX_INVOICE_H

#include <stdint.h>

struct db;

/*
 * Issue the invoice of order (an order has at most one), inside the
 * caller's transaction.  An order that has one already gets it back and
 * takes no number.  Returns the invoice id; *number (may be NULL) the
 * number, in the db's arena.  No such order, a call outside a
 * transaction, or a year past 999,999 invoices: a hard error.
 */
int64_t	invoice_issue(struct db *, int64_t order, const char **number);

/*
 * The receipt of a top-up: an invoice row for a payment (purpose
 * 'topup', state 'succeeded'), numbered in the same sequence, its
 * amount as the one line and no tax.  Otherwise as invoice_issue; a
 * payment that is not a succeeded top-up is a hard error.
 */
int64_t	invoice_issue_receipt(struct db *, int64_t payment, const char **number);

/*
 * The order was paid at `when` (order.c, order_transition to paid,
 * inside its transaction): its invoice, if one was issued open, becomes
 * paid with that date.  No invoice, or one not open: nothing changes.
 */
void	invoice_order_paid(struct db *, int64_t order, int64_t when);

/* The year (UTC) of a unix time: the invoice numbering's year. */
int	invoice_year(int64_t t);

#endif
