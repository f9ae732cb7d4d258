#!/usr/bin/env python3
"""The servers panel (issue 12, admin_servers.c) and `1000proxy server`
(cmd_server.c): /admin/servers behind servers.write (403 for a role
without it); create, edit, enable, disable, maintenance, delete, each with
CSRF and one audit row.  Fields go through valid.c: hostile input is a 400
that keeps the form (never the password) and writes nothing, a name in
use a 409.  The panel password is sealed with the row's identity: the
column is not the plaintext, opens for its own row only (two rows' blobs
swapped: neither opens), and the plaintext is in no page, audit row or
log line.  A server with plans is never deleted.  The CLI adds (secret on
stdin) and lists."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import csrf_of  # noqa: E402

t = TAP()
s = Stack(workers=1).start()
sql = s.sql
PW1 = "Pan3l-pass-ZQXJ-first"
PW2 = "Pan3l-pass-KWVY-second"
TOK = "tok-3xui-PLMN-bearer"
CLI_PW = "cli-secret-RSTU-typed"


def one(q, args=()):
    return sql(q, args)[0][0]


def audits(action):
    return sql("SELECT target, detail FROM audit_log WHERE action = ? ORDER BY id", (action,))


def state():
    return (sql("SELECT * FROM servers ORDER BY id"), one("SELECT count(*) FROM audit_log"))


def opens(sid, what, secret):
    """0: opens with its row's identity and is secret; 1: does not open; 3: other."""
    return s.cli("server", "test-open", str(sid), what, check=False, input=secret + "\n").returncode


def form(**kw):
    """SRV with kw over it; a None drops the field (an unticked box)."""
    d = dict(SRV, csrf=CSRF)
    d.update(kw)
    return {k: v for k, v in d.items() if v is not None}


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


ada = Staff(s, "ada@example.com", "super_admin")
mgr = Staff(s, "mgr@example.com", "manager")
sam = Staff(s, "sam@example.com", "support")
CSRF = csrf_of(ada.get("/admin/servers/new").text)

# -- who may open it --
r = ada.get("/admin/servers")
html_ok(r, "/admin/servers")
t.ok(r.status == 200 and 'aria-current="page">Servers<' in r.text, "a super admin opens the list; the nav marks it",
     r.status)
t.ok('href="/admin/servers"' in ada.get("/admin").text, "the dashboard links it for servers.write")
t.is_(mgr.get("/admin/servers").status, 200, "a manager (servers.write) opens it too")
for path in ("/admin/servers", "/admin/servers/new", "/admin/servers/1"):
    t.is_(sam.get(path).status, 403, "support (no servers.write): 403 on GET " + path)
before = state()
scsrf = csrf_of(sam.get("/admin").text)
for path in ("/admin/servers", "/admin/servers/1", "/admin/servers/1/disable"):
    r = sam.post(path, {"csrf": scsrf})
    t.is_(r.status, 403, "support's POST %s: 403" % path)
t.is_(state(), before, "nothing written by them")

# -- create --
SRV = {"name": "Frankfurt 2", "country_code": "de", "country": "Germany", "city": "Frankfurt", "category": "1",
       "brand": "", "panel_url": "https://panel.example.com:2053/secret///", "panel_user": "admin",
       "panel_password": PW1, "panel_token": "", "public_host": "de2.example.com", "tls_verify": "1",
       "capacity": "", "max_concurrency": "4"}
r = ada.post("/admin/servers", dict(SRV))
t.is_(r.status, 403, "without the CSRF token: refused")
r = ada.post("/admin/servers", form())
t.ok(r.status == 303 and (r.header("location") or "").endswith("/admin/servers?done=created"),
     "POST /admin/servers creates: 303 to the list", (r.status, r.header("location"), r.text[:300]))
row = sql("SELECT id, country_code, panel_url, tls_verify, capacity, max_concurrency, state, panel_password_sealed, "
          "panel_token_sealed, updated_at IS NOT NULL FROM servers WHERE name = 'Frankfurt 2'")
t.ok(row and row[0][1:7] == ("DE", "https://panel.example.com:2053/secret/", 1, None, 4, "active"),
     "the row: country code upper case, the URL ends in one '/', TLS on, unlimited capacity", row and row[0][:7])
NEW = row[0][0]
blob = row[0][7]
t.ok(isinstance(blob, bytes) and PW1.encode() not in blob and len(blob) == len(PW1) + 33 and row[0][8] is None,
     "the password column is a sealed blob (version, key id, nonce, tag), not the plaintext; no token stored")
t.is_(opens(NEW, "password", PW1), 0, "it opens with its own row's identity (server:ID:panel_password)")
t.is_(opens(NEW, "password", "wrong"), 3, "(and the check would see another plaintext)")
a = audits("server.created")
t.ok(len(a) == 1 and a[0][0] == "server:%d" % NEW and "panel_password: not set -> set" in a[0][1]
     and "public_host: none -> de2.example.com" in a[0][1], "one audit row naming the fields", a)
r = ada.get("/admin/servers?done=created")
t.ok("Frankfurt 2" in r.text and "DE, Germany, Frankfurt" in r.text and "unlimited" in r.text
     and "The server was added." in r.text, "the list shows it: location, capacity, the notice")

