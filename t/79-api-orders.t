#!/usr/bin/env python3
"""The orders and wallet JSON API and the staff's CSV exports (issue 11),
through nginx and the pool.

API: GET /api/v1/orders (the token owner's, newest first, keyset pages
by an opaque cursor, limit 1..100 default 20, next_cursor null at the
end), /api/v1/orders/{public_id} (items, amounts as minor units with the
currency and a formatted string, state, events, invoice number) and
/api/v1/wallet (balance and ledger); scope "read"; a hostile cursor or
limit is a 400 JSON error, never a 500; another customer's order is a
404 JSON error.

CSV: /admin/exports/orders.csv (orders.read) and
/admin/exports/ledger.csv (customers.read) for a validated range of at
most 366 days, RFC 4180 with CRLF, hostile text neutralised while a
negative amount stays a number, an attachment with a safe name, one
audit row per export, refused (not cut) past its cap, linked from
/admin/orders and the customer's page."""
import base64
import csv
import hashlib
import io
import json
import os
import secrets
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from pxweb import Browser, Shop  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
sql = s.sql
PW = "correct horse battery staple"


def tc(*args):
    return s.cli("test-commerce", *[str(a) for a in args]).stdout.split()


def b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- two customers, their tokens, orders and wallets --
for cid, email in ((1, "ann@example.com"), (2, "bob@example.com")):
    sql("INSERT INTO customers (id, email, name, password_hash) VALUES (?, ?, ?, 'x')", (cid, email, email[:3]))


def token(scopes, cid=None, sid=None):
    tok = "pxt_" + secrets.token_urlsafe(24)
    sql("INSERT INTO api_tokens (token_hash, prefix, name, customer_id, staff_id, scopes) VALUES (?, ?, 'test', ?, ?, ?)",
        (hashlib.sha256(tok.encode()).digest(), tok[:8], cid, sid, scopes))
    return tok


TA, TB, TA_NOREAD = token("read", cid=1), token("read", cid=2), token("write", cid=1)

tc("wallet", 1, 100000, "topup", "seed-a")
tc("wallet", 2, 5000, "topup", "seed-b")
ann = []
for i in range(25):
    oid, pub = tc("order-new", 1, 100 + i, 0, 0)
    ann.append((int(oid), pub))
bob_id, bob_pub = tc("order-new", 2, 999, 0, 0)
bob_id = int(bob_id)
plan = sql("SELECT id FROM plans ORDER BY id LIMIT 1")[0][0]
rich_id, rich_pub = ann[3]
sql("UPDATE orders SET subtotal_minor = 2000, discount_minor = 250, tax_minor = 350, total_minor = 2100 WHERE id = ?",
    (rich_id,))
sql("INSERT INTO order_items (order_id, plan_id, quantity, unit_price_minor, currency) VALUES (?, ?, 1, 1000, 'USD')",
    (rich_id, plan))
sql("INSERT INTO order_items (order_id, plan_id, quantity, unit_price_minor, currency) VALUES (?, ?, 1, 1000, 'USD')",
    (rich_id, plan))
tc("order-move", rich_id, "paid")
number = tc("invoice", rich_id, "commit")[0]
# Ledger rows with hostile memos (as a staff member's reason could be).
wa = sql("SELECT id FROM wallets WHERE customer_id = 1")[0][0]
memos = ["=HYPERLINK(\"http://evil.example\",\"x\")", "-5+cmd|' /C calc'!A0", "+1", "@SUM(A1)",
         "\tTAB", "a, \"quoted\"\r\nmultiline", "plain"]
for i, m in enumerate(memos):
    sql("INSERT INTO wallet_transactions (wallet_id, amount_minor, kind, memo, idempotency_key) "
        "VALUES (?, ?, 'adjustment', ?, ?)", (wa, -150 if i % 2 else 275, m, "t79-%d" % i))
sql("UPDATE wallets SET balance_minor = (SELECT sum(amount_minor) FROM wallet_transactions t "
    "WHERE t.wallet_id = wallets.id)")


