#!/usr/bin/env python3
"""Staff change their own password and reset a forgotten one (issue 16,
authflow16; ASVS V2.1.5), through nginx and the real binary: the change
asks for the current password and a code, ends the other sessions and
mails a notice; the reset by mail keeps the customer reset's token rules
(hashed, single use, one hour, every session ends) and still asks for
the second factor before the new password takes."""
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from pxstaff import Staff, totp  # noqa: E402
from pxweb import Browser, Shop, csrf_of, link_in  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
NEW = "tangerine lighthouse 4471"
NEWER = "quiet harbour pebbles 9052"


def loc(r):
    return r.header("location") or ""


def login(addr, pw, code):
    b = Browser(s)
    s.next_step(30, 5)
    r = b.form("/admin/login", "/admin/login", {"email": addr, "password": pw})
    if r.status != 303 or "/admin/login/2fa" not in loc(r):
        return b, r
    return b, b.form("/admin/login/2fa", "/admin/login/2fa", {"code": code})


def audit(action, target):
    return s.sql("SELECT count(*) FROM audit_log WHERE action = ? AND target = ?", (action, target))[0][0]


ada = Staff(s, "ada@example.com", "super_admin")
ada_id = s.sql("SELECT id FROM staff WHERE email = 'ada@example.com'")[0][0]
hash0 = s.sql("SELECT password_hash FROM staff WHERE id = ?", (ada_id,))[0][0]

# ---- change own password ----
other, r = login("ada@example.com", ada.pw, ada.codes.pop())
t.ok(r.status == 303 and other.get("/admin").status == 200, "ada is signed in on a second browser")
r = ada.get("/admin/account")
t.ok(r.status == 200 and 'href="/admin/account/password"' in r.text, "GET /admin/account links to the password change")
r = ada.get("/admin/account/password")
t.ok(r.status == 200 and 'name="new_password"' in r.text and 'name="code"' in r.text and
     'name="password"' in r.text, "the change form asks for the current password, a code and the new one")
r = ada.form("/admin/account/password", "/admin/account/password",
             {"password": "not the password 77", "code": ada.code(), "new_password": NEW})
t.ok(r.status == 403 and "wrong" in r.text, "a wrong current password: 403 with the form", r.status)
t.is_(s.sql("SELECT password_hash FROM staff WHERE id = ?", (ada_id,))[0][0], hash0, "... nothing changed")
r = ada.form("/admin/account/password", "/admin/account/password",
             {"password": ada.pw, "code": "000000", "new_password": NEW})
t.ok(r.status == 403, "the right password with a wrong code: 403", r.status)
r = ada.form("/admin/account/password", "/admin/account/password",
             {"password": ada.pw, "code": ada.code(), "new_password": "short"})
t.ok(r.status == 400 and "at least 12" in r.text, "a new password under the policy: 400", r.status)
s.sql("DELETE FROM login_throttle")
r = ada.form("/admin/account/password", "/admin/account/password",
             {"password": ada.pw, "code": ada.code(), "new_password": NEW})
t.ok(r.status == 303 and loc(r) == "/admin/account?ok=password",
     "staff change their own password with password and code: 303", (r.status, loc(r), r.text[:300]))
t.ok(s.sql("SELECT password_hash FROM staff WHERE id = ?", (ada_id,))[0][0] != hash0, "... the hash changed")
t.is_(ada.get("/admin").status, 200, "... this browser stays signed in (a new session token)")
r = other.get("/admin")
t.ok(r.status == 303 and "/admin/login" in loc(r), "... the other session is signed out", (r.status, loc(r)))
t.ok(audit("password.changed", "staff:%d" % ada_id) == 1, "... audited as password.changed")
m = s.wait_mail("ada@example.com", "password was changed")
t.ok(m is not None, "... and a notice is mailed to the staff member")
b, r = login("ada@example.com", ada.pw, ada.code())
t.ok(r.status == 200 and "wrong" in r.text, "the old password no longer signs in", r.status)
ada.pw = NEW

