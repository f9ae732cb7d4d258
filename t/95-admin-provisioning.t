#!/usr/bin/env python3
"""What staff need to run provisioning (issue 12, admin12):

- /admin/jobs (jobs.manage): depth per kind and per panel, running jobs,
  failed ones with the panel's message, filters and pages; retry and
  discard change the job row exactly as `1000proxy job` does and write
  one audit row; a state that allows neither is a 409 that writes nothing;
- /admin/clients (orders.read; actions orders.write): search by email,
  state and panel, pages; a client's page with what the panel read back,
  usage and its order; each action enqueues exactly one job through
  client_job_enqueue, audited; deprovision asks for re-authentication;
- the plan form binds to one inbound or to a location pool, refuses a
  pool without an active inbound of the protocol, shows the pool's size;
  the catalog and the home page's locations count pool plans;
- warnings on the plan form and list for inbounds real clients will not
  use (VLESS/Trojan without TLS, ws+TLS with h2 in ALPN, SS over ws);
- failed order items: the panel's message, retry provisioning, refund to
  the wallet (re-authenticated, once);
- 403 for roles without the permissions;
- end to end with `work` and the panel double: a provisioning the panel
  refuses shows the panel's message to staff, and their retry provisions;
  their suspend, resume, regenerate and deprovision reach the panel.

Until the end no `work` runs: the job rows stay as the pages left them."""
import html
import json
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack, wait_for  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import Shop, csrf_of  # noqa: E402
import pxprov as pv  # noqa: E402

t = TAP()
s = Stack(workers=1).start()
sql = s.sql


def one(q, args=()):
    return sql(q, args)[0][0]


def audits(action):
    return sql("SELECT target, detail, actor FROM audit_log WHERE action = ? ORDER BY id", (action,))


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def text(r):
    return html.unescape(r.text)


def tc(*args):
    return s.cli("test-commerce", *[str(a) for a in args]).stdout.split()


ada = Staff(s, "ada@example.com", "super_admin")
mgr = Staff(s, "mgr@example.com", "manager")
sam = Staff(s, "sam@example.com", "support")
ACSRF = csrf_of(ada.get("/admin/plans/new").text)
MCSRF = csrf_of(mgr.get("/admin").text)
SCSRF = csrf_of(sam.get("/admin").text)

# -- data: two customers, paid orders (provision jobs), clients --
for cid, email in ((1, "ann@example.com"), (2, "bob@example.com")):
    sql("INSERT INTO customers (id, email, name, password_hash, email_verified_at) VALUES (?, ?, 'N', 'x', unixepoch())",
        (cid, email))
    tc("wallet", cid, 100000, "topup", "seed-%d" % cid)
ok1, ORD1 = tc("checkout", 1, 1, 1, "k-ann-1")          # fra-vless-starter, one item
ok2, ORD2 = tc("checkout", 1, 5, 2, "k-ann-2")          # ams-vless-privacy, two items
ok3, ORD3 = tc("checkout", 2, 9, 1, "k-bob-1")          # sgp-vless-gaming, one item
t.ok(ok1 == ok2 == ok3 == "ok", "three paid orders from the wallet", (ok1, ok2, ok3))
items = {pub: [r[0] for r in sql("SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id "
                                 "WHERE o.public_id = ? ORDER BY i.id", (pub,))] for pub in (ORD1, ORD2, ORD3)}
t.ok(len(items[ORD2]) == 2 and one("SELECT count(*) FROM jobs WHERE kind = 'provision'") == 4,
     "four items, each with its provision job", items)


def job_of(item):
    return sql("SELECT id, state, attempts, last_error FROM jobs WHERE idem_key = ?", ("provision:item:%d" % item,))[0]


# Clients of ORD1's item (on fra-1) and ORD3's (on sgp-1), as work would leave them.
def client(item, cust, server, inbound, email, state="active", panel_json=""):
    return sql("INSERT INTO provisioned_clients (order_item_id, customer_id, server_id, inbound_id, email, client_uuid, "
               "sub_id, state, up_bytes, down_bytes, traffic_limit_bytes, expires_at, panel_json, panel_enable) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1073741824, 2147483648, 53687091200, unixepoch() + 86400 * 30, ?, 1) "
               "RETURNING id", (item, cust, server, inbound, email, "uuid-" + email, "sub-" + email, state,
                                panel_json))[0][0]


PANEL_JSON = '{"email":"c-ann-1","id":"uuid-c-ann-1","enable":true,"totalGB":53687091200,"marker":"READBACK-7Q"}'
C1 = client(items[ORD1][0], 1, 1, 1, "c-ann-1", panel_json=PANEL_JSON)
C3 = client(items[ORD3][0], 2, 3, 9, "c-bob-1", state="suspended")
sql("INSERT INTO usage_daily (client_id, day, up_bytes, down_bytes) VALUES (?, 20400, 1048576, 5242880)", (C1,))
for j in (items[ORD1][0], items[ORD3][0]):
    sql("UPDATE order_items SET state = 'active' WHERE id = ?", (j,))
    sql("UPDATE jobs SET state = 'done', done_at = unixepoch() WHERE idem_key = ?", ("provision:item:%d" % j,))
