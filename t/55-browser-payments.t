#!/usr/bin/env python3
"""Checkout through each payment gateway in a real browser (issue 13,
"Tests must show": "In Chromium: checkout with each gateway against the
doubles, back to the order page, service active; under the CSP with no
violation").  Debian's chromium driven by playwright-core
(t/browser/payments.cjs) signs in, buys a plan bound to an inbound of the
panel double, and pays by card (t/lib/stripe_double.py), PayPal
(t/lib/paypal_double.py) and crypto (t/lib/nowpay_double.py): the
checkout form, the shop's /pay page, the double's own checkout page and
its button, the shop's return page, the order page reloaded until the
item links "Your proxy" (work fulfilled and provisioned it).

The shop holds its answer to the checkout form (a test pause point,
checkout:pay-committed) until work has made the gateway's checkout, so
the redirect chain from the form reaches the gateway's origin: the chain
that CSP form-action governs.  First, with stripe_checkout_origin naming
another origin than the double's, that chain is refused by the browser
(a form-action violation, the browser stays on the shop): the check can
fail.  Then, with every gateway's checkout origin configured, each
checkout completes with no CSP violation, no console error and no page
error on the shop's pages.  Without chromium, node or the npm packages
the test is a loud SKIP, and under CI=true a failure."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP, browser_or_skip, wait_for  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402
import pxnowpay as pn  # noqa: E402
from pxpaypal import PayPalDouble  # noqa: E402
import pxprov as pv  # noqa: E402
import pxstripe as ps  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)

CUST = ("pia@example.com", "copper kettle meadow 55")
out = tempfile.mkdtemp(prefix="px-payments-")
sig = os.path.join(out, "signals")
os.makedirs(sig)
s = Shop(workers=2, conf={"work_runners": "3", "panel_timeout": "5", "smtp_timeout": "10",
                          "gateway_timeout": "5", "paypal_cert_hosts": "127.0.0.1"})
PAUSE = os.path.join(s.dir, "pause")
s.extra["test_pause_file"] = PAUSE
stripe = ps.StripeDouble(s)
nowpay = pn.NowPayDouble(s)
paypal = PayPalDouble(s.dir, webhook="http://127.0.0.1:%d/webhooks/paypal" % s.port, auto_webhooks=True)
s.extra.update(paypal_api_url=paypal.url, paypal_checkout_origin=paypal.url, paypal_ca_file=paypal.ca,
               gateway_ca_file=paypal.ca)
# First the wrong origin for Stripe: the browser must refuse the chain.
s.extra["stripe_checkout_origin"] = "http://127.0.0.1:9"
s.start()
base = "http://127.0.0.1:%d" % s.port
sql = s.sql
stripe.configure()
nowpay.configure()
for name, value in (("paypal.client_id", paypal.client_id), ("paypal.client_secret", paypal.client_secret),
                    ("paypal.webhook_id", paypal.webhook_id)):
    s.cli("gateway", "set", name, input=value + "\n")
s.cli("gateway", "enable", "paypal")
sql("INSERT INTO settings (key, value) VALUES ('payments.paypal.verify', 'offline') "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value")

panel = pv.panel(s, "p", "current", "vless:21055:DE-pay", persist=False)
sid = pv.server(s, panel, "de-pay")
pv.plan(s, "vless-pay", "vless", inbound=pv.inbounds(s, sid)["vless"][0], price=900)

b = Browser(s)
r = b.get("/register")
r = b.post("/register", {"email": CUST[0], "name": "Pia", "password": CUST[1], "terms": "1",
                         "csrf": csrf_of(r.text)})
if r.status != 200:
    t.bail("register failed: %d %s" % (r.status, r.text[:300]))
sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (CUST[0],))
cid = sql("SELECT id FROM customers WHERE email = ?", (CUST[0],))[0][0]


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def conductor(names, stop):
    """For each phase: when the script says go, arm the pause; when the
    worker holds the checkout's answer, wait until work has made the
    gateway's checkout, release the worker, and tell the script."""
    for name in names:
        while not os.path.exists(os.path.join(sig, name + ".go")):
            if stop.is_set():
                return
            time.sleep(0.02)
        last = sql("SELECT coalesce(max(id), 0) FROM payments")[0][0]
        write(PAUSE, "checkout:pay-committed\n")
        write(os.path.join(sig, name + ".armed"), "")
        held = wait_for(lambda: os.path.exists(PAUSE + ".hit"), 30)
        made = wait_for(lambda: sql("SELECT count(*) FROM payments WHERE id > ? AND checkout_url IS NOT NULL",
                                    (last,))[0][0] > 0, 30)
        HELD[name] = (held, made)
        write(PAUSE, "released\n")
        time.sleep(0.1)
        for f in (PAUSE + ".hit",):
            if os.path.exists(f):
                os.unlink(f)
        write(os.path.join(sig, name + ".ready"), "")


HELD = {}


