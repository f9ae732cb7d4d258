/*
 * admin_catalog.c: the staff's catalogue panels (issue 11, "Staff
 * panels"): plans, server categories and server brands.  Every route
 * needs plans.write, reading included: the lists show what is not on
 * sale yet, and no other permission of migration 002 fits.
 *
 *   GET  /admin/plans                          the list: state, sort, price,
 *                                              stock, orders; the actions
 *   POST /admin/plans                          create
 *   GET  /admin/plans/new                      the form for a new plan
 *   GET  /admin/plans/{id:int}                 the edit form
 *   POST /admin/plans/{id:int}                 save
 *   POST /admin/plans/{id:int}/activate        on sale again
 *   POST /admin/plans/{id:int}/deactivate      off sale; orders keep it
 *   POST /admin/plans/{id:int}/move            direction=up|down
 *   POST /admin/plans/{id:int}/delete          only with nothing naming it
 * and the same eight for /admin/categories and /admin/brands (their
 * create form sits on the list page, so there is no .../new).
 *
 * Rules:
 *  - Every field goes through the shared validators (valid.h) and
 *    money_parse; a refused value answers 400 with the form as it was
 *    typed, and nothing is written.  A slug another row holds is a 409,
 *    found inside the write transaction (so two staff members racing
 *    for one slug get one 409, never a 500 from the UNIQUE index).
 *  - A plan is sold in the shop's currency (settings shop.currency, as
 *    checkout reads it): a plan typed in another is refused.
 *  - Each change is one BEGIN IMMEDIATE transaction holding the write
 *    and one audit row with the changed fields before and after; an
 *    edit that changes nothing writes nothing.  008's triggers move
 *    catalog_version inside that same transaction, so every worker's
 *    page cache (cache.c) renders afresh on its next request.
 *  - A plan with orders is never deleted (order_items keep pointing at
 *    it for the orders' history): it is deactivated.  A plan in a cart
 *    or named by a coupon, and a category or brand that a plan, server
 *    or coupon names, is refused with a 409 that says what holds it.
 *  - "Move up/down" renumbers the rows 10, 20, 30... in their shown
 *    order (sort, name, id) with the two neighbours swapped: equal sort
 *    numbers would otherwise make a swap do nothing.
 */
#include "config.h"

#include <string.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define GIB		INT64_C(1073741824)	/* "GB" in the forms, as buf_bytes shows it */
#define TRAFFIC_GB_MAX	1048576			/* 1 PiB: far above any plan */
#define SLUG_MAX	64
#define NAME_MAX_CHARS	120			/* plans.name's CHECK */
#define PLAN_DESC_MAX	2000
#define TAXO_DESC_MAX	500
#define SORT_LIMIT	1000000
#define STOCK_MAX	1000000000
#define AUDIT_TEXT_MAX	160	/* characters of a text kept in an audit row (audit cuts at 2 KB) */

static const char *const protocols[] = { "vless", "vmess", "trojan", "shadowsocks" };

static const struct {
	const char	*code;
	const char	*text;
} notices[] = {
	{ "created", "Created. The public pages show it at once." },
	{ "saved", "Saved. The public pages show the change at once." },
	{ "unchanged", "Nothing was changed." },
	{ "activated", "Activated: it is shown in the shop again." },
	{ "deactivated", "Deactivated: it is no longer shown; orders keep it." },
	{ "moved", "Moved." },
	{ "deleted", "Deleted." },
};

static void
notice(struct request *r, struct vm *vm)
{
	const char *done = req_query(r, "done");
	size_t	 i;

	for (i = 0; done != NULL && i < NELEM(notices); i++)
		if (strcmp(done, notices[i].code) == 0)
			vm_set(vm, "notice", notices[i].text);
}

static const char *
shop_currency(struct request *r)
{
	struct stmt *st = db_q(r->db, Q_SETTING_GET);
	const char *v = "";

	db_bind_text(r->db, st, ":key", "shop.currency");
	if (db_step(r->db, st) == DB_ROW)
		v = db_text(r->db, st, 0);
	db_reset(st);
	return v;
}

static const char *
itoa_a(struct request *r, int64_t v)
{
	return arena_printf(r->a, "%lld", (long long)v);
}

/* Minor units as the amount staff type: 1250 USD "12.50", 1250 JPY "1250". */
static const char *
amount_text(struct request *r, int64_t minor, const char *cur)
{
	int	 exp = money_exponent(cur), i;
	int64_t	 unit = 1;

	if (exp < 0)
		exp = 2;
	if (exp == 0)
		return itoa_a(r, minor);
	for (i = 0; i < exp; i++)
		unit *= 10;
	return arena_printf(r->a, "%lld.%0*lld", (long long)(minor / unit), exp,
	    (long long)(minor % unit));
}

/* ---- the audit row: changed fields, before and after ---- */

/* A text for the audit row: quoted, cut to AUDIT_TEXT_MAX characters
 * (never inside a UTF-8 sequence). */
