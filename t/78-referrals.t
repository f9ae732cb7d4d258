#!/usr/bin/env python3
"""Referrals and the staff's refund to the wallet (issue 11), through
nginx over TLS with the work daemon and an SMTP double.

- Attribution: /r/{code} sets a signed first-touch cookie for 30 days
  and redirects home; registering with it writes one referrals row.
  First touch wins; a forged, tampered or expired cookie and an unknown
  code are ignored; the cookie does not bypass the page cache.  Every
  customer has a referral code (the trigger of 011, and its backfill).
- Accrual: a referred customer's paid order writes a pending commission
  of total * referral.percent_bp / 10000 rounded down, available after
  referral.hold_days; none while the percentage is 0, none for a
  customer nobody referred.
- Release: `cron referrals` credits it after the hold (not before),
  once, with the mail; reversal on a refund before release (no money)
  and after (a reversal debit, capped at the referrer's balance with the
  rest written down).
- The refund: orders.write and wallet.adjust, re-authentication, a
  reason, one credit under a double submit, provision jobs discarded,
  `1000proxy check` passes.
- /account/referrals (the link from base_url, masked names, totals)
  shows a customer only their own; staff see referrals on the customer's
  page; the settings form; `seed --demo --customer` seeds a referral."""
import os
import re
import sqlite3
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, wait_for  # noqa: E402
import pxstaff  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402

t = TAP()
s = Shop(workers=2, tls=True).start()
sql = s.sql
PW = "correct horse battery staple"
CPW = "tangerine orbit lamp 41"
COOKIE = "__Host-px_ref"
DAY = 86400


def loc(r):
    return r.header("location") or ""


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def tc(*args, check=True):
    return s.cli("test-commerce", *[str(a) for a in args], check=check)


def Staff(addr, role):
    """A signed-in staff member over TLS (t/lib/pxstaff.py)."""
    return pxstaff.Staff(s, addr, role, pw=PW, tls=True)


def visitor():
    return Browser(s, tls=True)


def register(b, addr, name):
    r = b.form("/register", "/register", {"email": addr, "name": name, "password": CPW, "terms": "1"})
    t.ok(r.status == 200 and "Check your inbox" in r.text, "%s registers" % addr, r.status)
    return sql("SELECT id FROM customers WHERE email = ?", (addr,))[0][0]


def code_of(cid):
    return sql("SELECT referral_code FROM customers WHERE id = ?", (cid,))[0][0]


def referrer_of(cid):
    row = sql("SELECT referrer_id FROM referrals WHERE referred_id = ?", (cid,))
    return row[0][0] if row else None


def balance(cid):
    cached, ledger = [int(x) for x in tc("balance", cid).stdout.split()]
    return cached if cached == ledger else (cached, ledger)


def signin(addr):
    b = visitor()
    r = b.form("/login", "/login", {"email": addr, "password": CPW})
    t.is_(r.status, 303, "%s signs in" % addr)
    return b


# -- every customer has a code --
alice = register(visitor(), "alice@example.com", "Alice")
bob = register(visitor(), "bob@example.com", "Bob")
ca, cb = code_of(alice), code_of(bob)
t.ok(re.fullmatch(r"[0-9a-f]{16}", ca or "") and re.fullmatch(r"[0-9a-f]{16}", cb or "") and ca != cb,
     "registration gives each customer a referral code of its own", (ca, cb))
sql("INSERT INTO customers (email, password_hash) VALUES ('raw@example.com', 'x')")
t.ok(re.fullmatch(r"[0-9a-f]{16}", sql("SELECT referral_code FROM customers WHERE email = 'raw@example.com'")[0][0] or ""),
     "so does any other insert (the trigger of migration 011)")

# -- attribution: the link, the cookie, first touch --
v1 = visitor()
r = v1.get("/r/" + ca)
t.ok(r.status == 302 and loc(r).endswith("/") and not loc(r).endswith("//"), "/r/{code} redirects home",
     (r.status, loc(r)))
sc = " ".join(r.all("set-cookie"))
t.ok(COOKIE in v1.jar and re.search(r"(?i)max-age=2592000", sc) and "HttpOnly" in sc and "Secure" in sc,
     "and sets a 30-day, HttpOnly, Secure referral cookie", sc)
