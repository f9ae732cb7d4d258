-- 008_catalog_version.sql: a version number for what the cached pages show.
-- (Numbered 008: 005 went to mail_throttle, and the spool and data layer
-- branches hold 006 and 007.)
--
-- The per-worker page cache (src/cache.c) keeps anonymous catalog pages
-- until this number moves.  It moves only when a table those pages read
-- changes, so session touches, sign-ins, job and traffic updates (which
-- commit many times a second on a busy shop) leave the cache warm; keying
-- the cache on PRAGMA data_version emptied it on every commit.
--
-- The cached pages (page_home.c, page_catalog.c, the layout in ui.c) read
-- plans, servers, server_categories and server_brands.  settings is
-- included too: the layout is where shop-wide settings will show, and a
-- staff edit to one is rare.  A page that starts to read another table,
-- or another servers column, adds its triggers here in a new migration.
--
-- A rebuild of one of these tables (sql/README.md) drops its triggers
-- with it: re-create them in the same file.

CREATE TABLE catalog_version (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	version		INTEGER NOT NULL
) STRICT;
INSERT INTO catalog_version (id, version) VALUES (1, 1);

CREATE TRIGGER plans_catalog_insert AFTER INSERT ON plans
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER plans_catalog_update AFTER UPDATE ON plans
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER plans_catalog_delete AFTER DELETE ON plans
BEGIN UPDATE catalog_version SET version = version + 1; END;

-- Servers: only the columns a page shows or filters on.  Health checks
-- write health and last_checked_at every few minutes per panel, and the
-- pages show neither.
CREATE TRIGGER servers_catalog_insert AFTER INSERT ON servers
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER servers_catalog_update AFTER UPDATE ON servers
WHEN OLD.country_code IS NOT NEW.country_code OR OLD.country IS NOT NEW.country
    OR OLD.city IS NOT NEW.city OR OLD.state IS NOT NEW.state
    OR OLD.category_id IS NOT NEW.category_id OR OLD.brand_id IS NOT NEW.brand_id
    OR OLD.id IS NOT NEW.id
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER servers_catalog_delete AFTER DELETE ON servers
BEGIN UPDATE catalog_version SET version = version + 1; END;

CREATE TRIGGER server_categories_catalog_insert AFTER INSERT ON server_categories
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER server_categories_catalog_update AFTER UPDATE ON server_categories
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER server_categories_catalog_delete AFTER DELETE ON server_categories
BEGIN UPDATE catalog_version SET version = version + 1; END;

CREATE TRIGGER server_brands_catalog_insert AFTER INSERT ON server_brands
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER server_brands_catalog_update AFTER UPDATE ON server_brands
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER server_brands_catalog_delete AFTER DELETE ON server_brands
BEGIN UPDATE catalog_version SET version = version + 1; END;

CREATE TRIGGER settings_catalog_insert AFTER INSERT ON settings
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER settings_catalog_update AFTER UPDATE ON settings
BEGIN UPDATE catalog_version SET version = version + 1; END;
CREATE TRIGGER settings_catalog_delete AFTER DELETE ON settings
BEGIN UPDATE catalog_version SET version = version + 1; END;