static const char *
aq(struct request *r, const char *s)
{
	size_t	 i = 0, chars = 0;

	while (s[i] != '\0' && chars < AUDIT_TEXT_MAX) {
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	return arena_printf(r->a, "\"%.*s%s\"", (int)i, s, s[i] ? "..." : "");
}

/* Append "field: before -> after" to *d when the two differ. */
static void
diff(struct request *r, const char **d, const char *field, const char *before, const char *after)
{
	if (strcmp(before, after) == 0)
		return;
	*d = arena_printf(r->a, "%s%s%s: %s -> %s", *d, **d ? "; " : "", field, before, after);
}

/* ---- moving a row up or down ---- */

/*
 * Renumber the rows of order (id, sort; in shown order) to 10, 20, ...
 * with row id and its neighbour above (up) or below swapped, through
 * set_sort, inside the caller's transaction.  *before and *after: the
 * row's sort number.  1 when moved, 0 when it is first (up) or last
 * (down) already, -1 when there is no such row.
 */
static int
move_row(struct request *r, enum q order, enum q set_sort, int64_t id, int up,
    int64_t *before, int64_t *after)
{
	struct stmt *st = db_q(r->db, order);
	int64_t	*ids = NULL, *sorts = NULL, t;
	size_t	 n = 0, cap = 0, i, at = (size_t)-1, j;

	while (db_step(r->db, st) == DB_ROW) {
		if (n == cap) {
			int64_t	*ni, *ns;

			cap = cap ? cap * 2 : 64;
			ni = arena_alloc(r->a, cap * sizeof(*ni));
			ns = arena_alloc(r->a, cap * sizeof(*ns));
			if (n > 0) {
				memcpy(ni, ids, n * sizeof(*ni));
				memcpy(ns, sorts, n * sizeof(*ns));
			}
			ids = ni;
			sorts = ns;
		}
		ids[n] = db_int(st, 0);
		sorts[n] = db_int(st, 1);
		if (ids[n] == id)
			at = n;
		n++;
	}
	db_reset(st);
	if (at == (size_t)-1)
		return -1;
	*before = *after = sorts[at];
	if ((up && at == 0) || (!up && at + 1 == n))
		return 0;
	j = up ? at - 1 : at + 1;
	t = ids[at];
	ids[at] = ids[j];
	ids[j] = t;
	t = sorts[at];
	sorts[at] = sorts[j];
	sorts[j] = t;
	for (i = 0; i < n; i++) {
		int64_t	 want = (int64_t)(i + 1) * 10;

		if (ids[i] == id)
			*after = want;
		if (sorts[i] == want)
			continue;
		st = db_q(r->db, set_sort);
		db_bind_int(r->db, st, ":sort", want);
		db_bind_int(r->db, st, ":id", ids[i]);
		db_step(r->db, st);
	}
	return 1;
}

static const struct field admin_catalog_move_fields[] = {
	{ "direction", FK_SLUG, FIELD_REQUIRED, 0, 4 },
};
const struct form admin_catalog_move_form = { FORM(admin_catalog_move_fields) };

/* The direction field: 1 up, 0 down, -1 neither. */
static int
direction(struct request *r)
{
	const char *d = form_get(r, "direction");

	if (strcmp(d, "up") == 0)
		return 1;
	if (strcmp(d, "down") == 0)
		return 0;
	return -1;
}

/* An optional id field: "" is 0 (none); else a positive integer.  1 or 0. */
static int
opt_id(const char *s, int64_t *out)
{
	if (*s == '\0') {
		*out = 0;
		return 1;
	}
	return valid_int(s, 1, INT64_MAX, out);
}

static void
bind_opt(struct request *r, struct stmt *st, const char *name, int64_t v)
{
	if (v > 0)
		db_bind_int(r->db, st, name, v);
	else
		db_bind_null(r->db, st, name);
}

/* 1 when statement q (":id") finds a row. */
static int
exists(struct request *r, enum q q, int64_t id)
{
	struct stmt *st = db_q(r->db, q);
	int	 found;

	db_bind_int(r->db, st, ":id", id);
	found = db_step(r->db, st) == DB_ROW;
	db_reset(st);
	return found;
}

/* ================================================================
 * Plans
 * ================================================================ */

struct plan {
	int64_t		 id;
	const char	*slug, *name, *description, *protocol, *currency;
	int64_t		 server, inbound, category, brand;	/* 0: none */
	int64_t		 price, days, traffic, devices;
	int64_t		 stock;					/* -1: unlimited */
	int64_t		 sort;
	int		 featured, active;
};

static int
plan_get(struct request *r, int64_t id, struct plan *p)
{
	struct stmt *st = db_q(r->db, Q_ACAT_PLAN_GET);
	int	 ok = 0;

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) == DB_ROW) {
		p->id = db_int(st, 0);
		p->slug = db_text(r->db, st, 1);
		p->name = db_text(r->db, st, 2);
		p->description = db_text(r->db, st, 3);
		p->protocol = db_text(r->db, st, 4);
		p->server = db_int(st, 5);
		p->inbound = db_is_null(st, 6) ? 0 : db_int(st, 6);
		p->category = db_is_null(st, 7) ? 0 : db_int(st, 7);
		p->brand = db_is_null(st, 8) ? 0 : db_int(st, 8);
		p->price = db_int(st, 9);
		p->currency = db_text(r->db, st, 10);
		p->days = db_int(st, 11);
		p->traffic = db_int(st, 12);
		p->devices = db_int(st, 13);
		p->featured = (int)db_int(st, 14);
		p->active = (int)db_int(st, 15);
		p->stock = db_is_null(st, 16) ? -1 : db_int(st, 16);
		p->sort = db_int(st, 17);
		ok = 1;
	}
	db_reset(st);
	return ok;
}

static const char *
plan_target(struct request *r, int64_t id)
{
	return arena_printf(r->a, "plan:%lld", (long long)id);
}

static const struct field admin_plan_fields[] = {
	{ "slug", FK_SLUG, FIELD_REQUIRED, 0, SLUG_MAX },
	{ "name", FK_TEXT, FIELD_REQUIRED, 0, NAME_MAX_CHARS },
	{ "description", FK_PARA, FIELD_REQUIRED, 0, PLAN_DESC_MAX },
	{ "protocol", FK_SLUG, FIELD_REQUIRED, 0, 16 },
	{ "server", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "inbound", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "category", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "brand", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "currency", FK_TEXT, FIELD_REQUIRED, 0, 3 },
	{ "price", FK_TEXT, FIELD_REQUIRED, 0, 32 },
	{ "duration_days", FK_TEXT, FIELD_REQUIRED, 0, 8 },
	{ "traffic_gb", FK_TEXT, FIELD_REQUIRED, 0, 12 },
	{ "device_limit", FK_TEXT, FIELD_REQUIRED, 0, 8 },
	{ "stock", FK_TEXT, FIELD_REQUIRED, 0, 12 },
	{ "sort", FK_TEXT, FIELD_REQUIRED, 0, 12 },
	{ "featured", FK_FLAG, 0, 0, 0 },
	{ "active", FK_FLAG, 0, 0, 0 },
};
const struct form admin_plan_form = { FORM(admin_plan_fields) };

/*
 * Read and check the plan form into *p, inside the caller's transaction
 * (the server, inbound, category and brand must exist when the row is
 * written).  old: the plan being edited, NULL for a new one.  NULL when
 * every field is good, else the sentence for the 400.
 */
