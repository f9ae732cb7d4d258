/*
 * page_tokens.c: personal access tokens for the JSON API, one implementation
 * for both kinds of people (parametrised by enum sess_kind):
 *
 *   GET  /account/tokens                  a customer's tokens, and the form
 *   POST /account/tokens                  create one; it is shown once
 *   POST /account/tokens/{id:int}/revoke
 *   GET  /admin/tokens                    the same for a staff member
 *   POST /admin/tokens
 *   POST /admin/tokens/{id:int}/revoke
 *
 * A token is "px_" and 40 base62 characters from OpenSSL's generator
 * (238 bits).  The database keeps its SHA-256 (token_hash, the same
 * function token_load() looks it up with) and its first characters as a
 * prefix to recognise it by; the clear token exists only in the response
 * that creates it (Cache-Control: no-store, like every page).
 *
 * Creating a token is a credential change, so the form asks for the
 * current password, throttled like a sign-in (the same account and
 * address keys, so failures here count towards the login lock too).
 * Revoking needs no password: it only ever takes access away.  Every
 * query names the owner, so another person's token id is a 404.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mfa.h"
#include "response.h"
#include "session.h"
#include "signin.h"
#include "throttle.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define TOKEN_BODY	40		/* base62 characters after the "px_" */
#define TOKEN_LEN	(3 + TOKEN_BODY)
#define TOKEN_PREFIX	9		/* "px_" and six characters, shown in lists */
#define TOKEN_NAME_MAX	100		/* characters (api_tokens CHECK) */
#define TOKEN_DAYS_MAX	365
#define TOKEN_LIVE_MAX	50		/* live tokens per person */

struct scope {
	const char	*name;
	const char	*help;
};

static const struct scope customer_scopes[] = {
	{ "read", "See your account, orders and proxies." },
	{ "orders", "Place and renew orders, paid from your wallet." },
	{ NULL, NULL }
};

static const struct scope staff_scopes[] = {
	{ "read", "Read what your role may see." },
	{ "write", "Make the changes your role allows." },
	{ NULL, NULL }
};

/* What differs between the two kinds: the pages' address, the scopes
 * on offer, and where the owner's password hash is. */
static const struct tok_kind {
	const char		*base;
	const struct scope	*scopes;
	enum q			 q_phc;
	const char		*target;	/* audit target prefix */
} kinds[SESS__MAX] = {
	[SESS_CUSTOMER] = { "/account/tokens", customer_scopes, Q_TOKEN_OWNER_PHC_CUSTOMER, "customer" },
	[SESS_STAFF] = { "/admin/tokens", staff_scopes, Q_TOKEN_OWNER_PHC_STAFF, "staff" },
};

static const int expiry_days[] = { 7, 30, 90, 180, 365, 0 };	/* 0: never */
#define EXPIRY_DEFAULT 90

/* A new token: "px_" and TOKEN_BODY base62 characters, into out. */
static void
api_token_new(char out[TOKEN_LEN + 1])
{
	static const char b62[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char b[64];
	size_t	 i, n = 0;

	memcpy(out, "px_", 3);
	while (n < TOKEN_BODY) {
		random_bytes(b, sizeof(b));
		/* Rejection sampling: 248 = 4 * 62, so no character is likelier. */
		for (i = 0; i < sizeof(b) && n < TOKEN_BODY; i++)
			if (b[i] < 248)
				out[3 + n++] = b62[b[i] % 62];
	}
	out[TOKEN_LEN] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
}

/* Bind the owner of the signed-in person of kind k as :cid and :sid. */
static void
bind_owner(struct request *r, struct stmt *st, enum sess_kind k)
{
	int64_t	 uid = r->principal[k]->user_id;

	if (k == SESS_CUSTOMER) {
		db_bind_int(r->db, st, ":cid", uid);
		db_bind_null(r->db, st, ":sid");
	} else {
		db_bind_null(r->db, st, ":cid");
		db_bind_int(r->db, st, ":sid", uid);
	}
}

static const char *
when(struct request *r, struct stmt *st, int col, const char *none)
{
	char	 t[32];

	if (db_is_null(st, col))
		return none;
	time_human(t, db_int(st, col));
	return arena_strdup(r->a, t);
}

/* 1 when the form's repeated "scope" fields include name. */
static int
scope_picked(const struct request *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->form.n; i++)
		if (strcmp(r->form.v[i].key, "scope") == 0 && strcmp(r->form.v[i].val, name) == 0)
			return 1;
	return 0;
}

