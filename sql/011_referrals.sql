-- 011_referrals.sql: every customer has a referral code (issue 11,
-- referrals).  customers.referral_code exists since 001 but nothing
-- filled it.  The trigger gives a code to every new row whatever
-- inserts it (registration, `user add`, the demo seed, a test), so no
-- code path can forget; the UPDATE gives one to the rows made before.
-- 16 hex digits (64 random bits): not guessable from another code, and
-- a collision (which UNIQUE would refuse, failing that insert) is
-- beyond any shop's size.  A later rebuild of customers must make the
-- trigger again (DROP TABLE takes it along).
UPDATE customers SET referral_code = lower(hex(randomblob(8))) WHERE referral_code IS NULL;
CREATE TRIGGER customers_referral_code AFTER INSERT ON customers
WHEN NEW.referral_code IS NULL
BEGIN
	UPDATE customers SET referral_code = lower(hex(randomblob(8))) WHERE id = NEW.id;
END;
