/*
 * admin_staff.c: staff managing staff, and invitations.
 *
 *   GET  /admin/staff                      the list, the invite form (staff.manage)
 *   POST /admin/staff/invite               email, name, role: an invite mail
 *   POST /admin/staff/{id:int}/disable     ends their sessions
 *   POST /admin/staff/{id:int}/enable
 *   POST /admin/staff/{id:int}/role        role: ends their sessions
 *   POST /admin/staff/{id:int}/reset-2fa   (security.manage) they enrol again
 *   GET/POST /admin/invite/{token}         the invitee chooses a password
 *
 * Every change here alters someone's privileges or credentials, so it
 * needs a recent re-authentication of the acting staff member (password
 * and code, /admin/reauth).  Nobody acts on themselves here, nobody
 * grants or touches a role with permissions they lack themselves, and
 * the last active super admin can be neither disabled nor demoted: those
 * checks run inside the write transaction, so two admins racing cannot
 * both pass them.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "admin.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "mailq.h"
#include "mfa.h"
#include "notice.h"
#include "passkey.h"
#include "password.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "spool.h"
#include "throttle.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

#define INVITE_TTL	(72 * 3600)

struct staff_row {
	int64_t		 id;
	const char	*email;
	const char	*name;
	const char	*state;
	const char	*role;
	int		 enrolled;
	int64_t		 role_id;
};

static const struct {
	const char	*code;
	const char	*text;
} notices[] = {
	{ "invited", "The invitation is on its way." },
	{ "disabled", "The account is disabled and its sessions are ended." },
	{ "enabled", "The account is enabled again." },
	{ "role", "The role is changed and their sessions are ended." },
	{ "reset", "Two-factor sign-in is reset: they enrol again at their next sign-in." },
};

#define MAX_ROLES	32

static void
staff_page(struct request *r, int status, const char *error)
{
	struct vm *vm = page_vm(r, "Staff"), *it, *o;
	struct stmt *st;
	const struct principal *me = r->principal[SESS_STAFF];
	const char *done = req_query(r, "done"), *frole = req_form(r, "role");
	const char *rname[MAX_ROLES], *rlabel[MAX_ROLES];
	char	 when[32];
	size_t	 i, nroles = 0;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "f_email", req_form(r, "email"));
	vm_set(vm, "f_name", req_form(r, "name"));
	vm_set_bool(vm, "fresh", session_recent_auth(r, SESS_STAFF, ADMIN_REAUTH_MAX));
	vm_set_bool(vm, "can_reset", has_perm(r, "security.manage"));
	if (error != NULL)
		vm_set(vm, "error", error);
	for (i = 0; done != NULL && i < NELEM(notices); i++)
		if (strcmp(done, notices[i].code) == 0)
			vm_set(vm, "notice", notices[i].text);

	st = db_q(r->db, Q_ROLES);
	while (db_step(r->db, st) == DB_ROW && nroles < MAX_ROLES) {
		rname[nroles] = db_text(r->db, st, 1);
		rlabel[nroles] = db_text(r->db, st, 2);
		it = vm_push(vm, "roles");
		vm_set(it, "name", rname[nroles]);
		vm_set(it, "label", rlabel[nroles]);
		/* A new invite defaults to the least powerful role. */
		vm_set_bool(it, "selected", strcmp(frole != NULL ? frole : "support", rname[nroles]) == 0);
		nroles++;
	}
	db_reset(st);

	st = db_q(r->db, Q_STAFF_LIST);
	while (db_step(r->db, st) == DB_ROW) {
		const char *role = db_text(r->db, st, 3), *state = db_text(r->db, st, 5);

		it = vm_push(vm, "staff");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set(it, "email", db_text(r->db, st, 1));
		vm_set(it, "name", db_text(r->db, st, 2));
		vm_set(it, "role", role);
		vm_set(it, "role_label", db_text(r->db, st, 4));
		vm_set(it, "state", state);
		vm_set_bool(it, "active", strcmp(state, "active") == 0);
		vm_set_bool(it, "disabled", strcmp(state, "disabled") == 0);
		vm_set_bool(it, "totp", db_int(st, 6));
		if (!db_is_null(st, 7)) {
			iso8601(when, db_int(st, 7));
			vm_set(it, "last_login", when);
		}
		vm_set_int(it, "sessions", db_int(st, 8));
		vm_set_bool(it, "me", db_int(st, 0) == me->user_id);
		for (i = 0; i < nroles; i++) {
			o = vm_push(it, "options");
			vm_set(o, "name", rname[i]);
			vm_set(o, "label", rlabel[i]);
			vm_set_bool(o, "selected", strcmp(rname[i], role) == 0);
		}
	}
	db_reset(st);
	page_render(r, "pages/admin/staff", vm);
	if (status)
		r->status = status;
}

