-- 001_init.sql: the whole product's schema.
-- Migrations after this one follow the rules in sql/README.md (no BEGIN or
-- COMMIT in a file; "-- px:rebuild" to rebuild a table).
--
-- Money is integer minor units with an ISO 4217 currency code; times are
-- unix seconds (UTC).  State columns carry CHECK constraints listing
-- every state; order and payment states only move forward (enforced by
-- the code, recorded by the audit log).  Secrets are stored sealed
-- (AES-256-GCM, see DESIGN.md) in *_sealed BLOB columns, never in clear.

CREATE TABLE settings (
	key		TEXT PRIMARY KEY,
	value		TEXT NOT NULL,
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

-- People -------------------------------------------------------------

CREATE TABLE customers (
	id		INTEGER PRIMARY KEY,
	email		TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
	name		TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 100),
	password_hash	TEXT NOT NULL,
	email_verified_at INTEGER,
	totp_sealed	BLOB,
	totp_enabled_at	INTEGER,
	totp_last_step	INTEGER NOT NULL DEFAULT 0,
	state		TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','disabled','deleted')),
	currency	TEXT NOT NULL DEFAULT 'USD' CHECK (length(currency) = 3),
	referral_code	TEXT UNIQUE,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

CREATE TABLE roles (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	label		TEXT NOT NULL
) STRICT;

CREATE TABLE permissions (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	label		TEXT NOT NULL
) STRICT;

CREATE TABLE role_permissions (
	role_id		INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
	permission_id	INTEGER NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,
	PRIMARY KEY (role_id, permission_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE staff (
	id		INTEGER PRIMARY KEY,
	email		TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
	name		TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 100),
	password_hash	TEXT NOT NULL,
	role_id		INTEGER NOT NULL REFERENCES roles(id),
	totp_sealed	BLOB,
	totp_enabled_at	INTEGER,
	totp_last_step	INTEGER NOT NULL DEFAULT 0,
	state		TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('invited','active','disabled')),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
CREATE INDEX staff_role ON staff(role_id);

-- Ten single-use recovery codes per account, stored hashed.
CREATE TABLE recovery_codes (
	id		INTEGER PRIMARY KEY,
	customer_id	INTEGER REFERENCES customers(id) ON DELETE CASCADE,
	staff_id	INTEGER REFERENCES staff(id) ON DELETE CASCADE,
	code_hash	BLOB NOT NULL,
	used_at		INTEGER,
	CHECK ((customer_id IS NULL) <> (staff_id IS NULL))
) STRICT;
CREATE INDEX recovery_codes_customer ON recovery_codes(customer_id);
CREATE INDEX recovery_codes_staff ON recovery_codes(staff_id);

-- Sessions: the token is 128 random bits; only its SHA-256 is stored.
CREATE TABLE sessions (
	id		INTEGER PRIMARY KEY,
	token_hash	BLOB NOT NULL UNIQUE,
	kind		TEXT NOT NULL CHECK (kind IN ('customer','staff','pre')),
	customer_id	INTEGER REFERENCES customers(id) ON DELETE CASCADE,
	staff_id	INTEGER REFERENCES staff(id) ON DELETE CASCADE,
	csrf_token	TEXT NOT NULL,
	mfa_ok		INTEGER NOT NULL DEFAULT 0 CHECK (mfa_ok IN (0,1)),
	reauth_at	INTEGER,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	last_seen_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	expires_at	INTEGER NOT NULL,
	ip		TEXT NOT NULL DEFAULT '',
	user_agent	TEXT NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
	CHECK ((kind = 'customer') = (customer_id IS NOT NULL)),
	CHECK ((kind = 'staff') = (staff_id IS NOT NULL))
) STRICT;
CREATE INDEX sessions_customer ON sessions(customer_id);
CREATE INDEX sessions_staff ON sessions(staff_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- Single-use tokens sent by email: verification, password reset, invites.
CREATE TABLE email_tokens (
	id		INTEGER PRIMARY KEY,
	token_hash	BLOB NOT NULL UNIQUE,
	purpose		TEXT NOT NULL CHECK (purpose IN ('verify','reset','change_email','invite')),
	customer_id	INTEGER REFERENCES customers(id) ON DELETE CASCADE,
	staff_id	INTEGER REFERENCES staff(id) ON DELETE CASCADE,
	new_email	TEXT,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	expires_at	INTEGER NOT NULL,
	used_at		INTEGER
) STRICT;
CREATE INDEX email_tokens_customer ON email_tokens(customer_id);

-- Login throttling shared by every worker: one row per account or address.
CREATE TABLE login_throttle (
	key		TEXT PRIMARY KEY,	-- 'acct:<email>' or 'ip:<addr>'
	failures	INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
	last_failure_at	INTEGER NOT NULL DEFAULT 0,
	locked_until	INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE TABLE api_tokens (
	id		INTEGER PRIMARY KEY,
	token_hash	BLOB NOT NULL UNIQUE,
	prefix		TEXT NOT NULL,		-- first characters, shown in lists
	name		TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	customer_id	INTEGER REFERENCES customers(id) ON DELETE CASCADE,
	staff_id	INTEGER REFERENCES staff(id) ON DELETE CASCADE,
	scopes		TEXT NOT NULL DEFAULT '',
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	expires_at	INTEGER,
	last_used_at	INTEGER,
	revoked_at	INTEGER,
	CHECK ((customer_id IS NULL) <> (staff_id IS NULL))
) STRICT;
CREATE INDEX api_tokens_customer ON api_tokens(customer_id);
CREATE INDEX api_tokens_staff ON api_tokens(staff_id);

-- Append-only: no UPDATE or DELETE is ever allowed (triggers below).
CREATE TABLE audit_log (
	id		INTEGER PRIMARY KEY,
	at		INTEGER NOT NULL DEFAULT (unixepoch()),
	actor_kind	TEXT NOT NULL CHECK (actor_kind IN ('customer','staff','system','anonymous')),
	actor_id	INTEGER,
	action		TEXT NOT NULL,
	target		TEXT NOT NULL DEFAULT '',
	detail		TEXT NOT NULL DEFAULT '',
	ip		TEXT NOT NULL DEFAULT '',
	request_id	TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_action ON audit_log(action, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Catalog ------------------------------------------------------------

CREATE TABLE server_categories (
	id		INTEGER PRIMARY KEY,
	slug		TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
	name		TEXT NOT NULL,
	description	TEXT NOT NULL DEFAULT '',
	sort		INTEGER NOT NULL DEFAULT 0,
	active		INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1))
) STRICT;

CREATE TABLE server_brands (
	id		INTEGER PRIMARY KEY,
	slug		TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
	name		TEXT NOT NULL,
	description	TEXT NOT NULL DEFAULT '',
	sort		INTEGER NOT NULL DEFAULT 0,
	active		INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1))
) STRICT;

-- A server is one 3X-UI panel.
CREATE TABLE servers (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	country_code	TEXT NOT NULL CHECK (length(country_code) = 2),
	country		TEXT NOT NULL,
	city		TEXT NOT NULL DEFAULT '',
	category_id	INTEGER REFERENCES server_categories(id),
	brand_id	INTEGER REFERENCES server_brands(id),
	panel_url	TEXT NOT NULL,		-- base URL incl. web base path
	panel_user	TEXT NOT NULL DEFAULT '',
	panel_password_sealed BLOB,
	panel_token_sealed BLOB,
	api_generation	TEXT NOT NULL DEFAULT 'auto' CHECK (api_generation IN ('auto','g2','g3')),
	public_host	TEXT NOT NULL,		-- address put in share links
	max_concurrency	INTEGER NOT NULL DEFAULT 2 CHECK (max_concurrency BETWEEN 1 AND 16),
	state		TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','maintenance','disabled')),
	health		TEXT NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown','up','down')),
	last_checked_at	INTEGER,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
CREATE INDEX servers_category ON servers(category_id);
CREATE INDEX servers_brand ON servers(brand_id);
CREATE INDEX servers_country ON servers(country_code);

CREATE TABLE server_inbounds (
	id		INTEGER PRIMARY KEY,
	server_id	INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
	panel_inbound_id INTEGER NOT NULL,
	remark		TEXT NOT NULL DEFAULT '',
	protocol	TEXT NOT NULL CHECK (protocol IN ('vless','vmess','trojan','shadowsocks')),
	port		INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
	network		TEXT NOT NULL DEFAULT 'tcp',
	security	TEXT NOT NULL DEFAULT 'none',
	settings_json	TEXT NOT NULL DEFAULT '{}',	-- stream settings for share links
	capacity	INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),	-- 0: unlimited
	active		INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
	UNIQUE (server_id, panel_inbound_id)
) STRICT;

CREATE TABLE plans (
	id		INTEGER PRIMARY KEY,
	slug		TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
	name		TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
	description	TEXT NOT NULL DEFAULT '',
	protocol	TEXT NOT NULL CHECK (protocol IN ('vless','vmess','trojan','shadowsocks')),
	server_id	INTEGER NOT NULL REFERENCES servers(id),
	inbound_id	INTEGER REFERENCES server_inbounds(id),
	category_id	INTEGER REFERENCES server_categories(id),
	brand_id	INTEGER REFERENCES server_brands(id),
	price_minor	INTEGER NOT NULL CHECK (price_minor >= 0),
	currency	TEXT NOT NULL DEFAULT 'USD' CHECK (length(currency) = 3),
	duration_days	INTEGER NOT NULL CHECK (duration_days BETWEEN 1 AND 3660),
	traffic_bytes	INTEGER NOT NULL DEFAULT 0 CHECK (traffic_bytes >= 0),	-- 0: unlimited
	device_limit	INTEGER NOT NULL DEFAULT 1 CHECK (device_limit BETWEEN 0 AND 100),
	featured	INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0,1)),
	active		INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
	stock		INTEGER,		-- NULL: unlimited
	sort		INTEGER NOT NULL DEFAULT 0,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
CREATE INDEX plans_active_price ON plans(active, price_minor);
CREATE INDEX plans_active_traffic ON plans(active, traffic_bytes);
CREATE INDEX plans_category ON plans(category_id, active);
CREATE INDEX plans_brand ON plans(brand_id, active);
CREATE INDEX plans_server ON plans(server_id, active);
CREATE INDEX plans_protocol ON plans(protocol, active);
CREATE INDEX plans_featured ON plans(featured, active, sort);

-- Shopping -----------------------------------------------------------

CREATE TABLE carts (
	id		INTEGER PRIMARY KEY,
	customer_id	INTEGER REFERENCES customers(id) ON DELETE CASCADE,
	session_id	INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
CREATE INDEX carts_customer ON carts(customer_id);

CREATE TABLE cart_items (
	id		INTEGER PRIMARY KEY,
	cart_id		INTEGER NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
	plan_id		INTEGER NOT NULL REFERENCES plans(id),
	quantity	INTEGER NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 100),
	UNIQUE (cart_id, plan_id)
) STRICT;

CREATE TABLE orders (
	id		INTEGER PRIMARY KEY,
	public_id	TEXT NOT NULL UNIQUE,		-- shown to people, not guessable
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
			('pending','paid','provisioning','active','completed','cancelled','failed','refunded')),
	subtotal_minor	INTEGER NOT NULL CHECK (subtotal_minor >= 0),
	discount_minor	INTEGER NOT NULL DEFAULT 0 CHECK (discount_minor >= 0),
	total_minor	INTEGER NOT NULL CHECK (total_minor >= 0 AND total_minor = subtotal_minor - discount_minor),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	payment_method	TEXT CHECK (payment_method IN ('wallet','stripe','paypal','nowpayments')),
	idempotency_key	TEXT UNIQUE,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	paid_at		INTEGER,
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
CREATE INDEX orders_customer ON orders(customer_id, created_at);
CREATE INDEX orders_state ON orders(state, created_at);

CREATE TABLE order_items (
	id		INTEGER PRIMARY KEY,
	order_id	INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
	plan_id		INTEGER NOT NULL REFERENCES plans(id),
	quantity	INTEGER NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 100),
	unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
			('pending','provisioning','active','failed','cancelled')),
	renewal_of	INTEGER REFERENCES order_items(id)
) STRICT;
CREATE INDEX order_items_order ON order_items(order_id);

