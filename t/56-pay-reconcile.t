#!/usr/bin/env python3
"""`1000proxy cron payments` (issue 13, cron_payments.c): the payments'
reconciliation with their gateways.

A payment still open (created, pending, partially_paid) after
payments.reconcile_minutes gets one gateway_followup look-up per window
of that many minutes: a second run in the window, or three at once, add
none; a young payment, a wallet payment and a finished one get none.  A
payment past expires_at gets one look-up after its expiry; once that has
finished with the payment still unpaid, the next run expires it through
payment_apply (a gateway event 'expire:<public_id>' of source
'reconcile'), once; one the look-up found paid, and a partially paid one,
are never expired.

End to end against the Stripe double (t/lib/stripe_double.py) and `work`:
a top-up paid at Stripe whose webhook never came is found by the look-up
and credited once, by 'reconcile'; a session the shop never made, paid
at Stripe, is reported once by the hourly recent-payments report (a log
line, a gateway event of outcome 'unknown', the count in the output)."""
import json
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP, wait_for  # noqa: E402
from pxmail import Spool  # noqa: E402
from pxweb import Shop  # noqa: E402
import pxprov as pv  # noqa: E402
import pxstripe as ps  # noqa: E402
from pxstaff import Staff  # noqa: E402

t = TAP()
s = Spool()
s.setup()
sql = s.sql
# Start just after a window begins, so the runs below share one window.
s.advance(600 - int(s.now()) % 600 + 5)
sql("INSERT INTO customers (id, email, password_hash) VALUES (1, 'cu@example.com', 'x')")
sql("INSERT INTO settings (key, value) VALUES ('payments.reconcile_minutes', '10')")


def cron():
    r = s.cli("cron", "payments", check=False)
    if r.returncode != 0:
        raise RuntimeError("cron payments: %s %s" % (r.stdout, r.stderr))
    return r.stdout


def pay(pid, gw, state, age_min, expires_in_min):
    now = int(s.now())
    sql("INSERT INTO payments (id, public_id, customer_id, gateway, purpose, amount_minor, currency, state, "
        "idempotency_key, created_at, updated_at, expires_at, gateway_ref) VALUES "
        "(?, ?, 1, ?, 'topup', 1000, 'USD', ?, ?, ?, ?, ?, ?)",
        (pid, "pub%04d" % pid, gw, state, "topup:k%d" % pid, now - age_min * 60, now - age_min * 60,
         now + expires_in_min * 60, "ref%d" % pid))


def jobs():
    return sql("SELECT idem_key, payload, state FROM jobs WHERE kind = 'gateway_followup' ORDER BY id")


def keys():
    return [k for k, _, _ in jobs()]


def state(pid):
    return sql("SELECT state FROM payments WHERE id = ?", (pid,))[0][0]


pay(1, "stripe", "pending", 20, 40)          # open past the delay: a look-up
pay(2, "paypal", "created", 20, 40)          # created (no checkout yet): a look-up too
pay(3, "nowpayments", "partially_paid", 30, 30)
pay(4, "stripe", "pending", 2, 58)           # young: none
pay(5, "stripe", "succeeded", 30, 30)        # finished: none
pay(6, "wallet", "pending", 30, 30)          # not a gateway's: none
pay(7, "stripe", "pending", 70, -1)          # past its expiry
pay(8, "paypal", "pending", 70, -1)          # past its expiry, found paid by its look-up
pay(9, "nowpayments", "partially_paid", 70, -1)  # past expiry with money: never expired here

out = cron()
window = int(s.now()) // 600
want = sorted(["gateway_followup:reconcile:%d:%d" % (p, window) for p in (1, 2, 3)] +
              ["gateway_followup:expire:%d" % p for p in (7, 8)])
t.is_(sorted(keys()), want, "open past the delay: one look-up each; past expiry: one look-up after it")
t.ok(all(json.loads(p) == {"payment": int(k.split(":")[2]), "source": "reconcile"} for k, p, _ in jobs()),
     "each names its payment, source reconcile", jobs())
t.ok("3 look-ups of payments open over 10 minutes, 2 after expiry; 0 expired" in out, "the summary says so", out)
out = cron()
t.is_(len(jobs()), 5, "a second run in the same window adds none")
procs = [subprocess.Popen([BIN, "-c", s.conf, "cron", "payments"], stdout=subprocess.DEVNULL) for _ in range(3)]
t.ok(all(p.wait() == 0 for p in procs) and len(jobs()) == 5, "three runs at once add none")
t.is_([state(p) for p in (7, 8)], ["pending", "pending"], "nothing expires before its look-up has run")

# the look-ups after expiry finish: 7 still unpaid, 8 found paid meanwhile
sql("UPDATE jobs SET state = 'done' WHERE idem_key IN ('gateway_followup:expire:7', 'gateway_followup:expire:8')")
sql("UPDATE payments SET state = 'succeeded' WHERE id = 8")
out = cron()
t.is_([state(p) for p in (7, 8, 9)], ["expired", "succeeded", "partially_paid"],
      "after its look-up the unpaid one expires; the paid one and the partly paid one stay")
ev = sql("SELECT gateway, event_id, source, outcome, payment_id FROM gateway_events")
t.is_(ev, [("stripe", "expire:pub0007", "reconcile", "applied", 7)],
      "expired through payment_apply: one gateway event of source reconcile")
t.ok("1 expired" in out, "the summary counts it", out)
cron()
t.is_(len(sql("SELECT 1 FROM gateway_events")), 1, "the next run expires nothing twice")

