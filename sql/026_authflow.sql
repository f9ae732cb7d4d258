-- 026_authflow.sql: sign-in notices and API token lifetimes (issue 16,
-- authflow16).
--
-- staff_devices: the browsers a staff member has signed in from, each
-- known by a random 128-bit device cookie (__Host-px_dev) of which only
-- the SHA-256 is kept.  A sign-in whose browser sends no cookie on this
-- list mails the staff member a "new device" notice.  A cookie, not a
-- fingerprint of User-Agent and address prefix: a fingerprint changes
-- with every browser update and mobile network (notices nobody reads
-- any more) and can be matched by anyone who knows the victim's browser;
-- a random cookie cannot be guessed and stays put.  ua and ip are what
-- the notice and the account page show.
CREATE TABLE staff_devices (
	id		INTEGER PRIMARY KEY,
	staff_id	INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	token_hash	BLOB NOT NULL,
	ip		TEXT NOT NULL DEFAULT '',
	user_agent	TEXT NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
	first_seen_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	last_seen_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	UNIQUE (staff_id, token_hash)
) STRICT;

-- cron tokens mails an API token's owner once before it expires: the
-- time it did, so a second run (or two at once) sends nothing more.
ALTER TABLE api_tokens ADD COLUMN expiry_mailed_at INTEGER;