static const char *
plan_read(struct request *r, struct plan *p, const struct plan *old)
{
	const char *s, *shop;
	struct stmt *st;
	enum money_err me;
	size_t	 i;

	memset(p, 0, sizeof(*p));
	if (!form_valid(r, "slug"))
		return "The slug is 1 to 64 of a-z, 0-9 and '-', not starting or ending with '-': "
		    "it is the plan's address, /plans/SLUG.";
	p->slug = form_get(r, "slug");
	if (!form_valid(r, "name") || *form_get(r, "name") == '\0')
		return "The name is one line of 1 to 120 characters, without control characters.";
	p->name = form_get(r, "name");
	if (!form_valid(r, "description"))
		return "The description is at most 2000 characters of text (line breaks are fine; "
		    "other control characters are not).";
	p->description = form_get(r, "description");
	s = form_get(r, "protocol");
	for (i = 0; i < NELEM(protocols); i++)
		if (strcmp(s, protocols[i]) == 0)
			p->protocol = protocols[i];
	if (p->protocol == NULL)
		return "Choose the protocol: VLESS, VMess, Trojan or Shadowsocks.";
	if (!valid_int(form_get(r, "server"), 1, INT64_MAX, &p->server) ||
	    !exists(r, Q_ACAT_SERVER_NAME, p->server))
		return "Choose one of the servers.";
	if (!opt_id(form_get(r, "inbound"), &p->inbound))
		return "Choose one of the inbounds, or none.";
	if (p->inbound > 0) {
		int	 ok = 0;

		st = db_q(r->db, Q_ACAT_INBOUND_GET);
		db_bind_int(r->db, st, ":id", p->inbound);
		if (db_step(r->db, st) == DB_ROW)
			ok = db_int(st, 0) != p->server ? -1 :
			    strcmp(db_text(r->db, st, 1), p->protocol) != 0 ? -2 : 1;
		db_reset(st);
		if (ok == 0)
			return "Choose one of the inbounds, or none.";
		if (ok == -1)
			return "That inbound is on another server: choose one of the plan's server, or none.";
		if (ok == -2)
			return "That inbound serves another protocol than the plan's.";
	}
	if (!opt_id(form_get(r, "category"), &p->category) ||
	    (p->category > 0 && !exists(r, Q_ACAT_CATEGORY_GET, p->category)))
		return "Choose one of the categories, or none.";
	if (!opt_id(form_get(r, "brand"), &p->brand) ||
	    (p->brand > 0 && !exists(r, Q_ACAT_BRAND_GET, p->brand)))
		return "Choose one of the brands, or none.";
	/* The shop's one currency, as checkout enforces it: a plan in
	 * another could be shown but never sold. */
	p->currency = form_get(r, "currency");
	shop = shop_currency(r);
	if (*shop != '\0' && strcmp(p->currency, shop) != 0)
		return arena_printf(r->a, "The shop sells in %s: a plan in another currency is refused.", shop);
	if (!money_known(p->currency))
		return "The currency must be an ISO 4217 code such as USD or EUR.";
	if ((me = money_parse(form_get(r, "price"), p->currency, &p->price)) != MONEY_OK)
		return arena_printf(r->a, "Price: %s", money_err_text[me]);
	if (!valid_int(form_get(r, "duration_days"), 1, 3660, &p->days))
		return "The duration is a whole number of days from 1 to 3660.";
	if (!valid_int(form_get(r, "traffic_gb"), 0, TRAFFIC_GB_MAX, &p->traffic))
		return "The traffic is a whole number of GB from 0 (unlimited) to 1048576.";
	p->traffic *= GIB;
	/* A value stored by other means than this form (not a whole GB)
	 * and shown rounded down is kept as it was when left alone. */
	if (old != NULL && old->traffic % GIB != 0 && p->traffic == old->traffic / GIB * GIB)
		p->traffic = old->traffic;
	if (!valid_int(form_get(r, "device_limit"), 0, 100, &p->devices))
		return "The device limit is a whole number from 0 (unlimited) to 100.";
	s = form_get(r, "stock");
	p->stock = -1;
	if (*s != '\0' && !valid_int(s, 0, STOCK_MAX, &p->stock))
		return "The stock is empty (unlimited) or a whole number from 0 up.";
	if (!valid_int(form_get(r, "sort"), -SORT_LIMIT, SORT_LIMIT, &p->sort))
		return "The sort number is a whole number from -1000000 to 1000000.";
	p->featured = form_get(r, "featured") != NULL;
	p->active = form_get(r, "active") != NULL;
	return NULL;
}

static void
plan_bind(struct request *r, struct stmt *st, const struct plan *p)
{
	db_bind_text(r->db, st, ":slug", p->slug);
	db_bind_text(r->db, st, ":name", p->name);
	db_bind_text(r->db, st, ":description", p->description);
	db_bind_text(r->db, st, ":protocol", p->protocol);
	db_bind_int(r->db, st, ":server", p->server);
	bind_opt(r, st, ":inbound", p->inbound);
	bind_opt(r, st, ":category", p->category);
	bind_opt(r, st, ":brand", p->brand);
	db_bind_int(r->db, st, ":price", p->price);
	db_bind_text(r->db, st, ":currency", p->currency);
	db_bind_int(r->db, st, ":days", p->days);
	db_bind_int(r->db, st, ":traffic", p->traffic);
	db_bind_int(r->db, st, ":devices", p->devices);
	db_bind_int(r->db, st, ":featured", p->featured);
	db_bind_int(r->db, st, ":active", p->active);
	if (p->stock >= 0)
		db_bind_int(r->db, st, ":stock", p->stock);
	else
		db_bind_null(r->db, st, ":stock");
	db_bind_int(r->db, st, ":sort", p->sort);
}

static const char *
opt_text(struct request *r, int64_t v)
{
	return v > 0 ? itoa_a(r, v) : "none";
}

/* The audit text of every field that differs between a and b (a NULL:
 * a new plan, every field "none" before). */
static const char *
plan_diff(struct request *r, const struct plan *a, const struct plan *b)
{
	const char *d = "";

#define BEFORE(x)	(a != NULL ? (x) : "none")
	diff(r, &d, "slug", BEFORE(aq(r, a->slug)), aq(r, b->slug));
	diff(r, &d, "name", BEFORE(aq(r, a->name)), aq(r, b->name));
	diff(r, &d, "description", BEFORE(aq(r, a->description)), aq(r, b->description));
	diff(r, &d, "protocol", BEFORE(a->protocol), b->protocol);
	diff(r, &d, "server", BEFORE(itoa_a(r, a->server)), itoa_a(r, b->server));
	diff(r, &d, "inbound", BEFORE(opt_text(r, a->inbound)), opt_text(r, b->inbound));
	diff(r, &d, "category", BEFORE(opt_text(r, a->category)), opt_text(r, b->category));
	diff(r, &d, "brand", BEFORE(opt_text(r, a->brand)), opt_text(r, b->brand));
	diff(r, &d, "price", BEFORE(money_str(r->a, a->price, a->currency)),
	    money_str(r->a, b->price, b->currency));
	diff(r, &d, "duration_days", BEFORE(itoa_a(r, a->days)), itoa_a(r, b->days));
	diff(r, &d, "traffic_bytes", BEFORE(itoa_a(r, a->traffic)), itoa_a(r, b->traffic));
	diff(r, &d, "device_limit", BEFORE(itoa_a(r, a->devices)), itoa_a(r, b->devices));
	diff(r, &d, "featured", BEFORE(itoa_a(r, a->featured)), itoa_a(r, b->featured));
	diff(r, &d, "active", BEFORE(itoa_a(r, a->active)), itoa_a(r, b->active));
	diff(r, &d, "stock", BEFORE(a->stock < 0 ? "unlimited" : itoa_a(r, a->stock)),
	    b->stock < 0 ? "unlimited" : itoa_a(r, b->stock));
	diff(r, &d, "sort", BEFORE(itoa_a(r, a->sort)), itoa_a(r, b->sort));
#undef BEFORE
	return d;
}

