#!/usr/bin/env python3
"""Customer sign-up and sign-in through nginx: register, the verification
mail over real SMTP, login, logout, forgot and reset; equal answers for
known and unknown emails; CSRF on every form; fixation; throttling across
two workers; cookie attributes over TLS; hostile input."""
import re
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from pxweb import Browser, Shop, csrf_of, link_in  # noqa: E402

t = TAP()
s = Shop(workers=2, tls=True).start()
PW = "correct horse battery staple"

# -- register --
b = Browser(s)
r = b.get("/register")
t.ok(r.status == 200 and csrf_of(r.text) != "", "register form carries a CSRF token")
good, errs = s.html_ok(r.body)
t.ok(good, "register page is well-formed", errs)
r = b.post("/register", {"email": "ann@example.com", "name": "Ann", "password": PW, "terms": "1"})
t.is_(r.status, 403, "register without the CSRF token is refused")
t.ok('value="ann@example.com"' in r.text and PW not in r.text,
     "the refused form comes back with the email kept and the password not")
t.ok("expired" in r.text, "and says why")
t.is_(s.sql("SELECT count(*) FROM customers")[0][0], 0, "nothing was created")

r = b.form("/register", "/register", {"email": "ann@example.com", "name": "Ann", "password": "qwertyuiop123", "terms": "1"})
t.ok(r.status == 200 and "commonly used" in r.text, "a common password is refused with a reason")
r = b.form("/register", "/register", {"email": "ann@example.com", "name": "Ann", "password": "short", "terms": "1"})
t.ok("at least 12" in r.text, "a short password is refused")
r = b.form("/register", "/register", {"email": "ann@example.com", "name": "Ann", "password": PW})
t.ok("accept the terms" in r.text, "the terms checkbox is required")
r = b.form("/register", "/register", {"email": "not an email", "name": "Ann", "password": PW, "terms": "1"})
t.ok("valid email" in r.text, "a malformed email is refused")
r = b.form("/register", "/register", {"email": "ann@example.com", "name": "Ann <b>", "password": PW, "terms": "1"})
t.ok(r.status == 200 and "Check your inbox" in r.text, "register answers 'check your inbox'")
first_answer = r.text.split("<main")[1].split("</main>")[0]
row = s.sql("SELECT password_hash, email_verified_at, name FROM customers WHERE email = 'ann@example.com'")
t.ok(row and re.match(r"\$pepper1\$[0-9a-f]{8}\$argon2id\$v=19\$m=7168,t=5,p=1\$", row[0][0]) and row[0][1] is None,
     "the account exists, peppered argon2id, not yet verified")
t.is_(s.sql("SELECT count(*) FROM wallets w JOIN customers c ON c.id = w.customer_id WHERE c.email = 'ann@example.com'")[0][0],
      1, "a wallet is opened with the account")

m = s.wait_mail("ann@example.com", "Confirm your email")
t.ok(m is not None, "the verification mail arrives over SMTP")
link = link_in(m, "/verify/") if m else None
t.ok(link is not None, "it carries a /verify/ link", m)

# The same email again: same answer, no second account, a notice mail.
b2 = Browser(s)
r = b2.form("/register", "/register", {"email": "ANN@example.com", "name": "Mallory", "password": PW + "x", "terms": "1"})
t.is_(r.text.split("<main")[1].split("</main>")[0], first_answer, "registering a taken email answers exactly the same")
t.is_(s.sql("SELECT count(*) FROM customers")[0][0], 1, "and creates nothing")
t.ok(s.wait_mail("ANN@example.com", "already have") is not None, "the owner is told by mail instead")

# -- verify: GET shows a button, POST confirms, the link is single use --
r = b.get(link)
t.ok(r.status == 200 and "Confirm my email" in r.text, "the link opens a confirmation form (a GET changes nothing)")
t.ok(s.sql("SELECT email_verified_at FROM customers")[0][0] is None, "still unverified after the GET")
r = b.post(link, {"csrf": csrf_of(r.text)})
t.ok(r.status == 200 and "confirmed" in r.text, "POST confirms the email")
t.ok(s.sql("SELECT email_verified_at FROM customers")[0][0] is not None, "email_verified_at is set")
r = b.get(link)
t.is_(r.status, 410, "the link works once")
r = b.get("/verify/" + "a" * 32)
t.is_(r.status, 410, "an unknown token is 410, not an error")