# ORD2's second item failed for good with the panel's message; its first runs.
FAILED, RUNNING = items[ORD2][1], items[ORD2][0]
MSG = "panel ams-1: inbound 5 not found (addClient: record not found)"
sql("UPDATE order_items SET state = 'failed', last_error = ? WHERE id = ?", (MSG, FAILED))
sql("UPDATE jobs SET state = 'failed', attempts = 9, last_error = ? WHERE idem_key = ?", (MSG, "provision:item:%d" % FAILED))
sql("UPDATE jobs SET state = 'running', attempts = 1, step = 'add', claimed_by = 'runner-77', "
    "lease_until = unixepoch() + 600 WHERE idem_key = ?", ("provision:item:%d" % RUNNING,))
# Email jobs for the pages and filters.
for n in range(60):
    sql("INSERT INTO jobs (kind, idem_key, payload, state) VALUES ('email', ?, '{}', 'pending')", ("mail:%d" % n,))

# -- permissions --
for path in ("/admin/jobs",):
    t.is_(sam.get(path).status, 403, "support (no jobs.manage): 403 on GET " + path)
fjob = job_of(FAILED)[0]
for path in ("/admin/jobs/%d/retry" % fjob, "/admin/jobs/%d/discard" % fjob, "/admin/clients/%d/suspend" % C1,
             "/admin/orders/%s/items/%d/retry" % (ORD2, FAILED), "/admin/orders/%s/items/%d/refund" % (ORD2, FAILED)):
    t.is_(sam.post(path, {"csrf": SCSRF}).status, 403, "support's POST %s: 403" % path)
t.is_(sam.get("/admin/clients").status, 200, "support (orders.read) sees the clients")
r = sam.get("/admin/clients/%d" % C1)
t.ok(r.status == 200 and "/suspend" not in r.text, "and a client's page without the action buttons", r.status)
t.ok(job_of(FAILED)[1] == "failed" and not audits("job.retry") and not audits("client.suspend"),
     "nothing changed by the refused requests")
t.is_(mgr.get("/admin/jobs").status, 200, "a manager (jobs.manage) opens /admin/jobs")
t.ok('href="/admin/jobs"' in ada.get("/admin").text and 'href="/admin/clients"' in ada.get("/admin").text,
     "the staff nav links Jobs and Clients")
t.ok('href="/admin/jobs"' not in sam.get("/admin").text, "but not Jobs for support")

# -- /admin/jobs --
r = ada.get("/admin/jobs")
html_ok(r, "/admin/jobs")
page = r.text
kind_row = re.search(r'<tr class="depth-kind" data-kind="provision">(.*?)</tr>', page)
t.ok(kind_row and re.findall(r'<td class="num">(\d+)</td>', kind_row.group(1)) == ["0", "1", "1"],
     "depth per kind: provision 0 pending, 1 running, 1 failed", kind_row and kind_row.group(1))
mail_row = re.search(r'<tr class="depth-kind" data-kind="email">(.*?)</tr>', page)
t.ok(mail_row and re.findall(r'<td class="num">(\d+)</td>', mail_row.group(1)) == ["60", "0", "0"],
     "depth per kind: 60 emails pending")
panel_row = re.search(r'<tr class="depth-panel" data-panel="2">(.*?)</tr>', page)
t.ok(panel_row and "ams-1" in panel_row.group(1) and
     re.findall(r'<td class="num">(\d+)</td>', panel_row.group(1)) == ["0", "1", "1"],
     "depth per panel: ams-1 has one running and one failed", panel_row and panel_row.group(1))
run = re.findall(r'<tr class="running-job" data-job="(\d+)">(.*?)</tr>', page)
t.ok(len(run) == 1 and int(run[0][0]) == job_of(RUNNING)[0] and "runner-77" in run[0][1] and "add" in run[0][1],
     "running now: the one running job with its runner and step", run)
r = ada.get("/admin/jobs?state=failed")
rows = re.findall(r'<tr class="job" data-job="(\d+)" data-state="(\w+)">', r.text)
t.ok(rows == [(str(fjob), "failed")] and html.escape(MSG) in r.text,
     "?state=failed: the failed job with the panel's message", rows)
r = ada.get("/admin/jobs?kind=provision&panel=2")
rows = re.findall(r'<tr class="job" data-job="(\d+)" data-state="(\w+)">', r.text)
t.is_(sorted(x[1] for x in rows), ["failed", "running"], "?kind=provision&panel=2: ams-1's two provision jobs")
r = ada.get("/admin/jobs?panel=none&kind=provision")
t.ok('class="job"' not in r.text and "No job matches" in r.text, "?panel=none: no provision job lacks a panel")
r = ada.get("/admin/jobs?kind=email")
rows = re.findall(r'<tr class="job" data-job="(\d+)"', r.text)
t.ok(len(rows) == 50 and 'rel="next"' in r.text and "page=2" in r.text, "60 emails: 50 on page 1 and a next link",
     len(rows))
