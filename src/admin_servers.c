/*
 * admin_servers.c: the staff's servers panel, the 3X-UI panels the shop
 * provisions on (servers.write).
 *
 *   GET  /admin/servers                        the list: state, health,
 *                                              location, category and brand,
 *                                              capacity, TLS verification
 *   POST /admin/servers                        create
 *   GET  /admin/servers/new                    the form for a new server
 *   GET  /admin/servers/{id:int}               the edit form
 *   POST /admin/servers/{id:int}               save
 *   POST /admin/servers/{id:int}/enable        state active
 *   POST /admin/servers/{id:int}/disable       state disabled (nothing placed)
 *   POST /admin/servers/{id:int}/maintenance   state maintenance (skipped by
 *                                              placement, kept by its clients)
 *   POST /admin/servers/{id:int}/delete        only with nothing naming it
 *
 * The panel password and API token are sealed (seal.c) with the row's
 * identity, "server:ID:panel_password" and "server:ID:panel_token", as
 * associated data, as job_server_test.c opens them: a blob copied to
 * another row does not open.  They are never shown again (the form says
 * "set" or "not set" and has an empty field to replace them), never put
 * back into a refused form, never logged, and the audit row says only
 * that one was set or replaced.
 *
 * The panel URL is stored ending in exactly one '/' (the contract's
 * {base}: the panel client appends routes to it).  A server with plans,
 * clients or jobs is never deleted: it is disabled.
 */
#include "config.h"

#include <string.h>

#include "admin.h"
#include "admin_catalog.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "panel_default.h"
#include "response.h"
#include "seal.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define SERVER_SECRET_MAX	1000	/* a panel password or API token, bytes */
#define SERVER_CAPACITY_MAX	1000000	/* servers.capacity's CHECK (015) */

struct server {
	int64_t		 id;
	const char	*name, *cc, *country, *city, *url, *user, *host, *state;
	const char	*health, *version, *last_error;
	int64_t		 category, brand;	/* 0: none */
	int64_t		 capacity;		/* 0: unlimited (NULL) */
	int64_t		 maxc;
	int		 tls, has_pw, has_token;
};

static int
server_get(struct request *r, int64_t id, struct server *s)
{
	struct stmt *st = db_q(r->db, Q_ASRV_GET);
	int	 ok = 0;

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) == DB_ROW) {
		s->id = db_int(st, 0);
		s->name = db_text(r->db, st, 1);
		s->cc = db_text(r->db, st, 2);
		s->country = db_text(r->db, st, 3);
		s->city = db_text(r->db, st, 4);
		s->category = db_is_null(st, 5) ? 0 : db_int(st, 5);
		s->brand = db_is_null(st, 6) ? 0 : db_int(st, 6);
		s->url = db_text(r->db, st, 7);
		s->user = db_text(r->db, st, 8);
		s->has_pw = (int)db_int(st, 9);
		s->has_token = (int)db_int(st, 10);
		s->host = db_text(r->db, st, 11);
		s->tls = (int)db_int(st, 12);
		s->capacity = db_is_null(st, 13) ? 0 : db_int(st, 13);
		s->maxc = db_int(st, 14);
		s->state = db_text(r->db, st, 15);
		s->health = db_text(r->db, st, 16);
		s->version = db_text(r->db, st, 17);
		s->last_error = db_text(r->db, st, 18);
		ok = 1;
	}
	db_reset(st);
	return ok;
}

static const char *
server_target(struct request *r, int64_t id)
{
	return arena_printf(r->a, "server:%lld", (long long)id);
}