# -- login --
b = Browser(s)
r = b.get("/login")
pre = dict(b.jar)
r = b.form("/login", "/login", {"email": "ann@example.com", "password": "wrong password here"})
wrong = r.text
t.ok(r.status == 200 and "email or password is wrong" in r.text, "a wrong password is refused")
r = b.form("/login", "/login", {"email": "nobody@example.com", "password": "wrong password here"})
t.ok(r.status == 200 and "email or password is wrong" in r.text, "an unknown email gets the same message")
strip = lambda h: h.split('name="csrf"')[0]  # noqa: E731
t.is_(strip(r.text), strip(wrong), "and the same page")
b.jar["px_c"] = "0" * 32      # a cookie planted before login (fixation attempt)
r = b.form("/login", "/login", {"email": "ann@example.com", "password": PW, "next": "/plans"})
t.ok(r.status == 303 and r.header("location") == "/plans", "login redirects to next", (r.status, r.header("location")))
sc = [c for c in r.all("set-cookie") if c.startswith("px_c=")]
t.ok(sc and "HttpOnly" in sc[0] and "SameSite=Lax" in sc[0] and "Path=/" in sc[0], "session cookie is HttpOnly, SameSite=Lax, Path=/", sc)
t.ok(b.jar.get("px_c") not in (None, "0" * 32) and len(b.jar["px_c"]) == 32, "login issues a fresh token (no fixation)")
hashes = s.sql("SELECT hex(token_hash) FROM sessions WHERE kind = 'customer'")
import hashlib  # noqa: E402
t.ok(hashes and hashes[0][0].lower() == hashlib.sha256(b.jar["px_c"].encode()).hexdigest(),
     "only the SHA-256 of the session token is stored")
r = b.get("/login")
t.ok(r.status == 303 and r.header("location") == "/account", "a signed-in customer is sent on from /login")
r = b.get("/")
t.ok("Sign out" in r.text and "Ann &lt;b&gt;" in r.text, "the header shows the (escaped) name and a sign-out form")
bn = Browser(s)
r = bn.form("/login", "/login", {"email": "ann@example.com", "password": PW, "next": "//evil.example/x"})
t.ok(r.status == 303 and r.header("location") == "/account", "an off-site next is ignored", (r.status, r.header("location")))

# -- logout --
cookie = b.jar["px_c"]
r = b.post("/logout", {"csrf": "nope"})
t.is_(r.status, 403, "logout without the right token is refused")
r = b.get("/")
r = b.post("/logout", {"csrf": csrf_of(r.text)})
t.ok(r.status == 303 and "px_c" not in b.jar, "logout clears the cookie")
t.is_(s.sql("SELECT count(*) FROM sessions WHERE token_hash = ?", (hashlib.sha256(cookie.encode()).digest(),))[0][0], 0,
      "and deletes the session row")
old = Browser(s)
old.jar["px_c"] = cookie
r = old.get("/login")
t.is_(r.status, 200, "the old cookie no longer signs anyone in")

# -- forgot and reset --
b = Browser(s)
r = b.form("/password/forgot", "/password/forgot", {"email": "nobody@example.com"})
unknown = r.text.split("<main")[1].split("</main>")[0]
r = b.form("/password/forgot", "/password/forgot", {"email": "ann@example.com"})
t.is_(r.text.split("<main")[1].split("</main>")[0], unknown, "forgot answers the same for known and unknown emails")
m = s.wait_mail("ann@example.com", "Reset your")
link = link_in(m, "/password/reset/") if m else None
t.ok(link is not None, "the reset mail arrives with a link")
other = Browser(s)
other.form("/login", "/login", {"email": "ann@example.com", "password": PW})
t.ok("px_c" in other.jar, "a second session exists before the reset")
r = b.get(link)
r = b.post(link, {"csrf": csrf_of(r.text), "password": "short"})
t.ok("at least 12" in r.text, "reset enforces the password policy")
NEW = "a brand new long passphrase"
r = b.get(link)
r = b.post(link, {"csrf": csrf_of(r.text), "password": NEW})
t.ok(r.status == 200 and "Password changed" in r.text, "reset sets the new password")
r = other.get("/login")
t.is_(r.status, 200, "every other session of the account has ended")
r = b.get(link)
t.is_(r.status, 410, "the reset link works once")
r = b.form("/login", "/login", {"email": "ann@example.com", "password": PW})
t.ok("wrong" in r.text, "the old password no longer works")
r = b.form("/login", "/login", {"email": "ann@example.com", "password": NEW})
t.is_(r.status, 303, "the new one does")
s.sql("UPDATE email_tokens SET expires_at = 1 WHERE purpose = 'reset'")
b3 = Browser(s)
r = b3.form("/password/forgot", "/password/forgot", {"email": "ann@example.com"})
m = s.wait_mail("ann@example.com", "Reset your", n=2)
link2 = link_in(m, "/password/reset/") if m else None
s.sql("UPDATE email_tokens SET expires_at = 1 WHERE purpose = 'reset'")
t.is_(b3.get(link2).status if link2 else 0, 410, "an expired reset link is refused")

