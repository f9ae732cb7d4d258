#!/usr/bin/env python3
"""The last authentication rows of issue 16 (auth2x16).

V2.10.2: the server form and `1000proxy server add` refuse a 3X-UI panel
default sign-in (admin/admin, any case of the username; a password equal
to the username); a server already stored with one is flagged on the
servers page and in staff /healthz."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import csrf_of  # noqa: E402

t = TAP()
s = Stack(workers=1).start()
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

t.done()
