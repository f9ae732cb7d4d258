#!/usr/bin/env python3
"""The provisioned client's lifecycle (issue 12) against the panel double
(t/lib/paneld.py, classic generation) with `work` running and the test
clock: `cron expire` suspends a client on the panel at expiry (enable
false) and deletes it after the grace period; `cron quota` suspends a
client over its limit; `cron remind` mails once before expiry and once at
80% of the quota, even when run twice and twice at once; `cron renew`
renews from a funded wallet through the customer's checkout (one renewal
order, the wallet debited once, the expiry extended once on the panel)
and mails a customer whose wallet is short (no order); `cron
traffic-reset` resets a monthly plan's traffic on the panel; regenerate
changes the credential on the panel and a second run changes nothing; a
`kill -9` of work in the middle of a suspend does not suspend twice."""
import json
import os
import signal
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP, wait_for  # noqa: E402
from pxmail import PanelDouble, runner_pids  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import Shop, csrf_of  # noqa: E402

DAY = 86400
GB = 1 << 30
t = TAP()
s = Shop(workers=1, conf={"work_runners": "2", "panel_timeout": "5", "smtp_timeout": "10", "work_lease": "20",
                          "gateway_timeout": "10"}).start()
sql = s.sql
p = PanelDouble(s, "panel", "--clock-file", s.clock_file, "--inbound", "vless:443:de-vless",
                "--inbound", "vless:8443:spare")
sid = int(s.cli("server", "add", "--name", "life", "--country-code", "DE", "--country", "Germany",
                "--url", p.url, "--user", p.user, "--host", "127.0.0.1", input=p.password + "\n").stdout)
r = s.cli("server", "sync", str(sid), check=False)
t.ok(r.returncode == 0, "the panel's inbounds are synced", r.stdout + r.stderr)
ib, pib = sql("SELECT id, panel_inbound_id FROM server_inbounds WHERE server_id = ? AND port = 443", (sid,))[0]


def plan(slug, price, days, traffic=0, reset="never", proto="vless", srv=None, inb=None):
    sql("INSERT INTO plans (slug, name, protocol, server_id, inbound_id, price_minor, currency, duration_days, "
        "traffic_bytes, traffic_reset) VALUES (?, ?, ?, ?, ?, ?, 'USD', ?, ?, ?)",
        (slug, "Plan " + slug, proto, srv or sid, inb or ib, price, days, traffic, reset))
    return sql("SELECT id FROM plans WHERE slug = ?", (slug,))[0][0]


