#!/usr/bin/env python3
"""Provisioning (issue 12, src/job_provision.c, src/xui_client.c): a paid
order item becomes a client on a 3X-UI panel double, exactly once, in
both API generations.  Customers buy through the web (nginx, the pool,
checkout) and `work` provisions against t/lib/paneld.py:

- the client operations of xui_client.c on the wire (`test-xui`), both
  generations: get, add, update, reset, list, delete;
- purchase to active for vless, vmess, trojan and shadowsocks (2022) on a
  classic (v2.8.11) and a current (v3.6.0) panel: the panel holds the
  email, UUID/password, expiryTime, totalGB, limitIp, enable and subId,
  and the shop stores what the panel read back; credentials are the
  derivation of xui_client.h; one panel login per runner (session reuse);
- the v3.6.0 SS-2022 quirk: the panel's password is stored, never ours;
- pool placement (fewest clients), maintenance skipped, a panel that
  does not answer skipped (failover);
- capacity never exceeded under 50 concurrent purchases; the rest fail
  with "no capacity", staff are mailed;
- a panel refusal: the item failed with the panel's message, the order
  failed, staff mailed, the order page still renders;
- hostile and malformed replies: an error, retried, no crash;
- session expiry mid-run: exactly one re-login;
- a panel down for a while, then back: every job completes, none twice;
- a renewal extends the expiry once and re-enables a suspended client."""
import os
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, wait_for  # noqa: E402
from pxweb import Shop  # noqa: E402
import pxprov as pv  # noqa: E402

t = TAP()
s = Shop(workers=4, tls=True, conf={"work_runners": "4", "panel_timeout": "5", "smtp_timeout": "10",
                                    "work_lease": "60", "retry_max_age": "3600",
                                    "mail_client_hourly": "1000"})
s.start()
sql = s.sql
KEY = os.path.join(s.dir, "secret.key")
s.cli("user", "add", "--role", "super_admin", "--name", "ops", "ops@shop.example",
      input="staff passphrase for ops 1\n")

# -- the wire calls of xui_client.c, both generations (test-xui) --
for gen, label in (("classic", "G2"), ("current", "G3")):
    w = pv.panel(s, "wire-" + gen, gen, "vless:21001:V", "trojan:21002:T")
    c = '{"email":"wire-1","id":"11111111-2222-4333-8444-555555555555","limitIp":2,"totalGB":1000,' \
        '"expiryTime":1900000000000,"subId":"wiresub1"}'
    r = pv.xui(s, w, "detect", "get", 1, "vless", "wire-1")
    t.ok(r.get("rc") == 0 and r.get("gen") == ("g2" if gen == "classic" else "g3"),
         "%s: get of an unknown email: 0 (not there), generation detected" % label, r)
    r = pv.xui(s, w, "detect", "add", 1, "vless", c)
    t.is_(r.get("rc"), 0, "%s: add" % label)
    r = pv.xui(s, w, "detect", "get", 1, "vless", "wire-1", "traffic")
    cl = r.get("client") or {}
    t.ok(r.get("rc") == 1 and cl.get("id") == "11111111-2222-4333-8444-555555555555" and
         cl.get("limitIp") == 2 and cl.get("totalGB") == 1000 and cl.get("expiryTime") == 1900000000000 and
         cl.get("subId") == "wiresub1" and cl.get("enable") is True and cl.get("has_traffic") is True,
         "%s: get by email returns the client with its traffic row" % label, r)
    w.control("traffic", email="wire-1", up=100, down=200)
    r = pv.xui(s, w, "detect", "list", 1)
    cl = (r.get("clients") or [{}])[0]
    t.ok(r.get("rc") == 0 and len(r.get("clients") or []) == 1 and cl.get("up") == 100 and cl.get("down") == 200,
         "%s: list of an inbound's clients carries their traffic (one call)" % label, r)
    r = pv.xui(s, w, "detect", "update", 1, "vless", "wire-1", "11111111-2222-4333-8444-555555555555",
               c.replace('"limitIp":2', '"limitIp":3').replace("}", ',"enable":false}'))
    r2 = pv.xui(s, w, "detect", "get", 1, "vless", "wire-1")
    t.ok(r.get("rc") == 0 and (r2.get("client") or {}).get("limitIp") == 3 and
         (r2.get("client") or {}).get("enable") is False, "%s: update replaces the client (limitIp, enable)" % label,
         (r, r2))
    r = pv.xui(s, w, "detect", "reset", 1, "wire-1")
    r2 = pv.xui(s, w, "detect", "get", 1, "vless", "wire-1", "traffic")
    t.ok(r.get("rc") == 0 and (r2.get("client") or {}).get("up") == 0, "%s: reset traffic zeroes it" % label,
         (r, r2))
    r = pv.xui(s, w, "detect", "add", 2, "trojan", '{"email":"wire-2","password":"pw-two","subId":"wiresub2"}')
    r = pv.xui(s, w, "detect", "add", 2, "trojan", '{"email":"WIRE-2","password":"pw-three","subId":"other"}')
    t.ok(r.get("rc") == -1 and r.get("fail") == "refused" and "wire-2" in r.get("err", "").lower() and
         "\n" not in r.get("err", ""), "%s: a duplicate email is refused with the panel's message, "
         "newline dropped" % label, r)
    # G2 refuses to delete an inbound's last client (4.2): keep one more.
    pv.xui(s, w, "detect", "add", 1, "vless", '{"email":"wire-3","id":"11111111-2222-4333-8444-555555555553",'
           '"subId":"wiresub3"}')
    r = pv.xui(s, w, "detect", "delete", 1, "vless", "wire-1", "11111111-2222-4333-8444-555555555555")
    r2 = pv.xui(s, w, "detect", "get", 1, "vless", "wire-1")
    t.ok(r.get("rc") == 0 and r2.get("rc") == 0, "%s: delete, then get finds nothing" % label, (r, r2))
    w.control("fault", kind="hostile", route="inbounds" if gen == "classic" else "clients")
    r = pv.xui(s, w, "detect", "get", 2, "trojan", "wire-2")
    t.ok(r.get("rc") == -1 and r.get("fail") == "bad_reply", "%s: a hostile reply is an error (bad_reply), "
         "no crash" % label, r)
    w.control("fault", kind="")
    w.stop()

