#!/usr/bin/env python3
"""PayPal (issue 13; contracts/payments.md section 2): src/gw_paypal.c,
the webhook verification (offline in the worker with a cached
certificate, the certificate fetch and the postback in work) and the
PayPal double t/lib/paypal_double.py.

Part 1, no shop: the pure pieces in C (test-paypal unit: CRC-32, the
signed string, PayPal's real 2017 vector verified at an injected clock
and refused with webhook_id NotToBeFound) and the C verifier against
deliveries signed by the double with the openssl command line (an
independent signer): its certificate chains to the double's CA, a rogue
CA's and a wrong CN's do not, a changed byte does not verify.  Then each
outgoing call on the wire (test-paypal call): create with the payment's
PayPal-Request-Id, capture and its replay, ORDER_NOT_APPROVED,
ORDER_ALREADY_CAPTURED, lookup capturing an approved order, refunds and
their replay, Transaction Search, 500/reset/401.

Part 2, the shop: deliveries through nginx to /webhooks/paypal and
work's verification (offline and postback), duplicates, out of order,
tampered, a disallowed certificate host, an unknown CA, a wrong CN, an
approval captured by work, a capture timeout retried with the same
PayPal-Request-Id, a top-up, a dashboard refund, a revoked token.

Part 3, a customer: /checkout with PayPal, /pay, the double's approve
page, /pay/return while the webhooks arrive: one capture, paid once; a
top-up through PayPal credited once.
"""
import atexit
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import re
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, wait_for  # noqa: E402
from pxpaypal import PayPalDouble  # noqa: E402
from pxweb import Client, Shop  # noqa: E402

t = TAP()
TMP = tempfile.mkdtemp(prefix="px47-")
atexit.register(shutil.rmtree, TMP, True)


