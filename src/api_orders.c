/*
 * api_orders.c: the token owner's orders and wallet in the JSON API
 * (the dispatcher has loaded the token into r->api and checked scope
 * "read"; routes.c; errors are response.c's JSON with a stable code).
 *
 *   GET /api/v1/orders               the owner's orders, newest first
 *   GET /api/v1/orders/{public_id}   one order: items, amounts, state,
 *                                    the events timeline, invoice number
 *   GET /api/v1/wallet               the balance and the ledger, newest first
 *
 * Lists are keyset pages: ?limit (1..100, default 20) and ?cursor, the
 * next_cursor of the page before (null on the last page).  A cursor is
 * base64url of "o:ID" or "w:ID", the last row's id: opaque to clients,
 * but not a secret and not signed, because the statements always name
 * the owner as well, so a forged cursor can only move within the
 * caller's own rows.  A cursor or limit that does not parse is a 400
 * bad_request, never a 500.  Only customer tokens own orders and a
 * wallet; a staff token sees empty lists and a 404 for any order.
 * Another customer's order is a 404 not_found, the same answer as an
 * order that does not exist.
 *
 * Amounts are objects {"minor": integer minor units, "currency": ISO
 * 4217 code, "formatted": money_str's text}.  Every row is read into
 * the request's arena before the first json-c object is made: a
 * database error (req_fail's longjmp) cannot leak a half-built tree.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "valid.h"

#define API_LIMIT_DEFAULT	20
#define API_LIMIT_MAX		100
#define CURSOR_MAX		64	/* base64url characters: "o:" and 18 digits need 27 */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url (no padding) of "K:id", in the arena. */
static const char *
cursor_make(struct request *r, char kind, int64_t id)
{
	const char *raw = arena_printf(r->a, "%c:%lld", kind, (long long)id);
	size_t	 n = strlen(raw), i, o = 0;
	char	*out = arena_alloc(r->a, n * 4 / 3 + 4);
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)(unsigned char)raw[i] << 16 | (unsigned)(unsigned char)raw[i + 1] << 8 |
		    (unsigned char)raw[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned)(unsigned char)raw[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned)(unsigned char)raw[i] << 16 | (unsigned)(unsigned char)raw[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

/*
 * ?cursor of kind: 0 when absent (the first page), else the id it
 * names.  Anything that is not base64url of "K:N" with K this list's
 * letter and N a valid_int id is a 400.
 */
static int64_t
cursor_read(struct request *r, char kind)
{
	const char *s = req_query(r, "cursor"), *p;
	char	 raw[CURSOR_MAX];
	size_t	 n, i, o = 0, bits = 0;
	unsigned acc = 0;
	int64_t	 id;

	if (s == NULL)
		return 0;
	n = strlen(s);
	/* A length of 4k+1 cannot come from whole bytes. */
	if (n == 0 || n > CURSOR_MAX || n % 4 == 1)
		goto bad;
	for (i = 0; i < n; i++) {
		if ((p = strchr(b64url, s[i])) == NULL || s[i] == '\0')
			goto bad;
		acc = (acc << 6 | (unsigned)(p - b64url)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (char)(acc >> bits & 0xff);
		}
	}
	raw[o] = '\0';
	/* The decoded text must be exactly "K:digits": no NUL inside. */
	if (o < 3 || strlen(raw) != o || raw[0] != kind || raw[1] != ':' ||
	    !valid_int(raw + 2, 1, INT64_MAX, &id))
		goto bad;
	return id;
bad:
	req_fail(r, 400, "The cursor is not valid: pass next_cursor from the page before, as it is.");
}

/* ?limit: 1..API_LIMIT_MAX, API_LIMIT_DEFAULT when absent, else 400. */
static int64_t
limit_read(struct request *r)
{
	const char *s = req_query(r, "limit");
	int64_t	 n;

	if (s == NULL)
		return API_LIMIT_DEFAULT;
	if (!valid_int(s, 1, API_LIMIT_MAX, &n))
		req_fail(r, 400, "limit must be a whole number from 1 to %d.", API_LIMIT_MAX);
	return n;
}

/* The customer whose rows the token may read, 0 for a staff token. */
static int64_t
owner(const struct request *r)
{
	return r->api->kind == SESS_CUSTOMER ? r->api->user_id : 0;
}

static struct json_object *
j_time(int64_t t)
{
	char	 s[32];

	iso8601(s, t);
	return json_object_new_string(s);
}

static struct json_object *
j_str_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? json_object_new_string(s) : NULL;
}

