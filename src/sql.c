/*
 * sql.c: the statement table.  Values reach SQL only through named
 * bind parameters (":name"); nothing here is ever built with printf.
 *
 * The catalog filter is one statement with optional parameters: a NULL
 * bind disables that filter, which keeps one prepared statement per
 * sort order instead of one per combination of filters.
 */
#include "sql.h"

#define PLAN_COLS \
	"p.slug, p.name, p.description, p.protocol, p.price_minor, p.currency, " \
	"p.duration_days, p.traffic_bytes, p.device_limit, " \
	"coalesce(s.country_code, p.country_code, ''), " \
	"coalesce(s.country, (SELECT min(x.country) FROM servers x WHERE x.country_code = p.country_code), ''), " \
	"coalesce(s.city, ''), c.name, b.name, p.stock "

#define PLAN_FROM \
	"FROM plans p LEFT JOIN servers s ON s.id = p.server_id " \
	"LEFT JOIN server_categories c ON c.id = p.category_id " \
	"LEFT JOIN server_brands b ON b.id = p.brand_id "

#define PLAN_FILTER \
	"WHERE p.active = 1 AND (s.id IS NULL OR s.state <> 'disabled') " \
	"AND (:category IS NULL OR c.slug = :category) " \
	"AND (:brand IS NULL OR b.slug = :brand) " \
	"AND (:country IS NULL OR coalesce(s.country_code, p.country_code) = :country) " \
	"AND (:protocol IS NULL OR p.protocol = :protocol) "

#define PLAN_PAGE " LIMIT :limit OFFSET :offset"

/* Job kinds that call a payment gateway: one lane, and first in line. */
/* Whether order item i of order o may be renewed (Q_ORDER_ITEMS_RENEW ...). */
#define RENEWABLE \
	"(o.state IN ('paid','provisioning','active','completed') AND i.state NOT IN ('failed','cancelled'))"
#define JOB_GATEWAY_KINDS \
	"('payment_create','payment_capture','refund','gateway_followup')"

/* A payment as payment.c reads it (payment.c, pay_read). */
#define PAY_COLS \
	"id, public_id, coalesce(order_id, 0), customer_id, gateway, purpose, " \
	"coalesce(gateway_ref, ''), coalesce(gateway_ref2, ''), amount_minor, currency, " \
	"coalesce(received_minor, -1), state, refunded_minor, held_reason, coalesce(fulfilled_at, 0), " \
	"idempotency_key, coalesce(checkout_url, ''), last_error, coalesce(expires_at, 0), created_at "

/* A payment p that keeps its pending order from expiring (cron orders):
 * still open and not past its own expiry, or paid and held for staff. */
#define PAY_HOLDS_ORDER \
	"((p.state IN ('created','pending','partially_paid') AND coalesce(p.expires_at, 0) > :now) " \
	"OR (p.held_reason <> '' AND p.fulfilled_at IS NULL))"

/* The due jobs whose lane has room (work.c): the claim takes the first,
 * and a runner that took one asks whether another is waiting. */
#define JOB_CLAIMABLE \
	"FROM jobs j LEFT JOIN servers s ON s.id = j.server_id " \
	"WHERE ((j.state = 'pending' AND j.next_attempt_at <= :now) OR " \
	"(j.state = 'running' AND j.lease_until < :now)) " \
	"AND (j.server_id IS NULL OR (" \
	"(SELECT count(*) FROM jobs r WHERE r.server_id = j.server_id AND r.state = 'running' " \
	"AND r.lease_until >= :now) < min(coalesce(s.max_concurrency, 1), :panel_each) AND " \
	"(SELECT count(*) FROM jobs r WHERE r.server_id IS NOT NULL AND r.state = 'running' " \
	"AND r.lease_until >= :now) < :panel_cap)) " \
	"AND (j.kind <> 'email' OR (SELECT count(*) FROM jobs r WHERE r.kind = 'email' AND " \
	"r.state = 'running' AND r.lease_until >= :now) < :mail_lanes) " \
	"AND (j.kind NOT IN " JOB_GATEWAY_KINDS " OR (SELECT count(*) FROM jobs r WHERE r.kind IN " \
	JOB_GATEWAY_KINDS " AND r.state = 'running' AND r.lease_until >= :now) < :gateway_lanes) "

#define AMAIL_COLS "SELECT j.id, j.state, j.attempts, j.next_attempt_at, j.last_error, j.created_at, " \
    "j.payload, j.idem_key, coalesce(CASE WHEN json_valid(j.payload) THEN json_extract(j.payload, '$.to') END, ''), " \
    "coalesce(CASE WHEN json_valid(j.payload) THEN json_extract(j.payload, '$.template') END, ''), " \
    "m.subject, m.message_id, m.reply, m.sent_at FROM jobs j LEFT JOIN mail_log m ON m.job_id = j.id "

