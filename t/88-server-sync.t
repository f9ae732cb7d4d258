#!/usr/bin/env python3
"""The panel client (src/xui.c) through `1000proxy server test|sync ID`,
against the panel double (t/lib/paneld.py) in both generations: classic
(v2.8.11, cookie), classic v3.0.2 (cookie + CSRF), current v3.6.0 (cookie
+ CSRF) and current with a Bearer API token.  Test connection stores the
version and generation; Sync inbounds upserts server_inbounds, marks an
inbound that vanished from the panel inactive and reports protocols the
shop does not sell.  A wrong password fails with the panel's message in
servers.last_error; a session that expires mid-sync is signed in again
once; hostile, malformed and oversized replies are an error, never a
crash (the sanitizer build too)."""
import http.cookiejar
import json
import os
import sys
import urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack, wait_for  # noqa: E402
from pxmail import PanelDouble, Spool  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import csrf_of  # noqa: E402

t = TAP()
s = Spool(conf={"work_runners": "2", "panel_timeout": "5", "smtp_timeout": "10", "work_lease": "60"})
s.setup()
w = s.start_work()


def server(p, sid, token=None):
    """A servers row for panel p through `server add` (the secret on stdin)."""
    args = ["server", "add", "--name", "p%d" % sid, "--country-code", "DE", "--country", "Germany",
            "--url", p.url, "--user", p.user, "--host", "127.0.0.1"]
    r = s.cli(*(args + (["--token"] if token else [])), input=(token or p.password) + "\n")
    got = int(r.stdout)
    t.is_(got, sid, "server %d added" % sid)
    return got


def run(verb, sid):
    r = s.cli("server", verb, str(sid), check=False)
    try:
        res = json.loads(r.stdout)
    except ValueError:
        res = {}
    return r.returncode, res, r.stderr


def row(sid):
    return s.sql("SELECT health, panel_version, detected_generation, last_error FROM servers WHERE id = ?",
                 (sid,))[0]


def inbounds(sid):
    return s.sql("SELECT panel_inbound_id, protocol, port, remark, network, security, active, settings_json "
                 "FROM server_inbounds WHERE server_id = ? ORDER BY panel_inbound_id", (sid,))


seed = os.path.join(s.dir, "inbounds.json")
with open(seed, "w") as f:
    json.dump([{"protocol": "vless", "port": 443, "remark": "de-vless",
                "streamSettings": {"network": "ws", "security": "tls", "wsSettings": {"path": "/x"}},
                "settings": {"clients": [], "decryption": "none", "encryption": "none"}},
               {"protocol": "wireguard", "port": 51820, "remark": "wg"},
               {"protocol": "trojan", "port": 8443, "remark": "off", "enable": False},
               {"protocol": "shadowsocks", "port": 8388, "remark": "ss"}], f)

# -- classic v2.8.11: cookie login, G2 --
pc = PanelDouble(s, "classic", "--inbounds", seed, "--inbound", "vmess:2053:de-vmess")
server(pc, 1)
rc, res, err = run("test", 1)
t.ok(rc == 0 and res.get("ok") and res.get("login") == "ok" and res.get("generation") == "g2"
     and res.get("csrf") is False and res.get("xray") == "running", "classic: test connection ok, g2", (res, err))
t.is_(row(1)[:3], ("up", "", "g2"), "classic: health up, no panelVersion, g2 stored")
rc, res, err = run("sync", 1)
t.ok(rc == 0 and res.get("ok") and res.get("inbounds") == 4 and res.get("added") == 4, "classic: sync ok",
     (res, err))
t.is_([(u["protocol"], u["port"]) for u in res.get("unsupported", [])], [("wireguard", 51820)],
      "wireguard is reported as unsupported, not a failure")
ib = inbounds(1)
t.is_([r[1:7] for r in ib], [("vless", 443, "de-vless", "ws", "tls", 1), ("trojan", 8443, "off", "tcp", "none", 0),
                             ("shadowsocks", 8388, "ss", "tcp", "none", 1), ("vmess", 2053, "de-vmess", "tcp", "none", 1)],
      "server_inbounds: protocol, port, remark, network, security; a disabled inbound inactive")