# -- panels of both generations, each inbound a plan --
g2 = pv.panel(s, "g2", "classic", "vless:20001:V2", "vmess:20002:M2", "trojan:20003:T2", "shadowsocks:20004:S2")
g3 = pv.panel(s, "g3", "current", "vless:20011:V3", "vmess:20012:M3", "trojan:20013:T3", "shadowsocks:20014:S3")
sid2 = pv.server(s, g2, "classic-panel")
sid3 = pv.server(s, g3, "current-panel")
t.is_(sql("SELECT detected_generation FROM servers WHERE id IN (?, ?) ORDER BY id", (sid2, sid3)),
      [("g2",), ("g3",)], "both panels synced, generations detected")
PROTOS = ("vless", "vmess", "trojan", "shadowsocks")
slugs = []
for sid, tag in ((sid2, "g2"), (sid3, "g3")):
    ibs = pv.inbounds(s, sid)
    for proto in PROTOS:
        slug = "%s-%s" % (tag, proto)
        pv.plan(s, slug, proto, inbound=ibs[proto][0], days=30, traffic=(7 << 30), devices=3)
        slugs.append(slug)
logins0 = (g2.stats().get("logins", 0), g3.stats().get("logins", 0))

alice, alice_id = pv.customer(s, "alice")
t0 = time.time()
o1 = pv.buy(alice, *slugs)
t.ok(o1 is not None, "Alice pays an order of 8 plans (4 protocols x 2 generations)")
t.is_(pv.wait_order(s, o1), "active", "the order becomes active")
elapsed = time.time() - t0
its = pv.items(s, o1)
t.is_(sql("SELECT count(*) FROM order_items WHERE id IN (%s) AND state = 'active' AND last_error = ''"
          % ",".join(map(str, its)))[0][0], 8, "every item is active")
t.ok(sql("SELECT count(*) FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.public_id = ? "
         "AND e.kind IN ('provisioning', 'active')", (o1,))[0][0] == 2,
     "the order's events: provisioning, then active")
