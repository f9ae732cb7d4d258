#!/usr/bin/env python3
"""kill -9 between every step of a gateway payment (issue 13, core13):
no lost payment, no double credit, nothing charged twice.

The processes are stopped at the test-only pause points
(test_pause_file, src/testpause.h) and killed there with SIGKILL:

- the pool worker placing a gateway checkout (checkout_place, the
  payment and its job: one transaction): before COMMIT nothing of it
  exists and the same form pays afterwards; after COMMIT the order,
  payment and job exist, the replayed form lands on the same payment and
  work makes its checkout without a wake-up file;
- the pool worker applying the gateway's webhook (payment_apply and the
  fulfilment: one transaction): nothing of it exists, the gateway's
  redelivery fulfils the order once;
- `work` (its master and the runner) before and after the gateway made
  the checkout, and inside and after the return page's look-up that
  fulfils: restarted, it ends with one checkout at the gateway (the
  payment's Idempotency-Key), the order fulfilled once;
- the gateway's reply lost (it answers after work gave up waiting): the
  retry with the same key is answered from the gateway's store, one
  checkout session.
"""
import os
import sys
import threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from pxweb import Client, Shop  # noqa: E402
from px import TAP, wait_for  # noqa: E402
from pxkill import Pauser  # noqa: E402
from pxpay import Payer, StripeDouble, pay_id, session_of  # noqa: E402

t = TAP()
s = Shop(workers=2, tls=True, conf={"work_runners": "2", "gateway_timeout": "2", "smtp_timeout": "10",
                                    "panel_timeout": "5", "work_lease": "30", "retry_base": "2",
                                    "retry_cap": "2"})
pz = Pauser(s)
d = StripeDouble(s)
s.doubles = [d]
s.start()
sql = s.sql
d.configure(s)

c = Client(s, "px-test pay kill")
PW = "tangerine orbit lamp 41"
c.post("/register", {"email": "alice@example.com", "name": "Alice", "password": PW, "terms": "1"})
r = c.post("/login", {"email": "alice@example.com", "password": PW})
t.is_(r.status, 303, "the customer signs in")
alice = sql("SELECT id FROM customers WHERE email = 'alice@example.com'")[0][0]
plan, slug = sql("SELECT id, slug FROM plans WHERE active = 1 ORDER BY id LIMIT 1")[0]
sql("UPDATE plans SET stock = 1000 WHERE id = ?", (plan,))
# A referred customer: each fulfilment also accrues a commission.
sql("INSERT INTO customers (email, name, password_hash) VALUES ('referrer@example.com', 'Referrer', 'x')")
sql("INSERT INTO referrals (referrer_id, referred_id) SELECT id, ? FROM customers "
    "WHERE email = 'referrer@example.com'", (alice,))
