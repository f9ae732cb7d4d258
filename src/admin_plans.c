/*
 * admin_plans.c: the staff's plans panel (plans.write; the rules the
 * catalogue panels share are in admin_catalog.c).
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
 *
 * A plan is sold in the shop's currency (settings shop.currency, as
 * checkout reads it): a plan typed in another is refused.  Traffic is
 * typed in GB of 2^30 bytes (as the catalog shows it) and stored in
 * bytes.  A plan with orders is never deleted (order_items keep
 * pointing at it for the orders' history): it is deactivated.  A plan
 * in a cart or named by a coupon is refused too, with a 409 that says
 * what holds it.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "admin_catalog.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "inbound_warn.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define GIB		INT64_C(1073741824)	/* "GB" in the forms, as buf_bytes shows it */
#define TRAFFIC_GB_MAX	1048576			/* 1 PiB: far above any plan */
#define PLAN_DESC_MAX	2000
#define STOCK_MAX	1000000000

static const char *const protocols[] = { "vless", "vmess", "trojan", "shadowsocks" };

/* Minor units as the amount staff type: 1250 USD "12.50", 1250 JPY "1250". */
static const char *
amount_text(struct request *r, int64_t minor, const char *cur)
{
	int	 exp = money_exponent(cur), i;
	int64_t	 unit = 1;

	if (exp < 0)
		exp = 2;
	if (exp == 0)
		return catalog_int(r, minor);
	for (i = 0; i < exp; i++)
		unit *= 10;
	return arena_printf(r->a, "%lld.%0*lld", (long long)(minor / unit), exp,
	    (long long)(minor % unit));
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

struct plan {
	int64_t		 id;
	const char	*slug, *name, *description, *protocol, *currency;
	/* Where its clients go: "inbound" (inbound, and its server) or
	 * "pool" (the protocol's active inbounds narrowed by server,
	 * category and country, each optional but not all absent). */
	const char	*binding;
	const char	*country;				/* "": none */
	const char	*reset;					/* never, monthly */
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
		p->server = db_is_null(st, 5) ? 0 : db_int(st, 5);
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
		p->country = db_text(r->db, st, 18);
		p->reset = db_text(r->db, st, 19);
		p->binding = p->inbound > 0 ? "inbound" : "pool";
		/* An inbound plan's country is its server's copy, not a choice. */
		if (p->inbound > 0)
			p->country = "";
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
	{ "slug", FK_SLUG, FIELD_REQUIRED, 0, CATALOG_SLUG_MAX },
	{ "name", FK_TEXT, FIELD_REQUIRED, 0, CATALOG_NAME_MAX },
	{ "description", FK_PARA, FIELD_REQUIRED, 0, PLAN_DESC_MAX },
	{ "protocol", FK_SLUG, FIELD_REQUIRED, 0, 16 },
	{ "binding", FK_SLUG, 0, 0, 16 },
	{ "server", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "inbound", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "category", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "brand", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "country", FK_TEXT, 0, 0, 2 },
	{ "traffic_reset", FK_SLUG, 0, 0, 16 },
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

/* A declared optional field's value, "" when absent. */
static const char *
fget(struct request *r, const char *name)
{
	const char *v = form_get(r, name);

	return v != NULL ? v : "";
}

/*
 * The inbounds a binding selects (Q_APLAN_POOL): inbound > 0 is that
 * one inbound, else the pool of protocol narrowed by server, category
 * and country (0 or "": not narrowed).  With vm, each problem of each
 * inbound (inbound_warn.c) goes into its list "warnings" (inbound,
 * text).  Returns how many inbounds it selects.  Allocates in the
 * request's arena.
 */
static int64_t
binding_inbounds(struct request *r, struct vm *vm, const char *protocol, int64_t inbound,
    int64_t server, int64_t category, const char *country)
{
	struct stmt *st = db_q(r->db, Q_APLAN_POOL);
	struct vm *it;
	unsigned w, bit;
	int64_t	 n = 0;

	db_bind_text(r->db, st, ":protocol", protocol);
	bind_opt(r, st, ":inbound", inbound);
	bind_opt(r, st, ":server", server);
	bind_opt(r, st, ":category", category);
	db_bind_text(r->db, st, ":country", country != NULL && *country ? country : NULL);
	while (db_step(r->db, st) == DB_ROW) {
		n++;
		if (vm == NULL)
			continue;
		w = inbound_warnings(db_text(r->db, st, 1), db_text(r->db, st, 2), db_text(r->db, st, 3),
		    db_text(r->db, st, 4), db_text(r->db, st, 5));
		for (bit = 1; w != 0 && bit <= w; bit <<= 1) {
			if ((w & bit) == 0)
				continue;
			it = vm_push(vm, "warnings");
			vm_setf(it, "inbound", "%s #%lld %s", db_text(r->db, st, 7),
			    (long long)db_int(st, 8), db_text(r->db, st, 6));
			vm_set(it, "text", inbound_warn_text(bit));
		}
	}
	db_reset(st);
	return n;
}

static int64_t
plan_inbounds(struct request *r, struct vm *vm, const struct plan *p)
{
	return binding_inbounds(r, vm, p->protocol, strcmp(p->binding, "inbound") == 0 ? p->inbound : 0,
	    p->server, p->category, p->country);
}

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
	if (!opt_id(form_get(r, "category"), &p->category) ||
	    (p->category > 0 && !exists(r, Q_ACAT_CATEGORY_GET, p->category)))
		return "Choose one of the categories, or none.";
	if (!opt_id(form_get(r, "brand"), &p->brand) ||
	    (p->brand > 0 && !exists(r, Q_ACAT_BRAND_GET, p->brand)))
		return "Choose one of the brands, or none.";
	if (!opt_id(form_get(r, "server"), &p->server) ||
	    (p->server > 0 && !exists(r, Q_ACAT_SERVER_NAME, p->server)))
		return "Choose one of the servers.";
	if (!opt_id(form_get(r, "inbound"), &p->inbound))
		return "Choose one of the inbounds, or none.";
	s = fget(r, "country");
	if (*s != '\0') {
		if (strlen(s) != 2 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]))
			return "The country is a two-letter code such as DE, or none.";
		p->country = arena_printf(r->a, "%c%c", toupper((unsigned char)s[0]),
		    toupper((unsigned char)s[1]));
	} else
		p->country = "";
	s = fget(r, "traffic_reset");
	p->reset = *s == '\0' || strcmp(s, "never") == 0 ? "never" :
	    strcmp(s, "monthly") == 0 ? "monthly" : NULL;
	if (p->reset == NULL)
		return "The traffic reset is never or monthly.";
	/* No binding field (a form of before pools): an inbound named is
	 * the inbound binding, else the pool. */
	s = fget(r, "binding");
	if (*s == '\0')
		s = p->inbound > 0 ? "inbound" : "pool";
	if (strcmp(s, "inbound") == 0) {
		int	 ok = 0;

		p->binding = "inbound";
		if (p->inbound == 0)
			return "Choose the plan's inbound, or bind it to a location pool.";
		st = db_q(r->db, Q_ACAT_INBOUND_GET);
		db_bind_int(r->db, st, ":id", p->inbound);
		if (db_step(r->db, st) == DB_ROW) {
			ok = p->server > 0 && db_int(st, 0) != p->server ? -1 :
			    strcmp(db_text(r->db, st, 1), p->protocol) != 0 ? -2 : 1;
			if (ok == 1)
				p->server = db_int(st, 0);
		}
		db_reset(st);
		if (ok == 0)
			return "Choose one of the inbounds, or none.";
		if (ok == -1)
			return "That inbound is on another server: choose one of the plan's server, or none.";
		if (ok == -2)
			return "That inbound serves another protocol than the plan's.";
		/* The plan's country is its server's (the catalog filters on it). */
		p->country = "";
	} else if (strcmp(s, "pool") == 0) {
		p->binding = "pool";
		p->inbound = 0;
		if (p->server == 0 && p->category == 0 && *p->country == '\0')
			return "A location pool names at least a server, a category or a country.";
		/* A pool that holds nothing sells orders that can never be
		 * placed. */
		if (plan_inbounds(r, NULL, p) == 0)
			return arena_printf(r->a, "This location pool has no active inbound serving %s: "
			    "placement could never put a client there. Sync the panels' inbounds or widen "
			    "the pool.", p->protocol);
	} else
		return "Bind the plan to one inbound or to a location pool.";
	/* The shop's one currency, as checkout enforces it: a plan in
	 * another could be shown but never sold. */
	p->currency = form_get(r, "currency");
	shop = catalog_shop_currency(r);
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
	if (!valid_int(form_get(r, "sort"), -CATALOG_SORT_LIMIT, CATALOG_SORT_LIMIT, &p->sort))
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
	bind_opt(r, st, ":server", p->server);
	bind_opt(r, st, ":inbound", p->inbound);
	db_bind_text(r->db, st, ":country", *p->country ? p->country : NULL);
	db_bind_text(r->db, st, ":traffic_reset", p->reset);
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
	return v > 0 ? catalog_int(r, v) : "none";
}

