#!/usr/bin/env python3
"""The 3X-UI panel double (t/lib/paneld.py) speaks the contract
(../shared/contracts/3x-ui.md): driven over real HTTP on an ephemeral port
with urllib, in both generations (classic v2.8.11 and v3.0.2, current
v3.6.0), every request and response shape is checked against the
contract's text (the section is quoted in each check's name), and so are
session expiry, the quirks, persistence and every fault."""
import http.client
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, wait_for  # noqa: E402

t = TAP()
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
TMP = tempfile.mkdtemp(prefix="px87-")
DOUBLES = []
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class Panel:
    def __init__(self, name, *args, base="/"):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.args, self.base = list(args), base
        self.start()

    def start(self, *more):
        pf = os.path.join(self.dir, "port")
        if os.path.exists(pf):
            os.unlink(pf)
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "paneld.py"), "--port-file", pf,
                                   "--stats", os.path.join(self.dir, "stats.json"),
                                   "--events", os.path.join(self.dir, "events.log"), "--base", self.base,
                                   "--user", "admin", "--password", "pw"] + self.args + list(more))
        DOUBLES.append(self.p)
        if not wait_for(lambda: os.path.exists(pf) or self.p.poll() is not None, 10) or self.p.poll() is not None:
            t.bail("paneld did not start: %s" % self.args)
        self.root = "http://127.0.0.1:%d" % int(open(pf).read())
        self.url = self.root + self.base
        self.new_session()

    def stop(self):
        self.p.terminate()
        self.p.wait(10)

    def new_session(self):
        self.jar = http.cookiejar.CookieJar()
        self.op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.csrf = None

    def call(self, method, path, form=None, js=None, headers=None, raw=None, timeout=10, root=False):
        h = dict(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        elif js is not None:
            data = json.dumps(js).encode()
            h["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
        if method == "POST" and data is None:
            data = b""
        if self.csrf and "X-CSRF-Token" not in h and method == "POST":
            h["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request((self.root if root else self.url) + path, data=data, headers=h, method=method)
        try:
            with self.op.open(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def js(self, method, path, **kw):
        code, hdr, body = self.call(method, path, **kw)
        try:
            return code, json.loads(body)
        except ValueError:
            return code, body

    def login(self, csrf=False, password="pw"):
        if csrf:
            code, obj = self.js("GET", "csrf-token")
            self.csrf = obj["obj"]
        return self.call("POST", "login", form={"username": "admin", "password": password})

    def state(self):
        return json.loads(self.call("GET", "/_double/state", root=True)[2])

    def control(self, what, **body):
        return self.call("POST", "/_double/" + what, js=body, root=True)


def env_keys(obj):
    return isinstance(obj, dict) and list(obj.keys()) == ["success", "msg", "obj"]


def vless(email, cid=None, **kw):
    c = {"id": cid or "0b5c6f3e-1a2b-4c3d-8e9f-%012d" % (abs(hash(email)) % 10**12), "flow": "", "email": email,
         "limitIp": 0, "totalGB": 0, "expiryTime": 0, "enable": True, "tgId": 0, "subId": "sub" + email,
         "comment": "", "reset": 0}
    c.update(kw)
    return c


try:
    # ---------------- classic, v2.8.11 ----------------
    p = Panel("classic", "--inbound", "vless:443:DE-1", "--inbound", "trojan:8443:DE-2",
              "--inbound", "shadowsocks:8388:DE-3", base="/s3cr3tpath/")
    code, _, body = p.call("GET", "csrf-token")
    t.ok(code == 404, "§0 detection: GET {base}csrf-token is a 404 on v1.x/v2.x", code)
    code, hdr, body = p.call("GET", "panel/api/inbounds/list")
    t.ok(code == 404 and body == b"", "§1.3 v2.8.4 – v3.0.1: unauthenticated API call is 404, empty body", (code, body))
    code, hdr, body = p.call("GET", "panel/api/inbounds/list", headers={"X-Requested-With": "XMLHttpRequest"})
    t.ok(code == 404 and body == b"", "§1.3 v2.8.4 – v3.0.1: 404, empty body with X-Requested-With too", (code, body))
    code, _, body = p.call("GET", "login")
    code, obj = p.js("POST", "login", form={"username": "admin", "password": "nope"})
    t.ok(code == 200 and env_keys(obj) and obj["success"] is False and obj["obj"] is None and
         obj["msg"] == "Invalid username or password or two-factor code.",
         "§1.1: bad credentials: HTTP 200 {success:false, msg:'Invalid username or password or two-factor code.', obj:null}",
         obj)
    code, obj = p.js("POST", "login", form={"username": "", "password": "x"})
    t.is_(obj.get("msg"), "Username is required", "§1.1: empty username: `Username is required`")
    code, obj = p.js("POST", "login", form={"username": "admin", "password": ""})
    t.is_(obj.get("msg"), "Password is required", "§1.1: empty password: `Password is required`")
    code, obj = p.js("POST", "login", raw=b"{not json", headers={"Content-Type": "application/json"})
    t.is_(obj.get("msg"), "The Input data format is invalid.",
          "§1.1: bind failure: `The Input data format is invalid.` in v2.8.11")
    code, hdr, body = p.call("POST", "login", js={"username": "admin", "password": "pw", "twoFactorCode": ""})
    obj = json.loads(body)
    t.ok(code == 200 and obj == {"success": True, "msg": " You have successfully logged into your account.",
                                 "obj": None},
         "§1.1: JSON login works; in v2.6.0 – v3.0.2 the success string has a leading space", obj)
    ck = hdr.get("Set-Cookie") or ""
    t.ok(ck.startswith("3x-ui=") and "HttpOnly" in ck and "SameSite=Lax" in ck and "Max-Age=21600" in ck
         and "Path=/;" in ck, "§1.2 / §8.6: cookie `3x-ui`, HttpOnly, SameSite=Lax, Max-Age=sessionMaxAge*60 "
         "(21600), Path=/ up to v2.8.x", ck)
    p.new_session()
    code, hdr, body = p.login()
    t.ok(code == 200 and json.loads(body)["success"], "§4.1: the form login (what the panel UI sends) works")

    code, obj = p.js("GET", "panel/api/inbounds/list")
    t.ok(code == 200 and env_keys(obj) and obj["success"] and obj["msg"] == "" and len(obj["obj"]) == 3,
         "§2.0: envelope {success, msg, obj}, all three keys, HTTP 200; `list` gives the inbounds", obj)
    ib = obj["obj"][0]
    t.is_(list(ib.keys()), ["id", "up", "down", "total", "allTime", "remark", "enable", "expiryTime", "trafficReset",
                            "lastTrafficResetTime", "clientStats", "listen", "port", "protocol", "settings",
                            "streamSettings", "tag", "sniffing"],
          "§3.1 v2.8.11: Inbound JSON field order as Go emits it")
    t.ok(all(isinstance(ib[k], str) for k in ("settings", "streamSettings", "sniffing"))
         and json.loads(ib["settings"])["clients"] == [] and ib["tag"] == "inbound-443" and ib["remark"] == "DE-1",
         "§2.1: G2 settings, streamSettings and sniffing are JSON strings; tag `inbound-<port>`", ib)
    t.is_(json.loads(obj["obj"][2]["settings"]).get("method"), "2022-blake3-aes-128-gcm",
          "§3.1: shadowsocks settings {method, password (server key), network, clients, ivCheck}")

    alice = vless("alice", totalGB=10 * 1024 ** 3, expiryTime=1767225600000)
    code, obj = p.js("POST", "panel/api/inbounds/addClient",
                     form={"id": "1", "settings": json.dumps({"clients": [alice]})})
    t.ok(code == 200 and obj == {"success": True, "msg": "Inbound client(s) have been added.", "obj": None},
         "§2.1 addClient: form id=<inboundId>, settings={\"clients\":[…]}: obj null; msg "
         "\"Inbound client(s) have been added.\"", obj)
    code, obj = p.js("POST", "panel/api/inbounds/addClient",
                     js={"id": 1, "settings": json.dumps({"clients": [vless("bob", subId="subbob")]})})
    t.ok(obj.get("success") is True, "§4.1: the same body as JSON {\"id\":5,\"settings\":\"{…}\"} works", obj)
    code, obj = p.js("POST", "panel/api/inbounds/addClient",
                     form={"id": "1", "settings": json.dumps({"clients": [vless("ALICE", cid="x-1")]})})
    t.ok(obj == {"success": False, "msg": "Something went wrong (Duplicate email: ALICE\n)", "obj": None},
         "§4.1: duplicate email, case-insensitive, across all inbounds: "
         "\"Something went wrong (Duplicate email: bob\\n)\"", obj)
    code, obj = p.js("POST", "panel/api/inbounds/addClient",
                     js={"id": 1, "settings": {"clients": [vless("carol")]}})
    t.ok(obj.get("success") is False and obj["msg"].startswith(
        "Inbound has been successfully updated. (json: cannot unmarshal"),
        "§4.1: a JSON object in settings fails to bind: msg \"Inbound has been successfully updated. "
        "(json: cannot unmarshal …)\"", obj)
    code, hdr, body = p.call("POST", "panel/api/inbounds/addClient", form={"id": "1", "settings": "{}"})
    t.ok(code == 500 and body == b"", "§4.1: a settings string without clients panics: HTTP 500, empty body",
         (code, body))
    code, obj = p.js("POST", "panel/api/inbounds/addClient",
                     form={"id": "1", "settings": json.dumps({"clients": [dict(vless("dave"), id="")]})})
    t.is_(obj.get("msg"), "Something went wrong (empty client ID\n)",
          "§4.1: missing credential (id for vless): `empty client ID`")
    code, obj = p.js("POST", "panel/api/inbounds/addClient",
                     form={"id": "99", "settings": json.dumps({"clients": [vless("erin")]})})
    t.is_(obj.get("msg"), "Something went wrong (record not found)", "§4.1: unknown inbound id: `record not found`")

    code, obj = p.js("GET", "panel/api/inbounds/list")
    st = {s["email"]: s for s in obj["obj"][0]["clientStats"]}
    t.ok(set(st) == {"alice", "bob"} and st["alice"]["uuid"] == alice["id"] and st["alice"]["subId"] == "subalice"
         and st["alice"]["total"] == 10 * 1024 ** 3 and st["alice"]["expiryTime"] == 1767225600000,
         "§8.10 / §8.11: `list` has clientStats with uuid and subId filled in; traffic rows take total=totalGB, "
         "expiryTime", st)
    code, obj = p.js("GET", "panel/api/inbounds/get/1")
    t.ok(obj["success"] and obj["obj"]["clientStats"] is None and
         [c["email"] for c in json.loads(obj["obj"]["settings"])["clients"]] == ["alice", "bob"],
         "§2.1: `get/:id`: clientStats is not preloaded (null); clients live in the settings string", obj["obj"])
    code, obj = p.js("GET", "panel/api/inbounds/get/77")
    t.is_(obj, {"success": False, "msg": "Obtain (record not found)", "obj": None},
          "§2.0: gorm's not-found: \"Obtain (record not found)\"")
    code, obj = p.js("GET", "panel/api/inbounds/getClientTraffics/alice")
    tr = obj["obj"]
    t.is_(list(tr.keys()), ["id", "inboundId", "enable", "email", "uuid", "subId", "up", "down", "allTime",
                            "expiryTime", "total", "reset", "lastOnline"],
          "§5 v2.8.11: ClientTraffic fields")
    code, obj = p.js("GET", "panel/api/inbounds/getClientTraffics/nobody")
    t.is_(obj, {"success": False, "msg": "Error getting traffics. (Inbound Not Found For Email: nobody\n)",
                "obj": None}, "§2.1 / §8.17: getClientTraffics of an unknown email, v2.8.1 – v3.0.2: success:false")
    code, obj = p.js("GET", "panel/api/inbounds/getClientTrafficsById/" + alice["id"])
    t.ok(obj["success"] and [x["email"] for x in obj["obj"]] == ["alice"],
         "§2.1: getClientTrafficsById/:id (client UUID) gives []ClientTraffic", obj)

    p.control("traffic", email="alice", up=1000, down=5000)
    code, obj = p.js("GET", "panel/api/inbounds/getClientTraffics/alice")
    t.ok(obj["obj"]["up"] == 1000 and obj["obj"]["down"] == 5000 and obj["obj"]["lastOnline"] > 0,
         "§5: a traffic tick adds up (uplink) and down, sets lastOnline", obj["obj"])
    code, obj = p.js("POST", "panel/api/inbounds/onlines")
    t.is_(obj.get("obj"), ["alice"], "§2.1: POST onlines gives []email")
    code, obj = p.js("POST", "panel/api/inbounds/1/resetClientTraffic/alice")
    code, obj = p.js("GET", "panel/api/inbounds/getClientTraffics/alice")
    t.ok(obj["obj"]["up"] == 0 and obj["obj"]["down"] == 0 and obj["obj"]["enable"],
         "§2.1 / §8.22: /:id/resetClientTraffic/:email sets up=down=0 and enable=true", obj["obj"])
    new = dict(alice, totalGB=2000, enable=True, email="alice2")
    code, obj = p.js("POST", "panel/api/inbounds/updateClient/" + alice["id"],
                     form={"id": "1", "settings": json.dumps({"clients": [new]})})
    t.ok(obj == {"success": True, "msg": "Inbound client has been updated.", "obj": None},
         "§4.2: updateClient/:clientId (vless: the client id), same body as addClient: "
         "msg \"Inbound client has been updated.\"", obj)
    code, obj = p.js("GET", "panel/api/inbounds/getClientTraffics/alice2")
    t.ok(obj["success"] and obj["obj"]["total"] == 2000,
         "§4.2: the update replaces the client whole; a new email renames the traffic row, total from the body",
         obj)
    p.control("traffic", email="alice2", up=1500, down=600)
    tr = [x for x in p.state()["traffics"] if x["email"] == "alice2"][0]
    code, obj = p.js("GET", "panel/api/inbounds/getClientTraffics/alice2")
    t.ok(tr["enable"] is False and obj["obj"]["enable"] is True,
         "§5 / §8.21: over quota the traffic row gets enable=false; the settings JSON keeps true up to v2.9.3, "
         "and getClientTraffics shows the settings' enable (v2.8.1+)", (tr, obj["obj"]))
    code, obj = p.js("POST", "panel/api/inbounds/updateClient/no-such-id",
                     form={"id": "1", "settings": json.dumps({"clients": [vless("zed")]})})
    t.is_(obj.get("msg"), "Something went wrong (empty client ID\n)", "§4.2: updateClient with an unknown key: "
          "`empty client ID`")
    code, obj = p.js("POST", "panel/api/inbounds/1/delClient/no-such-id")
    t.ok(obj.get("success") is True and len(p.state()["traffics"]) == 2,
         "§4.2: delete with an unknown :clientId is not an error; nothing is removed", obj)
    code, obj = p.js("POST", "panel/api/inbounds/1/delClient/" + alice["id"])
    t.ok(obj == {"success": True, "msg": "Inbound client has been deleted.", "obj": None}
         and [x["email"] for x in p.state()["traffics"]] == ["bob"],
         "§2.1 / §4.2: /:id/delClient/:clientId removes the client and its traffic row", obj)
    bob_id = vless("bob")["id"]
    code, obj = p.js("POST", "panel/api/inbounds/1/delClient/" + bob_id)
    t.is_(obj.get("msg"), "Something went wrong (no client remained in Inbound\n)",
          "§4.2 / §8.15: v2.1.2 – v3.0.2: deleting the last client fails with `no client remained in Inbound`")
    code, obj = p.js("POST", "panel/api/inbounds/addClient", form={"id": "2", "settings": json.dumps(
        {"clients": [{"password": "trojanpw1", "email": "tess", "enable": True}, {"password": "trojanpw2",
                                                                                 "email": "tom", "enable": True}]})})
    code, obj = p.js("POST", "panel/api/inbounds/updateClient/trojanpw1", form={"id": "2", "settings": json.dumps(
        {"clients": [{"password": "trojanpw1", "email": "tess", "enable": True, "totalGB": 5}]})})
    code2, obj2 = p.js("POST", "panel/api/inbounds/2/delClient/trojanpw2")
    t.ok(obj["success"] and obj2["success"] and [x["email"] for x in p.state()["traffics"]] == ["bob", "tess"],
         "§4.2: trojan clients are addressed by password", (obj, obj2))
    code, obj = p.js("POST", "panel/api/inbounds/addClient", form={"id": "3", "settings": json.dumps(
        {"clients": [{"password": "", "email": "", "enable": True}]})})
    t.is_(obj.get("msg"), "Something went wrong (empty client ID\n)", "§4.1: shadowsocks rejects an empty email")
    code, obj = p.js("POST", "panel/api/inbounds/addClient", form={"id": "3", "settings": json.dumps(
        {"clients": [{"password": "k1", "email": "sam", "enable": True}, {"password": "k2", "email": "sue"}]})})
    code, obj = p.js("POST", "panel/api/inbounds/3/delClient/sam")
    t.ok(obj["success"] and "sam" not in [x["email"] for x in p.state()["traffics"]],
         "§4.2: shadowsocks clients are addressed by email", obj)
    code, obj = p.js("GET", "panel/api/server/status")
    t.ok(obj["success"] and obj["obj"]["xray"]["state"] == "running" and "panelVersion" not in obj["obj"]
         and {"cpu", "mem", "xray", "uptime", "netIO", "publicIP"} <= set(obj["obj"]),
         "§2.1: v2.7.0+ GET panel/api/server/status: xray{state,errorMsg,version}, … (panelVersion only v3.1+)",
         obj)
    code, _, body = p.call("GET", "panel/api/clients/list")
    t.ok(code == 404, "§0: G2 has no /panel/api/clients (404)", code)
    code, obj = p.js("POST", "panel/api/inbounds/add", form={"protocol": "vless", "port": "443", "remark": "dup"})
    t.is_(obj.get("msg"), "Something went wrong (Port already exists: 443\n)",
          "§3.1 v2: the port is unique: `Port already exists: 443\\n`")
    code, obj = p.js("POST", "panel/api/inbounds/add", form={"protocol": "vmess", "port": "2000", "listen": "10.0.0.1",
                                                             "settings": json.dumps({"clients": []})})
    t.ok(obj["success"] and obj["msg"] == "Inbound has been successfully created." and
         obj["obj"]["tag"] == "inbound-10.0.0.1:2000",
         "§2.1 add: created Inbound, msg \"Inbound has been successfully created.\", tag inbound-<listen>:<port>", obj)
    code, hdr, body = p.call("GET", "logout")
    t.ok(code == 307 and hdr.get("Location") == "/s3cr3tpath/", "§1.2: ≤ v3.0.1 GET {base}logout: 307 to {base}",
         (code, dict(hdr)))
    p.stop()

    # -- session expiry after N calls, and an older classic's redirect --
    p = Panel("expiry", "--inbound", "vless:443", "--expire-after", "3")
    p.login()
    codes = [p.call("GET", "panel/api/inbounds/list")[0] for _ in range(3)]
    code, hdr, body = p.call("GET", "panel/api/inbounds/list")
    t.ok(codes == [200, 200, 200] and code == 404 and body == b"",
         "--expire-after 3: the fourth call finds the session expired: §1.3 404, empty body (not 401)", (codes, code))
    p.login()
    t.is_(p.call("GET", "panel/api/inbounds/list")[0], 200, "§8.6: after expiry the client logs in again")
    t.is_(p.state()["stats"]["expired"], 1, "the control state counts the expired call")
    p.stop()
    p = Panel("old", "--inbound", "vless:443", "--panel-version", "2.8.3")
    code, hdr, body = p.call("GET", "panel/api/inbounds/list")
    t.ok(code == 307 and hdr.get("Location") == "/", "§1.3 v2.2.5 – v2.8.3: without XHR a 307 redirect to {base}",
         (code, dict(hdr)))
    code, obj = p.js("GET", "panel/api/inbounds/list", headers={"X-Requested-With": "XMLHttpRequest"})
    t.ok(code == 401 and obj == {"success": False, "msg": "Your session has expired, please log in again",
                                 "obj": None},
         "§1.3 v2.2.5 – v2.8.3: with X-Requested-With a 401 {success:false, msg:'Your session has expired…'}",
         (code, obj))
    p.stop()
    p = Panel("q-exact", "--inbound", "vless:443", "--quirk", "email-exact", "--panel-version", "2.4.0")
    p.login()
    code, obj = p.js("POST", "panel/api/inbounds/addClient", form={"id": "1", "settings": json.dumps(
        {"clients": [vless("Ann"), vless("ann", cid="c-2")]})})
    t.ok(obj.get("success") is True and
         [c["email"] for c in p.state()["inbounds"][0]["settings"]["clients"]] == ["Ann", "ann"],
         "--quirk email-exact: §4.1 before v2.4.4 the duplicate check is exact-match (Ann and ann both added)", obj)
    p.stop()
    seedf = os.path.join(TMP, "inbounds.json")
    with open(seedf, "w") as f:
        json.dump([{"protocol": "vless", "port": 8443, "remark": "NL-1", "listen": "",
                    "streamSettings": {"network": "tcp", "security": "reality",
                                       "realitySettings": {"serverNames": ["a.example"], "shortIds": ["ab"]}},
                    "settings": json.dumps({"clients": [vless("seeded", totalGB=99)], "decryption": "none"})}], f)
    clk = os.path.join(TMP, "clock")
    with open(clk, "w") as f:
        f.write("0\n")
    p = Panel("seeded", "--inbounds", seedf, "--xray-state", "stop", "--clock-file", clk)
    p.login()
    code, obj = p.js("GET", "panel/api/inbounds/list")
    ib = obj["obj"][0]
    t.ok(ib["remark"] == "NL-1" and ib["port"] == 8443 and json.loads(ib["streamSettings"])["security"] == "reality"
         and ib["clientStats"][0]["email"] == "seeded" and ib["clientStats"][0]["total"] == 99,
         "--inbounds FILE seeds inbounds (settings as a string or an object) with their clients' traffic rows", ib)
    t.is_(p.js("GET", "panel/api/server/status")[1]["obj"]["xray"]["state"], "stop",
          "--xray-state: §2.1 status obj xray{state}")
    p.js("POST", "panel/api/inbounds/updateClient/" + vless("seeded")["id"], form={"id": "1", "settings": json.dumps(
        {"clients": [vless("seeded", expiryTime=int(time.time() * 1000) + 3600 * 1000)]})})
    p.control("traffic", email="seeded", up=1, down=1)
    en0 = [x for x in p.state()["traffics"] if x["email"] == "seeded"][0]["enable"]
    with open(clk, "w") as f:
        f.write("7200\n")
    p.control("traffic", email="seeded", up=1, down=1)
    en1 = [x for x in p.state()["traffics"] if x["email"] == "seeded"][0]["enable"]
    t.ok(en0 is True and en1 is False,
         "--clock-file: §5 step 3 a client past its expiryTime (on the test clock) is disabled at the next tick",
         (en0, en1))
    p.stop()
    p = Panel("q-null", "--inbound", "vless:443", "--quirk", "traffics-null")
    p.login()
    t.is_(p.js("GET", "panel/api/inbounds/getClientTraffics/nobody")[1], {"success": True, "msg": "", "obj": None},
          "--quirk traffics-null: §2.1 ≤ v2.8.0: unknown email → success:true, obj:null")
    p.stop()

    # ---------------- classic routes with v3 auth: v3.0.2 ----------------
    p = Panel("v302", "--csrf", "--inbound", "vless:443")
    code, hdr, body = p.call("GET", "csrf-token")
    t.ok(code == 200 and body.startswith(b'{"obj": ') and json.loads(body)["success"] is True
         and "msg" not in json.loads(body) and len(json.loads(body)["obj"]) == 43
         and re.match(r"^[A-Za-z0-9_-]{43}$", json.loads(body)["obj"]),
         "§1.1: GET {base}csrf-token: 200 {\"obj\":\"<token>\",\"success\":true}, keys sorted, no msg; "
         "43 chars base64url", body)
    code, _, body = p.call("POST", "login", form={"username": "admin", "password": "pw"})
    t.ok(code == 403 and body == b"", "§1.1: login without the CSRF token: HTTP 403 with an empty body", (code, body))
    code, _, body = p.login(csrf=True)
    t.ok(code == 200 and json.loads(body)["success"], "§1.1: csrf-token, then login with the cookie and X-CSRF-Token")
    t.ok(p.call("GET", "panel/api/inbounds/list")[0] == 200, "§1.1: the session works for GET")
    code, _, body = p.call("POST", "panel/api/inbounds/onlines", headers={"X-CSRF-Token": "wrong"})
    t.ok(code == 403 and body == b"", "§1.3: v3 cookie-authenticated POST with a wrong CSRF header: 403, empty body",
         (code, body))
    code, obj = p.js("POST", "panel/api/inbounds/onlines")
    t.ok(code == 200 and obj["success"], "§1.1: login does not rotate the CSRF token; it stays valid for POSTs", obj)
    code, obj = p.js("POST", "panel/api/inbounds/addClient",
                     form={"id": "1", "settings": json.dumps({"clients": [vless("v3user")]})})
    t.ok(obj.get("success") is True, "§0: v3.0.x uses the G2 client routes (addClient)", obj)
    t.is_(p.call("GET", "panel/api/clients/list")[0], 404, "§0: `clients/list` on v3.0.x is a 404")
    code, obj = p.js("POST", "logout")
    t.ok(code == 200 and obj == {"success": True}, "§1.2: v3.0.2+ POST {base}logout (CSRF) → 200 {\"success\":true}",
         obj)
    code, _, body = p.call("GET", "panel/api/inbounds/list", headers={"X-Requested-With": "XMLHttpRequest"})
    t.ok(code == 401 and body == b"", "§1.3 v3.0.2 – HEAD: unauthenticated XHR: 401, empty body", (code, body))
    code, _, body = p.call("GET", "panel/api/inbounds/list")
    t.ok(code == 404 and body == b"", "§1.3 v3.0.2 – HEAD: unauthenticated, no XHR: 404, empty body", (code, body))
    p.new_session()
    for i in range(5):
        p.login(csrf=True, password="bad%d" % i)
    code, _, body = p.login(csrf=True)
    t.is_(json.loads(body).get("msg"), "Invalid username or password or two-factor code.",
          "§1.1 limiter: 5 failures in 5 minutes block (ip, user); even the right password gets the failure message")
    p.stop()

    # ---------------- current, v3.6.0 ----------------
    p = Panel("current", "--gen", "current", "--api-token", "T" * 48, "--inbound", "vless:443:DE-1",
              "--inbound", "trojan:8443:DE-2", "--inbound", "shadowsocks:8388:DE-3", base="/p/")
    code, hdr, body = p.login(csrf=True)
    ck = hdr.get("Set-Cookie") or ""
    t.ok(json.loads(body) == {"success": True, "msg": "You have successfully logged into your account.", "obj": None}
         and "Path=/p/" in ck,
         "§1.1: v3.1.0+ success message without the leading space; §1.2: cookie Path = webBasePath from v2.9.0",
         (body, ck))
    code, obj = p.js("GET", "panel/api/server/status")
    t.is_(obj["obj"].get("panelVersion"), "3.6.0", "§0 detection step 2: server/status carries obj.panelVersion (v3.1.0+)")
    code, obj = p.js("GET", "panel/api/inbounds/list")
    ib = obj["obj"][0]
    t.ok(isinstance(ib["settings"], dict) and isinstance(ib["streamSettings"], dict)
         and list(ib.keys())[-3:] == ["settings", "streamSettings", "sniffing"] and "allTime" not in ib,
         "§3.1 v3.6.0 / §8.10: settings, streamSettings, sniffing at the end, as objects; no allTime", list(ib))
    t.is_(p.call("POST", "panel/api/inbounds/addClient", form={"id": "1", "settings": "{}"})[0], 404,
          "§0: G3 removed the G2 client routes (addClient is a 404)")
    add = {"client": {"email": "bob", "totalGB": 53687091200, "expiryTime": 1767225600000, "limitIp": 0, "tgId": 0,
                      "subId": "bobsub", "enable": False, "flow": "xtls-rprx-vision"}, "inboundIds": [1, 2]}
    code, obj = p.js("POST", "panel/api/clients/add", js=add)
    t.ok(obj == {"success": True, "msg": "Inbound client(s) have been added.", "obj": None},
         "§4.3: POST clients/add {client, inboundIds}: obj null; msg \"Inbound client(s) have been added.\"", obj)
    code, obj = p.js("GET", "panel/api/clients/get/bob")
    cl = obj["obj"]["client"]
    t.ok(obj["success"] and UUID.match(cl.get("uuid", "")) and isinstance(cl["id"], int) and cl["enable"] is True
         and obj["obj"]["inboundIds"] == [1, 2] and "createdAt" in cl and set(obj["obj"]) ==
         {"client", "inboundIds", "externalLinks", "usedTraffic"},
         "§2.2 / §3.2 / §4.3: clients/get: {client, inboundIds, externalLinks, usedTraffic}; a UUID filled in "
         "(ClientRecord: id renamed uuid, numeric row id, createdAt); enable forced true on create", obj)
    ins = {x["id"]: x for x in p.js("GET", "panel/api/inbounds/list")[1]["obj"]}
    tro = [c for c in ins[2]["settings"]["clients"] if c["email"] == "bob"][0]
    t.ok(re.match(r"^[0-9a-f]{32}$", tro.get("password", "")) and "flow" not in tro,
         "§4.3: a hex password generated for trojan; flow dropped on inbounds that cannot use it", tro)
    t.is_(p.js("POST", "panel/api/clients/add", js=add)[1].get("success"), True,
          "§4.3 / §8.18: re-adding the same email with the same subId is an idempotent success")
    t.is_(len([c for c in p.state()["inbounds"][0]["settings"]["clients"] if c["email"] == "bob"]), 1,
          "§4.3: inbounds already holding that email are skipped silently")
    add2 = json.loads(json.dumps(add))
    add2["client"]["subId"] = "other"
    t.is_(p.js("POST", "panel/api/clients/add", js=add2)[1].get("msg"), "Something went wrong (email already in use: bob\n)",
          "§4.3: same email, different subId: `email already in use: x`")
    add2["client"].update({"email": "BOB", "subId": "bobsub2"})
    t.is_(p.js("POST", "panel/api/clients/add", js=add2)[1].get("msg"), "Something went wrong (Duplicate email: BOB\n)",
          "§4.3: `Duplicate email: x`, a case-insensitive check")
    add2["client"].update({"email": "carl", "subId": "bobsub"})
    t.is_(p.js("POST", "panel/api/clients/add", js=add2)[1].get("msg"),
          "Something went wrong (subId already in use: bobsub\n)", "§4.3: `subId already in use: x`")
    t.is_(p.js("POST", "panel/api/clients/add", js={"client": {"email": "a b"}, "inboundIds": [1]})[1].get("msg"),
          "Something went wrong (client email contains an invalid character:  \n)",
          "§4.3: `client email contains an invalid character: x` (the space character)")
    t.is_(p.js("POST", "panel/api/clients/add", js={"client": {"email": ""}, "inboundIds": [1]})[1].get("msg"),
          "Something went wrong (client email is required\n)", "§4.3 / §8.13: G3 rejects an empty email")
    t.is_(p.js("POST", "panel/api/clients/add", js={"client": {"email": "x"}, "inboundIds": []})[1].get("msg"),
          "Something went wrong (at least one inbound is required\n)", "§4.3: `at least one inbound is required`")
    t.is_(p.js("POST", "panel/api/clients/add", js={"client": {"email": "x"}, "inboundIds": [9]})[1].get("msg"),
          "Something went wrong (record not found)", "§4.3: unknown inbound: `record not found`, no trailing newline")
    t.is_(p.js("POST", "panel/api/clients/add", js={"client": {"email": "x", "tgId": ""}, "inboundIds": [1]})[1]
          .get("msg"), "Something went wrong (json: cannot unmarshal string into Go struct field Client.client.tgId "
          "of type int64)", "§3.2: v3 clients/add refuses a string tgId")
    t.is_(p.js("POST", "panel/api/clients/add", form={"client": "x"})[1].get("success"), False,
          "§2.2: clients bodies are JSON only (ShouldBindJSON)")
    code, obj = p.js("GET", "panel/api/clients/traffic/bob")
    t.ok(obj["success"] and obj["obj"]["email"] == "bob" and obj["obj"]["subId"] == "bobsub"
         and UUID.match(obj["obj"]["uuid"]) and "allTime" not in obj["obj"],
         "§2.2: clients/traffic/:email: ClientTraffic with uuid, subId (v3.6.0: no allTime)", obj)
    t.is_(p.js("GET", "panel/api/clients/traffic/nobody")[1], {"success": True, "msg": "", "obj": None},
          "§8.17: G3 /clients/traffic/:email of an unknown email: success:true, obj:null")
    t.is_(p.js("GET", "panel/api/clients/get/nobody")[1], {"success": False, "msg": "Obtain (record not found)",
                                                            "obj": None},
          "§2.2: clients/get of an unknown email: success:false \"Obtain (record not found)\"")
    code, obj = p.js("GET", "panel/api/clients/list")
    t.ok(obj["success"] and obj["obj"][0]["email"] == "bob" and obj["obj"][0]["inboundIds"] == [1, 2]
         and obj["obj"][0]["traffic"]["email"] == "bob",
         "§2.2: clients/list: ClientRecord fields, inboundIds, traffic", obj)
    uid = cl["uuid"]
    code, obj = p.js("POST", "panel/api/clients/update/bob", js={"email": "bob", "totalGB": 1000})
    code2, got = p.js("GET", "panel/api/clients/get/bob")
    t.ok(obj == {"success": True, "msg": "Inbound client has been updated.", "obj": None}
         and got["obj"]["client"]["enable"] is False and got["obj"]["client"]["uuid"] == uid
         and got["obj"]["client"]["subId"] == "bobsub" and got["obj"]["client"]["expiryTime"] == 0,
         "§4.3 / §8.19: clients/update/:email is a full replacement: omitted enable is false, omitted expiryTime 0; "
         "id and subId kept", (obj, got))
    p.control("traffic", email="bob", up=7, down=9)
    t.is_(p.js("POST", "panel/api/clients/onlines")[1].get("obj"), ["bob"], "§2.2: POST clients/onlines → []email")
    t.is_(p.js("POST", "panel/api/clients/resetTraffic/bob")[1].get("success"), True, "§2.2: clients/resetTraffic/:email")
    tr = p.js("GET", "panel/api/clients/traffic/bob")[1]["obj"]
    t.ok(tr["up"] == 0 and tr["down"] == 0 and tr["enable"], "§5.4: resetting traffic zeroes and re-enables", tr)
    code, hdr, body = p.call("POST", "panel/api/clients/del/bob")
    t.ok(json.loads(body) == {"success": True, "msg": "Inbound client has been deleted.", "obj": None}
         and p.state()["clients"] == [] and not any(ib["settings"]["clients"] for ib in p.state()["inbounds"]),
         "§4.3: clients/del/:email removes the client from every inbound", body)
    t.is_(p.js("POST", "panel/api/clients/del/bob")[1].get("msg"),
          'Something went wrong (client "bob" not found in any inbound or client record\n)',
          "§4.3: clients/del of an unknown email: `client \"x\" not found in any inbound or client record`")
    tok = Panel.__new__(Panel)
    tok.root, tok.url, tok.csrf = p.root, p.url, None
    tok.new_session()
    code, obj = tok.js("POST", "panel/api/clients/add", js={"client": {"email": "tk", "subId": "tk"},
                                                            "inboundIds": [3]},
                       headers={"Authorization": "Bearer " + "T" * 48})
    t.ok(obj.get("success") is True, "§1.4: Authorization: Bearer <token> skips the session and CSRF", obj)
    ss = [c for c in p.state()["inbounds"][2]["settings"]["clients"] if c["email"] == "tk"][0]
    import base64
    t.is_(len(base64.b64decode(ss["password"])), 16, "§4.3: a key of the right length for shadowsocks (aes-128: 16 bytes)")
    code, _, body = tok.call("GET", "panel/api/clients/list", headers={"Authorization": "Bearer wrong"})
    t.ok(code == 404 and body == b"", "§1.3: a wrong Bearer token is unauthenticated: 404, empty body", (code, body))
    p.control("expire")
    code, _, body = p.call("GET", "panel/api/clients/list", headers={"X-Requested-With": "XMLHttpRequest"})
    t.ok(code == 401 and body == b"", "§8.7: G3 expired session with X-Requested-With: 401, empty body", (code, body))
    code, _, body = p.call("GET", "panel/api/clients/list")
    t.ok(code == 404 and body == b"", "§8.7: G3 expired session without it: 404, empty body", (code, body))
    code, obj = p.js("POST", "panel/api/inbounds/add", js={"protocol": "bogus", "port": 1})
    p.login(csrf=True)
    code, obj = p.js("POST", "panel/api/inbounds/add", js={"protocol": "bogus", "port": 1})
    t.ok(obj.get("msg") == "request body failed validation" and obj["obj"]["issues"][0]["field"] == "protocol",
         "§2.0 / §3.1: v3 validation failure: 200 {success:false, msg:'request body failed validation', obj:{issues}}",
         obj)
    code, obj = p.js("POST", "panel/api/inbounds/add", js={"protocol": "vless", "port": 443})
    t.ok(obj.get("success") is False and obj["msg"].startswith("Something went wrong (port 443 (")
         and "already used by inbound 1" in obj["msg"], "§3.1 v3: `port 443 (…) already used by inbound …`", obj)
    p.stop()

    # -- the v3.6.0 SS-2022 overwrite quirk, and without it --
    for quirk in (True, False):
        p = Panel("ss-%s" % quirk, "--gen", "current", "--inbound", "trojan:8443", "--inbound", "shadowsocks:8388",
                  *(["--quirk", "ss2022-overwrite"] if quirk else []))
        p.login(csrf=True)
        p.js("POST", "panel/api/clients/add", js={"client": {"email": "carol", "subId": "c"}, "inboundIds": [1, 2]})
        s = p.state()
        tro = s["inbounds"][0]["settings"]["clients"][0]["password"]
        ssk = s["inbounds"][1]["settings"]["clients"][0]["password"]
        rec = s["clients"][0]["password"]
        if quirk:
            t.ok(rec == ssk and tro != rec,
                 "--quirk ss2022-overwrite: §4.3 the trojan inbound keeps the first password, the clients table "
                 "keeps the last (the SS-2022 key)", (tro, ssk, rec))
        else:
            t.ok(rec == tro and ssk != tro, "without the quirk the client record keeps the trojan password",
                 (tro, ssk, rec))
        p.stop()

    # -- persistence across a restart, and --reset-traffic --
    sf = os.path.join(TMP, "panel-state.json")
    p = Panel("persist", "--state", sf, "--inbound", "vless:443")
    p.login()
    p.js("POST", "panel/api/inbounds/addClient", form={"id": "1", "settings": json.dumps({"clients": [vless("pat")]})})
    p.control("traffic", email="pat", up=11, down=22)
    p.stop()
    jar, op = p.jar, p.op
    p.start()
    p.jar, p.op = jar, op
    code, obj = p.js("GET", "panel/api/inbounds/getClientTraffics/pat")
    t.ok(obj["success"] and obj["obj"]["up"] == 11 and obj["obj"]["down"] == 22
         and len(p.js("GET", "panel/api/inbounds/list")[1]["obj"]) == 1,
         "--state: a restarted double keeps its inbounds, clients, traffic and (§1.2, a signed cookie store) "
         "its sessions", obj)
    p.stop()
    p.start("--reset-traffic")
    p.login()
    code, obj = p.js("GET", "panel/api/inbounds/getClientTraffics/pat")
    t.ok(obj["obj"]["up"] == 0 and obj["obj"]["down"] == 0, "--reset-traffic zeroes the counters at start", obj)
    p.stop()

    # ---------------- faults ----------------
    p = Panel("faults", "--inbound", "vless:443", "--oversize", str(11 << 20))
    p.login()
    p.control("fault", kind="500", route="inbounds/list")
    code, _, body = p.call("GET", "panel/api/inbounds/list")
    t.ok(code == 500 and body == b"", "fault 500: HTTP 500, empty body (gin's Recovery, §4.1)", (code, body))
    t.is_(p.call("GET", "panel/api/server/status")[0], 200, "... only on the routes named by the fault's route")
    p.control("fault", kind="malformed")
    code, _, body = p.call("GET", "panel/api/inbounds/list")
    try:
        json.loads(body)
        bad = False
    except ValueError:
        bad = True
    t.ok(code == 200 and bad, "fault malformed: HTTP 200 whose body is not JSON", body)
    p.control("fault", kind="truncated")
    try:
        p.call("GET", "panel/api/inbounds/list")
        trunc = False
    except (http.client.IncompleteRead, ConnectionError):
        trunc = True
    t.ok(trunc, "fault truncated: the body is shorter than its Content-Length, then the connection closes")
    p.control("fault", kind="oversized")
    code, _, body = p.call("GET", "panel/api/inbounds/list", timeout=30)
    t.ok(code == 200 and len(body) >= 11 << 20 and json.loads(body)["success"] is True,
         "fault oversized: a valid envelope of --oversize bytes (over v3's 10 MiB cap, §1.5)", len(body))
    p.control("fault", kind="refuse", msg="Something went wrong (xray is not running\n)")
    t.is_(p.js("GET", "panel/api/inbounds/list")[1], {"success": False, "msg": "Something went wrong (xray is not "
                                                      "running\n)", "obj": None},
          "fault refuse: §2.0 HTTP 200 success:false with the message")
    p.control("fault", kind="hostile")
    code, _, body = p.call("GET", "panel/api/inbounds/list")
    t.ok(code == 200 and body.startswith(b'{"success":"true","msg":"\\u0000') and body.count(b"[") == 5000,
         "fault hostile: valid JSON of the wrong shape (a string success, a NUL in msg, obj nested 5000 deep)",
         body[:80])
    p.control("fault", kind="slow", seconds=1.0)
    t0 = time.time()
    code, obj = p.js("GET", "panel/api/inbounds/list")
    t.ok(code == 200 and obj["success"] and time.time() - t0 >= 0.8,
         "fault slow: the whole body arrives, trickled over the given seconds", time.time() - t0)
    p.control("fault", kind="500", after=1, count=1)
    codes = [p.call("GET", "panel/api/inbounds/list")[0] for _ in range(3)]
    t.is_(codes, [200, 500, 200], "fault after=1 count=1: only the second call fails")
    p.control("fault", kind="truncated", route="addClient")
    try:
        p.call("POST", "panel/api/inbounds/addClient", form={"id": "1", "settings": json.dumps(
            {"clients": [vless("lost")]})})
    except (http.client.IncompleteRead, ConnectionError):
        pass
    t.is_(len(p.state()["traffics"]), 0, "a damaged reply by default means the panel did not act")
    p.control("fault", kind="truncated", route="addClient", acted=True)
    try:
        p.call("POST", "panel/api/inbounds/addClient", form={"id": "1", "settings": json.dumps(
            {"clients": [vless("lost")]})})
    except (http.client.IncompleteRead, ConnectionError):
        pass
    t.is_([x["email"] for x in p.state()["traffics"]], ["lost"], "acted: the panel acted, then the reply was lost")
    p.control("fault", kind="")
    st = p.state()["stats"]
    t.ok(st["faults"] >= 8 and st["calls"].get("panel/api/inbounds/list", 0) >= 8,
         "the control state counts the faults and the calls per route", st)
    p.stop()
    p = Panel("hang", "--hang", "3")
    try:
        p.call("GET", "csrf-token", timeout=0.5)
        hung = False
    except (socket.timeout, TimeoutError, urllib.error.URLError):
        hung = True
    t.ok(hung, "--hang: a call is not answered within the client's timeout")
    p.stop()
    p = Panel("cli-fault", "--inbound", "vless:443", "--fault", "refuse", "--fault-msg", "nope")
    p.login()
    t.is_(p.js("GET", "panel/api/inbounds/list")[1].get("msg"), "nope", "--fault/--fault-msg on the command line")
    p.stop()
finally:
    for d in DOUBLES:
        if d.poll() is None:
            d.kill()
t.done()