st = json.loads(ib[0][7])
t.is_(st.get("stream", {}).get("wsSettings"), {"path": "/x"}, "stream settings kept for links (G2: parsed from a string)")
t.is_(json.loads(ib[2][7]).get("method"), "2022-blake3-aes-128-gcm", "shadowsocks: the method kept")
ssk = [i for i in pc.state()["inbounds"] if i["protocol"] == "shadowsocks"][0]["settings"]["password"]
t.ok(ssk and json.loads(ib[2][7]).get("password") == ssk,
     "shadowsocks 2022: the server key kept (every link carries it before the client's)")
t.is_(json.loads(ib[0][7]).get("encryption"), "none", "vless: the inbound's encryption kept for the link")

# the vmess inbound vanishes from the panel
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
op.open(urllib.request.Request(pc.url + "login", data=json.dumps({"username": pc.user, "password": pc.password})
                               .encode(), headers={"Content-Type": "application/json"}), timeout=10).read()
vm = [r[0] for r in ib if r[1] == "vmess"][0]
d = json.loads(op.open(urllib.request.Request(pc.url + "panel/api/inbounds/del/%d" % vm, data=b"",
                                              method="POST"), timeout=10).read())
t.ok(d.get("success"), "the double deleted the vmess inbound", d)
rc, res, err = run("sync", 1)
t.ok(rc == 0 and res.get("vanished") == [vm] and res.get("added") == 0, "the vanished inbound is reported", res)
t.is_(s.sql("SELECT active FROM server_inbounds WHERE server_id = 1 AND panel_inbound_id = ?", (vm,))[0][0], 0,
      "... and marked inactive, not deleted")
t.is_(s.sql("SELECT count(*) FROM server_inbounds WHERE server_id = 1")[0][0], 4, "no row deleted")

# -- classic v3.0.2 (G2 routes, v3 auth with CSRF) --
p3 = PanelDouble(s, "v302", "--csrf", "--panel-version", "3.0.2", "--inbound", "trojan:9443:t")
server(p3, 2)
rc, res, err = run("test", 2)
t.ok(rc == 0 and res.get("csrf") is True and res.get("generation") == "g2", "v3.0.2: CSRF login, still g2",
     (res, err))
rc, res, err = run("sync", 2)
t.ok(rc == 0 and res.get("inbounds") == 1, "v3.0.2: sync ok", (res, err))

# -- current v3.6.0 with CSRF --
pg = PanelDouble(s, "current", "--gen", "current", "--csrf", "--inbounds", seed)
server(pg, 3)
rc, res, err = run("test", 3)
t.ok(rc == 0 and res.get("csrf") is True and res.get("generation") == "g3" and res.get("version") == "3.6.0",
     "current: CSRF login, v3.6.0, g3", (res, err))
t.is_(row(3)[:3], ("up", "3.6.0", "g3"), "current: version and generation stored")
rc, res, err = run("sync", 3)
t.ok(rc == 0 and res.get("inbounds") == 3 and len(res.get("unsupported", [])) == 1, "current: sync ok",
     (res, err))
t.is_(json.loads(inbounds(3)[0][7]).get("stream", {}).get("wsSettings"), {"path": "/x"},
      "G3: stream settings read as an object")

# -- current with an API token --
TOKEN = "T" * 48
pt = PanelDouble(s, "token", "--gen", "current", "--csrf", "--api-token", TOKEN, "--inbound", "vless:443:a")
server(pt, 4, token=TOKEN)
rc, res, err = run("test", 4)
t.ok(rc == 0 and res.get("generation") == "g3", "token: test ok without a password", (res, err))
rc, res, err = run("sync", 4)
t.ok(rc == 0 and res.get("inbounds") == 1, "token: sync ok", (res, err))
t.is_(pt.stats().get("logins"), 0, "token: no login at all")

# -- a wrong password --
pw = PanelDouble(s, "wrong", "--inbound", "vless:443:a", password="right")
pw.password = "wrong"
server(pw, 5)
rc, res, err = run("test", 5)
t.ok(rc == 1 and res.get("login") == "refused", "wrong password: exit 1, refused", (res, err))
h, _, _, le = row(5)
t.ok(h == "down" and "Invalid username or password" in le, "the panel's message in last_error", le)
t.ok(s.sql("SELECT last_error_at > 0 FROM servers WHERE id = 5")[0][0], "... with last_error_at")