r2 = ada.get("/admin/jobs?kind=email&page=2")
rows2 = re.findall(r'<tr class="job" data-job="(\d+)"', r2.text)
t.ok(len(rows2) == 10 and not set(rows) & set(rows2) and 'rel="prev"' in r2.text, "page 2: the other 10", len(rows2))
r = ada.get("/admin/jobs?kind=bogus&state=evil&panel=x&page=-3")
t.ok(r.status == 200 and len(re.findall(r'class="job"', r.text)) == 50, "nonsense filters are ignored: 200, all jobs")

# retry and discard, as `1000proxy job` does them
before_files = one("SELECT count(*) FROM audit_log")
r = ada.post("/admin/jobs/%d/retry" % fjob, {"csrf": ACSRF})
t.ok(r.status == 303 and (r.header("location") or "").endswith("/admin/jobs?done=retried"), "retry: 303", r.status)
row = sql("SELECT state, attempts, next_attempt_at <= unixepoch(), age_from >= updated_at - 1 FROM jobs WHERE id = ?",
          (fjob,))[0]
t.is_(row, ("pending", 0, 1, 1), "the job is pending again, attempts from 0, due now")
a = audits("job.retry")
t.ok(len(a) == 1 and a[0][0] == "job:%d" % fjob and a[0][2] == "staff" and "provision" in a[0][1],
     "one audit row job.retry by staff", a)
t.ok("The job is pending again" in text(ada.get("/admin/jobs?done=retried")), "the list says so")
r = ada.post("/admin/jobs/%d/retry" % fjob, {"csrf": ACSRF})
t.ok(r.status == 409 and "only failed or discarded" in text(r) and len(audits("job.retry")) == 1,
     "retrying a pending job: 409, nothing written", r.status)
mail1 = one("SELECT id FROM jobs WHERE idem_key = 'mail:1'")
r = mgr.post("/admin/jobs/%d/discard" % mail1, {"csrf": MCSRF})
t.ok(r.status == 303 and one("SELECT state FROM jobs WHERE id = ?", (mail1,)) == "discarded" and
     one("SELECT done_at IS NOT NULL FROM jobs WHERE id = ?", (mail1,)) == 1, "a manager discards a pending job", r.status)
a = audits("job.discard")
t.ok(len(a) == 1 and a[0][0] == "job:%d" % mail1, "one audit row job.discard", a)
r = ada.post("/admin/jobs/%d/discard" % job_of(RUNNING)[0], {"csrf": ACSRF})
t.ok(r.status == 409 and job_of(RUNNING)[1] == "running" and len(audits("job.discard")) == 1,
     "a running job is not discarded (its runner may be mid-call): 409", r.status)
t.is_(ada.post("/admin/jobs/999999/retry", {"csrf": ACSRF}).status, 404, "no such job: 404")
r = ada.post("/admin/jobs/%d/retry" % mail1, {"csrf": ACSRF})
t.ok(r.status == 303 and one("SELECT state FROM jobs WHERE id = ?", (mail1,)) == "pending",
     "a discarded job can be retried")
t.ok(os.path.exists(os.path.join(s.dir, "spool", "new")) and
     any(f.startswith("%d." % mail1) for f in os.listdir(os.path.join(s.dir, "spool", "new"))),
     "and its wake-up file is in new/")
sql("UPDATE jobs SET state = 'failed', last_error = ? WHERE id = ?", (MSG, fjob))

# -- /admin/clients --
r = ada.get("/admin/clients")
html_ok(r, "/admin/clients")
rows = re.findall(r'<tr class="client" data-client="(\d+)" data-state="(\w+)">', r.text)
t.is_(sorted(rows), sorted([(str(C1), "active"), (str(C3), "suspended")]), "every client listed with its state")
t.ok(ORD1 in r.text and "ann@example.com" in r.text and "fra-1" in r.text, "with its order, customer and panel")
for q, want in (("email=bob@", [C3]), ("email=c-ann", [C1]), ("state=suspended", [C3]), ("panel=1", [C1]),
                ("panel=3&state=active", []), ("email=%25", []), ("email=_", [])):
    got = [int(x) for x in re.findall(r'<tr class="client" data-client="(\d+)"', ada.get("/admin/clients?" + q).text)]
    t.is_(sorted(got), sorted(want), "/admin/clients?%s" % q)
# pages: 55 more clients on one more order
ok4, ORD4 = tc("checkout", 2, 3, 55, "k-bob-many")
many = [x[0] for x in sql("SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.public_id = ?",
                          (ORD4,))]
for n, it in enumerate(many):
    client(it, 2, 1, 2, "bulk-%02d" % n)
r = ada.get("/admin/clients?email=bulk-")
t.ok(len(re.findall(r'class="client"', r.text)) == 50 and 'rel="next"' in r.text, "55 clients: 50 on page 1")
r = ada.get("/admin/clients?email=bulk-&page=2")
t.ok(len(re.findall(r'class="client"', r.text)) == 5 and 'rel="prev"' in r.text, "and 5 on page 2")

r = ada.get("/admin/clients/%d" % C1)
html_ok(r, "/admin/clients/{id}")
body = text(r)
t.ok(r.status == 200 and "READBACK-7Q" in body and '"totalGB":53687091200' in body,
     "the client's page shows what the panel read back", r.status)