/* The select lists of the plan form, with sel_* (as text) selected. */
static void
plan_options(struct request *r, struct vm *vm, const char *sel_proto, const char *sel_server,
    const char *sel_inbound, const char *sel_cat, const char *sel_brand)
{
	struct stmt *st;
	struct vm *it;
	const char *id;
	size_t	 i;

	for (i = 0; i < NELEM(protocols); i++) {
		it = vm_push(vm, "protocols");
		vm_set(it, "value", protocols[i]);
		vm_set(it, "label", protocols[i]);
		vm_set_bool(it, "selected", strcmp(sel_proto, protocols[i]) == 0);
	}
	st = db_q(r->db, Q_ACAT_SERVERS);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "servers");
		id = itoa_a(r, db_int(st, 0));
		vm_set(it, "value", id);
		vm_setf(it, "label", "%s (%s, %s)", db_text(r->db, st, 1), db_text(r->db, st, 2),
		    db_text(r->db, st, 3));
		vm_set_bool(it, "selected", strcmp(sel_server, id) == 0);
	}
	db_reset(st);
	st = db_q(r->db, Q_ACAT_INBOUNDS);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "inbounds");
		id = itoa_a(r, db_int(st, 0));
		vm_set(it, "value", id);
		vm_setf(it, "label", "%s #%lld %s (%s, port %lld)", db_text(r->db, st, 1),
		    (long long)db_int(st, 2), db_text(r->db, st, 3), db_text(r->db, st, 4),
		    (long long)db_int(st, 5));
		vm_set_bool(it, "selected", strcmp(sel_inbound, id) == 0);
	}
	db_reset(st);
	st = db_q(r->db, Q_ACAT_CATEGORIES);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "categories");
		id = itoa_a(r, db_int(st, 0));
		vm_set(it, "value", id);
		vm_setf(it, "label", "%s%s", db_text(r->db, st, 2), db_int(st, 5) ? "" : " (inactive)");
		vm_set_bool(it, "selected", strcmp(sel_cat, id) == 0);
	}
	db_reset(st);
	st = db_q(r->db, Q_ACAT_BRANDS);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "brands");
		id = itoa_a(r, db_int(st, 0));
		vm_set(it, "value", id);
		vm_setf(it, "label", "%s%s", db_text(r->db, st, 2), db_int(st, 5) ? "" : " (inactive)");
		vm_set_bool(it, "selected", strcmp(sel_brand, id) == 0);
	}
	db_reset(st);
}

static const char *
opt_id_text(struct request *r, int64_t v)
{
	return v > 0 ? itoa_a(r, v) : "";
}

/*
 * The plan form: a new plan (id 0) or plan id, with an optional error
 * (status set after).  After a POST it shows what was typed; else the
 * stored plan, or the defaults of a new one (the shop's currency, at
 * the end of the list).
 */
static void
plan_form(struct request *r, int status, const char *error, int64_t id)
{
	struct vm *vm = page_vm(r, id ? "Edit plan" : "New plan");
	struct plan p;
	const char *shop = shop_currency(r);
	static const char *const keys[] = { "slug", "name", "description", "server", "inbound",
	    "category", "brand", "currency", "price", "duration_days", "traffic_gb",
	    "device_limit", "stock", "sort" };
	const char *proto = "vless";
	size_t	 i;

	if (id && !plan_get(r, id, &p))
		req_fail(r, 404, "There is no such plan.");
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "shop_currency", *shop ? shop : "not set");
	if (id) {
		vm_set_int(vm, "pid", id);
		vm_set(vm, "action", arena_printf(r->a, "/admin/plans/%lld", (long long)id));
		vm_set(vm, "heading", arena_printf(r->a, "Edit %s", p.name));
	} else {
		vm_set(vm, "action", "/admin/plans");
		vm_set(vm, "heading", "New plan");
	}
	if (r->method == M_POST && r->fields != NULL) {
		for (i = 0; i < NELEM(keys); i++)
			vm_set(vm, arena_printf(r->a, "f_%s", keys[i]), form_get(r, keys[i]));
		vm_set_bool(vm, "f_featured", form_get(r, "featured") != NULL);
		vm_set_bool(vm, "f_active", form_get(r, "active") != NULL);
		proto = form_get(r, "protocol");
		plan_options(r, vm, proto, form_get(r, "server"), form_get(r, "inbound"),
		    form_get(r, "category"), form_get(r, "brand"));
	} else if (id) {
		vm_set(vm, "f_slug", p.slug);
		vm_set(vm, "f_name", p.name);
		vm_set(vm, "f_description", p.description);
		vm_set(vm, "f_currency", p.currency);
		vm_set(vm, "f_price", amount_text(r, p.price, p.currency));
		vm_set(vm, "f_duration_days", itoa_a(r, p.days));
		vm_set(vm, "f_traffic_gb", itoa_a(r, p.traffic / GIB));
		vm_set(vm, "f_device_limit", itoa_a(r, p.devices));
		vm_set(vm, "f_stock", p.stock < 0 ? "" : itoa_a(r, p.stock));
		vm_set(vm, "f_sort", itoa_a(r, p.sort));
		vm_set_bool(vm, "f_featured", p.featured);
		vm_set_bool(vm, "f_active", p.active);
		if (*shop && strcmp(shop, p.currency) != 0)
			vm_set(vm, "warning", arena_printf(r->a, "This plan is priced in %s, not in the "
			    "shop's %s, so checkout refuses it: saving asks for a price in %s.",
			    p.currency, shop, shop));
		plan_options(r, vm, p.protocol, itoa_a(r, p.server), opt_id_text(r, p.inbound),
		    opt_id_text(r, p.category), opt_id_text(r, p.brand));
	} else {
		struct stmt *st = db_q(r->db, Q_ACAT_PLAN_ORDER);
		int64_t	 last = 0;

		while (db_step(r->db, st) == DB_ROW)
			last = db_int(st, 1);
		db_reset(st);
		vm_set(vm, "f_slug", "");
		vm_set(vm, "f_name", "");
		vm_set(vm, "f_description", "");
		vm_set(vm, "f_currency", *shop ? shop : "USD");
		vm_set(vm, "f_price", "");
		vm_set(vm, "f_duration_days", "30");
		vm_set(vm, "f_traffic_gb", "0");
		vm_set(vm, "f_device_limit", "1");
		vm_set(vm, "f_stock", "");
		vm_set(vm, "f_sort", itoa_a(r, last < SORT_LIMIT - 10 ? last + 10 : last));
		vm_set_bool(vm, "f_featured", 0);
		vm_set_bool(vm, "f_active", 1);
		plan_options(r, vm, proto, "", "", "", "");
	}
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/plan", vm);
	if (status)
		r->status = status;
}

