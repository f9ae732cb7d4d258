#!/usr/bin/env python3
"""The password strength meter and the Show control (issue 16,
authflow16; ASVS V2.1.8, V2.1.12) in a real browser: Debian's chromium
driven by playwright-core (t/browser/passwords.cjs) against a private
Stack.  public/js/password.js, loaded with <script src defer> under the
CSP (script-src 'self'), puts a meter on new-password fields that counts
characters as the server does (twelve emoji are twelve) and changes as
one types, and a Show control on every password field that reveals the
text and hides it again; no CSP violation, no console error; without
JavaScript the form registers all the same."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP, browser_or_skip, Stack  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)

out = tempfile.mkdtemp(prefix="px-browser-")
s = Stack(workers=2).start()
base = "http://127.0.0.1:%d" % s.port
r = s.get("/js/password.js")
t.ok(r.status == 200 and "javascript" in (r.header("content-type") or "") and
     r.header("x-content-type-options") == "nosniff", "nginx serves /js/password.js as JavaScript, nosniff",
     (r.status, r.header("content-type")))
page = s.get("/register")
csp = page.header("content-security-policy") or ""
t.ok('<script src="/js/password.js" defer></script>' in page.text and "script-src 'self'" in csp and
     "<script>" not in page.text and "unsafe-inline" not in csp,
     "the page loads it with <script src defer>, no inline script, CSP script-src 'self'")
t.ok("<script" not in s.get("/plans").text, "a page without a password field loads no script")
try:
    p = subprocess.run([node, os.path.join(SRC, "t", "browser", "passwords.cjs"), pw, base, out],
                       capture_output=True, text=True, timeout=180,
                       env=dict(os.environ, PX_CLOCK_FILE=s.clock_file))
except subprocess.TimeoutExpired:
    t.bail("the browser script ran past 180 s")
if not t.ok(p.returncode == 0, "the browser script ran", p.stderr[-3000:]):
    t.done()
res = json.loads(p.stdout.strip().splitlines()[-1])
reg = res["register"]
t.is_(reg["status"], 200, "/register: 200 in the browser")
t.is_(reg["toggles"], 1, "the register form's password field has a Show control")
t.ok(reg["empty"] and "At least 12" in reg["empty"]["text"], "an empty field's meter says the rule", reg["empty"])
t.ok(reg["short"]["score"] == "0" and "Too short: 5" in reg["short"]["text"], "the strength meter says too short",
     reg["short"])
t.ok(reg["emoji"]["score"] != "0" and "12 characters" in reg["emoji"]["text"],
     "twelve emoji count as twelve characters, as on the server", reg["emoji"])
t.ok(int(reg["long"]["score"]) >= 3 and int(reg["long"]["score"]) > int(reg["short"]["score"]) and
     reg["long"]["value"] >= 3, "the strength meter changes as one types: a long mixed password is good or strong",
     reg["long"])
t.ok(reg["typeBefore"] == "password" and reg["typeShown"] == "text" and
     reg["valueShown"] == "tangerine lighthouse 4471 Q" and reg["pressed"] == "true",
     "the Show control reveals the typed text", reg)
t.is_(reg["typeHidden"], "password", "a second click hides it again")
t.ok(res["login"]["toggles"] == 1 and res["login"]["meters"] == 0,
     "the sign-in form's password gets the Show control but no meter", res["login"])
t.ok(not res["csp"], "no Content-Security-Policy violations", "\n".join(res["csp"]))
t.ok(not res["console"], "no console errors or warnings", "\n".join(res["console"]))
t.ok(not res["pageerrors"], "no uncaught page errors", "\n".join(res["pageerrors"]))
t.ok(res["nojs"]["toggles"] == 0 and "Check your inbox" in res["nojs"]["after"],
     "without JavaScript there is no control, and the form registers all the same", res["nojs"])
t.is_(s.sql("SELECT count(*) FROM customers WHERE email = 'nojs@example.com'")[0][0], 1, "... the account exists")
s.stop()
if not os.environ.get("PX_KEEP"):
    shutil.rmtree(out, ignore_errors=True)
t.done()
