#!/usr/bin/env python3
"""paneld.py: a 3X-UI panel double, standard library only.

Written from ../shared/contracts/3x-ui.md (section numbers below are that
file's).  Speaks real HTTP/1.1 on 127.0.0.1 (an ephemeral port, written to
--port-file) under the web base path --base (default "/").

Generation and version (section 0):
  --gen classic       G2 routes: /panel/api/inbounds/* with addClient,
                      updateClient/:clientId, :id/delClient/:clientId,
                      getClientTraffics/:email ...; settings, streamSettings
                      and sniffing are JSON *strings* (default)
  --gen current       G3 routes: /panel/api/clients/* keyed by email, the
                      inbound's settings as objects; implies v3 auth
  --panel-version V   the version emulated; it picks the boundaries of
                      section 1.3 (unauthenticated answers), the login
                      messages (leading space up to v3.0.2), the cookie
                      Path (base from v2.9.0), v2.9.4's settings enable
                      flip.  Default 2.8.11 (classic), 3.0.2 (classic
                      --csrf), 3.6.0 (current)
  --csrf              v3 authentication (section 1.1): GET {base}csrf-token,
                      X-CSRF-Token on login and on every cookie-authenticated
                      POST (403, empty body, when missing or wrong)
  --api-token T       a Bearer token accepted on /panel/api/* (v3, section
                      1.4); it skips the session and CSRF
  --user, --password  the panel's credentials (admin/admin)
  --password-file F   the password from F's first line (not in ps)
  --port N            listen on 127.0.0.1:N (default: an ephemeral port)
  --session-max-age M the cookie's Max-Age in minutes (360)

State (kept in memory):
  --inbound P:PORT[:REMARK]  seed an inbound (repeatable): protocol vless,
                      vmess, trojan or shadowsocks (2022-blake3-aes-128-gcm)
  --inbounds FILE     seed inbounds from a JSON array of Inbound objects
                      (settings/streamSettings/sniffing as objects or strings)
  --state FILE        load the state from FILE at start when it exists and
                      rewrite it after every change: a restarted double keeps
                      its inbounds, clients and traffic
  --reset-traffic     zero every traffic counter at start
  --xray-state S      server/status xray.state: running (default), stop, error
  --clock-file FILE   seconds added to the clock (px.py's test clock file):
                      expiry and lastOnline follow the shop's test clock

The proxy core (off unless --core):
  --core BIN          run BIN (Debian 12's /usr/bin/v2ray, 4.34) as the
                      panel's Xray: a v2ray server config written from the
                      inbounds and the clients a real core serves (enabled,
                      within quota, unexpired), v2ray restarted when that
                      changes (debounced), server/status xray.state from
                      the process; v2ray ends with the double
  --core-dir DIR      where config.json and v2ray.log go
  --core-listen A     the address of inbounds whose listen is empty
                      (127.0.0.1)
  --core-debounce S   how long the wanted config must be stable (0.3)
  --core-stats S      every S seconds (5; 0 = never) read v2ray's per-user
                      byte counters (StatsService through v2ctl, the
                      --core-ctl binary, default v2ctl beside --core, on
                      --core-api-port, default a free one) into the
                      clients' traffic rows, as a traffic tick
  GET /_double/core   {"state","error","pid","restarts","pending",
                      "skipped","config"}: pending is true until v2ray
                      serves what the panel holds
VMess and VLESS over tcp or ws, Trojan, TLS from certificate files and
Shadowsocks with aes-128-gcm, aes-256-gcm or chacha20(-ietf)-poly1305
are served; v2ray 4.34 holds one Shadowsocks user per inbound, so the
newest servable client of each is served; what is not served (REALITY,
Shadowsocks 2022, other transports) is named in xray.errorMsg.

Contract quirks (off unless named; --quirk is repeatable):
  ss2022-overwrite    v3.6.0 (section 4.3): in one /clients/add over a trojan
                      and a later Shadowsocks-2022 inbound, the trojan
                      inbound keeps the first password and the client record
                      gets the SS key
  traffics-null       <= v2.8.0: getClientTraffics of an unknown email is
                      success:true, obj:null (not success:false)
  email-exact         < v2.4.4: the duplicate email check is case-sensitive
                      (the double still keeps one traffic row per
                      lower-cased email, so Ann and ann share a row)
Always on, as the contract describes them: duplicate emails refused, the G2
"no client remained in Inbound", the G3 idempotent re-add with one subId.

Fault injection:
  --hang S            every call waits S seconds before answering (a panel
                      that hangs for the client's whole timeout)
  --delay S           a login waits S seconds before answering
  --expire-after N    a session is expired after N authenticated API calls:
                      the next call is answered as section 1.3 says (404,
                      or 307 / 401 by version), not served
  --session-ttl S     a session expires S seconds after its login
  --fault KIND        500 (HTTP 500, empty body, as gin's Recovery),
                      malformed (200, not JSON), truncated (Content-Length
                      larger than the body, then the connection is closed),
                      oversized (200, a valid envelope of --oversize bytes),
                      refuse (200 success:false with --fault-msg), slow (the
                      body trickles over --slow seconds), hostile (200, valid
                      JSON of the wrong shape: "success":"true", a NUL in
                      msg, obj nested 5000 deep)
  --fault-route SUB   only API routes whose path under {base}panel/api/
                      contains SUB, e.g. "clients/add" (default: every API
                      route; login and csrf-token are never faulted)
  --fault-after N     the first N matching calls are served normally
  --fault-count N     then N calls get the fault (0 = all of them)
  --fault-acted       the call acts before its reply is damaged (a client
                      that lost the reply must find the change made); by
                      default a faulted call does not act (slow always acts)
Faults and traffic can also be set while running through the control
routes, which are outside {base} and need no login:
  GET  /_double/state     {"inbounds":[...],"clients":[...],"traffics":[...],
                           "onlines":[...],"stats":{...}}
  POST /_double/fault     {"kind","route","after","count","msg","seconds",
                           "acted"}; {"kind":""} clears it
  POST /_double/traffic   {"email","up","down"}: one traffic tick (section 5):
                           adds the deltas, marks the client online, converts
                           a delayed start, disables on quota or expiry
  POST /_double/expire    ends every session (the next call is unauthenticated)

Counting, for the tests: calls in flight now and at most (max_in_flight),
calls per route, and logins: a login counts only if its reply reached a
client that was still there (the model: a panel that acts only when it
can answer, as smtpd.py's delayed message).  The counts are rewritten to
--stats (JSON) after every change; one line per event goes to --events.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

OPTS = None
LOCK = threading.Lock()
STATS = {"in_flight": 0, "max_in_flight": 0, "calls": {}, "logins": 0, "logins_refused": 0,
         "abandoned": 0, "expired": 0, "faults": 0, "inbounds": 0, "clients": 0}
# Sessions live in the cookie, HMAC-signed with the panel's secret, as
# gin-contrib's cookie store keeps them (section 1.2): a restarted double
# (--state) still accepts them.  Only the call counts are kept here.
IN_FLIGHT = set()      # handlers of the calls in flight (enter .. leave)
CALLS = {}             # session id -> authenticated API calls (--expire-after)
FAILS = {}             # (ip, user) -> [failure times] (v3 login limiter)
FAULT = {"kind": "", "route": "", "after": 0, "count": 0, "msg": "", "seconds": 0, "acted": False,
         "seen": 0}
# The panel's data: inbounds with their clients inside settings (as the
# real panel keeps them), one traffic row per email, and the v3 clients
# table (records), which can differ from the inbounds' copies (a quirk).
DB = {"inbounds": [], "traffics": {}, "records": {}, "next_inbound": 1, "next_traffic": 1,
      "next_record": 1, "onlines": {}, "secret": secrets.token_hex(32), "epoch": 0}
NOT_FOUND = object()


def vtuple(s):
    return tuple(int(x) for x in re.findall(r"\d+", s)[:3])


def now_ms():
    """The panel's clock: the wall clock plus the stack's test clock
    (--clock-file, whole seconds, as px.py's Stack.advance writes it), so
    expiry follows the shop's clock without sleeping."""
    off = 0
    if OPTS.clock_file:
        try:
            with open(OPTS.clock_file) as f:
                off = int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            pass
    return int((time.time() + off) * 1000)


def save():
    STATS["inbounds"] = len(DB["inbounds"])
    STATS["clients"] = len(DB["traffics"])
    tmp = OPTS.stats + ".tmp"
    with open(tmp, "w") as f:
        json.dump(STATS, f)
    os.replace(tmp, OPTS.stats)


def persist():
    if not OPTS.state:
        return
    tmp = OPTS.state + ".tmp"
    with open(tmp, "w") as f:
        json.dump({k: v for k, v in DB.items() if k != "onlines"}, f, indent=1)
    os.replace(tmp, OPTS.state)


def event(line):
    with open(OPTS.events, "a") as f:
        f.write("%.3f %s\n" % (time.time(), line))


def peer_gone(sock):
    p = select.poll()
    p.register(sock.fileno(), select.POLLIN | select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    for _, ev in p.poll(0):
        if ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
            return True
        if ev & select.POLLIN:
            try:
                if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    return True
            except BlockingIOError:
                pass
            except OSError:
                return True
    return False


def seal(payload):
    raw = base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).rstrip(b"=").decode()
    mac = hmac.new(DB["secret"].encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]
    return raw + "." + mac


def unseal(value):
    """The session in a cookie value, or None when forged or of an old epoch
    (section 1.2: v3.1+ LOGIN_EPOCH; the double bumps it on /_double/expire)."""
    raw, _, mac = (value or "").partition(".")
    want = hmac.new(DB["secret"].encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]
    if not raw or not hmac.compare_digest(mac, want):
        return None
    try:
        sess = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return None
    if sess.get("user") and sess.get("epoch") != DB["epoch"]:
        return None
    return sess


class PanelError(Exception):
    """A service error: common.NewError is fmt.Sprintln, so a trailing \\n (section 2.0)."""

    def __init__(self, text, newline=True):
        super().__init__(text + ("\n" if newline else ""))


def env(success, msg="", obj=None):
    # entity.Msg: all three keys, in this order, HTTP 200 (section 2.0).
    return (200, {"success": success, "msg": msg, "obj": obj})


def fail(context, err):
    return env(False, "%s (%s)" % (context, err))


# -- the data model (section 3) ------------------------------------------

def ss_key(method):
    n = 16 if "128" in method else 32
    return base64.b64encode(os.urandom(n)).decode()


def client_key(proto, c):
    """The :clientId of G2 update/delete (section 4.2)."""
    if proto == "trojan":
        return c.get("password", "")
    if proto == "shadowsocks":
        return c.get("email", "")
    return c.get("id", "")


def all_clients():
    for ib in DB["inbounds"]:
        for c in ib["settings"].get("clients") or []:
            yield ib, c


def email_taken(email, skip=None):
    exact = "email-exact" in OPTS.quirk
    for ib, c in all_clients():
        if c is skip:
            continue
        e = c.get("email", "")
        if e and (e == email if exact else e.lower() == email.lower()):
            return True
    return False


def inbound(iid):
    for ib in DB["inbounds"]:
        if ib["id"] == iid:
            return ib
    return None


def traffic_row(email, ib_id, c):
    row = {"id": DB["next_traffic"], "inboundId": ib_id, "enable": bool(c.get("enable", True)),
           "email": email, "up": 0, "down": 0, "allTime": 0, "expiryTime": int(c.get("expiryTime") or 0),
           "total": int(c.get("totalGB") or 0), "reset": int(c.get("reset") or 0), "lastOnline": 0}
    DB["next_traffic"] += 1
    DB["traffics"][email.lower()] = row
    return row


def traffic_out(row):
    """ClientTraffic as emitted, uuid and subId filled in on read (section 5)."""
    c = None
    for ib, x in all_clients():
        if x.get("email", "").lower() == row["email"].lower():
            c = x
            break
    out = {"id": row["id"], "inboundId": row["inboundId"], "enable": row["enable"], "email": row["email"],
           "uuid": (c or {}).get("id", ""), "subId": (c or {}).get("subId", ""), "up": row["up"],
           "down": row["down"]}
    if not G3():
        out["allTime"] = row.get("allTime", 0)
    out.update({"expiryTime": row["expiryTime"], "total": row["total"], "reset": row["reset"],
                "lastOnline": row["lastOnline"]})
    if c is not None and vtuple(OPTS.panel_version) >= (2, 8, 1):
        # v2.8.1+: the settings JSON's enable, which stays true on a
        # depleted client up to v2.9.3 (sections 2.1, 5)
        out["enable"] = bool(c.get("enable", True))
    return out


def inbound_out(ib, stats=True):
    """Inbound in Go's field order: strings in G2, objects at the end in G3 (sections 3.1, 8.10)."""
    st = None
    if stats:
        st = [traffic_out(r) for r in DB["traffics"].values() if r["inboundId"] == ib["id"]]
    if G3():
        out = {"id": ib["id"], "up": ib["up"], "down": ib["down"], "total": ib["total"], "remark": ib["remark"],
               "subSortIndex": 0, "enable": ib["enable"], "expiryTime": ib["expiryTime"],
               "trafficReset": ib["trafficReset"], "trafficResetDay": 0,
               "lastTrafficResetTime": ib["lastTrafficResetTime"], "clientStats": st, "listen": ib["listen"],
               "port": ib["port"], "protocol": ib["protocol"], "tag": ib["tag"], "shareAddrStrategy": "",
               "shareAddr": "", "settings": ib["settings"], "streamSettings": ib["streamSettings"],
               "sniffing": ib["sniffing"]}
    else:
        out = {"id": ib["id"], "up": ib["up"], "down": ib["down"], "total": ib["total"], "allTime": ib["allTime"],
               "remark": ib["remark"], "enable": ib["enable"], "expiryTime": ib["expiryTime"],
               "trafficReset": ib["trafficReset"], "lastTrafficResetTime": ib["lastTrafficResetTime"],
               "clientStats": st, "listen": ib["listen"], "port": ib["port"], "protocol": ib["protocol"],
               "settings": json.dumps(ib["settings"], indent=2), "streamSettings": json.dumps(ib["streamSettings"], indent=2),
               "tag": ib["tag"], "sniffing": json.dumps(ib["sniffing"], indent=2)}
    return out


def default_settings(proto):
    if proto == "vless":
        return {"clients": [], "decryption": "none", "fallbacks": []}
    if proto == "trojan":
        return {"clients": [], "fallbacks": []}
    if proto == "shadowsocks":
        m = "2022-blake3-aes-128-gcm"
        return {"method": m, "password": ss_key(m), "network": "tcp,udp", "clients": [], "ivCheck": False}
    return {"clients": []}


def as_obj(v, default):
    if v is None or v == "":
        return default
    if isinstance(v, str):
        return json.loads(v)
    return v


def new_inbound(d):
    """An inbound from a request or a seed; the tag as the controller sets it."""
    proto = d.get("protocol", "")
    port = int(d.get("port") or 0)
    listen = d.get("listen") or ""
    ib = {"id": DB["next_inbound"], "up": 0, "down": 0, "total": int(d.get("total") or 0), "allTime": 0,
          "remark": d.get("remark") or "", "enable": d.get("enable", True) not in (False, "false"),
          "expiryTime": int(d.get("expiryTime") or 0), "trafficReset": d.get("trafficReset") or "never",
          "lastTrafficResetTime": 0, "listen": listen, "port": port, "protocol": proto,
          "settings": as_obj(d.get("settings"), default_settings(proto)),
          "streamSettings": as_obj(d.get("streamSettings"), {"network": "tcp", "security": "none",
                                                               "tcpSettings": {"header": {"type": "none"}}}),
          "sniffing": as_obj(d.get("sniffing"), {"enabled": False, "destOverride": ["http", "tls"]}),
          "tag": "inbound-%s%d" % (listen + ":" if listen else "", port)}
    ib["settings"].setdefault("clients", [])
    DB["next_inbound"] += 1
    DB["inbounds"].append(ib)
    for c in ib["settings"]["clients"]:
        if c.get("email"):
            traffic_row(c["email"], ib["id"], c)
            record_put(c)
    return ib


def record_put(c, keep_id=None):
    e = c["email"].lower()
    old = DB["records"].get(e)
    rec = dict(c)
    rec["_row"] = old["_row"] if old else DB["next_record"]
    if not old:
        DB["next_record"] += 1
    DB["records"][e] = rec
    return rec


def record_out(rec):
    """A v3 ClientRecord: id renamed uuid, the numeric row id, createdAt/updatedAt (section 3.2)."""
    out = {"id": rec["_row"]}
    for k, v in rec.items():
        if k == "_row":
            continue
        if k == "id":
            out["uuid"] = v
        elif k == "created_at":
            out["createdAt"] = v
        elif k == "updated_at":
            out["updatedAt"] = v
        else:
            out[k] = v
    return out


def inbound_ids(email):
    return [ib["id"] for ib, c in all_clients() if c.get("email", "").lower() == email.lower()]


def tick(email, up, down):
    """One traffic tick for one client (section 5, steps 1-3)."""
    row = DB["traffics"].get(email.lower())
    if row is None:
        return False
    t = now_ms()
    row["up"] += up
    row["down"] += down
    row["allTime"] = row.get("allTime", 0) + up + down
    if up or down:
        row["lastOnline"] = t
        DB["onlines"][row["email"]] = t
        if row["expiryTime"] < 0:
            row["expiryTime"] = t - row["expiryTime"]
    if row["reset"] > 0 and 0 < row["expiryTime"] <= t:
        while row["expiryTime"] <= t:
            row["expiryTime"] += row["reset"] * 86400000
        row["up"] = row["down"] = 0
        row["enable"] = True
    if (row["total"] > 0 and row["up"] + row["down"] >= row["total"]) or (0 < row["expiryTime"] <= t):
        row["enable"] = False
        if G3() or vtuple(OPTS.panel_version) >= (2, 9, 4):
            for ib, c in all_clients():
                if c.get("email", "").lower() == email.lower():
                    c["enable"] = False
            rec = DB["records"].get(email.lower())
            if rec:
                rec["enable"] = False
    ib = inbound(row["inboundId"])
    if ib:
        ib["up"] += up
        ib["down"] += down
    return True


def G3():
    return OPTS.gen == "current"


# -- G2 routes (section 2.1, 4.1, 4.2) ------------------------------------

def g2_settings(form):
    """The settings string of addClient/updateClient; a JSON object fails to bind."""
    s = form.get("settings")
    if not isinstance(s, str):
        raise BindError("json: cannot unmarshal object into Go struct field Inbound.settings of type string")
    return json.loads(s)


class BindError(Exception):
    pass


class Panic(Exception):
    pass


def g2_add_client(form):
    try:
        settings = g2_settings(form)
    except BindError as e:
        return fail("Inbound has been successfully updated.", e)
    except ValueError as e:
        return fail("Something went wrong", PanelError(str(e)))
    if not isinstance(settings, dict) or not isinstance(settings.get("clients"), list):
        raise Panic("interface conversion: interface {} is nil, not []interface {}")
    ib = inbound(int(form.get("id") or 0))
    if ib is None:
        return fail("Something went wrong", "record not found")
    seen = set()
    for c in settings["clients"]:
        e = c.get("email", "")
        key = e if "email-exact" in OPTS.quirk else e.lower()
        if e and (email_taken(e) or key in seen):
            return fail("Something went wrong", PanelError("Duplicate email: " + e))
        seen.add(key)
        if not client_key(ib["protocol"], c):
            return fail("Something went wrong", PanelError("empty client ID"))
    t = now_ms()
    for c in settings["clients"]:
        c["created_at"] = c["updated_at"] = t
        ib["settings"]["clients"].append(c)
        if c.get("email"):
            traffic_row(c["email"], ib["id"], c)
            record_put(c)
    return env(True, "Inbound client(s) have been added.")


def g2_update_client(key, form):
    try:
        settings = g2_settings(form)
    except BindError as e:
        return fail("Inbound has been successfully updated.", e)
    if not isinstance(settings, dict) or not isinstance(settings.get("clients"), list) or not settings["clients"]:
        raise Panic("index out of range")
    ib = inbound(int(form.get("id") or 0))
    if ib is None:
        return fail("Something went wrong", "record not found")
    new = settings["clients"][0]
    clients = ib["settings"]["clients"]
    idx = next((i for i, c in enumerate(clients) if client_key(ib["protocol"], c) == key), None)
    if idx is None or not client_key(ib["protocol"], new):
        return fail("Something went wrong", PanelError("empty client ID"))
    old = clients[idx]
    e = new.get("email", "")
    if e and e.lower() != old.get("email", "").lower() and email_taken(e, skip=old):
        return fail("Something went wrong", PanelError("Duplicate email: " + e))
    new["created_at"] = old.get("created_at", now_ms())
    new["updated_at"] = now_ms()
    clients[idx] = new
    row = DB["traffics"].pop(old.get("email", "").lower(), None)
    DB["records"].pop(old.get("email", "").lower(), None)
    if e:
        if row is None:
            row = traffic_row(e, ib["id"], new)
        row.update({"email": e, "enable": bool(new.get("enable", False)), "total": int(new.get("totalGB") or 0),
                    "expiryTime": int(new.get("expiryTime") or 0), "reset": int(new.get("reset") or 0)})
        DB["traffics"][e.lower()] = row
        record_put(new)
    return env(True, "Inbound client has been updated.")


def g2_del_client(ib, match):
    clients = ib["settings"]["clients"]
    keep = [c for c in clients if not match(c)]
    gone = [c for c in clients if match(c)]
    if gone and not keep:
        return False, PanelError("no client remained in Inbound")
    ib["settings"]["clients"] = keep
    for c in gone:
        DB["traffics"].pop(c.get("email", "").lower(), None)
        DB["records"].pop(c.get("email", "").lower(), None)
    return True, len(gone)


def route_g2(method, parts, form, q):
    """parts: the path under panel/api/inbounds, split on '/'."""
    n = len(parts)
    if method == "GET":
        if parts == ["list"]:
            return env(True, "", [inbound_out(ib) for ib in DB["inbounds"]])
        if n == 2 and parts[0] == "get":
            ib = inbound(int(parts[1])) if parts[1].isdigit() else None
            if ib is None:
                return fail("Obtain", "record not found")
            return env(True, "", inbound_out(ib, stats=False))
        if n == 2 and parts[0] == "getClientTraffics":
            row = DB["traffics"].get(parts[1].lower())
            if row is None:
                if "traffics-null" in OPTS.quirk:
                    return env(True, "", None)
                return fail("Error getting traffics.", PanelError("Inbound Not Found For Email: " + parts[1]))
            return env(True, "", traffic_out(row))
        if n == 2 and parts[0] == "getClientTrafficsById":
            rows = [traffic_out(DB["traffics"][c["email"].lower()]) for ib, c in all_clients()
                    if c.get("id") == parts[1] and c.get("email", "").lower() in DB["traffics"]]
            return env(True, "", rows)
        return NOT_FOUND
    if parts == ["add"]:
        if any(ib["port"] == int(form.get("port") or 0) for ib in DB["inbounds"]):
            return fail("Something went wrong", PanelError("Port already exists: %s" % form.get("port")))
        try:
            ib = new_inbound(form)
        except ValueError as e:
            return fail("Something went wrong", e)
        return env(True, "Inbound has been successfully created.", inbound_out(ib, stats=False))
    if n == 2 and parts[0] == "del":
        ib = inbound(int(parts[1])) if parts[1].isdigit() else None
        if ib is not None:
            DB["inbounds"].remove(ib)
            for c in ib["settings"]["clients"]:
                DB["traffics"].pop(c.get("email", "").lower(), None)
                DB["records"].pop(c.get("email", "").lower(), None)
        return env(True, "Inbound has been successfully deleted.", int(parts[1]) if parts[1].isdigit() else 0)
    if n == 2 and parts[0] == "update":
        ib = inbound(int(parts[1])) if parts[1].isdigit() else None
        if ib is None:
            return fail("Something went wrong", "record not found")
        for k in ("remark", "listen", "trafficReset"):
            if k in form:
                ib[k] = form[k]
        for k in ("port", "total", "expiryTime"):
            if k in form:
                ib[k] = int(form[k])
        if "enable" in form:
            ib["enable"] = form["enable"] not in (False, "false")
        for k in ("settings", "streamSettings", "sniffing"):
            if k in form:
                ib[k] = as_obj(form[k], ib[k])
        return env(True, "Inbound has been successfully updated.", inbound_out(ib, stats=False))
    if parts == ["addClient"]:
        return g2_add_client(form)
    if n == 2 and parts[0] == "updateClient":
        return g2_update_client(parts[1], form)
    if n == 3 and parts[1] == "delClient":
        ib = inbound(int(parts[0])) if parts[0].isdigit() else None
        if ib is None:
            return fail("Something went wrong", "record not found")
        ok, r = g2_del_client(ib, lambda c: client_key(ib["protocol"], c) == parts[2])
        return env(True, "Inbound client has been deleted.") if ok else fail("Something went wrong", r)
    if n == 3 and parts[1] == "delClientByEmail":
        ib = inbound(int(parts[0])) if parts[0].isdigit() else None
        if ib is None or not any(c.get("email") == parts[2] for c in ib["settings"]["clients"]):
            return env(False, "Failed to delete client by email (client with email %s not found)" % parts[2])
        ok, r = g2_del_client(ib, lambda c: c.get("email") == parts[2])
        return env(True, "Client deleted successfully") if ok else \
            env(False, "Failed to delete client by email (%s)" % r)
    if n == 3 and parts[1] == "resetClientTraffic":
        row = DB["traffics"].get(parts[2].lower())
        if row:
            row.update({"up": 0, "down": 0, "enable": True})
        return env(True, "Traffic has been reset.")
    if parts == ["resetAllTraffics"]:
        for ib in DB["inbounds"]:
            ib["up"] = ib["down"] = 0
        return env(True, "All traffic has been reset.")
    if n == 2 and parts[0] == "resetAllClientTraffics":
        for row in DB["traffics"].values():
            if parts[1] == "-1" or str(row["inboundId"]) == parts[1]:
                row.update({"up": 0, "down": 0, "enable": True})
        for ib in DB["inbounds"]:
            if parts[1] == "-1" or str(ib["id"]) == parts[1]:
                ib["lastTrafficResetTime"] = now_ms()
        return env(True, "All traffic has been reset.")
    if n == 2 and parts[0] == "delDepletedClients":
        t = now_ms()
        for ib in list(DB["inbounds"]):
            if parts[1] != "-1" and str(ib["id"]) != parts[1]:
                continue

            def depleted(c):
                row = DB["traffics"].get(c.get("email", "").lower())
                return row is not None and row["reset"] == 0 and (
                    (row["total"] > 0 and row["up"] + row["down"] >= row["total"]) or 0 < row["expiryTime"] <= t)
            gone = [c for c in ib["settings"]["clients"] if depleted(c)]
            ib["settings"]["clients"] = [c for c in ib["settings"]["clients"] if not depleted(c)]
            for c in gone:
                DB["traffics"].pop(c["email"].lower(), None)
                DB["records"].pop(c["email"].lower(), None)
            if gone and not ib["settings"]["clients"]:
                DB["inbounds"].remove(ib)
        return env(True, "All depleted clients are deleted.")
    if parts == ["onlines"]:
        return env(True, "", sorted(DB["onlines"]) or None)
    if parts == ["lastOnline"]:
        return env(True, "", {r["email"]: r["lastOnline"] for r in DB["traffics"].values() if r["lastOnline"]})
    if n == 2 and parts[0] == "updateClientTraffic":
        row = DB["traffics"].get(parts[1].lower())
        if row is None:
            return fail("Something went wrong", "record not found")
        row["up"], row["down"] = int(form.get("upload") or 0), int(form.get("download") or 0)
        return env(True, "Traffic has been updated.")
    if n == 2 and parts[0] == "clientIps":
        return env(True, "", "No IP Record")
    if n == 2 and parts[0] == "clearClientIps":
        return env(True, "The log has been cleared.")
    return NOT_FOUND


# -- G3 routes (sections 2.2, 4.3) ----------------------------------------

BAD_CHARS = re.compile(r"[/\\ \x00-\x1f\x7f]")


def g3_fill(c, ib):
    """fillProtocolDefaults (section 4.3): the secrets an inbound needs when
    omitted go into the one client object c, which is shared across the
    inbounds of one add; returns the copy the inbound stores."""
    p = ib["protocol"]
    if p in ("vless", "vmess") and not c.get("id"):
        c["id"] = str(uuid.uuid4())
    if p == "trojan" and not c.get("password"):
        c["password"] = secrets.token_hex(16)
    copy = c
    if p == "shadowsocks":
        m = ib["settings"].get("method", "")
        if m.startswith("2022-"):
            if "ss2022-overwrite" in OPTS.quirk:
                # v3.6.0: the key replaces a password an earlier inbound
                # got, in the shared object (so in the clients table too).
                c["password"] = ss_key(m)
            else:
                copy = dict(c)
                copy["password"] = ss_key(m)
        elif not c.get("password"):
            c["password"] = secrets.token_hex(8)
    copy = dict(copy)
    if p != "vless":
        copy.pop("flow", None)
    return copy


def route_g3_clients(method, parts, body, q):
    n = len(parts)
    if method == "GET":
        if parts == ["list"]:
            out = []
            for e, rec in DB["records"].items():
                o = record_out(rec)
                o["inboundIds"] = inbound_ids(e)
                row = DB["traffics"].get(e)
                o["traffic"] = traffic_out(row) if row else None
                out.append(o)
            return env(True, "", out)
        if n == 2 and parts[0] == "get":
            rec = DB["records"].get(parts[1].lower())
            if rec is None:
                return fail("Obtain", "record not found")
            row = DB["traffics"].get(parts[1].lower())
            return env(True, "", {"client": record_out(rec), "inboundIds": inbound_ids(parts[1]),
                                  "externalLinks": [], "usedTraffic": (row["up"] + row["down"]) if row else 0})
        if n == 2 and parts[0] == "traffic":
            row = DB["traffics"].get(parts[1].lower())
            return env(True, "", traffic_out(row) if row else None)
        return NOT_FOUND
    if not isinstance(body, dict):
        return NOT_FOUND if body is NOT_FOUND else fail("Something went wrong", body)
    if parts == ["add"]:
        c = body.get("client")
        if not isinstance(c, dict):
            return fail("Something went wrong", PanelError("client email is required"))
        if isinstance(c.get("tgId"), str):
            return fail("Something went wrong",
                        "json: cannot unmarshal string into Go struct field Client.client.tgId of type int64")
        email = c.get("email") or ""
        if not email:
            return fail("Something went wrong", PanelError("client email is required"))
        m = BAD_CHARS.search(email)
        if m:
            return fail("Something went wrong", PanelError("client email contains an invalid character: " + m.group()))
        if c.get("subId") and BAD_CHARS.search(c["subId"]):
            return fail("Something went wrong",
                        PanelError("subId contains an invalid character: " + BAD_CHARS.search(c["subId"]).group()))
        ids = body.get("inboundIds") or []
        if not ids:
            return fail("Something went wrong", PanelError("at least one inbound is required"))
        ibs = [inbound(int(i)) for i in ids]
        if any(ib is None for ib in ibs):
            return fail("Something went wrong", "record not found")
        sub = c.get("subId") or str(uuid.uuid4())
        old = DB["records"].get(email.lower())
        if old is not None and old["email"] == email:
            if old.get("subId") != sub:
                return fail("Something went wrong", PanelError("email already in use: " + email))
            c = {k: v for k, v in old.items() if k != "_row"}      # idempotent: stored credentials reused
        elif old is not None:
            return fail("Something went wrong", PanelError("Duplicate email: " + email))
        for r in DB["records"].values():
            if r.get("subId") == sub and r["email"].lower() != email.lower():
                return fail("Something went wrong", PanelError("subId already in use: " + sub))
        c = dict(c)
        c["subId"] = sub
        c["enable"] = True
        c.setdefault("created_at", now_ms())
        c["updated_at"] = now_ms()
        for ib in ibs:
            if any(x.get("email", "").lower() == email.lower() for x in ib["settings"]["clients"]):
                continue            # already there: skipped silently
            ib["settings"]["clients"].append(g3_fill(c, ib))
        if email.lower() not in DB["traffics"]:
            traffic_row(email, ibs[0]["id"], c)
        record_put(c)
        return env(True, "Inbound client(s) have been added.")
    if n == 2 and parts[0] == "update":
        e = parts[1]
        old = DB["records"].get(e.lower())
        if old is None:
            return fail("Something went wrong", PanelError('client "%s" not found in any inbound or client record' % e))
        new = dict(body)
        for k in ("id", "password", "auth", "secret", "subId"):
            if not new.get(k) and old.get(k):
                new[k] = old[k]
        new.setdefault("enable", False)
        new.setdefault("totalGB", 0)
        new.setdefault("expiryTime", 0)
        new.setdefault("limitIp", 0)
        ne = new.get("email") or e
        new["email"] = ne
        if ne.lower() != e.lower() and ne.lower() in DB["records"]:
            return fail("Something went wrong", PanelError("Duplicate email: " + ne))
        new["created_at"] = old.get("created_at", now_ms())
        new["updated_at"] = now_ms()
        for ib in DB["inbounds"]:
            cl = ib["settings"]["clients"]
            for i, c in enumerate(cl):
                if c.get("email", "").lower() == e.lower():
                    x = dict(new)
                    if ib["protocol"] != "vless":
                        x.pop("flow", None)
                    cl[i] = x
        del DB["records"][e.lower()]
        rec = dict(new)
        rec["_row"] = old["_row"]
        DB["records"][ne.lower()] = rec
        row = DB["traffics"].pop(e.lower(), None)
        if row:
            row.update({"email": ne, "enable": bool(new["enable"]), "total": int(new["totalGB"] or 0),
                        "expiryTime": int(new["expiryTime"] or 0), "reset": int(new.get("reset") or 0)})
            DB["traffics"][ne.lower()] = row
        return env(True, "Inbound client has been updated.")
    if n == 2 and parts[0] == "del":
        e = parts[1]
        if e.lower() not in DB["records"] and not inbound_ids(e):
            return fail("Something went wrong", PanelError('client "%s" not found in any inbound or client record' % e))
        for ib in DB["inbounds"]:
            ib["settings"]["clients"] = [c for c in ib["settings"]["clients"]
                                         if c.get("email", "").lower() != e.lower()]
        DB["records"].pop(e.lower(), None)
        if q.get("keepTraffic") not in ("1", "true"):
            DB["traffics"].pop(e.lower(), None)
        return env(True, "Inbound client has been deleted.")
    if n == 2 and parts[0] == "resetTraffic":
        row = DB["traffics"].get(parts[1].lower())
        if row:
            row.update({"up": 0, "down": 0, "enable": True})
        # re-enabled on every attached inbound, and in the clients table
        for ib, c in all_clients():
            if c.get("email", "").lower() == parts[1].lower():
                c["enable"] = True
        if parts[1].lower() in DB["records"]:
            DB["records"][parts[1].lower()]["enable"] = True
        return env(True, "Traffic has been reset.")
    if n == 2 and parts[0] == "updateTraffic":
        row = DB["traffics"].get(parts[1].lower())
        if row is None:
            return fail("Something went wrong", "record not found")
        row["up"], row["down"] = int(body.get("upload") or 0), int(body.get("download") or 0)
        return env(True, "Traffic has been updated.")
    if parts == ["resetAllTraffics"]:
        for row in DB["traffics"].values():
            row.update({"up": 0, "down": 0, "enable": True})
        return env(True, "All traffic has been reset.")
    if parts == ["onlines"]:
        return env(True, "", sorted(DB["onlines"]))
    if parts == ["lastOnline"]:
        return env(True, "", {r["email"]: r["lastOnline"] for r in DB["traffics"].values() if r["lastOnline"]})
    if n == 2 and parts[1] in ("attach", "detach"):
        rec = DB["records"].get(parts[0].lower())
        if rec is None:
            return fail("Something went wrong", "record not found")
        for i in body.get("inboundIds") or []:
            ib = inbound(int(i))
            if ib is None:
                return fail("Something went wrong", "record not found")
            cl = ib["settings"]["clients"]
            has = any(c.get("email", "").lower() == parts[0].lower() for c in cl)
            if parts[1] == "attach" and not has:
                cl.append(g3_fill({k: v for k, v in rec.items() if k != "_row"}, ib))
            if parts[1] == "detach":
                ib["settings"]["clients"] = [c for c in cl if c.get("email", "").lower() != parts[0].lower()]
        return env(True, "")
    return NOT_FOUND


def route_g3_inbounds(method, parts, body, q):
    n = len(parts)
    if method == "GET":
        if parts == ["list"]:
            return env(True, "", [inbound_out(ib) for ib in DB["inbounds"]])
        if n == 2 and parts[0] == "get":
            ib = inbound(int(parts[1])) if parts[1].isdigit() else None
            if ib is None:
                return fail("Obtain", "record not found")
            return env(True, "", inbound_out(ib, stats=True))
        return NOT_FOUND
    if parts == ["add"]:
        if body.get("protocol") not in ("vmess", "vless", "trojan", "shadowsocks", "wireguard", "hysteria",
                                        "http", "mixed", "tunnel", "tun", "mtproto"):
            return (200, {"success": False, "msg": "request body failed validation",
                          "obj": {"issues": [{"field": "protocol", "rule": "oneof", "param": "",
                                              "message": "protocol is not supported"}],
                                  "message": "protocol is not supported"}})
        port = int(body.get("port") or 0)
        for ib in DB["inbounds"]:
            if ib["port"] == port:
                return fail("Something went wrong", PanelError(
                    "port %d (tcp) already used by inbound %d on %s" % (port, ib["id"], ib["listen"] or "0.0.0.0")))
        ib = new_inbound(body)
        return env(True, "Inbound has been successfully created.", inbound_out(ib, stats=False))
    if n == 2 and parts[0] in ("del", "setEnable") or n == 2 and parts[1] in ("resetTraffic", "delAllClients"):
        iid = parts[1] if parts[0] in ("del", "setEnable") else parts[0]
        ib = inbound(int(iid)) if iid.isdigit() else None
        if ib is None:
            return fail("Something went wrong", "record not found")
        if parts[0] == "del":
            DB["inbounds"].remove(ib)
            return env(True, "Inbound has been successfully deleted.", ib["id"])
        if parts[0] == "setEnable":
            ib["enable"] = bool(body.get("enable"))
        elif parts[1] == "resetTraffic":
            ib["up"] = ib["down"] = 0
        else:
            for c in ib["settings"]["clients"]:
                DB["traffics"].pop(c.get("email", "").lower(), None)
            ib["settings"]["clients"] = []
        return env(True, "")
    if n == 2 and parts[0] == "update":
        return route_g2(method, parts, body, q)
    if parts == ["resetAllTraffics"]:
        for ib in DB["inbounds"]:
            ib["up"] = ib["down"] = 0
        return env(True, "All traffic has been reset.")
    return NOT_FOUND


def server_status():
    st = {"cpu": 1.5, "cpuCores": 2, "logicalPro": 2, "cpuSpeedMhz": 2400,
          "mem": {"current": 512 << 20, "total": 2048 << 20}, "swap": {"current": 0, "total": 0},
          "disk": {"current": 5 << 30, "total": 20 << 30},
          "xray": core_xray() if OPTS.core else
                  {"state": OPTS.xray_state, "errorMsg": "" if OPTS.xray_state != "error" else "xray exited",
                   "version": "25.10.15"},
          "uptime": int(time.time() - START), "loads": [0.1, 0.1, 0.05], "tcpCount": 10, "udpCount": 2,
          "netIO": {"up": 0, "down": 0}, "netTraffic": {"sent": 0, "recv": 0},
          "publicIP": {"ipv4": "127.0.0.1", "ipv6": "N/A"},
          "appStats": {"threads": 12, "mem": 30 << 20, "uptime": int(time.time() - START)}}
    if vtuple(OPTS.panel_version) >= (3, 1, 0):
        st["panelVersion"] = OPTS.panel_version
    return env(True, "", st)


START = time.time()


# -- the proxy core (--core): v2ray serving the double's inbounds -------------
#
# With --core, the double stands for the whole panel, Xray included: it
# writes a v2ray 4.34 server config from its inbounds and the clients a
# real core would serve (enabled inbound, enabled client, traffic row
# enabled, not expired), and (re)starts v2ray whenever that config
# changes.  One thread polls the wanted config (so expiry by the clock,
# quota by a traffic tick and every API change are all seen alike) and
# restarts only once it has been stable for --core-debounce seconds: a
# burst of adds costs one restart.  v2ray 4.34 has no hot reload, so a
# restart drops open connections, as Xray's restart in 3X-UI does.
#
# What v2ray 4.34 serves (and what the demo sells): VMess (alterId 0, so
# AEAD) and VLESS, each over tcp or ws, Trojan, TLS from certificate
# files, and Shadowsocks with a legacy AEAD cipher.  Its Shadowsocks
# inbound holds ONE user (multi-user Shadowsocks is Xray's), so the
# double serves the newest servable client of each Shadowsocks inbound
# and names the others in xray.errorMsg; Shadowsocks 2022 and REALITY
# are not served at all (also named there).

CORE = {"proc": None, "state": "stop", "error": "", "restarts": 0, "served": None, "stopped": False,
        "force": False, "skipped": [], "log": None, "api_port": 0}
CORE_CIPHERS = ("aes-128-gcm", "aes-256-gcm", "chacha20-poly1305", "chacha20-ietf-poly1305")


def core_servable(c):
    """Whether a real core would accept this client now (section 5's
    enable, quota and expiry, as the traffic row keeps them)."""
    if not c.get("email") or c.get("enable", True) in (False, "false", 0):
        return False
    row = DB["traffics"].get(c["email"].lower())
    exp = int(c.get("expiryTime") or 0)
    if row is not None:
        if not row["enable"]:
            return False
        exp = row["expiryTime"]
        if row["total"] > 0 and row["up"] + row["down"] >= row["total"]:
            return False
    return not (exp > 0 and exp <= now_ms())


def core_stream(ss, skipped, where):
    """v2ray 4.34 streamSettings from the inbound's (3X-UI) streamSettings,
    or None when v2ray cannot serve it."""
    net = ss.get("network") or "tcp"
    sec = ss.get("security") or "none"
    out = {"network": net, "security": sec}
    if net == "ws":
        ws = ss.get("wsSettings") or {}
        hdrs = dict(ws.get("headers") or {})
        if ws.get("host"):
            hdrs["Host"] = ws["host"]
        out["wsSettings"] = {"path": ws.get("path") or "/", "headers": hdrs}
    elif net == "tcp":
        hdr = (ss.get("tcpSettings") or {}).get("header") or {"type": "none"}
        if hdr.get("type", "none") != "none":
            skipped.append("%s: tcp header %s" % (where, hdr.get("type")))
            return None
    else:
        skipped.append("%s: network %s" % (where, net))
        return None
    if sec == "tls":
        tls = ss.get("tlsSettings") or {}
        certs = []
        for c in tls.get("certificates") or []:
            x = {}
            for k in ("certificateFile", "keyFile", "certificate", "key"):
                if c.get(k):
                    x[k] = c[k]
            if x:
                certs.append(x)
        if not certs:
            skipped.append("%s: tls without a certificate" % where)
            return None
        out["tlsSettings"] = {"certificates": certs, "alpn": tls.get("alpn") or ["http/1.1"]}
        if tls.get("serverName"):
            out["tlsSettings"]["serverName"] = tls["serverName"]
    elif sec != "none":
        skipped.append("%s: security %s" % (where, sec))
        return None
    return out


def core_config():
    """(the v2ray config as JSON text, what could not be served)."""
    skipped = []
    inbounds = []
    for ib in DB["inbounds"]:
        if not ib["enable"]:
            continue
        where = "inbound %d (%s)" % (ib["id"], ib["remark"])
        proto = ib["protocol"]
        clients = [c for c in ib["settings"].get("clients") or [] if core_servable(c)]
        if not clients:
            continue            # no user: the port stays closed, as Xray's would refuse
        stream = core_stream(ib["streamSettings"] or {}, skipped, where)
        if stream is None:
            continue
        if proto in ("vmess", "vless"):
            users = [{"id": c.get("id", ""), "email": c["email"], "level": 0} for c in clients if c.get("id")]
            for u in users:
                if proto == "vmess":
                    u["alterId"] = 0
            settings = {"clients": users}
            if proto == "vless":
                settings["decryption"] = "none"
        elif proto == "trojan":
            settings = {"clients": [{"password": c["password"], "email": c["email"], "level": 0}
                                    for c in clients if c.get("password")]}
        elif proto == "shadowsocks":
            newest = max(clients, key=lambda c: (int(c.get("created_at") or 0), ib["settings"]["clients"].index(c)))
            method = newest.get("method") or ib["settings"].get("method", "")
            if method not in CORE_CIPHERS:
                skipped.append("%s: cipher %s" % (where, method or "(none)"))
                continue
            for c in clients:
                if c is not newest:
                    skipped.append("%s: %s (v2ray 4.34 serves one shadowsocks user per port)" % (where, c["email"]))
            settings = {"method": method, "password": newest.get("password", ""), "email": newest["email"],
                        "level": 0, "network": "tcp,udp"}
        else:
            skipped.append("%s: protocol %s" % (where, proto))
            continue
        listen = ib["listen"] if ib["listen"] not in ("", "0.0.0.0", "::") else OPTS.core_listen
        inbounds.append({"tag": ib["tag"], "listen": listen, "port": ib["port"], "protocol": proto,
                         "settings": settings, "streamSettings": stream})
    conf = {"log": {"loglevel": "warning"}, "inbounds": inbounds,
            "outbounds": [{"protocol": "freedom", "tag": "direct"}]}
    if OPTS.core_stats > 0:
        # per-user counters behind the gRPC StatsService on loopback
        # (read by core_stats_pull with v2ctl): the double's clientStats
        # then count what really went through
        conf["stats"] = {}
        conf["api"] = {"tag": "api", "services": ["StatsService"]}
        conf["policy"] = {"levels": {"0": {"statsUserUplink": True, "statsUserDownlink": True}}}
        conf["inbounds"].append({"tag": "api", "listen": "127.0.0.1", "port": CORE["api_port"],
                                 "protocol": "dokodemo-door", "settings": {"address": "127.0.0.1"}})
        conf["routing"] = {"rules": [{"type": "field", "inboundTag": ["api"], "outboundTag": "api"}]}
    return json.dumps(conf, indent=1, sort_keys=True), skipped


STAT_RE = re.compile(r'name:\s*"user>>>(.*?)>>>traffic>>>(uplink|downlink)"\s*(?:value:\s*(\d+))?')


def core_stats_pull():
    """Move v2ray's per-user byte counters into the double's traffic rows
    (a traffic tick per client, as Xray's stats reach 3X-UI's
    client_traffics), resetting them in v2ray.  Before every restart too:
    v2ray's counters die with the process."""
    p = CORE["proc"]
    if OPTS.core_stats <= 0 or p is None or p.poll() is not None:
        return
    try:
        r = subprocess.run([OPTS.core_ctl, "api", "--server=127.0.0.1:%d" % CORE["api_port"],
                            "StatsService.QueryStats", 'pattern: "user>>>" reset: true'],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return
    delta = {}
    for email, way, value in STAT_RE.findall(r.stdout.decode("utf-8", "replace")):
        if value and int(value) > 0:
            d = delta.setdefault(email, [0, 0])
            d[0 if way == "uplink" else 1] += int(value)
    if delta:
        with LOCK:
            for email, (up, down) in delta.items():
                tick(email, up, down)
            persist()
            save()
        event("core stats %d clients" % len(delta))


def core_stop():
    p = CORE["proc"]
    CORE["proc"] = None
    if p is not None and p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def core_ports_open(text, deadline):
    """Wait until every inbound of the config accepts a connection."""
    ports = [(i["listen"], i["port"]) for i in json.loads(text)["inbounds"]]
    while ports and time.time() < deadline:
        if CORE["proc"] is None or CORE["proc"].poll() is not None:
            return False
        host, port = ports[0]
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            ports.pop(0)
        except OSError:
            time.sleep(0.05)
    return not ports


def core_apply(text, skipped):
    """Write the config, check it with v2ray -test, restart v2ray."""
    core_stats_pull()
    path = os.path.join(OPTS.core_dir, "config.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    core_stop()
    CORE["skipped"] = skipped
    chk = subprocess.run([OPTS.core, "-test", "-config", path], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=30)
    if chk.returncode != 0:
        CORE.update(state="error", error="v2ray -test: " + chk.stdout.decode("utf-8", "replace")[-400:].strip())
        event("core config refused")
        return
    CORE["proc"] = subprocess.Popen([OPTS.core, "-config", path], stdin=subprocess.DEVNULL,
                                    stdout=CORE["log"], stderr=subprocess.STDOUT, preexec_fn=core_child)
    CORE["restarts"] += 1
    if core_ports_open(text, time.time() + 10):
        CORE.update(state="running", error="")
    else:
        CORE.update(state="error", error="v2ray exited or did not listen (see %s)" %
                    os.path.join(OPTS.core_dir, "v2ray.log"))
    event("core restart %d %s" % (CORE["restarts"], CORE["state"]))


def core_child():
    # v2ray dies with the double, even on a SIGKILL (PR_SET_PDEATHSIG).
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def core_loop():
    """The restart thread: apply the wanted config once it has been stable
    for --core-debounce seconds (or at once for restartXrayService)."""
    seen, since, pulled = None, 0.0, time.time()
    while True:
        if OPTS.core_stats > 0 and time.time() - pulled >= OPTS.core_stats:
            core_stats_pull()
            pulled = time.time()
        with LOCK:
            want = core_config()
            stopped, force = CORE["stopped"], CORE["force"]
            CORE["force"] = False
        if stopped:
            if CORE["proc"] is not None:
                core_stop()
                CORE["served"] = None
            CORE["state"] = "stop"
        elif force or want[0] != CORE["served"]:
            if want[0] != seen:
                seen, since = want[0], time.time()
            if force or time.time() - since >= OPTS.core_debounce:
                core_apply(*want)
                CORE["served"] = want[0]
        elif CORE["proc"] is not None and CORE["proc"].poll() is not None and CORE["state"] == "running":
            CORE.update(state="error", error="v2ray exited with status %d" % CORE["proc"].returncode)
            event("core exited")
        time.sleep(0.1)


def core_xray():
    """server/status xray from the process (section 2.1's ServerStatus)."""
    st = CORE["state"]
    msg = CORE["error"] if st == "error" else ""
    if st == "running" and CORE["skipped"]:
        msg = "not served: " + "; ".join(CORE["skipped"])
    return {"state": st, "errorMsg": msg, "version": "4.34.0"}


def core_status():
    """/_double/core: whether the served config is the wanted one."""
    want = core_config()[0]
    p = CORE["proc"]
    return {"state": CORE["state"], "error": CORE["error"], "pid": p.pid if p is not None else 0,
            "restarts": CORE["restarts"], "pending": want != CORE["served"] and not CORE["stopped"],
            "skipped": CORE["skipped"], "config": os.path.join(OPTS.core_dir, "config.json")}


def core_start():
    os.makedirs(OPTS.core_dir, exist_ok=True)
    if OPTS.core_stats > 0:
        sk = socket.socket()
        sk.bind(("127.0.0.1", OPTS.core_api_port))
        CORE["api_port"] = sk.getsockname()[1]
        sk.close()
        if not OPTS.core_ctl:
            OPTS.core_ctl = os.path.join(os.path.dirname(OPTS.core), "v2ctl")
    CORE["log"] = open(os.path.join(OPTS.core_dir, "v2ray.log"), "ab")

    def bye(signum, frame):
        core_stop()
        os._exit(0)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    threading.Thread(target=core_loop, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as Go's net/http sets it: without it a reply written as
    # headers then body waits on the client's delayed ACK, 40 ms a call.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def route(self):
        path = unquote(self.path.split("?")[0])
        if not path.startswith(OPTS.base):
            return None
        return path[len(OPTS.base):]

    def query(self):
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def send_body(self, code, body, ctype, headers=()):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def reply(self, code, obj=None, cookie=None, sort=True, headers=()):
        body = b"" if obj is None else json.dumps(obj, sort_keys=sort).encode()
        hdrs = list(headers)
        if cookie:
            hdrs.append(("Set-Cookie", cookie))
        self.send_body(code, body, "application/json; charset=utf-8" if obj is not None else None, hdrs)

    def cookie_header(self, sess):
        v = vtuple(OPTS.panel_version)
        path = OPTS.base if v >= (2, 9, 0) else "/"
        return "3x-ui=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Lax" % (seal(sess), path,
                                                                           OPTS.session_max_age * 60)

    def session(self):
        """The session carried by the request's 3x-ui cookie, or None."""
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "3x-ui":
                return unseal(v)
        return None

    def enter(self, route):
        with LOCK:
            # A call is in flight from its arrival until its reply or
            # until its client hangs up.  The handler's thread notices a
            # hang-up a moment late (wait() must be scheduled first), so
            # a client that gives up on a call and then makes the next
            # one could be counted twice on a loaded machine, though it
            # closed the first before it opened the second: drop the
            # calls whose client has gone before counting this one.
            for h in [h for h in IN_FLIGHT if peer_gone(h.connection)]:
                IN_FLIGHT.discard(h)
            IN_FLIGHT.add(self)
            STATS["in_flight"] = len(IN_FLIGHT)
            STATS["max_in_flight"] = max(STATS["max_in_flight"], STATS["in_flight"])
            STATS["calls"][route] = STATS["calls"].get(route, 0) + 1
            save()
        event("enter %s" % route)

    def leave(self, route):
        with LOCK:
            IN_FLIGHT.discard(self)
            STATS["in_flight"] = len(IN_FLIGHT)
            save()
        event("leave %s" % route)

    def wait(self, seconds):
        """Sleep, but notice a client that went away; True if it did."""
        end = time.time() + seconds
        p = select.poll()
        p.register(self.connection.fileno(), select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        while time.time() < end:
            # Wakes the moment the client closes: the in-flight count
            # drops before the client can make its next call.
            if p.poll(max(1, int((end - time.time()) * 1000))) and peer_gone(self.connection):
                return True
        return peer_gone(self.connection)

    def abandon(self, route):
        with LOCK:
            STATS["abandoned"] += 1
            save()
        event("abandoned %s" % route)
        self.close_connection = True

    def do_GET(self):
        self.handle_any("GET", b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.handle_any("POST", self.rfile.read(n) if n else b"")

    def handle_any(self, method, raw):
        path = urlsplit(self.path).path
        if path.startswith("/_double/"):
            return self.control(method, path[len("/_double/"):], raw)
        route = self.route()
        self.enter(route or "?")
        try:
            if OPTS.hang and self.wait(OPTS.hang):
                return self.abandon(route)
            if route == "csrf-token" and method == "GET" and OPTS.csrf:
                return self.csrf_token()
            if route == "login" and method == "POST":
                return self.login(raw)
            if route == "logout":
                return self.logout(method)
            if route is not None and route.startswith("panel/api/"):
                return self.api(method, route[len("panel/api/"):], raw)
            self.reply(404)
        except (BrokenPipeError, ConnectionResetError):
            self.abandon(route)
        finally:
            self.leave(route or "?")

    # -- authentication (section 1) --

    def csrf_token(self):
        tok = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        sess = self.session() or {"sid": secrets.token_hex(16), "user": False}
        sess["csrf"] = tok
        return self.reply(200, {"obj": tok, "success": True}, cookie=self.cookie_header(sess))

    def form(self, raw):
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            try:
                form = json.loads(raw or b"{}")
            except ValueError:
                form = None
        else:
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
        return form if isinstance(form, dict) else None

    def csrf_ok(self, sess, form=None):
        want = (sess or {}).get("csrf")
        got = self.headers.get("X-CSRF-Token") or (form or {}).get("_csrf")
        return want is not None and got == want

    def login(self, raw):
        route = "login"
        sess = self.session()
        form = self.form(raw)
        if OPTS.csrf and not self.csrf_ok(sess, form):
            return self.reply(403)
        v = vtuple(OPTS.panel_version)
        if form is None:
            return self.reply(200, {"success": False, "obj": None, "msg": "The Input data format is invalid."
                                    if v < (3, 0, 0) else "The input data format is invalid."})
        if OPTS.delay and self.wait(OPTS.delay):
            return self.abandon(route)
        user, pw = form.get("username") or "", form.get("password") or ""
        key = (self.client_address[0], user.lower())
        blocked = False
        if OPTS.csrf:
            with LOCK:
                FAILS[key] = [t for t in FAILS.get(key, []) if t > time.time() - 300]
                blocked = len(FAILS[key]) >= 5
        ok = user == OPTS.user and pw == OPTS.password and not blocked
        if not user:
            msg = "Username is required"
        elif not pw:
            msg = "Password is required"
        elif ok:
            msg = ("You have successfully logged into your account." if v >= (3, 1, 0) or v < (2, 6, 0)
                   else " You have successfully logged into your account.")
        else:
            msg = "Invalid username or password or two-factor code."
        cookie = None
        if ok:
            # the CSRF token is not rotated (section 1.1); a new session id
            sess = {"sid": secrets.token_hex(16), "user": True, "at": time.time(), "epoch": DB["epoch"],
                    "csrf": (sess or {}).get("csrf") if OPTS.csrf else None}
            cookie = self.cookie_header(sess)
        elif OPTS.csrf and user:
            with LOCK:
                FAILS.setdefault(key, []).append(time.time())
        self.reply(200, {"success": ok, "msg": msg, "obj": None}, cookie=cookie, sort=False)
        with LOCK:
            STATS["logins" if ok else "logins_refused"] += 1
            save()
        event("login %s" % ("ok" if ok else "refused"))

    def logout(self, method):
        v = vtuple(OPTS.panel_version)
        sess = self.session()
        path = OPTS.base if v >= (2, 9, 0) else "/"
        clear = "3x-ui=; Path=%s; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
        hdrs = [("Set-Cookie", clear % path)]
        if v >= (3, 0, 2):
            if method != "POST":
                return self.reply(404)
            if not self.csrf_ok(sess):
                return self.reply(403)
            if path != "/":
                hdrs.append(("Set-Cookie", clear % "/"))    # the second, Path=/ one (section 1.2)
            with LOCK:
                CALLS[(sess or {}).get("sid")] = 1 << 62    # a replayed cookie stays logged out
            return self.reply(200, {"success": True}, headers=hdrs)
        if method != "GET":
            return self.reply(404)
        with LOCK:
            CALLS[(sess or {}).get("sid")] = 1 << 62
        self.send_body(307, b"", None, [("Location", OPTS.base)] + hdrs)

    def unauthenticated(self):
        """Section 1.3: by version, a 404, a 307 redirect or (XHR only) a 401."""
        v = vtuple(OPTS.panel_version)
        xhr = self.headers.get("X-Requested-With") == "XMLHttpRequest"
        with LOCK:
            STATS["expired"] += 1
            save()
        if v < (2, 8, 4):
            if not xhr:
                return self.send_body(307, b"", None, [("Location", OPTS.base)])
            if v < (2, 2, 5):
                return self.reply(200, {"success": False, "msg": "Your session has expired, please log in again",
                                        "obj": None}, sort=False)
            return self.reply(401, {"success": False, "msg": "Your session has expired, please log in again",
                                    "obj": None}, sort=False)
        if v >= (3, 0, 2) and xhr:
            return self.reply(401)
        return self.reply(404)

    def authorise(self, method, form):
        """True when served; otherwise the answer has been sent."""
        auth = self.headers.get("Authorization") or ""
        if OPTS.api_token and OPTS.csrf and auth == "Bearer " + OPTS.api_token:
            return True
        sess = self.session()
        with LOCK:
            live = sess is not None and sess.get("user")
            if live and OPTS.session_ttl and time.time() - sess.get("at", 0) > OPTS.session_ttl:
                live = False
            n = CALLS.get(sess["sid"], 0) if live else 0
            if live and (n >= (1 << 62) or (OPTS.expire_after and n >= OPTS.expire_after)):
                live = False
            if sess is not None and sess.get("user") and not live:
                event("session expired")
            if live:
                CALLS[sess["sid"]] = n + 1
        if not live:
            self.unauthenticated()
            return False
        if OPTS.csrf and method == "POST" and not self.csrf_ok(sess, form):
            self.reply(403)
            return False
        return True

    # -- the API --

    def api(self, method, sub, raw):
        parts = [unquote(p) for p in urlsplit(self.path).path[len(OPTS.base) + len("panel/api/"):].split("/")]
        ctype = self.headers.get("Content-Type") or ""
        if method == "POST" and G3() and parts[0] == "clients":
            # clients bind JSON only (ShouldBindJSON)
            try:
                body = json.loads(raw or b"{}")
                if not isinstance(body, dict) and not (parts[1:] == ["bulkCreate"]):
                    body = "json: cannot unmarshal array into Go value of type map"
            except ValueError as e:
                body = "invalid character in request body: %s" % e.msg
        elif method == "POST" and ctype.startswith("application/json"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
        else:
            body = self.form(raw) or {}
        if not self.authorise(method, body if isinstance(body, dict) else {}):
            return
        q = self.query()
        key = "/".join(parts)
        fault = self.fault_for(key)
        if fault and not fault["acted"] and fault["kind"] != "slow":
            # the panel failed before acting (slow is an answer, so it acts)
            return self.do_fault(fault, env(True, "", None))
        with LOCK:
            try:
                if parts[0] == "inbounds":
                    res = (route_g3_inbounds if G3() else route_g2)(method, parts[1:], body, q)
                elif parts[0] == "clients" and G3():
                    res = route_g3_clients(method, parts[1:], body, q)
                elif parts[0] == "server" and vtuple(OPTS.panel_version) >= (2, 7, 0):
                    if parts[1:] == ["status"] and method == "GET":
                        res = server_status()
                    elif parts[1:] == ["getNewUUID"] and method == "GET":
                        res = env(True, "", str(uuid.uuid4()))
                    elif parts[1:] == ["getXrayVersion"] and method == "GET":
                        res = env(True, "", ["25.10.15"])
                    elif parts[1:] in (["restartXrayService"], ["stopXrayService"]) and method == "POST":
                        OPTS.xray_state = "running" if parts[1] == "restartXrayService" else "stop"
                        CORE["stopped"] = parts[1] == "stopXrayService"
                        CORE["force"] = parts[1] == "restartXrayService"
                        res = env(True, "")
                    else:
                        res = NOT_FOUND
                else:
                    res = NOT_FOUND
            except Panic:
                res = (500, None)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                res = fail("Something went wrong", PanelError(str(e)))
            if method == "POST" and res is not NOT_FOUND:
                persist()
            save()
        if res is NOT_FOUND:
            return self.reply(404)
        if fault:
            return self.do_fault(fault, res)
        code, obj = res
        self.reply(code, obj, sort=False)

    # -- faults --

    def fault_for(self, key):
        with LOCK:
            f = FAULT
            if not f["kind"]:
                return None
            if f["route"] and f["route"] not in key:
                return None
            f["seen"] += 1
            if f["seen"] <= f["after"]:
                return None
            if f["count"] and f["seen"] > f["after"] + f["count"]:
                return None
            STATS["faults"] += 1
            save()
            event("fault %s %s" % (f["kind"], key))
            return dict(f)

    def do_fault(self, f, res):
        code, obj = res
        body = b"" if obj is None else json.dumps(obj).encode()
        k = f["kind"]
        if k == "500":
            return self.reply(500)
        if k == "malformed":
            return self.send_body(200, b'{"success":true,"msg":"","obj":[{"id":1,', "application/json; charset=utf-8")
        if k == "truncated":
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body) + 100))
            self.end_headers()
            self.wfile.write(body[:max(1, len(body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            return
        if k == "oversized":
            head, tail = b'{"success":true,"msg":"","obj":"', b'"}'
            big = head + b"x" * max(0, OPTS.oversize - len(head) - len(tail)) + tail
            return self.send_body(200, big, "application/json; charset=utf-8")
        if k == "hostile":
            # valid JSON of the wrong shape: a string success, a NUL and
            # markup in msg, an obj nested 5000 deep (a stack-eating parser)
            body = (b'{"success":"true","msg":"\\u0000<script>alert(1)</script>","obj":' + b"[" * 5000 +
                    b"]" * 5000 + b"}")
            return self.send_body(200, body, "application/json; charset=utf-8")
        if k == "refuse":
            return self.reply(200, {"success": False, "msg": f["msg"] or "Something went wrong (refused by the double\n)",
                                    "obj": None}, sort=False)
        if k == "slow":
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            steps = max(1, min(len(body), 10))
            chunk = -(-len(body) // steps)
            for i in range(0, len(body), chunk):
                self.wfile.write(body[i:i + chunk])
                self.wfile.flush()
                if self.wait(f["seconds"] / steps):
                    return self.abandon("slow")
            return
        return self.reply(code, obj, sort=False)

    # -- control routes for tests (not part of a panel) --

    def control(self, method, what, raw):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.reply(400, {"error": "bad json"})
        with LOCK:
            if what == "state" and method == "GET":
                out = {"inbounds": [inbound_out(ib) for ib in DB["inbounds"]],
                       "clients": [record_out(r) for r in DB["records"].values()],
                       "traffics": list(DB["traffics"].values()), "onlines": sorted(DB["onlines"]),
                       "stats": STATS, "fault": FAULT, "epoch": DB["epoch"]}
                # the state view shows settings as objects whatever the generation
                for ib, src in zip(out["inbounds"], DB["inbounds"]):
                    ib["settings"], ib["streamSettings"] = src["settings"], src["streamSettings"]
                return self.reply(200, out)
            if what == "fault" and method == "POST":
                FAULT.update({"kind": body.get("kind", ""), "route": body.get("route", ""),
                              "after": int(body.get("after", 0)), "count": int(body.get("count", 0)),
                              "msg": body.get("msg", ""), "seconds": float(body.get("seconds", 0)),
                              "acted": bool(body.get("acted", False)), "seen": 0})
                return self.reply(200, {"ok": True})
            if what == "traffic" and method == "POST":
                ok = tick(body.get("email", ""), int(body.get("up", 0)), int(body.get("down", 0)))
                persist()
                return self.reply(200 if ok else 404, {"ok": ok})
            if what == "core" and method == "GET" and OPTS.core:
                return self.reply(200, core_status())
            if what == "expire" and method == "POST":
                DB["epoch"] += 1
                persist()
                return self.reply(200, {"ok": True})
        return self.reply(404)


def seed():
    if OPTS.state and os.path.exists(OPTS.state):
        with open(OPTS.state) as f:
            DB.update(json.load(f))
        DB["onlines"] = {}
    else:
        if OPTS.inbounds:
            with open(OPTS.inbounds) as f:
                for d in json.load(f):
                    new_inbound(d)
        for spec in OPTS.inbound:
            p = spec.split(":", 2)
            new_inbound({"protocol": p[0], "port": int(p[1]), "remark": p[2] if len(p) > 2 else p[0]})
    if OPTS.reset_traffic:
        for row in DB["traffics"].values():
            row["up"] = row["down"] = 0
            row["enable"] = True
        for ib in DB["inbounds"]:
            ib["up"] = ib["down"] = 0
    persist()


def main():
    global OPTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--base", default="/")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="admin")
    ap.add_argument("--csrf", action="store_true")
    ap.add_argument("--gen", choices=("classic", "current"), default="classic")
    ap.add_argument("--panel-version", default="")
    ap.add_argument("--api-token", default="")
    ap.add_argument("--session-max-age", type=int, default=360)
    ap.add_argument("--inbound", action="append", default=[])
    ap.add_argument("--inbounds", default="")
    ap.add_argument("--state", default="")
    ap.add_argument("--reset-traffic", action="store_true")
    ap.add_argument("--clock-file", default="")
    ap.add_argument("--xray-state", default="running", choices=("running", "stop", "error"))
    ap.add_argument("--quirk", action="append", default=[],
                    choices=("ss2022-overwrite", "traffics-null", "email-exact"))
    ap.add_argument("--hang", type=float, default=0)
    ap.add_argument("--delay", type=float, default=0)
    ap.add_argument("--expire-after", type=int, default=0)
    ap.add_argument("--session-ttl", type=float, default=0)
    ap.add_argument("--fault", default="", choices=("", "500", "malformed", "truncated", "oversized", "refuse", "slow",
                                                   "hostile"))
    ap.add_argument("--fault-route", default="")
    ap.add_argument("--fault-after", type=int, default=0)
    ap.add_argument("--fault-count", type=int, default=0)
    ap.add_argument("--fault-msg", default="")
    ap.add_argument("--fault-acted", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--password-file", default="")
    ap.add_argument("--core", default="")
    ap.add_argument("--core-dir", default="")
    ap.add_argument("--core-listen", default="127.0.0.1")
    ap.add_argument("--core-debounce", type=float, default=0.3)
    ap.add_argument("--core-stats", type=float, default=5.0)
    ap.add_argument("--core-api-port", type=int, default=0)
    ap.add_argument("--core-ctl", default="")
    ap.add_argument("--slow", type=float, default=2.0)
    ap.add_argument("--oversize", type=int, default=16 << 20)
    # Serve HTTPS with this certificate and key (t/38-panel-tls.t makes
    # self-signed, CA-signed, expired and wrong-host ones).
    ap.add_argument("--tls-cert", default="")
    ap.add_argument("--tls-key", default="")
    OPTS = ap.parse_args()
    if OPTS.password_file:
        with open(OPTS.password_file) as f:
            OPTS.password = f.readline().rstrip("\r\n")
    if OPTS.gen == "current":
        OPTS.csrf = True
    if not OPTS.panel_version:
        OPTS.panel_version = "3.6.0" if OPTS.gen == "current" else ("3.0.2" if OPTS.csrf else "2.8.11")
    if not OPTS.base.endswith("/"):
        OPTS.base += "/"
    FAULT.update({"kind": OPTS.fault, "route": OPTS.fault_route, "after": OPTS.fault_after,
                  "count": OPTS.fault_count, "msg": OPTS.fault_msg, "seconds": OPTS.slow, "acted": OPTS.fault_acted})
    seed()
    if OPTS.core:
        if not OPTS.core_dir:
            ap.error("--core needs --core-dir")
        core_start()
    srv = ThreadingHTTPServer(("127.0.0.1", OPTS.port), Handler)
    srv.daemon_threads = True
    if OPTS.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(OPTS.tls_cert, OPTS.tls_key)
        # The handshake in the handler's thread, not in accept(): a client
        # that refuses the certificate must not stall the others.
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    save()
    tmp = OPTS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, OPTS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
