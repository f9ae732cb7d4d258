#!/usr/bin/env python3
"""Every state-changing route in the route table (enumerated from the
binary, so a new route cannot be forgotten) refuses a request without
its CSRF token, and one with a cross-site Origin or Sec-Fetch-Site, for
each kind of caller that may reach it; webhooks and API routes carry no
cookies and are exempt by design."""
import hashlib
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402

t = TAP()
routes = []
for line in subprocess.run([BIN, "-c", "/dev/null", "test-routes"], capture_output=True, text=True).stdout.splitlines():
    method, pattern, who, perm, csrf, flags = line.split("\t")
    routes.append((method, pattern, who, perm, csrf))
unsafe = [r for r in routes if r[0] in ("POST", "PUT", "PATCH", "DELETE")]
t.ok(len(unsafe) >= 5, "the route table lists %d state-changing routes" % len(unsafe))
for m, p, who, perm, csrf in unsafe:
    if who not in ("webhook", "api"):
        t.is_(csrf, "csrf", "%s %s (%s) is CSRF-checked" % (m, p, who))

s = Shop(workers=2, conf={"test_routes": "yes"}).start()
PW = "correct horse battery staple"

# A verified customer with a session.
c = Browser(s)
c.form("/register", "/register", {"email": "c@example.com", "name": "C", "password": PW, "terms": "1"})
s.sql("UPDATE customers SET email_verified_at = unixepoch()")
r = c.form("/login", "/login", {"email": "c@example.com", "password": PW})
t.is_(r.status, 303, "customer signed in")

# A staff member with TOTP done, as the staff sign-in would leave it.
s.cli("user", "add", "--role", "super_admin", "boss@example.com", input=PW + "\n")
tok = "5" * 32
s.sql("UPDATE staff SET totp_enabled_at = unixepoch()")
s.sql("INSERT INTO sessions (token_hash, kind, staff_id, csrf_token, mfa_ok, expires_at) "
      "SELECT ?, 'staff', id, ?, 1, unixepoch() + 3600 FROM staff", (hashlib.sha256(tok.encode()).digest(), "6" * 32))
st = Browser(s)
st.jar["px_s"] = tok


def concrete(pattern):
    return (pattern.replace("{slug}", "fra-vless-starter").replace("{id:int}", "1")
            .replace("{token}", "a" * 32).replace("{public_id}", "a" * 20))


for m, p, who, perm, csrf in unsafe:
    if who in ("webhook", "api"):
        continue
    path = concrete(p)
    b = st if (who == "staff" or p.startswith("/admin")) else c
    r = b.s.request(m, path, headers=b.headers({"Content-Type": "application/x-www-form-urlencoded"}),
                    body="name=x&email=x%40example.com")
    t.is_(r.status, 403, "%s %s without a token is refused" % (m, p))
    good_token = "6" * 32 if b is st else csrf_of(b.get("/").text)
    r = b.s.request(m, path, headers=b.headers({"Content-Type": "application/x-www-form-urlencoded",
                                                "Origin": "https://evil.example"}),
                    body="csrf=%s&name=x" % good_token)
    t.is_(r.status, 403, "%s %s from a cross-site Origin is refused, even with the token" % (m, p))
    r = b.s.request(m, path, headers=b.headers({"Content-Type": "application/x-www-form-urlencoded",
                                                "Sec-Fetch-Site": "cross-site"}),
                    body="csrf=%s&name=x" % good_token)
    t.is_(r.status, 403, "%s %s with Sec-Fetch-Site: cross-site is refused" % (m, p))
    r = b.s.request(m, path, headers=b.headers({"Content-Type": "application/x-www-form-urlencoded",
                                                "Referer": "https://evil.example/page"}),
                    body="csrf=%s&name=x" % good_token)
    t.is_(r.status, 403, "%s %s with a foreign Referer (no Origin) is refused" % (m, p))
t.ok(s.sql("SELECT count(*) FROM sessions WHERE kind = 'customer'")[0][0] >= 1, "the customer's session survived every refused request")

# A refused POST shows the form again through the GET route of its path:
# that page's own authorization must hold.  /_test/guarded's GET needs
# security.manage, its POST only a staff session (support lacks it).
s.cli("user", "add", "--role", "support", "sup@example.com", input=PW + "\n")
sup_tok = "7" * 32
s.sql("UPDATE staff SET totp_enabled_at = unixepoch() WHERE email = 'sup@example.com'")
s.sql("INSERT INTO sessions (token_hash, kind, staff_id, csrf_token, mfa_ok, expires_at) "
      "SELECT ?, 'staff', id, ?, 1, unixepoch() + 3600 FROM staff WHERE email = 'sup@example.com'",
      (hashlib.sha256(sup_tok.encode()).digest(), "8" * 32))
sup = Browser(s)
sup.jar["px_s"] = sup_tok
t.is_(sup.get("/_test/guarded").status, 403, "support may not open the guarded page")
r = sup.post("/_test/guarded", {"csrf": "nope"})
t.ok(r.status == 403 and "the guarded page" not in r.text,
     "a refused POST does not re-display a page its caller may not open", r.text[:200])
r = st.post("/_test/guarded", {"csrf": "nope"})
t.ok(r.status == 403 and "the guarded page" in r.text,
     "(control: for a caller who may open it, the refused POST does show it again)", r.text[:200])

s.check_sanitizers(t)
s.stop()
t.done()
