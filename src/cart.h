/*
 * cart.h: the shopping cart (cart.c; its pages in page_cart.c).  A signed-in customer's cart
 * is the row with their customer_id; an anonymous visitor's is the row
 * whose token_hash is the SHA-256 of the random token in the cart
 * cookie (px_cart, __Host-px_cart over TLS).  The visitor has no
 * session row (the pre-session is only a signed nonce), so the token
 * is the cart's one key; only its hash is stored, as with sessions.
 * At sign-in (the password step when no second factor is due, or the
 * second factor) the anonymous cart merges into the customer's.
 *
 * A cart item keeps the price the cart showed (unit_price_minor,
 * currency); checkout compares it with the plan's price at that moment
 * and asks again when it moved (checkout.h).
 */
#ifndef PX_CART_H
#define PX_CART_H

#include <stddef.h>
#include <stdint.h>

struct request;
struct vm;

/* The customer who owns carts on this request (signed in past the
 * second factor), or 0. */
int64_t	cart_owner(const struct request *);
/* The cart cookie's name on this request. */
const char *cart_cookie_name(const struct request *);
/* The request's cart id, or 0 when it has none; with create (inside the
 * caller's transaction) one is made, and for an anonymous visitor the
 * cookie is set. */
int64_t	cart_of(struct request *, int create);
/* How many items (the sum of quantities) the request's cart holds, for
 * the header; 0 without a cart.  Read only. */
int64_t	cart_count(struct request *);
/* Merge the anonymous cart of the request's cookie into customer's cart
 * and forget it (the cookie is deleted), inside the caller's
 * transaction.  Nothing to do without the cookie. */
void	cart_merge(struct request *, int64_t customer);

/* The coupon code the cart applied (as stored), or NULL for none or no
 * cart.  Read only. */
const char *cart_coupon(struct request *, int64_t cart);
/*
 * Judge the cart's coupon again (coupon.c) for the request's customer
 * (0 for an anonymous cart) over cart's lines, whose kept total is
 * total, and fill a page's "coupon" (the code), "discount",
 * "after_discount", or "coupon_bad" with "coupon_reason".  Returns the
 * discount in minor units (0 without a coupon or when it no longer
 * applies).  Read only.  (page_cart.c)
 */
int64_t	cart_coupon_fill(struct request *, struct vm *, int64_t cart, int64_t total);

/* Fill a page's "lines" (name, qty, price kept, price now, what moved),
 * "total", "changed" and "empty" from cart (0: none).  Returns the
 * number of lines; *total the kept total in minor units. */
size_t	cart_fill(struct request *, struct vm *, int64_t cart, int64_t *total);

#endif
