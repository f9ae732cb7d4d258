#!/usr/bin/env python3
"""stripe_double.py: a Stripe API double, standard library only.

Written from ../shared/contracts/payments.md section 1 (numbers below are
that section's).  Stateful (stripe-mock is not: 1.9), in memory, real
HTTP/1.1 with keep-alive on 127.0.0.1.

  --port N              listen on 127.0.0.1:N; 0 (default): an ephemeral
                        port, printed as stdout's first line
  --key SK              the secret key accepted as "Authorization: Bearer
                        SK" (default: any key starting sk_test_)
  --webhook URL         where events are delivered (none: not delivered)
  --webhook-secret S    the endpoint secret events are signed with (1.4;
                        default whsec_test_secret)
  --public-base URL     the base of the checkout page URLs (default
                        http://127.0.0.1:PORT)
  --clock-file FILE     seconds added to the clock (px.py's test clock):
                        created, expires_at and signatures' t follow the
                        shop's test clock

The API (1.1-1.3, 1.6): form-encoded bodies with bracket notation, JSON
replies, Stripe's error envelope {"error":{"type","code","message",
"param"}}, Request-Id on every reply, Idempotency-Key on POST (the first
reply stored, a 500 included, and replayed with Idempotent-Replayed: true;
the same key with other parameters or another path: 400 idempotency_error;
nothing stored for a validation error or a reset connection).
  POST /v1/checkout/sessions            create (1.2; with Stripe-Version
                                        2026-10-28.endive or later,
                                        payment_method_types is refused)
  GET  /v1/checkout/sessions/{id}       retrieve (expand[]=payment_intent,
                                        expand[]=line_items)
  GET  /v1/checkout/sessions            list (created[gte|gt|lte|lt],
                                        limit, starting_after), newest first
  POST /v1/checkout/sessions/{id}/expire
  GET  /v1/checkout/sessions/{id}/line_items
  GET  /v1/payment_intents/{id}
  POST /v1/refunds                      (1.6) payment_intent or charge,
                                        amount (default: what is left)
  GET  /v1/refunds/{id}
  GET  /v1/events/{id}
A refund, made by the API or from the "dashboard" (/_double/refund),
delivers charge.refunded with the charge's amount_refunded and its refunds.

The customer's side:
  GET  /c/pay/{session}     the checkout page: the amount and a Pay button
                            (a form POST, no script), a cancel link
  POST /c/pay/{session}     pays: the session completes, events go out,
                            303 to success_url with {CHECKOUT_SESSION_ID}
                            replaced

Control (JSON in and out):
  POST /_double/complete/{session}  as the customer paying; body options:
        "deliver": "normal" (default), "none", "twice" (each event twice),
                   "reverse" (events in reverse order), "tampered" (the
                   body changed after signing), "stale" (t = now - age),
                   "wrong-secret"
        "age": seconds for "stale" (default 400); "delay": seconds before
        delivering (a late event); "async": true (completed unpaid, then
        async_payment_succeeded) or "async": "fail"; "amount_total": what
        the session says was paid (a wrong amount); "wait": false to
        answer before delivering.  Answers {"session", "events":[ids],
        "deliveries":[{"event","type","status","header"}]}
  POST /_double/expire/{session}    the session expires (event delivered)
  POST /_double/refund              {"session"|"payment_intent", "amount"}:
                                    a refund made in Stripe's dashboard
  POST /_double/deliver             {"event", "deliver", "age", "secret"}:
                                    deliver a stored event again (a replay)
  POST /_double/fault               {"path": prefix, "method", "mode":
                                    "500"|"503"|"429"|"slow"|"reset"|"none",
                                    "count" (0: until cleared), "seconds",
                                    "store" (a 500 stored under its
                                    Idempotency-Key; default true, as Stripe)}
  GET  /_double/state               sessions, payment intents, refunds,
                                    events, deliveries, idempotency keys
  GET  /_double/requests            every API request: method, path, the
                                    headers, the raw body
"""
import argparse
import hashlib
import hmac
import html
import json
import os
import secrets
import socket
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

LOCK = threading.RLock()
OPTS = None
PORT = 0
SESSIONS = {}       # id -> session
ORDER = []          # session ids, oldest first
INTENTS = {}        # pi id -> payment intent
CHARGES = {}        # ch id -> charge
REFUNDS = {}        # re id -> refund
EVENTS = {}         # evt id -> (event dict, raw body)
EVENT_ORDER = []
DELIVERIES = []     # {"event","type","status","header","t"}
IDEM = {}           # key -> {"fp","status","body"}
REQUESTS = []
FAULTS = []         # {"path","method","mode","count","seconds","store"}
API_VERSION = "2026-10-28.endive"
ENDPOINT_VERSION = API_VERSION