static const struct field admin_server_fields[] = {
	{ "name", FK_TEXT, FIELD_REQUIRED, 0, CATALOG_NAME_MAX },
	{ "country_code", FK_TEXT, FIELD_REQUIRED, 0, 2 },
	{ "country", FK_TEXT, FIELD_REQUIRED, 0, 80 },
	{ "city", FK_TEXT, FIELD_REQUIRED, 0, 80 },
	{ "category", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "brand", FK_TEXT, FIELD_REQUIRED, 0, 20 },
	{ "panel_url", FK_URL, FIELD_REQUIRED, 0, 0 },
	{ "panel_user", FK_TEXT, FIELD_REQUIRED, 0, 200 },
	{ "panel_password", FK_SECRET, 0, 0, SERVER_SECRET_MAX },
	{ "panel_token", FK_SECRET, 0, 0, SERVER_SECRET_MAX },
	{ "public_host", FK_TEXT, FIELD_REQUIRED, 0, 253 },
	{ "tls_verify", FK_FLAG, 0, 0, 0 },
	{ "capacity", FK_TEXT, FIELD_REQUIRED, 0, 12 },
	{ "max_concurrency", FK_TEXT, FIELD_REQUIRED, 0, 4 },
};
const struct form admin_server_form = { FORM(admin_server_fields) };

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

/* The panel URL as stored: valid_url, no query, ending in one '/'. */
static const char *
panel_url_norm(struct request *r, const char *u)
{
	size_t	 n = strlen(u);

	if (!valid_panel_url(u) || strchr(u, '?') != NULL)
		return NULL;
	while (n > 0 && u[n - 1] == '/')
		n--;
	return arena_printf(r->a, "%.*s/", (int)n, u);
}

/* A secret field's value, "" when absent or empty (keep the stored one). */
static const char *
secret_get(struct request *r, const char *name)
{
	const char *v = form_get(r, name);

	return v != NULL ? v : "";
}

/*
 * Read and check the server form into *s, inside the caller's
 * transaction.  NULL when every field is good, else the sentence for the
 * 400.  new: a new server needs a password or a token.
 */
static const char *
server_read(struct request *r, struct server *s, int new)
{
	const char *v;

	memset(s, 0, sizeof(*s));
	if (!form_valid(r, "name") || *form_get(r, "name") == '\0')
		return "The name is one line of 1 to 120 characters, without control characters.";
	s->name = form_get(r, "name");
	v = form_get(r, "country_code");
	if (strlen(v) != 2 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != 2)
		return "The country code is two letters (ISO 3166-1), such as DE or US.";
	/* Stored upper case, as the catalogue's country filter reads it. */
	s->cc = arena_printf(r->a, "%c%c", v[0] & ~0x20, v[1] & ~0x20);
	if (!form_valid(r, "country") || *form_get(r, "country") == '\0')
		return "The country is one line of 1 to 80 characters.";
	s->country = form_get(r, "country");
	if (!form_valid(r, "city"))
		return "The city is one line of at most 80 characters (or empty).";
	s->city = form_get(r, "city");
	if (!opt_id(form_get(r, "category"), &s->category) ||
	    (s->category > 0 && !exists(r, Q_ACAT_CATEGORY_GET, s->category)))
		return "Choose one of the categories, or none.";
	if (!opt_id(form_get(r, "brand"), &s->brand) ||
	    (s->brand > 0 && !exists(r, Q_ACAT_BRAND_GET, s->brand)))
		return "Choose one of the brands, or none.";
	if (!form_valid(r, "panel_url") || (s->url = panel_url_norm(r, form_get(r, "panel_url"))) == NULL)
		return "The panel URL is https:// (http:// only on this machine: 127.0.0.1, ::1, localhost), "
		    "the panel's host and port and its web base path, such as "
		    "https://panel.example.com:2053/secretpath/, without a user, query or fragment.";
	if (!form_valid(r, "panel_user") || *form_get(r, "panel_user") == '\0')
		return "The panel username is one line of 1 to 200 characters.";
	s->user = form_get(r, "panel_user");
	if (!form_valid(r, "panel_password") || !form_valid(r, "panel_token") ||
	    strpbrk(secret_get(r, "panel_password"), "\r\n") != NULL ||
	    strpbrk(secret_get(r, "panel_token"), "\r\n") != NULL)
		return "The panel password and API token are one line of at most 1000 bytes each.";
	if (new && *secret_get(r, "panel_password") == '\0' && *secret_get(r, "panel_token") == '\0')
		return "Give the panel password (or the panel's API token): the shop signs in with it.";
	/* ASVS V2.10.2: never act as a panel's factory sign-in. */
	v = secret_get(r, "panel_password");
	if (*v != '\0' && panel_creds_default(s->user, v, strlen(v)))
		return PANEL_DEFAULT_MSG;
	v = form_get(r, "public_host");
	if (!valid_host(v))
		return "The public host is the name or IP address customers' links connect to, such as "
		    "de1.example.com or 203.0.113.7.";
	s->host = v;
	s->tls = form_get(r, "tls_verify") != NULL;
	v = form_get(r, "capacity");
	if (*v != '\0' && !valid_int(v, 1, SERVER_CAPACITY_MAX, &s->capacity))
		return "The capacity is empty (unlimited) or a whole number of clients from 1 to 1000000.";
	if (!valid_int(form_get(r, "max_concurrency"), 1, 16, &s->maxc))
		return "The maximum of concurrent panel calls is a whole number from 1 to 16.";
	return NULL;
}

