#!/usr/bin/env python3
"""paypal_double.py: a PayPal double (REST: OAuth2, Orders v2, Payments v2,
Webhooks v1), standard library plus the openssl command line.

Written from ../shared/contracts/payments.md section 2 (numbers below are
its sections).  Listens on 127.0.0.1 (--port 0: an ephemeral port, printed
as stdout's first line, as paneld.py's convention); every connection may
speak plain HTTP or TLS (the first byte decides), so the API is
http://127.0.0.1:PORT and the signing certificates are served from
https://127.0.0.1:PORT/v1/notifications/certs/CERT-NAME under the
double's own test CA (made with openssl at start in --dir: ca.pem is what
the shop's paypal_ca_file and gateway_ca_file name in tests).

  --port N            (0)
  --dir DIR           keys and certificates (made when missing)
  --client-id ID --client-secret S   the credentials /v1/oauth2/token
                      accepts (Basic auth, 2.2)
  --webhook-id ID     the shop's webhook subscription id: deliveries are
                      signed with it and the postback checks it (2.7)
  --webhook URL       where deliveries go (the shop's /webhooks/paypal)
  --token-ttl S       expires_in of an access token (32400)
  --auto-webhooks     deliver CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.*
                      and refunds as they happen (in the background)

API (2.2-2.7): POST /v1/oauth2/token; POST /v2/checkout/orders
(PayPal-Request-Id replays: 200 with the same order); GET
/v2/checkout/orders/ID; POST /v2/checkout/orders/ID/capture (201, 200 on a
replay of its PayPal-Request-Id, 422 ORDER_NOT_APPROVED /
ORDER_ALREADY_CAPTURED); POST /v2/payments/captures/ID/refund (201, replay
200, 422 REFUND_AMOUNT_EXCEEDED); GET /v2/payments/captures/ID, GET
/v2/payments/refunds/ID; POST /v1/notifications/verify-webhook-signature
(checks the signature over the webhook_event's bytes exactly as sent:
a re-serialised event fails, as PayPal's does); GET
/v1/reporting/transactions?start_date=&end_date= (Transaction Search).
A missing or stale Bearer token is 401 invalid_token.

The buyer: GET /checkoutnow?token=ORDER is the approve page (a form: Pay
now or Cancel, no JavaScript); approving redirects 303 to the order's
return_url with ?token=ORDER&PayerID=...; cancelling to cancel_url.

Control (JSON in and out):
  GET  /_double/state     orders, captures, refunds, events, stats, calls
  POST /_double/approve   {"order"}: approve as the buyer would; returns
                          {"redirect"}
  POST /_double/config    {"auto_webhooks","capture_status" (COMPLETED,
                          PENDING, DECLINED), "webhook"}
  POST /_double/fault     {"route": token|create|capture|refund|lookup|
                          verify|cert|search|*, "kind": 500|401|reset|slow,
                          "seconds", "count" (0 = until cleared),
                          "acted" (the call takes effect before the reply is
                          spoiled; slow always acts)}; {} clears
  POST /_double/expire_tokens   every access token becomes stale (401)
  POST /_double/deliver   {"event": TYPE, "order"|"capture"|"refund": ID,
                          or "id": a stored event's id to send again;
                          "signer": good|rogue|badcn, "cert_host",
                          "tid": the transmission id to send (a forger's
                          copy of a real one); default a fresh one;
                          "tamper": true (a byte of the body changed after
                          signing), "webhook_id", "times": N}:
                          delivers now; returns {"id","statuses"}
  POST /_double/event     the same without delivering: {"id","body"}
"""
import argparse
import base64
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
ARGS = None
PORT = 0
CONF = {"auto_webhooks": False, "capture_status": "COMPLETED", "webhook": None}
FAULT = {}
TOKENS = {}          # access token -> expiry (unix)
ORDERS = {}          # id -> order dict (internal)
CAPTURES = {}        # id -> capture dict
REFUNDS = {}         # id -> refund dict
REQIDS = {}          # (route, PayPal-Request-Id) -> (status, body json)
EVENTS = {}          # WH- id -> body text
STATS = {"tokens": 0, "orders": 0, "captures": 0, "refunds": 0, "replays": 0,
         "unauthorized": 0, "verify_success": 0, "verify_failure": 0, "cert_fetches": 0,
         "deliveries": 0, "faults": 0}