def px(*args):
    r = subprocess.run([BIN] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


# ---- part 1: the pure pieces ----

rc, out, err = px("test-paypal", "unit", os.path.join(SRC, "t", "vectors", "paypal-webhook-rsa"))
lines = out.splitlines()
bad = [l for l in lines if l.startswith("not ok")]
t.ok(rc == 0 and not bad and any(l.startswith("1..") for l in lines),
     "test-paypal unit: %d checks in C pass (CRC-32, the real vector at an injected clock, "
     "NotToBeFound refused, URL and CN rules, event and order readers)"
     % sum(1 for l in lines if l.startswith("ok ")), out + err)
t.ok(any("PayPal's real signature verifies" in l and l.startswith("ok") for l in lines) and
     any("NotToBeFound" in l and l.startswith("ok") for l in lines),
     "the real PayPal vector verifies, and not with webhook_id NotToBeFound")


class Sink(http.server.BaseHTTPRequestHandler):
    """A webhook endpoint that keeps what arrives (part 1 has no shop)."""
    got = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        Sink.got.append((dict((k.upper(), v) for k, v in self.headers.items()), self.rfile.read(n)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
threading.Thread(target=sink.serve_forever, daemon=True).start()
SINK = "http://127.0.0.1:%d/" % sink.server_address[1]

pp = PayPalDouble(TMP)
# An order, approved and captured through the API as the shop will do.
tok = json.loads(subprocess.run(["curl", "-s", "-u", "px-client:px-secret", "-d", "grant_type=client_credentials",
                                 pp.url + "/v1/oauth2/token"], capture_output=True, text=True).stdout)["access_token"]


def api(method, path, body=None, rid=None):
    import urllib.request
    import urllib.error
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    if rid:
        h["PayPal-Request-Id"] = rid
    req = urllib.request.Request(pp.url + path, data=None if body is None else json.dumps(body).encode(),
                                 method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


st, order = api("POST", "/v2/checkout/orders", {"intent": "CAPTURE", "purchase_units": [
    {"custom_id": "pubX", "amount": {"currency_code": "USD", "value": "15.00"}}]}, rid="pay:x")
oid = order["id"]
pp.ctl("approve", order=oid)
st, cap = api("POST", "/v2/checkout/orders/%s/capture" % oid, None, rid="capture:x")
t.is_(st, 201, "double: a capture of an approved order is 201")


def delivered(**spec):
    Sink.got.clear()
    r = pp.ctl("deliver", url=SINK, **spec)
    return r, Sink.got[-1]


def bodyfile(body):
    path = os.path.join(TMP, "body-%d" % time.monotonic_ns())
    with open(path, "wb") as f:
        f.write(body)
    return path


def c_verify(hdr, body, pem, webhook_id=pp.webhook_id):
    path = bodyfile(body)
    return px("test-paypal", "verify", pem, hdr["PAYPAL-TRANSMISSION-ID"], hdr["PAYPAL-TRANSMISSION-TIME"],
              webhook_id, path, hdr["PAYPAL-TRANSMISSION-SIG"])


now = str(int(time.time()))
r, (hdr, body) = delivered(event="PAYMENT.CAPTURE.COMPLETED", order=oid)
good = os.path.join(pp.pki, "good.pem")
t.is_(c_verify(hdr, body, good)[1], "verified",
      "a delivery signed by the double (openssl dgst -sha256 -sign) verifies in C")
t.ok(c_verify(hdr, body, good, "NotOurs")[0] == 1, "with another webhook id it does not")
t.ok(hdr["PAYPAL-CERT-URL"] == pp.cert_url("good") and hdr["PAYPAL-AUTH-ALGO"] == "SHA256withRSA",
     "the delivery names its certificate URL and SHA256withRSA")
rc, out, _ = px("test-paypal", "event", bodyfile(body))
t.ok(out.startswith("PAYMENT.CAPTURE.COMPLETED %s 3 %s %s 1500 USD" % (r["id"], oid, cap["purchase_units"][0]
     ["payments"]["captures"][0]["id"])) and out.endswith(" pubX 0"),
     "the delivery reads as: paid, order and capture ids, 1500 USD, our public id", out)
r, (hdr, body) = delivered(event="PAYMENT.CAPTURE.COMPLETED", order=oid, tamper=True)
t.ok(c_verify(hdr, body, good)[0] == 1, "a tampered delivery does not verify")
t.is_(px("test-paypal", "cert", good, pp.ca, now)[1].split()[0], "ok",
      "the double's signing certificate chains to its CA with the right CN")
t.ok(px("test-paypal", "cert", os.path.join(pp.pki, "rogue.pem"), pp.ca, now)[1].startswith("bad certificate chain"),
     "a certificate from an unknown CA is refused")
t.ok(px("test-paypal", "cert", os.path.join(pp.pki, "badcn.pem"), pp.ca, now)[1].startswith("bad certificate CN"),
     "a certificate with another CN is refused")
t.ok(px("test-paypal", "cert", good, pp.ca, str(int(time.time()) + 900 * 86400))[1].startswith("bad certificate not valid"),
     "and the same certificate after its end date is refused")

# The postback (2.7.1) checks the webhook_event's bytes as sent.
r, (hdr, body) = delivered(event="PAYMENT.CAPTURE.COMPLETED", order=oid)
pb = (b'{"auth_algo":"SHA256withRSA","cert_url":"' + hdr["PAYPAL-CERT-URL"].encode() +
      b'","transmission_id":"' + hdr["PAYPAL-TRANSMISSION-ID"].encode() + b'","transmission_sig":"' +
      hdr["PAYPAL-TRANSMISSION-SIG"].encode() + b'","transmission_time":"' + hdr["PAYPAL-TRANSMISSION-TIME"].encode() +
      b'","webhook_id":"' + pp.webhook_id.encode() + b'","webhook_event":')


def postback(event_bytes):
    import urllib.request
    req = urllib.request.Request(pp.url + "/v1/notifications/verify-webhook-signature", data=pb + event_bytes + b"}",
                                 method="POST", headers={"Authorization": "Bearer " + tok,
                                                         "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["verification_status"]


t.is_(postback(body), "SUCCESS", "double's postback: the raw body spliced in verifies")
t.is_(postback(json.dumps(json.loads(body), separators=(",", ":")).encode()), "FAILURE",
      "double's postback: the same event re-serialised does not (as PayPal's)")

# ---- part 1b: the outgoing calls, as work makes them, on the wire ----

CRED = "%s:%s" % (pp.client_id, pp.client_secret)


def call(*args):
    rc, out, err = px("test-paypal", "call", pp.url, CRED, *[str(a) for a in args])
    return rc, out.split("\n")


rc, out = call("create", "pubwire1", 1999, "EUR", "pay:order:7:paypal:1")
ref, url = (out[0].split()[1:3] if rc == 0 else ("", ""))
t.ok(rc == 0 and url == pp.url + "/checkoutnow?token=" + ref, "create: a PayPal order and its payer-action link", out)
o = pp.state()["orders"].get(ref, {})
unit = (o.get("purchase_units") or [{}])[0]
t.ok(o.get("status") == "PAYER_ACTION_REQUIRED" and unit.get("custom_id") == "pubwire1" and
     unit.get("invoice_id") == "pubwire1" and unit.get("amount") == {"currency_code": "EUR", "value": "19.99"},
     "the order carries our public id as custom_id and invoice_id, and 19.99 EUR as PayPal writes it", o)
calls = pp.state()["calls"]
t.ok([c[2] for c in calls if c[1] == "/v2/checkout/orders" and c[0] == "POST"][-1] == "pay:order:7:paypal:1" and
     any(c[1] == "/v1/oauth2/token" for c in calls), "with an OAuth token, and PayPal-Request-Id = the payment's key")
rc, out2 = call("create", "pubwire1", 1999, "EUR", "pay:order:7:paypal:1")
t.ok(rc == 0 and out2[0].split()[1] == ref, "the same key again: the same order (PayPal replays it)", out2)
rc, out = call("capture", 7, ref)
t.ok(rc == 1 and out[0].startswith("err permanent") and "ORDER_NOT_APPROVED" in out[0],
     "capture before the buyer approved: a permanent refusal, ORDER_NOT_APPROVED", out)
rc, out = call("lookup", 7, ref)
t.ok(rc == 0 and out[0].split()[3] == "1", "lookup of an unapproved order: pending", out)
pp.ctl("approve", order=ref)
rc, out = call("lookup", 7, ref)
f = out[0].split() if rc == 0 else []
t.ok(rc == 0 and f[3] == "3" and f[4] == ref and f[6] == "1999" and f[7] == "EUR",
     "lookup of an approved order captures it: succeeded, 1999 EUR", out)
cap7 = f[5] if f else ""
t.ok([c[2] for c in pp.state()["calls"] if c[1] == "/v2/checkout/orders/%s/capture" % ref][-1] == "capture:7",
     "... with PayPal-Request-Id capture:7")
rc, out = call("capture", 7, ref)
t.ok(rc == 0 and out[0].split()[5] == cap7 and out[0].split()[3] == "3",
     "capture again with the same key: PayPal's replay, the same capture", out)
rc, out = call("capture", 8, ref)
t.ok(rc == 0 and out[0].split()[5] == cap7, "a capture under another key: ORDER_ALREADY_CAPTURED, read from the order", out)
t.is_(len([c for c in pp.state()["captures"].values() if c["supplementary_data"]["related_ids"]["order_id"] == ref]), 1,
      "one capture at PayPal")
rc, out = call("refund", 7, ref, cap7, 500, "EUR", "refund:1")
rid = out[0].split()[1] if rc == 0 else ""
t.ok(rc == 0 and out[0].split()[2] == "1", "a partial refund of 5.00: completed", out)
rc, out = call("refund", 7, ref, cap7, 500, "EUR", "refund:1")
t.ok(rc == 0 and out[0].split()[1] == rid, "the same refund key again: the same refund", out)
t.ok([c[2] for c in pp.state()["calls"] if c[1].endswith("/refund")] == ["refund:1", "refund:1"],
     "PayPal-Request-Id = the refund's key")
rc, out = call("refund", 7, ref, "-", 1500, "EUR", "refund:2")
t.ok(rc == 1 and "permanent" in out[0] and "REFUND_AMOUNT_EXCEEDED" in out[0],
     "a refund beyond what is left (the capture id found through the order): refused for good", out)
rc, out = call("refund", 7, ref, "-", 1499, "EUR", "refund:3")
t.ok(rc == 0 and pp.state()["captures"][cap7]["status"] == "REFUNDED", "the rest: the capture is refunded", out)
rc, out = call("lookup", 7, ref)
t.ok(rc == 0 and out[0].split()[3] == "8", "lookup then reads it refunded", out)
rc, out = call("recent", int(time.time()) - 3600)
t.ok(rc == 0 and any(l.split()[4] == cap7 for l in out[1:]), "recent (Transaction Search) lists the capture", out)
pp.ctl("fault", route="create", kind="500", count=1)
rc, out = call("create", "pubwire2", 100, "USD", "pay:order:9:paypal:1")
t.ok(rc == 1 and out[0].startswith("err retry"), "a 500 from PayPal: worth a retry", out)
rc, out = call("create", "pubwire2", 100, "USD", "pay:order:9:paypal:1")
t.ok(rc == 0, "... and the retry makes the order", out)
pp.ctl("fault", route="create", kind="reset", count=1, acted=True)
rc, out = call("create", "pubwire3", 100, "USD", "pay:order:10:paypal:1")
rc2, out2 = call("create", "pubwire3", 100, "USD", "pay:order:10:paypal:1")
t.ok(rc == 1 and "retry" in out[0] and rc2 == 0 and
     len([o for o in pp.state()["orders"].values() if o["purchase_units"][0].get("custom_id") == "pubwire3"]) == 1,
     "a connection reset after PayPal made the order: the retry gets the same order, not a second", (out, out2))
rc, out, _ = px("test-paypal", "call", pp.url, "px-client:wrong", "lookup", "7", ref)
t.ok(rc == 1 and "permanent" in out and "401" in out, "wrong client credentials: a permanent 401", out)

pp.stop()
sink.shutdown()

# ---- part 2: the shop's webhook route and work's verification ----
#
# Payments are set up as a gateway checkout leaves them (an order
# pending with its items, a payments row 'pending' naming the PayPal
# order, which the double holds with our public id as custom_id); the
# double's deliveries then go to the shop through nginx.

s = Shop(tls=True, conf={"gateway_timeout": "3", "paypal_cert_hosts": "127.0.0.1", "work_runners": "3"})
pp = PayPalDouble(TMP, webhook="http://127.0.0.1:%d/webhooks/paypal" % s.port)
s.extra.update(paypal_api_url=pp.url, paypal_ca_file=pp.ca, gateway_ca_file=pp.ca)
s.start()
for name, value in (("paypal.client_id", pp.client_id), ("paypal.client_secret", pp.client_secret),
                    ("paypal.webhook_id", pp.webhook_id)):
    s.cli("gateway", "set", name, input=value + "\n")
s.cli("gateway", "enable", "paypal")


def setting(key, value):
    s.sql("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          (key, value))


setting("payments.paypal.verify", "offline")
CUST = s.sql("INSERT INTO customers (email, name, password_hash) VALUES ('pp@example.com', 'PP', 'x') RETURNING id")[0][0]
PLAN, PRICE, CUR = s.sql("SELECT id, price_minor, currency FROM plans WHERE active = 1 AND price_minor > 0 "
                         "ORDER BY id LIMIT 1")[0]
DEC = 0 if CUR == "JPY" else 2
SEQ = [0]


def value(minor):
    return str(minor) if DEC == 0 else "%d.%02d" % (minor // 100, minor % 100)


def papi(method, path, body=None, rid=None):
    global tok
    st, obj = api(method, path, body, rid)
    if st == 401:
        tok = json.loads(subprocess.run(["curl", "-s", "-u", "px-client:px-secret", "-d",
                                         "grant_type=client_credentials", pp.url + "/v1/oauth2/token"],
                                        capture_output=True, text=True).stdout)["access_token"]
        st, obj = api(method, path, body, rid)
    return st, obj


def new_payment(topup=False, approve=True, capture=True):
    """(payment id, public id, PayPal order id, capture id or None)."""
    SEQ[0] += 1
    pub = "ppt%029d" % SEQ[0]
    if topup:
        order, amount = None, 2500
    else:
        r = s.cli("test-commerce", "pending", str(CUST), str(PLAN), "1")
        order = int(r.stdout.split()[0])
        amount = s.sql("SELECT total_minor FROM orders WHERE id = ?", (order,))[0][0]
    st, o = papi("POST", "/v2/checkout/orders", {"intent": "CAPTURE", "purchase_units": [
        {"custom_id": pub, "invoice_id": pub, "amount": {"currency_code": CUR, "value": value(amount)}}],
        "payment_source": {"paypal": {"experience_context": {"return_url": "http://x/r", "cancel_url": "http://x/c"}}}},
        rid="pay:test:%d" % SEQ[0])
    pid = s.sql("INSERT INTO payments (public_id, order_id, customer_id, gateway, purpose, gateway_ref, amount_minor, "
                "currency, state, idempotency_key) VALUES (?, ?, ?, 'paypal', ?, ?, ?, ?, 'pending', ?) RETURNING id",
                (pub, order, CUST, "topup" if topup else "order", o["id"], amount, CUR, "test:%d" % SEQ[0]))[0][0]
    cap = None
    if approve:
        pp.ctl("approve", order=o["id"])
    if approve and capture:
        st, c = papi("POST", "/v2/checkout/orders/%s/capture" % o["id"], None, rid="capture:%d" % pid)
        cap = c["purchase_units"][0]["payments"]["captures"][0]["id"]
    return pid, pub, o["id"], cap


def pay(pid):
    return dict(zip(("state", "fulfilled_at", "gateway_ref2", "held_reason", "order_id"), s.sql(
        "SELECT state, fulfilled_at, gateway_ref2, held_reason, order_id FROM payments WHERE id = ?", (pid,))[0]))


def events(pid=None):
    if pid is None:
        return s.sql("SELECT count(*) FROM gateway_events WHERE gateway = 'paypal'")[0][0]
    return [tuple(r) for r in s.sql("SELECT event_type, outcome FROM gateway_events WHERE payment_id = ? ORDER BY id",
                                    (pid,))]


def jobs_of(kind):
    return s.sql("SELECT count(*) FROM jobs WHERE kind = ?", (kind,))[0][0]


def wait_job_done(key, timeout=30):
    ok = wait_for(lambda: (s.sql("SELECT state FROM jobs WHERE idem_key LIKE ?", (key,)) or [[""]])[0][0]
                  in ("done", "failed"), timeout)
    row = s.sql("SELECT state, result, last_error FROM jobs WHERE idem_key LIKE ?", (key,))
    return row[0] if ok and row else (row[0] if row else None)


def paid_events(order):
    return s.sql("SELECT count(*) FROM order_events WHERE order_id = ? AND kind = 'paid'", (order,))[0][0]


# A: offline, certificate not cached yet: the worker queues it, work
# fetches the certificate over https from the allowed host, checks it and
# verifies; the order is paid once.
pid, pub, oid, cap = new_payment()
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid)
t.is_(r["statuses"], [200], "offline, no certificate yet: the delivery is answered 200 (queued for work)")
row = wait_job_done("paypal:verify:%")
t.ok(row and row[0] == "done" and '"verified":true' in (row[1] or ""),
     "work verified it with the certificate it fetched", row)
p = pay(pid)
t.ok(p["state"] == "succeeded" and p["fulfilled_at"] and p["gateway_ref2"] == cap,
     "the payment is succeeded and fulfilled, the capture id recorded", p)
t.is_(paid_events(p["order_id"]), 1, "the order was paid once")
t.is_(s.sql("SELECT count(*) FROM paypal_certs WHERE url = ?", (pp.cert_url("good"),))[0][0], 1,
      "the certificate is cached by its URL")
t.is_(pp.state()["stats"]["cert_fetches"], 1, "fetched once")

# B: offline with the certificate cached: verified in the worker itself.
pid, pub, oid, cap = new_payment()
jobs_before = jobs_of("gateway_followup")
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid)
p = pay(pid)
t.ok(r["statuses"] == [200] and p["state"] == "succeeded" and p["fulfilled_at"],
     "with the certificate cached the worker verifies and applies at once", (r, p))
t.is_(jobs_of("gateway_followup"), jobs_before, "no job for work")


def maps_have_curl(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libcurl" in f.read()
    except OSError:
        return False


wp = s.worker_pids()
runners = [int(x) for x in subprocess.run(["pgrep", "-P", str(s.work.pid)], capture_output=True,
                                          text=True).stdout.split()]
t.ok(wp and not any(maps_have_curl(x) for x in wp) and any(maps_have_curl(x) for x in runners),
     "the web workers that verified PayPal deliveries never loaded libcurl (%d checked; "
     "the work runner that fetched the certificate did)" % len(wp))
t.is_(pp.state()["stats"]["cert_fetches"], 1, "and no second certificate fetch")

# C: the same delivery again, twice: nothing new.
n_ev = events()
r2 = pp.ctl("deliver", id=r["id"], times=2)
t.ok(r2["statuses"] == [200, 200] and events() == n_ev and paid_events(p["order_id"]) == 1,
     "a duplicated delivery is 200 and changes nothing (one event row, paid once)", (r2, events(), n_ev))

# D: out of order: PENDING arriving after COMPLETED is recorded stale.
r3 = pp.ctl("deliver", event="PAYMENT.CAPTURE.PENDING", order=oid)
t.ok(r3["statuses"] == [200] and pay(pid)["state"] == "succeeded" and
     ("PAYMENT.CAPTURE.PENDING", "stale") in events(pid),
     "a late PENDING after COMPLETED is recorded stale and the payment stays succeeded", events(pid))

# E: a tampered body, the certificate cached: 400, nothing stored.
pid, pub, oid, cap = new_payment()
n_ev, n_jobs = events(), jobs_of("gateway_followup")
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid, tamper=True)
t.ok(r["statuses"] == [400] and events() == n_ev and jobs_of("gateway_followup") == n_jobs and
     pay(pid)["state"] == "pending", "a tampered delivery is 400: no event, no job, the payment unchanged", r)

# F: a certificate URL on a host that is not allowed: 400 at once.
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid, cert_host="localhost")
t.ok(r["statuses"] == [400] and events() == n_ev and jobs_of("gateway_followup") == n_jobs,
     "a certificate URL on a host not in paypal_cert_hosts is 400, nothing stored", r)

# G, H: a certificate from an unknown CA, and one with another CN: work
# fetches it, refuses it, records the delivery rejected; nothing changes.
for signer, what in (("rogue", "an unknown CA"), ("badcn", "a CN that is not PayPal's")):
    r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid, signer=signer)
    key = "paypal:verify:%"
    row = wait_for(lambda: s.sql("SELECT count(*) FROM gateway_events WHERE outcome = 'rejected' AND "
                                 "event_id LIKE 'paypal:verify:%' AND payload LIKE ?", ("%" + oid + "%",))[0][0] >= 1
                   and s.sql("SELECT count(*) FROM jobs WHERE kind = 'gateway_followup' AND state NOT IN ('done','failed')")[0][0] == 0, 30)
    rej = s.sql("SELECT count(*) FROM gateway_events WHERE outcome = 'rejected'")[0][0]
    t.ok(r["statuses"] == [200] and row and pay(pid)["state"] == "pending" and not pay(pid)["fulfilled_at"] and
         s.sql("SELECT count(*) FROM paypal_certs WHERE url = ?", (pp.cert_url(signer),))[0][0] == 0,
         "a certificate from %s: queued, then rejected by work (%d rejected), not cached, the payment unchanged"
         % (what, rej), (r, pay(pid)))
    s.sql("DELETE FROM gateway_events WHERE outcome = 'rejected'")

# The same payment's genuine delivery still lands, even when a forger
# sent a delivery naming its transmission id first: the deferred job and
# its event are keyed by the signature and body too, so the forged one
# cannot take the genuine one's key.
TID = "0f0ed000-1584-11e7-abf0-6b62a8a99ac4"
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid, signer="rogue", tid=TID)
wait_for(lambda: s.sql("SELECT count(*) FROM gateway_events WHERE outcome = 'rejected' AND event_id LIKE ?",
                       ("paypal:verify:%s:%%" % TID,))[0][0] == 1, 30)
t.ok(r["statuses"] == [200] and pay(pid)["state"] == "pending",
     "a forged delivery naming a transmission id is queued and rejected; the payment unchanged", r)
s.sql("DELETE FROM paypal_certs")   # so the genuine one is deferred to work as well
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid, tid=TID)
wait_for(lambda: pay(pid)["state"] == "succeeded", 30)
t.ok(r["statuses"] == [200] and pay(pid)["state"] == "succeeded",
     "the genuine delivery with that transmission id still applies", (r, pay(pid)))
s.sql("DELETE FROM gateway_events WHERE outcome = 'rejected'")   # as G and H: L counts its own

# I: CHECKOUT.ORDER.APPROVED: verified (from the cache) but handed to
# work, which captures with PayPal-Request-Id capture:<payment>.
pid, pub, oid, cap = new_payment(capture=False)
r = pp.ctl("deliver", event="CHECKOUT.ORDER.APPROVED", order=oid)
t.is_(r["statuses"], [200], "an approval is answered 200")
wait_for(lambda: pay(pid)["fulfilled_at"] is not None, 30)
p = pay(pid)
calls = [c for c in pp.state()["calls"] if c[1] == "/v2/checkout/orders/%s/capture" % oid]
t.ok(p["state"] == "succeeded" and p["fulfilled_at"] and calls and all(c[2] == "capture:%d" % pid for c in calls),
     "work captured the approved order with PayPal-Request-Id capture:<payment> and fulfilled it", (p, calls))

# J: the capture times out (the double acts, then answers too late): the
# retry sends the same PayPal-Request-Id and gets the same capture.
pid, pub, oid, cap = new_payment(capture=False)
pp.ctl("fault", route="capture", kind="slow", seconds=5, count=1)
r = pp.ctl("deliver", event="CHECKOUT.ORDER.APPROVED", order=oid)
wait_for(lambda: pay(pid)["fulfilled_at"] is not None, 60)
st = pp.state()
calls = [c for c in st["calls"] if c[1] == "/v2/checkout/orders/%s/capture" % oid]
caps = [c for c in st["captures"].values() if c["supplementary_data"]["related_ids"]["order_id"] == oid]
t.ok(pay(pid)["state"] == "succeeded" and len(calls) >= 2 and len({c[2] for c in calls}) == 1 and len(caps) == 1,
     "a capture retried after a timeout reuses its PayPal-Request-Id: %d calls, one capture" % len(calls), (calls, caps))
t.is_(paid_events(pay(pid)["order_id"]), 1, "and the order is paid once")

# K: a top-up: the wallet is credited once.
bal = lambda: (s.sql("SELECT coalesce(sum(amount_minor), 0) FROM wallet_transactions t JOIN wallets w "
                     "ON w.id = t.wallet_id WHERE w.customer_id = ?", (CUST,)) or [[0]])[0][0]
b0 = bal()
pid, pub, oid, cap = new_payment(topup=True)
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid, times=2)
t.ok(r["statuses"] == [200, 200] and pay(pid)["state"] == "succeeded" and bal() - b0 == 2500,
     "a top-up delivered twice credits the wallet once (%+d)" % (bal() - b0), (r, pay(pid)))

# K2: a refund made in PayPal's own dashboard arrives as
# PAYMENT.CAPTURE.REFUNDED (the resource is the refund; its link "up" is
# the capture): recorded on the payment, once.
pid, pub, oid, cap = new_payment()
pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid)
st, rf = papi("POST", "/v2/payments/captures/%s/refund" % cap, {"amount": {"currency_code": CUR, "value": value(100)}},
              rid="dashboard:1")
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.REFUNDED", refund=rf["id"])
r2 = pp.ctl("deliver", id=r["id"])
row = s.sql("SELECT state, refunded_minor FROM payments WHERE id = ?", (pid,))[0]
t.ok(st == 201 and r["statuses"] == [200] and r2["statuses"] == [200] and tuple(row) == ("partially_refunded", 100),
     "a refund made at PayPal arrives by webhook: the payment partially refunded by 1.00, once", (st, r, r2, row))

