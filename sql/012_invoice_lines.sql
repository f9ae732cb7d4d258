-- 012_invoice_lines.sql: the lines of an invoice, copied when it is
-- issued (src/invoice.c), as the seller's and customer's details already
-- are (009): the printable invoice reads these rows, so renaming a plan
-- or changing its price later never rewrites an issued invoice.
--
-- One line per plan, price and kind (new or renewal) of the order's
-- items, in the order the items were made; a top-up's receipt has one
-- line.  Append-only like order_events: an invoice is corrected by a
-- new document, never by editing an old one.
CREATE TABLE invoice_lines (
	id		INTEGER PRIMARY KEY,
	invoice_id	INTEGER NOT NULL REFERENCES invoices(id),
	line_no		INTEGER NOT NULL CHECK (line_no >= 1),
	description	TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
	quantity	INTEGER NOT NULL CHECK (quantity >= 1),
	unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
	amount_minor	INTEGER NOT NULL CHECK (amount_minor = quantity * unit_price_minor),
	UNIQUE (invoice_id, line_no)
) STRICT;
CREATE TRIGGER invoice_lines_no_update BEFORE UPDATE ON invoice_lines
BEGIN SELECT RAISE(ABORT, 'invoice_lines is append-only'); END;
CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines
BEGIN SELECT RAISE(ABORT, 'invoice_lines is append-only'); END;

-- Invoices issued before this file have no lines: make them from their
-- order's items as they stand (the same grouping as
-- Q_INVOICE_LINES_SNAPSHOT in src/sql.c), and a receipt's one line.
INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit_price_minor, amount_minor)
    SELECT invoice_id, row_number() OVER (PARTITION BY invoice_id ORDER BY first), description, qty,
    unit, qty * unit FROM (
	SELECT i.id AS invoice_id, min(oi.id) AS first,
	    p.name || CASE WHEN oi.renewal_of IS NULL THEN '' ELSE ' (renewal)' END AS description,
	    sum(oi.quantity) AS qty, oi.unit_price_minor AS unit
	FROM invoices i JOIN order_items oi ON oi.order_id = i.order_id JOIN plans p ON p.id = oi.plan_id
	GROUP BY i.id, oi.plan_id, oi.unit_price_minor, oi.renewal_of IS NULL);
INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit_price_minor, amount_minor)
    SELECT id, 1, 'Wallet top-up', 1, total_minor, total_minor FROM invoices WHERE payment_id IS NOT NULL;

-- Before this file a wallet checkout issued its invoice before the order
-- was marked paid, so the invoice said 'open' for an order paid in the
-- same transaction.  Such invoices are paid, when their order was.
UPDATE invoices SET state = 'paid', paid_at = (SELECT o.paid_at FROM orders o WHERE o.id = invoices.order_id)
    WHERE state = 'open' AND order_id IN (SELECT id FROM orders WHERE paid_at IS NOT NULL);
