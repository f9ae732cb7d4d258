/*
 * admin_taxonomy.c: the staff's server categories and brands panels
 * (plans.write; the rules the catalogue panels share are in
 * admin_catalog.c).  One shape, two tables, one table of statements
 * each (struct taxo).
 *
 *   GET  /admin/categories                     the list and the create form
 *   POST /admin/categories                     create
 *   GET  /admin/categories/{id:int}            the edit form
 *   POST /admin/categories/{id:int}            save
 *   POST /admin/categories/{id:int}/activate   shown in the catalog's filter
 *   POST /admin/categories/{id:int}/deactivate not shown there
 *   POST /admin/categories/{id:int}/move       direction=up|down
 *   POST /admin/categories/{id:int}/delete     only while nothing names it
 * and the same eight under /admin/brands.
 *
 * A category or brand that a plan, a server or (categories) a coupon
 * names is not deleted: a 409 says what holds it.
 */
#include "config.h"

#include <string.h>

#include "admin_catalog.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define TAXO_DESC_MAX	500

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
	{ "slug", FK_SLUG, FIELD_REQUIRED, 0, CATALOG_SLUG_MAX },
	{ "name", FK_TEXT, FIELD_REQUIRED, 0, CATALOG_NAME_MAX },
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
	if (!valid_int(form_get(r, "sort"), -CATALOG_SORT_LIMIT, CATALOG_SORT_LIMIT, &t->sort))
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
	catalog_diff(r, &d, "slug", BEFORE(catalog_quote(r, a->slug)), catalog_quote(r, b->slug));
	catalog_diff(r, &d, "name", BEFORE(catalog_quote(r, a->name)), catalog_quote(r, b->name));
	catalog_diff(r, &d, "description", BEFORE(catalog_quote(r, a->description)),
	    catalog_quote(r, b->description));
	catalog_diff(r, &d, "sort", BEFORE(catalog_int(r, a->sort)), catalog_int(r, b->sort));
	catalog_diff(r, &d, "active", BEFORE(catalog_int(r, a->active)), catalog_int(r, b->active));
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
		vm_set(vm, "f_sort", catalog_int(r, t.sort));
		vm_set_bool(vm, "f_active", t.active);
	} else {
		vm_set(vm, "f_slug", "");
		vm_set(vm, "f_name", "");
		vm_set(vm, "f_description", "");
		vm_set(vm, "f_sort", catalog_int(r, last < CATALOG_SORT_LIMIT - 10 ? last + 10 : last));
		vm_set_bool(vm, "f_active", 1);
	}
	if (error != NULL)
		vm_set(vm, "error", error);
	catalog_notice(r, vm);
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
	if (catalog_slug_taken(r, x->taken, t.slug, 0)) {
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
	if (catalog_slug_taken(r, x->taken, t.slug, id)) {
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
		    term_target(r, x, id), "%s: active: %d -> %d", catalog_quote(r, t.slug), !active, active);
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
		    x->one, t.name, catalog_count(r, plans, "plan", "plans"),
		    catalog_count(r, servers, "server", "servers"),
		    catalog_count(r, coupons, "coupon", "coupons"), x->one), 0);
		return;
	}
	st = db_q(r->db, x->del);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, term_action(r, x, "deleted"), term_target(r, x, id), "deleted: %s; name: %s; active: %d",
	    catalog_quote(r, t.slug), catalog_quote(r, t.name), t.active);
	db_commit(r->db);
	taxo_done(r, x, "deleted");
}

static void
taxo_move(struct request *r, const struct taxo *x)
{
	catalog_move(r, x->order, x->set_sort, term_action(r, x, "moved"),
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
