-- 002_roles.sql: staff roles and permissions as shipped.  Permissions
-- live in the database and are granted to roles; the route table names
-- the permission each staff route needs (src/routes.c).

INSERT INTO roles (id, name, label) VALUES
	(1, 'super_admin', 'Super admin'),
	(2, 'manager', 'Manager'),
	(3, 'support', 'Support'),
	(4, 'analyst', 'Analyst');

INSERT INTO permissions (id, name, label) VALUES
	(1, 'customers.read', 'See customers'),
	(2, 'customers.write', 'Change customers'),
	(3, 'orders.read', 'See orders and payments'),
	(4, 'orders.write', 'Change orders'),
	(5, 'plans.write', 'Change plans and the catalog'),
	(6, 'servers.write', 'Change servers and inbounds'),
	(7, 'tickets.read', 'See support tickets'),
	(8, 'tickets.write', 'Answer support tickets'),
	(9, 'reports.read', 'See reports and analytics'),
	(10, 'staff.manage', 'Invite, disable and change staff'),
	(11, 'audit.read', 'See the audit log'),
	(12, 'settings.write', 'Change shop settings'),
	(13, 'wallet.adjust', 'Credit or debit customer wallets'),
	(14, 'refunds.issue', 'Issue refunds'),
	(15, 'jobs.manage', 'See and retry failed jobs'),
	(16, 'security.manage', 'Lift login locks, reset 2FA');

-- super_admin: everything.
INSERT INTO role_permissions (role_id, permission_id) SELECT 1, id FROM permissions;
-- manager: customers, orders, plans, servers (and what running them needs).
INSERT INTO role_permissions (role_id, permission_id)
	SELECT 2, id FROM permissions WHERE name IN ('customers.read', 'customers.write',
	'orders.read', 'orders.write', 'plans.write', 'servers.write', 'reports.read',
	'jobs.manage', 'tickets.read');
-- support: tickets, and reading customers and their orders.
INSERT INTO role_permissions (role_id, permission_id)
	SELECT 3, id FROM permissions WHERE name IN ('tickets.read', 'tickets.write',
	'customers.read', 'orders.read');
-- analyst: reports, read-only.
INSERT INTO role_permissions (role_id, permission_id)
	SELECT 4, id FROM permissions WHERE name IN ('reports.read', 'customers.read', 'orders.read');