# L: postback mode: every delivery goes to work, which asks PayPal with
# the raw body spliced in; a tampered one comes back FAILURE.
setting("payments.paypal.verify", "postback")
pid, pub, oid, cap = new_payment()
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid, tamper=True)
t.is_(r["statuses"], [200], "postback mode: a delivery is queued for work (200)")
wait_for(lambda: pp.state()["stats"]["verify_failure"] >= 1 and s.sql(
    "SELECT count(*) FROM jobs WHERE kind = 'gateway_followup' AND state NOT IN ('done','failed')")[0][0] == 0, 30)
t.ok(pay(pid)["state"] == "pending" and s.sql("SELECT count(*) FROM gateway_events WHERE outcome = 'rejected'")[0][0] == 1,
     "a tampered delivery: the postback says FAILURE, recorded rejected, the payment unchanged", pay(pid))
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid)
wait_for(lambda: pay(pid)["fulfilled_at"] is not None, 30)
t.ok(pay(pid)["state"] == "succeeded" and pp.state()["stats"]["verify_success"] >= 1,
     "the genuine one: SUCCESS, applied", pay(pid))

# M: an access token PayPal revoked: refreshed once, the call goes on.
before = pp.state()["stats"]["tokens"]
pp.ctl("expire_tokens")
pid, pub, oid, cap = new_payment()
r = pp.ctl("deliver", event="PAYMENT.CAPTURE.COMPLETED", order=oid)
wait_for(lambda: pay(pid)["fulfilled_at"] is not None, 30)
t.ok(pay(pid)["state"] == "succeeded" and pp.state()["stats"]["tokens"] - before == 2,
     "a revoked token: one 401, one new token for work, the postback goes on", pp.state()["stats"])

