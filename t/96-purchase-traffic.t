#!/usr/bin/env python3
"""A purchase carries traffic, end to end (issue 12, "Tests must show": a
link and the subscription, turned into a v2ray 4.34 client config,
carry an HTTP request through the demo's v2ray server).  The shop with
`work` and a panel double driving Debian's v2ray (paneld.py --core)
with a VMess-over-ws inbound, synced through the CLI: a customer buys
the plan from the wallet, `work` provisions the client on the panel,
the share link is read from the customer's /services page, and the
subscription URL from the same page.  Then, each through its own v2ray
client to a local HTTP server: the link (t/lib/v2client.py, the
README's helper), and the first outbound of the subscription's
?format=v2ray body (the shop's own v2ray JSON, run as it is written).
The base64 subscription decodes to the page's link.  After staff
suspend the client (the panel disables it) neither carries traffic.
Without v2ray the test is a loud skip, and under CI=true a failure."""
import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, free_port, wait_for  # noqa: E402
from pxweb import Shop  # noqa: E402
import pxprov as pv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
t = TAP()
V2RAY = os.environ.get("PX_V2RAY") or shutil.which("v2ray") or "/usr/bin/v2ray"
if not os.access(V2RAY, os.X_OK) or not shutil.which("curl"):
    t.skip_all("PURCHASE TRAFFIC NOT TESTED: no v2ray or curl (Debian 12: apt-get install v2ray curl; "
               "./quickstart installs them)")


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

s = Shop(workers=2, tls=True, conf={"work_runners": "2", "panel_timeout": "10", "smtp_timeout": "10"}).start()
seed = os.path.join(s.dir, "inbounds.json")
with open(seed, "w") as f:
    json.dump([{"protocol": "vmess", "port": free_port(), "remark": "e2e-vmess-ws",
                "streamSettings": {"network": "ws", "security": "none",
                                   "wsSettings": {"path": "/vmess", "headers": {}}}}], f)
panel = pv.panel(s, "live", "classic", extra=("--inbounds", seed, "--core", V2RAY,
                                               "--core-dir", os.path.join(s.dir, "core")), persist=False)
sid = pv.server(s, panel, "live-1")
ib = pv.inbounds(s, sid)["vmess"][0]
pv.plan(s, "vmess-live", "vmess", inbound=ib, price=300)

c, cid = pv.customer(s, 1)
order = pv.buy(c, "vmess-live")
t.ok(order is not None, "the customer pays from the wallet", order)
t.is_(pv.wait_order(s, order, 60), "active", "work provisions it: the order is active")
row = pv.client_row(s, pv.items(s, order)[0]) or {}
t.is_(row.get("state"), "active", "the client is active in the shop")

page = c.get("/services/%d" % row.get("id", 0))
text = html.unescape(page.text)
links = re.findall(r"vmess://[A-Za-z0-9+/=_-]+", text)
subs = re.findall(r'id="sub-url"[^>]*value="([^"]+)"', c.get("/services").text)
t.ok(page.status == 200 and links, "the customer's service page shows the share link", page.status)
t.ok(subs, "and the subscription URL")
link = links[0] if links else ""
sub_path = "/sub/" + subs[0].split("/sub/")[1] if subs else "/sub/none"

clients = []


def core():
    with urllib.request.urlopen(panel.url + "_double/core", timeout=10) as r:
        return json.loads(r.read())


def port_open(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def run_client(cfg_text, name):
    """v2ray with this client config; its SOCKS port, or None."""
    path = os.path.join(s.dir, name + ".json")
    with open(path, "w") as f:
        f.write(cfg_text)
    log = open(path + ".log", "wb")
    p = subprocess.Popen([V2RAY, "-config", path], stdout=log, stderr=subprocess.STDOUT)
    clients.append(p)
    port = json.loads(cfg_text)["inbounds"][0]["port"]
    if not wait_for(lambda: port_open(port) or p.poll() is not None, 10) or p.poll() is not None:
        t.diag(open(path + ".log").read()[-2000:])
        return None
    return port


def fetch(socks, what):
    r = subprocess.run(["curl", "-s", "--max-time", "6", "--socks5", "127.0.0.1:%d" % socks, WEB + "/" + what],
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else ""


# v2ray serves what the panel holds once the double has restarted it.
wait_for(lambda: core()["pending"] is False and core()["state"] == "running", 20)

# -- the link --
port = free_port()
r = subprocess.run([sys.executable, os.path.join(HERE, "lib", "v2client.py"), "--socks", str(port), link],
                   capture_output=True, text=True)
t.ok(r.returncode == 0, "v2client.py turns the link into a v2ray client config", r.stderr)
lsocks = run_client(r.stdout, "from-link") if r.returncode == 0 else None
t.is_(fetch(lsocks, "link") if lsocks else "", "through /link",
      "an HTTP request goes through the purchased proxy, from its link")

# -- the subscription --
b64 = c.get(sub_path)
t.is_(base64.b64decode(b64.body).decode() if b64.status == 200 else "", link,
      "the base64 subscription decodes to the page's link")
v2 = c.get(sub_path + "?format=v2ray")
try:
    outs = [o for o in json.loads(v2.body)["outbounds"] if o.get("protocol") == "vmess"]
except (ValueError, KeyError, TypeError):
    outs = []
t.ok(len(outs) == 1, "?format=v2ray has the one vmess outbound", v2.body[:500])
sport = free_port()
cfg = {"log": {"loglevel": "warning"},
       "inbounds": [{"listen": "127.0.0.1", "port": sport, "protocol": "socks", "settings": {"udp": False}}],
       "outbounds": outs[:1]}
ssocks = run_client(json.dumps(cfg), "from-sub") if outs else None
t.is_(fetch(ssocks, "sub") if ssocks else "", "through /sub",
      "and through the subscription's own v2ray outbound, as the shop wrote it")

# -- suspended: the panel disables the client, v2ray stops serving it --
s.sql("INSERT INTO jobs (kind, idem_key, payload, server_id) VALUES ('suspend', ?, ?, ?)",
      ("suspend:client:%d:staff:1" % row["id"], json.dumps({"client": row["id"], "op": "staff:1"}), sid))
t.ok(wait_for(lambda: s.sql("SELECT state FROM provisioned_clients WHERE id = ?", (row["id"],))[0][0]
              == "suspended", 30), "work suspends the client on the panel")
wait_for(lambda: core()["pending"] is False, 20)
t.is_(fetch(lsocks, "after") if lsocks else "x", "", "the link no longer carries traffic")
t.is_(fetch(ssocks, "after") if ssocks else "x", "", "nor the subscription's outbound")
t.is_(c.get(sub_path + "?format=v2ray").status, 200, "the subscription still answers")


def vmess_outbounds():
    return [o for o in json.loads(c.get(sub_path + "?format=v2ray").body).get("outbounds", [])
            if o.get("protocol") == "vmess"]


# (each worker keeps a body for sub_cache_seconds, 5 by default)
t.ok(wait_for(lambda: vmess_outbounds() == [], 12, 1), "without the suspended client, once its cache has passed")

for p in clients:
    p.terminate()
for p in clients:
    p.wait(5)
panel.stop()
web.shutdown()
s.check_sanitizers(t)
t.done()