/* The audit text of every field that differs between a and b (a NULL:
 * a new plan, every field "none" before). */
static const char *
plan_diff(struct request *r, const struct plan *a, const struct plan *b)
{
	const char *d = "";

#define BEFORE(x)	(a != NULL ? (x) : "none")
	catalog_diff(r, &d, "slug", BEFORE(catalog_quote(r, a->slug)), catalog_quote(r, b->slug));
	catalog_diff(r, &d, "name", BEFORE(catalog_quote(r, a->name)), catalog_quote(r, b->name));
	catalog_diff(r, &d, "description", BEFORE(catalog_quote(r, a->description)),
	    catalog_quote(r, b->description));
	catalog_diff(r, &d, "protocol", BEFORE(a->protocol), b->protocol);
	catalog_diff(r, &d, "binding", BEFORE(a->binding), b->binding);
	catalog_diff(r, &d, "server", BEFORE(opt_text(r, a->server)), opt_text(r, b->server));
	catalog_diff(r, &d, "inbound", BEFORE(opt_text(r, a->inbound)), opt_text(r, b->inbound));
	catalog_diff(r, &d, "category", BEFORE(opt_text(r, a->category)), opt_text(r, b->category));
	catalog_diff(r, &d, "brand", BEFORE(opt_text(r, a->brand)), opt_text(r, b->brand));
	catalog_diff(r, &d, "country", BEFORE(*a->country ? a->country : "none"), *b->country ? b->country : "none");
	catalog_diff(r, &d, "traffic_reset", BEFORE(a->reset), b->reset);
	catalog_diff(r, &d, "price", BEFORE(money_str(r->a, a->price, a->currency)),
	    money_str(r->a, b->price, b->currency));
	catalog_diff(r, &d, "duration_days", BEFORE(catalog_int(r, a->days)), catalog_int(r, b->days));
	catalog_diff(r, &d, "traffic_bytes", BEFORE(catalog_int(r, a->traffic)), catalog_int(r, b->traffic));
	catalog_diff(r, &d, "device_limit", BEFORE(catalog_int(r, a->devices)), catalog_int(r, b->devices));
	catalog_diff(r, &d, "featured", BEFORE(catalog_int(r, a->featured)), catalog_int(r, b->featured));
	catalog_diff(r, &d, "active", BEFORE(catalog_int(r, a->active)), catalog_int(r, b->active));
	catalog_diff(r, &d, "stock", BEFORE(a->stock < 0 ? "unlimited" : catalog_int(r, a->stock)),
	    b->stock < 0 ? "unlimited" : catalog_int(r, b->stock));
	catalog_diff(r, &d, "sort", BEFORE(catalog_int(r, a->sort)), catalog_int(r, b->sort));
#undef BEFORE
	return d;
}

