#!/usr/bin/env python3
"""The cart, checkout with the wallet and the customer's orders (issue
11), through nginx over TLS, and the checkout transaction under real
concurrency through `1000proxy test-commerce checkout` (one process per
checkout, as the pages run it: src/checkout.c).

- An anonymous cart (its own cookie, stored hashed) is filled from the
  add form, shows its count in the header, bypasses the page cache, and
  merges into the customer's cart at sign-in; the add form's page is
  never cached (it carries a CSRF token).
- Checkout pays from the wallet in one transaction: the order (paid),
  N items of quantity 1, one provision job per item written with its
  order, the invoice, the ledger debit; a double submit and a replayed
  request make one order; a changed price is shown and asked again
  before any money moves; a short wallet writes nothing.
- /orders and /orders/{public_id} (timeline, invoice link); another
  customer's order is a 404.
- 64 concurrent checkouts on a wallet funded for 40: exactly 40 orders,
  balance 0, the ledger's sum equal to the balance, 24 clear refusals;
  a stock of 5 under 20 concurrent checkouts: 5 orders."""
import os
import re
import subprocess
import sys
import time
from urllib.parse import urlencode
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from pxweb import Client as WebClient  # noqa: E402
from px import BIN, TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=2, tls=True)
s.start()
sql = s.sql


def Client(ua):
    return WebClient(s, ua)