CALLS = []           # [method, path, request id, status]
SEQ = [0]


def nid(prefix, n=17):
    """A PayPal-looking id: prefix + upper-case alphanumerics."""
    SEQ[0] += 1
    return prefix + (uuid.uuid4().hex.upper() + "%06d" % SEQ[0])[:n]


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---- keys and certificates (openssl CLI) ----

def openssl(*args, data=None):
    r = subprocess.run(["openssl"] + list(args), input=data, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout


def make_pki(d):
    """ca (trusted by the shop in tests), rogue-ca (not), tls (127.0.0.1),
    the signing certificates good/badcn (by ca) and rogue (by rogue-ca)."""
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)
    if os.path.exists(p("done")):
        return
    for ca, cn in (("ca", "PX Test PayPal CA"), ("rogue-ca", "PX Rogue CA")):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p(ca + ".key"),
                "-out", p(ca + ".pem"), "-days", "3650", "-subj", "/CN=" + cn,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    leaves = (("tls", "ca", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               "extendedKeyUsage=serverAuth\n"),
              ("good", "ca", "/O=PayPal, Inc./CN=messageverificationcerts.sandbox.paypal.com", ""),
              ("badcn", "ca", "/O=Evil/CN=evil.example", ""),
              ("rogue", "rogue-ca", "/O=PayPal, Inc./CN=messageverificationcerts.sandbox.paypal.com", ""))
    for name, ca, subj, ext in leaves:
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", p(name + ".key"),
                "-out", p(name + ".csr"), "-subj", subj)
        with open(p(name + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\n" + ext)
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p(ca + ".pem"), "-CAkey",
                p(ca + ".key"), "-CAcreateserial", "-out", p(name + ".pem"), "-days", "825",
                "-extfile", p(name + ".ext"))
    open(p("done"), "w").close()


def cert_url(signer, host=None):
    return "https://%s:%d/v1/notifications/certs/CERT-%s" % (host or "127.0.0.1", PORT, signer)


def sign(signer, text):
    key = os.path.join(ARGS.dir, signer + ".key")
    return base64.b64encode(openssl("dgst", "-sha256", "-sign", key, data=text.encode())).decode()


def verify_sig(signer, text, sig_b64):
    pem = os.path.join(ARGS.dir, signer + ".pem")
    with tempfile.TemporaryDirectory() as td:
        pub, sig, msg = (os.path.join(td, n) for n in ("pub.pem", "sig", "msg"))
        with open(pub, "wb") as f:
            f.write(openssl("x509", "-in", pem, "-pubkey", "-noout"))
        try:
            with open(sig, "wb") as f:
                f.write(base64.b64decode(sig_b64, validate=True))
        except Exception:
            return False
        with open(msg, "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode())
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, msg],
                           capture_output=True)
        return r.returncode == 0


# ---- objects as PayPal shows them ----

def api(path):
    return "http://127.0.0.1:%d%s" % (PORT, path)


def capture_obj(c):
    o = {"id": c["id"], "status": c["status"], "amount": c["amount"], "final_capture": True,
         "custom_id": c.get("custom_id"), "invoice_id": c.get("invoice_id"),
         "seller_receivable_breakdown": {"gross_amount": c["amount"]},
         "supplementary_data": {"related_ids": {"order_id": c["order"]}},
         "create_time": c["time"], "update_time": c["time"],
         "links": [{"href": api("/v2/payments/captures/" + c["id"]), "rel": "self", "method": "GET"},
                   {"href": api("/v2/payments/captures/%s/refund" % c["id"]), "rel": "refund",
                    "method": "POST"},
                   {"href": api("/v2/checkout/orders/" + c["order"]), "rel": "up", "method": "GET"}]}
    if c.get("refunded"):
        o["seller_receivable_breakdown"]["total_refunded_amount"] = {
            "currency_code": c["amount"]["currency_code"], "value": c["refunded_value"]}
    return {k: v for k, v in o.items() if v is not None}


