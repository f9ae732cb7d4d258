-- 020_rate_counts.sql: fixed-window request counters shared by every
-- worker (throttle.c, throttle_hit), for routes that anyone holding a
-- URL may call as often as they like: the subscription URL /sub/{token}
-- (page_sub.c) counts per token and client address, and its misses per
-- client address.  A row is one key's count in its current window;
-- rows of windows long past are deleted as new counts arrive, so the
-- table holds a few minutes of keys at most.
CREATE TABLE rate_counts (
	key		TEXT PRIMARY KEY,
	window_start	INTEGER NOT NULL,
	count		INTEGER NOT NULL DEFAULT 1 CHECK (count >= 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_counts_window ON rate_counts(window_start);
