#!/usr/bin/env python3
"""The wallet page, staff credit and debit, the printable invoice and
the shop settings, through nginx with the work daemon and the SMTP
double (issue 11): /wallet shows the ledger and a balance equal to its
sum; a staff credit needs wallet.adjust (403 without), a recent
re-authentication and a reason, writes one audit row with the balance
before and after, mails the customer, and moves money once on a double
submit; the same form sent again with another amount or direction is a
409 that writes nothing; a debit below zero is refused with a clear message and writes
nothing; an invoice shows the details copied at issue even after the
settings change; another customer's invoice is a 404, and so is a
staff invoice page to a role without orders.read; a role with more than
32 permissions keeps them all."""
import html
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
sql = s.sql
PW_A, PW_B = "tangerine orbit lamp 41", "quiet harbor violin 77"


def loc(r):
    return r.header("location") or ""


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


# -- customers --
def customer(addr, name, pw):
    b = Browser(s)
    r = b.form("/register", "/register", {"email": addr, "name": name, "password": pw, "terms": "1"})
    assert r.status == 200, r.text[:300]
    r = b.form("/login", "/login", {"email": addr, "password": pw})
    assert r.status == 303, (r.status, r.text[:300])
    return b, sql("SELECT id FROM customers WHERE email = ?", (addr,))[0][0]


alice, aid = customer("alice@example.com", "Alice", PW_A)
bob, bid = customer("bob@example.com", "Bob", PW_B)


def tc(*args, check=True):
    return s.cli("test-commerce", *[str(a) for a in args], check=check)


def balance(cid):
    return [int(x) for x in tc("balance", cid).stdout.split()]


# -- staff (t/lib/pxstaff.py: 2FA enrolled, re-authentication on demand) --
ada = Staff(s, "ada@example.com", "super_admin")
sam = Staff(s, "sam@example.com", "support")

# -- the wallet page --
tc("wallet", aid, 5000, "topup", "t-1")
tc("wallet", aid, -1250, "purchase", "t-2")
tc("wallet", aid, 300, "refund", "t-3")
r = alice.get("/wallet")
t.is_(r.status, 200, "GET /wallet: 200")
html_ok(r, "/wallet")
rows = re.findall(r'<tr class="tx" data-kind="([a-z]+)">.*?<td class="num[^"]*">([^<]+)</td>', r.text)
t.is_(rows, [("refund", "$3.00"), ("purchase", "-$12.50"), ("topup", "$50.00")],
      "the ledger lists each entry newest first, formatted in the wallet's currency")
m = re.search(r'id="balance">([^<]+)<', r.text)
cached, ledger = balance(aid)
t.ok(m and m.group(1) == "$40.50" and cached == ledger == 4050,
     "the balance shown equals the ledger's sum", (m and m.group(1), cached, ledger))
for i in range(30):
    tc("wallet", bid, 100, "topup", "b-%d" % i)
r = bob.get("/wallet")
t.ok(r.text.count('class="tx"') == 25 and "?page=2" in r.text, "the ledger is paginated (25 a page)")
r = bob.get("/wallet?page=2")
t.is_(r.text.count('class="tx"'), 5, "page 2 holds the rest")
t.ok("$50.00" not in bob.get("/wallet").text and "$40.50" not in bob.get("/wallet").text,
     "a customer sees only their own wallet")
r = s.get("/wallet")
t.ok(r.status == 303 and loc(r).startswith("/login"), "/wallet without a session sends to /login", loc(r))

# -- staff credit and debit --
page = "/admin/customers/%d" % aid
post = page + "/wallet"
r = ada.get("/admin/customers?q=alice")
t.ok(r.status == 200 and page in r.text and "/admin/customers/%d\"" % bid not in r.text,
     "/admin/customers?q= finds by email", r.status)
html_ok(r, "/admin/customers")
r = ada.get("/admin/customers?q=Bo")
t.ok("/admin/customers/%d\"" % bid in r.text and page + '"' not in r.text, "and by name")
r = ada.get(page)
t.ok(r.status == 200 and "$40.50" in r.text and 'name="op"' in r.text, "the customer's page shows the wallet")
html_ok(r, page)

audits = lambda: sql("SELECT action, target, detail FROM audit_log WHERE action LIKE 'wallet.%' ORDER BY id")
ntx = lambda: sql("SELECT count(*) FROM wallet_transactions")[0][0]
n0 = ntx()