first = v1.jar.get(COOKIE, "")
t.ok(re.fullmatch(re.escape(ca) + r"\.\d+\.[0-9a-f]{64}", first), "the cookie is the code, its expiry and a signature",
     first)
r = v1.get("/r/" + cb)
t.ok(r.status == 302 and not r.all("set-cookie") and v1.jar.get(COOKIE) == first,
     "a second link does not replace the first (first touch wins)")
r = visitor().get("/r/nosuchcode")
t.ok(r.status == 302 and not r.all("set-cookie"), "an unknown code: home, no cookie")
r = visitor().get("/r/" + "x" * 65)
t.ok(r.status in (302, 404) and not r.all("set-cookie"), "an over-long code: no cookie", r.status)

# The cookie changes no page: cacheable pages stay cached for it.
# The pool's log line says what the cache did (t/25-cache.t); a worker
# keeps its own cache, so a few requests reach both of them.


def cache_state(r):
    return s.cache_verdict(r)


states = [cache_state(s.get("/plans", headers={"Cookie": "%s=%s" % (COOKIE, first)}, tls=True)) for _ in range(6)]
t.ok("bypass" not in states and "hit" in states, "a referral cookie does not bypass the page cache", states)

carol = register(v1, "carol@example.com", "Carol")
t.is_(referrer_of(carol), alice, "registering with the cookie attributes carol to alice")
t.ok(COOKIE not in v1.jar, "and spends the cookie")
t.is_(sql("SELECT detail FROM audit_log WHERE action = 'customer.register' AND target = ?",
          ("customer:%d" % carol,))[0][0], "referred by customer:%d" % alice, "the register audit row names the referrer")

# Forged, tampered, expired: ignored silently.
exp = first.split(".")[1]
v2 = visitor()
v2.jar[COOKIE] = "%s.%s.%s" % (ca, exp, "0" * 64)
dave = register(v2, "dave@example.com", "Dave")
t.is_(referrer_of(dave), None, "a forged signature is ignored")
v3 = visitor()
v3.jar[COOKIE] = "%s.%s" % (cb, first.split(".", 1)[1])
erin = register(v3, "erin@example.com", "Erin")
t.is_(referrer_of(erin), None, "a signature moved to another code is ignored")
v4 = visitor()
v4.jar[COOKIE] = "%s.%d.%s" % (ca, int(exp) + 999, first.split(".")[2])
frank = register(v4, "frank@example.com", "Frank")
t.is_(referrer_of(frank), None, "a stretched expiry is ignored")

# No self-referral: alice's own link, alice's address in another case.
v5 = visitor()
v5.get("/r/" + ca)
n0 = sql("SELECT count(*) FROM referrals")[0][0]
r = v5.form("/register", "/register", {"email": "ALICE@example.com", "name": "Alice", "password": CPW, "terms": "1"})
t.ok(r.status == 200 and sql("SELECT count(*) FROM referrals")[0][0] == n0,
     "the referrer's own address (any case) makes no referral")
t.ok(COOKIE not in v5.jar, "a registration with a taken address spends the cookie as a new one does "
     "(the answer tells nothing)")
t.is_(sql("SELECT count(*) FROM referrals WHERE referrer_id = referred_id")[0][0], 0, "nobody refers themselves")

# Expired: the signed expiry, past 30 days of the test clock.
v6 = visitor()
v6.get("/r/" + ca)
t.ok(COOKIE in v6.jar, "a new visitor gets a cookie")
s.advance(30 * DAY + 60)
gina = register(v6, "gina@example.com", "Gina")
t.is_(referrer_of(gina), None, "past 30 days the cookie is ignored")

# -- the settings form --
ada = Staff("ada@example.com", "super_admin")
plan = sql("SELECT id FROM plans WHERE active = 1 ORDER BY id LIMIT 1")[0][0]
sql("UPDATE plans SET price_minor = 999, currency = 'USD', stock = NULL WHERE id = ?", (plan,))
for cid in (carol, dave):
    tc("wallet", cid, 100000, "topup", "fund-%d" % cid)

