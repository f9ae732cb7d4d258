#!/usr/bin/env python3
"""Paying through a gateway, end to end (issue 13, core13): the real
pool behind nginx over TLS, `work`, the SMTP double, and the Stripe double
(t/lib/stripe_double.py) that the shop's stripe_api_url points at.

- /checkout offers the wallet and every enabled gateway; paying by card
  places the order pending with its payment and job, and sends the
  customer to /pay/{id}, which answers 303 to the gateway's checkout as
  soon as work has made it (a page that refreshes itself until then);
- the customer pays; the webhook fulfils the order once (provision job,
  invoice, mail) whatever is delivered twice, replayed or reordered; the
  return page shows the order and a reload enqueues nothing new;
- a webhook and the return page's follow-up at the same instant: one
  fulfilment;
- a top-up through Stripe credits the wallet once, with its receipt;
- a wrong amount is held, never fulfilled;
- the gateway down while the checkout is made: the customer sees the
  error and a retry; the retry makes one checkout (nothing twice);
- the order expiry leaves alone an order whose payment is open; a
  payment that succeeds for an order cancelled meanwhile is held.
"""
import json
import os
import re
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from pxweb import Client, Shop  # noqa: E402
from px import TAP, wait_for  # noqa: E402
from pxpaypal import PayPalDouble  # noqa: E402
from pxpay import StripeDouble  # noqa: E402

t = TAP()
s = Shop(workers=2, tls=True, conf={"work_runners": "3", "gateway_timeout": "3", "smtp_timeout": "10",
                                    "panel_timeout": "5", "work_lease": "30"})
d = StripeDouble(s)
pp = PayPalDouble(s.dir)
s.doubles = [d, pp]
s.extra.update(paypal_api_url=pp.url, paypal_checkout_origin=pp.url)
s.start()
sql = s.sql
d.configure(s)
s.cli("gateway", "set", "paypal.client_id", input=pp.client_id + "\n")
s.cli("gateway", "set", "paypal.client_secret", input=pp.client_secret + "\n")
s.cli("gateway", "set", "paypal.webhook_id", input=pp.webhook_id + "\n")

c = Client(s, "px-test pay")
PW = "tangerine orbit lamp 41"
c.post("/register", {"email": "alice@example.com", "name": "Alice", "password": PW, "terms": "1"})
r = c.post("/login", {"email": "alice@example.com", "password": PW})
t.is_(r.status, 303, "the customer signs in")
alice = sql("SELECT id FROM customers WHERE email = 'alice@example.com'")[0][0]
plan, slug, price = sql("SELECT id, slug, price_minor FROM plans WHERE active = 1 ORDER BY id LIMIT 1")[0]
sql("UPDATE plans SET stock = 100 WHERE id = ?", (plan,))


def fill_cart(qty=1):
    c.post("/cart/add", {"plan": slug, "qty": str(qty)}, page="/cart/add?plan=" + slug)


def checkout_form(method):
    r = c.get("/checkout")
    idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text)
    return r, {"idem": idem.group(1) if idem else "", "csrf": csrf.group(1) if csrf else "", "method": method}


def pay_id(loc):
    m = re.match(r"^/pay/([0-9a-f]{32})$", loc or "")
    return m.group(1) if m else None


def follow_pay(pub, timeout=30):
    """GET /pay/{pub} as a browser on its meta refresh would, until it
    sends the customer elsewhere: (location, seconds waited, pages)."""
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < timeout:
        r = c.get("/pay/" + pub)
        n += 1
        if r.status == 303:
            return r.header("location"), time.monotonic() - t0, n
        if r.status != 200 or 'http-equiv="refresh"' not in r.text:
            return ("page", r), time.monotonic() - t0, n
        time.sleep(0.05)
    return None, time.monotonic() - t0, n


def payment(pub):
    rows = sql("SELECT id, state, held_reason, fulfilled_at, fulfilled_by, gateway_ref, amount_minor, "
               "order_id, last_error FROM payments WHERE public_id = ?", (pub,))
    return rows[0] if rows else None


