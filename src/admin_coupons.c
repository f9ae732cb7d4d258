/*
 * admin_coupons.c: staff's coupons (issue 11, "Coupons").
 *
 *   GET  /admin/coupons                   (plans.write) every coupon with
 *                                         its figures, 50 a page
 *   GET  /admin/coupons/new               (plans.write) the empty form
 *   POST /admin/coupons/new               (plans.write) create
 *   GET  /admin/coupons/{id}              (plans.write) the form filled
 *   POST /admin/coupons/{id}              (plans.write) save
 *   POST /admin/coupons/{id}/activate     (plans.write)
 *   POST /admin/coupons/{id}/deactivate   (plans.write)
 *
 * Every field of the coupons table (sql/009_commerce.sql) goes through
 * the shared validators: the code (valid_coupon_code), a percent of
 * 1..100 or a fixed amount typed in the shop's currency (money_parse),
 * the scope and its target (a plan or a category that exists), the
 * first and last day (UTC dates; the coupon works up to the end of the
 * last day: ends_at is the next midnight), the limits, the minimum
 * order (money), the first-order flag and a note.  A bad field is a 400
 * with the form as typed and nothing written.
 *
 * There is no delete: a coupon that was used is history (its
 * redemptions point at it), and one that was not is as well out of the
 * way deactivated.  The figures count the redemptions not released (a
 * cancelled order gave its use back: coupon_release) and the discount
 * they gave; released ones are shown apart.  Every change writes one
 * audit row through req_audit.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "setting.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

#define COUPONS_PAGE		50
#define COUPONS_MAX_PAGE	100000
/* The largest use limit the form takes (a limit, not a count). */
#define COUPON_LIMIT_MAX	1000000000

/* A coupon as the form gives it; -1 is NULL for the optional numbers. */
struct cform {
	const char	*code, *kind, *scope, *note, *currency;
	int64_t		 percent, amount, plan, category, starts, ends;
	int64_t		 max_uses, max_cust, min_order;
	int		 first;
};

/* The shop's currency (settings, admin_settings.c), USD while unset:
 * fixed amounts and minimums are typed and kept in it. */
static const char *
shop_currency(struct request *r)
{
	const char *v = setting_text(r->db, "shop.currency", "");

	return money_known(v) ? v : "USD";
}

/* minor units as the form shows them, "12.50", "1250" (JPY): money.c's
 * plain form, in the request's arena. */
static const char *
amount_text(struct request *r, int64_t minor, const char *currency)
{
	struct buf b;
	const char *s;

	buf_init(&b);
	money_plain(&b, minor, currency);
	s = arena_strdup(r->a, b.p);
	buf_free(&b);
	return s;
}

/* A unix time as its UTC date "YYYY-MM-DD" (arena). */
static const char *
date_of(struct request *r, int64_t t)
{
	char	 b[32];

	time_human(b, t);
	b[10] = '\0';
	return arena_strdup(r->a, b);
}

/* What a coupon gives, for the list and the audit: "10 %", "$5.00". */
static const char *
gives(struct request *r, const char *kind, int64_t percent, int64_t amount, const char *cur)
{
	if (strcmp(kind, "percent") == 0)
		return arena_printf(r->a, "%" PRId64 " %%", percent);
	return money_str(r->a, amount, cur);
}

/* The form's scope targets: plans and categories, the chosen one
 * selected. */
static void
targets(struct request *r, struct vm *vm, int64_t plan, int64_t category)
{
	struct stmt *st;
	struct vm *it;

	st = db_q(r->db, Q_ADMIN_COUPON_PLANS);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "plans");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "name", db_text(r->db, st, 1));
		vm_set_bool(it, "selected", db_int(st, 0) == plan);
	}
	st = db_q(r->db, Q_ADMIN_COUPON_CATEGORIES);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "categories");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "name", db_text(r->db, st, 1));
		vm_set_bool(it, "selected", db_int(st, 0) == category);
	}
}

/* A posted field, "" when absent (the form shows it back as typed). */
static const char *
posted(struct request *r, const char *name)
{
	const char *v = form_get(r, name);

	return v != NULL ? v : "";
}

/*
 * The coupon form.  id 0: a new coupon.  On a POST shown again (status
 * 400 or 409) the fields are what was typed; otherwise the row's.
 */
