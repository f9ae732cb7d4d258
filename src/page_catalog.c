/*
 * page_catalog.c: the public catalog (/plans) and the plan page
 * (/plans/{slug}).
 */
#include "config.h"

#include <string.h>

#include "cache.h"
#include "catalog.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "ui.h"
#include "view.h"

#define PAGE_SIZE 9

static const char *const protocols[] = { "vless", "vmess", "trojan", "shadowsocks" };

const char *
protocol_label(const char *p)
{
	if (strcmp(p, "vless") == 0) return "VLESS";
	if (strcmp(p, "vmess") == 0) return "VMess";
	if (strcmp(p, "trojan") == 0) return "Trojan";
	if (strcmp(p, "shadowsocks") == 0) return "Shadowsocks";
	return p;
}

/* Regional indicator symbols: "DE" -> the German flag emoji. */
static const char *
flag(struct request *r, const char *cc)
{
	unsigned char f[9];

	if (strlen(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z')
		return "";
	f[0] = 0xf0; f[1] = 0x9f; f[2] = 0x87; f[3] = (unsigned char)(0xa6 + cc[0] - 'A');
	f[4] = 0xf0; f[5] = 0x9f; f[6] = 0x87; f[7] = (unsigned char)(0xa6 + cc[1] - 'A');
	f[8] = 0;
	return arena_strdup(r->a, (const char *)f);
}

void
plan_fill(struct request *r, struct vm *m, struct stmt *st)
{
	struct buf b;
	int64_t	 days = db_int(st, 6);

	vm_set(m, "slug", db_text(r->db, st, 0));
	vm_set(m, "name", db_text(r->db, st, 1));
	vm_set(m, "description", db_text(r->db, st, 2));
	vm_set(m, "protocol", db_text(r->db, st, 3));
	vm_set(m, "protocol_label", protocol_label(db_text(r->db, st, 3)));
	buf_init(&b);
	money_format(&b, db_int(st, 4), db_text(r->db, st, 5));
	vm_set(m, "price", b.p);
	buf_reset(&b);
	buf_bytes(&b, db_int(st, 7));
	vm_set(m, "traffic", b.p);
	buf_free(&b);
	vm_set_bool(m, "unlimited", db_int(st, 7) == 0);
	if (days % 30 == 0)
		vm_setf(m, "duration", "%lld month%s", (long long)(days / 30), days == 30 ? "" : "s");
	else
		vm_setf(m, "duration", "%lld day%s", (long long)days, days == 1 ? "" : "s");
	vm_set_int(m, "devices", db_int(st, 8));
	vm_set(m, "country_code", db_text(r->db, st, 9));
	vm_set(m, "flag", flag(r, db_text(r->db, st, 9)));
	vm_set(m, "country", db_text(r->db, st, 10));
	vm_set(m, "city", db_text(r->db, st, 11));
	vm_set(m, "category", db_text(r->db, st, 12));
	vm_set(m, "brand", db_text(r->db, st, 13));
	vm_set_bool(m, "sold_out", !db_is_null(st, 14) && db_int(st, 14) <= 0);
}

/* A filter value from the query: NULL when absent, empty or not in the
 * allowed shape (so a hostile value simply filters nothing). */
static const char *
filter(struct request *r, const char *key, int upper)
{
	const char *v = req_query(r, key);
	size_t	 i, n;

	if (v == NULL || *v == '\0')
		return NULL;
	n = strlen(v);
	if (n > 64)
		req_fail(r, 400, "The %s filter is too long.", key);
	for (i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    (upper && c >= 'A' && c <= 'Z')))
			req_fail(r, 400, "The %s filter has characters it cannot have.", key);
	}
	return v;
}

static void
options(struct request *r, struct vm *vm, const char *list, enum q q, const char *cur)
{
	struct stmt *st = db_q(r->db, q);

	while (db_step(r->db, st) == DB_ROW) {
		struct vm *it = vm_push(vm, list);
		const char *slug = db_text(r->db, st, 0);

		vm_set(it, "value", slug);
		vm_set(it, "label", db_text(r->db, st, 1));
		vm_set_bool(it, "selected", cur && strcmp(cur, slug) == 0);
	}
}

/*
 * GET /plans — the catalog.
 * Query: category, brand, country (ISO code), protocol, sort
 * (price|price_desc|traffic|name), page (1..).  400 on a malformed filter
 * or page; an unknown sort falls back to price.
 */