def loc(r):
    return r.header("location") or ""


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def tc(*args, gate=None):
    return subprocess.run([BIN, "-c", s.conf, "test-commerce"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


def fund(cid, amount, key):
    p = tc("wallet", cid, amount, "topup", key)
    t.ok(p.returncode == 0, "wallet of customer %d funded with %d" % (cid, amount), p.stderr)


def balance(cid):
    cached, ledger = tc("balance", cid).stdout.split()
    return int(cached), int(ledger)


def race(argvs):
    gate = os.path.join(s.dir, "gate-%d" % time.monotonic_ns())
    procs = [subprocess.Popen([BIN, "-c", s.conf, "test-commerce"] + [str(a) for a in argv] + [gate],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for argv in argvs]
    time.sleep(0.5)
    open(gate, "w").close()
    out = []
    for p in procs:
        o, e = p.communicate(timeout=180)
        out.append((p.returncode, o.strip(), e.strip()))
    return out


def register(c, addr, name, pw):
    r = c.post("/register", {"email": addr, "name": name, "password": pw, "terms": "1"})
    return r.status == 200


def cid_of(addr):
    return sql("SELECT id FROM customers WHERE email = ?", (addr,))[0][0]


plans = sql("SELECT id, slug, name, price_minor FROM plans WHERE active = 1 AND stock IS NULL "
            "ORDER BY id LIMIT 3")
(p1, slug1, name1, price1), (p2, slug2, name2, price2), (p3, slug3, name3, price3) = plans

# -- an anonymous cart --
anon = Client("px-test anon")
r = anon.get("/plans/" + slug1)
t.ok(r.status == 200 and 'action="/cart/add"' in r.text and 'name="csrf"' not in r.text,
     "the plan page's add form carries no CSRF token (it stays cacheable)")
a1, a2 = Client("px-test x"), Client("px-test y")
r1, r2 = a1.get("/cart/add?plan=%s&qty=2" % slug1), a2.get("/cart/add?plan=%s&qty=2" % slug1)
k1 = re.search(r'name="csrf" value="([0-9a-f]+)"', r1.text)
k2 = re.search(r'name="csrf" value="([0-9a-f]+)"', r2.text)
t.ok(r1.status == 200 and k1 and k2 and k1.group(1) != k2.group(1) and 'value="2"' in r1.text,
     "the add page carries each visitor's own CSRF token and the asked quantity")
r3 = a1.get("/cart/add?plan=%s&qty=2" % slug1)
# The cache's verdict is in the pool's access log (no header carries it):
# the same anonymous GET again is looked up and must miss, as it would
# not if the first, which handed out a token, had been stored.
v1, v3 = s.cache_verdict(r1), s.cache_verdict(r3)
t.ok(v1 == "miss" and v3 == "miss" and k1.group(1) in r3.text,
     "a page with a CSRF token is never served from the cache", (v1, v3))
html_ok(r1, "/cart/add")
t.is_(anon.get("/cart/add?plan=no-such-plan").status, 404, "adding an unknown plan: 404")

r = anon.post("/cart/add", {"plan": slug1, "qty": "2"}, page="/cart/add?plan=" + slug1)
t.ok(r.status == 303 and loc(r) == "/cart", "an anonymous visitor adds 2 of a plan", (r.status, loc(r)))
t.ok("__Host-px_cart" in anon.jar and len(anon.jar["__Host-px_cart"]) == 32, "the cart has its own cookie", anon.jar)
tok = anon.jar.get("__Host-px_cart", "")
t.is_(sql("SELECT count(*) FROM carts WHERE token_hash IS NOT NULL AND customer_id IS NULL")[0][0], 1,
      "one anonymous cart row")
t.ok(not sql("SELECT 1 FROM carts WHERE token_hash = ?", (tok.encode(),)), "the token is not stored in clear")
r = anon.get("/cart")
t.ok(r.status == 200 and name1 in r.text and "Cart (2)" in r.text, "the cart shows the line and the header its count")
html_ok(r, "/cart")
r = anon.post("/cart/add", {"plan": slug2}, page="/cart/add?plan=" + slug2)
t.is_(anon.get("/cart").text.count("Cart (3)"), 1, "a second plan: the count is 3")
r = anon.post("/cart/update", {"plan": slug2, "qty": "0"}, page="/cart")
t.ok(r.status == 400 and "from 1 to 100" in r.text, "a quantity of 0 is refused with the cart shown", r.status)
for bad in ("abc", "101", "-1", "1e3"):
    r = anon.post("/cart/add", {"plan": slug2, "qty": bad}, page="/cart")
    t.is_(r.status, 400, "a hostile quantity %r is a 400" % bad)
r = anon.post("/cart/remove", {"plan": slug2}, page="/cart")
t.ok(r.status == 303 and "Cart (2)" in anon.get("/cart").text, "remove drops the line")
for _ in range(8):     # two workers, a cache each: until one answers from its cache
    r0 = s.get("/plans", tls=True)
    if s.cache_verdict(r0) == "hit":
        break
r = s.get("/plans", headers={"Cookie": "__Host-px_cart=" + tok}, tls=True)
t.ok(s.cache_verdict(r0) == "hit" and s.cache_verdict(r) == "bypass" and "Cart (2)" in r.text,
     "a cart cookie bypasses the page cache (an anonymous /plans is a hit)", (s.cache_verdict(r0), s.cache_verdict(r)))
r = anon.raw_post("/cart/add", {"plan": slug2, "csrf": "0" * 64})
t.ok(r.status == 403 and "expired" in r.text and not sql("SELECT 1 FROM cart_items WHERE plan_id = ?", (p2,)),
     "a forged add writes nothing", r.status)

# -- sign-in merges it --
PW = "tangerine orbit lamp 41"
t.ok(register(anon, "alice@example.com", "Alice", PW), "the visitor registers")
alice = cid_of("alice@example.com")
r = anon.post("/login", {"email": "alice@example.com", "password": PW})
t.is_(r.status, 303, "and signs in")
t.ok("__Host-px_cart" not in anon.jar, "the cart cookie is dropped at sign-in", anon.jar)
t.is_(sql("SELECT ci.quantity FROM cart_items ci JOIN carts c ON c.id = ci.cart_id WHERE c.customer_id = ?",
          (alice,)), [(2,)], "the anonymous cart merged into the customer's")
t.is_(sql("SELECT count(*) FROM carts WHERE customer_id IS NULL")[0][0], 0, "and the anonymous row is gone")
r = anon.get("/cart")
t.ok(name1 in r.text and "Cart (2)" in r.text, "the signed-in cart shows the line")

# -- checkout: a short wallet writes nothing --
inv0 = sql("SELECT count(*) FROM invoices")[0][0]
r = anon.get("/checkout")
html_ok(r, "/checkout")
idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text)
t.ok(r.status == 200 and idem and "does not hold the total" in r.text, "checkout shows the pay form and the short wallet")
r = anon.post("/checkout", {"idem": idem.group(1)}, page="/checkout")
t.ok(r.status == 402 and "not enough" in r.text, "a short wallet: 402 with a clear message", r.status)
t.ok(sql("SELECT count(*) FROM orders")[0][0] == 0 and sql("SELECT count(*) FROM jobs WHERE kind = 'provision'")[0][0] == 0
     and sql("SELECT count(*) FROM invoices")[0][0] == inv0, "and nothing is written: no order, job or invoice")
t.is_(sql("SELECT coalesce(sum(stock), -1) FROM plans WHERE id = ?", (p1,))[0][0], -1, "stock untouched")

# -- checkout pays: order, 2 items, 2 jobs, invoice, debit --
fund(alice, 10 * price1, "fund-alice")
r = anon.get("/checkout")
idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text).group(1)
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text).group(1)
r = anon.raw_post("/checkout", {"csrf": csrf, "idem": idem})
m = re.match(r"/orders/([a-z2-7]{16,32})\?ok=paid$", loc(r))
t.ok(r.status == 303 and m, "checkout pays and lands on the order", (r.status, loc(r), r.text[:300]))
pub = m.group(1) if m else ""
row = sql("SELECT id, state, total_minor, payment_method, idempotency_key FROM orders WHERE public_id = ?", (pub,))
t.ok(row and row[0][1] == "paid" and row[0][2] == 2 * price1 and row[0][3] == "wallet" and row[0][4] == idem,
     "the order is paid, for 2 x the price, with its idempotency key", row)