o0 = tc("checkout", carol, plan, 1, "k-o0").stdout.split()
t.ok(o0[0] == "ok" and sql("SELECT count(*) FROM referral_commissions")[0][0] == 0,
     "with referral.percent_bp unset (0) a referred customer's order accrues nothing", o0)

r = ada.b.get("/admin/settings")
t.ok(r.status == 200 and 'name="referral_percent"' in r.text and 'name="referral_hold_days" value="14"' in r.text
     and 'name="order_expire_minutes" value="60"' in r.text, "the settings form has the referral and expiry fields")
html_ok(r, "/admin/settings")
base = {"seller_name": "Shop", "seller_address": "1 Road", "seller_tax_id": "X1", "tax_rate": "0",
        "csrf": csrf_of(r.text)}
for field, bad in (("referral_percent", "100.01"), ("referral_percent", "-1"), ("referral_hold_days", "366"),
                   ("order_expire_minutes", "4"), ("order_expire_minutes", "10081")):
    f = dict(base)
    f[field] = bad
    r = ada.b.post("/admin/settings", f)
    t.is_(r.status, 400, "settings: %s=%s is a 400" % (field, bad))
t.is_(sql("SELECT count(*) FROM settings WHERE key LIKE 'referral.%' OR key = 'orders.expire_minutes'")[0][0], 0,
      "and writes nothing")
f = dict(base, referral_percent="12.5", referral_hold_days="14", order_expire_minutes="90")
r = ada.b.post("/admin/settings", f)
t.is_(r.status, 303, "the settings save")
t.is_(dict(sql("SELECT key, value FROM settings WHERE key IN ('referral.percent_bp', 'referral.hold_days', "
               "'orders.expire_minutes')")),
      {"referral.percent_bp": "1250", "referral.hold_days": "14", "orders.expire_minutes": "90"},
      "12.5 % is 1250 basis points; the hold and the expiry are kept")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'settings.changed' AND target IN "
          "('setting:referral.percent_bp', 'setting:referral.hold_days', 'setting:orders.expire_minutes')")[0][0],
      3, "each change audited")
r = ada.b.get("/admin/settings")
t.ok('name="referral_percent" value="12.5"' in r.text, "the form shows 12.5 again")

# -- accrual --
t0 = int(s.now())
o1 = tc("checkout", carol, plan, 1, "k-o1").stdout.split()
o1id = sql("SELECT id FROM orders WHERE public_id = ?", (o1[1],))[0][0]
rc = sql("SELECT r.referrer_id, c.amount_minor, c.currency, c.state, c.available_at, c.wallet_tx_id "
         "FROM referral_commissions c JOIN referrals r ON r.id = c.referral_id WHERE c.order_id = ?", (o1id,))
t.ok(rc and rc[0][:4] == (alice, 124, "USD", "pending") and rc[0][5] is None,
     "a referred customer's paid order: a pending commission of 999 * 12.5 % rounded down (124) for alice", rc)
t.ok(rc and t0 + 14 * DAY - 5 <= rc[0][4] <= int(s.now()) + 14 * DAY + 5, "available 14 days on", rc)
tc("checkout", dave, plan, 1, "k-d1")
t.is_(sql("SELECT count(*) FROM referral_commissions")[0][0], 1, "a customer nobody referred accrues nothing")
a0 = balance(alice)

# -- release after the hold --
p = s.cli("cron", "referrals")
t.ok("0 commissions released" in p.stdout and sql("SELECT state FROM referral_commissions WHERE order_id = ?",
                                                  (o1id,)) == [("pending",)], "before the hold: nothing", p.stdout)
s.advance(14 * DAY + 60)
p = s.cli("cron", "referrals")
t.ok("1 commission released" in p.stdout, "after the hold, cron releases it", p.stdout)
row = sql("SELECT c.state, w.kind, w.amount_minor, w.order_id FROM referral_commissions c "
          "JOIN wallet_transactions w ON w.id = c.wallet_tx_id WHERE c.order_id = ?", (o1id,))
