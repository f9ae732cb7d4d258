/*
 * notice.c: security notices by mail (see notice.h).
 *
 * Why a device cookie for "sign-in from a new device" and not a
 * fingerprint of User-Agent and address prefix: the fingerprint changes
 * with every browser update and mobile network, so staff would learn to
 * ignore the mail, and anyone who knows the victim's browser can match
 * it.  The cookie is 128 random bits (only its SHA-256 is stored in
 * staff_devices, migration 026), HttpOnly, __Host- prefixed over TLS,
 * and kept for 400 days; clearing cookies or a private window makes the
 * next sign-in "new", which errs on the side of telling.  One cookie
 * serves every staff member who signs in from that browser.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "http.h"
#include "mailq.h"
#include "notice.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "spool.h"
#include "ui.h"
#include "util.h"


struct json_object *
notice_vars(struct request *r)
{
	struct json_object *v = json_object_new_object();
	char	 when[32];

	time_human(when, now_unix());
	json_object_object_add(v, "site_name", json_object_new_string(shop_name(r->db, r->a, &r->app->conf)));
	json_object_object_add(v, "when", json_object_new_string(when));
	json_object_object_add(v, "ip", json_object_new_string(r->remote_addr ? r->remote_addr : "unknown"));
	json_object_object_add(v, "browser", json_object_new_string(ui_ua(r, r->user_agent)));
	return v;
}

int64_t
notice_queue(struct request *r, enum sess_kind k, int64_t id, const char *tmpl,
    struct json_object *vars, const char *idem)
{
	struct stmt *st;
	const char *to = NULL, *name = "";

	if (k == SESS_CUSTOMER) {
		st = db_q(r->db, Q_ACCT_CUSTOMER);
		db_bind_int(r->db, st, ":id", id);
		if (db_step(r->db, st) == DB_ROW) {
			to = db_text(r->db, st, 0);
			name = db_text(r->db, st, 1);
		}
	} else {
		st = db_q(r->db, Q_STAFF_GET);
		db_bind_int(r->db, st, ":id", id);
		if (db_step(r->db, st) == DB_ROW) {
			to = db_text(r->db, st, 1);
			name = db_text(r->db, st, 2);
		}
	}
	db_reset(st);
	if (to == NULL) {
		json_object_put(vars);
		return 0;
	}
	json_object_object_add(vars, "name", json_object_new_string(*name ? name : to));
	json_object_object_add(vars, "account_url", json_object_new_string(arena_printf(r->a, "%s%s",
	    r->app->conf.base_url, k == SESS_CUSTOMER ? "/account/sessions" : "/admin/account")));
	return mailq_add(r, to, tmpl, vars, idem);
}

void
notice_totp_reused(struct request *r, enum sess_kind k, int64_t id, int64_t step)
{
	const char *kind = k == SESS_CUSTOMER ? "customer" : "staff";
	int	 own = !db_in_tx(r->db);
	int64_t	 job;

	if (own)
		db_begin(r->db);
	/* One mail per step: a replay flood within 30 seconds is one notice. */
	job = notice_queue(r, k, id, "emails/totp_reused", notice_vars(r),
	    arena_printf(r->a, "totp-reused:%s:%lld:%lld", kind, (long long)id, (long long)step));
	req_audit(r, "2fa.reuse_refused", arena_printf(r->a, "%s:%lld", kind, (long long)id),
	    "a TOTP code of step %lld offered again; the owner is told", (long long)step);
	if (own) {
		db_commit(r->db);
		if (job)
			spool_wake(&r->app->conf, job, "email");
	}
}

static const char *
device_cookie_name(const struct request *r)
{
	return r->https ? "__Host-px_dev" : "px_dev";
}

static int
is_token(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != 32)
		return 0;
	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int64_t
staff_device_seen(struct request *r, int64_t sid)
{
	const char *tok = req_cookie(r, device_cookie_name(r));
	const char *ua = r->user_agent ? r->user_agent : "";
	const char *ip = r->remote_addr ? r->remote_addr : "";
	char	 fresh[33];
	unsigned char h[32];
	struct stmt *st;
	int64_t	 known, now = now_unix();

	ua = arena_strndup(r->a, ua, strlen(ua) > 512 ? 512 : strlen(ua));
	if (!is_token(tok)) {
		token_new(fresh);
		tok = arena_strdup(r->a, fresh);
	}
	/* Sent again each time: the 400 days count from the last sign-in. */
	set_cookie(r, device_cookie_name(r), tok, DEVICE_COOKIE_AGE);
	token_hash(tok, h);
	st = db_q(r->db, Q_AF_DEVICE_TOUCH);
	db_bind_int(r->db, st, ":sid", sid);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_text(r->db, st, ":ip", ip);
	db_bind_text(r->db, st, ":ua", ua);
	db_bind_int(r->db, st, ":now", now);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "staff device touch failed");
	if (db_changes(r->db) == 1)
		return 0;
	st = db_q(r->db, Q_AF_DEVICE_COUNT);
	db_bind_int(r->db, st, ":sid", sid);
	known = db_one_int(r->db, st, 0);
	st = db_q(r->db, Q_AF_DEVICE_ADD);
	db_bind_int(r->db, st, ":sid", sid);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_text(r->db, st, ":ip", ip);
	db_bind_text(r->db, st, ":ua", ua);
	db_bind_int(r->db, st, ":now", now);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "staff device insert failed");
	if (known == 0)
		return 0;
	req_audit(r, "login.new_device", arena_printf(r->a, "staff:%lld", (long long)sid),
	    "from %s; the staff member is told", ip);
	return notice_queue(r, SESS_STAFF, sid, "emails/staff_new_device", notice_vars(r),
	    arena_printf(r->a, "newdev:%lld:%s", (long long)sid, r->id));
}