def api(path, tok=TA, headers=None):
    h = {"Authorization": "Bearer " + tok} if tok else {}
    h.update(headers or {})
    return s.get(path, headers=h)


def is_json_error(r, status, code, name):
    try:
        j = r.json()
    except Exception:  # noqa: BLE001
        j = None
    t.ok(r.status == status and (r.header("content-type") or "").startswith("application/json") and
         isinstance(j, dict) and j.get("error", {}).get("code") == code and j["error"].get("message"),
         name, (r.status, r.body[:300]))


# -- the list, its pages --
r = api("/api/v1/orders")
j = r.json()
newest = [p for _, p in reversed(ann)]
t.ok(r.status == 200 and [o["public_id"] for o in j["orders"]] == newest[:20],
     "GET /api/v1/orders: the owner's orders, newest first, 20 by default", (r.status, r.body[:200]))
t.ok(isinstance(j["next_cursor"], str) and j["next_cursor"], "and a next_cursor")
r2 = api("/api/v1/orders?cursor=" + j["next_cursor"])
j2 = r2.json()
t.ok(r2.status == 200 and [o["public_id"] for o in j2["orders"]] == newest[20:] and j2["next_cursor"] is None,
     "the cursor gives the rest, and next_cursor is null at the end", j2)
seen, cur, pages = [], None, 0
while True:
    j = api("/api/v1/orders?limit=7" + ("&cursor=" + cur if cur else "")).json()
    seen += [o["public_id"] for o in j["orders"]]
    pages += 1
    cur = j["next_cursor"]
    if cur is None or pages > 10:
        break
t.ok(seen == newest and pages == 4, "limit=7 walks all 25 in 4 pages, none twice, none missed", (pages, len(seen)))
t.ok(bob_pub not in seen, "and never another customer's order")
j = api("/api/v1/orders?limit=100").json()
t.ok(len(j["orders"]) == 25 and j["next_cursor"] is None, "limit=100: all of them, no next page")
o = [x for x in j["orders"] if x["public_id"] == rich_pub][0]
t.ok(o["total"] == {"minor": 2100, "currency": "USD", "formatted": "$21.00"} and o["state"] == "paid"
     and o["invoice"] == number and o["items"] == 2, "a row: total in minor units, currency and formatted; "
     "state; items; invoice", o)
t.is_(api("/api/v1/orders", tok=TB).json()["orders"][0]["public_id"], bob_pub, "B's token lists B's order")

for q in ("limit=0", "limit=101", "limit=-1", "limit=abc", "limit=", "limit=05", "limit=1e2",
          "limit=99999999999999999999999"):
    is_json_error(api("/api/v1/orders?" + q), 400, "bad_request", "?%s: 400 bad_request" % q)
hostile = {
    "not base64url": "!!!!",
    "empty": "",
    "one character": "A",
    "too long": "A" * 65,
    "id zero": b64(b"o:0"),
    "negative id": b64(b"o:-3"),
    "leading zero": b64(b"o:07"),
    "SQL": b64(b"o:1 OR 1=1"),
    "past int64": b64(b"o:99999999999999999999"),
    "NUL inside": b64(b"o:5\x00"),
    "no id": b64(b"o:"),
    "binary": b64(bytes(range(200, 240))),
    "padding": b64(b"o:12") + "==",
    "percent-encoded NUL": "%00",
    "plus and slash": "ab+/",
}
for name, c in hostile.items():
    is_json_error(api("/api/v1/orders?cursor=" + c), 400, "bad_request", "a hostile cursor (%s): 400, not 500" % name)
    is_json_error(api("/api/v1/wallet?cursor=" + c), 400, "bad_request", "on /api/v1/wallet too (%s)" % name)
is_json_error(api("/api/v1/orders?cursor=" + b64(b"w:5")), 400, "bad_request", "a wallet cursor on orders: 400")
j = api("/api/v1/orders?limit=100&cursor=" + b64(("o:%d" % (bob_id + 1)).encode())).json()
t.ok(bob_pub not in [x["public_id"] for x in j["orders"]] and len(j["orders"]) == 25,
     "a forged cursor past B's order still lists only A's own", len(j["orders"]))