static void
server_bind(struct request *r, struct stmt *st, const struct server *s)
{
	db_bind_text(r->db, st, ":name", s->name);
	db_bind_text(r->db, st, ":cc", s->cc);
	db_bind_text(r->db, st, ":country", s->country);
	db_bind_text(r->db, st, ":city", s->city);
	if (s->category > 0)
		db_bind_int(r->db, st, ":category", s->category);
	else
		db_bind_null(r->db, st, ":category");
	if (s->brand > 0)
		db_bind_int(r->db, st, ":brand", s->brand);
	else
		db_bind_null(r->db, st, ":brand");
	db_bind_text(r->db, st, ":url", s->url);
	db_bind_text(r->db, st, ":user", s->user);
	db_bind_text(r->db, st, ":host", s->host);
	db_bind_int(r->db, st, ":tls", s->tls);
	if (s->capacity > 0)
		db_bind_int(r->db, st, ":capacity", s->capacity);
	else
		db_bind_null(r->db, st, ":capacity");
	db_bind_int(r->db, st, ":maxc", s->maxc);
}

/*
 * Seal the secret field `field` (when typed) for server id under the
 * aad "server:ID:what" and store it with statement q.  1 when one was
 * stored, 0 when the field was empty.  The plaintext stays in the
 * request's form only; nothing here logs it.
 */
static int
server_seal(struct request *r, int64_t id, const char *field, const char *what, enum q q)
{
	const char *pt = secret_get(r, field);
	unsigned char blob[SEAL_LEN(SERVER_SECRET_MAX)];
	struct stmt *st;
	size_t	 n;

	if (*pt == '\0')
		return 0;
	if (seal(blob, sizeof(blob), &n, r->app->key, pt, strlen(pt),
	    arena_printf(r->a, "server:%lld:%s", (long long)id, what)) != 0)
		req_fail(r, 500, "sealing the panel %s failed", what);
	st = db_q(r->db, q);
	db_bind_blob(r->db, st, ":sealed", blob, n);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	explicit_bzero(blob, sizeof(blob));
	return 1;
}

static const char *
opt_text(struct request *r, int64_t v, const char *none)
{
	return v > 0 ? catalog_int(r, v) : none;
}

/* The audit text of the fields that differ (a NULL: a new server).  The
 * secrets appear by name only: "set" or "replaced", never a value. */