static void
coupon_form(struct request *r, int64_t id, int status, const char *error)
{
	struct vm *vm = page_vm(r, id ? "Edit coupon" : "New coupon");
	const char *cur = shop_currency(r), *kind = "percent", *scope = "global";
	static const char *const blank[] = { "f_code", "f_percent", "f_amount", "f_starts", "f_ends",
	    "f_max_uses", "f_max_cust", "f_min_order", "f_note" };
	int64_t	 plan = 0, category = 0;
	struct stmt *st;
	size_t	 i;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "currency", cur);
	vm_set(vm, "action", id ? arena_printf(r->a, "/admin/coupons/%" PRId64, id) : "/admin/coupons/new");
	vm_set_bool(vm, "editing", id != 0);
	vm_set_int(vm, "id", id);
	for (i = 0; i < NELEM(blank); i++)
		vm_set(vm, blank[i], "");
	if (r->method == M_POST && r->fields != NULL) {
		int64_t	 v;

		kind = posted(r, "kind");
		scope = posted(r, "scope");
		vm_set(vm, "f_code", posted(r, "code"));
		vm_set(vm, "f_percent", posted(r, "percent"));
		vm_set(vm, "f_amount", posted(r, "amount"));
		vm_set(vm, "f_starts", posted(r, "starts"));
		vm_set(vm, "f_ends", posted(r, "ends"));
		vm_set(vm, "f_max_uses", posted(r, "max_uses"));
		vm_set(vm, "f_max_cust", posted(r, "max_per_customer"));
		vm_set(vm, "f_min_order", posted(r, "min_order"));
		vm_set_bool(vm, "f_first", form_get(r, "first_order") != NULL);
		vm_set(vm, "f_note", posted(r, "note"));
		if (valid_int(posted(r, "plan"), 1, INT64_MAX, &v))
			plan = v;
		if (valid_int(posted(r, "category"), 1, INT64_MAX, &v))
			category = v;
		vm_set_bool(vm, "active", 1);
	} else if (id) {
		st = db_q(r->db, Q_ADMIN_COUPON_GET);
		db_bind_int(r->db, st, ":id", id);
		/* A refused (forged) POST shows this form again: for a coupon
		 * that does not exist that is the refusal, not a 404. */
		if (db_step(r->db, st) != DB_ROW)
			req_fail(r, r->redisplay ? 403 : 404, "%s", r->redisplay ? r->form_error :
			    "There is no such coupon.");
		vm_set(vm, "f_code", db_text(r->db, st, 1));
		kind = db_text(r->db, st, 2);
		vm_set(vm, "f_percent", db_is_null(st, 3) ? "" : arena_printf(r->a, "%" PRId64, db_int(st, 3)));
		vm_set(vm, "f_amount", db_is_null(st, 4) ? "" : amount_text(r, db_int(st, 4),
		    db_is_null(st, 5) ? cur : db_text(r->db, st, 5)));
		scope = db_text(r->db, st, 6);
		plan = db_is_null(st, 7) ? 0 : db_int(st, 7);
		category = db_is_null(st, 8) ? 0 : db_int(st, 8);
		vm_set(vm, "f_starts", db_is_null(st, 9) ? "" : date_of(r, db_int(st, 9)));
		/* ends_at is the midnight after the last day. */
		vm_set(vm, "f_ends", db_is_null(st, 10) ? "" : date_of(r, db_int(st, 10) - 86400));
		vm_set(vm, "f_max_uses", db_is_null(st, 11) ? "" : arena_printf(r->a, "%" PRId64, db_int(st, 11)));
		vm_set(vm, "f_max_cust", db_is_null(st, 12) ? "" : arena_printf(r->a, "%" PRId64, db_int(st, 12)));
		vm_set(vm, "f_min_order", db_int(st, 13) ? amount_text(r, db_int(st, 13), cur) : "");
		vm_set_bool(vm, "f_first", db_int(st, 14) == 1);
		vm_set_bool(vm, "active", db_int(st, 15) == 1);
		vm_set(vm, "f_note", db_text(r->db, st, 16));
		db_reset(st);
	} else
		vm_set_bool(vm, "active", 1);
	vm_set_bool(vm, "k_percent", strcmp(kind, "fixed") != 0);
	vm_set_bool(vm, "k_fixed", strcmp(kind, "fixed") == 0);
	vm_set_bool(vm, "s_global", strcmp(scope, "plan") != 0 && strcmp(scope, "category") != 0);
	vm_set_bool(vm, "s_plan", strcmp(scope, "plan") == 0);
	vm_set_bool(vm, "s_category", strcmp(scope, "category") == 0);
	targets(r, vm, plan, category);
	if (error != NULL)
		vm_set(vm, "error", error);
	if (req_query(r, "done") != NULL && strcmp(req_query(r, "done"), "saved") == 0)
		vm_set(vm, "notice", "The coupon is saved.");
	page_render(r, "pages/admin/coupon", vm);
	if (status)
		r->status = status;
}

