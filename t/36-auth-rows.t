#!/usr/bin/env python3
"""The last authentication rows of issue 16 (auth2x16).

V2.10.2: the server form and `1000proxy server add` refuse a 3X-UI panel
default sign-in (admin/admin, any case of the username; a password equal
to the username); a server already stored with one is flagged on the
servers page and in staff /healthz.

V2.1.7: a password on the common list, found at sign-in (the list was
updated after it was chosen), must be changed first: the session goes to
the change-password page and nothing else opens but it and sign-out,
for customers and staff; audited; a new password lifts it."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack, terminate  # noqa: E402
from pxstaff import PW as STAFF_PW, Staff  # noqa: E402
from pxweb import Browser, csrf_of  # noqa: E402

t = TAP()
# Our own common-password list, so a test can "update" it (V2.1.7).
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
LISTDIR = tempfile.mkdtemp(prefix="px-t36-")
LIST = os.path.join(LISTDIR, "common.txt")
atexit.register(shutil.rmtree, LISTDIR, True)


def set_list(words):
    with open(LIST, "w") as f:
        f.write("".join(w + "\n" for w in sorted(x.lower() for x in words)))


set_list(["aaaaaaaaaaaaaa", "password123456"])
s = Stack(workers=1, conf={"common_passwords": LIST}).start()
sql = s.sql


def one(q, args=()):
    return sql(q, args)[0][0]


# ---------------------------------------------------------------- V2.10.2
ada = Staff(s, "ada@example.com", "super_admin")
CSRF = csrf_of(ada.get("/admin/servers/new").text)
SRV = {"name": "Default 1", "country_code": "de", "country": "Germany", "city": "", "category": "",
       "brand": "", "panel_url": "https://panel.example.com:2053/x/", "panel_user": "admin",
       "panel_password": "admin", "panel_token": "", "public_host": "de9.example.com", "tls_verify": "1",
       "capacity": "", "max_concurrency": "4", "csrf": CSRF}
n0 = one("SELECT count(*) FROM servers")
for user, pw in (("admin", "admin"), ("Admin", "admin"), ("root", "root")):
    r = ada.post("/admin/servers", dict(SRV, panel_user=user, panel_password=pw))
    t.ok(r.status == 400 and "3X-UI/x-ui default" in r.text,
         "the server form refuses the default panel sign-in %s/%s" % (user, pw), (r.status, r.text[-400:]))
t.is_(one("SELECT count(*) FROM servers"), n0, "nothing stored for a default pair")
r = ada.post("/admin/servers", dict(SRV, panel_password="Str0ng-panel-pass-QWX"))
t.is_(r.status, 303, "admin with a strong password is accepted")
sid = one("SELECT id FROM servers WHERE name = 'Default 1'")
sql("UPDATE sessions SET reauth_at = unixepoch() WHERE staff_id = "
    "(SELECT id FROM staff WHERE email = 'ada@example.com')")
r = ada.post("/admin/servers/%d" % sid, dict(SRV, panel_password="admin"))
t.ok(r.status == 400 and "3X-UI/x-ui default" in r.text, "an edit to admin/admin is refused", r.status)

ADD = ["server", "add", "--name", "Cli 1", "--country-code", "FR", "--country", "France", "--url",
       "http://10.0.0.9:54321", "--user", "admin", "--host", "203.0.113.7"]
r = s.cli(*ADD, input="admin\n", check=False)
t.ok(r.returncode == 1 and "3X-UI/x-ui default" in r.stderr, "server add refuses admin/admin", (r.returncode, r.stderr))
t.is_(one("SELECT count(*) FROM servers WHERE name = 'Cli 1'"), 0, "nothing stored by the CLI")
r = s.cli(*ADD, input="Another-str0ng-one\n", check=False)
t.ok(r.returncode == 0, "server add with a strong password works", r.stderr)

r = ada.get("/admin/servers")
t.ok("Default panel credentials" not in r.text, "no warning while no server has a default sign-in")
# A server stored before the check (sealed as the panel client opens it).
s.cli("test-spool", "server-password", str(sid), "admin")
r = ada.get("/admin/servers")
row = r.text[r.text.find('id="server-%d"' % sid):]
row = row[:row.find("</tr>")]
t.ok("Default panel credentials" in row, "a stored server on admin/admin is flagged on the servers page", row[-500:])
pj = {p["id"]: p for p in ada.get("/healthz").json().get("panels", [])}
t.ok(pj.get(sid, {}).get("default_credentials") is True, "staff /healthz flags it", pj.get(sid))
t.ok(not any(p.get("default_credentials") for i, p in pj.items() if i != sid),
     "and no other panel", pj)


# ---------------------------------------------------------------- V2.1.7
CPW = "Velvet-harbour-lantern-42"
NEWPW = "Quiet-granite-orchard-77"
c = Browser(s)
c.form("/register", "/register", {"email": "cy@example.com", "name": "Cy", "password": CPW, "terms": "1"})
cid = one("SELECT id FROM customers WHERE email = 'cy@example.com'")
r = c.form("/login", "/login", {"email": "cy@example.com", "password": CPW})
t.is_(c.get("/account").status, 200, "before the list update the customer signs in and opens /account")
# The list is updated: both passwords are on it now (the pool re-reads it on start).
set_list(["aaaaaaaaaaaaaa", CPW, STAFF_PW])
terminate(s.pool)
s.start_pool()
c = Browser(s)
r = c.form("/login", "/login", {"email": "cy@example.com", "password": CPW})
t.is_(r.status, 303, "the customer's sign-in with a now-common password succeeds")
t.is_(one("SELECT password_change_due FROM customers WHERE id = ?", (cid,)), 1, "the account is marked due a change")
for path in ("/account", "/orders", "/account/sessions"):
    r = c.get(path)
    t.ok(r.status == 303 and (r.header("location") or "") == "/account/password?due=1",
         "a customer with a common password: GET %s goes to the change-password page" % path,
         (r.status, r.header("location")))
r = c.get("/account/password?due=1")
t.ok(r.status == 200 and "list of common passwords" in r.text, "the change-password page opens and says why",
     r.status)
a = sql("SELECT target, detail FROM audit_log WHERE action = 'password.change_due'")
t.ok(a == [("customer:%d" % cid, "the password is on the common-password list")],
     "the forced change is audited", a)
r = c.form("/account/password", "/account/password", {"password": CPW, "new_password": NEWPW})
t.is_(r.status, 303, "the customer changes the password", )
t.is_(one("SELECT password_change_due FROM customers WHERE id = ?", (cid,)), 0, "a new password clears the mark")
t.is_(c.get("/account").status, 200, "then /account opens again")

b = Browser(s)
s.next_step(30, 5)
r = b.form("/admin/login", "/admin/login", {"email": "ada@example.com", "password": STAFF_PW})
r = b.form("/admin/login/2fa", "/admin/login/2fa", {"code": ada.code()})
r = b.get("/admin")
t.ok(r.status == 303 and (r.header("location") or "") == "/admin/account/password?due=1",
     "a staff member with a common password: /admin goes to the change-password page",
     (r.status, r.header("location")))
t.ok(b.get("/admin/servers").status == 303, "and so does every other staff page")
r = b.get("/admin/account/password?due=1")
t.ok(r.status == 200 and "list of common passwords" in r.text, "the staff change-password page opens and says why")
r = b.form("/admin/account/password", "/admin/account/password",
           {"password": STAFF_PW, "code": ada.code(), "new_password": NEWPW})
t.is_(r.status, 303, "the staff member changes the password")
t.is_(b.get("/admin").status, 200, "then /admin opens again")
t.ok(one("SELECT count(*) FROM audit_log WHERE action = 'password.change_due' AND target LIKE 'staff:%'") == 1,
     "the staff member's forced change is audited too")

t.done()
