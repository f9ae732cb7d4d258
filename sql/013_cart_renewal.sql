-- px:rebuild
-- 013_cart_renewal.sql: a cart line may renew a service (issue 11,
-- renewal).  cart_items gains renewal_of, the order item whose client
-- the line extends; checkout copies it into the new order item and its
-- provision job.  UNIQUE (cart_id, plan_id) becomes two partial unique
-- indexes, so that a renewal line and a new purchase of the same plan
-- coexist: one plain line per plan, one renewal line per renewed item.
-- A renewal line is one period (quantity 1): a service is renewed once
-- per checkout.
CREATE TABLE new_cart_items (
	id		INTEGER PRIMARY KEY,
	cart_id		INTEGER NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
	plan_id		INTEGER NOT NULL REFERENCES plans(id),
	quantity	INTEGER NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 100),
	unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	added_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	renewal_of	INTEGER REFERENCES order_items(id),
	CHECK (renewal_of IS NULL OR quantity = 1)
) STRICT;
INSERT INTO new_cart_items (id, cart_id, plan_id, quantity, unit_price_minor, currency, added_at)
    SELECT id, cart_id, plan_id, quantity, unit_price_minor, currency, added_at FROM cart_items;
DROP TABLE cart_items;
ALTER TABLE new_cart_items RENAME TO cart_items;
-- A partial index serves only queries that repeat its WHERE: the
-- cart's own lookups (WHERE cart_id = :cart) need a plain one, or every
-- cart page and checkout scans every cart's lines.
CREATE INDEX cart_items_cart ON cart_items(cart_id);
CREATE UNIQUE INDEX cart_items_plan ON cart_items(cart_id, plan_id) WHERE renewal_of IS NULL;
CREATE UNIQUE INDEX cart_items_renewal ON cart_items(cart_id, renewal_of) WHERE renewal_of IS NOT NULL;
