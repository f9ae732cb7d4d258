#!/usr/bin/env python3
"""The staff's orders list, /admin/orders (issue 11), through nginx:
orders.read (403 for a role without it), the filters (state, date range
in UTC days with both ends included, a part of the customer's email,
LIKE's own % and _ taken literally), a malformed date listed as an error
with nothing shown, pagination at 50, the invoice link, and the
dashboard's link."""
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import Shop, csrf_of  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
sql = s.sql


def staff(addr, role):
    """A signed-in staff member's browser (t/lib/pxstaff.py)."""
    return Staff(s, addr, role).b


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


# Two customers and their orders, written straight into the tables: the
# page only reads them.  Days: 2026-03-01 is 1772323200 (UTC midnight).
D = 1772323200
for cid, email in ((1, "ann@example.com"), (2, "bo_b@example.com")):
    sql("INSERT INTO customers (id, email, password_hash) VALUES (?, ?, 'x')", (cid, email))
rows = [("o-ann-pending-0001", 1, "pending", D + 3600),
        ("o-ann-paid-000002", 1, "paid", D + 86400 + 60),
        ("o-bob-paid-000003", 2, "paid", D + 2 * 86400 - 1),
        ("o-bob-cancel-0004", 2, "cancelled", D + 5 * 86400)]
for pub, cid, state, at in rows:
    sql("INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency, created_at) "
        "VALUES (?, ?, ?, 1000, 1000, 'USD', ?)", (pub, cid, state, at))
oid = sql("SELECT id FROM orders WHERE public_id = 'o-ann-paid-000002'")[0][0]
sql("INSERT INTO invoices (number, order_id, customer_id, currency, subtotal_minor, total_minor) "
    "VALUES ('2026-000001', ?, 1, 'USD', 1000, 1000)", (oid,))

ada = staff("ada@example.com", "super_admin")
sam = staff("sam@example.com", "support")
sql("INSERT INTO roles (name, label) VALUES ('auditor', 'Auditor')")
sql("INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM roles r, permissions p "
    "WHERE r.name = 'auditor' AND p.name IN ('audit.read', 'customers.read')")
aud = staff("aud@example.com", "auditor")


def listed(b, q=""):
    r = b.get("/admin/orders" + q)
    return r, re.findall(r"<code>(o-[a-z0-9-]+)</code>", r.text)


r, got = listed(ada)
t.ok(r.status == 200 and got == [x[0] for x in reversed(rows)], "every order, newest first", (r.status, got))
html_ok(r, "/admin/orders")
t.ok('href="/admin/invoices/2026-000001"' in r.text, "the paid order links its invoice")
t.ok('href="/admin/customers/2"' in r.text, "and each row its customer")
t.is_(listed(ada, "?state=paid")[1], ["o-bob-paid-000003", "o-ann-paid-000002"], "state=paid")
t.is_(listed(ada, "?state=pending")[1], ["o-ann-pending-0001"], "state=pending")
t.is_(len(listed(ada, "?state=nonsense")[1]), 4, "an unknown state filters nothing")
t.is_(listed(ada, "?email=ANN%40")[1], ["o-ann-paid-000002", "o-ann-pending-0001"], "email contains, any case")
t.is_(listed(ada, "?email=o_b")[1], ["o-bob-cancel-0004", "o-bob-paid-000003"], "an _ in the email is literal")
t.is_(listed(ada, "?email=a_n")[1], [], "so a_n finds no ann")
t.is_(listed(ada, "?from=2026-03-02&to=2026-03-02")[1], ["o-bob-paid-000003", "o-ann-paid-000002"],
      "one day, both ends included (its first minute and its last second)")
t.is_(listed(ada, "?from=2026-03-03")[1], ["o-bob-cancel-0004"], "from alone")
t.is_(listed(ada, "?to=2026-03-01&state=pending&email=ann")[1], ["o-ann-pending-0001"], "filters combine")
r, got = listed(ada, "?from=2026-02-30")
t.ok(r.status == 400 and got == [] and "YYYY-MM-DD" in r.text, "a malformed date: 400, the rule, nothing listed",
     (r.status, got))

# -- pagination --
for i in range(55):
    sql("INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency, created_at) "
        "VALUES (?, 2, 'pending', 1, 1, 'USD', ?)", ("o-bulk-%04d" % i, D + 10 * 86400 + i))
r, got = listed(ada, "?state=pending&email=bo_b")
t.ok(len(got) == 50 and 'href="/admin/orders?state=pending&amp;from=&amp;to=&amp;email=bo_b&amp;page=2"' in r.text,
     "50 a page, the next page keeps the filters", len(got))
t.is_(len(listed(ada, "?state=pending&email=bo_b&page=2")[1]), 5, "page 2 holds the rest")

