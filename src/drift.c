/*
 * drift.c: compare a panel's clients with the shop's (drift.h).
 *
 * Both sides come sorted by email (the panel's list sorted with strcmp,
 * the shop's by SQLite's BINARY collation, the same byte order), so one
 * merge walk compares them: 10,000 clients cost one ordered index scan.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "db.h"
#include "drift.h"
#include "util.h"
#include "xui.h"
#include "xui_client.h"

static struct drift_item *
add(struct arena *a, struct drift_report *r, size_t *cap, enum drift_kind kind)
{
	struct drift_item *it;

	if (r->n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		it = arena_zalloc(a, *cap * sizeof(*it));
		if (r->n)
			memcpy(it, r->it, r->n * sizeof(*it));
		r->it = it;
	}
	it = &r->it[r->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->state = "";
	it->fix = "";
	return it;
}

/* Whether the shop wants the client on the panel. */
static int
placed(const char *state)
{
	return strcmp(state, "active") == 0 || strcmp(state, "suspended") == 0 ||
	    strcmp(state, "expired") == 0;
}

void
drift_compare(struct db *db, struct arena *a, int64_t server, const char *const *emails,
    const struct drift_panel *pc, size_t n, struct drift_report *out)
{
	struct stmt *st;
	struct drift_item *it;
	size_t	 i = 0, cap = 0;
	int	 row, c;

	memset(out, 0, sizeof(*out));
	st = db_q(db, Q_DRIFT_SHOP);
	db_bind_int(db, st, ":sid", server);
	row = db_step(db, st) == DB_ROW;
	for (;;) {
		const char *email = row ? db_text(db, st, 1) : NULL;

		/* Panel-side entries without settings (a stats row only) are
		 * not clients. */
		while (i < n && !pc[i].present)
			i++;
		if (!row && i >= n)
			break;
		c = !row ? -1 : i >= n ? 1 : strcmp(emails[i], email);
		if (c < 0) {
			it = add(a, out, &cap, DRIFT_UNKNOWN);
			it->email = emails[i];
			it->inbound = pc[i].inbound;
			i++;
			continue;
		}
		{
			int64_t	 id = db_int(st, 0), expires = db_int(st, 3), total = db_int(st, 4);
			const char *state = db_text(db, st, 2);

			out->shop++;
			if (c > 0) {
				if (placed(state)) {
					it = add(a, out, &cap, DRIFT_MISSING);
					it->client = id;
					it->email = email;
					it->state = state;
				}
			} else if (!placed(state)) {
				/* on the panel, but deleted in the shop */
				it = add(a, out, &cap, DRIFT_UNKNOWN);
				it->client = id;
				it->email = email;
				it->state = state;
				it->inbound = pc[i].inbound;
				i++;
			} else {
				const struct drift_panel *p = &pc[i];
				int	 en = strcmp(state, "active") == 0;
				int64_t	 pexp = p->expiry_ms > 0 ? p->expiry_ms / 1000 : 0;
				int	 de = en != p->enable, dx = p->expiry_ms >= 0 && pexp != expires,
					 dt = total != p->total;

				if (de || dx || dt) {
					it = add(a, out, &cap, DRIFT_DIFFER);
					it->client = id;
					it->email = email;
					it->state = state;
					it->inbound = p->inbound;
					it->d_enable = de;
					it->d_expiry = dx;
					it->d_total = dt;
					it->shop_enable = en;
					it->panel_enable = p->enable;
					it->shop_expiry = expires;
					it->panel_expiry = pexp;
					it->shop_total = total;
					it->panel_total = p->total;
				}
				i++;
			}
		}
		row = db_step(db, st) == DB_ROW;
	}
	db_reset(st);
}

struct json_object *
drift_json(const struct drift_report *r)
{
	struct json_object *o = json_object_new_object(), *unk = json_object_new_array(),
	    *mis = json_object_new_array(), *dif = json_object_new_array(), *e, *f;
	size_t	 i;

	for (i = 0; i < r->n; i++) {
		const struct drift_item *it = &r->it[i];

		e = json_object_new_object();
		if (it->client > 0)
			json_object_object_add(e, "client", json_object_new_int64(it->client));
		json_object_object_add(e, "email", json_object_new_string(it->email));
		if (*it->state)
			json_object_object_add(e, "state", json_object_new_string(it->state));
		if (it->kind != DRIFT_MISSING)
			json_object_object_add(e, "inbound", json_object_new_int64(it->inbound));
		if (it->kind == DRIFT_DIFFER) {
			f = json_object_new_array();
			if (it->d_enable)
				json_object_array_add(f, json_object_new_string("enable"));
			if (it->d_expiry)
				json_object_array_add(f, json_object_new_string("expiry"));
			if (it->d_total)
				json_object_array_add(f, json_object_new_string("quota"));
			json_object_object_add(e, "fields", f);
			json_object_object_add(e, "shop_enable", json_object_new_boolean(it->shop_enable));
			json_object_object_add(e, "panel_enable", json_object_new_boolean(it->panel_enable));
			json_object_object_add(e, "shop_expiry", json_object_new_int64(it->shop_expiry));
			json_object_object_add(e, "panel_expiry", json_object_new_int64(it->panel_expiry));
			json_object_object_add(e, "shop_quota", json_object_new_int64(it->shop_total));
			json_object_object_add(e, "panel_quota", json_object_new_int64(it->panel_total));
		}
		if (*it->fix)
			json_object_object_add(e, "fix", json_object_new_string(it->fix));
		json_object_array_add(it->kind == DRIFT_UNKNOWN ? unk : it->kind == DRIFT_MISSING ? mis : dif, e);
	}
	json_object_object_add(o, "shop", json_object_new_int64(r->shop));
	json_object_object_add(o, "unknown", unk);
	json_object_object_add(o, "missing", mis);
	json_object_object_add(o, "differ", dif);
	return o;
}

