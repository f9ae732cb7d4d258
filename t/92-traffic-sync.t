#!/usr/bin/env python3
"""Traffic sync, drift and panel alerts (issue 12, "Cron, kept in step
with the panel"): `cron traffic-sync` and the traffic_sync job against
the panel double (t/lib/paneld.py) in both generations.

Usage adds up across syncs; a panel-side reset of a client's counters
and a panel restart with fresh counters never make usage go down or
count twice; usage_daily rows; online state; two syncs at once count
once and two cron runs at once enqueue once; a panel that does not
answer is down with its error and usage untouched.  `cron drift` finds
clients on the panel the shop does not know, shop clients missing on the
panel and expiry/quota/enable differences; `--fix` repairs them from the
shop's side, audited.  `cron alerts` mails staff once per outage (down
and stale) and clears when the panel recovers."""
import json
import os
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP, wait_for  # noqa: E402
from pxmail import PanelDouble, Spool  # noqa: E402
import pxsync  # noqa: E402
from pxstaff import Staff  # noqa: E402

t = TAP()
s = Spool(conf={"work_runners": "4", "panel_timeout": "5", "smtp_timeout": "10", "work_lease": "60",
                "traffic_sync_minutes": "1", "alert_down_minutes": "3", "alert_stale_minutes": "5"})
PAUSE = os.path.join(s.dir, "pause")
s.extra["test_pause_file"] = PAUSE
s.setup()
w = s.start_work()
pxsync.shop_base(s)
# A manager (servers.write) and a support member (not) for the alerts.
s.sql("INSERT INTO staff (id, email, password_hash, role_id) VALUES (1, 'ops@example.com', 'x', 2), "
      "(2, 'help@example.com', 'x', 3)")


def cron(*args, check=True):
    r = s.cli("cron", *args, check=False)
    if check and r.returncode != 0:
        raise RuntimeError("cron %s: %s %s" % (" ".join(args), r.stdout, r.stderr))
    return r


def sync_jobs(sid):
    return s.sql("SELECT id, state, result, last_error FROM jobs WHERE kind = 'traffic_sync' AND server_id = ? "
                 "ORDER BY id", (sid,))


def traffic_sync(sid, advance=True):
    """cron traffic-sync in a fresh slot; wait for the panel's job."""
    if advance:
        s.advance(60)
    before = len(sync_jobs(sid))
    cron("traffic-sync")
    ok = wait_for(lambda: len(sync_jobs(sid)) > before and sync_jobs(sid)[-1][1] in ("done", "failed"), 20)
    rows = sync_jobs(sid)
    res = json.loads(rows[-1][2] or "{}") if ok else {}
    return ok, res, rows[-1] if rows else None


def usage(email):
    return s.sql("SELECT up_bytes, down_bytes, online, panel_up, panel_down, last_synced_at IS NOT NULL "
                 "FROM provisioned_clients WHERE email = ?", (email,))[0]


def daily(email):
    return s.sql("SELECT u.day, u.up_bytes, u.down_bytes FROM usage_daily u JOIN provisioned_clients c "
                 "ON c.id = u.client_id WHERE c.email = ? ORDER BY day", (email,))


# -- panel 1: classic (G2), its state in a file so it can restart --
seed1 = os.path.join(s.dir, "in1.json")
pxsync.inbounds_file(seed1, [["px-101", "px-102"], ["px-103"]])
state1 = os.path.join(s.dir, "panel1.state")
p1 = PanelDouble(s, "p1", "--inbounds", seed1, "--state", state1)
p1.add_server(s, 1)
pxsync.sync_inbounds(s, 1)
ids1 = s.sql("SELECT panel_inbound_id FROM server_inbounds WHERE server_id = 1 ORDER BY panel_inbound_id")
t.is_(len(ids1), 2, "panel 1: two inbounds synced")
pxsync.shop(s, 1, [("px-101", "u", 0), ("px-102", "u", 0), ("px-103", "u", 1)])

p1.control("traffic", email="px-101", up=100, down=1000)
p1.control("traffic", email="px-103", up=5, down=7)
calls0 = dict(p1.stats().get("calls", {}))
ok, res, row = traffic_sync(1)
t.ok(ok and row[1] == "done" and res.get("ok") and res.get("matched") == 3, "first sync done, 3 clients matched",
     (row, res))