# Top-level parameters of SessionCreateParams the shop may send (1.2);
# anything else is "Received unknown parameter", as Stripe answers.
SESSION_PARAMS = {
    "mode", "line_items", "success_url", "cancel_url", "client_reference_id", "metadata",
    "payment_intent_data", "customer_email", "customer", "expires_at", "locale",
    "allowed_payment_method_types", "payment_method_types", "submit_type", "ui_mode", "currency",
    "expand", "billing_address_collection", "allow_promotion_codes", "custom_text", "discounts",
    "invoice_creation", "phone_number_collection", "automatic_tax", "consent_collection",
    "return_url", "redirect_on_completion", "payment_method_options", "customer_creation",
    "shipping_address_collection", "tax_id_collection", "after_expiration",
}
REFUND_PARAMS = {"payment_intent", "charge", "amount", "reason", "metadata", "expand",
                 "refund_application_fee", "reverse_transfer", "instructions_email"}


def now():
    off = 0
    if OPTS and OPTS.clock_file:
        try:
            with open(OPTS.clock_file) as f:
                off = int(f.read().strip() or "0")
        except (OSError, ValueError):
            off = 0
    return int(time.time()) + off


def rid(prefix, n=24):
    alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(secrets.choice(alpha) for _ in range(n))


class StripeError(Exception):
    def __init__(self, status, etype, message, param=None, code=None):
        super().__init__(message)
        self.status, self.etype, self.message, self.param, self.code = status, etype, message, param, code

    def body(self):
        e = {"type": self.etype, "message": self.message}
        if self.param:
            e["param"] = self.param
        if self.code:
            e["code"] = self.code
        return {"error": e}


def invalid(message, param=None, code=None):
    return StripeError(400, "invalid_request_error", message, param, code)


def parse_form(raw):
    """Bracket notation (1.1) into nested dicts and lists: a[b][0][c]=v.
    Keys may arrive with [ and ] encoded or not (the SDK sends them bare)."""
    root = {}
    for k, v in parse_qsl(raw, keep_blank_values=True, strict_parsing=False):
        parts = []
        head, _, rest = k.partition("[")
        parts.append(head)
        while rest:
            inner, _, rest = rest.partition("]")
            parts.append(inner)
            rest = rest[1:] if rest.startswith("[") else rest
        cur = root
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                cur[p] = v
            else:
                cur = cur.setdefault(p, {})
                if not isinstance(cur, dict):
                    raise invalid("Invalid nesting for %s" % k, k)
    return listify(root)


def listify(o):
    """Dicts whose keys are all 0..n-1 become lists (line_items[0])."""
    if not isinstance(o, dict):
        return o
    o = {k: listify(v) for k, v in o.items()}
    if o and all(k.isdigit() for k in o):
        idx = sorted(int(k) for k in o)
        if idx == list(range(len(idx))):
            return [o[str(i)] for i in idx]
    return o


def as_int(v, param):
    if v is None:
        return None
    if isinstance(v, str) and (v.isdigit() or (v.startswith("-") and v[1:].isdigit())):
        return int(v)
    raise invalid("Invalid integer: %s" % v, param)


def check_metadata(md, param):
    if md is None or md == "":
        return {}
    if not isinstance(md, dict):
        raise invalid("Invalid hash", param)
    if len(md) > 50:
        raise invalid("You can specify up to 50 keys.", param)
    for k, v in md.items():
        if len(k) > 40:
            raise invalid("Metadata keys can have a maximum length of 40 characters.", "%s[%s]" % (param, k))
        if not isinstance(v, str) or len(v) > 500:
            raise invalid("Metadata values can have a maximum length of 500 characters.", "%s[%s]" % (param, k))
    return dict(md)


# -- objects --

def session_view(s, expand=()):
    out = dict(s)
    out.pop("_line_items", None)
    out.pop("_pi_metadata", None)
    if "payment_intent" in expand and s["payment_intent"]:
        out["payment_intent"] = INTENTS[s["payment_intent"]]
    if "line_items" in expand:
        out["line_items"] = {"object": "list", "data": s["_line_items"], "has_more": False,
                             "url": "/v1/checkout/sessions/%s/line_items" % s["id"]}
    return out


