#!/usr/bin/env python3
"""/account/export (issue 16, ASVS V8.3.2): the signed-in customer's data
as one JSON download, through nginx over TLS.

- the account page links it; GET shows what it holds and asks for the
  password; the POST is CSRF-checked and re-authenticates (a wrong
  password: 403 and the form, no data); signed out: to the sign-in page;
- the file is application/json, an attachment, not stored by caches, and
  holds the profile, the order with its items, the invoice, the payment,
  the wallet and its ledger, the proxy with its daily usage, the
  subscription's age, the sessions, the API token's metadata, the
  referral and the audit rows; the download is audited;
- no secret is in it (password hash, session cookie, CSRF token, API
  token or its prefix, the subscription URL's token, the proxy's
  credential, TOTP seed) and nothing of another customer (the referred
  customer's address and name, the other's orders); the other customer's
  export holds none of the first one's data.
"""
import base64
import hashlib
import json
import os
import re
import secrets
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402
from pxweb import Client  # noqa: E402
import pxprov  # noqa: E402
import pxsvc  # noqa: E402

t = TAP()
s = Stack(workers=1, tls=True).start()
sql = s.sql
PW = {"a": "provision buyer pass a", "b": "provision buyer pass b"}
A, aid = pxprov.customer(s, "a")
B, bid = pxprov.customer(s, "b")
sql("UPDATE customers SET name = 'Bea Other' WHERE id = ?", (bid,))
slug = pxprov.plan(s, "exp-plan", "vless", server=1, price=700)
pub = pxprov.buy(A, "exp-plan")
t.ok(pub is not None, "customer A buys a plan from the wallet", pub)
pub_b = pxprov.buy(B, "exp-plan")
pxsvc.set_server(sql, 1)
ib = pxsvc.inbound(sql, 1, "vless", 443, pxsvc.VLESS_KCP)
CRED = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
cl, cpub, item = pxsvc.client(sql, aid, ib, cred=CRED, up=1234, down=5678, limit=10 << 30)
sql("INSERT INTO usage_daily (client_id, day, up_bytes, down_bytes) VALUES (?, 20400, 11, 22), (?, 20401, 33, 44)",
    (cl, cl))
r = A.get("/services")
m = re.search(r"/sub/([A-Za-z0-9_-]{20,})", r.text)
subtok = m.group(1) if m else "no-sub-token-seen"
t.ok(m is not None, "A's subscription URL exists", r.status)
APITOK = "pxt_" + secrets.token_hex(20)
sql("INSERT INTO api_tokens (token_hash, prefix, name, customer_id, scopes) VALUES (?, ?, 'my script', ?, 'read')",
    (hashlib.sha256(APITOK.encode()).digest(), APITOK[:12], aid))
sql("INSERT INTO payments (customer_id, gateway, purpose, gateway_ref, amount_minor, currency, state, "
    "idempotency_key) VALUES (?, 'stripe', 'topup', 'cs_test_secretish', 1500, 'USD', 'succeeded', 'exp-pay-a')", (aid,))
sql("INSERT INTO referrals (referrer_id, referred_id) VALUES (?, ?)", (aid, bid))
PKCRED, PKPUB = secrets.token_bytes(32), secrets.token_bytes(77)
sql("INSERT INTO passkeys (customer_id, cred_id, public_key, alg, name) VALUES (?, ?, ?, -8, 'my laptop')",
    (aid, PKCRED, PKPUB))
sql("INSERT INTO passkeys (customer_id, cred_id, public_key, alg, name) VALUES (?, ?, x'a0', -7, 'bea phone')",
    (bid, secrets.token_bytes(32)))

# -- the pages --
r = A.get("/account")
t.ok('href="/account/export"' in r.text, "the account page links the export")
r = A.get("/account/export")
t.ok(r.status == 200 and 'action="/account/export"' in r.text and 'name="password"' in r.text,
     "GET /account/export: the form asks for the password", r.status)
good, errs = s.html_ok(r.body)
t.ok(good, "the export page is well-formed HTML", errs)
r = A.raw_post("/account/export", {"password": PW["a"]})
t.ok(r.status == 403 and not (r.header("content-type") or "").startswith("application/json"),
     "POST without the CSRF token: 403, no data", r.status)
r = A.post("/account/export", {"password": "not my password at all"})
t.ok(r.status == 403 and "text/html" in (r.header("content-type") or "") and 'name="password"' in r.text,
     "a wrong password: 403 and the form again, no data", r.status)
sql("DELETE FROM login_throttle")
anon = Client(s, "px-test anon")
r = anon.get("/account/export")
t.ok(r.status in (302, 303) and "/login" in (r.header("location") or ""), "signed out: sent to sign in", r.status)

