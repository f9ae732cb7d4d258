-- 029_retention.sql: retention (issue 16, data16; ASVS V8.3.8).
--
-- The audit log stays append-only, with one exception: `cron prune`
-- clears the client address (ip) of rows older than audit_ip_keep_days.
-- An address is personal data that an investigation needs for weeks,
-- not for ever; who did what, when, to what, stays whole.  The trigger
-- therefore refuses any UPDATE except one that only empties ip, and
-- DELETE stays refused.
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (NEW.ip = '' AND NEW.id IS OLD.id AND NEW.at IS OLD.at
	AND NEW.actor_kind IS OLD.actor_kind AND NEW.actor_id IS OLD.actor_id
	AND NEW.actor IS OLD.actor AND NEW.action IS OLD.action
	AND NEW.target IS OLD.target AND NEW.detail IS OLD.detail
	AND NEW.request_id IS OLD.request_id)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (cron prune may only clear an old row''s ip)'); END;
