-- px:rebuild
-- 009_commerce.sql: the money model under the shop (issue 11).
--
-- A rebuild (sql/README.md): CHECKs change on orders (the totals gain
-- tax), wallet_transactions (the 'commission' kind), invoices (the
-- details copied at issue, and the lines), carts (an anonymous owner by
-- token) and cart_items (the price shown).  Every id is kept, so every
-- child row keeps its parent (the runner's foreign_key_check proves it).
--
-- Who writes what: src/order.c (orders, order_events), src/wallet.c
-- (wallets, wallet_transactions), src/invoice.c (invoice_counters,
-- invoices); coupons, referrals and carts by the code of the next slices.

-- Orders: subtotal - discount + tax = total, every amount in the
-- order's currency, minor units.  tax_rate_bp is the rate the order was
-- taxed at (basis points: 2000 is 20 %) and prices_include_tax how its
-- prices were read (settings at the time), so an invoice can say both.
-- The state list is the one of 001; which moves are allowed between
-- states is in order.c (order_transition), the one place that moves them.
CREATE TABLE new_orders (
	id		INTEGER PRIMARY KEY,
	public_id	TEXT NOT NULL UNIQUE,		-- shown to people, not guessable (order.c)
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
			('pending','paid','provisioning','active','completed','cancelled','failed','refunded')),
	subtotal_minor	INTEGER NOT NULL CHECK (subtotal_minor >= 0),
	discount_minor	INTEGER NOT NULL DEFAULT 0 CHECK (discount_minor >= 0 AND discount_minor <= subtotal_minor),
	tax_minor	INTEGER NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
	total_minor	INTEGER NOT NULL CHECK (total_minor >= 0 AND
			    total_minor = subtotal_minor - discount_minor + tax_minor),
	tax_rate_bp	INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
	prices_include_tax INTEGER NOT NULL DEFAULT 0 CHECK (prices_include_tax IN (0,1)),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	payment_method	TEXT CHECK (payment_method IN ('wallet','stripe','paypal','nowpayments')),
	idempotency_key	TEXT UNIQUE,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	paid_at		INTEGER,
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
INSERT INTO new_orders (id, public_id, customer_id, state, subtotal_minor, discount_minor, tax_minor,
    total_minor, currency, payment_method, idempotency_key, created_at, paid_at, updated_at)
    SELECT id, public_id, customer_id, state, subtotal_minor, discount_minor, 0,
    total_minor, currency, payment_method, idempotency_key, created_at, paid_at, updated_at FROM orders;
DROP TABLE orders;
ALTER TABLE new_orders RENAME TO orders;
CREATE INDEX orders_customer ON orders(customer_id, created_at);
CREATE INDEX orders_state ON orders(state, created_at);

-- An order's timeline: one row per state it entered (order_transition
-- writes it with the state change), 'created' first.  actor is who moved
-- it, named as the audit log names actors ('customer', 'staff', 'system',
-- 'cli', 'webhook:stripe'); actor_id the customer or staff id, or NULL.
CREATE TABLE order_events (
	id		INTEGER PRIMARY KEY,
	order_id	INTEGER NOT NULL REFERENCES orders(id),
	kind		TEXT NOT NULL CHECK (kind IN ('created','paid','provisioning','active',
			    'completed','failed','cancelled','refunded')),
	at		INTEGER NOT NULL DEFAULT (unixepoch()),
	actor		TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 64),
	actor_id	INTEGER,
	note		TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500)
) STRICT;
CREATE INDEX order_events_order ON order_events(order_id, id);
CREATE TRIGGER order_events_no_update BEFORE UPDATE ON order_events
BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END;
CREATE TRIGGER order_events_no_delete BEFORE DELETE ON order_events
BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END;

-- Invoice numbers: one counter row per calendar year (UTC), incremented
-- inside the transaction that issues the invoice, so a rolled-back
-- checkout takes no number and the numbers of a year have no gaps.
CREATE TABLE invoice_counters (
	year		INTEGER PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
	last		INTEGER NOT NULL CHECK (last BETWEEN 1 AND 999999)
) STRICT;