/* GET /admin/staff — ?done (a fixed notice).  200. */
void
admin_staff(struct request *r)
{
	staff_page(r, 0, NULL);
}

/* A role by name: its id, or 0. */
static int64_t
role_id(struct request *r, const char *name, const char **label)
{
	struct stmt *st = db_q(r->db, Q_ROLE_BY_NAME);
	int64_t	 id = 0;

	if (name == NULL || strlen(name) > 64)
		return 0;
	db_bind_text(r->db, st, ":name", name);
	if (db_step(r->db, st) == DB_ROW) {
		id = db_int(st, 0);
		if (label)
			*label = db_text(r->db, st, 1);
	}
	db_reset(st);
	return id;
}

/* 1 when role grants a permission the acting staff member lacks. */
static int
role_exceeds_mine(struct request *r, int64_t role)
{
	struct stmt *st = db_q(r->db, Q_ROLE_EXCEEDS);

	db_bind_int(r->db, st, ":role", role);
	db_bind_int(r->db, st, ":actor", r->principal[SESS_STAFF]->user_id);
	return db_one_int(r->db, st, 1) > 0;
}

static int
staff_get(struct request *r, int64_t id, struct staff_row *t)
{
	struct stmt *st = db_q(r->db, Q_STAFF_GET);
	int	 ok = 0;

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) == DB_ROW) {
		t->id = db_int(st, 0);
		t->email = db_text(r->db, st, 1);
		t->name = db_text(r->db, st, 2);
		t->state = db_text(r->db, st, 3);
		t->role = db_text(r->db, st, 4);
		t->enrolled = (int)db_int(st, 6);
		t->role_id = db_int(st, 7);
		ok = 1;
	}
	db_reset(st);
	return ok;
}

static int
last_super_admin(struct request *r, const struct staff_row *t)
{
	if (strcmp(t->role, "super_admin") != 0 || strcmp(t->state, "active") != 0)
		return 0;
	return db_one_int(r->db, db_q(r->db, Q_STAFF_SUPER_ACTIVE), 0) <= 1;
}

/*
 * The start of every action on one staff member: re-authentication, then
 * (inside a new transaction) the target, not oneself, not above oneself.
 * Returns 1 with the transaction open, or 0 with the answer made (303 to
 * /admin/reauth, 404, 409, 403) and nothing changed.
 */
static int
target_begin(struct request *r, struct staff_row *t)
{
	int64_t	 id = req_param_int(r, "id");

	if (!admin_reauth_ok(r, "/admin/staff"))
		return 0;
	db_begin(r->db);
	if (!staff_get(r, id, t)) {
		db_rollback(r->db);
		staff_page(r, 404, "There is no such staff member.");
		return 0;
	}
	if (t->id == r->principal[SESS_STAFF]->user_id) {
		db_rollback(r->db);
		staff_page(r, 409, "You cannot change your own account here. Ask another admin.");
		return 0;
	}
	if (role_exceeds_mine(r, t->role_id)) {
		db_rollback(r->db);
		staff_page(r, 403, "Their role has permissions yours lacks, so you cannot change their account.");
		return 0;
	}
	return 1;
}

static void
done(struct request *r, const char *what)
{
	resp_redirect(r, 303, arena_printf(r->a, "/admin/staff?done=%s", what));
}

static const struct field admin_staff_invite_fields[] = {
	{ "email", FK_EMAIL, FIELD_REQUIRED, 0, 0 },
	{ "name", FK_NAME, FIELD_REQUIRED, 0, 0 },
	{ "role", FK_TEXT, FIELD_REQUIRED, 0, 64 },
};
const struct form admin_staff_invite_form = { FORM(admin_staff_invite_fields) };