/* The select lists of the plan form, with sel_* (as text) selected. */
static void
plan_options(struct request *r, struct vm *vm, const char *sel_proto, const char *sel_server,
    const char *sel_inbound, const char *sel_cat, const char *sel_brand, const char *sel_country,
    const char *sel_reset, const char *sel_binding)
{
	static const char *const resets[] = { "never", "monthly" };
	int	 any;
	struct stmt *st;
	struct vm *it;
	const char *id;
	size_t	 i;

	if (sel_country == NULL)
		sel_country = "";
	if (sel_reset == NULL || *sel_reset == '\0')
		sel_reset = "never";
	if (sel_binding == NULL || *sel_binding == '\0')
		sel_binding = sel_inbound != NULL && *sel_inbound ? "inbound" : "pool";
	if (sel_server == NULL)
		sel_server = "";
	vm_set_bool(vm, "bind_inbound", strcmp(sel_binding, "inbound") == 0);
	vm_set_bool(vm, "bind_pool", strcmp(sel_binding, "inbound") != 0);
	vm_set_bool(vm, "no_server", *sel_server == '\0');
	vm_set_bool(vm, "no_country", *sel_country == '\0');
	for (i = 0; i < NELEM(resets); i++) {
		it = vm_push(vm, "resets");
		vm_set(it, "value", resets[i]);
		vm_set_bool(it, "selected", strcmp(sel_reset, resets[i]) == 0);
	}
	any = 0;
	st = db_q(r->db, Q_APLAN_COUNTRIES);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "countries");
		vm_set(it, "value", db_text(r->db, st, 0));
		vm_setf(it, "label", "%s (%s)", db_text(r->db, st, 1), db_text(r->db, st, 0));
		if (strcasecmp(sel_country, db_text(r->db, st, 0)) == 0) {
			vm_set_bool(it, "selected", 1);
			any = 1;
		}
	}
	db_reset(st);
	/* A country no server is in (yet): kept, so a save does not drop it. */
	if (*sel_country != '\0' && !any) {
		it = vm_push(vm, "countries");
		vm_set(it, "value", sel_country);
		vm_set(it, "label", sel_country);
		vm_set_bool(it, "selected", 1);
	}
	for (i = 0; i < NELEM(protocols); i++) {
		it = vm_push(vm, "protocols");
		vm_set(it, "value", protocols[i]);
		vm_set(it, "label", protocols[i]);
		vm_set_bool(it, "selected", strcmp(sel_proto, protocols[i]) == 0);
	}
	st = db_q(r->db, Q_ACAT_SERVERS);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "servers");
		id = catalog_int(r, db_int(st, 0));
		vm_set(it, "value", id);
		vm_setf(it, "label", "%s (%s, %s)", db_text(r->db, st, 1), db_text(r->db, st, 2),
		    db_text(r->db, st, 3));
		vm_set_bool(it, "selected", strcmp(sel_server, id) == 0);
	}
	db_reset(st);
	st = db_q(r->db, Q_ACAT_INBOUNDS);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "inbounds");
		id = catalog_int(r, db_int(st, 0));
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
		id = catalog_int(r, db_int(st, 0));
		vm_set(it, "value", id);
		vm_setf(it, "label", "%s%s", db_text(r->db, st, 2), db_int(st, 5) ? "" : " (inactive)");
		vm_set_bool(it, "selected", strcmp(sel_cat, id) == 0);
	}
	db_reset(st);
	st = db_q(r->db, Q_ACAT_BRANDS);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "brands");
		id = catalog_int(r, db_int(st, 0));
		vm_set(it, "value", id);
		vm_setf(it, "label", "%s%s", db_text(r->db, st, 2), db_int(st, 5) ? "" : " (inactive)");
		vm_set_bool(it, "selected", strcmp(sel_brand, id) == 0);
	}
	db_reset(st);
}