def order_obj(o):
    links = [{"href": api("/v2/checkout/orders/" + o["id"]), "rel": "self", "method": "GET"}]
    if o["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
        links.append({"href": api("/checkoutnow?token=" + o["id"]),
                      "rel": "payer-action" if o["experience"] else "approve", "method": "GET"})
    if o["status"] == "APPROVED":
        links.append({"href": api("/v2/checkout/orders/%s/capture" % o["id"]), "rel": "capture",
                      "method": "POST"})
    pu = dict(o["unit"])
    if o.get("capture"):
        pu["payments"] = {"captures": [capture_obj(CAPTURES[o["capture"]])]}
    r = {"id": o["id"], "intent": "CAPTURE", "status": o["status"], "purchase_units": [pu],
         "create_time": o["time"], "links": links}
    if o.get("payer"):
        r["payer"] = {"payer_id": o["payer"], "email_address": "buyer@example.com"}
    return r


def refund_obj(r):
    c = CAPTURES[r["capture"]]
    return {"id": r["id"], "status": "COMPLETED", "amount": r["amount"],
            "custom_id": c.get("custom_id"), "invoice_id": r.get("invoice_id"),
            "seller_payable_breakdown": {"total_refunded_amount": {
                "currency_code": c["amount"]["currency_code"], "value": c["refunded_value"]}},
            "create_time": r["time"], "update_time": r["time"],
            "links": [{"href": api("/v2/payments/refunds/" + r["id"]), "rel": "self", "method": "GET"},
                      {"href": api("/v2/payments/captures/" + r["capture"]), "rel": "up",
                       "method": "GET"}]}


DECIMALS = {"JPY": 0, "KRW": 0, "HUF": 0, "TWD": 0}


def minor(value, cur):
    d = DECIMALS.get(cur, 2)
    if not isinstance(value, str) or not re.fullmatch(r"\d+" + (r"\.\d{%d}" % d if d else ""), value):
        return None
    return int(value.replace(".", ""))


def fmt(m, cur):
    d = DECIMALS.get(cur, 2)
    return str(m) if d == 0 else "%d.%0*d" % (m // 10 ** d, d, m % 10 ** d)


# ---- events (2.7) ----

def make_event(etype, resource, rtype):
    eid = "WH-" + uuid.uuid4().hex[:17].upper() + "-" + uuid.uuid4().hex[:17].upper()
    ev = {"id": eid, "event_version": "1.0", "create_time": now_iso(), "resource_type": rtype,
          "resource_version": "2.0", "event_type": etype, "summary": etype.lower(),
          "resource": resource,
          "links": [{"href": api("/v1/notifications/webhooks-events/" + eid), "rel": "self",
                     "method": "GET"}]}
    # json.dumps's default separators (", " and ": "): a shop that
    # re-serialises the body compactly changes its bytes and its CRC.
    body = json.dumps(ev)
    with LOCK:
        EVENTS[eid] = body
    return eid, body


def event_for(spec):
    with LOCK:
        if spec.get("id"):
            return spec["id"], EVENTS[spec["id"]]
        etype = spec["event"]
        if etype == "CHECKOUT.ORDER.APPROVED":
            return make_event(etype, order_obj(ORDERS[spec["order"]]), "checkout-order")
        if etype.startswith("PAYMENT.CAPTURE.") and etype not in ("PAYMENT.CAPTURE.REFUNDED",
                                                                   "PAYMENT.CAPTURE.REVERSED"):
            cid = spec.get("capture") or ORDERS[spec["order"]]["capture"]
            res = capture_obj(CAPTURES[cid])
            if etype == "PAYMENT.CAPTURE.DENIED":
                res["status"] = "DECLINED"
            return make_event(etype, res, "capture")
        return make_event(etype, refund_obj(REFUNDS[spec["refund"]]), "refund")


def deliver(eid, body, signer="good", cert_host=None, tamper=False, webhook_id=None, url=None, tid=None):
    """POST one delivery; returns the shop's status (0: unreachable)."""
    tid = tid or str(uuid.uuid1())
    ttime = now_iso()
    crc = zlib.crc32(body.encode()) & 0xFFFFFFFF
    expected = "%s|%s|%s|%d" % (tid, ttime, webhook_id or ARGS.webhook_id, crc)
    sig = sign(signer, expected)
    data = body.encode()
    if tamper:
        data = data.replace(b'"value": "', b'"value": "1', 1)
        if data == body.encode():
            data = data[:-1] + b" }"
    req = urllib.request.Request(url or CONF["webhook"] or ARGS.webhook, data=data, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "PAYPAL-TRANSMISSION-ID": tid,
                                          "PAYPAL-TRANSMISSION-TIME": ttime,
                                          "PAYPAL-TRANSMISSION-SIG": sig,
                                          "PAYPAL-CERT-URL": cert_url(signer, cert_host),
                                          "PAYPAL-AUTH-ALGO": "SHA256withRSA"})
    STATS["deliveries"] += 1
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return 0


def auto(spec):
    if not (CONF["auto_webhooks"] and (CONF["webhook"] or ARGS.webhook)):
        return
    eid, body = event_for(spec)
    threading.Thread(target=deliver, args=(eid, body), daemon=True).start()


# ---- HTTP ----

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "paypal-double"

    def log_message(self, fmt_, *a):
        pass

    def reply(self, status, obj=None, ctype="application/json", extra=None):
        body = b"" if obj is None else (obj if isinstance(obj, bytes) else
                                        (obj.encode() if isinstance(obj, str) else
                                         json.dumps(obj).encode()))
        self.send_response(status)
        if body or obj is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Paypal-Debug-Id", uuid.uuid4().hex[:13])
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.status = status

    def error(self, status, name, issue=None, msg=None):
        body = {"name": name, "message": msg or name, "debug_id": uuid.uuid4().hex[:13],
                "links": []}
        if issue:
            body["details"] = [{"issue": issue, "description": msg or issue}]
        self.reply(status, body)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        self.raw = self.rfile.read(n) if n else b""
        u = urllib.parse.urlsplit(self.path)
        path, q = u.path, urllib.parse.parse_qs(u.query)
        self.status = 0
        try:
            if path.startswith("/_double/"):
                return self.control(method, path[len("/_double/"):])
            self.dispatch(method, path, q)
        finally:
            with LOCK:
                CALLS.append([method, path, self.headers.get("PayPal-Request-Id"), self.status])

    # -- faults --

    def fault(self, route, act):
        """Serve the call through the fault set for route, if any: act()
        does the call's effect and returns (status, body)."""
        with LOCK:
            f = FAULT if FAULT and FAULT.get("route") in (route, "*") else None
            if f is not None:
                if f.get("count", 0) > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        FAULT.clear()
                STATS["faults"] += 1
        if f is None:
            st, body = act()
            return self.reply(st, body)
        kind = str(f.get("kind"))
        if kind == "slow":
            st, body = act()
            time.sleep(float(f.get("seconds", 5)))
            try:
                return self.reply(st, body)
            except OSError:
                return None
        if f.get("acted"):
            act()
        if kind == "reset":
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            except OSError:
                pass
            self.connection.close()
            self.status = -1
            return None
        if kind == "401":
            return self.reply(401, {"error": "invalid_token", "error_description": "Token expired"})
        return self.error(500, "INTERNAL_SERVER_ERROR", None, "An internal server error occurred.")

    # -- auth (2.2) --

    def bearer_ok(self):
        h = self.headers.get("Authorization") or ""
        with LOCK:
            ok = h.startswith("Bearer ") and TOKENS.get(h[7:], 0) > time.time()
            if not ok:
                STATS["unauthorized"] += 1
        if not ok:
            self.reply(401, {"error": "invalid_token",
                             "error_description": "Token signature verification failed"})
        return ok

    def replayed(self, route):
        rid = self.headers.get("PayPal-Request-Id")
        with LOCK:
            if rid and (route, rid) in REQIDS:
                STATS["replays"] += 1
                st, body = REQIDS[(route, rid)]
                return (200 if st == 201 else st), body()
        return None

    def remember(self, route, st, body_fn):
        rid = self.headers.get("PayPal-Request-Id")
        if rid:
            with LOCK:
                REQIDS[(route, rid)] = (st, body_fn)

    def json_body(self):
        try:
            return json.loads(self.raw or b"{}")
        except ValueError:
            return None

    def dispatch(self, method, path, q):
        m = None
        if method == "POST" and path == "/v1/oauth2/token":
            return self.fault("token", self.token)
        if path == "/checkoutnow":
            return self.approve_page(method, q)
        if method == "GET" and path.startswith("/v1/notifications/certs/CERT-"):
            return self.fault("cert", lambda: self.cert(path[len("/v1/notifications/certs/CERT-"):]))
        if not self.bearer_ok():
            return None
        if method == "POST" and path == "/v2/checkout/orders":
            return self.fault("create", self.create)
        if (m := re.fullmatch(r"/v2/checkout/orders/([A-Z0-9]+)", path)) and method == "GET":
            return self.fault("lookup", lambda: self.get(ORDERS, m.group(1), order_obj))
        if (m := re.fullmatch(r"/v2/checkout/orders/([A-Z0-9]+)/capture", path)) and method == "POST":
            return self.fault("capture", lambda: self.capture(m.group(1)))
        if (m := re.fullmatch(r"/v2/payments/captures/([A-Z0-9]+)/refund", path)) and method == "POST":
            return self.fault("refund", lambda: self.refund(m.group(1)))
        if (m := re.fullmatch(r"/v2/payments/captures/([A-Z0-9]+)", path)) and method == "GET":
            return self.fault("lookup", lambda: self.get(CAPTURES, m.group(1), capture_obj))
        if (m := re.fullmatch(r"/v2/payments/refunds/([A-Z0-9]+)", path)) and method == "GET":
            return self.fault("lookup", lambda: self.get(REFUNDS, m.group(1), refund_obj))
        if method == "POST" and path == "/v1/notifications/verify-webhook-signature":
            return self.fault("verify", self.verify)
        if method == "GET" and path == "/v1/reporting/transactions":
            return self.fault("search", lambda: self.search(q))
        return self.error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "not found")

    def token(self):
        want = "Basic " + base64.b64encode(("%s:%s" % (ARGS.client_id, ARGS.client_secret)).encode()).decode()
        form = urllib.parse.parse_qs(self.raw.decode(errors="replace"))
        if self.headers.get("Authorization") != want:
            return 401, {"error": "invalid_client", "error_description": "Client Authentication failed"}
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}
        tok = "A21AA" + uuid.uuid4().hex + uuid.uuid4().hex
        with LOCK:
            TOKENS[tok] = time.time() + ARGS.token_ttl
            STATS["tokens"] += 1
        return 200, {"scope": "https://uri.paypal.com/services/payments/payment", "access_token": tok,
                     "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
                     "expires_in": ARGS.token_ttl, "nonce": now_iso() + uuid.uuid4().hex[:20]}

    def get(self, table, oid, shape):
        with LOCK:
            if oid not in table:
                return 404, {"name": "RESOURCE_NOT_FOUND", "message": "not found",
                             "details": [{"issue": "INVALID_RESOURCE_ID"}]}
            return 200, shape(table[oid])

    def create(self):
        r = self.replayed("create")
        if r:
            return r
        b = self.json_body()
        pu = (b or {}).get("purchase_units") or [{}]
        amt = pu[0].get("amount") or {}
        cur = amt.get("currency_code")
        if not b or b.get("intent") != "CAPTURE" or not isinstance(cur, str) or \
                minor(amt.get("value"), cur) is None or self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return 400, {"name": "INVALID_REQUEST", "message": "Request is not well-formed",
                         "details": [{"issue": "MISSING_REQUIRED_PARAMETER"}]}
        exp = (((b.get("payment_source") or {}).get("paypal") or {}).get("experience_context"))
        ctx = exp or b.get("application_context") or {}
        with LOCK:
            oid = nid("", 17)
            ORDERS[oid] = {"id": oid, "status": "PAYER_ACTION_REQUIRED" if exp else "CREATED",
                           "experience": bool(exp), "unit": pu[0], "time": now_iso(),
                           "return_url": ctx.get("return_url"), "cancel_url": ctx.get("cancel_url"),
                           "request_id": self.headers.get("PayPal-Request-Id")}
            STATS["orders"] += 1
        self.remember("create", 201, lambda: order_obj(ORDERS[oid]))
        return 201, order_obj(ORDERS[oid])

    def capture(self, oid):
        r = self.replayed("capture:" + oid)
        if r:
            return r
        with LOCK:
            o = ORDERS.get(oid)
            if o is None:
                return 404, {"name": "RESOURCE_NOT_FOUND", "message": "not found",
                             "details": [{"issue": "INVALID_RESOURCE_ID"}]}
            if o.get("capture"):
                return 422, {"name": "UNPROCESSABLE_ENTITY", "message": "already captured",
                             "debug_id": "d", "details": [{"issue": "ORDER_ALREADY_CAPTURED",
                                                           "description": "Order already captured."}]}
            if o["status"] != "APPROVED":
                return 422, {"name": "UNPROCESSABLE_ENTITY", "message": "not approved",
                             "debug_id": "d", "details": [{"issue": "ORDER_NOT_APPROVED",
                                                           "description": "Payer has not approved"}]}
            cid = nid("", 17)
            st = CONF["capture_status"]
            CAPTURES[cid] = {"id": cid, "order": oid, "status": st, "amount": o["unit"]["amount"],
                             "custom_id": o["unit"].get("custom_id"),
                             "invoice_id": o["unit"].get("invoice_id"), "time": now_iso(),
                             "refunded": 0, "refunded_value": "0"}
            o["capture"] = cid
            o["status"] = "COMPLETED" if st != "DECLINED" else "COMPLETED"
            STATS["captures"] += 1
        self.remember("capture:" + oid, 201, lambda: order_obj(ORDERS[oid]))
        ev = {"COMPLETED": "PAYMENT.CAPTURE.COMPLETED", "PENDING": "PAYMENT.CAPTURE.PENDING",
              "DECLINED": "PAYMENT.CAPTURE.DENIED"}.get(st)
        if ev:
            auto({"event": ev, "capture": cid})
        return 201, order_obj(ORDERS[oid])

    def refund(self, cid):
        r = self.replayed("refund:" + cid)
        if r:
            return r
        b = self.json_body()
        if b is None:
            return 400, {"name": "INVALID_REQUEST", "message": "bad json"}
        with LOCK:
            c = CAPTURES.get(cid)
            if c is None:
                return 404, {"name": "RESOURCE_NOT_FOUND", "message": "not found",
                             "details": [{"issue": "INVALID_RESOURCE_ID"}]}
            cur = c["amount"]["currency_code"]
            total = minor(c["amount"]["value"], cur)
            amt = b.get("amount") or {"currency_code": cur, "value": fmt(total - c["refunded"], cur)}
            m = minor(amt.get("value"), cur)
            if c["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED") or m is None or m <= 0 or \
                    amt.get("currency_code") != cur or c["refunded"] + m > total:
                return 422, {"name": "UNPROCESSABLE_ENTITY", "message": "refund refused",
                             "details": [{"issue": "REFUND_AMOUNT_EXCEEDED"
                                          if m and c["refunded"] + m > total else "CAPTURE_FULLY_REFUNDED"}]}
            rid = nid("", 17)
            c["refunded"] += m
            c["refunded_value"] = fmt(c["refunded"], cur)
            c["status"] = "REFUNDED" if c["refunded"] == total else "PARTIALLY_REFUNDED"
            REFUNDS[rid] = {"id": rid, "capture": cid, "amount": {"currency_code": cur, "value": fmt(m, cur)},
                            "invoice_id": b.get("invoice_id"), "time": now_iso()}
            STATS["refunds"] += 1
        self.remember("refund:" + cid, 201, lambda: refund_obj(REFUNDS[rid]))
        auto({"event": "PAYMENT.CAPTURE.REFUNDED", "refund": rid})
        return 201, refund_obj(REFUNDS[rid])

    def cert(self, name):
        if not isinstance(self.connection, ssl.SSLSocket):
            return 404, {"name": "RESOURCE_NOT_FOUND", "message": "certificates are served over https"}
        path = os.path.join(ARGS.dir, name + ".pem")
        if not re.fullmatch(r"[a-z]+", name) or name in ("ca", "tls") or not os.path.exists(path):
            return 404, {"name": "RESOURCE_NOT_FOUND", "message": "no such certificate"}
        with LOCK:
            STATS["cert_fetches"] += 1
        with open(path, "rb") as f:
            return 200, f.read()

    def verify(self):
        """2.7.1: the event is checked as the bytes the caller sent, so
        the webhook_event member's raw text is cut out of the body."""
        raw = self.raw.decode("utf-8", errors="replace")
        try:
            b = json.loads(raw)
        except ValueError:
            return 400, {"name": "INVALID_REQUEST", "message": "bad json"}
        need = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time",
                "webhook_id", "webhook_event")
        if not isinstance(b, dict) or any(k not in b for k in need):
            return 400, {"name": "VALIDATION_ERROR", "message": "Invalid request - see details",
                         "details": [{"field": k, "issue": "MISSING_REQUIRED_PARAMETER"} for k in need
                                     if not isinstance(b, dict) or k not in b]}
        m = re.search(r'"webhook_event"\s*:\s*', raw)
        _, end = json.JSONDecoder().raw_decode(raw, m.end())
        event_raw = raw[m.end():end]
        crc = zlib.crc32(event_raw.encode()) & 0xFFFFFFFF
        expected = "%s|%s|%s|%d" % (b["transmission_id"], b["transmission_time"], b["webhook_id"], crc)
        signer = None
        for s in ("good", "badcn", "rogue"):
            if b["cert_url"] in (cert_url(s), cert_url(s, "localhost")):
                signer = s
        good = (signer == "good" and b["auth_algo"] == "SHA256withRSA" and
                b["webhook_id"] == ARGS.webhook_id and
                verify_sig(signer, expected, b["transmission_sig"]))
        with LOCK:
            STATS["verify_success" if good else "verify_failure"] += 1
        return 200, {"verification_status": "SUCCESS" if good else "FAILURE"}

    def search(self, q):
        def t(s):
            try:
                return time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            except (ValueError, TypeError):
                return None
        start, end = t((q.get("start_date") or [""])[0]), t((q.get("end_date") or [""])[0])
        if start is None or end is None:
            return 400, {"name": "INVALID_REQUEST", "message": "start_date and end_date are required"}
        rows = []
        with LOCK:
            for c in CAPTURES.values():
                ct = t(c["time"])
                if start <= ct <= end:
                    rows.append({"transaction_info": {
                        "paypal_account_id": "BUYER1", "transaction_id": c["id"],
                        "paypal_reference_id": c["order"], "transaction_event_code": "T0006",
                        "transaction_initiation_date": c["time"], "transaction_updated_date": c["time"],
                        "transaction_amount": c["amount"],
                        "transaction_status": {"COMPLETED": "S", "PENDING": "P", "DECLINED": "D"}.get(
                            c["status"], "V"),
                        "custom_field": c.get("custom_id")}})
        return 200, {"transaction_details": rows, "account_number": "X", "start_date": q["start_date"][0],
                     "end_date": q["end_date"][0], "page": 1, "total_items": len(rows), "total_pages": 1}

    # -- the buyer --

    def approve_page(self, method, q):
        form = urllib.parse.parse_qs(self.raw.decode(errors="replace")) if method == "POST" else {}
        oid = (q.get("token") or form.get("token") or [""])[0]
        with LOCK:
            o = ORDERS.get(oid)
        if o is None:
            return self.reply(404, "<!doctype html><title>Not found</title><p>No such order.",
                              "text/html; charset=utf-8")
        if method == "GET":
            a = o["unit"]["amount"]
            page = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>PayPal double: "
                    "approve</title></head><body><h1>Pay with PayPal (double)</h1><p>Order %s: "
                    "<strong id=amount>%s %s</strong></p><form method=post action=/checkoutnow>"
                    "<input type=hidden name=token value=%s><button name=action value=approve "
                    "id=approve>Pay now</button> <button name=action value=cancel id=cancel>Cancel"
                    "</button></form></body></html>" % (oid, a["value"], a["currency_code"], oid))
            return self.reply(200, page, "text/html; charset=utf-8")
        if (form.get("action") or [""])[0] == "cancel":
            return self.reply(303, b"", "text/plain", {"Location": o.get("cancel_url") or "/"})
        return self.reply(303, b"", "text/plain", {"Location": approve(oid)})

    # -- control --

    def control(self, method, what):
        b = self.json_body() or {}
        if what == "state":
            with LOCK:
                return self.reply(200, {"orders": {k: order_obj(v) for k, v in ORDERS.items()},
                                        "captures": {k: capture_obj(v) for k, v in CAPTURES.items()},
                                        "refunds": {k: refund_obj(v) for k, v in REFUNDS.items()},
                                        "events": sorted(EVENTS), "stats": STATS, "calls": CALLS,
                                        "fault": FAULT, "conf": CONF,
                                        "ca": os.path.join(ARGS.dir, "ca.pem"),
                                        "cert_urls": {s: cert_url(s) for s in ("good", "badcn", "rogue")}})
        if what == "approve":
            if b.get("order") not in ORDERS:
                return self.reply(404, {"error": "no such order"})
            return self.reply(200, {"redirect": approve(b["order"])})
        if what == "config":
            with LOCK:
                CONF.update({k: v for k, v in b.items() if k in CONF})
            return self.reply(200, CONF)
        if what == "fault":
            with LOCK:
                FAULT.clear()
                FAULT.update(b)
            return self.reply(200, FAULT)
        if what == "expire_tokens":
            with LOCK:
                for k in TOKENS:
                    TOKENS[k] = 0
            return self.reply(200, {"expired": len(TOKENS)})
        if what in ("deliver", "event"):
            try:
                eid, body = event_for(b)
            except KeyError as e:
                return self.reply(404, {"error": "unknown %s" % e})
            if what == "event":
                return self.reply(200, {"id": eid, "body": body})
            st = [deliver(eid, body, b.get("signer", "good"), b.get("cert_host"), b.get("tamper"),
                          b.get("webhook_id"), b.get("url"), b.get("tid"))
                  for _ in range(int(b.get("times", 1)))]
            return self.reply(200, {"id": eid, "statuses": st})
        return self.reply(404, {"error": "no such control route"})


