-- 024_mail_failed.sql: the mail banner's count (issue 14, mailadmin14).
--
-- Every staff page counts the email jobs that failed in the last hour
-- (mail_health.c).  Failed rows stay until staff retry or discard them
-- (cron prune keeps them), so over jobs_state that count reads every
-- failed job of every kind: measured 0.25 ms a page with 1,000 failed
-- jobs, growing with them.  This partial index holds only failed rows,
-- by kind and time, so the count is a short range of one small index
-- (about 10 us whatever the table holds).
CREATE INDEX jobs_failed ON jobs(kind, updated_at) WHERE state = 'failed';
