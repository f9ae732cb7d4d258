-- 027_passkeys.sql: WebAuthn passkeys (issue 16, passkey16; passkey.c,
-- page_passkey.c).
--
-- A passkey belongs to one customer or one staff member (the other id
-- NULL, as api_tokens).  cred_id is the authenticator's credential id,
-- unique across the shop: registering one already known is refused, so
-- a credential can never sign in to two accounts.  public_key is the
-- COSE_Key exactly as the authenticator sent it (re-read at every use),
-- alg its algorithm (-7 ES256, -8 EdDSA).  sign_count is the last
-- signature counter seen; an assertion whose counter does not grow
-- (when either side is non-zero) is refused as a replay or a clone.
CREATE TABLE passkeys (
	id		INTEGER PRIMARY KEY,
	customer_id	INTEGER REFERENCES customers(id) ON DELETE CASCADE,
	staff_id	INTEGER REFERENCES staff(id) ON DELETE CASCADE,
	cred_id		BLOB NOT NULL UNIQUE CHECK (length(cred_id) BETWEEN 16 AND 1023),
	public_key	BLOB NOT NULL CHECK (length(public_key) <= 1024),
	alg		INTEGER NOT NULL CHECK (alg IN (-7, -8)),
	sign_count	INTEGER NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
	name		TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	last_used_at	INTEGER,
	CHECK ((customer_id IS NULL) <> (staff_id IS NULL))
) STRICT;
CREATE INDEX passkeys_customer ON passkeys(customer_id);
CREATE INDEX passkeys_staff ON passkeys(staff_id);

-- Challenges handed out and not yet used: only their SHA-256 is kept,
-- with what they are for (purpose, kind of account) and what they are
-- bound to (bind: SHA-256 of "session:<id>" or of the pre-session
-- cookie's nonce).  A challenge is spent by the DELETE that finds it,
-- so it works once; expired ones are pruned as new ones are made.
CREATE TABLE passkey_challenges (
	hash		BLOB PRIMARY KEY,
	purpose		TEXT NOT NULL CHECK (purpose IN ('register', 'signin', '2fa')),
	kind		TEXT NOT NULL CHECK (kind IN ('customer', 'staff')),
	bind		BLOB NOT NULL,
	expires_at	INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX passkey_challenges_bind ON passkey_challenges(bind, purpose);
CREATE INDEX passkey_challenges_expires ON passkey_challenges(expires_at);