t.is_(row, [("available", "commission", 124, None)], "available, with its commission ledger row (no order named)")
t.is_(balance(alice), a0 + 124, "alice's wallet is credited, the cached balance equal to the ledger")
p = s.cli("cron", "referrals")
t.ok("0 commissions released" in p.stdout and balance(alice) == a0 + 124, "a second run credits nothing", p.stdout)
m = s.wait_mail("alice@example.com", "referral commission")
t.ok(m is not None and "$1.24" in m.get_body(preferencelist=("plain",)).get_content(),
     "alice is mailed that the commission is available")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'referral.released' AND target = ?",
          ("customer:%d" % alice,))[0][0], 1, "the release is audited")

# -- /account/referrals --
ab = signin("alice@example.com")
r = ab.get("/account/referrals")
html_ok(r, "/account/referrals")
t.ok(r.status == 200 and 'value="http://127.0.0.1:%d/r/%s"' % (s.port, ca) in r.text,
     "alice sees her link, absolute from base_url", r.status)
t.ok("C…" in r.text and "carol" not in r.text.lower(), "carol shows masked, without her email or name")
t.ok('id="earned">$1.24<' in r.text and 'id="pending">$0.00<' in r.text, "earned and pending")
t.ok('href="/account/referrals"' in ab.get("/account").text, "/account links it")
cbr = signin("carol@example.com")
r = cbr.get("/account/referrals")
t.ok(r.status == 200 and "C…" not in r.text and ca not in r.text and 'id="earned">$0.00<' in r.text
     and "Nobody yet" in r.text, "carol's page shows nothing of alice's referrals")
t.ok(code_of(carol) in r.text, "only her own link")
r = s.get("/account/referrals", tls=True)
t.ok(r.status == 303 and "/login" in loc(r), "no session: to the login")

# -- the refund: who may, re-authentication --
ada = Staff("ada2@example.com", "super_admin")
mgr = Staff("mgr@example.com", "manager")
sam = Staff("sam@example.com", "support")
o2 = tc("checkout", carol, plan, 1, "k-o2").stdout.split()[1]
o2id = sql("SELECT id FROM orders WHERE public_id = ?", (o2,))[0][0]
t.is_(sql("SELECT state FROM referral_commissions WHERE order_id = ?", (o2id,)), [("pending",)], "order 2 accrues")
page = "/admin/orders/" + o2
r = ada.b.get(page)
html_ok(r, "/admin/orders/{public_id} with the refund form")
op = re.search(r'name="op" value="([0-9a-f]{32})"', r.text)
t.ok(r.status == 200 and 'action="%s/refund"' % page in r.text and op, "a paid wallet order offers the refund")
t.ok("/refund" not in mgr.b.get(page).text, "a manager (no wallet.adjust) is not offered it")
c0, a1 = balance(carol), balance(alice)
n_rf = sql("SELECT count(*) FROM wallet_transactions WHERE kind = 'refund'")[0][0]
r = mgr.b.post(page + "/refund", {"reason": "x", "op": "a" * 32, "csrf": csrf_of(mgr.b.get(page).text)})
t.is_(r.status, 403, "orders.write without wallet.adjust: 403")
r = sam.b.post(page + "/refund", {"reason": "x", "op": "a" * 32, "csrf": csrf_of(sam.b.get(page).text)})
t.is_(r.status, 403, "without orders.write: 403")
fields = {"reason": "customer asked", "op": op.group(1), "csrf": csrf_of(r.text) or csrf_of(ada.b.get(page).text)}
fields["csrf"] = csrf_of(ada.b.get(page).text)
r = ada.b.post(page + "/refund", fields)
t.ok(r.status == 303 and loc(r).startswith("/admin/reauth?next=" + page), "no recent re-authentication: to /admin/reauth",
     (r.status, loc(r)))
