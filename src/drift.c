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

#include "db.h"
#include "drift.h"
#include "util.h"

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
