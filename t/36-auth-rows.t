#!/usr/bin/env python3
"""The last authentication rows of issue 16 (auth2x16).

V2.10.2: the server form and `1000proxy server add` refuse a 3X-UI panel
default sign-in (admin/admin, any case of the username; a password equal
to the username); a server already stored with one is flagged on the
servers page and in staff /healthz.

V2.1.7: a password on the common list, found at sign-in (the list was
updated after it was chosen), must be changed first: the session goes to
the change-password page and nothing else opens but it and sign-out,
for customers and staff; audited; a new password lifts it.

V2.5.7: a customer who lost every second factor: staff with
security.manage reset it from the customer's page after re-authenticating,
with a reason in the audit row; TOTP, recovery codes and passkeys go,
every session ends, the customer is mailed; `user reset-2fa EMAIL` does
the same from the command line (audited as the CLI)."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, terminate  # noqa: E402
from pxstaff import PW as STAFF_PW, Staff  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402

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
s = Shop(workers=1, conf={"common_passwords": LIST}).start()
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
       "https://10.0.0.9:54321", "--user", "admin", "--host", "203.0.113.7"]
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

# ---------------------------------------------------------------- V2.5.7
def give_2fa(cid):
    """A customer with every second factor: a TOTP seed (its bytes do not
    matter here), two recovery codes, a passkey."""
    sql("UPDATE customers SET totp_sealed = X'00', totp_enabled_at = unixepoch() WHERE id = ?", (cid,))
    sql("INSERT INTO recovery_codes (customer_id, code_hash) VALUES (?, X'01'), (?, X'02')", (cid, cid))
    sql("INSERT INTO passkeys (customer_id, cred_id, public_key, alg, name) "
        "VALUES (?, randomblob(16), X'00', -7, 'phone')", (cid,))


def factors(cid):
    return (one("SELECT totp_sealed IS NOT NULL OR totp_enabled_at IS NOT NULL FROM customers WHERE id = ?", (cid,)),
            one("SELECT count(*) FROM recovery_codes WHERE customer_id = ?", (cid,)),
            one("SELECT count(*) FROM passkeys WHERE customer_id = ?", (cid,)))


give_2fa(cid)
t.is_(factors(cid), (1, 2, 1), "(the customer has TOTP, recovery codes and a passkey)")
c = Browser(s)
r = c.form("/login", "/login", {"email": "cy@example.com", "password": NEWPW})
t.ok((r.header("location") or "").startswith("/login/2fa"), "with them the sign-in asks for the second factor",
     (r.status, r.header("location")))
t.ok(one("SELECT count(*) FROM sessions WHERE customer_id = ?", (cid,)) >= 1, "(the customer has sessions)")
REASON = "Ticket 4411: called from the account phone, named the last order and its amount"
page = "/admin/customers/%d" % cid
r = b.get(page)
t.ok(r.status == 200 and "/reset-2fa" in r.text and 'name="reason"' in r.text,
     "a super admin (security.manage) sees the reset form on the customer's page")
mgr = Staff(s, "mgr@example.com", "manager", pw="Manager-pass-not-common-93")
r = mgr.get(page)
t.ok(r.status == 200 and "/reset-2fa" not in r.text, "a manager (no security.manage) does not")
r = mgr.post(page + "/reset-2fa", {"csrf": csrf_of(r.text), "reason": REASON})
t.is_(r.status, 403, "a manager's POST: 403")
sql("UPDATE sessions SET reauth_at = NULL WHERE staff_id = (SELECT id FROM staff WHERE email = 'ada@example.com')")
r = b.form(page, page + "/reset-2fa", {"reason": REASON})
t.ok(r.status == 303 and (r.header("location") or "").startswith("/admin/reauth"),
     "without a fresh sign-in the reset goes to re-authentication first", (r.status, r.header("location")))
t.is_(factors(cid), (1, 2, 1), "nothing was reset")
sql("UPDATE sessions SET reauth_at = unixepoch() WHERE staff_id = (SELECT id FROM staff WHERE email = 'ada@example.com')")
r = b.form(page, page + "/reset-2fa", {"reason": "because"})
t.ok(r.status == 400 and "how the customer proved" in r.text, "a reset without a real reason: 400", r.status)
t.is_(factors(cid), (1, 2, 1), "nothing was reset by it")
r = b.form(page, "/admin/customers/99999/reset-2fa", {"reason": REASON})
t.is_(r.status, 404, "an unknown customer: 404")
r = b.form(page, page + "/reset-2fa", {"reason": REASON})
t.ok(r.status == 303 and (r.header("location") or "").endswith("?done=2fa_reset"),
     "staff reset a customer's second factor: 303 to the customer's page", (r.status, r.header("location")))
t.is_(factors(cid), (0, 0, 0), "TOTP, recovery codes and passkeys are gone")
t.is_(one("SELECT count(*) FROM sessions WHERE customer_id = ?", (cid,)), 0, "every session of the customer ended")
a = sql("SELECT actor_kind, target, detail FROM audit_log WHERE action = '2fa.reset'")
t.ok(len(a) == 1 and a[0][0] == "staff" and a[0][1] == "customer:%d" % cid and REASON in a[0][2]
     and "1 passkey" in a[0][2], "one audit row with the staff member, the customer and the reason", a)
m = s.wait_mail("cy@example.com", "two-factor sign-in was reset")
t.ok(m is not None and "Our support team" in m.get_body().get_content() and "ada@" not in str(m),
     "the customer is mailed a notice (not naming the staff member's address)")
c = Browser(s)
r = c.form("/login", "/login", {"email": "cy@example.com", "password": NEWPW})
t.ok(r.status == 303 and not (r.header("location") or "").startswith("/login/2fa"),
     "the customer's next sign-in needs only the password", r.header("location"))

give_2fa(cid)
r = s.cli("user", "reset-2fa", "CY@example.com", check=False)
t.ok(r.returncode == 0 and "reset" in r.stdout, "user reset-2fa EMAIL: exit 0", (r.returncode, r.stderr))
t.is_(factors(cid), (0, 0, 0), "the CLI removes TOTP, recovery codes and passkeys")
t.is_(one("SELECT count(*) FROM sessions WHERE customer_id = ?", (cid,)), 0, "and ends every session")
a = sql("SELECT actor, target FROM audit_log WHERE action = '2fa.reset' ORDER BY id DESC LIMIT 1")
t.ok(a == [("cli", "customer:%d" % cid)], "audited as the CLI", a)
t.ok(s.wait_mail("cy@example.com", "two-factor sign-in was reset", n=2) is not None, "and mails the customer too")
r = s.cli("user", "reset-2fa", "nobody@example.com", check=False)
t.ok(r.returncode == 1 and "no customer" in r.stderr, "user reset-2fa for an unknown email: exit 1", r.stderr)

t.done()
