/*
 * order.c: orders and their forward-only state machine (order.h).
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "audit.h"
#include "coupon.h"
#include "db.h"
#include "invoice.h"
#include "money.h"
#include "order.h"
#include "util.h"

const char *const order_state_name[ORDER__MAX] = {
	[ORDER_PENDING] = "pending",
	[ORDER_PAID] = "paid",
	[ORDER_PROVISIONING] = "provisioning",
	[ORDER_ACTIVE] = "active",
	[ORDER_COMPLETED] = "completed",
	[ORDER_CANCELLED] = "cancelled",
	[ORDER_FAILED] = "failed",
	[ORDER_REFUNDED] = "refunded",
};

#define TO(s)	(1u << (s))
/*
 * The allowed moves, one row per state: the only statement of them in
 * the program.  Forward only: nothing returns to pending or paid, and
 * completed, cancelled and refunded are final.  Only an unpaid order
 * can be cancelled (a paid one is refunded); an order paid from the
 * wallet whose provisioning needs no panel call may go straight to
 * active.  A failed order is refunded, or becomes active when staff
 * retry its failed items and every one of them provisions (the
 * customer paid for a working proxy; "failed" is where staff step in,
 * not an end).  Active ranks above failed, so this is still forward.
 */
static const unsigned allowed[ORDER__MAX] = {
	[ORDER_PENDING] = TO(ORDER_PAID) | TO(ORDER_CANCELLED),
	[ORDER_PAID] = TO(ORDER_PROVISIONING) | TO(ORDER_ACTIVE) | TO(ORDER_FAILED) | TO(ORDER_REFUNDED),
	[ORDER_PROVISIONING] = TO(ORDER_ACTIVE) | TO(ORDER_FAILED) | TO(ORDER_REFUNDED),
	[ORDER_ACTIVE] = TO(ORDER_COMPLETED) | TO(ORDER_REFUNDED),
	[ORDER_COMPLETED] = 0,
	[ORDER_CANCELLED] = 0,
	[ORDER_FAILED] = TO(ORDER_ACTIVE) | TO(ORDER_REFUNDED),
	[ORDER_REFUNDED] = 0,
};
#undef TO

int
order_state_parse(const char *s)
{
	int	 i;

	for (i = 0; s != NULL && i < ORDER__MAX; i++)
		if (strcmp(s, order_state_name[i]) == 0)
			return i;
	return -1;
}

int
order_can_transition(enum order_state from, enum order_state to)
{
	if ((unsigned)from >= ORDER__MAX || (unsigned)to >= ORDER__MAX)
		return 0;
	return (allowed[from] & (1u << to)) != 0;
}

int
order_state(struct db *db, int64_t order)
{
	struct stmt *st = db_q(db, Q_ORDER_STATE);
	int	 s = -1;

	db_bind_int(db, st, ":id", order);
	if (db_step(db, st) == DB_ROW)
		s = order_state_parse(db_text(db, st, 0));
	db_reset(st);
	return s;
}

static void
event(struct db *db, int64_t order, const char *kind, const struct actor *who, const char *note, int64_t now)
{
	struct stmt *st = db_q(db, Q_ORDER_EVENT_INSERT);

	db_bind_int(db, st, ":order", order);
	db_bind_text(db, st, ":kind", kind);
	db_bind_int(db, st, ":now", now);
	db_bind_text(db, st, ":actor", who != NULL && who->name != NULL ? who->name : "system");
	if (who != NULL && who->id > 0)
		db_bind_int(db, st, ":actor_id", who->id);
	else
		db_bind_null(db, st, ":actor_id");
	db_bind_text(db, st, ":note", note != NULL ? note : "");
	db_step(db, st);
}

/* 20 characters of RFC 4648 base32 (lower case, no padding) from 100
 * random bits: "o" and a name nobody can count through. */
static const char *
public_id(struct arena *a)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char r[13];
	char	 out[22];
	size_t	 i;
	unsigned bits = 0, acc = 0, o = 0;

	random_bytes(r, sizeof(r));
	out[o++] = 'o';
	for (i = 0; i < sizeof(r) && o < 21; i++) {
		acc = (acc << 8) | r[i];
		bits += 8;
		while (bits >= 5 && o < 21) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
		acc &= (1u << bits) - 1;
	}
	out[o] = '\0';
	return arena_strdup(a, out);
}

