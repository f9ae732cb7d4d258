-- px:rebuild
-- 016_provisioning.sql: what provisioning on 3X-UI (issue 12) keeps.
--
-- plans (rebuild): a plan binds either to one inbound (inbound_id) or
-- to a location pool: any of server_id, category_id and country_code
-- that is set narrows the pool, and protocol picks the inbounds in it.
-- server_id becomes optional (NOT NULL cannot be dropped by ALTER).
-- country_code is the pool's country; for a plan bound to one server
-- it is copied from the server, so the catalog's country filter reads
-- one column whatever the binding.  traffic_reset: 'monthly' resets the
-- client's usage on the panel every 30 days from its start.
CREATE TABLE new_plans (
	id		INTEGER PRIMARY KEY,
	slug		TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND slug NOT GLOB '*[^a-z0-9-]*'),
	name		TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
	description	TEXT NOT NULL DEFAULT '',
	protocol	TEXT NOT NULL CHECK (protocol IN ('vless','vmess','trojan','shadowsocks')),
	server_id	INTEGER REFERENCES servers(id),
	inbound_id	INTEGER REFERENCES server_inbounds(id),
	category_id	INTEGER REFERENCES server_categories(id),
	brand_id	INTEGER REFERENCES server_brands(id),
	country_code	TEXT CHECK (country_code IS NULL OR length(country_code) = 2),
	price_minor	INTEGER NOT NULL CHECK (price_minor >= 0),
	currency	TEXT NOT NULL DEFAULT 'USD' CHECK (length(currency) = 3),
	duration_days	INTEGER NOT NULL CHECK (duration_days BETWEEN 1 AND 3660),
	traffic_bytes	INTEGER NOT NULL DEFAULT 0 CHECK (traffic_bytes >= 0),	-- 0: unlimited
	device_limit	INTEGER NOT NULL DEFAULT 1 CHECK (device_limit BETWEEN 0 AND 100),
	traffic_reset	TEXT NOT NULL DEFAULT 'never' CHECK (traffic_reset IN ('never','monthly')),
	featured	INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0,1)),
	active		INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
	stock		INTEGER,		-- NULL: unlimited
	sort		INTEGER NOT NULL DEFAULT 0,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	updated_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	-- A plan must say where its clients go.
	CHECK (inbound_id IS NOT NULL OR server_id IS NOT NULL OR category_id IS NOT NULL
	    OR country_code IS NOT NULL)
) STRICT;
INSERT INTO new_plans (id, slug, name, description, protocol, server_id, inbound_id, category_id,
    brand_id, country_code, price_minor, currency, duration_days, traffic_bytes, device_limit,
    featured, active, stock, sort, created_at, updated_at)
    SELECT p.id, p.slug, p.name, p.description, p.protocol, p.server_id, p.inbound_id, p.category_id,
    p.brand_id, (SELECT s.country_code FROM servers s WHERE s.id = p.server_id), p.price_minor,
    p.currency, p.duration_days, p.traffic_bytes, p.device_limit, p.featured, p.active, p.stock,
    p.sort, p.created_at, p.updated_at FROM plans p;
DROP TABLE plans;
ALTER TABLE new_plans RENAME TO plans;
CREATE INDEX plans_active_price ON plans(active, price_minor);
CREATE INDEX plans_active_traffic ON plans(active, traffic_bytes);
CREATE INDEX plans_category ON plans(category_id, active);
CREATE INDEX plans_brand ON plans(brand_id, active);
CREATE INDEX plans_server ON plans(server_id, active);
CREATE INDEX plans_protocol ON plans(protocol, active);
CREATE INDEX plans_featured ON plans(featured, active, sort);
CREATE INDEX plans_country ON plans(country_code, active);
CREATE INDEX plans_inbound ON plans(inbound_id) WHERE inbound_id IS NOT NULL;
CREATE TRIGGER plans_catalog_insert AFTER INSERT ON plans
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER plans_catalog_update AFTER UPDATE ON plans
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER plans_catalog_delete AFTER DELETE ON plans
BEGIN UPDATE catalog_version SET version = version + 1; END;

-- Order items by plan: what the plan's delete check and reports ask.
CREATE INDEX order_items_plan ON order_items(plan_id);
-- An item whose provisioning failed for good keeps the panel's reason
-- (staff see it; the customer sees "we are on it").
ALTER TABLE order_items ADD COLUMN last_error TEXT NOT NULL DEFAULT '';