r = sam.get(page)
t.ok(r.status == 200 and 'action="%s"' % post not in r.text, "support sees the customer without the money form")
r = sam.b.post(post, {"direction": "credit", "amount": "5", "reason": "x", "op": "0" * 32,
                      "csrf": csrf_of(sam.get(page).text)})
t.ok(r.status == 403 and ntx() == n0 and audits() == [], "a credit without wallet.adjust: 403, nothing written",
     r.status)

op = lambda r: re.search(r'name="op" value="([0-9a-f]{32})"', r.text).group(1)
r = ada.get(page)
fields = {"direction": "credit", "amount": "10.00", "reason": "goodwill for the outage", "op": op(r),
          "csrf": csrf_of(r.text)}
s.advance(400)
r = ada.b.post(post, fields)
t.ok(r.status == 303 and loc(r).startswith("/admin/reauth?next=" + page) and ntx() == n0,
     "a credit without a recent re-authentication goes to /admin/reauth and writes nothing", loc(r))
r = ada.reauth(page)
t.ok(r.status == 303 and loc(r) == page, "re-authentication comes back to the customer's page", (r.status, loc(r)))
r = ada.b.post(post, dict(fields, reason=""))
t.ok(r.status == 400 and "reason" in r.text and ntx() == n0, "a credit without a reason: 400, nothing written",
     r.status)
r = ada.b.post(post, dict(fields, amount="1.005"))
t.ok(r.status == 400 and ntx() == n0, "an amount with three decimals in USD: 400", r.status)
r = ada.b.post(post, dict(fields, amount="-5"))
t.ok(r.status == 400 and ntx() == n0, "a signed amount: 400", r.status)
r = ada.b.post(post, fields)
t.ok(r.status == 303 and loc(r) == page + "?done=credited", "the credit: 303 to the customer's page", loc(r))
r2 = ada.b.post(post, fields)
t.ok(r2.status == 303 and ntx() == n0 + 1 and balance(aid) == [5050, 5050],
     "the same form again (double submit) moves the money once", (r2.status, ntx() - n0, balance(aid)))
r3 = ada.b.post(post, dict(fields, amount="12.00"))
t.ok(r3.status == 409 and "already used for a different amount or direction" in html.unescape(r3.text) and
     "Nothing was changed" in r3.text and ntx() == n0 + 1 and balance(aid) == [5050, 5050],
     "the same form again with another amount: 409 with a clear message, nothing written", r3.status)
t.ok(op(r3) != fields["op"] and 'value="12.00"' in r3.text, "and the page offers a new form with the amount kept")
r3 = ada.b.post(post, dict(fields, direction="debit"))
t.ok(r3.status == 409 and ntx() == n0 + 1 and balance(aid) == [5050, 5050],
     "the same form again as a debit: 409, nothing written", r3.status)
a = audits()
t.ok(len(a) == 1 and a[0][0] == "wallet.credited" and a[0][1] == "customer:%d" % aid and
     "$40.50 -> $50.50" in a[0][2] and "goodwill for the outage" in a[0][2],
     "one audit row with the balance before and after and the reason", a)
row = sql("SELECT kind, amount_minor, staff_id, memo FROM wallet_transactions ORDER BY id DESC LIMIT 1")[0]
t.is_(row[:2] + (row[3],), ("adjustment", 1000, "goodwill for the outage"),
      "the ledger row is an adjustment with the reason as its memo")
m = s.wait_mail("alice@example.com", "added to your")
t.ok(m is not None and "$10.00" in m.get_content() and "$50.50" in m.get_content(),
     "the customer is mailed about the credit through the spool")
r = alice.get("/wallet")
t.ok("goodwill for the outage" in r.text and 'id="balance">$50.50<' in r.text,
     "the customer's ledger shows the adjustment")

r = ada.get(page)
before = (ntx(), len(audits()))
r = ada.b.post(post, {"direction": "debit", "amount": "60", "reason": "chargeback", "op": op(r),
                      "csrf": csrf_of(r.text)})
t.ok(r.status == 409 and "would take it below zero" in html.unescape(r.text) and "$50.50" in r.text and
     "Nothing was changed" in r.text, "a debit past the balance: 409 with a clear message", r.status)
