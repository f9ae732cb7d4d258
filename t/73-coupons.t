#!/usr/bin/env python3
"""Coupons at checkout (issue 11, "Coupons"; src/coupon.c and the
checkout's transaction, src/checkout.c), driven through `1000proxy
test-commerce checkout ... coupon=CODE`, one process per checkout as the
page runs it.

- A coupon of 10 uses under 50 concurrent checkouts: exactly 10
  redemptions (counted under the write lock, written with the order);
  the other 40 are clear refusals that write nothing.
- Per-customer limit; not yet started and expired (the test clock);
  minimum order amount; first order only; deactivated; scope by plan and
  by category; a fixed amount never more than the lines.
- Percent rounding half up in integer minor units; the order keeps
  subtotal - discount + tax = total with the tax on the discounted
  amount, exclusive and inclusive."""
import os
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=1, nginx=False)
s.start()
sql = s.sql


def tc(*args):
    return subprocess.run([BIN, "-c", s.conf, "test-commerce"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


def fund(cid, amount, key, quiet=False):
    p = tc("wallet", cid, amount, "topup", key)
    if not quiet:
        t.ok(p.returncode == 0, "wallet of customer %d funded with %d" % (cid, amount), p.stderr)
    return p.returncode == 0


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


def customer(n):
    return sql("INSERT INTO customers (email, name, password_hash) VALUES (?, ?, 'x') RETURNING id",
               ("c%d@example.com" % n, "C%d" % n))[0][0]


def coupon(code, **kw):
    kw.setdefault("kind", "percent")
    if kw["kind"] == "percent":
        kw.setdefault("percent", 10)
    cols = ["code"] + list(kw)
    sql("INSERT INTO coupons (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
        [code] + list(kw.values()))


def checkout(cid, plan, qty, key, code):
    p = tc("checkout", cid, plan, qty, key, "coupon=" + code)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def order_of(key):
    r = sql("SELECT id, subtotal_minor, discount_minor, tax_minor, total_minor FROM orders "
            "WHERE idempotency_key = ?", (key,))
    return r[0] if r else None


plans = sql("SELECT id, price_minor, category_id FROM plans WHERE active = 1 AND stock IS NULL "
            "AND price_minor > 0 ORDER BY id LIMIT 2")
(p1, price1, _), (p2, price2, _) = plans
orders0 = sql("SELECT count(*) FROM orders")[0][0]

# -- 10 uses, 50 concurrent checkouts by 50 customers --
coupon("TEN", max_uses=10)
cs = [customer(100 + k) for k in range(50)]
t.ok(all([fund(c, price1, "fund-r%d" % k, quiet=True) for k, c in enumerate(cs)]), "50 customers funded")
res = race([("checkout", c, p1, 1, "ten-%d" % k, "coupon=ten") for k, c in enumerate(cs)])
oks = [r for r in res if r[0] == 0 and r[1].startswith("ok ")]
refused = [r for r in res if r[0] == 3 and r[1] == "coupon:exhausted -" and "used up" in r[2]]
t.ok(len(oks) == 10, "exactly 10 checkouts paid with the coupon", (len(oks), [r for r in res if r not in oks][:3]))
t.ok(len(refused) == 40, "40 clear refusals: the coupon is used up",
     (len(refused), [r for r in res if r not in oks + refused][:3]))
t.is_(sql("SELECT count(*) FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id "
          "WHERE c.code = 'TEN'")[0][0], 10, "exactly 10 redemption rows")
t.is_(sql("SELECT count(*) FROM orders")[0][0] - orders0, 10, "and 10 orders: a refusal writes none")
t.is_(sql("SELECT count(*) FROM orders o JOIN coupon_redemptions r ON r.order_id = o.id "
          "WHERE o.discount_minor = r.discount_minor AND r.discount_minor = ?",
          ((price1 * 10 + 50) // 100,))[0][0], 10, "each order's discount is its redemption's, 10 % of the line")

# -- per-customer limit --
alice = customer(1)
fund(alice, 100 * price1, "fund-alice")
coupon("TWICE", max_uses_per_customer=2)
r = [checkout(alice, p1, 1, "tw-%d" % k, "TWICE") for k in range(3)]
t.ok(r[0][0] == 0 and r[1][0] == 0, "a per-customer limit of 2: two uses pass", r[:2])
t.ok(r[2][0] == 3 and r[2][1] == "coupon:customer-limit -" and "already used" in r[2][2] and order_of("tw-2") is None,
     "the third is refused clearly and writes nothing", r[2])
bob = customer(2)
fund(bob, 10 * price1, "fund-bob")
t.is_(checkout(bob, p1, 1, "tw-bob", "twice")[0], 0, "another customer still may (codes compare case-blind)")
# A released use (a cancelled order) gives the use back.
sql("UPDATE coupon_redemptions SET released_at = unixepoch() WHERE order_id = ?", (order_of("tw-0")[0],))
t.is_(checkout(alice, p1, 1, "tw-3", "TWICE")[0], 0, "a released redemption no longer counts")

# -- dates, by the test clock --
now = int(s.now())
coupon("LATER", starts_at=now + 3600)
coupon("SOON", ends_at=now + 3600)
r = checkout(alice, p1, 1, "later-1", "LATER")
t.ok(r[0] == 3 and r[1] == "coupon:not-started -" and "cannot be used yet" in r[2], "not yet started: refused", r)
s.advance(3600)
r = checkout(alice, p1, 1, "later-2", "LATER")
t.ok(r[0] == 0, "at starts_at it applies", r)
r = checkout(alice, p1, 1, "soon-1", "SOON")
t.ok(r[0] == 3 and r[1] == "coupon:expired -" and "expired" in r[2] and order_of("soon-1") is None,
     "at ends_at it has expired: refused, nothing written", r)

# -- minimum amount, first order only, deactivated, unknown --
coupon("MIN", min_order_minor=2 * price1)
r = checkout(alice, p1, 1, "min-1", "MIN")
t.ok(r[0] == 3 and r[1] == "coupon:min-amount -" and "minimum" in r[2], "one line below the minimum: refused", r)
t.is_(checkout(alice, p1, 2, "min-2", "MIN")[0], 0, "two lines reach it")
coupon("FIRST", first_order_only=1)
r = checkout(alice, p1, 1, "first-1", "FIRST")
t.ok(r[0] == 3 and r[1] == "coupon:first-order -" and "first order" in r[2], "first-order-only after orders: refused", r)
carol = customer(3)
fund(carol, 10 * price1, "fund-carol")
t.is_(checkout(carol, p1, 1, "first-2", "FIRST")[0], 0, "a first order takes it")
t.is_(checkout(carol, p1, 1, "first-3", "FIRST")[1], "coupon:first-order -", "but not the second")
coupon("GONE", active=0)
t.is_(checkout(alice, p1, 1, "gone-1", "GONE")[1], "coupon:unknown -", "a deactivated coupon is refused")
t.is_(checkout(alice, p1, 1, "none-1", "NOPE")[1], "coupon:unknown -", "an unknown code is refused")

# -- scope and fixed amounts --
coupon("PLAN2", scope="plan", plan_id=p2)
r = checkout(alice, p1, 1, "scope-1", "PLAN2")
t.ok(r[0] == 3 and r[1] == "coupon:not-applicable -" and "does not apply" in r[2], "a coupon for another plan: refused", r)
t.is_(checkout(alice, p2, 1, "scope-2", "PLAN2")[0], 0, "its own plan takes it")
cat = sql("INSERT INTO server_categories (slug, name) VALUES ('coupon-cat', 'Coupon cat') RETURNING id")[0][0]
sql("UPDATE plans SET category_id = ? WHERE id = ?", (cat, p1))
coupon("CAT", scope="category", category_id=cat)
t.is_(checkout(alice, p1, 1, "cat-1", "CAT")[0], 0, "a category coupon applies to a plan in it")
t.is_(checkout(alice, p2, 1, "cat-2", "CAT")[1], "coupon:not-applicable -", "and not to a plan outside it")
coupon("BIG", kind="fixed", amount_minor=10 * price1 + 7, currency="USD")
t.is_(checkout(alice, p1, 1, "big-1", "BIG")[0], 0, "a fixed amount larger than the line applies")
o = order_of("big-1")
t.ok(o and o[2] == price1 and o[4] == 0 and o[3] == 0, "capped at the line: nothing to pay, no tax", o)
coupon("EUR5", kind="fixed", amount_minor=5, currency="EUR")
t.is_(checkout(alice, p1, 1, "eur-1", "EUR5")[1], "coupon:not-applicable -", "a fixed amount in another currency: refused")

# -- percent rounding, totals identity, tax on the discounted amount --
sql("INSERT INTO plans (slug, name, protocol, server_id, price_minor, currency, duration_days, active) "
    "SELECT 'odd-price', 'Odd', protocol, server_id, 999, 'USD', duration_days, 1 FROM plans WHERE id = ?", (p1,))
odd = sql("SELECT id FROM plans WHERE slug = 'odd-price'")[0][0]
coupon("P15", percent=15)
t.is_(checkout(alice, odd, 1, "p15-1", "P15")[0], 0, "15 % off 9.99")
o = order_of("p15-1")
t.ok(o and o[1] == 999 and o[2] == 150 and o[3] == 0 and o[4] == 849,
     "149.85 rounds half up to 150 minor units: 999 - 150 = 849", o)
coupon("PCT5", percent=5)
t.is_(checkout(alice, odd, 1, "p5-1", "PCT5")[0], 0, "5 % off 9.99")
t.is_(order_of("p5-1")[2], 50, "49.95 rounds up to 50")
sql("INSERT INTO settings (key, value) VALUES ('tax.rate_bp', '2000') "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
coupon("P20", percent=20)
t.is_(checkout(alice, odd, 1, "tax-ex", "P20")[0], 0, "exclusive tax with 20 % off")
o = order_of("tax-ex")
t.ok(o and o[1] == 999 and o[2] == 200 and o[3] == 160 and o[4] == 959 and o[1] - o[2] + o[3] == o[4],
     "tax is 20 % of 799 (160), total 999 - 200 + 160 = 959", o)
sql("INSERT INTO settings (key, value) VALUES ('tax.inclusive', '1') "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
t.is_(checkout(alice, odd, 1, "tax-in", "P20")[0], 0, "inclusive tax with 20 % off")
o = order_of("tax-in")
t.ok(o and o[2] == 200 and o[4] == 799 and o[3] == 133 and o[1] == 999 - 133 and o[1] - o[2] + o[3] == o[4],
     "the customer pays 799; its tax 133 taken out; subtotal net 866", o)
t.is_(sql("SELECT count(*) FROM orders WHERE subtotal_minor - discount_minor + tax_minor <> total_minor")[0][0], 0,
      "every order keeps subtotal - discount + tax = total")
t.is_(sql("SELECT count(*) FROM orders o JOIN coupon_redemptions r ON r.order_id = o.id "
          "WHERE r.discount_minor <> o.discount_minor OR r.customer_id <> o.customer_id")[0][0], 0,
      "every redemption matches its order")
cached, ledger = tc("balance", alice).stdout.split()
t.is_(cached, ledger, "alice's cached balance equals the ledger's sum")

t.done()
