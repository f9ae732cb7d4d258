#!/usr/bin/env python3
"""Refunds of gateway payments (issue 13, refund13), through nginx, the
pool and `work`:

- migration 022: refunds.issue held by every role with orders.write;
- the refund form on the staff order page: re-authentication first
  (nothing written without it), partial refunds up to the payment and
  never beyond (a third that would pass is refused in words, nothing
  written), a resubmitted form refunds once, to the wallet (the ledger)
  or by hand, the rest when the amount is empty; one audit row each;
- the whole payment refunded: the order refunded, the referral
  commission reversed, the refund policy (suspend by default,
  deprovision when set) through client jobs, the "refund issued" mail;
- permissions: support sees no form and gets 403; NOWPayments refuses a
  gateway refund in words; a top-up is not refunded into the wallet;
- /admin/payments: the list and its filters (gateway, state, held,
  email), a payment's page with its events (the raw payload escaped),
  its refunds, and a held payment's ways out;
- through the gateway double (when stripe13's gw_stripe and webhook are
  linked): a refund retried after a timeout is one refund at the double;
  a refund made in the double's dashboard arrives by webhook and is
  recorded once."""
import html
import json
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, wait_for  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import Shop, csrf_of  # noqa: E402
import pxstripe as ps  # noqa: E402

t = TAP()
# gateway_timeout 2 s and retries after 1-2 s: a refund call the double
# holds for 2.5 s times out, and its retry comes after the double is done.
s = Shop(workers=2, conf={"gateway_timeout": "2", "retry_base": "2", "retry_cap": "2"})
d = ps.StripeDouble(s)
s.start()
d.configure()
sql = s.sql


def one(q, args=()):
    return sql(q, args)[0][0]


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def tc(*args):
    return s.cli("test-commerce", *[str(a) for a in args]).stdout.split()


# -- 022: who may refund --
t.is_(sorted(r[0] for r in sql(
    "SELECT r.name FROM role_permissions rp JOIN roles r ON r.id = rp.role_id JOIN permissions p "
    "ON p.id = rp.permission_id WHERE p.name = 'refunds.issue'")), ["manager", "super_admin"],
    "022: refunds.issue for the roles that hold orders.write (manager, super_admin)")

# -- data: ann (referred by rita) with orders paid through gateways --
for cid, email in ((1, "ann@example.com"), (2, "rita@example.com")):
    sql("INSERT INTO customers (id, email, name, password_hash, email_verified_at) VALUES (?, ?, 'N', 'x', unixepoch())",
        (cid, email))
    sql("INSERT INTO wallets (customer_id, currency) VALUES (?, 'USD')", (cid,))
sql("INSERT INTO referrals (id, referrer_id, referred_id) VALUES (1, 2, 1)")
plan = one("SELECT id FROM plans WHERE currency = 'USD' AND active = 1 ORDER BY id LIMIT 1")
server, inbound = sql("SELECT server_id, id FROM server_inbounds ORDER BY id LIMIT 1")[0]


def gateway_order(gw, key, purpose="order"):
    """A pending order placed as a gateway checkout, then paid through gw
    as payment_apply leaves it (payment succeeded and fulfilled, the
    order paid, its proxy active, a pending commission): the rows only."""
    oid, pub = tc("pending", 1, plan, 1)
    total = one("SELECT total_minor FROM orders WHERE id = ?", (oid,))
    sql("UPDATE orders SET state = 'paid', payment_method = ?, paid_at = unixepoch() WHERE id = ?", (gw, oid))
    pid = one("INSERT INTO payments (order_id, customer_id, gateway, gateway_ref, gateway_ref2, amount_minor, currency, "
              "state, idempotency_key, fulfilled_at, fulfilled_by) VALUES (?, 1, ?, ?, ?, ?, 'USD', 'succeeded', ?, "
              "unixepoch(), 'webhook') RETURNING id", (oid, gw, "cs_" + key, "pi_" + key, total, "pay:" + key))
    item = one("SELECT id FROM order_items WHERE order_id = ?", (oid,))
    client = one("INSERT INTO provisioned_clients (order_item_id, customer_id, server_id, inbound_id, email, client_uuid, "
                 "sub_id, state) VALUES (?, 1, ?, ?, ?, ?, ?, 'active') RETURNING id",
                 (item, server, inbound, "c-" + key, "uuid-" + key, "sub-" + key))
    sql("INSERT INTO referral_commissions (referral_id, order_id, amount_minor, currency, available_at) "
        "VALUES (1, ?, 100, 'USD', unixepoch() + 86400)", (oid,))
    return int(oid), pub, pid, one("SELECT public_id FROM payments WHERE id = ?", (pid,)), client, total


