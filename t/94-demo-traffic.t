#!/usr/bin/env python3
"""The demo carries real traffic (issue 12, "The demo provisions for
real").  The panel double (t/lib/paneld.py --core) drives Debian's v2ray
4.34 with the demo's four inbound kinds: VMess over ws, VLESS over
ws+TLS, Trojan over TLS and Shadowsocks AEAD, TLS from a self-signed
certificate made with openssl.  For each kind, in the classic and the
current API generation: a client added on the double through its API
(as the shop's panel client sends it), the share link the shop builds
from the inbound it synced (`1000proxy test-link`, links.c), turned into
a v2ray client config (t/lib/v2client.py, the README's helper), carries
an HTTP request through the double's v2ray to a local HTTP server (and
v2ray's byte counters reach the double's client traffic); the
client deleted on the double stops working while another client of the
same inbound still does.  A client over its quota, or past its expiry on
the test clock, is no longer served; stopXrayService and
restartXrayService stop and start v2ray.  server/status reports xray from the process
(running, then error when v2ray dies), and v2ray ends with the double,
even on a SIGKILL.  Without v2ray the test is a loud skip, and a
failure under CI=true."""
import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, free_port, terminate, wait_for  # noqa: E402
from pxmail import PanelDouble, Spool  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
t = TAP()
V2RAY = os.environ.get("PX_V2RAY") or shutil.which("v2ray") or "/usr/bin/v2ray"
if not os.access(V2RAY, os.X_OK):
    t.skip_all("DEMO TRAFFIC NOT TESTED: no v2ray (Debian 12: apt-get install v2ray; ./quickstart installs it)")
if not shutil.which("openssl") or not shutil.which("curl"):
    t.skip_all("DEMO TRAFFIC NOT TESTED: openssl and curl are needed")

s = Spool(conf={"work_runners": "2", "panel_timeout": "10", "smtp_timeout": "10", "work_lease": "60"})
s.setup()
w = s.start_work()

# -- the demo's certificate, as ./quickstart demo makes it --
tls = os.path.join(s.dir, "tls")
os.makedirs(tls)
CERT, KEY = os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-days", "30", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", KEY, "-out", CERT], check=True, capture_output=True)


def demo_inbounds(ss_method):
    """The demo's four inbounds (quickstart writes the same), on free ports."""
    cert = [{"certificateFile": CERT, "keyFile": KEY}]
    tls_set = {"serverName": "", "alpn": ["http/1.1"], "certificates": cert,
               "settings": {"allowInsecure": False, "fingerprint": ""}}
    return [
        {"protocol": "vmess", "port": free_port(), "remark": "demo-vmess-ws",
         "streamSettings": {"network": "ws", "security": "none", "wsSettings": {"path": "/vmess", "headers": {}}}},
        {"protocol": "vless", "port": free_port(), "remark": "demo-vless-ws-tls",
         "settings": {"clients": [], "decryption": "none", "fallbacks": []},
         "streamSettings": {"network": "ws", "security": "tls", "wsSettings": {"path": "/vless", "headers": {}},
                            "tlsSettings": tls_set}},
        {"protocol": "trojan", "port": free_port(), "remark": "demo-trojan-tls",
         "streamSettings": {"network": "tcp", "security": "tls", "tcpSettings": {"header": {"type": "none"}},
                            "tlsSettings": tls_set}},
        {"protocol": "shadowsocks", "port": free_port(), "remark": "demo-ss",
         "settings": {"method": ss_method, "password": "", "network": "tcp,udp", "clients": []},
         "streamSettings": {"network": "tcp", "security": "none", "tcpSettings": {"header": {"type": "none"}}}},
    ]


