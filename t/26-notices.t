#!/usr/bin/env python3
"""Security notices by mail (issue 16, authflow16; ASVS V2.2.3, V2.5.5,
V2.8.5, V3.5.2), read from the SMTP double: after a password reset,
after a staff member's 2FA is reset by another admin, when a reused TOTP
code is refused (the owner is told), when staff sign in from a new
device (the device cookie), and before an API token expires (cron
tokens, once)."""
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from pxstaff import Staff, totp  # noqa: E402
from pxweb import Browser, Shop, csrf_of, link_in  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
PW = "correct horse battery staple"


def loc(r):
    return r.header("location") or ""


def body(m):
    return m.get_body(preferencelist=("plain",)).get_content() if m is not None else ""


def customer(email):
    b = Browser(s)
    b.form("/register", "/register", {"email": email, "name": "Cy", "password": PW, "terms": "1"})
    s.sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (email,))
    b.form("/login", "/login", {"email": email, "password": PW})
    return b


def staff_login(st, addr, code, ua="px-test"):
    b = Browser(s)
    b.form("/admin/login", "/admin/login", {"email": addr, "password": st.pw})
    r = b.form("/admin/login/2fa", "/admin/login/2fa", {"code": code})
    return b, r


# ---- V2.2.3: a notice after a password reset (customer) ----
customer("cy@example.com")
anon = Browser(s)
anon.form("/password/forgot", "/password/forgot", {"email": "cy@example.com"})
m = s.wait_mail("cy@example.com", "Reset your")
path = link_in(m, "/password/reset/")
r = anon.form(path, path, {"password": "a brand new long passphrase"})
t.ok(r.status == 200 and "Password changed" in r.text, "a customer resets the password by mail", r.status)
m = s.wait_mail("cy@example.com", "password was reset")
t.ok(m is not None and "127.0.0.1" in body(m), "after a customer password reset a notice is mailed (with the address)")

# ---- V2.8.5 (staff sign-in from a new device) ----
ada = Staff(s, "ada@example.com", "super_admin")
ada_id = s.sql("SELECT id FROM staff WHERE email = 'ada@example.com'")[0][0]
t.ok(any(k.endswith("px_dev") for k in ada.b.jar), "enrolment gives the browser a device cookie")
t.is_(s.sql("SELECT count(*) FROM staff_devices WHERE staff_id = ?", (ada_id,))[0][0], 1,
      "... recorded (hashed) as ada's first device, without a notice")
s.next_step(30, 8)
b2, r = staff_login(ada, "ada@example.com", ada.code())
t.ok(r.status == 303 and b2.get("/admin").status == 200, "ada signs in on another browser")
m = s.wait_mail("ada@example.com", "New sign-in")
t.ok(m is not None and "127.0.0.1" in body(m) and "/admin/account" in body(m),
     "staff sign-in from a new device mails a notice (address, link to the sessions page)")
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = 'login.new_device' AND target = ?",
           ("staff:%d" % ada_id,))[0][0] == 1, "... audited as login.new_device")
b2.form("/admin", "/admin/logout", {})
s.sql("DELETE FROM login_throttle")
b2j = dict(b2.jar)
b3 = Browser(s)
b3.jar = {k: v for k, v in b2j.items() if k.endswith("px_dev")}
b3.form("/admin/login", "/admin/login", {"email": "ada@example.com", "password": ada.pw})
r = b3.form("/admin/login/2fa", "/admin/login/2fa", {"code": ada.codes.pop()})
t.ok(r.status == 303, "ada signs in again from that browser (its device cookie kept)")
time.sleep(1.5)
t.is_(len(s.find_mail("ada@example.com", "New sign-in")), 1, "a known device mails nothing")