/*
 * The plans list with an optional error (status set after): each plan's
 * state, sort number, price (money_str, flagged when not in the shop's
 * currency), stock, orders, and the buttons that apply.
 */
static void
plans_page(struct request *r, int status, const char *error)
{
	struct vm *vm = page_vm(r, "Plans"), *it;
	struct stmt *st = db_q(r->db, Q_ACAT_PLANS);
	const char *shop = shop_currency(r);
	struct buf b;
	int64_t	 n = 0;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_bool(vm, "tab_plans", 1);
	while (db_step(r->db, st) == DB_ROW) {
		int64_t	 orders = db_int(st, 10);

		it = vm_push(vm, "plans");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "slug", db_text(r->db, st, 1));
		vm_set(it, "name", db_text(r->db, st, 2));
		vm_set_bool(it, "active", db_int(st, 3));
		vm_set(it, "state", db_int(st, 3) ? "active" : "inactive");
		vm_set_int(it, "sort", db_int(st, 4));
		vm_set(it, "price", money_str(r->a, db_int(st, 5), db_text(r->db, st, 6)));
		vm_set_bool(it, "foreign", *shop && strcmp(shop, db_text(r->db, st, 6)) != 0);
		vm_set(it, "stock", db_is_null(st, 7) ? "unlimited" : itoa_a(r, db_int(st, 7)));
		vm_set(it, "protocol", db_text(r->db, st, 8));
		vm_set(it, "server", db_text(r->db, st, 9));
		vm_set_int(it, "orders", orders);
		vm_set_bool(it, "deletable", orders == 0);
		vm_set_bool(it, "featured", db_int(st, 11));
		vm_setf(it, "days", "%lld d", (long long)db_int(st, 12));
		/* No database call while b holds memory: a hard error there
		 * would leave it behind (db.h). */
		buf_init(&b);
		if (db_int(st, 13) == 0)
			buf_puts(&b, "unlimited");
		else
			buf_bytes(&b, db_int(st, 13));
		vm_set(it, "traffic", b.p);
		buf_free(&b);
		vm_set(it, "category", db_text(r->db, st, 14));
		vm_set(it, "brand", db_text(r->db, st, 15));
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	vm_set(vm, "shop_currency", *shop ? shop : "not set");
	if (error != NULL)
		vm_set(vm, "error", error);
	notice(r, vm);
	page_render(r, "pages/admin/plans", vm);
	if (status)
		r->status = status;
}

/* GET /admin/plans — ?done (a fixed notice).  200. */
void
admin_plans(struct request *r)
{
	plans_page(r, 0, NULL);
}

/* GET /admin/plans/new — 200. */
void
admin_plan_new(struct request *r)
{
	plan_form(r, 0, NULL, 0);
}

/* GET /admin/plans/{id:int} — 200; 404 for no such plan. */
void
admin_plan(struct request *r)
{
	plan_form(r, 0, NULL, req_param_int(r, "id"));
}

static void
plans_done(struct request *r, const char *what)
{
	resp_redirect(r, 303, arena_printf(r->a, "/admin/plans?done=%s", what));
}

/* A slug held by a row but id (0: any) in the table of q: 1, else 0. */
static int
slug_taken(struct request *r, enum q q, const char *slug, int64_t id)
{
	struct stmt *st = db_q(r->db, q);

	db_bind_text(r->db, st, ":slug", slug);
	if (id > 0)
		db_bind_int(r->db, st, ":id", id);
	else
		db_bind_null(r->db, st, ":id");
	return db_one_int(r->db, st, 0) > 0;
}

/*
 * POST /admin/plans — the plan form's fields (see admin_plan_fields),
 * csrf.  One plan row and its audit row.  303 to the list; 400 for a
 * refused field and 409 for a slug in use (the form kept, nothing
 * written).
 */
void
admin_plans_post(struct request *r)
{
	const char *err;
	struct stmt *st;
	struct plan p;

	db_begin(r->db);
	if ((err = plan_read(r, &p, NULL)) != NULL) {
		db_rollback(r->db);
		plan_form(r, 400, err, 0);
		return;
	}
	if (slug_taken(r, Q_ACAT_PLAN_SLUG_TAKEN, p.slug, 0)) {
		db_rollback(r->db);
		plan_form(r, 409, arena_printf(r->a, "Another plan has the slug \"%s\": choose another. "
		    "Nothing was saved.", p.slug), 0);
		return;
	}
	st = db_q(r->db, Q_ACAT_PLAN_INSERT);
	plan_bind(r, st, &p);
	db_step(r->db, st);
	p.id = db_last_id(r->db);
	req_audit(r, "plan.created", plan_target(r, p.id), "%s", plan_diff(r, NULL, &p));
	db_commit(r->db);
	plans_done(r, "created");
}

/*
 * POST /admin/plans/{id:int} — the plan form's fields, csrf.  The plan
 * row and one audit row naming each changed field before and after; an
 * edit that changes nothing writes nothing.  303 to the list; 400 for a
 * refused field and 409 for a slug in use (the form kept, nothing
 * written); 404 for no such plan.
 */
void
admin_plan_post(struct request *r)
{
	int64_t	 id = req_param_int(r, "id");
	const char *err, *d;
	struct plan old, p;
	struct stmt *st;

	db_begin(r->db);
	if (!plan_get(r, id, &old)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such plan.");
	}
	if ((err = plan_read(r, &p, &old)) != NULL) {
		db_rollback(r->db);
		plan_form(r, 400, err, id);
		return;
	}
	if (slug_taken(r, Q_ACAT_PLAN_SLUG_TAKEN, p.slug, id)) {
		db_rollback(r->db);
		plan_form(r, 409, arena_printf(r->a, "Another plan has the slug \"%s\": choose another. "
		    "Nothing was saved.", p.slug), id);
		return;
	}
	p.id = id;
	if (*(d = plan_diff(r, &old, &p)) == '\0') {
		db_rollback(r->db);
		plans_done(r, "unchanged");
		return;
	}
	st = db_q(r->db, Q_ACAT_PLAN_UPDATE);
	plan_bind(r, st, &p);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, "plan.updated", plan_target(r, id), "%s", d);
	db_commit(r->db);
	plans_done(r, "saved");
}

