#!/usr/bin/env python3
"""The customer's proxies (issue 12): /services, /services/{id}, the
subscription URL /sub/{token} in its four formats, the API, and the
buttons (regenerate, auto-renew, new subscription URL), against clients
inserted with SQL as the provisioning job leaves them (t/lib/pxsvc.py).

- the pages show protocol, location, state, expiry, traffic used of the
  limit (a bar without script), online, last sync; the share link as text
  and a QR code; items being set up and failed ones ("we are on it",
  never the panel's reason); another customer's client is a 404;
- the subscription's base64 decodes to exactly the links the pages show
  (one of them also derived here by hand from the contract), Clash Meta
  YAML and sing-box JSON parse and carry the same servers, the headers
  client apps read are there, and suspended, expired, deleted and
  past-expiry clients are absent; a wrong token is a plain 404; the
  token never reaches the log; the route is rate-limited;
- regenerate and auto-renew are CSRF-checked POSTs, audited, one job per
  regeneration, "regenerating" until it lands; a new subscription URL
  turns the old one into a 404;
- an inbound synced from the panel double (server_sync) gives the links
  the contract gives: vless with its encryption, SS-2022 with its key.
"""
import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from urllib.parse import urlencode
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from px import BIN, Stack  # noqa: E402
from pxmail import PanelDouble  # noqa: E402
import pxsvc  # noqa: E402
import tinyyaml  # noqa: E402

t = TAP()
RATE = 40
# No `work`: a regenerate job stays pending, as while its panel is slow.
s = Stack(workers=1, conf={"sub_cache_seconds": "2", "sub_rate_limit": str(RATE)}).start()
sql = s.sql
GiB = 1 << 30


def sha(x):
    return hashlib.sha256(x.encode()).digest()


class Who:
    """A signed-in customer: cookie and CSRF token (a session row, as t/80)."""

    def __init__(self, uid):
        self.cookie = secrets.token_hex(16)
        self.csrf = secrets.token_hex(16)
        sql("INSERT INTO sessions (token_hash, kind, customer_id, csrf_token, mfa_ok, expires_at) "
            "VALUES (?, 'customer', ?, ?, 1, unixepoch() + 3600)", (sha(self.cookie), uid, self.csrf))

    def get(self, path):
        return s.request("GET", path, headers={"Cookie": "px_c=%s" % self.cookie})

    def post(self, path, fields=None, csrf=True):
        f = dict(fields or {})
        if csrf:
            f["csrf"] = self.csrf
        return s.request("POST", path, headers={"Cookie": "px_c=%s" % self.cookie,
                                                "Content-Type": "application/x-www-form-urlencoded"},
                         body=urlencode(f))


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def unhtml(x):
    return x.replace("&amp;", "&").replace("&quot;", '"').replace("&#39;", "'").replace("&lt;", "<") \
        .replace("&gt;", ">").replace("&#x27;", "'").replace("&#34;", '"')


def link_of(page):
    m = re.search(r'<textarea id="share-link"[^>]*>([^<]*)</textarea>', page)
    return unhtml(m.group(1)) if m else None


for cid, email in ((1, "ann@example.com"), (2, "bob@example.com")):
    sql("INSERT INTO customers (id, email, name, password_hash, email_verified_at) VALUES (?, ?, 'N', 'x', "
        "unixepoch())", (cid, email))
ann, bob = Who(1), Who(2)
pxsvc.set_server(sql, 1, host="de1.example.net", version="v3.5.0")
srv = sql("SELECT country, city FROM servers WHERE id = 1")[0]
ib_vless = pxsvc.inbound(sql, 1, "vless", 443, pxsvc.VLESS_REALITY, remark="DE-1")
ib_vmess = pxsvc.inbound(sql, 1, "vmess", 8443, pxsvc.VMESS_WS_TLS, remark="DE-ws")
ib_trojan = pxsvc.inbound(sql, 1, "trojan", 2083, pxsvc.TROJAN_GRPC_TLS, remark="DE-tr")
ib_ss = pxsvc.inbound(sql, 1, "shadowsocks", 8388, pxsvc.SS_TCP, remark="DE-ss", method="aes-256-gcm")
ib_kcp = pxsvc.inbound(sql, 1, "vless", 9000, pxsvc.VLESS_KCP, remark="DE-kcp")