/*
 * POST /admin/staff/invite — email, name, role, csrf.  Creates an
 * 'invited' account (no password: it cannot sign in) and queues a mail
 * with a single-use link valid 72 hours.  303 to /admin/staff; 400 for a
 * bad field, 403 for a role above one's own, 409 for a taken email; 303
 * to /admin/reauth when the last re-authentication is not recent.
 */
void
admin_staff_invite_post(struct request *r)
{
	const char *email = form_get(r, "email"), *name = form_get(r, "name");
	const char *label = "", *tok, *me;
	char	 clear[33];
	unsigned char h[32];
	int64_t	 role, sid, job;
	struct stmt *st;
	struct json_object *v;

	if (!admin_reauth_ok(r, "/admin/staff"))
		return;
	if (!valid_email(email)) {
		staff_page(r, 400, "Please enter a valid email address.");
		return;
	}
	if (!valid_name(name)) {
		staff_page(r, 400, "The name must be at most 100 characters, on one line.");
		return;
	}
	if ((role = role_id(r, form_get(r, "role"), &label)) == 0) {
		staff_page(r, 400, "Please choose a role.");
		return;
	}
	db_begin(r->db);
	if (role_exceeds_mine(r, role)) {
		db_rollback(r->db);
		staff_page(r, 403, "That role has permissions yours lacks, so you cannot grant it.");
		return;
	}
	st = db_q(r->db, Q_STAFF_INVITE);
	db_bind_text(r->db, st, ":email", email);
	db_bind_text(r->db, st, ":name", name);
	db_bind_int(r->db, st, ":role", role);
	if (db_step_try(r->db, st) == DB_CONSTRAINT) {
		db_rollback(r->db);
		staff_page(r, 409, "A staff account with that email exists already.");
		return;
	}
	sid = db_last_id(r->db);
	token_new(clear);
	token_hash(clear, h);
	tok = arena_strdup(r->a, clear);
	st = db_q(r->db, Q_STAFF_INVITE_TOKEN);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_int(r->db, st, ":sid", sid);
	db_bind_int(r->db, st, ":expires", now_unix() + INVITE_TTL);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "invite token insert failed");
	me = *r->principal[SESS_STAFF]->name ? r->principal[SESS_STAFF]->name :
	    r->principal[SESS_STAFF]->email;
	v = json_object_new_object();
	json_object_object_add(v, "link", json_object_new_string(
	    arena_printf(r->a, "%s/admin/invite/%s", r->app->conf.base_url, tok)));
	json_object_object_add(v, "name", json_object_new_string(name));
	json_object_object_add(v, "inviter", json_object_new_string(me));
	json_object_object_add(v, "role", json_object_new_string(label));
	json_object_object_add(v, "site_name", json_object_new_string(shop_name(r->db, r->a, &r->app->conf)));
	job = mailq_add(r, email, "emails/invite", v,
	    arena_printf(r->a, "invite:%lld:%s", (long long)sid, r->id));
	req_audit(r, "staff.invited", staff_target(r, sid), "%s as %s", email,
	    form_get(r, "role"));
	db_commit(r->db);
	spool_wake(&r->app->conf, job, "email");
	done(r, "invited");
}

/*
 * POST /admin/staff/{id:int}/disable — csrf.  The account can no longer
 * sign in and every session of it ends.  303; 404, 409 (oneself, the
 * last active super admin, already disabled), 403 (a role above one's
 * own); 303 to /admin/reauth.
 */
void
admin_staff_disable_post(struct request *r)
{
	struct staff_row t;
	struct stmt *st;

	if (!target_begin(r, &t))
		return;
	if (last_super_admin(r, &t)) {
		db_rollback(r->db);
		staff_page(r, 409, "This is the last active super admin: it cannot be disabled.");
		return;
	}
	st = db_q(r->db, Q_STAFF_DISABLE);
	db_bind_int(r->db, st, ":id", t.id);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		db_rollback(r->db);
		staff_page(r, 409, "That account is disabled already.");
		return;
	}
	session_end_all(r, SESS_STAFF, t.id, 0);
	req_audit(r, "staff.disabled", staff_target(r, t.id), "%s; sessions ended", t.email);
	db_commit(r->db);
	done(r, "disabled");
}