t.ok("/admin/orders/" + ORD1 in r.text and "ann@example.com" in body and
     '<td class="num">1 MB</td><td class="num">5 MB</td>' in r.text and "3 GB of 50 GB" in body,
     "its order, its customer, its traffic and its usage per day")
t.is_(ada.get("/admin/clients/999999").status, 404, "no such client: 404")
t.ok("(nothing read back yet)" in text(ada.get("/admin/clients/%d" % C3)), "a client without a read-back says so")


def client_jobs(cid):
    return sql("SELECT kind, payload, server_id, state FROM jobs WHERE idem_key GLOB ? ORDER BY id",
               ("*:client:%d:*" % cid,))


for action, kind, cid in (("suspend", "suspend", C1), ("reset-traffic", "reset_traffic", C1),
                          ("regenerate", "regenerate", C1), ("resume", "resume", C3)):
    n0 = len(client_jobs(cid))
    r = mgr.post("/admin/clients/%d/%s" % (cid, action), {"csrf": MCSRF})
    jobs = client_jobs(cid)
    new = jobs[n0:]
    t.ok(r.status == 303 and len(new) == 1 and new[0][0] == kind and new[0][3] == "pending" and
         new[0][2] == (1 if cid == C1 else 3), "%s: 303 and exactly one %s job in the client's panel lane" % (action, kind),
         (r.status, new))
    p = json.loads(new[0][1]) if new else {}
    want_op = "gen:1" if kind == "regenerate" else None
    t.ok(p.get("client") == cid and (p.get("op") == want_op if want_op else re.match(r"^staff:\d+$", p.get("op", ""))),
         "%s: payload names the client and the op" % action, p)
    a = audits("client.%s" % kind)
    t.ok(len(a) == 1 and a[0][0] == "client:%d" % cid and a[0][2] == "staff", "%s: one audit row" % action, a)
r = mgr.post("/admin/clients/%d/regenerate" % C1, {"csrf": MCSRF})
t.ok(r.status == 303 and sum(1 for j in client_jobs(C1) if j[0] == "regenerate") == 1,
     "regenerate again before it ran: the same job (op gen:1), not a second")
sql("UPDATE provisioned_clients SET state = 'suspended' WHERE id = ?", (C1,))
n0 = len(client_jobs(C1))
r = mgr.post("/admin/clients/%d/suspend" % C1, {"csrf": MCSRF})
t.ok(r.status == 409 and len(client_jobs(C1)) == n0 and "does not apply" in text(r),
     "suspending a suspended client: 409, no job", r.status)
sql("UPDATE provisioned_clients SET state = 'active' WHERE id = ?", (C1,))
# deprovision: re-authentication first
n0 = len(client_jobs(C1))
r = ada.post("/admin/clients/%d/deprovision" % C1, {"csrf": ACSRF})
t.ok(r.status == 303 and "/admin/reauth" in (r.header("location") or "") and len(client_jobs(C1)) == n0,
     "deprovision without a fresh sign-in: to /admin/reauth, no job", (r.status, r.header("location")))
ada.reauth("/admin/clients/%d" % C1)
r = ada.post("/admin/clients/%d/deprovision" % C1, {"csrf": ACSRF})
new = client_jobs(C1)[n0:]
t.ok(r.status == 303 and len(new) == 1 and new[0][0] == "deprovision", "after re-authentication: one deprovision job",
     (r.status, new))
page = ada.get(r.header("location")).text
t.ok("deleted from its panel" in html.unescape(page), "the page says what will happen")
t.is_(sorted(re.findall(r'<tr class="client-job" data-kind="(\w+)"', page)),
      ["deprovision", "provision", "regenerate", "reset_traffic", "suspend"],
      "the client's page lists its jobs: its provision and each asked on it")

# -- plan binding: one inbound or a location pool --
PLAN = {"slug": "pool-de", "name": "Germany pool", "description": "", "protocol": "vless", "binding": "pool",
        "server": "", "inbound": "", "category": "", "brand": "", "country": "DE", "currency": "USD",
        "price": "3.00", "duration_days": "30", "traffic_gb": "10", "device_limit": "1", "stock": "", "sort": "-10",
        "traffic_reset": "monthly", "active": "1", "featured": "1"}


def plan_post(path="/admin/plans", **kw):
    f = dict(PLAN, csrf=ACSRF)
    f.update(kw)
    return ada.post(path, {k: v for k, v in f.items() if v is not None})


nplans = one("SELECT count(*) FROM plans")
for kw, why in (({"country": ""}, "at least a server, a category or a country"),
                ({"country": "JP"}, "no active inbound serving vless"),
                ({"country": "D1"}, "two-letter code"),
                ({"protocol": "shadowsocks", "category": "2", "country": ""}, None),
                ({"binding": "inbound", "inbound": ""}, "Choose the plan's inbound"),
                ({"binding": "inbound", "inbound": "2", "country": ""}, "another protocol"),
                ({"binding": "inbound", "inbound": "5", "server": "1", "country": ""}, "another server"),
                ({"traffic_reset": "weekly"}, "never or monthly"),
                ({"binding": "sideways"}, "one inbound or to a location pool")):
    if why is None:
        continue
    r = plan_post(**kw)
    t.ok(r.status == 400 and why.lower() in text(r).lower() and 'value="pool-de"' in r.text,
         "plan form %s: 400 (%s), the form kept" % (kw, why), (r.status, re.findall(r'role="alert">([^<]*)', r.text)))
