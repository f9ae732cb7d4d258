#!/usr/bin/env python3
"""Renewal (issue 11): a customer renews a service from its order page by
buying the same plan again.  Renew (POST /orders/{public_id}/renew, CSRF)
puts the plan in the cart as a renewal line of the item, beside any new
purchase of the same plan; the cart and checkout show "Renewal of ORDER
item N"; checkout copies renewal_of into the new order item, and its
provision job's payload carries "renewal_of": ITEM.  Another customer's
item is a 404; a withdrawn plan or an unpaid order cannot be renewed
(a clear 409, nothing added); an order refunded after the line was added
refuses the checkout, nothing written."""
import json
import os
import re
import subprocess
import sys
from urllib.parse import urlencode
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from pxweb import Client as WebClient  # noqa: E402
from px import BIN, TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=2, tls=True)
s.start()
sql = s.sql


def Client(ua):
    return WebClient(s, ua)


def loc(r):
    return r.header("location") or ""


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def tc(*args):
    return subprocess.run([BIN, "-c", s.conf, "test-commerce"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


def customer(ua, addr, name, pw):
    c = Client(ua)
    c.post("/register", {"email": addr, "name": name, "password": pw, "terms": "1"})
    r = c.post("/login", {"email": addr, "password": pw})
    t.is_(r.status, 303, "%s signs in" % name)
    cid = sql("SELECT id FROM customers WHERE email = ?", (addr,))[0][0]
    p = tc("wallet", cid, 100000, "topup", "fund-%d" % cid)
    t.ok(p.returncode == 0, "%s's wallet is funded" % name, p.stderr)
    return c, cid


def cart_rows(cid):
    return sql("SELECT ci.plan_id, ci.quantity, ci.renewal_of FROM cart_items ci JOIN carts c "
               "ON c.id = ci.cart_id WHERE c.customer_id = ? ORDER BY ci.id", (cid,))


(pa, slug_a, name_a, price_a), (pb, slug_b, name_b, price_b) = sql(
    "SELECT id, slug, name, price_minor FROM plans WHERE active = 1 AND stock IS NULL ORDER BY id LIMIT 2")
alice, alice_id = customer("px-test alice", "alice@example.com", "Alice", "tangerine orbit lamp 41")
bob, bob_id = customer("px-test bob", "bob@example.com", "Bob", "quiet harbor violin 77")

# -- Alice buys plan A and plan B: order 1 --
alice.post("/cart/add", {"plan": slug_a}, page="/cart/add?plan=" + slug_a)
alice.post("/cart/add", {"plan": slug_b}, page="/cart/add?plan=" + slug_b)
r = alice.checkout()
o1 = loc(r).split("/")[-1].split("?")[0]
t.ok(r.status == 303 and o1, "Alice pays her first order", (r.status, loc(r)))
(i1, _), (i2, _) = sql("SELECT i.id, i.plan_id FROM order_items i JOIN orders o ON o.id = i.order_id "
                       "WHERE o.public_id = ? ORDER BY i.id", (o1,))
r = alice.get("/orders/" + o1)
html_ok(r, "the order page with its Renew forms")
t.ok(r.status == 200 and r.text.count('action="/orders/%s/renew"' % o1) == 2 and
     'name="item" value="%d"' % i1 in r.text and 'name="csrf"' in r.text,
     "each item of the paid order has a Renew form (POST, CSRF)")

# -- Renew puts the plan in the cart as a renewal line of the item --
r = alice.post("/orders/%s/renew" % o1, {"item": i1}, page="/orders/" + o1)
t.ok(r.status == 303 and loc(r) == "/cart", "Renew: 303 to the cart", (r.status, loc(r), r.text[:300]))
t.is_(cart_rows(alice_id), [(pa, 1, i1)], "the cart holds plan A as a renewal line of item 1")
r = alice.post("/orders/%s/renew" % o1, {"item": i1}, page="/orders/" + o1)
t.is_(cart_rows(alice_id), [(pa, 1, i1)], "a second Renew keeps the one line, quantity 1")
r = alice.post("/cart/add", {"plan": slug_a, "qty": "2"}, page="/cart/add?plan=" + slug_a)
t.is_(cart_rows(alice_id), [(pa, 1, i1), (pa, 2, None)],
      "a new purchase of the same plan is a line of its own beside the renewal")
r = alice.post("/cart/update", {"plan": slug_a, "qty": "3"}, page="/cart")
t.is_(cart_rows(alice_id), [(pa, 1, i1), (pa, 3, None)], "the quantity form changes the plain line only")
r = alice.get("/cart")
html_ok(r, "/cart with a renewal line")
t.ok("Renewal of" in r.text and re.search(r'Renewal of <a href="/orders/%s">%s</a> item 1' % (o1, o1), r.text)
     and "Cart (4)" in r.text, "the cart shows \"Renewal of %s item 1\"" % o1)
r = alice.get("/checkout")
html_ok(r, "/checkout with a renewal line")
t.ok("Renewal of %s item 1" % o1 in r.text, "and so does checkout")

# -- checkout: the renewal item carries renewal_of, its job says so --
r = alice.checkout()
o2 = loc(r).split("/")[-1].split("?")[0]
t.ok(r.status == 303 and "ok=paid" in loc(r), "Alice pays the renewal and the new purchase", (r.status, loc(r)))
items = sql("SELECT i.id, i.plan_id, i.renewal_of FROM order_items i JOIN orders o ON o.id = i.order_id "
            "WHERE o.public_id = ? ORDER BY i.id", (o2,))
t.is_([(p, ro) for _, p, ro in items], [(pa, i1), (pa, None), (pa, None), (pa, None)],
      "order 2: one item renewing item 1, three new items")
jobs = {json.loads(p)["order_item"]: json.loads(p) for (p,) in sql(
    "SELECT payload FROM jobs WHERE kind = 'provision' AND json_extract(payload, '$.order') = "
    "(SELECT id FROM orders WHERE public_id = ?)", (o2,))}
ren = items[0][0]
t.ok(len(jobs) == 4 and jobs[ren].get("renewal_of") == i1 and
     all("renewal_of" not in jobs[i] for i, _, _ in items[1:]),
     "the renewal's provision job carries \"renewal_of\": %d, the others none" % i1, jobs)
r = alice.get("/orders/" + o2)
t.ok(r.status == 200 and "Renewal of" in r.text and 'href="/orders/%s"' % o1 in r.text,
     "the new order's page says which item the renewal renews")
html_ok(r, "the order page of a renewal")

# -- renewing a renewal renews the item that holds the client --
r = alice.post("/orders/%s/renew" % o2, {"item": ren}, page="/orders/" + o2)
t.ok(r.status == 303 and cart_rows(alice_id) == [(pa, 1, i1)],
     "Renew on a renewal item: a renewal line of the original item", cart_rows(alice_id))
r = alice.post("/orders/%s/renew" % o1, {"item": i2}, page="/orders/" + o1)
t.is_(cart_rows(alice_id), [(pa, 1, i1), (pb, 1, i2)], "a second item's renewal is a line of its own")
r = alice.post("/cart/remove", {"plan": slug_a, "renewal": i1}, page="/cart")
t.ok(r.status == 303 and cart_rows(alice_id) == [(pb, 1, i2)], "remove drops just that renewal line",
     cart_rows(alice_id))
r = alice.post("/cart/remove", {"plan": slug_b, "renewal": "x1"}, page="/cart")
t.ok(r.status == 400 and cart_rows(alice_id) == [(pb, 1, i2)], "a hostile renewal field: 400, nothing removed",
     r.status)

# -- another customer's item is a 404 --
r = bob.post("/orders/%s/renew" % o1, {"item": i1}, page="/orders")
t.ok(r.status == 404 and "There is no such order" in r.text and not cart_rows(bob_id),
     "Bob renewing Alice's item through her order: 404, nothing in his cart", r.status)
bob.post("/cart/add", {"plan": slug_b}, page="/cart/add?plan=" + slug_b)
r = bob.checkout()
ob = loc(r).split("/")[-1].split("?")[0]
r = bob.post("/orders/%s/renew" % ob, {"item": i1}, page="/orders/" + ob)
t.ok(r.status == 404 and not cart_rows(bob_id), "Bob naming Alice's item under his own order: 404", r.status)
r = alice.post("/orders/%s/renew" % o1, {"item": "abc"}, page="/orders/" + o1)
t.is_(r.status, 400, "a hostile item: 400")
r = alice.post("/orders/%s/renew" % o1, {}, page="/orders/" + o1)
t.is_(r.status, 400, "no item: 400")
r = bob.post("/orders/%s/renew" % o1, {}, page="/orders")
t.is_(r.status, 404, "Bob on Alice's order without an item: still 404")
r = alice.raw_post("/orders/%s/renew" % o1, {"item": i1, "csrf": "0" * 64})
t.ok(r.status == 403 and cart_rows(alice_id) == [(pb, 1, i2)], "a forged Renew: 403, nothing added", r.status)

# -- a withdrawn plan, an unpaid order --
sql("UPDATE plans SET active = 0 WHERE id = ?", (pa,))
r = alice.post("/orders/%s/renew" % o1, {"item": i1}, page="/orders/" + o1)
t.ok(r.status == 409 and "no longer sold" in r.text and name_a in r.text and
     cart_rows(alice_id) == [(pb, 1, i2)], "a withdrawn plan cannot be renewed: 409, a clear message", r.status)
html_ok(r, "the order page with the refusal")
sql("UPDATE plans SET active = 1 WHERE id = ?", (pa,))
p = tc("order-new", alice_id, price_a, 0, 0)
pend_id, pend = p.stdout.split()[:2]
pend_item = sql("INSERT INTO order_items (order_id, plan_id, unit_price_minor, currency) "
                "VALUES (?, ?, ?, 'USD') RETURNING id", (int(pend_id), pa, price_a))[0][0]
r = alice.get("/orders/" + pend)
t.ok(r.status == 200 and 'action="/orders/%s/renew"' % pend not in r.text, "an unpaid order shows no Renew")
r = alice.post("/orders/%s/renew" % pend, {"item": pend_item}, page="/orders/" + pend)
t.ok(r.status == 409 and "only a paid service" in r.text and cart_rows(alice_id) == [(pb, 1, i2)],
     "renewing an item of an unpaid order: 409, nothing added", r.status)

# -- refunded after the line was added: checkout refuses, writes nothing --
sql("UPDATE orders SET state = 'refunded' WHERE public_id = ?", (o1,))
before = sql("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM jobs), "
             "(SELECT balance_minor FROM wallets WHERE customer_id = ?)", (alice_id,))
r = alice.checkout()
t.ok(r.status == 409 and "can no longer be renewed" in r.text, "a renewal of a refunded order: checkout refuses (409)",
     r.status)
t.is_(sql("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM jobs), "
          "(SELECT balance_minor FROM wallets WHERE customer_id = ?)", (alice_id,)), before, "and writes nothing")
r = alice.get("/orders/" + o1)
t.ok('action="/orders/%s/renew"' % o1 not in r.text, "a refunded order shows no Renew")

# The cart's own lookups use an index: 013's unique indexes are partial,
# and a partial index serves only a query that repeats its WHERE.
for q in ("SELECT * FROM cart_items WHERE cart_id = 1", "DELETE FROM cart_items WHERE cart_id = 1"):
    plan = " ".join(r[-1] for r in sql("EXPLAIN QUERY PLAN " + q))
    t.ok("USING INDEX" in plan or "USING COVERING INDEX" in plan, "%s: no scan of every cart's lines" % q, plan)

p = subprocess.run([BIN, "-c", s.conf, "check"], capture_output=True, text=True)
t.is_(p.returncode, 0, "1000proxy check passes")
s.check_sanitizers(t)
s.stop()
t.done()
