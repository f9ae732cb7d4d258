/*
 * page_home.c: the home page (/) and /robots.txt.
 */
#include "config.h"

#include "cache.h"
#include "catalog.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "privacy.h"
#include "response.h"
#include "ui.h"
#include "view.h"

/* GET / — featured plans and the locations we sell.  Never fails but on a database error (500). */
void
page_home(struct request *r)
{
	struct vm *vm = page_vm(r, "Fast, private proxies");
	struct stmt *st = db_q(r->db, Q_PLANS_FEATURED);

	while (db_step(r->db, st) == DB_ROW)
		plan_fill(r, vm_push(vm, "featured"), st);
	st = db_q(r->db, Q_LOCATIONS);
	while (db_step(r->db, st) == DB_ROW) {
		struct vm *it = vm_push(vm, "locations");

		vm_set(it, "country_code", db_text(r->db, st, 0));
		vm_set(it, "country", db_text(r->db, st, 1));
		vm_set(it, "city", db_text(r->db, st, 2));
		vm_set_int(it, "plans", db_int(st, 3));
	}
	cache_allow(r);
	page_render(r, "pages/home", vm);
}

/* GET /robots.txt — everything public may be indexed; accounts and admin not. */
void
page_robots(struct request *r)
{
	r->resp_ctype = "text/plain; charset=utf-8";
	resp_header(r, "Cache-Control", "public, max-age=86400");
	buf_puts(r->out, "User-agent: *\nDisallow: /admin\nDisallow: /account\n"
	    "Disallow: /api/\nDisallow: /login\nDisallow: /register\nAllow: /\n");
}

/* GET /terms — the terms of service (views/pages/terms.html). */
void
page_terms(struct request *r)
{
	struct vm *vm = page_vm(r, "Terms of service");

	/* The privacy section states the retention in force (privacy.c). */
	privacy_fill(r, vm);
	page_render(r, "pages/terms", vm);
}
