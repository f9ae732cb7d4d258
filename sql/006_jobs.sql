-- px:rebuild
-- 006_jobs.sql: the job table for a concurrent spool (issue 10).
--
-- A rebuild (SQLite's 12 steps): the CHECK lists of kind and state
-- change, which ALTER TABLE cannot do (sql/README.md).  mail_log
-- references jobs(id); ids are kept, so every mail_log row keeps its job
-- (the runner's foreign_key_check proves it before COMMIT).
--
-- New:
--  kind       the kinds issues 12 (panels) and 13 (payments) run;
--  state      'discarded': staff gave up on the job; it never runs;
--  age_from   when the retry age limit starts counting: the first due
--             time (run_at), and again at every staff retry;
--  lease_until, claimed_by
--             a running job belongs to one runner until lease_until;
--             after it another runner may take the job over;
--  result     what the job found out (server_test: the login outcome),
--             a JSON object, '' until it finishes.
--  next_attempt_at is also the run_at of the first attempt.
CREATE TABLE new_jobs (
	id		INTEGER PRIMARY KEY,
	kind		TEXT NOT NULL CHECK (kind IN ('email',
			    'provision','deprovision','renew','suspend','resume','reset_traffic',
			    'regenerate','traffic_sync','server_test','server_sync',
			    'gateway_followup','payment_create','payment_capture','refund')),
	idem_key	TEXT NOT NULL UNIQUE,
	payload		TEXT NOT NULL DEFAULT '{}',
	state		TEXT NOT NULL DEFAULT 'pending'
			    CHECK (state IN ('pending','running','done','failed','discarded')),
	step		TEXT NOT NULL DEFAULT '',
	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	last_error	TEXT NOT NULL DEFAULT '',
	server_id	INTEGER REFERENCES servers(id),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	done_at		INTEGER,
	age_from	INTEGER NOT NULL DEFAULT (unixepoch()),
	lease_until	INTEGER,
	claimed_by	TEXT,
	result		TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO new_jobs (id, kind, idem_key, payload, state, step, attempts, next_attempt_at,
    last_error, server_id, created_at, updated_at, done_at, age_from)
    SELECT id, kind, idem_key, payload, state, step, attempts, next_attempt_at,
    last_error, server_id, created_at, updated_at, done_at, created_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE new_jobs RENAME TO jobs;
CREATE INDEX jobs_state ON jobs(state, next_attempt_at);
-- The lane counts: running jobs per panel.
CREATE INDEX jobs_server ON jobs(server_id, state) WHERE server_id IS NOT NULL;
-- cron prune: finished rows by age.
CREATE INDEX jobs_done ON jobs(done_at) WHERE done_at IS NOT NULL;
