-- 032_panel_pin.sql: a 3X-UI panel's certificate pinned or its CA stored
-- (issue 16, paneltls16; ASVS V1.9.2, V9.2.1).
--
-- tls_pin: "sha256//BASE64", the SHA-256 of the panel certificate's
-- SubjectPublicKeyInfo as libcurl's CURLOPT_PINNEDPUBLICKEY takes it;
-- with a pin the chain and host name may go unchecked (a self-signed
-- certificate has no chain) but the key must match on every handshake.
-- tls_ca: a PEM CA (or the self-signed certificate itself) the panel's
-- chain is checked against instead of the system's CAs.
--
-- tls_verify keeps its column but no longer turns checks off: a row
-- with tls_verify = 0 (a panel whose verification staff had turned off)
-- now "needs a pin", and the panel client refuses it until tls_pin or
-- tls_ca is set (`1000proxy server pin ID`, which shows the panel's
-- current key for the operator to confirm, then `--set`).  No data
-- changes here: the meaning of 0 does.
ALTER TABLE servers ADD COLUMN tls_pin TEXT NOT NULL DEFAULT ''
    CHECK (tls_pin = '' OR (tls_pin LIKE 'sha256//%' AND length(tls_pin) = 52));
ALTER TABLE servers ADD COLUMN tls_ca TEXT NOT NULL DEFAULT ''
    CHECK (length(tls_ca) <= 65536);