# the next window: one more look-up for each payment still open
s.advance(600)
cron()
t.is_(sorted(k for k in keys() if k.endswith(":%d" % (window + 1))),
      ["gateway_followup:reconcile:%d:%d" % (p, window + 1) for p in (1, 2, 3, 4)],
      "the next window: one more look-up each for the payments still open, the young one now too")
s.check_sanitizers(t)

# -- end to end: the Stripe double and work --
s = Shop(workers=1, tls=True, conf={"work_runners": "2", "gateway_timeout": "5", "retry_base": "1", "retry_cap": "2"})
d = ps.StripeDouble(s)
s.start()
d.configure()
sql = s.sql
s.advance(600 - int(s.now()) % 600 + 5)
_, cid = pv.customer(s, 1, funds=100)
RET = "http://127.0.0.1:%d/pay/return/stripe/" % s.port


def balance():
    return sql("SELECT balance_minor FROM wallets WHERE customer_id = ? AND currency = 'USD'", (cid,))[0][0]


b0 = balance()
sql("INSERT INTO payments (customer_id, gateway, purpose, amount_minor, currency, idempotency_key, state) "
    "VALUES (?, 'stripe', 'topup', 2500, 'USD', 'topup:lost-hook', 'created')", (cid,))
pid, pub = sql("SELECT id, public_id FROM payments WHERE idempotency_key = 'topup:lost-hook'")[0]
r = d.call("create", pub, 2500, "USD", "topup:lost-hook", RET + pub, RET + pub + "?cancelled=1")
sql("UPDATE payments SET gateway_ref = ?, checkout_url = ?, state = 'pending' WHERE id = ?", (r["ref"], r["url"], pid))
r = d.control("complete/" + r["ref"], deliver="none")
t.ok(not r.get("deliveries") and sql("SELECT state FROM payments WHERE id = ?", (pid,))[0][0] == "pending",
     "paid at Stripe, the webhook never sent: the shop still says pending", r)
out = cron()
t.ok("0 look-ups" in out, "not yet past payments.reconcile_minutes: no look-up", out)
s.advance(11 * 60)
out = cron()
ok = wait_for(lambda: sql("SELECT state FROM payments WHERE id = ?", (pid,))[0][0] == "succeeded", 30)
row = sql("SELECT state, fulfilled_by, received_minor FROM payments WHERE id = ?", (pid,))[0]
t.ok(ok and row == ("succeeded", "reconcile", 2500), "past the delay, cron's look-up found it paid: succeeded, "
     "fulfilled by reconcile", (out, row, sql("SELECT idem_key, state, last_error FROM jobs WHERE kind = "
                                             "'gateway_followup'")))
t.is_(balance() - b0, 2500, "the wallet is credited once")
s.advance(600)
cron()
wait_for(lambda: not sql("SELECT 1 FROM jobs WHERE kind = 'gateway_followup' AND state IN ('pending','running')"), 20)
t.is_(balance() - b0, 2500, "a later run: no look-up for it, nothing credited twice")

# the report: a session the shop never made, paid at Stripe
r = d.call("create", "strangerpub1", 4200, "USD", "elsewhere:1", RET + "x", RET + "y")
d.control("complete/" + r["ref"], deliver="none")
stranger = r["ref"]


def unknown():
    return sql("SELECT event_id, source, outcome FROM gateway_events WHERE outcome = 'unknown'")


# (the runs above asked this hour's report already: the next hour's)
s.advance(3600)
before = len(sql("SELECT 1 FROM jobs WHERE idem_key LIKE 'gateway_followup:recent:stripe:%'"))
out = cron()
# the event commits inside the job; its result is written when the job is
# marked done, a moment later: wait for that
wait_for(lambda: unknown() != [] and sql("SELECT 1 FROM jobs WHERE idem_key LIKE 'gateway_followup:recent:stripe:%' "
                                         "AND state = 'done' AND id = (SELECT MAX(id) FROM jobs WHERE idem_key "
                                         "LIKE 'gateway_followup:recent:stripe:%')"), 30)
t.is_(unknown(), [("recent:" + stranger, "reconcile", "unknown")],
      "the recent-payments report records the stranger once, as unknown")
res = sql("SELECT result FROM jobs WHERE idem_key LIKE 'gateway_followup:recent:stripe:%' ORDER BY id DESC LIMIT 1")
res = json.loads(res[0][0] or "{}") if res else {}
t.ok(res.get("unknown") == 1 and res.get("refs") == [stranger] and res.get("listed", 0) >= 2,
     "its job says how many it listed and which it did not know", res)
t.ok(any("does not know" in str(x.get("msg", "")) and stranger in str(x.get("msg", "")) for x in s.log_lines()),
     "a log line names it")
out = cron()
t.ok("0 gateway reports asked; 1 gateway payment unknown to the shop" in out and
     len(sql("SELECT 1 FROM jobs WHERE idem_key LIKE 'gateway_followup:recent:stripe:%'")) == before + 1,
     "the cron output counts it; a second run in the hour asks no second report", out)
s.advance(3600)
cron()
wait_for(lambda: not sql("SELECT 1 FROM jobs WHERE kind = 'gateway_followup' AND state IN ('pending','running')"), 20)
t.is_(len(unknown()), 1, "the next hour's report finds it again and records nothing twice")
ada = Staff(s, "ada@example.com", "super_admin", tls=True)
r = ada.get("/admin/payments")
t.ok(r.status == 200 and "1 payment(s) at a gateway that the shop does not know" in r.text,
     "/admin/payments shows the count", r.status)
d.stop()
s.check_sanitizers(t)
t.done()