# -- the session expires mid-sync: one re-login --
pe = PanelDouble(s, "expire", "--expire-after", "1", "--inbound", "vless:443:a")
server(pe, 6)
rc, res, err = run("sync", 6)
t.ok(rc == 0 and res.get("inbounds") == 1, "expired mid-sync: the sync still succeeds", (res, err))
t.is_(pe.stats().get("logins"), 2, "... after exactly one re-login")
t.ok(pe.stats().get("expired", 0) >= 1, "... the double did expire the session", pe.stats())

# -- hostile, malformed, oversized, 500 --
for n, kind in enumerate(("hostile", "malformed", "oversized", "500", "truncated")):
    sid = 7 + n
    pf = PanelDouble(s, "fault-" + kind, "--fault", kind, "--fault-route", "inbounds/list",
                     "--inbound", "vless:443:a")
    server(pf, sid)
    rc, res, err = run("sync", sid)
    t.ok(rc == 1 and res.get("ok") is False and res.get("msg"), "%s reply: an error, said" % kind, (res, err))
    t.ok(row(sid)[0] == "down" and row(sid)[3], "%s: health down, last_error set" % kind, row(sid))
t.ok("larger than 4 MiB" in s.sql("SELECT last_error FROM servers WHERE id = 9")[0][0],
     "oversized: the cap is named")
t.ok(w.poll() is None, "work is still running")
log = open(s.log).read()
t.ok("xui" in log and "inbounds/list" in log, "one log line per panel call")
t.ok("right" not in log and TOKEN not in log and "pw-panel" not in log, "no password or token in the log")
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")


# -- the buttons on /admin/servers/{id} --
class Web(Spool):
    """A full stack (pool, nginx, demo seed) with `work` on demand."""

    def __init__(self, conf):
        Stack.__init__(self, workers=1, conf=dict({"work_poll_ms": "50"}, **conf))
        self.spool = os.path.join(self.dir, "spool")
        self.works = []


s = Web({"work_runners": "2", "panel_timeout": "5", "smtp_timeout": "10", "work_lease": "60"}).start()
w = s.start_work()
pw = PanelDouble(s, "web", "--gen", "current", "--csrf", "--inbound", "vless:443:web-vless")
sid = int(s.cli("server", "add", "--name", "webpanel", "--country-code", "DE", "--country", "Germany",
                "--url", pw.url, "--user", pw.user, "--host", "127.0.0.1", input=pw.password + "\n").stdout)
ada = Staff(s, "ada@example.com", "super_admin")
sam = Staff(s, "sam@example.com", "support")
page = "/admin/servers/%d" % sid
r = ada.get(page)
good, errs = s.html_ok(r.body)
t.ok(r.status == 200 and "Test connection" in r.text and "Sync inbounds" in r.text and good,
     "the server's page has both buttons (well-formed HTML)", errs)
csrf = csrf_of(r.text)
t.is_(ada.post(page + "/test", {}).status, 403, "without the CSRF token: refused")
t.is_(sam.post(page + "/sync", {"csrf": csrf_of(sam.get("/admin").text)}).status, 403,
      "support (no servers.write): 403")
t.is_(ada.post("/admin/servers/99999/test", {"csrf": csrf}).status, 404, "an unknown server: 404")
r = ada.post(page + "/test", {"csrf": csrf})
t.ok(r.status == 303 and (r.header("location") or "").endswith(page), "Test connection: 303 back to the page",
     r.status)
r = ada.post(page + "/sync", {"csrf": csrf})
t.is_(r.status, 303, "Sync inbounds: 303")
t.is_(s.sql("SELECT count(*) FROM audit_log WHERE action IN ('server.test', 'server.sync') AND target = ?",
            ("server:%d" % sid,))[0][0], 2, "one audit row per press")
t.ok(wait_for(lambda: s.sql("SELECT count(*) FROM jobs WHERE server_id = ? AND state = 'done'", (sid,))[0][0] == 2,
              20), "work ran both jobs")
r = ada.get(page)
t.ok("Last test (job" in r.text and "done: signed in" in r.text and "web-vless" in r.text
     and "3.6.0" in r.text, "after a reload: the last test, the last sync and the inbounds", r.text[-2500:])
w.terminate()
w.wait(10)
s.check_sanitizers(t, "no sanitizer report from the pool, work or the commands")
t.done()
