-- 005_mail_throttle.sql: counts of mail-sending requests (register,
-- password reset, email change), per client address ('ip:<addr>') and
-- per recipient ('to:<email>', case-folded), each in a fixed hour and a
-- fixed day window (throttle.c).  Rows whose day window ended are
-- deleted as new counts arrive, so the table holds one day at most.
CREATE TABLE mail_throttle (
	key		TEXT PRIMARY KEY,
	hour_start	INTEGER NOT NULL,
	hour_count	INTEGER NOT NULL DEFAULT 0 CHECK (hour_count >= 0),
	day_start	INTEGER NOT NULL,
	day_count	INTEGER NOT NULL DEFAULT 0 CHECK (day_count >= 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX mail_throttle_day ON mail_throttle(day_start);