static const char *
server_diff(struct request *r, const struct server *a, const struct server *b, int pw, int token)
{
	const char *d = "";

#define BEFORE(x)	(a != NULL ? (x) : "none")
	catalog_diff(r, &d, "name", BEFORE(catalog_quote(r, a->name)), catalog_quote(r, b->name));
	catalog_diff(r, &d, "country_code", BEFORE(a->cc), b->cc);
	catalog_diff(r, &d, "country", BEFORE(catalog_quote(r, a->country)), catalog_quote(r, b->country));
	catalog_diff(r, &d, "city", BEFORE(catalog_quote(r, a->city)), catalog_quote(r, b->city));
	catalog_diff(r, &d, "category", BEFORE(opt_text(r, a->category, "none")),
	    opt_text(r, b->category, "none"));
	catalog_diff(r, &d, "brand", BEFORE(opt_text(r, a->brand, "none")), opt_text(r, b->brand, "none"));
	catalog_diff(r, &d, "panel_url", BEFORE(catalog_quote(r, a->url)), catalog_quote(r, b->url));
	catalog_diff(r, &d, "panel_user", BEFORE(catalog_quote(r, a->user)), catalog_quote(r, b->user));
	catalog_diff(r, &d, "public_host", BEFORE(a->host), b->host);
	catalog_diff(r, &d, "tls_verify", BEFORE(catalog_int(r, a->tls)), catalog_int(r, b->tls));
	catalog_diff(r, &d, "capacity", BEFORE(opt_text(r, a->capacity, "unlimited")),
	    opt_text(r, b->capacity, "unlimited"));
	catalog_diff(r, &d, "max_concurrency", BEFORE(catalog_int(r, a->maxc)), catalog_int(r, b->maxc));
	if (pw)
		catalog_diff(r, &d, "panel_password", a != NULL && a->has_pw ? "set" : "not set",
		    a != NULL && a->has_pw ? "replaced" : "set");
	if (token)
		catalog_diff(r, &d, "panel_token", a != NULL && a->has_token ? "set" : "not set",
		    a != NULL && a->has_token ? "replaced" : "set");
#undef BEFORE
	return d;
}

/* The category and brand select lists, with sel_* (as text) selected. */
static void
server_options(struct request *r, struct vm *vm, const char *sel_cat, const char *sel_brand)
{
	struct stmt *st;
	struct vm *it;
	const char *id;

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

/*
 * The server form: a new server (id 0) or server id, with an optional
 * error (status set after).  After a POST it shows what was typed, but
 * never the password or token fields; else the stored server, or the
 * defaults of a new one (TLS verified, 2 concurrent calls).
 */
static void
server_form(struct request *r, int status, const char *error, int64_t id)
{
	struct vm *vm = page_vm(r, id ? "Edit server" : "New server");
	struct server s;
	static const char *const keys[] = { "name", "country_code", "country", "city", "panel_url",
	    "panel_user", "public_host", "capacity", "max_concurrency" };
	size_t	 i;

	memset(&s, 0, sizeof(s));
	if (id && !server_get(r, id, &s))
		req_fail(r, 404, "There is no such server.");
	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	if (id) {
		vm_set_int(vm, "sid", id);
		vm_set(vm, "action", arena_printf(r->a, "/admin/servers/%lld", (long long)id));
		vm_set(vm, "heading", arena_printf(r->a, "Edit %s", s.name));
		vm_set(vm, "pw_state", s.has_pw ? "set" : "not set");
		vm_set(vm, "token_state", s.has_token ? "set" : "not set");
		vm_set(vm, "f_state", s.state);
		vm_set(vm, "f_health", s.health);
		vm_set(vm, "f_version", *s.version ? s.version : "not detected yet");
		if (*s.last_error)
			vm_set(vm, "f_last_error", s.last_error);
		admin_server_panel_vm(r, vm, id);
	} else {
		vm_set(vm, "action", "/admin/servers");
		vm_set(vm, "heading", "New server");
		vm_set(vm, "pw_state", "not set");
		vm_set(vm, "token_state", "not set");
	}
	if (r->method == M_POST && r->fields != NULL) {
		for (i = 0; i < NELEM(keys); i++)
			vm_set(vm, arena_printf(r->a, "f_%s", keys[i]), form_get(r, keys[i]));
		vm_set_bool(vm, "f_tls_verify", form_get(r, "tls_verify") != NULL);
		server_options(r, vm, form_get(r, "category"), form_get(r, "brand"));
	} else if (id) {
		vm_set(vm, "f_name", s.name);
		vm_set(vm, "f_country_code", s.cc);
		vm_set(vm, "f_country", s.country);
		vm_set(vm, "f_city", s.city);
		vm_set(vm, "f_panel_url", s.url);
		vm_set(vm, "f_panel_user", s.user);
		vm_set(vm, "f_public_host", s.host);
		vm_set(vm, "f_capacity", s.capacity > 0 ? catalog_int(r, s.capacity) : "");
		vm_set(vm, "f_max_concurrency", catalog_int(r, s.maxc));
		vm_set_bool(vm, "f_tls_verify", s.tls);
		server_options(r, vm, opt_text(r, s.category, ""), opt_text(r, s.brand, ""));
	} else {
		for (i = 0; i < NELEM(keys); i++)
			vm_set(vm, arena_printf(r->a, "f_%s", keys[i]), "");
		vm_set(vm, "f_max_concurrency", "2");
		vm_set_bool(vm, "f_tls_verify", 1);
		server_options(r, vm, "", "");
	}
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/server", vm);
	if (status)
		r->status = status;
}

static const struct {
	const char	*code, *text;
} notices[] = {
	{ "created", "The server was added." },
	{ "saved", "The server was saved." },
	{ "unchanged", "Nothing changed: nothing was saved." },
	{ "enabled", "The server is active: placement may use it." },
	{ "disabled", "The server is disabled: nothing new is placed on it." },
	{ "maintenance", "The server is in maintenance: placement skips it." },
	{ "deleted", "The server was deleted." },
};

/*
 * The servers list with an optional error (status set after): each
 * server's state, health, location, category and brand, capacity, panel
 * and the buttons that apply; TLS verification off is a warning.
 */
/* The panel's last answer and last traffic sync (cron traffic-sync,
 * cron alerts: sync12), and whether an alert is open. */
static void
panel_health(struct request *r, struct vm *it, int64_t id)
{
	struct stmt *st = db_q(r->db, Q_SYNC_SERVER_HEALTH);
	char	 t[32];

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) == DB_ROW) {
		if (db_is_null(st, 0))
			vm_set(it, "last_ok", "never");
		else {
			time_human(t, db_int(st, 0));
			vm_set(it, "last_ok", t);
		}
		if (db_is_null(st, 1))
			vm_set(it, "traffic_synced", "never");
		else {
			time_human(t, db_int(st, 1));
			vm_set(it, "traffic_synced", t);
		}
		vm_set_bool(it, "alert", db_int(st, 2) || db_int(st, 3));
	}
	db_reset(st);
}