sql("INSERT INTO settings (key, value) VALUES ('referral.percent_bp', '1000') "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
payer = Payer(s, c, slug)


def one(q, a=()):
    return sql(q, a)[0][0]


def snapshot():
    """Everything a checkout or a fulfilment writes, counted."""
    return {
        "orders": one("SELECT count(*) FROM orders"),
        "pending": one("SELECT count(*) FROM orders WHERE state = 'pending'"),
        "items": one("SELECT count(*) FROM order_items"),
        "events": one("SELECT count(*) FROM order_events"),
        "payments": sql("SELECT id, state, coalesce(fulfilled_at, 0) > 0 FROM payments ORDER BY id"),
        "gateway_events": one("SELECT count(*) FROM gateway_events"),
        "jobs": one("SELECT count(*) FROM jobs WHERE kind <> 'email'"),
        "invoices": one("SELECT count(*) FROM invoices"),
        "counter": sql("SELECT year, last FROM invoice_counters ORDER BY year"),
        "ledger": one("SELECT count(*) FROM wallet_transactions"),
        "stock": one("SELECT stock FROM plans WHERE id = ?", (plan,)),
        "commissions": one("SELECT count(*) FROM referral_commissions"),
        "audit": one("SELECT count(*) FROM audit_log WHERE action = 'order.paid'"),
    }


def check(name):
    p = s.cli("check", check=False)
    t.ok(p.returncode == 0, "%s: 1000proxy check passes" % name, p.stdout + p.stderr)


def fulfilled_once(pub, name):
    """The order of payment pub paid once: one invoice, one provision job
    per item, one commission, one order.paid audit row."""
    p = payer.payment(pub)
    o = p[7]
    items = one("SELECT count(*) FROM order_items WHERE order_id = ?", (o,))
    got = (one("SELECT state FROM orders WHERE id = ?", (o,)), p[1], p[3] is not None,
           one("SELECT count(*) FROM invoices WHERE order_id = ?", (o,)),
           one("SELECT count(*) FROM jobs WHERE kind = 'provision' AND payload LIKE ?", ('%%"order":%d,%%' % o,)),
           one("SELECT count(*) FROM referral_commissions WHERE order_id = ?", (o,)),
           one("SELECT count(*) FROM audit_log WHERE action = 'order.paid' AND target = ?",
               ("order:" + one("SELECT public_id FROM orders WHERE id = ?", (o,)),)))
    t.is_(got, ("paid", "succeeded", True, 1, items, 1, 1),
          "%s: the order paid once (state, payment, fulfilled, 1 invoice, %d job(s), 1 commission, "
          "1 audit row)" % (name, items))


# -- the pool worker killed while it places a gateway checkout --
for step in ("begin", "stock", "order", "items", "payment"):
    point = "checkout:" + step
    payer.fill_cart()
    _, form = payer.form("stripe")
    before = snapshot()
    nsess = d.sessions()
    pz.arm(point)
    box = {}
    th = threading.Thread(target=lambda: box.update(r=c.raw_post("/checkout", form)))
    th.start()
    pid = pz.paused(point)
    t.ok(pid is not None and pid in s.worker_pids(), "%s: a pool worker is paused there" % point, pid)
    if pid is None:
        pz.disarm()
        th.join(60)
        continue
    t.ok(pz.kill_worker(pid), "%s: killed with SIGKILL, the pool replaces the worker" % point)
    pz.disarm()
    th.join(60)
    t.ok(box.get("r") is not None and box["r"].status == 502, "%s: the request gets nginx's 502" % point)
    t.is_(snapshot(), before, "%s: nothing of the checkout exists (order, items, payment, job, stock, ...)" % point)
    t.is_(d.sessions(), nsess, "%s: no checkout at the gateway" % point)
    check(point)
    r = c.raw_post("/checkout", form)
    pub = pay_id(r.header("location"))
    loc, _, _ = payer.follow(pub) if pub else (None, 0, 0)
    t.ok(r.status == 303 and pub and session_of(loc if isinstance(loc, str) else None),
         "%s: the same form sent again places the order and reaches the checkout" % point, (r.status, loc))

point = "checkout:pay-committed"
payer.fill_cart()
_, form = payer.form("stripe")
pz.arm(point)
box = {}
th = threading.Thread(target=lambda: box.update(r=c.raw_post("/checkout", form)))
th.start()
pid = pz.paused(point)
t.ok(pid is not None and pid in s.worker_pids(), "%s: a pool worker is paused after COMMIT" % point, pid)
if pid is not None:
    pz.kill_worker(pid)
pz.disarm()
th.join(60)
pubs = sql("SELECT p.public_id FROM payments p JOIN orders o ON o.id = p.order_id "
           "WHERE o.idempotency_key = ?", (form["idem"],))
t.ok(len(pubs) == 1, "%s: the order and its one payment exist" % point, pubs)
pub = pubs[0][0] if pubs else ""
r = c.raw_post("/checkout", form)
t.ok(pay_id(r.header("location")) == pub, "%s: the replayed form lands on that payment" % point)
loc, _, _ = payer.follow(pub)
t.ok(isinstance(loc, str) and session_of(loc), "%s: work made its checkout without a wake-up file" % point, loc)
check(point)

# -- the pool worker killed while it applies the webhook --
STEPS = ("payment:event", "payment:state", "payment:claimed", "checkout:referral", "checkout:paid",
         "checkout:invoice", "checkout:audit")
for point in STEPS:
    pub = payer.checkout("stripe")
    loc, _, _ = payer.follow(pub)
    sess = session_of(loc if isinstance(loc, str) else None)
    res = d.call("/_double/complete/" + sess, {"deliver": "none"})
    ev = (res.get("events") or [None])[0]
    before = snapshot()
    pz.arm(point)
    box = {}
    th = threading.Thread(target=lambda: box.update(r=d.call("/_double/deliver", {"event": ev})))
    th.start()
    pid = pz.paused(point)
    t.ok(pid is not None and pid in s.worker_pids(), "%s: the worker serving the webhook is paused there" % point,
         pid)
    if pid is None:
        pz.disarm()
        th.join(60)
        continue
    t.ok(pz.kill_worker(pid), "%s: killed with SIGKILL" % point)
    pz.disarm()
    th.join(60)
    t.is_(snapshot(), before, "%s: nothing of the webhook exists (event, payment state, order, invoice, jobs, "
          "commission, audit)" % point)
    check(point)
    r = d.call("/_double/deliver", {"event": ev})
    fulfilled_once(pub, point + ", then the gateway's redelivery")
    d.call("/_double/deliver", {"event": ev})
    fulfilled_once(pub, point + ", and another redelivery")

# -- work killed around the gateway's checkout --
for point in ("payment_create:call", "payment_create:called"):
    nsess = d.sessions()
    pz.arm(point)
    payer.fill_cart()
    _, form = payer.form("stripe")
    r = c.raw_post("/checkout", form)
    pub = pay_id(r.header("location"))
    pid = pz.paused(point)
    t.ok(pid is not None and pid != s.work.pid, "%s: a work runner is paused there" % point, pid)
    if pid is None:
        pz.disarm()
        continue
    pz.kill_work(pid)
    loc, _, _ = payer.follow(pub, timeout=40)
    sess = session_of(loc if isinstance(loc, str) else None)
    t.ok(sess is not None and payer.payment(pub)[5] == sess,
         "%s: work started again makes (or finds) the checkout; the payment holds it" % point, (loc, payer.payment(pub)))
    t.is_(d.sessions(), nsess + 1, "%s: one checkout session at the gateway" % point)
    n = d.calls_with_key("/v1/checkout/sessions", one("SELECT idempotency_key FROM payments WHERE public_id = ?",
                                                       (pub,)))
    t.ok(n == (1 if point == "payment_create:call" else 2),
         "%s: %d call(s) with the payment's Idempotency-Key" % (point, n))
    d.call("/_double/complete/" + sess, {})
    t.ok(wait_for(lambda: payer.payment(pub)[3] is not None, 15), "%s: then paid" % point)
    fulfilled_once(pub, point)

# -- work killed inside and after the return page's look-up --
for point in ("payment:claimed", "checkout:invoice", "payment_apply:committed"):
    pub = payer.checkout("stripe")
    loc, _, _ = payer.follow(pub)
    sess = session_of(loc if isinstance(loc, str) else None)
    d.call("/_double/complete/" + sess, {"deliver": "none"})
    pz.arm(point)
    r = c.get("/pay/return/stripe/" + pub)
    t.ok(r.status == 200, "%s: the return page enqueues the look-up" % point)
    pid = pz.paused(point)
    t.ok(pid is not None and pid not in s.worker_pids(), "%s: the work runner applying it is paused" % point, pid)
    if pid is None:
        pz.disarm()
        continue
    pz.kill_work(pid)
    t.ok(wait_for(lambda: payer.payment(pub)[3] is not None and
                  one("SELECT count(*) FROM jobs WHERE idem_key = ? AND state = 'done'",
                      ("followup:return:%d" % payer.payment(pub)[0],)) == 1, 40),
         "%s: work started again finishes the look-up" % point, payer.payment(pub))
    fulfilled_once(pub, point)
    t.is_(payer.payment(pub)[4], "return", "%s: fulfilled by the return page's look-up" % point)

# -- the gateway answers after work gave up waiting: one session --
nsess = d.sessions()
d.call("/_double/fault", {"path": "/v1/checkout/sessions", "method": "POST", "mode": "slow", "seconds": 3,
                          "count": 1})
pub = payer.checkout("stripe")
loc, waited, _ = payer.follow(pub, timeout=40)
t.ok(isinstance(loc, str) and session_of(loc), "a lost reply: the customer still reaches the checkout "
     "(%.1f s)" % waited, loc)
t.is_(d.sessions(), nsess + 1, "a lost reply: one session at the gateway")
reps = d.calls_with_key("/v1/checkout/sessions", one("SELECT idempotency_key FROM payments WHERE public_id = ?",
                                                     (pub,)))
t.ok(reps >= 2, "a lost reply: retried under the same Idempotency-Key (%d calls)" % reps)

t.is_(one("SELECT count(*) FROM payments WHERE fulfilled_at IS NOT NULL") + 0,
      one("SELECT count(*) FROM orders WHERE state = 'paid' AND payment_method = 'stripe'"),
      "every fulfilled payment paid exactly one order")
t.ok(s.work.poll() is None, "work is running at the end")
check("at the end")
s.check_sanitizers(t, "no sanitizer report from the pool, work or the commands")
t.done()