def browse(phases):
    stop = threading.Event()
    th = threading.Thread(target=conductor, args=([p["name"] for p in phases], stop), daemon=True)
    th.start()
    env = dict(os.environ, PX_CUST_EMAIL=CUST[0], PX_CUST_PW=CUST[1], PX_PLAN="vless-pay",
               PX_PHASES=json.dumps(phases), PX_SIGNAL_DIR=sig)
    d = os.path.join(out, phases[0]["name"])
    os.makedirs(d, exist_ok=True)
    try:
        p = subprocess.run([node, os.path.join(SRC, "t", "browser", "payments.cjs"), pw, base, d], env=env,
                           capture_output=True, text=True, timeout=400)
    except subprocess.TimeoutExpired:
        t.bail("the browser run went past 400 s")
    stop.set()
    th.join(5)
    if not t.ok(p.returncode == 0 and p.stdout.strip(), "the browser ran (%s)" % phases[0]["name"],
                p.stderr[-3000:]):
        t.done()
    res = json.loads(p.stdout.strip().splitlines()[-1])
    t.ok("error" not in res, "the whole walk was done", res.get("error", "")[-3000:])
    return res["phases"]


# The script waits for <phase>.armed before it presses the button: see
# payments.cjs (the signal files).
# -- 1. the wrong origin in form-action: the browser refuses the chain --
res = browse([{"name": "blocked", "gateway": "stripe", "origin": stripe.base, "expect": "blocked"}])
f = res["blocked"]["facts"]
t.ok(HELD.get("blocked") == (True, True), "the shop held its answer until the Stripe session existed",
     HELD.get("blocked"))
t.ok(not f.get("reached_gateway"), "with stripe_checkout_origin naming another origin the browser does not "
     "reach the double", f)
t.ok(any("form-action" in x for x in res["blocked"]["csp"]),
     "... and reports a form-action violation (so the check below can fail)", res["blocked"]["csp"])

# -- 2. every gateway's origin configured: each checkout completes --
s.extra["stripe_checkout_origin"] = stripe.base
s.write_conf()
s.pool.send_signal(signal.SIGTERM)
s.pool.wait(15)
s.start_pool()
r = s.get("/")
t.ok(stripe.base in (r.header("content-security-policy") or "") and
     paypal.url in (r.header("content-security-policy") or "") and
     nowpay.base in (r.header("content-security-policy") or ""),
     "form-action lists the three doubles' origins", r.header("content-security-policy"))
phases = [{"name": gw, "gateway": gw, "origin": origin, "expect": "pay"}
          for gw, origin in (("stripe", stripe.base), ("paypal", paypal.url), ("nowpayments", nowpay.base))]
res = browse(phases)
for ph in phases:
    name = ph["name"]
    r = res.get(name, {"facts": {}, "csp": ["not run"], "console": [], "pageerrors": []})
    f = r["facts"]
    t.ok(f.get("offered") and "pay-" + name in f["offered"], "%s: /checkout offers it" % name, f.get("offered"))
    t.ok(HELD.get(name) == (True, True), "%s: the shop held its answer until the gateway's checkout existed" % name,
         HELD.get(name))
    t.ok(f.get("reached_gateway") and f.get("gateway_url", "").startswith(ph["origin"]),
         "%s: the form's redirect chain reached the double's checkout page" % name, f)
    t.ok((f.get("returned_to") or "").startswith("/pay/return/%s/" % name),
         "%s: paying there sent the browser back to the shop's return page" % name, f.get("returned_to"))
    t.ok(f.get("order") and f.get("active"), "%s: the order page links the proxy (paid, provisioned)" % name, f)
    t.ok(not r["csp"], "%s: no CSP violation" % name, "\n".join(r["csp"]))
    t.ok(not r["console"], "%s: no console error or warning on the shop's pages" % name, "\n".join(r["console"]))
    if r.get("gateway_console"):
        t.diag("%s: the double's own pages said: %s" % (name, "; ".join(r["gateway_console"])))
    t.ok(not r["pageerrors"], "%s: no page error" % name, "\n".join(r["pageerrors"]))
    if f.get("order"):
        row = sql("SELECT o.state, p.gateway, p.state, p.fulfilled_at IS NOT NULL FROM orders o JOIN payments p "
                  "ON p.order_id = o.id WHERE o.public_id = ? AND o.customer_id = ? AND p.state = 'succeeded'",
                  (f["order"], cid))
        t.ok(len(row) == 1 and row[0][1] == name and row[0][3], "%s: the order has one succeeded payment by %s, "
             "fulfilled" % (name, name), row)
    t.diag("%s: form to gateway %s ms, form to proxy listed %s ms" % (name, f.get("to_gateway_ms"),
                                                                     f.get("paid_to_active_ms")))
t.diag("screenshots and HTML in " + out)
panel.stop()
paypal.stop()
s.check_sanitizers(t)
t.done()