U1 = "b831381d-6324-4d53-ad4f-8cda48b30811"
c_vless, o_vless, i_vless = pxsvc.client(sql, 1, ib_vless, cred=U1, flow="xtls-rprx-vision",
                                         limit=10 * GiB, up=GiB // 2, down=2 * GiB, online=1)
c_vmess, _, _ = pxsvc.client(sql, 1, ib_vmess, panel_json=json.dumps({"security": "aes-128-gcm"}),
                             up=100, down=200)
c_trojan, _, _ = pxsvc.client(sql, 1, ib_trojan, cred="tr0janPass", up=1, down=2, limit=GiB)
c_ss, _, _ = pxsvc.client(sql, 1, ib_ss, cred="ssPassw0rd", synced=False)
c_kcp, _, _ = pxsvc.client(sql, 1, ib_kcp)
c_susp, _, _ = pxsvc.client(sql, 1, ib_vless, state="suspended", email="gone-suspended")
c_exp, _, _ = pxsvc.client(sql, 1, ib_vless, state="expired", email="gone-expired", expires_in=-86400)
c_del, _, _ = pxsvc.client(sql, 1, ib_vless, state="deleted", email="gone-deleted")
c_late, _, _ = pxsvc.client(sql, 1, ib_vless, email="gone-late", expires_in=-60)
c_bob, o_bob, _ = pxsvc.client(sql, 2, ib_vless, email="bobs-proxy")
pend_pub, _ = pxsvc.pending_item(sql, 1, state="provisioning")
fail_pub, _ = pxsvc.pending_item(sql, 1, state="failed")
ACTIVE = [c_vless, c_vmess, c_trojan, c_ss, c_kcp, c_late]	# c_late: active, past its expiry

# -- /services --
r = ann.get("/services")
t.is_(r.status, 200, "/services: 200")
html_ok(r, "/services")
page = r.text
t.ok(all('href="/services/%d"' % c in page for c in (c_vless, c_vmess, c_trojan, c_ss, c_susp, c_exp)),
     "/services lists active, suspended and expired clients with links to their pages")
t.ok('href="/services/%d"' % c_del not in page and 'href="/services/%d"' % c_bob not in page,
     "/services leaves out deleted clients and another customer's")
t.ok("2.5 GiB of 10.0 GiB (25%)" in page and re.search(r'<progress[^>]*max="100" value="25"', page),
     "/services: traffic used of the limit, with a <progress> bar that needs no script")
t.ok("online now" in page and ">suspended<" in page and ">expired<" in page,
     "/services: online state and the states")
t.ok("we are on it" in page and "being set up" in page and fail_pub in page and pend_pub in page,
     "/services: a failed item says \"we are on it\", a pending one \"being set up\"")
t.ok("panel said" not in page and "inbound 7" not in page, "/services never shows the panel's error text")
m = re.search(r'value="(http://[^"]+/sub/([A-Za-z0-9_-]{43}))"', page)
t.ok(m is not None, "/services shows the subscription URL (a 43-character token)")
sub_url, token = m.group(1), m.group(2)
t.ok(re.search(r'<img class="qr" src="data:image/svg\+xml;base64,', page),
     "/services: the subscription URL as a QR code (data: URI)")
t.ok('href="/services"' in ann.get("/account").text, "the account nav links /services")
t.is_(sql("SELECT gen, length(token_hash) FROM subscriptions WHERE customer_id = 1"), [(0, 32)],
      "the subscription row: gen 0, only a 32-byte hash stored")
t.is_(sql("SELECT count(*) FROM subscriptions WHERE token_hash = ?", (hashlib.sha256(token.encode()).digest(),))[0][0],
      1, "the stored hash is SHA-256 of the token")
t.ok(token in ann.get("/services").text, "the token is the same on every view (derived, not stored)")

# -- /services/{id} --
r = ann.get("/services/%d" % c_vless)
t.is_(r.status, 200, "/services/{id}: 200")
html_ok(r, "/services/{id}")
p = r.text
link_vless = link_of(p)
spx = "/" + hashlib.sha256(("/|sub%d" % i_vless).encode()).hexdigest()[:15]
want = ("vless://%s@de1.example.net:443?flow=xtls-rprx-vision&fp=chrome&pbk=PBK_abc&security=reality"
        "&sid=6ba85179e30d4fc2&sni=www.example.com&spx=%s&type=tcp#DE-1-px-%d"
        % (U1, spx.replace("/", "%2F"), i_vless))
t.is_(link_vless, want, "the vless reality link is the contract's (6.2), as derived here by hand")
t.ok('href="vless:' not in p and "#blocked-url" not in p, "the link is text, never an href")
t.ok(re.search(r'<img class="qr" id="share-qr" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', p),
     "/services/{id}: the link as a QR code")
svg = base64.b64decode(re.search(r'id="share-qr" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', p).group(1))
t.ok(svg.startswith(b"<svg") and b"<path" in svg, "the QR code is an SVG with the modules as a path")
t.ok(srv[0] in p and "vless" in p and "2.5 GiB of 10.0 GiB" in p and ">yes<" in p,
     "/services/{id}: location, protocol, traffic and online")
t.ok('action="/orders/%s/renew"' % o_vless in p and 'name="item" value="%d"' % i_vless in p,
     "/services/{id}: Renew posts to commerce's renewal of this item")
t.ok("old link and QR code stop working" in p, "/services/{id}: regenerating warns that old links stop working")
r = ann.get("/services/%d" % c_ss)
t.ok("never" in r.text, "a client never synced says so")
link_ss = link_of(r.text)
t.is_(link_ss, "ss://%s@de1.example.net:8388?type=tcp#DE-ss-px-%d" % (
    base64.urlsafe_b64encode(b"aes-256-gcm:ssPassw0rd").decode().rstrip("="),
    sql("SELECT order_item_id FROM provisioned_clients WHERE id = ?", (c_ss,))[0][0]),
    "the shadowsocks link is the contract's (6.4, RawURLEncoding from v3.2)")
t.is_(ann.get("/services/%d" % c_bob).status, 404, "another customer's client: 404")
t.is_(ann.get("/services/999999").status, 404, "no such client: 404")
t.is_(bob.get("/services/%d" % c_vless).status, 404, "and the other way round")
links = {}
for c in ACTIVE:
    links[c] = link_of(ann.get("/services/%d" % c).text)
t.ok(all(links.values()), "every active client's page shows a link")
order_page = ann.get("/orders/" + o_vless).text
t.ok('href="/services/%d"' % c_vless in order_page, "the order page links the item's proxy")

# -- /sub/{token}: base64 --
r = s.get("/sub/" + token)
t.is_(r.status, 200, "/sub/{token}: 200 without any session (the token is the credential)")
body = base64.b64decode(r.body).decode()
now_active = [c for c in ACTIVE if c != c_late]
t.is_(body, "\n".join(links[c] for c in now_active),
      "base64 decodes to exactly the active clients' links, as the pages show them, in order")
t.ok(all(x not in body for x in ("gone-suspended", "gone-expired", "gone-deleted", "gone-late", "bobs-proxy")),
     "suspended, expired, deleted, past-expiry and another customer's clients are absent")
up, down, lim, exp = sql("SELECT sum(up_bytes), sum(down_bytes), CASE WHEN min(traffic_limit_bytes) = 0 THEN 0 "
                         "ELSE sum(traffic_limit_bytes) END, min(expires_at) FROM provisioned_clients "
                         "WHERE id IN (%s)" % ",".join(map(str, now_active)))[0]
t.is_(r.header("subscription-userinfo"), "upload=%d; download=%d; total=%d; expire=%d" % (up, down, lim, exp),
      "Subscription-Userinfo: upload, download, total (0: one is unlimited), expire")
t.is_(r.header("profile-update-interval"), "12", "Profile-Update-Interval: sub_update_hours")
title = r.header("profile-title") or ""
t.ok(title.startswith("base64:") and base64.b64decode(title[7:]).decode() in page,
     "Profile-Title: base64: of the shop's name", title)
t.is_(r.header("content-disposition"), 'attachment; filename="proxies.txt"', "Content-Disposition")
t.is_(r.header("cache-control"), "no-store", "Cache-Control: no-store")
t.ok((r.header("content-type") or "").startswith("text/plain"), "base64 is text/plain")

# -- the structured formats --
yml = s.get("/sub/%s?format=clash" % token)
t.ok((yml.header("content-type") or "").startswith("text/yaml"), "?format=clash: text/yaml")
try:
    y = tinyyaml.load(yml.text)
    t.ok(isinstance(y, dict) and isinstance(y.get("proxies"), list), "the Clash Meta YAML parses")
except ValueError as e:
    y = {"proxies": []}
    t.ok(False, "the Clash Meta YAML parses", str(e))
sb = s.get("/sub/%s?format=singbox" % token)
try:
    j = json.loads(sb.body)
    t.ok(isinstance(j.get("outbounds"), list), "the sing-box JSON parses")
except ValueError as e:
    j = {"outbounds": []}
    t.ok(False, "the sing-box JSON parses", str(e))
TYPES = {"ss": "shadowsocks"}
cl = sorted((TYPES.get(p["type"], p["type"]), p["server"], p["port"], p["name"]) for p in y["proxies"])
sbx = sorted((o["type"], o["server"], o["server_port"], o["tag"]) for o in j["outbounds"]
             if o["type"] not in ("selector", "direct"))
t.is_(cl, sbx, "Clash and sing-box carry the same servers (type, server, port, name)")
t.is_(len(cl), len(now_active) - 1, "both leave out only the kcp client, which neither can carry")
vl = [p for p in y["proxies"] if p["type"] == "vless"][0]
t.ok(vl["uuid"] == U1 and vl["reality-opts"]["public-key"] == "PBK_abc" and vl["flow"] == "xtls-rprx-vision"
     and vl["servername"] == "www.example.com", "the Clash vless proxy carries uuid, flow, reality")
vm = [o for o in j["outbounds"] if o["type"] == "vmess"][0]
t.ok(vm["security"] == "aes-128-gcm" and vm["transport"] == {"type": "ws", "path": "/ws?ed=2048",
                                                               "headers": {"Host": "cdn.example.net"}},
     "the sing-box vmess outbound: the client's scy from the panel, ws path and Host")
t.ok(y["proxy-groups"][0]["proxies"][:-1] == [p["name"] for p in y["proxies"]] and
     y["rules"] == ["MATCH,Proxy"], "the Clash selector lists every proxy; one MATCH rule")
v2 = s.get("/sub/%s?format=v2ray" % token)
v2j = json.loads(v2.body)
t.is_(len([o for o in v2j["outbounds"] if o["protocol"] != "freedom"]), len(now_active),
      "?format=v2ray: an outbound for every active client (kcp too)")
t.ok(v2.header("content-disposition") == 'attachment; filename="proxies-v2ray.json"' and
     v2.header("subscription-userinfo") == r.header("subscription-userinfo"), "headers on every format")
for ua, kind in (("ClashMetaForAndroid/2.8.9.Meta", "clash"), ("mihomo/1.18.1", "clash"), ("Stash/2.4.7", "clash"),
                 ("SFA/1.8.0 (Android 14)", "singbox"), ("sing-box 1.9.0", "singbox"), ("v2rayNG/1.8.5", "base64")):
    rr = s.get("/sub/" + token, headers={"User-Agent": ua})
    got = "clash" if rr.text.startswith("mixed-port") else "singbox" if rr.text.startswith("{") else "base64"
    t.is_(got, kind, "User-Agent %s gets %s" % (ua, kind))
rr = s.get("/sub/%s?format=clash" % token, headers={"User-Agent": "SFA/1.8.0"})
t.ok(rr.text.startswith("mixed-port"), "?format= wins over the User-Agent")
rr = s.get("/sub/%s?format=yaml" % token)
t.is_(rr.status, 400, "an unknown ?format=: 400")

# -- wrong tokens, the log --
for bad in ("q" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 20):
    rr = s.get("/sub/" + bad)
    t.ok(rr.status == 404 and rr.body == b"Not found.\n" and rr.header("subscription-userinfo") is None,
         "a wrong token (%d chars): a plain 404 with no hint" % len(bad), (rr.status, rr.body[:80]))
t.is_(s.get("/sub/short").status, 404, "a malformed token: 404")
time.sleep(0.3)
log = [x for x in s.log_lines() if x.get("path", "").startswith("/sub/")]
t.ok(log and all(token not in json.dumps(x) for x in s.log_lines()) and
     any(x["path"] == "/sub/%s..." % token[:4] for x in log),
     "the request log shows /sub/ with the token cut to 4 characters, never whole")
t.ok(any(x.get("cache") == "hit" for x in log), "a repeated fetch within sub_cache_seconds is served from the cache")
with open(os.path.join(s.dir, "nginx-access.log")) as f:
    alog = f.read()
t.ok(token not in alog and ("GET /sub/%s... HTTP" % token[:4]) in alog,
     "nginx's access log cuts the token to 4 characters too (etc/nginx's px_masked format)")

# -- state changes reach the subscription once the cache has expired --
sql("UPDATE provisioned_clients SET state = 'suspended' WHERE id = ?", (c_trojan,))
time.sleep(2.2)
body = base64.b64decode(s.get("/sub/" + token).body).decode()
t.ok(links[c_trojan] not in body and links[c_vless] in body, "a client suspended later drops out of the subscription")
sql("UPDATE provisioned_clients SET state = 'active' WHERE id = ?", (c_trojan,))

# -- regenerate --
t.is_(ann.post("/services/%d/regenerate" % c_vless, csrf=False).status, 403, "regenerate without CSRF: 403")
t.is_(sql("SELECT count(*) FROM jobs WHERE kind = 'regenerate'")[0][0], 0, "and no job")
r = ann.post("/services/%d/regenerate" % c_vless)
t.ok(r.status == 303 and r.header("location") == "/services/%d" % c_vless, "regenerate: 303 to the page")
jobs = sql("SELECT kind, idem_key, payload, state, server_id FROM jobs WHERE kind = 'regenerate'")
t.is_(jobs, [("regenerate", "regenerate:client:%d:gen:1" % c_vless,
              '{"client":%d,"op":"gen:1"}' % c_vless, "pending", 1)],
      "one regenerate job through client_job_enqueue: op gen:<cred_gen + 1>, the panel's lane")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'service.regenerate' AND target = ?",
          ("client:%d" % c_vless,))[0][0], 1, "audited once")