/*
 * GET /admin/coupons — ?page, ?done (created, activated, deactivated).
 * Every coupon, the active first then newest, with what it gives, its
 * scope, dates, limits, its uses (unreleased redemptions) against its
 * maximum, the released uses and the discount given.  200.
 */
void
admin_coupons(struct request *r)
{
	struct vm *vm = page_vm(r, "Coupons"), *it;
	const char *ps = req_query(r, "page"), *done = req_query(r, "done");
	const char *cur = shop_currency(r);
	struct stmt *st;
	int64_t	 page = 1, n = 0, total;

	if (ps == NULL || !valid_int(ps, 1, COUPONS_MAX_PAGE, &page))
		page = 1;
	if (done != NULL && (strcmp(done, "activated") == 0 || strcmp(done, "deactivated") == 0 ||
	    strcmp(done, "created") == 0))
		vm_set(vm, "notice", arena_printf(r->a, "The coupon is %s.", done));
	total = db_one_int(r->db, db_q(r->db, Q_ADMIN_COUPON_COUNT), 0);
	st = db_q(r->db, Q_ADMIN_COUPONS);
	db_bind_int(r->db, st, ":limit", COUPONS_PAGE);
	db_bind_int(r->db, st, ":offset", (page - 1) * COUPONS_PAGE);
	while (db_step(r->db, st) == DB_ROW) {
		const char *scope = db_text(r->db, st, 6), *ccur;

		n++;
		it = vm_push(vm, "coupons");
		ccur = db_is_null(st, 5) ? cur : db_text(r->db, st, 5);
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "code", db_text(r->db, st, 1));
		vm_set(it, "gives", gives(r, db_text(r->db, st, 2), db_int(st, 3), db_int(st, 4), ccur));
		vm_set(it, "scope", strcmp(scope, "plan") == 0 ? arena_printf(r->a, "plan %s",
		    db_text(r->db, st, 7)) : strcmp(scope, "category") == 0 ? arena_printf(r->a,
		    "category %s", db_text(r->db, st, 8)) : "every plan");
		vm_set(it, "starts", db_is_null(st, 9) ? "" : date_of(r, db_int(st, 9)));
		vm_set(it, "ends", db_is_null(st, 10) ? "" : date_of(r, db_int(st, 10) - 86400));
		vm_set(it, "uses", db_is_null(st, 11) ? arena_printf(r->a, "%" PRId64, db_int(st, 16)) :
		    arena_printf(r->a, "%" PRId64 " / %" PRId64, db_int(st, 16), db_int(st, 11)));
		vm_set(it, "per_customer", db_is_null(st, 12) ? "" : arena_printf(r->a, "%" PRId64,
		    db_int(st, 12)));
		vm_set(it, "min_order", db_int(st, 13) ? money_str(r->a, db_int(st, 13), cur) : "");
		vm_set_bool(it, "first", db_int(st, 14) == 1);
		vm_set_bool(it, "active", db_int(st, 15) == 1);
		vm_set(it, "given", money_str(r->a, db_int(st, 17), cur));
		vm_set_int(it, "released", db_int(st, 18));
	}
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_bool(vm, "empty", n == 0);
	vm_set_bool(vm, "shown", n > 0);
	ui_pager(vm, page, page * COUPONS_PAGE < total);
	page_render(r, "pages/admin/coupons", vm);
}

/* GET /admin/coupons/new — the empty form.  200. */
void
admin_coupon_new(struct request *r)
{
	coupon_form(r, 0, 0, NULL);
}

