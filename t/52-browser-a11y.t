#!/usr/bin/env python3
"""Every page passes WCAG 2.2 AA and the Nu HTML checker.

Debian's chromium, driven by playwright-core (t/browser/a11y.cjs), opens
each page a person can reach: public (home, catalog, a filter, a filter
with no result, a plan, terms, two 404s, sign-in, register, forgotten
password, staff sign-in), a customer's (account, email, password,
sessions, delete, 2FA setup and the recovery codes, tokens and a new
token, the wallet, an invoice, the second-factor sign-in) and a staff
member's (2FA enrolment and codes, dashboard, staff, audit, security,
tokens, re-authentication, customers, a customer, settings, an invoice,
the catalogue's plans, a plan, a new plan, categories, a category and
brands, the second-factor sign-in), signed in through the forms with TOTP codes
computed in node.  On each, axe-core (npm axe-core, run in the page) with
the tags wcag2a, wcag2aa, wcag21a, wcag21aa, wcag22aa at 1280px and at
390px, plus the structural rules heading-order, page-has-heading-one,
landmark-one-main: no violation.  The server's bytes of every page go
through the Nu HTML checker (npm vnu-jar, run with java): no error and no
warning.  Without chromium, node, the npm packages or java the test is a
loud SKIP, and under CI=true a failure."""
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
for pkg, f in (("axe-core", "axe.min.js"), ("vnu-jar", os.path.join("build", "dist", "vnu.jar"))):
    if not os.path.isfile(os.path.join(pw, pkg, f)):
        t.skip_all("ACCESSIBILITY TEST NOT RUN: %s is not installed in %s (./quickstart test installs it)" % (pkg, pw))
java = shutil.which("java")
if java is None:
    t.skip_all("ACCESSIBILITY TEST NOT RUN: no java for the Nu HTML checker (apt-get install default-jre-headless)")

CUST = ("cora@example.com", "copper meadow lantern 58")
STAFF = ("sid@example.com", "harbour violet engine 27")
out = tempfile.mkdtemp(prefix="px-a11y-")
s = Stack(workers=2).start()
base = "http://127.0.0.1:%d" % s.port

# A verified customer through the real form; a super admin through the CLI.
b = Browser(s)
r = b.get("/register")
r = b.post("/register", {"email": CUST[0], "name": "Cora", "password": CUST[1], "terms": "1", "csrf": csrf_of(r.text)})
if r.status != 200:
    t.bail("register failed: %d %s" % (r.status, r.text[:300]))
s.sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (CUST[0],))
s.cli("user", "add", "--role", "super_admin", "--name", "Sid Staff", STAFF[0], input=STAFF[1] + "\n")
# A wallet with a few ledger rows and an invoice for the money pages.
cid = s.sql("SELECT id FROM customers WHERE email = ?", (CUST[0],))[0][0]
s.cli("test-commerce", "wallet", str(cid), "2500", "topup", "a11y-1")
s.cli("test-commerce", "wallet", str(cid), "-1200", "purchase", "a11y-2")
s.sql("UPDATE customers SET billing_name = 'Cora Client', billing_address = '3 Quay Street, Galway' WHERE id = ?",
      (cid,))
oid, opub = s.cli("test-commerce", "order-new", str(cid), "1000", "0", "200").stdout.split()[:2]
invoice = s.cli("test-commerce", "invoice", oid, "commit").stdout.split()[0]
# A coupon for the staff's coupon pages (list and form).
coupon_id = s.sql("INSERT INTO coupons (code, kind, percent, max_uses) VALUES ('A11Y10', 'percent', 10, 5) "
                  "RETURNING id")[0][0]

env = dict(os.environ, PX_CLOCK_FILE=s.clock_file, PX_CUST_EMAIL=CUST[0], PX_CUST_PW=CUST[1],
           PX_STAFF_EMAIL=STAFF[0], PX_STAFF_PW=STAFF[1], PX_CUST_ID=str(cid), PX_INVOICE=invoice,
           PX_ORDER=opub, PX_COUPON_ID=str(coupon_id))
try:
    p = subprocess.run([node, os.path.join(SRC, "t", "browser", "a11y.cjs"), pw, pw, base, out], env=env,
                       capture_output=True, text=True, timeout=240)
except subprocess.TimeoutExpired:
    t.bail("the browser script ran past 240 s")
