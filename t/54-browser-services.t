#!/usr/bin/env python3
"""The customer's proxies in a real browser (issue 12, "Tests must show":
"In Chromium: ... see the service become active, copy the link, scan the
QR (decode the SVG back), open the subscription"): Debian's chromium
driven by playwright-core (t/browser/services.cjs) signs in through the
form, follows the header's Proxies link, sees the active proxy listed,
opens its page, copies the share link with Ctrl+C and reads the
clipboard back, decodes the QR code from the page's own pixels with the
npm package jsqr, and fetches the subscription URL from the page.  On
both pages: no console error, no page error, no CSP violation, no axe
WCAG 2.2 A/AA violation at 1280px and 390px.

The client is inserted with SQL as the provisioning job leaves it
(t/lib/pxsvc.py), first pending ("being set up"), then active: branch
prov's provision job had not landed on main when this was written, so
the purchase itself is t/53's and the panel's side is prov's.  Without
chromium, node or the npm packages the test is a loud SKIP, and under
CI=true a failure."""
import base64
import json
import os
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP, browser_or_skip, Stack  # noqa: E402
from pxweb import Browser, csrf_of  # noqa: E402
import pxsvc  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)
for pkg, f in (("axe-core", "axe.min.js"), ("jsqr", "package.json")):
    if not os.path.isfile(os.path.join(pw, pkg, f)):
        t.skip_all("BROWSER SERVICES TEST NOT RUN: %s is not installed in %s (./quickstart test installs it)" % (pkg, pw))

CUST = ("sol@example.com", "amber lighthouse orchard 71")
out = tempfile.mkdtemp(prefix="px-services-")
s = Stack(workers=2).start()
base = "http://127.0.0.1:%d" % s.port
sql = s.sql

b = Browser(s)
r = b.get("/register")
r = b.post("/register", {"email": CUST[0], "name": "Sol", "password": CUST[1], "terms": "1", "csrf": csrf_of(r.text)})
if r.status != 200:
    t.bail("register failed: %d %s" % (r.status, r.text[:300]))
sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (CUST[0],))
cid = sql("SELECT id FROM customers WHERE email = ?", (CUST[0],))[0][0]

# A paid item whose client the job has not made yet: "being set up".
pxsvc.set_server(sql, 1, host="de1.example.net", version="v3.5.0")
ib = pxsvc.inbound(sql, 1, "vless", 443, pxsvc.VLESS_REALITY, remark="DE-1")
client, pub, item = pxsvc.client(sql, cid, ib, state="pending", flow="xtls-rprx-vision", limit=50 << 30,
                                 up=3 << 30, down=7 << 30, online=1)
sess = Browser(s)
r = sess.get("/login")
r = sess.post("/login", {"email": CUST[0], "password": CUST[1], "csrf": csrf_of(r.text)})
page = sess.get("/services").text
t.ok("being set up" in page and 'href="/services/%d"' % client not in page,
     "before the job lands: the item is \"being set up\", no proxy page yet")
# The job lands: the client is active (what prov's provision job writes).
sql("UPDATE provisioned_clients SET state = 'active' WHERE id = ?", (client,))
sql("UPDATE order_items SET state = 'active' WHERE id = ?", (item,))
link = sess.get("/services/%d" % client).text

env = dict(os.environ, PX_CUST_EMAIL=CUST[0], PX_CUST_PW=CUST[1], PX_CLIENT=str(client))
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
t.ok(f.get("listed"), "the active proxy is listed on /services")
t.is_(f.get("state"), "active", "its page says active")
want = sql("SELECT client_uuid FROM provisioned_clients WHERE id = ?", (client,))[0][0]
t.ok((f.get("link") or "").startswith("vless://%s@de1.example.net:443?" % want), "the share link is shown", f.get("link"))
t.is_(f.get("link_hrefs"), [], "and never as an href")
t.is_(f.get("clipboard"), f.get("link"), "Ctrl+C copies exactly the link")
t.is_(f.get("qr"), f.get("link"), "the QR code decodes (jsqr, from the page's pixels) to exactly the link")
t.is_(f.get("sub_qr"), f.get("sub_url"), "the subscription URL's QR code decodes to the URL")
sub = f.get("sub") or {}
t.is_(sub.get("status"), 200, "the subscription URL opens from the browser")
t.is_(base64.b64decode(sub.get("body", "")).decode("utf-8", "replace"), f.get("link"),
      "its body decodes to the one active link")
t.is_(sub.get("userinfo"), "upload=%d; download=%d; total=%d; expire=%d" % (
    3 << 30, 7 << 30, 50 << 30, sql("SELECT expires_at FROM provisioned_clients WHERE id = ?", (client,))[0][0]),
    "with Subscription-Userinfo")
t.diag("screenshots and HTML in " + out)
s.check_sanitizers(t)
t.done()