# ---- forgot password: link by mail, second factor on the reset page ----
anon = Browser(s)
r = anon.get("/admin/login")
t.ok('href="/admin/password/forgot"' in r.text, "the staff sign-in page links to the staff reset")
r = anon.form("/admin/password/forgot", "/admin/password/forgot", {"email": "ada@example.com"})
t.ok(r.status == 200 and "Check your inbox" in r.text, "POST /admin/password/forgot: the same page", r.status)
r2 = anon.form("/admin/password/forgot", "/admin/password/forgot", {"email": "nobody@example.com"})
t.ok(r2.status == 200 and r2.text.count("authenticator") == r.text.count("authenticator"),
     "an unknown address gets the same answer")
m = s.wait_mail("ada@example.com", "Reset your")
path = link_in(m, "/admin/password/reset/") if m else None
t.ok(path is not None, "a reset link arrives by mail", m and m.get_body().get_content()[:300])
tok = path.rsplit("/", 1)[1] if path else "x"
t.ok(s.sql("SELECT count(*) FROM email_tokens WHERE staff_id = ? AND purpose = 'reset' AND "
           "expires_at - created_at <= 3600 AND used_at IS NULL", (ada_id,))[0][0] == 1 and
     tok.encode() not in b"".join(bytes(x[0]) for x in s.sql("SELECT token_hash FROM email_tokens")),
     "the token is stored hashed, for one hour at most")
t.is_(len(s.find_mail("nobody@example.com", "")), 0, "the unknown address gets nothing")
r = anon.get(path)
t.ok(r.status == 200 and 'name="code"' in r.text and 'name="password"' in r.text,
     "the reset page asks for the new password and a code", r.status)
hash1 = s.sql("SELECT password_hash FROM staff WHERE id = ?", (ada_id,))[0][0]
r = anon.form(path, path, {"password": NEWER, "code": "123456"})
t.ok(r.status == 403 and "not right" in r.text, "the staff reset refuses a wrong code: 403", r.status)
r = anon.form(path, path, {"password": NEWER})
t.ok(r.status in (400, 403), "... and no code at all", r.status)
t.is_(s.sql("SELECT password_hash FROM staff WHERE id = ?", (ada_id,))[0][0], hash1,
      "the password did not change without the second factor")
s.sql("DELETE FROM login_throttle")
r = anon.form(path, path, {"password": NEWER, "code": ada.codes.pop()})
t.ok(r.status == 200 and "Password changed" in r.text, "the staff reset takes with a recovery code", r.status)
t.ok(s.sql("SELECT password_hash FROM staff WHERE id = ?", (ada_id,))[0][0] != hash1, "... the hash changed")
r = ada.get("/admin")
t.ok(r.status == 303 and "/admin/login" in loc(r), "... every session of the staff member ended", loc(r))
r = anon.post(path, {"password": "another fine phrase 11", "code": ada.code(),
                     "csrf": csrf_of(anon.get("/admin/password/forgot").text)})
t.ok(r.status == 410 and anon.get(path).status == 410, "the link works once: a second use is 410", r.status)
t.ok(audit("password.reset", "staff:%d" % ada_id) == 1 and audit("password.reset_refused", "staff:%d" % ada_id) >= 1,
     "the reset and the refused attempt are audited")
m = s.wait_mail("ada@example.com", "password was reset")
t.ok(m is not None, "after the staff reset a notice is mailed")
ada.pw = NEWER
b, r = login("ada@example.com", NEWER, ada.code())
t.ok(r.status == 303 and b.get("/admin").status == 200, "the new password signs in (with a code)", r.status)

# The TOTP code works on the reset page as well; an expired link does not.
anon.form("/admin/password/forgot", "/admin/password/forgot", {"email": "ada@example.com"})
m = s.wait_mail("ada@example.com", "Reset your", n=2)
path2 = link_in(m, "/admin/password/reset/") if m else "/admin/password/reset/x"
s.advance(3601)
t.is_(anon.get(path2).status, 410, "a reset link is dead after an hour")

# A staff member without TOTP gets no link (nothing to ask on the reset page).
s.cli("user", "add", "--role", "support", "--name", "bo", "bo@example.com", input="correct horse battery staple\n")
anon.form("/admin/password/forgot", "/admin/password/forgot", {"email": "bo@example.com"})
t.is_(s.sql("SELECT count(*) FROM email_tokens e JOIN staff s ON s.id = e.staff_id WHERE s.email = 'bo@example.com' "
            "AND e.purpose = 'reset'")[0][0], 0, "a staff member not enrolled in TOTP gets no reset link")
s.check_sanitizers(t)
t.done()