static const char *
opt_id_text(struct request *r, int64_t v)
{
	return v > 0 ? catalog_int(r, v) : "";
}

/*
 * The binding's facts on the form, from stored or typed values (text;
 * a value that does not parse shows nothing): for a pool, how many
 * active inbounds it holds ("pool_info"); for either, the warnings of
 * its inbounds.
 */
static void
binding_vm(struct request *r, struct vm *vm, const char *proto, const char *binding,
    const char *inbound, const char *server, const char *category, const char *country)
{
	int64_t	 ib = 0, sv = 0, cat = 0, n;
	int	 pool;
	size_t	 i;

	for (i = 0; i < NELEM(protocols); i++)
		if (proto != NULL && strcmp(proto, protocols[i]) == 0)
			break;
	if (i == NELEM(protocols) || !opt_id(inbound ? inbound : "", &ib) ||
	    !opt_id(server ? server : "", &sv) || !opt_id(category ? category : "", &cat))
		return;
	if (binding == NULL || *binding == '\0')
		binding = ib > 0 ? "inbound" : "pool";
	pool = strcmp(binding, "inbound") != 0;
	if (pool)
		ib = 0;
	else if (ib == 0)
		return;
	if (pool && sv == 0 && cat == 0 && (country == NULL || *country == '\0'))
		return;
	if (pool && country != NULL && strlen(country) == 2)
		country = arena_printf(r->a, "%c%c", toupper((unsigned char)country[0]),
		    toupper((unsigned char)country[1]));
	n = binding_inbounds(r, vm, protocols[i], ib, sv, cat, pool ? country : NULL);
	if (pool)
		vm_set(vm, "pool_info", arena_printf(r->a, "This pool holds %lld active %s inbound%s.",
		    (long long)n, protocols[i], n == 1 ? "" : "s"));
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
	const char *shop = catalog_shop_currency(r);
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
		    form_get(r, "category"), form_get(r, "brand"), form_get(r, "country"),
		    form_get(r, "traffic_reset"), form_get(r, "binding"));
		binding_vm(r, vm, proto, form_get(r, "binding"), form_get(r, "inbound"),
		    form_get(r, "server"), form_get(r, "category"), form_get(r, "country"));
	} else if (id) {
		vm_set(vm, "f_slug", p.slug);
		vm_set(vm, "f_name", p.name);
		vm_set(vm, "f_description", p.description);
		vm_set(vm, "f_currency", p.currency);
		vm_set(vm, "f_price", amount_text(r, p.price, p.currency));
		vm_set(vm, "f_duration_days", catalog_int(r, p.days));
		vm_set(vm, "f_traffic_gb", catalog_int(r, p.traffic / GIB));
		vm_set(vm, "f_device_limit", catalog_int(r, p.devices));
		vm_set(vm, "f_stock", p.stock < 0 ? "" : catalog_int(r, p.stock));
		vm_set(vm, "f_sort", catalog_int(r, p.sort));
		vm_set_bool(vm, "f_featured", p.featured);
		vm_set_bool(vm, "f_active", p.active);
		if (*shop && strcmp(shop, p.currency) != 0)
			vm_set(vm, "warning", arena_printf(r->a, "This plan is priced in %s, not in the "
			    "shop's %s, so checkout refuses it: saving asks for a price in %s.",
			    p.currency, shop, shop));
		plan_options(r, vm, p.protocol, opt_id_text(r, p.server), opt_id_text(r, p.inbound),
		    opt_id_text(r, p.category), opt_id_text(r, p.brand), p.country, p.reset, p.binding);
		binding_vm(r, vm, p.protocol, p.binding, opt_id_text(r, p.inbound), opt_id_text(r, p.server),
		    opt_id_text(r, p.category), p.country);
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
		vm_set(vm, "f_sort", catalog_int(r, last < CATALOG_SORT_LIMIT - 10 ? last + 10 : last));
		vm_set_bool(vm, "f_featured", 0);
		vm_set_bool(vm, "f_active", 1);
		plan_options(r, vm, proto, "", "", "", "", "", "never", "inbound");
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
	const char *shop = catalog_shop_currency(r);
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
		vm_set(it, "stock", db_is_null(st, 7) ? "unlimited" : catalog_int(r, db_int(st, 7)));
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
		/* Where its clients go, and what real clients will not use
		 * there (inbound_warn.c). */
		{
			int64_t	 ib = db_int(st, 16), sv = db_int(st, 17), cat = db_int(st, 18), k;
			const char *cc = db_text(r->db, st, 19);

			if (ib > 0)
				vm_setf(it, "binding", "%s, inbound %lld", db_text(r->db, st, 9), (long long)ib);
			else
				vm_setf(it, "binding", "pool:%s%s%s%s%s%s", sv ? " server " : "", sv ? db_text(r->db, st, 9) : "",
				    cat ? " category " : "", cat ? db_text(r->db, st, 14) : "", *cc ? " country " : "", cc);
			vm_set_bool(it, "monthly", strcmp(db_text(r->db, st, 20), "monthly") == 0);
			k = binding_inbounds(r, it, db_text(r->db, st, 8), ib, ib > 0 ? 0 : sv, ib > 0 ? 0 : cat,
			    ib > 0 ? NULL : cc);
			vm_set_bool(it, "empty_pool", ib == 0 && k == 0);
		}
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	vm_set(vm, "shop_currency", *shop ? shop : "not set");
	if (error != NULL)
		vm_set(vm, "error", error);
	catalog_notice(r, vm);
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
	if (catalog_slug_taken(r, Q_ACAT_PLAN_SLUG_TAKEN, p.slug, 0)) {
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
	if (catalog_slug_taken(r, Q_ACAT_PLAN_SLUG_TAKEN, p.slug, id)) {
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
		    "%s: active: %d -> %d", catalog_quote(r, p.slug), !active, active);
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

/* POST /admin/plans/{id:int}/move — direction (up|down), csrf.  303;
 * 400; 404. */
void
admin_plan_move_post(struct request *r)
{
	catalog_move(r, Q_ACAT_PLAN_ORDER, Q_ACAT_PLAN_SET_SORT, "plan.moved",
	    plan_target(r, req_param_int(r, "id")), "/admin/plans");
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
		    p.name, catalog_count(r, orders, "order", "orders")));
		return;
	}
	if (carts > 0 || coupons > 0) {
		db_rollback(r->db);
		plans_page(r, 409, arena_printf(r->a, "\"%s\" is in %s and named by %s, so it cannot "
		    "be deleted. Deactivate it instead. Nothing was deleted.", p.name,
		    catalog_count(r, carts, "cart", "carts"), catalog_count(r, coupons, "coupon", "coupons")));
		return;
	}
	st = db_q(r->db, Q_ACAT_PLAN_DELETE);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, "plan.deleted", plan_target(r, id), "deleted: %s; name: %s; price: %s; active: %d",
	    catalog_quote(r, p.slug), catalog_quote(r, p.name), money_str(r->a, p.price, p.currency), p.active);
	db_commit(r->db);
	plans_done(r, "deleted");
}
