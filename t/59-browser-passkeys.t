#!/usr/bin/env python3
"""Passkeys in a real browser: Debian's chromium driven by playwright-core
(t/browser/passkeys.cjs) with the DevTools virtual authenticator (CTAP2,
internal transport, resident keys, user verification), against a Shop
whose base_url is http://localhost:PORT (WebAuthn needs a secure context
and a domain for the RP ID: localhost is both, 127.0.0.1 is not a valid
RP ID).  A customer adds a passkey from /account/passkeys, signs out and
signs in with it; a staff member enrols TOTP, adds one with password and
code, signs out and signs in with it.  public/js/passkey.js runs under
the CSP: no console errors, no page errors, no CSP violations.
Screenshots are kept in the test's temp dir (PX_KEEP=1 keeps it)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP, browser_or_skip  # noqa: E402
from pxweb import Browser, Shop  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)

STAFF_PW = "granite lantern orchard 62"
CUST_PW = "tangerine orbit lamp 41"
out = tempfile.mkdtemp(prefix="px-browser-passkeys-")
s = Shop(workers=2)
base = "http://localhost:%d" % s.port
s.extra["base_url"] = base
s.start()
s.cli("user", "add", "--role", "super_admin", "--name", "Ada Admin", "ada@example.com", input=STAFF_PW + "\n")
r = Browser(s).form("/register", "/register", {"email": "pia@example.com", "name": "Pia", "password": CUST_PW,
                                               "terms": "1"})
t.is_(r.status, 200, "(the customer registers)")
s.sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = 'pia@example.com'")

env = dict(os.environ, PX_CLOCK_FILE=s.clock_file, PX_STAFF_PW=STAFF_PW, PX_CUST_PW=CUST_PW)
try:
    p = subprocess.run([node, os.path.join(SRC, "t", "browser", "passkeys.cjs"), pw, base, out], env=env,
                       capture_output=True, text=True, timeout=180)
    rc, stdout, err = p.returncode, p.stdout, p.stderr
except subprocess.TimeoutExpired as e:
    rc, stdout, err = -1, "", "killed after 180 s: %s" % (e.stderr or "")
res = None
for line in stdout.splitlines():
    try:
        res = json.loads(line)["result"]
    except (ValueError, KeyError):
        continue
if not t.ok(rc == 0 and res is not None, "the browser script ran", str(err)[-3000:]):
    t.done()
t.ok("error" not in res, "every step was reached", res.get("error", "")[-3000:])
pg, st = res["pages"], res["steps"]


def page(name):
    return pg.get(name, {})


# -- customer --
t.ok(st.get("login_passkey_visible"), "/login shows the passkey button (passkey.js revealed it)")
t.ok(page("passkey-added").get("url") == "/account/passkeys?done=added" and
     "passkey is added" in page("passkey-added").get("alert", ""),
     "the customer adds a passkey from /account/passkeys", page("passkey-added"))
t.ok(any("chromium" in x and ("ES256" in x or "EdDSA" in x) for x in st.get("rows", [])),
     "the list shows it by name and algorithm", st.get("rows"))
creds = st.get("creds_after_add", [])
t.ok(len(creds) == 1 and creds[0]["resident"] and creds[0]["rpId"] == "localhost",
     "the virtual authenticator holds one discoverable credential for localhost", creds)
row = s.sql("SELECT p.alg, p.sign_count FROM passkeys p JOIN customers c ON c.id = p.customer_id "
            "WHERE c.email = 'pia@example.com'")
t.ok(len(row) == 1 and row[0][0] in (-7, -8), "the server stored it", row)
t.ok(page("signed-out").get("url") == "/", "the customer signs out", page("signed-out"))
t.ok(page("passkey-signed-in").get("url") == "/account" and page("passkey-signed-in").get("status") == 200,
     "signing in with the passkey lands on /account", page("passkey-signed-in"))
t.ok("Pia" in (st.get("header_after") or ""), "signed in as the customer", st.get("header_after"))
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = 'login' AND detail = 'customer, passkey'")[0][0] == 1,
     "the sign-in is audited as a passkey login")

# -- staff --
t.ok(page("admin-passkey-added").get("url") == "/admin/passkeys?done=added",
     "the staff member adds a passkey (password and code)", page("admin-passkey-added"))
t.ok(any("chromium staff" in x for x in st.get("admin_rows", [])), "the staff list shows it", st.get("admin_rows"))
t.ok(page("admin-passkey-signed-in").get("url") == "/admin" and page("admin-passkey-signed-in").get("status") == 200,
     "signing in with the passkey lands on /admin", page("admin-passkey-signed-in"))
t.ok(len(st.get("creds_staff", [])) == 1 and st["creds_staff"][0]["count"] >= 1,
     "the authenticator holds the staff passkey, its counter used", st.get("creds_staff"))
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = 'login' AND detail = 'staff, passkey'")[0][0] == 1,
     "the staff sign-in is audited as a passkey login")

# Chromium advises offering RS256 too (some Windows Hello keys): the
# server takes ES256 and EdDSA only (the issue's scope), so that one
# warning, on the two pages that add a passkey, is expected.
rs256 = [x for x in res["console"] if "missing at least one of the default algorithm identifiers" in x]
t.ok(not [x for x in res["console"] if x not in rs256] and len(rs256) <= 2,
     "no console errors or warnings (%d pages) but chromium's RS256 advice" % len(pg), "\n".join(res["console"]))
t.ok(not res["pageerrors"], "no uncaught page errors", "\n".join(res["pageerrors"]))
t.ok(not res["csp"], "no Content-Security-Policy violations", "\n".join(res["csp"]))

s.check_sanitizers(t)
s.stop()
if not os.environ.get("PX_KEEP"):
    shutil.rmtree(out, ignore_errors=True)
t.done()