# -- the file --
r = A.post("/account/export", {"password": PW["a"]})
t.is_(r.status, 200, "POST with the password: 200")
t.ok((r.header("content-type") or "").startswith("application/json"), "as application/json", r.header("content-type"))
t.ok((r.header("content-disposition") or "").startswith("attachment;"), "as an attachment",
     r.header("content-disposition"))
t.ok("no-store" in (r.header("cache-control") or ""), "not stored by caches", r.header("cache-control"))
raw = r.text
try:
    d = json.loads(raw)
except ValueError:
    d = {}
t.ok(bool(d), "the body is JSON", raw[:300])
t.ok(d.get("profile", {}).get("email") == "buyera@example.com" and d["profile"].get("id") == aid,
     "the profile is A's", d.get("profile"))
t.ok(any(o.get("order") == pub and o.get("items") and o["items"][0].get("plan") == "Plan exp-plan"
         for o in d.get("orders", [])), "the order with its items", d.get("orders"))
t.ok(any(v.get("order") == pub and v.get("lines") for v in d.get("invoices", [])), "the invoice with its lines",
     d.get("invoices"))
t.ok(any(p.get("gateway") == "stripe" and p.get("amount_minor") == 1500 and p.get("purpose") == "topup"
         for p in d.get("payments", [])), "the payment", d.get("payments"))
w = d.get("wallet") or {}
t.ok(w.get("currency") == "USD" and len(w.get("ledger", [])) >= 2, "the wallet and its ledger (top-up, purchase)", w)
sv = [x for x in d.get("services", []) if x.get("id") == cl]
t.ok(sv and sv[0]["up_bytes"] == 1234 and sv[0]["order"] == cpub and
     [u["down_bytes"] for u in sv[0]["usage_daily"]] == [22, 44], "the proxy with its daily usage", sv)
t.ok((d.get("subscription") or {}).get("created_at"), "the subscription's dates", d.get("subscription"))
t.ok(d.get("sessions") and all("ip" in x and "user_agent" in x for x in d["sessions"]) and
     any(x["user_agent"] == "px-test buyer a" for x in d["sessions"]), "the sessions", d.get("sessions"))
t.ok([x.get("name") for x in d.get("api_tokens", [])] == ["my script"], "the API token's metadata", d.get("api_tokens"))
t.ok([(x.get("name"), x.get("algorithm")) for x in d.get("passkeys", [])] == [("my laptop", "EdDSA")],
     "the passkeys by name and algorithm, not another customer's", d.get("passkeys"))
t.ok(len((d.get("referrals") or {}).get("referred", [])) == 1, "the referral", d.get("referrals"))
t.ok(any(x.get("action") == "customer.register" for x in d.get("audit", [])), "the audit rows about A",
     [x.get("action") for x in d.get("audit", [])])
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'customer.exported' AND target = ?", ("customer:%d" % aid,)),
      [(1,)], "the download is audited")

# -- nothing secret, nothing of B --
phc = sql("SELECT password_hash FROM customers WHERE id = ?", (aid,))[0][0]
secrets_ = {"password hash": phc, "the password": PW["a"], "the API token": APITOK, "its prefix": APITOK[:12],
            "the subscription token": subtok, "the proxy credential": CRED, "the panel sub_id": "sub%d" % item,
            "the gateway's reference": "cs_test_secretish", "the payment's idempotency key": "exp-pay-a",
            "the passkey's credential id (hex)": PKCRED.hex(), "its public key (hex)": PKPUB.hex(),
            "the passkey's credential id (base64url)": base64.urlsafe_b64encode(PKCRED).decode().rstrip("=")}
for name, val in list(A.jar.items()):
    secrets_["cookie " + name] = val
csrf = A.token("/account/export")
secrets_["the CSRF token"] = csrf
for what, v in secrets_.items():
    t.ok(v not in raw, "the export never holds %s" % what)
for k in ("password_hash", "token_hash", "totp_sealed", "client_uuid", "csrf_token", "sub_id", "prefix"):
    t.ok('"%s"' % k not in raw, "no %s field" % k)
for what, v in (("B's address", "buyerb@example.com"), ("B's name", "Bea Other"), ("B's order", pub_b or "?")):
    t.ok(v not in raw, "the export never holds %s" % what)
r = B.post("/account/export", {"password": PW["b"]})
t.ok(r.status == 200 and "buyera@example.com" not in r.text and pub not in r.text and CRED not in r.text,
     "B's export holds none of A's data", r.status)
db = json.loads(r.text) if r.status == 200 else {}
t.ok(db.get("profile", {}).get("id") == bid, "... and is B's")
s.check_sanitizers(t)
t.done()
