/*
 * ui.c: the layout shared by every page.
 */
#include "config.h"

#include <string.h>

#include "http.h"
#include "session.h"
#include "ui.h"
#include "view.h"

struct vm *
page_vm(struct request *r, const char *title)
{
	struct vm *vm = vm_new(r->a);

	vm_set(vm, "site_name", r->app->conf.site_name);
	vm_set(vm, "title", title);
	vm_set(vm, "request_id", r->id);
	vm_set(vm, "path", r->path);
	vm_set_bool(vm, "nav_home", r->path && strcmp(r->path, "/") == 0);
	vm_set_bool(vm, "nav_plans", r->path && strncmp(r->path, "/plans", 6) == 0);
	vm_set(vm, "year", "2026");
	if (r->principal[SESS_CUSTOMER] != NULL && strncmp(r->path, "/admin", 6) != 0) {
		vm_set_bool(vm, "signed_in", 1);
		vm_set(vm, "me_name", *r->principal[SESS_CUSTOMER]->name ?
		    r->principal[SESS_CUSTOMER]->name : r->principal[SESS_CUSTOMER]->email);
		vm_set(vm, "logout_csrf", r->principal[SESS_CUSTOMER]->csrf);
	}
	if (r->form_error != NULL)
		vm_set(vm, "form_error", r->form_error);
	return vm;
}

void
page_render(struct request *r, const char *tmpl, struct vm *vm)
{
	struct buf content;

	buf_init(&content);
	if (view_render(r->app->views, tmpl, vm, &content) != 0) {
		buf_free(&content);
		req_fail(r, 500, "missing template %s", tmpl);
	}
	vm_set_trusted_html(vm, "content", content.p ? content.p : "");
	buf_free(&content);
	buf_reset(r->out);
	if (view_render(r->app->views, "layouts/main", vm, r->out) != 0)
		req_fail(r, 500, "missing template layouts/main");
	r->resp_ctype = "text/html; charset=utf-8";
}