p = ann.get("/services/%d" % c_vless).text
t.ok("Regenerating: a new link" in p and 'action="/services/%d/regenerate"' % c_vless not in p,
     "the page says regenerating and offers no second button")
t.ok("regenerating link" in ann.get("/services").text, "and so does the list")
r = ann.post("/services/%d/regenerate" % c_vless)
t.ok(r.status == 303 and sql("SELECT count(*) FROM jobs WHERE kind = 'regenerate'")[0][0] == 1,
     "a second press is the same job: nothing new")
U2 = "0f8e4e6a-1111-4222-8333-944455556666"
sql("UPDATE provisioned_clients SET cred_gen = 1, client_uuid = ? WHERE id = ?", (U2, c_vless))
sql("UPDATE jobs SET state = 'done' WHERE kind = 'regenerate'")
p = ann.get("/services/%d" % c_vless).text
t.ok("Regenerating: a new link" not in p and U2 in link_of(p) and U1 not in p,
     "when the job has landed: the new link", p[-3000:])
t.is_(ann.post("/services/%d/regenerate" % c_exp).status, 409, "an expired client cannot be regenerated: 409")
t.is_(ann.post("/services/%d/regenerate" % c_bob).status, 404, "another customer's: 404")

# -- auto-renew --
t.is_(ann.post("/services/%d/auto-renew" % c_vmess, {"on": "1"}, csrf=False).status, 403,
      "auto-renew without CSRF: 403")
