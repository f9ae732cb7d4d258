/*
 * order_mail.h: the customer's mail about a paid order (order_mail.c).
 */
#ifndef PX_ORDER_MAIL_H
#define PX_ORDER_MAIL_H

#include <stdint.h>

struct db;

/*
 * Queue the order confirmation of the paid order `order` (its invoice
 * issued) to its customer, inside the caller's open transaction, so the
 * mail exists exactly when the order does; base_url makes the links
 * absolute.  The idempotency key is "order-paid:ID": a second call for
 * the same order returns the same job.  Returns the job id, to wake
 * after COMMIT.  An order without an invoice is a hard error (db.h).
 */
int64_t	order_mail_paid(struct db *, const char *base_url, int64_t order);

#endif