def approve(oid):
    """The buyer approves: the order becomes APPROVED; the redirect back."""
    with LOCK:
        o = ORDERS[oid]
        if o["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
            o["status"] = "APPROVED"
            o["payer"] = "PAYER" + uuid.uuid4().hex[:8].upper()
            fire = True
        else:
            fire = False
        ret = o.get("return_url") or "/"
        sep = "&" if "?" in ret else "?"
        url = "%s%stoken=%s&PayerID=%s" % (ret, sep, oid, o.get("payer", ""))
    if fire:
        auto({"event": "CHECKOUT.ORDER.APPROVED", "order": oid})
    return url


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        """Plain HTTP or TLS on the same port: a TLS ClientHello starts
        with 0x16.  Runs in the connection's own thread."""
        try:
            request.settimeout(30)
            first = request.recv(1, socket.MSG_PEEK)
            if first == b"\x16":
                request = self.tls.wrap_socket(request, server_side=True)
            request.settimeout(None)
        except (OSError, ssl.SSLError):
            return
        self.RequestHandlerClass(request, client_address, self)


def main():
    global ARGS, PORT
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--client-id", default="px-client")
    ap.add_argument("--client-secret", default="px-secret")
    ap.add_argument("--webhook-id", default="WH-ID-PX-TEST")
    ap.add_argument("--webhook", default=None)
    ap.add_argument("--token-ttl", type=int, default=32400)
    ap.add_argument("--auto-webhooks", action="store_true")
    ARGS = ap.parse_args()
    if ARGS.dir is None:
        ARGS.dir = tempfile.mkdtemp(prefix="paypal-double-")
    CONF["auto_webhooks"] = ARGS.auto_webhooks
    make_pki(ARGS.dir)
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.tls.load_cert_chain(os.path.join(ARGS.dir, "tls.pem"), os.path.join(ARGS.dir, "tls.key"))
    PORT = srv.server_address[1]
    print(PORT, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