def tc(*args):
    return subprocess.run([BIN, "-c", s.conf, "test-commerce"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


def customer(addr, funds):
    sql("INSERT INTO customers (email, name, password_hash, email_verified_at) VALUES (?, ?, 'x', unixepoch())",
        (addr, addr.split("@")[0].title()))
    cid = sql("SELECT id FROM customers WHERE email = ?", (addr,))[0][0]
    if funds:
        r = tc("wallet", cid, funds, "topup", "fund-%d" % cid)
        t.ok(r.returncode == 0, "%s's wallet holds %d" % (addr, funds), r.stderr)
    return cid


def pclient(email, d=None):
    """The client object the panel holds (settings), or None."""
    for i in (d or p).state()["inbounds"]:
        for c in i["settings"].get("clients", []):
            if c.get("email", "").lower() == email.lower():
                return c
    return None


def pcalls(sub):
    """Calls the panel served whose route contains sub."""
    return sum(n for k, n in p.stats().get("calls", {}).items() if sub in k)


def ptraffic(email, d=None):
    for row in (d or p).state()["traffics"]:
        if row["email"].lower() == email.lower():
            return row
    return None


def job_done(jid, timeout=30):
    wait_for(lambda: sql("SELECT state FROM jobs WHERE id = ?", (jid,))[0][0] in ("done", "failed"), timeout)
    return sql("SELECT state, last_error, result FROM jobs WHERE id = ?", (jid,))[0]


def buy(cid, pid, key):
    """A paid order of plan pid, provisioned on its panel by work's
    provision job.  Returns (client, item)."""
    r = tc("checkout", cid, pid, 1, key)
    t.ok(r.returncode == 0 and r.stdout.startswith("ok "), "order %s paid" % key, r.stdout + r.stderr)
    item, = sql("SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.public_id = ?",
                (r.stdout.split()[1],))[0]
    job = sql("SELECT id FROM jobs WHERE kind = 'provision' AND idem_key = ?", ("provision:item:%d" % item,))[0][0]
    state, err, _ = job_done(job)
    t.is_(state, "done", "the provision job of item %d is done" % item)
    rows = sql("SELECT id FROM provisioned_clients WHERE order_item_id = ?", (item,))
    t.ok(rows, "item %d has its client" % item)
    return rows[0][0], item


def client(cid):
    return sql("SELECT state, suspended_reason, panel_enable, email, client_uuid, cred_gen, expires_at, "
               "period_start, quota_reminded_at, reminded_at FROM provisioned_clients WHERE id = ?", (cid,))[0]


def jobs(kind, client_id):
    return sql("SELECT id, state, idem_key, last_error FROM jobs WHERE kind = ? AND idem_key LIKE ? ORDER BY id",
               (kind, "%s:client:%d:%%" % (kind, client_id)))


def cron(task):
    r = s.cli("cron", task, check=False)
    t.ok(r.returncode == 0, "cron %s runs" % task, r.stdout + r.stderr)
    return r.stdout


def cron_twice_at_once(task):
    ps = [subprocess.Popen([BIN, "-c", s.conf, "cron", task], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True) for _ in range(2)]
    outs = [x.communicate(timeout=60) for x in ps]
    t.ok(all(x.returncode == 0 for x in ps), "cron %s twice at once: both succeed" % task, outs)


def wait_state(client_id, state, timeout=30):
    wait_for(lambda: client(client_id)[0] == state, timeout)
    return client(client_id)


def enqueue(kind, client_id, op):
    """A job as client_job_enqueue writes it (the buttons that ask for
    regenerate come with the customer's pages)."""
    srv = sql("SELECT server_id FROM provisioned_clients WHERE id = ?", (client_id,))[0][0]
    sql("INSERT INTO jobs (kind, idem_key, payload, server_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (kind, "%s:client:%d:%s" % (kind, client_id, op), json.dumps({"client": client_id, "op": op}), srv))
    return sql("SELECT id FROM jobs WHERE idem_key = ?", ("%s:client:%d:%s" % (kind, client_id, op),))[0][0]


# -- the lifecycle's settings on /admin/settings --
ada = Staff(s, "ada@example.com", "super_admin")
r = ada.b.get("/admin/settings")
good, errs = s.html_ok(r.body)
t.ok(r.status == 200 and 'name="expire_grace_days" value="3"' in r.text and 'name="remind_days" value="3"' in r.text
     and 'name="renew_days" value="1"' in r.text and good, "the settings form has the lifecycle's days (defaults)",
     errs)
base = {"seller_name": "Shop", "seller_address": "1 Road", "seller_tax_id": "X1", "tax_rate": "0",
        "csrf": csrf_of(r.text)}
for field, bad in (("expire_grace_days", "366"), ("remind_days", "0"), ("renew_days", "61"), ("remind_days", "x")):
    t.is_(ada.b.post("/admin/settings", dict(base, **{field: bad})).status, 400, "settings: %s=%s is a 400" % (field, bad))
t.is_(sql("SELECT count(*) FROM settings WHERE key LIKE 'clients.%'")[0][0], 0, "... and writes nothing")
t.is_(ada.b.post("/admin/settings", dict(base, expire_grace_days="2", remind_days="3", renew_days="1")).status, 303,
      "the lifecycle's days save")
t.is_(dict(sql("SELECT key, value FROM settings WHERE key LIKE 'clients.%'")),
      {"clients.expire_grace_days": "2", "clients.remind_days": "3", "clients.renew_days": "1"}, "... as settings")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'settings.changed' AND target LIKE 'setting:clients.%'")[0][0],
      3, "each change audited")

short = plan("short", 500, 30)
quota = plan("quota", 700, 365, traffic=10 * GB, reset="monthly")
ann = customer("ann@example.com", 100000)
bob = customer("bob@example.com", 600)

# -- regenerate: a new credential on the panel; a second run changes nothing --
c_gen, _ = buy(ann, quota, "gen-1")
st = client(c_gen)
old = st[4]
t.is_(pclient(st[3]).get("id"), old, "the panel holds the shop's credential")
j = enqueue("regenerate", c_gen, "gen:1")
state, err, res = job_done(j)
st = client(c_gen)
t.ok(state == "done" and st[5] == 1 and st[4] != old, "regenerate gen:1: done, cred_gen 1, a new credential",
     (state, err, st))
t.is_(pclient(st[3]).get("id"), st[4], "the panel holds the new credential (the old link stops working)")
calls = pcalls("updateClient")
j2 = enqueue("regenerate", c_gen, "gen:1")
t.is_(j2, j, "asking for gen:1 again is the same job")
sql("UPDATE jobs SET state = 'pending', next_attempt_at = 0 WHERE id = ?", (j,))
state, err, res = job_done(j)
t.ok(state == "done" and client(c_gen)[4] == st[4] and "skipped" in json.loads(res or "{}"),
     "run again: nothing changes, the job says it skipped", (state, err, res))
t.is_(pcalls("updateClient"), calls, "... and the panel was not asked to update")

# -- kill -9 of work in the middle of a suspend: suspended once --
c_kill, _ = buy(ann, quota, "kill-1")
p.control("fault", kind="slow", route="updateClient", seconds=4)
calls = pcalls("updateClient")
j = enqueue("suspend", c_kill, "staff:1")
t.ok(wait_for(lambda: pcalls("updateClient") > calls, 20),
     "the suspend reached the panel's update")
pids = runner_pids(s.work)
os.kill(s.work.pid, signal.SIGKILL)
for pid in pids:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
s.work.wait()
time.sleep(0.5)
p.control("fault", kind="")
t.is_(pclient(client(c_kill)[3]).get("enable"), False, "the panel disabled the client before the kill")
t.is_(sql("SELECT state FROM jobs WHERE id = ?", (j,))[0][0], "running", "the job was left running")
err = open(os.path.join(s.dir, "work.stderr"), "ab")
s.work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=err, stderr=err)
state, err, res = job_done(j, 40)
st = client(c_kill)
t.ok(state == "done" and st[0] == "suspended" and st[1] == "staff" and st[2] == 0,
     "after the restart the job is done: suspended (staff), panel_enable 0", (state, err, st))
t.is_(pcalls("updateClient"), calls + 1, "the panel was updated exactly once")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'client.suspend' AND target = ?",
          ("client:%d" % c_kill,))[0][0], 1, "one audit row for the suspend")