# ---- part 3: a customer pays through the pages ----
#
# /checkout with PayPal -> /pay/{id} -> the double's approve page -> back
# to /pay/return/paypal/{id}, while the double also delivers
# CHECKOUT.ORDER.APPROVED and PAYMENT.CAPTURE.COMPLETED as they happen:
# the return page's capture and the approval's capture share
# PayPal-Request-Id capture:<payment>, so there is one capture, and the
# order is fulfilled once.
setting("payments.paypal.verify", "offline")
pp.ctl("config", auto_webhooks=True)
c = Client(s, "px-test paypal")
PW = "paypal orbit lamp 47"
c.post("/register", {"email": "paula@example.com", "name": "Paula", "password": PW, "terms": "1"})
for _ in range(10):
    r = c.post("/login", {"email": "paula@example.com", "password": PW})
    if r.status == 303:
        break
    time.sleep(0.3)
t.is_(r.status, 303, "the customer signs in")
paula = s.sql("SELECT id FROM customers WHERE email = 'paula@example.com'")[0][0]
slug = s.sql("SELECT slug FROM plans WHERE id = ?", (PLAN,))[0][0]
s.sql("UPDATE plans SET stock = 100 WHERE id = ?", (PLAN,))


def follow_pay(pub, timeout=30):
    """/pay/{pub} as a browser on its meta refresh: where it sends us."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        r = c.get("/pay/" + pub)
        if r.status == 303:
            return r.header("location")
        if r.status != 200:
            return None
        time.sleep(0.05)
    return None


def approve_in_browser(url):
    """The double's approve page as a browser: GET it, press Pay now;
    the 303 back to the shop's return page (path and query)."""
    with urllib.request.urlopen(url, timeout=30) as r:
        page = r.read().decode()
    token = re.search(r'name=token value=([A-Z0-9]+)', page).group(1)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    op = urllib.request.build_opener(NoRedirect)
    try:
        op.open(urllib.request.Request(pp.url + "/checkoutnow", data=urllib.parse.urlencode(
            {"token": token, "action": "approve"}).encode(), method="POST"), timeout=30)
    except urllib.error.HTTPError as e:
        loc = e.headers["Location"]
        u = urllib.parse.urlsplit(loc)
        return page, u.path + ("?" + u.query if u.query else "")
    return page, None


