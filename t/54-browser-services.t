#!/usr/bin/env python3
"""The customer's proxies in a real browser (issue 12, "Tests must show":
"In Chromium: buy, see the service become active, copy the link, scan the
QR (decode the SVG back), open the subscription"): Debian's chromium
driven by playwright-core (t/browser/services.cjs) signs in through the
form, buys a plan bound to an inbound of the panel double (its page, the
cart, checkout paid from the wallet) while `work` provisions it
(job_provision.c), follows the header's Proxies link and reloads until
the proxy is active, opens its page, copies the share link with Ctrl+C
and reads the clipboard back, decodes the QR code from the page's own
pixels with the npm package jsqr, and fetches the subscription URL from
the page.  The link is the one the panel holds: the client's UUID on the
double.  On both pages: no console error, no page error, no CSP
violation, no axe WCAG 2.2 A/AA violation at 1280px and 390px.  Without
chromium, node or the npm packages the test is a loud SKIP, and under
CI=true a failure."""
import base64
import json
import os
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP, browser_or_skip  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402
import pxprov as pv  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)
for pkg, f in (("axe-core", "axe.min.js"), ("jsqr", "package.json")):
    if not os.path.isfile(os.path.join(pw, pkg, f)):
        t.skip_all("BROWSER SERVICES TEST NOT RUN: %s is not installed in %s (./quickstart test installs it)" % (pkg, pw))

CUST = ("sol@example.com", "amber lighthouse orchard 71")
out = tempfile.mkdtemp(prefix="px-services-")
s = Shop(workers=2, conf={"work_runners": "2", "panel_timeout": "5", "smtp_timeout": "10"}).start()
base = "http://127.0.0.1:%d" % s.port
sql = s.sql

# A current (v3.6.0) panel double with one vless inbound, synced; a plan
# bound to it.
panel = pv.panel(s, "p", "current", "vless:21001:DE-v", persist=False)
sid = pv.server(s, panel, "de-1")
plan = pv.plan(s, "vless-svc", "vless", inbound=pv.inbounds(s, sid)["vless"][0], price=700)

b = Browser(s)
r = b.get("/register")
r = b.post("/register", {"email": CUST[0], "name": "Sol", "password": CUST[1], "terms": "1", "csrf": csrf_of(r.text)})
if r.status != 200:
    t.bail("register failed: %d %s" % (r.status, r.text[:300]))
sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (CUST[0],))
cid = sql("SELECT id FROM customers WHERE email = ?", (CUST[0],))[0][0]
s.cli("test-commerce", "wallet", str(cid), "100000", "topup", "services-fund")

env = dict(os.environ, PX_CUST_EMAIL=CUST[0], PX_CUST_PW=CUST[1], PX_PLAN="vless-svc")
try:
    p = subprocess.run([node, os.path.join(SRC, "t", "browser", "services.cjs"), pw, base, out], env=env,
                       capture_output=True, text=True, timeout=300)
except subprocess.TimeoutExpired:
    t.bail("the browser run went past 300 s")
if not t.ok(p.returncode == 0, "the browser ran", p.stderr[-3000:]):
    t.done()
res = json.loads(p.stdout.strip().splitlines()[-1])
f = res["facts"]
t.ok("error" not in res, "the whole walk was done", res.get("error", "")[-3000:])
for name in ("services", "service"):
    pg = res["pages"].get(name, {})
    t.is_(pg.get("status"), 200, "%s answered 200" % name)
    for w in ("1280", "390"):
        vs = pg.get("axe", {}).get(w)
        t.ok(vs == [], "%s at %spx: axe WCAG 2.2 A/AA, no violation" % (name, w),
             json.dumps(vs, indent=1) if vs else "not checked")
t.ok(not res["console"], "no console errors or warnings", "\n".join(res["console"]))
t.ok(not res["pageerrors"], "no uncaught page errors", "\n".join(res["pageerrors"]))
t.ok(not res["csp"], "no Content-Security-Policy violation (the QR codes are data: images)", "\n".join(res["csp"]))
t.ok(f.get("listed"), "after paying, the proxy appears on /services (reloaded until work provisioned it)",
     f.get("first_look"))
t.diag("paid to listed in the browser: %s ms" % f.get("active_after_ms"))
client = int(f.get("client") or 0)
row = sql("SELECT c.client_uuid, c.email, c.state, c.expires_at, c.traffic_limit_bytes, c.up_bytes, c.down_bytes "
          "FROM provisioned_clients c JOIN order_items i ON i.id = c.order_item_id JOIN orders o ON o.id = i.order_id "
          "WHERE c.id = ? AND o.customer_id = ?", (client, cid))
t.ok(row and row[0][2] == "active", "it is the customer's client, active", row)
uuid, email, _, exp, lim, up, down = row[0] if row else ("?", "?", None, 0, 0, 0, 0)
found, _ = pv.on_panel(panel, email)
t.ok(found and found[0][1].get("id") == uuid, "the panel double holds that client with that UUID")
t.is_(f.get("state"), "active", "its page says active")
t.is_(f.get("link"), "vless://%s@127.0.0.1:21001?security=none&type=tcp#DE-v-%s" % (uuid, email),
      "the share link is the panel's client on the panel's inbound (contract 6.2)")
t.is_(f.get("link_hrefs"), [], "and never an href")
t.is_(f.get("clipboard"), f.get("link"), "Ctrl+C copies exactly the link")
t.is_(f.get("qr"), f.get("link"), "the QR code decodes (jsqr, from the page's pixels) to exactly the link")
t.is_(f.get("sub_qr"), f.get("sub_url"), "the subscription URL's QR code decodes to the URL")
sub = f.get("sub") or {}
t.is_(sub.get("status"), 200, "the subscription URL opens from the browser")
t.is_(base64.b64decode(sub.get("body", "")).decode("utf-8", "replace"), f.get("link"),
      "its body decodes to the one active link")
t.is_(sub.get("userinfo"), "upload=%d; download=%d; total=%d; expire=%d" % (up, down, lim, exp or 0),
      "with Subscription-Userinfo")
t.diag("screenshots and HTML in " + out)
panel.stop()
s.check_sanitizers(t)
t.done()
