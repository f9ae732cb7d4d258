-- 004_staff.sql: what the staff panels need beyond 003.
-- Invitations are email_tokens rows with staff_id set; the audit log is
-- read by target (a staff member's last sign-in, the target filter) and
-- by actor (the actor filter).
CREATE INDEX email_tokens_staff ON email_tokens(staff_id);
CREATE INDEX audit_log_target ON audit_log(target, at);
CREATE INDEX audit_log_actor ON audit_log(actor_kind, actor_id, at);