/* The shop's row of an item's client. */
struct shoprow {
	const char	*email, *cred, *sub_id, *flow, *state, *protocol;
	int64_t		 limit_ip, total, expires, inbound;
};

static int
shop_row(struct db *db, int64_t id, struct shoprow *r)
{
	struct stmt *st = db_q(db, Q_DRIFT_FIX_CLIENT);
	int	 found;

	db_bind_int(db, st, ":id", id);
	if ((found = db_step(db, st) == DB_ROW)) {
		r->email = db_text(db, st, 0);
		r->cred = db_text(db, st, 1);
		r->sub_id = db_text(db, st, 2);
		r->flow = db_text(db, st, 3);
		r->limit_ip = db_int(st, 4);
		r->total = db_int(st, 5);
		r->expires = db_int(st, 6);
		r->state = db_text(db, st, 7);
		r->inbound = db_int(st, 8);
		r->protocol = db_text(db, st, 9);
	}
	db_reset(st);
	return found;
}

/* The credential G2 addresses a client by (4.2). */
static const char *
client_key(const char *protocol, const struct xui_client *c)
{
	if (strcmp(protocol, "vless") == 0 || strcmp(protocol, "vmess") == 0)
		return c->id ? c->id : "";
	if (strcmp(protocol, "trojan") == 0)
		return c->password ? c->password : "";
	return c->email;
}

static const char *
failed(struct arena *a, struct xui *x, const char *what)
{
	return arena_printf(a, "%s failed: %s", what, xui_error(x));
}

void
drift_fix(struct db *db, struct xui *x, struct arena *a, struct drift_report *r)
{
	struct xui_client c;
	struct shoprow sr;
	size_t	 i;
	int	 got;

	for (i = 0; i < r->n; i++) {
		struct drift_item *it = &r->it[i];
		int64_t	 inbound;

		if (it->client <= 0) {
			it->fix = "left alone: not a client the shop made";
			continue;
		}
		if (!shop_row(db, it->client, &sr)) {
			it->fix = "left alone: the shop's inbound of this client is gone";
			continue;
		}
		inbound = it->kind == DRIFT_MISSING ? sr.inbound : it->inbound;
		if (it->kind == DRIFT_MISSING) {
			memset(&c, 0, sizeof(c));
			c.email = sr.email;
			if (strcmp(sr.protocol, "vless") == 0 || strcmp(sr.protocol, "vmess") == 0)
				c.id = sr.cred;
			else
				c.password = sr.cred;
			c.flow = sr.flow;
			c.sub_id = sr.sub_id;
			c.limit_ip = sr.limit_ip;
			c.total = sr.total;
			c.expiry_ms = sr.expires * 1000;
			c.enable = 1;
			if (xui_client_add(x, inbound, sr.protocol, &c) != 0) {
				it->fix = failed(a, x, "add");
				continue;
			}
			if (strcmp(sr.state, "active") != 0) {
				c.enable = 0;
				if (xui_client_update(x, inbound, sr.protocol, sr.email,
				    client_key(sr.protocol, &c), &c) != 0) {
					it->fix = failed(a, x, "added, but disabling it");
					continue;
				}
			}
			it->fix = "fixed";
			continue;
		}
		if ((got = xui_client_get(x, a, inbound, sr.protocol, sr.email, 0, &c)) != 1) {
			it->fix = got == 0 ? "gone from the panel meanwhile" : failed(a, x, "get");
			if (got == 0 && it->kind == DRIFT_UNKNOWN)
				it->fix = "fixed";
			continue;
		}
		if (it->kind == DRIFT_UNKNOWN) {
			if (xui_client_delete(x, inbound, sr.protocol, sr.email, client_key(sr.protocol, &c)) != 0)
				it->fix = failed(a, x, "delete");
			else
				it->fix = "fixed";
			continue;
		}
		/* DRIFT_DIFFER: the panel's client whole, the shop's three fields. */
		c.enable = strcmp(sr.state, "active") == 0;
		c.expiry_ms = sr.expires * 1000;
		c.total = sr.total;
		if (xui_client_update(x, inbound, sr.protocol, sr.email, client_key(sr.protocol, &c), &c) != 0)
			it->fix = failed(a, x, "update");
		else
			it->fix = "fixed";
	}
}

void
drift_audit(struct db *db, struct arena *a, int64_t server, const struct drift_report *r)
{
	static const struct actor sys = { "system", 0, NULL, NULL };
	size_t	 i;

	for (i = 0; i < r->n; i++) {
		const struct drift_item *it = &r->it[i];
		const char *kind;

		if (*it->fix == '\0')
			continue;
		if (it->kind == DRIFT_DIFFER)
			kind = arena_printf(a, "differed in%s%s%s", it->d_enable ? " enable" : "",
			    it->d_expiry ? " expiry" : "", it->d_total ? " quota" : "");
		else
			kind = it->kind == DRIFT_MISSING ? "missing on the panel" :
			    "on the panel, deleted in the shop";
		audit(db, &sys, "drift.fix", it->client > 0 ? arena_printf(a, "client:%" PRId64, it->client) :
		    arena_printf(a, "server:%" PRId64, server), "%s on panel %" PRId64 ": %s; cron drift --fix: %s",
		    it->email, server, it->client > 0 ? kind : "unknown to the shop", it->fix);
	}
}