sql("UPDATE server_inbounds SET active = 0 WHERE id = 12")   # sgp-ss: the gaming category's only SS inbound
r = plan_post(protocol="shadowsocks", category="2", country="")
t.ok(r.status == 400 and "no active inbound serving shadowsocks" in text(r), "a pool whose only inbound is inactive: 400")
sql("UPDATE server_inbounds SET active = 1 WHERE id = 12")
t.is_(one("SELECT count(*) FROM plans"), nplans, "none of them wrote a plan")
r = plan_post(country="de")
t.ok(r.status == 303, "a pool by country (typed in lower case) is saved", (r.status, text(r)[:300]))
row = sql("SELECT id, server_id, inbound_id, category_id, country_code, traffic_reset FROM plans WHERE slug = 'pool-de'")
t.ok(row and row[0][1:] == (None, None, None, "DE", "monthly"), "the row: no server, no inbound, country DE, monthly",
     row)
POOL = row[0][0]
a = audits("plan.created")
t.ok(a and "binding: none -> pool" in a[-1][1] and "country: none -> DE" in a[-1][1] and
     "traffic_reset: none -> monthly" in a[-1][1], "the audit row names binding, country and reset", a and a[-1])
r = ada.get("/admin/plans/%d" % POOL)
html_ok(r, "the pool plan's form")
t.ok('value="pool" checked' in r.text and "This pool holds 1 active vless inbound." in r.text and
     '<option value="DE" selected>' in r.text and '<option value="monthly" selected>' in r.text,
     "the form shows the pool binding and how many inbounds it holds")
r = plan_post(path="/admin/plans/%d" % POOL, slug="pool-de")
t.ok(r.status == 303 and r.header("location").endswith("done=unchanged"), "saved again unchanged: nothing written")
r = plan_post(slug="pool-gaming-ss", protocol="shadowsocks", category="2", country="", featured=None)
t.ok(r.status == 303 and sql("SELECT server_id, category_id, country_code FROM plans WHERE slug = 'pool-gaming-ss'") ==
     [(None, 2, None)], "a pool by category only", r.status)
r = plan_post(slug="one-inbound", binding="inbound", inbound="3", protocol="trojan", server="", country="")
t.ok(r.status == 303 and sql("SELECT server_id, inbound_id, country_code FROM plans WHERE slug = 'one-inbound'") ==
     [(1, 3, "DE")], "an inbound binding takes its server and the server's country", r.status)
# The catalog and the home page count pool plans.
r = s.get("/plans?country=DE")
t.ok("Germany pool" in r.text, "/plans?country=DE lists the DE pool plan")
t.ok("Germany pool" not in s.get("/plans?country=SG").text, "/plans?country=SG does not")
home = s.get("/").text
t.ok("Germany pool" in home, "the featured pool plan is on the home page")
fra = sql("SELECT count(*) FROM plans WHERE active = 1 AND (server_id = 1 OR (server_id IS NULL AND inbound_id IS NULL "
          "AND (country_code IS NULL OR country_code = 'DE') AND (category_id IS NULL OR category_id = 1)))")[0][0]
m = re.search(r"Frankfurt.{0,400}?(\d+) plans?", home, re.S)
t.ok(m and int(m.group(1)) == fra, "the home page's Frankfurt location counts the pool plan (%d plans)" % fra,
     m and m.group(0)[-80:])

# -- warnings --
sql("UPDATE server_inbounds SET settings_json = ? WHERE id = 3",
    (json.dumps({"stream": {"network": "tcp", "security": "none"}}),))
sql("UPDATE server_inbounds SET settings_json = ? WHERE id = 2",
    (json.dumps({"stream": {"network": "ws", "security": "tls",
                            "tlsSettings": {"serverName": "fra1.example.com", "alpn": ["h2", "http/1.1"]}}}),))
sql("UPDATE server_inbounds SET network = 'ws', settings_json = ? WHERE id = 8",
    (json.dumps({"stream": {"network": "ws", "security": "none"}, "method": "aes-256-gcm"}),))
sql("UPDATE servers SET public_host = 'fra1.example.com' WHERE id = 1")
r = ada.get("/admin/plans")
html_ok(r, "/admin/plans with warnings")


def row_of(slug, page):
    m = re.search(r'<tr id="plan-\d+" data-slug="%s">(.*?)</tr>' % slug, page, re.S)
    return html.unescape(m.group(1)) if m else ""