const char *const sql_text[Q__MAX] = {
	[Q_HEALTH_PING] = "SELECT count(*) FROM schema_migrations",
	[Q_JOBS_FAILED_COUNT] = "SELECT count(*) FROM jobs WHERE state = 'failed'",
	[Q_JOBS_PENDING_COUNT] = "SELECT count(*) FROM jobs WHERE state IN ('pending','running')",
	/* spool_enqueue: an existing idempotency key is not an error; the
	 * id is then read by key (RETURNING yields no row on conflict).  A
	 * NULL :run_at means now; the age limit starts at the first due time. */
	[Q_JOB_ENQUEUE] = "INSERT INTO jobs(kind, idem_key, payload, server_id, next_attempt_at, age_from) "
	    "VALUES (:kind, :idem_key, :payload, :server_id, coalesce(:run_at, unixepoch()), "
	    "coalesce(:run_at, unixepoch())) ON CONFLICT(idem_key) DO NOTHING",
	[Q_JOB_ID_BY_IDEM] = "SELECT id FROM jobs WHERE idem_key = :idem_key",
	[Q_PLANS_FEATURED] = "SELECT " PLAN_COLS PLAN_FROM
	    "WHERE p.active = 1 AND p.featured = 1 AND (s.id IS NULL OR s.state <> 'disabled') "
	    "ORDER BY p.sort, p.price_minor LIMIT 6",
	[Q_PLANS_COUNT] = "SELECT count(*) " PLAN_FROM PLAN_FILTER,
	[Q_PLANS_PAGE_PRICE_ASC] = "SELECT " PLAN_COLS PLAN_FROM PLAN_FILTER
	    "ORDER BY p.price_minor, p.id" PLAN_PAGE,
	[Q_PLANS_PAGE_PRICE_DESC] = "SELECT " PLAN_COLS PLAN_FROM PLAN_FILTER
	    "ORDER BY p.price_minor DESC, p.id" PLAN_PAGE,
	[Q_PLANS_PAGE_TRAFFIC_DESC] = "SELECT " PLAN_COLS PLAN_FROM PLAN_FILTER
	    "ORDER BY p.traffic_bytes = 0 DESC, p.traffic_bytes DESC, p.id" PLAN_PAGE,
	[Q_PLANS_PAGE_NAME] = "SELECT " PLAN_COLS PLAN_FROM PLAN_FILTER
	    "ORDER BY p.sort, p.name, p.id" PLAN_PAGE,
	[Q_PLAN_BY_SLUG] = "SELECT " PLAN_COLS PLAN_FROM
	    "WHERE p.slug = :slug AND p.active = 1",
	[Q_CATEGORIES] = "SELECT slug, name FROM server_categories WHERE active = 1 ORDER BY sort, name",
	[Q_BRANDS] = "SELECT slug, name FROM server_brands WHERE active = 1 ORDER BY sort, name",
	/* A location counts the plans bound to its server and the pool
	 * plans (no inbound) whose pool takes it in: by server, category
	 * and country, each where set. */
	[Q_LOCATIONS] = "SELECT s.country_code, s.country, s.city, count(p.id) "
	    "FROM servers s LEFT JOIN plans p ON p.active = 1 AND (p.server_id = s.id OR "
	    "(p.server_id IS NULL AND p.inbound_id IS NULL "
	    "AND (p.category_id IS NULL OR p.category_id = s.category_id) "
	    "AND (p.country_code IS NULL OR p.country_code = s.country_code))) "
	    "WHERE s.state <> 'disabled' GROUP BY s.id ORDER BY s.country, s.city",
	[Q_COUNTRIES] = "SELECT country_code, min(country) FROM servers "
	    "WHERE state <> 'disabled' GROUP BY country_code ORDER BY 2",
	[Q_SESSION_CUSTOMER] = "SELECT s.id, s.customer_id, s.csrf_token, s.mfa_ok, s.created_at, "
	    "s.last_seen_at, coalesce(s.reauth_at, 0), c.email, c.name, c.totp_enabled_at IS NOT NULL, "
	    "c.email_verified_at IS NOT NULL, c.state "
	    "FROM sessions s JOIN customers c ON c.id = s.customer_id "
	    "WHERE s.token_hash = :hash AND s.kind = 'customer'",
	[Q_SESSION_STAFF] = "SELECT s.id, s.staff_id, s.csrf_token, s.mfa_ok, s.created_at, "
	    "s.last_seen_at, coalesce(s.reauth_at, 0), st.email, st.name, st.totp_enabled_at IS NOT NULL, "
	    "1, st.state, r.name "
	    "FROM sessions s JOIN staff st ON st.id = s.staff_id JOIN roles r ON r.id = st.role_id "
	    "WHERE s.token_hash = :hash AND s.kind = 'staff'",
	[Q_SESSION_TOUCH] = "UPDATE sessions SET last_seen_at = :now WHERE id = :id",
	[Q_SESSION_DELETE] = "DELETE FROM sessions WHERE id = :id",
	[Q_SESSION_INSERT] = "INSERT INTO sessions (token_hash, kind, customer_id, staff_id, csrf_token, "
	    "mfa_ok, created_at, last_seen_at, expires_at, ip, user_agent) VALUES (:hash, :kind, :cid, "
	    ":sid, :csrf, :mfa, :now, :now, :expires, :ip, :ua)",
	[Q_SESSION_DELETE_CUSTOMER_ALL] = "DELETE FROM sessions WHERE customer_id = :uid AND id <> :keep",
	[Q_SESSION_DELETE_STAFF_ALL] = "DELETE FROM sessions WHERE staff_id = :uid AND id <> :keep",
	[Q_SESSION_REAUTH] = "UPDATE sessions SET reauth_at = :now WHERE id = :id",
	[Q_STAFF_PERMS] = "SELECT p.name FROM staff s JOIN role_permissions rp ON rp.role_id = s.role_id "
	    "JOIN permissions p ON p.id = rp.permission_id WHERE s.id = :id ORDER BY p.name",
	/* The one audit writer (audit.c): actor_kind is the schema's coarse
	 * class, actor the name ("cli", "system", "webhook:stripe", ...). */
	[Q_AUDIT_INSERT] = "INSERT INTO audit_log (actor_kind, actor, actor_id, action, target, detail, "
	    "ip, request_id) VALUES (:kind, :who, :actor, :action, :target, :detail, :ip, :rid)",
	[Q_TOKEN_BY_HASH] = "SELECT t.id, t.customer_id, t.staff_id, t.scopes, t.expires_at, t.revoked_at, "
	    "coalesce(t.last_used_at, 0), coalesce(c.email, s.email), coalesce(c.name, s.name), "
	    "coalesce(c.state, s.state) FROM api_tokens t LEFT JOIN customers c ON c.id = t.customer_id "
	    "LEFT JOIN staff s ON s.id = t.staff_id WHERE t.token_hash = :hash",
	[Q_TOKEN_TOUCH] = "UPDATE api_tokens SET last_used_at = :now WHERE id = :id",
	/* Personal access tokens (page_tokens.c).  The owner is ":cid, :sid" with
	 * the other one NULL; "IS" compares NULLs, so one statement serves
	 * both kinds and a row of the other kind never matches. */
	[Q_API_TOKEN_LIST] = "SELECT id, name, prefix, scopes, created_at, expires_at, last_used_at, "
	    "revoked_at FROM api_tokens WHERE customer_id IS :cid AND staff_id IS :sid "
	    "ORDER BY revoked_at IS NOT NULL, id DESC LIMIT 200",
	[Q_API_TOKEN_COUNT_LIVE] = "SELECT count(*) FROM api_tokens WHERE customer_id IS :cid "
	    "AND staff_id IS :sid AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now)",
	[Q_API_TOKEN_INSERT] = "INSERT INTO api_tokens (token_hash, prefix, name, customer_id, staff_id, "
	    "scopes, created_at, expires_at) VALUES (:hash, :prefix, :name, :cid, :sid, :scopes, :now, :expires)",
	[Q_API_TOKEN_GET] = "SELECT id, name, prefix, revoked_at FROM api_tokens "
	    "WHERE id = :id AND customer_id IS :cid AND staff_id IS :sid",
	[Q_API_TOKEN_REVOKE] = "UPDATE api_tokens SET revoked_at = :now "
	    "WHERE id = :id AND customer_id IS :cid AND staff_id IS :sid AND revoked_at IS NULL",
	[Q_API_TOKEN_INFO] = "SELECT prefix, expires_at, created_at FROM api_tokens WHERE id = :id",
	[Q_TOKEN_OWNER_PHC_CUSTOMER] = "SELECT password_hash FROM customers WHERE id = :id AND state = 'active'",
	[Q_TOKEN_OWNER_PHC_STAFF] = "SELECT password_hash FROM staff WHERE id = :id AND state = 'active'",
	[Q_THROTTLE_GET] = "SELECT failures, locked_until FROM login_throttle WHERE key = :key",
	[Q_THROTTLE_PUT] = "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) "
	    "VALUES (:key, :fails, :now, :until) ON CONFLICT (key) DO UPDATE SET "
	    "failures = excluded.failures, last_failure_at = excluded.last_failure_at, "
	    "locked_until = excluded.locked_until",
	[Q_THROTTLE_CLEAR] = "DELETE FROM login_throttle WHERE key = :key",
	/* signin.c counts an attempt before hashing and takes it back after
	 * a success. */
	[Q_THROTTLE_UNDO] = "UPDATE login_throttle SET failures = max(failures - 1, 0) WHERE key = :key",
	/* Mail-sending forms (throttle.c): fixed hour and day windows per
	 * key; a window that ended starts again at :now with a count of 1.
	 * In an UPDATE every right-hand side sees the old row. */
	[Q_MAIL_THROTTLE_PRUNE] = "DELETE FROM mail_throttle WHERE day_start <= :now - 86400",
	[Q_MAIL_THROTTLE_HOUR] = "SELECT CASE WHEN hour_start > :now - 3600 THEN hour_count ELSE 0 END "
	    "FROM mail_throttle WHERE key = :key",
	[Q_MAIL_THROTTLE_COUNT] = "INSERT INTO mail_throttle (key, hour_start, hour_count, day_start, day_count) "
	    "VALUES (:key, :now, 1, :now, 1) ON CONFLICT (key) DO UPDATE SET "
	    "hour_count = CASE WHEN hour_start <= :now - 3600 THEN 1 ELSE hour_count + 1 END, "
	    "hour_start = CASE WHEN hour_start <= :now - 3600 THEN :now ELSE hour_start END, "
	    "day_count = CASE WHEN day_start <= :now - 86400 THEN 1 ELSE day_count + 1 END, "
	    "day_start = CASE WHEN day_start <= :now - 86400 THEN :now ELSE day_start END "
	    "RETURNING hour_count, day_count",
	[Q_EMAIL_TOKEN_INSERT] = "INSERT INTO email_tokens (token_hash, purpose, customer_id, new_email, expires_at) VALUES (:hash, :purpose, :cid, :new_email, :expires)",
	[Q_EMAIL_TOKEN_FIND] = "SELECT id, customer_id, coalesce(new_email, '') FROM email_tokens WHERE token_hash = :hash AND purpose = :purpose AND used_at IS NULL AND expires_at > :now",
	[Q_EMAIL_TOKEN_USE] = "UPDATE email_tokens SET used_at = unixepoch() WHERE id = :id AND used_at IS NULL",
	[Q_CUSTOMER_INSERT] = "INSERT INTO customers (email, name, password_hash, currency) VALUES (:email, :name, :hash, :currency)",
	[Q_WALLET_CREATE] = "INSERT INTO wallets (customer_id, currency) VALUES (:cid, :currency)",
	[Q_CUSTOMER_BY_EMAIL] = "SELECT id, password_hash, totp_enabled_at, state, name FROM customers WHERE email = :email",
	[Q_CUSTOMER_VERIFY] = "UPDATE customers SET email_verified_at = coalesce(email_verified_at, unixepoch()), updated_at = unixepoch() WHERE id = :id",
	[Q_CUSTOMER_SET_EMAIL] = "UPDATE customers SET email = :email, email_verified_at = unixepoch(), updated_at = unixepoch() WHERE id = :id",
	[Q_CUSTOMER_SET_PASSWORD] = "UPDATE customers SET password_hash = :hash, updated_at = unixepoch() WHERE id = :id",
	/* The customer's own account (page_account.c, page_totp.c): every
	 * statement names the customer, so one id cannot reach another's rows. */
	[Q_ACCT_CUSTOMER] = "SELECT c.email, c.name, c.email_verified_at IS NOT NULL, c.totp_enabled_at IS NOT NULL, c.password_hash, c.state, coalesce(w.balance_minor, 0), coalesce(w.currency, c.currency), c.created_at FROM customers c LEFT JOIN wallets w ON w.customer_id = c.id WHERE c.id = :id",
	[Q_ACCT_SET_NAME] = "UPDATE customers SET name = :name, updated_at = unixepoch() WHERE id = :id",
	[Q_ACCT_TOKENS_SPEND] = "UPDATE email_tokens SET used_at = unixepoch() WHERE customer_id = :cid AND purpose = :purpose AND used_at IS NULL",
	[Q_ACCT_TOKENS_SPEND_ALL] = "UPDATE email_tokens SET used_at = unixepoch() WHERE customer_id = :cid AND used_at IS NULL",
	[Q_ACCT_SESSIONS] = "SELECT id, created_at, last_seen_at, ip, user_agent FROM sessions WHERE customer_id = :cid AND kind = 'customer' AND expires_at > :now AND last_seen_at > :idle ORDER BY last_seen_at DESC, id DESC LIMIT 100",
	[Q_ACCT_SESSION_REVOKE] = "DELETE FROM sessions WHERE id = :id AND customer_id = :cid AND kind = 'customer'",
	[Q_ACCT_DELETE] = "UPDATE customers SET state = 'deleted', email = 'deleted-' || id || '@invalid', name = '', password_hash = :hash, totp_sealed = NULL, totp_enabled_at = NULL, email_verified_at = NULL, updated_at = unixepoch() WHERE id = :id AND state = 'active'",
	[Q_ACCT_API_TOKENS_REVOKE] = "UPDATE api_tokens SET revoked_at = unixepoch() WHERE customer_id = :cid AND revoked_at IS NULL",
	[Q_ACCT_TOTP_GET] = "SELECT totp_sealed, totp_enabled_at IS NOT NULL, totp_last_step FROM customers WHERE id = :id",
	[Q_ACCT_TOTP_SET_PENDING] = "UPDATE customers SET totp_sealed = :sealed, updated_at = unixepoch() WHERE id = :id AND totp_enabled_at IS NULL",
	[Q_ACCT_TOTP_USE_STEP] = "UPDATE customers SET totp_last_step = :step WHERE id = :id AND totp_last_step < :step",
	[Q_ACCT_TOTP_ENABLE] = "UPDATE customers SET totp_enabled_at = unixepoch(), updated_at = unixepoch() WHERE id = :id AND totp_enabled_at IS NULL AND totp_sealed IS NOT NULL",
	[Q_ACCT_TOTP_DISABLE] = "UPDATE customers SET totp_sealed = NULL, totp_enabled_at = NULL, updated_at = unixepoch() WHERE id = :id",
	[Q_ACCT_RC_DELETE] = "DELETE FROM recovery_codes WHERE customer_id = :cid",
	[Q_ACCT_RC_INSERT] = "INSERT INTO recovery_codes (customer_id, code_hash, salt) VALUES (:cid, :hash, :salt)",
	[Q_ACCT_RC_UNUSED] = "SELECT id, code_hash, salt FROM recovery_codes WHERE customer_id = :cid AND used_at IS NULL AND salt IS NOT NULL",
	[Q_ACCT_RC_USE] = "UPDATE recovery_codes SET used_at = unixepoch() WHERE id = :id AND used_at IS NULL",
	[Q_ACCT_RC_LEFT] = "SELECT count(*) FROM recovery_codes WHERE customer_id = :cid AND used_at IS NULL",
	/* the staff panels (admin*.c) */
	[Q_STAFF_BY_EMAIL] = "SELECT id, password_hash, totp_enabled_at IS NOT NULL, state, name FROM staff WHERE email "
	    "= :email",
	[Q_STAFF_GET] = "SELECT s.id, s.email, s.name, s.state, r.name, s.password_hash, s.totp_enabled_at IS NOT "
	    "NULL, s.role_id FROM staff s JOIN roles r ON r.id = s.role_id WHERE s.id = :id",
	[Q_STAFF_SET_PASSWORD] = "UPDATE staff SET password_hash = :hash, updated_at = unixepoch() WHERE id = :id",
	[Q_STAFF_TOTP_GET] = "SELECT totp_sealed, totp_enabled_at IS NOT NULL, totp_last_step FROM staff WHERE id = :id",
	[Q_STAFF_TOTP_PENDING] = "UPDATE staff SET totp_sealed = :sealed, totp_last_step = 0, updated_at = unixepoch() "
	    "WHERE id = :id AND totp_enabled_at IS NULL",
	[Q_STAFF_TOTP_ENABLE] = "UPDATE staff SET totp_enabled_at = unixepoch(), totp_last_step = :step, updated_at = "
	    "unixepoch() WHERE id = :id AND totp_enabled_at IS NULL AND totp_sealed IS NOT NULL AND "
	    "totp_last_step < :step",
	[Q_STAFF_TOTP_STEP] = "UPDATE staff SET totp_last_step = :step WHERE id = :id AND totp_enabled_at IS NOT NULL "
	    "AND totp_last_step < :step",
	[Q_STAFF_TOTP_RESET] = "UPDATE staff SET totp_sealed = NULL, totp_enabled_at = NULL, totp_last_step = 0, "
	    "updated_at = unixepoch() WHERE id = :id",
	[Q_STAFF_RC_DELETE] = "DELETE FROM recovery_codes WHERE staff_id = :sid",
	[Q_STAFF_RC_INSERT] = "INSERT INTO recovery_codes (staff_id, code_hash, salt) VALUES (:sid, :hash, :salt)",
	[Q_STAFF_RC_UNUSED] = "SELECT id, code_hash, salt FROM recovery_codes WHERE staff_id = :sid AND used_at IS NULL "
	    "ORDER BY id",
	[Q_STAFF_RC_USE] = "UPDATE recovery_codes SET used_at = unixepoch() WHERE id = :id AND staff_id = :sid AND "
	    "used_at IS NULL",
	[Q_STAFF_LIST] = "SELECT s.id, s.email, s.name, r.name, r.label, s.state, s.totp_enabled_at IS NOT NULL, "
	    "(SELECT max(a.at) FROM audit_log a WHERE a.target = 'staff:' || s.id AND a.action IN "
	    "('login', '2fa.enrolled')), (SELECT count(*) FROM sessions x WHERE x.staff_id = s.id) FROM staff s JOIN "
	    "roles r ON r.id = s.role_id ORDER BY s.state <> 'active', s.email",
	[Q_ROLES] = "SELECT id, name, label FROM roles ORDER BY id",
	[Q_ROLE_BY_NAME] = "SELECT id, label FROM roles WHERE name = :name",
	[Q_ROLE_EXCEEDS] = "SELECT count(*) FROM role_permissions WHERE role_id = :role AND permission_id NOT IN "
	    "(SELECT rp.permission_id FROM staff s JOIN role_permissions rp ON rp.role_id = s.role_id "
	    "WHERE s.id = :actor)",
	[Q_STAFF_INVITE] = "INSERT INTO staff (email, name, password_hash, role_id, state) VALUES (:email, :name, '', "
	    ":role, 'invited')",
	[Q_STAFF_INVITE_TOKEN] = "INSERT INTO email_tokens (token_hash, purpose, staff_id, expires_at) VALUES (:hash, "
	    "'invite', :sid, :expires)",
	[Q_STAFF_INVITE_FIND] = "SELECT t.id, s.id, s.email, s.name FROM email_tokens t JOIN staff s ON s.id = t.staff_id "
	    "WHERE t.token_hash = :hash AND t.purpose = 'invite' AND t.used_at IS NULL AND "
	    "t.expires_at > :now AND s.state = 'invited'",
	[Q_STAFF_ACTIVATE] = "UPDATE staff SET password_hash = :hash, state = 'active', updated_at = unixepoch() WHERE "
	    "id = :id AND state = 'invited'",
	[Q_STAFF_DISABLE] = "UPDATE staff SET state = 'disabled', updated_at = unixepoch() WHERE id = :id AND state <> "
	    "'disabled'",
	[Q_STAFF_ENABLE] = "UPDATE staff SET state = CASE WHEN password_hash = '' THEN 'invited' ELSE 'active' END, "
	    "updated_at = unixepoch() WHERE id = :id AND state = 'disabled'",
	[Q_STAFF_SET_ROLE] = "UPDATE staff SET role_id = :role, updated_at = unixepoch() WHERE id = :id",
	[Q_STAFF_SUPER_ACTIVE] = "SELECT count(*) FROM staff s JOIN roles r ON r.id = s.role_id WHERE r.name = "
	    "'super_admin' AND s.state = 'active'",
	[Q_ADMIN_COUNTS] = "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), (SELECT count(*) "
	    "FROM jobs WHERE state = 'failed'), (SELECT count(*) FROM tickets WHERE state IN "
	    "('open','pending'))",
	[Q_AUDIT_PAGE] = "SELECT a.id, a.at, a.actor_kind, a.actor_id, a.action, a.target, a.detail, a.ip, "
	    "a.request_id, coalesce(s.email, c.email, ''), a.actor FROM audit_log a LEFT JOIN staff s ON "
	    "a.actor_kind = 'staff' AND s.id = a.actor_id LEFT JOIN customers c ON a.actor_kind = "
	    "'customer' AND c.id = a.actor_id WHERE (:action IS NULL OR substr(a.action, 1, "
	    "length(:action)) = :action) AND (:actor IS NULL OR a.actor_kind = :actor OR a.actor = :actor) AND (:target IS "
	    "NULL OR a.target = :target) AND (:from IS NULL OR a.at >= :from) AND (:to IS NULL OR a.at "
	    "< :to) ORDER BY a.id DESC LIMIT :limit OFFSET :offset",
	[Q_THROTTLE_LIST] = "SELECT key, failures, last_failure_at, locked_until FROM login_throttle WHERE failures > "
	    "0 OR locked_until > :now ORDER BY locked_until > :now DESC, last_failure_at DESC LIMIT 200",
	[Q_THROTTLE_EXISTS] = "SELECT count(*) FROM login_throttle WHERE key = :key",
	/* The work daemon and spool recovery (work.c, spool.c). */
	[Q_JOB_STATE] = "SELECT state FROM jobs WHERE id = :id",
	[Q_JOBS_RESET_RUNNING] = "UPDATE jobs SET state = 'pending', "
	    "last_error = 'interrupted: the work daemon stopped during step ' || quote(step), "
	    "updated_at = unixepoch() WHERE state = 'running'",
	[Q_JOBS_LIVE] = "SELECT id, kind FROM jobs WHERE state IN ('pending','running') ORDER BY id",
	/* cron prune (cron.c) */
	[Q_PRUNE_SESSIONS] = "DELETE FROM sessions WHERE expires_at < unixepoch()",
	[Q_PRUNE_EMAIL_TOKENS] = "DELETE FROM email_tokens WHERE coalesce(used_at, expires_at) < unixepoch() - :keep",
	[Q_PRUNE_THROTTLE] = "DELETE FROM login_throttle WHERE locked_until < unixepoch() AND "
	    "last_failure_at < unixepoch() - 86400",
	/* the command line (cmd_db.c, cmd_user.c) */
	[Q_PLANS_TOTAL] = "SELECT count(*) FROM plans",
	[Q_CHECK_WALLETS] = "SELECT count(*) FROM wallets w WHERE w.balance_minor <> "
	    "(SELECT coalesce(sum(amount_minor), 0) FROM wallet_transactions t WHERE t.wallet_id = w.id)",
	[Q_STAFF_CREATE] = "INSERT INTO staff (email, name, password_hash, role_id) "
	    "SELECT :email, :name, :hash, id FROM roles WHERE name = :role",
	[Q_STAFF_LIST_ALL] = "SELECT s.email, r.name, s.state, s.totp_enabled_at IS NOT NULL "
	    "FROM staff s JOIN roles r ON r.id = s.role_id ORDER BY s.email",
	/* Test-only (t/15-dblayer.t, through /_test/db-rollback, `user add
	 * --test-fail-after-audit` and the test job): always breaks a NOT
	 * NULL constraint, on a table every database has. */
	[Q_TEST_CONSTRAINT] = "INSERT INTO schema_migrations (version, name) VALUES (-1, NULL)",
	/* The page cache's validator: bumped by triggers on the tables the
	 * cached pages read (sql/008_catalog_version.sql). */
	[Q_CATALOG_VERSION] = "SELECT version FROM catalog_version WHERE id = 1",
	/*
	 * The work daemon (work.c).  A runner claims the next due job in one
	 * statement under BEGIN IMMEDIATE, so the lane counts it reads
	 * cannot change before its UPDATE: a pending job whose time has
	 * come, or a running one whose runner's lease ran out, as long as
	 * its lane has room.  Running jobs under a live lease fill lanes:
	 * their panel (servers.max_concurrency, and never all the panel
	 * runners: :panel_each), all panels together (:panel_cap, which
	 * keeps a runner for everything else), mail
	 * (:mail_lanes) and payment gateways (:gateway_lanes).  Payment
	 * calls go first, then panel work, then batch work, then mail.
	 */
	[Q_JOB_CLAIM] = "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
	    "claimed_by = :runner, lease_until = :now + :lease, updated_at = :now, "
	    "last_error = CASE WHEN state = 'running' THEN 'lease of ' || coalesce(claimed_by, '?') || "
	    "' ran out during step ' || quote(step) ELSE last_error END "
	    "WHERE id = (SELECT j.id " JOB_CLAIMABLE
	    "ORDER BY CASE WHEN j.kind IN " JOB_GATEWAY_KINDS " THEN 0 WHEN j.server_id IS NOT NULL "
	    "THEN 1 WHEN j.kind = 'email' THEN 3 ELSE 2 END, j.next_attempt_at, j.id LIMIT 1) "
	    "RETURNING id, kind, idem_key, payload, step, attempts, created_at, age_from, "
	    "coalesce(server_id, 0)",
	[Q_JOB_CLAIMABLE] = "SELECT EXISTS (SELECT 1 " JOB_CLAIMABLE ")",
	[Q_JOB_SET_STEP] = "UPDATE jobs SET step = :step WHERE id = :id",
	/* The rest of a runner's writes name its claim (runner and attempt),
	 * so a runner that lost its lease cannot overwrite the new owner's
	 * row: no row comes back, and the caller rolls back. */
	[Q_JOB_STEP] = "UPDATE jobs SET step = :step, lease_until = :now + :lease, updated_at = :now "
	    "WHERE id = :id AND state = 'running' AND claimed_by = :runner AND attempts = :attempts "
	    "RETURNING id",
	[Q_JOB_DONE] = "UPDATE jobs SET state = 'done', step = 'done', result = :result, done_at = :now, "
	    "updated_at = :now, lease_until = NULL, claimed_by = NULL WHERE id = :id AND state = 'running' "
	    "AND claimed_by = :runner AND attempts = :attempts RETURNING id",
	[Q_JOB_RETRY_LATER] = "UPDATE jobs SET state = 'pending', last_error = :error, "
	    "next_attempt_at = :now + :delay, updated_at = :now, lease_until = NULL, claimed_by = NULL "
	    "WHERE id = :id AND state = 'running' AND claimed_by = :runner AND attempts = :attempts "
	    "RETURNING id",
	[Q_JOB_FAIL] = "UPDATE jobs SET state = 'failed', last_error = :error, updated_at = :now, "
	    "lease_until = NULL, claimed_by = NULL WHERE id = :id AND state = 'running' "
	    "AND claimed_by = :runner AND attempts = :attempts RETURNING id",
	/* A runner the master saw die holds nothing any more. */
	[Q_JOB_RELEASE_RUNNER] = "UPDATE jobs SET state = 'pending', lease_until = NULL, claimed_by = NULL, "
	    "last_error = 'interrupted: runner ' || claimed_by || ' died during step ' || quote(step), "
	    "updated_at = :now WHERE state = 'running' AND claimed_by = :runner RETURNING id, kind",
	/* `1000proxy job` (cmd_spool.c). */
	[Q_JOB_LIST] = "SELECT id, kind, state, attempts, step, next_attempt_at, coalesce(server_id, 0), "
	    "last_error, result, created_at FROM jobs WHERE (:state IS NULL OR state = :state) "
	    "AND (:kind IS NULL OR kind = :kind) ORDER BY id DESC LIMIT :limit",
	[Q_JOB_GET] = "SELECT id, kind, state, attempts, step, next_attempt_at, coalesce(server_id, 0), "
	    "last_error, result, created_at, idem_key, payload, age_from, coalesce(done_at, 0), "
	    "coalesce(claimed_by, ''), coalesce(lease_until, 0) FROM jobs WHERE id = :id",
	/* A retry starts the job afresh: due now, backoff from the start,
	 * and the age limit counting from now (not from created_at). */
	[Q_JOB_RETRY] = "UPDATE jobs SET state = 'pending', attempts = 0, next_attempt_at = :now, "
	    "age_from = :now, done_at = NULL, updated_at = :now WHERE id = :id "
	    "AND state IN ('failed','discarded') RETURNING kind",
	/* A running job cannot be discarded: its runner may be mid-call. */
	[Q_JOB_DISCARD] = "UPDATE jobs SET state = 'discarded', done_at = :now, updated_at = :now "
	    "WHERE id = :id AND state IN ('pending','failed') RETURNING kind",
	/* cron prune: finished rows past their keep time, except those a
	 * proof of effect references (mail_log now; later proofs join here). */
	[Q_JOB_PRUNE] = "DELETE FROM jobs WHERE state IN ('done','discarded') AND done_at < :before "
	    "AND NOT EXISTS (SELECT 1 FROM mail_log m WHERE m.job_id = jobs.id) RETURNING id",
	/* job_email.c: the proof that a message went out, written with 'done'. */
	[Q_MAIL_LOG_HAS] = "SELECT 1 FROM mail_log WHERE job_id = :job",
	[Q_MAIL_LOG_INSERT] = "INSERT INTO mail_log(job_id, rcpt, subject, message_id, reply) "
	    "VALUES (:job, :rcpt, :subject, :msgid, :reply) ON CONFLICT(job_id) DO NOTHING",
	[Q_SERVER_SET_PASSWORD] = "UPDATE servers SET panel_password_sealed = :sealed WHERE id = :id",
	/*
	 * The wallet (wallet.c).  A wallet's balance_minor is the sum of its
	 * ledger: WALLET_APPLY moves it in the transaction that appends the
	 * ledger row, and refuses (no row back) a move below zero or above
	 * :max, so the caller can say why instead of meeting the CHECK.
	 */
	[Q_WALLET_OF_CUSTOMER] = "SELECT id, currency, balance_minor FROM wallets WHERE customer_id = :cid",
	[Q_WALLET_ENSURE] = "INSERT INTO wallets (customer_id, currency) VALUES (:cid, :currency) "
	    "ON CONFLICT(customer_id) DO NOTHING",
	[Q_WALLET_TX_BY_KEY] = "SELECT id, wallet_id, amount_minor, kind FROM wallet_transactions "
	    "WHERE idempotency_key = :key",
	[Q_WALLET_APPLY] = "UPDATE wallets SET balance_minor = balance_minor + :amount WHERE id = :id "
	    "AND balance_minor + :amount >= 0 AND balance_minor + :amount <= :max RETURNING balance_minor",
	[Q_WALLET_BALANCE] = "SELECT balance_minor FROM wallets WHERE id = :id",
	[Q_WALLET_TX_INSERT] = "INSERT INTO wallet_transactions (wallet_id, amount_minor, kind, order_id, "
	    "payment_id, staff_id, memo, idempotency_key) VALUES (:wallet, :amount, :kind, :order, "
	    ":payment, :staff, :memo, :key) RETURNING id",
	[Q_WALLET_LEDGER_SUM] = "SELECT coalesce(sum(amount_minor), 0) FROM wallet_transactions "
	    "WHERE wallet_id = :id",
	/* Orders (order.c): the state moves only through ORDER_SET_STATE,
	 * which names the state it leaves, and ORDER_EVENT_INSERT beside it. */
	[Q_ORDER_INSERT] = "INSERT INTO orders (public_id, customer_id, subtotal_minor, discount_minor, "
	    "tax_minor, total_minor, tax_rate_bp, prices_include_tax, currency, payment_method, "
	    "idempotency_key, created_at, updated_at) VALUES (:public_id, :cid, :subtotal, :discount, "
	    ":tax, :total, :tax_rate_bp, :tax_inclusive, :currency, :method, :key, :now, :now) RETURNING id",
	[Q_ORDER_BY_IDEM] = "SELECT id, public_id, customer_id FROM orders WHERE idempotency_key = :key",
	[Q_ORDER_STATE] = "SELECT state FROM orders WHERE id = :id",
	[Q_ORDER_SET_STATE] = "UPDATE orders SET state = :to, updated_at = :now, "
	    "paid_at = CASE WHEN :to = 'paid' THEN :now ELSE paid_at END "
	    "WHERE id = :id AND state = :from RETURNING id",
	[Q_ORDER_EVENT_INSERT] = "INSERT INTO order_events (order_id, kind, at, actor, actor_id, note) "
	    "VALUES (:order, :kind, :now, :actor, :actor_id, :note)",
	[Q_ORDER_EVENTS] = "SELECT kind, at, actor, coalesce(actor_id, 0), note FROM order_events "
	    "WHERE order_id = :order ORDER BY id",
	/*
	 * Invoices (invoice.c).  The year's counter moves inside the
	 * caller's transaction: a rollback gives the number back, and two
	 * issuers serialise on BEGIN IMMEDIATE, so a year's numbers have no
	 * gaps.  The seller's details come from settings (seller.name,
	 * seller.address, seller.tax_id) and the customer's from the
	 * profile, copied into the row.
	 */
	[Q_INVOICE_NEXT_NUMBER] = "INSERT INTO invoice_counters (year, last) VALUES (:year, 1) "
	    "ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last",
	[Q_INVOICE_OF_ORDER] = "SELECT id, number FROM invoices WHERE order_id = :order",
	[Q_INVOICE_INSERT_ORDER] = "INSERT INTO invoices (number, order_id, customer_id, seller_name, "
	    "seller_address, seller_tax_id, customer_name, customer_address, customer_tax_id, "
	    "subtotal_minor, discount_minor, tax_minor, total_minor, tax_rate_bp, currency, state, "
	    "issued_at, paid_at) SELECT :number, o.id, o.customer_id, "
	    "coalesce((SELECT value FROM settings WHERE key = 'seller.name'), ''), "
	    "coalesce((SELECT value FROM settings WHERE key = 'seller.address'), ''), "
	    "coalesce((SELECT value FROM settings WHERE key = 'seller.tax_id'), ''), "
	    "CASE WHEN c.billing_name <> '' THEN c.billing_name ELSE c.name END, c.billing_address, c.tax_id, "
	    "o.subtotal_minor, o.discount_minor, o.tax_minor, o.total_minor, o.tax_rate_bp, o.currency, "
	    "CASE WHEN o.paid_at IS NULL THEN 'open' ELSE 'paid' END, :now, o.paid_at "
	    "FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = :order RETURNING id",
	/* A top-up's receipt: the same numbers, the payment's amount as its
	 * one line, no tax (stored value is taxed when it is spent). */
	[Q_INVOICE_OF_PAYMENT] = "SELECT id, number FROM invoices WHERE payment_id = :payment",
	[Q_INVOICE_INSERT_PAYMENT] = "INSERT INTO invoices (number, payment_id, customer_id, seller_name, "
	    "seller_address, seller_tax_id, customer_name, customer_address, customer_tax_id, "
	    "subtotal_minor, total_minor, currency, state, issued_at, paid_at) SELECT :number, p.id, "
	    "p.customer_id, "
	    "coalesce((SELECT value FROM settings WHERE key = 'seller.name'), ''), "
	    "coalesce((SELECT value FROM settings WHERE key = 'seller.address'), ''), "
	    "coalesce((SELECT value FROM settings WHERE key = 'seller.tax_id'), ''), "
	    "CASE WHEN c.billing_name <> '' THEN c.billing_name ELSE c.name END, c.billing_address, c.tax_id, "
	    "p.amount_minor, p.amount_minor, p.currency, 'paid', :now, p.updated_at "
	    "FROM payments p JOIN customers c ON c.id = p.customer_id WHERE p.id = :payment "
	    "AND p.purpose = 'topup' AND p.state = 'succeeded' RETURNING id",
	/* Carts (page_cart.c), checkout (checkout.c) and the customer's
	 * orders (page_orders.c). */
	[Q_CART_BY_TOKEN] = "SELECT id FROM carts WHERE token_hash = :hash",
	[Q_CART_BY_CUSTOMER] = "SELECT id FROM carts WHERE customer_id = :customer",
	[Q_CART_NEW_TOKEN] = "INSERT INTO carts (token_hash, created_at, updated_at) VALUES (:hash, :now, :now) RETURNING id",
	[Q_CART_NEW_CUSTOMER] = "INSERT INTO carts (customer_id, created_at, updated_at) VALUES (:customer, :now, :now) "
	    "ON CONFLICT (customer_id) DO UPDATE SET updated_at = excluded.updated_at RETURNING id",
	[Q_CART_ITEM_ADD] = "INSERT INTO cart_items (cart_id, plan_id, quantity, unit_price_minor, currency, added_at) "
	    "SELECT :cart, id, :qty, price_minor, currency, :now FROM plans WHERE slug = :slug AND active = 1 "
	    "ON CONFLICT (cart_id, plan_id) WHERE renewal_of IS NULL "
	    "DO UPDATE SET quantity = min(100, quantity + excluded.quantity), "
	    "unit_price_minor = excluded.unit_price_minor, currency = excluded.currency RETURNING id",
	/* The plain line of a plan (renewal lines: Q_CART_RENEWAL_*). */
	[Q_CART_ITEM_SET_QTY] = "UPDATE cart_items SET quantity = :qty WHERE cart_id = :cart "
	    "AND plan_id = (SELECT id FROM plans WHERE slug = :slug) AND renewal_of IS NULL",
	[Q_CART_ITEM_DELETE] = "DELETE FROM cart_items WHERE cart_id = :cart "
	    "AND plan_id = (SELECT id FROM plans WHERE slug = :slug) AND renewal_of IS NULL",
	/* Columns 10-12: the order item a renewal line renews (0 if none),
	 * its order's public id and its place in that order (1, 2 ...). */
	[Q_CART_ITEMS] = "SELECT p.slug, p.name, ci.quantity, ci.unit_price_minor, ci.currency, p.price_minor, "
	    "p.currency, p.active, p.stock, p.id, coalesce(ci.renewal_of, 0), coalesce(ro.public_id, ''), "
	    "CASE WHEN ri.id IS NULL THEN 0 ELSE (SELECT count(*) FROM order_items x "
	    "WHERE x.order_id = ri.order_id AND x.id <= ri.id) END "
	    "FROM cart_items ci JOIN plans p ON p.id = ci.plan_id "
	    "LEFT JOIN order_items ri ON ri.id = ci.renewal_of LEFT JOIN orders ro ON ro.id = ri.order_id "
	    "WHERE ci.cart_id = :cart ORDER BY ci.id",
	[Q_CART_COUNT] = "SELECT coalesce(sum(quantity), 0) FROM cart_items WHERE cart_id = :cart",
	[Q_CART_MERGE] = "INSERT INTO cart_items (cart_id, plan_id, quantity, unit_price_minor, currency, added_at) "
	    "SELECT :to, plan_id, quantity, unit_price_minor, currency, added_at FROM cart_items "
	    "WHERE cart_id = :from AND renewal_of IS NULL "
	    "ON CONFLICT (cart_id, plan_id) WHERE renewal_of IS NULL DO UPDATE SET quantity = min(100, quantity + excluded.quantity), "
	    "unit_price_minor = excluded.unit_price_minor, currency = excluded.currency",
	[Q_CART_DELETE] = "DELETE FROM carts WHERE id = :cart",
	[Q_CART_CLEAR] = "DELETE FROM cart_items WHERE cart_id = :cart",
	[Q_CART_ACCEPT_PRICES] = "UPDATE cart_items SET unit_price_minor = p.price_minor, currency = p.currency "
	    "FROM plans p WHERE p.id = cart_items.plan_id AND cart_items.cart_id = :cart",
	[Q_CHECKOUT_PLAN] = "SELECT active, price_minor, currency, stock, name, server_id FROM plans WHERE id = :plan",
	[Q_CHECKOUT_TAKE_STOCK] = "UPDATE plans SET stock = stock - :n WHERE id = :plan AND stock IS NOT NULL AND stock >= :n",
	[Q_CHECKOUT_ITEM_INSERT] = "INSERT INTO order_items (order_id, plan_id, quantity, unit_price_minor, currency, "
	    "renewal_of) VALUES (:order, :plan, 1, :price, :currency, nullif(:renewal_of, 0)) RETURNING id",
	[Q_ORDERS_OF_CUSTOMER_COUNT] = "SELECT count(*) FROM orders WHERE customer_id = :customer",
	[Q_ORDERS_OF_CUSTOMER] = "SELECT public_id, state, total_minor, currency, created_at, "
	    "(SELECT count(*) FROM order_items i WHERE i.order_id = orders.id) FROM orders "
	    "WHERE customer_id = :customer ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
	[Q_ORDER_OF_CUSTOMER] = "SELECT id, public_id, state, subtotal_minor, discount_minor, tax_minor, total_minor, "
	    "currency, coalesce(payment_method, ''), created_at, coalesce(paid_at, 0) FROM orders "
	    "WHERE public_id = :public_id AND customer_id = :customer",
	[Q_ORDER_ITEMS_OF] = "SELECT i.id, p.name, p.slug, i.unit_price_minor, i.currency, i.state FROM order_items i "
	    "JOIN plans p ON p.id = i.plan_id WHERE i.order_id = :order ORDER BY i.id",
	/* Anonymous carts outlive their cookie by nothing: it is set once,
	 * for 30 days (cart.c CART_COOKIE_AGE), at the cart's creation. */
	[Q_PRUNE_CARTS] = "DELETE FROM carts WHERE customer_id IS NULL AND created_at < unixepoch() - 30 * 86400",
	/* The wallet pages (page_wallet.c, admin_customers.c): the balance,
	 * and the ledger newest first with the order it paid for, if any. */
	[Q_WALLET_PAGE_HEAD] = "SELECT w.id, w.balance_minor, w.currency FROM wallets w "
	    "WHERE w.customer_id = :cid",
	[Q_WALLET_LEDGER_PAGE] = "SELECT t.id, t.kind, t.amount_minor, coalesce(o.public_id, ''), "
	    "t.payment_id, t.memo, t.created_at FROM wallet_transactions t LEFT JOIN orders o "
	    "ON o.id = t.order_id WHERE t.wallet_id = :wallet ORDER BY t.id DESC "
	    "LIMIT :limit OFFSET :offset",
	[Q_WALLET_LEDGER_COUNT] = "SELECT count(*) FROM wallet_transactions WHERE wallet_id = :wallet",
	/* Staff's customer list (admin_customers.c): :q is a LIKE pattern
	 * with '\\' as its escape (NULL: everyone), newest first. */
	[Q_ADMIN_CUSTOMERS] = "SELECT c.id, c.email, c.name, c.state, c.created_at, "
	    "coalesce(w.balance_minor, 0), coalesce(w.currency, c.currency) FROM customers c "
	    "LEFT JOIN wallets w ON w.customer_id = c.id WHERE c.state <> 'deleted' AND "
	    "(:q IS NULL OR c.email LIKE :q ESCAPE '\\' OR c.name LIKE :q ESCAPE '\\') "
	    "ORDER BY c.id DESC LIMIT :limit OFFSET :offset",
	[Q_ADMIN_CUSTOMER_GET] = "SELECT c.id, c.email, c.name, c.state, c.created_at, "
	    "c.email_verified_at IS NOT NULL, c.totp_enabled_at IS NOT NULL, c.billing_name, "
	    "c.billing_address, c.tax_id, c.currency FROM customers c WHERE c.id = :id "
	    "AND c.state <> 'deleted'",
	[Q_ADMIN_CUSTOMER_ORDERS] = "SELECT o.public_id, o.state, o.total_minor, o.currency, "
	    "o.created_at, coalesce(i.number, '') FROM orders o LEFT JOIN invoices i "
	    "ON i.order_id = o.id WHERE o.customer_id = :cid ORDER BY o.id DESC LIMIT 50",
	[Q_ADMIN_CUSTOMER_SET_STATE] = "UPDATE customers SET state = :to, updated_at = unixepoch() "
	    "WHERE id = :id AND state = :from",
	/* The printable invoice (page_invoice.c): :cid the customer who
	 * must own it, or NULL for staff.  Everything shown is the copy
	 * made at issue, never today's settings or profile. */
	[Q_INVOICE_BY_NUMBER] = "SELECT i.id, i.number, i.order_id, i.payment_id, i.seller_name, "
	    "i.seller_address, i.seller_tax_id, i.customer_name, i.customer_address, "
	    "i.customer_tax_id, i.subtotal_minor, i.discount_minor, i.tax_minor, i.total_minor, "
	    "i.tax_rate_bp, i.currency, i.state, i.issued_at, coalesce(o.public_id, ''), "
	    "coalesce(o.prices_include_tax, 0), coalesce(i.paid_at, 0) FROM invoices i "
	    "LEFT JOIN orders o ON o.id = i.order_id "
	    "WHERE i.number = :number AND (:cid IS NULL OR i.customer_id = :cid)",
	/* The lines as copied at issue (invoice.c, migration 012): the
	 * printable invoice and the order's mail say what was sold then,
	 * whatever the plan is called now. */
	[Q_INVOICE_LINES] = "SELECT description, quantity, unit_price_minor, amount_minor "
	    "FROM invoice_lines WHERE invoice_id = :invoice ORDER BY line_no",
	/* Shop settings (admin_settings.c): one row per key. */
	[Q_SETTING_GET] = "SELECT value FROM settings WHERE key = :key",
	[Q_SETTING_PUT] = "INSERT INTO settings (key, value) VALUES (:key, :value) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = unixepoch()",
	/* coupon.c: the coupon as it stands, its unreleased uses (all, and
	 * this customer's), the customer's earlier orders (first-order-only
	 * counts every order that was paid, refunded ones too), a plan's
	 * category (scope), and the redemption row. */
	[Q_COUPON_BY_CODE] = "SELECT id, code, kind, percent, amount_minor, currency, scope, plan_id, "
	    "category_id, starts_at, ends_at, max_uses, max_uses_per_customer, min_order_minor, "
	    "first_order_only, active FROM coupons WHERE code = :code",
	[Q_COUPON_USES] = "SELECT count(*), coalesce(sum(customer_id = :cid), 0) FROM coupon_redemptions "
	    "WHERE coupon_id = :coupon AND released_at IS NULL",
	[Q_COUPON_PRIOR_ORDERS] = "SELECT count(*) FROM orders WHERE customer_id = :cid "
	    "AND state NOT IN ('pending','cancelled','failed')",
	[Q_COUPON_PLAN_CATEGORY] = "SELECT category_id FROM plans WHERE id = :plan",
	[Q_COUPON_REDEEM] = "INSERT INTO coupon_redemptions (coupon_id, customer_id, order_id, discount_minor) "
	    "VALUES (:coupon, :cid, :order, :discount)",
	/* seed --demo --customer (cmd_db.c): a setting only where staff set
	 * none, and a demo coupon only where its code is free, so a second
	 * seed changes nothing. */
	[Q_SETTING_INIT] = "INSERT INTO settings (key, value) VALUES (:key, :value) ON CONFLICT(key) DO NOTHING",
	[Q_DEMO_COUPON_INSERT] = "INSERT INTO coupons (code, kind, percent, amount_minor, currency, "
	    "min_order_minor, note) VALUES (:code, :kind, :percent, :amount, :currency, :min_order, :note) "
	    "ON CONFLICT(code) DO NOTHING",
	/* The staff's orders list (admin_orders.c): each filter NULL for
	 * any; :email a LIKE pattern; :from <= created_at < :to. */
	[Q_ADMIN_ORDERS] = "SELECT o.public_id, o.state, o.total_minor, o.currency, o.created_at, "
	    "c.id, c.email, coalesce(i.number, '') FROM orders o JOIN customers c ON c.id = o.customer_id "
	    "LEFT JOIN invoices i ON i.order_id = o.id WHERE (:state IS NULL OR o.state = :state) "
	    "AND (:email IS NULL OR c.email LIKE :email ESCAPE '\\') "
	    "AND (:from IS NULL OR o.created_at >= :from) AND (:to IS NULL OR o.created_at < :to) "
	    "ORDER BY o.id DESC LIMIT :limit OFFSET :offset",
	[Q_ADMIN_ORDER_GET] = "SELECT o.id, o.public_id, o.state, o.subtotal_minor, o.discount_minor, o.tax_minor, "
	    "o.total_minor, o.currency, coalesce(o.payment_method, ''), o.created_at, c.id, c.email "
	    "FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.public_id = :public_id",
	/* A cancelled order's items give back what checkout's TAKE_STOCK
	 * took; a plan without a stock (NULL: unlimited) is left alone. */
	[Q_ADMIN_ORDER_RELEASE_STOCK] = "UPDATE plans SET stock = stock + (SELECT sum(i.quantity) "
	    "FROM order_items i WHERE i.order_id = :order AND i.plan_id = plans.id) "
	    "WHERE stock IS NOT NULL AND id IN (SELECT plan_id FROM order_items WHERE order_id = :order)",
	/* Invoice lines and commerce mail (invoice.c, order_mail.c).  An
	 * order's lines: one per plan, price and kind (new or renewal) of
	 * its items, in the order the items were made, the plan's name as
	 * it is at issue (migration 012 backfills with the same grouping). */
	[Q_INVOICE_LINES_SNAPSHOT] = "INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, "
	    "unit_price_minor, amount_minor) SELECT :invoice, row_number() OVER (ORDER BY first), description, "
	    "qty, unit, qty * unit FROM (SELECT min(oi.id) AS first, p.name || CASE WHEN oi.renewal_of IS NULL "
	    "THEN '' ELSE ' (renewal)' END AS description, sum(oi.quantity) AS qty, oi.unit_price_minor AS unit "
	    "FROM order_items oi JOIN plans p ON p.id = oi.plan_id WHERE oi.order_id = :order "
	    "GROUP BY oi.plan_id, oi.unit_price_minor, oi.renewal_of IS NULL)",
	/* A top-up's receipt: its amount as the one line. */
	[Q_INVOICE_LINE_RECEIPT] = "INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, "
	    "unit_price_minor, amount_minor) SELECT id, 1, 'Wallet top-up', 1, total_minor, total_minor "
	    "FROM invoices WHERE id = :invoice AND payment_id IS NOT NULL",
	/* The order confirmation mail: the customer, the order and its
	 * invoice (issued in the same transaction). */
	[Q_ORDER_MAIL] = "SELECT c.email, c.name, o.public_id, i.id, i.number, i.subtotal_minor, "
	    "i.discount_minor, i.tax_minor, i.total_minor, i.tax_rate_bp, i.currency, "
	    "coalesce(o.payment_method, ''), o.prices_include_tax FROM orders o "
	    "JOIN customers c ON c.id = o.customer_id JOIN invoices i ON i.order_id = o.id WHERE o.id = :order",
	/* An open invoice whose order was just paid (invoice.c). */
	[Q_INVOICE_ORDER_PAID] = "UPDATE invoices SET state = 'paid', paid_at = :now "
	    "WHERE order_id = :order AND state = 'open'",
	/* Referrals (referral.c, page_referrals.c, refund.c; issue 11).  The
	 * referrer of a link: an active customer only. */
	[Q_REFERRAL_CODE_OWNER] = "SELECT id, email FROM customers WHERE referral_code = :code AND state = 'active'",
	/* First touch, one referrer per customer: a second row is ignored. */
	[Q_REFERRAL_INSERT] = "INSERT INTO referrals (referrer_id, referred_id) VALUES (:referrer, :referred) "
	    "ON CONFLICT(referred_id) DO NOTHING",
	[Q_REFERRAL_OF_REFERRED] = "SELECT id, referrer_id FROM referrals WHERE referred_id = :cid",
	[Q_REFERRAL_COMMISSION_INSERT] = "INSERT INTO referral_commissions (referral_id, order_id, amount_minor, currency, available_at) "
	    "VALUES (:referral, :order, :amount, :currency, :available_at)",
	/* The next due pending commission (cron referrals), its referrer's
	 * address for the mail.  One at a time, each in its own transaction. */
	[Q_REFERRAL_DUE] = "SELECT rc.id, rc.amount_minor, rc.currency, r.referrer_id, c.email, c.name, rc.order_id "
	    "FROM referral_commissions rc JOIN referrals r ON r.id = rc.referral_id "
	    "JOIN customers c ON c.id = r.referrer_id "
	    "WHERE rc.state = 'pending' AND rc.available_at <= :now ORDER BY rc.available_at, rc.id LIMIT 1",
	[Q_REFERRAL_RELEASE] = "UPDATE referral_commissions SET state = 'available', wallet_tx_id = :tx, settled_at = :now "
	    "WHERE id = :id AND state = 'pending'",
	[Q_REFERRAL_COMMISSION_OF_ORDER] = "SELECT rc.id, rc.state, rc.amount_minor, rc.currency, r.referrer_id "
	    "FROM referral_commissions rc JOIN referrals r ON r.id = rc.referral_id WHERE rc.order_id = :order",
	[Q_REFERRAL_REVERSE] = "UPDATE referral_commissions SET state = 'reversed', settled_at = :now "
	    "WHERE id = :id AND state = :from",
	/* A referrer's commissions by state: available, pending, reversed. */
	[Q_REFERRAL_TOTALS] = "SELECT coalesce(sum(CASE WHEN rc.state = 'available' THEN rc.amount_minor END), 0), "
	    "coalesce(sum(CASE WHEN rc.state = 'pending' THEN rc.amount_minor END), 0), "
	    "coalesce(sum(CASE WHEN rc.state = 'reversed' THEN rc.amount_minor END), 0), count(rc.id) "
	    "FROM referral_commissions rc JOIN referrals r ON r.id = rc.referral_id WHERE r.referrer_id = :cid",
	/* The customers a referrer brought, newest first (the customer's page
	 * shows no email; the staff's page does). */
	[Q_REFERRAL_REFERRED_LIST] = "SELECT c.id, c.name, c.email, r.created_at FROM referrals r JOIN customers c ON c.id = r.referred_id "
	    "WHERE r.referrer_id = :cid ORDER BY r.id DESC LIMIT :limit",
	[Q_REFERRAL_COMMISSIONS_LIST] = "SELECT rc.amount_minor, rc.currency, rc.state, rc.created_at, rc.available_at "
	    "FROM referral_commissions rc JOIN referrals r ON r.id = rc.referral_id "
	    "WHERE r.referrer_id = :cid ORDER BY rc.id DESC LIMIT :limit",
	[Q_REFERRAL_CODE_OF] = "SELECT coalesce(referral_code, '') FROM customers WHERE id = :id",
	[Q_REFERRAL_REFERRER_OF] = "SELECT c.id, c.email, r.created_at FROM referrals r JOIN customers c ON c.id = r.referrer_id "
	    "WHERE r.referred_id = :cid",
	/* refund.c: the order to refund, read inside the write transaction. */
	[Q_REFUND_ORDER_GET] = "SELECT public_id, state, total_minor, currency, customer_id, coalesce(payment_method, '') "
	    "FROM orders WHERE id = :id",
	/* A refunded order's provision jobs that have not run: discarded.  A
	 * running one is left to finish (its runner may be mid-call; the
	 * provisioning job must look at the order's state). */
	[Q_REFUND_DISCARD_JOBS] = "UPDATE jobs SET state = 'discarded', done_at = :now, updated_at = :now, "
	    "last_error = 'order refunded' WHERE kind = 'provision' AND state IN ('pending','failed') "
	    "AND idem_key IN (SELECT 'provision:item:' || id FROM order_items WHERE order_id = :order)",
	/* seed --demo: the demo customer's referred friend, made once. */
	[Q_DEMO_REFERRAL_FRIEND] = "INSERT INTO customers (email, name, password_hash, currency, email_verified_at) "
	    "VALUES (:email, :name, :hash, :currency, unixepoch()) ON CONFLICT(email) DO NOTHING",
	/* A refunded order's invoice says so (its numbers stay as issued). */
	[Q_REFUND_INVOICE] = "UPDATE invoices SET state = 'refunded' WHERE order_id = :order AND state = 'paid'",
	/*
	 * The orders and wallet API (api_orders.c): keyset pages, newest
	 * first by id, after the cursor's id (:before NULL: the first
	 * page); the owner is always in the WHERE, so a cursor names at
	 * most a place in the caller's own rows.
	 */
	[Q_API_ORDERS] = "SELECT o.id, o.public_id, o.state, o.total_minor, o.currency, o.created_at, "
	    "(SELECT count(*) FROM order_items i WHERE i.order_id = o.id), coalesce(v.number, '') "
	    "FROM orders o LEFT JOIN invoices v ON v.order_id = o.id WHERE o.customer_id = :customer "
	    "AND (:before IS NULL OR o.id < :before) ORDER BY o.id DESC LIMIT :limit",
	[Q_API_WALLET_LEDGER] = "SELECT t.id, t.kind, t.amount_minor, o.public_id, t.payment_id, t.memo, "
	    "t.created_at FROM wallet_transactions t LEFT JOIN orders o ON o.id = t.order_id "
	    "WHERE t.wallet_id = :wallet AND (:before IS NULL OR t.id < :before) "
	    "ORDER BY t.id DESC LIMIT :limit",
	/* The staff's CSV exports (admin_export.c): a created_at range
	 * [:from, :to), oldest first; the caller caps the rows by :limit. */
	[Q_EXPORT_ORDERS] = "SELECT o.public_id, o.created_at, o.paid_at, o.state, c.id, c.email, "
	    "o.currency, o.subtotal_minor, o.discount_minor, o.tax_minor, o.total_minor, "
	    "coalesce(o.payment_method, ''), coalesce(v.number, '') FROM orders o "
	    "JOIN customers c ON c.id = o.customer_id LEFT JOIN invoices v ON v.order_id = o.id "
	    "WHERE o.created_at >= :from AND o.created_at < :to ORDER BY o.created_at, o.id LIMIT :limit",
	[Q_EXPORT_LEDGER] = "SELECT t.id, t.created_at, c.id, c.email, t.kind, t.amount_minor, w.currency, "
	    "coalesce(o.public_id, ''), t.payment_id, t.staff_id, t.memo FROM wallet_transactions t "
	    "JOIN wallets w ON w.id = t.wallet_id JOIN customers c ON c.id = w.customer_id "
	    "LEFT JOIN orders o ON o.id = t.order_id WHERE t.created_at >= :from AND t.created_at < :to "
	    "AND (:cid IS NULL OR w.customer_id = :cid) ORDER BY t.created_at, t.id LIMIT :limit",
	/* Whether session :id is one of customer :cid's (page_account.c:
	 * the revoke page of another's session is a 404). */
	[Q_ACCT_SESSION_OWNED] = "SELECT count(*) FROM sessions WHERE id = :id AND customer_id = :cid "
	    "AND kind = 'customer'",
	/* Coupons on the cart, their release and staff's coupons
	 * (couponcart: page_cart.c, coupon.c, cron.c, admin_coupons.c).
	 * The cart keeps the code as typed; coupon.c judges it each time. */
	[Q_CART_COUPON_GET] = "SELECT coalesce(coupon_code, '') FROM carts WHERE id = :cart",
	[Q_CART_COUPON_SET] = "UPDATE carts SET coupon_code = :code, updated_at = :now WHERE id = :cart",
	/* Sign-in merge: the anonymous cart's code goes to the customer's
	 * cart only when that cart has none (theirs was chosen by them). */
	[Q_CART_COUPON_MERGE] = "UPDATE carts SET coupon_code = (SELECT coupon_code FROM carts WHERE id = :from) "
	    "WHERE id = :to AND coupon_code IS NULL",
	/* A cancelled (or refunded) order gives its coupon use back; a second
	 * release changes nothing (the first time stays). */
	[Q_COUPON_RELEASE] = "UPDATE coupon_redemptions SET released_at = :now "
	    "WHERE order_id = :order AND released_at IS NULL",
	/* cron orders: pending orders created before :before, oldest first
	 * (001's orders_state index), a bounded batch per run. */
	[Q_ORDERS_EXPIRED] = "SELECT id, public_id FROM orders WHERE state = 'pending' AND created_at < :before "
	    "AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = orders.id AND " PAY_HOLDS_ORDER ") "
	    "ORDER BY created_at, id LIMIT :limit",
	/* /admin/coupons: every coupon with its figures; uses and the
	 * discount given count only unreleased redemptions (a cancelled
	 * order's use came back), released ones are counted apart. */
	[Q_ADMIN_COUPONS] = "SELECT c.id, c.code, c.kind, c.percent, c.amount_minor, c.currency, c.scope, "
	    "coalesce(p.name, ''), coalesce(k.name, ''), c.starts_at, c.ends_at, c.max_uses, "
	    "c.max_uses_per_customer, c.min_order_minor, c.first_order_only, c.active, "
	    "coalesce(sum(r.id IS NOT NULL AND r.released_at IS NULL), 0), "
	    "coalesce(sum(CASE WHEN r.released_at IS NULL THEN r.discount_minor END), 0), "
	    "coalesce(sum(r.released_at IS NOT NULL), 0) "
	    "FROM coupons c LEFT JOIN plans p ON p.id = c.plan_id "
	    "LEFT JOIN server_categories k ON k.id = c.category_id "
	    "LEFT JOIN coupon_redemptions r ON r.coupon_id = c.id "
	    "GROUP BY c.id ORDER BY c.active DESC, c.id DESC LIMIT :limit OFFSET :offset",
	[Q_ADMIN_COUPON_COUNT] = "SELECT count(*) FROM coupons",
	[Q_ADMIN_COUPON_GET] = "SELECT id, code, kind, percent, amount_minor, currency, scope, plan_id, "
	    "category_id, starts_at, ends_at, max_uses, max_uses_per_customer, min_order_minor, "
	    "first_order_only, active, note FROM coupons WHERE id = :id",
	[Q_ADMIN_COUPON_CODE_TAKEN] = "SELECT count(*) FROM coupons WHERE code = :code AND id <> :id",
	[Q_ADMIN_COUPON_INSERT] = "INSERT INTO coupons (code, kind, percent, amount_minor, currency, scope, "
	    "plan_id, category_id, starts_at, ends_at, max_uses, max_uses_per_customer, min_order_minor, "
	    "first_order_only, active, note) VALUES (:code, :kind, :percent, :amount, :currency, :scope, "
	    ":plan, :category, :starts, :ends, :max_uses, :max_cust, :min_order, :first, 1, :note) RETURNING id",
	[Q_ADMIN_COUPON_UPDATE] = "UPDATE coupons SET code = :code, kind = :kind, percent = :percent, "
	    "amount_minor = :amount, currency = :currency, scope = :scope, plan_id = :plan, "
	    "category_id = :category, starts_at = :starts, ends_at = :ends, max_uses = :max_uses, "
	    "max_uses_per_customer = :max_cust, min_order_minor = :min_order, first_order_only = :first, "
	    "note = :note, updated_at = unixepoch() WHERE id = :id",
	[Q_ADMIN_COUPON_SET_ACTIVE] = "UPDATE coupons SET active = :active, updated_at = unixepoch() "
	    "WHERE id = :id AND active <> :active",
	/* The choices of the coupon form's scope target. */
	[Q_ADMIN_COUPON_PLANS] = "SELECT id, name FROM plans ORDER BY name, id",
	[Q_ADMIN_COUPON_CATEGORIES] = "SELECT id, name FROM server_categories ORDER BY name, id",
	[Q_ADMIN_CATEGORY_EXISTS] = "SELECT count(*) FROM server_categories WHERE id = :id",
	[Q_ADMIN_PLAN_EXISTS] = "SELECT count(*) FROM plans WHERE id = :id",
	/* Renewal (page_orders.c, page_cart.c, checkout.c).  An item can be
	 * renewed while its order is paid or further along and the item has
	 * not failed or been cancelled: RENEWABLE, the one definition.  A
	 * renewal renews the item that holds the client: an item that is
	 * itself a renewal stands for the item it renewed. */
	[Q_ORDER_ITEMS_RENEW] = "SELECT i.id, p.name, p.slug, i.unit_price_minor, i.currency, i.state, "
	    RENEWABLE ", coalesce(ro.public_id, ''), "
	    "CASE WHEN ri.id IS NULL THEN 0 ELSE (SELECT count(*) FROM order_items x "
	    "WHERE x.order_id = ri.order_id AND x.id <= ri.id) END "
	    "FROM order_items i JOIN orders o ON o.id = i.order_id JOIN plans p ON p.id = i.plan_id "
	    "LEFT JOIN order_items ri ON ri.id = i.renewal_of LEFT JOIN orders ro ON ro.id = ri.order_id "
	    "WHERE i.order_id = :order ORDER BY i.id",
	[Q_RENEW_ITEM] = "SELECT coalesce(i.renewal_of, i.id), p.id, p.active, p.name, " RENEWABLE " "
	    "FROM order_items i JOIN orders o ON o.id = i.order_id JOIN plans p ON p.id = i.plan_id "
	    "WHERE i.id = :item AND o.public_id = :public_id AND o.customer_id = :customer",
	[Q_CART_RENEWAL_ADD] = "INSERT INTO cart_items (cart_id, plan_id, quantity, unit_price_minor, currency, "
	    "added_at, renewal_of) SELECT :cart, id, 1, price_minor, currency, :now, :renewal_of FROM plans "
	    "WHERE id = :plan AND active = 1 "
	    "ON CONFLICT (cart_id, renewal_of) WHERE renewal_of IS NOT NULL DO UPDATE SET "
	    "unit_price_minor = excluded.unit_price_minor, currency = excluded.currency RETURNING id",
	[Q_CART_RENEWAL_DELETE] = "DELETE FROM cart_items WHERE cart_id = :cart AND renewal_of = :renewal_of",
	[Q_CHECKOUT_RENEWAL_OK] = "SELECT " RENEWABLE " FROM order_items i JOIN orders o ON o.id = i.order_id "
	    "WHERE i.id = :item AND o.customer_id = :customer",
	/* The shop's name as staff set it (setting.c), read with
	 * db_peek_text: the layout of an error page reads it too. */
	[Q_SHOP_NAME] = "SELECT value FROM settings WHERE key = 'shop.name' AND value <> ''",
	/* The rows an export of the range would hold (admin_export.c:
	 * refused past its cap before anything is sent); the created_at
	 * indexes of sql/014 count them. */
	[Q_EXPORT_ORDERS_COUNT] = "SELECT count(*) FROM orders WHERE created_at >= :from "
	    "AND created_at < :to",
	[Q_EXPORT_LEDGER_COUNT] = "SELECT count(*) FROM wallet_transactions t "
	    "JOIN wallets w ON w.id = t.wallet_id WHERE t.created_at >= :from AND t.created_at < :to "
	    "AND (:cid IS NULL OR w.customer_id = :cid)",
	/* The staff's catalogue panels (admin_plans.c, admin_taxonomy.c).  Every write here
	 * moves catalog_version through 008's triggers, in the same
	 * transaction, so the cached public pages refresh on the next
	 * request.  The list counts a plan's orders in one pass over
	 * order_items (no index on plan_id: a GROUP BY beats one scan per
	 * plan). */
	[Q_ACAT_PLANS] = "SELECT p.id, p.slug, p.name, p.active, p.sort, p.price_minor, p.currency, p.stock, "
	    "p.protocol, coalesce(s.name, ''), coalesce(o.n, 0), p.featured, p.duration_days, p.traffic_bytes, "
	    "coalesce(c.name, ''), coalesce(b.name, ''), coalesce(p.inbound_id, 0), coalesce(p.server_id, 0), "
	    "coalesce(p.category_id, 0), coalesce(p.country_code, ''), p.traffic_reset "
	    "FROM plans p LEFT JOIN servers s ON s.id = p.server_id "
	    "LEFT JOIN server_categories c ON c.id = p.category_id LEFT JOIN server_brands b ON b.id = p.brand_id "
	    "LEFT JOIN (SELECT plan_id, count(DISTINCT order_id) AS n FROM order_items GROUP BY plan_id) o "
	    "ON o.plan_id = p.id ORDER BY p.sort, p.name, p.id",
	[Q_ACAT_PLAN_GET] = "SELECT id, slug, name, description, protocol, server_id, inbound_id, category_id, "
	    "brand_id, price_minor, currency, duration_days, traffic_bytes, device_limit, featured, active, "
	    "stock, sort, coalesce(country_code, ''), traffic_reset FROM plans WHERE id = :id",
	[Q_ACAT_PLAN_SLUG_TAKEN] = "SELECT count(*) FROM plans WHERE slug = :slug AND id IS NOT :id",
	[Q_ACAT_PLAN_INSERT] = "INSERT INTO plans (slug, name, description, protocol, server_id, inbound_id, "
	    "category_id, brand_id, price_minor, currency, duration_days, traffic_bytes, device_limit, featured, "
	    "active, stock, sort, country_code, traffic_reset) VALUES (:slug, :name, :description, :protocol, :server, "
	    ":inbound, :category, :brand, :price, :currency, :days, :traffic, :devices, :featured, :active, :stock, "
	    ":sort, coalesce(:country, (SELECT country_code FROM servers WHERE id = :server)), :traffic_reset)",
	[Q_ACAT_PLAN_UPDATE] = "UPDATE plans SET slug = :slug, name = :name, description = :description, "
	    "protocol = :protocol, server_id = :server, inbound_id = :inbound, category_id = :category, "
	    "brand_id = :brand, price_minor = :price, currency = :currency, duration_days = :days, "
	    "traffic_bytes = :traffic, device_limit = :devices, featured = :featured, active = :active, "
	    "stock = :stock, sort = :sort, "
	    "country_code = coalesce(:country, (SELECT country_code FROM servers WHERE id = :server)), "
	    "traffic_reset = :traffic_reset, updated_at = unixepoch() WHERE id = :id",
	[Q_ACAT_PLAN_SET_ACTIVE] = "UPDATE plans SET active = :active, updated_at = unixepoch() "
	    "WHERE id = :id AND active <> :active",
	[Q_ACAT_PLAN_ORDER] = "SELECT id, sort FROM plans ORDER BY sort, name, id",
	[Q_ACAT_PLAN_SET_SORT] = "UPDATE plans SET sort = :sort, updated_at = unixepoch() WHERE id = :id",
	[Q_ACAT_PLAN_REFS] = "SELECT (SELECT count(DISTINCT order_id) FROM order_items WHERE plan_id = :id), "
	    "(SELECT count(*) FROM cart_items WHERE plan_id = :id), "
	    "(SELECT count(*) FROM coupons WHERE plan_id = :id)",
	[Q_ACAT_PLAN_DELETE] = "DELETE FROM plans WHERE id = :id",
	[Q_ACAT_SERVERS] = "SELECT id, name, country_code, city FROM servers ORDER BY name, id",
	[Q_ACAT_SERVER_NAME] = "SELECT name FROM servers WHERE id = :id",
	[Q_ACAT_INBOUNDS] = "SELECT i.id, s.name, i.panel_inbound_id, i.remark, i.protocol, i.port "
	    "FROM server_inbounds i JOIN servers s ON s.id = i.server_id ORDER BY s.name, i.panel_inbound_id, i.id",
	[Q_ACAT_INBOUND_GET] = "SELECT server_id, protocol FROM server_inbounds WHERE id = :id",
	/* Categories and brands: one shape, two tables.  REFS counts what
	 * would break if the row went: plans, servers and (categories
	 * only) coupons naming it. */
	[Q_ACAT_CATEGORIES] = "SELECT c.id, c.slug, c.name, c.description, c.sort, c.active, "
	    "(SELECT count(*) FROM plans WHERE category_id = c.id), "
	    "(SELECT count(*) FROM servers WHERE category_id = c.id) "
	    "FROM server_categories c ORDER BY c.sort, c.name, c.id",
	[Q_ACAT_CATEGORY_GET] = "SELECT id, slug, name, description, sort, active FROM server_categories WHERE id = :id",
	[Q_ACAT_CATEGORY_SLUG_TAKEN] = "SELECT count(*) FROM server_categories WHERE slug = :slug AND id IS NOT :id",
	[Q_ACAT_CATEGORY_INSERT] = "INSERT INTO server_categories (slug, name, description, sort, active) "
	    "VALUES (:slug, :name, :description, :sort, :active)",
	[Q_ACAT_CATEGORY_UPDATE] = "UPDATE server_categories SET slug = :slug, name = :name, "
	    "description = :description, sort = :sort, active = :active WHERE id = :id",
	[Q_ACAT_CATEGORY_SET_ACTIVE] = "UPDATE server_categories SET active = :active WHERE id = :id AND active <> :active",
	[Q_ACAT_CATEGORY_ORDER] = "SELECT id, sort FROM server_categories ORDER BY sort, name, id",
	[Q_ACAT_CATEGORY_SET_SORT] = "UPDATE server_categories SET sort = :sort WHERE id = :id",
	[Q_ACAT_CATEGORY_REFS] = "SELECT (SELECT count(*) FROM plans WHERE category_id = :id), "
	    "(SELECT count(*) FROM servers WHERE category_id = :id), "
	    "(SELECT count(*) FROM coupons WHERE category_id = :id)",
	[Q_ACAT_CATEGORY_DELETE] = "DELETE FROM server_categories WHERE id = :id",
	[Q_ACAT_BRANDS] = "SELECT b.id, b.slug, b.name, b.description, b.sort, b.active, "
	    "(SELECT count(*) FROM plans WHERE brand_id = b.id), "
	    "(SELECT count(*) FROM servers WHERE brand_id = b.id) "
	    "FROM server_brands b ORDER BY b.sort, b.name, b.id",
	[Q_ACAT_BRAND_GET] = "SELECT id, slug, name, description, sort, active FROM server_brands WHERE id = :id",
	[Q_ACAT_BRAND_SLUG_TAKEN] = "SELECT count(*) FROM server_brands WHERE slug = :slug AND id IS NOT :id",
	[Q_ACAT_BRAND_INSERT] = "INSERT INTO server_brands (slug, name, description, sort, active) "
	    "VALUES (:slug, :name, :description, :sort, :active)",
	[Q_ACAT_BRAND_UPDATE] = "UPDATE server_brands SET slug = :slug, name = :name, "
	    "description = :description, sort = :sort, active = :active WHERE id = :id",
	[Q_ACAT_BRAND_SET_ACTIVE] = "UPDATE server_brands SET active = :active WHERE id = :id AND active <> :active",
	[Q_ACAT_BRAND_ORDER] = "SELECT id, sort FROM server_brands ORDER BY sort, name, id",
	[Q_ACAT_BRAND_SET_SORT] = "UPDATE server_brands SET sort = :sort WHERE id = :id",
	[Q_ACAT_BRAND_REFS] = "SELECT (SELECT count(*) FROM plans WHERE brand_id = :id), "
	    "(SELECT count(*) FROM servers WHERE brand_id = :id), 0",
	[Q_ACAT_BRAND_DELETE] = "DELETE FROM server_brands WHERE id = :id",
	/* The servers panel (admin_servers.c, cmd_server.c). */
	[Q_ASRV_LIST] = "SELECT s.id, s.name, s.country_code, s.country, s.city, coalesce(c.name, ''), "
	    "coalesce(b.name, ''), s.state, s.health, "
	    "(s.tls_verify OR s.tls_pin <> '' OR s.tls_ca <> ''), s.capacity, s.panel_url, "
	    "s.last_error, s.max_concurrency, s.panel_version, "
	    "(SELECT count(*) FROM plans WHERE server_id = s.id) "
	    "FROM servers s LEFT JOIN server_categories c ON c.id = s.category_id "
	    "LEFT JOIN server_brands b ON b.id = s.brand_id ORDER BY s.name, s.id",
	[Q_ASRV_GET] = "SELECT id, name, country_code, country, city, category_id, brand_id, panel_url, "
	    "panel_user, panel_password_sealed IS NOT NULL, panel_token_sealed IS NOT NULL, "
	    "public_host, tls_verify, capacity, max_concurrency, state, health, panel_version, "
	    "last_error FROM servers WHERE id = :id",
	[Q_ASRV_NAME_TAKEN] = "SELECT 1 FROM servers WHERE name = :name AND id != :id",
	[Q_ASRV_INSERT] = "INSERT INTO servers (name, country_code, country, city, category_id, brand_id, "
	    "panel_url, panel_user, public_host, tls_verify, capacity, max_concurrency, updated_at) "
	    "VALUES (:name, :cc, :country, :city, :category, :brand, :url, :user, :host, :tls, "
	    ":capacity, :maxc, unixepoch())",
	[Q_ASRV_UPDATE] = "UPDATE servers SET name = :name, country_code = :cc, country = :country, city = :city, "
	    "category_id = :category, brand_id = :brand, panel_url = :url, panel_user = :user, "
	    "public_host = :host, tls_verify = :tls, capacity = :capacity, max_concurrency = :maxc, "
	    "updated_at = unixepoch() WHERE id = :id",
	[Q_ASRV_SET_PASSWORD] = "UPDATE servers SET panel_password_sealed = :sealed, updated_at = unixepoch() WHERE id = :id",
	[Q_ASRV_SET_TOKEN] = "UPDATE servers SET panel_token_sealed = :sealed, updated_at = unixepoch() WHERE id = :id",
	[Q_ASRV_SET_STATE] = "UPDATE servers SET state = :state, updated_at = unixepoch() "
	    "WHERE id = :id AND state != :state",
	[Q_ASRV_REFS] = "SELECT (SELECT count(*) FROM plans WHERE server_id = :id), "
	    "(SELECT count(*) FROM provisioned_clients WHERE server_id = :id) + "
	    "(SELECT count(*) FROM jobs WHERE server_id = :id)",
	[Q_ASRV_DELETE] = "DELETE FROM servers WHERE id = :id",
	[Q_ASRV_SECRETS] = "SELECT panel_password_sealed, panel_token_sealed FROM servers WHERE id = :id",
	/*
	 * The panel client's jobs (xui.c, job_server_test.c).  RECORD keeps
	 * the last failure (staff see it after a later success) and sets
	 * the version and generation only when they were detected.
	 */
	[Q_XUI_SERVER] = "SELECT id, name, panel_url, panel_user, panel_password_sealed, "
	    "panel_token_sealed, tls_verify, tls_pin, tls_ca FROM servers WHERE id = :id",
	[Q_XUI_RECORD] = "UPDATE servers SET health = :health, last_checked_at = :now, "
	    "panel_version = CASE WHEN :gen IS NULL THEN panel_version ELSE :version END, "
	    "detected_generation = coalesce(:gen, detected_generation), "
	    "last_error = CASE WHEN :err = '' THEN last_error ELSE :err END, "
	    "last_error_at = CASE WHEN :err = '' THEN last_error_at ELSE :now END WHERE id = :id",
	/* server_sync (job_server_sync.c): :seen is a JSON array of the
	 * panel's inbound ids; what is not in it vanished from the panel. */
	[Q_XUI_INBOUND_KNOWN] = "SELECT 1 FROM server_inbounds WHERE server_id = :sid "
	    "AND panel_inbound_id = :pid",
	[Q_XUI_INBOUND_UPSERT] = "INSERT INTO server_inbounds (server_id, panel_inbound_id, remark, "
	    "protocol, port, network, security, settings_json, active) VALUES (:sid, :pid, :remark, "
	    ":protocol, :port, :network, :security, :settings, :active) "
	    "ON CONFLICT (server_id, panel_inbound_id) DO UPDATE SET remark = excluded.remark, "
	    "protocol = excluded.protocol, port = excluded.port, network = excluded.network, "
	    "security = excluded.security, settings_json = excluded.settings_json, "
	    "active = excluded.active",
	[Q_XUI_INBOUND_VANISHED] = "SELECT panel_inbound_id FROM server_inbounds WHERE server_id = :sid "
	    "AND active = 1 AND panel_inbound_id NOT IN (SELECT value FROM json_each(:seen)) "
	    "ORDER BY panel_inbound_id",
	[Q_XUI_INBOUND_DEACTIVATE] = "UPDATE server_inbounds SET active = 0 WHERE server_id = :sid "
	    "AND panel_inbound_id NOT IN (SELECT value FROM json_each(:seen))",
	/* `server test|sync --wait` and /admin/servers/{id}: a job's end,
	 * the panel's inbounds, the panel's last test or sync. */
	[Q_XUI_JOB_RESULT] = "SELECT state, result, last_error FROM jobs WHERE id = :id",
	[Q_XUI_INBOUNDS] = "SELECT panel_inbound_id, protocol, port, remark, network, security, active "
	    "FROM server_inbounds WHERE server_id = :sid ORDER BY active DESC, panel_inbound_id",
	[Q_XUI_LAST_JOB] = "SELECT id, state, result, last_error, updated_at FROM jobs "
	    "WHERE server_id = :sid AND kind = :kind ORDER BY id DESC LIMIT 1",
	/* client_job.c: the panel lane of a client's job. */
	[Q_CLIENT_JOB_SERVER] = "SELECT server_id FROM provisioned_clients WHERE id = :id",
	/* The customer's proxies (svc.c, page_services.c, api_services.c,
	 * page_sub.c).  SVC_COLS are svc_read()'s columns; a client is
	 * "regenerating" while the job its button asked for (client_job.h:
	 * op gen:<cred_gen + 1>) has not landed. */
#define SVC_COLS "pc.id, pc.order_item_id, pc.state, pc.expires_at, pc.traffic_limit_bytes, " \
	"pc.up_bytes, pc.down_bytes, pc.online, pc.last_synced_at, pc.auto_renew, pc.cred_gen, " \
	"pc.email, pc.client_uuid, pc.flow, pc.sub_id, pc.panel_json, i.protocol, i.port, i.remark, " \
	"i.settings_json, s.public_host, s.panel_version, s.country, s.city, p.name, o.public_id, " \
	"EXISTS (SELECT 1 FROM jobs j WHERE j.idem_key = 'regenerate:client:' || pc.id || ':gen:' || " \
	"(pc.cred_gen + 1) AND j.state IN ('pending','running')), s.name "
#define SVC_FROM "FROM provisioned_clients pc JOIN server_inbounds i ON i.id = pc.inbound_id " \
	"JOIN servers s ON s.id = pc.server_id JOIN order_items oi ON oi.id = pc.order_item_id " \
	"JOIN orders o ON o.id = oi.order_id JOIN plans p ON p.id = oi.plan_id "
	[Q_SVC_LIST] = "SELECT " SVC_COLS SVC_FROM "WHERE pc.customer_id = :customer "
	    "AND pc.state NOT IN ('pending','deleted') ORDER BY pc.id DESC",
	[Q_SVC_GET] = "SELECT " SVC_COLS SVC_FROM "WHERE pc.id = :id AND pc.customer_id = :customer "
	    "AND pc.state <> 'pending'",
	/* The subscription: active clients only, and none past its expiry
	 * even before cron expire has suspended it. */
	[Q_SVC_SUB] = "SELECT " SVC_COLS SVC_FROM "WHERE pc.customer_id = :customer AND pc.state = 'active' "
	    "AND (pc.expires_at IS NULL OR pc.expires_at > :now) ORDER BY pc.id",
	/* Paid items without a working client yet: being set up, or failed
	 * for good (the customer sees "we are on it", never the reason). */
	[Q_SVC_PENDING] = "SELECT oi.id, oi.state, p.name, o.public_id FROM order_items oi "
	    "JOIN orders o ON o.id = oi.order_id JOIN plans p ON p.id = oi.plan_id "
	    "WHERE o.customer_id = :customer AND o.paid_at IS NOT NULL "
	    "AND o.state NOT IN ('cancelled','refunded') AND oi.renewal_of IS NULL "
	    "AND oi.state IN ('pending','provisioning','failed') AND NOT EXISTS (SELECT 1 FROM "
	    "provisioned_clients pc WHERE pc.order_item_id = oi.id AND pc.state <> 'pending') "
	    "ORDER BY oi.id DESC",
	/* The order page's link to an item's proxy (a renewal's: the one it renewed). */
	[Q_SVC_OF_ITEM] = "SELECT pc.id FROM order_items oi JOIN provisioned_clients pc "
	    "ON pc.order_item_id = coalesce(oi.renewal_of, oi.id) WHERE oi.id = :item "
	    "AND pc.state NOT IN ('pending','deleted')",
	[Q_SVC_AUTO_RENEW] = "UPDATE provisioned_clients SET auto_renew = :on, updated_at = :now "
	    "WHERE id = :id AND customer_id = :customer AND state NOT IN ('pending','deleted') RETURNING id",
	[Q_SVC_SUB_GEN] = "SELECT gen FROM subscriptions WHERE customer_id = :customer",
	[Q_SVC_SUB_CREATE] = "INSERT INTO subscriptions (customer_id, gen, token_hash) "
	    "VALUES (:customer, 0, :hash) ON CONFLICT (customer_id) DO NOTHING",
	[Q_SVC_SUB_BUMP] = "UPDATE subscriptions SET gen = gen + 1, token_hash = :hash, created_at = :now "
	    "WHERE customer_id = :customer AND gen = :old",
	/* /sub/{token}: the owner must still be a customer in good standing. */
	[Q_SVC_SUB_LOOKUP] = "SELECT su.customer_id, su.gen, coalesce(nullif(c.name, ''), c.email) "
	    "FROM subscriptions su JOIN customers c ON c.id = su.customer_id "
	    "WHERE su.token_hash = :hash AND c.state = 'active'",
	[Q_SVC_SUB_USED] = "UPDATE subscriptions SET last_used_at = :now WHERE customer_id = :customer",
	/* Subscription-Userinfo: the active clients' traffic, their summed
	 * limit (0 when any is unlimited) and the earliest expiry. */
	[Q_SVC_SUB_TOTALS] = "SELECT coalesce(sum(up_bytes), 0), coalesce(sum(down_bytes), 0), "
	    "CASE WHEN min(traffic_limit_bytes) = 0 THEN 0 ELSE coalesce(sum(traffic_limit_bytes), 0) END, "
	    "coalesce(min(expires_at), 0) FROM provisioned_clients WHERE customer_id = :customer "
	    "AND state = 'active' AND (expires_at IS NULL OR expires_at > :now)",
	/* Fixed-window request counters (throttle.c, throttle_hit). */
	[Q_RATE_HIT] = "INSERT INTO rate_counts (key, window_start, count) VALUES (:key, :window, 1) "
	    "ON CONFLICT (key) DO UPDATE SET count = CASE WHEN window_start = :window THEN count + 1 ELSE 1 END, "
	    "window_start = :window RETURNING count",
	[Q_RATE_PRUNE] = "DELETE FROM rate_counts WHERE window_start < :before",
	/* /admin/jobs (admin_jobs.c): the panels to filter by, the depth per
	 * kind and per panel of what is not finished, and the list (:panel -1:
	 * any, 0: jobs of no panel, else that panel's). */
	[Q_AJOB_PANELS] = "SELECT id, name FROM servers ORDER BY name, id",
	[Q_AJOB_DEPTH_KIND] = "SELECT kind, sum(state = 'pending'), sum(state = 'running'), sum(state = 'failed') FROM jobs "
	    "WHERE state IN ('pending','running','failed') GROUP BY kind ORDER BY kind",
	[Q_AJOB_DEPTH_PANEL] = "SELECT j.server_id, coalesce(s.name, ''), coalesce(s.health, ''), sum(j.state = 'pending'), "
	    "sum(j.state = 'running'), sum(j.state = 'failed') FROM jobs j LEFT JOIN servers s ON s.id = j.server_id "
	    "WHERE j.server_id IS NOT NULL AND j.state IN ('pending','running','failed') "
	    "GROUP BY j.server_id ORDER BY 2, 1",
	[Q_AJOB_LIST] = "SELECT j.id, j.kind, j.state, j.attempts, j.step, j.next_attempt_at, coalesce(j.server_id, 0), "
	    "coalesce(s.name, ''), j.last_error, j.created_at, j.updated_at, coalesce(j.claimed_by, '') "
	    "FROM jobs j LEFT JOIN servers s ON s.id = j.server_id WHERE (:state IS NULL OR j.state = :state) "
	    "AND (:kind IS NULL OR j.kind = :kind) AND (:panel < 0 OR coalesce(j.server_id, 0) = :panel) "
	    "ORDER BY j.id DESC LIMIT :limit OFFSET :offset",
	/* /admin/clients (admin_clients.c): the list (the email matches the
	 * client's panel email or its customer's), one client, its usage per
	 * day, its jobs (the provision job of its item and every job asked on
	 * the client through client_job.c, whose keys "KIND:client:ID:OP" it
	 * finds as ranges of the idem_key index, one per kind, not a scan). */
	[Q_ACLI_LIST] = "SELECT pc.id, pc.email, pc.state, pc.server_id, s.name, cu.id, cu.email, coalesce(pc.expires_at, 0), "
	    "pc.up_bytes + pc.down_bytes, pc.traffic_limit_bytes, o.public_id, p.name, pc.online "
	    "FROM provisioned_clients pc JOIN servers s ON s.id = pc.server_id JOIN customers cu ON cu.id = pc.customer_id "
	    "JOIN order_items oi ON oi.id = pc.order_item_id JOIN orders o ON o.id = oi.order_id "
	    "JOIN plans p ON p.id = oi.plan_id "
	    "WHERE (:email IS NULL OR pc.email LIKE :email ESCAPE '\\' OR cu.email LIKE :email ESCAPE '\\') "
	    "AND (:state IS NULL OR pc.state = :state) AND (:panel IS NULL OR pc.server_id = :panel) "
	    "ORDER BY pc.id DESC LIMIT :limit OFFSET :offset",
	[Q_ACLI_GET] = "SELECT pc.id, pc.email, pc.state, pc.server_id, s.name, cu.id, cu.email, pc.expires_at, "
	    "pc.up_bytes + pc.down_bytes, pc.traffic_limit_bytes, o.public_id, p.name, pc.online, pc.last_synced_at, "
	    "i.panel_inbound_id, i.remark, i.protocol, i.port, pc.client_uuid, pc.sub_id, pc.cred_gen, "
	    "pc.suspended_reason, pc.panel_enable, pc.panel_json, pc.limit_ip, pc.created_at, pc.order_item_id "
	    "FROM provisioned_clients pc JOIN servers s ON s.id = pc.server_id JOIN customers cu ON cu.id = pc.customer_id "
	    "JOIN server_inbounds i ON i.id = pc.inbound_id JOIN order_items oi ON oi.id = pc.order_item_id "
	    "JOIN orders o ON o.id = oi.order_id JOIN plans p ON p.id = oi.plan_id WHERE pc.id = :id",
	[Q_ACLI_USAGE] = "SELECT day, up_bytes, down_bytes FROM usage_daily WHERE client_id = :id "
	    "ORDER BY day DESC LIMIT :days",
	[Q_ACLI_JOBS] = "SELECT j.id, j.kind, j.state, j.last_error, j.created_at FROM jobs j "
	    "WHERE j.idem_key = 'provision:item:' || (SELECT order_item_id FROM provisioned_clients WHERE id = :id) "
	    "OR (j.idem_key > 'suspend:client:' || :id || ':' AND j.idem_key < 'suspend:client:' || :id || ';') "
	    "OR (j.idem_key > 'resume:client:' || :id || ':' AND j.idem_key < 'resume:client:' || :id || ';') "
	    "OR (j.idem_key > 'deprovision:client:' || :id || ':' AND j.idem_key < 'deprovision:client:' || :id || ';') "
	    "OR (j.idem_key > 'reset_traffic:client:' || :id || ':' AND j.idem_key < 'reset_traffic:client:' || :id || ';') "
	    "OR (j.idem_key > 'regenerate:client:' || :id || ':' AND j.idem_key < 'regenerate:client:' || :id || ';') "
	    "OR (j.idem_key > 'renew:client:' || :id || ':' AND j.idem_key < 'renew:client:' || :id || ';') "
	    "ORDER BY j.id DESC LIMIT 20",
	[Q_ACLI_STATE] = "SELECT state, cred_gen FROM provisioned_clients WHERE id = :id",
	/* refund_item_to_wallet (refund.c): the item, its order, and how many
	 * of the order's other items still stand; the item refunds given so
	 * far; whether an item's refund is in the ledger; the item cancelled
	 * and its provision job discarded. */
	[Q_RFI_ITEM] = "SELECT i.order_id, i.state, i.unit_price_minor, o.total_minor, o.subtotal_minor, o.currency, "
	    "o.customer_id, coalesce(o.payment_method, ''), o.public_id, o.state, (SELECT count(*) FROM order_items x "
	    "WHERE x.order_id = i.order_id AND x.id <> i.id AND x.state <> 'cancelled') "
	    "FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.id = :id",
	[Q_RFI_REFUNDED] = "SELECT coalesce(sum(amount_minor), 0) FROM wallet_transactions WHERE order_id = :order "
	    "AND kind = 'refund' AND idempotency_key GLOB 'refund:item:*'",
	[Q_RFI_KEY] = "SELECT 1 FROM wallet_transactions WHERE idempotency_key = :key",
	[Q_RFI_CANCEL] = "UPDATE order_items SET state = 'cancelled' WHERE id = :id AND state = 'failed'",
	[Q_RFI_DISCARD_JOB] = "UPDATE jobs SET state = 'discarded', done_at = :now, updated_at = :now, last_error = 'item refunded' "
	    "WHERE idem_key = 'provision:item:' || :id AND state IN ('pending','failed')",
	/* An order's failed items (admin_order_items.c): the item with its
	 * provision job, the item of an order by public id, its job, and the
	 * item back to provisioning on a retry. */
	[Q_AOI_FAILED] = "SELECT i.id, p.name, i.last_error, i.unit_price_minor, i.currency, coalesce(j.id, 0), coalesce(j.state, ''), "
	    "coalesce(j.last_error, ''), coalesce(j.attempts, 0) FROM order_items i JOIN plans p ON p.id = i.plan_id "
	    "LEFT JOIN jobs j ON j.idem_key = 'provision:item:' || i.id WHERE i.order_id = :order AND i.state = 'failed' "
	    "ORDER BY i.id",
	[Q_AOI_ITEM] = "SELECT i.id, o.state FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.id = :id AND o.public_id = :public_id",
	[Q_AOI_JOB] = "SELECT id FROM jobs WHERE idem_key = 'provision:item:' || :id",
	[Q_AOI_REQUEUE] = "UPDATE order_items SET state = 'provisioning' WHERE id = :id AND state = 'failed'",
	/* The inbounds a plan binding selects (admin_plans.c): one inbound
	 * (:inbound, whatever its state), or the pool: the active inbounds of
	 * the protocol on panels that are not disabled, narrowed by each of
	 * server, category and country that is set.  The form counts them and
	 * both the form and the list check them (inbound_warn.c). */
	[Q_APLAN_POOL] = "SELECT i.id, i.protocol, i.network, i.security, i.settings_json, s.public_host, i.remark, s.name, "
	    "i.panel_inbound_id FROM server_inbounds i JOIN servers s ON s.id = i.server_id "
	    "WHERE i.protocol = :protocol AND ((:inbound IS NOT NULL AND i.id = :inbound) OR (:inbound IS NULL "
	    "AND i.active = 1 AND s.state <> 'disabled' AND (:server IS NULL OR s.id = :server) "
	    "AND (:category IS NULL OR s.category_id = :category) AND (:country IS NULL OR s.country_code = :country))) "
	    "ORDER BY s.name, i.panel_inbound_id",
	[Q_APLAN_COUNTRIES] = "SELECT country_code, min(country) FROM servers GROUP BY country_code ORDER BY 2",
	/* job_client.c: the client a lifecycle job acts on, with its inbound on the panel
	 * and what its mail and its expected state need. */
	[Q_JCLIENT_GET] = "SELECT pc.id, pc.server_id, pc.email, pc.client_uuid, pc.state, pc.suspended_reason, "
	    "pc.cred_gen, coalesce(pc.expires_at, 0), pc.traffic_limit_bytes, pc.limit_ip, pc.order_item_id, "
	    "pc.sub_id, pc.flow, coalesce(pc.period_start, 0), pc.up_bytes + pc.down_bytes, "
	    "si.panel_inbound_id, si.protocol, si.settings_json, pc.customer_id "
	    "FROM provisioned_clients pc JOIN server_inbounds si ON si.id = pc.inbound_id WHERE pc.id = :id",
	/* job_client.c: what a suspend, resume or deprovision leaves (the panel's read-back). */
	[Q_JCLIENT_STATE] = "UPDATE provisioned_clients SET state = :state, suspended_reason = :reason, "
	    "panel_enable = :enable, panel_json = :json, updated_at = :now WHERE id = :id",
	/* job_client.c: regenerate's new credential, once per generation. */
	[Q_JCLIENT_CRED] = "UPDATE provisioned_clients SET client_uuid = :cred, cred_gen = :gen, "
	    "panel_enable = :enable, panel_json = :json, updated_at = :now WHERE id = :id AND cred_gen < :gen",
	/* job_client.c: reset_traffic's new period (or, asked by staff, the
	 * same one): the period's usage and the sync's baseline start again
	 * from 0 (the panel's counters were reset), the 80% mail may go
	 * again; a client suspended for its quota is active again.  A period
	 * never moves back. */
	[Q_JCLIENT_PERIOD] = "UPDATE provisioned_clients SET period_start = :start, up_bytes = 0, down_bytes = 0, "
	    "panel_up = 0, panel_down = 0, quota_reminded_at = NULL, state = :state, suspended_reason = :reason, "
	    "panel_enable = :enable, panel_json = :json, updated_at = :now "
	    "WHERE id = :id AND coalesce(period_start, 0) <= :start",
	/* cron_life.c expire: active clients past their expiry (id > :after: the
	 * task pages through them; the jobs it asks for change no row). */
	[Q_LIFE_EXPIRE_DUE] = "SELECT id, expires_at FROM provisioned_clients WHERE state = 'active' "
	    "AND expires_at IS NOT NULL AND expires_at <= :now AND id > :after ORDER BY id LIMIT :limit",
	/* cron_life.c expire: clients past their expiry and the grace period. */
	[Q_LIFE_GRACE_DUE] = "SELECT id, expires_at FROM provisioned_clients WHERE state IN ('active', 'suspended', 'expired') "
	    "AND expires_at IS NOT NULL AND expires_at <= :before AND id > :after ORDER BY id LIMIT :limit",
	/* cron_life.c quota: active clients whose period's use reached the
	 * limit (one past its expiry is expire's: one suspend, not two). */
	[Q_LIFE_QUOTA_DUE] = "SELECT id, coalesce(period_start, 0) FROM provisioned_clients WHERE state = 'active' "
	    "AND traffic_limit_bytes > 0 AND up_bytes + down_bytes >= traffic_limit_bytes "
	    "AND (expires_at IS NULL OR expires_at > :now) AND id > :after ORDER BY id LIMIT :limit",
	/* cron_life.c remind: active clients expiring within the window and not
	 * reminded of this expiry (a renewal moves the expiry past an old reminded_at). */
	[Q_LIFE_REMIND_EXPIRY_DUE] = "SELECT id FROM provisioned_clients WHERE state = 'active' AND expires_at > :now "
	    "AND expires_at <= :now + :window AND (reminded_at IS NULL OR reminded_at < expires_at - :window) "
	    "AND id > :after ORDER BY id LIMIT :limit",
	/* cron_life.c remind: the same test under the write lock, and the mark:
	 * one change means this run mails. */
	[Q_LIFE_REMIND_EXPIRY_MARK] = "UPDATE provisioned_clients SET reminded_at = :now WHERE id = :id AND state = 'active' "
	    "AND expires_at > :now AND expires_at <= :now + :window "
	    "AND (reminded_at IS NULL OR reminded_at < expires_at - :window)",
	/* cron_life.c remind: active clients at 80% of their quota, not yet told
	 * this period. */
	[Q_LIFE_REMIND_QUOTA_DUE] = "SELECT id FROM provisioned_clients WHERE state = 'active' AND traffic_limit_bytes > 0 "
	    "AND (up_bytes + down_bytes) * 5 >= traffic_limit_bytes * 4 AND quota_reminded_at IS NULL "
	    "AND id > :after ORDER BY id LIMIT :limit",
	/* cron_life.c remind: the 80% test under the write lock, and the mark. */
	[Q_LIFE_REMIND_QUOTA_MARK] = "UPDATE provisioned_clients SET quota_reminded_at = :now WHERE id = :id AND state = 'active' "
	    "AND traffic_limit_bytes > 0 AND (up_bytes + down_bytes) * 5 >= traffic_limit_bytes * 4 "
	    "AND quota_reminded_at IS NULL",
	/* cron_life.c: what a lifecycle mail says about a client. */
	[Q_LIFE_MAIL_INFO] = "SELECT c.email, c.name, p.name, coalesce(pc.expires_at, 0), pc.traffic_limit_bytes, "
	    "pc.up_bytes + pc.down_bytes, pc.auto_renew, coalesce(pc.period_start, 0), p.price_minor, p.currency, "
	    "pc.email FROM provisioned_clients pc JOIN customers c ON c.id = pc.customer_id "
	    "JOIN order_items i ON i.id = pc.order_item_id JOIN plans p ON p.id = i.plan_id WHERE pc.id = :id",
	/* cron_life.c renew: auto-renewing clients due (expiry within :lead, not past
	 * the grace period; a client staff suspended waits for staff), with the
	 * plan the renewal buys as a cart line would carry it. */
	[Q_LIFE_RENEW_DUE] = "SELECT pc.id, pc.customer_id, pc.order_item_id, pc.expires_at, p.id, p.slug, p.name, "
	    "p.price_minor, p.currency FROM provisioned_clients pc "
	    "JOIN order_items i ON i.id = pc.order_item_id JOIN plans p ON p.id = i.plan_id "
	    "WHERE pc.auto_renew = 1 AND (pc.state = 'active' OR (pc.state = 'suspended' "
	    "AND pc.suspended_reason IN ('expired', 'quota'))) AND pc.expires_at IS NOT NULL "
	    "AND pc.expires_at <= :now + :lead AND pc.expires_at > :now - :grace "
	    "AND pc.id > :after ORDER BY pc.id LIMIT :limit",
	/* cron_life.c traffic-reset: clients of monthly-reset plans whose period
	 * (from period_start, else the client's start) has run its 30 days. */
	[Q_LIFE_RESET_DUE] = "SELECT pc.id, coalesce(pc.period_start, pc.created_at) FROM provisioned_clients pc "
	    "JOIN order_items i ON i.id = pc.order_item_id JOIN plans p ON p.id = i.plan_id "
	    "WHERE p.traffic_reset = 'monthly' AND pc.state IN ('active', 'suspended') "
	    "AND coalesce(pc.period_start, pc.created_at) + :period <= :now "
	    "AND pc.id > :after ORDER BY pc.id LIMIT :limit",
	/* cron_life.c expire: clients suspended at expiry whose expiry a
	 * renewal has moved past now, with the latest renewal's item (the
	 * resume's op renew:<item>, as the renewal's own job names it). */
	[Q_LIFE_RESUME_DUE] = "SELECT pc.id, (SELECT max(i.id) FROM order_items i "
	    "WHERE i.renewal_of = pc.order_item_id) FROM provisioned_clients pc "
	    "WHERE pc.state = 'suspended' AND pc.suspended_reason = 'expired' AND pc.expires_at > :now "
	    "AND EXISTS (SELECT 1 FROM order_items i WHERE i.renewal_of = pc.order_item_id) "
	    "AND pc.id > :after ORDER BY pc.id LIMIT :limit",
	/* xui_job.c: a kept panel session's row (columns 1-6 are its
	 * fingerprint), the generation forced and detected. */
	[Q_XUI_SESSION_ROW] = "SELECT id, name, panel_url, panel_user, panel_password_sealed, "
	    "panel_token_sealed, tls_verify || ' ' || tls_pin || ' ' || tls_ca, state, api_generation, detected_generation "
	    "FROM servers WHERE id = :id",
	/* job_provision.c: the order item, its order and its plan. */
	[Q_PROV_ITEM] = "SELECT i.id, i.order_id, i.state, coalesce(i.renewal_of, 0), o.customer_id, "
	    "o.state, o.public_id, p.id, p.name, p.protocol, coalesce(p.server_id, 0), "
	    "coalesce(p.inbound_id, 0), coalesce(p.category_id, 0), coalesce(p.country_code, ''), "
	    "p.duration_days, p.traffic_bytes, p.device_limit, p.traffic_reset "
	    "FROM order_items i JOIN orders o ON o.id = i.order_id JOIN plans p ON p.id = i.plan_id "
	    "WHERE i.id = :item",
	/* A client with its inbound, by order item or by id. */
#define PROV_CLIENT "SELECT c.id, c.server_id, c.inbound_id, c.email, c.client_uuid, c.sub_id, " \
	"c.state, coalesce(c.expires_at, 0), c.traffic_limit_bytes, c.limit_ip, c.flow, c.cred_gen, " \
	"si.panel_inbound_id, si.protocol, si.settings_json, si.network, si.security " \
	"FROM provisioned_clients c JOIN server_inbounds si ON si.id = c.inbound_id "
	[Q_PROV_CLIENT_BY_ITEM] = PROV_CLIENT "WHERE c.order_item_id = :item",
	[Q_PROV_CLIENT_BY_ID] = PROV_CLIENT "WHERE c.id = :id",
#undef PROV_CLIENT
	/* Placement: the inbounds a plan may use, with free capacity on
	 * the inbound and on its panel, panels last marked down last, then
	 * the fewest clients (pending, active and suspended clients hold a
	 * slot).  0 / '' leaves a filter out. */
#define PROV_HELD "c.state IN ('pending', 'active', 'suspended')"
#define PROV_POOL "si.active = 1 AND si.protocol = :protocol " \
	"AND (:inbound = 0 OR si.id = :inbound) AND (:server = 0 OR s.id = :server) " \
	"AND (:category = 0 OR s.category_id = :category) AND (:country = '' OR s.country_code = :country) "
	[Q_PROV_CANDIDATES] = "SELECT si.id, si.server_id, si.panel_inbound_id FROM server_inbounds si "
	    "JOIN servers s ON s.id = si.server_id WHERE " PROV_POOL "AND s.state = 'active' "
	    "AND (s.capacity IS NULL OR (SELECT count(*) FROM provisioned_clients c WHERE "
	    "c.server_id = s.id AND " PROV_HELD ") < s.capacity) "
	    "AND (si.capacity = 0 OR (SELECT count(*) FROM provisioned_clients c WHERE "
	    "c.inbound_id = si.id AND " PROV_HELD ") < si.capacity) "
	    "ORDER BY s.health = 'down', (SELECT count(*) FROM provisioned_clients c WHERE "
	    "c.server_id = s.id AND " PROV_HELD "), (SELECT count(*) FROM provisioned_clients c "
	    "WHERE c.inbound_id = si.id AND " PROV_HELD "), si.id",
	[Q_PROV_MAINTENANCE] = "SELECT count(*) FROM server_inbounds si JOIN servers s ON "
	    "s.id = si.server_id WHERE " PROV_POOL "AND s.state = 'maintenance'",
	/* Inside the placing transaction: the inbound still has room. */
	[Q_PROV_CAPACITY_OK] = "SELECT si.active = 1 AND s.state = 'active' "
	    "AND (s.capacity IS NULL OR (SELECT count(*) FROM provisioned_clients c WHERE "
	    "c.server_id = s.id AND " PROV_HELD ") < s.capacity) "
	    "AND (si.capacity = 0 OR (SELECT count(*) FROM provisioned_clients c WHERE "
	    "c.inbound_id = si.id AND " PROV_HELD ") < si.capacity) "
	    "FROM server_inbounds si JOIN servers s ON s.id = si.server_id WHERE si.id = :inbound",
#undef PROV_POOL
#undef PROV_HELD
	[Q_PROV_INBOUND_ROW] = "SELECT settings_json, network, security FROM server_inbounds "
	    "WHERE id = :id",
	[Q_PROV_CLIENT_INSERT] = "INSERT INTO provisioned_clients (order_item_id, customer_id, "
	    "server_id, inbound_id, email, client_uuid, sub_id, state, traffic_limit_bytes, expires_at, "
	    "limit_ip, flow, cred_gen, period_start, updated_at) VALUES (:item, :customer, :server, "
	    ":inbound, :email, :cred, :sub, 'pending', :traffic, :expires, :limit_ip, :flow, 0, :now, "
	    ":now) RETURNING id",
	/* The job into its panel's lane, while this runner holds it. */
	[Q_PROV_JOB_SERVER] = "UPDATE jobs SET server_id = :server WHERE id = :id "
	    "AND claimed_by = :runner AND state = 'running'",
	[Q_PROV_ITEM_STATE] = "UPDATE order_items SET state = :state, last_error = :err WHERE id = :item",
	/* Items still in progress, and failed ones, of an order. */
	[Q_PROV_ORDER_ITEMS_LEFT] = "SELECT count(*) FILTER (WHERE state IN ('pending', 'provisioning')), "
	    "count(*) FILTER (WHERE state = 'failed') FROM order_items WHERE order_id = :order",
	/* A permanent failure gives the pending client's slot back. */
	[Q_PROV_CLIENT_RELEASE] = "UPDATE provisioned_clients SET state = 'deleted', updated_at = :now "
	    "WHERE order_item_id = :item AND state = 'pending'",
	/* Staff who handle orders: mailed when an item fails for good. */
	[Q_PROV_STAFF_MAIL] = "SELECT s.id, s.email FROM staff s JOIN role_permissions rp ON "
	    "rp.role_id = s.role_id JOIN permissions p ON p.id = rp.permission_id "
	    "WHERE p.name = 'orders.write' AND s.state = 'active' ORDER BY s.id",
	/* The generation a job detected, when the row had none. */
	[Q_PROV_SERVER_GEN] = "UPDATE servers SET detected_generation = :gen, panel_version = :version "
	    "WHERE id = :id AND detected_generation IS NULL",
	/* The read back, with 'done' (record). */
	[Q_PROV_CLIENT_ACTIVE] = "UPDATE provisioned_clients SET state = 'active', client_uuid = :cred, "
	    "flow = :flow, limit_ip = :limit_ip, panel_enable = :enable, panel_json = :json, "
	    "expires_at = :expires, traffic_limit_bytes = :total, suspended_reason = '', "
	    "updated_at = :now WHERE id = :id",
	[Q_PROV_CLIENT_RENEWED] = "UPDATE provisioned_clients SET state = 'active', client_uuid = :cred, "
	    "flow = :flow, limit_ip = :limit_ip, panel_enable = :enable, panel_json = :json, "
	    "expires_at = :expires, traffic_limit_bytes = :total, suspended_reason = '', "
	    "reminded_at = NULL, "
	    "up_bytes = CASE WHEN :reset THEN 0 ELSE up_bytes END, "
	    "down_bytes = CASE WHEN :reset THEN 0 ELSE down_bytes END, "
	    "panel_up = CASE WHEN :reset THEN 0 ELSE panel_up END, "
	    "panel_down = CASE WHEN :reset THEN 0 ELSE panel_down END, "
	    "period_start = CASE WHEN :reset THEN :now ELSE period_start END, "
	    "quota_reminded_at = CASE WHEN :reset THEN NULL ELSE quota_reminded_at END, "
	    "updated_at = :now WHERE id = :id",
	/* Renewals (sql/017). */
	[Q_PROV_RENEWAL_OF] = "SELECT coalesce(renewal_of, 0) FROM order_items WHERE id = :item",
	[Q_PROV_RENEWAL_GET] = "SELECT client_id, target_expires_at, applied_at, traffic_bytes "
	    "FROM client_renewals WHERE order_item_id = :item",
	/* Where a new renewal starts: the latest of the stored expiry, the
	 * targets of renewals before it, and now (an expired client). */
	[Q_PROV_RENEWAL_BASE] = "SELECT max(coalesce(c.expires_at, 0), coalesce((SELECT "
	    "max(r.target_expires_at) FROM client_renewals r WHERE r.client_id = c.id), 0), :now) "
	    "FROM provisioned_clients c WHERE c.id = :client",
	[Q_PROV_RENEWAL_INSERT] = "INSERT INTO client_renewals (order_item_id, client_id, "
	    "target_expires_at, traffic_bytes) VALUES (:item, :client, :target, :traffic)",
	/* The expiry the panel must hold: no renewal may shorten another. */
	[Q_PROV_RENEWAL_MAX] = "SELECT max(coalesce(c.expires_at, 0), coalesce((SELECT "
	    "max(r.target_expires_at) FROM client_renewals r WHERE r.client_id = c.id), 0)) "
	    "FROM provisioned_clients c WHERE c.id = :client",
	[Q_PROV_RENEWAL_APPLIED] = "UPDATE client_renewals SET applied_at = :now "
	    "WHERE order_item_id = :item AND applied_at IS NULL",
	/* Traffic sync, drift and panel alerts (sync12: job_traffic_sync.c,
	 * drift.c, cron_sync.c, page_health.c). */
	[Q_TSYNC_SUPERSEDED] = "SELECT count(*) FROM jobs WHERE kind = 'traffic_sync' "
	    "AND server_id = :sid AND id <> :id AND state = 'done' AND done_at >= :listed "
	    "AND json_extract(result, '$.superseded') = 0 AND json_extract(result, '$.listed_us') >= :listed_us",
	[Q_TSYNC_OFFLINE] = "UPDATE provisioned_clients SET online = 0 WHERE server_id = :sid AND online = 1",
	[Q_TSYNC_CLIENT] = "SELECT id, panel_up, panel_down, coalesce(updated_at, 0) FROM provisioned_clients "
	    "WHERE server_id = :sid AND email = :email AND state <> 'deleted'",
	[Q_TSYNC_APPLY] = "UPDATE provisioned_clients SET up_bytes = up_bytes + :dup, "
	    "down_bytes = down_bytes + :ddown, panel_up = :up, panel_down = :down, "
	    "online = CASE WHEN :online < 0 THEN online ELSE :online END, last_synced_at = :now WHERE id = :id",
	[Q_TSYNC_DAILY] = "INSERT INTO usage_daily (client_id, day, up_bytes, down_bytes) "
	    "VALUES (:id, :day, :up, :down) ON CONFLICT (client_id, day) DO UPDATE SET "
	    "up_bytes = up_bytes + excluded.up_bytes, down_bytes = down_bytes + excluded.down_bytes",
	[Q_TSYNC_SERVER_OK] = "UPDATE servers SET last_ok_at = :now, traffic_synced_at = "
	    "CASE WHEN :traffic THEN :now ELSE traffic_synced_at END WHERE id = :id",
	[Q_DRIFT_SHOP] = "SELECT id, email, state, coalesce(expires_at, 0), traffic_limit_bytes "
	    "FROM provisioned_clients WHERE server_id = :sid AND state <> 'pending' ORDER BY email",
	[Q_SYNC_SERVER_HEALTH] = "SELECT last_ok_at, traffic_synced_at, alert_down_at IS NOT NULL, "
	    "alert_stale_at IS NOT NULL FROM servers WHERE id = :id",
	[Q_DRIFT_FIX_CLIENT] = "SELECT pc.email, pc.client_uuid, pc.sub_id, pc.flow, pc.limit_ip, "
	    "pc.traffic_limit_bytes, coalesce(pc.expires_at, 0), pc.state, si.panel_inbound_id, si.protocol "
	    "FROM provisioned_clients pc JOIN server_inbounds si ON si.id = pc.inbound_id WHERE pc.id = :id",
	/* A row without credentials is not a panel the shop can reach yet
	 * (a server shown in the catalog, or one staff are still setting
	 * up: /admin/servers says so): neither synced nor alerted on. */
	[Q_CSYNC_SERVERS] = "SELECT id, name FROM servers WHERE state <> 'disabled' "
	    "AND (panel_password_sealed IS NOT NULL OR panel_token_sealed IS NOT NULL) ORDER BY id",
	[Q_CSYNC_PENDING] = "SELECT count(*) FROM jobs WHERE kind = 'traffic_sync' AND server_id = :sid "
	    "AND state IN ('pending', 'running')",
	[Q_ALERT_SERVERS] = "SELECT id, name, coalesce(last_ok_at, created_at), "
	    "coalesce(traffic_synced_at, created_at), alert_down_at, alert_stale_at, last_error, "
	    "last_ok_at, traffic_synced_at FROM servers WHERE state = 'active' "
	    "AND (panel_password_sealed IS NOT NULL OR panel_token_sealed IS NOT NULL) ORDER BY id",
	[Q_ALERT_DOWN_SET] = "UPDATE servers SET alert_down_at = :now WHERE id = :id AND alert_down_at IS NULL",
	[Q_ALERT_DOWN_CLEAR] = "UPDATE servers SET alert_down_at = NULL WHERE id = :id AND alert_down_at IS NOT NULL",
	[Q_ALERT_STALE_SET] = "UPDATE servers SET alert_stale_at = :now WHERE id = :id AND alert_stale_at IS NULL",
	[Q_ALERT_STALE_CLEAR] = "UPDATE servers SET alert_stale_at = NULL WHERE id = :id AND alert_stale_at IS NOT NULL",
	[Q_ALERT_STAFF] = "SELECT s.id, s.email FROM staff s JOIN role_permissions rp ON rp.role_id = s.role_id "
	    "JOIN permissions p ON p.id = rp.permission_id WHERE p.name = 'servers.write' "
	    "AND s.state = 'active' ORDER BY s.id",
	[Q_HEALTH_PANELS] = "SELECT id, name, state, health, last_ok_at, traffic_synced_at, alert_down_at, "
	    "alert_stale_at, last_error FROM servers WHERE state <> 'disabled' ORDER BY id",
	/* seed --demo-panel (seed_panel.c): the live panel by name, whether
	 * its secret is sealed, and how many of the four protocols its
	 * synced, active inbounds offer; the setting sql/demo/panel.sql
	 * reads; what the panel serves afterwards. */
	[Q_DEMO_PANEL_FIND] = "SELECT s.id, (s.panel_password_sealed IS NOT NULL OR "
	    "s.panel_token_sealed IS NOT NULL), (SELECT count(DISTINCT i.protocol) FROM server_inbounds i "
	    "WHERE i.server_id = s.id AND i.active = 1) FROM servers s WHERE s.name = :name",
	[Q_DEMO_PANEL_SET] = "INSERT INTO settings (key, value) VALUES ('demo.panel_server', :id) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[Q_DEMO_PANEL_PLANS] = "SELECT (SELECT count(*) FROM plans WHERE server_id = :id AND inbound_id IS NOT NULL "
	    "AND active = 1), (SELECT count(*) FROM plans WHERE active = 1 AND stock = 0)",
	/* test-link (cmd_test_link.c): a synced inbound with what its links
	 * need from the server row. */
	[Q_TEST_LINK_INBOUND] = "SELECT i.protocol, i.port, i.remark, i.settings_json, s.public_host, "
	    "s.panel_version FROM server_inbounds i JOIN servers s ON s.id = i.server_id WHERE i.id = :id",
	/* gateway.c: the payment gateways' sealed secrets (gateway.h). */
	[Q_GWSECRET_GET] = "SELECT sealed FROM gateway_secrets WHERE name = :name",
	[Q_GWSECRET_PUT] = "INSERT INTO gateway_secrets (name, sealed, hint, updated_by, updated_at) "
	    "VALUES (:name, :sealed, :hint, nullif(:staff, 0), unixepoch()) ON CONFLICT (name) DO UPDATE SET "
	    "sealed = excluded.sealed, hint = excluded.hint, updated_by = excluded.updated_by, "
	    "updated_at = excluded.updated_at",
	[Q_GWSECRET_DEL] = "DELETE FROM gateway_secrets WHERE name = :name",
	[Q_GWSECRET_LIST] = "SELECT name, hint, updated_at FROM gateway_secrets ORDER BY name",
	/* settings13 (issue 13): /admin/settings/payments shows a sealed
	 * secret by its hint only (admin_settings_payments.c). */
	[Q_GATEWAY_SECRET_HINT] = "SELECT hint, updated_at FROM gateway_secrets WHERE name = :name",
	/* payment.c (issue 13): payments, their events and fulfilment. */
	[Q_PAY_INSERT] = "INSERT INTO payments (public_id, order_id, customer_id, gateway, purpose, amount_minor, "
	    "currency, idempotency_key, expires_at, created_at, updated_at) VALUES (:public_id, :order, "
	    ":customer, :gateway, :purpose, :amount, :currency, :key, :expires, :now, :now) RETURNING id",
	[Q_PAY_BY_IDEM] = "SELECT id, public_id, customer_id FROM payments WHERE idempotency_key = :key",
	[Q_PAY_GET] = "SELECT " PAY_COLS " FROM payments WHERE id = :id",
	[Q_PAY_BY_PUBLIC] = "SELECT " PAY_COLS " FROM payments WHERE public_id = :public_id",
	/* A reference is the gateway's first (session, order, invoice) or second (PaymentIntent, capture, payment id). */
	[Q_PAY_BY_REF] = "SELECT " PAY_COLS " FROM payments WHERE gateway = :gateway AND (gateway_ref = :ref "
	    "OR gateway_ref2 = :ref) ORDER BY id LIMIT 1",
	/* The UNIQUE (gateway, event_id) key: no row back is a replay. */
	[Q_PAY_EVENT_INSERT] = "INSERT INTO gateway_events (gateway, event_id, event_type, payment_id, payload, outcome, "
	    "source, received_at, processed_at) VALUES (:gateway, :event_id, :type, nullif(:payment, 0), "
	    ":payload, :outcome, :source, :now, :now) ON CONFLICT (gateway, event_id) DO NOTHING RETURNING id",
	[Q_PAY_EVENT_OUTCOME] = "UPDATE gateway_events SET outcome = :outcome, processed_at = :now WHERE id = :id",
	[Q_PAY_SET_STATE] = "UPDATE payments SET state = :state, received_minor = CASE WHEN :received >= 0 THEN :received "
	    "ELSE received_minor END, updated_at = :now WHERE id = :id",
	[Q_PAY_SET_REF] = "UPDATE payments SET gateway_ref = :ref, updated_at = :now WHERE id = :id AND gateway_ref IS NULL",
	[Q_PAY_SET_REF2] = "UPDATE payments SET gateway_ref2 = :ref2, updated_at = :now WHERE id = :id AND gateway_ref2 IS NULL",
	[Q_PAY_HOLD] = "UPDATE payments SET held_reason = :reason, held_at = :now, updated_at = :now "
	    "WHERE id = :id AND held_reason = ''",
	/* Staff resolved a hold (payment_release, payment_credit_wallet): held_at stays as the record. */
	[Q_PAY_UNHOLD] = "UPDATE payments SET held_reason = '', updated_at = :now WHERE id = :id AND held_reason <> '' "
	    "AND fulfilled_at IS NULL RETURNING id",
	/* Fulfilment exactly once: whoever sets fulfilled_at first. */
	[Q_PAY_FULFIL] = "UPDATE payments SET fulfilled_at = :now, fulfilled_by = :by, updated_at = :now "
	    "WHERE id = :id AND fulfilled_at IS NULL RETURNING id",
	[Q_PAY_CREATED] = "UPDATE payments SET gateway_ref = coalesce(gateway_ref, :ref), "
	    "gateway_ref2 = coalesce(gateway_ref2, :ref2), checkout_url = coalesce(checkout_url, :url), "
	    "state = CASE WHEN state = 'created' THEN 'pending' ELSE state END, last_error = '', "
	    "updated_at = :now WHERE id = :id",
	[Q_PAY_CREATE_FAILED] = "UPDATE payments SET state = 'failed', last_error = :why, updated_at = :now "
	    "WHERE id = :id AND state = 'created'",
	[Q_PAY_SET_ERROR] = "UPDATE payments SET last_error = :why, updated_at = :now WHERE id = :id",
	[Q_PAY_MAIL] = "SELECT c.email, c.name, p.public_id, p.amount_minor, p.currency, p.gateway, p.purpose, "
	    "coalesce(o.public_id, ''), coalesce((SELECT number FROM invoices WHERE order_id = p.order_id), "
	    "(SELECT number FROM invoices WHERE payment_id = p.id), ''), p.state, "
	    "coalesce(w.balance_minor, 0), coalesce(w.currency, p.currency) FROM payments p "
	    "JOIN customers c ON c.id = p.customer_id LEFT JOIN orders o ON o.id = p.order_id "
	    "LEFT JOIN wallets w ON w.customer_id = p.customer_id WHERE p.id = :id",
	/* checkout.c, checkout_fulfil: the placed order and its items still to provision. */
	[Q_CHECKOUT_FULFIL_ORDER] = "SELECT public_id, customer_id, total_minor, currency, discount_minor, (SELECT count(*) "
	    "FROM order_items i WHERE i.order_id = o.id AND i.state = 'pending') FROM orders o WHERE id = :order",
	[Q_CHECKOUT_FULFIL_ITEMS] = "SELECT i.id, coalesce(i.renewal_of, 0), coalesce(p.server_id, 0) FROM order_items i "
	    "JOIN plans p ON p.id = i.plan_id WHERE i.order_id = :order AND i.state = 'pending' ORDER BY i.id",
	/* cron orders: an order with a payment still open and not past its expiry is left alone. */
	[Q_PAY_ORDER_OPEN] = "SELECT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = :order AND "
	    PAY_HOLDS_ORDER ")",
	[Q_PAY_ORDERS_WAITING] = "SELECT count(*) FROM orders o WHERE o.state = 'pending' AND o.created_at < :before "
	    "AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id AND " PAY_HOLDS_ORDER ")",
	/* cmd_test_payment.c: what the payment unit tests look at. */
	[Q_TEST_PAY_ROW] = "SELECT state, held_reason, fulfilled_at IS NOT NULL, coalesce(received_minor, -1), "
	    "refunded_minor FROM payments WHERE id = :id",
	[Q_TEST_PAY_COUNTS] = "SELECT (SELECT count(*) FROM gateway_events), (SELECT count(*) FROM jobs WHERE kind = 'provision'), "
	    "(SELECT count(*) FROM jobs WHERE kind = 'email'), (SELECT count(*) FROM invoices), "
	    "(SELECT count(*) FROM wallet_transactions), "
	    "(SELECT count(*) FROM audit_log WHERE action = 'order.paid')",
	[Q_TEST_PAY_PUBLIC] = "SELECT public_id FROM payments WHERE id = :id",
	/* cron payments (settings13, cron_payments.c): open payments
	 * (the partial index payments_open) past the reconcile delay and
	 * not yet past their expiry; those past it without their look-up;
	 * those whose look-up after expiry has finished. */
	[Q_CPAY_STALE] = "SELECT id FROM payments WHERE state IN ('created','pending','partially_paid') "
	    "AND gateway <> 'wallet' AND created_at <= :before AND coalesce(expires_at, created_at + :grace) > :now "
	    "ORDER BY created_at, id LIMIT :limit",
	[Q_CPAY_EXPIRE_ASK] = "SELECT p.id FROM payments p WHERE p.state IN ('created','pending') "
	    "AND p.gateway <> 'wallet' AND coalesce(p.expires_at, p.created_at + :grace) <= :now "
	    "AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.idem_key = 'gateway_followup:expire:' || p.id) "
	    "ORDER BY p.id LIMIT :limit",
	[Q_CPAY_EXPIRE_DUE] = "SELECT p.id, p.gateway, p.public_id FROM payments p JOIN jobs j "
	    "ON j.idem_key = 'gateway_followup:expire:' || p.id WHERE p.state IN ('created','pending') "
	    "AND p.gateway <> 'wallet' AND j.state IN ('done','failed') ORDER BY p.id LIMIT :limit",
	/* The report: gateway payments the shop does not know, as the
	 * recent lists found them (job_gateway_recent.c). */
	[Q_CPAY_UNKNOWN_COUNT] = "SELECT count(*) FROM gateway_events WHERE outcome = 'unknown' "
	    "AND source = 'reconcile' AND received_at >= :since",
	[Q_CPAY_KNOWN] = "SELECT count(*) FROM payments WHERE gateway = :gateway AND (gateway_ref = :ref "
	    "OR gateway_ref2 = :ref OR public_id = :public)",
	/* job_payment.c: a payment with what a gateway call needs (the customer's email, the order's public id). */
	[Q_PAY_FOR_GATEWAY] = "SELECT " PAY_COLS ", (SELECT email FROM customers WHERE id = payments.customer_id), "
	    "coalesce((SELECT o.public_id FROM orders o WHERE o.id = payments.order_id), ''), "
	    "coalesce((SELECT o.state FROM orders o WHERE o.id = payments.order_id), '') "
	    "FROM payments WHERE id = :id",
	/* page_pay.c: the customer's payment, by its public id and its owner together. */
	[Q_PAY_OF_CUSTOMER] = "SELECT " PAY_COLS ", coalesce((SELECT o.public_id FROM orders o WHERE o.id = payments.order_id), ''), "
	    "coalesce((SELECT o.state FROM orders o WHERE o.id = payments.order_id), '') "
	    "FROM payments WHERE public_id = :public_id AND customer_id = :customer",
	/* A payment_create job still waiting (its backoff) made due now by the customer's retry. */
	[Q_PAY_JOB_NOW] = "UPDATE jobs SET next_attempt_at = :now, updated_at = :now WHERE idem_key = :key "
	    "AND state = 'pending' RETURNING id",
	[Q_PAY_ORDER_SEQ] = "SELECT count(*) FROM payments WHERE order_id = :order AND id <= :id",
	/* page_checkout.c: a replayed gateway checkout lands on the order's latest payment. */
	[Q_PAY_LATEST_OF_ORDER] = "SELECT public_id FROM payments WHERE order_id = :order ORDER BY id DESC LIMIT 1",
	/*
	 * Refunds of gateway payments (refund.c, job_refund.c).  A payment
	 * with its order; what its refunds add up to (not failed: the cap;
	 * succeeded: refunded_minor; succeeded through the gateway: what the
	 * gateway's cumulative figure is compared with); a refund by key, by
	 * the gateway's id, the oldest pending gateway refund of an amount
	 * (or of at most an amount); the row written, settled, failed; the
	 * payment's refunded amount and state; the order's clients for the
	 * refund policy; who is mailed; the payment's refunds for a page.
	 */
	[Q_RP_PAYMENT] = "SELECT p.id, coalesce(p.order_id, 0), p.customer_id, p.gateway, p.purpose, p.amount_minor, "
	    "p.currency, p.refunded_minor, p.state, p.fulfilled_at IS NOT NULL, p.public_id, "
	    "coalesce(o.public_id, ''), coalesce(o.state, ''), p.held_reason, coalesce(p.received_minor, -1) "
	    "FROM payments p LEFT JOIN orders o ON o.id = p.order_id WHERE p.id = :id",
	[Q_RP_SUMS] = "SELECT coalesce(sum(CASE WHEN state <> 'failed' THEN amount_minor END), 0), "
	    "coalesce(sum(CASE WHEN state = 'succeeded' THEN amount_minor END), 0), "
	    "coalesce(sum(CASE WHEN state = 'succeeded' AND destination = 'gateway' THEN amount_minor END), 0), "
	    "count(*) FROM refunds WHERE payment_id = :payment",
	[Q_RP_BY_KEY] = "SELECT id, amount_minor, currency FROM refunds WHERE idempotency_key = :key",
	[Q_RP_BY_REF] = "SELECT id, state FROM refunds WHERE payment_id = :payment AND gateway_ref = :ref",
	[Q_RP_PENDING_MATCH] = "SELECT id, amount_minor FROM refunds WHERE payment_id = :payment "
	    "AND destination = 'gateway' AND state = 'pending' AND gateway_ref IS NULL "
	    "AND (:amount IS NULL OR amount_minor = :amount) ORDER BY id LIMIT 1",
	[Q_RP_PENDING_UPTO] = "SELECT id, amount_minor FROM refunds WHERE payment_id = :payment "
	    "AND destination = 'gateway' AND state = 'pending' AND amount_minor <= :amount ORDER BY id LIMIT 1",
	[Q_RP_INSERT] = "INSERT INTO refunds (payment_id, order_id, amount_minor, currency, destination, origin, "
	    "state, gateway_ref, reason, staff_id, idempotency_key) VALUES (:payment, :order, :amount, :currency, "
	    ":destination, :origin, :state, :ref, :reason, :staff, :key)",
	[Q_RP_SUCCEED] = "UPDATE refunds SET state = 'succeeded', gateway_ref = coalesce(gateway_ref, :ref), "
	    "updated_at = unixepoch() WHERE id = :id AND state = 'pending'",
	[Q_RP_FAIL] = "UPDATE refunds SET state = 'failed', last_error = :error, updated_at = unixepoch() "
	    "WHERE id = :id AND state = 'pending'",
	[Q_RP_SET_REF] = "UPDATE refunds SET gateway_ref = :ref, updated_at = unixepoch() "
	    "WHERE id = :id AND gateway_ref IS NULL",
	[Q_RP_WALLET_TX] = "UPDATE refunds SET wallet_tx_id = :tx WHERE id = :id",
	[Q_RP_PAY_MOVE] = "UPDATE payments SET refunded_minor = :refunded, state = :state, updated_at = unixepoch() "
	    "WHERE id = :id",
	[Q_RP_GET] = "SELECT r.id, r.payment_id, r.amount_minor, r.currency, r.destination, r.origin, r.state, "
	    "coalesce(r.gateway_ref, ''), r.reason, r.idempotency_key FROM refunds r WHERE r.id = :id",
	[Q_RP_CLIENTS] = "SELECT c.id, c.state FROM provisioned_clients c JOIN order_items i ON i.id = c.order_item_id "
	    "WHERE i.order_id = :order AND c.state <> 'deleted' ORDER BY c.id",
	[Q_RP_MAIL] = "SELECT email, name FROM customers WHERE id = :id",
	[Q_RP_LIST] = "SELECT id, amount_minor, currency, destination, origin, state, coalesce(gateway_ref, ''), "
	    "reason, last_error, created_at, updated_at FROM refunds WHERE payment_id = :payment ORDER BY id",
	/* The refund job (job_refund.c): the refund, its payment, the customer. */
	[Q_JR_LOAD] = "SELECT r.amount_minor, r.currency, r.state, r.reason, r.idempotency_key, p.id, p.public_id, "
	    "p.purpose, coalesce(p.order_id, 0), o.public_id, p.amount_minor, p.currency, p.gateway_ref, "
	    "p.gateway_ref2, p.idempotency_key, p.gateway, c.email FROM refunds r JOIN payments p ON p.id = r.payment_id "
	    "JOIN customers c ON c.id = p.customer_id LEFT JOIN orders o ON o.id = p.order_id WHERE r.id = :id",
	/*
	 * /admin/payments (admin_payments.c): the list, newest first, each
	 * filter off when NULL (gateway, state, held only, a part of the
	 * customer's email); one payment by public id; its gateway events
	 * oldest first (payloads shown escaped); an order's payments.
	 */
	[Q_AP_LIST] = "SELECT p.public_id, p.gateway, p.purpose, p.state, p.amount_minor, p.currency, p.refunded_minor, "
	    "p.held_reason, p.created_at, c.id, c.email, coalesce(o.public_id, '') FROM payments p "
	    "JOIN customers c ON c.id = p.customer_id LEFT JOIN orders o ON o.id = p.order_id "
	    "WHERE p.gateway <> 'wallet' AND (:gateway IS NULL OR p.gateway = :gateway) AND (:state IS NULL OR p.state = :state) "
	    "AND (:held IS NULL OR p.held_reason <> '') AND (:email IS NULL OR c.email LIKE :email ESCAPE '\\') "
	    "ORDER BY p.id DESC LIMIT :limit OFFSET :offset",
	[Q_AP_GET] = "SELECT p.id, p.public_id, p.gateway, p.purpose, p.state, p.amount_minor, p.currency, p.refunded_minor, "
	    "coalesce(p.received_minor, -1), p.held_reason, coalesce(p.held_at, 0), coalesce(p.fulfilled_at, 0), "
	    "coalesce(p.fulfilled_by, ''), coalesce(p.gateway_ref, ''), coalesce(p.gateway_ref2, ''), p.last_error, "
	    "p.created_at, p.updated_at, c.id, c.email, coalesce(o.public_id, ''), p.idempotency_key "
	    "FROM payments p JOIN customers c ON c.id = p.customer_id LEFT JOIN orders o ON o.id = p.order_id "
	    "WHERE p.public_id = :public_id AND p.gateway <> 'wallet'",
	[Q_AP_EVENTS] = "SELECT event_id, event_type, outcome, source, received_at, payload FROM gateway_events "
	    "WHERE payment_id = :payment ORDER BY id",
	[Q_AP_ORDER_PAYMENTS] = "SELECT public_id, gateway, state, amount_minor, currency, refunded_minor, held_reason, id "
	    "FROM payments WHERE order_id = :order AND gateway <> 'wallet' ORDER BY id",
	/*
	 * cmd_test_refund.c (test-unit): what the refund cases count (see
	 * its enum), a proxy for an order's first item and a pending
	 * commission on it, and a refund job claimed as a runner would.
	 */
	[Q_TEST_RF_COUNTS] = "SELECT (SELECT count(*) FROM refunds), "
	    "(SELECT coalesce(sum(amount_minor), 0) FROM refunds WHERE state = 'succeeded'), "
	    "(SELECT count(*) FROM refunds WHERE state = 'failed'), "
	    "(SELECT count(*) FROM jobs WHERE kind = 'suspend' AND idem_key GLOB 'suspend:client:*:refund:*'), "
	    "(SELECT count(*) FROM jobs WHERE kind = 'refund'), "
	    "(SELECT count(*) FROM jobs WHERE kind = 'email' AND idem_key GLOB 'refund-issued:*'), "
	    "(SELECT count(*) FROM referral_commissions WHERE state = 'reversed'), "
	    "(SELECT count(*) FROM audit_log WHERE action = 'payment.refund'), "
	    "(SELECT count(*) FROM audit_log WHERE action = 'payment.refund_seen'), "
	    "(SELECT count(*) FROM refunds WHERE origin = 'gateway'), "
	    "(SELECT count(*) FROM audit_log WHERE action = 'payment.refund_excess')",
	[Q_TEST_RF_CLIENT] = "INSERT INTO provisioned_clients (order_item_id, customer_id, server_id, inbound_id, email, "
	    "client_uuid, sub_id, state) SELECT i.id, o.customer_id, 1, 1, 'c-' || i.id, 'uuid-' || i.id, 'sub-' || i.id, "
	    "'active' FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.order_id = :order",
	[Q_TEST_RF_COMMISSION] = "INSERT INTO referral_commissions (referral_id, order_id, amount_minor, currency, "
	    "available_at) VALUES (1, :order, 100, 'USD', unixepoch() + 86400)",
	[Q_TEST_RF_CLAIM] = "UPDATE jobs SET state = 'running', claimed_by = :runner, attempts = attempts + 1, "
	    "lease_until = unixepoch() + 60 WHERE kind = 'refund' AND payload = :payload AND state IN ('pending','running') "
	    "RETURNING id, attempts",
	/* PayPal webhooks (gw_paypal.c, job_paypal.c): a signing certificate
	 * work fetched and checked, by its URL. */
	[Q_PAYPAL_CERT_GET] = "SELECT pem, coalesce(not_after, 0) FROM paypal_certs WHERE url = :url",
	[Q_PAYPAL_CERT_PUT] = "INSERT INTO paypal_certs (url, pem, not_after, fetched_at) "
	    "VALUES (:url, :pem, :not_after, :now) ON CONFLICT(url) DO UPDATE SET pem = excluded.pem, "
	    "not_after = excluded.not_after, fetched_at = excluded.fetched_at",
	/* The payment a verified delivery is about: our public id echoed as
	 * custom_id first, else the order id, else the capture id. */
	[Q_PAYPAL_PAYMENT_FIND] = "SELECT id FROM payments WHERE gateway = 'paypal' AND "
	    "(public_id = :pub OR gateway_ref = :ref OR gateway_ref2 = :ref2) "
	    "ORDER BY coalesce(public_id = :pub, 0) DESC, coalesce(gateway_ref = :ref, 0) DESC, id LIMIT 1",
	/* What a capture from job_paypal.c needs of its payment. */
	[Q_PAYPAL_PAYMENT_LOAD] = "SELECT p.id, p.public_id, p.purpose, coalesce(p.order_id, 0), o.public_id, "
	    "p.amount_minor, p.currency, p.gateway_ref, p.gateway_ref2, p.idempotency_key, p.state "
	    "FROM payments p LEFT JOIN orders o ON o.id = p.order_id WHERE p.id = :id AND p.gateway = 'paypal'",
	/* A deferred delivery's own row (if webhook.c kept one): gone once
	 * the events inside are applied under their WH- ids ... */
	[Q_PAYPAL_EVENT_DROP] = "DELETE FROM gateway_events WHERE gateway = 'paypal' AND event_id = :id "
	    "AND outcome = 'unverified'",
	/* ... or marked rejected when it does not verify (kept for staff). */
	[Q_PAYPAL_EVENT_REJECT] = "INSERT INTO gateway_events (gateway, event_id, event_type, payload, "
	    "outcome, source, processed_at) VALUES ('paypal', :id, :type, :payload, 'rejected', 'webhook', :now) "
	    "ON CONFLICT(gateway, event_id) DO UPDATE SET outcome = 'rejected', processed_at = excluded.processed_at",
	/* cmd_test_payment.c: a setting for one case (payments.mismatch). */
	[Q_TEST_PAY_SETTING] = "INSERT INTO settings (key, value) VALUES (:key, :value) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	/*
	 * The staff mail log (admin_mail.c, issue 14): a message is an email
	 * job; recipient and template from its payload (json_valid first: a
	 * payload that is not JSON lists with empty fields instead of failing
	 * the page), subject, Message-ID, reply and sent time from mail_log
	 * once sent (NULL before).  Newest first along jobs_kind(kind,
	 * created_at); :rcpt is a LIKE pattern the handler escapes with '\\'.
	 */
	[Q_AMAIL_LIST] = AMAIL_COLS "WHERE j.kind = 'email' AND (:state IS NULL OR j.state = :state) "
	    "AND (:rcpt IS NULL OR CASE WHEN json_valid(j.payload) THEN json_extract(j.payload, '$.to') END "
	    "LIKE :rcpt ESCAPE '\\') AND (:tmpl IS NULL OR CASE WHEN json_valid(j.payload) THEN "
	    "json_extract(j.payload, '$.template') END = :tmpl) "
	    "ORDER BY j.created_at DESC, j.id DESC LIMIT :limit OFFSET :offset",
	[Q_AMAIL_ONE] = AMAIL_COLS "WHERE j.id = :id AND j.kind = 'email'",
	/* The dashboard: mail queued now, failed in the last 24 hours (a
	 * failed job's updated_at is when it failed: Q_JOB_FAIL).  "+kind"
	 * keeps the planner off jobs_kind, which would read every email ever
	 * sent: the pending rows of jobs_state are few; the failed ones are
	 * a range of jobs_failed (migration 024). */
	[Q_AMAIL_COUNTS] = "SELECT (SELECT count(*) FROM jobs WHERE state = 'pending' AND +kind = 'email'), "
	    "(SELECT count(*) FROM jobs WHERE state = 'failed' AND kind = 'email' AND updated_at >= :since)",
	/* The mail banner on every staff page and /healthz's mail line, in
	 * one statement: email jobs failed since :since (a range of the
	 * partial index jobs_failed, migration 024), the setting
	 * mail.alert_failures (NULL: the default) and the email jobs
	 * pending (jobs_state's range of pending rows; "+kind" as above). */
	[Q_MAIL_ALERT] = "SELECT (SELECT count(*) FROM jobs WHERE state = 'failed' AND kind = 'email' "
	    "AND updated_at >= :since), (SELECT value FROM settings WHERE key = 'mail.alert_failures'), "
	    "(SELECT count(*) FROM jobs WHERE state = 'pending' AND +kind = 'email')",
	/* pwkeys16: `1000proxy key rotate|reseal|status` (cmd_key.c).  Every
	 * sealed column: kind, row id, name (gateway secrets), blob.  A new
	 * sealed column goes here and gets its RESEAL statement. */
	[Q_KEY_SEALED_ALL] = "SELECT 'customer', id, '', totp_sealed FROM customers WHERE totp_sealed IS NOT NULL "
	    "UNION ALL SELECT 'staff', id, '', totp_sealed FROM staff WHERE totp_sealed IS NOT NULL "
	    "UNION ALL SELECT 'panel_password', id, '', panel_password_sealed FROM servers "
	    "WHERE panel_password_sealed IS NOT NULL "
	    "UNION ALL SELECT 'panel_token', id, '', panel_token_sealed FROM servers "
	    "WHERE panel_token_sealed IS NOT NULL "
	    "UNION ALL SELECT 'gateway_secret', 0, name, sealed FROM gateway_secrets",
	/* Compare and set: a value changed since it was read (a person
	 * enrolling TOTP, staff editing a panel) is left to its writer. */
	[Q_KEY_RESEAL_CUSTOMER] = "UPDATE customers SET totp_sealed = :new WHERE id = :id AND totp_sealed = :old",
	[Q_KEY_RESEAL_STAFF] = "UPDATE staff SET totp_sealed = :new WHERE id = :id AND totp_sealed = :old",
	[Q_KEY_RESEAL_PANEL_PASSWORD] = "UPDATE servers SET panel_password_sealed = :new WHERE id = :id "
	    "AND panel_password_sealed = :old",
	[Q_KEY_RESEAL_PANEL_TOKEN] = "UPDATE servers SET panel_token_sealed = :new WHERE id = :id "
	    "AND panel_token_sealed = :old",
	[Q_KEY_RESEAL_GATEWAY] = "UPDATE gateway_secrets SET sealed = :new WHERE name = :name AND sealed = :old",
	/* Password hashes by the key they are peppered under ('' : made
	 * before the pepper); a deleted account's random hash never signs
	 * in again and does not count. */
	[Q_KEY_HASH_KEYS] = "SELECT CASE WHEN h LIKE '$pepper1$%' THEN substr(h, 10, 8) ELSE '' END AS k, count(*) "
	    "FROM (SELECT password_hash AS h FROM customers WHERE state <> 'deleted' "
	    "UNION ALL SELECT password_hash FROM staff WHERE password_hash <> '') GROUP BY k ORDER BY k",
	/* Email jobs not yet sent that carry sealed links (mail_seal.c):
	 * a retry needs the key that sealed them, so while any remain no
	 * retired key is reported deletable.  Sent and discarded ones are
	 * scrubbed. */
	[Q_KEY_MAIL_SEALED] = "SELECT count(*) FROM jobs WHERE kind = 'email' "
	    "AND state IN ('pending', 'running', 'failed') AND json_valid(payload) "
	    "AND json_type(payload, '$.sealed') = 'object'",
	/* Sign-in notices, session lists and token lifetimes (authflow16,
	 * issue 16: admin_account.c, staff_notice.c, cron_tokens.c). */
	[Q_AF_STAFF_SESSIONS] = "SELECT id, created_at, last_seen_at, ip, user_agent FROM sessions WHERE staff_id = :sid "
	    "AND kind = 'staff' AND mfa_ok = 1 AND expires_at > :now AND last_seen_at > :idle "
	    "ORDER BY last_seen_at DESC, id DESC LIMIT 100",
	[Q_AF_STAFF_SESSION_OWNED] = "SELECT count(*) FROM sessions WHERE id = :id AND staff_id = :sid AND kind = 'staff'",
	[Q_AF_STAFF_SESSION_END] = "DELETE FROM sessions WHERE id = :id AND staff_id = :sid AND kind = 'staff'",
	[Q_AF_STAFF_RESET_INSERT] = "INSERT INTO email_tokens (token_hash, purpose, staff_id, expires_at) "
	    "VALUES (:hash, 'reset', :sid, :expires)",
	[Q_AF_STAFF_RESET_FIND] = "SELECT e.id, s.id, s.email, s.name FROM email_tokens e JOIN staff s ON s.id = e.staff_id "
	    "WHERE e.token_hash = :hash AND e.purpose = 'reset' AND e.used_at IS NULL AND e.expires_at > :now "
	    "AND s.state = 'active' AND s.totp_enabled_at IS NOT NULL",
	[Q_AF_STAFF_RESETS_SPEND] = "UPDATE email_tokens SET used_at = unixepoch() WHERE staff_id = :sid "
	    "AND purpose = 'reset' AND used_at IS NULL",
	[Q_AF_STAFF_API_TOKENS_REVOKE] = "UPDATE api_tokens SET revoked_at = unixepoch() WHERE staff_id = :sid "
	    "AND revoked_at IS NULL",
	[Q_AF_DEVICE_ADD] = "INSERT INTO staff_devices (staff_id, token_hash, ip, user_agent, first_seen_at, "
	    "last_seen_at) VALUES (:sid, :hash, :ip, :ua, :now, :now) ON CONFLICT (staff_id, token_hash) DO NOTHING",
	[Q_AF_DEVICE_TOUCH] = "UPDATE staff_devices SET last_seen_at = :now, ip = :ip, user_agent = :ua "
	    "WHERE staff_id = :sid AND token_hash = :hash",
	[Q_AF_DEVICE_COUNT] = "SELECT count(*) FROM staff_devices WHERE staff_id = :sid",
	[Q_AF_TOKENS_EXPIRING] = "SELECT t.id FROM api_tokens t LEFT JOIN customers c ON c.id = t.customer_id "
	    "LEFT JOIN staff s ON s.id = t.staff_id WHERE t.revoked_at IS NULL AND t.expiry_mailed_at IS NULL "
	    "AND t.expires_at > :now AND t.expires_at <= :until AND coalesce(c.state, s.state) = 'active' "
	    "AND t.id > :after ORDER BY t.id LIMIT :limit",
	[Q_AF_TOKEN_EXPIRY_MARK] = "UPDATE api_tokens SET expiry_mailed_at = :now WHERE id = :id "
	    "AND expiry_mailed_at IS NULL AND revoked_at IS NULL",
	[Q_AF_TOKEN_EXPIRY_MAIL] = "SELECT coalesce(c.email, s.email), coalesce(c.name, s.name), t.name, t.prefix, "
	    "t.expires_at, t.staff_id IS NOT NULL FROM api_tokens t LEFT JOIN customers c ON c.id = t.customer_id "
	    "LEFT JOIN staff s ON s.id = t.staff_id WHERE t.id = :id",
	/* Passkeys (issue 16, passkey16; migration 027).  The owner is bound
	 * as :cid and :sid, the other one NULL, as the API tokens' are. */
	[Q_PASSKEY_INSERT] = "INSERT INTO passkeys (customer_id, staff_id, cred_id, public_key, alg, "
	    "sign_count, name) VALUES (:cid, :sid, :cred, :key, :alg, :count, :name)",
	[Q_PASSKEY_COUNT] = "SELECT count(*) FROM passkeys WHERE customer_id IS :cid AND staff_id IS :sid",
	[Q_PASSKEY_IDS] = "SELECT cred_id FROM passkeys WHERE customer_id IS :cid AND staff_id IS :sid "
	    "ORDER BY id LIMIT 20",
	[Q_PASSKEY_LIST] = "SELECT id, name, alg, created_at, last_used_at FROM passkeys "
	    "WHERE customer_id IS :cid AND staff_id IS :sid ORDER BY id LIMIT 100",
	[Q_PASSKEY_GET] = "SELECT name FROM passkeys WHERE id = :id AND customer_id IS :cid AND staff_id IS :sid",
	[Q_PASSKEY_RENAME] = "UPDATE passkeys SET name = :name "
	    "WHERE id = :id AND customer_id IS :cid AND staff_id IS :sid",
	[Q_PASSKEY_DELETE] = "DELETE FROM passkeys WHERE id = :id AND customer_id IS :cid AND staff_id IS :sid",
	[Q_PASSKEY_BY_CRED] = "SELECT id, customer_id, staff_id, public_key, alg, sign_count "
	    "FROM passkeys WHERE cred_id = :cred",
	/* A counter that grew (or stayed zero on both sides): only a
	 * changed row counts, so one response cannot win twice. */
	[Q_PASSKEY_USE] = "UPDATE passkeys SET sign_count = :count, last_used_at = :now "
	    "WHERE id = :id AND (sign_count < :count OR (sign_count = 0 AND :count = 0))",
	[Q_PASSKEY_CHAL_PRUNE] = "DELETE FROM passkey_challenges WHERE expires_at < :now "
	    "OR (bind = :bind AND purpose = :purpose)",
	[Q_PASSKEY_CHAL_INSERT] = "INSERT INTO passkey_challenges (hash, purpose, kind, bind, expires_at) "
	    "VALUES (:hash, :purpose, :kind, :bind, :expires)",
	[Q_PASSKEY_CHAL_TAKE] = "DELETE FROM passkey_challenges WHERE hash = :hash AND purpose = :purpose "
	    "AND kind = :kind AND bind = :bind AND expires_at >= :now",
	[Q_PASSKEY_DELETE_ALL] = "DELETE FROM passkeys WHERE customer_id IS :cid AND staff_id IS :sid",
	/* requests16: budgets tripped and forms refused as too fast in the
	 * last :seconds, for the staff alert (budget.c): at most one audit
	 * row per address or account and minute each; two ranges of
	 * audit_log_action. */
	[Q_BUDGET_TRIPS] = "SELECT count(*) FROM audit_log WHERE action IN ('budget.tripped', "
	    "'budget.form_too_fast') AND at >= unixepoch() - :seconds",
	/* data16 (issue 16): privacy.  A sent or discarded message's sealed
	 * link goes (mail_seal.c); the masked vars stay for /admin/mail. */
	[Q_MAIL_SCRUB] = "UPDATE jobs SET payload = json_set(json_remove(payload, '$.sealed'), "
	    "'$.scrubbed', json('true')) WHERE id = :id AND kind = 'email' "
	    "AND json_type(payload, '$.sealed') IS NOT NULL",
	/* cron prune, retention (conf audit_ip_keep_days, mail_log_keep_days,
	 * job_payload_keep_days; sql/029 lets the audit log's ip be
	 * cleared and nothing else).  A pruned email payload keeps the
	 * recipient and template /admin/mail lists; any other kind keeps
	 * nothing.  Failed jobs are left whole: staff may retry them. */
	[Q_RET_AUDIT_IP] = "UPDATE audit_log SET ip = '' WHERE ip <> '' AND at < :before",
	/* A staff device unused for audit_ip_keep_days goes with its
	 * address and browser (a sign-in from it again is a new device);
	 * passkey challenges past their five minutes go too. */
	[Q_RET_STAFF_DEVICES] = "DELETE FROM staff_devices WHERE last_seen_at < :before",
	[Q_PRUNE_PASSKEY_CHALLENGES] = "DELETE FROM passkey_challenges WHERE expires_at <= :now",
	[Q_RET_MAIL_LOG] = "DELETE FROM mail_log WHERE sent_at < :before",
	[Q_RET_JOB_PAYLOAD] = "UPDATE jobs SET payload = CASE WHEN kind = 'email' AND json_valid(payload) "
	    "THEN json_object('to', json_extract(payload, '$.to'), 'template', json_extract(payload, '$.template'), "
	    "'pruned', json('true')) ELSE '{\"pruned\":true}' END "
	    "WHERE state IN ('done','discarded') AND done_at < :before "
	    "AND (NOT json_valid(payload) OR json_type(payload, '$.pruned') IS NULL)",
	/* /account/export (page_export.c): the signed-in customer's data,
	 * each section one JSON text built here with its columns named, so
	 * nothing is exported by accident: never a hash, token, sealed
	 * value, proxy credential or another customer's identity.  Every
	 * statement is bound to :cid from the session.  Subquery results
	 * lose their JSON subtype, hence json(...) around them. */
	[Q_MYDATA_PROFILE] = "SELECT json_object('id', id, 'email', email, 'name', name, "
	    "'state', state, 'currency', currency, 'email_verified_at', email_verified_at, "
	    "'two_factor_enabled_at', totp_enabled_at, 'referral_code', referral_code, "
	    "'billing_name', billing_name, 'billing_address', billing_address, 'tax_id', tax_id, "
	    "'created_at', created_at, 'updated_at', updated_at) FROM customers WHERE id = :cid",
	[Q_MYDATA_ORDERS] = "SELECT json_group_array(json_object('order', o.public_id, 'state', o.state, "
	    "'subtotal_minor', o.subtotal_minor, 'discount_minor', o.discount_minor, 'tax_minor', o.tax_minor, "
	    "'total_minor', o.total_minor, 'currency', o.currency, 'payment_method', o.payment_method, "
	    "'created_at', o.created_at, 'paid_at', o.paid_at, 'items', json((SELECT json_group_array("
	    "json_object('plan', p.name, 'quantity', i.quantity, 'unit_price_minor', i.unit_price_minor, "
	    "'currency', i.currency, 'state', i.state)) FROM order_items i JOIN plans p ON p.id = i.plan_id "
	    "WHERE i.order_id = o.id)))) FROM (SELECT * FROM orders WHERE customer_id = :cid ORDER BY id) o",
	[Q_MYDATA_INVOICES] = "SELECT json_group_array(json_object('number', v.number, "
	    "'order', (SELECT public_id FROM orders WHERE id = v.order_id), 'customer_name', v.customer_name, "
	    "'customer_address', v.customer_address, 'customer_tax_id', v.customer_tax_id, "
	    "'subtotal_minor', v.subtotal_minor, 'discount_minor', v.discount_minor, 'tax_minor', v.tax_minor, "
	    "'total_minor', v.total_minor, 'currency', v.currency, 'state', v.state, 'issued_at', v.issued_at, "
	    "'paid_at', v.paid_at, 'lines', json((SELECT json_group_array(json_object('description', l.description, "
	    "'quantity', l.quantity, 'unit_price_minor', l.unit_price_minor, 'amount_minor', l.amount_minor)) "
	    "FROM (SELECT * FROM invoice_lines WHERE invoice_id = v.id ORDER BY line_no) l)))) "
	    "FROM (SELECT * FROM invoices WHERE customer_id = :cid ORDER BY id) v",
	[Q_MYDATA_PAYMENTS] = "SELECT json_group_array(json_object('payment', y.public_id, "
	    "'order', (SELECT public_id FROM orders WHERE id = y.order_id), 'gateway', y.gateway, "
	    "'purpose', y.purpose, 'amount_minor', y.amount_minor, 'currency', y.currency, 'state', y.state, "
	    "'refunded_minor', y.refunded_minor, 'created_at', y.created_at)) "
	    "FROM (SELECT * FROM payments WHERE customer_id = :cid ORDER BY id) y",
	[Q_MYDATA_WALLET] = "SELECT json_object('currency', w.currency, 'balance_minor', w.balance_minor, "
	    "'ledger', json((SELECT json_group_array(json_object('amount_minor', t.amount_minor, 'kind', t.kind, "
	    "'order', (SELECT public_id FROM orders WHERE id = t.order_id), 'memo', t.memo, "
	    "'created_at', t.created_at)) FROM (SELECT * FROM wallet_transactions WHERE wallet_id = w.id "
	    "ORDER BY id) t))) FROM wallets w WHERE w.customer_id = :cid",
	[Q_MYDATA_SERVICES] = "SELECT json_group_array(json_object('id', c.id, "
	    "'order', (SELECT o.public_id FROM order_items i JOIN orders o ON o.id = i.order_id "
	    "WHERE i.id = c.order_item_id), 'server', (SELECT name FROM servers WHERE id = c.server_id), "
	    "'state', c.state, 'traffic_limit_bytes', c.traffic_limit_bytes, 'up_bytes', c.up_bytes, "
	    "'down_bytes', c.down_bytes, 'expires_at', c.expires_at, 'auto_renew', c.auto_renew, "
	    "'last_synced_at', c.last_synced_at, 'created_at', c.created_at, 'usage_daily', "
	    "json((SELECT json_group_array(json_object('day', u.day, 'up_bytes', u.up_bytes, "
	    "'down_bytes', u.down_bytes)) FROM (SELECT * FROM usage_daily WHERE client_id = c.id ORDER BY day) u)))) "
	    "FROM (SELECT * FROM provisioned_clients WHERE customer_id = :cid ORDER BY id) c",
	[Q_MYDATA_SUBSCRIPTION] = "SELECT json_object('generation', gen, 'created_at', created_at, "
	    "'last_used_at', last_used_at) FROM subscriptions WHERE customer_id = :cid",
	[Q_MYDATA_SESSIONS] = "SELECT json_group_array(json_object('created_at', created_at, "
	    "'last_seen_at', last_seen_at, 'expires_at', expires_at, 'ip', ip, 'user_agent', user_agent)) "
	    "FROM (SELECT * FROM sessions WHERE customer_id = :cid AND kind = 'customer' ORDER BY id)",
	[Q_MYDATA_TOKENS] = "SELECT json_group_array(json_object('name', name, 'scopes', scopes, "
	    "'created_at', created_at, 'expires_at', expires_at, 'last_used_at', last_used_at, "
	    "'revoked_at', revoked_at)) FROM (SELECT * FROM api_tokens WHERE customer_id = :cid ORDER BY id)",
	/* Passkeys by name and dates (passkey16's table): never the
	 * credential id or public key. */
	[Q_MYDATA_PASSKEYS] = "SELECT json_group_array(json_object('name', name, 'algorithm', "
	    "CASE alg WHEN -7 THEN 'ES256' WHEN -8 THEN 'EdDSA' END, 'created_at', created_at, "
	    "'last_used_at', last_used_at)) FROM (SELECT * FROM passkeys WHERE customer_id = :cid ORDER BY id)",
	[Q_MYDATA_REFERRALS] = "SELECT json_object('referred_by_someone', "
	    "json(iif(EXISTS (SELECT 1 FROM referrals WHERE referred_id = :cid), 'true', 'false')), "
	    "'referred', json((SELECT json_group_array(json_object('since', f.created_at, "
	    "'commissions', json((SELECT json_group_array(json_object('amount_minor', m.amount_minor, "
	    "'currency', m.currency, 'state', m.state, 'available_at', m.available_at, "
	    "'created_at', m.created_at)) FROM referral_commissions m WHERE m.referral_id = f.id)))) "
	    "FROM (SELECT * FROM referrals WHERE referrer_id = :cid ORDER BY id) f)))",
	[Q_MYDATA_AUDIT] = "SELECT json_group_array(json_object('at', a.at, 'action', a.action, "
	    "'by', a.actor_kind, 'target', a.target, 'detail', a.detail, 'ip', a.ip)) "
	    "FROM (SELECT * FROM audit_log WHERE target = 'customer:' || :cid "
	    "OR (actor_kind = 'customer' AND actor_id = :cid) ORDER BY id LIMIT 100000) a",
	[Q_PANEL_DEFAULT_GET] = "SELECT panel_user, panel_password_sealed FROM servers WHERE id = :id",
	[Q_PWDUE_CUSTOMER_SET] = "UPDATE customers SET password_change_due = 1 WHERE id = :id",
	[Q_PWDUE_STAFF_SET] = "UPDATE staff SET password_change_due = 1 WHERE id = :id",
	[Q_PWDUE_CUSTOMER_GET] = "SELECT password_change_due FROM customers WHERE id = :id",
	[Q_PWDUE_STAFF_GET] = "SELECT password_change_due FROM staff WHERE id = :id",
	[Q_C2FA_BY_EMAIL] = "SELECT id, email, name FROM customers WHERE email = lower(:email) AND state <> 'deleted'",
	/* cmd_server.c (`server pin`, issue 16): what a panel's TLS is
	 * checked with, and setting it. */
	[Q_SRV_PIN_GET] = "SELECT panel_url, tls_verify, tls_pin, tls_ca FROM servers WHERE id = :id",
	[Q_SRV_PIN_SET] = "UPDATE servers SET tls_pin = :pin, tls_ca = :ca, updated_at = :now WHERE id = :id",
};

const char *const sql_name[Q__MAX] = {
	[Q_HEALTH_PING] = "HEALTH_PING",
	[Q_JOBS_FAILED_COUNT] = "JOBS_FAILED_COUNT",
	[Q_JOBS_PENDING_COUNT] = "JOBS_PENDING_COUNT",
	[Q_JOB_ENQUEUE] = "JOB_ENQUEUE",
	[Q_JOB_ID_BY_IDEM] = "JOB_ID_BY_IDEM",
	[Q_PLANS_FEATURED] = "PLANS_FEATURED",
	[Q_PLANS_COUNT] = "PLANS_COUNT",
	[Q_PLANS_PAGE_PRICE_ASC] = "PLANS_PAGE_PRICE_ASC",
	[Q_PLANS_PAGE_PRICE_DESC] = "PLANS_PAGE_PRICE_DESC",
	[Q_PLANS_PAGE_TRAFFIC_DESC] = "PLANS_PAGE_TRAFFIC_DESC",
	[Q_PLANS_PAGE_NAME] = "PLANS_PAGE_NAME",
	[Q_PLAN_BY_SLUG] = "PLAN_BY_SLUG",
	[Q_CATEGORIES] = "CATEGORIES",
	[Q_BRANDS] = "BRANDS",
	[Q_LOCATIONS] = "LOCATIONS",
	[Q_COUNTRIES] = "COUNTRIES",
	[Q_SESSION_CUSTOMER] = "SESSION_CUSTOMER",
	[Q_SESSION_STAFF] = "SESSION_STAFF",
	[Q_SESSION_TOUCH] = "SESSION_TOUCH",
	[Q_SESSION_DELETE] = "SESSION_DELETE",
	[Q_SESSION_INSERT] = "SESSION_INSERT",
	[Q_SESSION_DELETE_CUSTOMER_ALL] = "SESSION_DELETE_CUSTOMER_ALL",
	[Q_SESSION_DELETE_STAFF_ALL] = "SESSION_DELETE_STAFF_ALL",
	[Q_SESSION_REAUTH] = "SESSION_REAUTH",
	[Q_STAFF_PERMS] = "STAFF_PERMS",
	[Q_AUDIT_INSERT] = "AUDIT_INSERT",
	[Q_TOKEN_BY_HASH] = "TOKEN_BY_HASH",
	[Q_TOKEN_TOUCH] = "TOKEN_TOUCH",
	[Q_API_TOKEN_LIST] = "API_TOKEN_LIST",
	[Q_API_TOKEN_COUNT_LIVE] = "API_TOKEN_COUNT_LIVE",
	[Q_API_TOKEN_INSERT] = "API_TOKEN_INSERT",
	[Q_API_TOKEN_GET] = "API_TOKEN_GET",
	[Q_API_TOKEN_REVOKE] = "API_TOKEN_REVOKE",
	[Q_API_TOKEN_INFO] = "API_TOKEN_INFO",
	[Q_TOKEN_OWNER_PHC_CUSTOMER] = "TOKEN_OWNER_PHC_CUSTOMER",
	[Q_TOKEN_OWNER_PHC_STAFF] = "TOKEN_OWNER_PHC_STAFF",
	[Q_THROTTLE_GET] = "THROTTLE_GET",
	[Q_THROTTLE_PUT] = "THROTTLE_PUT",
	[Q_THROTTLE_CLEAR] = "THROTTLE_CLEAR",
	[Q_THROTTLE_UNDO] = "THROTTLE_UNDO",
	[Q_MAIL_THROTTLE_PRUNE] = "MAIL_THROTTLE_PRUNE",
	[Q_MAIL_THROTTLE_HOUR] = "MAIL_THROTTLE_HOUR",
	[Q_MAIL_THROTTLE_COUNT] = "MAIL_THROTTLE_COUNT",
	[Q_EMAIL_TOKEN_INSERT] = "EMAIL_TOKEN_INSERT",
	[Q_EMAIL_TOKEN_FIND] = "EMAIL_TOKEN_FIND",
	[Q_EMAIL_TOKEN_USE] = "EMAIL_TOKEN_USE",
	[Q_CUSTOMER_INSERT] = "CUSTOMER_INSERT",
	[Q_WALLET_CREATE] = "WALLET_CREATE",
	[Q_CUSTOMER_BY_EMAIL] = "CUSTOMER_BY_EMAIL",
	[Q_CUSTOMER_VERIFY] = "CUSTOMER_VERIFY",
	[Q_CUSTOMER_SET_EMAIL] = "CUSTOMER_SET_EMAIL",
	[Q_CUSTOMER_SET_PASSWORD] = "CUSTOMER_SET_PASSWORD",
	[Q_ACCT_CUSTOMER] = "ACCT_CUSTOMER",
	[Q_ACCT_SET_NAME] = "ACCT_SET_NAME",
	[Q_ACCT_TOKENS_SPEND] = "ACCT_TOKENS_SPEND",
	[Q_ACCT_TOKENS_SPEND_ALL] = "ACCT_TOKENS_SPEND_ALL",
	[Q_ACCT_SESSIONS] = "ACCT_SESSIONS",
	[Q_ACCT_SESSION_REVOKE] = "ACCT_SESSION_REVOKE",
	[Q_ACCT_DELETE] = "ACCT_DELETE",
	[Q_ACCT_API_TOKENS_REVOKE] = "ACCT_API_TOKENS_REVOKE",
	[Q_ACCT_TOTP_GET] = "ACCT_TOTP_GET",
	[Q_ACCT_TOTP_SET_PENDING] = "ACCT_TOTP_SET_PENDING",
	[Q_ACCT_TOTP_USE_STEP] = "ACCT_TOTP_USE_STEP",
	[Q_ACCT_TOTP_ENABLE] = "ACCT_TOTP_ENABLE",
	[Q_ACCT_TOTP_DISABLE] = "ACCT_TOTP_DISABLE",
	[Q_ACCT_RC_DELETE] = "ACCT_RC_DELETE",
	[Q_ACCT_RC_INSERT] = "ACCT_RC_INSERT",
	[Q_ACCT_RC_UNUSED] = "ACCT_RC_UNUSED",
	[Q_ACCT_RC_USE] = "ACCT_RC_USE",
	[Q_ACCT_RC_LEFT] = "ACCT_RC_LEFT",
	[Q_STAFF_BY_EMAIL] = "STAFF_BY_EMAIL",
	[Q_STAFF_GET] = "STAFF_GET",
	[Q_STAFF_SET_PASSWORD] = "STAFF_SET_PASSWORD",
	[Q_STAFF_TOTP_GET] = "STAFF_TOTP_GET",
	[Q_STAFF_TOTP_PENDING] = "STAFF_TOTP_PENDING",
	[Q_STAFF_TOTP_ENABLE] = "STAFF_TOTP_ENABLE",
	[Q_STAFF_TOTP_STEP] = "STAFF_TOTP_STEP",
	[Q_STAFF_TOTP_RESET] = "STAFF_TOTP_RESET",
	[Q_STAFF_RC_DELETE] = "STAFF_RC_DELETE",
	[Q_STAFF_RC_INSERT] = "STAFF_RC_INSERT",
	[Q_STAFF_RC_UNUSED] = "STAFF_RC_UNUSED",
	[Q_STAFF_RC_USE] = "STAFF_RC_USE",
	[Q_STAFF_LIST] = "STAFF_LIST",
	[Q_ROLES] = "ROLES",
	[Q_ROLE_BY_NAME] = "ROLE_BY_NAME",
	[Q_ROLE_EXCEEDS] = "ROLE_EXCEEDS",
	[Q_STAFF_INVITE] = "STAFF_INVITE",
	[Q_STAFF_INVITE_TOKEN] = "STAFF_INVITE_TOKEN",
	[Q_STAFF_INVITE_FIND] = "STAFF_INVITE_FIND",
	[Q_STAFF_ACTIVATE] = "STAFF_ACTIVATE",
	[Q_STAFF_DISABLE] = "STAFF_DISABLE",
	[Q_STAFF_ENABLE] = "STAFF_ENABLE",
	[Q_STAFF_SET_ROLE] = "STAFF_SET_ROLE",
	[Q_STAFF_SUPER_ACTIVE] = "STAFF_SUPER_ACTIVE",
	[Q_ADMIN_COUNTS] = "ADMIN_COUNTS",
	[Q_AUDIT_PAGE] = "AUDIT_PAGE",
	[Q_THROTTLE_LIST] = "THROTTLE_LIST",
	[Q_THROTTLE_EXISTS] = "THROTTLE_EXISTS",
	[Q_JOB_STATE] = "JOB_STATE",
	[Q_JOBS_RESET_RUNNING] = "JOBS_RESET_RUNNING",
	[Q_JOBS_LIVE] = "JOBS_LIVE",
	[Q_PRUNE_SESSIONS] = "PRUNE_SESSIONS",
	[Q_PRUNE_EMAIL_TOKENS] = "PRUNE_EMAIL_TOKENS",
	[Q_PRUNE_THROTTLE] = "PRUNE_THROTTLE",
	[Q_PLANS_TOTAL] = "PLANS_TOTAL",
	[Q_CHECK_WALLETS] = "CHECK_WALLETS",
	[Q_STAFF_CREATE] = "STAFF_CREATE",
	[Q_STAFF_LIST_ALL] = "STAFF_LIST_ALL",
	[Q_TEST_CONSTRAINT] = "TEST_CONSTRAINT",
	[Q_CATALOG_VERSION] = "CATALOG_VERSION",
	[Q_JOB_CLAIM] = "JOB_CLAIM",
	[Q_JOB_CLAIMABLE] = "JOB_CLAIMABLE",
	[Q_JOB_SET_STEP] = "JOB_SET_STEP",
	[Q_JOB_STEP] = "JOB_STEP",
	[Q_JOB_DONE] = "JOB_DONE",
	[Q_JOB_RETRY_LATER] = "JOB_RETRY_LATER",
	[Q_JOB_FAIL] = "JOB_FAIL",
	[Q_JOB_RELEASE_RUNNER] = "JOB_RELEASE_RUNNER",
	[Q_JOB_LIST] = "JOB_LIST",
	[Q_JOB_GET] = "JOB_GET",
	[Q_JOB_RETRY] = "JOB_RETRY",
	[Q_JOB_DISCARD] = "JOB_DISCARD",
	[Q_JOB_PRUNE] = "JOB_PRUNE",
	[Q_MAIL_LOG_HAS] = "MAIL_LOG_HAS",
	[Q_MAIL_LOG_INSERT] = "MAIL_LOG_INSERT",
	[Q_SERVER_SET_PASSWORD] = "SERVER_SET_PASSWORD",
	[Q_WALLET_OF_CUSTOMER] = "WALLET_OF_CUSTOMER",
	[Q_WALLET_ENSURE] = "WALLET_ENSURE",
	[Q_WALLET_TX_BY_KEY] = "WALLET_TX_BY_KEY",
	[Q_WALLET_APPLY] = "WALLET_APPLY",
	[Q_WALLET_BALANCE] = "WALLET_BALANCE",
	[Q_WALLET_TX_INSERT] = "WALLET_TX_INSERT",
	[Q_WALLET_LEDGER_SUM] = "WALLET_LEDGER_SUM",
	[Q_ORDER_INSERT] = "ORDER_INSERT",
	[Q_ORDER_BY_IDEM] = "ORDER_BY_IDEM",
	[Q_ORDER_STATE] = "ORDER_STATE",
	[Q_ORDER_SET_STATE] = "ORDER_SET_STATE",
	[Q_ORDER_EVENT_INSERT] = "ORDER_EVENT_INSERT",
	[Q_ORDER_EVENTS] = "ORDER_EVENTS",
	[Q_INVOICE_NEXT_NUMBER] = "INVOICE_NEXT_NUMBER",
	[Q_INVOICE_OF_ORDER] = "INVOICE_OF_ORDER",
	[Q_INVOICE_INSERT_ORDER] = "INVOICE_INSERT_ORDER",
	[Q_INVOICE_OF_PAYMENT] = "INVOICE_OF_PAYMENT",
	[Q_INVOICE_INSERT_PAYMENT] = "INVOICE_INSERT_PAYMENT",
	[Q_CART_BY_TOKEN] = "CART_BY_TOKEN",
	[Q_CART_BY_CUSTOMER] = "CART_BY_CUSTOMER",
	[Q_CART_NEW_TOKEN] = "CART_NEW_TOKEN",
	[Q_CART_NEW_CUSTOMER] = "CART_NEW_CUSTOMER",
	[Q_CART_ITEM_ADD] = "CART_ITEM_ADD",
	[Q_CART_ITEM_SET_QTY] = "CART_ITEM_SET_QTY",
	[Q_CART_ITEM_DELETE] = "CART_ITEM_DELETE",
	[Q_CART_ITEMS] = "CART_ITEMS",
	[Q_CART_COUNT] = "CART_COUNT",
	[Q_CART_MERGE] = "CART_MERGE",
	[Q_CART_DELETE] = "CART_DELETE",
	[Q_CART_CLEAR] = "CART_CLEAR",
	[Q_CART_ACCEPT_PRICES] = "CART_ACCEPT_PRICES",
	[Q_CHECKOUT_PLAN] = "CHECKOUT_PLAN",
	[Q_CHECKOUT_TAKE_STOCK] = "CHECKOUT_TAKE_STOCK",
	[Q_CHECKOUT_ITEM_INSERT] = "CHECKOUT_ITEM_INSERT",
	[Q_ORDERS_OF_CUSTOMER_COUNT] = "ORDERS_OF_CUSTOMER_COUNT",
	[Q_ORDERS_OF_CUSTOMER] = "ORDERS_OF_CUSTOMER",
	[Q_ORDER_OF_CUSTOMER] = "ORDER_OF_CUSTOMER",
	[Q_ORDER_ITEMS_OF] = "ORDER_ITEMS_OF",
	[Q_PRUNE_CARTS] = "PRUNE_CARTS",
	[Q_WALLET_PAGE_HEAD] = "WALLET_PAGE_HEAD",
	[Q_WALLET_LEDGER_PAGE] = "WALLET_LEDGER_PAGE",
	[Q_WALLET_LEDGER_COUNT] = "WALLET_LEDGER_COUNT",
	[Q_ADMIN_CUSTOMERS] = "ADMIN_CUSTOMERS",
	[Q_ADMIN_CUSTOMER_GET] = "ADMIN_CUSTOMER_GET",
	[Q_ADMIN_CUSTOMER_ORDERS] = "ADMIN_CUSTOMER_ORDERS",
	[Q_ADMIN_CUSTOMER_SET_STATE] = "ADMIN_CUSTOMER_SET_STATE",
	[Q_INVOICE_BY_NUMBER] = "INVOICE_BY_NUMBER",
	[Q_INVOICE_LINES] = "INVOICE_LINES",
	[Q_SETTING_GET] = "SETTING_GET",
	[Q_SETTING_PUT] = "SETTING_PUT",
	[Q_COUPON_BY_CODE] = "COUPON_BY_CODE",
	[Q_COUPON_USES] = "COUPON_USES",
	[Q_COUPON_PRIOR_ORDERS] = "COUPON_PRIOR_ORDERS",
	[Q_COUPON_PLAN_CATEGORY] = "COUPON_PLAN_CATEGORY",
	[Q_COUPON_REDEEM] = "COUPON_REDEEM",
	[Q_SETTING_INIT] = "SETTING_INIT",
	[Q_DEMO_COUPON_INSERT] = "DEMO_COUPON_INSERT",
	[Q_ADMIN_ORDERS] = "ADMIN_ORDERS",
	[Q_ADMIN_ORDER_GET] = "ADMIN_ORDER_GET",
	[Q_ADMIN_ORDER_RELEASE_STOCK] = "ADMIN_ORDER_RELEASE_STOCK",
	[Q_INVOICE_LINES_SNAPSHOT] = "INVOICE_LINES_SNAPSHOT",
	[Q_INVOICE_LINE_RECEIPT] = "INVOICE_LINE_RECEIPT",
	[Q_ORDER_MAIL] = "ORDER_MAIL",
	[Q_INVOICE_ORDER_PAID] = "INVOICE_ORDER_PAID",
	[Q_REFERRAL_CODE_OWNER] = "REFERRAL_CODE_OWNER",
	[Q_REFERRAL_INSERT] = "REFERRAL_INSERT",
	[Q_REFERRAL_OF_REFERRED] = "REFERRAL_OF_REFERRED",
	[Q_REFERRAL_COMMISSION_INSERT] = "REFERRAL_COMMISSION_INSERT",
	[Q_REFERRAL_DUE] = "REFERRAL_DUE",
	[Q_REFERRAL_RELEASE] = "REFERRAL_RELEASE",
	[Q_REFERRAL_COMMISSION_OF_ORDER] = "REFERRAL_COMMISSION_OF_ORDER",
	[Q_REFERRAL_REVERSE] = "REFERRAL_REVERSE",
	[Q_REFERRAL_TOTALS] = "REFERRAL_TOTALS",
	[Q_REFERRAL_REFERRED_LIST] = "REFERRAL_REFERRED_LIST",
	[Q_REFERRAL_COMMISSIONS_LIST] = "REFERRAL_COMMISSIONS_LIST",
	[Q_REFERRAL_CODE_OF] = "REFERRAL_CODE_OF",
	[Q_REFERRAL_REFERRER_OF] = "REFERRAL_REFERRER_OF",
	[Q_REFUND_ORDER_GET] = "REFUND_ORDER_GET",
	[Q_REFUND_DISCARD_JOBS] = "REFUND_DISCARD_JOBS",
	[Q_DEMO_REFERRAL_FRIEND] = "DEMO_REFERRAL_FRIEND",
	[Q_REFUND_INVOICE] = "REFUND_INVOICE",
	[Q_API_ORDERS] = "API_ORDERS",
	[Q_API_WALLET_LEDGER] = "API_WALLET_LEDGER",
	[Q_EXPORT_ORDERS] = "EXPORT_ORDERS",
	[Q_EXPORT_LEDGER] = "EXPORT_LEDGER",
	[Q_ACCT_SESSION_OWNED] = "ACCT_SESSION_OWNED",
	[Q_CART_COUPON_GET] = "CART_COUPON_GET",
	[Q_CART_COUPON_SET] = "CART_COUPON_SET",
	[Q_CART_COUPON_MERGE] = "CART_COUPON_MERGE",
	[Q_COUPON_RELEASE] = "COUPON_RELEASE",
	[Q_ORDERS_EXPIRED] = "ORDERS_EXPIRED",
	[Q_ADMIN_COUPONS] = "ADMIN_COUPONS",
	[Q_ADMIN_COUPON_COUNT] = "ADMIN_COUPON_COUNT",
	[Q_ADMIN_COUPON_GET] = "ADMIN_COUPON_GET",
	[Q_ADMIN_COUPON_CODE_TAKEN] = "ADMIN_COUPON_CODE_TAKEN",
	[Q_ADMIN_COUPON_INSERT] = "ADMIN_COUPON_INSERT",
	[Q_ADMIN_COUPON_UPDATE] = "ADMIN_COUPON_UPDATE",
	[Q_ADMIN_COUPON_SET_ACTIVE] = "ADMIN_COUPON_SET_ACTIVE",
	[Q_ADMIN_COUPON_PLANS] = "ADMIN_COUPON_PLANS",
	[Q_ADMIN_COUPON_CATEGORIES] = "ADMIN_COUPON_CATEGORIES",
	[Q_ADMIN_CATEGORY_EXISTS] = "ADMIN_CATEGORY_EXISTS",
	[Q_ADMIN_PLAN_EXISTS] = "ADMIN_PLAN_EXISTS",
	[Q_ORDER_ITEMS_RENEW] = "ORDER_ITEMS_RENEW",
	[Q_RENEW_ITEM] = "RENEW_ITEM",
	[Q_CART_RENEWAL_ADD] = "CART_RENEWAL_ADD",
	[Q_CART_RENEWAL_DELETE] = "CART_RENEWAL_DELETE",
	[Q_CHECKOUT_RENEWAL_OK] = "CHECKOUT_RENEWAL_OK",
	[Q_SHOP_NAME] = "SHOP_NAME",
	[Q_EXPORT_ORDERS_COUNT] = "EXPORT_ORDERS_COUNT",
	[Q_EXPORT_LEDGER_COUNT] = "EXPORT_LEDGER_COUNT",
	[Q_ACAT_PLANS] = "ACAT_PLANS",
	[Q_ACAT_PLAN_GET] = "ACAT_PLAN_GET",
	[Q_ACAT_PLAN_SLUG_TAKEN] = "ACAT_PLAN_SLUG_TAKEN",
	[Q_ACAT_PLAN_INSERT] = "ACAT_PLAN_INSERT",
	[Q_ACAT_PLAN_UPDATE] = "ACAT_PLAN_UPDATE",
	[Q_ACAT_PLAN_SET_ACTIVE] = "ACAT_PLAN_SET_ACTIVE",
	[Q_ACAT_PLAN_ORDER] = "ACAT_PLAN_ORDER",
	[Q_ACAT_PLAN_SET_SORT] = "ACAT_PLAN_SET_SORT",
	[Q_ACAT_PLAN_REFS] = "ACAT_PLAN_REFS",
	[Q_ACAT_PLAN_DELETE] = "ACAT_PLAN_DELETE",
	[Q_ACAT_SERVERS] = "ACAT_SERVERS",
	[Q_ACAT_SERVER_NAME] = "ACAT_SERVER_NAME",
	[Q_ACAT_INBOUNDS] = "ACAT_INBOUNDS",
	[Q_ACAT_INBOUND_GET] = "ACAT_INBOUND_GET",
	[Q_ACAT_CATEGORIES] = "ACAT_CATEGORIES",
	[Q_ACAT_CATEGORY_GET] = "ACAT_CATEGORY_GET",
	[Q_ACAT_CATEGORY_SLUG_TAKEN] = "ACAT_CATEGORY_SLUG_TAKEN",
	[Q_ACAT_CATEGORY_INSERT] = "ACAT_CATEGORY_INSERT",
	[Q_ACAT_CATEGORY_UPDATE] = "ACAT_CATEGORY_UPDATE",
	[Q_ACAT_CATEGORY_SET_ACTIVE] = "ACAT_CATEGORY_SET_ACTIVE",
	[Q_ACAT_CATEGORY_ORDER] = "ACAT_CATEGORY_ORDER",
	[Q_ACAT_CATEGORY_SET_SORT] = "ACAT_CATEGORY_SET_SORT",
	[Q_ACAT_CATEGORY_REFS] = "ACAT_CATEGORY_REFS",
	[Q_ACAT_CATEGORY_DELETE] = "ACAT_CATEGORY_DELETE",
	[Q_ACAT_BRANDS] = "ACAT_BRANDS",
	[Q_ACAT_BRAND_GET] = "ACAT_BRAND_GET",
	[Q_ACAT_BRAND_SLUG_TAKEN] = "ACAT_BRAND_SLUG_TAKEN",
	[Q_ACAT_BRAND_INSERT] = "ACAT_BRAND_INSERT",
	[Q_ACAT_BRAND_UPDATE] = "ACAT_BRAND_UPDATE",
	[Q_ACAT_BRAND_SET_ACTIVE] = "ACAT_BRAND_SET_ACTIVE",
	[Q_ACAT_BRAND_ORDER] = "ACAT_BRAND_ORDER",
	[Q_ACAT_BRAND_SET_SORT] = "ACAT_BRAND_SET_SORT",
	[Q_ACAT_BRAND_REFS] = "ACAT_BRAND_REFS",
	[Q_ACAT_BRAND_DELETE] = "ACAT_BRAND_DELETE",
	[Q_ASRV_LIST] = "ASRV_LIST",
	[Q_ASRV_GET] = "ASRV_GET",
	[Q_ASRV_NAME_TAKEN] = "ASRV_NAME_TAKEN",
	[Q_ASRV_INSERT] = "ASRV_INSERT",
	[Q_ASRV_UPDATE] = "ASRV_UPDATE",
	[Q_ASRV_SET_PASSWORD] = "ASRV_SET_PASSWORD",
	[Q_ASRV_SET_TOKEN] = "ASRV_SET_TOKEN",
	[Q_ASRV_SET_STATE] = "ASRV_SET_STATE",
	[Q_ASRV_REFS] = "ASRV_REFS",
	[Q_ASRV_DELETE] = "ASRV_DELETE",
	[Q_ASRV_SECRETS] = "ASRV_SECRETS",
	[Q_XUI_SERVER] = "XUI_SERVER",
	[Q_XUI_RECORD] = "XUI_RECORD",
	[Q_XUI_INBOUND_KNOWN] = "XUI_INBOUND_KNOWN",
	[Q_XUI_INBOUND_UPSERT] = "XUI_INBOUND_UPSERT",
	[Q_XUI_INBOUND_VANISHED] = "XUI_INBOUND_VANISHED",
	[Q_XUI_INBOUND_DEACTIVATE] = "XUI_INBOUND_DEACTIVATE",
	[Q_XUI_JOB_RESULT] = "XUI_JOB_RESULT",
	[Q_XUI_INBOUNDS] = "XUI_INBOUNDS",
	[Q_XUI_LAST_JOB] = "XUI_LAST_JOB",
	[Q_CLIENT_JOB_SERVER] = "CLIENT_JOB_SERVER",
	[Q_SVC_LIST] = "SVC_LIST",
	[Q_SVC_GET] = "SVC_GET",
	[Q_SVC_SUB] = "SVC_SUB",
	[Q_SVC_PENDING] = "SVC_PENDING",
	[Q_SVC_OF_ITEM] = "SVC_OF_ITEM",
	[Q_SVC_AUTO_RENEW] = "SVC_AUTO_RENEW",
	[Q_SVC_SUB_GEN] = "SVC_SUB_GEN",
	[Q_SVC_SUB_CREATE] = "SVC_SUB_CREATE",
	[Q_SVC_SUB_BUMP] = "SVC_SUB_BUMP",
	[Q_SVC_SUB_LOOKUP] = "SVC_SUB_LOOKUP",
	[Q_SVC_SUB_USED] = "SVC_SUB_USED",
	[Q_SVC_SUB_TOTALS] = "SVC_SUB_TOTALS",
	[Q_RATE_HIT] = "RATE_HIT",
	[Q_RATE_PRUNE] = "RATE_PRUNE",
	[Q_AJOB_PANELS] = "AJOB_PANELS",
	[Q_AJOB_DEPTH_KIND] = "AJOB_DEPTH_KIND",
	[Q_AJOB_DEPTH_PANEL] = "AJOB_DEPTH_PANEL",
	[Q_AJOB_LIST] = "AJOB_LIST",
	[Q_ACLI_LIST] = "ACLI_LIST",
	[Q_ACLI_GET] = "ACLI_GET",
	[Q_ACLI_USAGE] = "ACLI_USAGE",
	[Q_ACLI_JOBS] = "ACLI_JOBS",
	[Q_ACLI_STATE] = "ACLI_STATE",
	[Q_RFI_ITEM] = "RFI_ITEM",
	[Q_RFI_REFUNDED] = "RFI_REFUNDED",
	[Q_RFI_KEY] = "RFI_KEY",
	[Q_RFI_CANCEL] = "RFI_CANCEL",
	[Q_RFI_DISCARD_JOB] = "RFI_DISCARD_JOB",
	[Q_AOI_FAILED] = "AOI_FAILED",
	[Q_AOI_ITEM] = "AOI_ITEM",
	[Q_AOI_JOB] = "AOI_JOB",
	[Q_AOI_REQUEUE] = "AOI_REQUEUE",
	[Q_APLAN_POOL] = "APLAN_POOL",
	[Q_APLAN_COUNTRIES] = "APLAN_COUNTRIES",
	[Q_JCLIENT_GET] = "JCLIENT_GET",
	[Q_JCLIENT_STATE] = "JCLIENT_STATE",
	[Q_JCLIENT_CRED] = "JCLIENT_CRED",
	[Q_JCLIENT_PERIOD] = "JCLIENT_PERIOD",
	[Q_LIFE_EXPIRE_DUE] = "LIFE_EXPIRE_DUE",
	[Q_LIFE_GRACE_DUE] = "LIFE_GRACE_DUE",
	[Q_LIFE_QUOTA_DUE] = "LIFE_QUOTA_DUE",
	[Q_LIFE_REMIND_EXPIRY_DUE] = "LIFE_REMIND_EXPIRY_DUE",
	[Q_LIFE_REMIND_EXPIRY_MARK] = "LIFE_REMIND_EXPIRY_MARK",
	[Q_LIFE_REMIND_QUOTA_DUE] = "LIFE_REMIND_QUOTA_DUE",
	[Q_LIFE_REMIND_QUOTA_MARK] = "LIFE_REMIND_QUOTA_MARK",
	[Q_LIFE_MAIL_INFO] = "LIFE_MAIL_INFO",
	[Q_LIFE_RENEW_DUE] = "LIFE_RENEW_DUE",
	[Q_LIFE_RESET_DUE] = "LIFE_RESET_DUE",
	[Q_LIFE_RESUME_DUE] = "LIFE_RESUME_DUE",
	[Q_XUI_SESSION_ROW] = "XUI_SESSION_ROW",
	[Q_PROV_ITEM] = "PROV_ITEM",
	[Q_PROV_CLIENT_BY_ITEM] = "PROV_CLIENT_BY_ITEM",
	[Q_PROV_CLIENT_BY_ID] = "PROV_CLIENT_BY_ID",
	[Q_PROV_CANDIDATES] = "PROV_CANDIDATES",
	[Q_PROV_MAINTENANCE] = "PROV_MAINTENANCE",
	[Q_PROV_CAPACITY_OK] = "PROV_CAPACITY_OK",
	[Q_PROV_INBOUND_ROW] = "PROV_INBOUND_ROW",
	[Q_PROV_CLIENT_INSERT] = "PROV_CLIENT_INSERT",
	[Q_PROV_JOB_SERVER] = "PROV_JOB_SERVER",
	[Q_PROV_ITEM_STATE] = "PROV_ITEM_STATE",
	[Q_PROV_ORDER_ITEMS_LEFT] = "PROV_ORDER_ITEMS_LEFT",
	[Q_PROV_CLIENT_RELEASE] = "PROV_CLIENT_RELEASE",
	[Q_PROV_STAFF_MAIL] = "PROV_STAFF_MAIL",
	[Q_PROV_SERVER_GEN] = "PROV_SERVER_GEN",
	[Q_PROV_CLIENT_ACTIVE] = "PROV_CLIENT_ACTIVE",
	[Q_PROV_CLIENT_RENEWED] = "PROV_CLIENT_RENEWED",
	[Q_PROV_RENEWAL_OF] = "PROV_RENEWAL_OF",
	[Q_PROV_RENEWAL_GET] = "PROV_RENEWAL_GET",
	[Q_PROV_RENEWAL_BASE] = "PROV_RENEWAL_BASE",
	[Q_PROV_RENEWAL_INSERT] = "PROV_RENEWAL_INSERT",
	[Q_PROV_RENEWAL_MAX] = "PROV_RENEWAL_MAX",
	[Q_PROV_RENEWAL_APPLIED] = "PROV_RENEWAL_APPLIED",
	[Q_TSYNC_SUPERSEDED] = "TSYNC_SUPERSEDED",
	[Q_TSYNC_OFFLINE] = "TSYNC_OFFLINE",
	[Q_TSYNC_CLIENT] = "TSYNC_CLIENT",
	[Q_TSYNC_APPLY] = "TSYNC_APPLY",
	[Q_TSYNC_DAILY] = "TSYNC_DAILY",
	[Q_TSYNC_SERVER_OK] = "TSYNC_SERVER_OK",
	[Q_DRIFT_SHOP] = "DRIFT_SHOP",
	[Q_SYNC_SERVER_HEALTH] = "SYNC_SERVER_HEALTH",
	[Q_DRIFT_FIX_CLIENT] = "DRIFT_FIX_CLIENT",
	[Q_CSYNC_SERVERS] = "CSYNC_SERVERS",
	[Q_CSYNC_PENDING] = "CSYNC_PENDING",
	[Q_ALERT_SERVERS] = "ALERT_SERVERS",
	[Q_ALERT_DOWN_SET] = "ALERT_DOWN_SET",
	[Q_ALERT_DOWN_CLEAR] = "ALERT_DOWN_CLEAR",
	[Q_ALERT_STALE_SET] = "ALERT_STALE_SET",
	[Q_ALERT_STALE_CLEAR] = "ALERT_STALE_CLEAR",
	[Q_ALERT_STAFF] = "ALERT_STAFF",
	[Q_HEALTH_PANELS] = "HEALTH_PANELS",
	[Q_DEMO_PANEL_FIND] = "DEMO_PANEL_FIND",
	[Q_DEMO_PANEL_SET] = "DEMO_PANEL_SET",
	[Q_DEMO_PANEL_PLANS] = "DEMO_PANEL_PLANS",
	[Q_TEST_LINK_INBOUND] = "TEST_LINK_INBOUND",
	[Q_GWSECRET_GET] = "GWSECRET_GET",
	[Q_GWSECRET_PUT] = "GWSECRET_PUT",
	[Q_GWSECRET_DEL] = "GWSECRET_DEL",
	[Q_GWSECRET_LIST] = "GWSECRET_LIST",
	[Q_GATEWAY_SECRET_HINT] = "GATEWAY_SECRET_HINT",
	[Q_PAY_INSERT] = "PAY_INSERT",
	[Q_PAY_BY_IDEM] = "PAY_BY_IDEM",
	[Q_PAY_GET] = "PAY_GET",
	[Q_PAY_BY_PUBLIC] = "PAY_BY_PUBLIC",
	[Q_PAY_BY_REF] = "PAY_BY_REF",
	[Q_PAY_EVENT_INSERT] = "PAY_EVENT_INSERT",
	[Q_PAY_EVENT_OUTCOME] = "PAY_EVENT_OUTCOME",
	[Q_PAY_SET_STATE] = "PAY_SET_STATE",
	[Q_PAY_SET_REF] = "PAY_SET_REF",
	[Q_PAY_SET_REF2] = "PAY_SET_REF2",
	[Q_PAY_HOLD] = "PAY_HOLD",
	[Q_PAY_UNHOLD] = "PAY_UNHOLD",
	[Q_PAY_FULFIL] = "PAY_FULFIL",
	[Q_PAY_CREATED] = "PAY_CREATED",
	[Q_PAY_CREATE_FAILED] = "PAY_CREATE_FAILED",
	[Q_PAY_SET_ERROR] = "PAY_SET_ERROR",
	[Q_PAY_MAIL] = "PAY_MAIL",
	[Q_CHECKOUT_FULFIL_ORDER] = "CHECKOUT_FULFIL_ORDER",
	[Q_CHECKOUT_FULFIL_ITEMS] = "CHECKOUT_FULFIL_ITEMS",
	[Q_PAY_ORDER_OPEN] = "PAY_ORDER_OPEN",
	[Q_PAY_ORDERS_WAITING] = "PAY_ORDERS_WAITING",
	[Q_TEST_PAY_ROW] = "TEST_PAY_ROW",
	[Q_TEST_PAY_COUNTS] = "TEST_PAY_COUNTS",
	[Q_TEST_PAY_PUBLIC] = "TEST_PAY_PUBLIC",
	[Q_CPAY_STALE] = "CPAY_STALE",
	[Q_CPAY_EXPIRE_ASK] = "CPAY_EXPIRE_ASK",
	[Q_CPAY_EXPIRE_DUE] = "CPAY_EXPIRE_DUE",
	[Q_CPAY_UNKNOWN_COUNT] = "CPAY_UNKNOWN_COUNT",
	[Q_CPAY_KNOWN] = "CPAY_KNOWN",
	[Q_PAY_FOR_GATEWAY] = "PAY_FOR_GATEWAY",
	[Q_PAY_OF_CUSTOMER] = "PAY_OF_CUSTOMER",
	[Q_PAY_JOB_NOW] = "PAY_JOB_NOW",
	[Q_PAY_ORDER_SEQ] = "PAY_ORDER_SEQ",
	[Q_PAY_LATEST_OF_ORDER] = "PAY_LATEST_OF_ORDER",
	[Q_RP_PAYMENT] = "RP_PAYMENT",
	[Q_RP_SUMS] = "RP_SUMS",
	[Q_RP_BY_KEY] = "RP_BY_KEY",
	[Q_RP_BY_REF] = "RP_BY_REF",
	[Q_RP_PENDING_MATCH] = "RP_PENDING_MATCH",
	[Q_RP_PENDING_UPTO] = "RP_PENDING_UPTO",
	[Q_RP_INSERT] = "RP_INSERT",
	[Q_RP_SUCCEED] = "RP_SUCCEED",
	[Q_RP_FAIL] = "RP_FAIL",
	[Q_RP_SET_REF] = "RP_SET_REF",
	[Q_RP_WALLET_TX] = "RP_WALLET_TX",
	[Q_RP_PAY_MOVE] = "RP_PAY_MOVE",
	[Q_RP_GET] = "RP_GET",
	[Q_RP_CLIENTS] = "RP_CLIENTS",
	[Q_RP_MAIL] = "RP_MAIL",
	[Q_RP_LIST] = "RP_LIST",
	[Q_JR_LOAD] = "JR_LOAD",
	[Q_AP_LIST] = "AP_LIST",
	[Q_AP_GET] = "AP_GET",
	[Q_AP_EVENTS] = "AP_EVENTS",
	[Q_AP_ORDER_PAYMENTS] = "AP_ORDER_PAYMENTS",
	[Q_TEST_RF_COUNTS] = "TEST_RF_COUNTS",
	[Q_TEST_RF_CLIENT] = "TEST_RF_CLIENT",
	[Q_TEST_RF_COMMISSION] = "TEST_RF_COMMISSION",
	[Q_TEST_RF_CLAIM] = "TEST_RF_CLAIM",
	[Q_PAYPAL_CERT_GET] = "PAYPAL_CERT_GET",
	[Q_PAYPAL_CERT_PUT] = "PAYPAL_CERT_PUT",
	[Q_PAYPAL_PAYMENT_FIND] = "PAYPAL_PAYMENT_FIND",
	[Q_PAYPAL_PAYMENT_LOAD] = "PAYPAL_PAYMENT_LOAD",
	[Q_PAYPAL_EVENT_DROP] = "PAYPAL_EVENT_DROP",
	[Q_PAYPAL_EVENT_REJECT] = "PAYPAL_EVENT_REJECT",
	[Q_TEST_PAY_SETTING] = "TEST_PAY_SETTING",
	[Q_AMAIL_LIST] = "AMAIL_LIST",
	[Q_AMAIL_ONE] = "AMAIL_ONE",
	[Q_AMAIL_COUNTS] = "AMAIL_COUNTS",
	[Q_MAIL_ALERT] = "MAIL_ALERT",
	[Q_KEY_SEALED_ALL] = "KEY_SEALED_ALL",
	[Q_KEY_RESEAL_CUSTOMER] = "KEY_RESEAL_CUSTOMER",
	[Q_KEY_RESEAL_STAFF] = "KEY_RESEAL_STAFF",
	[Q_KEY_RESEAL_PANEL_PASSWORD] = "KEY_RESEAL_PANEL_PASSWORD",
	[Q_KEY_RESEAL_PANEL_TOKEN] = "KEY_RESEAL_PANEL_TOKEN",
	[Q_KEY_RESEAL_GATEWAY] = "KEY_RESEAL_GATEWAY",
	[Q_KEY_HASH_KEYS] = "KEY_HASH_KEYS",
	[Q_KEY_MAIL_SEALED] = "KEY_MAIL_SEALED",
	[Q_AF_STAFF_SESSIONS] = "AF_STAFF_SESSIONS",
	[Q_AF_STAFF_SESSION_OWNED] = "AF_STAFF_SESSION_OWNED",
	[Q_AF_STAFF_SESSION_END] = "AF_STAFF_SESSION_END",
	[Q_AF_STAFF_RESET_INSERT] = "AF_STAFF_RESET_INSERT",
	[Q_AF_STAFF_RESET_FIND] = "AF_STAFF_RESET_FIND",
	[Q_AF_STAFF_RESETS_SPEND] = "AF_STAFF_RESETS_SPEND",
	[Q_AF_STAFF_API_TOKENS_REVOKE] = "AF_STAFF_API_TOKENS_REVOKE",
	[Q_AF_DEVICE_ADD] = "AF_DEVICE_ADD",
	[Q_AF_DEVICE_TOUCH] = "AF_DEVICE_TOUCH",
	[Q_AF_DEVICE_COUNT] = "AF_DEVICE_COUNT",
	[Q_AF_TOKENS_EXPIRING] = "AF_TOKENS_EXPIRING",
	[Q_AF_TOKEN_EXPIRY_MARK] = "AF_TOKEN_EXPIRY_MARK",
	[Q_AF_TOKEN_EXPIRY_MAIL] = "AF_TOKEN_EXPIRY_MAIL",
	[Q_PASSKEY_INSERT] = "PASSKEY_INSERT",
	[Q_PASSKEY_COUNT] = "PASSKEY_COUNT",
	[Q_PASSKEY_IDS] = "PASSKEY_IDS",
	[Q_PASSKEY_LIST] = "PASSKEY_LIST",
	[Q_PASSKEY_GET] = "PASSKEY_GET",
	[Q_PASSKEY_RENAME] = "PASSKEY_RENAME",
	[Q_PASSKEY_DELETE] = "PASSKEY_DELETE",
	[Q_PASSKEY_BY_CRED] = "PASSKEY_BY_CRED",
	[Q_PASSKEY_USE] = "PASSKEY_USE",
	[Q_PASSKEY_CHAL_PRUNE] = "PASSKEY_CHAL_PRUNE",
	[Q_PASSKEY_CHAL_INSERT] = "PASSKEY_CHAL_INSERT",
	[Q_PASSKEY_CHAL_TAKE] = "PASSKEY_CHAL_TAKE",
	[Q_PASSKEY_DELETE_ALL] = "PASSKEY_DELETE_ALL",
	[Q_BUDGET_TRIPS] = "BUDGET_TRIPS",
	[Q_MAIL_SCRUB] = "MAIL_SCRUB",
	[Q_RET_AUDIT_IP] = "RET_AUDIT_IP",
	[Q_RET_STAFF_DEVICES] = "RET_STAFF_DEVICES",
	[Q_PRUNE_PASSKEY_CHALLENGES] = "PRUNE_PASSKEY_CHALLENGES",
	[Q_RET_MAIL_LOG] = "RET_MAIL_LOG",
	[Q_RET_JOB_PAYLOAD] = "RET_JOB_PAYLOAD",
	[Q_MYDATA_PROFILE] = "MYDATA_PROFILE",
	[Q_MYDATA_ORDERS] = "MYDATA_ORDERS",
	[Q_MYDATA_INVOICES] = "MYDATA_INVOICES",
	[Q_MYDATA_PAYMENTS] = "MYDATA_PAYMENTS",
	[Q_MYDATA_WALLET] = "MYDATA_WALLET",
	[Q_MYDATA_SERVICES] = "MYDATA_SERVICES",
	[Q_MYDATA_SUBSCRIPTION] = "MYDATA_SUBSCRIPTION",
	[Q_MYDATA_SESSIONS] = "MYDATA_SESSIONS",
	[Q_MYDATA_TOKENS] = "MYDATA_TOKENS",
	[Q_MYDATA_PASSKEYS] = "MYDATA_PASSKEYS",
	[Q_MYDATA_REFERRALS] = "MYDATA_REFERRALS",
	[Q_MYDATA_AUDIT] = "MYDATA_AUDIT",
	[Q_PANEL_DEFAULT_GET] = "PANEL_DEFAULT_GET",
	[Q_PWDUE_CUSTOMER_SET] = "PWDUE_CUSTOMER_SET",
	[Q_PWDUE_STAFF_SET] = "PWDUE_STAFF_SET",
	[Q_PWDUE_CUSTOMER_GET] = "PWDUE_CUSTOMER_GET",
	[Q_PWDUE_STAFF_GET] = "PWDUE_STAFF_GET",
	[Q_C2FA_BY_EMAIL] = "C2FA_BY_EMAIL",
	[Q_SRV_PIN_GET] = "SRV_PIN_GET",
	[Q_SRV_PIN_SET] = "SRV_PIN_SET",
};

/*
 * The migration runner's statements (db.c, db_migrate).  They run before
 * the table above can be prepared (the tables it names may not exist
 * yet), so they are plain strings that db.c prepares where it uses them.
 */
const char sql_mig_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at INTEGER NOT NULL DEFAULT (unixepoch())) STRICT";
const char sql_mig_version[] = "SELECT max(version) FROM schema_migrations";
const char sql_mig_applied[] = "SELECT 1 FROM schema_migrations WHERE version = :version";
const char sql_mig_record[] = "INSERT INTO schema_migrations(version, name) "
    "VALUES (:version, :name)";