t.is_(sql("SELECT state FROM orders WHERE id = ?", (o2id,)), [("paid",)], "and nothing is written")
ada.reauth(page)
r = ada.b.post(page + "/refund", dict(fields, reason=""))
t.is_(r.status, 400, "an empty reason: 400")
r = ada.b.post(page + "/refund", dict(fields, op="zz"))
t.is_(r.status, 400, "a bad op token: 400")
r = ada.b.post(page + "/refund", fields)
t.ok(r.status == 303 and loc(r).endswith(page + "?done=refunded"), "the refund", (r.status, loc(r), r.text[:300]))
r2 = ada.b.post(page + "/refund", fields)
t.ok(r2.status == 303, "the same form again: 303 as the first", r2.status)
t.is_(sql("SELECT state FROM orders WHERE id = ?", (o2id,)), [("refunded",)], "the order is refunded")
t.is_(sql("SELECT state FROM invoices WHERE order_id = ?", (o2id,)), [("refunded",)], "and its invoice")
t.is_(sql("SELECT count(*) FROM wallet_transactions WHERE kind = 'refund'")[0][0] - n_rf, 1,
      "one refund ledger row under a double submit")
t.is_(balance(carol), c0 + 999, "carol's wallet gets the total back once")
t.is_(sql("SELECT state, wallet_tx_id FROM referral_commissions WHERE order_id = ?", (o2id,)), [("reversed", None)],
      "the pending commission is reversed before release")
t.is_(balance(alice), a1, "and no money moved for alice")
t.is_(sql("SELECT count(*) FROM jobs WHERE kind = 'provision' AND state IN ('pending','failed') AND idem_key IN "
          "(SELECT 'provision:item:' || id FROM order_items WHERE order_id = ?)", (o2id,))[0][0], 0,
      "the order's provision jobs that had not run are discarded")
t.ok(sql("SELECT count(*) FROM jobs WHERE kind = 'provision' AND state = 'discarded'")[0][0] >= 1, "(discarded)")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'order.refunded' AND target = ?", ("order:%d" % o2id,))[0][0],
      1, "one audit row")
t.ok('data-kind="refunded"' in ada.b.get(page + "?done=refunded").text, "the timeline shows it")
r = ada.b.get(page)
t.ok("/refund" not in r.text, "a refunded order offers no refund")
p = s.cli("check", check=False)
t.ok(p.returncode == 0, "1000proxy check passes", p.stdout + p.stderr)
p = tc("order-move", o2id, "active", check=False)
t.ok(p.returncode != 0, "a refunded order does not move on")
pid, ppub = tc("order-new", carol, 500, 0, 0).stdout.split()
n_rf = sql("SELECT count(*) FROM wallet_transactions WHERE kind = 'refund'")[0][0]
r = ada.b.get("/admin/orders/" + ppub)
t.ok("/refund" not in r.text, "an unpaid order offers no refund")
r = ada.b.post("/admin/orders/%s/refund" % ppub, {"reason": "try", "op": "b" * 32, "csrf": csrf_of(r.text)})
t.ok(r.status == 409 and "This order is pending" in r.text
     and sql("SELECT state FROM orders WHERE id = ?", (pid,)) == [("pending",)]
     and sql("SELECT count(*) FROM wallet_transactions WHERE kind = 'refund'")[0][0] == n_rf,
     "refunding it anyway: 409 naming its state, nothing written", r.status)
sql("UPDATE orders SET payment_method = 'stripe' WHERE id = ?", (pid,))
tc("order-move", pid, "paid")
r = ada.b.get("/admin/orders/" + ppub)
t.ok("/refund" not in r.text, "a gateway-paid order offers no refund to the wallet")
r = ada.b.post("/admin/orders/%s/refund" % ppub, {"reason": "try", "op": "b" * 32, "csrf": csrf_of(r.text)})
t.ok(r.status == 409 and "payment gateway" in r.text and sql("SELECT state FROM orders WHERE id = ?", (pid,)) == [("paid",)],
     "refunding it to the wallet: 409, nothing written", r.status)
t.is_(ada.b.post("/admin/orders/nosuchorder000000/refund", {"reason": "x", "op": "b" * 32,
                                                            "csrf": csrf_of(r.text)}).status, 404, "no such order: 404")

# -- reversal after release --
ada.reauth("/admin/orders/" + o1[1])
a2 = balance(alice)
pg = "/admin/orders/" + o1[1]
r = ada.b.get(pg)
r = ada.b.post(pg + "/refund", {"reason": "chargeback", "op": re.search(r'name="op" value="([0-9a-f]{32})"', r.text)
                                .group(1), "csrf": csrf_of(r.text)})