# -- a local HTTP server the traffic must reach --
class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("through " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


web = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
threading.Thread(target=web.serve_forever, daemon=True).start()
WEB = "http://127.0.0.1:%d" % web.server_address[1]


class Panel:
    """The double's API as the shop's panel client uses it (contract
    sections 1, 4.1, 4.3): a session cookie, the CSRF token in v3."""

    def __init__(self, p, g3):
        self.p, self.g3, self.csrf = p, g3, None
        self.op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        if g3:
            self.csrf = self.call("GET", "csrf-token")["obj"]
        r = self.call("POST", "login", {"username": p.user, "password": p.password}, form=True)
        assert r["success"], r

    def call(self, method, path, body=None, form=False):
        data, h = None, {}
        if body is not None:
            if form:
                data = urllib.parse.urlencode(body).encode()
                h["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
        if self.csrf:
            h["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request(self.p.url + path, data=data, method=method, headers=h)
        with self.op.open(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def add(self, ib, client):
        if self.g3:
            return self.call("POST", "panel/api/clients/add", {"client": client, "inboundIds": [ib]})
        return self.call("POST", "panel/api/inbounds/addClient",
                         {"id": ib, "settings": json.dumps({"clients": [client]})}, form=True)

    def delete(self, ib, proto, client):
        if self.g3:
            return self.call("POST", "panel/api/clients/del/" + client["email"])
        key = {"trojan": client.get("password"), "shadowsocks": client["email"]}.get(proto, client.get("id"))
        return self.call("POST", "panel/api/inbounds/%d/delClient/%s" % (ib, urllib.parse.quote(key, safe="")))


def new_client(proto, email, ss_method):
    """A client object with the fields the shop sends (4.1, 4.3)."""
    c = {"email": email, "enable": True, "expiryTime": int((time.time() + 86400) * 1000),
         "totalGB": 10 << 30, "limitIp": 2, "tgId": 0, "subId": uuid.uuid4().hex[:16], "reset": 0}
    if proto in ("vless", "vmess"):
        c["id"] = str(uuid.uuid4())
        if proto == "vless":
            c["flow"] = ""
        else:
            c["security"] = "auto"
    elif proto == "trojan":
        c["password"] = "tr-" + uuid.uuid4().hex
    else:
        c["method"], c["password"] = ss_method, "ss-" + uuid.uuid4().hex
    return c


def core(p):
    with urllib.request.urlopen(p.url + "_double/core", timeout=10) as r:
        return json.loads(r.read())


def settled(p, after):
    """Wait until the double's v2ray serves what the panel holds, restarted
    after restart count `after`; the core status then."""
    wait_for(lambda: (lambda c: not c["pending"] and c["restarts"] > after and c["state"] != "stop")(core(p)), 20)
    return core(p)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


clients_run = []


def v2client(link, *extra):
    """A v2ray client from the link (v2client.py), running; its SOCKS port."""
    port = free_port()
    r = subprocess.run([sys.executable, os.path.join(HERE, "lib", "v2client.py"), "--socks", str(port), *extra,
                        link], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr
    path = os.path.join(s.dir, "client-%d.json" % port)
    with open(path, "w") as f:
        f.write(r.stdout)
    log = open(path + ".log", "wb")
    p = subprocess.Popen([V2RAY, "-config", path], stdout=log, stderr=subprocess.STDOUT)
    clients_run.append(p)
    if not wait_for(lambda: port_open(port) or p.poll() is not None, 10) or p.poll() is not None:
        return None, open(path + ".log").read()
    return port, r.stdout


def fetch(socks, what):
    """An HTTP GET through the SOCKS5 port: the body, or '' on failure."""
    r = subprocess.run(["curl", "-s", "--max-time", "6", "--socks5", "127.0.0.1:%d" % socks, WEB + "/" + what],
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else ""


def sync(sid):
    r = s.cli("server", "sync", str(sid), check=False)
    return r.returncode == 0 and json.loads(r.stdout or "{}").get("ok")


def status(sid):
    r = s.cli("server", "test", str(sid), check=False)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"stderr": r.stderr}


KINDS = ("vmess", "vless", "trojan", "shadowsocks")
rounds = [("classic", 1, [], "aes-256-gcm"), ("current", 2, ["--gen", "current"], "chacha20-ietf-poly1305")]
doubles = {}
for gen, sid, flags, ss_method in rounds:
    seed = os.path.join(s.dir, "inbounds-%s.json" % gen)
    with open(seed, "w") as f:
        json.dump(demo_inbounds(ss_method), f)
    core_dir = os.path.join(s.dir, "core-" + gen)
    p = PanelDouble(s, "panel-" + gen, "--inbounds", seed, "--core", V2RAY, "--core-dir", core_dir,
                    "--core-stats", "0.5", "--clock-file", s.clock_file, *flags)
    doubles[gen] = p
    t.ok(wait_for(lambda: core(p)["state"] == "running", 15), "%s: the double runs v2ray" % gen, core(p))
    r = s.cli("server", "add", "--name", "demo-" + gen, "--country-code", "DE", "--country", "Germany",
              "--city", "Frankfurt", "--url", p.url, "--user", p.user, "--host", "127.0.0.1",
              input=p.password + "\n")
    t.is_(int(r.stdout), sid, "%s: the panel is server %d, through the CLI" % (gen, sid))
    t.ok(sync(sid), "%s: server sync imports its inbounds" % gen)
    ibs = {proto: (iid, pid) for iid, pid, proto in
           s.sql("SELECT id, panel_inbound_id, protocol FROM server_inbounds WHERE server_id = ? AND active = 1",
                 (sid,))}
    t.is_(sorted(ibs), sorted(KINDS), "%s: one synced inbound of each kind" % gen)
    st = status(sid)
    t.ok(st.get("xray") == "running", "%s: server/status says xray is running, from the process" % gen, st)
    api = Panel(p, gen == "current")
    for proto in KINDS:
        iid, pid = ibs[proto]
        keep = new_client(proto, "keep-%s-%s" % (gen, proto), ss_method)
        c = new_client(proto, "user-%s-%s" % (gen, proto), ss_method)
        n = core(p)["restarts"]
        # the keeper first: v2ray 4.34 serves the newest Shadowsocks client
        r1, r2 = api.add(pid, keep), api.add(pid, c)
        t.ok(r1.get("success") and r2.get("success"), "%s %s: two clients added on the double" % (gen, proto),
             (r1, r2))
        cs = settled(p, n)
        t.ok(cs["state"] == "running", "%s %s: v2ray restarted with them" % (gen, proto), cs)
        secret = c.get("id") or c.get("password")
        r = s.cli("test-link", str(iid), secret, c["email"], check=False)
        link = r.stdout.strip()
        t.ok(r.returncode == 0 and link.startswith(("ss" if proto == "shadowsocks" else proto) + "://"),
             "%s %s: the shop builds its share link" % (gen, proto), (link, r.stderr))
        socks, info = v2client(link, "--ca", CERT)
        t.ok(socks is not None, "%s %s: v2client.py makes a client config v2ray runs" % (gen, proto), info)
        tok = "%s-%s-%s" % (gen, proto, uuid.uuid4().hex[:8])
        got = fetch(socks, tok) if socks else ""
        t.is_(got, "through /" + tok, "%s %s: an HTTP request goes through the demo's v2ray" % (gen, proto))

        def used():
            rows = [r for r in p.state()["traffics"] if r["email"] == c["email"]]
            return rows and rows[0]["up"] > 0 and rows[0]["down"] > 0 and rows[0]["down"] > len(tok)
        t.ok(wait_for(used, 10), "%s %s: v2ray's byte counters reach the double's clientStats" % (gen, proto),
             [r for r in p.state()["traffics"] if r["email"] == c["email"]])
        n = core(p)["restarts"]
        r = api.delete(pid, proto, c)
        t.ok(r.get("success"), "%s %s: the client is deleted on the double" % (gen, proto), r)
        cs = settled(p, n)
        t.ok(cs["state"] == "running" and port_open(json.load(open(seed))[KINDS.index(proto)]["port"]),
             "%s %s: v2ray restarted, the inbound still open for the other client" % (gen, proto), cs)
        got = fetch(socks, tok + "-after") if socks else "x"
        t.is_(got, "", "%s %s: the deleted client's link stops working" % (gen, proto))
        r = s.cli("test-link", str(iid), keep.get("id") or keep.get("password"), keep["email"], check=False)
        socks2, info = v2client(r.stdout.strip(), "--ca", CERT)
        t.is_(fetch(socks2, tok + "-keep") if socks2 else "", "through /%s-keep" % tok,
              "%s %s: the other client of the inbound still works" % (gen, proto))
    if gen == "classic":
        # -- only what a real core would serve: quota, expiry, xray stop --
        iid, pid = ibs["vmess"]
        vm_port = json.load(open(seed))[0]["port"]

        def serving(c, what):
            """Add c, settle, and return a SOCKS port whose link works."""
            n = core(p)["restarts"]
            api.add(pid, c)
            settled(p, n)
            link = s.cli("test-link", str(iid), c["id"], c["email"]).stdout.strip()
            port, _ = v2client(link)
            t.is_(fetch(port, what) if port else "", "through /" + what, "classic: %s works at first" % what)
            return port
        q = new_client("vmess", "quota-classic", ss_method)
        q["totalGB"] = 1 << 20
        qport = serving(q, "quota")
        n = core(p)["restarts"]
        t.ok(p.control("traffic", email=q["email"], up=0, down=2 << 20).get("ok"), "classic: 2 MiB used of 1 MiB")
        settled(p, n)
        t.is_(fetch(qport, "quota-over") if qport else "x", "",
              "classic: a client over its quota is no longer served (v2ray restarted without it)")
        e = new_client("vmess", "expiry-classic", ss_method)
        e["expiryTime"] = int((s.now() + 3600) * 1000)
        eport = serving(e, "expiry")
        n = core(p)["restarts"]
        s.advance(7200)
        settled(p, n)
        t.is_(fetch(eport, "expiry-after") if eport else "x", "",
              "classic: past its expiry on the test clock, the client is no longer served")
        keep = new_client("vmess", "keep-xray-classic", ss_method)
        kport = serving(keep, "keep-xray")
        r = api.call("POST", "panel/api/server/stopXrayService")
        t.ok(r.get("success") and wait_for(lambda: core(p)["state"] == "stop" and not port_open(vm_port), 10),
             "classic: stopXrayService stops v2ray, its ports close", core(p))
        st = status(sid)
        t.is_(st.get("xray"), "stop", "classic: server/status says xray stop")
        r = api.call("POST", "panel/api/server/restartXrayService")
        t.ok(r.get("success") and wait_for(lambda: core(p)["state"] == "running" and port_open(vm_port), 15),
             "classic: restartXrayService starts it again", core(p))
        t.is_(fetch(kport, "keep-again") if kport else "", "through /keep-again",
              "classic: and the client's link works again")
    for x in clients_run:
        terminate(x, 5)
    clients_run.clear()

# -- a link v2ray 4.34 cannot dial is refused by the helper, naming why --
r = subprocess.run([sys.executable, os.path.join(HERE, "lib", "v2client.py"),
                    "vless://%s@127.0.0.1:443?security=reality&type=tcp&flow=xtls-rprx-vision#x" % uuid.uuid4()],
                   capture_output=True, text=True)
t.ok(r.returncode == 2 and "flow" in r.stderr, "v2client.py refuses a vision/REALITY link, exit 2", r.stderr)

# -- xray state from the process; v2ray ends with the double --
p = doubles["classic"]
pid = core(p)["pid"]
os.kill(pid, 9)
t.ok(wait_for(lambda: core(p)["state"] == "error", 10), "v2ray killed: the double's core state is error", core(p))
st = status(1)
t.ok(st.get("xray") == "error", "server test reads xray error from server/status", st)
p2 = doubles["current"]
pid2 = core(p2)["pid"]
p2.p.kill()
p2.p.wait()
t.ok(wait_for(lambda: not os.path.exists("/proc/%d" % pid2) or
              open("/proc/%d/stat" % pid2).read().split()[2] == "Z", 10),
     "a SIGKILLed double takes its v2ray with it")
pid1 = core(p)["pid"]
p.stop()
t.ok(not os.path.exists("/proc/%d/cmdline" % pid) and
     wait_for(lambda: pid1 == 0 or not os.path.exists("/proc/%d" % pid1), 10),
     "a stopped double stops its v2ray")
web.shutdown()
t.done()
