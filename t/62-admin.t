#!/usr/bin/env python3
"""Staff under /admin through nginx and a pool of two workers: sign-in,
TOTP enrolment required before anything else opens, RFC 6238 codes end
to end (drift, reuse, recovery codes, a race between workers), the
customer and staff cookies kept apart, roles and 403 pages, CSRF on
every staff POST of the route table, throttling and its lock lifted on
/admin/security, invitations mailed to the SMTP double, disable, role
change and 2FA reset ending sessions, re-authentication, the audit log
and its filters, cookie attributes over TLS, escaping, well-formed HTML
and a sanitizer scan."""
import base64
import email
import email.policy
import hashlib
import hmac
import os
import re
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, unquote, urlsplit
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, Stack, terminate, wait_for  # noqa: E402
from pxmail import SMTPDouble, make_ca  # noqa: E402

t = TAP()
PW = "correct horse battery staple"

s = Stack(workers=2, tls=True, conf={"work_poll_ms": "50", "site_name": "Proxy & Co"})
ca, _, _ = make_ca(s.dir)
smtp = SMTPDouble(s, "smtp", "starttls", "shop", "s3cret")
s.extra.update(smtp_url=smtp.url, smtp_user="shop", smtp_password="s3cret", smtp_ca_file=ca,
               smtp_from="noreply@shop.example")
s.start()
work_err = open(os.path.join(s.dir, "work.stderr"), "ab")
work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=work_err, stderr=work_err)


sql = s.sql


def add_staff(email, role, name=""):
    s.cli("user", "add", "--role", role, "--name", name, email, input=PW + "\n")
    return sql("SELECT id FROM staff WHERE email = ?", (email,))[0][0]


# -- TOTP (RFC 6238, SHA-1, 6 digits, 30 s) computed here, independently --
def totp(secret, step):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


def now_step():
    return int(s.now() // 30)


def fresh_window(margin=10):
    """Move the test clock past a step boundary that is near, so a
    sequence of checks stays within one 30-second step."""
    s.next_step(30, margin)


pages_checked = []


class Client:
    """One browser: a cookie jar, the last CSRF token seen, no redirects followed."""

    def __init__(self, tls=False):
        self.tls = tls
        self.jar = {}
        self.csrf = ""
        self.set_cookies = []

    def req(self, method, path, fields=None, headers=None):
        h = dict(headers or {})
        if self.jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        if fields is not None:
            r = s.post_form(path, fields, headers=h, tls=self.tls)
        else:
            r = s.request(method, path, headers=h, tls=self.tls)
        self.set_cookies = r.all("set-cookie")
        for c in self.set_cookies:
            n, v = c.split(";")[0].split("=", 1)
            if v == "" or "Max-Age=0" in c:
                self.jar.pop(n, None)
            else:
                self.jar[n] = v
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text) if r.body else None
        if m:
            self.csrf = m.group(1)
        if (r.header("content-type") or "").startswith("text/html"):
            pages_checked.append((method + " " + path, r.body))
        return r

    def get(self, path):
        return self.req("GET", path)

    def post(self, path, fields=None, csrf=True, headers=None):
        f = dict(fields or {})
        if csrf is True:
            f["csrf"] = self.csrf
        elif csrf:
            f["csrf"] = csrf
        return self.req("POST", path, f, headers)


def pw_login(c, email, pw=PW):
    c.get("/admin/login")
    return c.post("/admin/login", {"email": email, "password": pw})