/* GET /admin/coupons/{id} — ?done=saved.  200; 404. */
void
admin_coupon_edit(struct request *r)
{
	int64_t	 id;

	id = req_param_int(r, "id");
	coupon_form(r, id, 0, NULL);
}

static const struct field admin_coupon_fields[] = {
	{ "code", FK_TEXT, FIELD_REQUIRED, 0, 64 },
	{ "kind", FK_SLUG, FIELD_REQUIRED, 0, 16 },
	{ "percent", FK_TEXT, 0, 0, 16 },
	{ "amount", FK_TEXT, 0, 0, 32 },
	{ "scope", FK_SLUG, FIELD_REQUIRED, 0, 16 },
	{ "plan", FK_TEXT, 0, 0, 20 },
	{ "category", FK_TEXT, 0, 0, 20 },
	{ "starts", FK_TEXT, 0, 0, 16 },
	{ "ends", FK_TEXT, 0, 0, 16 },
	{ "max_uses", FK_TEXT, 0, 0, 16 },
	{ "max_per_customer", FK_TEXT, 0, 0, 16 },
	{ "min_order", FK_TEXT, 0, 0, 32 },
	{ "first_order", FK_FLAG, 0, 0, 0 },
	{ "note", FK_TEXT, 0, 0, 200 },
};
const struct form admin_coupon_form = { FORM(admin_coupon_fields) };

/* An optional limit: "" is none (-1); else 1..COUPON_LIMIT_MAX. */
static int
limit_of(const char *s, int64_t *out)
{
	*out = -1;
	return *s == '\0' || valid_int(s, 1, COUPON_LIMIT_MAX, out);
}

/* An optional date: "" is none (-1). */
static int
date_field(const char *s, int64_t *out)
{
	*out = -1;
	return *s == '\0' || valid_date(s, out) == 0;
}

/* Whether the row id that q counts exists (a plan, a category). */
static int
exists(struct request *r, enum q q, int64_t id)
{
	struct stmt *st = db_q(r->db, q);

	db_bind_int(r->db, st, ":id", id);
	return db_one_int(r->db, st, 0) == 1;
}

/*
 * Read and check the posted coupon into f.  NULL when every field is
 * good, else the sentence that says which is not.  Reads the database
 * (a plan's or category's existence) but writes nothing.
 */
static const char *
read_form(struct request *r, struct cform *f)
{
	const char *p;
	int64_t	 n;

	memset(f, 0, sizeof(*f));
	f->code = posted(r, "code");
	f->kind = posted(r, "kind");
	f->scope = posted(r, "scope");
	f->note = posted(r, "note");
	f->currency = shop_currency(r);
	f->first = form_get(r, "first_order") != NULL;
	f->percent = f->amount = f->plan = f->category = -1;
	if (!form_valid(r, "code") || !valid_coupon_code(f->code))
		return "The code is 3 to 32 letters, digits, dashes or underscores.";
	if (strcmp(f->kind, "percent") == 0) {
		if (!valid_int(posted(r, "percent"), 1, 100, &f->percent))
			return "A percent coupon takes a whole percentage from 1 to 100.";
	} else if (strcmp(f->kind, "fixed") == 0) {
		if (money_parse(posted(r, "amount"), f->currency, &f->amount) != MONEY_OK || f->amount <= 0)
			return arena_printf(r->a, "A fixed coupon takes an amount above zero in %s, "
			    "such as 5 or 4.99.", f->currency);
	} else
		return "The kind is percent or fixed.";
	if (strcmp(f->scope, "plan") == 0) {
		if (!valid_int(posted(r, "plan"), 1, INT64_MAX, &f->plan) ||
		    !exists(r, Q_ADMIN_PLAN_EXISTS, f->plan))
			return "Choose the plan the coupon is for.";
	} else if (strcmp(f->scope, "category") == 0) {
		if (!valid_int(posted(r, "category"), 1, INT64_MAX, &f->category) ||
		    !exists(r, Q_ADMIN_CATEGORY_EXISTS, f->category))
			return "Choose the category the coupon is for.";
	} else if (strcmp(f->scope, "global") != 0)
		return "The scope is every plan, one plan or one category.";
	if (!form_valid(r, "starts") || !date_field(posted(r, "starts"), &f->starts) ||
	    !form_valid(r, "ends") || !date_field(posted(r, "ends"), &f->ends))
		return "A date is written YYYY-MM-DD (UTC), or left empty.";
	/* The last day counts whole: the coupon ends at the next midnight. */
	if (f->ends >= 0)
		f->ends += 86400;
	if (f->starts >= 0 && f->ends >= 0 && f->starts >= f->ends)
		return "The last day cannot be before the first.";
	if (!form_valid(r, "max_uses") || !limit_of(posted(r, "max_uses"), &f->max_uses) ||
	    !form_valid(r, "max_per_customer") || !limit_of(posted(r, "max_per_customer"), &f->max_cust))
		return "A limit of uses is a whole number from 1 to 1000000000, or empty for none.";
	p = posted(r, "min_order");
	if (*p == '\0')
		f->min_order = 0;
	else if (money_parse(p, f->currency, &n) != MONEY_OK)
		return arena_printf(r->a, "The minimum order is an amount in %s, such as 20, or empty.",
		    f->currency);
	else
		f->min_order = n;
	if (!form_valid(r, "note"))
		return "The note is one line of at most 200 characters.";
	return NULL;
}

