-- px:rebuild
-- 021_payments.sql: paying through Stripe, PayPal and NOWPayments
-- (issue 13; DESIGN.md "Payments", contracts/payments.md).
--
-- payments is rebuilt: its state CHECK gains 'partially_paid' and
-- 'expired' (the CHECK list cannot be altered in place).  New columns:
--   public_id      what /pay/{public_id} and the return pages name: 80
--                  random bits or more, never the row id (the default,
--                  20 hex digits, serves rows made without one);
--   gateway_ref2   the gateway's second reference: Stripe's PaymentIntent,
--                  PayPal's capture id, NOWPayments' payment_id (the
--                  invoice id stays in gateway_ref);
--   checkout_url   where the customer pays, once payment_create has run;
--   received_minor what the gateway says arrived, in the payment's
--                  currency (NULL until known): the amount check compares
--                  it with amount_minor;
--   held_reason    '' or why a payment that arrived is held for staff and
--                  not fulfilled (amount or currency mismatch, an order
--                  no longer payable); held_at when it was held;
--   fulfilled_at   set once, by a conditional UPDATE (WHERE fulfilled_at
--                  IS NULL): the order paid or the wallet credited, from
--                  whichever of webhook, return page or reconciliation
--                  comes first; fulfilled_by says which (or 'staff');
--   last_error     the last failed gateway call, for the customer's retry
--                  page and staff;
--   expires_at     when an unpaid payment is given up (reconciliation).
CREATE TABLE new_payments (
	id		INTEGER PRIMARY KEY,
	public_id	TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(10)))),
	order_id	INTEGER REFERENCES orders(id),
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	gateway		TEXT NOT NULL CHECK (gateway IN ('wallet','stripe','paypal','nowpayments')),
	purpose		TEXT NOT NULL DEFAULT 'order' CHECK (purpose IN ('order','topup')),
	gateway_ref	TEXT,
	gateway_ref2	TEXT,
	checkout_url	TEXT,
	amount_minor	INTEGER NOT NULL CHECK (amount_minor > 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	received_minor	INTEGER CHECK (received_minor IS NULL OR received_minor >= 0),
	state		TEXT NOT NULL DEFAULT 'created' CHECK (state IN
			('created','pending','partially_paid','succeeded','failed','expired',
			 'cancelled','partially_refunded','refunded')),
	refunded_minor	INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
	held_reason	TEXT NOT NULL DEFAULT '',
	held_at		INTEGER,
	fulfilled_at	INTEGER,
	fulfilled_by	TEXT CHECK (fulfilled_by IS NULL OR fulfilled_by IN
			('webhook','return','reconcile','staff','wallet')),
	idempotency_key	TEXT NOT NULL UNIQUE,
	last_error	TEXT NOT NULL DEFAULT '',
	expires_at	INTEGER,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	CHECK ((purpose = 'order') = (order_id IS NOT NULL)),
	UNIQUE (gateway, gateway_ref)
) STRICT;
INSERT INTO new_payments (id, public_id, order_id, customer_id, gateway, purpose, gateway_ref,
    amount_minor, currency, state, refunded_minor, idempotency_key, created_at, updated_at,
    fulfilled_at, fulfilled_by)
    SELECT id, lower(hex(randomblob(10))), order_id, customer_id, gateway, purpose, gateway_ref,
    amount_minor, currency, state, refunded_minor, idempotency_key, created_at, updated_at,
    CASE WHEN state IN ('succeeded','partially_refunded','refunded') THEN updated_at END,
    CASE WHEN state IN ('succeeded','partially_refunded','refunded') THEN 'staff' END
    FROM payments;
DROP TABLE payments;
ALTER TABLE new_payments RENAME TO payments;
CREATE INDEX payments_order ON payments(order_id);
CREATE INDEX payments_customer ON payments(customer_id);
-- Reconciliation: payments still open, oldest first.
CREATE INDEX payments_open ON payments(state, created_at)
    WHERE state IN ('created','pending','partially_paid');
-- /admin/payments: the held ones.
CREATE INDEX payments_held ON payments(held_at) WHERE held_reason <> '';
CREATE UNIQUE INDEX payments_ref2 ON payments(gateway, gateway_ref2) WHERE gateway_ref2 IS NOT NULL;