/* POST /admin/staff/{id:int}/enable — csrf.  A disabled account may sign
 * in again (or accept its invitation, if it never did).  303; 404, 409,
 * 403; 303 to /admin/reauth. */
void
admin_staff_enable_post(struct request *r)
{
	struct staff_row t;
	struct stmt *st;

	if (!target_begin(r, &t))
		return;
	st = db_q(r->db, Q_STAFF_ENABLE);
	db_bind_int(r->db, st, ":id", t.id);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		db_rollback(r->db);
		staff_page(r, 409, "That account is not disabled.");
		return;
	}
	req_audit(r, "staff.enabled", staff_target(r, t.id), "%s", t.email);
	db_commit(r->db);
	done(r, "enabled");
}

static const struct field admin_staff_role_fields[] = {
	{ "role", FK_TEXT, FIELD_REQUIRED, 0, 64 },
};
const struct form admin_staff_role_form = { FORM(admin_staff_role_fields) };

/*
 * POST /admin/staff/{id:int}/role — role, csrf.  A privilege change:
 * every session of the target ends, so the new role starts with a new
 * sign-in.  303; 400 (unknown role), 404, 409 (oneself, the last active
 * super admin), 403 (a role above one's own, either side); 303 to
 * /admin/reauth.
 */
void
admin_staff_role_post(struct request *r)
{
	struct staff_row t;
	struct stmt *st;
	const char *name = form_get(r, "role");
	int64_t	 role;

	if (!target_begin(r, &t))
		return;
	if ((role = role_id(r, name, NULL)) == 0) {
		db_rollback(r->db);
		staff_page(r, 400, "Please choose a role.");
		return;
	}
	if (role == t.role_id) {
		db_rollback(r->db);
		done(r, "role");
		return;
	}
	if (role_exceeds_mine(r, role)) {
		db_rollback(r->db);
		staff_page(r, 403, "That role has permissions yours lacks, so you cannot grant it.");
		return;
	}
	if (strcmp(name, "super_admin") != 0 && last_super_admin(r, &t)) {
		db_rollback(r->db);
		staff_page(r, 409, "This is the last active super admin: it cannot be demoted.");
		return;
	}
	st = db_q(r->db, Q_STAFF_SET_ROLE);
	db_bind_int(r->db, st, ":id", t.id);
	db_bind_int(r->db, st, ":role", role);
	db_step(r->db, st);
	session_end_all(r, SESS_STAFF, t.id, 0);
	req_audit(r, "staff.role_changed", staff_target(r, t.id), "%s: %s to %s; sessions ended",
	    t.email, t.role, name);
	db_commit(r->db);
	done(r, "role");
}

/*
 * POST /admin/staff/{id:int}/reset-2fa — csrf (security.manage).  Drops
 * the TOTP seed, its last step and the recovery codes, and ends every
 * session: the next sign-in goes to enrolment; the staff member is
 * mailed a notice.  303; 404, 409, 403; 303 to /admin/reauth.
 */
void
admin_staff_reset_2fa_post(struct request *r)
{
	struct staff_row t;
	struct json_object *v;
	int64_t	 job;
	int64_t	 npk;

	if (!target_begin(r, &t))
		return;
	mfa_remove(r, SESS_STAFF, t.id);
	/* Passkeys are second factors too: a reset takes them all. */
	npk = pk_remove_all(r, SESS_STAFF, t.id);
	session_end_all(r, SESS_STAFF, t.id, 0);
	throttle_clear(r, staff_2fa_key(r, t.id));
	req_audit(r, "2fa.reset", staff_target(r, t.id), "%s: TOTP, recovery codes and %lld passkey%s removed; "
	    "sessions ended", t.email, (long long)npk, npk == 1 ? "" : "s");
	/* The owner hears of it (V2.5.5): a reset they did not ask for is
	 * an admin account being taken over. */
	v = notice_vars(r);
	json_object_object_add(v, "by", json_object_new_string(r->principal[SESS_STAFF]->email));
	job = notice_queue(r, SESS_STAFF, t.id, "emails/staff_2fa_reset", v,
	    arena_printf(r->a, "2fa-reset:%lld:%s", (long long)t.id, r->id));
	db_commit(r->db);
	if (job)
		spool_wake(&r->app->conf, job, "email");
	done(r, "reset");
}