t.is_(usage("px-101")[:5], (100, 1000, 1, 100, 1000), "px-101: usage, online, baseline stored")
t.is_(usage("px-102")[:3], (0, 0, 0), "px-102: no traffic, offline")
t.is_(usage("px-103")[:2], (5, 7), "px-103 on the second inbound counted from the same one call")
today = int(s.now()) // 86400
t.is_(daily("px-101"), [(today, 100, 1000)], "usage_daily row for the UTC day")
t.ok(s.sql("SELECT last_ok_at > 0 AND traffic_synced_at > 0 AND health = 'up' FROM servers WHERE id = 1")[0][0],
     "servers: last_ok_at, traffic_synced_at, health up")
calls = {k: v - calls0.get(k, 0) for k, v in p1.stats().get("calls", {}).items()
         if v != calls0.get(k, 0) and k.startswith("panel/api/")}
t.is_(calls, {"panel/api/inbounds/list": 1, "panel/api/inbounds/onlines": 1},
      "the sync made one list and one onlines call, none per client")

p1.control("traffic", email="px-101", up=50, down=500)
ok, res, row = traffic_sync(1)
t.is_(usage("px-101")[:2], (150, 1500), "usage adds up across syncs")
ok, res, row = traffic_sync(1)
t.is_(usage("px-101")[:2], (150, 1500), "a sync without new traffic adds nothing")
# A server row without credentials (shown in the catalog, or still being
# set up) is not a panel the shop can reach: no sync job, no alert.
s.sql("INSERT INTO servers (id, name, country_code, country, panel_url, public_host) "
      "VALUES (99, 'no-creds', 'NL', 'Netherlands', 'http://127.0.0.1:1/', 'nl.example')")
traffic_sync(1)
t.is_(len(sync_jobs(99)), 0, "a server without credentials gets no traffic sync job")
s.advance(3600)
cron("alerts")
t.is_(s.sql("SELECT alert_down_at, alert_stale_at FROM servers WHERE id = 99")[0], (None, None),
      "nor an alert")
s.sql("DELETE FROM servers WHERE id = 99")
# A client a job changed at or after the list (a traffic reset or a
# renewal may zero its baseline after the panel gave its old counters):
# this sync leaves it alone, the next counts the difference once.
p1.control("traffic", email="px-103", up=15, down=27)
s.sql("UPDATE provisioned_clients SET updated_at = ? WHERE email = 'px-103'", (int(s.now()) + 3600,))
ok, res, row = traffic_sync(1)
t.ok(ok and res.get("deferred") == 1 and usage("px-103")[:2] == (5, 7),
     "a client changed by a job since the list is left to the next sync", (res, usage("px-103")))
s.sql("UPDATE provisioned_clients SET updated_at = 0 WHERE email = 'px-103'")
ok, res, row = traffic_sync(1)
t.ok(ok and res.get("deferred") == 0 and usage("px-103")[:2] == (20, 34),
     "and the next sync counts it, once", (res, usage("px-103")))

# a panel-side reset of the client's counters, then new traffic below the old baseline
import http.cookiejar  # noqa: E402
import urllib.request  # noqa: E402
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def panel_call(p, path, body=None):
    op.open(urllib.request.Request(p.url + "login", data=json.dumps({"username": p.user, "password": p.password})
                                   .encode(), headers={"Content-Type": "application/json"}), timeout=10).read()
    return json.loads(op.open(urllib.request.Request(p.url + path, data=json.dumps(body or {}).encode(),
                                                     headers={"Content-Type": "application/json"}, method="POST"),
                              timeout=10).read())


d = panel_call(p1, "panel/api/inbounds/%d/resetClientTraffic/px-101" % ids1[0][0])
t.ok(d.get("success"), "the double reset px-101's counters", d)
p1.control("traffic", email="px-101", up=30, down=300)
ok, res, row = traffic_sync(1)
t.is_(usage("px-101")[:2], (180, 1800), "after a panel-side reset: the whole new counter counts, nothing lost")
t.ok(res.get("resets", 0) >= 1, "... the reset is reported", res)