def create_session(p, version):
    unknown = sorted(set(p) - SESSION_PARAMS)
    if version >= "2026-10-28" and "payment_method_types" in p:
        unknown = ["payment_method_types"] + unknown
    if unknown:
        raise invalid("Received unknown parameter: %s" % unknown[0], unknown[0], "parameter_unknown")
    mode = p.get("mode")
    if mode not in ("payment", "setup", "subscription"):
        raise invalid("Missing required param: mode." if mode is None else "Invalid mode: %s" % mode, "mode",
                      "parameter_missing" if mode is None else None)
    if mode != "payment":
        raise invalid("This double only does mode=payment.", "mode")
    items = p.get("line_items")
    if not isinstance(items, list) or not items:
        raise invalid("You must specify `line_items` in `payment` mode.", "line_items")
    total, currency, lines = 0, None, []
    for i, it in enumerate(items):
        pre = "line_items[%d]" % i
        if not isinstance(it, dict):
            raise invalid("Invalid object", pre)
        pd = it.get("price_data")
        if it.get("price"):
            raise invalid("No such price: '%s'" % it["price"], pre + "[price]", "resource_missing")
        if not isinstance(pd, dict):
            raise invalid("You must specify either `price` or `price_data` in `line_items[%d]`." % i, pre)
        cur = pd.get("currency")
        if not cur:
            raise invalid("Missing required param: %s[price_data][currency]." % pre, pre + "[price_data][currency]",
                          "parameter_missing")
        cur = cur.lower()
        if currency is not None and cur != currency:
            raise invalid("All line items must share one currency.", pre + "[price_data][currency]")
        currency = cur
        name = (pd.get("product_data") or {}).get("name") if isinstance(pd.get("product_data"), dict) else None
        if not name and not pd.get("product"):
            raise invalid("Missing required param: %s[price_data][product_data][name]." % pre,
                          pre + "[price_data][product_data][name]", "parameter_missing")
        unit = as_int(pd.get("unit_amount"), pre + "[price_data][unit_amount]")
        if unit is None or unit < 0:
            raise invalid("Missing required param: %s[price_data][unit_amount]." % pre,
                          pre + "[price_data][unit_amount]", "parameter_missing")
        qty = as_int(it.get("quantity"), pre + "[quantity]")
        if qty is None or qty < 1:
            raise invalid("Missing required param: %s[quantity]." % pre, pre + "[quantity]", "parameter_missing")
        total += unit * qty
        lines.append({"id": rid("li_"), "object": "item", "amount_subtotal": unit * qty,
                      "amount_total": unit * qty, "currency": cur, "description": name, "quantity": qty,
                      "price": {"id": rid("price_"), "object": "price", "currency": cur, "unit_amount": unit,
                                "product": rid("prod_")}})
    if not p.get("success_url"):
        raise invalid("Missing required param: success_url.", "success_url", "parameter_missing")
    for u in ("success_url", "cancel_url"):
        if p.get(u) and not (p[u].startswith("http://") or p[u].startswith("https://")):
            raise invalid("Not a valid URL", u, "url_invalid")
    t = now()
    exp = as_int(p.get("expires_at"), "expires_at")
    if exp is None:
        exp = t + 86400
    elif exp < t + 1800 or exp > t + 86400:
        raise invalid("The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout "
                      "Session creation.", "expires_at")
    cref = p.get("client_reference_id")
    if cref is not None and len(cref) > 200:
        raise invalid("client_reference_id must be at most 200 characters.", "client_reference_id")
    md = check_metadata(p.get("metadata"), "metadata")
    pid = p.get("payment_intent_data") or {}
    if pid and not isinstance(pid, dict):
        raise invalid("Invalid hash", "payment_intent_data")
    pimd = check_metadata(pid.get("metadata"), "payment_intent_data[metadata]")
    sid = rid("cs_test_a1", 48)
    s = {
        "id": sid, "object": "checkout.session", "after_expiration": None, "allow_promotion_codes": None,
        "amount_subtotal": total, "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None, "cancel_url": p.get("cancel_url"),
        "client_reference_id": cref, "client_secret": None, "consent": None, "consent_collection": None,
        "created": t, "currency": currency, "currency_conversion": None, "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": None, "customer_creation": "if_required", "customer_details": None,
        "customer_email": p.get("customer_email"), "expires_at": exp, "invoice": None,
        "invoice_creation": {"enabled": False, "invoice_data": {}}, "livemode": False,
        "locale": p.get("locale"), "metadata": md, "mode": mode, "payment_intent": None,
        "payment_link": None, "payment_method_collection": "if_required",
        "payment_method_configuration_details": None, "payment_method_options": {},
        "payment_method_types": ["card"], "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False}, "recovered_from": None,
        "saved_payment_method_options": None, "setup_intent": None, "shipping_address_collection": None,
        "shipping_cost": None, "shipping_details": None, "shipping_options": [], "status": "open",
        "submit_type": None, "subscription": None, "success_url": p.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": "%s/c/pay/%s#fid%s" % (OPTS.public_base, sid, secrets.token_urlsafe(24)),
        "_line_items": lines, "_pi_metadata": pimd,
    }
    SESSIONS[sid] = s
    ORDER.append(sid)
    return s