def session_of(url):
    m = re.search(r"/c/pay/(cs_test_[A-Za-z0-9]+)", url or "")
    return m.group(1) if m else None


# -- the checkout offers the gateway --
fill_cart()
r, form = checkout_form("stripe")
t.ok('id="pay-stripe"' in r.text and "Card (Stripe)" in r.text and "from my wallet" in r.text,
     "/checkout offers the wallet and the enabled gateway")
t.ok(s.html_ok(r.body), "the checkout page is well-formed")
before_jobs = sql("SELECT count(*) FROM jobs WHERE kind = 'provision'")[0][0]
r = c.raw_post("/checkout", form)
pub = pay_id(r.header("location"))
t.ok(r.status == 303 and pub, "paying by card: 303 to /pay/{id}", (r.status, r.header("location")))
p = payment(pub)
order = sql("SELECT id, public_id, state, payment_method, total_minor FROM orders WHERE id = ?", (p[7],))[0]
t.ok(order[2] == "pending" and order[3] == "stripe" and p[6] == order[4],
     "the order is placed pending, its payment for its total", (order, p))
t.is_(sql("SELECT count(*) FROM jobs WHERE kind = 'provision'")[0][0], before_jobs,
      "no provision job before the money")
t.is_(sql("SELECT count(*) FROM cart_items ci JOIN carts k ON k.id = ci.cart_id WHERE k.customer_id = ?",
          (alice,))[0][0], 0, "the cart is emptied")
r = c.raw_post("/checkout", form)
t.ok(r.status == 303 and pay_id(r.header("location")) == pub, "the same form again lands on the same payment",
     (r.status, r.header("location")))
t.is_(sql("SELECT count(*) FROM orders WHERE customer_id = ?", (alice,))[0][0], 1, "... and makes no second order")

loc, waited, pages = follow_pay(pub)
t.ok(isinstance(loc, str) and loc.startswith(d.base + "/c/pay/cs_test_"),
     "/pay/{id} answers 303 to the gateway's checkout once work made it (%.2f s, %d page(s))" % (waited, pages),
     loc)
sess = session_of(loc)
p = payment(pub)
t.ok(p[1] == "pending" and p[5] == sess, "the payment is pending with the session as its reference", p)
st = d.state()
created = [x for x in st.get("requests", []) if x.get("method") == "POST"] if "requests" in st else []
t.is_(len(st.get("sessions", {})), 1, "the double made one session")

# -- the customer pays; the webhook fulfils, once --
res = d.call("/_double/complete/" + sess, {"deliver": "twice"})
t.ok(len(res.get("deliveries", [])) == 2 and all(x["status"] == 200 for x in res["deliveries"]),
     "the completed session is delivered twice, each answered 200", res)
p = payment(pub)
t.ok(p[1] == "succeeded" and p[3] and p[4] == "webhook", "the payment succeeded, fulfilled by the webhook", p)
t.is_(sql("SELECT state FROM orders WHERE id = ?", (order[0],))[0][0], "paid", "the order is paid")
t.is_(sql("SELECT count(*) FROM jobs WHERE kind = 'provision' AND payload LIKE ?",
          ('%%"order":%d,%%' % order[0],))[0][0], 1, "one provision job for its item")
t.is_(sql("SELECT count(*) FROM invoices WHERE order_id = ?", (order[0],))[0][0], 1, "one invoice")
t.is_(sql("SELECT count(*) FROM gateway_events WHERE payment_id = ?", (p[0],))[0][0], 1,
      "the duplicate delivery recorded nothing")
m = s.wait_mail("alice@example.com", "Payment received")
t.ok(m is not None and order[1] in str(m.get_body(preferencelist=("plain",)).get_content()),
     "the payment-received mail names the order")
r = c.get("/pay/return/stripe/" + pub)
t.ok(r.status == 303 and r.header("location") == "/orders/%s?ok=paid" % order[1],
     "the return page sends the customer to the paid order", (r.status, r.header("location")))