c.post("/cart/add", {"plan": slug, "qty": "1"}, page="/cart/add?plan=" + slug)
r = c.get("/checkout")
t.ok("PayPal" in r.text and 'value="paypal"' in r.text, "/checkout offers PayPal")
idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text).group(1)
r = c.post("/checkout", {"idem": idem, "method": "paypal"}, page="/checkout")
m = re.match(r"^/pay/([0-9a-f]{32})$", r.header("location") or "")
t.ok(r.status == 303 and m, "paying with PayPal: 303 to /pay/{id}", (r.status, r.header("location")))
pub = m.group(1)
pid, pkey = s.sql("SELECT id, idempotency_key FROM payments WHERE public_id = ?", (pub,))[0]
loc = follow_pay(pub)
oid = s.sql("SELECT gateway_ref FROM payments WHERE id = ?", (pid,))[0][0]
t.ok(loc == pp.url + "/checkoutnow?token=%s" % oid, "/pay/{id} sends the customer to PayPal's approve link", loc)
creates = [x for x in pp.state()["calls"] if x[0] == "POST" and x[1] == "/v2/checkout/orders" and x[2] == pkey]
t.ok([x[3] for x in creates if x[3] != 401] == [201], "the order was created once, with the payment's key %s as "
     "PayPal-Request-Id (a runner whose token part 2 revoked refreshes it first)" % pkey, creates)
