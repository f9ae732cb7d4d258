#!/usr/bin/env python3
"""Commerce mail and the invoice snapshot (issue 11), through nginx with
the work daemon and the SMTP double (t/lib/pxweb.py):

- a wallet checkout queues the order confirmation in its transaction
  (key order-paid:ID): the mail reaches the SMTP server with every line
  (name, quantity, price, amount) as plain text, not HTML-escaped, the
  totals in the shop's currency, and absolute links to the order and
  the invoice that open for the customer; a replayed checkout mails
  nothing more;
- the invoice is issued paid (paid_at of the order) and the printable
  page says PAID with the date; a top-up receipt is paid too; an
  invoice issued open becomes paid when its order is;
- invoice_lines keeps the plan's name at issue: a plan renamed later
  does not change the invoice; the table is append-only;
- a staff credit mails the amount, the new balance and the reason, and
  a debit mails too; neither names the staff member;
- a mail job whose list item lacks a key the template names fails in
  strict mode (test_routes), sending nothing."""
import base64
import hashlib
import hmac
import json
import os
import re
import sqlite3
import struct
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, wait_for  # noqa: E402
from pxweb import Browser, Shop, csrf_of, link_in  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
sql = s.sql
PW = "correct horse battery staple"
PW_A = "tangerine orbit lamp 41"


def loc(r):
    return r.header("location") or ""


def usd(minor):
    return "$%d.%02d" % divmod(minor, 100)


def tc(*args, check=True):
    return s.cli("test-commerce", *[str(a) for a in args], check=check)


def body_of(m):
    return m.get_body(preferencelist=("plain",)).get_content() if m is not None else ""


def utc_minute(ts):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


# -- a customer with a funded wallet and two plans in the cart --
alice = Browser(s)
r = alice.form("/register", "/register", {"email": "alice@example.com", "name": "Alice", "password": PW_A,
                                          "terms": "1"})
assert r.status == 200, r.text[:300]
r = alice.form("/login", "/login", {"email": "alice@example.com", "password": PW_A})
assert r.status == 303, (r.status, r.text[:300])
aid = sql("SELECT id FROM customers WHERE email = 'alice@example.com'")[0][0]
(p1, slug1, price1), (p2, slug2, price2) = sql(
    "SELECT id, slug, price_minor FROM plans WHERE active = 1 AND stock IS NULL AND currency = 'USD' "
    "ORDER BY id LIMIT 2")
# A name with characters HTML would escape: a text mail must carry them as
# they are.
name1, name2 = "Fast & <Safe> Frankfurt", sql("SELECT name FROM plans WHERE id = ?", (p2,))[0][0]
sql("UPDATE plans SET name = ? WHERE id = ?", (name1, p1))
tc("wallet", aid, 10000, "topup", "fund-alice")
for slug, qty in ((slug1, 2), (slug2, 1)):
    r = alice.form("/cart/add?plan=" + slug, "/cart/add", {"plan": slug, "qty": str(qty)})
    t.ok(r.status == 303, "%d of %s into the cart" % (qty, slug), r.status)

# -- checkout: order, invoice paid, mail queued with it --
r = alice.get("/checkout")
idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text).group(1)
r = alice.post("/checkout", {"idem": idem, "csrf": csrf_of(r.text)})
m = re.match(r"/orders/([a-z2-7]{16,32})\?ok=paid$", loc(r))
t.ok(r.status == 303 and m, "checkout pays from the wallet", (r.status, loc(r)))
pub = m.group(1) if m else ""
oid, paid_at, total = sql("SELECT id, paid_at, total_minor FROM orders WHERE public_id = ?", (pub,))[0]
inv_id, number, istate, ipaid = sql("SELECT id, number, state, paid_at FROM invoices WHERE order_id = ?", (oid,))[0]
t.ok(istate == "paid" and ipaid is not None and ipaid == paid_at,
     "the wallet-paid invoice is issued paid, with the order's paid_at", (istate, ipaid, paid_at))
lines = sql("SELECT line_no, description, quantity, unit_price_minor, amount_minor FROM invoice_lines "
            "WHERE invoice_id = ? ORDER BY line_no", (inv_id,))
t.is_(lines, [(1, name1, 2, price1, 2 * price1), (2, name2, 1, price2, price2)],
      "invoice_lines: one line per plan, with its name, quantity, unit price and amount at issue")
jobs = sql("SELECT id, state FROM jobs WHERE kind = 'email' AND idem_key = ?", ("order-paid:%d" % oid,))
t.is_(len(jobs), 1, "one email job keyed by the order (order-paid:ID), written with it")
payload = json.loads(sql("SELECT payload FROM jobs WHERE id = ?", (jobs[0][0],))[0][0]) if jobs else {}
t.ok(isinstance(payload.get("vars", {}).get("items"), list) and len(payload["vars"]["items"]) == 2,
     "its vars carry the lines as a list of objects", payload)