CREATE TABLE invoices (
	id		INTEGER PRIMARY KEY,
	number		TEXT NOT NULL UNIQUE,
	order_id	INTEGER NOT NULL UNIQUE REFERENCES orders(id),
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	amount_minor	INTEGER NOT NULL CHECK (amount_minor >= 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	state		TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','paid','void','refunded')),
	issued_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	paid_at		INTEGER
) STRICT;
CREATE INDEX invoices_customer ON invoices(customer_id);

CREATE TABLE payments (
	id		INTEGER PRIMARY KEY,
	order_id	INTEGER REFERENCES orders(id),
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	gateway		TEXT NOT NULL CHECK (gateway IN ('wallet','stripe','paypal','nowpayments')),
	purpose		TEXT NOT NULL DEFAULT 'order' CHECK (purpose IN ('order','topup')),
	gateway_ref	TEXT,			-- checkout session / order / payment id
	amount_minor	INTEGER NOT NULL CHECK (amount_minor > 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	state		TEXT NOT NULL DEFAULT 'created' CHECK (state IN
			('created','pending','succeeded','failed','cancelled','refunded','partially_refunded')),
	refunded_minor	INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
	idempotency_key	TEXT NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	UNIQUE (gateway, gateway_ref)
) STRICT;
CREATE INDEX payments_order ON payments(order_id);
CREATE INDEX payments_customer ON payments(customer_id);

-- Every webhook delivery we accepted, unique per gateway event id.
CREATE TABLE gateway_events (
	id		INTEGER PRIMARY KEY,
	gateway		TEXT NOT NULL CHECK (gateway IN ('stripe','paypal','nowpayments')),
	event_id	TEXT NOT NULL,
	event_type	TEXT NOT NULL,
	payment_id	INTEGER REFERENCES payments(id),
	payload		TEXT NOT NULL,
	received_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	processed_at	INTEGER,
	UNIQUE (gateway, event_id)
) STRICT;

-- Wallets: the balance is the sum of the ledger.  balance_minor is a
-- cache kept by the same transaction that appends to the ledger, and
-- `1000proxy check` proves they agree.
CREATE TABLE wallets (
	id		INTEGER PRIMARY KEY,
	customer_id	INTEGER NOT NULL UNIQUE REFERENCES customers(id),
	currency	TEXT NOT NULL DEFAULT 'USD' CHECK (length(currency) = 3),
	balance_minor	INTEGER NOT NULL DEFAULT 0 CHECK (balance_minor >= 0),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

CREATE TABLE wallet_transactions (
	id		INTEGER PRIMARY KEY,
	wallet_id	INTEGER NOT NULL REFERENCES wallets(id),
	amount_minor	INTEGER NOT NULL CHECK (amount_minor <> 0),
	kind		TEXT NOT NULL CHECK (kind IN ('topup','purchase','refund','adjustment','reversal')),
	order_id	INTEGER REFERENCES orders(id),
	payment_id	INTEGER REFERENCES payments(id),
	staff_id	INTEGER REFERENCES staff(id),
	memo		TEXT NOT NULL DEFAULT '',
	idempotency_key	TEXT NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
CREATE INDEX wallet_transactions_wallet ON wallet_transactions(wallet_id, id);
CREATE TRIGGER wallet_transactions_no_update BEFORE UPDATE ON wallet_transactions
BEGIN SELECT RAISE(ABORT, 'wallet_transactions is append-only'); END;
CREATE TRIGGER wallet_transactions_no_delete BEFORE DELETE ON wallet_transactions
BEGIN SELECT RAISE(ABORT, 'wallet_transactions is append-only'); END;

-- The customer's proxies ---------------------------------------------

CREATE TABLE provisioned_clients (
	id		INTEGER PRIMARY KEY,
	order_item_id	INTEGER NOT NULL UNIQUE REFERENCES order_items(id),
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	server_id	INTEGER NOT NULL REFERENCES servers(id),
	inbound_id	INTEGER NOT NULL REFERENCES server_inbounds(id),
	email		TEXT NOT NULL,		-- panel-wide unique client email, derived from the item
	client_uuid	TEXT NOT NULL,		-- UUID or password, derived from the item
	sub_id		TEXT NOT NULL UNIQUE,
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
			('pending','active','suspended','expired','deleted')),
	traffic_limit_bytes INTEGER NOT NULL DEFAULT 0 CHECK (traffic_limit_bytes >= 0),
	up_bytes	INTEGER NOT NULL DEFAULT 0 CHECK (up_bytes >= 0),
	down_bytes	INTEGER NOT NULL DEFAULT 0 CHECK (down_bytes >= 0),
	expires_at	INTEGER,
	online		INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0,1)),
	last_synced_at	INTEGER,
	reminded_at	INTEGER,
	auto_renew	INTEGER NOT NULL DEFAULT 0 CHECK (auto_renew IN (0,1)),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	UNIQUE (server_id, email)
) STRICT;
CREATE INDEX provisioned_clients_customer ON provisioned_clients(customer_id);
CREATE INDEX provisioned_clients_expiry ON provisioned_clients(state, expires_at);

-- Support ------------------------------------------------------------

CREATE TABLE tickets (
	id		INTEGER PRIMARY KEY,
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	subject		TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
	state		TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','pending','resolved','closed')),
	priority	TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low','normal','high','urgent')),
	assigned_staff_id INTEGER REFERENCES staff(id),
	order_id	INTEGER REFERENCES orders(id),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
CREATE INDEX tickets_customer ON tickets(customer_id, updated_at);
CREATE INDEX tickets_state ON tickets(state, updated_at);

CREATE TABLE ticket_messages (
	id		INTEGER PRIMARY KEY,
	ticket_id	INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
	customer_id	INTEGER REFERENCES customers(id),
	staff_id	INTEGER REFERENCES staff(id),
	body		TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
	internal	INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0,1)),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	CHECK ((customer_id IS NULL) <> (staff_id IS NULL))
) STRICT;
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id, id);

-- The job table: the source of truth behind the spool (DESIGN.md).
CREATE TABLE jobs (
	id		INTEGER PRIMARY KEY,
	kind		TEXT NOT NULL CHECK (kind IN ('email','provision','deprovision','renew','gateway_followup','traffic_sync')),
	idem_key	TEXT NOT NULL UNIQUE,
	payload		TEXT NOT NULL DEFAULT '{}',
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','running','done','failed')),
	step		TEXT NOT NULL DEFAULT '',
	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	last_error	TEXT NOT NULL DEFAULT '',
	server_id	INTEGER REFERENCES servers(id),
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	done_at		INTEGER
) STRICT;
CREATE INDEX jobs_state ON jobs(state, next_attempt_at);

-- Mail actually handed to the SMTP server, one row per job: the proof
-- that a retried job does not send twice.
CREATE TABLE mail_log (
	id		INTEGER PRIMARY KEY,
	job_id		INTEGER NOT NULL UNIQUE REFERENCES jobs(id),
	rcpt		TEXT NOT NULL,
	subject		TEXT NOT NULL,
	message_id	TEXT NOT NULL UNIQUE,
	sent_at		INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
