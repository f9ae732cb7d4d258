#!/usr/bin/env python3
"""Sessions and API token lifetimes (issue 16, authflow16; ASVS V3.3.2,
V3.3.4, V3.5.2), through nginx and the real binary: a customer session
ends after 30 idle minutes or 12 hours in all by default; staff see
their sessions (browser, address, created, last seen, this one marked)
and end any, another only with password and code again, as customers
must give their password again to end another session; API tokens live
at most token_max_days, a longer or open-ended one is capped (and the
page says so), and the expiry is shown."""
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
PW = "correct horse battery staple"


def loc(r):
    return r.header("location") or ""


class UA(Browser):
    """A Browser that names itself in User-Agent."""

    def __init__(self, ua):
        super().__init__(s)
        self.ua = ua

    def headers(self, extra=None):
        h = super().headers(extra)
        h.setdefault("User-Agent", self.ua)
        return h


def customer(email):
    b = UA("px-test " + email)
    r = b.form("/register", "/register", {"email": email, "name": "N", "password": PW, "terms": "1"})
    if r.status != 200:
        t.bail("register %s: %d" % (email, r.status))
    s.sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (email,))
    b.form("/login", "/login", {"email": email, "password": PW})
    return b


def sign_in(email, ua):
    b = UA(ua)
    r = b.form("/login", "/login", {"email": email, "password": PW})
    return b, r


def audit(action):
    return s.sql("SELECT count(*) FROM audit_log WHERE action = ?", (action,))[0][0]


# ---- V3.3.2: the customer defaults ----
conf = open(s.conf).read()
t.ok("customer_absolute" not in conf, "the test config leaves the session lifetimes at their defaults")
customer("ida@example.com")
b, r = sign_in("ida@example.com", "px-test idle")
t.ok(r.status == 303 and b.get("/account").status == 200, "a customer signs in")
s.advance(29 * 60)
t.is_(b.get("/account").status, 200, "29 idle minutes: still signed in")
s.advance(31 * 60)
r = b.get("/account")
t.ok(r.status == 303 and loc(r).startswith("/login"), "a customer session ends after 30 idle minutes", r.status)
b, r = sign_in("ida@example.com", "px-test absolute")
alive = True
for i in range(28):
    s.advance(25 * 60)
    alive = alive and b.get("/account").status == 200
t.ok(alive, "used every 25 minutes, the session lives through 11 h 40 min")
s.advance(12 * 3600 - 28 * 25 * 60 + 60)
r = b.get("/account")
t.ok(r.status == 303 and loc(r).startswith("/login"),
     "a customer session ends 12 hours after sign-in however active it is (default customer_absolute)", r.status)
t.ok(s.sql("SELECT max(expires_at - created_at) FROM sessions WHERE kind = 'customer'")[0][0] == 43200,
     "a new customer session is made to expire after 43200 seconds")

# ---- V3.3.4: customers end another session only with the password ----
a1 = customer("cleo@example.com")
a2, r = sign_in("cleo@example.com", "px-test cleo phone")
cid = s.sql("SELECT id FROM customers WHERE email = 'cleo@example.com'")[0][0]
other = s.sql("SELECT max(id) FROM sessions WHERE customer_id = ?", (cid,))[0][0]
r = a1.get("/account/sessions")
t.ok("px-test cleo phone" in r.text and 'href="/account/sessions/%d/revoke"' % other in r.text,
     "the customer's list shows the other device with a link to sign it out")
r = a1.get("/account/sessions/%d/revoke" % other)
t.ok(r.status == 200 and 'name="password"' in r.text, "signing out another session asks for the password")
r = a1.post("/account/sessions/%d/revoke" % other, {"csrf": csrf_of(r.text)})
t.ok(r.status == 403 and a2.get("/account").status == 200,
     "ending another customer session without the password: 403, it stays", r.status)
r = a1.form("/account/sessions/%d/revoke" % other, "/account/sessions/%d/revoke" % other, {"password": "wrong " * 3})
t.ok(r.status == 403 and a2.get("/account").status == 200, "... with a wrong password: 403, it stays", r.status)
s.sql("DELETE FROM login_throttle")
r = a1.form("/account/sessions/%d/revoke" % other, "/account/sessions/%d/revoke" % other, {"password": PW})
t.ok(r.status == 303 and a2.get("/account").status == 303,
     "ending another customer session with the password: signed out", r.status)
a2, r = sign_in("cleo@example.com", "px-test cleo tablet")
r = a1.form("/account/sessions", "/account/sessions/revoke-others", {})
t.ok(r.status == 403 and a2.get("/account").status == 200, "sign out everywhere else without the password: 403")
r = a1.form("/account/sessions", "/account/sessions/revoke-others", {"password": PW})
t.ok(r.status == 303 and a2.get("/account").status == 303, "... with it: the others are signed out")