# -- who may see it --
r, got = listed(sam)
t.ok(r.status == 200 and len(got) == 50, "support (orders.read) sees the list", r.status)
r, got = listed(aud)
t.ok(r.status == 403 and got == [], "a role without orders.read: 403", r.status)
t.ok('href="/admin/orders"' in ada.get("/admin").text, "the dashboard links it for orders.read")
t.ok('href="/admin/orders"' not in aud.get("/admin").text, "and not for a role without")

# -- one order's page, and cancelling a pending one --
def tc(*args):
    return s.cli("test-commerce", *[str(a) for a in args]).stdout.split()


pid, ppub = tc("order-new", 1, 1000, 0, 0)
plan = sql("SELECT id FROM plans ORDER BY id LIMIT 1")[0][0]
sql("UPDATE plans SET stock = 3 WHERE id = ?", (plan,))
sql("INSERT INTO order_items (order_id, plan_id, quantity, unit_price_minor, currency) VALUES (?, ?, 2, 500, 'USD')",
    (pid, plan))
paid_id, paid_pub = tc("order-new", 2, 700, 0, 0)
tc("order-move", paid_id, "paid")
mgr = staff("mgr@example.com", "manager")

r = ada.get("/admin/orders/" + ppub)
html_ok(r, "/admin/orders/{public_id}")
t.ok(r.status == 200 and 'id="order-state">pending<' in r.text and 'data-kind="created"' in r.text
     and 'href="/admin/customers/1"' in r.text and "$10.00" in r.text and 'action="/admin/orders/%s/cancel"' % ppub in r.text,
     "an order's page: state, customer, items, total, timeline and the cancel form", r.status)
r = sam.get("/admin/orders/" + ppub)
t.ok(r.status == 200 and "/cancel" not in r.text, "support (no orders.write) sees it without the cancel form", r.status)
t.is_(aud.get("/admin/orders/" + ppub).status, 403, "a role without orders.read: 403 on the order too")
t.is_(ada.get("/admin/orders/nosuchorder000000").status, 404, "an unknown order: 404")
r = ada.get("/admin/orders/o-ann-paid-000002")
t.ok('href="/admin/invoices/2026-000001"' in r.text, "the order's page links its invoice")

r = sam.post("/admin/orders/%s/cancel" % ppub, {"csrf": csrf_of(sam.get("/admin/orders").text)})
t.ok(r.status == 403 and sql("SELECT state FROM orders WHERE id = ?", (pid,)) == [("pending",)],
     "cancel without orders.write: 403, still pending", r.status)
r = mgr.post("/admin/orders/%s/cancel" % ppub, {"csrf": csrf_of(mgr.get("/admin/orders/" + ppub).text)})
t.ok(r.status == 303 and (r.header("location") or "").endswith("/admin/orders/%s?done=cancelled" % ppub),
     "a manager cancels the pending order", (r.status, r.header("location")))
t.is_(sql("SELECT state FROM orders WHERE id = ?", (pid,)), [("cancelled",)], "it is cancelled")
t.is_(sql("SELECT stock FROM plans WHERE id = ?", (plan,)), [(5,)], "its 2 items' stock is back on the plan (3 -> 5)")
t.is_(sql("SELECT kind, actor FROM order_events WHERE order_id = ? ORDER BY id", (pid,)),
      [("created", "cli"), ("cancelled", "staff")], "the timeline gains the cancelled event, by staff")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'order.cancelled' AND target = ?", ("order:%s" % pid,))[0][0],
      1, "one audit row")
r = mgr.get("/admin/orders/%s?done=cancelled" % ppub)
t.ok("is cancelled" in r.text and "/cancel" not in r.text, "the page says so and offers no cancel")
r = mgr.post("/admin/orders/%s/cancel" % ppub, {"csrf": csrf_of(r.text)})
t.ok(r.status == 409 and sql("SELECT stock FROM plans WHERE id = ?", (plan,)) == [(5,)],
     "a second cancel: 409, the stock is not released twice", r.status)
r = mgr.post("/admin/orders/%s/cancel" % paid_pub, {"csrf": csrf_of(mgr.get("/admin/orders").text)})
t.ok(r.status == 409 and "only a pending (unpaid) order" in r.text and "refunded instead" in r.text,
     "a paid order cannot be cancelled here: 409 with a clear message", r.status)
t.is_(sql("SELECT state FROM orders WHERE id = ?", (paid_id,)), [("paid",)], "and stays paid")
t.is_(sql("SELECT count(*) FROM audit_log WHERE action = 'order.cancelled'")[0][0], 1, "with no audit row")

r = s.get("/admin/orders")
t.ok(r.status in (302, 303) and "/admin/login" in (r.header("location") or ""), "no session: to the staff login",
     r.status)
s.check_sanitizers(t)
t.done()
