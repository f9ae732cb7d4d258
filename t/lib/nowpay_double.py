#!/usr/bin/env python3
"""nowpay_double.py: a NOWPayments double, standard library only.

Written from ../shared/contracts/payments.md section 3.1 (the API base,
x-api-key, POST /v1/invoice, GET /v1/payment/{id}, the list, the status
words, the IPN and its signature).  Real HTTP/1.1 on 127.0.0.1; with
--port 0 (the default) an ephemeral port, printed on stdout's first line.

  --api-key KEY        the x-api-key every /v1 call needs (401 otherwise)
  --ipn-secret S       the IPN secret deliveries are signed with (or
  --ipn-secret-file F  its first line: not in ps)
  --webhook URL        deliver IPNs here instead of the invoice's
                       ipn_callback_url
  --signer PATH        t/lib/nowpay_sign.cjs (default: beside this file):
                       every IPN body is written by Node's JSON.stringify
                       and signed by Node's crypto, never by this file
  --node BIN           node (default: node on PATH)
  --rate CUR=R         units of crypto CUR per unit of price (repeatable;
                       defaults btc=0.00002, eth=0.0003, trx=9.5, usdttrc20=1)
  --port N             listen on 127.0.0.1:N (0: ephemeral)

The API (section 3.1.2):
  GET  /v1/status                  {"message":"OK"}
  POST /v1/invoice                 201 {id, order_id, invoice_url, price_amount (a
                                   string), ...}; invoice_url is this double's
                                   /payment/?iid=ID
  GET  /v1/payment/{payment_id}    the payment object (404 unknown)
  GET  /v1/payment/?limit=&page=&sortBy=&orderBy=&dateFrom=&dateTo=&invoiceId=
                                   {"data":[...],"limit","page","pagesCount","total"}
The customer's side (a browser can pay, no JavaScript):
  GET  /payment/?iid=ID            the invoice page: pay in full, half, or 120 %;
                                   a cancel link
  POST /payment/pay                iid, how (full|partial|over), pay_currency: one
                                   payment; its statuses move waiting ->
                                   confirming -> confirmed -> sending -> finished
                                   (partial: waiting -> confirming ->
                                   partially_paid), an IPN each; then 303 to the
                                   success_url (partially_paid_url for partial)
Control routes for tests (not NOWPayments):
  GET  /_double/state              {"invoices","payments","deliveries","calls"}
  POST /_double/fault              {"kind": "500"|"403"|"slow"|"reset"|"lost"|"",
                                   "route": substring of "METHOD /path",
                                   "after": N, "count": N (0: all), "seconds": S}
                                   lost: the call acts, then the connection drops
                                   (a reply that never arrives)
  POST /_double/pay                {"invoice_id" or "order_id" (else the newest
                                   invoice), "fraction": "1" (decimal of pay_amount
                                   that arrives), "statuses": [...] (default as
                                   the page), "deliver": true, "duplicate": N
                                   (each IPN N times), "reverse": false (deliver
                                   the statuses newest first), "pay_currency"}
                                   -> {"payment_id", "deliveries": [...]}
  POST /_double/status             {"payment_id", "status", "actually_paid"?,
                                   "deliver": true}: one status change and its IPN
  POST /_double/deliver            {"payment_id", "status"? (a past one; default
                                   the current), "tamper": {k: v} (changed after
                                   signing), "legacy": true (the older recipe's
                                   signature), "sig": "..." (this header), "nosig":
                                   true, "count": N} -> {"deliveries": [...]}
Each delivery is recorded: {"payment_id","status","code","body","sig","at","ms"} (ms: the
shop's answer time as the double saw it).
"""
import argparse
import decimal
import html
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.RLock()
SIGN_LOCK = threading.Lock()
OPTS = None
PORT = 0
INVOICES = {}       # id (str) -> invoice
PAYMENTS = {}       # payment_id (int) -> payment (an ordered dict: the IPN's key order)
HISTORY = {}        # payment_id -> [snapshots, one per status]
DELIVERIES = []
CALLS = {}
FAULT = {"kind": "", "route": "", "after": 0, "count": 0, "seconds": 2.0, "seen": 0, "hit": 0}
RATES = {"btc": "0.00002", "eth": "0.0003", "trx": "9.5", "usdttrc20": "1"}
SIGNER = None
D = decimal.Decimal


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def signer():
    global SIGNER
    if SIGNER is None or SIGNER.poll() is not None:
        SIGNER = subprocess.Popen([OPTS.node, OPTS.signer, "--lines"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
    return SIGNER


def node_sign(obj=None, body=None, legacy=False):
    """(body, sig) as Node writes and signs them."""
    req = {"secret": OPTS.ipn_secret, "legacy": legacy}
    if body is not None:
        req["body"] = body
    else:
        req["object"] = obj
    with SIGN_LOCK:
        p = signer()
        p.stdin.write(json.dumps(req) + "\n")
        p.stdin.flush()
        out = json.loads(p.stdout.readline())
    if "error" in out:
        raise RuntimeError("signer: " + out["error"])
    return out["body"], out["sig"]


def num(d):
    """A Decimal as the JSON number NOWPayments sends (a float for Node)."""
    d = D(d)
    return int(d) if d == d.to_integral_value() else float(d)


def new_payment(inv, pay_currency, fraction):
    pid = random.randint(4000000000, 5999999999)
    while pid in PAYMENTS:
        pid += 1
    rate = D(RATES.get(pay_currency, "1"))
    pay_amount = (D(inv["price_amount"]) * rate).quantize(D("0.00000001"), rounding=decimal.ROUND_UP)
    paid = (pay_amount * D(fraction)).quantize(D("0.00000001"), rounding=decimal.ROUND_DOWN)
    p = {
        "payment_id": pid,
        "invoice_id": int(inv["id"]),
        "payment_status": "waiting",
        "pay_address": "T" + "".join(random.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(33)),
        "payin_extra_id": None,
        "price_amount": num(inv["price_amount"]),
        "price_currency": inv["price_currency"],
        "pay_amount": num(pay_amount),
        "actually_paid": 0,
        "actually_paid_at_fiat": 0,
        "pay_currency": pay_currency,
        "order_id": inv["order_id"],
        "order_description": inv["order_description"],
        "purchase_id": str(random.randint(10 ** 9, 10 ** 10)),
        "outcome_amount": num((paid * D("0.995")).quantize(D("0.0000001"), rounding=decimal.ROUND_DOWN)),
        "outcome_currency": pay_currency,
        "payment_extra_ids": None,
        "fee": {"currency": pay_currency, "depositFee": 0, "withdrawalFee": 0, "serviceFee": 0},
        "created_at": now_iso(),
        "updated_at": now_iso(),
        "_paid": str(paid),
        "_created": time.time(),
    }
    PAYMENTS[pid] = p
    HISTORY[pid] = []
    return p


def public(p):
    return {k: v for k, v in p.items() if not k.startswith("_")}


def set_status(p, status, actually_paid=None):
    p["payment_status"] = status
    if actually_paid is not None:
        p["_paid"] = str(actually_paid)
    if status in ("confirming", "confirmed", "sending", "partially_paid", "finished", "refunded"):
        p["actually_paid"] = num(p["_paid"])
    p["updated_at"] = now_iso()
    snap = public(p)
    HISTORY[p["payment_id"]].append(snap)
    return snap


def deliver(p, snap, tamper=None, legacy=False, sig=None, nosig=False, count=1):
    """POST the IPN of snapshot snap to the shop; record each answer."""
    inv = INVOICES.get(str(p["invoice_id"]), {})
    url = OPTS.webhook or inv.get("ipn_callback_url")
    out = []
    body, good = node_sign(obj=snap, legacy=legacy)
    if tamper:
        obj = json.loads(body)
        obj.update(tamper)
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    header = sig if sig is not None else good
    for _ in range(max(1, count)):
        code = 0
        t0 = time.monotonic()
        if url:
            hdrs = {"Content-Type": "application/json", "User-Agent": "NOWPayments IPN (double)"}
            if not nosig:
                hdrs["x-nowpayments-sig"] = header
            req = urllib.request.Request(url, data=body.encode(), headers=hdrs, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    code = r.status
                    r.read()
            except urllib.error.HTTPError as e:
                code = e.code
            except (urllib.error.URLError, OSError):
                code = 0
        rec = {"payment_id": p["payment_id"], "status": snap["payment_status"], "code": code,
               "body": body, "sig": header if not nosig else None, "at": time.time(),
               "ms": round((time.monotonic() - t0) * 1000, 2)}
        with LOCK:
            DELIVERIES.append(rec)
        out.append(rec)
    return out


def find_invoice(body):
    if body.get("invoice_id") is not None:
        return INVOICES.get(str(body["invoice_id"]))
    if body.get("order_id") is not None:
        for inv in sorted(INVOICES.values(), key=lambda i: -i["_n"]):
            if inv["order_id"] == body["order_id"]:
                return inv
        return None
    return max(INVOICES.values(), key=lambda i: i["_n"]) if INVOICES else None


PAGE_STATUSES = {
    "full": ["waiting", "confirming", "confirmed", "sending", "finished"],
    "over": ["waiting", "confirming", "confirmed", "sending", "finished"],
    "partial": ["waiting", "confirming", "partially_paid"],
}
FRACTIONS = {"full": "1", "partial": "0.5", "over": "1.2"}


def pay(inv, fraction, statuses, pay_currency="btc", deliver_it=True, duplicate=1, reverse=False):
    with LOCK:
        p = new_payment(inv, pay_currency, fraction)
        snaps = [set_status(p, s) for s in statuses]
    order = list(reversed(snaps)) if reverse else snaps
    out = []
    if deliver_it:
        for s in order:
            out += deliver(p, s, count=duplicate)
    return p, out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nowpay-double"

    def log_message(self, fmt, *args):
        pass

    def send_body(self, code, body, ctype="application/json; charset=utf-8", extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def reply(self, code, obj):
        self.send_body(code, json.dumps(obj, separators=(",", ":")))

    def error(self, code, name, msg):
        self.reply(code, {"status": False, "statusCode": code, "code": name, "message": msg})

    def do_GET(self):
        self.handle_any("GET", b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.handle_any("POST", self.rfile.read(n) if n else b"")

    def handle_any(self, method, raw):
        u = urlsplit(self.path)
        path, q = u.path, {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        try:
            if path.startswith("/_double/"):
                return self.control(method, path[len("/_double/"):], raw)
            if path.startswith("/payment/") and not path.startswith("/payment/pay"):
                if method == "GET" and path == "/payment/":
                    return self.page(q.get("iid", ""))
            if path == "/payment/pay" and method == "POST":
                return self.page_pay(raw)
            if path.startswith("/v1/"):
                return self.api(method, path, q, raw)
            self.send_body(404, "not found\n", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- faults --

    def fault(self, key):
        with LOCK:
            f = FAULT
            if not f["kind"] or (f["route"] and f["route"] not in key):
                return None
            f["seen"] += 1
            if f["seen"] <= f["after"]:
                return None
            if f["count"] and f["hit"] >= f["count"]:
                return None
            f["hit"] += 1
            return dict(f)

    def reset(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.close_connection = True
        self.connection.close()

    # -- the API --

    def api(self, method, path, q, raw):
        key = "%s %s" % (method, path)
        k = key if not path.startswith("/v1/payment/") or path == "/v1/payment/" else method + " /v1/payment/{id}"
        with LOCK:
            CALLS[k] = CALLS.get(k, 0) + 1
        if self.headers.get("x-api-key") != OPTS.api_key:
            return self.error(403 if self.headers.get("x-api-key") else 401, "INVALID_API_KEY", "Invalid api key")
        f = self.fault(key)
        if f and f["kind"] == "slow":
            time.sleep(f["seconds"])
        elif f and f["kind"] == "500":
            return self.error(500, "INTERNAL_ERROR", "Internal server error (double)")
        elif f and f["kind"] == "403":
            return self.error(403, "FORBIDDEN", "Authorization header is required (double)")
        elif f and f["kind"] == "reset":
            return self.reset()
        code, obj = self.api_do(method, path, q, raw)
        if f and f["kind"] == "lost":
            return self.reset()
        return self.reply(code, obj)

    def api_do(self, method, path, q, raw):
        if path == "/v1/status" and method == "GET":
            return 200, {"message": "OK"}
        if path == "/v1/invoice" and method == "POST":
            try:
                b = json.loads(raw or b"{}", parse_float=D)
                price = D(str(b["price_amount"]))
                cur = str(b["price_currency"]).lower()
            except (ValueError, KeyError, TypeError, decimal.InvalidOperation):
                return 400, {"status": False, "statusCode": 400, "code": "INVALID_REQUEST_PARAMS",
                             "message": "price_amount and price_currency are required"}
            if price <= 0 or not cur.isalpha():
                return 400, {"status": False, "statusCode": 400, "code": "INVALID_REQUEST_PARAMS",
                             "message": "\"price_amount\" must be a positive number"}
            with LOCK:
                iid = str(random.randint(4000000000, 5999999999))
                while iid in INVOICES:
                    iid = str(int(iid) + 1)
                inv = {"id": iid, "token_id": "".join(random.choice("abcdefghijkmnopqrstuvwxyz") for _ in range(9)),
                       "order_id": b.get("order_id"), "order_description": b.get("order_description"),
                       "price_amount": str(price), "price_currency": cur, "pay_currency": b.get("pay_currency"),
                       "ipn_callback_url": b.get("ipn_callback_url"),
                       "invoice_url": "http://127.0.0.1:%d/payment/?iid=%s" % (PORT, iid),
                       "success_url": b.get("success_url"), "cancel_url": b.get("cancel_url"),
                       "partially_paid_url": b.get("partially_paid_url"),
                       "created_at": now_iso(), "updated_at": now_iso(),
                       "is_fixed_rate": bool(b.get("is_fixed_rate", False)),
                       "is_fee_paid_by_user": bool(b.get("is_fee_paid_by_user", False)),
                       "_n": len(INVOICES) + 1}
                INVOICES[iid] = inv
            return 201, {k: v for k, v in inv.items() if not k.startswith("_")}
        if path == "/v1/payment/" and method == "GET":
            with LOCK:
                rows = [p for p in PAYMENTS.values()
                        if not q.get("invoiceId") or str(p["invoice_id"]) == q["invoiceId"]]
                if q.get("dateFrom"):
                    rows = [p for p in rows if p["created_at"][:len(q["dateFrom"])] >= q["dateFrom"][:24]]
                rows.sort(key=lambda p: p["_created"], reverse=q.get("orderBy", "asc") == "desc")
                try:
                    limit = max(1, min(500, int(q.get("limit") or 10)))
                    page = max(0, int(q.get("page") or 0))
                except ValueError:
                    return 400, {"status": False, "statusCode": 400, "code": "INVALID_REQUEST_PARAMS",
                                 "message": "limit and page are numbers"}
                data = [public(p) for p in rows[page * limit:(page + 1) * limit]]
                return 200, {"data": data, "limit": limit, "page": page,
                             "pagesCount": -(-len(rows) // limit), "total": len(rows)}
        if path.startswith("/v1/payment/") and method == "GET":
            try:
                pid = int(path[len("/v1/payment/"):])
            except ValueError:
                return 400, {"status": False, "statusCode": 400, "code": "INVALID_REQUEST_PARAMS",
                             "message": "payment_id must be a number"}
            with LOCK:
                p = PAYMENTS.get(pid)
                if p is None:
                    return 404, {"status": False, "statusCode": 404, "code": "PAYMENT_NOT_FOUND",
                                 "message": "Payment not found"}
                return 200, public(p)
        return 404, {"status": False, "statusCode": 404, "code": "NOT_FOUND", "message": "Not found"}

    # -- the customer's pages --

    def page(self, iid):
        inv = INVOICES.get(iid)
        if inv is None:
            return self.send_body(404, "<!doctype html><title>Not found</title><p>No such invoice.",
                                  "text/html; charset=utf-8")
        e = html.escape
        opts = "".join('<option value="%s">%s</option>' % (e(c), e(c.upper())) for c in sorted(RATES))
        body = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>NOWPayments invoice %s</title>"
                "</head><body><main><h1>Pay %s %s</h1><p>%s</p>"
                "<form method=post action=/payment/pay><input type=hidden name=iid value=\"%s\">"
                "<label>Coin <select name=pay_currency>%s</select></label>"
                "<button name=how value=full>Pay in full</button>"
                "<button name=how value=partial>Pay half</button>"
                "<button name=how value=over>Pay 120 %%</button></form>"
                "<p><a id=cancel href=\"%s\">Cancel</a></p></main></body></html>") % (
            e(iid), e(inv["price_amount"]), e(inv["price_currency"].upper()), e(inv["order_description"] or ""),
            e(iid), opts, e(inv["cancel_url"] or "/"))
        self.send_body(200, body, "text/html; charset=utf-8")

    def page_pay(self, raw):
        f = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        inv = INVOICES.get(f.get("iid", ""))
        how = f.get("how", "full")
        if inv is None or how not in FRACTIONS:
            return self.send_body(400, "bad request\n", "text/plain")
        cur = f.get("pay_currency", "btc")
        pay(inv, FRACTIONS[how], PAGE_STATUSES[how], cur if cur in RATES else "btc")
        to = (inv["partially_paid_url"] if how == "partial" else inv["success_url"]) or "/"
        self.send_body(303, "", "text/plain", {"Location": to})

    # -- control routes --

    def control(self, method, what, raw):
        try:
            b = json.loads(raw or b"{}")
        except ValueError:
            return self.reply(400, {"error": "bad json"})
        if what == "state" and method == "GET":
            with LOCK:
                return self.reply(200, {
                    "invoices": [{k: v for k, v in i.items() if not k.startswith("_")} for i in INVOICES.values()],
                    "payments": [public(p) for p in PAYMENTS.values()],
                    "deliveries": DELIVERIES, "calls": CALLS, "fault": FAULT})
        if what == "fault" and method == "POST":
            with LOCK:
                FAULT.update({"kind": b.get("kind", ""), "route": b.get("route", ""),
                              "after": int(b.get("after", 0)), "count": int(b.get("count", 0)),
                              "seconds": float(b.get("seconds", 2.0)), "seen": 0, "hit": 0})
            return self.reply(200, {"ok": True})
        if what == "pay" and method == "POST":
            with LOCK:
                inv = find_invoice(b)
            if inv is None:
                return self.reply(404, {"error": "no such invoice"})
            p, out = pay(inv, str(b.get("fraction", "1")), b.get("statuses") or PAGE_STATUSES["full"],
                         b.get("pay_currency", "btc"), b.get("deliver", True), int(b.get("duplicate", 1)),
                         bool(b.get("reverse", False)))
            return self.reply(200, {"payment_id": p["payment_id"], "payment": public(p), "deliveries": out})
        if what == "status" and method == "POST":
            with LOCK:
                p = PAYMENTS.get(int(b.get("payment_id", 0)))
                if p is None:
                    return self.reply(404, {"error": "no such payment"})
                snap = set_status(p, b["status"], b.get("actually_paid"))
            out = deliver(p, snap) if b.get("deliver", True) else []
            return self.reply(200, {"payment": snap, "deliveries": out})
        if what == "deliver" and method == "POST":
            with LOCK:
                p = PAYMENTS.get(int(b.get("payment_id", 0)))
                if p is None:
                    return self.reply(404, {"error": "no such payment"})
                snaps = [s for s in HISTORY[p["payment_id"]] if s["payment_status"] == b["status"]] \
                    if b.get("status") else [public(p)]
            if not snaps:
                return self.reply(404, {"error": "no such status in the payment's history"})
            out = deliver(p, snaps[-1], tamper=b.get("tamper"), legacy=bool(b.get("legacy")), sig=b.get("sig"),
                          nosig=bool(b.get("nosig")), count=int(b.get("count", 1)))
            return self.reply(200, {"deliveries": out})
        return self.reply(404, {"error": "no such control route"})


def main():
    global OPTS, PORT
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--ipn-secret", default="")
    ap.add_argument("--ipn-secret-file", default="")
    ap.add_argument("--webhook", default="")
    ap.add_argument("--signer", default=os.path.join(here, "nowpay_sign.cjs"))
    ap.add_argument("--node", default="node")
    ap.add_argument("--rate", action="append", default=[])
    OPTS = ap.parse_args()
    if OPTS.ipn_secret_file:
        with open(OPTS.ipn_secret_file) as f:
            OPTS.ipn_secret = f.readline().rstrip("\r\n")
    if not OPTS.ipn_secret:
        ap.error("--ipn-secret or --ipn-secret-file is required")
    for r in OPTS.rate:
        c, v = r.split("=", 1)
        RATES[c.lower()] = v
    node_sign(obj={"ping": 1})      # the signer runs before the port is told
    srv = ThreadingHTTPServer(("127.0.0.1", OPTS.port), Handler)
    srv.daemon_threads = True
    PORT = srv.server_address[1]
    sys.stdout.write("%d\n" % PORT)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