class Staff:
    def __init__(self, email, role, name=""):
        self.email = email
        self.id = add_staff(email, role, name)
        self.c = Client()
        self.secret = None
        self.codes = []
        self.last = -1

    def code(self):
        """A second factor this account has not used yet."""
        cur = now_step()
        if cur > self.last:
            self.last = cur
            return totp(self.secret, cur)
        return self.codes.pop()

    def password(self, c=None, pw=PW):
        return pw_login(c or self.c, self.email, pw)

    def enrol(self):
        """Password sign-in and enrolment with the previous step's code."""
        fresh_window(5)
        self.password()
        r = self.c.get("/admin/2fa/setup")
        self.secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', r.text).group(1)
        self.last = now_step() - 1
        r = self.c.post("/admin/2fa/setup", {"code": totp(self.secret, self.last)})
        self.codes = re.findall(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>", r.text)
        return r

    def sign_in(self, c=None):
        c = c or self.c
        self.password(c)
        c.get("/admin/login/2fa")
        return c.post("/admin/login/2fa", {"code": self.code()})

    def reauth(self, c=None):
        c = c or self.c
        c.get("/admin/reauth?next=/admin/staff")
        return c.post("/admin/reauth", {"password": PW, "code": self.code(), "next": "/admin/staff"})


def loc(r):
    return r.header("location") or ""


def audit_rows(action):
    return sql("SELECT actor_kind, actor_id, target, detail, ip, request_id FROM audit_log WHERE action = ?",
               (action,))


ada = Staff("ada@example.com", "super_admin", "Ada Admin")
sam = Staff("sam@example.com", "support", "Sam")
ann = Staff("ann@example.com", "analyst", "Ann")
max_ = Staff("max@example.com", "manager", "Max")
vic = Staff("vic@example.com", "support", "Vic")
dan = Staff("dan@example.com", "support", "Dan")
rey = Staff("rey@example.com", "manager", "Rey")

# -- sign-in --
anon = Client()
r = anon.get("/admin")
t.ok(r.status == 303 and loc(r) == "/admin/login?next=/admin", "anonymous /admin: 303 to /admin/login", loc(r))
r = anon.get("/admin/login")
t.ok(r.status == 200 and 'name="csrf"' in r.text and 'action="/admin/login"' in r.text,
     "GET /admin/login: the form with a pre-session CSRF token")
wrong = ada.password(pw="wrong password here")
unknown = pw_login(Client(), "nobody@example.com")
msg = "The email or password is wrong."
t.ok(wrong.status == 200 and msg in wrong.text, "a wrong password: 200 and the message", wrong.status)
t.ok(unknown.status == 200 and msg in unknown.text and
     re.sub(r'value="[^"]*"', "", unknown.text) == re.sub(r'value="[^"]*"', "", wrong.text),
     "an unknown email gets the same page as a wrong password")
t.is_([a[2] for a in audit_rows("login.failed")], ["staff:%d" % ada.id, "acct:nobody@example.com"],
      "both failures are audited (target: the account, or the throttle key of an unknown one)")

r = ada.password()
t.ok(r.status == 303 and loc(r) == "/admin/2fa/setup", "first sign-in with the password: 303 to enrolment", loc(r))
t.ok("px_s" in ada.c.jar, "a staff cookie is set (px_s over plain HTTP)", ada.c.jar)
t.is_(sql("SELECT mfa_ok FROM sessions WHERE staff_id = ?", (ada.id,)), [(0,)],
      "the session starts with mfa_ok = 0")

# Nothing else under /admin opens before enrolment.
closed = ["/admin", "/admin/staff", "/admin/audit", "/admin/security", "/admin/reauth"]
res = {p: ada.c.get(p) for p in closed}
t.ok(all(x.status == 303 and loc(x) == "/admin/2fa/setup" for x in res.values()),
     "before enrolment every admin page redirects to /admin/2fa/setup",
     {p: (x.status, loc(x)) for p, x in res.items()})
r = ada.c.get("/admin/login/2fa")
t.ok(r.status == 303 and loc(r) == "/admin/2fa/setup", "/admin/login/2fa before enrolment: to setup too")
r = ada.c.post("/admin/staff/invite", {"email": "x@example.com", "name": "X", "role": "support"})
t.ok(r.status == 303 and loc(r) == "/admin/2fa/setup" and
     sql("SELECT count(*) FROM staff WHERE email = 'x@example.com'") == [(0,)],
     "a POST to a staff route before enrolment is redirected and changes nothing")

# -- enrolment --
fresh_window()
r = ada.c.get("/admin/2fa/setup")
t.is_(r.status, 200, "GET /admin/2fa/setup: 200")
t.is_(r.header("cache-control"), "no-store", "the setup page is Cache-Control: no-store")
secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', r.text)
uri = re.search(r'<code class="otpauth">(otpauth://[^<]+)</code>', r.text)
t.ok(secret and len(secret.group(1)) == 32, "the base32 secret (160 bits) is shown")
u = urlsplit(uri.group(1).replace("&amp;", "&")) if uri else None
q = parse_qs(u.query) if u else {}
t.ok(u and u.scheme == "otpauth" and u.netloc == "totp" and unquote(u.path) == "/Proxy & Co:ada@example.com" and
     q.get("secret") == [secret.group(1)] and q.get("issuer") == ["Proxy & Co"] and q.get("period") == ["30"] and
     q.get("digits") == ["6"] and q.get("algorithm") == ["SHA1"],
     "the otpauth:// Key URI names the issuer (site_name) and the account, with the same secret",
     uri.group(1) if uri else r.text[:500])
img = re.search(r'<img class="qr" src="(data:image/svg\+xml;base64,[A-Za-z0-9+/=]+)"', r.text)
t.ok(img is not None and b"<svg" in base64.b64decode(img.group(1).split(",", 1)[1]),
     "the QR code is an <img> with an SVG data URI")
ada.secret = secret.group(1)
row = sql("SELECT totp_sealed, totp_enabled_at FROM staff WHERE id = ?", (ada.id,))[0]
raw = base64.b32decode(ada.secret)
t.ok(row[0] is not None and row[1] is None and raw not in row[0] and len(row[0]) == 20 + 33,
     "the pending seed is stored sealed (AES-GCM, not in clear), totp_enabled_at NULL", row)
r2 = ada.c.get("/admin/2fa/setup")
t.ok(ada.secret in r2.text, "reloading the setup page keeps the same pending secret")
sql("UPDATE staff SET totp_sealed = (SELECT totp_sealed FROM staff WHERE id = ?) WHERE id = ?", (ada.id, sam.id))
sam.password()
r2 = sam.c.get("/admin/2fa/setup")
t.ok(r2.status == 200 and ada.secret not in r2.text,
     "a sealed seed copied onto another staff row does not open there (the row id is the AAD)")
sam.c = Client()

cur = now_step()
r = ada.c.post("/admin/2fa/setup", {"code": totp(ada.secret, cur - 2)})
t.ok(r.status == 200 and "not right" in r.text and
     sql("SELECT totp_enabled_at FROM staff WHERE id = ?", (ada.id,)) == [(None,)],
     "enrolment: a code from two steps back is refused")
r = ada.c.post("/admin/2fa/setup", {"code": "12345"})
t.ok(r.status == 200 and "not right" in r.text, "enrolment: a malformed code is refused")
old_cookie = ada.c.jar["px_s"]
ada.last = cur - 1
r = ada.c.post("/admin/2fa/setup", {"code": totp(ada.secret, cur - 1)})
ada.codes = re.findall(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>", r.text)
t.ok(r.status == 200 and "Your recovery codes" in r.text, "enrolment: the previous step's code is accepted", r.text[:300])
t.is_(len(set(ada.codes)), 10, "ten distinct recovery codes are shown")
t.ok(ada.c.jar.get("px_s") not in (None, old_cookie), "enrolment rotates the session token")
t.is_(sql("SELECT mfa_ok FROM sessions WHERE staff_id = ?", (ada.id,)), [(1,)],
      "... into one session with mfa_ok = 1 (the partial one is gone)")
rc = sql("SELECT code_hash, salt FROM recovery_codes WHERE staff_id = ?", (ada.id,))
t.ok(len(rc) == 10 and all(len(h) == 32 and len(x) == 16 for h, x in rc) and
     not any(c.encode() in h for c in ada.codes for h, _ in rc),
     "recovery codes are stored as salted SHA-256 hashes")
t.ok(sql("SELECT totp_last_step FROM staff WHERE id = ?", (ada.id,)) == [(cur - 1,)],
     "the enrolment code's step is recorded as used")
r = ada.c.get("/admin/2fa/setup")
t.ok(r.status == 303 and loc(r) == "/admin", "after enrolment the setup page sends to /admin")
stale = Client()
stale.jar["px_s"] = old_cookie
r = stale.get("/admin")
t.ok(r.status == 303 and loc(r).startswith("/admin/login"), "the pre-enrolment token signs nobody in")

r = ada.c.get("/admin")
t.ok(r.status == 200 and "Dashboard" in r.text, "/admin opens after enrolment")
t.ok(all(x in r.text for x in ('href="/admin/staff"', 'href="/admin/audit"', 'href="/admin/security"')),
     "a super admin's nav links to staff, audit and locks")
t.ok(all(x in r.text for x in ("Customers", "Orders", "Failed jobs", "Open tickets")),
     "the dashboard shows the four counts")

# -- the second factor at sign-in --
r = ada.c.post("/admin/logout")
t.ok(r.status == 303 and loc(r) == "/admin/login" and "px_s" not in ada.c.jar, "POST /admin/logout ends the session")
t.ok(ada.c.get("/admin").status == 303, "... and /admin is closed again")
fresh_window(15)
r = ada.password()
t.ok(r.status == 303 and loc(r) == "/admin/login/2fa", "an enrolled account goes to /admin/login/2fa after the password")
res = {p: ada.c.get(p) for p in closed}
t.ok(all(x.status == 303 and loc(x) == "/admin/login/2fa" for x in res.values()),
     "before the second factor every admin page redirects to /admin/login/2fa",
     {p: (x.status, loc(x)) for p, x in res.items()})
ada.c.get("/admin/login/2fa")
cur = now_step()
r = ada.c.post("/admin/login/2fa", {"code": totp(ada.secret, cur - 2)})
t.ok(r.status == 200 and "not right" in r.text, "sign-in: a code from two steps back is refused",
     (r.status, loc(r), r.text[:600]))
# Two browsers race the same fresh code through two workers: one wins.
c2 = Client()
ada.password(c2)
c2.get("/admin/login/2fa")
code = totp(ada.secret, cur)
out = {}
th = [threading.Thread(target=lambda k, c: out.__setitem__(k, c.post("/admin/login/2fa", {"code": code})), args=(k, c))
      for k, c in (("a", ada.c), ("b", c2))]
for x in th:
    x.start()
for x in th:
    x.join()
wins = sorted(x.status for x in out.values())
t.is_(wins, [200, 303], "the same code sent twice at once: accepted exactly once")
ada.last = cur
winner = ada.c if out["a"].status == 303 else c2
loser = c2 if winner is ada.c else ada.c
t.ok(winner.get("/admin").status == 200 and loser.get("/admin").status == 303,
     "the winner is signed in, the other still waits for a second factor")
ada.c = winner
r = loser.post("/admin/login/2fa", {"code": code})
t.ok(r.status == 200 and "used already" in r.text, "the same code once more: refused")
r = loser.post("/admin/login/2fa", {"code": ada.codes[0].upper().replace("-", " ")})
t.ok(r.status == 303 and loc(r) == "/admin", "a recovery code (typed in capitals with spaces) signs in")
used = ada.codes.pop(0)
c3 = Client()
ada.password(c3)
c3.get("/admin/login/2fa")
r = c3.post("/admin/login/2fa", {"code": used})
t.ok(r.status == 200 and "used already" in r.text, "a used recovery code fails the second time")
t.is_(sql("SELECT count(*) FROM recovery_codes WHERE staff_id = ? AND used_at IS NULL", (ada.id,)), [(9,)],
      "nine recovery codes are left")
t.ok(len(audit_rows("login.2fa_failed")) >= 3 and
     any("recovery code" in a[3] for a in audit_rows("login")),
     "second-factor failures and the recovery sign-in are audited")

# -- the customer and staff cookies are separate --
cust = Client()
cust.get("/register")
r = cust.post("/register", {"email": "cora@example.com", "name": "Cora", "password": PW, "terms": "on"})
cust.get("/login")
r = cust.post("/login", {"email": "cora@example.com", "password": PW})
t.ok(r.status == 303 and "px_c" in cust.jar, "a customer signs in (px_c)", (r.status, cust.jar))
res = {p: cust.get(p) for p in closed + ["/admin/2fa/setup"]}
t.ok(all(x.status == 303 and loc(x).startswith("/admin/login") for x in res.values()),
     "a customer cookie opens nothing under /admin (303 to /admin/login)",
     {p: (x.status, loc(x)) for p, x in res.items()})
forged = Client()
forged.jar["px_s"] = cust.jar["px_c"]
r = forged.get("/admin")
t.ok(r.status == 303 and loc(r).startswith("/admin/login"), "a customer token sent as the staff cookie is refused")
r = ada.c.get("/_test/customer")
t.ok(r.status == 303 and loc(r).startswith("/login"), "a staff cookie opens no customer page (303 to /login)", loc(r))
for p in ("/account", "/account/sessions", "/account/password", "/account/tokens", "/account/2fa"):
    r = ada.c.get(p)
    t.ok(r.status == 303 and loc(r).startswith("/login"), "a staff cookie gets nothing at %s (303 to /login)" % p,
         (r.status, loc(r)))
r = ada.c.get("/login")
t.ok(r.status == 200 and "Sign in" in r.text, "the customer login page does not take a staff session as signed in")

# -- roles --
sam.enrol()
ann.enrol()
max_.enrol()
for who, role, path in ((sam, "support", "/admin/staff"), (sam, "support", "/admin/security"),
                        (max_, "manager", "/admin/staff"), (ann, "analyst", "/admin/audit"),
                        (max_, "manager", "/admin/audit")):
    r = who.c.get(path)
    t.ok(r.status == 403 and loc(r) == "" and (r.header("content-type") or "").startswith("text/html") and
         "Your role does not include this page" in r.text,
         "%s gets a 403 page at %s, not a redirect" % (role, path), (r.status, loc(r)))
r = sam.c.get("/admin")
t.ok(r.status == 200 and 'href="/admin/staff"' not in r.text and 'href="/admin/audit"' not in r.text,
     "support's nav does not offer staff or audit")
t.ok("Open tickets" in r.text and "Failed jobs" not in r.text, "support sees the counts its role may read")
sam.c.get("/admin")
r = sam.c.post("/admin/staff/invite", {"email": "y@example.com", "name": "Y", "role": "super_admin"})
t.ok(r.status == 403 and sql("SELECT count(*) FROM staff WHERE email = 'y@example.com'") == [(0,)],
     "support cannot invite (403), even with a valid CSRF token")

# -- CSRF on every staff POST of the route table --
routes = re.findall(r'\{ M_POST, "(/admin[^"]*)"', open(os.path.join(SRC, "src", "routes.c")).read())
t.ok(len(routes) >= 12, "the route table has the staff POST routes", routes)
ada.c.get("/admin/staff")
before = sql("SELECT id, state, role_id, totp_enabled_at FROM staff ORDER BY id")
bad = []
for p in routes:
    path = p.replace("{id:int}", str(sam.id)).replace("{token}", "0" * 32).replace("{public_id}", "a" * 20)
    for tok in (None, "f" * 32):
        f = {"email": "z@example.com", "name": "Z", "role": "super_admin", "key": "ip:127.0.0.1",
             "password": PW, "code": "000000"}
        if tok:
            f["csrf"] = tok
        r = ada.c.req("POST", path, f)
        if r.status != 403:
            bad.append((path, tok, r.status, loc(r)))
t.ok(not bad, "every POST under /admin without, or with a wrong, CSRF token is 403 (%d routes)" % len(routes), bad)
t.ok(sql("SELECT id, state, role_id, totp_enabled_at FROM staff ORDER BY id") == before and "px_s" in ada.c.jar,
     "... and none of them changed anything")
r = anon.req("POST", "/admin/login", {"email": "ada@example.com", "password": PW})
t.ok(r.status == 403 and 'value="ada@example.com"' in r.text and PW not in r.text,
     "a refused login form comes back with the email kept and the password not")
ada.c.get("/admin/staff")
r = ada.c.post("/admin/staff/invite", {"email": "z@example.com", "name": "Z", "role": "support"},
               headers={"Origin": "https://evil.example"})
t.ok(r.status == 403 and sql("SELECT count(*) FROM staff WHERE email = 'z@example.com'") == [(0,)],
     "a cross-site Origin is refused even with the right token")

# -- throttling across two workers, the lock, and lifting it --
before = len([x for x in s.log_lines() if x.get("path") == "/admin/login" and x.get("method") == "POST"])
vcs = [Client(), Client()]
for c in vcs:
    c.get("/admin/login")
statuses = []


def burst(c):
    for _ in range(3):
        statuses.append(c.post("/admin/login", {"email": vic.email, "password": "not the password!"}).status)


th = [threading.Thread(target=burst, args=(c,)) for c in vcs]
for x in th:
    x.start()
for x in th:
    x.join()
lines = [x for x in s.log_lines() if x.get("path") == "/admin/login" and x.get("method") == "POST"][before:]
pids = {x.get("pid") for x in lines}
t.ok(len(pids) == 2, "the failed sign-ins were served by both workers", pids)
t.is_(sql("SELECT failures FROM login_throttle WHERE key = 'acct:vic@example.com'"), [(6,)],
      "the throttle counted every failure, whichever worker took it")
deadline = time.time() + 90
locked = None
while time.time() < deadline:
    r = vcs[0].post("/admin/login", {"email": vic.email, "password": "not the password!"})
    if r.status == 429:
        wait = int(r.header("retry-after") or "1")
        if wait > 60:
            locked = r
            break
        s.advance(wait)     # the test clock, past Retry-After
t.ok(locked is not None and "Too many failed attempts" in locked.text, "repeated wrong passwords lock the account (429)")
r = vic.password(Client())
t.ok(r.status == 429, "while locked even the right password gets 429, before any hashing")
t.ok(any(a[2] == "acct:vic@example.com" for a in audit_rows("login.locked")), "the lock is audited (login.locked)")
ada.c.get("/admin")
r = ada.c.get("/admin/security")
t.ok(r.status == 200 and "acct:vic@example.com" in r.text and "locked" in r.text,
     "the lock shows on /admin/security")
r = ada.c.post("/admin/security/unlock", {"key": "acct:vic@example.com"})
t.ok(r.status == 303 and loc(r) == "/admin/security?done=unlocked", "POST /admin/security/unlock: 303")
r = ada.c.get("/admin/security?done=unlocked")
t.ok("lock is lifted" in r.text and "acct:vic@example.com" not in r.text, "the lock is gone from the list")
t.ok("ip:127.0.0.1" in r.text, "the address key with failures is listed too")
ada.c.post("/admin/security/unlock", {"key": "ip:127.0.0.1"})
t.ok(any(a[2] == "acct:vic@example.com" and a[0] == "staff" and a[1] == ada.id for a in audit_rows("login.unlocked")),
     "unlocking is audited with the acting staff member")
r = ada.c.post("/admin/security/unlock", {"key": "acct:nobody-here"})
t.is_(r.status, 404, "unlocking a key that has no row: 404")
r = vic.password()
t.ok(r.status == 303 and loc(r) == "/admin/2fa/setup", "after the unlock the right password works")

# -- re-authentication before privileged changes --
ada.c.get("/admin/staff")
r = ada.c.post("/admin/staff/invite", {"email": "nia@example.com", "name": "N", "role": "support"})
t.ok(r.status == 303 and loc(r) == "/admin/reauth?next=/admin/staff" and
     sql("SELECT count(*) FROM staff WHERE email = 'nia@example.com'") == [(0,)],
     "inviting without a recent re-authentication: 303 to /admin/reauth, nothing created")
ada.c.get("/admin/reauth?next=/admin/staff")
r = ada.c.post("/admin/reauth", {"password": "wrong password here", "code": "000000", "next": "/admin/staff"})
t.ok(r.status == 200 and "wrong" in r.text, "re-authentication with a wrong password is refused")
r = ada.c.post("/admin/reauth", {"password": PW, "code": "000000", "next": "/admin/staff"})
t.ok(r.status == 200 and "wrong" in r.text, "... and with a right password but a wrong code")
t.ok(len(audit_rows("reauth.failed")) == 2, "both failures are audited")
r = ada.reauth()
t.ok(r.status == 303 and loc(r) == "/admin/staff", "password and a code again: 303 back to /admin/staff", r.text[:400])

# -- invitations through the spool to the SMTP double --
ada.c.get("/admin/staff")
evil = '<b>Nia</b> "&" <script>alert(1)</script>'
r = ada.c.post("/admin/staff/invite", {"email": "nia@example.com", "name": evil, "role": "support"})
t.ok(r.status == 303 and loc(r) == "/admin/staff?done=invited", "POST /admin/staff/invite: 303", (r.status, loc(r)))
nia_id = sql("SELECT id FROM staff WHERE email = 'nia@example.com'")[0][0]
t.is_(sql("SELECT state, password_hash FROM staff WHERE id = ?", (nia_id,)), [("invited", "")],
      "the account is 'invited' and has no password")
r = ada.c.get("/admin/staff?done=invited")
t.ok("&lt;b&gt;Nia&lt;/b&gt;" in r.text and "<b>Nia</b>" not in r.text and "<script>alert" not in r.text,
     "HTML in a staff name is escaped on the staff list")
t.ok("invitation is on its way" in r.text, "the list shows the notice")
r = ada.c.post("/admin/staff/invite", {"email": "NIA@example.com", "name": "again", "role": "support"})
t.ok(r.status == 409 and "exists already" in r.text, "inviting an email that exists: 409")
r = ada.c.post("/admin/staff/invite", {"email": "bad@example.com", "name": "a\nb", "role": "support"})
t.is_(r.status, 400, "a name with a line break: 400")
r = ada.c.post("/admin/staff/invite", {"email": "bad@example.com", "name": "B", "role": "god"})
t.is_(r.status, 400, "an unknown role: 400")
def mail_to(addr):
    for f in smtp.messages():
        m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
        if str(m["To"]) == addr:
            return m
    return None


t.ok(wait_for(lambda: mail_to("nia@example.com") is not None, 30), "the invite mail reached the SMTP double",
     smtp.events())
m = mail_to("nia@example.com")
body = m.get_content()
t.ok(str(m["To"]) == "nia@example.com" and "invited" in str(m["Subject"]), "addressed to the invitee, with a subject",
     (m["To"], m["Subject"]))
link = re.search(r"http://127\.0\.0\.1:\d+(/admin/invite/[0-9a-f]{32})", body)
t.ok(link is not None and "Ada Admin" in body and "Support" in body, "the mail carries the link, the inviter and the role",
     body)
nia = Client()
r = pw_login(nia, "nia@example.com")
t.ok(r.status == 200 and msg in r.text, "before accepting, the invited account cannot sign in (the usual message)")
r = nia.get(link.group(1))
t.ok(r.status == 200 and "nia@example.com" in r.text and "&lt;b&gt;Nia" in r.text, "the link opens the password form")
r = nia.post(link.group(1), {"password": "password1234"})
t.ok(r.status == 200 and "password" in r.text.lower() and
     sql("SELECT state FROM staff WHERE id = ?", (nia_id,)) == [("invited",)],
     "a common password is refused")
r = nia.post(link.group(1), {"password": "violet tangerine submarine"})
t.ok(r.status == 200 and "Welcome aboard" in r.text, "a good password is set", r.text[:300])
t.is_(sql("SELECT state FROM staff WHERE id = ?", (nia_id,)), [("active",)], "the account is active")
r = nia.get(link.group(1))
t.is_(r.status, 410, "the invite link works once")
r = nia.post(link.group(1), {"password": "another fine passphrase"})
t.is_(r.status, 410, "... also for a POST")
nia.get("/admin/login")
r = nia.post("/admin/login", {"email": "nia@example.com", "password": "violet tangerine submarine"})
t.ok(r.status == 303 and loc(r) == "/admin/2fa/setup", "the invitee signs in and goes to enrolment")
r = nia.get("/admin/2fa/setup")
t.ok("&lt;b&gt;Nia&lt;/b&gt;" in r.text and "<script>alert" not in r.text, "the name is escaped in the staff header")
ada.c.get("/admin/staff")
r = ada.c.post("/admin/staff/invite", {"email": "exp@example.com", "name": "Exp", "role": "analyst"})
t.ok(r.status == 303 and wait_for(lambda: mail_to("exp@example.com") is not None, 30), "a second invitation is mailed")
sql("UPDATE email_tokens SET expires_at = unixepoch() - 1 WHERE staff_id = (SELECT id FROM staff WHERE email = ?)",
    ("exp@example.com",))
lk = re.search(r"(/admin/invite/[0-9a-f]{32})", mail_to("exp@example.com").get_content()).group(1)
r = Client().get(lk)
t.ok(r.status == 410 and "expired" in r.text, "an expired invitation: 410")

# -- disable ends sessions; the rules about whom one may change --
dan.enrol()
t.is_(dan.c.get("/admin").status, 200, "dan is signed in")
ada.c.get("/admin/staff")
r = ada.c.post("/admin/staff/%d/disable" % dan.id)
t.ok(r.status == 303 and loc(r) == "/admin/staff?done=disabled", "POST /admin/staff/{id}/disable: 303")
r = dan.c.get("/admin")
t.ok(r.status == 303 and loc(r).startswith("/admin/login"), "disabling ends the account's sessions")
t.is_(sql("SELECT count(*) FROM sessions WHERE staff_id = ?", (dan.id,)), [(0,)], "... every one of them")
r = dan.password(Client())
t.ok(r.status == 200 and msg in r.text, "a disabled account cannot sign in (the usual message)")
r = ada.c.post("/admin/staff/%d/disable" % ada.id)
t.ok(r.status == 409 and "your own account" in r.text, "nobody can disable themselves")
r = ada.c.post("/admin/staff/%d/enable" % dan.id)
t.ok(r.status == 303 and sql("SELECT state FROM staff WHERE id = ?", (dan.id,)) == [("active",)], "enable: active again")
r = dan.password(Client())
t.ok(r.status == 303 and loc(r) == "/admin/login/2fa", "... and dan signs in again")
r = ada.c.post("/admin/staff/999999/disable")
t.is_(r.status, 404, "an unknown staff id: 404")

# -- role change ends sessions --
sam.c.get("/admin")
r = ada.c.post("/admin/staff/%d/role" % sam.id, {"role": "manager"})
t.ok(r.status == 303 and sql("SELECT r.name FROM staff s JOIN roles r ON r.id = s.role_id WHERE s.id = ?",
                             (sam.id,)) == [("manager",)], "POST /admin/staff/{id}/role changes the role")
r = sam.c.get("/admin")
t.ok(r.status == 303 and loc(r).startswith("/admin/login"), "a role change ends the target's sessions")
r = ada.c.post("/admin/staff/%d/role" % ada.id, {"role": "support"})
t.is_(r.status, 409, "nobody can change their own role")

# The last active super admin, and roles above one's own: an 'owner' role
# with every permission (but not called super_admin) tries.
sql("INSERT INTO roles (name, label) VALUES ('owner', 'Owner')")
sql("INSERT INTO role_permissions SELECT (SELECT id FROM roles WHERE name = 'owner'), id FROM permissions")
oz = Staff("oz@example.com", "owner", "Oz")
oz.enrol()
oz.c.get("/admin/staff")
oz.reauth()
oz.c.get("/admin/staff")
r = oz.c.post("/admin/staff/%d/disable" % ada.id)
t.ok(r.status == 409 and "last active super admin" in r.text, "the last active super admin cannot be disabled")
r = oz.c.post("/admin/staff/%d/role" % ada.id, {"role": "manager"})
t.ok(r.status == 409 and "last active super admin" in r.text, "... nor demoted")
sql("DELETE FROM role_permissions WHERE role_id = (SELECT id FROM roles WHERE name = 'owner') "
    "AND permission_id = (SELECT id FROM permissions WHERE name = 'refunds.issue')")
oz.c.get("/admin/staff")
r = oz.c.post("/admin/staff/%d/role" % max_.id, {"role": "super_admin"})
t.ok(r.status == 403 and "yours lacks" in r.text, "nobody grants a role with permissions they lack")
r = oz.c.post("/admin/staff/%d/disable" % ada.id)
t.ok(r.status == 403, "... nor changes an account whose role has more than theirs")

# -- reset-2fa forces re-enrolment --
rey.enrol()
t.is_(rey.c.get("/admin").status, 200, "rey is signed in")
old_secret = rey.secret
ada.c.get("/admin/staff")
r = ada.c.post("/admin/staff/%d/reset-2fa" % rey.id)
t.ok(r.status == 303 and loc(r) == "/admin/staff?done=reset", "POST /admin/staff/{id}/reset-2fa: 303")
t.is_(sql("SELECT totp_sealed, totp_enabled_at, totp_last_step FROM staff WHERE id = ?", (rey.id,)), [(None, None, 0)],
      "the seed, enabled time and last step are cleared")
t.is_(sql("SELECT count(*) FROM recovery_codes WHERE staff_id = ?", (rey.id,)), [(0,)], "the recovery codes are gone")
r = rey.c.get("/admin")
t.ok(r.status == 303 and loc(r).startswith("/admin/login"), "the reset ends their sessions")
r = rey.password()
t.ok(r.status == 303 and loc(r) == "/admin/2fa/setup", "their next sign-in goes to enrolment")
r = rey.c.get("/admin/2fa/setup")
t.ok(old_secret not in r.text and re.search(r'<code class="secret">[A-Z2-7]{32}</code>', r.text),
     "with a new secret")

# -- the audit log --
r = ada.c.get("/admin/audit")
t.ok(r.status == 200, "GET /admin/audit: 200")
need = ["login.password_ok", "login.failed", "login.locked", "login.2fa_failed", "2fa.enrolled", "login", "logout",
        "reauth", "reauth.failed", "staff.invited", "staff.invite_accepted", "staff.disabled", "staff.enabled",
        "staff.role_changed", "2fa.reset", "login.unlocked"]
have = {a for (a,) in sql("SELECT DISTINCT action FROM audit_log")}
t.ok(set(need) <= have, "the log holds sign-ins, failures, the lock, 2FA and every staff action", set(need) - have)
first = [x for x in re.findall(r'<td class="act"><code>([a-z0-9._]+)</code></td>', r.text)]
t.ok(first and first[0] == sql("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1")[0][0],
     "newest first", first[:3])
enr = audit_rows("2fa.enrolled")[0]
t.ok(enr[0] == "staff" and enr[1] == ada.id and enr[2] == "staff:%d" % ada.id and enr[4] == "127.0.0.1" and
     re.fullmatch(r"[0-9a-f]{16}", enr[5]) and any(x.get("id") == enr[5] for x in s.log_lines()),
     "a row names who, what, the target, the address and the request id of the logged request", enr)
r = ada.c.get("/admin/audit?action=login.failed")
acts = re.findall(r'<td class="act"><code>([a-z0-9._]+)</code></td>', r.text)
t.ok(acts and set(acts) == {"login.failed"}, "filter by action", set(acts))
r = ada.c.get("/admin/audit?action=staff.")
acts = set(re.findall(r'<td class="act"><code>([a-z0-9._]+)</code></td>', r.text))
t.ok(acts and all(a.startswith("staff.") for a in acts) and "staff.disabled" in acts, "the action filter is a prefix", acts)
r = ada.c.get("/admin/audit?actor=anonymous")
t.ok('<td class="actor">anonymous' in r.text and '<td class="actor">staff' not in r.text, "filter by actor kind")
r = ada.c.get("/admin/audit?actor=cli")
t.ok('<td class="actor">system cli</td><td class="act"><code>staff.create</code>' in r.text and
     '<td class="actor">staff' not in r.text, "the command line's rows show and filter as actor cli")
r = ada.c.get("/admin/audit?target=staff:%d" % dan.id)
acts = set(re.findall(r'<td class="act"><code>([a-z0-9._]+)</code></td>', r.text))
t.ok({"staff.disabled", "staff.enabled", "2fa.enrolled"} <= acts and "staff:%d</td>" % sam.id not in r.text,
     "filter by target", acts)
today = time.strftime("%Y-%m-%d", time.gmtime(s.now()))
tomorrow = time.strftime("%Y-%m-%d", time.gmtime(s.now() + 86400))
r = ada.c.get("/admin/audit?from=%s&to=%s&action=2fa.reset" % (today, today))
t.ok("2fa.reset" in r.text, "a date range that includes today finds today's rows")
r = ada.c.get("/admin/audit?from=%s" % tomorrow)
t.ok("No entry matches" in r.text, "a range in the future finds nothing")
for q in ("from=2026-02-30", "actor=root", "action=%3Cb%3E", "page=0", "to=yesterday"):
    r = ada.c.get("/admin/audit?" + q)
    t.ok(r.status == 400 and "<table" not in r.text, "a malformed filter (%s) is 400" % q)
total = sql("SELECT count(*) FROM audit_log")[0][0]
r = ada.c.get("/admin/audit")
t.ok(total > 50 and r.text.count("<tr><td>") == 50 and 'rel="next"' in r.text, "50 rows a page, with a next link", total)
r2 = ada.c.get("/admin/audit?page=2")
t.ok(r2.text.count("<tr><td>") == min(50, total - 50) and 'rel="prev"' in r2.text, "page two holds the older rows")
r = ada.c.get("/admin/audit?action=staff.invited")
t.ok("nia@example.com" in r.text and "<script>" not in r.text, "details are shown, escaped")
t.ok(s.request("POST", "/admin/audit").status == 405 and s.request("DELETE", "/admin/audit").status == 405,
     "the audit log has no route that changes it (POST, DELETE: 405)")
try:
    sql("DELETE FROM audit_log")
    deleted = True
except sqlite3.DatabaseError as e:
    deleted = "append-only" not in str(e)
try:
    sql("UPDATE audit_log SET action = 'x'")
    updated = True
except sqlite3.DatabaseError as e:
    updated = "append-only" not in str(e)
t.ok(not deleted and not updated and sql("SELECT count(*) FROM audit_log")[0][0] >= total,
     "the database refuses UPDATE and DELETE on audit_log")
r = ann.c.get("/admin/audit")
t.is_(r.status, 403, "an analyst has no audit.read (002_roles.sql), so 403")

# -- cookies over TLS --
tc = Client(tls=True)
r = tc.get("/admin/login?next=/admin/audit")
t.ok('name="next" value="/admin/audit"' in r.text, "the login form keeps a local next")
t.ok('name="next" value=""' in Client().get("/admin/login?next=//evil.example/admin").text,
     "... and drops one that leaves the site")
pre = [c for c in tc.set_cookies if c.startswith("__Host-px_pre=")]
t.ok(pre and all(a in pre[0] for a in ("; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/")) and
     "Domain" not in pre[0], "the pre-session cookie over TLS: __Host-, Secure, HttpOnly, SameSite=Lax", tc.set_cookies)
r = tc.post("/admin/login", {"email": ada.email, "password": PW, "next": "/admin/audit"})
sc = [c for c in tc.set_cookies if c.startswith("__Host-px_s=")]
t.ok(r.status == 303 and sc and all(a in sc[0] for a in ("; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/")) and
     "Domain" not in sc[0], "the staff cookie over TLS: __Host-px_s, Secure, HttpOnly, SameSite=Lax, Path=/", tc.set_cookies)
t.is_(loc(r), "/admin/login/2fa?next=/admin/audit", "next is carried to the second factor")
tc.get(loc(r))
r = tc.post("/admin/login/2fa", {"code": ada.codes.pop(), "next": "/admin/audit"})
t.is_(loc(r), "/admin/audit", "... and the sign-in ends there")
sc = [c for c in tc.set_cookies if c.startswith("__Host-px_s=")]
t.ok(r.status == 303 and sc and "; Secure" in sc[0] and "; HttpOnly" in sc[0] and "; SameSite=Lax" in sc[0],
     "the rotated cookie after the second factor carries them too")
t.is_(tc.get("/admin").status, 200, "and the TLS session opens /admin")
t.ok("max-age" in (tc.get("/admin").header("strict-transport-security") or ""), "HSTS on admin pages over TLS")

# -- every page well-formed --
bad = []
for name, body in pages_checked:
    ok, errs = s.html_ok(body)
    if not ok:
        bad.append((name, errs[:300]))
t.ok(not bad and len(pages_checked) > 50, "every HTML page seen (%d) is well-formed" % len(pages_checked), bad[:5])

terminate(work)
smtp.stop()
s.check_sanitizers(t)
s.stop()
t.done()