# -- one order --
r = api("/api/v1/orders/" + rich_pub)
j = r.json()
t.ok(r.status == 200 and j["public_id"] == rich_pub and j["state"] == "paid" and j["currency"] == "USD",
     "GET /api/v1/orders/{public_id}: 200, its state and currency", (r.status, r.body[:300]))
t.ok(j["subtotal"]["minor"] == 2000 and j["discount"]["minor"] == 250 and j["tax"]["minor"] == 350 and
     j["total"] == {"minor": 2100, "currency": "USD", "formatted": "$21.00"},
     "amounts as minor units, currency and formatted text", j)
t.ok(len(j["items"]) == 2 and j["items"][0]["price"]["minor"] == 1000 and j["items"][0]["slug"],
     "its items with their prices", j["items"])
t.ok([e["kind"] for e in j["events"]] == ["created", "paid"] and all("T" in e["at"] for e in j["events"]),
     "the events timeline, oldest first, ISO 8601 times", j["events"])
t.ok(j["invoice"] == number and j["paid_at"] is not None, "the invoice number and paid_at", j)
t.ok(api("/api/v1/orders/" + ann[0][1]).json()["invoice"] is None, "an order without invoice: null")
is_json_error(api("/api/v1/orders/" + bob_pub), 404, "not_found", "A's token on B's order: 404 not_found")
is_json_error(api("/api/v1/orders/" + rich_pub, tok=TB), 404, "not_found", "B's token on A's order: 404")
is_json_error(api("/api/v1/orders/nosuchorder00000000"), 404, "not_found", "an unknown order: 404")
is_json_error(api("/api/v1/orders/NOT_A_SLUG"), 404, "not_found", "a malformed public id: 404")

# -- auth --
is_json_error(api("/api/v1/orders", tok=None), 401, "missing_token", "no token: 401")
is_json_error(api("/api/v1/wallet", tok=None, headers={"Cookie": "px_c=" + "a" * 32}), 401, "missing_token",
              "a cookie is not a token: 401")
is_json_error(api("/api/v1/orders", tok=TA_NOREAD), 403, "insufficient_scope", "a token without read: 403")
is_json_error(api("/api/v1/orders/" + rich_pub, tok=TA_NOREAD), 403, "insufficient_scope", "on an order too")

# -- the wallet --
r = api("/api/v1/wallet")
j = r.json()
ledger_sum = sql("SELECT sum(amount_minor) FROM wallet_transactions WHERE wallet_id = ?", (wa,))[0][0]
t.ok(r.status == 200 and j["balance"]["minor"] == ledger_sum and j["currency"] == "USD" and
     j["balance"]["formatted"].startswith("$"), "GET /api/v1/wallet: the balance, equal to the ledger's sum", j)
ids = [x["id"] for x in j["ledger"]]
t.ok(ids == sorted(ids, reverse=True) and len(ids) == 8 and j["next_cursor"] is None,
     "the ledger newest first (8 rows: the top-up and 7 adjustments), no next page", ids)
t.ok(j["ledger"][0]["amount"]["minor"] == 275 and j["ledger"][1]["amount"] == {
    "minor": -150, "currency": "USD", "formatted": "-$1.50"} and j["ledger"][1]["memo"] == memos[5],
    "signed amounts, the memo as written", j["ledger"][:2])
walked, cur = [], None
for _ in range(10):
    j = api("/api/v1/wallet?limit=3" + ("&cursor=" + cur if cur else "")).json()
    walked += [x["id"] for x in j["ledger"]]
    cur = j["next_cursor"]
    if cur is None:
        break
t.is_(walked, ids, "limit=3 pages through the same ledger")
t.ok(api("/api/v1/wallet", tok=TB).json()["balance"]["minor"] == 5000, "B's token sees B's wallet")
is_json_error(api("/api/v1/wallet?cursor=" + api("/api/v1/orders?limit=1").json()["next_cursor"]), 400,
              "bad_request", "an orders cursor on the wallet: 400")