t.ok("without TLS or REALITY" in row_of("fra-trojan-unlimited", r.text), "list: Trojan without TLS warned")
t.ok("ALPN offers h2" in row_of("fra-vmess-ws", r.text), "list: ws+TLS with h2 in the ALPN warned")
t.ok("Shadowsocks over websocket" in row_of("ams-shadowsocks-lite", r.text), "list: Shadowsocks over ws warned")
t.ok("plan-warning" not in row_of("fra-vless-starter", r.text), "list: VLESS with REALITY is not warned")
t.ok("pool:" in row_of("pool-de", r.text) and "monthly" in row_of("pool-de", r.text), "list: the pool's binding shown")
for slug, want in (("fra-trojan-unlimited", "without TLS or REALITY"), ("fra-vmess-ws", "ALPN offers h2"),
                   ("ams-shadowsocks-lite", "Shadowsocks over websocket")):
    pid = one("SELECT id FROM plans WHERE slug = ?", (slug,))
    t.ok(want in text(ada.get("/admin/plans/%d" % pid)), "form of %s: warned (%s)" % (slug, want))
r = plan_post(slug="pool-nl-ss", protocol="shadowsocks", country="NL")
t.ok(r.status == 303, "a pool holding a warned inbound is still saved (a warning, not a refusal)")
pid = one("SELECT id FROM plans WHERE slug = 'pool-nl-ss'")
t.ok("Shadowsocks over websocket" in text(ada.get("/admin/plans/%d" % pid)) and
     "ams-1 #4 ams-ss" in text(ada.get("/admin/plans/%d" % pid)), "the pool's form names the warned inbound")
sql("UPDATE servers SET public_host = '127.0.0.1' WHERE id = 1")
t.ok("without TLS or REALITY" not in row_of("fra-trojan-unlimited", ada.get("/admin/plans").text),
     "Trojan without TLS to a loopback host: no warning")

# -- failed order items --
r = ada.get("/admin/orders/" + ORD2)
html_ok(r, "an order with a failed item")
fi = re.findall(r'<tr class="failed-item" data-item="(\d+)">(.*?)</tr>', r.text, re.S)
t.ok(len(fi) == 1 and int(fi[0][0]) == FAILED and html.escape(MSG) in fi[0][1] and "Retry provisioning" in fi[0][1]
     and "Refund to wallet" in fi[0][1], "the failed item with the panel's message, retry and refund", fi)
t.ok('class="failed-item"' not in ada.get("/admin/orders/" + ORD1).text, "an order without failed items shows none")
t.ok("Refund to wallet" not in re.sub(r".*Failed items", "", mgr.get("/admin/orders/" + ORD2).text, flags=re.S)
     .split("</table>")[0], "a manager (no wallet.adjust) gets no refund button")
t.is_(ada.post("/admin/orders/%s/items/%d/retry" % (ORD1, FAILED), {"csrf": ACSRF}).status, 404,
      "the item under another order's path: 404")
r = mgr.post("/admin/orders/%s/items/%d/retry" % (ORD2, FAILED), {"csrf": MCSRF})
t.ok(r.status == 303 and r.header("location").endswith("/admin/orders/%s?done=item-retried" % ORD2), "retry: 303",
     r.status)
t.ok(job_of(FAILED)[1:3] == ("pending", 0) and one("SELECT state FROM order_items WHERE id = ?", (FAILED,)) ==
     "provisioning", "the provision job is pending again and the item provisioning", job_of(FAILED))
t.ok(len(audits("order_item.retry")) == 1 and audits("order_item.retry")[0][0] == "order_item:%d" % FAILED and
     audits("job.retry")[-1][0] == "job:%d" % job_of(FAILED)[0], "audited: order_item.retry and job.retry")
r = mgr.post("/admin/orders/%s/items/%d/retry" % (ORD2, FAILED), {"csrf": MCSRF})
t.ok(r.status == 409 and len(audits("order_item.retry")) == 1, "retrying an item that is not failed: 409")
# It fails again; staff refund it.
sql("UPDATE order_items SET state = 'failed' WHERE id = ?", (FAILED,))
sql("UPDATE jobs SET state = 'failed' WHERE id = ?", (job_of(FAILED)[0],))
t.is_(mgr.post("/admin/orders/%s/items/%d/refund" % (ORD2, FAILED), {"csrf": MCSRF}).status, 403,
      "refund without wallet.adjust: 403")
bal0 = tc("balance", 1)[0]
ada.b.get("/admin")
sql("UPDATE sessions SET reauth_at = NULL WHERE staff_id = (SELECT id FROM staff WHERE email = 'ada@example.com')")
r = ada.post("/admin/orders/%s/items/%d/refund" % (ORD2, FAILED), {"csrf": ACSRF})
t.ok(r.status == 303 and "/admin/reauth" in (r.header("location") or "") and tc("balance", 1)[0] == bal0,
     "refund without a fresh sign-in: to /admin/reauth, nothing moved", (r.status, r.header("location")))
ada.reauth("/admin/orders/" + ORD2)
total, subtotal = sql("SELECT total_minor, subtotal_minor FROM orders WHERE public_id = ?", (ORD2,))[0]
unit = one("SELECT unit_price_minor FROM order_items WHERE id = ?", (FAILED,))
r = ada.post("/admin/orders/%s/items/%d/refund" % (ORD2, FAILED), {"csrf": ACSRF})
share = total * unit // subtotal
t.ok(r.status == 303 and int(tc("balance", 1)[0]) == int(bal0) + share,
     "refund: the item's share (%d) back to the wallet" % share, (r.status, bal0, tc("balance", 1)))