t.is_(r.status, 303, "refund of the order whose commission was released")
t.is_(balance(alice), a2 - 124, "a reversal debit takes the 124 back from alice")
t.is_(sql("SELECT kind, amount_minor FROM wallet_transactions WHERE idempotency_key = ?",
          ("commission-reversal:%d" % sql("SELECT id FROM referral_commissions WHERE order_id = ?", (o1id,))[0][0],)),
      [("reversal", -124)], "one reversal row")
t.is_(sql("SELECT state FROM referral_commissions WHERE order_id = ?", (o1id,)), [("reversed",)], "marked reversed")

# -- reversal past the referrer's balance: capped, the rest written down --
sql("UPDATE settings SET value = '0' WHERE key = 'referral.hold_days'")
o3 = tc("checkout", carol, plan, 1, "k-o3").stdout.split()[1]
o3id = sql("SELECT id FROM orders WHERE public_id = ?", (o3,))[0][0]
s.cli("cron", "referrals")
t.is_(sql("SELECT state FROM referral_commissions WHERE order_id = ?", (o3id,)), [("available",)],
      "a hold of 0 days releases at the next run")
bal = balance(alice)
tc("wallet", alice, -(bal - 50), "adjustment", "drain-alice")
t.is_(balance(alice), 50, "alice spent all but 50")
pg = "/admin/orders/" + o3
ada.reauth(pg)
r = ada.b.get(pg)
r = ada.b.post(pg + "/refund", {"reason": "fraud", "op": re.search(r'name="op" value="([0-9a-f]{32})"', r.text)
                                .group(1), "csrf": csrf_of(r.text)})
t.is_(r.status, 303, "refund of a third order")
t.is_(balance(alice), 0, "the reversal takes what the balance holds, never below zero")
memo = sql("SELECT memo, amount_minor FROM wallet_transactions WHERE kind = 'reversal' ORDER BY id DESC LIMIT 1")
t.ok(memo and memo[0][1] == -50 and "$0.74 not recoverable" in memo[0][0], "the rest is named in the memo", memo)
p = s.cli("check", check=False)
t.ok(p.returncode == 0, "1000proxy check still passes", p.stdout + p.stderr)

# -- staff see a customer's referrals --
r = ada.b.get("/admin/customers/%d" % alice)
t.ok('href="/admin/customers/%d">carol@example.com</a>' % carol in r.text and ca in r.text,
     "alice's staff page lists carol and her code")
r = ada.b.get("/admin/customers/%d" % carol)
t.ok('href="/admin/customers/%d">alice@example.com</a>' % alice in r.text, "carol's names her referrer")
html_ok(r, "/admin/customers/{id}")

# -- the backfill of 011 --
c = sqlite3.connect(s.db, isolation_level=None)
c.execute("DROP TRIGGER customers_referral_code")
c.execute("UPDATE customers SET referral_code = NULL WHERE id = ?", (bob,))
# The runner applies only files newer than the newest applied, so the
# file itself is run here, as the runner would (one transaction).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sql", "011_referrals.sql")) as f:
    c.executescript("BEGIN IMMEDIATE;" + f.read() + "COMMIT;")
c.close()
t.ok(re.fullmatch(r"[0-9a-f]{16}", code_of(bob) or ""), "migration 011 gives a code to a customer without one")
t.is_(sql("SELECT count(*) FROM customers WHERE referral_code IS NULL")[0][0], 0, "every customer has one")

# -- the demo --
p = s.cli("seed", "--demo", "--customer")
demo = sql("SELECT id FROM customers WHERE email = 'customer@demo.example'")[0][0]
t.ok(sql("SELECT count(*) FROM referrals r JOIN customers c ON c.id = r.referred_id "
         "WHERE r.referrer_id = ? AND c.email = 'friend@demo.example'", (demo,))[0][0] == 1,
     "seed --demo --customer: the demo customer referred a friend", p.stdout)
s.cli("seed", "--demo", "--customer")
t.is_(sql("SELECT count(*) FROM referrals WHERE referrer_id = ?", (demo,))[0][0], 1, "once")

s.check_sanitizers(t)
t.done()