s.cli("user", "add", "--role", "super_admin", "ada@example.com", input=PW + "\n")
sid = sql("SELECT id FROM staff WHERE email = 'ada@example.com'")[0][0]
TS = token("read", sid=sid)
t.ok(api("/api/v1/orders", tok=TS).json() == {"orders": [], "next_cursor": None} and
     api("/api/v1/wallet", tok=TS).json()["ledger"] == [], "a staff token owns no orders and no wallet")
is_json_error(api("/api/v1/orders/" + rich_pub, tok=TS), 404, "not_found", "nor anyone's order")


# -- CSV exports --
def staff(email, role):
    if email != "ada@example.com":
        s.cli("user", "add", "--role", role, email, input=PW + "\n")
    cookie = secrets.token_hex(16)
    sql("UPDATE staff SET totp_enabled_at = unixepoch() WHERE email = ?", (email,))
    sql("INSERT INTO sessions (token_hash, kind, staff_id, csrf_token, mfa_ok, expires_at) SELECT ?, 'staff', id, ?, 1, "
        "unixepoch() + 3600 FROM staff WHERE email = ?", (hashlib.sha256(cookie.encode()).digest(), secrets.token_hex(16),
                                                           email))
    b = Browser(s)
    b.jar["px_s"] = cookie
    return b


ada = staff("ada@example.com", "super_admin")
sql("INSERT INTO roles (name, label) VALUES ('auditor', 'Auditor')")
sql("INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM roles r, permissions p "
    "WHERE r.name = 'auditor' AND p.name IN ('audit.read', 'customers.read')")
sql("INSERT INTO roles (name, label) VALUES ('nobody', 'Nobody')")
aud = staff("aud@example.com", "auditor")
nob = staff("nob@example.com", "nobody")
today = time.strftime("%Y-%m-%d", time.gmtime(s.now()))
rng = "?from=%s&to=%s" % (today, today)


def rows(r):
    return list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))


r = ada.get("/admin/exports/orders.csv" + rng)
t.ok(r.status == 200 and (r.header("content-type") or "").startswith("text/csv"), "orders.csv: 200 text/csv",
     (r.status, r.header("content-type"), r.body[:200]))
t.is_(r.header("content-disposition"), 'attachment; filename="orders-%s-to-%s.csv"' % (today, today),
      "an attachment named by the range")
body = r.body.decode()
t.ok(body.count("\r\n") == 27 and "\n" not in body.replace("\r\n", ""), "CRLF row ends: a head and 26 orders")
g = rows(r)
t.is_(g[0], ["order", "created_at", "paid_at", "state", "customer_id", "customer_email", "currency", "subtotal",
             "discount", "tax", "total", "payment_method", "invoice"], "the head row")
rich = [x for x in g if x[0] == rich_pub][0]
t.ok(rich[7:11] == ["20.00", "2.50", "3.50", "21.00"] and rich[12] == number and rich[3] == "paid" and
     rich[5] == "ann@example.com", "amounts as plain decimals, the invoice and the customer", rich)
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'export.orders'")[0][0], 1, "one audit row")

r = ada.get("/admin/exports/ledger.csv" + rng + "&customer=1")
g = rows(r)
t.ok(r.status == 200 and g[0][5] == "amount" and len(g) == 9, "ledger.csv for one customer: a head and 8 rows",
     (r.status, r.body[:300]))
t.is_(r.header("content-disposition"), 'attachment; filename="ledger-customer-1-%s-to-%s.csv"' % (today, today),
      "its name says the customer")
byid = {x[10]: x for x in g[1:]}
t.ok(byid.get("'" + memos[0]) is not None and byid.get("'" + memos[1]) is not None and
     byid.get("'+1") is not None and byid.get("'@SUM(A1)") is not None and byid.get("'\tTAB") is not None,
     "memos starting = - + @ TAB are prefixed with a quote", sorted(byid))