static void
servers_page(struct request *r, int status, const char *error)
{
	struct vm *vm = page_vm(r, "Servers"), *it;
	struct stmt *st = db_q(r->db, Q_ASRV_LIST);
	const char *done = req_query(r, "done"), *state;
	int64_t	 n = 0;
	size_t	 i;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "servers");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "name", db_text(r->db, st, 1));
		vm_setf(it, "location", "%s, %s%s%s", db_text(r->db, st, 2), db_text(r->db, st, 3),
		    *db_text(r->db, st, 4) ? ", " : "", db_text(r->db, st, 4));
		vm_set(it, "category", db_text(r->db, st, 5));
		vm_set(it, "brand", db_text(r->db, st, 6));
		state = db_text(r->db, st, 7);
		vm_set(it, "state", state);
		vm_set_bool(it, "can_enable", strcmp(state, "active") != 0);
		vm_set_bool(it, "can_disable", strcmp(state, "disabled") != 0);
		vm_set_bool(it, "can_maintain", strcmp(state, "maintenance") != 0);
		vm_set(it, "health", db_text(r->db, st, 8));
		vm_set_bool(it, "tls_off", db_int(st, 9) == 0);
		vm_set(it, "capacity", db_is_null(st, 10) ? "unlimited" : catalog_int(r, db_int(st, 10)));
		vm_set(it, "panel_url", db_text(r->db, st, 11));
		vm_set(it, "last_error", db_text(r->db, st, 12));
		vm_set_int(it, "max_concurrency", db_int(st, 13));
		vm_set(it, "version", db_text(r->db, st, 14));
		vm_set_int(it, "plans", db_int(st, 15));
		vm_set_bool(it, "deletable", db_int(st, 15) == 0);
		panel_health(r, it, db_int(st, 0));
		vm_set_bool(it, "default_creds", panel_server_default(r->db, r->app->key, db_int(st, 0)));
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "empty", n == 0);
	for (i = 0; done != NULL && i < NELEM(notices); i++)
		if (strcmp(done, notices[i].code) == 0)
			vm_set(vm, "notice", notices[i].text);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/servers", vm);
	if (status)
		r->status = status;
}

