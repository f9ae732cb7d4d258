-- 007: the audit log names its actor.  (005 and 006, the catalog version
-- and the concurrent spool's jobs table, were made beside this one.)
-- actor_kind stays the coarse class the schema checks (customer, staff,
-- system, anonymous); actor is who exactly: 'customer', 'staff',
-- 'anonymous' for requests, 'system' for the work daemon, 'cli' for the
-- command line, 'webhook:stripe' and the like for gateways (src/audit.c
-- is the one writer).  Rows written before this migration have actor ''
-- (the log is append-only: its triggers refuse the UPDATE that would
-- fill them in).
ALTER TABLE audit_log ADD COLUMN actor TEXT NOT NULL DEFAULT '';