def new_intent(s, amount):
    pi = rid("pi_3Q")
    ch = rid("ch_3Q")
    CHARGES[ch] = {"id": ch, "object": "charge", "amount": amount, "amount_captured": amount,
                   "amount_refunded": 0, "captured": True, "created": now(), "currency": s["currency"],
                   "livemode": False, "metadata": dict(s["_pi_metadata"]), "paid": True,
                   "payment_intent": pi, "refunded": False, "status": "succeeded",
                   "refunds": {"object": "list", "data": [], "has_more": False,
                               "url": "/v1/charges/%s/refunds" % ch}}
    INTENTS[pi] = {"id": pi, "object": "payment_intent", "amount": amount, "amount_received": amount,
                   "created": now(), "currency": s["currency"], "latest_charge": ch, "livemode": False,
                   "metadata": dict(s["_pi_metadata"]), "status": "succeeded"}
    return pi


def event(etype, obj, request=None):
    e = {"id": rid("evt_1Q"), "object": "event", "api_version": ENDPOINT_VERSION, "created": now(),
         "data": {"object": json.loads(json.dumps(obj))}, "livemode": False, "pending_webhooks": 1,
         "request": request or {"id": None, "idempotency_key": None}, "type": etype}
    # Stripe sends its JSON pretty-printed: the shop must verify the raw
    # bytes, never a re-serialised copy.
    raw = json.dumps(e, indent=2).encode()
    EVENTS[e["id"]] = (e, raw)
    EVENT_ORDER.append(e["id"])
    return e["id"]