# -- the form, refusals --
r = ada.get("/admin/servers/%d" % NEW)
html_ok(r, "/admin/servers/{id}")
t.ok(r.status == 200 and 'value="de2.example.com"' in r.text and "Panel password (set;" in r.text
     and "API token, 3X-UI v3 (not set;" in r.text, "the edit form: stored values, the password only as 'set'")
t.is_(ada.get("/admin/servers/99999").status, 404, "an unknown server: 404")
bad = [("name", "", "name"), ("name", "tab\there", "name"), ("country_code", "D1", "country code"),
       ("country_code", "DEU", "country code"), ("country", "", "country"), ("category", "999", "categor"),
       ("brand", "x", "brand"), ("panel_url", "ftp://panel.example.com/", "panel URL"),
       ("panel_url", "https://user:pw@panel.example.com/", "panel URL"),
       ("panel_url", "https://panel.example.com/?x=1", "panel URL"),
       ("panel_url", "http://panel.example.com:2053/", "panel URL"), ("panel_url", "javascript:alert(1)", "panel URL"),
       ("panel_user", "", "username"), ("public_host", "http://h.example.com", "public host"),
       ("public_host", "localhost", "public host"), ("public_host", "1.2.3.999", "public host"),
       ("public_host", "<script>", "public host"), ("capacity", "0", "capacity"), ("capacity", "-3", "capacity"),
       ("max_concurrency", "0", "concurrent"), ("max_concurrency", "17", "concurrent"),
       ("panel_password", "line\nbreak", "password")]
before = state()
for field, value, says in bad:
    r = ada.post("/admin/servers", form(**dict({"name": "Hostile"}, **{field: value})))
    t.ok(r.status == 400 and says in r.text and 'name="panel_password" value=""' in r.text and PW1 not in r.text,
         "create with %s=%r: 400 naming it, the form kept without the password" % (field, value), (r.status, r.text[-600:]))
r = ada.post("/admin/servers", form(name="No secret", panel_password=""))
t.ok(r.status == 400 and "password" in r.text, "a new server without a password or token: 400")
r = ada.post("/admin/servers", form())
t.ok(r.status == 409 and "Another server is called" in r.text and PW1 not in r.text,
     "a name in use: 409, the password not echoed", r.status)
r = ada.post("/admin/servers", form(surprise="1"))
t.is_(r.status, 400, "an undeclared field: 400")
t.is_(state(), before, "the refused requests wrote nothing")

# -- edit: keep, then replace the password; token; TLS off --
r = ada.post("/admin/servers/%d" % NEW, form(panel_password=""))
t.ok(r.status == 303 and r.header("location").endswith("done=unchanged") and
     one("SELECT panel_password_sealed FROM servers WHERE id = ?", (NEW,)) == blob,
     "saving with an empty password keeps the stored one; nothing changed, nothing audited", r.header("location"))
sql("UPDATE sessions SET reauth_at = NULL WHERE staff_id = (SELECT id FROM staff WHERE email = 'ada@example.com')")
r = ada.post("/admin/servers/%d" % NEW, form(panel_password=PW2, tls_verify=None, capacity="250"))
t.ok(r.status == 303 and "/admin/reauth" in (r.header("location") or "") and
     one("SELECT panel_password_sealed FROM servers WHERE id = ?", (NEW,)) == blob and
     sql("SELECT capacity FROM servers WHERE id = ?", (NEW,)) != [(250,)] and not audits("server.updated"),
     "replacing the password without a fresh sign-in: to /admin/reauth, nothing written", r.header("location"))
ada.reauth("/admin/servers/%d" % NEW)
r = ada.post("/admin/servers/%d" % NEW, form(panel_password=PW2, panel_token=TOK, tls_verify=None,
                                            capacity="250", city="Offenbach"))
t.ok(r.status == 303 and r.header("location").endswith("done=saved"), "after it, an edit saves: 303", r.status)
t.is_(sql("SELECT tls_verify, capacity, city FROM servers WHERE id = ?", (NEW,)), [(0, 250, "Offenbach")],
      "TLS off, capacity 250, the city stored")
t.ok(opens(NEW, "password", PW2) == 0 and opens(NEW, "token", TOK) == 0,
     "the replaced password and the new token open with the row's identity")
a = audits("server.updated")
t.ok(len(a) == 1 and "panel_password: set -> replaced" in a[0][1] and "panel_token: not set -> set" in a[0][1]
     and "tls_verify: 1 -> 0" in a[0][1] and 'city: "Frankfurt" -> "Offenbach"' in a[0][1],
     "one audit row naming the changed fields, the secrets by name only", a)
r = ada.get("/admin/servers")
t.ok("Needs a pin" in r.text and "server pin %d" % NEW in r.text,
     "the list warns that the server needs a pin (TLS verification off no longer skips checks)")

# -- the sealed blobs belong to their rows --
r = s.cli("server", "add", "--name", "Paris 1", "--country-code", "FR", "--country", "France", "--url",
          "https://10.0.0.9:54321", "--user", "root", "--host", "203.0.113.7", "--capacity", "10",
          "--no-tls-verify", input=CLI_PW + "\n", check=False)
