-- 030_auth2x.sql: a password on the common list, found at sign-in
-- (issue 16, auth2x16; ASVS V2.1.7).
--
-- The list is checked when a password is chosen; a sign-in is the only
-- other moment the shop holds the plain password, so a list update
-- reaches an existing account there: signin.c sets password_change_due
-- and the router (pw_due.c) opens nothing but the change-password page
-- and sign-out until a new password is set.  Any new password hash
-- (change, reset, invite, the CLI) clears the flag, here in one place
-- rather than in every statement that sets one; signin.c sets the flag
-- after its own rehash, in the same transaction.
ALTER TABLE customers ADD COLUMN password_change_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN password_change_due INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER customers_password_change_due_clear AFTER UPDATE OF password_hash ON customers
WHEN NEW.password_hash IS NOT OLD.password_hash AND NEW.password_change_due = 1
BEGIN UPDATE customers SET password_change_due = 0 WHERE id = NEW.id; END;
CREATE TRIGGER staff_password_change_due_clear AFTER UPDATE OF password_hash ON staff
WHEN NEW.password_hash IS NOT OLD.password_hash AND NEW.password_change_due = 1
BEGIN UPDATE staff SET password_change_due = 0 WHERE id = NEW.id; END;