def sign(raw, t, secret):
    mac = hmac.new(secret.encode(), str(t).encode() + b"." + raw, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def deliver_one(eid, how="normal", age=400, secret=None):
    e, raw = EVENTS[eid]
    t = now() - (age if how == "stale" else 0)
    header = sign(raw, t, "whsec_wrong" if how == "wrong-secret" else (secret or OPTS.webhook_secret))
    body = raw
    if how == "tampered":
        body = raw.replace(b'"livemode": false', b'"livemode": true ', 1)
        if body == raw:
            body = raw + b" "
    status = 0
    if OPTS.webhook:
        req = urllib.request.Request(OPTS.webhook, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", "Cache-Control": "no-cache",
            "Accept": "*/*; q=0.5, application/xml"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status = r.status
                r.read()
        except urllib.error.HTTPError as x:
            status = x.code
        except OSError:
            status = 0
    d = {"event": eid, "type": e["type"], "status": status, "header": header, "how": how, "t": t}
    with LOCK:
        DELIVERIES.append(d)
    return d


def deliver(eids, how="normal", age=400, delay=0.0):
    if delay:
        time.sleep(delay)
    order = list(reversed(eids)) if how == "reverse" else list(eids)
    out = []
    for eid in order:
        kind = how if how in ("tampered", "stale", "wrong-secret") else "normal"
        out.append(deliver_one(eid, kind, age))
        if how == "twice":
            out.append(deliver_one(eid, "normal", age))
    return out


def complete(sid, opts):
    """The customer pays: the session completes (1.5's events)."""
    s = SESSIONS.get(sid)
    if s is None:
        raise StripeError(404, "invalid_request_error", "No such checkout.session: '%s'" % sid, "session",
                          "resource_missing")
    if s["status"] != "open":
        raise invalid("This Checkout Session is no longer active (status %s)." % s["status"])
    if "amount_total" in opts:
        s["amount_total"] = int(opts["amount_total"])
    s["status"] = "complete"
    s["url"] = None
    s["customer_details"] = {"email": s["customer_email"] or "buyer@example.com", "name": "A Buyer",
                             "address": None, "phone": None, "tax_exempt": "none", "tax_ids": []}
    eids = []
    asyncp = opts.get("async")
    s["payment_intent"] = new_intent(s, s["amount_total"])
    pi = INTENTS[s["payment_intent"]]
    if asyncp:
        # A delayed method (a bank debit): completed unpaid, then the
        # outcome (1.5).
        pi["status"] = "processing"
        eids.append(event("checkout.session.completed", session_view(s)))
        if asyncp == "fail":
            pi["status"] = "requires_payment_method"
            pi["latest_charge"] = None
            eids.append(event("checkout.session.async_payment_failed", session_view(s)))
            return eids
        pi["status"] = "succeeded"
        s["payment_status"] = "paid"
        eids.append(event("checkout.session.async_payment_succeeded", session_view(s)))
    else:
        s["payment_status"] = "paid"
        eids.append(event("checkout.session.completed", session_view(s)))
    return eids


def expire(sid):
    s = SESSIONS.get(sid)
    if s is None:
        raise StripeError(404, "invalid_request_error", "No such checkout.session: '%s'" % sid, "session",
                          "resource_missing")
    if s["status"] != "open":
        raise invalid("Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout "
                      "Session has a status of \"%s\"." % s["status"])
    s["status"] = "expired"
    s["url"] = None
    return event("checkout.session.expired", session_view(s))


def refund(p, request=None):
    unknown = sorted(set(p) - REFUND_PARAMS)
    if unknown:
        raise invalid("Received unknown parameter: %s" % unknown[0], unknown[0], "parameter_unknown")
    if p.get("payment_intent"):
        pi = INTENTS.get(p["payment_intent"])
        if pi is None:
            raise invalid("No such payment_intent: '%s'" % p["payment_intent"], "payment_intent",
                          "resource_missing")
        ch = CHARGES.get(pi.get("latest_charge") or "")
        if ch is None:
            raise invalid("This PaymentIntent does not have a successful charge to refund.", "payment_intent",
                          "charge_not_refundable")
    elif p.get("charge"):
        ch = CHARGES.get(p["charge"])
        if ch is None:
            raise invalid("No such charge: '%s'" % p["charge"], "charge", "resource_missing")
    else:
        raise invalid("One of the following params should be provided for this request: payment_intent or "
                      "charge.", None, "parameter_missing")
    left = ch["amount"] - ch["amount_refunded"]
    amount = as_int(p.get("amount"), "amount")
    if left <= 0:
        raise invalid("Charge %s has already been refunded." % ch["id"], None, "charge_already_refunded")
    if amount is None:
        amount = left
    if amount <= 0:
        raise invalid("Invalid positive integer", "amount")
    if amount > left:
        raise invalid("Refund amount (%d) is greater than unrefunded amount on charge (%d)" % (amount, left),
                      "amount", "amount_too_large")
    reason = p.get("reason")
    if reason not in (None, "", "duplicate", "fraudulent", "requested_by_customer"):
        raise invalid("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                      "reason")
    r = {"id": rid("re_3Q"), "object": "refund", "amount": amount, "balance_transaction": rid("txn_"),
         "charge": ch["id"], "created": now(), "currency": ch["currency"],
         "destination_details": {"card": {"type": "refund"}, "type": "card"},
         "metadata": check_metadata(p.get("metadata"), "metadata"), "payment_intent": ch["payment_intent"],
         "reason": reason or None, "receipt_number": None, "source_transfer_reversal": None,
         "status": "succeeded", "transfer_reversal": None}
    REFUNDS[r["id"]] = r
    ch["amount_refunded"] += amount
    ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
    ch["refunds"]["data"].insert(0, r)
    eid = event("charge.refunded", ch, request)
    return r, eid


# -- faults --

def take_fault(method, path):
    with LOCK:
        for f in FAULTS:
            if path.startswith(f["path"]) and f["method"] in ("", method):
                if f["count"] == 0:
                    return dict(f)
                if f["left"] > 0:
                    f["left"] -= 1
                    return dict(f)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj, extra=None, ctype="application/json", raw=None):
        body = raw if raw is not None else (json.dumps(obj, indent=2) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", rid("req_", 14))
        self.send_header("Stripe-Version", getattr(self, "version", API_VERSION))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.handle_any("GET", b"")

    def do_POST(self):
        self.handle_any("POST", self.read_body())

    def do_DELETE(self):
        self.handle_any("DELETE", self.read_body())

    def handle_any(self, method, raw):
        u = urlsplit(self.path)
        path = u.path
        if path.startswith("/_double/"):
            return self.control(method, path[len("/_double/"):], raw)
        if path.startswith("/c/pay/"):
            return self.checkout_page(method, path[len("/c/pay/"):], raw)
        if not path.startswith("/v1/"):
            return self.reply(404, invalid("Unrecognized request URL (%s: %s)." % (method, path)).body())
        with LOCK:
            REQUESTS.append({"method": method, "path": path, "query": u.query,
                             "headers": {k: v for k, v in self.headers.items()},
                             "body": raw.decode("utf-8", "replace"), "t": now()})
        self.version = self.headers.get("Stripe-Version") or API_VERSION
        auth = self.headers.get("Authorization") or ""
        key = auth[7:] if auth.startswith("Bearer ") else ""
        if not key or (OPTS.key and key != OPTS.key) or (not OPTS.key and not key.startswith("sk_test_")):
            msg = ("You did not provide an API key. You need to provide your API key in the Authorization "
                   "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')." if not key else
                   "Invalid API Key provided: %s" % (key[:8] + "*" * 4 + key[-4:]))
            return self.reply(401, {"error": {"type": "invalid_request_error", "message": msg}},
                              {"WWW-Authenticate": 'Bearer realm="Stripe"'})
        fault = take_fault(method, path)
        if fault and fault["mode"] == "reset":
            # Nothing stored: the request never reached Stripe's store.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault["mode"] == "slow":
            time.sleep(fault["seconds"])
        idem = self.headers.get("Idempotency-Key") if method == "POST" else None
        body_text = raw.decode("utf-8", "replace")
        if idem is not None:
            if len(idem) > 255:
                return self.reply(400, invalid("Idempotency-Key must be at most 255 characters.").body())
            with LOCK:
                prev = IDEM.get(idem)
            if prev is not None:
                if prev["fp"] != (method, path, body_text):
                    return self.reply(400, StripeError(
                        400, "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        "first used with. Try using a key other than '%s' if you meant to execute a different "
                        "request." % idem).body())
                return self.reply(prev["status"], None, {"Idempotent-Replayed": "true",
                                                          "Original-Request": prev["req"]},
                                  raw=prev["body"])
        if fault and fault["mode"] in ("500", "503", "429"):
            st = int(fault["mode"])
            err = StripeError(st, "api_error", "An unknown error occurred",
                              None, "rate_limit" if st == 429 else None).body()
            body = (json.dumps(err, indent=2) + "\n").encode()
            # Stripe stores the first result of a key, a 500 included
            # (1.3); a 429 or 503 is refused before it: nothing stored.
            if idem is not None and st == 500 and fault.get("store", True):
                with LOCK:
                    IDEM[idem] = {"fp": (method, path, body_text), "status": st, "body": body,
                                  "req": rid("req_", 14)}
            return self.reply(st, None, {"Stripe-Should-Retry": "true"} if st != 500 else None, raw=body)
        try:
            with LOCK:
                status, obj, after = self.api(method, path, u.query, raw)
        except StripeError as e:
            # A validation error is not stored under the key (1.3).
            return self.reply(e.status, e.body())
        body = (json.dumps(obj, indent=2) + "\n").encode()
        if idem is not None:
            with LOCK:
                IDEM[idem] = {"fp": (method, path, body_text), "status": status, "body": body,
                              "req": rid("req_", 14)}
        self.reply(status, None, raw=body)
        for eids in after:
            threading.Thread(target=deliver, args=(eids,), daemon=True).start()

    def api(self, method, path, query, raw):
        """(status, object, [event id lists to deliver after replying])."""
        parts = path.strip("/").split("/")[1:]
        q = parse_form(query)
        expand = q.get("expand") or []
        if isinstance(expand, str):
            expand = [expand]
        if method == "POST":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if raw and ctype != "application/x-www-form-urlencoded":
                raise invalid("Invalid request: the body must be application/x-www-form-urlencoded.")
            p = parse_form(raw.decode("utf-8"))
        else:
            p = {}
        if parts == ["checkout", "sessions"] and method == "POST":
            return 200, session_view(create_session(p, self.version)), []
        if parts == ["checkout", "sessions"] and method == "GET":
            return 200, self.list_sessions(q), []
        if len(parts) == 3 and parts[:2] == ["checkout", "sessions"] and method == "GET":
            s = SESSIONS.get(parts[2])
            if s is None:
                raise StripeError(404, "invalid_request_error", "No such checkout.session: '%s'" % parts[2],
                                  "session", "resource_missing")
            return 200, session_view(s, expand), []
        if len(parts) == 4 and parts[:2] == ["checkout", "sessions"] and parts[3] == "expire" \
                and method == "POST":
            eid = expire(parts[2])
            return 200, session_view(SESSIONS[parts[2]]), [[eid]]
        if len(parts) == 4 and parts[:2] == ["checkout", "sessions"] and parts[3] == "line_items":
            s = SESSIONS.get(parts[2])
            if s is None:
                raise StripeError(404, "invalid_request_error", "No such checkout.session", "session",
                                  "resource_missing")
            return 200, {"object": "list", "data": s["_line_items"], "has_more": False,
                         "url": path}, []
        if len(parts) == 2 and parts[0] == "payment_intents" and method == "GET":
            pi = INTENTS.get(parts[1])
            if pi is None:
                raise StripeError(404, "invalid_request_error", "No such payment_intent: '%s'" % parts[1],
                                  "intent", "resource_missing")
            return 200, pi, []
        if parts == ["refunds"] and method == "POST":
            r, eid = refund(p, {"id": rid("req_", 14), "idempotency_key": self.headers.get("Idempotency-Key")})
            return 200, r, [[eid]]
        if len(parts) == 2 and parts[0] == "refunds" and method == "GET":
            r = REFUNDS.get(parts[1])
            if r is None:
                raise StripeError(404, "invalid_request_error", "No such refund: '%s'" % parts[1], "id",
                                  "resource_missing")
            return 200, r, []
        if len(parts) == 2 and parts[0] == "events" and method == "GET":
            e = EVENTS.get(parts[1])
            if e is None:
                raise StripeError(404, "invalid_request_error", "No such event: '%s'" % parts[1], "id",
                                  "resource_missing")
            return 200, e[0], []
        raise StripeError(404, "invalid_request_error", "Unrecognized request URL (%s: %s)." % (method, path))

    def list_sessions(self, q):
        limit = as_int(q.get("limit"), "limit") or 10
        if limit < 1 or limit > 100:
            raise invalid("This value must be between 1 and 100.", "limit")
        cr = q.get("created")
        data = [SESSIONS[i] for i in reversed(ORDER)]
        if isinstance(cr, dict):
            for op, fn in (("gte", lambda a, b: a >= b), ("gt", lambda a, b: a > b),
                           ("lte", lambda a, b: a <= b), ("lt", lambda a, b: a < b)):
                if op in cr:
                    v = as_int(cr[op], "created[%s]" % op)
                    data = [s for s in data if fn(s["created"], v)]
        elif cr is not None:
            v = as_int(cr, "created")
            data = [s for s in data if s["created"] == v]
        if q.get("starting_after"):
            ids = [s["id"] for s in data]
            if q["starting_after"] in ids:
                data = data[ids.index(q["starting_after"]) + 1:]
        return {"object": "list", "data": [session_view(s) for s in data[:limit]],
                "has_more": len(data) > limit, "url": "/v1/checkout/sessions"}

    # -- the customer's page --
    def checkout_page(self, method, sid, raw):
        with LOCK:
            s = SESSIONS.get(sid)
        if s is None:
            return self.reply(404, None, ctype="text/html; charset=utf-8",
                              raw=b"<!DOCTYPE html><title>Not found</title><p>Something went wrong.</p>")
        if method == "POST":
            with LOCK:
                if s["status"] != "open":
                    eids = None
                else:
                    eids = complete(sid, {})
            if eids:
                threading.Thread(target=deliver, args=(eids,), daemon=True).start()
            url = (s["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", sid)
            self.send_response(303)
            self.send_header("Location", url)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        amount = "%s %d.%02d" % (s["currency"].upper(), s["amount_total"] // 100, s["amount_total"] % 100)
        if s["status"] == "open":
            desc = html.escape(s["_line_items"][0]["description"] or "")
            page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Pay %s</title>"
                    "</head><body><main><h1>Test mode checkout</h1><p id=\"what\">%s</p>"
                    "<p id=\"amount\">%s</p><form method=\"post\" action=\"/c/pay/%s\">"
                    "<button type=\"submit\" id=\"pay\">Pay %s</button></form>"
                    "<p><a id=\"cancel\" href=\"%s\">Cancel</a></p></main></body></html>"
                    % (amount, desc, amount, html.escape(sid), amount, html.escape(s["cancel_url"] or "/")))
        else:
            page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Checkout</title>"
                    "</head><body><p id=\"state\">This checkout session is %s.</p></body></html>"
                    % html.escape(s["status"]))
        return self.reply(200, None, ctype="text/html; charset=utf-8", raw=page.encode())

    # -- control --
    def control(self, method, what, raw):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.reply(400, {"error": "bad json"})
        try:
            if what == "state" and method == "GET":
                with LOCK:
                    return self.reply(200, {
                        "sessions": [session_view(SESSIONS[i]) for i in ORDER],
                        "payment_intents": list(INTENTS.values()), "charges": list(CHARGES.values()),
                        "refunds": list(REFUNDS.values()),
                        "events": [EVENTS[i][0] for i in EVENT_ORDER], "deliveries": DELIVERIES,
                        "idempotency_keys": sorted(IDEM)})
            if what == "requests" and method == "GET":
                with LOCK:
                    return self.reply(200, REQUESTS)
            if what == "fault" and method == "POST":
                with LOCK:
                    if body.get("mode", "none") == "none":
                        FAULTS.clear()
                    else:
                        FAULTS.append({"path": body.get("path", "/v1/"), "method": body.get("method", ""),
                                       "mode": str(body["mode"]), "count": int(body.get("count", 0)),
                                       "left": int(body.get("count", 0)),
                                       "seconds": float(body.get("seconds", 5)),
                                       "store": bool(body.get("store", True))})
                return self.reply(200, {"faults": FAULTS})
            if what.startswith("complete/") and method == "POST":
                sid = what[len("complete/"):]
                with LOCK:
                    eids = complete(sid, body)
                    sess = session_view(SESSIONS[sid])
                return self.after(eids, body, {"session": sess, "events": eids})
            if what.startswith("expire/") and method == "POST":
                with LOCK:
                    eid = expire(what[len("expire/"):])
                return self.after([eid], body, {"events": [eid]})
            if what == "refund" and method == "POST":
                with LOCK:
                    p = {"amount": str(body["amount"])} if body.get("amount") else {}
                    if body.get("session"):
                        p["payment_intent"] = SESSIONS[body["session"]]["payment_intent"]
                    else:
                        p["payment_intent"] = body["payment_intent"]
                    r, eid = refund(p)
                return self.after([eid], body, {"refund": r, "events": [eid]})
            if what == "deliver" and method == "POST":
                d = deliver_one(body["event"], body.get("deliver", "normal"), int(body.get("age", 400)),
                                body.get("secret"))
                return self.reply(200, {"deliveries": [d]})
            if what == "sign" and method == "POST":
                payload = body["payload"].encode()
                return self.reply(200, {"header": sign(payload, int(body.get("t", now())),
                                                       body.get("secret", OPTS.webhook_secret))})
        except StripeError as e:
            return self.reply(e.status, e.body())
        except (KeyError, ValueError, TypeError) as e:
            return self.reply(400, {"error": "bad control request: %r" % (e,)})
        return self.reply(404, {"error": "no such control route"})

    def after(self, eids, body, out):
        how = body.get("deliver", "normal")
        if how == "none":
            out["deliveries"] = []
            return self.reply(200, out)
        if body.get("wait", True) and not body.get("delay"):
            out["deliveries"] = deliver(eids, how, int(body.get("age", 400)))
            return self.reply(200, out)
        threading.Thread(target=deliver, args=(eids, how, int(body.get("age", 400)),
                                               float(body.get("delay", 0))), daemon=True).start()
        out["deliveries"] = "later"
        return self.reply(200, out)


def main():
    global OPTS, PORT
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", default="")
    ap.add_argument("--webhook", default="")
    ap.add_argument("--webhook-secret", default="whsec_test_secret")
    ap.add_argument("--public-base", default="")
    ap.add_argument("--clock-file", default="")
    OPTS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", OPTS.port), Handler)
    srv.daemon_threads = True
    PORT = srv.server_address[1]
    if not OPTS.public_base:
        OPTS.public_base = "http://127.0.0.1:%d" % PORT
    print(PORT, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