t.ok(r.returncode == 0 and r.stdout.strip().isdigit(), "server add prints the new id", (r.returncode, r.stderr))
CLI = int(r.stdout.strip() or 0)
t.is_(sql("SELECT country_code, panel_url, tls_verify, capacity, max_concurrency FROM servers WHERE id = ?", (CLI,)),
      [("FR", "https://10.0.0.9:54321/", 0, 10, 2)], "the CLI's row, URL normalised")
t.is_(opens(CLI, "password", CLI_PW), 0, "its password (from stdin) is sealed for its row")
a, b = (one("SELECT panel_password_sealed FROM servers WHERE id = ?", (i,)) for i in (NEW, CLI))
sql("UPDATE servers SET panel_password_sealed = ? WHERE id = ?", (b, NEW))
sql("UPDATE servers SET panel_password_sealed = ? WHERE id = ?", (a, CLI))
t.ok(opens(NEW, "password", CLI_PW) == 1 and opens(CLI, "password", PW2) == 1,
     "two rows' sealed blobs swapped in SQL: neither opens")
sql("UPDATE servers SET panel_password_sealed = ? WHERE id = ?", (a, NEW))
sql("UPDATE servers SET panel_password_sealed = ? WHERE id = ?", (b, CLI))
t.ok(opens(NEW, "password", PW2) == 0, "put back, it opens again")
r = s.cli("server", "list")
lines = r.stdout.splitlines()
t.ok(lines[0].split()[:3] == ["ID", "NAME", "STATE"] and any(x.split()[0] == str(CLI) and "Paris" in x and "OFF" in x
     for x in lines) and any("Frankfurt 2" in x for x in lines), "server list prints a table", r.stdout)
r = s.cli("server", "add", "--name", "Paris 1", "--country-code", "FR", "--country", "France", "--url",
          "https://10.0.0.9:54321", "--user", "root", "--host", "203.0.113.7", input="x\n", check=False)
t.ok(r.returncode == 1 and "another server" in r.stderr, "server add with a name in use: refused", r.stderr)
r = s.cli("server", "add", "--name", "Empty", "--country-code", "FR", "--country", "France", "--url",
          "https://10.0.0.9:1", "--user", "root", "--host", "203.0.113.7", input="", check=False)
t.ok(r.returncode == 1 and "standard input" in r.stderr, "server add without a password on stdin: refused")
r = s.cli("server", "add", "--name", "P", "--password", "x", check=False)
t.is_(r.returncode, 2, "there is no --password option (a secret never goes on argv)")
t.ok(audits("server.created")[-1][0] == "server:%d" % CLI, "the CLI's add is audited")
t.ok("server test|sync ID [--no-wait]" in s.cli("server", check=False).stderr, "the usage names server test and sync")

# -- state changes --
for action, st, done in (("maintenance", "maintenance", "maintenance"), ("disable", "disabled", "disabled"),
                         ("enable", "active", "enabled")):
    r = ada.post("/admin/servers/%d/%s" % (NEW, action), {"csrf": CSRF})
    t.ok(r.status == 303 and r.header("location").endswith("done=" + done)
         and one("SELECT state FROM servers WHERE id = ?", (NEW,)) == st, "POST %s: state %s" % (action, st))
t.is_([x[1].split(": state: ")[1] for x in sql("SELECT action, detail FROM audit_log WHERE action IN "
      "('server.maintenance', 'server.disabled', 'server.enabled') ORDER BY id")],
      ["active -> maintenance", "maintenance -> disabled", "disabled -> active"], "each audited once")
n = one("SELECT count(*) FROM audit_log")
ada.post("/admin/servers/%d/enable" % NEW, {"csrf": CSRF})
t.is_(one("SELECT count(*) FROM audit_log"), n, "enabling an active server audits nothing")
t.is_(ada.post("/admin/servers/%d/disable" % NEW, {}).status, 403, "a state change without CSRF: 403")

# -- delete --
before = state()
r = ada.post("/admin/servers/1/delete", {"csrf": CSRF})
t.ok(r.status == 409 and "Disable it instead" in r.text and state() == before,
     "the seeded server has plans: 409, nothing deleted", r.status)
r = ada.post("/admin/servers/%d/delete" % CLI, {"csrf": CSRF})
t.ok(r.status == 303 and not sql("SELECT 1 FROM servers WHERE id = ?", (CLI,)) and audits("server.deleted"),
     "a server nothing names is deleted, audited", r.status)

# -- the secrets are nowhere --
pages = "".join(ada.get(p).text for p in ("/admin/servers", "/admin/servers/%d" % NEW, "/admin/audit"))
audit_text = repr(sql("SELECT * FROM audit_log"))
with open(s.log, errors="replace") as f:
    log_text = f.read()
for sec in (PW1, PW2, TOK, CLI_PW):
    t.ok(sec not in pages and sec not in audit_text and sec not in log_text,
         "the secret %s... is in no page, audit row or log line" % sec[:6])
s.check_sanitizers(t)
t.done()
