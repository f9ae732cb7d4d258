#!/usr/bin/env python3
"""The whole purchase in a real browser (issue 11, "Tests must show"):
Debian's chromium driven by playwright-core (t/browser/journey.cjs)
browses the catalog, opens a plan, adds it to the cart, applies a coupon
on the cart page, goes to checkout and signs in there (the cart and its
coupon come along), pays from the wallet, sees the order, and opens the
printable invoice with print media emulated.  On every page: no console
error, no uncaught page error, no CSP violation, and no axe-core WCAG
2.2 A/AA violation at 1280px and 390px.  The same journey again with
JavaScript disabled (the shop needs none).  Then the database: two
orders, each paid with the coupon's discount and its redemption, the
wallet debited by exactly the two totals.  Without chromium, node or the
npm packages the test is a loud SKIP, and under CI=true a failure."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP, browser_or_skip, Stack  # noqa: E402
from pxweb import Browser, csrf_of  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)
if not os.path.isfile(os.path.join(pw, "axe-core", "axe.min.js")):
    t.skip_all("BROWSER JOURNEY NOT RUN: axe-core is not installed in %s (./quickstart test installs it)" % pw)

CUST = ("jo@example.com", "saffron kettle meadow 62")
COUPON = "JOURNEY10"
out = tempfile.mkdtemp(prefix="px-journey-")
s = Stack(workers=2).start()
base = "http://127.0.0.1:%d" % s.port
sql = s.sql

b = Browser(s)
r = b.get("/register")
r = b.post("/register", {"email": CUST[0], "name": "Jo", "password": CUST[1], "terms": "1", "csrf": csrf_of(r.text)})
if r.status != 200:
    t.bail("register failed: %d %s" % (r.status, r.text[:300]))
sql("UPDATE customers SET email_verified_at = unixepoch(), billing_name = 'Jo Buyer', "
    "billing_address = '9 Canal Row, Leeds' WHERE email = ?", (CUST[0],))
cid = sql("SELECT id FROM customers WHERE email = ?", (CUST[0],))[0][0]
s.cli("test-commerce", "wallet", str(cid), "100000", "topup", "journey-fund")
sql("INSERT INTO coupons (code, kind, percent) VALUES (?, 'percent', 10)", (COUPON,))
sql("INSERT INTO settings (key, value) VALUES ('seller.name', 'Proxy Seller Ltd'), "
    "('seller.address', '1 Market Street, York') ON CONFLICT(key) DO NOTHING")

env = dict(os.environ, PX_CLOCK_FILE=s.clock_file, PX_CUST_EMAIL=CUST[0], PX_CUST_PW=CUST[1], PX_COUPON=COUPON)
try:
    p = subprocess.run([node, os.path.join(SRC, "t", "browser", "journey.cjs"), pw, pw, base, out], env=env,
                       capture_output=True, text=True, timeout=300)
except subprocess.TimeoutExpired:
    t.bail("the browser journey ran past 300 s")
if not t.ok(p.returncode == 0, "the browser journey ran", p.stderr[-3000:]):
    t.done()
res = json.loads(p.stdout.strip().splitlines()[-1])

PAGES = ["home", "plans", "plan", "cart-add", "cart", "cart-coupon", "checkout-login", "checkout", "order", "invoice"]


def show(vs):
    lines = []
    for v in vs:
        lines.append("%s (%s): %s" % (v["id"], v["impact"], v["help"]))
        for n in v["nodes"]:
            lines.append("    %s  %s" % (n["target"], n["html"]))
    return "\n".join(lines)


for run, label in (("js", "with JavaScript"), ("nojs", "without JavaScript")):
    r = res["runs"][run]
    t.ok("error" not in r, "%s: the whole journey was walked" % label, r.get("error", "")[-3000:])
    t.is_([x for x in PAGES if x not in r["pages"]], [], "%s: every page of the journey was reached" % label)
    bad = {k: v["status"] for k, v in r["pages"].items() if v["status"] not in (200, None)}
    t.is_(bad, {}, "%s: each page answered 200" % label)
    t.ok(not r["console"], "%s: no console errors or warnings" % label, "\n".join(r["console"]))
    t.ok(not r["pageerrors"], "%s: no uncaught page errors" % label, "\n".join(r["pageerrors"]))
    t.ok(not r["csp"], "%s: no Content-Security-Policy violation" % label, "\n".join(r["csp"]))
    for name in PAGES:
        for w in ("1280", "390"):
            vs = r["pages"].get(name, {}).get("axe", {}).get(w)
            t.ok(vs == [], "%s, %s at %spx: axe WCAG 2.2 A/AA, no violation" % (label, name, w),
                 show(vs) if vs else "not checked")
    f = r["facts"]
    t.is_(f.get("scripts"), "on" if run == "js" else "off", "%s: the page's scripts are %s" %
          (label, "on" if run == "js" else "off"))
    t.ok("Cart (1)" in f.get("cart_count", ""), "%s: the header counts the plan added" % label, f.get("cart_count"))
    t.ok(COUPON in f.get("coupon_applied", "") and "New total" in f.get("coupon_applied", ""),
         "%s: the cart shows the coupon's discount and the new total" % label, f.get("coupon_applied"))
    t.ok(r["pages"].get("checkout-login", {}).get("url", "").startswith("/login"),
         "%s: checkout asks the visitor to sign in" % label, r["pages"].get("checkout-login", {}).get("url"))
    t.ok(COUPON in f.get("checkout_coupon", "") and f.get("pay_button", "").startswith("Pay "),
         "%s: after sign-in, checkout still holds the coupon and offers to pay" % label,
         (f.get("checkout_coupon"), f.get("pay_button")))
    t.ok(f.get("order_url", "").endswith("?ok=paid") and "paid" in f.get("order_text", ""),
         "%s: paying lands on the paid order" % label, f.get("order_url"))
    pr = f.get("print", {})
    t.ok(pr and not pr["header"] and not pr["footer"] and pr["lines"] >= 2 and "Proxy Seller Ltd" in pr["text"]
         and "Jo Buyer" in pr["text"],
         "%s: the invoice printed: no header or footer, the lines, seller and customer" % label,
         {k: v for k, v in pr.items() if k != "text"} if pr else None)

orders = sql("SELECT o.id, o.state, o.subtotal_minor, o.discount_minor, o.total_minor FROM orders o "
             "WHERE o.customer_id = ? ORDER BY o.id", (cid,))
t.ok(len(orders) == 2 and all(o[1] == "paid" and o[3] == (o[2] * 10 + 50) // 100 for o in orders),
     "two paid orders, each with the coupon's 10 %", orders)
t.is_(sql("SELECT count(*) FROM coupon_redemptions WHERE customer_id = ?", (cid,))[0][0], 2,
      "each with its redemption row")
cached, ledger = [int(x) for x in s.cli("test-commerce", "balance", str(cid)).stdout.split()]
t.ok(cached == ledger == 100000 - sum(o[4] for o in orders), "the wallet paid exactly the two totals",
     (cached, ledger, [o[4] for o in orders]))
t.is_(sql("SELECT count(*) FROM invoices WHERE customer_id = ?", (cid,))[0][0], 2, "and two invoices were issued")
shots = sorted(x for x in os.listdir(os.path.join(out, "js")) if x.endswith(".png"))
t.ok(len(shots) >= 2 * len(PAGES), "screenshots saved (%d)" % len(shots))
t.diag("screenshots in " + out)
s.check_sanitizers(t)
s.stop()
if not os.environ.get("PX_KEEP"):
    shutil.rmtree(out, ignore_errors=True)
t.done()