/* Set the plan {id}'s active flag; audited when it moved.  303; 404. */
static void
plan_set_active(struct request *r, int active)
{
	int64_t	 id = req_param_int(r, "id");
	struct plan p;
	struct stmt *st;

	db_begin(r->db);
	if (!plan_get(r, id, &p)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such plan.");
	}
	st = db_q(r->db, Q_ACAT_PLAN_SET_ACTIVE);
	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":active", active);
	db_step(r->db, st);
	if (db_changes(r->db) == 1)
		req_audit(r, active ? "plan.activated" : "plan.deactivated", plan_target(r, id),
		    "%s: active: %d -> %d", aq(r, p.slug), !active, active);
	db_commit(r->db);
	plans_done(r, active ? "activated" : "deactivated");
}

/* POST /admin/plans/{id:int}/activate — csrf.  303; 404. */
void
admin_plan_activate_post(struct request *r)
{
	plan_set_active(r, 1);
}

/* POST /admin/plans/{id:int}/deactivate — csrf.  Off sale; carts
 * holding it are refused at checkout (checkout.c).  303; 404. */
void
admin_plan_deactivate_post(struct request *r)
{
	plan_set_active(r, 0);
}

/*
 * Move row id of a table up or down (see move_row), with the audit row
 * action on target; then 303 to back.  400 for a bad direction; 404.
 */
static void
move(struct request *r, enum q order, enum q set_sort, const char *action, const char *target,
    const char *back)
{
	int64_t	 id = req_param_int(r, "id"), before, after;
	int	 up = direction(r), rc;

	if (up < 0)
		req_fail(r, 400, "Move up or down.");
	db_begin(r->db);
	rc = move_row(r, order, set_sort, id, up, &before, &after);
	if (rc < 0) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such row.");
	}
	if (rc == 0) {
		/* First or last already: nothing to write. */
		db_rollback(r->db);
		resp_redirect(r, 303, arena_printf(r->a, "%s?done=unchanged", back));
		return;
	}
	req_audit(r, action, target, "moved %s: sort: %lld -> %lld (the list renumbered 10, 20, ...)",
	    up ? "up" : "down", (long long)before, (long long)after);
	db_commit(r->db);
	resp_redirect(r, 303, arena_printf(r->a, "%s?done=moved", back));
}

/* POST /admin/plans/{id:int}/move — direction (up|down), csrf.  303;
 * 400; 404. */
void
admin_plan_move_post(struct request *r)
{
	move(r, Q_ACAT_PLAN_ORDER, Q_ACAT_PLAN_SET_SORT, "plan.moved",
	    plan_target(r, req_param_int(r, "id")), "/admin/plans");
}

static const char *
plural(struct request *r, int64_t n, const char *one, const char *many)
{
	return arena_printf(r->a, "%lld %s", (long long)n, n == 1 ? one : many);
}

/*
 * POST /admin/plans/{id:int}/delete — csrf.  Deletes a plan that no
 * order, cart or coupon names, with an audit row of what it was.  303;
 * 404; 409 (the list with the reason, nothing written) when something
 * names it: a plan with orders is deactivated instead, never deleted.
 */
void
admin_plan_delete_post(struct request *r)
{
	int64_t	 id = req_param_int(r, "id"), orders, carts, coupons;
	struct plan p;
	struct stmt *st;

	db_begin(r->db);
	if (!plan_get(r, id, &p)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such plan.");
	}
	st = db_q(r->db, Q_ACAT_PLAN_REFS);
	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 500, "plan references: no row");
	orders = db_int(st, 0);
	carts = db_int(st, 1);
	coupons = db_int(st, 2);
	db_reset(st);
	if (orders > 0) {
		db_rollback(r->db);
		plans_page(r, 409, arena_printf(r->a, "\"%s\" has %s: a plan with orders is kept for "
		    "their history and never deleted. Deactivate it instead. Nothing was deleted.",
		    p.name, plural(r, orders, "order", "orders")));
		return;
	}
	if (carts > 0 || coupons > 0) {
		db_rollback(r->db);
		plans_page(r, 409, arena_printf(r->a, "\"%s\" is in %s and named by %s, so it cannot "
		    "be deleted. Deactivate it instead. Nothing was deleted.", p.name,
		    plural(r, carts, "cart", "carts"), plural(r, coupons, "coupon", "coupons")));
		return;
	}
	st = db_q(r->db, Q_ACAT_PLAN_DELETE);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, "plan.deleted", plan_target(r, id), "deleted: %s; name: %s; price: %s; active: %d",
	    aq(r, p.slug), aq(r, p.name), money_str(r->a, p.price, p.currency), p.active);
	db_commit(r->db);
	plans_done(r, "deleted");
}

/* ================================================================
 * Categories and brands: one shape, two tables
 * ================================================================ */

struct taxo {
	const char	*kind;		/* "category": audit actions and targets */
	const char	*one, *many;	/* "category", "categories": messages */
	const char	*title;		/* "Categories" */
	const char	*path;		/* "/admin/categories" */
	enum q		 list, get, taken, insert, update, set_active, order, set_sort, refs, del;
};

static const struct taxo categories = {
	"category", "category", "categories", "Server categories", "/admin/categories",
	Q_ACAT_CATEGORIES, Q_ACAT_CATEGORY_GET, Q_ACAT_CATEGORY_SLUG_TAKEN, Q_ACAT_CATEGORY_INSERT,
	Q_ACAT_CATEGORY_UPDATE, Q_ACAT_CATEGORY_SET_ACTIVE, Q_ACAT_CATEGORY_ORDER,
	Q_ACAT_CATEGORY_SET_SORT, Q_ACAT_CATEGORY_REFS, Q_ACAT_CATEGORY_DELETE,
};

static const struct taxo brands = {
	"brand", "brand", "brands", "Server brands", "/admin/brands",
	Q_ACAT_BRANDS, Q_ACAT_BRAND_GET, Q_ACAT_BRAND_SLUG_TAKEN, Q_ACAT_BRAND_INSERT,
	Q_ACAT_BRAND_UPDATE, Q_ACAT_BRAND_SET_ACTIVE, Q_ACAT_BRAND_ORDER,
	Q_ACAT_BRAND_SET_SORT, Q_ACAT_BRAND_REFS, Q_ACAT_BRAND_DELETE,
};

struct term {
	int64_t		 id;
	const char	*slug, *name, *description;
	int64_t		 sort;
	int		 active;
};

static int
term_get(struct request *r, const struct taxo *x, int64_t id, struct term *t)
{
	struct stmt *st = db_q(r->db, x->get);
	int	 ok = 0;

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) == DB_ROW) {
		t->id = db_int(st, 0);
		t->slug = db_text(r->db, st, 1);
		t->name = db_text(r->db, st, 2);
		t->description = db_text(r->db, st, 3);
		t->sort = db_int(st, 4);
		t->active = (int)db_int(st, 5);
		ok = 1;
	}
	db_reset(st);
	return ok;
}