/*
 * The list and the form, with error above the form (NULL for none).
 * When a form is shown again (an error, or a refused CSRF check) its
 * name, scopes and expiry are kept; the password never is.
 */
static void
tokens_page(struct request *r, enum sess_kind k, const char *error)
{
	const struct tok_kind *tk = &kinds[k];
	struct vm *vm = page_vm(r, "API tokens"), *row;

	vm_set_bool(vm, "need_code", r->principal[k]->totp_enrolled);
	struct stmt *st = db_q(r->db, Q_API_TOKEN_LIST);

	/* Customers see the page inside their account's navigation. */
	vm_set_bool(vm, "in_account", k == SESS_CUSTOMER);
	vm_set_bool(vm, "nav_tokens", 1);
	const char *days = req_form(r, "days");
	const char *done = req_query(r, "done");
	int64_t	 now = now_unix();
	size_t	 i;
	int	 n = 0, again = r->method == M_POST;

	bind_owner(r, st, k);
	while (db_step(r->db, st) == DB_ROW) {
		row = vm_push(vm, "tokens");
		vm_set_int(row, "id", db_int(st, 0));
		vm_set(row, "name", db_text(r->db, st, 1));
		vm_set(row, "prefix", db_text(r->db, st, 2));
		vm_set(row, "scopes", db_text(r->db, st, 3));
		vm_set(row, "created", when(r, st, 4, ""));
		vm_set(row, "expires", when(r, st, 5, "never"));
		vm_set(row, "last_used", when(r, st, 6, "never"));
		if (!db_is_null(st, 7)) {
			vm_set(row, "state", "revoked");
			vm_set(row, "revoked", when(r, st, 7, ""));
		} else if (!db_is_null(st, 5) && db_int(st, 5) <= now)
			vm_set(row, "state", "expired");
		else {
			vm_set(row, "state", "active");
			vm_set_bool(row, "live", 1);
		}
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_tokens", n > 0);
	vm_set(vm, "base", tk->base);
	vm_set_int(vm, "max_days", r->app->conf.token_max_days);
	vm_set_int(vm, "notice_days", r->app->conf.token_notice_days);
	vm_set(vm, "csrf", csrf_token(r, k));
	vm_set(vm, "api_url", arena_printf(r->a, "%s/api/v1/me", r->app->conf.base_url));
	if (again)
		vm_set(vm, "f_name", req_form(r, "name"));
	for (i = 0; tk->scopes[i].name != NULL; i++) {
		row = vm_push(vm, "scopes_offered");
		vm_set(row, "scope", tk->scopes[i].name);
		vm_set(row, "help", tk->scopes[i].help);
		vm_set_bool(row, "checked", again ? scope_picked(r, tk->scopes[i].name) :
		    strcmp(tk->scopes[i].name, "read") == 0);
	}
	for (i = 0; i < sizeof(expiry_days) / sizeof(expiry_days[0]); i++) {
		const char *v = expiry_days[i] ? arena_printf(r->a, "%d", expiry_days[i]) : "never";

		row = vm_push(vm, "expiry");
		vm_set(row, "value", v);
		if (expiry_days[i] == 0 || expiry_days[i] > r->app->conf.token_max_days)
			vm_set(row, "label", expiry_days[i] ? arena_printf(r->a, "%d days (capped at %lld)",
			    expiry_days[i], (long long)r->app->conf.token_max_days) :
			    arena_printf(r->a, "Never (capped at %lld days)", (long long)r->app->conf.token_max_days));
		else
			vm_set(row, "label", arena_printf(r->a, "%d days", expiry_days[i]));
		vm_set_bool(row, "selected", again && days != NULL ? strcmp(days, v) == 0 :
		    expiry_days[i] == EXPIRY_DEFAULT);
	}
	if (error != NULL)
		vm_set(vm, "error", error);
	else if (done != NULL && strcmp(done, "revoked") == 0)
		vm_set(vm, "notice", "The token is revoked. Programs that used it can no longer sign in with it.");
	page_render(r, "pages/tokens", vm);
}

/* Characters (not bytes) of a valid UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * Check the create form: name, scopes, days.  Fills scopes (the picked
 * ones, space-separated, in the table's order), expires (never 0: at
 * most token_max_days away) and capped (1 when the choice was longer).
 * Returns NULL, or the message for the form.
 */
static const char *
create_input(struct request *r, enum sess_kind k, const char **scopes, int64_t *expires, int *capped)
{
	const struct tok_kind *tk = &kinds[k];
	const char *name = req_form(r, "name"), *days = req_form(r, "days");
	struct buf b;
	size_t	 i, j, n;
	int64_t	 d;

	if (name == NULL || (n = utf8_chars(name)) == 0 || n > TOKEN_NAME_MAX ||
	    name[strspn(name, " \t")] == '\0')
		return "Please give the token a name of 1 to 100 characters, so you know later what uses it.";
	for (i = 0; i < r->form.n; i++) {
		if (strcmp(r->form.v[i].key, "scope") != 0)
			continue;
		for (j = 0; tk->scopes[j].name != NULL; j++)
			if (strcmp(r->form.v[i].val, tk->scopes[j].name) == 0)
				break;
		if (tk->scopes[j].name == NULL)
			return "Please choose scopes from the list only.";
	}
	buf_init(&b);
	for (j = 0; tk->scopes[j].name != NULL; j++)
		if (scope_picked(r, tk->scopes[j].name)) {
			if (b.len)
				buf_putc(&b, ' ');
			buf_puts(&b, tk->scopes[j].name);
		}
	*scopes = arena_strndup(r->a, b.p ? b.p : "", b.len);
	buf_free(&b);
	if (**scopes == '\0')
		return "Please choose at least one scope.";
	if (days == NULL || strcmp(days, "never") == 0)
		d = 0;
	else if (parse_i64(days, &d) != 0 || d < 1 || d > TOKEN_DAYS_MAX)
		return "Please choose an expiry between 1 and 365 days, or never.";
	/* Every token ends (V3.5.2): "never" and anything past the shop's
	 * maximum get the maximum, and the page says so. */
	*capped = d == 0 || d > r->app->conf.token_max_days;
	if (*capped)
		d = r->app->conf.token_max_days;
	*expires = now_unix() + d * 86400;
	return NULL;
}

/* A failed re-authentication (counted already: signin_attempt),
 * audited. */
static void
fail_reauth(struct request *r, enum sess_kind k, const char *what)
{
	db_begin(r->db);
	req_audit(r, "token.reauth_failed", arena_printf(r->a, "%s:%lld", kinds[k].target,
	    (long long)r->principal[k]->user_id), "%s", what);
	db_commit(r->db);
}

/*
 * The current password (and TOTP or recovery code when enrolled) of the
 * signed-in person of kind k, checked and
 * throttled as at sign-in.  Returns 1 when right; otherwise renders the
 * form again (200 wrong, 429 throttled) and returns 0.  503 when no
 * hashing slot comes free.
 */
static int
reauth(struct request *r, enum sess_kind k)
{
	const struct principal *p = r->principal[k];
	const char *kacct, *kip, *phc = NULL;
	struct stmt *st;
	int64_t	 wait;

	kacct = throttle_key_account(r, p->email);
	kip = throttle_key_ip(r);
	if ((wait = signin_attempt(r, kacct, kip)) > 0) {
		tokens_page(r, k, signin_refuse(r, wait, "Too many wrong passwords"));
		return 0;
	}
	st = db_q(r->db, kinds[k].q_phc);
	db_bind_int(r->db, st, ":id", p->user_id);
	if (db_step(r->db, st) == DB_ROW)
		phc = db_text(r->db, st, 0);
	db_reset(st);
	if (signin_check(r, req_form(r, "password"), phc)) {
		const char *code = req_form(r, "code");

		/* A token is a credential: where TOTP is enrolled it asks
		 * for a code too (DESIGN.md, re-authentication). */
		if (!p->totp_enrolled || (code != NULL && strlen(code) <= 64 &&
		    (mfa_totp_accept(r, k, p->user_id, code, 0) ||
		    mfa_recovery_accept(r, k, p->user_id, code)))) {
			db_begin(r->db);
			signin_attempt_ok(r, kacct, kip);
			session_reauth(r, k);
			db_commit(r->db);
			return 1;
		}
		fail_reauth(r, k, "second factor");
		tokens_page(r, k, "The authentication code was wrong or already used, so no token was made.");
		return 0;
	}
	fail_reauth(r, k, "password");
	tokens_page(r, k, "Your current password was wrong, so no token was made.");
	return 0;
}

/*
 * Create a token for the signed-in person of kind k and show it once.
 * 200 with the token page, or with the form and a message; 403 for a
 * customer whose email is not verified yet; 429 while throttled; 409 at
 * TOKEN_LIVE_MAX live tokens.
 */
static void
tokens_create(struct request *r, enum sess_kind k)
{
	const struct principal *p = r->principal[k];
	const char *scopes, *why;
	char	 tok[TOKEN_LEN + 1];
	unsigned char h[32];
	int64_t	 expires, now = now_unix(), id;
	struct stmt *st;
	struct vm *vm;
	int	 capped = 0;

	/* An unverified account may belong to someone who typed another
	 * person's address: a token made now would outlive the owner's
	 * reset of it.  (Staff accounts are verified by their invitation.) */
	if (!p->email_verified) {
		r->status = 403;
		tokens_page(r, k, "Please confirm your email address first (follow the link we sent "
		    "you) before you create an API token.");
		return;
	}
	if ((why = create_input(r, k, &scopes, &expires, &capped)) != NULL) {
		tokens_page(r, k, why);
		return;
	}
	if (!reauth(r, k))
		return;
	db_begin(r->db);
	st = db_q(r->db, Q_API_TOKEN_COUNT_LIVE);
	bind_owner(r, st, k);
	db_bind_int(r->db, st, ":now", now);
	if (db_one_int(r->db, st, 0) >= TOKEN_LIVE_MAX) {
		db_commit(r->db);
		r->status = 409;
		tokens_page(r, k, "You have 50 live tokens already. Please revoke one you no longer use first.");
		return;
	}
	api_token_new(tok);
	token_hash(tok, h);
	st = db_q(r->db, Q_API_TOKEN_INSERT);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_text(r->db, st, ":prefix", arena_strndup(r->a, tok, TOKEN_PREFIX));
	db_bind_text(r->db, st, ":name", req_form(r, "name"));
	bind_owner(r, st, k);
	db_bind_text(r->db, st, ":scopes", scopes);
	db_bind_int(r->db, st, ":now", now);
	if (expires)
		db_bind_int(r->db, st, ":expires", expires);
	else
		db_bind_null(r->db, st, ":expires");
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "api token insert failed");
	id = db_last_id(r->db);
	req_audit(r, "token.created", arena_printf(r->a, "token:%lld", (long long)id),
	    "owner=%s:%lld prefix=%.*s scopes=%s expires=%lld", kinds[k].target,
	    (long long)p->user_id, TOKEN_PREFIX, tok, scopes, (long long)expires);
	db_commit(r->db);

	vm = page_vm(r, "Your new API token");
	vm_set(vm, "token", tok);
	vm_set(vm, "name", req_form(r, "name"));
	vm_set(vm, "scopes", scopes);
	if (expires) {
		char	 t[32];

		time_human(t, expires);
		vm_set(vm, "expires", t);
	} else
		vm_set(vm, "expires", "never");
	if (capped)
		vm_setf(vm, "capped", "Tokens at this shop live at most %lld days, so this one "
		    "expires then. We mail you a week before.", (long long)r->app->conf.token_max_days);
	vm_set(vm, "base", kinds[k].base);
	vm_set(vm, "api_url", arena_printf(r->a, "%s/api/v1/me", r->app->conf.base_url));
	page_render(r, "pages/token_created", vm);
	OPENSSL_cleanse(tok, sizeof(tok));
}