t.ok((ntx(), len(audits())) == before and balance(aid) == [5050, 5050], "and it wrote nothing")
r = ada.get(page)
r = ada.b.post(post, {"direction": "debit", "amount": "0.50", "reason": "fee", "op": op(r),
                      "csrf": csrf_of(r.text)})
t.ok(r.status == 303 and balance(aid) == [5000, 5000] and audits()[-1][0] == "wallet.debited",
     "a debit within the balance goes through and is audited", r.status)

# -- disable and enable --
r = ada.get(page)
r = ada.b.post(page + "/disable", {"csrf": csrf_of(r.text)})
t.ok(r.status == 303 and sql("SELECT state FROM customers WHERE id = ?", (aid,)) == [("disabled",)],
     "a customer is disabled", r.status)
r = alice.get("/wallet")
t.ok(r.status == 303 and loc(r).startswith("/login"), "and their session ends", (r.status, loc(r)))
r = ada.get(page)
r = ada.b.post(page + "/enable", {"csrf": csrf_of(r.text)})
t.ok(r.status == 303 and sql("SELECT state FROM customers WHERE id = ?", (aid,)) == [("active",)], "and enabled")
alice.form("/login", "/login", {"email": "alice@example.com", "password": PW_A})

# -- settings and the invoice --
r = ada.get("/admin/settings")
t.is_(r.status, 200, "GET /admin/settings: 200")
html_ok(r, "/admin/settings")
r = ada.form("/admin/settings", "/admin/settings", {
    "seller_name": "Proxy & Co Ltd", "seller_address": "1 Harbour Road, Dublin", "seller_tax_id": "IE1234567X",
    "tax_rate": "20", "tax_inclusive": "1", "currency": "USD"})
t.ok(r.status == 303 and dict(sql("SELECT key, value FROM settings WHERE key LIKE 'seller.%' OR key LIKE 'tax.%' "
                                   "OR key = 'shop.currency'")) ==
     {"seller.name": "Proxy & Co Ltd", "seller.address": "1 Harbour Road, Dublin", "seller.tax_id": "IE1234567X",
      "tax.rate_bp": "2000", "tax.inclusive": "1", "shop.currency": "USD"}, "the settings are saved", r.status)
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'settings.changed'")[0][0], 6, "each change is audited")
r = ada.form("/admin/settings", "/admin/settings", {
    "seller_name": "Proxy & Co Ltd", "seller_address": "1 Harbour Road, Dublin", "seller_tax_id": "IE1234567X",
    "tax_rate": "20", "currency": "EUR"})
t.ok(r.status == 409 and sql("SELECT value FROM settings WHERE key = 'shop.currency'") == [("USD",)] and
     sql("SELECT value FROM settings WHERE key = 'tax.inclusive'") == [("1",)],
     "the currency is set once: a change is refused and nothing else is written", r.status)
r = ada.form("/admin/settings", "/admin/settings", {
    "seller_name": "X", "seller_address": "Y", "seller_tax_id": "Z", "tax_rate": "101"})
t.ok(r.status == 400 and sql("SELECT value FROM settings WHERE key = 'seller.name'") == [("Proxy & Co Ltd",)],
     "a tax rate above 100 %: 400, nothing written", r.status)
r = sam.get("/admin/settings")
t.is_(r.status, 403, "settings need settings.write")
# The shop's name: every page and mail (setting.c's shop_name), cached pages too.
anon_home = Browser(s).get("/")
t.ok(anon_home.status == 200 and "Harbour Proxies" not in anon_home.text, "the home page before a shop name is set")
base = {"seller_name": "Proxy & Co Ltd", "seller_address": "1 Harbour Road, Dublin",
        "seller_tax_id": "IE1234567X", "tax_rate": "20", "tax_inclusive": "1"}
r = ada.form("/admin/settings", "/admin/settings", dict(base, shop_name="Harbour \x07Proxies"))
t.ok(r.status == 400 and not sql("SELECT 1 FROM settings WHERE key = 'shop.name'"),
     "a shop name with a control character: 400, nothing written", r.status)
