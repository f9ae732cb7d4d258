-- The staff's CSV exports (admin_export.c) read orders and the wallet
-- ledger by a created_at range, oldest first (ORDER BY created_at, id):
-- with these indexes that is an index range walk in order, with no
-- full scan and no sort, so an export's cost follows its range and a
-- worker's memory does not grow with it.  The rowid in each index entry
-- gives the id tie-break.
CREATE INDEX orders_created ON orders(created_at);
CREATE INDEX wallet_transactions_created ON wallet_transactions(created_at);
