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
are never expired."""
import json
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP  # noqa: E402
from pxmail import Spool  # noqa: E402

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
ps = [subprocess.Popen([BIN, "-c", s.conf, "cron", "payments"], stdout=subprocess.DEVNULL) for _ in range(3)]
t.ok(all(p.wait() == 0 for p in ps) and len(jobs()) == 5, "three runs at once add none")
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
t.done()