int64_t
order_create(struct db *db, const struct order_new *n, const struct actor *who,
    const char **pub, int *replay)
{
	struct stmt *st;
	const char *id_text;
	int64_t	 id, now = now_unix();

	if (replay != NULL)
		*replay = 0;
	if (!db_in_tx(db))
		db_fail(db, "order_create outside a transaction");
	if (n->subtotal < 0 || n->discount < 0 || n->tax < 0 || n->subtotal > MONEY_MAX ||
	    n->discount > n->subtotal || n->tax > MONEY_MAX || !money_known(n->currency) ||
	    n->tax_rate_bp < 0 || n->tax_rate_bp > 10000)
		db_fail(db, "order_create: amounts or currency out of range (subtotal %" PRId64
		    ", discount %" PRId64 ", tax %" PRId64 ", %s)", n->subtotal, n->discount, n->tax,
		    n->currency != NULL ? n->currency : "(null)");
	if (n->idem_key != NULL) {
		st = db_q(db, Q_ORDER_BY_IDEM);
		db_bind_text(db, st, ":key", n->idem_key);
		if (db_step(db, st) == DB_ROW) {
			id = db_int(st, 0);
			id_text = db_text(db, st, 1);
			if (db_int(st, 2) != n->customer)
				db_fail(db, "order_create: key of order %" PRId64 " reused by customer %" PRId64,
				    id, n->customer);
			db_reset(st);
			if (pub != NULL)
				*pub = id_text;
			if (replay != NULL)
				*replay = 1;
			return id;
		}
		db_reset(st);
	}
	id_text = public_id(db_arena(db));
	st = db_q(db, Q_ORDER_INSERT);
	db_bind_text(db, st, ":public_id", id_text);
	db_bind_int(db, st, ":cid", n->customer);
	db_bind_int(db, st, ":subtotal", n->subtotal);
	db_bind_int(db, st, ":discount", n->discount);
	db_bind_int(db, st, ":tax", n->tax);
	db_bind_int(db, st, ":total", n->subtotal - n->discount + n->tax);
	db_bind_int(db, st, ":tax_rate_bp", n->tax_rate_bp);
	db_bind_int(db, st, ":tax_inclusive", n->prices_include_tax != 0);
	db_bind_text(db, st, ":currency", n->currency);
	if (n->method != NULL)
		db_bind_text(db, st, ":method", n->method);
	else
		db_bind_null(db, st, ":method");
	if (n->idem_key != NULL)
		db_bind_text(db, st, ":key", n->idem_key);
	else
		db_bind_null(db, st, ":key");
	db_bind_int(db, st, ":now", now);
	id = db_one_int(db, st, 0);
	event(db, id, "created", who, NULL, now);
	if (pub != NULL)
		*pub = id_text;
	return id;
}

enum order_state
order_transition(struct db *db, int64_t order, enum order_state to, const struct actor *who,
    const char *note)
{
	struct stmt *st;
	int64_t	 now = now_unix();
	int	 from;

	if (!db_in_tx(db))
		db_fail(db, "order_transition outside a transaction (order %" PRId64 ")", order);
	if ((from = order_state(db, order)) < 0)
		db_fail(db, "order_transition: no order %" PRId64, order);
	if (!order_can_transition((enum order_state)from, to))
		db_fail(db, "order_transition: order %" PRId64 " may not move from %s to %s",
		    order, order_state_name[from], (unsigned)to < ORDER__MAX ? order_state_name[to] : "?");
	st = db_q(db, Q_ORDER_SET_STATE);
	db_bind_text(db, st, ":to", order_state_name[to]);
	db_bind_text(db, st, ":from", order_state_name[from]);
	db_bind_int(db, st, ":id", order);
	db_bind_int(db, st, ":now", now);
	/* Inside BEGIN IMMEDIATE nobody else can have moved it since the
	 * read above; the WHERE on the old state makes that a check, not a
	 * hope. */
	if (db_one_int(db, st, 0) != order)
		db_fail(db, "order_transition: order %" PRId64 " left %s under us", order, order_state_name[from]);
	event(db, order, order_state_name[to], who, note, now);
	/* An invoice issued while the order was unpaid (a gateway order)
	 * becomes paid with it; a wallet checkout issues its invoice after
	 * this move, paid from the start. */
	if (to == ORDER_PAID)
		invoice_order_paid(db, order, now);
	return (enum order_state)from;
}

int
order_cancel_pending(struct db *db, int64_t order, const struct actor *who, const char *note,
    int64_t *plans, int *coupon)
{
	struct stmt *st;
	int64_t	 n;
	int	 c;

	if (!db_in_tx(db))
		db_fail(db, "order_cancel_pending outside a transaction (order %" PRId64 ")", order);
	/* Read under the write lock: nobody can move it between this look
	 * and the transition below. */
	if (order_state(db, order) != ORDER_PENDING)
		return 0;
	order_transition(db, order, ORDER_CANCELLED, who, note);
	st = db_q(db, Q_ADMIN_ORDER_RELEASE_STOCK);
	db_bind_int(db, st, ":order", order);
	db_step(db, st);
	n = db_changes(db);
	db_reset(st);
	c = coupon_release(db, order);
	if (plans != NULL)
		*plans = n;
	if (coupon != NULL)
		*coupon = c;
	return 1;
}