void
page_plans(struct request *r)
{
	struct vm *vm = page_vm(r, "Plans");
	const char *cat = filter(r, "category", 0), *brand = filter(r, "brand", 0);
	const char *country = filter(r, "country", 1), *proto = filter(r, "protocol", 0);
	const char *sort = req_query(r, "sort"), *pg = req_query(r, "page");
	struct stmt *st;
	enum q	 q = Q_PLANS_PAGE_PRICE_ASC;
	int64_t	 page = 1, total, pages, shown = 0;
	size_t	 i;

	if (pg != NULL && *pg != '\0' && (parse_i64(pg, &page) != 0 || page < 1 || page > 100000))
		req_fail(r, 400, "The page number is not valid.");
	if (sort == NULL || *sort == '\0')
		sort = "price";
	if (strcmp(sort, "price_desc") == 0)
		q = Q_PLANS_PAGE_PRICE_DESC;
	else if (strcmp(sort, "traffic") == 0)
		q = Q_PLANS_PAGE_TRAFFIC_DESC;
	else if (strcmp(sort, "name") == 0)
		q = Q_PLANS_PAGE_NAME;
	else
		sort = "price";

	st = db_q(r->db, Q_PLANS_COUNT);
	db_bind_text(r->db, st, ":category", cat);
	db_bind_text(r->db, st, ":brand", brand);
	db_bind_text(r->db, st, ":country", country);
	db_bind_text(r->db, st, ":protocol", proto);
	total = db_one_int(r->db, st, 0);
	pages = total ? (total + PAGE_SIZE - 1) / PAGE_SIZE : 1;
	if (page > pages)
		page = pages;

	st = db_q(r->db, q);
	db_bind_text(r->db, st, ":category", cat);
	db_bind_text(r->db, st, ":brand", brand);
	db_bind_text(r->db, st, ":country", country);
	db_bind_text(r->db, st, ":protocol", proto);
	db_bind_int(r->db, st, ":limit", PAGE_SIZE);
	db_bind_int(r->db, st, ":offset", (page - 1) * PAGE_SIZE);
	while (db_step(r->db, st) == DB_ROW) {
		plan_fill(r, vm_push(vm, "plans"), st);
		shown++;
	}
	vm_set_int(vm, "total", total);
	vm_set_bool(vm, "empty", shown == 0);
	vm_set_bool(vm, "one", total == 1);

	options(r, vm, "categories", Q_CATEGORIES, cat);
	options(r, vm, "brands", Q_BRANDS, brand);
	st = db_q(r->db, Q_COUNTRIES);
	while (db_step(r->db, st) == DB_ROW) {
		const char *cc = db_text(r->db, st, 0);
		struct vm *it = vm_push(vm, "countries");

		vm_set(it, "value", cc);
		vm_setf(it, "label", "%s %s", flag(r, cc), db_text(r->db, st, 1));
		vm_set_bool(it, "selected", country && strcmp(country, cc) == 0);
	}
	for (i = 0; i < NELEM(protocols); i++) {
		struct vm *it = vm_push(vm, "protocols");

		vm_set(it, "value", protocols[i]);
		vm_set(it, "label", protocol_label(protocols[i]));
		vm_set_bool(it, "selected", proto && strcmp(proto, protocols[i]) == 0);
	}
	{
		static const char *const sorts[][2] = {
			{ "price", "Price: low to high" }, { "price_desc", "Price: high to low" },
			{ "traffic", "Most traffic" }, { "name", "Name" },
		};
		for (i = 0; i < NELEM(sorts); i++) {
			struct vm *it = vm_push(vm, "sorts");

			vm_set(it, "value", sorts[i][0]);
			vm_set(it, "label", sorts[i][1]);
			vm_set_bool(it, "selected", strcmp(sort, sorts[i][0]) == 0);
		}
	}
	/* Pagination keeps the filters. */
	vm_set(vm, "f_category", cat ? cat : "");
	vm_set(vm, "f_brand", brand ? brand : "");
	vm_set(vm, "f_country", country ? country : "");
	vm_set(vm, "f_protocol", proto ? proto : "");
	vm_set(vm, "f_sort", sort);
	vm_set_int(vm, "pages", pages);
	vm_set_bool(vm, "paginate", pages > 1);
	cache_allow(r);
	ui_pager(vm, page, page < pages);
	page_render(r, "pages/plans", vm);
}

/*
 * GET /plans/{slug} — one plan.  404 when no active plan has that slug.
 */
void
page_plan(struct request *r)
{
	struct stmt *st = db_q(r->db, Q_PLAN_BY_SLUG);
	struct vm *vm;

	db_bind_text(r->db, st, ":slug", req_param(r, "slug"));
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such plan. It may have been retired.");
	vm = page_vm(r, db_text(r->db, st, 1));
	plan_fill(r, vm_push(vm, "plan"), st);
	/* Its add-to-cart form is a GET to /cart/add, which carries the
	 * CSRF token: a page with a token is never cached (cache.c, rule
	 * 2), and this one is. */
	cache_allow(r);
	page_render(r, "pages/plan", vm);
}