if not t.ok(p.returncode == 0, "the browser script ran", p.stderr[-3000:]):
    t.done()
res = json.loads(p.stdout.strip().splitlines()[-1])
t.ok("error" not in res, "every page was reached", res.get("error", "")[-3000:])
pages = res["pages"]

PUBLIC = ["home", "plans", "plans-filtered", "plans-none", "plan", "cart-add", "cart", "terms", "404", "plan-404",
          "login", "register", "forgot", "admin-login"]
CUSTOMER = ["account", "account-email", "account-password", "account-sessions", "account-delete", "checkout",
            "orders", "tokens", "account-2fa-setup", "account-codes", "account-2fa-on", "token-created", "tokens-list",
            "wallet", "invoice", "login-2fa"]
STAFF_PAGES = ["admin-2fa-setup", "admin-codes", "admin", "admin-staff", "admin-audit", "admin-security",
               "admin-tokens", "admin-reauth", "admin-customers", "admin-orders", "admin-order", "admin-customer", "admin-settings", "admin-coupons", "admin-coupon-new", "admin-coupon", "admin-invoice",
               "admin-plans", "admin-plan", "admin-plan-new", "admin-categories", "admin-category", "admin-brands",
               "admin-login-2fa"]
want = PUBLIC + CUSTOMER + STAFF_PAGES
t.is_([x for x in want if x not in pages], [], "all %d pages were visited" % len(want))
statuses = {k: v["status"] for k, v in pages.items()
            if v["status"] != (404 if k in ("404", "plan-404") else 200)}
t.is_(statuses, {}, "each page answered 200 (the two 404s 404)")
t.is_(res.get("customer_signed_in_again"), "/account", "the customer's second sign-in with a TOTP code reached /account")
t.is_(res.get("staff_signed_in_again"), "/admin", "the staff member's second sign-in with a TOTP code reached /admin")
t.ok(not res["console"], "no console errors", "\n".join(res["console"]))


def show(vs):
    lines = []
    for v in vs:
        lines.append("%s (%s; %s): %s" % (v["id"], v["impact"], ",".join(v["tags"]) or "best-practice", v["help"]))
        for n in v["nodes"]:
            lines.append("    %s  %s" % (n["target"], n["html"]))
            if n["why"]:
                lines.append("      " + n["why"])
    return "\n".join(lines)


for name in want:
    for w in ("1280", "390"):
        vs = pages.get(name, {}).get("axe", {}).get(w)
        t.ok(vs == [], "%s at %spx: axe WCAG 2.2 A/AA, no violation" % (name, w),
             show(vs) if vs else "not checked")

# The Nu HTML checker, once over every saved page (one JVM).
files = sorted(os.path.join(out, x + ".html") for x in want if os.path.isfile(os.path.join(out, x + ".html")))
t.is_(len(files), len(want), "the HTML of every page was saved")
v = subprocess.run([java, "-jar", os.path.join(pw, "vnu-jar", "build", "dist", "vnu.jar"), "--format", "json",
                    "--stdout", "--exit-zero-always"] + files, capture_output=True, text=True, timeout=180)
try:
    msgs = json.loads(v.stdout)["messages"]
except (ValueError, KeyError):
    msgs = None
if t.ok(msgs is not None, "the Nu HTML checker ran (%s)" % os.path.basename(java), (v.stdout + v.stderr)[-2000:]):
    by = {}
    for m in msgs:
        name = os.path.basename(m.get("url", "?")).rsplit(".", 1)[0]
        bad = m.get("type") in ("error", "non-document-error") or m.get("subType") == "warning"
        if bad:
            by.setdefault(name, []).append("%s line %s: %s: %s  [%s]" % (
                m.get("type") if m.get("subType") != "warning" else "warning", m.get("lastLine"),
                m.get("message"), "", (m.get("extract") or "").strip()[:120]))
    for name in want:
        t.ok(name not in by, "%s: the Nu HTML checker finds no error or warning" % name, "\n".join(by.get(name, [])))
    stray = {k: x for k, x in by.items() if k not in want}
    t.ok(not stray, "nor anything about another file", json.dumps(stray, indent=1))

t.diag("screenshots and HTML in " + out)
s.check_sanitizers(t)
s.stop()
if not os.environ.get("PX_KEEP"):
    shutil.rmtree(out, ignore_errors=True)
t.done()
