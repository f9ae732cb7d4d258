#!/usr/bin/env python3
"""The customer's account through nginx over TLS, with the SMTP double and
the work daemon delivering real mail: profile, change email (the link in
the mail works), change password (other sessions and the old cookie stop
working), the sessions list and revocation (another customer's id is a
404), delete (refused while the wallet holds money), customer TOTP end to
end with codes computed here (RFC 6238: previous step accepted, two steps
back not, each code and recovery code once, one winner when two workers
race), CSRF on every account POST (enumerated from src/routes.c) with the
form re-displayed, injection and oversized fields, well-formed HTML, and
the sanitizer scan."""
import atexit
import base64
import email
import email.policy
import hashlib
import hmac
import os
import re
import struct
import subprocess
import sys
import threading
from urllib.parse import urlencode, urlparse
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, Stack, terminate, wait_for  # noqa: E402
from pxmail import SMTPDouble, make_ca  # noqa: E402
from pxweb import Client as WebClient  # noqa: E402

t = TAP()

# -- the stack: two workers, TLS, SMTP double, work daemon --
s = Stack(workers=2, tls=True, conf={"work_poll_ms": "50", "retry_base": "1", "retry_cap": "2"})
ca, _, _ = make_ca(s.dir)
d = SMTPDouble(s, "smtp", "starttls", "shop", "s3cret")
s.extra.update(smtp_url=d.url, smtp_user="shop", smtp_password="s3cret", smtp_ca_file=ca,
               smtp_from="noreply@shop.example", site_name="Proxy Shop")
s.start()
work_err = open(os.path.join(s.dir, "work.stderr"), "ab")
work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=work_err, stderr=work_err)


def _cleanup():
    terminate(work)
    d.stop()


atexit.register(_cleanup)


sql = s.sql


def unthrottle():
    """Forget login failures between sections (all clients share 127.0.0.1)."""
    sql("DELETE FROM login_throttle")


# -- mail --
def mails():
    out = []
    for p in d.messages():
        m = email.message_from_bytes(open(p, "rb").read(), policy=email.policy.default)
        out.append((str(m["To"]), str(m["Subject"]), m.get_content()))
    return out


def wait_mail(to, subject_part, body_part="", timeout=20):
    found = []

    def look():
        found[:] = [m for m in mails() if m[0] == to and subject_part in m[1] and body_part in m[2]]
        return bool(found)
    wait_for(look, timeout)
    return found[-1] if found else None


def link_path(body):
    m = re.search(r"https?://[^\s]+", body)
    return urlparse(m.group(0)).path if m else None