page, ret = approve_in_browser(loc)
t.ok(ret and ret.startswith("/pay/return/paypal/%s?token=%s&PayerID=" % (pub, oid)),
     "approving sends the customer back to /pay/return/paypal/{id}?token=&PayerID=", ret)
r = c.get(ret)
t.ok(r.status in (200, 303), "the return page answers", r.status)
t.ok(wait_for(lambda: pay(pid)["fulfilled_at"] is not None, 30), "the order is fulfilled", pay(pid))
time.sleep(1)  # the late deliveries and the other capture job land
st = pp.state()
caps = [x for x in st["captures"].values() if x["supplementary_data"]["related_ids"]["order_id"] == oid]
ccalls = [x for x in st["calls"] if x[1] == "/v2/checkout/orders/%s/capture" % oid]
t.ok(len(caps) == 1 and ccalls and {x[2] for x in ccalls} == {"capture:%d" % pid},
     "one capture, every capture call with PayPal-Request-Id capture:%d (%d call(s))" % (pid, len(ccalls)), ccalls)
order = pay(pid)["order_id"]
t.is_(paid_events(order), 1, "paid once, whether the return page, the approval or the capture's webhook came first")
t.ok(s.sql("SELECT count(*) FROM gateway_events WHERE payment_id = ?", (pid,))[0][0] >= 2,
     "the webhooks are recorded beside the return page's capture", events(pid))