state, err, res = job_done(enqueue("resume", c_kill, "staff:2"))
st = client(c_kill)
t.ok(state == "done" and st[0] == "active" and st[1] == "" and st[2] == 1 and pclient(st[3]).get("enable") is True,
     "resume: active in the shop and enabled on the panel", (state, err, st))

# -- quota: suspended when over the limit; the monthly reset reaches the panel --
c_q, _ = buy(ann, quota, "quota-1")
email_q = client(c_q)[3]
p.control("traffic", email=email_q, up=4 * GB, down=4 * GB + 1)
sql("UPDATE provisioned_clients SET up_bytes = ?, down_bytes = ? WHERE id = ?", (4 * GB, 4 * GB + 1, c_q))
cron("remind")
cron("remind")
cron_twice_at_once("remind")
m = s.wait_mail("ann@example.com", "of its traffic")
t.ok(m is not None and "80%" in str(m["Subject"]), "the 80% quota mail went out", m and str(m["Subject"]))
time.sleep(1)
t.is_(len(s.find_mail("ann@example.com", "of its traffic")), 1, "... once, after four runs (two at once)")
cron("quota")
t.is_(jobs("suspend", c_q), [], "under the limit: no suspend")
sql("UPDATE provisioned_clients SET down_bytes = ? WHERE id = ?", (6 * GB, c_q))
cron("quota")
cron_twice_at_once("quota")
st = wait_state(c_q, "suspended")
t.ok(st[1] == "quota" and st[2] == 0 and pclient(email_q).get("enable") is False,
     "over the limit: suspended (quota) in the shop and on the panel", st)