mail = s.wait_mail("alice@example.com", "is paid")
body = body_of(mail)
t.ok(mail is not None and pub in str(mail["Subject"]), "the confirmation reaches the SMTP server, "
     "naming the order", mail["Subject"] if mail else s.smtp.events())
t.ok(("2 x %s, %s each: %s" % (name1, usd(price1), usd(2 * price1))) in body and
     ("1 x %s, %s each: %s" % (name2, usd(price2), usd(price2))) in body,
     "every line is listed with its quantity, price and amount", body)
t.ok("&amp;" not in body and "&lt;" not in body, "plain text: nothing HTML-escaped", body)
t.ok(("Total paid: %s" % usd(total)) in body and "your wallet" in body,
     "the total in the shop's currency (money_str), paid from the wallet", body)
olink, ilink = link_in(mail, "/orders/"), link_in(mail, "/invoices/")
t.is_(olink, "/orders/" + pub, "an absolute link to the order")
t.is_(ilink, "/invoices/" + number, "an absolute link to the invoice")
t.ok(("http://127.0.0.1:%d/orders/%s" % (s.port, pub)) in body, "links start with base_url", body)
r = alice.get(olink or "/orders/x")
t.ok(r.status == 200 and pub in r.text, "the order link opens the order", r.status)
r = alice.get(ilink or "/invoices/x")
t.is_(r.status, 200, "the invoice link opens the invoice")
good, errs = s.html_ok(r.body)
t.ok(good, "the invoice is well-formed HTML", errs)
t.ok(re.search(r'id="paid-stamp">PAID <span id="paid-on">%s</span>' % re.escape(utc_minute(paid_at)), r.text),
     "the printable invoice says PAID and the date it was paid", r.text[:2000])
t.ok("Fast &amp; &lt;Safe&gt; Frankfurt" in r.text, "the page escapes the same name for HTML")

# A replay of the same checkout makes no second order and no second mail.
r = alice.post("/checkout", {"idem": idem, "csrf": csrf_of(alice.get("/cart").text)})
t.ok(r.status == 303 and loc(r) == "/orders/" + pub, "the replayed checkout lands on the same order", loc(r))
t.is_(sql("SELECT count(*) FROM jobs WHERE kind = 'email' AND idem_key LIKE 'order-paid:%'")[0][0], 1,
      "and queues no second confirmation")

# -- the snapshot survives a plan rename --
sql("UPDATE plans SET name = 'Renamed Later', price_minor = price_minor + 100 WHERE id = ?", (p1,))
r = alice.get("/invoices/" + number)
t.ok(r.status == 200 and "Fast &amp; &lt;Safe&gt; Frankfurt" in r.text and "Renamed Later" not in r.text and
     usd(2 * price1) in r.text, "after a plan rename and repricing the invoice still shows what was sold",
     r.text[:2000])
try:
    sql("UPDATE invoice_lines SET description = 'x' WHERE invoice_id = ?", (inv_id,))
    t.ok(False, "invoice_lines is append-only (update)")
except sqlite3.DatabaseError as e:
    t.ok("append-only" in str(e), "invoice_lines is append-only (update)")
try:
    sql("DELETE FROM invoice_lines WHERE invoice_id = ?", (inv_id,))
    t.ok(False, "invoice_lines is append-only (delete)")
except sqlite3.DatabaseError as e:
    t.ok("append-only" in str(e), "invoice_lines is append-only (delete)")

# -- a top-up receipt is paid, with one line --
pay = sql("INSERT INTO payments (customer_id, gateway, purpose, amount_minor, currency, state, "
          "idempotency_key) VALUES (?, 'stripe', 'topup', 2500, 'USD', 'succeeded', 'pay-82') RETURNING id",
          (aid,))[0][0]
rnum = tc("receipt", pay).stdout.split()[0]
t.is_(sql("SELECT i.state, i.paid_at IS NOT NULL, l.description, l.quantity, l.amount_minor FROM invoices i "
          "JOIN invoice_lines l ON l.invoice_id = i.id WHERE i.number = ?", (rnum,)),
      [("paid", 1, "Wallet top-up", 1, 2500)], "a top-up receipt is paid, its amount the one line")
r = alice.get("/invoices/" + rnum)
t.ok(r.status == 200 and 'id="paid-stamp">PAID' in r.text and "Wallet top-up" in r.text and "$25.00" in r.text,
     "and its page says PAID", r.status)

# -- an invoice issued while its order was unpaid (a gateway order) --
goid = tc("order-new", aid, 1000, 0, 0).stdout.split()[0]
sql("INSERT INTO order_items (order_id, plan_id, quantity, unit_price_minor, currency) VALUES (?, ?, 1, 1000, 'USD')",
    (int(goid), p2))