static const char *
term_target(struct request *r, const struct taxo *x, int64_t id)
{
	return arena_printf(r->a, "%s:%lld", x->kind, (long long)id);
}

static const char *
term_action(struct request *r, const struct taxo *x, const char *what)
{
	return arena_printf(r->a, "%s.%s", x->kind, what);
}

static const struct field admin_taxonomy_fields[] = {
	{ "slug", FK_SLUG, FIELD_REQUIRED, 0, SLUG_MAX },
	{ "name", FK_TEXT, FIELD_REQUIRED, 0, NAME_MAX_CHARS },
	{ "description", FK_PARA, FIELD_REQUIRED, 0, TAXO_DESC_MAX },
	{ "sort", FK_TEXT, FIELD_REQUIRED, 0, 12 },
	{ "active", FK_FLAG, 0, 0, 0 },
};
const struct form admin_taxonomy_form = { FORM(admin_taxonomy_fields) };

/* Read and check the category/brand form into *t: NULL, or the sentence
 * for the 400. */
static const char *
term_read(struct request *r, const struct taxo *x, struct term *t)
{
	memset(t, 0, sizeof(*t));
	if (!form_valid(r, "slug"))
		return arena_printf(r->a, "The slug is 1 to 64 of a-z, 0-9 and '-', not starting or "
		    "ending with '-': the catalog's %s filter uses it.", x->one);
	t->slug = form_get(r, "slug");
	if (!form_valid(r, "name") || *form_get(r, "name") == '\0')
		return "The name is one line of 1 to 120 characters, without control characters.";
	t->name = form_get(r, "name");
	if (!form_valid(r, "description"))
		return "The description is at most 500 characters of text (line breaks are fine; "
		    "other control characters are not).";
	t->description = form_get(r, "description");
	if (!valid_int(form_get(r, "sort"), -SORT_LIMIT, SORT_LIMIT, &t->sort))
		return "The sort number is a whole number from -1000000 to 1000000.";
	t->active = form_get(r, "active") != NULL;
	return NULL;
}

static void
term_bind(struct request *r, struct stmt *st, const struct term *t)
{
	db_bind_text(r->db, st, ":slug", t->slug);
	db_bind_text(r->db, st, ":name", t->name);
	db_bind_text(r->db, st, ":description", t->description);
	db_bind_int(r->db, st, ":sort", t->sort);
	db_bind_int(r->db, st, ":active", t->active);
}

static const char *
term_diff(struct request *r, const struct term *a, const struct term *b)
{
	const char *d = "";

#define BEFORE(x)	(a != NULL ? (x) : "none")
	diff(r, &d, "slug", BEFORE(aq(r, a->slug)), aq(r, b->slug));
	diff(r, &d, "name", BEFORE(aq(r, a->name)), aq(r, b->name));
	diff(r, &d, "description", BEFORE(aq(r, a->description)), aq(r, b->description));
	diff(r, &d, "sort", BEFORE(itoa_a(r, a->sort)), itoa_a(r, b->sort));
	diff(r, &d, "active", BEFORE(itoa_a(r, a->active)), itoa_a(r, b->active));
#undef BEFORE
	return d;
}

/*
 * The list of x with its create form, or (edit > 0) the edit form of
 * row edit; an optional error (status set after).  After a POST the
 * form shows what was typed.
 */
static void
taxo_page(struct request *r, const struct taxo *x, int status, const char *error, int64_t edit)
{
	struct vm *vm = page_vm(r, x->title), *it;
	struct stmt *st;
	struct term t;
	int	 posted = r->method == M_POST && r->fields != NULL;
	int64_t	 last = 0, n = 0;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "base", x->path);
	vm_set(vm, "one", x->one);
	vm_set(vm, "many", x->many);
	vm_set(vm, "heading", x->title);
	vm_set_bool(vm, strcmp(x->kind, "brand") == 0 ? "tab_brands" : "tab_categories", 1);
	if (edit > 0) {
		if (!term_get(r, x, edit, &t))
			req_fail(r, 404, "There is no such %s.", x->one);
		vm_set(vm, "title", arena_printf(r->a, "Edit %s", t.name));
		vm_set(vm, "heading", arena_printf(r->a, "Edit %s %s", x->one, t.name));
		vm_set(vm, "action", arena_printf(r->a, "%s/%lld", x->path, (long long)edit));
		vm_set_bool(vm, "editing", 1);
	} else {
		vm_set(vm, "action", x->path);
		st = db_q(r->db, x->list);
		while (db_step(r->db, st) == DB_ROW) {
			int64_t	 plans = db_int(st, 6), servers = db_int(st, 7);

			it = vm_push(vm, "rows");
			vm_set_int(it, "id", db_int(st, 0));
			vm_set(it, "slug", db_text(r->db, st, 1));
			vm_set(it, "name", db_text(r->db, st, 2));
			vm_set_int(it, "sort", db_int(st, 4));
			vm_set_bool(it, "active", db_int(st, 5));
			vm_set(it, "state", db_int(st, 5) ? "active" : "inactive");
			vm_set_int(it, "plans", plans);
			vm_set_int(it, "servers", servers);
			vm_set_bool(it, "deletable", plans == 0 && servers == 0);
			last = db_int(st, 4);
			n++;
		}
		db_reset(st);
		vm_set_bool(vm, "empty", n == 0);
		vm_set_bool(vm, "listing", 1);
	}
	if (posted) {
		vm_set(vm, "f_slug", form_get(r, "slug"));
		vm_set(vm, "f_name", form_get(r, "name"));
		vm_set(vm, "f_description", form_get(r, "description"));
		vm_set(vm, "f_sort", form_get(r, "sort"));
		vm_set_bool(vm, "f_active", form_get(r, "active") != NULL);
	} else if (edit > 0) {
		vm_set(vm, "f_slug", t.slug);
		vm_set(vm, "f_name", t.name);
		vm_set(vm, "f_description", t.description);
		vm_set(vm, "f_sort", itoa_a(r, t.sort));
		vm_set_bool(vm, "f_active", t.active);
	} else {
		vm_set(vm, "f_slug", "");
		vm_set(vm, "f_name", "");
		vm_set(vm, "f_description", "");
		vm_set(vm, "f_sort", itoa_a(r, last < SORT_LIMIT - 10 ? last + 10 : last));
		vm_set_bool(vm, "f_active", 1);
	}
	if (error != NULL)
		vm_set(vm, "error", error);
	notice(r, vm);
	page_render(r, "pages/admin/taxonomy", vm);
	if (status)
		r->status = status;
}