-- What the shop did with an event: 'applied' (moved a payment),
-- 'duplicate' is never stored (the UNIQUE key refuses it), 'stale' (out
-- of order: recorded, changed nothing), 'held', 'unknown' (no payment of
-- ours: the reconciliation report), 'unverified' (a PayPal delivery
-- waiting for its postback or certificate: changes nothing until work
-- verifies it), 'rejected' (work's verification failed).  source: who
-- saw it: 'webhook', 'return' (the return page's follow-up), 'reconcile'
-- (cron payments), 'staff'.
ALTER TABLE gateway_events ADD COLUMN outcome TEXT NOT NULL DEFAULT 'applied'
    CHECK (outcome IN ('applied','stale','held','unknown','unverified','rejected'));
ALTER TABLE gateway_events ADD COLUMN source TEXT NOT NULL DEFAULT 'webhook'
    CHECK (source IN ('webhook','return','reconcile','staff'));
CREATE INDEX gateway_events_payment ON gateway_events(payment_id, id);

-- Refunds: one row per refund, made here by staff (origin 'staff') or
-- seen arriving from the gateway's own dashboard (origin 'gateway').
-- destination: back through the gateway, to the customer's wallet, or
-- 'manual' (NOWPayments has no refund API: staff pay it back by hand and
-- record it).  The sum of a payment's refunds that have not failed never
-- passes the payment (the trigger; refund.c checks first and answers in
-- words).  idempotency_key is sent as Stripe's Idempotency-Key or
-- PayPal's PayPal-Request-Id, stored before the call.
CREATE TABLE refunds (
	id		INTEGER PRIMARY KEY,
	payment_id	INTEGER NOT NULL REFERENCES payments(id),
	order_id	INTEGER REFERENCES orders(id),
	amount_minor	INTEGER NOT NULL CHECK (amount_minor > 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	destination	TEXT NOT NULL CHECK (destination IN ('gateway','wallet','manual')),
	origin		TEXT NOT NULL DEFAULT 'staff' CHECK (origin IN ('staff','gateway')),
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','succeeded','failed')),
	gateway_ref	TEXT,
	reason		TEXT NOT NULL DEFAULT '',
	staff_id	INTEGER REFERENCES staff(id),
	wallet_tx_id	INTEGER REFERENCES wallet_transactions(id),
	idempotency_key	TEXT NOT NULL UNIQUE,
	last_error	TEXT NOT NULL DEFAULT '',
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
CREATE INDEX refunds_payment ON refunds(payment_id);
CREATE UNIQUE INDEX refunds_gateway_ref ON refunds(payment_id, gateway_ref) WHERE gateway_ref IS NOT NULL;
CREATE TRIGGER refunds_cap BEFORE INSERT ON refunds
WHEN (SELECT coalesce(sum(amount_minor), 0) FROM refunds
      WHERE payment_id = NEW.payment_id AND state <> 'failed') + NEW.amount_minor >
     (SELECT amount_minor FROM payments WHERE id = NEW.payment_id)
BEGIN SELECT RAISE(ABORT, 'refunds would pass the payment'); END;

-- Gateway keys and webhook secrets, sealed (seal.h) with
-- "gateway_secret:<name>" as associated data, so a blob copied to
-- another name does not open.  settings.value is STRICT TEXT, hence a
-- table of its own.  hint: the last four characters, for the masked
-- display; never the secret.  The non-secret settings (enabled, mode,
-- limits, policies) stay in settings under payments.*.
CREATE TABLE gateway_secrets (
	name		TEXT PRIMARY KEY CHECK (name GLOB '[a-z]*.[a-z_]*'),
	sealed		BLOB NOT NULL,
	hint		TEXT NOT NULL DEFAULT '',
	updated_by	INTEGER REFERENCES staff(id),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

-- PayPal's signing certificates, fetched by work from an allow-listed
-- https URL and kept by URL, so that a webhook verifies offline in the
-- worker once its certificate is known.
CREATE TABLE paypal_certs (
	url		TEXT PRIMARY KEY,
	pem		TEXT NOT NULL,
	not_after	INTEGER,
	fetched_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