static struct json_object *
j_money(struct request *r, int64_t minor, const char *cur)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "minor", json_object_new_int64(minor));
	json_object_object_add(o, "currency", json_object_new_string(cur));
	json_object_object_add(o, "formatted", json_object_new_string(money_str(r->a, minor, cur)));
	return o;
}

/* Send o as the 200 reply and free it. */
static void
reply(struct request *r, struct json_object *o)
{
	resp_json(r, 200);
	buf_reset(r->out);
	buf_puts(r->out, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_putc(r->out, '\n');
	json_object_put(o);
}

/* ---- GET /api/v1/orders ---- */

struct order_row {
	int64_t		 id, total, created, items;
	const char	*public_id, *state, *currency, *invoice;
};

/*
 * GET /api/v1/orders — ?limit, ?cursor.  200 with {"orders": [{
 * "public_id", "state", "total": amount, "items": N, "created_at",
 * "invoice": number|null}], "next_cursor": string|null}.  400 for a bad
 * limit or cursor; 401/403 from the dispatcher.
 */
void
api_orders(struct request *r)
{
	int64_t	 limit = limit_read(r), before = cursor_read(r, 'o'), n = 0, i;
	struct order_row *rows = arena_zalloc(r->a, sizeof(*rows) * (size_t)(limit + 1));
	struct json_object *o, *a, *it;
	struct stmt *st;

	st = db_q(r->db, Q_API_ORDERS);
	db_bind_int(r->db, st, ":customer", owner(r));
	if (before)
		db_bind_int(r->db, st, ":before", before);
	else
		db_bind_null(r->db, st, ":before");
	/* One more than the page: whether there is a next one. */
	db_bind_int(r->db, st, ":limit", limit + 1);
	while (n <= limit && db_step(r->db, st) == DB_ROW) {
		rows[n].id = db_int(st, 0);
		rows[n].public_id = db_text(r->db, st, 1);
		rows[n].state = db_text(r->db, st, 2);
		rows[n].total = db_int(st, 3);
		rows[n].currency = db_text(r->db, st, 4);
		rows[n].created = db_int(st, 5);
		rows[n].items = db_int(st, 6);
		rows[n].invoice = db_text(r->db, st, 7);
		n++;
	}
	db_reset(st);

	o = json_object_new_object();
	a = json_object_new_array();
	for (i = 0; i < n && i < limit; i++) {
		it = json_object_new_object();
		json_object_object_add(it, "public_id", json_object_new_string(rows[i].public_id));
		json_object_object_add(it, "state", json_object_new_string(rows[i].state));
		json_object_object_add(it, "total", j_money(r, rows[i].total, rows[i].currency));
		json_object_object_add(it, "items", json_object_new_int64(rows[i].items));
		json_object_object_add(it, "created_at", j_time(rows[i].created));
		json_object_object_add(it, "invoice", j_str_or_null(rows[i].invoice));
		json_object_array_add(a, it);
	}
	json_object_object_add(o, "orders", a);
	json_object_object_add(o, "next_cursor", n > limit ?
	    json_object_new_string(cursor_make(r, 'o', rows[limit - 1].id)) : NULL);
	reply(r, o);
}

/* ---- GET /api/v1/orders/{public_id} ---- */

struct line {
	struct line	*next;
	const char	*a, *b, *c, *d;
	int64_t		 n, m;
};

/* Append a zeroed line to the list whose tail pointer is *tail. */
static struct line *
line_add(struct request *r, struct line ***tail)
{
	struct line *l = arena_zalloc(r->a, sizeof(*l));

	**tail = l;
	*tail = &l->next;
	return l;
}

/*
 * GET /api/v1/orders/{public_id} — no inputs.  200 with {"public_id",
 * "state", "currency", "subtotal", "discount", "tax", "total" (amounts),
 * "payment_method": string|null, "created_at", "paid_at": time|null,
 * "items": [{"plan", "slug", "price", "state"}], "events": [{"kind",
 * "at", "note"}], "invoice": number|null}.  404 not_found when it is
 * not the token owner's (or does not exist).
 */
void
api_order(struct request *r)
{
	const char *pub = req_param(r, "public_id"), *cur, *state, *method, *invoice = "";
	int64_t	 id, sub, disc, tax, total, created, paid;
	struct line *items = NULL, *events = NULL, **ti = &items, **te = &events, *l;
	struct json_object *o, *a, *it;
	struct stmt *st;

	st = db_q(r->db, Q_ORDER_OF_CUSTOMER);
	db_bind_text(r->db, st, ":public_id", pub);
	db_bind_int(r->db, st, ":customer", owner(r));
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such order.");
	id = db_int(st, 0);
	pub = db_text(r->db, st, 1);
	state = db_text(r->db, st, 2);
	sub = db_int(st, 3);
	disc = db_int(st, 4);
	tax = db_int(st, 5);
	total = db_int(st, 6);
	cur = db_text(r->db, st, 7);
	method = db_text(r->db, st, 8);
	created = db_int(st, 9);
	paid = db_int(st, 10);
	db_reset(st);

	st = db_q(r->db, Q_ORDER_ITEMS_OF);
	db_bind_int(r->db, st, ":order", id);
	while (db_step(r->db, st) == DB_ROW) {
		l = line_add(r, &ti);
		l->a = db_text(r->db, st, 1);
		l->b = db_text(r->db, st, 2);
		l->n = db_int(st, 3);
		l->c = db_text(r->db, st, 4);
		l->d = db_text(r->db, st, 5);
	}
	db_reset(st);
	st = db_q(r->db, Q_ORDER_EVENTS);
	db_bind_int(r->db, st, ":order", id);
	while (db_step(r->db, st) == DB_ROW) {
		l = line_add(r, &te);
		l->a = db_text(r->db, st, 0);
		l->n = db_int(st, 1);
		l->b = db_is_null(st, 4) ? NULL : db_text(r->db, st, 4);
	}
	db_reset(st);
	st = db_q(r->db, Q_INVOICE_OF_ORDER);
	db_bind_int(r->db, st, ":order", id);
	if (db_step(r->db, st) == DB_ROW)
		invoice = db_text(r->db, st, 1);
	db_reset(st);

	o = json_object_new_object();
	json_object_object_add(o, "public_id", json_object_new_string(pub));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "currency", json_object_new_string(cur));
	json_object_object_add(o, "subtotal", j_money(r, sub, cur));
	json_object_object_add(o, "discount", j_money(r, disc, cur));
	json_object_object_add(o, "tax", j_money(r, tax, cur));
	json_object_object_add(o, "total", j_money(r, total, cur));
	json_object_object_add(o, "payment_method", j_str_or_null(method));
	json_object_object_add(o, "created_at", j_time(created));
	json_object_object_add(o, "paid_at", paid ? j_time(paid) : NULL);
	a = json_object_new_array();
	for (l = items; l != NULL; l = l->next) {
		it = json_object_new_object();
		json_object_object_add(it, "plan", json_object_new_string(l->a));
		json_object_object_add(it, "slug", json_object_new_string(l->b));
		json_object_object_add(it, "price", j_money(r, l->n, l->c));
		json_object_object_add(it, "state", json_object_new_string(l->d));
		json_object_array_add(a, it);
	}
	json_object_object_add(o, "items", a);
	a = json_object_new_array();
	for (l = events; l != NULL; l = l->next) {
		it = json_object_new_object();
		json_object_object_add(it, "kind", json_object_new_string(l->a));
		json_object_object_add(it, "at", j_time(l->n));
		json_object_object_add(it, "note", j_str_or_null(l->b));
		json_object_array_add(a, it);
	}
	json_object_object_add(o, "events", a);
	json_object_object_add(o, "invoice", j_str_or_null(invoice));
	reply(r, o);
}

