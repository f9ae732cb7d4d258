"""pxprov.py: helpers for the provisioning tests (t/89, t/90): panels of
the double registered through `1000proxy server add` and synced, plans
bound to an inbound or a pool, customers with funded wallets who buy
through the web (pxweb's Client), and the credentials the shop derives
(xui_client.h), computed here apart from the C code."""
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import time

from px import BIN, wait_for
from pxmail import PanelDouble
from pxweb import Client


def panel(s, name, gen, *inbounds, extra=(), persist=True):
    """A panel double of generation gen ("classic"/"current") with inbounds
    like "vless:20001:remark"; with persist its state is kept in a file
    (a restart with restart() keeps the clients; the double rewrites it
    after every change)."""
    args = ["--gen", gen]
    for ib in inbounds:
        args += ["--inbound", ib]
    if persist:
        args += ["--state", os.path.join(s.dir, name + ".state.json")]
    p = PanelDouble(s, name, *(args + list(extra)))
    p.name, p.args = name, args + list(extra)
    return p


def restart(s, p):
    """Start the double again from its state file (a new port): the
    caller points the server row at p.url."""
    p.stop()
    q = PanelDouble(s, p.name + "-again", *p.args)
    q.name, q.args = p.name, p.args
    return q


def server(s, p, name, cc="DE", extra=()):
    """A servers row for panel p (`server add`, the password on stdin),
    its inbounds synced (`server sync`, which waits for work)."""
    r = s.cli("server", "add", "--name", name, "--country-code", cc, "--country", "Land " + cc,
              "--url", p.url, "--user", p.user, "--host", "127.0.0.1", *extra, input=p.password + "\n")
    sid = int(r.stdout)
    r = s.cli("server", "sync", str(sid), check=False)
    if r.returncode != 0:
        raise RuntimeError("server sync %d: %s %s" % (sid, r.stdout, r.stderr))
    return sid


def inbounds(s, sid):
    """{protocol: (server_inbounds.id, panel inbound id)} of a server."""
    return {proto: (iid, pid) for iid, pid, proto in s.sql(
        "SELECT id, panel_inbound_id, protocol FROM server_inbounds WHERE server_id = ? ORDER BY id", (sid,))}


def plan(s, slug, protocol, inbound=None, server=None, country=None, category=None, days=30,
         traffic=50 << 30, devices=2, price=500):
    s.sql("INSERT INTO plans (slug, name, protocol, server_id, inbound_id, category_id, country_code, "
          "price_minor, currency, duration_days, traffic_bytes, device_limit) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'USD', ?, ?, ?)",
          (slug, "Plan " + slug, protocol, server, inbound, category, country, price, days, traffic, devices))
    return s.sql("SELECT id FROM plans WHERE slug = ?", (slug,))[0][0]