r = ann.post("/services/%d/auto-renew" % c_vmess, {"on": "1"})
t.ok(r.status == 303 and sql("SELECT auto_renew FROM provisioned_clients WHERE id = ?", (c_vmess,))[0][0] == 1,
     "auto-renew on: 303, stored")
t.ok("Auto-renew is on" in ann.get(r.header("location")).text, "the page says so")
ann.post("/services/%d/auto-renew" % c_vmess, {"on": "0"})
t.is_(sql("SELECT auto_renew FROM provisioned_clients WHERE id = ?", (c_vmess,))[0][0], 0, "and off again")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'service.auto_renew' AND target = ?",
          ("client:%d" % c_vmess,))[0][0], 2, "each change audited")
t.is_(ann.post("/services/%d/auto-renew" % c_vmess, {"on": "7"}).status, 400, "on=7: 400")
t.is_(ann.post("/services/%d/auto-renew" % c_bob, {"on": "1"}).status, 404, "another customer's: 404")
t.is_(sql("SELECT auto_renew FROM provisioned_clients WHERE id = ?", (c_bob,))[0][0], 0, "and unchanged")

# -- the API --
tok = "pxt_" + secrets.token_urlsafe(24)
sql("INSERT INTO api_tokens (token_hash, prefix, name, customer_id, scopes) VALUES (?, ?, 't', 1, 'read')",
    (sha(tok), tok[:8]))