static void
taxo_done(struct request *r, const struct taxo *x, const char *what)
{
	resp_redirect(r, 303, arena_printf(r->a, "%s?done=%s", x->path, what));
}

/* POST {path} — create: slug, name, description, sort, active, csrf.
 * 303; 400 (form kept, nothing written); 409 for a slug in use. */
static void
taxo_create(struct request *r, const struct taxo *x)
{
	const char *err;
	struct stmt *st;
	struct term t;

	if ((err = term_read(r, x, &t)) != NULL) {
		taxo_page(r, x, 400, err, 0);
		return;
	}
	db_begin(r->db);
	if (slug_taken(r, x->taken, t.slug, 0)) {
		db_rollback(r->db);
		taxo_page(r, x, 409, arena_printf(r->a, "Another %s has the slug \"%s\": choose another. "
		    "Nothing was saved.", x->one, t.slug), 0);
		return;
	}
	st = db_q(r->db, x->insert);
	term_bind(r, st, &t);
	db_step(r->db, st);
	t.id = db_last_id(r->db);
	req_audit(r, term_action(r, x, "created"), term_target(r, x, t.id), "%s", term_diff(r, NULL, &t));
	db_commit(r->db);
	taxo_done(r, x, "created");
}

/* POST {path}/{id:int} — save.  303; 400; 404; 409 for a slug in use. */
static void
taxo_save(struct request *r, const struct taxo *x)
{
	int64_t	 id = req_param_int(r, "id");
	const char *err, *d;
	struct term old, t;
	struct stmt *st;

	db_begin(r->db);
	if (!term_get(r, x, id, &old)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such %s.", x->one);
	}
	if ((err = term_read(r, x, &t)) != NULL) {
		db_rollback(r->db);
		taxo_page(r, x, 400, err, id);
		return;
	}
	if (slug_taken(r, x->taken, t.slug, id)) {
		db_rollback(r->db);
		taxo_page(r, x, 409, arena_printf(r->a, "Another %s has the slug \"%s\": choose another. "
		    "Nothing was saved.", x->one, t.slug), id);
		return;
	}
	if (*(d = term_diff(r, &old, &t)) == '\0') {
		db_rollback(r->db);
		taxo_done(r, x, "unchanged");
		return;
	}
	st = db_q(r->db, x->update);
	term_bind(r, st, &t);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, term_action(r, x, "updated"), term_target(r, x, id), "%s", d);
	db_commit(r->db);
	taxo_done(r, x, "saved");
}

/* POST {path}/{id:int}/activate|deactivate.  303; 404. */
static void
taxo_set_active(struct request *r, const struct taxo *x, int active)
{
	int64_t	 id = req_param_int(r, "id");
	struct term t;
	struct stmt *st;

	db_begin(r->db);
	if (!term_get(r, x, id, &t)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such %s.", x->one);
	}
	st = db_q(r->db, x->set_active);
	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":active", active);
	db_step(r->db, st);
	if (db_changes(r->db) == 1)
		req_audit(r, term_action(r, x, active ? "activated" : "deactivated"),
		    term_target(r, x, id), "%s: active: %d -> %d", aq(r, t.slug), !active, active);
	db_commit(r->db);
	taxo_done(r, x, active ? "activated" : "deactivated");
}

/* POST {path}/{id:int}/delete.  303; 404; 409 (the list with the
 * reason, nothing written) while a plan, server or coupon names it. */
static void
taxo_delete(struct request *r, const struct taxo *x)
{
	int64_t	 id = req_param_int(r, "id"), plans, servers, coupons;
	struct term t;
	struct stmt *st;

	db_begin(r->db);
	if (!term_get(r, x, id, &t)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such %s.", x->one);
	}
	st = db_q(r->db, x->refs);
	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 500, "%s references: no row", x->one);
	plans = db_int(st, 0);
	servers = db_int(st, 1);
	coupons = db_int(st, 2);
	db_reset(st);
	if (plans > 0 || servers > 0 || coupons > 0) {
		db_rollback(r->db);
		taxo_page(r, x, 409, arena_printf(r->a, "The %s \"%s\" is in use by %s, %s and %s, so it "
		    "cannot be deleted. Move them to another %s first, or deactivate it. Nothing was deleted.",
		    x->one, t.name, plural(r, plans, "plan", "plans"), plural(r, servers, "server", "servers"),
		    plural(r, coupons, "coupon", "coupons"), x->one), 0);
		return;
	}
	st = db_q(r->db, x->del);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, term_action(r, x, "deleted"), term_target(r, x, id), "deleted: %s; name: %s; active: %d",
	    aq(r, t.slug), aq(r, t.name), t.active);
	db_commit(r->db);
	taxo_done(r, x, "deleted");
}

static void
taxo_move(struct request *r, const struct taxo *x)
{
	move(r, x->order, x->set_sort, term_action(r, x, "moved"),
	    term_target(r, x, req_param_int(r, "id")), x->path);
}

/* The route handlers: GET {path} (the list and the create form), GET
 * {path}/{id:int} (the edit form; 404), and the POSTs above. */
void
admin_categories(struct request *r)
{
	taxo_page(r, &categories, 0, NULL, 0);
}

void
admin_categories_post(struct request *r)
{
	taxo_create(r, &categories);
}

void
admin_category(struct request *r)
{
	taxo_page(r, &categories, 0, NULL, req_param_int(r, "id"));
}

void
admin_category_post(struct request *r)
{
	taxo_save(r, &categories);
}

void
admin_category_activate_post(struct request *r)
{
	taxo_set_active(r, &categories, 1);
}

void
admin_category_deactivate_post(struct request *r)
{
	taxo_set_active(r, &categories, 0);
}

void
admin_category_move_post(struct request *r)
{
	taxo_move(r, &categories);
}

void
admin_category_delete_post(struct request *r)
{
	taxo_delete(r, &categories);
}

void
admin_brands(struct request *r)
{
	taxo_page(r, &brands, 0, NULL, 0);
}

void
admin_brands_post(struct request *r)
{
	taxo_create(r, &brands);
}

void
admin_brand(struct request *r)
{
	taxo_page(r, &brands, 0, NULL, req_param_int(r, "id"));
}

void
admin_brand_post(struct request *r)
{
	taxo_save(r, &brands);
}

void
admin_brand_activate_post(struct request *r)
{
	taxo_set_active(r, &brands, 1);
}

void
admin_brand_deactivate_post(struct request *r)
{
	taxo_set_active(r, &brands, 0);
}

void
admin_brand_move_post(struct request *r)
{
	taxo_move(r, &brands);
}

void
admin_brand_delete_post(struct request *r)
{
	taxo_delete(r, &brands);
}