-- Invoices (and receipts for top-ups: payment_id instead of order_id).
-- The seller's and the customer's details are copied in when the
-- invoice is issued, so a later change to the settings or the profile
-- never rewrites an old invoice.  amount_minor of 001 is total_minor now.
CREATE TABLE new_invoices (
	id		INTEGER PRIMARY KEY,
	number		TEXT NOT NULL UNIQUE,		-- YYYY-NNNNNN (invoice.c)
	order_id	INTEGER UNIQUE REFERENCES orders(id),
	payment_id	INTEGER UNIQUE REFERENCES payments(id),
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	seller_name	TEXT NOT NULL DEFAULT '',
	seller_address	TEXT NOT NULL DEFAULT '',
	seller_tax_id	TEXT NOT NULL DEFAULT '',
	customer_name	TEXT NOT NULL DEFAULT '',
	customer_address TEXT NOT NULL DEFAULT '',
	customer_tax_id	TEXT NOT NULL DEFAULT '',
	subtotal_minor	INTEGER NOT NULL CHECK (subtotal_minor >= 0),
	discount_minor	INTEGER NOT NULL DEFAULT 0 CHECK (discount_minor >= 0 AND discount_minor <= subtotal_minor),
	tax_minor	INTEGER NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
	total_minor	INTEGER NOT NULL CHECK (total_minor >= 0 AND
			    total_minor = subtotal_minor - discount_minor + tax_minor),
	tax_rate_bp	INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	state		TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','paid','void','refunded')),
	issued_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	paid_at		INTEGER,
	CHECK ((order_id IS NULL) <> (payment_id IS NULL))
) STRICT;
INSERT INTO new_invoices (id, number, order_id, customer_id, subtotal_minor, total_minor, currency,
    state, issued_at, paid_at)
    SELECT id, number, order_id, customer_id, amount_minor, amount_minor, currency,
    state, issued_at, paid_at FROM invoices;
DROP TABLE invoices;
ALTER TABLE new_invoices RENAME TO invoices;
CREATE INDEX invoices_customer ON invoices(customer_id);

-- The customer's billing details, copied into each invoice at issue.
ALTER TABLE customers ADD COLUMN billing_name TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN billing_address TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN tax_id TEXT NOT NULL DEFAULT '';

-- The ledger gains 'commission': a referral commission that became
-- available (referral_commissions below).  Append-only as before: the
-- triggers go with the old table and are made again.
CREATE TABLE new_wallet_transactions (
	id		INTEGER PRIMARY KEY,
	wallet_id	INTEGER NOT NULL REFERENCES wallets(id),
	amount_minor	INTEGER NOT NULL CHECK (amount_minor <> 0),
	kind		TEXT NOT NULL CHECK (kind IN ('topup','purchase','refund','adjustment','reversal',
			    'commission')),
	order_id	INTEGER REFERENCES orders(id),
	payment_id	INTEGER REFERENCES payments(id),
	staff_id	INTEGER REFERENCES staff(id),
	memo		TEXT NOT NULL DEFAULT '',
	idempotency_key	TEXT NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
INSERT INTO new_wallet_transactions (id, wallet_id, amount_minor, kind, order_id, payment_id,
    staff_id, memo, idempotency_key, created_at)
    SELECT id, wallet_id, amount_minor, kind, order_id, payment_id,
    staff_id, memo, idempotency_key, created_at FROM wallet_transactions;
DROP TABLE wallet_transactions;
ALTER TABLE new_wallet_transactions RENAME TO wallet_transactions;
CREATE INDEX wallet_transactions_wallet ON wallet_transactions(wallet_id, id);
CREATE TRIGGER wallet_transactions_no_update BEFORE UPDATE ON wallet_transactions
BEGIN SELECT RAISE(ABORT, 'wallet_transactions is append-only'); END;
CREATE TRIGGER wallet_transactions_no_delete BEFORE DELETE ON wallet_transactions
BEGIN SELECT RAISE(ABORT, 'wallet_transactions is append-only'); END;

-- Coupons.  kind 'percent' takes percent (1-100) off, 'fixed' takes
-- amount_minor (in currency) off, never more than the lines it applies
-- to.  scope says which lines: every line, one plan's, or one
-- category's.  NULL limits are no limit.  Codes compare case-blind.
CREATE TABLE coupons (
	id		INTEGER PRIMARY KEY,
	code		TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(code) BETWEEN 3 AND 32
			    AND code NOT GLOB '*[^A-Za-z0-9_-]*'),
	kind		TEXT NOT NULL CHECK (kind IN ('percent','fixed')),
	percent		INTEGER CHECK (percent BETWEEN 1 AND 100),
	amount_minor	INTEGER CHECK (amount_minor > 0),
	currency	TEXT CHECK (length(currency) = 3),
	scope		TEXT NOT NULL DEFAULT 'global' CHECK (scope IN ('global','plan','category')),
	plan_id		INTEGER REFERENCES plans(id),
	category_id	INTEGER REFERENCES server_categories(id),
	starts_at	INTEGER,
	ends_at		INTEGER,
	max_uses	INTEGER CHECK (max_uses >= 1),
	max_uses_per_customer INTEGER CHECK (max_uses_per_customer >= 1),
	min_order_minor	INTEGER NOT NULL DEFAULT 0 CHECK (min_order_minor >= 0),
	first_order_only INTEGER NOT NULL DEFAULT 0 CHECK (first_order_only IN (0,1)),
	active		INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
	note		TEXT NOT NULL DEFAULT '',
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	CHECK ((kind = 'percent') = (percent IS NOT NULL)),
	CHECK ((kind = 'fixed') = (amount_minor IS NOT NULL AND currency IS NOT NULL)),
	CHECK ((scope = 'plan') = (plan_id IS NOT NULL)),
	CHECK ((scope = 'category') = (category_id IS NOT NULL)),
	CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
) STRICT;