# a panel restart with fresh counters (--reset-traffic keeps the clients)
p1.stop()
p1 = PanelDouble(s, "p1b", "--inbounds", seed1, "--state", state1, "--reset-traffic")
s.sql("UPDATE servers SET panel_url = ? WHERE id = 1", (p1.url,))
ok, res, row = traffic_sync(1)
t.ok(ok and res.get("ok"), "sync after the restart", res)
t.is_(usage("px-101")[:2], (180, 1800), "a restart with zeroed counters: usage never goes down")
t.is_(usage("px-101")[3:5], (0, 0), "... the baseline follows the panel")
p1.control("traffic", email="px-101", up=7, down=70)
ok, res, row = traffic_sync(1)
t.is_(usage("px-101")[:2], (187, 1870), "... and new traffic counts from there")
# and a restart that keeps its counters counts nothing twice
p1.stop()
p1 = PanelDouble(s, "p1c", "--inbounds", seed1, "--state", state1)
s.sql("UPDATE servers SET panel_url = ? WHERE id = 1", (p1.url,))
ok, res, row = traffic_sync(1)
t.is_(usage("px-101")[:2], (187, 1870), "a restart that kept its counters counts nothing twice")
t.is_(sum(r[1] for r in daily("px-101")), 187, "usage_daily adds up to the client's usage")

# two syncs of one panel at once: the first list to arrive is slowed, so
# the sync that listed first records last and must stand back.  twin-b
# is held before it notes its time (a pause point) until twin-a's list
# has reached the double and been slowed: otherwise twin-b could note
# its time second yet reach the panel first, and the order the test
# assumes would not be the order that happened.
p1.control("traffic", email="px-102", up=1000, down=2000)
p1.control("fault", kind="slow", route="inbounds/list", seconds=3, count=1)
faults0 = p1.state()["stats"]["faults"]
with open(PAUSE + ".tmp", "w") as f:
    f.write("traffic_sync:list:twin-b\n")
os.replace(PAUSE + ".tmp", PAUSE)
s.sql("INSERT INTO jobs (kind, idem_key, payload, server_id) VALUES ('traffic_sync', 'twin-a', '{}', 1), "
      "('traffic_sync', 'twin-b', '{}', 1)")
held = wait_for(lambda: os.path.exists(PAUSE + ".hit"), 20)
slowed = wait_for(lambda: p1.state()["stats"]["faults"] > faults0, 20)
t.ok(held and slowed, "twin-b held before its list while twin-a's list is slowed", (held, slowed))
os.unlink(PAUSE)
ok = wait_for(lambda: all(r[0] == "done" for r in s.sql("SELECT state FROM jobs WHERE idem_key LIKE 'twin-%'")), 30)
twins = [json.loads(r[0]) for r in s.sql("SELECT result FROM jobs WHERE idem_key LIKE 'twin-%' ORDER BY id")]
t.ok(ok, "both syncs finished", twins)
t.is_(usage("px-102")[:2], (1000, 2000), "two syncs at once count the traffic once")
t.ok(sorted(bool(x.get("superseded")) for x in twins) == [False, True],
     "the one that listed first and recorded last stood back", twins)
p1.control("fault", kind="")

# two cron runs at once enqueue one job per panel and slot
s.advance(60)
before = len(sync_jobs(1))
ps = [subprocess.Popen([BIN, "-c", s.conf, "cron", "traffic-sync"], stdout=subprocess.DEVNULL) for _ in range(3)]
for p in ps:
    p.wait()
wait_for(lambda: sync_jobs(1)[-1][1] == "done", 20)
t.is_(len(sync_jobs(1)) - before, 1, "three cron traffic-sync at once: one job")

# a panel that does not answer
p1.control("traffic", email="px-101", up=1, down=1)
p1.stop()
s.advance(60)
cron("traffic-sync")
wait_for(lambda: s.sql("SELECT health FROM servers WHERE id = 1")[0][0] == "down", 20)
h, le = s.sql("SELECT health, last_error FROM servers WHERE id = 1")[0]
t.ok(h == "down" and le, "panel down: health down, last_error says why", (h, le))
# The health is recorded in the failed attempt, a moment before the job
# is put back: wait for that, not for the health alone.
wait_for(lambda: sync_jobs(1)[-1][1] != "running", 20)
t.is_(sync_jobs(1)[-1][1], "pending", "... and the sync is retried later")
t.is_(usage("px-101")[:2], (187, 1870), "... usage untouched")

# -- alerts: mail once per outage, clear on recovery --


def alert_mails(what):
    return s.sql("SELECT payload FROM jobs WHERE kind = 'email' AND idem_key LIKE ?", ("panel-alert:%s:1:%%" % what,))