oid = row[0][0] if row else 0
t.is_(sql("SELECT count(*), sum(quantity) FROM order_items WHERE order_id = ?", (oid,)), [(2, 2)],
      "a quantity of 2 became 2 items of quantity 1")
jobs = sql("SELECT j.payload, j.server_id FROM jobs j WHERE kind = 'provision'")
items = {i for (i,) in sql("SELECT id FROM order_items WHERE order_id = ?", (oid,))}
t.ok(len(jobs) == 2 and {int(re.search(r'"order_item":(\d+)', p).group(1)) for p, _ in jobs} == items
     and all('"order":%d' % oid in p for p, _ in jobs), "one provision job per item, written with its order", jobs)
t.is_(sql("SELECT count(*) FROM invoices WHERE order_id = ?", (oid,))[0][0], 1, "the invoice is issued")
t.is_(balance(alice), (8 * price1, 8 * price1), "the wallet is debited; the ledger sum equals the balance")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'order.paid'")[0][0], 1, "one audit row")
t.ok("Cart (0)" in anon.get("/cart").text, "the cart is empty after checkout")

# -- a double submit and a replayed request make one order --
r = anon.raw_post("/checkout", {"csrf": csrf, "idem": idem})
t.ok(r.status == 303 and loc(r) == "/orders/" + pub, "the same request again lands on the same order", loc(r))
anon.post("/cart/add", {"plan": slug1}, page="/cart/add?plan=" + slug1)
r = anon.raw_post("/checkout", {"csrf": csrf, "idem": idem})
t.ok(r.status == 303 and loc(r) == "/orders/" + pub, "back-and-resubmit with a filled cart: still that order", loc(r))
t.ok(sql("SELECT count(*) FROM orders")[0][0] == 1 and balance(alice)[0] == 8 * price1
     and sql("SELECT count(*) FROM jobs WHERE kind = 'provision'")[0][0] == 2,
     "one order, one debit, two jobs in all")
r = anon.raw_post("/checkout", {"csrf": csrf, "idem": "zz"})
t.is_(r.status, 400, "a malformed idempotency token is a 400")

# -- a changed price is shown and asked again before money moves --
sql("UPDATE plans SET price_minor = price_minor + 100 WHERE id = ?", (p1,))
r = anon.get("/checkout")
t.ok("now" in r.text and 'action="/cart/accept"' in r.text and 'action="/checkout"' not in r.text,
     "checkout shows the new price and asks to accept it instead of a pay button")
idem2 = "ab" * 16
r = anon.post("/checkout", {"idem": idem2}, page="/checkout")
t.ok(r.status == 409 and "changed" in r.text and sql("SELECT count(*) FROM orders")[0][0] == 1
     and balance(alice)[0] == 8 * price1, "paying the old price anyway: 409, nothing charged", r.status)
r = anon.post("/cart/accept", {}, page="/checkout")
t.ok(r.status == 303 and loc(r) == "/checkout", "the customer accepts the new price")
r = anon.get("/checkout")
idem3 = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text).group(1)
r = anon.post("/checkout", {"idem": idem3}, page="/checkout")
t.ok(r.status == 303 and balance(alice)[0] == 8 * price1 - (price1 + 100), "then pays the new price", r.status)
pub2 = loc(r).split("/")[-1].split("?")[0]

