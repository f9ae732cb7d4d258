#!/usr/bin/env python3
"""kill -9 of the worker during checkout, at each step (issue 11): the
checkout is one BEGIN IMMEDIATE transaction (src/checkout.c), so
killed anywhere before COMMIT nothing of it exists (no order, item,
event, job row (provision or confirmation mail) or spool file, no ledger
row, no invoice, no referral commission, the invoice counter, balance,
stock and coupon uses unchanged, `1000proxy check` passes) and the next checkout takes the next invoice number (no gap).
Killed after COMMIT, the order exists whole and the replayed request
lands on it; a job whose wake-up file the kill prevented is found by
`cron reconcile`.

The worker is stopped between the steps by the test-only pause points
(test_pause_file, src/testpause.h: only with test_routes = yes); the
request is the real POST /checkout through nginx and the pool, and the
process killed is the pool worker serving it.  The coupon step runs
through `1000proxy test-commerce checkout ... coupon=CODE` (the cart's
coupon form is not on this branch), the same checkout code in a
process of its own."""
import os
import re
import subprocess
import sys
import threading
from urllib.parse import urlencode
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from pxkill import Pauser  # noqa: E402
from pxweb import Client as WebClient  # noqa: E402
from px import BIN, TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=2, tls=True)
pz = Pauser(s)
arm, disarm, paused = pz.arm, pz.disarm, pz.paused
s.start()
sql = s.sql
SPOOL = os.path.join(s.dir, "spool")


def Client(ua):
    return WebClient(s, ua)


def cli(*args):
    return subprocess.run([BIN, "-c", s.conf] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=120)


def spool_files():
    out = set()
    for sub in ("tmp", "new", "cur", "done", "failed", "corrupt"):
        try:
            out.update(sub + "/" + n for n in os.listdir(os.path.join(SPOOL, sub)))
        except FileNotFoundError:
            pass
    return out


def snapshot():
    """Everything a checkout writes, counted."""
    one = lambda q, a=(): sql(q, a)[0][0]  # noqa: E731
    return {
        "orders": one("SELECT count(*) FROM orders"),
        "order_items": one("SELECT count(*) FROM order_items"),
        "order_events": one("SELECT count(*) FROM order_events"),
        "jobs": one("SELECT count(*) FROM jobs"),
        "invoices": one("SELECT count(*) FROM invoices"),
        "counter": sql("SELECT year, last FROM invoice_counters ORDER BY year"),
        "ledger": one("SELECT count(*) FROM wallet_transactions"),
        "balance": one("SELECT balance_minor FROM wallets WHERE customer_id = ?", (alice,)),
        "stock": one("SELECT stock FROM plans WHERE id = ?", (plan,)),
        "redemptions": one("SELECT count(*) FROM coupon_redemptions"),
        "commissions": one("SELECT count(*) FROM referral_commissions"),
        "audit": one("SELECT count(*) FROM audit_log WHERE action = 'order.paid'"),
        "spool": spool_files(),
    }




def last_invoice():
    r = sql("SELECT number FROM invoices ORDER BY id DESC LIMIT 1")
    return int(r[0][0].split("-")[1]) if r else 0


def fill_cart():
    if sql("SELECT count(*) FROM cart_items ci JOIN carts c ON c.id = ci.cart_id "
           "WHERE c.customer_id = ?", (alice,))[0][0] == 0:
        c.post("/cart/add", {"plan": slug, "qty": "2"}, page="/cart/add?plan=" + slug)


def checkout_form():
    r = c.get("/checkout")
    idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text)
    return {"idem": idem.group(1) if idem else "", "csrf": csrf.group(1) if csrf else ""}


def background_post(fields):
    box = {}

    def run():
        try:
            box["r"] = c.raw_post("/checkout", fields)
        except Exception as e:  # noqa: BLE001 (a dropped connection is an answer here)
            box["e"] = e
    th = threading.Thread(target=run)
    th.start()
    return th, box


def normal_checkout(name):
    fill_cart()
    want = last_invoice() + 1
    r = c.raw_post("/checkout", checkout_form())
    m = re.match(r"/orders/([a-z2-7]+)\?ok=paid$", r.header("location") or "")
    num = last_invoice()
    t.ok(r.status == 303 and m and num == want, "%s: then a checkout pays with invoice number %d (no gap)"
         % (name, want), (r.status, r.header("location"), num))
    return m.group(1) if m else ""




