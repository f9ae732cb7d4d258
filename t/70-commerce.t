#!/usr/bin/env python3
"""The money model at the domain level (issue 11): wallet.c, order.c,
invoice.c and migration 009, driven through `1000proxy test-commerce`
(src/cmd_test_commerce.c), one process per unit of work as pages and
jobs will run them.

- 64 concurrent debits of 1 on a wallet funded with 40: exactly 40
  debits, balance 0, the ledger's sum equal to the cached balance, 24
  clear refusals; a retried credit writes one row.
- Orders move forward only; an illegal move is refused whole; public ids
  are not guessable; a reused checkout key makes one order.
- Invoice numbers are gapless per year under concurrent issuing, with a
  rolled-back issue in between, and start again at 000001 when the test
  clock crosses into the next year; the seller's and customer's details
  are copied in at issue; a top-up's receipt takes the next number.
- Migration 009 over a version-8 database keeps every row."""
import calendar
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP  # noqa: E402

t = TAP()
tmp = tempfile.mkdtemp(prefix="px-commerce-")
clock = os.path.join(tmp, "clock")


def conf_for(name, sql_dir):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    vals = {"database": os.path.join(d, "px.db"), "sql_dir": sql_dir,
            "views_dir": os.path.join(SRC, "views"), "spool_dir": os.path.join(d, "spool"),
            "key_file": os.path.join(d, "secret.key"), "pid_file": os.path.join(d, "pool.pid"),
            "listen": "unix:" + os.path.join(d, "fcgi.sock"), "log_file": os.path.join(d, "log"),
            "workers": "1", "test_routes": "yes", "test_clock_file": clock}
    path = os.path.join(d, "px.conf")
    with open(path, "w") as f:
        f.write("".join('%s = "%s"\n' % kv for kv in vals.items()))
    return path, vals["database"]


def px(conf, *args):
    return subprocess.run([BIN, "-c", conf] + [str(a) for a in args], capture_output=True, text=True, timeout=120)


def tc(*args):
    return px(conf, "test-commerce", *args)