static void
bind_opt(struct request *r, struct stmt *st, const char *name, int64_t v)
{
	if (v < 0)
		db_bind_null(r->db, st, name);
	else
		db_bind_int(r->db, st, name, v);
}

/* Bind f to the insert's or the update's names. */
static void
bind_form(struct request *r, struct stmt *st, const struct cform *f)
{
	db_bind_text(r->db, st, ":code", f->code);
	db_bind_text(r->db, st, ":kind", f->kind);
	bind_opt(r, st, ":percent", f->percent);
	bind_opt(r, st, ":amount", f->amount);
	if (f->amount >= 0)
		db_bind_text(r->db, st, ":currency", f->currency);
	else
		db_bind_null(r->db, st, ":currency");
	db_bind_text(r->db, st, ":scope", f->scope);
	bind_opt(r, st, ":plan", f->plan);
	bind_opt(r, st, ":category", f->category);
	bind_opt(r, st, ":starts", f->starts);
	bind_opt(r, st, ":ends", f->ends);
	bind_opt(r, st, ":max_uses", f->max_uses);
	bind_opt(r, st, ":max_cust", f->max_cust);
	db_bind_int(r->db, st, ":min_order", f->min_order);
	db_bind_int(r->db, st, ":first", f->first);
	db_bind_text(r->db, st, ":note", f->note);
}

/* The audit's one-line picture of a coupon. */
static const char *
describe(struct request *r, const struct cform *f)
{
	return arena_printf(r->a, "%s: %s, scope %s%s, from %s to %s, max %s, per customer %s, "
	    "minimum %" PRId64 ", first order only %s", f->code,
	    gives(r, f->kind, f->percent, f->amount, f->currency), f->scope,
	    f->plan > 0 ? arena_printf(r->a, " plan:%" PRId64, f->plan) :
	    f->category > 0 ? arena_printf(r->a, " category:%" PRId64, f->category) : "",
	    f->starts >= 0 ? date_of(r, f->starts) : "-", f->ends >= 0 ? date_of(r, f->ends - 86400) : "-",
	    f->max_uses >= 0 ? arena_printf(r->a, "%" PRId64, f->max_uses) : "none",
	    f->max_cust >= 0 ? arena_printf(r->a, "%" PRId64, f->max_cust) : "none",
	    f->min_order, f->first ? "yes" : "no");
}

/* Whether another coupon than id holds code (case-blind). */
static int
code_taken(struct request *r, const char *code, int64_t id)
{
	struct stmt *st = db_q(r->db, Q_ADMIN_COUPON_CODE_TAKEN);

	db_bind_text(r->db, st, ":code", code);
	db_bind_int(r->db, st, ":id", id);
	return db_one_int(r->db, st, 0) > 0;
}

/*
 * POST /admin/coupons/new — code, kind (percent|fixed), percent,
 * amount, scope (global|plan|category), plan, category, starts, ends
 * (YYYY-MM-DD), max_uses, max_per_customer, min_order, first_order,
 * note, csrf.  Creates the coupon (active) with an audit row.  303 to
 * /admin/coupons?done=created; 400 with the form as typed for a bad
 * field; 409 for a code another coupon has; nothing written for either.
 */