-- provisioned_clients: what the panel read back and the sync keeps.
--  cred_gen       regenerate bumps it; the UUID/password is derived from
--                 (order item, cred_gen), so a retried job derives the same.
--  flow           vless flow as the panel holds it.
--  limit_ip       the client's limit of IPs as the panel holds it.
--  panel_enable   the enable state the panel last reported (1/0).
--  panel_json     the client object as the panel last returned it.
--  panel_up, panel_down
--                 the panel's counters at the last traffic sync: the
--                 baseline.  A counter below its baseline means the panel
--                 reset it (or restarted): the whole new value is new use.
--  quota_reminded_at  the 80%-of-quota mail went out (once per period).
--  suspended_reason   '', 'expired', 'quota' or 'staff'.
--  period_start   start of the current traffic period (monthly reset).
--  updated_at     last change by a job, cron or staff.
ALTER TABLE provisioned_clients ADD COLUMN cred_gen INTEGER NOT NULL DEFAULT 0 CHECK (cred_gen >= 0);
ALTER TABLE provisioned_clients ADD COLUMN flow TEXT NOT NULL DEFAULT '';
ALTER TABLE provisioned_clients ADD COLUMN limit_ip INTEGER NOT NULL DEFAULT 0 CHECK (limit_ip >= 0);
ALTER TABLE provisioned_clients ADD COLUMN panel_enable INTEGER CHECK (panel_enable IS NULL OR panel_enable IN (0, 1));
ALTER TABLE provisioned_clients ADD COLUMN panel_json TEXT NOT NULL DEFAULT '';
ALTER TABLE provisioned_clients ADD COLUMN panel_up INTEGER NOT NULL DEFAULT 0 CHECK (panel_up >= 0);
ALTER TABLE provisioned_clients ADD COLUMN panel_down INTEGER NOT NULL DEFAULT 0 CHECK (panel_down >= 0);
ALTER TABLE provisioned_clients ADD COLUMN quota_reminded_at INTEGER;
ALTER TABLE provisioned_clients ADD COLUMN suspended_reason TEXT NOT NULL DEFAULT ''
    CHECK (suspended_reason IN ('', 'expired', 'quota', 'staff'));
ALTER TABLE provisioned_clients ADD COLUMN period_start INTEGER;
ALTER TABLE provisioned_clients ADD COLUMN updated_at INTEGER;
-- Placement counts the clients per inbound and per panel.
CREATE INDEX provisioned_clients_inbound ON provisioned_clients(inbound_id, state);
CREATE INDEX provisioned_clients_server ON provisioned_clients(server_id, state);

-- Usage per client per day (UTC day number: unixepoch / 86400), added
-- to by traffic sync.
CREATE TABLE usage_daily (
	client_id	INTEGER NOT NULL REFERENCES provisioned_clients(id) ON DELETE CASCADE,
	day		INTEGER NOT NULL CHECK (day >= 0),
	up_bytes	INTEGER NOT NULL DEFAULT 0 CHECK (up_bytes >= 0),
	down_bytes	INTEGER NOT NULL DEFAULT 0 CHECK (down_bytes >= 0),
	PRIMARY KEY (client_id, day)
) STRICT, WITHOUT ROWID;

-- The customer's subscription URL /sub/{token}: a shop token, not the
-- panel's subId.  Only its hash is stored; gen counts regenerations (the
-- token is derived from the key file, the customer and gen, so it can be
-- shown again without being stored).
CREATE TABLE subscriptions (
	customer_id	INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
	gen		INTEGER NOT NULL DEFAULT 0 CHECK (gen >= 0),
	token_hash	BLOB NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL DEFAULT (unixepoch()),
	last_used_at	INTEGER
) STRICT;

-- Panel health for alerts: when it last answered, when its traffic was
-- last synced, and when staff were last mailed about it (cleared when it
-- recovers, so one outage mails once).
ALTER TABLE servers ADD COLUMN last_ok_at INTEGER;
ALTER TABLE servers ADD COLUMN traffic_synced_at INTEGER;
ALTER TABLE servers ADD COLUMN alert_down_at INTEGER;
ALTER TABLE servers ADD COLUMN alert_stale_at INTEGER;