now = time.time()
for item, slug in zip(its, slugs):
    row = pv.client_row(s, item)
    p = g2 if slug.startswith("g2") else g3
    tag = slug
    if row is None:
        t.ok(False, "%s: a client row" % tag)
        continue
    found, rec = pv.on_panel(p, row["email"])
    t.ok(row["email"] == "px-%d" % item and len(found) == 1, "%s: exactly one client px-%d on the panel" % (tag, item),
         found)
    if not found:
        continue
    ib, cl = found[0]
    proto = row["protocol"]
    cred = cl.get("id") if proto in ("vless", "vmess") else cl.get("password")
    if p is g3 and rec is not None:
        cred = rec.get("uuid") if proto in ("vless", "vmess") else rec.get("password")
    method = None
    if proto == "shadowsocks":
        method = [i for i in p.state()["inbounds"] if i["id"] == ib][0]["settings"].get("method")
    t.ok(row["cred"] == cred and row["cred"] == pv.derived(KEY, item, 0, proto, method),
         "%s: the panel holds the derived %s, and the shop stores it" % (tag, "UUID" if proto in ("vless", "vmess")
                                                                         else "password"), (row["cred"], cred))
    if proto in ("vless", "vmess"):
        t.ok(pv.uuid_ok(row["cred"]), "%s: a version 4 UUID" % tag, row["cred"])
    t.ok(ib == row["panel_inbound"] and cl.get("expiryTime") == row["expires_at"] * 1000 and
         abs(row["expires_at"] - (now + 30 * 86400)) < 120 and cl.get("totalGB") == (7 << 30) and
         row["traffic"] == (7 << 30) and cl.get("limitIp") == 3 and row["limit_ip"] == 3 and
         cl.get("enable") is True and row["panel_enable"] == 1 and cl.get("subId") == row["sub_id"] and
         len(row["sub_id"]) == 16 and row["state"] == "active",
         "%s: expiryTime, totalGB, limitIp, enable and subId on the panel; the shop's read-back agrees" % tag,
         (row, cl))
    t.ok('"email":"px-%d"' % item in row["panel_json"], "%s: the panel's client object is kept" % tag)
logins = (g2.stats().get("logins", 0) - logins0[0], g3.stats().get("logins", 0) - logins0[1])
t.ok(all(n <= 3 for n in logins), "session reuse: at most one login per runner per panel for 8 jobs "
     "(logins: classic %d, current %d)" % logins, logins)
t.diag("8 items (2 panels) paid -> active in %.2f s" % elapsed)
r = alice.get("/orders/" + o1)
t.is_(r.status, 200, "the active order's page renders")

# -- the v3.6.0 SS-2022 quirk: the panel's password is stored --
q3 = pv.panel(s, "g3quirk", "current", "shadowsocks:20021:SQ", extra=("--quirk", "ss2022-overwrite"))
sidq = pv.server(s, q3, "quirk-panel")
pv.plan(s, "quirk-ss", "shadowsocks", inbound=pv.inbounds(s, sidq)["shadowsocks"][0])
o = pv.buy(alice, "quirk-ss")
t.is_(pv.wait_order(s, o), "active", "SS-2022 on a v3.6.0 panel that replaces the password: active")
item = pv.items(s, o)[0]
row = pv.client_row(s, item)
found, rec = pv.on_panel(q3, row["email"])
ours = pv.derived(KEY, item, 0, "shadowsocks", "2022-blake3-aes-128-gcm")
t.ok(rec is not None and row["cred"] == rec.get("password") and row["cred"] != ours,
     "the shop stores the panel's SS-2022 key, not the one it sent", (row["cred"], rec, ours))

# -- pool placement: fewest clients, maintenance skipped, failover --
pa = pv.panel(s, "pool-a", "classic", "vless:22001:A")
pb = pv.panel(s, "pool-b", "current", "vless:22002:B")
pc = pv.panel(s, "pool-c", "classic", "vless:22003:C")
sa, sb, sc = pv.server(s, pa, "pool-a", "FR"), pv.server(s, pb, "pool-b", "FR"), pv.server(s, pc, "pool-c", "FR")
pv.plan(s, "fr-vless", "vless", country="FR")
placed = []
for n in range(3):
    o = pv.buy(alice, "fr-vless")
    pv.wait_order(s, o)
    placed.append(pv.client_row(s, pv.items(s, o)[0])["server"])
t.is_(sorted(placed), sorted([sa, sb, sc]), "three purchases of a pool plan: one on each panel (fewest clients)")
sql("UPDATE servers SET state = 'maintenance' WHERE id = ?", (sb,))
pc.stop()
placed = []
for n in range(2):
    o = pv.buy(alice, "fr-vless")
    t.is_(pv.wait_order(s, o), "active", "pool purchase %d with one panel in maintenance and one down" % (n + 1))
    placed.append(pv.client_row(s, pv.items(s, o)[0])["server"])
t.is_(placed, [sa, sa], "both placed on the panel that answers (maintenance skipped, the down panel failed over)")
t.is_(len([c for ib in pb.state()["inbounds"] for c in ib["settings"]["clients"]]), 1,
      "nothing new on the panel in maintenance")
sql("UPDATE servers SET state = 'active' WHERE id = ?", (sb,))