r = c.get("/pay/" + pub)
t.ok(r.status == 303 and r.header("location").startswith("/orders/" + order[1]), "so does /pay/{id}")
jobs = sql("SELECT count(*) FROM jobs")[0][0]
c.get("/pay/return/stripe/" + pub)
t.is_(sql("SELECT count(*) FROM jobs")[0][0], jobs, "a reload of the return page enqueues nothing")

# -- another customer's payment is a 404 --
c2 = Client(s, "px-test pay 2")
c2.post("/register", {"email": "bob@example.com", "name": "Bob", "password": PW, "terms": "1"})
c2.post("/login", {"email": "bob@example.com", "password": PW})
t.is_(c2.get("/pay/" + pub).status, 404, "another customer's /pay/{id}: 404")
t.is_(c2.get("/pay/return/stripe/" + pub).status, 404, "... and its return page: 404")


def pay_to_checkout(method="stripe"):
    fill_cart()
    _, form = checkout_form(method)
    r = c.raw_post("/checkout", form)
    pub = pay_id(r.header("location"))
    loc, waited, _ = follow_pay(pub) if pub else (None, 0, 0)
    return pub, session_of(loc if isinstance(loc, str) else None), waited


# -- the webhook and the return page at the same instant: one fulfilment --
pub2, sess2, _ = pay_to_checkout()
res = d.call("/_double/complete/" + sess2, {"deliver": "none"})
ev = res.get("events", [None])[0]
box = {}
th = threading.Thread(target=lambda: box.update(r=d.call("/_double/deliver", {"event": ev})))
th.start()
r = c.get("/pay/return/stripe/" + pub2)
th.join(30)
p2 = payment(pub2)
t.ok(wait_for(lambda: payment(pub2)[3] is not None, 15), "webhook and return page at once: fulfilled", payment(pub2))
time.sleep(1.0)
o2 = p2[7]
t.is_(sql("SELECT count(*) FROM invoices WHERE order_id = ?", (o2,))[0][0], 1, "... with one invoice")
t.is_(sql("SELECT count(*) FROM jobs WHERE kind = 'provision' AND payload LIKE ?",
          ('%%"order":%d,%%' % o2,))[0][0], 1, "... and one provision job")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'order.paid' AND target = ?",
          ("order:" + sql("SELECT public_id FROM orders WHERE id = ?", (o2,))[0][0],))[0][0], 1,
      "... and one order.paid audit row")

# -- a wrong amount is held --
pub3, sess3, _ = pay_to_checkout()
d.call("/_double/complete/" + sess3, {"amount_total": 1})
p3 = payment(pub3)
t.ok(p3[2] != "" and p3[3] is None, "one minor unit paid: held, not fulfilled", p3)
t.is_(sql("SELECT state FROM orders WHERE id = ?", (p3[7],))[0][0], "pending", "the order stays pending")
r = c.get("/pay/" + pub3)
t.ok(r.status == 200 and "under review" in r.text, "/pay/{id} says it is under review")

# -- a top-up through Stripe: the wallet credited once --
bal0 = sql("SELECT balance_minor FROM wallets WHERE customer_id = ?", (alice,))[0][0]
r = c.get("/wallet")
t.ok('action="/wallet/topup"' in r.text and "Card (Stripe)" in r.text, "/wallet offers a top-up by card")
t.ok(s.html_ok(r.body), "the wallet page is well-formed")
idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text).group(1)
r = c.post("/wallet/topup", {"amount": "0.01", "method": "stripe", "idem": idem}, page="/wallet")
t.is_(r.status, 400, "a top-up below the minimum: 400")
r = c.post("/wallet/topup", {"amount": "25.00", "method": "stripe", "idem": idem}, page="/wallet")
tpub = pay_id(r.header("location"))
t.ok(r.status == 303 and tpub, "a top-up of 25.00: 303 to /pay/{id}", (r.status, r.header("location")))
r = c.post("/wallet/topup", {"amount": "25.00", "method": "stripe", "idem": idem}, page="/wallet")
t.ok(pay_id(r.header("location")) == tpub, "the same form again: the same payment")
loc, _, _ = follow_pay(tpub)
tsess = session_of(loc if isinstance(loc, str) else None)
d.call("/_double/complete/" + tsess, {"deliver": "reverse"})
t.ok(wait_for(lambda: payment(tpub)[3] is not None, 15), "the top-up is fulfilled", payment(tpub))
t.is_(sql("SELECT balance_minor FROM wallets WHERE customer_id = ?", (alice,))[0][0], bal0 + 2500,
      "the wallet is credited 25.00")
