-- 017_renewals.sql: renewals applied to a provisioned client, once each.
--
-- A renewal (an order item with renewal_of, run by the provision job or
-- a renew job, src/job_provision.c) extends its client's expiry by the
-- plan's duration exactly once, whatever kill -9, retry or lost reply
-- happens on the way: the target expiry is computed once, from the
-- shop's stored expiry (and the targets of earlier renewals of the same
-- client, so two renewals paid together extend twice, never once), and
-- kept here before any panel call; every attempt then sets that
-- absolute target on the panel, which is idempotent.
--   order_item_id      the renewal's order item (one renewal per item)
--   client_id          the client it extends
--   target_expires_at  the expiry the panel and the shop get (unix s)
--   traffic_bytes      the plan's quota for the new period (0: unlimited)
--   applied_at         when the panel read back the target (NULL: not yet)
CREATE TABLE client_renewals (
	order_item_id	INTEGER PRIMARY KEY REFERENCES order_items(id),
	client_id	INTEGER NOT NULL REFERENCES provisioned_clients(id) ON DELETE CASCADE,
	target_expires_at INTEGER NOT NULL CHECK (target_expires_at > 0),
	traffic_bytes	INTEGER NOT NULL DEFAULT 0 CHECK (traffic_bytes >= 0),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	applied_at	INTEGER
) STRICT;
CREATE INDEX client_renewals_client ON client_renewals(client_id, target_expires_at);