api = {"Authorization": "Bearer " + tok}
r = s.get("/api/v1/services", headers=api)
t.is_(r.status, 200, "GET /api/v1/services: 200")
a = r.json()
t.is_(sorted(x["id"] for x in a["services"]), sorted([c_vless, c_vmess, c_trojan, c_ss, c_kcp, c_susp, c_exp, c_late]),
      "the API lists what /services lists")
t.is_(a["subscription_url"], sub_url, "with the subscription URL")
one = s.get("/api/v1/services/%d" % c_ss, headers=api).json()
t.ok(one["link"] == link_ss and one["protocol"] == "shadowsocks" and one["state"] == "active" and
     one["traffic"]["limit"] == 0 and one["last_synced_at"] is None and one["subscription_url"] == sub_url,
     "GET /api/v1/services/{id}: the link, state, traffic, subscription URL")
rr = s.get("/api/v1/services/%d" % c_bob, headers=api)
t.ok(rr.status == 404 and rr.json()["error"]["code"] == "not_found", "another customer's over the API: 404")
t.is_(s.get("/api/v1/services").status, 401, "no token: 401")

# -- a new subscription URL --
t.is_(ann.post("/services/subscription", csrf=False).status, 403, "new subscription URL without CSRF: 403")
r = ann.post("/services/subscription")
t.ok(r.status == 303 and r.header("location").startswith("/services?ok=subscription"), "new subscription URL: 303")
new = re.search(r"/sub/([A-Za-z0-9_-]{43})", ann.get("/services?ok=subscription").text).group(1)
t.ok(new != token, "a different token")
t.is_(s.get("/sub/" + token).status, 404, "the old URL is a 404 at once (the cache does not keep it alive)")
t.is_(s.get("/sub/" + new).status, 200, "the new one works")
t.is_(sql("SELECT gen FROM subscriptions WHERE customer_id = 1")[0][0], 1, "gen 1")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'subscription.regenerate'")[0][0], 1, "audited")
t.ok(sql("SELECT last_used_at FROM subscriptions WHERE customer_id = 1")[0][0] is not None, "last_used_at kept")