s.advance(4 * 60)   # past alert_down_minutes (3) since the last answer
r = cron("alerts")
t.is_(len(alert_mails("down")), 1, "down: one mail (to the one servers.write staff member)")
t.ok(json.loads(alert_mails("down")[0][0])["to"] == "ops@example.com", "... to ops@, not the support member")
t.ok(s.sql("SELECT alert_down_at IS NOT NULL FROM servers WHERE id = 1")[0][0], "... alert_down_at set")
s.advance(2 * 60)   # past alert_stale_minutes (5) since the last traffic sync
cron("alerts")
cron("alerts")
t.is_(len(alert_mails("down")), 1, "a second and third run do not mail the outage again")
t.is_(len(alert_mails("stale")), 1, "stale traffic: one mail")
v = json.loads(alert_mails("down")[0][0])["vars"]
t.ok(v.get("server") == "panel-1" and "answered" in v.get("problem", ""), "the mail names the panel and the problem", v)
# two runs at once still mail once per alert (a fresh outage on panel 3 below shows it too)
p1 = PanelDouble(s, "p1d", "--inbounds", seed1, "--state", state1)
s.sql("UPDATE servers SET panel_url = ? WHERE id = 1", (p1.url,))
ok, res, row = traffic_sync(1)
t.ok(ok and res.get("ok"), "the panel answers again", res)
r = cron("alerts")
t.ok(s.sql("SELECT alert_down_at IS NULL AND alert_stale_at IS NULL FROM servers WHERE id = 1")[0][0],
     "recovered: both alerts cleared", r.stdout)
p1.stop()
s.advance(4 * 60)
ps = [subprocess.Popen([BIN, "-c", s.conf, "cron", "alerts"], stdout=subprocess.DEVNULL) for _ in range(3)]
for p in ps:
    p.wait()
t.is_(len(alert_mails("down")), 2, "the next outage mails again, once for three runs at once")
p1 = PanelDouble(s, "p1e", "--inbounds", seed1, "--state", state1)
s.sql("UPDATE servers SET panel_url = ? WHERE id = 1", (p1.url,))

# -- panel 2: current (G3) -- traffic and drift --
seed2 = os.path.join(s.dir, "in2.json")
stranger = {"id": "11111111-2222-4333-8444-555555555555", "email": "stranger", "enable": True, "expiryTime": 0,
            "totalGB": 0, "limitIp": 0, "subId": "strangersub00000", "tgId": 0, "flow": "", "comment": "",
            "reset": 0}
uu = pxsync.inbounds_file(seed2, [["px-201", "px-202", "px-203", "px-205"]], extra=[stranger])
p2 = PanelDouble(s, "p2", "--gen", "current", "--inbounds", seed2)
p2.add_server(s, 2)
pxsync.sync_inbounds(s, 2)
exp = int(s.now()) + 30 * 86400
pxsync.shop(s, 2, [("px-201", uu["px-201"], 0), ("px-202", uu["px-202"], 0)])
pxsync.shop(s, 2, [("px-203", uu["px-203"], 0)], state="suspended")
pxsync.shop(s, 2, [("px-204", "99999999-8888-4777-8666-555555555555", 0)])
pxsync.shop(s, 2, [("px-205", uu["px-205"], 0)], state="deleted")
s.sql("UPDATE provisioned_clients SET expires_at = ? WHERE email = 'px-202'", (exp,))
p2.control("traffic", email="px-201", up=11, down=22)
ok, res, row = traffic_sync(2)
t.ok(ok and res.get("ok") and res.get("onlines"), "G3: sync ok, onlines read", res)
t.is_(usage("px-201")[:3], (11, 22, 1), "G3: usage and online stored")
t.is_(p2.stats().get("calls", {}).get("panel/api/clients/onlines"), 1, "G3: onlines from clients/onlines")

r = cron("drift", "2", check=False)
out = r.stdout
t.is_(r.returncode, 1, "drift: exit 1 when the panel drifts")
t.ok("unknown on the panel: stranger" in out, "drift: a panel client the shop does not know", out)
t.ok("unknown on the panel: px-205" in out and "deleted" in out, "drift: a client the shop deleted", out)
t.ok("missing on the panel: px-204" in out, "drift: a shop client missing on the panel", out)
t.ok(any("differs: px-202" in ln and "expiry" in ln for ln in out.splitlines()), "drift: expiry differs", out)
t.ok(any("differs: px-203" in ln and "enable: shop false, panel true" in ln for ln in out.splitlines()),
     "drift: enable differs (suspended in the shop, enabled on the panel)", out)