def race(argvs):
    """Start every command, let them through a gate at once, and return
    their (status, stdout, stderr)."""
    gate = os.path.join(tmp, "gate-%d" % len(os.listdir(tmp)))
    procs = [subprocess.Popen([BIN, "-c", conf, "test-commerce"] + [str(a) for a in argv] + [gate],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for argv in argvs]
    time.sleep(0.3)
    open(gate, "w").close()
    out = []
    for p in procs:
        o, e = p.communicate(timeout=120)
        out.append((p.returncode, o.strip(), e.strip()))
    return out


def q(sql, *args):
    c = sqlite3.connect(db, isolation_level=None)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def set_clock(unix):
    """The test clock so that now is `unix` (whole seconds)."""
    with open(clock + ".tmp", "w") as f:
        f.write("%d\n" % (unix - int(time.time())))
    os.replace(clock + ".tmp", clock)


conf, db = conf_for("shop", os.path.join(SRC, "sql"))
p = px(conf, "migrate")
t.ok(p.returncode == 0, "migrate makes a version-9 database", p.stderr)
LATEST = max(int(os.path.basename(f)[:3]) for f in glob.glob(os.path.join(SRC, "sql", "[0-9]*.sql")))
t.is_(q("SELECT max(version) FROM schema_migrations"), [(LATEST,)], "schema version %d (the highest migration)" % LATEST)
c = sqlite3.connect(db, isolation_level=None)
for i in (1, 2, 3):
    c.execute("INSERT INTO customers (id, email, name, password_hash) VALUES (?, ?, ?, 'x')",
              (i, "c%d@example.com" % i, "Customer %d" % i))
c.execute("UPDATE customers SET billing_name = 'Buyer Two Ltd', billing_address = '2 Road', tax_id = 'DE2' "
          "WHERE id = 2")
c.executemany("INSERT INTO settings (key, value) VALUES (?, ?)",
              [("seller.name", "Proxy Seller GmbH"), ("seller.address", "1 Street, Berlin"),
               ("seller.tax_id", "DE123")])
c.close()

p = px(conf, "test-commerce", "balance", "1")
t.ok(p.returncode == 0 and p.stdout.split() == ["0", "0"], "a customer's wallet starts at 0", p.stdout + p.stderr)
noconf, _ = conf_for("notest", os.path.join(SRC, "sql"))
with open(noconf, "a") as f:
    f.write('test_routes = "no"\ndatabase = "%s"\n' % db)
p = px(noconf, "test-commerce", "wallet", 1, 40, "topup", "fund-1")
t.ok(p.returncode == 2 and "test_routes" in p.stderr, "test-commerce is refused without test_routes", p.stderr)

# -- the wallet --
p = tc("wallet", 1, 40, "topup", "fund-1")
t.is_((p.returncode, p.stdout.strip()), (0, "ok 40"), "a credit of 40 to customer 1")
p = tc("wallet", 1, 40, "topup", "fund-1")
t.is_((p.returncode, p.stdout.strip()), (0, "replay 40"), "the same credit retried (same key) is a replay")
t.is_(q("SELECT count(*), sum(amount_minor) FROM wallet_transactions"), [(1, 40)], "and wrote one ledger row")
p = tc("wallet", 1, 41, "topup", "fund-1")
t.ok(p.returncode == 3 and p.stdout.strip() == "conflict 40" and "recorded before" in p.stderr,
     "the key reused for another amount is a conflict, answered (not a crash)", p.stdout + p.stderr)
p = tc("wallet", 1, 40, "adjustment", "fund-1")
t.ok(p.returncode == 3 and p.stdout.strip() == "conflict 40", "and so is the key reused for another kind",
     p.stdout + p.stderr)
p = tc("wallet", 1, -41, "purchase", "too-much")
t.ok(p.returncode == 3 and p.stdout.strip() == "insufficient 40" and "not enough" in p.stderr,
     "a debit beyond the balance is refused with a clear message, not a constraint error", p.stdout + p.stderr)
p = tc("wallet", 1, 0, "adjustment", "zero")
t.ok(p.returncode == 1 and "out of range" in p.stderr, "an amount of 0 is a hard error", p.stderr)
t.is_(q("SELECT count(*), sum(amount_minor) FROM wallet_transactions"), [(1, 40)], "none of those wrote anything")

res = race([("wallet", 1, -1, "purchase", "debit-%d" % k) for k in range(64)])
oks = [r for r in res if r[0] == 0 and r[1].startswith("ok ")]
refused = [r for r in res if r[0] == 3 and r[1] == "insufficient 0" and "not enough" in r[2]]
t.ok(len(oks) == 40 and len(refused) == 24,
     "64 concurrent debits of 1 on a wallet of 40: 40 debited, 24 refused clearly (%d, %d)" % (len(oks), len(refused)),
     "\n".join(repr(r) for r in res if r not in oks and r not in refused))
t.is_(sorted(int(r[1].split()[1]) for r in oks), list(range(40)),
      "each debit saw its own balance after (0..39): they ran one after another")
p = tc("balance", 1)
t.is_(p.stdout.split(), ["0", "0"], "balance 0, and the ledger's sum equals it")
t.is_(q("SELECT count(*) FROM wallet_transactions WHERE kind = 'purchase'"), [(40,)], "exactly 40 debit rows")
p = px(conf, "check")
t.ok(p.returncode == 0 and "ok wallet balances equal their ledgers" in p.stdout, "`1000proxy check` agrees",
     p.stdout + p.stderr)
try:
    q("UPDATE wallet_transactions SET amount_minor = 1000 WHERE id = 1")
    t.ok(False, "the ledger stays append-only after 009's rebuild")
except sqlite3.DatabaseError as e:
    t.ok("append-only" in str(e), "the ledger stays append-only after 009's rebuild")
p = tc("wallet", 2, 15, "commission", "commission-1")
t.is_((p.returncode, p.stdout.strip()), (0, "ok 15"), "the ledger takes the new 'commission' kind")

# -- orders --
p = tc("order-new", 2, 1000, 100, 50)
m = re.fullmatch(r"(\d+) (o[a-z2-7]{20})", p.stdout.strip())
t.ok(p.returncode == 0 and m, "an order is made, with a public id of 100 random bits", p.stdout + p.stderr)
oid = int(m.group(1)) if m else 0
p2 = tc("order-new", 2, 1000, 0, 0)
t.ok(p2.returncode == 0 and p2.stdout.split()[1] != (m.group(2) if m else ""), "a second order gets another id")
t.is_(q("SELECT state, subtotal_minor, discount_minor, tax_minor, total_minor FROM orders WHERE id = ?", oid),
      [("pending", 1000, 100, 50, 950)], "subtotal - discount + tax = total")
try:
    q("INSERT INTO orders (public_id, customer_id, subtotal_minor, discount_minor, tax_minor, total_minor, currency) "
      "VALUES ('x', 2, 1000, 100, 50, 900, 'USD')")
    t.ok(False, "the schema refuses totals that do not add up")
except sqlite3.IntegrityError:
    t.ok(True, "the schema refuses totals that do not add up")
a = tc("order-new", 3, 500, 0, 0, "checkout-token-1")
b = tc("order-new", 3, 500, 0, 0, "checkout-token-1")
t.ok(a.returncode == 0 and b.stdout.strip() == a.stdout.strip() + " replay",
     "a checkout key submitted twice makes one order", a.stdout + b.stdout + b.stderr)
b = tc("order-new", 2, 500, 0, 0, "checkout-token-1")
t.ok(b.returncode == 1 and "reused" in b.stderr, "another customer's key is a hard error", b.stderr)

events_before = q("SELECT count(*) FROM order_events")
for frm, to in (("pending", "paid"), ("paid", "provisioning"), ("provisioning", "active")):
    p = tc("order-move", oid, to, "step " + to)
    t.is_((p.returncode, p.stdout.strip()), (0, "%s %s" % (frm, to)), "%s -> %s" % (frm, to))
for to in ("paid", "pending", "provisioning", "cancelled", "failed", "active"):
    p = tc("order-move", oid, to)
    t.ok(p.returncode == 1 and "may not move from active to %s" % to in p.stderr,
         "active -> %s is refused" % to, p.stdout + p.stderr)
t.is_(q("SELECT state FROM orders WHERE id = ?", oid), [("active",)], "the refused moves left the state")
t.is_(q("SELECT kind, actor, note FROM order_events WHERE order_id = ? ORDER BY id", oid),
      [("created", "cli", ""), ("paid", "cli", "step paid"), ("provisioning", "cli", "step provisioning"),
       ("active", "cli", "step active")], "the timeline: one event per state entered, with actor and note")
t.ok(q("SELECT paid_at IS NOT NULL FROM orders WHERE id = ?", oid) == [(1,)], "paid stamps paid_at")
oid2 = int(p2.stdout.split()[0])
p = tc("order-move", oid2, "active")
t.ok(p.returncode == 1 and "may not move from pending to active" in p.stderr, "pending -> active is refused")
p = tc("order-move", oid2, "cancelled")
t.ok(p.returncode == 0, "pending -> cancelled")
for to in ("paid", "refunded", "pending"):
    p = tc("order-move", oid2, to)
    t.ok(p.returncode == 1 and "may not move from cancelled" in p.stderr, "cancelled -> %s is refused" % to)
p = tc("order-move", 99999, "paid")
t.ok(p.returncode == 1 and "no order 99999" in p.stderr, "a missing order is a hard error")
t.is_(q("SELECT count(*) FROM order_events")[0][0] - events_before[0][0], 4,
      "only the allowed moves wrote events (3 + cancelled)")
try:
    q("DELETE FROM order_events WHERE order_id = ?", oid)
    t.ok(False, "order_events is append-only")
except sqlite3.DatabaseError as e:
    t.ok("append-only" in str(e), "order_events is append-only")

# -- invoices --
year = time.gmtime(time.time() + 86400 * 60).tm_year       # a year ahead of now, in any month
set_clock(calendar.timegm((year, 12, 31, 23, 58, 0)))
orders = [int(tc("order-new", 2, 1000, 0, 100).stdout.split()[0]) for _ in range(14)]
p = tc("invoice", orders[0])
t.is_((p.returncode, p.stdout.strip()), (0, "%d-000001" % year), "the year's first invoice is %d-000001" % year)
t.is_(q("SELECT seller_name, seller_address, seller_tax_id, customer_name, customer_address, customer_tax_id, "
        "subtotal_minor, discount_minor, tax_minor, total_minor, state FROM invoices WHERE order_id = ?", orders[0]),
      [("Proxy Seller GmbH", "1 Street, Berlin", "DE123", "Buyer Two Ltd", "2 Road", "DE2", 1000, 0, 100, 1100,
        "open")], "the seller's and customer's details and the lines are copied in")
p = tc("invoice", orders[1], "rollback")
t.is_(p.stdout.strip(), "%d-000002 rolled-back" % year, "an issue that rolls back ...")
t.is_(q("SELECT count(*) FROM invoices"), [(1,)], "... leaves no invoice")
res = race([("invoice", o, "commit") for o in orders[1:11]])
nums = sorted(r[1] for r in res if r[0] == 0)
t.is_(nums, ["%d-%06d" % (year, k) for k in range(2, 12)],
      "10 concurrent issues take 000002 to 000011: the rolled-back number came back, no gap")
p = tc("invoice", orders[0])
t.is_(p.stdout.strip(), "%d-000001" % year, "an order's invoice issued again is the same one")
c = sqlite3.connect(db, isolation_level=None)
pay = [c.execute("INSERT INTO payments (customer_id, gateway, purpose, amount_minor, currency, state, "
                 "idempotency_key) VALUES (1, 'stripe', ?, 2500, 'USD', ?, ?)", (purpose, state, "pay-%s" % state)
                 ).lastrowid for purpose, state in (("topup", "succeeded"), ("topup", "pending"))]
c.close()
p = tc("receipt", pay[0])
t.is_((p.returncode, p.stdout.strip()), (0, "%d-000012" % year), "a top-up's receipt takes the next number")
t.is_(q("SELECT customer_name, subtotal_minor, tax_minor, total_minor, state FROM invoices WHERE payment_id = ?",
        pay[0]), [("Customer 1", 2500, 0, 2500, "paid")], "with the customer's details and the amount")
p = tc("receipt", pay[1])
t.ok(p.returncode == 1 and "no succeeded top-up payment" in p.stderr,
     "a payment that has not succeeded gets no receipt", p.stderr)
c = sqlite3.connect(db, isolation_level=None)
c.execute("UPDATE settings SET value = 'New Name AG' WHERE key = 'seller.name'")
c.close()
t.is_(q("SELECT DISTINCT seller_name FROM invoices"), [("Proxy Seller GmbH",)],
      "a later settings change does not rewrite issued invoices")
t.is_(q("SELECT year, last FROM invoice_counters"), [(year, 12)], "the counter row says 12: the refused receipt took none")
set_clock(calendar.timegm((year + 1, 1, 1, 0, 1, 0)))
p = tc("invoice", orders[11])
t.is_(p.stdout.strip(), "%d-000001" % (year + 1), "across the year boundary (test clock) numbering starts again")
p = tc("invoice", orders[12])
t.is_(p.stdout.strip(), "%d-000002" % (year + 1), "and goes on")
t.is_(q("SELECT seller_name FROM invoices WHERE order_id = ?", orders[12]), [("New Name AG",)],
      "a new invoice copies the details as they are now")
os.unlink(clock)

# -- 009 over a version-8 database keeps every row --
v8 = os.path.join(tmp, "sql-v8")
os.makedirs(v8)
for f in glob.glob(os.path.join(SRC, "sql", "[0-9]*.sql")):
    if int(os.path.basename(f)[:3]) <= 8:
        shutil.copy(f, v8)
oconf, odb = conf_for("old", v8)
p = px(oconf, "migrate")
c = sqlite3.connect(odb, isolation_level=None)
t.is_(c.execute("SELECT max(version) FROM schema_migrations").fetchone(), (8,), "a version-8 database")
c.execute("PRAGMA foreign_keys = ON")
c.execute("BEGIN")
c.execute("INSERT INTO customers (id, email, password_hash) VALUES (1, 'a@example.com', 'x')")
c.execute("INSERT INTO sessions (id, token_hash, kind, customer_id, csrf_token, expires_at) "
          "VALUES (1, x'01', 'customer', 1, 'c', 2000000000)")
c.execute("INSERT INTO servers (id, name, country_code, country, panel_url, public_host) "
          "VALUES (1, 's', 'DE', 'Germany', 'http://127.0.0.1:1', 'h')")
c.execute("INSERT INTO plans (id, slug, name, protocol, server_id, price_minor, duration_days) "
          "VALUES (7, 'p', 'P', 'vless', 1, 499, 30)")
c.execute("INSERT INTO carts (id, customer_id, session_id) VALUES (3, 1, 1)")
c.execute("INSERT INTO carts (id, session_id) VALUES (4, 1)")
c.execute("INSERT INTO cart_items (id, cart_id, plan_id, quantity) VALUES (5, 3, 7, 2), (6, 4, 7, 1)")
c.execute("INSERT INTO wallets (id, customer_id, balance_minor) VALUES (2, 1, 500)")
c.execute("INSERT INTO orders (id, public_id, customer_id, state, subtotal_minor, discount_minor, total_minor, "
          "currency, idempotency_key) VALUES (9, 'old-9', 1, 'paid', 998, 98, 900, 'USD', 'k9')")
c.execute("INSERT INTO order_items (id, order_id, plan_id, quantity, unit_price_minor, currency) "
          "VALUES (11, 9, 7, 2, 499, 'USD')")
c.execute("INSERT INTO invoices (id, number, order_id, customer_id, amount_minor, currency, state) "
          "VALUES (12, 'INV-1', 9, 1, 900, 'USD', 'paid')")
c.execute("INSERT INTO wallet_transactions (id, wallet_id, amount_minor, kind, idempotency_key) "
          "VALUES (13, 2, 1400, 'topup', 't'), (14, 2, -900, 'purchase', 'b')")
c.execute("COMMIT")
c.close()
shutil.rmtree(v8)
shutil.copytree(os.path.join(SRC, "sql"), v8, ignore=shutil.ignore_patterns("demo", "README.md"))
p = px(oconf, "migrate")
t.ok(p.returncode == 0, "migrate applies 009 over it", p.stdout + p.stderr)
c = sqlite3.connect(odb, isolation_level=None)
x = lambda s: c.execute(s).fetchall()  # noqa: E731
t.is_(x("SELECT id, public_id, state, subtotal_minor, discount_minor, tax_minor, total_minor, idempotency_key "
        "FROM orders"), [(9, "old-9", "paid", 998, 98, 0, 900, "k9")], "the order is kept, with a tax of 0")
t.is_(x("SELECT id, number, order_id, subtotal_minor, discount_minor, tax_minor, total_minor, state FROM invoices"),
      [(12, "INV-1", 9, 900, 0, 0, 900, "paid")], "the invoice is kept, its amount as subtotal and total")
t.is_(x("SELECT invoice_id, line_no, description, quantity, unit_price_minor, amount_minor FROM invoice_lines"),
      [(12, 1, "P", 2, 499, 998)], "012 gives the old invoice its line from the order's items")
t.is_(x("SELECT id, customer_id, token_hash IS NOT NULL FROM carts ORDER BY id"), [(3, 1, 0), (4, None, 1)],
      "carts are kept (one without a customer gets a token nobody holds)")
t.is_(x("SELECT id, cart_id, plan_id, quantity, unit_price_minor, currency FROM cart_items ORDER BY id"),
      [(5, 3, 7, 2, 499, "USD"), (6, 4, 7, 1, 499, "USD")], "cart items are kept, with the plan's price")
t.is_(x("SELECT id, wallet_id, amount_minor, kind FROM wallet_transactions ORDER BY id"),
      [(13, 2, 1400, "topup"), (14, 2, -900, "purchase")], "the ledger is kept")
t.is_(x("SELECT id, order_id FROM order_items"), [(11, 9)], "order items keep their order")
t.is_(x("PRAGMA foreign_key_check"), [], "foreign_key_check is clean")
t.is_(sorted(r[0] for r in x("SELECT name FROM sqlite_schema WHERE type IN ('index', 'trigger') AND tbl_name IN "
                             "('orders', 'wallet_transactions') AND sql IS NOT NULL")),
      ["orders_customer", "orders_state", "wallet_transactions_no_delete", "wallet_transactions_no_update",
       "wallet_transactions_wallet"], "the rebuilt tables have their indexes and triggers again")
c.close()
p = px(oconf, "check")
t.ok(p.returncode == 0, "`1000proxy check` passes on the migrated database", p.stdout + p.stderr)

print("# tmp " + tmp) if os.environ.get("PX_KEEP") else shutil.rmtree(tmp, ignore_errors=True)
t.done()
