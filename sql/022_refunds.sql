-- 022_refunds.sql: who may refund a payment (issue 13).
--
-- refunds.issue (shipped in 002, held by super_admin only) is what the
-- refund form on a staff order page and /admin/payments need: granted
-- here to every role that may change orders (orders.write), as the
-- manager could already refund a wallet-paid order with wallet.adjust.
-- Seeing payments needs orders.read ("See orders and payments"): no new
-- permission.
INSERT OR IGNORE INTO role_permissions (role_id, permission_id)
	SELECT rp.role_id, p.id FROM role_permissions rp
	JOIN permissions w ON w.id = rp.permission_id AND w.name = 'orders.write'
	JOIN permissions p ON p.name = 'refunds.issue';
