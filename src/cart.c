/*
 * cart.c: which cart a request has (cart.h).  A signed-in customer's is
 * theirs; an anonymous visitor's is keyed by the random token of the
 * cart cookie (stored hashed).  The cookie is in the page cache's
 * bypass list (cache.c): a visitor with a cart sees its count in the
 * header, so their pages are never served from, or stored into, the
 * cache.  The pages are page_cart.c's.
 */
#include "config.h"

#include <string.h>

#include "cart.h"
#include "db.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "util.h"

/* How long an anonymous cart's cookie lives; `cron prune` deletes the
 * row when it is gone (sql.c Q_PRUNE_CARTS: keep the two equal). */
#define CART_COOKIE_AGE (30 * 86400)

const char *
cart_cookie_name(const struct request *r)
{
	return r->https ? "__Host-px_cart" : "px_cart";
}

/* The customer who owns carts on this request: signed in past the
 * second factor.  A half-done sign-in keeps the anonymous cart until
 * the second factor merges it. */
int64_t
cart_owner(const struct request *r)
{
	const struct principal *p = r->principal[SESS_CUSTOMER];

	return p != NULL && p->mfa_ok ? p->user_id : 0;
}

/* The anonymous cart of the cookie, or 0. */
static int64_t
token_cart(struct request *r)
{
	const char *tok = req_cookie(r, cart_cookie_name(r));
	unsigned char h[32];
	struct stmt *st;

	if (tok == NULL || strlen(tok) != 32)
		return 0;
	token_hash(tok, h);
	st = db_q(r->db, Q_CART_BY_TOKEN);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	return db_one_int(r->db, st, 0);
}

int64_t
cart_of(struct request *r, int create)
{
	int64_t	 cust = cart_owner(r), id;
	struct stmt *st;
	char	 tok[33];
	unsigned char h[32];

	if (cust != 0) {
		st = db_q(r->db, create ? Q_CART_NEW_CUSTOMER : Q_CART_BY_CUSTOMER);
		db_bind_int(r->db, st, ":customer", cust);
		if (create)
			db_bind_int(r->db, st, ":now", now_unix());
		return db_one_int(r->db, st, 0);
	}
	if ((id = token_cart(r)) != 0 || !create)
		return id;
	token_new(tok);
	token_hash(tok, h);
	st = db_q(r->db, Q_CART_NEW_TOKEN);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_int(r->db, st, ":now", now_unix());
	id = db_one_int(r->db, st, 0);
	set_cookie(r, cart_cookie_name(r), arena_strdup(r->a, tok), CART_COOKIE_AGE);
	return id;
}

int64_t
cart_count(struct request *r)
{
	int64_t	 cart;
	struct stmt *st;

	if (cart_owner(r) == 0 && req_cookie(r, cart_cookie_name(r)) == NULL)
		return 0;
	if ((cart = cart_of(r, 0)) == 0)
		return 0;
	st = db_q(r->db, Q_CART_COUNT);
	db_bind_int(r->db, st, ":cart", cart);
	return db_one_int(r->db, st, 0);
}

const char *
cart_coupon(struct request *r, int64_t cart)
{
	struct stmt *st;
	const char *code = NULL;

	if (cart <= 0)
		return NULL;
	st = db_q(r->db, Q_CART_COUPON_GET);
	db_bind_int(r->db, st, ":cart", cart);
	if (db_step(r->db, st) == DB_ROW && *(code = db_text(r->db, st, 0)) == '\0')
		code = NULL;
	db_reset(st);
	return code;
}

void
cart_merge(struct request *r, int64_t customer)
{
	int64_t	 from, to;
	struct stmt *st;

	if (req_cookie(r, cart_cookie_name(r)) == NULL)
		return;
	set_cookie(r, cart_cookie_name(r), "", 0);
	if ((from = token_cart(r)) == 0)
		return;
	st = db_q(r->db, Q_CART_NEW_CUSTOMER);
	db_bind_int(r->db, st, ":customer", customer);
	db_bind_int(r->db, st, ":now", now_unix());
	to = db_one_int(r->db, st, 0);
	st = db_q(r->db, Q_CART_MERGE);
	db_bind_int(r->db, st, ":from", from);
	db_bind_int(r->db, st, ":to", to);
	db_step(r->db, st);
	/* The coupon typed before signing in comes along, unless the
	 * customer's own cart has one already (theirs wins, as a line's
	 * quantity adds up but a cart holds one coupon). */
	st = db_q(r->db, Q_CART_COUPON_MERGE);
	db_bind_int(r->db, st, ":from", from);
	db_bind_int(r->db, st, ":to", to);
	db_step(r->db, st);
	st = db_q(r->db, Q_CART_DELETE);
	db_bind_int(r->db, st, ":cart", from);
	db_step(r->db, st);
}
