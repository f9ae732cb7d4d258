/*
 * order_view.h: one order's view model, shared by the customer's
 * /orders/{public_id} (page_orders.c) and the staff's
 * /admin/orders/{public_id} (admin_orders.c), implemented in
 * order_view.c.  Who may see the order is the caller's question (its
 * statement finds the order by owner, or by permission); what the
 * order is made of is answered once, here.
 */
#ifndef PX_ORDER_VIEW_H
#define PX_ORDER_VIEW_H

#include <stdint.h>

struct request;
struct stmt;
struct vm;

/*
 * Fill vm from head, a statement stepped onto a row whose first ten
 * columns are those of Q_ORDER_OF_CUSTOMER and Q_ADMIN_ORDER_GET (id,
 * public_id, state, subtotal, discount, tax, total, currency, payment
 * method, created_at), then with the order's items, timeline and
 * invoice.  Keys: public_id, state, subtotal, discount, has_discount,
 * tax, has_tax, total, method ("none yet" when not chosen), created
 * (UTC, to the minute), created_iso; items[] (name, slug, price,
 * state); events[] (kind, at, at_iso, actor, note); invoice (its
 * number, "" when none).  The caller reads any columns of its own
 * before the call: head is reset here.  Allocates in the request's
 * arena; 500 on a database error.  Returns the order's id.
 */
int64_t	order_view_vm(struct request *, struct vm *, struct stmt *head);

#endif