t.ok(one("SELECT state FROM order_items WHERE id = ?", (FAILED,)) == "cancelled" and
     job_of(FAILED)[1] == "discarded" and one("SELECT state FROM orders WHERE public_id = ?", (ORD2,)) == "paid",
     "the item cancelled, its job discarded, the order (with its other item) still paid")
t.ok(one("SELECT count(*) FROM wallet_transactions WHERE idempotency_key = ?", ("refund:item:%d" % FAILED,)) == 1 and
     len(audits("order_item.refunded")) == 1, "one ledger row under refund:item:ID, one audit row")
r = ada.post("/admin/orders/%s/items/%d/refund" % (ORD2, FAILED), {"csrf": ACSRF})
t.ok(r.status == 303 and int(tc("balance", 1)[0]) == int(bal0) + share and len(audits("order_item.refunded")) == 1,
     "a second click: 303, nothing moves twice")
# The whole order refunded later gives back only the rest.
bal1 = int(tc("balance", 1)[0])
op = re.search(r'name="op" value="([0-9a-f]{32})"', ada.get("/admin/orders/" + ORD2).text).group(1)
r = ada.post("/admin/orders/%s/refund" % ORD2, {"csrf": ACSRF, "op": op, "reason": "customer left"})
t.ok(int(tc("balance", 1)[0]) == bal1 + total - share and
     one("SELECT state FROM orders WHERE public_id = ?", (ORD2,)) == "refunded",
     "refunding the order afterwards credits the total less the item's refund: never twice",
     (bal1, tc("balance", 1), total, share))
# A one-item order whose item failed: the item's refund is the order's.
sql("UPDATE order_items SET state = 'failed', last_error = 'x' WHERE id = ?", (items[ORD3][0],))
bal2 = int(tc("balance", 2)[0])
total3 = one("SELECT total_minor FROM orders WHERE public_id = ?", (ORD3,))
r = ada.post("/admin/orders/%s/items/%d/refund" % (ORD3, items[ORD3][0]), {"csrf": ACSRF})
t.ok(r.status == 303 and int(tc("balance", 2)[0]) == bal2 + total3 and
     one("SELECT state FROM orders WHERE public_id = ?", (ORD3,)) == "refunded" and
     len(audits("order.refunded")) == 2, "the last item standing: the order's own refund (state refunded)",
     (r.status, bal2, tc("balance", 2)))
t.is_(one("SELECT count(*) FROM wallet_transactions t JOIN wallets w ON w.id = t.wallet_id "
          "WHERE w.customer_id = 2 AND t.kind = 'refund'"), 1, "one refund row for it")
# A refunded order's failed item: neither retried nor refunded again.
F4 = many[0]
sql("UPDATE order_items SET state = 'failed', last_error = 'x' WHERE id = ?", (F4,))
sql("UPDATE jobs SET state = 'failed' WHERE idem_key = ?", ("provision:item:%d" % F4,))
op = re.search(r'name="op" value="([0-9a-f]{32})"', ada.get("/admin/orders/" + ORD4).text).group(1)
r = ada.post("/admin/orders/%s/refund" % ORD4, {"csrf": ACSRF, "op": op, "reason": "panel gone"})
t.is_(one("SELECT state FROM orders WHERE public_id = ?", (ORD4,)), "refunded", "a failed item's order refunded whole")
bal3 = int(tc("balance", 2)[0])
r = ada.post("/admin/orders/%s/items/%d/refund" % (ORD4, F4), {"csrf": ACSRF})
t.ok(r.status == 303 and int(tc("balance", 2)[0]) == bal3, "its item's refund afterwards: nothing moves", r.status)
r = ada.post("/admin/orders/%s/items/%d/retry" % (ORD4, F4), {"csrf": ACSRF})
t.ok(r.status == 409 and job_of(F4)[1] == "discarded", "nor is its provisioning retried: 409", (r.status, job_of(F4)))
t.ok("Retry provisioning" not in ada.get("/admin/orders/" + ORD4).text, "and the page offers neither")
ledger_ok = all(int(a) == int(b) for a, b in (tc("balance", 1), tc("balance", 2)))
t.ok(ledger_ok, "cached balances equal the ledger sums")
s.check_sanitizers(t)
s.stop()

# -- a real provisioning that fails, and staff retry it --
# The whole system this time: `work` provisions against the panel double
# (prov's job), the panel refuses, staff see its message on the order and
# retry from there, and the client lands on /admin/clients with what the
# panel read back.
s2 = Shop(workers=1, tls=True, conf={"work_runners": "2", "panel_timeout": "5", "retry_max_age": "3600"}).start()
g3 = pv.panel(s2, "g3", "current", "vless:20011:V3")
sid = pv.server(s2, g3, "current-panel")
ib = pv.inbounds(s2, sid)["vless"][0]
pv.plan(s2, "e2e-vless", "vless", inbound=ib, server=sid)
ops = Staff(s2, "ops@shop.example", "super_admin")
alice, _ = pv.customer(s2, "alice")
g3.control("fault", kind="refuse", route="clients/add", msg="inbound is full (panel says no)")
o = pv.buy(alice, "e2e-vless")
t.is_(pv.wait_order(s2, o), "failed", "e2e: the panel refuses the add: the order fails")
item = pv.items(s2, o)[0]
r = ops.get("/admin/orders/" + o)
t.ok('data-item="%d"' % item in r.text and "inbound is full (panel says no)" in html.unescape(r.text),
     "e2e: the staff's order page shows the failed item with the panel's message")