/*
 * Revoke the token {id} of the signed-in person of kind k.  303 back to
 * the list; 404 when the id is not one of theirs.  Revoking twice is
 * not an error.
 */
static void
tokens_revoke(struct request *r, enum sess_kind k)
{
	int64_t	 id = req_param_int(r, "id");
	struct stmt *st;
	const char *prefix;
	int	 live;

	db_begin(r->db);
	st = db_q(r->db, Q_API_TOKEN_GET);
	db_bind_int(r->db, st, ":id", id);
	bind_owner(r, st, k);
	if (db_step(r->db, st) != DB_ROW)
		req_fail(r, 404, "There is no such token.");
	prefix = db_text(r->db, st, 2);
	live = db_is_null(st, 3);
	db_reset(st);
	if (live) {
		st = db_q(r->db, Q_API_TOKEN_REVOKE);
		db_bind_int(r->db, st, ":id", id);
		bind_owner(r, st, k);
		db_bind_int(r->db, st, ":now", now_unix());
		if (db_step(r->db, st) != DB_DONE)
			req_fail(r, 500, "api token revoke failed");
		req_audit(r, "token.revoked", arena_printf(r->a, "token:%lld", (long long)id),
		    "owner=%s:%lld prefix=%s", kinds[k].target,
		    (long long)r->principal[k]->user_id, prefix);
	}
	db_commit(r->db);
	resp_redirect(r, 303, arena_printf(r->a, "%s?done=revoked", kinds[k].base));
}