t.ok(not any("px-201" in ln for ln in out.splitlines()), "drift: an agreeing client is not listed", out)
s.sql("UPDATE provisioned_clients SET traffic_limit_bytes = 5368709120 WHERE email = 'px-201'")
r = cron("drift", check=False)
t.ok(any("differs: px-201" in ln and "quota: shop 5368709120, panel 0" in ln for ln in r.stdout.splitlines()),
     "drift: quota differs; without an id every panel is checked", r.stdout)
t.ok("panel 1 (panel-1): 3 shop clients, 0 differences" in r.stdout, "drift: panel 1 agrees", r.stdout)

# --fix: repaired from the shop's side through the panel client, audited
r = cron("drift", "--fix", "2", check=False)
out = r.stdout
for e in ("px-201", "px-202", "px-203", "px-204", "px-205"):
    t.ok(any(e in ln and ln.endswith("-> fixed") for ln in out.splitlines()), "drift --fix: %s fixed" % e, out)
t.ok(any("stranger" in ln and "left alone" in ln for ln in out.splitlines()),
     "drift --fix: a client the shop never made is left alone", out)
t.is_(r.returncode, 1, "... so drift remains: exit 1")
st = {c["email"]: c for ib in p2.state()["inbounds"] for c in ib["settings"]["clients"]}
t.is_(st.get("px-202", {}).get("expiryTime"), exp * 1000, "px-202: the shop's expiry on the panel")
t.is_(st.get("px-203", {}).get("enable"), False, "px-203: disabled on the panel (suspended in the shop)")
t.is_(st.get("px-201", {}).get("totalGB"), 5368709120, "px-201: the shop's quota on the panel")
t.is_(st.get("px-204", {}).get("id"), "99999999-8888-4777-8666-555555555555",
      "px-204: added with the shop's credential")
t.ok("px-205" not in st, "px-205 (deleted in the shop) removed from the panel")
t.ok("stranger" in st, "the stranger is still there")
aud = s.sql("SELECT target, actor_kind, detail FROM audit_log WHERE action = 'drift.fix' ORDER BY id")
t.ok(len([a for a in aud if a[0].startswith("client:")]) == 5 and all(a[1] == "system" for a in aud[1:]),
     "one audit row per repair (and the request by the command line)", aud)
t.ok(aud[0][0] == "server:2" and "repair" in aud[0][2], "the --fix request itself is audited", aud[0])
r = cron("drift", "2", check=False)
t.ok("1 difference" in r.stdout and "stranger" in r.stdout, "after --fix only the stranger remains", r.stdout)
r = cron("drift", "--quiet", check=False)
t.ok("panel-1" not in r.stdout and "stranger" in r.stdout, "drift --quiet: nothing for a panel that agrees", r.stdout)

# -- the panels' health for staff: /healthz detail and /admin/servers --
s.start_pool()
s.start_nginx()
r = s.get("/healthz")
t.ok(r.status == 200 and "panels" not in r.json(), "anonymous /healthz: no panel detail", r.text)
boss = Staff(s, "boss@example.com", "manager")
r = boss.get("/healthz")
pj = {p["id"]: p for p in r.json().get("panels", [])}
t.ok(pj.get(1, {}).get("alert_down") is True and pj.get(1, {}).get("last_ok_at"),
     "staff /healthz: panel 1 down alert open, its last answer", pj.get(1))
t.ok(pj.get(2, {}).get("health") == "up" and pj.get(2, {}).get("traffic_synced_at"),
     "staff /healthz: panel 2 up, its last traffic sync", pj.get(2))
sam = Staff(s, "sam@example.com", "support")
t.ok("panels" not in sam.get("/healthz").json(), "support (no servers.write): no panel detail")
r = boss.get("/admin/servers")
row1 = r.text[r.text.find('id="server-1"'):]
row1 = row1[:row1.find("</tr>")]
t.ok("traffic: 20" in row1 and "staff alerted" in row1, "/admin/servers: last answer, traffic sync, alert", row1)
row2 = r.text[r.text.find('id="server-2"'):]
row2 = row2[:row2.find("</tr>")]
t.ok("traffic: 20" in row2 and "staff alerted" not in row2, "/admin/servers: panel 2 without an alert", row2)
ok, errs = s.html_ok(r.body)
t.ok(ok, "/admin/servers is well-formed", errs)

t.done()