evs = d.state().get("events", {})
tev = [e for e in (evs.values() if isinstance(evs, dict) else evs)
       if isinstance(e, dict) and json.dumps(e).find(tsess) >= 0]
for e in tev:
    d.call("/_double/deliver", {"event": e.get("id")})
t.ok(len(tev) >= 1 and sql("SELECT balance_minor FROM wallets WHERE customer_id = ?", (alice,))[0][0] ==
     bal0 + 2500, "its %d event(s) replayed credit nothing more" % len(tev))
t.is_(sql("SELECT count(*) FROM wallet_transactions WHERE idempotency_key = ?",
          ("topup:%d" % payment(tpub)[0],))[0][0], 1, "one ledger row")
t.is_(sql("SELECT count(*) FROM invoices WHERE payment_id = ?", (payment(tpub)[0],))[0][0], 1, "one receipt")
t.ok(s.wait_mail("alice@example.com", "was added to your") is not None, "the top-up-credited mail")

# -- the gateway down while the checkout is made: a clear retry, one checkout --
nsess = len(d.state().get("sessions", {}))
d.call("/_double/fault", {"path": "/v1/checkout/sessions", "method": "POST", "mode": "503", "count": 0,
                          "store": False})
fill_cart()
_, form = checkout_form("stripe")
r = c.raw_post("/checkout", form)
pub4 = pay_id(r.header("location"))
t.ok(wait_for(lambda: payment(pub4)[8] != "", 20), "the failed call is noted on the payment", payment(pub4))
r = c.get("/pay/" + pub4)
t.ok(r.status == 200 and "slow" in r.text and 'id="pay-error"' in r.text and 'http-equiv="refresh"' in r.text,
     "/pay/{id} shows the provider's error and keeps refreshing while work retries")
t.ok(wait_for(lambda: payment(pub4)[1] == "failed", 40), "after its tries the payment has failed",
     payment(pub4))
r = c.get("/pay/" + pub4)
t.ok(r.status == 200 and 'id="pay-retry"' in r.text and "Nothing was charged" in r.text,
     "/pay/{id}: could not start, nothing charged, a retry button")
t.is_(len(d.state().get("sessions", {})), nsess, "no session was made at the gateway")
d.call("/_double/fault", {"path": "/v1/checkout/sessions", "mode": "none"})
r = c.post("/pay/%s/retry" % pub4, {}, page="/pay/" + pub4)
pub5 = pay_id(r.header("location"))
t.ok(r.status == 303 and pub5 and pub5 != pub4, "the retry makes a new payment for the order", r.header("location"))
r2 = c.raw_post("/pay/%s/retry" % pub4, {"csrf": re.search(r'name="csrf" value="([0-9a-f]+)"',
                                                          c.get("/pay/" + pub4).text).group(1)})
t.ok(pay_id(r2.header("location")) == pub5, "a second click on the same retry: the same payment")
loc, _, _ = follow_pay(pub5)
t.ok(isinstance(loc, str) and session_of(loc), "and /pay sends the customer to its checkout", loc)
t.is_(len(d.state().get("sessions", {})), nsess + 1, "one session made in all")
t.is_(payment(pub5)[7], payment(pub4)[7], "for the same order")
t.is_(sql("SELECT idempotency_key FROM payments WHERE public_id = ?", (pub5,))[0][0],
      "pay:order:%d:stripe:2" % payment(pub4)[7], "keyed pay:order:<order>:stripe:2")