# -- a customer with a funded wallet and a plan with a stock --
c = Client("px-test kill")
PW = "tangerine orbit lamp 41"
r = c.post("/register", {"email": "alice@example.com", "name": "Alice", "password": PW, "terms": "1"})
r = c.post("/login", {"email": "alice@example.com", "password": PW})
t.is_(r.status, 303, "the customer signs in")
alice = sql("SELECT id FROM customers WHERE email = 'alice@example.com'")[0][0]
plan, slug, price = sql("SELECT id, slug, price_minor FROM plans WHERE active = 1 ORDER BY id LIMIT 1")[0]
sql("UPDATE plans SET stock = 1000 WHERE id = ?", (plan,))
# Alice was referred, so each checkout also accrues a commission (referral.c).
sql("INSERT INTO customers (email, name, password_hash) VALUES ('referrer@example.com', 'Referrer', 'x')")
sql("INSERT INTO referrals (referrer_id, referred_id) SELECT id, ? FROM customers "
    "WHERE email = 'referrer@example.com'", (alice,))
sql("INSERT INTO settings (key, value) VALUES ('referral.percent_bp', '1000') "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
p = cli("test-commerce", "wallet", alice, 1000 * price, "topup", "fund-alice")
t.ok(p.returncode == 0, "the wallet is funded", p.stderr)
normal_checkout("at first")

# -- kill -9 of the pool worker between each two steps, before COMMIT --
STEPS = ("begin", "stock", "order", "items", "debit", "referral", "paid", "invoice", "audit", "mail")
for step in STEPS:
    point = "checkout:" + step
    fill_cart()
    form = checkout_form()
    before = snapshot()
    arm(point)
    th, box = background_post(form)
    pid = paused(point)
    t.ok(pid is not None and pid in s.worker_pids(), "%s: a pool worker is paused there" % point, pid)
    if pid is None:
        disarm()
        th.join(60)
        continue
    t.ok(pz.kill_worker(pid), "%s: killed with SIGKILL, the pool replaces the worker" % point)
    disarm()
    th.join(60)
    r = box.get("r")
    t.ok(r is not None and r.status == 502, "%s: the request gets nginx's 502" % point,
         (r.status if r else box.get("e")))
    after = snapshot()
    t.is_(after, before, "%s: nothing of the checkout exists (orders, items, events, jobs, invoices, "
          "counter, ledger, balance, stock, audit, spool files)" % point)
    t.ok(sql("SELECT count(*) FROM cart_items ci JOIN carts k ON k.id = ci.cart_id WHERE k.customer_id = ?",
             (alice,))[0][0] == 1, "%s: the cart still holds its line" % point)
    p = cli("check")
    t.ok(p.returncode == 0, "%s: 1000proxy check passes" % point, p.stdout + p.stderr)
    r = c.raw_post("/checkout", form)
    t.ok(r.status == 303 and re.match(r"/orders/[a-z2-7]+\?ok=paid$", r.header("location") or ""),
         "%s: the same form sent again pays (its key was never stored)" % point,
         (r.status, r.header("location")))
    normal_checkout(point)

# -- the coupon step, through test-commerce (its own process) --
sql("INSERT INTO coupons (code, kind, percent, max_uses) VALUES ('KILL10', 'percent', 10, 5)")
before = snapshot()
arm("checkout:coupon")
proc = subprocess.Popen([BIN, "-c", s.conf, "test-commerce", "checkout", str(alice), str(plan), "1", "kill-coupon",
                         "coupon=KILL10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
pid = paused("checkout:coupon")
t.ok(pid == proc.pid, "checkout:coupon: the test-commerce checkout is paused after the redemption", pid)
proc.kill()
proc.wait(30)
disarm()
t.is_(snapshot(), before, "checkout:coupon: nothing exists, no coupon use counted")
p = cli("test-commerce", "checkout", alice, plan, 1, "kill-coupon", "coupon=KILL10")
t.ok(p.returncode == 0 and p.stdout.startswith("ok ") and last_invoice() == int(before["counter"][0][1]) + 1,
     "checkout:coupon: the same key pays afterwards, with the next invoice number", (p.stdout, p.stderr))
t.is_(sql("SELECT count(*) FROM coupon_redemptions")[0][0], 1, "checkout:coupon: one redemption, by the retry")
nums = [int(n.split("-")[1]) for (n,) in sql("SELECT number FROM invoices ORDER BY id")]
t.is_(nums, list(range(1, len(nums) + 1)), "every invoice number so far in sequence, none skipped")

# -- killed after COMMIT, before the wake-up files: the order is whole --
fill_cart()
form = checkout_form()
before = snapshot()
arm("checkout:committed")
th, box = background_post(form)
pid = paused("checkout:committed")
t.ok(pid is not None and pid in s.worker_pids(), "checkout:committed: a pool worker is paused after COMMIT", pid)
if pid is not None:
    pz.kill_worker(pid)
disarm()
th.join(60)
after = snapshot()
order = sql("SELECT id, public_id, state FROM orders WHERE idempotency_key = ?", (form["idem"],))
oid, pub = (order[0][0], order[0][1]) if order else (0, "")
t.ok(order and order[0][2] == "paid", "checkout:committed: the order exists, paid", order)
jobs = [j for (j,) in sql("SELECT id FROM jobs WHERE kind = 'provision' AND "
                          "json_extract(payload, '$.order') = ?", (oid,))]
t.ok(after["commissions"] == before["commissions"] + 1 and after["orders"] == before["orders"] + 1 and after["order_items"] == before["order_items"] + 2 and
     len(jobs) == 2 and after["invoices"] == before["invoices"] + 1 and
     after["ledger"] == before["ledger"] + 1 and after["balance"] == before["balance"] - 2 * price and
     after["stock"] == before["stock"] - 2 and after["audit"] == before["audit"] + 1,
     "checkout:committed: whole: 2 items, 2 jobs, the invoice, the debit, the stock, the commission, the audit row",
     (before, after))
t.is_(last_invoice(), int(before["counter"][0][1]) + 1, "checkout:committed: with the next invoice number")
woken = lambda: {f for f in spool_files() if f.startswith("new/") and int(f[4:].split(".")[0]) in jobs}  # noqa: E731
t.is_(woken(), set(), "checkout:committed: the kill left its jobs without a wake-up file")
r = c.raw_post("/checkout", form)
t.ok(r.status == 303 and r.header("location") == "/orders/" + pub,
     "checkout:committed: the replayed request lands on the order", (r.status, r.header("location")))
t.is_(snapshot()["orders"], after["orders"], "checkout:committed: and makes no second order")
p = cli("cron", "reconcile")
# (The test-commerce checkout above never wakes its job either: the
# command leaves that to the daemon, so reconcile counts it too.)
m = re.search(r"\b(\d+) re-woken", p.stdout)
t.ok(p.returncode == 0 and m and int(m.group(1)) >= 2 and len(woken()) == 2,
     "checkout:committed: cron reconcile writes the two missing wake-up files", (p.stdout, p.stderr, woken()))
p = cli("check")
t.ok(p.returncode == 0, "checkout:committed: 1000proxy check passes", p.stdout + p.stderr)
normal_checkout("checkout:committed")

# -- killed after the wake-up files, before the response --
fill_cart()
form = checkout_form()
arm("checkout:woken")
th, box = background_post(form)
pid = paused("checkout:woken")
t.ok(pid is not None and pid in s.worker_pids(), "checkout:woken: a pool worker is paused before the response", pid)
if pid is not None:
    pz.kill_worker(pid)
disarm()
th.join(60)
order = sql("SELECT id, public_id FROM orders WHERE idempotency_key = ? AND state = 'paid'", (form["idem"],))
oid, pub = order[0] if order else (0, "")
jobs = [j for (j,) in sql("SELECT id FROM jobs WHERE kind = 'provision' AND json_extract(payload, '$.order') = ?",
                          (oid,))]
t.ok(order and len(jobs) == 2 and len(woken()) == 2, "checkout:woken: the order, its jobs and their files exist",
     (order, jobs, woken()))
r = c.raw_post("/checkout", form)
t.ok(r.status == 303 and r.header("location") == "/orders/" + pub,
     "checkout:woken: the replayed request lands on the order", (r.status, r.header("location")))
r = c.get("/orders/" + pub)
t.ok(r.status == 200 and re.search(r'href="/invoices/\d{4}-\d{6}"', r.text), "checkout:woken: its page shows the invoice")
normal_checkout("checkout:woken")

# -- the whole history --
nums = [int(n.split("-")[1]) for (n,) in sql("SELECT number FROM invoices ORDER BY id")]
t.is_(nums, list(range(1, len(nums) + 1)), "invoice numbers 1..%d, none skipped" % len(nums))
bad = sql("SELECT o.id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id) "
          "OR (SELECT count(*) FROM order_items i WHERE i.order_id = o.id) = 0 "
          "OR (SELECT count(*) FROM jobs j WHERE json_extract(j.payload, '$.order') = o.id) <> "
          "(SELECT count(*) FROM order_items i WHERE i.order_id = o.id) "
          "OR NOT EXISTS (SELECT 1 FROM wallet_transactions w WHERE w.order_id = o.id)")
t.is_(bad, [], "every order has its items, one job per item, its invoice and its debit")
t.ok("killed by signal 9" in s.pool_log_text() or "signal 9" in s.pool_log_text(),
     "the pool logged its workers' deaths")
p = cli("check")
t.is_(p.returncode, 0, "1000proxy check passes at the end")
s.check_sanitizers(t)
s.stop()
t.done()
