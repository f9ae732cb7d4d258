#!/usr/bin/env python3
"""kill -9 of `work` between every step of the provision and renew jobs
(issue 12, src/job_provision.c): the runner is stopped at each test-only
pause point (test_pause_file, src/testpause.h), then the runner and its
master are killed with SIGKILL and `work` is started again.  Whatever
the point, the order item ends active with exactly one client on the
panel, and a renewal extends the expiry by the plan's duration exactly
once (client_renewals keeps the target from before the first panel
call).  Both API generations.  Also the panel fault "acted but reply
lost" (paneld's acted faults): an add or update that happened but whose
reply never arrived is found by the next read, never repeated into a
second client or a second extension."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, terminate  # noqa: E402
from pxkill import Pauser  # noqa: E402
from pxweb import Shop  # noqa: E402
import pxprov as pv  # noqa: E402

t = TAP()
s = Shop(workers=2, tls=True, conf={"work_runners": "2", "panel_timeout": "5", "smtp_timeout": "10",
                                    "work_lease": "60", "retry_max_age": "3600"})
pz = Pauser(s)
arm, disarm, paused = pz.arm, pz.disarm, pz.paused
s.start()
sql = s.sql






def clients_on(p, email):
    found, _ = pv.on_panel(p, email)
    return len(found)


g2 = pv.panel(s, "g2", "classic", "vless:30001:V2", "trojan:30002:T2")
g3 = pv.panel(s, "g3", "current", "vless:30011:V3", "shadowsocks:30012:S3")
sid2, sid3 = pv.server(s, g2, "classic-panel"), pv.server(s, g3, "current-panel")
pv.plan(s, "k2-vless", "vless", inbound=pv.inbounds(s, sid2)["vless"][0], days=30)
pv.plan(s, "k3-ss", "shadowsocks", inbound=pv.inbounds(s, sid3)["shadowsocks"][0], days=30)
alice, alice_id = pv.customer(s, "alice")

POINTS = ("provision:placed", "provision:checked", "provision:added", "provision:readback")
RENEW = ("renew:target", "renew:updated", "renew:reset", "renew:readback")

# -- kill -9 between every step of provision, both generations --
first = {}
for slug, p in (("k2-vless", g2), ("k3-ss", g3)):
    for point in POINTS:
        arm(point)
        o = pv.buy(alice, slug)
        pid = paused(point)
        t.ok(pid is not None, "%s: a runner paused at %s" % (slug, point))
        if pid is None:
            disarm()
            continue
        pz.kill_work(pid)
        t.is_(pv.wait_order(s, o, 60), "active", "%s: killed at %s, the order becomes active after the "
              "restart" % (slug, point))
        item = pv.items(s, o)[0]
        row = pv.client_row(s, item)
        t.ok(row is not None and clients_on(p, row["email"]) == 1 and row["state"] == "active" and
             sql("SELECT count(*) FROM provisioned_clients WHERE order_item_id = ?", (item,))[0][0] == 1,
             "%s: killed at %s: exactly one client, on the panel and in the shop" % (slug, point))
        first.setdefault(slug, (o, item))
t.ok(s.work.poll() is None, "work runs after the kills")

# -- kill -9 between every step of renew: expiry extended exactly once --
for slug, p in (("k2-vless", g2), ("k3-ss", g3)):
    o0, item = first[slug]
    for point in RENEW:
        before = pv.client_row(s, item)
        p.control("traffic", email=before["email"], up=500, down=700)
        arm(point)
        o = pv.renew(alice, o0, item)
        pid = paused(point)
        t.ok(pid is not None, "%s: a runner paused at %s" % (slug, point))
        if pid is None:
            disarm()
            continue
        pz.kill_work(pid)
        t.is_(pv.wait_order(s, o, 60), "active", "%s: killed at %s, the renewal becomes active" % (slug, point))
        after = pv.client_row(s, item)
        found, rec = pv.on_panel(p, after["email"])
        exp = (rec or found[0][1]).get("expiryTime") if found else None
        t.ok(after["expires_at"] == before["expires_at"] + 30 * 86400 and exp == after["expires_at"] * 1000 and
             len(found) == 1,
             "%s: killed at %s: the expiry is extended by 30 days exactly once, on the panel too" % (slug, point),
             (before["expires_at"], after["expires_at"], exp))
        tr = [x for x in p.state()["traffics"] if x["email"] == after["email"]]
        t.ok(tr and tr[0]["up"] == 0 and after["cred"] == before["cred"],
             "%s: killed at %s: the traffic reset, the credential kept" % (slug, point))

# -- acted but reply lost --
for slug, p, route in (("k2-vless", g2, "addClient"), ("k3-ss", g3, "clients/add")):
    adds = pv.calls(p, route)
    p.control("fault", kind="500", route=route, count=1, acted=True)
    o = pv.buy(alice, slug)
    t.is_(pv.wait_order(s, o, 60), "active", "%s: the add acted but its reply was lost: active" % slug)
    item = pv.items(s, o)[0]
    row = pv.client_row(s, item)
    t.ok(clients_on(p, row["email"]) == 1 and pv.calls(p, route) - adds == 1,
         "%s: one client, one add (the next read found it)" % slug, pv.calls(p, route) - adds)
    p.control("fault", kind="")
for slug, p, route in (("k2-vless", g2, "updateClient"), ("k3-ss", g3, "clients/update")):
    o0, item = first[slug]
    before = pv.client_row(s, item)
    p.control("fault", kind="truncated", route=route, count=1, acted=True)
    o = pv.renew(alice, o0, item)
    t.is_(pv.wait_order(s, o, 60), "active", "%s: the update acted but its reply was cut: active" % slug)
    after = pv.client_row(s, item)
    t.is_(after["expires_at"] - before["expires_at"], 30 * 86400, "%s: extended once" % slug)
    p.control("fault", kind="")

terminate(s.work)
s.work = None
s.check_sanitizers(t, "no sanitizer report from work or the pool")
t.done()