-- One row per use, written in the checkout transaction, so the limits
-- hold under concurrency.  A cancelled order gives its use back
-- (released_at set); the limits count the rows not released.
CREATE TABLE coupon_redemptions (
	id		INTEGER PRIMARY KEY,
	coupon_id	INTEGER NOT NULL REFERENCES coupons(id),
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	order_id	INTEGER NOT NULL UNIQUE REFERENCES orders(id),	-- one coupon per order
	discount_minor	INTEGER NOT NULL CHECK (discount_minor >= 0),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	released_at	INTEGER
) STRICT;
CREATE INDEX coupon_redemptions_coupon ON coupon_redemptions(coupon_id, customer_id);
CREATE INDEX coupon_redemptions_customer ON coupon_redemptions(customer_id);

-- Referral attribution: the referrer of a customer, first touch, set
-- once at registration; no self-referral, one referrer per customer.
CREATE TABLE referrals (
	id		INTEGER PRIMARY KEY,
	referrer_id	INTEGER NOT NULL REFERENCES customers(id),
	referred_id	INTEGER NOT NULL UNIQUE REFERENCES customers(id),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	CHECK (referrer_id <> referred_id)
) STRICT;
CREATE INDEX referrals_referrer ON referrals(referrer_id);

-- A commission per paid order of a referred customer: 'pending' until
-- available_at (the hold, the refund window); then 'available', with the
-- 'commission' ledger row that credits the referrer (wallet_tx_id); or
-- 'reversed' when the order is refunded within the hold (no ledger row:
-- a pending commission never reached the wallet).  A reversed row may
-- keep a wallet_tx_id, should a later rule reverse an available one
-- (with a 'reversal' ledger row of its own).
CREATE TABLE referral_commissions (
	id		INTEGER PRIMARY KEY,
	referral_id	INTEGER NOT NULL REFERENCES referrals(id),
	order_id	INTEGER NOT NULL UNIQUE REFERENCES orders(id),
	amount_minor	INTEGER NOT NULL CHECK (amount_minor > 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','available','reversed')),
	available_at	INTEGER NOT NULL,
	wallet_tx_id	INTEGER UNIQUE REFERENCES wallet_transactions(id),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	settled_at	INTEGER,
	CHECK (state <> 'available' OR wallet_tx_id IS NOT NULL),
	CHECK (state <> 'pending' OR wallet_tx_id IS NULL)
) STRICT;
CREATE INDEX referral_commissions_referral ON referral_commissions(referral_id);
CREATE INDEX referral_commissions_due ON referral_commissions(state, available_at);

-- Carts: owned by a customer, or by an anonymous visitor through a
-- random token whose SHA-256 only is stored (as sessions store theirs).
-- One cart per customer; an anonymous cart merges into it at sign-in.
-- session_id of 001 goes: an anonymous visitor has no session row.
CREATE TABLE new_carts (
	id		INTEGER PRIMARY KEY,
	customer_id	INTEGER UNIQUE REFERENCES customers(id) ON DELETE CASCADE,
	token_hash	BLOB UNIQUE CHECK (token_hash IS NULL OR length(token_hash) = 32),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	CHECK ((customer_id IS NULL) <> (token_hash IS NULL))
) STRICT;
-- A cart of 001 without a customer (none was ever written by the code)
-- gets a token nobody holds: kept, unreachable, pruned with the others.
INSERT INTO new_carts (id, customer_id, token_hash, created_at, updated_at)
    SELECT id, customer_id, CASE WHEN customer_id IS NULL THEN randomblob(32) END,
    created_at, updated_at FROM carts;
DROP TABLE carts;
ALTER TABLE new_carts RENAME TO carts;
CREATE INDEX carts_updated ON carts(updated_at);

-- Cart items keep the price the cart showed (unit_price_minor,
-- currency): checkout compares it with the plan's price now and asks
-- again if it moved.  Rows of 001 take the plan's current price.
CREATE TABLE new_cart_items (
	id		INTEGER PRIMARY KEY,
	cart_id		INTEGER NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
	plan_id		INTEGER NOT NULL REFERENCES plans(id),
	quantity	INTEGER NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 100),
	unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	added_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	UNIQUE (cart_id, plan_id)
) STRICT;
INSERT INTO new_cart_items (id, cart_id, plan_id, quantity, unit_price_minor, currency)
    SELECT ci.id, ci.cart_id, ci.plan_id, ci.quantity, p.price_minor, p.currency
    FROM cart_items ci JOIN plans p ON p.id = ci.plan_id;
DROP TABLE cart_items;
ALTER TABLE new_cart_items RENAME TO cart_items;
