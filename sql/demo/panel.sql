-- panel.sql: the demo's live panel, loaded by `1000proxy seed --demo-panel
-- NAME` (seed_panel.c) after seed.sql, `server add` and `server sync`.
-- The C side sets the setting demo.panel_server to the live server's id
-- in the same transaction and checks that it synced an active inbound of
-- each protocol.  Idempotent: a second run changes nothing.
--
-- seed.sql's servers have no panel secret: they are display-only (the
-- tests' stacks and the catalog's look).  The live panel stands in one of
-- their cities (./quickstart demo puts it in Frankfurt): that city's
-- plans move onto it, each bound to the live inbound of its protocol.

-- The plans of the display-only servers in the live panel's city.
WITH live AS (SELECT s.id, s.country_code, s.city FROM servers s
	WHERE s.id = (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'demo.panel_server'))
UPDATE plans SET
	server_id = (SELECT id FROM live),
	country_code = (SELECT country_code FROM live),
	inbound_id = (SELECT i.id FROM server_inbounds i WHERE i.server_id = (SELECT id FROM live)
		AND i.active = 1 AND i.protocol = plans.protocol ORDER BY i.panel_inbound_id LIMIT 1),
	-- the live VLESS inbound is ws+TLS (v2ray 4.34 has no REALITY)
	description = replace(replace(description, 'with Reality', 'over WebSocket and TLS'),
		'same Reality inbound', 'same WebSocket and TLS inbound'),
	updated_at = unixepoch()
WHERE server_id IN (SELECT s.id FROM servers s, live
		WHERE s.panel_password_sealed IS NULL AND s.panel_token_sealed IS NULL
		AND s.country_code = live.country_code AND s.city = live.city)
	AND EXISTS (SELECT 1 FROM server_inbounds i WHERE i.server_id = (SELECT id FROM live)
		AND i.active = 1 AND i.protocol = plans.protocol);

-- The city had no Shadowsocks plan: one on the live AEAD inbound.
INSERT INTO plans (slug, name, description, protocol, server_id, inbound_id, category_id, brand_id,
	country_code, price_minor, currency, duration_days, traffic_bytes, device_limit, featured, sort)
SELECT 'live-shadowsocks', s.city || ' Shadowsocks',
	'Shadowsocks with an AEAD cipher: one password, no certificate, every client imports it.',
	'shadowsocks', s.id, i.id, s.category_id, s.brand_id, s.country_code, 349, 'USD', 30,
	53687091200, 1, 1, 5
FROM servers s JOIN server_inbounds i ON i.server_id = s.id AND i.active = 1 AND i.protocol = 'shadowsocks'
WHERE s.id = (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'demo.panel_server')
	AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.server_id = s.id AND p.protocol = 'shadowsocks')
ORDER BY i.panel_inbound_id LIMIT 1
ON CONFLICT (slug) DO NOTHING;

-- One featured plan per protocol on the live panel (the home page shows
-- what a newcomer can buy and use).
UPDATE plans SET featured = 1, updated_at = unixepoch()
WHERE featured = 0 AND active = 1
	AND server_id = (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'demo.panel_server')
	AND id IN (SELECT min(x.id) FROM plans x WHERE x.server_id = plans.server_id AND x.active = 1
		GROUP BY x.protocol)
	AND NOT EXISTS (SELECT 1 FROM plans q WHERE q.server_id = plans.server_id
		AND q.protocol = plans.protocol AND q.featured = 1);

-- Every other plan on a display-only server stays on show, sold out and
-- not featured: no panel would serve it, so nobody can buy it.
UPDATE plans SET stock = 0, featured = 0, updated_at = unixepoch()
WHERE server_id IN (SELECT s.id FROM servers s
		WHERE s.panel_password_sealed IS NULL AND s.panel_token_sealed IS NULL)
	AND (stock IS NULL OR stock > 0 OR featured = 1);

-- A display-only server left without plans leaves the locations list.
UPDATE servers SET state = 'disabled', updated_at = unixepoch()
WHERE panel_password_sealed IS NULL AND panel_token_sealed IS NULL AND state <> 'disabled'
	AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.server_id = servers.id);