# -- orders pages and IDOR --
r = anon.get("/orders")
t.ok(r.status == 200 and pub in r.text and pub2 in r.text, "/orders lists both orders")
html_ok(r, "/orders")
r = anon.get("/orders/" + pub)
t.ok(r.status == 200 and "paid" in r.text and "created" in r.text and re.search(r'href="/invoices/\d{4}-\d{6}"', r.text),
     "the order page shows the timeline and links the invoice")
html_ok(r, "/orders/{public_id}")
bob = Client("px-test bob")
t.ok(register(bob, "bob@example.com", "Bob", "quiet harbor violin 77"), "a second customer registers")
bob.post("/login", {"email": "bob@example.com", "password": "quiet harbor violin 77"})
r = bob.get("/orders/" + pub)
t.is_(r.status, 404, "another customer's order is a 404")
t.ok(pub not in bob.get("/orders").text, "and not in their list")
t.is_(s.get("/orders/" + pub, tls=True).status, 303, "anonymous: sent to sign in")
r = bob.post("/checkout", {"idem": idem}, page="/checkout")
t.ok(r.status == 400 and sql("SELECT count(*) FROM orders")[0][0] == 2,
     "another customer's idempotency token makes no order", r.status)

# -- 64 concurrent checkouts on a wallet funded for 40 --
carol = cid_of("bob@example.com")
fund(carol, 40 * price3, "fund-carol")
res = race([("checkout", carol, p3, 1, "race-%d" % k) for k in range(64)])
ok = [x for x in res if x[0] == 0 and x[1].startswith("ok ")]
refused = [x for x in res if x[0] == 3 and x[1].startswith("insufficient") and "not enough" in x[2]]
t.ok(len(ok) == 40 and len(refused) == 24, "64 concurrent checkouts: 40 orders, 24 clear refusals",
     [x for x in res if x not in ok and x not in refused][:3])
t.is_(balance(carol), (0, 0), "balance 0, and the ledger's sum equals it")
t.is_(sql("SELECT count(*), sum(total_minor) FROM orders WHERE customer_id = ? AND state = 'paid'", (carol,)),
      [(40, 40 * price3)], "exactly 40 paid orders for the funded amount")
t.is_(sql("SELECT -sum(amount_minor) FROM wallet_transactions t JOIN wallets w ON w.id = t.wallet_id "
          "WHERE w.customer_id = ? AND kind = 'purchase'", (carol,))[0][0], 40 * price3, "the ledger is conserved")

# -- a stock of 5 under 20 concurrent checkouts --
sql("UPDATE plans SET stock = 5 WHERE id = ?", (p2,))
dave_c = Client("px-test dave")
register(dave_c, "dave@example.com", "Dave", "sunlit gravel piano 19")
dave = cid_of("dave@example.com")
fund(dave, 20 * price2, "fund-dave")
res = race([("checkout", dave, p2, 1, "stock-%d" % k) for k in range(20)])
t.ok(sum(1 for x in res if x[0] == 0) == 5 and sum(1 for x in res if x[1].startswith("sold-out")) == 15,
     "a stock of 5 under 20 checkouts: 5 orders, 15 sold out", res[:2])
t.is_(sql("SELECT stock FROM plans WHERE id = ?", (p2,))[0][0], 0, "stock 0, never below")
t.is_(balance(dave), (15 * price2, 15 * price2), "only the 5 orders were charged")