t.ok(memos[5] in byid and memos[6] in byid, "others are kept as written (comma, quotes and CRLF quoted)")
neg = [x for x in g[1:] if x[10] == "'" + memos[1]][0]
t.is_(neg[5], "-1.50", "a negative amount is a plain number, not prefixed")
t.ok(b'-1.50,USD' in r.body and b'"a, ""quoted""\r\nmultiline"' in r.body, "on the wire: the bare number; the "
     "quoted cell with doubled quotes")
t.ok(b"\r\n'=HYPERLINK" not in r.body and b",=" not in r.body and b",\"=" not in r.body and b",-5" not in r.body,
     "no cell starts with a formula character")
t.is_(len(rows(ada.get("/admin/exports/ledger.csv" + rng))), 1 + 8 + 1, "the whole ledger: both customers")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'export.ledger'")[0][0], 2, "an audit row each")

for q, why in (("", "no range"), ("?from=%s" % today, "no end"), ("?from=2026-13-01&to=2026-12-31", "a bad month"),
               ("?from=2026-02-30&to=2026-03-01", "a day that does not exist"),
               ("?from=2026-03-02&to=2026-03-01", "an end before the start"),
               ("?from=2025-01-01&to=2026-01-02", "367 days"), ("?from=%27%3D1&to=x", "text")):
    r = ada.get("/admin/exports/orders.csv" + q)
    t.ok(r.status == 400 and "text/html" in (r.header("content-type") or ""), "orders.csv with %s: 400" % why,
         (r.status, r.body[:200]))
t.is_(ada.get("/admin/exports/orders.csv?from=2025-01-01&to=2026-01-01").status, 200, "366 days: allowed")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action LIKE 'export.%'")[0][0], 4, "refusals write no audit row")

t.is_(aud.get("/admin/exports/orders.csv" + rng).status, 403, "orders.csv without orders.read: 403")
t.is_(aud.get("/admin/exports/ledger.csv" + rng).status, 200, "ledger.csv with customers.read only: 200")
t.is_(nob.get("/admin/exports/orders.csv" + rng).status, 403, "a role with no permission: 403 on orders.csv")
t.is_(nob.get("/admin/exports/ledger.csv" + rng).status, 403, "and on ledger.csv")
r = s.get("/admin/exports/orders.csv" + rng)
t.ok(r.status in (302, 303) and "/admin/login" in (r.header("location") or ""), "no session: to the staff login")

r = ada.get("/admin/orders")
t.ok('action="/admin/exports/orders.csv"' in r.text and 'action="/admin/exports/ledger.csv"' in r.text,
     "/admin/orders links both exports")
good, errs = s.html_ok(r.body)
t.ok(good, "/admin/orders is well-formed HTML", errs)
r = ada.get("/admin/customers/1")
t.ok('action="/admin/exports/ledger.csv"' in r.text and 'name="customer" value="1"' in r.text,
     "the customer's page links their ledger's export")
good, errs = s.html_ok(r.body)
t.ok(good, "/admin/customers/1 is well-formed HTML", errs)

# The cap: more rows than an export may hold is refused, not cut.
sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20001) "
    "INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency, created_at) "
    "SELECT printf('bulk-%06d', i), 2, 'pending', 1, 1, 'USD', 1767225600 + i FROM n")
r = ada.get("/admin/exports/orders.csv?from=2026-01-01&to=2026-01-01")
t.ok(r.status == 400 and "shorter range" in r.text and "text/html" in (r.header("content-type") or ""),
     "20,001 orders in the range (past 10,000 rows and 1 MB): 400, choose a shorter range", (r.status, r.body[:200]))
t.diag("workers' peak RSS (VmHWM) after the capped export: %s kB" % [
    int(open("/proc/%d/status" % p).read().split("VmHWM:")[1].split()[0]) for p in s.worker_pids()])
t.ok(ada.get("/admin/exports/orders.csv?from=2026-01-01&to=2026-01-02").status == 400, "still refused a day later")
s.check_sanitizers(t)
t.done()