# -- PayPal: approved by the buyer, captured by the return page's job --
s.cli("gateway", "enable", "paypal")
fill_cart()
r, form = checkout_form("paypal")
t.ok('id="pay-paypal"' in r.text and 'id="pay-stripe"' in r.text, "/checkout offers both enabled gateways")
r = c.raw_post("/checkout", form)
ppub = pay_id(r.header("location"))
loc, _, _ = follow_pay(ppub) if ppub else (None, 0, 0)
pref = payment(ppub)[5] if ppub else None
t.ok(isinstance(loc, str) and loc.startswith(pp.url) and pref and pref in loc,
     "paying by PayPal: /pay/{id} sends the buyer to the approve page of the PayPal order", (loc, pref))
ap = pp.ctl("approve", order=pref)
t.ok(("/pay/return/paypal/" + ppub) in ap.get("redirect", ""), "approved, PayPal sends the buyer to the return page",
     ap)
r = c.get("/pay/return/paypal/" + ppub)
t.ok(r.status == 200 and 'http-equiv="refresh"' in r.text, "the return page: confirming, refreshing itself",
     (r.status, r.header("location")))
t.is_(sql("SELECT count(*) FROM jobs WHERE kind = 'payment_capture' AND idem_key = ?",
          ("capture:%d" % payment(ppub)[0],))[0][0], 1, "one capture job for the payment")


def returned():
    r = c.get("/pay/return/paypal/" + ppub)
    return r.status == 303 and r.header("location").endswith("?ok=paid")


t.ok(wait_for(returned, 20), "once captured, the return page sends the buyer to the paid order", payment(ppub))
pp6 = payment(ppub)
t.ok(pp6[1] == "succeeded" and pp6[4] == "return", "the payment succeeded, fulfilled by the return's capture", pp6)
t.is_(sql("SELECT state FROM orders WHERE id = ?", (pp6[7],))[0][0], "paid", "the order is paid")
caps = pp.state().get("captures", {})
t.is_(len(caps), 1, "PayPal holds one capture")
t.is_(sql("SELECT count(*) FROM jobs WHERE kind = 'payment_capture'")[0][0], 1,
      "reloads of the return page made no second capture job")
s.cli("gateway", "disable", "paypal")

# -- the order expiry and a payment in flight --
sql("INSERT INTO settings (key, value) VALUES ('orders.expire_minutes', '5'), ('payments.expire_minutes', '60') "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
pub6, sess6, _ = pay_to_checkout()
o6 = payment(pub6)[7]
r = c.get("/pay/%s?cancelled=1" % pub6)
t.ok(r.status == 200 and "Nothing was charged" in r.text and 'id="pay-checkout"' in r.text and sess6 in r.text,
     "back from the gateway without paying: /pay/{id} says so and links back to the checkout")
r = c.get("/orders/" + sql("SELECT public_id FROM orders WHERE id = ?", (o6,))[0][0])
t.ok(r.status == 200 and ('href="/pay/%s"' % pub6) in r.text, "the pending order's page links its payment")
t.ok(s.html_ok(r.body), "the order page is well-formed")
s.advance(10 * 60)
p = s.cli("cron", "orders")
t.ok(sql("SELECT state FROM orders WHERE id = ?", (o6,))[0][0] == "pending" and "left alone" in p.stdout,
     "cron orders leaves alone an order whose payment is open", p.stdout)
s.advance(60 * 60)
s.cli("cron", "orders")
t.is_(sql("SELECT state FROM orders WHERE id = ?", (o6,))[0][0], "cancelled",
      "once its payment is past its expiry, the order expires")
d.call("/_double/complete/" + sess6, {})
p6 = payment(pub6)
t.ok(p6[1] == "succeeded" and "no longer payable" in p6[2] and p6[3] is None,
     "paid after the order was cancelled: held as \"order no longer payable\", not fulfilled", p6)
t.is_(sql("SELECT state FROM orders WHERE id = ?", (o6,))[0][0], "cancelled", "the order stays cancelled")

t.ok(s.work.poll() is None, "work is still running")
p = s.cli("check", check=False)
t.ok(p.returncode == 0, "1000proxy check passes", p.stdout + p.stderr)
s.check_sanitizers(t, "no sanitizer report from the pool, work or the commands")
t.done()
