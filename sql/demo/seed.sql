-- seed.sql: the demo catalog loaded by `1000proxy seed --demo`.
-- Three servers (panels) in three countries, an inbound per protocol on
-- each, and a dozen plans across VLESS, VMess, Trojan and Shadowsocks.
-- Prices are integer cents.

INSERT INTO server_categories (id, slug, name, description, sort) VALUES
	(1, 'streaming', 'Streaming', 'Low-latency routes tuned for video', 1),
	(2, 'gaming', 'Gaming', 'Short paths and stable ping', 2),
	(3, 'privacy', 'Privacy', 'No-logs servers in privacy-friendly countries', 3);

INSERT INTO server_brands (id, slug, name, sort) VALUES
	(1, 'swift', 'Swift', 1),
	(2, 'atlas', 'Atlas', 2);

INSERT INTO servers (id, name, country_code, country, city, category_id, brand_id,
	panel_url, panel_user, public_host, state, health) VALUES
	(1, 'fra-1', 'DE', 'Germany', 'Frankfurt', 1, 1, 'http://127.0.0.1:2053/', 'admin', 'fra1.demo.invalid', 'active', 'up'),
	(2, 'ams-1', 'NL', 'Netherlands', 'Amsterdam', 3, 2, 'http://127.0.0.1:2053/', 'admin', 'ams1.demo.invalid', 'active', 'up'),
	(3, 'sgp-1', 'SG', 'Singapore', 'Singapore', 2, 1, 'http://127.0.0.1:2053/', 'admin', 'sgp1.demo.invalid', 'active', 'up');

INSERT INTO server_inbounds (id, server_id, panel_inbound_id, remark, protocol, port, network, security) VALUES
	(1, 1, 1, 'fra-vless', 'vless', 443, 'tcp', 'reality'),
	(2, 1, 2, 'fra-vmess', 'vmess', 8443, 'ws', 'tls'),
	(3, 1, 3, 'fra-trojan', 'trojan', 2083, 'tcp', 'tls'),
	(4, 1, 4, 'fra-ss', 'shadowsocks', 8388, 'tcp', 'none'),
	(5, 2, 1, 'ams-vless', 'vless', 443, 'tcp', 'reality'),
	(6, 2, 2, 'ams-vmess', 'vmess', 8443, 'ws', 'tls'),
	(7, 2, 3, 'ams-trojan', 'trojan', 2083, 'tcp', 'tls'),
	(8, 2, 4, 'ams-ss', 'shadowsocks', 8388, 'tcp', 'none'),
	(9, 3, 1, 'sgp-vless', 'vless', 443, 'tcp', 'reality'),
	(10, 3, 2, 'sgp-vmess', 'vmess', 8443, 'ws', 'tls'),
	(11, 3, 3, 'sgp-trojan', 'trojan', 2083, 'tcp', 'tls'),
	(12, 3, 4, 'sgp-ss', 'shadowsocks', 8388, 'tcp', 'none');

-- traffic_bytes: 0 means unlimited.  1 GiB = 1073741824.
INSERT INTO plans (slug, name, description, protocol, server_id, inbound_id, category_id, brand_id,
	price_minor, currency, duration_days, traffic_bytes, device_limit, featured, sort) VALUES
	('fra-vless-starter', 'Frankfurt VLESS Starter', 'VLESS with Reality on a 10 Gbit/s port in Frankfurt. Ideal for everyday browsing and HD streaming.', 'vless', 1, 1, 1, 1, 499, 'USD', 30, 53687091200, 1, 1, 1),
	('fra-vless-pro', 'Frankfurt VLESS Pro', 'More traffic and three devices on the same Reality inbound.', 'vless', 1, 1, 1, 1, 999, 'USD', 30, 214748364800, 3, 0, 2),
	('fra-vmess-ws', 'Frankfurt VMess WebSocket', 'VMess over WebSocket and TLS: passes through strict networks and CDNs.', 'vmess', 1, 2, 1, 1, 599, 'USD', 30, 107374182400, 2, 0, 3),
	('fra-trojan-unlimited', 'Frankfurt Trojan Unlimited', 'Trojan over TLS with unmetered traffic for heavy users.', 'trojan', 1, 3, 1, 1, 1499, 'USD', 30, 0, 2, 1, 4),
	('ams-vless-privacy', 'Amsterdam VLESS Privacy', 'No-logs VLESS Reality endpoint in the Netherlands.', 'vless', 2, 5, 3, 2, 549, 'USD', 30, 107374182400, 2, 1, 1),
	('ams-shadowsocks-lite', 'Amsterdam Shadowsocks Lite', 'A light Shadowsocks 2022 plan for one device.', 'shadowsocks', 2, 8, 3, 2, 299, 'USD', 30, 32212254720, 1, 0, 2),
	('ams-trojan-quarter', 'Amsterdam Trojan Quarterly', 'Three months of Trojan over TLS at a better price.', 'trojan', 2, 7, 3, 2, 1999, 'USD', 90, 536870912000, 3, 0, 3),
	('ams-vmess-family', 'Amsterdam VMess Family', 'Five devices on one VMess WebSocket subscription.', 'vmess', 2, 6, 3, 2, 1299, 'USD', 30, 322122547200, 5, 0, 4),
	('sgp-vless-gaming', 'Singapore VLESS Gaming', 'Low-latency VLESS for players in South-East Asia.', 'vless', 3, 9, 2, 1, 799, 'USD', 30, 107374182400, 2, 1, 1),
	('sgp-shadowsocks-yearly', 'Singapore Shadowsocks Yearly', 'A full year of Shadowsocks with generous traffic.', 'shadowsocks', 3, 12, 2, 1, 3999, 'USD', 365, 1099511627776, 2, 0, 2),
	('sgp-trojan-week', 'Singapore Trojan Week Pass', 'Seven days of Trojan for travellers.', 'trojan', 3, 11, 2, 1, 199, 'USD', 7, 21474836480, 1, 1, 3),
	('sgp-vmess-unlimited', 'Singapore VMess Unlimited', 'Unmetered VMess over WebSocket and TLS.', 'vmess', 3, 10, 2, 1, 1799, 'USD', 30, 0, 3, 1, 4);

INSERT INTO settings (key, value) VALUES ('shop.demo', '1') ON CONFLICT DO NOTHING;