/* A rebuild migration: foreign keys off (only outside a transaction does
 * this pragma do anything) and RENAME without rewriting other tables'
 * triggers and views (see db.h); then back as db_open left them. */
const char sql_mig_rebuild_on[] = "PRAGMA foreign_keys=OFF; PRAGMA legacy_alter_table=ON";
const char sql_mig_rebuild_off[] = "PRAGMA legacy_alter_table=OFF; PRAGMA foreign_keys=ON";
const char sql_mig_fk_enabled[] = "PRAGMA foreign_keys";
const char sql_mig_legacy_enabled[] = "PRAGMA legacy_alter_table";
const char sql_mig_fk_check[] = "PRAGMA foreign_key_check";
const char sql_mig_fk_columns[] = "SELECT group_concat(\"from\", ',') "
    "FROM pragma_foreign_key_list(:table) WHERE id = :fkid";

/* test-unit's refund cases (cmd_test_refund.c): a panel with an
 * inbound, a plan, two customers with wallets (one referred by the
 * other) and a staff member, run as a script (db_exec) as the seed is. */
const char sql_test_refund_fixture[] =
    "INSERT INTO server_categories (id, slug, name) VALUES (1, 'c', 'C');"
    "INSERT INTO servers (id, name, country_code, country, panel_url, public_host) "
    "VALUES (1, 'p1', 'DE', 'Germany', 'http://127.0.0.1:9/', 'p1.invalid');"
    "INSERT INTO server_inbounds (id, server_id, panel_inbound_id, protocol, port) VALUES (1, 1, 1, 'vless', 443);"
    "INSERT INTO plans (id, slug, name, protocol, server_id, price_minor, currency, duration_days, stock) "
    "VALUES (1, 'p', 'Plan', 'vless', 1, 1000, 'USD', 30, 100);"
    "INSERT INTO customers (id, email, name, password_hash, currency) "
    "VALUES (1, 'a@example.com', 'A', 'x', 'USD'), (2, 'r@example.com', 'R', 'x', 'USD');"
    "INSERT INTO wallets (customer_id, currency) VALUES (1, 'USD'), (2, 'USD');"
    "INSERT INTO referrals (id, referrer_id, referred_id) VALUES (1, 2, 1);"
    "INSERT INTO staff (id, email, name, password_hash, role_id) VALUES (1, 's@example.com', 'S', 'x', 1);";
/* test-unit's payment cases (cmd_test_payment.c): a panel, a plan, a
 * customer with a wallet, run as a script (db_exec) as the seed is. */
const char sql_test_payment_fixture[] =
    "INSERT INTO servers (id, name, country_code, country, panel_url, public_host) "
    "VALUES (1, 'p1', 'DE', 'Germany', 'http://127.0.0.1:9/', 'p1.invalid');"
    "INSERT INTO plans (id, slug, name, protocol, server_id, price_minor, currency, duration_days, stock) "
    "VALUES (1, 'p', 'Plan', 'vless', 1, 1000, 'USD', 30, 10);"
    "INSERT INTO customers (id, email, name, password_hash, currency) "
    "VALUES (1, 'a@example.com', 'A', 'x', 'USD');"
    "INSERT INTO wallets (customer_id, currency) VALUES (1, 'USD');";

/* backup16 (db_backup, cmd_backup.c). */
const char sql_backup_journal[] = "PRAGMA journal_mode=DELETE";
/* 1 when the whole file checks out (db_query_int reads the first column). */
const char sql_backup_integrity[] = "SELECT (SELECT integrity_check FROM pragma_integrity_check) = 'ok'";
