-- 015_server_panel.sql: what the servers panel (admin_servers.c, `1000proxy
-- server`) and the panel client need on a server row that 001 left out.
--
-- tls_verify: check the panel's certificate (on by default; self-signed
-- panels are common, so staff may turn it off, and the list warns).
-- capacity: the most clients placed on this panel; NULL is unlimited.
-- panel_version, detected_generation: what `work` last detected (the
-- panel's version text, and g2 or g3 whatever api_generation forces);
-- re-detected after an upgrade of the panel.
-- last_error, last_error_at: the panel's last failure as the panel client
-- saw it, shown to staff.
-- updated_at: the last change made by staff or an operator.  ADD COLUMN
-- takes no unixepoch() default: writers set it.
--
-- None of these shows on a cached page, so servers_catalog_update (008)
-- stays as it is.
ALTER TABLE servers ADD COLUMN tls_verify INTEGER NOT NULL DEFAULT 1 CHECK (tls_verify IN (0, 1));
ALTER TABLE servers ADD COLUMN capacity INTEGER CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 1000000);
ALTER TABLE servers ADD COLUMN panel_version TEXT NOT NULL DEFAULT '';
ALTER TABLE servers ADD COLUMN detected_generation TEXT
    CHECK (detected_generation IS NULL OR detected_generation IN ('g2', 'g3'));
ALTER TABLE servers ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE servers ADD COLUMN last_error_at INTEGER;
ALTER TABLE servers ADD COLUMN updated_at INTEGER;