gnum = tc("invoice", goid, "commit").stdout.split()[0]
r = alice.get("/invoices/" + gnum)
t.ok(sql("SELECT state, paid_at FROM invoices WHERE number = ?", (gnum,)) == [("open", None)] and
     r.status == 200 and "paid-stamp" not in r.text, "an unpaid order's invoice is open, with no PAID stamp")
tc("order-move", goid, "paid")
t.is_(sql("SELECT i.state, i.paid_at = o.paid_at FROM invoices i JOIN orders o ON o.id = i.order_id "
          "WHERE i.number = ?", (gnum,)), [("paid", 1)], "paying the order pays its invoice, with the same date")
t.ok('id="paid-stamp">PAID' in alice.get("/invoices/" + gnum).text, "and the page says PAID")

# -- staff credit and debit mail --
def totp(secret, step):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


s.cli("user", "add", "--role", "super_admin", "--name", "ada", "ada@example.com", input=PW + "\n")
ada = Browser(s)
s.next_step(30, 5)
ada.form("/admin/login", "/admin/login", {"email": "ada@example.com", "password": PW})
r = ada.get("/admin/2fa/setup")
secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', r.text).group(1)
r = ada.post("/admin/2fa/setup", {"code": totp(secret, int(s.now() // 30) - 1), "csrf": csrf_of(r.text)})
page = "/admin/customers/%d" % aid
s.next_step(30, 5)
r = ada.form("/admin/reauth?next=" + page, "/admin/reauth", {"password": PW, "code": totp(secret, int(s.now() // 30)),
                                                              "next": page})
t.ok(r.status == 303, "staff re-authenticates before moving money", r.status)
bal0 = int(tc("balance", aid).stdout.split()[0])


def adjust(direction, amount, reason):
    r = ada.get(page)
    op = re.search(r'name="op" value="([0-9a-f]{32})"', r.text)
    return ada.post(page + "/wallet", {"direction": direction, "amount": amount, "reason": reason,
                                       "op": op.group(1) if op else "", "csrf": csrf_of(r.text)})


r = adjust("credit", "12.34", "goodwill for the outage")
t.ok(r.status == 303 and "done=credited" in loc(r), "a staff credit", (r.status, loc(r)))
m = s.wait_mail("alice@example.com", "added to your")
b = body_of(m)
t.ok(usd(1234) in b and ("now %s" % usd(bal0 + 1234)) in b and "Reason: goodwill for the outage" in b,
     "the credit mail says the amount, the new balance and the reason", b)
t.ok("ada" not in b.lower(), "and does not name the staff member", b)
r = adjust("debit", "2.00", "duplicate credit")
t.ok(r.status == 303 and "done=debited" in loc(r), "a staff debit", (r.status, loc(r)))
m = s.wait_mail("alice@example.com", "taken from your")
b = body_of(m)
t.ok(usd(200) in b and ("now %s" % usd(bal0 + 1034)) in b and "Reason: duplicate credit" in b,
     "a debit mails the customer too: amount, new balance, reason", b)
t.is_(sorted(k for (k,) in sql("SELECT idem_key FROM jobs WHERE kind = 'email' AND idem_key LIKE 'wallet-%'")),
      sorted("wallet-%s:%d" % (d, tx) for d, tx in (("credit", sql(
          "SELECT max(id) FROM wallet_transactions WHERE memo = 'goodwill for the outage'")[0][0]), ("debit", sql(
          "SELECT max(id) FROM wallet_transactions WHERE memo = 'duplicate credit'")[0][0]))),
      "each mail's key names its ledger row")

# -- strict templates: a list item without a key the template names --
n0 = len(s.mails())
bad = int(s.cli("test-spool", "enqueue", "email", "order-typo-1", json.dumps({
    "to": "x@example.com", "template": "emails/order_paid",
    "vars": {"name": "X", "order": "o", "invoice": "i", "order_url": "u", "invoice_url": "v", "subtotal": "1",
             "discount": "0", "has_discount": False, "tax": "0", "tax_rate": "0", "inclusive": False,
             "total": "1", "paid_with": "w", "items": [{"quantity": "1", "description": "d", "unit": "1"}]}})).stdout)


def jstate():
    return sql("SELECT state, last_error FROM jobs WHERE id = ?", (bad,))[0]


t.ok(wait_for(lambda: jstate()[0] == "failed", 15) and "{{amount}} is not in the view model" in jstate()[1],
     "a list item without a key the template names fails the mail job (strict mode)", jstate())
t.is_(len(s.mails()), n0, "and nothing is sent")

s.check_sanitizers(t)
s.stop()
t.done()