# ---- V3.3.4: staff see their sessions and end any ----
ada = Staff(s, "ada@example.com", "super_admin")
ada_id = s.sql("SELECT id FROM staff WHERE email = 'ada@example.com'")[0][0]
phone = UA("px-test ada phone")
s.next_step(30, 5)
phone.form("/admin/login", "/admin/login", {"email": "ada@example.com", "password": ada.pw})
r = phone.form("/admin/login/2fa", "/admin/login/2fa", {"code": ada.code()})
t.ok(r.status == 303 and phone.get("/admin").status == 200, "ada signs in on a second browser")
mine = s.sql("SELECT id FROM sessions WHERE staff_id = ? ORDER BY id", (ada_id,))
first, second = mine[0][0], mine[-1][0]
r = ada.get("/admin")
t.ok('href="/admin/account"' in r.text, "every staff page links to the staff account page")
r = ada.get("/admin/account")
t.ok(r.status == 200 and "px-test ada phone" in r.text and r.text.count("this device") == 1 and
     "127.0.0.1" in r.text and 'href="/admin/account/sessions/%d/end"' % second in r.text,
     "staff see their sessions: browser, address, this one marked, a link to end the other", r.text[-2000:])
t.ok(re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", r.text) is not None, "... with created and last-seen times")
r = phone.get("/admin/account")
t.ok(r.status == 200 and 'href="/admin/account/sessions/%d/end"' % first in r.text, "the other browser sees the first")
sam = Staff(s, "sam@example.com", "super_admin")
t.is_(sam.get("/admin/account/sessions/%d/end" % second).status, 404, "another staff member's session id is 404")
r = ada.get("/admin/account/sessions/%d/end" % second)
t.ok(r.status == 200 and 'name="password"' in r.text and 'name="code"' in r.text,
     "ending another staff session asks for password and code")
r = ada.post("/admin/account/sessions/%d/end" % second, {"csrf": csrf_of(r.text)})
t.ok(r.status == 403 and phone.get("/admin").status == 200, "without them: 403, the session stays", r.status)
s.sql("DELETE FROM login_throttle")
r = ada.form("/admin/account/sessions/%d/end" % second, "/admin/account/sessions/%d/end" % second,
             {"password": ada.pw, "code": ada.code()})
t.ok(r.status == 303 and loc(r) == "/admin/account?ok=ended", "staff end another session with password and code",
     (r.status, loc(r)))
r = phone.get("/admin")
t.ok(r.status == 303 and "/admin/login" in loc(r), "... that browser is signed out")
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = 'session.ended' AND target = ?",
           ("staff:%d" % ada_id,))[0][0] == 1, "... audited as session.ended")
r = ada.form("/admin/account/sessions/%d/end" % first, "/admin/account/sessions/%d/end" % first, {})
t.ok(r.status == 303 and "/admin/login" in loc(r) and ada.get("/admin").status == 303,
     "ending the current staff session signs out, no password needed", (r.status, loc(r)))

# ---- V3.5.2: API token lifetime ----
tb = customer("tom@example.com")


def make(b, days):
    page = b.get("/account/tokens")
    return b.post("/account/tokens", {"name": "t%s" % days, "scope": "read", "days": days, "password": PW,
                                      "csrf": csrf_of(page.text)})


r = tb.get("/account/tokens")
t.ok("at most 90 days" in r.text and "Never (capped at 90 days)" in r.text and "180 days (capped at 90)" in r.text,
     "the tokens page says every token expires within 90 days")
r = make(tb, "never")
exp = s.sql("SELECT expires_at - created_at FROM api_tokens WHERE name = 'tnever'")[0][0]
t.ok(r.status == 200 and exp == 90 * 86400 and "at most 90 days" in r.text,
     "an API token asked for without expiry is capped at 90 days, and the page says so", (r.status, exp))
r = make(tb, "365")
exp = s.sql("SELECT expires_at - created_at FROM api_tokens WHERE name = 't365'")[0][0]
t.ok(exp == 90 * 86400 and "at most 90 days" in r.text, "... and one of 365 days too", exp)
r = make(tb, "30")
exp = s.sql("SELECT expires_at - created_at FROM api_tokens WHERE name = 't30'")[0][0]
t.ok(exp == 30 * 86400 and "at most" not in r.text, "a 30-day token keeps its 30 days, without the note", exp)
r = tb.get("/account/tokens")
rows = dict(re.findall(r"<td>(t\w+)</td>\s*<td><code>[^<]*</code></td>\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*"
                       r"<td>([^<]*)</td>", r.text))
t.ok(sorted(rows) == ["t30", "t365", "tnever"] and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", v)
                                                     for v in rows.values()),
     "the tokens page shows each token's expiry date", rows)
s.stop()

s = Shop(workers=1, conf={"token_max_days": "14"}).start()
tb = customer("una@example.com")
r = make(tb, "30")
exp = s.sql("SELECT expires_at - created_at FROM api_tokens WHERE name = 't30'")[0][0]
t.ok(exp == 14 * 86400 and "at most 14 days" in r.text, "token_max_days = 14 caps a 30-day token at 14", exp)
s.check_sanitizers(t)
t.done()