void
admin_coupon_create_post(struct request *r)
{
	struct cform f;
	const char *bad = read_form(r, &f);
	struct stmt *st;
	int64_t	 id;

	if (bad != NULL) {
		coupon_form(r, 0, 400, bad);
		return;
	}
	db_begin(r->db);
	if (code_taken(r, f.code, 0)) {
		db_rollback(r->db);
		coupon_form(r, 0, 409, "Another coupon has this code (codes compare without case).");
		return;
	}
	st = db_q(r->db, Q_ADMIN_COUPON_INSERT);
	bind_form(r, st, &f);
	if (db_step(r->db, st) != DB_ROW)
		db_fail(r->db, "coupon insert returned no row");
	id = db_int(st, 0);
	db_reset(st);
	req_audit(r, "coupon.created", arena_printf(r->a, "coupon:%" PRId64, id), "%s", describe(r, &f));
	db_commit(r->db);
	resp_redirect(r, 303, "/admin/coupons?done=created");
}

/*
 * POST /admin/coupons/{id} — the fields of the create form: saves them
 * with an audit row of before and after.  Redemptions already made keep
 * the discount they gave; the checks from now on read the new rules.
 * 303 to the form with ?done=saved; 400 with the form as typed for a
 * bad field; 409 for a code another coupon has; 404 for no such coupon.
 */
void
admin_coupon_edit_post(struct request *r)
{
	struct cform f;
	const char *bad, *before;
	struct stmt *st;
	int64_t	 id;

	id = req_param_int(r, "id");
	if ((bad = read_form(r, &f)) != NULL) {
		coupon_form(r, id, 400, bad);
		return;
	}
	db_begin(r->db);
	st = db_q(r->db, Q_ADMIN_COUPON_GET);
	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such coupon.");
	}
	before = arena_printf(r->a, "%s: %s, scope %s, %s", db_text(r->db, st, 1), gives(r,
	    db_text(r->db, st, 2), db_int(st, 3), db_int(st, 4), db_is_null(st, 5) ? f.currency :
	    db_text(r->db, st, 5)), db_text(r->db, st, 6), db_int(st, 15) ? "active" : "inactive");
	db_reset(st);
	if (code_taken(r, f.code, id)) {
		db_rollback(r->db);
		coupon_form(r, id, 409, "Another coupon has this code (codes compare without case).");
		return;
	}
	st = db_q(r->db, Q_ADMIN_COUPON_UPDATE);
	bind_form(r, st, &f);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, "coupon.changed", arena_printf(r->a, "coupon:%" PRId64, id), "was %s; now %s",
	    before, describe(r, &f));
	db_commit(r->db);
	resp_redirect(r, 303, arena_printf(r->a, "/admin/coupons/%" PRId64 "?done=saved", id));
}

/* Activate (on 1) or deactivate a coupon: one audit row when it
 * changed; 303 to the list; 404 for no such coupon. */
static void
set_active(struct request *r, int on)
{
	struct stmt *st;
	int64_t	 id;

	id = req_param_int(r, "id");
	db_begin(r->db);
	st = db_q(r->db, Q_ADMIN_COUPON_GET);
	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such coupon.");
	}
	db_reset(st);
	st = db_q(r->db, Q_ADMIN_COUPON_SET_ACTIVE);
	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":active", on);
	db_step(r->db, st);
	if (db_changes(r->db) > 0)
		req_audit(r, on ? "coupon.activated" : "coupon.deactivated",
		    arena_printf(r->a, "coupon:%" PRId64, id), "%s", on ? "active" : "inactive");
	db_commit(r->db);
	resp_redirect(r, 303, on ? "/admin/coupons?done=activated" : "/admin/coupons?done=deactivated");
}

/* POST /admin/coupons/{id}/activate — csrf.  303; 404. */
void
admin_coupon_activate_post(struct request *r)
{
	set_active(r, 1);
}

/* POST /admin/coupons/{id}/deactivate — csrf.  Checkout refuses the
 * code from now on (coupon_check: unknown); carts that hold it show
 * why.  303; 404. */
void
admin_coupon_deactivate_post(struct request *r)
{
	set_active(r, 0);
}
