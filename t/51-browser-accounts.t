#!/usr/bin/env python3
"""The account flows in a real browser: Debian's chromium driven by
playwright-core (t/browser/accounts.cjs) against a Shop (nginx, pool, work
daemon, SMTP double).  A customer registers, opens the verification link
from the mail and confirms, signs in, renames themself, turns on TOTP with
a code computed in node, signs out with the header's button, signs in with
the second factor, and makes an API token that /api/v1/me accepts.  A
staff member made with `1000proxy user add` signs in, enrols (the QR image
renders under the CSP), reaches the staff list and invites a colleague
behind re-authentication; the invite mail arrives.  A form whose CSRF
token was altered in the DOM comes back as a 403 with the email kept.
On every page: no console errors, no page errors, no CSP violations, no
sideways overflow at a 390px viewport.  Screenshots are kept in the
test's temp dir (PX_KEEP=1 keeps it)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, browser_or_skip  # noqa: E402
from pxweb import Shop, link_in  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)

STAFF_PW = "granite lantern orchard 62"
out = tempfile.mkdtemp(prefix="px-browser-accounts-")
s = Shop(workers=2).start()
s.cli("user", "add", "--role", "super_admin", "--name", "Ada Admin", "ada@example.com", input=STAFF_PW + "\n")
base = "http://127.0.0.1:%d" % s.port

# The script asks for what only this side can see (the SMTP double's mail)
# one JSON line at a time and ends with its result.
env = dict(os.environ, PX_CLOCK_FILE=s.clock_file, PX_STAFF_PW=STAFF_PW)
p = subprocess.Popen([node, os.path.join(SRC, "t", "browser", "accounts.cjs"), pw, base, out], env=env,
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
timer = threading.Timer(150, p.kill)
timer.start()
res, asked = None, []
for line in p.stdout:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if "result" in msg:
        res = msg["result"]
        break
    if msg.get("need") == "mail":
        m = s.wait_mail(msg["to"], msg["subject"])
        link = link_in(m, msg["prefix"]) if m else None
        asked.append((msg["subject"], link))
        p.stdin.write(json.dumps({"link": link}) + "\n")
        p.stdin.flush()
p.stdin.close()
err = p.stderr.read()
rc = p.wait()
timer.cancel()
if not t.ok(rc == 0 and res is not None, "the browser script ran", err[-3000:] or "killed after 150 s"):
    t.done()
t.ok("error" not in res, "every step of the flows was reached", res.get("error", "")[-3000:])
t.is_(res["rfc6238"], "94287082", "node's TOTP matches RFC 6238 Appendix B")
st = res["steps"]
pg = res["pages"]


def page(name):
    return pg.get(name, {})


# -- customer --
t.ok(page("register").get("status") == 200 and page("register").get("h1") == "Create an account", "/register opens")
t.ok(page("registered").get("status") == 200 and "Check your inbox" in st.get("registered", ""),
     "submitting the form: 'Check your inbox'", st.get("registered"))
t.ok(asked and asked[0][1] and asked[0][1].startswith("/verify/"), "the verification mail arrives with a link", asked)
t.ok("Confirm" in (st.get("verify_button") or ""), "the link opens a page with a Confirm button", st.get("verify_button"))
t.ok(page("verified").get("status") == 200 and "confirmed" in (st.get("verified") or ""),
     "clicking it confirms the email", st.get("verified"))
t.is_(s.sql("SELECT email_verified_at IS NOT NULL FROM customers WHERE email = 'ann@example.com'"), [(1,)],
      "email_verified_at is set")
t.ok(page("login").get("status") == 200 and page("login").get("h1") == "Sign in", "/login opens")
t.ok(page("account").get("url") == "/account" and page("account").get("status") == 200 and
     "verified" in (st.get("account_text") or ""), "signing in lands on /account (email shown verified)",
     page("account"))
pr = st.get("profile", {})
t.ok(page("account-saved").get("url") == "/account?ok=profile" and pr.get("value") == "Ann Lindqvist" and
     "Ann Lindqvist" in (pr.get("header") or "") and pr.get("notice", "").strip() != "",
     "the profile form saves the name (form, header, notice)", (page("account-saved").get("url"), pr))
t.is_(s.sql("SELECT name FROM customers WHERE email = 'ann@example.com'"), [("Ann Lindqvist",)], "and it is stored")
t.ok(st.get("secret_len") == 32, "/account/2fa shows a 32-character base32 key", st.get("secret_len"))
q = st.get("account_qr", {})
t.ok(q.get("complete") and q.get("w", 0) > 0, "the account QR image rendered", q)
t.ok(page("account-codes").get("status") == 200 and len(set(st.get("codes", []))) == 10,
     "password + computed code turn TOTP on: ten recovery codes", st.get("codes"))
t.ok(s.sql("SELECT totp_enabled_at IS NOT NULL FROM customers WHERE email = 'ann@example.com'") == [(1,)],
     "totp_enabled_at is set")
t.ok("10 unused recovery code" in st.get("totp_on", ""), "/account/2fa now says it is on, ten codes left",
     st.get("totp_on"))
so = st.get("signed_out", {})
t.ok(page("signed-out").get("url") == "/" and so.get("signin_link") and not so.get("account_link"),
     "the header's Sign out button signs out", (page("signed-out").get("url"), so))
t.ok(page("login-2fa").get("url", "").startswith("/login/2fa") and page("login-2fa").get("h1") == "Two-factor sign-in",
     "signing in again asks for the second factor at /login/2fa", page("login-2fa"))
t.ok(st.get("login_step_fresh"), "the sign-in code is from a later step than the enrolment code")
t.ok(page("account-2fa-signed-in").get("url") == "/account" and "Ann Lindqvist" in (st.get("after_2fa_header") or ""),
     "a fresh code completes the sign-in on /account", page("account-2fa-signed-in"))
t.ok(page("tokens").get("status") == 200 and page("token-created").get("status") == 200 and
     st.get("token_len", 0) >= 32, "/account/tokens creates a token and shows it", st.get("token_len"))
api = st.get("api", {})
t.ok(api.get("status") == 200 and (api.get("body") or {}).get("email") == "ann@example.com" and
     (api.get("body") or {}).get("kind") == "customer", "node's fetch of /api/v1/me with the Bearer token names Ann", api)
t.ok(st.get("token_again") is False and any("laptop script" in x for x in st.get("token_rows", [])),
     "the tokens list shows the token by name only (shown once)", st.get("token_rows"))

# -- staff --
t.ok(page("admin-login").get("status") == 200 and page("admin-login").get("h1") == "Staff sign-in", "/admin/login opens")
t.ok(page("admin-setup").get("url") == "/admin/2fa/setup", "the first sign-in is sent to /admin/2fa/setup",
     page("admin-setup").get("url"))
q = st.get("admin_qr", {})
t.ok(q.get("complete") and q.get("w", 0) > 0 and q.get("src", "").startswith("data:image/svg+xml"),
     "the QR <img> rendered from its data: URI (%sx%s)" % (q.get("w"), q.get("h")), q)
t.ok(len(set(st.get("admin_codes", []))) == 10, "enrolment with a computed code shows ten recovery codes",
     st.get("admin_codes"))
t.ok(page("admin").get("url") == "/admin" and "/admin/staff" in st.get("admin_nav", []),
     "'Continue' reaches /admin with Staff in the nav", (page("admin").get("url"), st.get("admin_nav")))
t.ok(page("admin-staff").get("url") == "/admin/staff" and any("ada@example.com" in x for x in st.get("staff_rows", [])),
     "the staff list shows the signed-in admin", st.get("staff_rows"))
t.ok(page("admin-reauth").get("url", "").startswith("/admin/reauth") and page("admin-reauth").get("h1") == "Confirm it is you",
     "inviting first asks to confirm it is you", page("admin-reauth"))
t.ok(page("admin-staff-fresh").get("url") == "/admin/staff" and not st.get("fresh_hint"),
     "password + a code from the next step confirm, back on /admin/staff", page("admin-staff-fresh"))
t.ok(page("admin-invited").get("url") == "/admin/staff?done=invited" and
     any("nia@example.com" in x and "invited" in x for x in st.get("invited_rows", [])),
     "the invitation is sent and the list shows Nia as invited", (page("admin-invited").get("url"), st.get("invited_rows")))
m = s.wait_mail("nia@example.com", "invited")
t.ok(m is not None and link_in(m, "/admin/invite/") is not None, "the invite mail reaches the SMTP double with its link")

# -- a tampered CSRF token --
c4 = st.get("csrf_403", {})
t.ok(st.get("csrf_before") and page("csrf-403").get("status") == 403, "a register form with an altered CSRF token: 403",
     page("csrf-403"))
t.ok(c4.get("email") == "eve@example.com" and c4.get("password") == "" and "expired" in c4.get("text", ""),
     "the form comes back with the typed email, without the password, saying why", c4)
t.is_(s.sql("SELECT count(*) FROM customers WHERE email = 'eve@example.com'"), [(0,)], "and no account was made")

# -- every page --
want = ["register", "registered", "verify", "verified", "login", "account", "account-saved", "account-2fa",
        "account-codes", "account-2fa-on", "account-sessions", "account-delete", "signed-out", "login-2fa", "account-2fa-signed-in", "tokens", "token-created", "tokens-list",
        "admin-login", "admin-setup", "admin-codes", "admin", "admin-staff", "admin-reauth", "admin-staff-fresh",
        "admin-invited", "csrf-403"]
t.is_([x for x in want if x not in pg], [], "every page was visited")
t.ok(all(v.get("cssLoaded") not in ("", "rgba(0, 0, 0, 0)") for v in pg.values()), "the stylesheet applied on every page")
# The one expected complaint: Chromium logs the tampered form's 403 answer.
expected = [x for x in res["console"] if x.startswith("csrf-403: error: Failed to load resource") and "403" in x]
t.ok(not [x for x in res["console"] if x not in expected], "no console errors or warnings (%d pages)" % len(pg),
     "\n".join(res["console"]))
for x in expected:
    t.diag("expected: " + x)
t.ok(not res["pageerrors"], "no uncaught page errors", "\n".join(res["pageerrors"]))
t.ok(not res["csp"], "no Content-Security-Policy violations", "\n".join(res["csp"]))
t.ok(not res["contrast"], "every visible button's text is readable on its background (contrast >= 3)",
     "\n".join(res["contrast"]))
for name in ("register", "login", "account", "admin-setup"):
    w = page(name).get("width", {})
    t.ok(w and w["scroll"] <= w["inner"], "%s at 390px: no horizontal overflow (%s <= %s)" % (name, w.get("scroll"), w.get("inner")),
         w.get("wide"))
wide = {k: v["width"] for k, v in pg.items() if v["width"]["scroll"] > v["width"]["inner"]}
t.ok(not wide, "no other page overflows sideways at 390px either", json.dumps(wide, indent=1))
shots = sorted(x for x in os.listdir(out) if x.endswith(".png"))
t.ok(len(shots) >= 2 * len(want), "screenshots saved (%d)" % len(shots))
t.diag("customer %s ms, staff %s ms" % (st.get("customer_ms"), st.get("staff_ms")))
t.diag("screenshots in " + out)
s.check_sanitizers(t)
s.stop()
if not os.environ.get("PX_KEEP"):
    shutil.rmtree(out, ignore_errors=True)
t.done()