/* GET /account/tokens — ?done=revoked shows a notice.  200. */
void
page_tokens(struct request *r)
{
	tokens_page(r, SESS_CUSTOMER, NULL);
}

static const struct field tokens_fields[] = {
	{ "name", FK_TEXT, FIELD_REQUIRED, 0, 100 },
	{ "days", FK_TEXT, 0, 0, 10 },
	{ "scope", FK_TEXT, 0, 0, 100 },
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
};
const struct form page_tokens_form = { FORM(tokens_fields) };

/* POST /account/tokens — name, scope (repeated), days, password, csrf.
 * 200 (the token once, or the form with a message), 409, 429. */
void
page_tokens_post(struct request *r)
{
	tokens_create(r, SESS_CUSTOMER);
}

/* POST /account/tokens/{id:int}/revoke — csrf.  303; 404 if not theirs. */
void
page_token_revoke_post(struct request *r)
{
	tokens_revoke(r, SESS_CUSTOMER);
}

/* GET /admin/tokens — as GET /account/tokens, for staff.  200. */
void
admin_tokens(struct request *r)
{
	tokens_page(r, SESS_STAFF, NULL);
}

/* POST /admin/tokens — as POST /account/tokens, for staff. */
void
admin_tokens_post(struct request *r)
{
	tokens_create(r, SESS_STAFF);
}

/* POST /admin/tokens/{id:int}/revoke — csrf.  303; 404 if not theirs. */
void
admin_token_revoke_post(struct request *r)
{
	tokens_revoke(r, SESS_STAFF);
}