t.is_(len(jobs("suspend", c_q)), 1, "one suspend job for three runs")
# 30 days on: the monthly reset
s.advance(30 * DAY + 60)
cron("traffic-reset")
cron("traffic-reset")
rs = jobs("reset_traffic", c_q)
t.ok(len(rs) == 1 and ":period:" in rs[0][2], "one reset_traffic job, op period:START", rs)
wait_for(lambda: client(c_q)[0] == "active", 30)
st = client(c_q)
tr = ptraffic(email_q)
t.ok(tr is not None and tr["up"] == 0 and tr["down"] == 0, "the panel's traffic is reset", tr)
t.ok(st[0] == "active" and st[2] == 1 and pclient(email_q).get("enable") is True and st[8] is None,
     "the client suspended for its quota is active again, the 80% mail may go again", st)
t.is_(sql("SELECT up_bytes + down_bytes FROM provisioned_clients WHERE id = ?", (c_q,))[0][0], 0,
      "the period's use starts again from 0")

# -- expiry: remind once, suspend at expiry, delete after the grace period --
c_e, _ = buy(ann, short, "short-1")
email_e = client(c_e)[3]
exp = client(c_e)[6]
s.advance(exp - int(s.now()) - 2 * DAY)
cron("remind")
cron_twice_at_once("remind")
cron("remind")
m = s.wait_mail("ann@example.com", "expires on")
t.ok(m is not None, "the expiry reminder went out", m and str(m["Subject"]))
time.sleep(1)
t.is_(len(s.find_mail("ann@example.com", "expires on")), 1, "... once, after four runs (two at once)")
cron("expire")
t.is_(jobs("suspend", c_e), [], "before the expiry: nothing")
s.advance(2 * DAY + 60)
cron("expire")
cron_twice_at_once("expire")
st = wait_state(c_e, "suspended")
t.ok(st[1] == "expired" and st[2] == 0 and pclient(email_e).get("enable") is False,
     "at expiry: suspended (expired) in the shop and on the panel", st)
t.is_(len(jobs("suspend", c_e)), 1, "one suspend job")
s.advance(DAY)
cron("expire")
t.is_(jobs("deprovision", c_e), [], "one day into the grace period (clients.expire_grace_days 2): kept")
s.advance(DAY)
cron("expire")
st = wait_state(c_e, "deleted")
t.ok(st[0] == "deleted" and pclient(email_e) is None, "after the grace period: deleted on the panel", st)
t.is_(len(jobs("deprovision", c_e)), 1, "one deprovision job")