# ---- V2.8.5: a reused TOTP code is refused and the owner told ----
s.advance(30)
s.next_step(30, 10)
code = ada.code()
t.ok(re.fullmatch(r"\d{6}", code) is not None, "a TOTP code of a step not used yet")
b4, r = staff_login(ada, "ada@example.com", code)
t.ok(r.status == 303, "a fresh code signs in")
b5, r = staff_login(ada, "ada@example.com", code)
t.ok(r.status == 200 and "used already" in r.text, "the same code again (same step) is refused", r.status)
m = s.wait_mail("ada@example.com", "used sign-in code")
t.ok(m is not None and "already been used" in body(m), "the owner is mailed that a used TOTP code was offered again")
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = '2fa.reuse_refused'")[0][0] >= 1,
     "... audited as 2fa.reuse_refused")
b6, r = staff_login(ada, "ada@example.com", code)
time.sleep(1)
t.is_(len(s.find_mail("ada@example.com", "used sign-in code")), 1, "one notice per reused step, not one per attempt")
t.ok(len(s.find_mail("ada@example.com", "used sign-in code")) == 1 and
     s.sql("SELECT count(*) FROM jobs WHERE idem_key LIKE 'totp-reused:staff:%'")[0][0] == 1,
     "... (one job for the step)")

# The customer's side (the same mfa.c): a reused code on /login/2fa.
cb = customer("cora@example.com")
r = cb.get("/account/2fa")
csec = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', r.text).group(1).replace(" ", "")
s.advance(30)
s.next_step(30, 10)
step = int(s.now() // 30)
r = cb.post("/account/2fa/enable", {"password": PW, "code": totp(csec, step), "csrf": csrf_of(r.text)})
t.ok(r.status == 200 and s.sql("SELECT totp_enabled_at IS NOT NULL FROM customers WHERE email = 'cora@example.com'")
     [0][0] == 1, "cora turns TOTP on with this step's code", r.status)
c2 = Browser(s)
c2.form("/login", "/login", {"email": "cora@example.com", "password": PW})
r = c2.form("/login/2fa", "/login/2fa", {"code": totp(csec, step)})
t.ok(r.status != 303, "at sign-in the code spent at enrolment is refused", r.status)
m = s.wait_mail("cora@example.com", "used sign-in code")
t.ok(m is not None and "/account/sessions" in body(m), "the customer is mailed about the refused reused code")

# ---- V2.5.5: a staff 2FA reset by another admin is mailed ----
sam = Staff(s, "sam@example.com", "support")
sam_id = s.sql("SELECT id FROM staff WHERE email = 'sam@example.com'")[0][0]
ada.reauth("/admin/staff")
r = ada.form("/admin/staff", "/admin/staff/%d/reset-2fa" % sam_id, {})
t.ok(r.status == 303, "ada resets sam's two-factor sign-in", (r.status, loc(r)))
m = s.wait_mail("sam@example.com", "two-factor sign-in was reset")
t.ok(m is not None and "ada@example.com" in body(m), "sam is mailed that ada reset it")

# ---- V3.5.2: a mail before an API token expires, once ----
tb = customer("tia@example.com")


def make(days, name):
    page = tb.get("/account/tokens")
    return tb.post("/account/tokens", {"name": name, "scope": "read", "days": days, "password": PW,
                                       "csrf": csrf_of(page.text)})


make("7", "nightly-backup")
make("30", "monthly-report")
out = s.cli("cron", "tokens").stdout
t.ok("1 expiry reminder" in out, "cron tokens queues a reminder for the token expiring within 7 days", out)
m = s.wait_mail("tia@example.com", "nightly-backup")
t.ok(m is not None and "/account/tokens" in body(m) and "expires" in str(m["Subject"]),
     "the owner is mailed before the API token expires, with a link to the tokens page")
out = s.cli("cron", "tokens").stdout
t.ok("0 expiry reminders" in out, "a second run mails nothing more", out)
s.advance(24 * 86400)
out = s.cli("cron", "tokens").stdout
t.ok("1 expiry reminder" in out, "the 30-day token's reminder comes 7 days before its end", out)
t.ok(s.wait_mail("tia@example.com", "monthly-report") is not None, "... and is mailed")
t.is_(len(s.find_mail("tia@example.com", "nightly-backup")), 1, "the first token was mailed once")
s.check_sanitizers(t)
t.done()