/* ---- GET /api/v1/wallet ---- */

struct ledger_row {
	int64_t		 id, amount, payment, created;
	const char	*kind, *order, *memo;
};

/*
 * GET /api/v1/wallet — ?limit, ?cursor (of the ledger).  200 with
 * {"currency", "balance": amount, "ledger": [{"id", "kind", "amount",
 * "order": public_id|null, "payment": id|null, "memo", "created_at"}],
 * "next_cursor": string|null}.  The balance is the wallet's cached
 * balance, which wallet.c keeps equal to the ledger's sum.  A customer
 * without a wallet (and a staff token) has a zero balance in the shop's
 * currency and no rows.  400 for a bad limit or cursor.
 */
void
api_wallet(struct request *r)
{
	int64_t	 limit = limit_read(r), before = cursor_read(r, 'w'), n = 0, i;
	int64_t	 wallet = 0, balance = 0;
	struct ledger_row *rows = arena_zalloc(r->a, sizeof(*rows) * (size_t)(limit + 1));
	const char *cur = r->app->conf.currency;
	struct json_object *o, *a, *it;
	struct stmt *st;

	st = db_q(r->db, Q_WALLET_PAGE_HEAD);
	db_bind_int(r->db, st, ":cid", owner(r));
	if (db_step(r->db, st) == DB_ROW) {
		wallet = db_int(st, 0);
		balance = db_int(st, 1);
		cur = db_text(r->db, st, 2);
	}
	db_reset(st);
	st = db_q(r->db, Q_API_WALLET_LEDGER);
	db_bind_int(r->db, st, ":wallet", wallet);
	if (before)
		db_bind_int(r->db, st, ":before", before);
	else
		db_bind_null(r->db, st, ":before");
	db_bind_int(r->db, st, ":limit", limit + 1);
	while (n <= limit && db_step(r->db, st) == DB_ROW) {
		rows[n].id = db_int(st, 0);
		rows[n].kind = db_text(r->db, st, 1);
		rows[n].amount = db_int(st, 2);
		rows[n].order = db_is_null(st, 3) ? NULL : db_text(r->db, st, 3);
		rows[n].payment = db_is_null(st, 4) ? 0 : db_int(st, 4);
		rows[n].memo = db_text(r->db, st, 5);
		rows[n].created = db_int(st, 6);
		n++;
	}
	db_reset(st);

	o = json_object_new_object();
	json_object_object_add(o, "currency", json_object_new_string(cur));
	json_object_object_add(o, "balance", j_money(r, balance, cur));
	a = json_object_new_array();
	for (i = 0; i < n && i < limit; i++) {
		it = json_object_new_object();
		json_object_object_add(it, "id", json_object_new_int64(rows[i].id));
		json_object_object_add(it, "kind", json_object_new_string(rows[i].kind));
		json_object_object_add(it, "amount", j_money(r, rows[i].amount, cur));
		json_object_object_add(it, "order", j_str_or_null(rows[i].order));
		json_object_object_add(it, "payment", rows[i].payment ?
		    json_object_new_int64(rows[i].payment) : NULL);
		json_object_object_add(it, "memo", json_object_new_string(rows[i].memo));
		json_object_object_add(it, "created_at", j_time(rows[i].created));
		json_object_array_add(a, it);
	}
	json_object_object_add(o, "ledger", a);
	json_object_object_add(o, "next_cursor", n > limit ?
	    json_object_new_string(cursor_make(r, 'w', rows[limit - 1].id)) : NULL);
	reply(r, o);
}