/* ---- the invitee ---- */

/* The live invitation named by {token}: token row id, staff id, email. */
static int
invite_find(struct request *r, int64_t *tid, int64_t *sid, const char **email,
    const char **name)
{
	unsigned char h[32];
	struct stmt *st = db_q(r->db, Q_STAFF_INVITE_FIND);
	int	 ok = 0;

	token_hash(req_param(r, "token"), h);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_int(r->db, st, ":now", now_unix());
	if (db_step(r->db, st) == DB_ROW) {
		*tid = db_int(st, 0);
		*sid = db_int(st, 1);
		*email = db_text(r->db, st, 2);
		*name = db_text(r->db, st, 3);
		ok = 1;
	}
	db_reset(st);
	return ok;
}

static void
invite_form(struct request *r, const char *email, const char *name, const char *error)
{
	struct vm *vm = page_vm(r, "Join the staff");

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "token", req_param(r, "token"));
	vm_set(vm, "email", email);
	vm_set(vm, "name", name);
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/admin/invite", vm);
}

static void
invite_gone(struct request *r)
{
	admin_message(r, 410, "Invitation expired",
	    "This invitation has expired or was used already. Ask an admin for a new one.",
	    "/admin/login", "Staff sign-in");
}

/* GET /admin/invite/{token} — 200 with the password form; 410 when the
 * invitation is unknown, spent, expired or its account not invited. */
void
admin_invite(struct request *r)
{
	int64_t	 tid, sid;
	const char *email, *name;

	if (!invite_find(r, &tid, &sid, &email, &name)) {
		invite_gone(r);
		return;
	}
	invite_form(r, email, name, NULL);
}

static const struct field admin_invite_fields[] = {
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
};
const struct form admin_invite_form = { FORM(admin_invite_fields) };

/*
 * POST /admin/invite/{token} — password, csrf.  The password must pass
 * the policy; the token is spent and the account becomes active (TOTP
 * enrolment follows at the first sign-in).  200 with a message; 200
 * with the form for a refused password; 410 as the GET; 503 when no hash
 * slot came free.
 */
void
admin_invite_post(struct request *r)
{
	const char *pw = form_get(r, "password"), *email, *name, *why;
	int64_t	 tid, sid;
	char	 phc[PHC_MAX];
	struct stmt *st;

	if (!invite_find(r, &tid, &sid, &email, &name)) {
		invite_gone(r);
		return;
	}
	if ((why = password_policy(&r->app->conf, pw ? pw : "", email)) != NULL) {
		invite_form(r, email, name, why);
		return;
	}
	if (password_hash(&r->app->conf, pw, phc) != 0)
		req_fail(r, 503, "The server is busy. Please try again in a moment.");
	db_begin(r->db);
	/* Again inside the transaction: two tabs may race for one token. */
	if (!invite_find(r, &tid, &sid, &email, &name)) {
		db_rollback(r->db);
		invite_gone(r);
		return;
	}
	st = db_q(r->db, Q_EMAIL_TOKEN_USE);
	db_bind_int(r->db, st, ":id", tid);
	db_step(r->db, st);
	st = db_q(r->db, Q_STAFF_ACTIVATE);
	db_bind_int(r->db, st, ":id", sid);
	db_bind_text(r->db, st, ":hash", phc);
	db_step(r->db, st);
	if (db_changes(r->db) != 1) {
		db_rollback(r->db);
		invite_gone(r);
		return;
	}
	req_audit(r, "staff.invite_accepted", staff_target(r, sid), "%s", email);
	db_commit(r->db);
	admin_message(r, 200, "Welcome aboard",
	    "Your password is set. Sign in now: you will set up two-factor sign-in first.",
	    "/admin/login", "Staff sign-in");
}