def balance(cid=1):
    return one("SELECT balance_minor FROM wallets WHERE customer_id = ?", (cid,))


def money(minor):
    return "%d.%02d" % (minor // 100, minor % 100)


oid, opub, pid, ppub, client, total = gateway_order("stripe", "k1")
t.ok(total >= 300, "an order paid through stripe", total)

ada = Staff(s, "ada@example.com", "super_admin")
mgr = Staff(s, "mgr@example.com", "manager")
sam = Staff(s, "sam@example.com", "support")

r = mgr.get("/admin/orders/" + opub)
html_ok(r, "the order page with a gateway payment")
t.ok(r.status == 200 and 'href="/admin/payments/%s"' % ppub in r.text and
     'action="/admin/payments/%s/refund"' % ppub in r.text and 'name="seq" value="1"' in r.text,
     "the staff order page lists the payment with its refund form (form number 1)", r.status)
t.ok('value="gateway"' in r.text and 'value="wallet"' in r.text and 'value="manual"' in r.text,
     "to the gateway, the wallet or by hand")
r = sam.get("/admin/orders/" + opub)
t.ok(r.status == 200 and "/refund\"" not in r.text and ppub in r.text, "support sees the payment, no refund form")
CSRF = csrf_of(mgr.get("/admin/orders/" + opub).text)


def refund(who, fields, csrf=None):
    f = {"from": "order", "reason": "asked by the customer", "destination": "wallet"}
    f.update(fields)
    f["csrf"] = csrf or csrf_of(who.get("/admin/orders/" + opub).text)
    return who.post("/admin/payments/%s/refund" % ppub, f)


r = sam.post("/admin/payments/%s/refund" % ppub, {"csrf": csrf_of(sam.get("/admin").text), "seq": "1",
                                                   "destination": "wallet", "reason": "x", "amount": "1"})
t.ok(r.status == 403 and one("SELECT count(*) FROM refunds") == 0, "support (no refunds.issue): 403, nothing written",
     r.status)

# -- re-authentication first --
r = refund(mgr, {"seq": "1", "amount": "3.00"})
t.ok(r.status == 303 and "/admin/reauth" in (r.header("location") or "") and one("SELECT count(*) FROM refunds") == 0,
     "no fresh sign-in: to /admin/reauth, nothing written", (r.status, r.header("location")))
mgr.reauth("/admin/orders/" + opub)

# -- partial refunds up to the payment, never beyond --
r = refund(mgr, {"seq": "1", "amount": "3.00"})
t.ok(r.status == 303 and (r.header("location") or "").endswith("/admin/orders/%s?done=payment-refunded" % opub),
     "3.00 to the wallet: 303 back to the order", (r.status, r.header("location")))
t.is_(sql("SELECT amount_minor, destination, origin, state, staff_id IS NOT NULL FROM refunds"),
      [(300, "wallet", "staff", "succeeded", 1)], "one refund row, succeeded, by staff")
t.is_(balance(), 300, "the wallet credited 3.00")
t.is_(sql("SELECT state, refunded_minor FROM payments WHERE id = ?", (pid,)), [("partially_refunded", 300)],
      "the payment partially_refunded")
t.is_(one("SELECT state FROM orders WHERE id = ?", (oid,)), "paid", "the order stays paid")
r = refund(mgr, {"seq": "1", "amount": "3.00"})
t.ok(r.status == 303 and one("SELECT count(*) FROM refunds") == 1 and balance() == 300,
     "the same form again (a resubmit, a second tab): one refund", r.status)
left = total - 300
r = refund(mgr, {"seq": "2", "amount": money(left + 1)})
t.ok(r.status == 409 and "at most what is left" in html.unescape(r.text) and money(left) in r.text,
     "more than is left: 409 in words, with what is left", r.status)
t.ok(one("SELECT count(*) FROM refunds") == 1 and balance() == 300, "and nothing written")
html_ok(r, "the refused refund's page")
r = refund(mgr, {"seq": "2", "amount": "1.00", "destination": "manual"})
t.ok(r.status == 303 and balance() == 300 and
     sql("SELECT amount_minor, destination, state FROM refunds ORDER BY id DESC LIMIT 1") == [(100, "manual", "succeeded")],
     "1.00 paid back by hand: recorded, no ledger row", r.status)
r = refund(mgr, {"seq": "3", "amount": money(left - 100 + 1)})
t.ok(r.status == 409 and one("SELECT count(*) FROM refunds") == 2,
     "a third that would pass the payment by one cent: refused, nothing written", r.status)
t.is_(one("SELECT count(*) FROM jobs WHERE kind IN ('suspend','deprovision')"), 0, "no policy job for a partial refund")

# -- the rest: the whole payment is back --
r = refund(mgr, {"seq": "3", "amount": ""})
t.ok(r.status == 303, "an empty amount refunds all that is left", r.status)
t.is_(sql("SELECT state, refunded_minor FROM payments WHERE id = ?", (pid,)), [("refunded", total)],
      "the payment refunded, whole")
t.is_(balance(), 300 + left - 100, "the wallet holds the two wallet refunds")
t.is_(one("SELECT state FROM orders WHERE id = ?", (oid,)), "refunded", "the order refunded")
t.is_(sql("SELECT kind, idem_key FROM jobs WHERE kind IN ('suspend','deprovision')"),
      [("suspend", "suspend:client:%d:refund:%d" % (client, oid))],
      "the refund policy (default suspend): one suspend job for its proxy")
t.is_(one("SELECT state FROM referral_commissions WHERE order_id = ?", (oid,)), "reversed",
      "the referral commission reversed")
t.is_(one("SELECT count(*) FROM audit_log WHERE action = 'payment.refund' AND target = ?", ("payment:%d" % pid,)), 3,
      "one payment.refund audit row per refund")
t.is_(one("SELECT count(*) FROM audit_log WHERE action = 'order.refunded' AND target = ?", ("order:%d" % oid,)), 1,
      "and one order.refunded")
m = s.wait_mail("ann@example.com", "A refund of", n=3)
t.ok(m is not None and "order %s" % opub in m.get_body(preferencelist=("plain",)).get_content(),
     "three 'refund issued' mails, naming the order")
r = mgr.get("/admin/orders/" + opub)
t.ok('action="/admin/payments/%s/refund"' % ppub not in r.text, "nothing left: no refund form any more")

# -- the policy set to deprovision --
sql("INSERT INTO settings (key, value) VALUES ('payments.refund_policy', 'deprovision')")
oid2, opub2, pid2, ppub2, client2, total2 = gateway_order("paypal", "k2")
r = mgr.post("/admin/payments/%s/refund" % ppub2, {"csrf": CSRF, "seq": "1", "destination": "wallet",
                                                    "reason": "service never worked", "amount": ""})
t.ok(r.status == 303 and (r.header("location") or "").endswith("/admin/payments/%s?done=refunded" % ppub2),
     "from the payment's page: back to it", (r.status, r.header("location")))
t.is_(sql("SELECT kind FROM jobs WHERE idem_key = ?", ("deprovision:client:%d:refund:%d" % (client2, oid2),)),
      [("deprovision",)], "payments.refund_policy = deprovision: a deprovision job")

# -- what a gateway or a purpose refuses --
oid3, opub3, pid3, ppub3, client3, total3 = gateway_order("nowpayments", "k3")
r = mgr.post("/admin/payments/%s/refund" % ppub3, {"csrf": CSRF, "seq": "1", "destination": "gateway",
                                                    "reason": "x", "amount": "1.00"})
t.ok(r.status == 409 and "no refund API" in r.text and one("SELECT count(*) FROM refunds WHERE payment_id = ?", (pid3,)) == 0,
     "NOWPayments through the gateway: 409 in words, nothing written", r.status)
r = mgr.get("/admin/payments/" + ppub3)
t.ok('value="gateway"' not in r.text and 'value="manual"' in r.text, "its form offers no gateway refund")
tid = one("INSERT INTO payments (customer_id, gateway, purpose, amount_minor, currency, state, idempotency_key, "
          "fulfilled_at, fulfilled_by) VALUES (1, 'stripe', 'topup', 2000, 'USD', 'succeeded', 'topup:t1', unixepoch(), "
          "'webhook') RETURNING id")
tpub = one("SELECT public_id FROM payments WHERE id = ?", (tid,))
r = mgr.post("/admin/payments/%s/refund" % tpub, {"csrf": CSRF, "seq": "1", "destination": "wallet",
                                                   "reason": "x", "amount": "1.00"})
t.ok(r.status == 409 and "top-up" in r.text, "a top-up is not refunded into the wallet it filled: 409", r.status)
before = balance()
r = mgr.post("/admin/payments/%s/refund" % tpub, {"csrf": CSRF, "seq": "1", "destination": "manual",
                                                   "reason": "paid back by bank transfer", "amount": "5.00"})
t.ok(r.status == 303 and balance() == before - 500,
     "a top-up paid back by hand takes its credit back from the wallet", (r.status, before, balance()))

# -- /admin/payments --
sql("INSERT INTO gateway_events (gateway, event_id, event_type, payment_id, payload, outcome, source) "
    "VALUES ('stripe', 'evt_x1', 'checkout.session.completed', ?, ?, 'applied', 'webhook')",
    (pid, '{"note":"<script>alert(1)</script>"}'))
hid = one("INSERT INTO payments (customer_id, order_id, gateway, amount_minor, currency, state, received_minor, "
          "idempotency_key, held_reason, held_at) VALUES (1, ?, 'nowpayments', 1000, 'USD', 'partially_paid', 700, "
          "'pay:held', 'paid 7.00 of 10.00', unixepoch()) RETURNING id", (int(tc("pending", 1, plan, 1)[0]),))
hpub = one("SELECT public_id FROM payments WHERE id = ?", (hid,))
r = ada.get("/admin/payments")
html_ok(r, "/admin/payments")
listed = re.findall(r'href="/admin/payments/([0-9a-f]+)"', r.text)
t.ok(r.status == 200 and listed[:1] == [hpub] and ppub in listed and tpub in listed,
     "every gateway payment, newest first", listed)
t.is_(re.findall(r'href="/admin/payments/([0-9a-f]+)"', ada.get("/admin/payments?gateway=paypal").text), [ppub2],
      "filtered by gateway")
t.is_(sorted(re.findall(r'href="/admin/payments/([0-9a-f]+)"', ada.get("/admin/payments?state=refunded").text)),
      sorted([ppub, ppub2]), "by state")
t.is_(re.findall(r'href="/admin/payments/([0-9a-f]+)"', ada.get("/admin/payments?held=1").text), [hpub], "held only")
t.is_(re.findall(r'href="/admin/payments/([0-9a-f]+)"', ada.get("/admin/payments?email=rita").text), [],
      "by the customer's email")
r = sam.get("/admin/payments/" + ppub)
html_ok(r, "a payment's page")
t.ok(r.status == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert" not in r.text and
     'data-outcome="applied"' in r.text and "checkout.session.completed" in r.text,
     "its event with outcome, source and the raw payload escaped", r.status)
t.is_(len(re.findall(r'<tr class="refund" data-state="succeeded">', r.text)), 3, "its three refunds")
r = ada.get("/admin/payments/" + hpub)
t.ok("paid 7.00 of 10.00" in r.text and "/release" in r.text and "/credit" in r.text and
     "Up to <strong class=\"refund-left\">$7.00</strong>" in r.text,
     "a held payment: its reason, fulfil, credit wallet, and a refund of what arrived", r.status)
r = sam.get("/admin/payments/" + hpub)
t.is_(sam.post("/admin/payments/%s/credit" % hpub, {"csrf": csrf_of(r.text)}).status, 403,
      "support may not credit a held payment")
r = ada.post("/admin/payments/%s/credit" % hpub, {"csrf": csrf_of(ada.get("/admin/payments/" + hpub).text)})
t.ok(r.status == 303 and "/admin/reauth" in (r.header("location") or ""), "credit wallet asks for a fresh sign-in",
     r.status)
ada.reauth("/admin/payments/" + hpub)
before = balance()
r = ada.post("/admin/payments/%s/credit" % hpub, {"csrf": csrf_of(ada.get("/admin/payments/" + hpub).text)})
t.ok(r.status == 303 and balance() == before + 700 and
     one("SELECT count(*) FROM audit_log WHERE action = 'payment.credited'") == 1,
     "credited: what arrived is in the wallet, one audit row", (r.status, before, balance()))
r = ada.post("/admin/payments/%s/credit" % hpub, {"csrf": csrf_of(ada.get("/admin/payments/" + hpub).text)})
t.ok(r.status == 409 and balance() == before + 700, "a second credit: 409, nothing moves", r.status)
t.ok("Up to <strong class=\"refund-left\">$7.00</strong>" in ada.get("/admin/payments/" + hpub).text,
     "credited, it may still be refunded: what arrived (7.00), never the 10.00 it was for")
hid2 = one("INSERT INTO payments (customer_id, order_id, gateway, amount_minor, currency, state, received_minor, "
           "idempotency_key, held_reason, held_at) VALUES (1, ?, 'stripe', 1000, 'USD', 'succeeded', 1000, "
           "'pay:held2', 'the order was cancelled before the payment arrived', unixepoch()) RETURNING id",
           (int(tc("pending", 1, plan, 1)[0]),))
hpub2 = one("SELECT public_id FROM payments WHERE id = ?", (hid2,))
r = ada.post("/admin/payments/%s/refund" % hpub2, {"csrf": csrf_of(ada.get("/admin/payments/" + hpub2).text),
                                                    "seq": "1", "destination": "manual", "reason": "x", "amount": "1.00"})
t.is_(r.status, 303, "a held payment refunded in part (by hand)")
r = ada.get("/admin/payments/" + hpub2)
t.ok("/release" not in r.text and "/credit" not in r.text, "its page no longer offers fulfil or credit")
r = ada.post("/admin/payments/%s/release" % hpub2, {"csrf": csrf_of(r.text)})
t.ok(r.status == 409 and one("SELECT fulfilled_at IS NULL FROM payments WHERE id = ?", (hid2,)) == 1,
     "fulfilling it after a refund: 409, nothing fulfilled", r.status)
t.is_(ada.get("/admin/payments/00000000000000000000").status, 404, "an unknown payment: 404")
t.ok('href="/admin/payments"' in ada.get("/admin").text, "the staff menu links it")

# -- through the Stripe double (gw_stripe_ops, /webhooks/stripe) --
RET = "https://shop.example/pay/return/stripe/"


def stripe_order(key):
    """An order paid at the double: a pending order, its payment and
    session (gw_stripe's create), the customer pays, the webhook fulfils."""
    oid, pub = tc("pending", 1, plan, 1)
    amount = one("SELECT total_minor FROM orders WHERE id = ?", (oid,))
    pid = one("INSERT INTO payments (order_id, customer_id, gateway, amount_minor, currency, idempotency_key, state) "
              "VALUES (?, 1, 'stripe', ?, 'USD', ?, 'created') RETURNING id", (oid, amount, "pay:" + key))
    ppub = one("SELECT public_id FROM payments WHERE id = ?", (pid,))
    r = d.call("create", ppub, amount, "USD", "pay:" + key, RET + ppub, "https://shop.example/pay/%s?c=1" % ppub)
    sql("UPDATE payments SET gateway_ref = ?, checkout_url = ?, state = 'pending' WHERE id = ?", (r["ref"], r["url"], pid))
    d.control("complete/" + r["ref"])
    wait_for(lambda: one("SELECT state FROM orders WHERE id = ?", (oid,)) != "pending", 10)
    return int(oid), pub, pid, ppub, r["ref"], amount


oid4, opub4, pid4, ppub4, sid4, total4 = stripe_order("k4")
t.ok(total4 > 300, "(the order's total leaves room for three refunds)", total4)
t.ok(one("SELECT state FROM orders WHERE id = ?", (oid4,)) in ("paid", "provisioning", "active") and
     one("SELECT fulfilled_at IS NOT NULL FROM payments WHERE id = ?", (pid4,)) == 1,
     "an order paid at the Stripe double, fulfilled by its webhook")
pi4 = one("SELECT gateway_ref2 FROM payments WHERE id = ?", (pid4,))

# A refund through Stripe whose reply is lost: the double holds the call
# past gateway_timeout (the refund is made all the same), and its
# charge.refunded webhook is refused while the endpoint secret is gone,
# so the shop learns of it only by retrying the call.
d.control("fault", mode="slow", seconds=2.5, count=1, path="/v1/refunds", method="POST")
s.cli("gateway", "set", "stripe.webhook_secret", input="\n")
r = mgr.post("/admin/payments/%s/refund" % ppub4, {"csrf": CSRF, "seq": "1", "destination": "gateway",
                                                    "reason": "double charged", "amount": "2.00", "from": "order"})
t.ok(r.status == 303 and (r.header("location") or "").endswith("?done=refund-queued"),
     "a refund of 2.00 through Stripe: queued", (r.status, r.header("location")))
rid4 = one("SELECT id FROM refunds WHERE payment_id = ?", (pid4,))
wait_for(lambda: one("SELECT state FROM refunds WHERE id = ?", (rid4,)) != "pending", 20)
posts = [x for x in d.requests() if x["method"] == "POST" and x["path"] == "/v1/refunds"]
keys = {x["headers"].get("Idempotency-Key") for x in posts}
at_double = [x for x in d.state()["refunds"] if x["payment_intent"] == pi4]
# Two calls at least: a retry that meets the first call still held at the
# double is answered 409 idempotency_key_in_use and tries again later.
t.ok(len(posts) >= 2 and keys == {"refund:%d:1" % pid4} and len(at_double) == 1 and at_double[0]["amount"] == 200,
     "timed out, then retried with the same Idempotency-Key: one refund at the double",
     (len(posts), keys, at_double, sql("SELECT state, last_error FROM refunds WHERE id = ?", (rid4,)),
      sql("SELECT state, attempts, last_error FROM jobs WHERE kind = 'refund'")))
t.is_(sql("SELECT state, gateway_ref FROM refunds WHERE id = ?", (rid4,)), [("succeeded", at_double[0]["id"])],
      "the refund succeeded with Stripe's id")
t.is_(sql("SELECT state, refunded_minor FROM payments WHERE id = ?", (pid4,)), [("partially_refunded", 200)],
      "the payment partially_refunded")
t.ok(one("SELECT attempts FROM jobs WHERE kind = 'refund' AND idem_key = ?", ("refund:%d:1" % pid4,)) >= 2,
     "by a later attempt of the refund job")
d.configure(enable=False)

# A refund made in Stripe's dashboard arrives by webhook, once.
r = d.control("refund", session=sid4, amount=100)
t.is_(r["deliveries"][0]["status"], 200, "a dashboard refund of 1.00: charge.refunded answered 200")
t.is_(sql("SELECT amount_minor, destination, origin, state, gateway_ref FROM refunds WHERE payment_id = ? "
          "AND origin = 'gateway'", (pid4,)), [(100, "gateway", "gateway", "succeeded", r["refund"]["id"])],
      "recorded as a refund made at the gateway")
t.is_(one("SELECT refunded_minor FROM payments WHERE id = ?", (pid4,)), 300, "the payment's refunded amount 3.00")
r = d.control("deliver", event=r["events"][0])
t.ok(r["deliveries"][0]["status"] == 200 and one("SELECT count(*) FROM refunds WHERE payment_id = ?", (pid4,)) == 2,
     "the same event again: 200, recorded once", r)
t.is_(one("SELECT count(*) FROM audit_log WHERE action = 'payment.refund_seen' AND target = ?", ("payment:%d" % pid4,)),
      1, "one payment.refund_seen audit row")
r = d.control("refund", session=sid4)
wait_for(lambda: one("SELECT state FROM orders WHERE id = ?", (oid4,)) == "refunded", 10)
t.ok(one("SELECT state FROM payments WHERE id = ?", (pid4,)) == "refunded" and
     one("SELECT state FROM orders WHERE id = ?", (oid4,)) == "refunded",
     "the rest refunded in the dashboard: the payment and the order refunded")

s.check_sanitizers(t)
t.done()