/* GET /admin/servers — ?done (a fixed notice).  200. */
void
admin_servers(struct request *r)
{
	servers_page(r, 0, NULL);
}

/* GET /admin/servers/new — 200. */
void
admin_server_new(struct request *r)
{
	server_form(r, 0, NULL, 0);
}

/* GET /admin/servers/{id:int} — 200; 404 for no such server. */
void
admin_server(struct request *r)
{
	server_form(r, 0, NULL, req_param_int(r, "id"));
}

static void
servers_done(struct request *r, const char *what)
{
	resp_redirect(r, 303, arena_printf(r->a, "/admin/servers?done=%s", what));
}

/* 1 when another server than id has this name. */
static int
name_taken(struct request *r, const char *name, int64_t id)
{
	struct stmt *st = db_q(r->db, Q_ASRV_NAME_TAKEN);
	int	 taken;

	db_bind_text(r->db, st, ":name", name);
	db_bind_int(r->db, st, ":id", id);
	taken = db_step(r->db, st) == DB_ROW;
	db_reset(st);
	return taken;
}

/*
 * POST /admin/servers — the server form's fields (admin_server_fields),
 * csrf.  One server row, its sealed secrets and one audit row.  303 to
 * the list; 400 for a refused field and 409 for a name in use (the form
 * kept without its secrets, nothing written).
 */
void
admin_servers_post(struct request *r)
{
	const char *err;
	struct stmt *st;
	struct server s;
	int	 pw, token;

	db_begin(r->db);
	if ((err = server_read(r, &s, 1)) != NULL) {
		db_rollback(r->db);
		server_form(r, 400, err, 0);
		return;
	}
	if (name_taken(r, s.name, 0)) {
		db_rollback(r->db);
		server_form(r, 409, arena_printf(r->a, "Another server is called \"%s\": choose another "
		    "name. Nothing was saved.", s.name), 0);
		return;
	}
	st = db_q(r->db, Q_ASRV_INSERT);
	server_bind(r, st, &s);
	db_step(r->db, st);
	s.id = db_last_id(r->db);
	/* The row's id is the secrets' associated data: seal after the insert. */
	pw = server_seal(r, s.id, "panel_password", "panel_password", Q_ASRV_SET_PASSWORD);
	token = server_seal(r, s.id, "panel_token", "panel_token", Q_ASRV_SET_TOKEN);
	req_audit(r, "server.created", server_target(r, s.id), "%s", server_diff(r, NULL, &s, pw, token));
	db_commit(r->db);
	servers_done(r, "created");
}

/*
 * POST /admin/servers/{id:int} — the server form's fields, csrf.  An
 * empty password or token field keeps the stored one.  The server row
 * and one audit row naming each changed field; an edit that changes
 * nothing writes nothing.  303 to the list; 400; 409 for a name in use;
 * 404 for no such server.
 */