# -- TOTP, RFC 6238 / RFC 4226, written here from the RFCs --
def hotp(key, counter, digits=6, alg=hashlib.sha1):
    h = hmac.new(key, struct.pack(">Q", counter), alg).digest()
    o = h[-1] & 15
    v = (struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % (10 ** digits)
    return "%0*d" % (digits, v)


def totp(secret_b32, offset=0, now=None):
    sec = secret_b32.replace(" ", "").upper()
    key = base64.b32decode(sec + "=" * (-len(sec) % 8))
    return hotp(key, int((now if now is not None else s.now()) // 30) + offset)


def calm():
    """Stay clear of a step boundary, so 'one step back' means what it
    says: the test clock moves past a near one."""
    s.next_step(30, 7)


# -- a browser: cookie jar, user agent, CSRF token from the form page --
class Client(WebClient):
    """pxweb's client, with a post that can send a given or no CSRF token
    and extra headers, and the session cookie by name."""

    def __init__(self, ua, tls=True, stack=None):
        super().__init__(stack or s, ua, tls)

    def post(self, path, fields, csrf=True, page=None, headers=None):
        f = dict(fields)
        if csrf is True:
            f["csrf"] = self.token(page or path)
        elif csrf:
            f["csrf"] = csrf
        h = self.headers({"Content-Type": "application/x-www-form-urlencoded"})
        h.update(headers or {})
        return self.store(self.s.request("POST", path, headers=h, body=urlencode(f), tls=self.tls))

    def session_cookie(self):
        return self.jar.get("__Host-px_c" if self.tls else "px_c")


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def location(r):
    return r.header("location") or ""


def register(c, addr, name, pw):
    r = c.post("/register", {"email": addr, "name": name, "password": pw, "terms": "1"})
    return r.status == 200 and "Check your inbox" in r.text


def login(c, addr, pw):
    return c.post("/login", {"email": addr, "password": pw})


def cid_of(addr):
    rows = sql("SELECT id FROM customers WHERE email = ?", (addr,))
    return rows[0][0] if rows else None


PW_A, PW_B, PW_C, PW_D = ("tangerine orbit lamp 41", "quiet harbor violin 77",
                          "sunlit gravel piano 19", "amber canyon whistle 53")
A, B, C_, D = "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"

# The test's TOTP is RFC 6238 Appendix B (SHA-1 seed, T = 59 s -> 94287082).
t.is_(hotp(b"12345678901234567890", 59 // 30, 8), "94287082", "the test's own TOTP matches RFC 6238 Appendix B")

# -- sign-up and the pages --
a, b = Client("px-test A"), Client("px-test B")
t.ok(register(a, A, "Alice", PW_A) and register(b, B, "Bob", PW_B), "two customers register")
r = login(a, A, PW_A)
t.ok(r.status == 303 and location(r) == "/account", "A signs in", (r.status, location(r)))
sc = " ".join(r.all("set-cookie"))
t.ok("__Host-px_c=" in sc and "Secure" in sc and "HttpOnly" in sc and "SameSite=Lax" in sc,
     "over TLS the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax", sc)
t.is_(login(b, B, PW_B).status, 303, "B signs in")
r = s.get("/account", tls=True)
t.ok(r.status == 303 and location(r).startswith("/login?next=/account"), "no session: /account sends to /login",
     location(r))
pages = ["/account", "/account/email", "/account/password", "/account/sessions", "/account/delete", "/account/2fa"]
for p in pages:
    r = a.get(p)
    t.is_(r.status, 200, "GET %s is 200" % p)
    html_ok(r, p)
    csp = r.header("content-security-policy") or ""
    t.ok("unsafe-inline" not in csp and "script-src 'self'" in csp, "%s: CSP without inline script" % p, csp)
r = a.get("/account")
t.ok(A in r.text and "$0.00" in r.text and "not verified" in r.text and "Off" in r.text,
     "/account shows email, unverified state, 2FA off and the wallet balance", r.text[-2000:])
m = wait_mail(A, "Confirm your email")
t.ok(m is not None, "the verification mail reached the SMTP double")
vp = link_path(m[2]) if m else "/verify/none"
r = a.post(vp, {})
t.ok(r.status == 200 and "Email confirmed" in r.text, "its link confirms the address")
t.ok(">verified<" in a.get("/account").text, "/account now says verified")

# -- profile: injection stored inert, limits --
evil = "<script>alert(1)</script>' OR 1=1; DROP TABLE customers; --\"&"
r = a.post("/account/profile", {"name": evil}, page="/account")
t.ok(r.status == 303 and location(r) == "/account?ok=profile", "profile saved", (r.status, location(r)))
t.is_(sql("SELECT name FROM customers WHERE email = ?", (A,)), [(evil,)], "the hostile name is stored as typed")
r = a.get(location(r))
t.ok("<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text,
     "... and rendered escaped", r.text[-1500:])
html_ok(r, "/account with a hostile name")
t.ok("Your name is saved." in r.text, "the notice after the redirect")
t.ok(sql("SELECT count(*) FROM customers")[0][0] == 2, "the customers table is still there")
r = a.post("/account/profile", {"name": "x" * 101}, page="/account")
t.ok(r.status == 400 and "at most 100" in r.text, "a 101-byte name is 400 with a form error", r.status)
html_ok(r, "profile error page")
r = a.post("/account/profile", {"name": ""}, page="/account")
t.is_(r.status, 400, "an empty name is 400")
r = a.post("/account/profile", {"name": "y" * 70000}, page="/account")
t.is_(r.status, 413, "a 70000-byte name is 413")
t.is_(sql("SELECT name FROM customers WHERE email = ?", (A,)), [(evil,)], "... and none of them was stored")
a.post("/account/profile", {"name": "Alice"}, page="/account")
for bad in ['"><script>x</script>@example.com', "a'); DROP TABLE customers;--@x.com",
            "z" * 250 + "@example.com", "no-at-sign"]:
    r = a.post("/account/email", {"email": bad, "password": PW_A})
    t.ok(r.status == 400 and "valid email" in r.text and "<script>x" not in r.text,
         "hostile or oversized email %r: 400, form error, escaped" % bad[:20], r.status)
html_ok(r, "email error page")
r = a.post("/account/email", {"email": "q" * 70000, "password": PW_A})
t.is_(r.status, 413, "a 70000-byte email is 413")
t.is_(s.cli("check", check=False).returncode, 0, "1000proxy check passes")

# -- CSRF: every account POST in the route table, refused and re-displayed --
# /account/tokens belongs to page_tokens.c and t/63-tokens.t checks its CSRF.
routes = [p for p in re.findall(r'\{\s*M_POST,\s*"(/account[^"]*|/login/2fa)"',
                                open(os.path.join(SRC, "src", "routes.c")).read())
          if not p.startswith("/account/tokens")]
sid_b = sql("SELECT max(id) FROM sessions WHERE customer_id = ?", (cid_of(B),))[0][0]
forms = {
    "/account/profile": ({"name": "Kept Name 123"}, ["Kept Name 123"]),
    "/account/email": ({"email": "kept@example.com", "password": "pw-never-shown-1"}, ["kept@example.com"]),
    "/account/password": ({"password": "pw-never-shown-1", "new_password": "pw-never-shown-2"}, []),
    "/account/sessions/{id:int}/revoke": ({}, []),
    "/account/sessions/revoke-others": ({}, []),
    "/account/delete": ({"password": "pw-never-shown-1", "confirm": "1"}, ['name="confirm" value="1" checked']),
    "/account/2fa/enable": ({"password": "pw-never-shown-1", "code": "123456"}, []),
    "/account/2fa/disable": ({"password": "pw-never-shown-1", "code": "123456"}, []),
    "/account/export": ({"password": "pw-never-shown-1"}, []),   # t/34-export.t (issue 16)
    "/login/2fa": None,     # needs a half-signed-in session: below, with TOTP
    # Passkeys (passkey16, page_passkey.c): the add form keeps its name.
    "/account/passkeys": ({"name": "Kept Key 123", "password": "pw-never-shown-1", "credential": "{}"},
                          ["Kept Key 123"]),
    "/account/passkeys/options": ({}, []),
    "/account/passkeys/{id:int}/rename": ({"name": "x"}, []),
    "/account/passkeys/{id:int}/delete": ({}, []),
}
t.is_(sorted(routes), sorted(forms), "the CSRF table below covers every account POST route")
for pat in routes:
    if forms[pat] is None:
        continue
    fields, kept = forms[pat]
    path = pat.replace("{id:int}", str(sid_b))
    for how, tok in (("without a token", False), ("with a wrong token", "0" * 32)):
        r = b.post(path, fields, csrf=tok)
        t.is_(r.status, 403, "POST %s %s is 403" % (pat, how))
        t.ok("This form had expired" in r.text and "pw-never-shown" not in r.text and
             all(k in r.text for k in kept), "... the form is shown again with the input, no password", r.text[-1500:])
        html_ok(r, "the re-displayed %s form" % pat)
r = b.post("/account/profile", {"name": "Cross"}, headers={"Origin": "https://evil.example"}, page="/account")
t.is_(r.status, 403, "a cross-site Origin is refused")
r = b.post("/account/profile", {"name": "Cross"}, headers={"Sec-Fetch-Site": "cross-site"}, page="/account")
t.is_(r.status, 403, "Sec-Fetch-Site: cross-site is refused")
t.is_(sql("SELECT name, state FROM customers WHERE email = ?", (B,)), [("Bob", "active")],
      "none of the refused posts changed B")
t.ok(sql("SELECT count(*) FROM sessions WHERE id = ?", (sid_b,))[0][0] == 1, "... nor ended B's session")

# -- sessions: the list, revoking, another customer's id --
a2, a3 = Client("px-test A second device"), Client("px-test A third device")
login(a2, A, PW_A)
r = a.get("/account/sessions")
t.ok(r.text.count("this device") == 1 and "px-test A second device" in r.text and "px-test B" not in r.text,
     "A's sessions: both of A's, this one marked, none of B's", r.text[-2500:])
html_ok(r, "/account/sessions")
ids = [int(x) for x in re.findall(r'href="/account/sessions/(\d+)/revoke"', r.text)]
sid_a2 = sql("SELECT max(id) FROM sessions WHERE customer_id = ?", (cid_of(A),))[0][0]
t.is_(ids, [sid_a2], "one revoke button, for the other device")
r = b.post("/account/sessions/%d/revoke" % sid_a2, {}, page="/account/sessions")
t.is_(r.status, 404, "B revoking A's session by id is 404")
t.is_(a2.get("/account").status, 200, "... and A's other device is still signed in")
r = b.get("/account/sessions/%d/revoke" % sid_a2)
t.ok(r.status == 404 and "px-test A" not in r.text, "B reading A's session by URL: 404, as for an unknown id")
t.is_(b.post("/account/sessions/999999/revoke", {}, page="/account/sessions").status, 404, "an unknown id is 404")
r = a.post("/account/sessions/%d/revoke" % sid_a2, {}, page="/account/sessions/%d/revoke" % sid_a2)
t.ok(r.status == 403 and a2.get("/account").status == 200,
     "A revoking the other device without the password: 403, still signed in (issue 16, V3.3.4)", r.status)
r = a.post("/account/sessions/%d/revoke" % sid_a2, {"password": PW_A}, page="/account/sessions/%d/revoke" % sid_a2)
t.ok(r.status == 303 and "ok=revoked" in location(r), "A revokes the other device with the password", location(r))
r = a2.get("/account")
t.ok(r.status == 303 and location(r).startswith("/login"), "... which is signed out", location(r))
login(a2, A, PW_A)
login(a3, A, PW_A)
r = a.post("/account/sessions/revoke-others", {"password": PW_A}, page="/account/sessions")
t.ok(r.status == 303 and a.get("/account").status == 200, "sign out everywhere else: this one stays")
t.ok(a2.get("/account").status == 303 and a3.get("/account").status == 303, "... the others are signed out")
t.is_(b.get("/account").status, 200, "... and B is untouched")
t.ok("only place" in a.get("/account/sessions").text, "the list now has this session only")
a2 = Client("px-test A2")
login(a2, A, PW_A)
own = sql("SELECT max(id) FROM sessions WHERE customer_id = ?", (cid_of(A),))[0][0]
r = a2.post("/account/sessions/%d/revoke" % own, {}, page="/account/sessions")
t.ok(r.status == 303 and location(r) == "/" and a2.get("/account").status == 303,
     "revoking the current session signs this browser out")

# -- B cannot change A through the form --
r = b.post("/account/profile", {"name": "Mallory", "id": str(cid_of(A)), "customer_id": str(cid_of(A))},
           page="/account")
t.ok(r.status == 400 and 'no field &quot;id&quot;' in r.text and
     sql("SELECT name FROM customers WHERE email = ?", (A,)) == [("Alice",)] and
     sql("SELECT name FROM customers WHERE email = ?", (B,)) != [("Mallory",)],
     "ids smuggled into B's form are fields it does not declare: 400, and neither A nor B changes",
     r.status)
b.post("/account/profile", {"name": "Bob"}, page="/account")

# -- change password --
unthrottle()
a4 = Client("px-test A fourth device")
login(a4, A, PW_A)
old_cookie = a.session_cookie()
r = a.post("/account/password", {"password": "not my password 1", "new_password": "fresh meadow copper 88"})
t.ok(r.status == 403 and "current password is wrong" in r.text, "a wrong current password is 403", r.status)
r = a.post("/account/password", {"password": PW_A, "new_password": "short"})
t.ok(r.status == 400 and "12" in r.text, "a new password under the policy is 400", r.status)
r = a.post("/account/password", {"password": PW_A, "new_password": "password1234"})
t.is_(r.status, 400, "a common password is 400")
NEW_A = "fresh meadow copper 88"
r = a.post("/account/password", {"password": PW_A, "new_password": NEW_A})
t.ok(r.status == 303 and location(r) == "/account?ok=password", "the password is changed", (r.status, r.text[:300]))
t.ok(a.session_cookie() not in (None, old_cookie), "this browser got a new session token")
t.ok("every other session is signed out" in a.get(location(r)).text, "... and keeps working")
stale = Client("px-test stale")
stale.jar = {"__Host-px_c": old_cookie}
r = stale.get("/account")
t.ok(r.status == 303 and location(r).startswith("/login"), "the old session cookie no longer works")
t.ok(a4.get("/account").status == 303, "the other device is signed out")
t.is_(login(Client("x"), A, PW_A).status, 200, "the old password no longer signs in")
t.is_(login(Client("x"), A, NEW_A).status, 303, "the new one does")
t.ok(wait_mail(A, "password was changed") is not None, "a 'password changed' mail is sent")
t.ok(sql("SELECT count(*) FROM audit_log WHERE action = 'password.changed' AND target = ?",
         ("customer:%d" % cid_of(A),))[0][0] == 1, "audit row password.changed")

# -- change email: the link in the mail works; a taken address is not revealed --
NEW_EMAIL = "alice.new@example.com"
r = a.post("/account/email", {"email": NEW_EMAIL, "password": "wrong password here"})
t.is_(r.status, 403, "change email with a wrong password is 403")
t.ok(NEW_EMAIL in r.text, "... and the new address stays in the form")
r1 = a.post("/account/email", {"email": B, "password": NEW_A})
r2 = a.post("/account/email", {"email": NEW_EMAIL, "password": NEW_A})
t.ok(r1.status == r2.status == 303 and location(r1) == location(r2) == "/account?ok=email",
     "a taken and a free address get the same answer", (r1.status, r2.status))
m = wait_mail(NEW_EMAIL, "Confirm your new email")
t.ok(m is not None and "/verify/" in m[2], "the new address gets a confirmation link")
old = wait_mail(A, "about to change", NEW_EMAIL)
t.ok(old is not None and NEW_EMAIL in old[2], "the old address gets a notice naming the new one")
taken = wait_mail(B, "Your address")
t.ok(taken is not None and "/verify/" not in taken[2], "the taken address gets a notice, not a link")
t.is_(sql("SELECT email FROM customers WHERE id = ?", (cid_of(A),)), [(A,)], "nothing changes before the link")
vp = link_path(m[2]) if m else "/verify/none"
r = a.get(vp)
html_ok(r, "the confirmation page")
r = a.post(vp, {})
t.ok(r.status == 200 and "Email confirmed" in r.text, "the link switches the address", r.status)
A_ID = cid_of(NEW_EMAIL)
t.ok(A_ID is not None and NEW_EMAIL in a.get("/account").text, "/account shows the new address")
t.is_(a.post(vp, {}, page="/account").status, 410, "the link works once")
t.is_(login(Client("x"), NEW_EMAIL, NEW_A).status, 303, "the new address signs in")
A = NEW_EMAIL

# -- TOTP: enrolment --
unthrottle()
r = a.get("/account/2fa")
t.is_(r.header("cache-control"), "no-store", "the enrolment page is Cache-Control: no-store")
html_ok(r, "/account/2fa (enrolment)")
sec = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', r.text)
secret = sec.group(1).replace(" ", "") if sec else ""
uri = re.search(r'<code class="uri">([^<]+)</code>', r.text)
uri = uri.group(1).replace("&amp;", "&") if uri else ""
t.ok(len(secret) == 32 and "secret=" + secret in uri and uri.startswith("otpauth://totp/Proxy%20Shop:"),
     "the page shows the base32 secret and its otpauth:// URI", uri)
img = re.search(r'<img class="qr" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', r.text)
t.ok(img is not None and b"<svg" in base64.b64decode(img.group(1)), "... and the QR code as an SVG data URI")
r2 = a.get("/account/2fa")
t.ok(secret and secret in r2.text.replace(" ", ""), "a reload shows the same pending secret")
row = sql("SELECT totp_sealed, totp_enabled_at FROM customers WHERE id = ?", (A_ID,))[0]
raw = base64.b32decode(secret) if secret else b"?"
t.ok(row[0] is not None and row[1] is None and raw not in row[0] and len(row[0]) == 53,
     "pending: sealed in the database (not in clear), not yet enabled")
calm()
r = a.post("/account/2fa/enable", {"password": NEW_A, "code": totp(secret, -2)}, page="/account/2fa")
t.ok(r.status == 403 and "wrong or was already used" in r.text, "a code from two steps back is refused", r.status)
r = a.post("/account/2fa/enable", {"password": "wrong password x", "code": totp(secret)}, page="/account/2fa")
t.is_(r.status, 403, "the right code with a wrong password is refused")
before = a.session_cookie()
enrol_step = int(s.now() // 30) - 1
r = a.post("/account/2fa/enable", {"password": NEW_A, "code": totp(secret, -1)}, page="/account/2fa")
codes = re.findall(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>", r.text)
t.ok(r.status == 200 and len(codes) == 10 and len(set(codes)) == 10,
     "a code from the previous step enables TOTP and shows ten recovery codes", r.text[-1500:])
t.is_(r.header("cache-control"), "no-store", "the recovery codes page is no-store")
html_ok(r, "the recovery codes page")
t.ok(a.session_cookie() != before, "enabling TOTP rotates the session")
rc = sql("SELECT code_hash, salt FROM recovery_codes WHERE customer_id = ?", (A_ID,))
t.ok(len(rc) == 10 and all(len(h) == 32 and len(sl) == 16 for h, sl in rc) and
     all(hashlib.sha256(c.replace("-", "").encode()).digest() not in [h for h, _ in rc] for c in codes),
     "recovery codes are stored salted and hashed")
r = a.get("/account/2fa")
t.ok("10 unused recovery code" in r.text and "data:image" not in r.text, "the 2FA page says it is on")
html_ok(r, "/account/2fa (enrolled)")
t.ok(wait_mail(A, "turned on") is not None, "a mail tells the address that 2FA was turned on")

# -- TOTP: the second step of signing in --
unthrottle()
c1 = Client("px-test 2fa")
r = login(c1, A, NEW_A)
t.ok(r.status == 303 and location(r) == "/login/2fa", "with TOTP, sign-in goes on to /login/2fa", location(r))
r = c1.get("/account")
t.ok(r.status == 303 and location(r) == "/login/2fa", "a half-signed-in session cannot open /account")
r = c1.get("/login/2fa")
html_ok(r, "/login/2fa")
r = c1.post("/login/2fa", {"code": "654321", "next": "/account/sessions"}, csrf=False)
t.ok(r.status == 403 and "This form had expired" in r.text and 'value="/account/sessions"' in r.text,
     "POST /login/2fa without a token is 403, the form shown again", r.status)
html_ok(r, "the re-displayed /login/2fa form")
r = c1.post("/login/2fa", {"code": hotp(base64.b32decode(secret), enrol_step)})
t.ok(r.status == 200 and "wrong or was already used" in r.text, "the code used at enrolment fails the second time")
calm()
code_now = totp(secret)
r = c1.post("/login/2fa", {"code": code_now})
t.ok(r.status == 303 and location(r) == "/account" and c1.get("/account").status == 200,
     "the current code signs in", (r.status, location(r)))
c2 = Client("px-test 2fa again")
login(c2, A, NEW_A)
r = c2.post("/login/2fa", {"code": code_now})
t.ok(r.status == 200 and c2.get("/account").status == 303, "the same code twice fails the second time")
c3 = Client("px-test recovery")
login(c3, A, NEW_A)
r = c3.post("/login/2fa", {"code": codes[0]})
t.ok(r.status == 303 and c3.get("/account").status == 200, "a recovery code signs in")
c4 = Client("px-test recovery again")
login(c4, A, NEW_A)
r = c4.post("/login/2fa", {"code": codes[0]})
t.ok(r.status == 200 and c4.get("/account").status == 303, "a used recovery code fails the second time")
r = c4.post("/login/2fa", {"code": codes[1].upper().replace("-", " ")})
t.ok(r.status == 303, "another one, typed in upper case with spaces, works")
t.is_(sql("SELECT count(*) FROM recovery_codes WHERE customer_id = ? AND used_at IS NOT NULL", (A_ID,))[0][0], 2,
      "two recovery codes are marked used")
# Two workers, one recovery code, two half-signed-in sessions at once: one winner.
unthrottle()
racers = [Client("px-test race %d" % i) for i in range(4)]
for c in racers:
    login(c, A, NEW_A)
toks = [c.token("/login/2fa") for c in racers]
res = [None] * len(racers)


def race(i):
    res[i] = racers[i].post("/login/2fa", {"code": codes[2]}, csrf=toks[i]).status


ths = [threading.Thread(target=race, args=(i,)) for i in range(len(racers))]
for th in ths:
    th.start()
for th in ths:
    th.join(30)
t.ok(res.count(303) == 1 and res.count(200) == len(racers) - 1,
     "four sessions racing with one recovery code: exactly one wins", res)
s.advance(400)       # past the five minutes a half-done sign-in may last
pending = lambda: sql("SELECT count(*) FROM sessions WHERE customer_id = ? AND mfa_ok = 0", (A_ID,))[0][0]  # noqa: E731
before = pending()
r = racers[[i for i, x in enumerate(res) if x == 200][0]].get("/login/2fa")
t.ok(r.status == 303 and location(r).split("?")[0] == "/login" and pending() == before - 1,
     "a half-signed-in session older than five minutes is ended", location(r))
# Failures are throttled like passwords and audited.
unthrottle()
c5 = Client("px-test throttle")
login(c5, A, NEW_A)
sts = [c5.post("/login/2fa", {"code": "000000" if totp(secret) != "000000" else "111111"}).status
       for _ in range(7)]
t.ok(sts[:5] == [200] * 5 and 429 in sts[5:], "wrong codes are throttled after five", sts)
t.ok(sql("SELECT count(*) FROM audit_log WHERE action = 'login.2fa_failed'")[0][0] >= 6, "... and audited")
unthrottle()

# -- credential changes ask for the code when TOTP is on --
r = a.post("/account/password", {"password": NEW_A, "new_password": "another long phrase 12"})
t.ok(r.status == 403 and "code" in r.text, "change password without the TOTP code is 403")
r = a.post("/account/password", {"password": NEW_A, "new_password": "another long phrase 12", "code": "12345"})
t.is_(r.status, 403, "... and with a wrong code")
r = a.post("/account/email", {"email": "x@example.com", "password": NEW_A})
t.is_(r.status, 403, "change email without the code is 403")
r = a.get("/account/password")
t.ok('name="code"' in r.text, "the forms ask for the code")

# -- TOTP race across the two workers: B enrols, two sessions, one code --
unthrottle()
r = b.get("/account/2fa")
bsec = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', r.text).group(1).replace(" ", "")
calm()
r = b.post("/account/2fa/enable", {"password": PW_B, "code": totp(bsec, -1)}, page="/account/2fa")
bcodes = re.findall(r"<li><code>([0-9a-z-]{14})</code></li>", r.text)
t.is_(len(bcodes), 10, "B enrols with a code from the previous step")
racers = [Client("px-test B race %d" % i) for i in range(4)]
for c in racers:
    login(c, B, PW_B)
toks = [c.token("/login/2fa") for c in racers]
bcode = totp(bsec)
res = [None] * len(racers)


def race_b(i):
    res[i] = racers[i].post("/login/2fa", {"code": bcode}, csrf=toks[i]).status


ths = [threading.Thread(target=race_b, args=(i,)) for i in range(len(racers))]
for th in ths:
    th.start()
for th in ths:
    th.join(30)
t.ok(res.count(303) == 1 and res.count(200) == len(racers) - 1,
     "four sessions racing with one TOTP code over two workers: exactly one wins", res)
# Disable: password + recovery code.
unthrottle()
r = b.post("/account/2fa/disable", {"password": PW_B, "code": "000000"}, page="/account/2fa")
t.is_(r.status, 403, "disable with a wrong code is 403")
r = b.post("/account/2fa/disable", {"password": PW_B, "code": bcodes[5]}, page="/account/2fa")
t.ok(r.status == 303 and location(r) == "/account/2fa?ok=totp_off", "disable with a recovery code", location(r))
t.is_(sql("SELECT totp_sealed IS NULL AND totp_enabled_at IS NULL, (SELECT count(*) FROM recovery_codes "
          "WHERE customer_id = customers.id) FROM customers WHERE email = ?", (B,)), [(1, 0)],
      "the secret and the recovery codes are gone")
t.is_(login(Client("x"), B, PW_B).status, 303, "B signs in with the password alone again")
t.ok(location(login(Client("y"), B, PW_B)) == "/account", "... straight to /account")
t.ok(sql("SELECT count(*) FROM audit_log WHERE action IN ('2fa.enabled', '2fa.disabled')")[0][0] == 3,
     "audit rows for 2FA on (A, B) and off (B)")

# -- delete --
unthrottle()
c = Client("px-test C")
register(c, C_, "Carol", PW_C)
login(c, C_, PW_C)
C_ID = cid_of(C_)
sql("UPDATE wallets SET balance_minor = 500 WHERE customer_id = ?", (C_ID,))
sql("INSERT INTO wallet_transactions (wallet_id, amount_minor, kind, memo, idempotency_key) "
    "SELECT id, 500, 'adjustment', 'test credit', 'test-61-carol' FROM wallets WHERE customer_id = ?", (C_ID,))
t.is_(s.cli("check", check=False).returncode, 0, "1000proxy check agrees with the test's ledger row")
r = c.get("/account")
t.ok("$5.00" in r.text, "/account shows the balance")
r = c.get("/account/delete")
t.ok("holds $5.00" in r.text, "the delete page says the wallet blocks it")
r = c.post("/account/delete", {"password": PW_C, "confirm": "1"})
t.ok(r.status == 409 and "still holds money" in r.text, "delete with a non-zero balance is refused (409)", r.status)
html_ok(r, "the refused delete")
t.is_(sql("SELECT state, email FROM customers WHERE id = ?", (C_ID,)), [("active", C_)], "... and nothing changed")

dv = Client("px-test D")
register(dv, D, "Dave <b>", PW_D)
login(dv, D, PW_D)
D_ID = cid_of(D)
sql("INSERT INTO wallet_transactions (wallet_id, amount_minor, kind, memo, idempotency_key) "
    "SELECT id, 300, 'topup', 'test', 'test-61-dave-1' FROM wallets WHERE customer_id = ?", (D_ID,))
sql("INSERT INTO wallet_transactions (wallet_id, amount_minor, kind, memo, idempotency_key) "
    "SELECT id, -300, 'adjustment', 'test', 'test-61-dave-2' FROM wallets WHERE customer_id = ?", (D_ID,))
r = dv.post("/account/delete", {"password": PW_D})
t.is_(r.status, 400, "delete without the confirmation box is 400")
r = dv.post("/account/delete", {"password": "not the password", "confirm": "1"})
t.is_(r.status, 403, "delete with a wrong password is 403")
dv2 = Client("px-test D other")
login(dv2, D, PW_D)
old_hash = sql("SELECT password_hash FROM customers WHERE id = ?", (D_ID,))[0][0]
r = dv.post("/account/delete", {"password": PW_D, "confirm": "1"})
t.ok(r.status == 200 and "Account deleted" in r.text, "delete with a zero balance", r.status)
html_ok(r, "the goodbye page")
row = sql("SELECT state, email, name, password_hash FROM customers WHERE id = ?", (D_ID,))[0]
t.ok(row[:3] == ("deleted", "deleted-%d@invalid" % D_ID, "") and re.match(r"\$pepper1\$[0-9a-f]{8}\$argon2id\$", row[3]) and
     row[3] != old_hash, "the row is a tombstone: state, email, name, an unguessable hash", row[:3])
t.is_(sql("SELECT count(*) FROM sessions WHERE customer_id = ?", (D_ID,))[0][0], 0, "every session is ended")
t.ok(dv.get("/account").status == 303 and dv2.get("/account").status == 303, "both browsers are signed out")
t.is_(sql("SELECT count(*) FROM wallet_transactions t JOIN wallets w ON w.id = t.wallet_id WHERE w.customer_id = ?",
          (D_ID,))[0][0], 2, "the ledger rows stay")
t.is_(login(Client("x"), D, PW_D).status, 200, "the old email and password no longer sign in")
t.is_(login(Client("x"), "deleted-%d@invalid" % D_ID, PW_D).status, 200, "nor does the tombstone address")
t.ok(register(Client("px-test D again"), D, "Dave", PW_D) and cid_of(D) not in (None, D_ID),
     "the address can register again")
t.ok(sql("SELECT count(*) FROM audit_log WHERE action = 'customer.deleted' AND target = ?",
         ("customer:%d" % D_ID,))[0][0] == 1, "audit row customer.deleted")
t.is_(s.cli("check", check=False).returncode, 0, "1000proxy check still passes")
p = subprocess.run(["grep", "-c", '"status":5', s.log], capture_output=True, text=True)
t.is_(p.stdout.strip(), "0", "no request in this test ended in a 5xx")

# -- require_customer_totp: the account pages send to /account/2fa --
q = Stack(workers=1, conf={"require_customer_totp": "yes"}).start()
qc = Client("px-test required", tls=False, stack=q)
register(qc, "req@example.com", "Req", PW_A)
t.is_(location(login(qc, "req@example.com", PW_A)), "/account", "require_customer_totp: the customer signs in")
gone = [qc.get(p) for p in ("/account", "/account/sessions", "/account/password", "/account/delete")]
t.ok(all(x.status == 303 and location(x) == "/account/2fa" for x in gone),
     "... and the account pages send a customer without TOTP to /account/2fa",
     [(x.status, location(x)) for x in gone])
r = qc.get("/account/2fa")
t.ok(r.status == 200 and "requires two-factor" in r.text, "... which says why")
qsec = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', r.text).group(1)
r = qc.post("/account/2fa/enable", {"password": PW_A, "code": totp(qsec, now=q.now())}, page="/account/2fa")
t.ok(r.status == 200 and qc.get("/account").status == 200, "after enrolling, /account opens")
r = qc.post("/account/2fa/disable", {"password": PW_A, "code": totp(qsec, now=q.now())}, page="/account/2fa")
t.ok(r.status == 403 and "cannot be turned off" in r.text, "... and TOTP cannot be turned off", r.status)
q.check_sanitizers(t, "no sanitizer report from the require_customer_totp stack")
q.stop()

s.check_sanitizers(t)
t.done()