# -- tax and the shop's currency from the settings --
fund(dave, 10 * price3, "fund-dave-2")
before = balance(dave)[0]
sql("INSERT INTO settings (key, value) VALUES ('tax.rate_bp', '2000'), ('tax.inclusive', '0') "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
p = tc("checkout", dave, p3, 1, "tax-excl")
want_tax = (price3 * 2000 + 5000) // 10000
row = sql("SELECT subtotal_minor, tax_minor, total_minor, tax_rate_bp, prices_include_tax FROM orders "
          "WHERE idempotency_key = 'tax-excl'")
t.ok(p.returncode == 0 and row == [(price3, want_tax, price3 + want_tax, 2000, 0)]
     and balance(dave)[0] == before - price3 - want_tax,
     "20 % tax on net prices is added, kept on the order and paid", (p.stdout, p.stderr, row))
sql("UPDATE settings SET value = '1' WHERE key = 'tax.inclusive'")
before = balance(dave)[0]
p = tc("checkout", dave, p3, 1, "tax-incl")
row = sql("SELECT subtotal_minor, tax_minor, total_minor, prices_include_tax FROM orders "
          "WHERE idempotency_key = 'tax-incl'")
t.ok(p.returncode == 0 and row and row[0][2] == price3 and row[0][1] > 0 and row[0][0] + row[0][1] == price3
     and row[0][3] == 1 and balance(dave)[0] == before - price3,
     "with prices holding the tax the customer pays the price and the tax is taken out of it", row)
sql("INSERT INTO settings (key, value) VALUES ('shop.currency', 'EUR')")
p = tc("checkout", dave, p3, 1, "shop-eur")
t.ok(p.returncode == 3 and p.stdout.startswith("currency"), "a plan not in the shop's currency is not sold", p.stdout)
sql("DELETE FROM settings WHERE key IN ('tax.rate_bp', 'tax.inclusive', 'shop.currency')")

# -- a wallet in another currency is refused, never debited --
eve_c = Client("px-test eve")
register(eve_c, "eve@example.com", "Eve", "amber canyon whistle 53")
eve = cid_of("eve@example.com")
if sql("SELECT 1 FROM wallets WHERE customer_id = ?", (eve,)):
    sql("UPDATE wallets SET currency = 'EUR' WHERE customer_id = ?", (eve,))
else:
    sql("INSERT INTO wallets (customer_id, currency) VALUES (?, 'EUR')", (eve,))
p = tc("checkout", eve, p1, 1, "eve-1")
t.ok(p.returncode == 3 and p.stdout.startswith("currency") and
     not sql("SELECT 1 FROM orders WHERE customer_id = ?", (eve,)),
     "a wallet in another currency than the plan's: refused, nothing written", (p.stdout, p.stderr))

# -- every job row with its order, every invoice number in sequence --
bad = sql("SELECT j.id FROM jobs j WHERE j.kind = 'provision' AND NOT EXISTS (SELECT 1 FROM order_items i "
          "JOIN orders o ON o.id = i.order_id WHERE i.id = json_extract(j.payload, '$.order_item') "
          "AND o.id = json_extract(j.payload, '$.order') AND o.state = 'paid')")
t.ok(not bad and sql("SELECT count(*) FROM jobs WHERE kind = 'provision'")[0][0] ==
     sql("SELECT count(*) FROM order_items")[0][0], "every provision job names a paid order's item, one per item", bad)
nums = sorted(int(n.split("-")[1]) for (n,) in sql("SELECT number FROM invoices"))
t.is_(nums, list(range(1, len(nums) + 1)), "invoice numbers have no gap (refusals took none)")
# -- cron prune drops anonymous carts whose cookie has expired --
old_c, new_c = Client("px-test old"), Client("px-test new")
for c in (old_c, new_c):
    c.post("/cart/add", {"plan": slug1}, page="/cart/add?plan=" + slug1)
t.is_(sql("SELECT count(*) FROM carts WHERE customer_id IS NULL")[0][0], 2, "two anonymous carts")
sql("UPDATE carts SET created_at = created_at - 31 * 86400 WHERE id = (SELECT min(id) FROM carts "
    "WHERE customer_id IS NULL)")
p = subprocess.run([BIN, "-c", s.conf, "cron", "prune"], capture_output=True, text=True)
t.ok(p.returncode == 0 and "1 anonymous carts past their cookie removed" in p.stdout, "cron prune reports it", p.stdout)
t.ok(sql("SELECT count(*) FROM carts WHERE customer_id IS NULL")[0][0] == 1 and "Cart (1)" in new_c.get("/cart").text
     and "Cart (0)" in old_c.get("/cart").text, "the expired cart (and its lines) is gone, the fresh one stays")
t.ok(sql("SELECT count(*) FROM cart_items WHERE cart_id NOT IN (SELECT id FROM carts)")[0][0] == 0,
     "no orphan cart lines")
p = subprocess.run([BIN, "-c", s.conf, "check"], capture_output=True, text=True)
t.is_(p.returncode, 0, "1000proxy check passes (cached balances equal the ledger)")
s.check_sanitizers(t)
s.stop()
t.done()
