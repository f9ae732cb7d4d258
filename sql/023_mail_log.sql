-- 023_mail_log.sql: the staff mail log (issue 14).
--
-- A message's state is its email job's state (pending = queued,
-- running = sending, done = sent, failed, discarded); mail_log stays the
-- proof of what the SMTP server accepted.  New:
--  mail_log.reply  the server's reply to the end of DATA ("250 2.0.0 Ok:
--                  queued as ..."), the answer staff look for when a
--                  customer says the mail never came; '' for rows written
--                  before this column.
--  jobs_kind       /admin/mail lists one kind, newest first.
--  mail.read, mail.manage
--                  see the mail log; retry or discard a message.  Support
--                  answers "the mail never came", so it reads the log;
--                  retry and discard go with jobs.manage.
ALTER TABLE mail_log ADD COLUMN reply TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_kind ON jobs(kind, created_at);

INSERT INTO permissions (id, name, label) VALUES
	(17, 'mail.read', 'See the mail log'),
	(18, 'mail.manage', 'Retry or discard mail');
INSERT OR IGNORE INTO role_permissions (role_id, permission_id)
	SELECT r.id, p.id FROM roles r JOIN permissions p ON p.name = 'mail.read'
	WHERE r.name IN ('super_admin', 'manager', 'support');
INSERT OR IGNORE INTO role_permissions (role_id, permission_id)
	SELECT rp.role_id, p.id FROM role_permissions rp
	JOIN permissions j ON j.id = rp.permission_id AND j.name = 'jobs.manage'
	JOIN permissions p ON p.name = 'mail.manage';