void
admin_server_post(struct request *r)
{
	int64_t	 id = req_param_int(r, "id");
	const char *err, *d;
	struct server old, s;
	struct stmt *st;
	int	 pw, token;

	/* Replacing a panel's password or token changes who the shop acts
	 * as on that panel: a fresh sign-in first (ASVS V3.7.1).  The typed
	 * secret is not carried through the redirect; it is typed again. */
	if ((*secret_get(r, "panel_password") != '\0' || *secret_get(r, "panel_token") != '\0') &&
	    !admin_reauth_ok(r, arena_printf(r->a, "/admin/servers/%lld", (long long)id)))
		return;
	db_begin(r->db);
	if (!server_get(r, id, &old)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such server.");
	}
	if ((err = server_read(r, &s, 0)) != NULL) {
		db_rollback(r->db);
		server_form(r, 400, err, id);
		return;
	}
	if (name_taken(r, s.name, id)) {
		db_rollback(r->db);
		server_form(r, 409, arena_printf(r->a, "Another server is called \"%s\": choose another "
		    "name. Nothing was saved.", s.name), id);
		return;
	}
	s.id = id;
	pw = *secret_get(r, "panel_password") != '\0';
	token = *secret_get(r, "panel_token") != '\0';
	if (*(d = server_diff(r, &old, &s, pw, token)) == '\0') {
		db_rollback(r->db);
		servers_done(r, "unchanged");
		return;
	}
	st = db_q(r->db, Q_ASRV_UPDATE);
	server_bind(r, st, &s);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	server_seal(r, id, "panel_password", "panel_password", Q_ASRV_SET_PASSWORD);
	server_seal(r, id, "panel_token", "panel_token", Q_ASRV_SET_TOKEN);
	req_audit(r, "server.updated", server_target(r, id), "%s", d);
	db_commit(r->db);
	servers_done(r, "saved");
}

/* Move server {id} to state; audited when it moved.  303; 404. */
static void
server_set_state(struct request *r, const char *state, const char *action, const char *done)
{
	int64_t	 id = req_param_int(r, "id");
	struct server s;
	struct stmt *st;

	db_begin(r->db);
	if (!server_get(r, id, &s)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such server.");
	}
	st = db_q(r->db, Q_ASRV_SET_STATE);
	db_bind_int(r->db, st, ":id", id);
	db_bind_text(r->db, st, ":state", state);
	db_step(r->db, st);
	if (db_changes(r->db) == 1)
		req_audit(r, action, server_target(r, id), "%s: state: %s -> %s",
		    catalog_quote(r, s.name), s.state, state);
	db_commit(r->db);
	servers_done(r, done);
}

/* POST /admin/servers/{id:int}/enable — csrf.  303; 404. */
void
admin_server_enable_post(struct request *r)
{
	server_set_state(r, "active", "server.enabled", "enabled");
}

/* POST /admin/servers/{id:int}/disable — csrf.  Nothing new is placed
 * on it; its clients stay.  303; 404. */
void
admin_server_disable_post(struct request *r)
{
	server_set_state(r, "disabled", "server.disabled", "disabled");
}

/* POST /admin/servers/{id:int}/maintenance — csrf.  Placement skips it
 * (an order fails over to another panel of its pool).  303; 404. */
void
admin_server_maintenance_post(struct request *r)
{
	server_set_state(r, "maintenance", "server.maintenance", "maintenance");
}

/*
 * POST /admin/servers/{id:int}/delete — csrf.  Deletes a server that no
 * plan, client or job names (its inbounds go with it), with an audit row.
 * 303; 404; 409 (the list with the reason, nothing written) otherwise: a
 * server in use is disabled, never deleted.
 */
void
admin_server_delete_post(struct request *r)
{
	int64_t	 id = req_param_int(r, "id"), plans, other;
	struct server s;
	struct stmt *st;

	db_begin(r->db);
	if (!server_get(r, id, &s)) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such server.");
	}
	st = db_q(r->db, Q_ASRV_REFS);
	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 500, "server references: no row");
	plans = db_int(st, 0);
	other = db_int(st, 1);
	db_reset(st);
	if (plans > 0 || other > 0) {
		db_rollback(r->db);
		servers_page(r, 409, arena_printf(r->a, "\"%s\" has %s and %s, so it is kept for their "
		    "history and never deleted. Disable it instead. Nothing was deleted.", s.name,
		    catalog_count(r, plans, "plan", "plans"),
		    catalog_count(r, other, "client or job", "clients and jobs")));
		return;
	}
	st = db_q(r->db, Q_ASRV_DELETE);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	req_audit(r, "server.deleted", server_target(r, id), "deleted: %s; panel_url: %s",
	    catalog_quote(r, s.name), catalog_quote(r, s.url));
	db_commit(r->db);
	servers_done(r, "deleted");
}