r = ada.form("/admin/settings", "/admin/settings", dict(base, shop_name="Harbour Proxies"))
t.ok(r.status == 303 and sql("SELECT value FROM settings WHERE key = 'shop.name'") == [("Harbour Proxies",)] and
     sql("SELECT count(*) FROM audit_log WHERE action = 'settings.changed' AND target = 'setting:shop.name'")[0][0] == 1,
     "the shop's name is saved and audited", r.status)
t.ok("Harbour Proxies" in Browser(s).get("/").text and "Harbour Proxies" in ada.get("/admin/settings").text,
     "every page shows it at once, the cached home page too")
r = ada.form("/admin/settings", "/admin/settings", dict(base, shop_name=""))
t.ok(r.status == 303 and "Harbour Proxies" not in Browser(s).get("/").text,
     "emptied, the configuration's site_name shows again")

sql("UPDATE customers SET billing_name = 'Alice Liddell', billing_address = '2 Rabbit Hole, Oxford' WHERE id = ?",
    (aid,))
oid, pub = tc("order-new", aid, 1000, 0, 200).stdout.split()
plan = sql("SELECT id, name FROM plans ORDER BY id LIMIT 1")
if plan:
    sql("INSERT INTO order_items (order_id, plan_id, quantity, unit_price_minor, currency) VALUES (?, ?, 1, 1000, 'USD')",
        (int(oid), plan[0][0]))
number = tc("invoice", oid, "commit").stdout.split()[0]
# A later change of the seller's details must not rewrite the issued invoice.
ada.form("/admin/settings", "/admin/settings", {
    "seller_name": "New Owner GmbH", "seller_address": "Elsewhere 5, Berlin", "seller_tax_id": "DE999",
    "tax_rate": "19"})
sql("UPDATE customers SET billing_name = 'Someone Else' WHERE id = ?", (aid,))
path = "/invoices/" + number
r = alice.get(path)
t.is_(r.status, 200, "the customer opens their invoice")
html_ok(r, path)
t.ok("Proxy &amp; Co Ltd" in r.text and "1 Harbour Road, Dublin" in r.text and "IE1234567X" in r.text and
     "Alice Liddell" in r.text and "2 Rabbit Hole, Oxford" in r.text and "New Owner" not in r.text and
     "Someone Else" not in r.text, "the invoice shows the seller and customer details copied at issue")
t.ok(re.search(r'id="total">\$12\.00<', r.text) and re.search(r'id="tax">\$2\.00<', r.text) and
     re.search(r'id="subtotal">\$10\.00<', r.text), "with its subtotal, tax and total")
t.ok(not plan or plan[0][1] in html.unescape(r.text), "and its lines")
t.ok('media="print"' in r.text and "<script" not in r.text, "print CSS, no script")
r = bob.get(path)
t.ok(r.status == 404 and number not in r.text, "another customer's invoice is a 404", r.status)
r = bob.get("/invoices/2026-999999")
t.is_(r.status, 404, "an unknown number is a 404 too")
r = bob.get("/invoices/2026-12")
t.is_(r.status, 404, "a malformed number is a 404")
r = sam.get("/admin/invoices/" + number)
t.ok(r.status == 200 and "Alice Liddell" in r.text, "staff with orders.read open any invoice", r.status)
sql("INSERT INTO roles (name, label) VALUES ('auditor', 'Auditor')")
sql("INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM roles r, permissions p "
    "WHERE r.name = 'auditor' AND p.name IN ('audit.read', 'customers.read')")
aud = Staff(s, "aud@example.com", "auditor")
r = aud.get("/admin/invoices/" + number)
t.ok(r.status == 403 and "Alice" not in r.text, "a role without orders.read cannot open it", r.status)

# -- more than 32 permissions --
sql("INSERT INTO roles (name, label) VALUES ('wide', 'Wide')")
sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
    "INSERT INTO permissions (name, label) SELECT printf('aaa.extra%02d', i), 'extra' FROM n")
sql("INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM roles r, permissions p "
    "WHERE r.name = 'wide' AND (p.name LIKE 'aaa.%' OR p.name IN ('customers.read', 'wallet.adjust'))")
wide = Staff(s, "wide@example.com", "wide")
r = wide.get(page)
t.ok(r.status == 200 and 'action="%s"' % post in r.text,
     "a role with 42 permissions keeps the ones sorted after the 32nd (customers.read, wallet.adjust)", r.status)

s.check_sanitizers(t)
s.stop()
t.done()