# -- expired sessions --
s.sql("UPDATE sessions SET last_seen_at = last_seen_at - 100000")
r = b.get("/login")
t.is_(r.status, 200, "an idle session has expired")

# -- throttling, shared by both workers --
bt = Browser(s)
codes = []
for i in range(12):
    r = bt.form("/login", "/login", {"email": "ann@example.com", "password": "not the password %d" % i})
    codes.append(r.status)
t.ok(429 in codes, "repeated failures are throttled (429)", codes)
pids = {x.get("pid") for x in s.log_lines() if x.get("path") == "/login" and x.get("method") == "POST"}
t.ok(len(pids) == 2, "the failures were served by both workers", pids)
r = bt.form("/login", "/login", {"email": "ann@example.com", "password": NEW})
t.ok(r.status == 429 and "wait" in r.text, "while locked even the right password waits (throttle runs before hashing)")
row = s.sql("SELECT failures, locked_until > unixepoch() FROM login_throttle WHERE key = 'acct:ann@example.com'")
t.ok(row and row[0][0] >= 10 and row[0][1] == 1, "the account is locked in login_throttle", row)
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = 'login.locked'")[0][0] >= 1, "the lock is audited")
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = 'login.failed'")[0][0] >= 10, "failed sign-ins are audited")

# -- hostile and oversized input --
bh = Browser(s)
for f, v in [("email", "x' OR '1'='1@example.com"), ("email", "a@b.c\r\nBcc: x@y.z"), ("name", "<script>alert(1)</script>"),
             ("email", "a" * 300 + "@example.com"), ("password", "p" * 200), ("name", "n" * 500)]:
    fields = {"email": "hostile@example.com", "name": "H", "password": PW, "terms": "1"}
    fields[f] = v
    r = bh.form("/register", "/register", fields)
    t.ok(r.status in (200, 400, 413) and "<script>alert" not in r.text, "register survives %s=%r..." % (f, v[:20]))
r = bh.form("/login", "/login", {"email": "' OR 1=1 --", "password": "x" * 5000})
t.ok(r.status in (200, 400, 413, 429), "login survives an injected email and an oversized password")
t.is_(s.sql("SELECT count(*) FROM customers WHERE name LIKE '%<script>%'")[0][0] <= 1, True, "nothing unexpected stored")

# -- over TLS: __Host- cookies with Secure --
bs = Browser(s, tls=True)
r = bs.get("/login")
pre = [c for c in r.all("set-cookie") if "px_pre" in c]
t.ok(pre and pre[0].startswith("__Host-px_pre=") and "Secure" in pre[0], "over TLS the pre-session cookie is __Host- and Secure", pre)
s.sql("DELETE FROM login_throttle")
r = bs.form("/login", "/login", {"email": "ann@example.com", "password": NEW})
sc = [c for c in r.all("set-cookie") if "px_c" in c]
t.ok(r.status == 303 and sc and sc[0].startswith("__Host-px_c=") and all(a in sc[0] for a in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/")),
     "over TLS the session cookie carries __Host-, Secure, HttpOnly, SameSite=Lax, Path=/", sc)
t.ok("Domain" not in sc[0], "and no Domain")

# -- rehash on sign-in when the configured cost rises --
import signal as _signal  # noqa: E402
import time as _time  # noqa: E402
s.extra["argon2_t"] = "6"
s.write_conf()
old_pids = set(s.worker_pids())
s.pool.send_signal(_signal.SIGHUP)
wait_ok = False
for _ in range(100):
    if old_pids.isdisjoint(s.worker_pids()) and len(s.worker_pids()) == 2:
        wait_ok = True
        break
    _time.sleep(0.1)
t.ok(wait_ok, "the pool reloads with the new argon2 cost")
s.sql("DELETE FROM login_throttle")
br = Browser(s)
r = br.form("/login", "/login", {"email": "ann@example.com", "password": NEW})
t.is_(r.status, 303, "sign-in still works with the old hash")
h = s.sql("SELECT password_hash FROM customers WHERE email = 'ann@example.com'")[0][0]
t.ok(re.match(r"\$pepper1\$[0-9a-f]{8}\$argon2id\$v=19\$m=7168,t=6,p=1\$", h),
     "and the stored hash was redone with t=6", h)

s.check_sanitizers(t)
s.stop()
t.done()