rows = re.findall(r'<tr class="client" data-client="\d+" data-state="(\w+)">', ops.get("/admin/clients").text)
t.ok("active" not in rows, "e2e: /admin/clients shows no active client (the placed one, if any, is not active)",
     rows)
g3.control("fault", kind="")
csrf2 = csrf_of(r.text)
r = ops.post("/admin/orders/%s/items/%d/retry" % (o, item), {"csrf": csrf2})
t.is_(r.status, 303, "e2e: staff retry the item")
wait_for(lambda: s2.sql("SELECT state FROM order_items WHERE id = ?", (item,))[0][0] in ("active", "failed"), 60, 0.1)
t.is_(s2.sql("SELECT state FROM order_items WHERE id = ?", (item,))[0][0], "active",
      "e2e: work provisions it this time: the item is active")
t.is_(s2.sql("SELECT state FROM orders WHERE public_id = ?", (o,))[0][0], "active",
      "e2e: and the order, failed before, is active again")
cl = s2.sql("SELECT id, email, state, panel_json FROM provisioned_clients WHERE order_item_id = ?", (item,))
t.ok(len(cl) == 1 and cl[0][2] == "active" and cl[0][1] in cl[0][3], "e2e: one client, active, with the read-back", cl)
r = ops.get("/admin/clients?email=" + cl[0][1])
t.ok(re.findall(r'<tr class="client" data-client="(\d+)"', r.text) == [str(cl[0][0])],
     "e2e: /admin/clients finds it by its panel email")
r = ops.get("/admin/clients/%d" % cl[0][0])
t.ok(r.status == 200 and cl[0][3] in html.unescape(r.text), "e2e: its page shows what the panel read back")
t.ok(len([c for ib_ in g3.state()["inbounds"] for c in ib_["settings"]["clients"]]) == 1,
     "e2e: the panel holds exactly one client")


# Staff actions on it run on the panel (life's jobs): suspend, resume,
# regenerate, then deprovision after re-authentication.
def panel_clients():
    return [c for ib_ in g3.state()["inbounds"] for c in ib_["settings"]["clients"]]


def act(action, done):
    page = ops.get("/admin/clients/%d" % CID)
    r = ops.post("/admin/clients/%d/%s" % (CID, action), {"csrf": csrf_of(page.text)})
    ok = r.status == 303
    # The panel changes first; the shop's row is written after the panel
    # answers and the runner marks the job done after that, so wait for
    # the action's job (enqueued by the POST) to settle too, or a loaded
    # machine reads the row or the job a moment early.
    wait_for(lambda: done() and s2.sql("SELECT count(*) FROM jobs WHERE idem_key GLOB ? AND state IN "
                                       "('pending', 'running')", ("*:client:%d:*" % CID,))[0][0] == 0, 30, 0.1)
    return ok and done()


CID, CEMAIL = cl[0][0], cl[0][1]
cred0 = s2.sql("SELECT client_uuid FROM provisioned_clients WHERE id = ?", (CID,))[0][0]
t.ok(act("suspend", lambda: [c.get("enable") for c in panel_clients()] == [False]) and
     s2.sql("SELECT state, suspended_reason FROM provisioned_clients WHERE id = ?", (CID,))[0] == ("suspended", "staff"),
     "e2e: staff suspend: the panel's client is disabled, the shop's suspended by staff")
t.ok(act("resume", lambda: [c.get("enable") for c in panel_clients()] == [True]) and
     s2.sql("SELECT state FROM provisioned_clients WHERE id = ?", (CID,))[0][0] == "active",
     "e2e: staff resume: enabled again")
t.ok(act("regenerate", lambda: s2.sql("SELECT cred_gen FROM provisioned_clients WHERE id = ?", (CID,))[0][0] == 1) and
     s2.sql("SELECT client_uuid FROM provisioned_clients WHERE id = ?", (CID,))[0][0] != cred0 and
     [c.get("id") for c in panel_clients()] == [s2.sql("SELECT client_uuid FROM provisioned_clients WHERE id = ?",
                                                       (CID,))[0][0]],
     "e2e: staff regenerate: a new credential on the panel and in the shop")
ops.reauth("/admin/clients/%d" % CID)
t.ok(act("deprovision", lambda: panel_clients() == []) and
     s2.sql("SELECT state FROM provisioned_clients WHERE id = ?", (CID,))[0][0] == "deleted",
     "e2e: staff deprovision (re-authenticated): gone from the panel, deleted in the shop")
t.is_(s2.sql("SELECT kind, state FROM jobs WHERE idem_key GLOB ? ORDER BY id", ("*:client:%d:*" % CID,)),
      [("suspend", "done"), ("resume", "done"), ("regenerate", "done"), ("deprovision", "done")],
      "e2e: one job per action, each done")
s2.check_sanitizers(t)
t.done()