def customer(s, n, funds=10000000):
    """A signed-in customer with a funded wallet: (Client, customer id)."""
    addr = "buyer%s@example.com" % n
    pw = "provision buyer pass %s" % n
    c = Client(s, "px-test buyer %s" % n)
    c.post("/register", {"email": addr, "name": "Buyer %s" % n, "password": pw, "terms": "1"})
    for _ in range(10):
        # Password hashing is limited to two at a time across the pool:
        # a busy pool answers 200 "try again".
        r = c.post("/login", {"email": addr, "password": pw})
        if r.status == 303:
            break
        time.sleep(0.3)
    if r.status != 303:
        raise RuntimeError("buyer %s could not sign in: %s" % (n, r.status))
    cid = s.sql("SELECT id FROM customers WHERE email = ?", (addr,))[0][0]
    p = subprocess.run([BIN, "-c", s.conf, "test-commerce", "wallet", str(cid), str(funds), "topup",
                        "fund-%d" % cid], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("funding buyer %s: %s" % (n, p.stderr))
    return c, cid


def buy(c, *slugs, qty=1):
    """Put the plans in the cart and pay: the order's public id, or None."""
    for slug in slugs:
        c.post("/cart/add", {"plan": slug, "qty": str(qty)}, page="/cart/add?plan=" + slug)
    r = c.checkout()
    loc = r.header("location") or ""
    return loc.split("/")[-1].split("?")[0] if r.status == 303 and "/orders/" in loc else None


def renew(c, order, item):
    """Renew item of order (the order page's Renew, then checkout)."""
    c.post("/orders/%s/renew" % order, {"item": str(item)}, page="/orders/" + order)
    r = c.checkout()
    loc = r.header("location") or ""
    return loc.split("/")[-1].split("?")[0] if r.status == 303 and "/orders/" in loc else None


def order_state(s, pub):
    rows = s.sql("SELECT state FROM orders WHERE public_id = ?", (pub,))
    return rows[0][0] if rows else None


def wait_order(s, pub, timeout=60, states=("active", "failed")):
    wait_for(lambda: order_state(s, pub) in states, timeout, 0.1)
    return order_state(s, pub)


def items(s, pub):
    return [r[0] for r in s.sql("SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id "
                                "WHERE o.public_id = ? ORDER BY i.id", (pub,))]


def client_row(s, item):
    rows = s.sql("SELECT c.id, c.email, c.client_uuid, c.sub_id, c.expires_at, c.traffic_limit_bytes, "
                 "c.limit_ip, c.panel_enable, c.state, c.server_id, si.panel_inbound_id, si.protocol, "
                 "c.panel_json FROM provisioned_clients c JOIN server_inbounds si ON si.id = c.inbound_id "
                 "WHERE c.order_item_id = ?", (item,))
    if not rows:
        return None
    keys = ("id", "email", "cred", "sub_id", "expires_at", "traffic", "limit_ip", "panel_enable", "state",
            "server", "panel_inbound", "protocol", "panel_json")
    return dict(zip(keys, rows[0]))


def on_panel(p, email):
    """[(inbound id, client object)] of email on the double's inbounds, and
    its v3 client record (None when absent)."""
    st = p.state()
    found = [(ib["id"], c) for ib in st["inbounds"] for c in (ib["settings"].get("clients") or [])
             if c.get("email", "").lower() == email.lower()]
    rec = [r for r in st["clients"] if r.get("email", "").lower() == email.lower()]
    return found, (rec[0] if rec else None)


def derived(key_file, item, gen, protocol, method=None):
    """client_cred() of xui_client.c: HKDF-SHA256 (no salt) of the key file's
    key with info "1000proxy client cred v1", then HMAC-SHA256 of
    "cred:ITEM:GEN"."""
    key = open(key_file, "rb").read()
    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()
    sub = hmac.new(prk, b"1000proxy client cred v1\x01", hashlib.sha256).digest()
    m = bytearray(hmac.new(sub, ("cred:%d:%d" % (item, gen)).encode(), hashlib.sha256).digest())
    if protocol in ("vless", "vmess"):
        m[6] = (m[6] & 0x0F) | 0x40
        m[8] = (m[8] & 0x3F) | 0x80
        h = bytes(m[:16]).hex()
        return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
    if protocol == "shadowsocks" and method and method.startswith("2022-"):
        return base64.b64encode(bytes(m[:16 if "128" in method else 32])).decode()
    return bytes(m[:16]).hex()


def xui(s, p, gen, *args):
    """`1000proxy test-xui` against panel p: the JSON it prints."""
    r = subprocess.run([BIN, "-c", s.conf, "test-xui", p.url, p.user, p.password, gen] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=60)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"rc": None, "stdout": r.stdout, "stderr": r.stderr}


def calls(p, sub):
    """API calls the double served whose route contains sub."""
    return sum(n for k, n in (p.stats().get("calls") or {}).items() if sub in k)


def now_ms():
    return int(time.time() * 1000)


def uuid_ok(u):
    return re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", u or "") is not None