# -- capacity under 50 concurrent purchases --
ca = pv.panel(s, "cap-a", "classic", "trojan:23001:CA")
cb = pv.panel(s, "cap-b", "current", "trojan:23002:CB")
sca = pv.server(s, ca, "cap-a", "IS", extra=("--capacity", "8"))
scb = pv.server(s, cb, "cap-b", "IS")
sql("UPDATE server_inbounds SET capacity = 9 WHERE server_id = ?", (scb,))
pv.plan(s, "is-trojan", "trojan", country="IS")
buyers = [None] * 50


def make(i):
    buyers[i] = pv.customer(s, "cap%d" % i)[0]


def pay(i):
    orders[i] = pv.buy(buyers[i], "is-trojan")


for k in range(0, 50, 5):
    threads = [threading.Thread(target=make, args=(i,)) for i in range(k, k + 5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
t.is_(sum(1 for b in buyers if b), 50, "50 customers signed in with funded wallets")
orders = [None] * 50
t0 = time.time()
threads = [threading.Thread(target=pay, args=(i,)) for i in range(50)]
for th in threads:
    th.start()
for th in threads:
    th.join()
t.is_(sum(1 for o in orders if o), 50, "50 concurrent purchases are paid")
wait_for(lambda: all(pv.order_state(s, o) in ("active", "failed") for o in orders if o), 120, 0.2)
states = [pv.order_state(s, o) for o in orders if o]
t.diag("50 concurrent purchases settled in %.1f s" % (time.time() - t0))
on_a = sql("SELECT count(*) FROM provisioned_clients WHERE server_id = ? AND state = 'active'", (sca,))[0][0]
on_b = sql("SELECT count(*) FROM provisioned_clients WHERE server_id = ? AND state = 'active'", (scb,))[0][0]
t.ok(on_a == 8 and on_b == 9 and states.count("active") == 17 and states.count("failed") == 33,
     "capacity never exceeded: 8 on the panel of capacity 8, 9 on the inbound of capacity 9, 33 failed",
     (on_a, on_b, states.count("active"), states.count("failed")))
t.ok(len([c for ib in ca.state()["inbounds"] for c in ib["settings"]["clients"]]) == 8 and
     len([c for ib in cb.state()["inbounds"] for c in ib["settings"]["clients"]]) == 9,
     "and the panels hold exactly that many clients")
t.ok(sql("SELECT count(*) FROM order_items i JOIN plans p ON p.id = i.plan_id WHERE p.slug = 'is-trojan' "
         "AND i.state = 'failed' AND i.last_error LIKE '%capacity%'")[0][0] == 33,
     "the failed items say there is no capacity",
     sql("SELECT i.state, i.last_error, count(*) FROM order_items i JOIN plans p ON p.id = i.plan_id "
         "WHERE p.slug = 'is-trojan' GROUP BY 1, 2"))
m = s.wait_mail("ops@shop.example", "Provisioning failed", n=1, timeout=30)
t.ok(m is not None and "capacity" in m.get_body(preferencelist=("plain",)).get_content(),
     "staff are mailed about a failed item")

# -- a panel refusal: failed with the panel's message --
g3.control("fault", kind="refuse", route="clients/add",
           msg="Something went wrong (email already in use: somebody\n)")
o = pv.buy(alice, "g3-vless")
t.is_(pv.wait_order(s, o), "failed", "a panel that refuses the add: the order fails")
item = pv.items(s, o)[0]
t.is_(sql("SELECT state, last_error FROM order_items WHERE id = ?", (item,))[0],
      ("failed", "Something went wrong (email already in use: somebody)"),
      "the item is failed with the panel's message")
t.ok(sql("SELECT count(*) FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.public_id = ? AND "
         "e.kind = 'failed' AND e.note LIKE '%already in use%'", (o,))[0][0] == 1, "an order event says why")
# The item and the order are failed inside the job's attempt; the runner
# marks the job itself failed a moment later, once run() has returned,
# so wait for that (a loaded full run read it still 'running').


def prov_job():
    return sql("SELECT state, last_error LIKE '%already in use%' FROM jobs WHERE kind = 'provision' AND "
               "json_extract(payload, '$.order_item') = ?", (item,))[0]


wait_for(lambda: prov_job()[0] != "running", 20, 0.05)
t.is_(prov_job(), ("failed", 1), "the job is failed with the panel's message (staff retry it)")
m = s.wait_mail("ops@shop.example", "item %d" % item, timeout=20)
t.ok(m is not None and "already in use" in m.get_body(preferencelist=("plain",)).get_content(),
     "staff are mailed with the panel's message")
r = alice.get("/orders/" + o)
t.is_(r.status, 200, "the failed order's page renders for the customer")
g3.control("fault", kind="")

# -- hostile and malformed replies: an error, retried, no crash --
for kind in ("hostile", "malformed"):
    g2.control("fault", kind=kind, route="inbounds/get", count=2)
    o = pv.buy(alice, "g2-trojan")
    t.is_(pv.wait_order(s, o, 60), "active", "%s replies twice: the job retries, then the item is active" % kind)
    item = pv.items(s, o)[0]
    t.ok(sql("SELECT attempts > 1 FROM jobs WHERE kind = 'provision' AND "
             "json_extract(payload, '$.order_item') = ?", (item,))[0][0] == 1, "%s: it took more than one attempt"
         % kind)
    found, _ = pv.on_panel(g2, "px-%d" % item)
    t.is_(len(found), 1, "%s: one client on the panel" % kind)
g2.control("fault", kind="")
t.ok(s.work.poll() is None, "work is still running")

# -- session expiry mid-run: one re-login --
before = g3.stats().get("logins", 0)
g3.control("expire")
o = pv.buy(alice, "g3-trojan")
t.is_(pv.wait_order(s, o), "active", "after the panel ended every session the order is active")
t.is_(g3.stats().get("logins", 0) - before, 1, "exactly one new login")

# -- a panel down for a while, then back --
g2.stop()
ords = [pv.buy(alice, "g2-vless") for _ in range(4)]
time.sleep(4)
t.ok(all(pv.order_state(s, o) == "paid" or pv.order_state(s, o) == "provisioning" for o in ords),
     "while the panel is down the orders wait (paid or provisioning)", [pv.order_state(s, o) for o in ords])
t.ok(sql("SELECT count(*) FROM jobs WHERE kind = 'provision' AND state = 'pending' AND attempts >= 1 AND "
         "last_error <> ''")[0][0] >= 1, "the jobs are retried with the transport's error")
g2 = pv.restart(s, g2)
sql("UPDATE servers SET panel_url = ? WHERE id = ?", (g2.url, sid2))
t.ok(all(pv.wait_order(s, o, 60) == "active" for o in ords), "the panel is back: every order becomes active")
emails = ["px-%d" % pv.items(s, o)[0] for o in ords]
t.ok(all(len(pv.on_panel(g2, e)[0]) == 1 for e in emails), "each client exactly once on the panel")
t.is_(pv.calls(g2, "addClient"), 4, "four adds, none twice")

# -- a renewal: expiry extended once, a suspended client enabled again --
item = its[0]
row = pv.client_row(s, item)
xr = pv.xui(s, g2, "g2", "get", row["panel_inbound"], "vless", row["email"])
cl = xr["client"]
pv.xui(s, g2, "g2", "update", row["panel_inbound"], "vless", row["email"], cl["id"],
       '{"email":"%s","id":"%s","limitIp":3,"totalGB":%d,"expiryTime":%d,"subId":"%s","enable":false}'
       % (row["email"], cl["id"], 7 << 30, cl["expiryTime"], cl["subId"]))
g2.control("traffic", email=row["email"], up=1000, down=2000)
sql("UPDATE provisioned_clients SET state = 'suspended', suspended_reason = 'staff' WHERE id = ?", (row["id"],))
o = pv.renew(alice, o1, item)
t.is_(pv.wait_order(s, o), "active", "the renewal order becomes active")
new = pv.client_row(s, item)
found, _ = pv.on_panel(g2, row["email"])
tr = [x for x in g2.state()["traffics"] if x["email"] == row["email"]]
t.ok(new["expires_at"] == row["expires_at"] + 30 * 86400 and found[0][1]["expiryTime"] == new["expires_at"] * 1000,
     "the expiry is extended by the plan's 30 days, once, on the panel and in the shop",
     (row["expires_at"], new["expires_at"], found[0][1]["expiryTime"]))
t.ok(new["state"] == "active" and found[0][1]["enable"] is True and new["cred"] == row["cred"],
     "the suspended client is enabled again, its credential kept")
t.ok(tr and tr[0]["up"] == 0 and tr[0]["down"] == 0, "a new period: its traffic is reset", tr)
t.is_(sql("SELECT count(*) FROM client_renewals WHERE client_id = ? AND applied_at IS NOT NULL", (row["id"],))[0][0],
      1, "one renewal recorded, applied")

t.ok(s.work.poll() is None, "work is still running at the end")
s.check_sanitizers(t, "no sanitizer report from the pool, work or the commands")
t.done()