# -- auto-renew with funds: one renewal order, debited once, extended once --
c_r, item_r = buy(ann, short, "renew-1")
email_r = client(c_r)[3]
sql("UPDATE provisioned_clients SET auto_renew = 1 WHERE id = ?", (c_r,))
exp = client(c_r)[6]
bal = int(tc("balance", ann).stdout.split()[1])
s.advance(exp - int(s.now()) - DAY // 2)
cron("renew")
cron_twice_at_once("renew")
cron("renew")
orders = sql("SELECT o.id, o.total_minor FROM orders o JOIN order_items i ON i.order_id = o.id "
             "WHERE i.renewal_of = ?", (item_r,))
t.is_(len(orders), 1, "one renewal order for four runs")
t.is_(int(tc("balance", ann).stdout.split()[1]), bal - 500, "the wallet was debited once")
pub = sql("SELECT public_id FROM orders WHERE id = ?", (orders[0][0],))[0][0] if orders else "-"
t.ok(s.wait_mail("ann@example.com", pub) is not None, "the renewal's order mail went out")
rjob = sql("SELECT j.id FROM jobs j JOIN order_items i ON j.idem_key = 'provision:item:' || i.id "
           "WHERE i.renewal_of = ?", (item_r,))
rstate = job_done(rjob[0][0]) if rjob else ("none", "no renewal job", "")
renewed = wait_for(lambda: client(c_r)[6] == exp + 30 * DAY, 30)
t.ok(renewed, "the expiry is extended once in the shop", (client(c_r)[6], exp, rstate))
t.is_((ptraffic(email_r) or {}).get("expiryTime"), (exp + 30 * DAY) * 1000,
      "... and once on the panel")
cron("renew")
t.is_(len(sql("SELECT 1 FROM order_items WHERE renewal_of = ?", (item_r,))), 1,
      "renewed: not due again until the next period")

# -- auto-renew without funds: a mail, no order --
c_b, item_b = buy(bob, short, "bob-1")
sql("UPDATE provisioned_clients SET auto_renew = 1 WHERE id = ?", (c_b,))
s.advance(client(c_b)[6] - int(s.now()) - DAY // 2)
cron("renew")
cron_twice_at_once("renew")
m = s.wait_mail("bob@example.com", "could not be renewed")
t.ok(m is not None, "Bob is told his wallet is short")
time.sleep(1)
t.is_(len(s.find_mail("bob@example.com", "could not be renewed")), 1, "... once")
t.is_(sql("SELECT count(*) FROM order_items WHERE renewal_of = ?", (item_b,))[0][0], 0, "no renewal order")
# expired and suspended; Bob tops up within the grace period: renewed and resumed
s.advance(DAY)
cron("expire")
st = wait_state(c_b, "suspended")
t.ok(st[1] == "expired" and pclient(st[3]).get("enable") is False, "Bob's client is suspended at expiry", st)
r = tc("wallet", bob, 1000, "topup", "fund-bob-2")
cron("renew")
t.is_(sql("SELECT count(*) FROM order_items WHERE renewal_of = ?", (item_b,))[0][0], 1,
      "funded within the grace period: renewed")
rjob = sql("SELECT j.id FROM jobs j JOIN order_items i ON j.idem_key = 'provision:item:' || i.id "
           "WHERE i.renewal_of = ?", (item_b,))
rstate = job_done(rjob[0][0]) if rjob else ("none", "no renewal job", "")
wait_for(lambda: client(c_b)[6] > int(s.now()), 30)
cron("expire")
st = wait_state(c_b, "active")
t.ok(st[0] == "active" and st[1] == "" and pclient(st[3]).get("enable") is True,
     "the renewed client is active again on the panel", (st, rstate))
# The renew job enables the client itself; cron expire's resume
# (op renew:ITEM) is the net under it: never more than one.
t.ok(len(jobs("resume", c_b)) <= 1, "at most one resume job", jobs("resume", c_b))

# -- classic panels keep an inbound's last client: deprovision disables it --
ib_spare = sql("SELECT id FROM server_inbounds WHERE server_id = ? AND port = 8443", (sid,))[0][0]
lone = plan("lone", 100, 365, srv=sid, inb=ib_spare)
c_l, _ = buy(ann, lone, "lone-1")
state, err, res = job_done(enqueue("deprovision", c_l, "staff:1"))
st = client(c_l)
t.ok(state == "done" and st[0] == "deleted" and st[2] == 0 and (pclient(st[3]) or {}).get("enable") is False
     and "last client" in json.loads(res or "{}").get("note", ""),
     "the inbound's last client: the panel refuses the delete, the client is disabled and says so",
     (state, err, st, res))

# -- the current generation (v3.6.0, Bearer token), a trojan client --
TOKEN = "L" * 48
g3 = PanelDouble(s, "current", "--gen", "current", "--csrf", "--api-token", TOKEN, "--clock-file", s.clock_file,
                 "--inbound", "trojan:9443:t3", "--inbound", "trojan:9444:spare")
sid3 = int(s.cli("server", "add", "--name", "life3", "--country-code", "DE", "--country", "Germany",
                 "--url", g3.url, "--user", g3.user, "--host", "127.0.0.1", "--token", input=TOKEN + "\n").stdout)
r = s.cli("server", "sync", str(sid3), check=False)
t.ok(r.returncode == 0, "current: inbounds synced", r.stdout + r.stderr)
ib3 = sql("SELECT id FROM server_inbounds WHERE server_id = ? AND port = 9443", (sid3,))[0][0]
tro = plan("trojan3", 300, 365, traffic=5 * GB, proto="trojan", srv=sid3, inb=ib3)
c3, _ = buy(ann, tro, "g3-1")
e3 = client(c3)[3]
t.is_((pclient(e3, g3) or {}).get("password"), client(c3)[4], "current: the panel holds the shop's password")
state, err, res = job_done(enqueue("regenerate", c3, "gen:1"))
st = client(c3)
t.ok(state == "done" and st[5] == 1 and (pclient(e3, g3) or {}).get("password") == st[4],
     "current: regenerate puts the new password on the panel", (state, err, st, pclient(e3, g3)))
pc = pclient(e3, g3) or {}
t.ok(pc.get("totalGB") == 5 * GB and pc.get("expiryTime") == st[6] * 1000,
     "current: the full replacement kept the quota and the expiry", pc)
state, err, res = job_done(enqueue("suspend", c3, "staff:1"))
st = client(c3)
t.ok(state == "done" and st[0] == "suspended" and (pclient(e3, g3) or {}).get("enable") is False,
     "current: suspend disables the client", (state, err, st))
g3.control("traffic", email=e3, up=1000, down=2000)
sql("UPDATE provisioned_clients SET up_bytes = 1000, down_bytes = 2000, quota_reminded_at = 1 WHERE id = ?", (c3,))
period = client(c3)[7]
state, err, res = job_done(enqueue("reset_traffic", c3, "staff:2"))
tr = ptraffic(e3, g3) or {}
st = client(c3)
t.ok(state == "done" and tr.get("up") == 0 and tr.get("down") == 0 and st[0] == "suspended"
     and (pclient(e3, g3) or {}).get("enable") is False,
     "current: reset_traffic zeroes the panel's counters; a staff-suspended client stays off", (state, err, st, tr))
t.ok(sql("SELECT up_bytes + down_bytes FROM provisioned_clients WHERE id = ?", (c3,))[0][0] == 0 and st[7] == period
     and st[8] is None, "a staff reset zeroes the shop's count too and keeps the period", st)
state, err, res = job_done(enqueue("resume", c3, "staff:3"))
t.ok(state == "done" and client(c3)[0] == "active" and (pclient(e3, g3) or {}).get("enable") is True,
     "current: resume enables it", (state, err))
state, err, res = job_done(enqueue("deprovision", c3, "staff:4"))
t.ok(state == "done" and client(c3)[0] == "deleted" and pclient(e3, g3) is None,
     "current: deprovision deletes it from the panel", (state, err, client(c3)))
j = enqueue("deprovision", c3, "staff:5")
state, err, res = job_done(j)
t.ok(state == "done" and "skipped" in json.loads(res or "{}"), "a second deprovision does nothing", res)

t.ok(s.work.poll() is None, "work is still running")
s.check_sanitizers(t, "no sanitizer report from work, cron or the commands")
t.done()