r = c.get(ret)
t.ok(r.status == 303 and "/orders/" in (r.header("location") or ""), "the return page now sends the customer to the order",
     (r.status, r.header("location")))
t.is_(s.sql("SELECT count(*) FROM jobs WHERE kind = 'payment_capture' AND payload LIKE ?", ('%%%d%%' % pid,))[0][0], 1,
      "a reload enqueues no second capture")

# A top-up through PayPal: the wallet credited once.
bal0 = s.sql("SELECT coalesce(balance_minor, 0) FROM wallets WHERE customer_id = ?", (paula,))
bal0 = bal0[0][0] if bal0 else 0
r = c.get("/wallet")
t.ok('value="paypal"' in r.text, "/wallet offers a top-up through PayPal")
idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text).group(1)
r = c.post("/wallet/topup", {"amount": "25.00", "method": "paypal", "idem": idem}, page="/wallet")
m = re.match(r"^/pay/([0-9a-f]{32})$", r.header("location") or "")
t.ok(r.status == 303 and m, "a top-up of 25.00: 303 to /pay/{id}", (r.status, r.header("location")))
tpub = m.group(1)
tpid = s.sql("SELECT id FROM payments WHERE public_id = ?", (tpub,))[0][0]
page, ret = approve_in_browser(follow_pay(tpub))
t.ok("25.00" in page, "the approve page shows 25.00")
c.get(ret)
t.ok(wait_for(lambda: pay(tpid)["fulfilled_at"] is not None, 30), "the top-up is fulfilled", pay(tpid))
time.sleep(1)
t.is_(s.sql("SELECT balance_minor FROM wallets WHERE customer_id = ?", (paula,))[0][0] - bal0, 2500,
      "the wallet is credited 25.00 once")

t.ok(s.sql("SELECT count(*) FROM payments WHERE fulfilled_at IS NOT NULL AND state NOT IN "
           "('succeeded', 'partially_refunded', 'refunded')")[0][0] == 0,
     "no payment fulfilled that was not paid")
s.check_sanitizers(t)
pp.stop()
s.stop()
t.done()