# -- from a panel's inbounds to the link: what server_sync stores is what
# the links need (vless encryption, the SS-2022 inbound key) --
seed = os.path.join(s.dir, "inbounds.json")
with open(seed, "w") as f:
    json.dump([{"protocol": "vless", "port": 443, "remark": "pv",
                "settings": {"clients": [], "decryption": "none", "encryption": "none"},
                "streamSettings": {"network": "ws", "security": "none", "wsSettings": {"path": "/v"}}},
               {"protocol": "shadowsocks", "port": 8388, "remark": "p22"}], f)
panel = PanelDouble(s, "panel", "--gen", "current", "--csrf", "--inbounds", seed)
work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=subprocess.DEVNULL,
                        stderr=open(os.path.join(s.dir, "work.stderr"), "ab"))
sid = int(s.cli("server", "add", "--name", "pd", "--country-code", "NL", "--country", "Netherlands", "--url",
                panel.url, "--user", panel.user, "--host", "nl1.example.net", input=panel.password + "\n").stdout)
rs = s.cli("server", "sync", str(sid), check=False)
t.ok(rs.returncode == 0, "the panel's inbounds synced", rs.stdout + rs.stderr)
ss_key = [i for i in panel.state()["inbounds"] if i["protocol"] == "shadowsocks"][0]["settings"]["password"]
pib = dict(sql("SELECT protocol, id FROM server_inbounds WHERE server_id = ?", (sid,)))
c_pv, _, i_pv = pxsvc.client(sql, 2, pib["vless"], cred=U1, email="pv-bob")
c_p22, _, _ = pxsvc.client(sql, 2, pib["shadowsocks"], cred="Y2xpZW50a2V5MTIzNDU2Nw==", email="p22-bob")
t.is_(link_of(bob.get("/services/%d" % c_pv).text),
      "vless://%s@nl1.example.net:443?encryption=none&path=%%2Fv&security=none&type=ws#pv-pv-bob" % U1,
      "a synced vless inbound's link carries the panel's encryption=none (6.2)")
t.is_(link_of(bob.get("/services/%d" % c_p22).text),
      "ss://2022-blake3-aes-128-gcm:%s:Y2xpZW50a2V5MTIzNDU2Nw%%3D%%3D@nl1.example.net:8388?type=tcp#p22-p22-bob"
      % ss_key.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"),
      "a synced SS-2022 inbound's link carries its key (6.4, SIP022 from v3.4)")
work.terminate()
work.wait(10)
panel.stop()

# -- rate limit (last: it holds for the rest of the minute) --
codes = [s.get("/sub/" + new).status for _ in range(RATE + 5)]
t.ok(429 in codes and codes.count(200) <= RATE, "past sub_rate_limit a minute: 429", codes)
rr = s.get("/sub/" + new)
t.ok(rr.status == 429 and int(rr.header("retry-after") or 0) > 0, "with Retry-After")
misses = [s.get("/sub/" + secrets.token_urlsafe(32)).status for _ in range(RATE + 5)]
t.ok(misses.count(429) > 0 and set(misses) <= {404, 429}, "guessing tokens meets the same limit", misses[-5:])
s.check_sanitizers(t)
t.done()
