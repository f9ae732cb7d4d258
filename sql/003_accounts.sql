-- 003_accounts.sql: what the account layer needs beyond 001.
-- Recovery codes are 60-bit look-up secrets; ASVS 2.6.2 wants them
-- salted below 112 bits, so each row carries its own salt.
ALTER TABLE recovery_codes ADD COLUMN salt BLOB;
CREATE INDEX email_tokens_expires ON email_tokens(expires_at);
CREATE INDEX login_throttle_locked ON login_throttle(locked_until);
