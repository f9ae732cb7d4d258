#!/usr/bin/env python3
"""The staff's customer page completed (issue 11), through nginx:
/admin/customers/{id} shows the profile, the two-factor state, the live
sessions (signed in, last seen, address, browser), the ledger paginated
as on /wallet, and the orders; staff with customers.write sign out one
session of the customer or all of them (POST with CSRF, one audit row
each; a session of another customer is a 404 and stays; nothing to end
is a 409), a role without it sees no buttons and gets a 403; and one
order shows the same items, totals and timeline to the customer and to
staff (order_view.c)."""
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


def signed_in(addr, pw, ua):
    """A browser signed in as addr, its session made with User-Agent ua."""
    b = Browser(s)
    r = b.get("/login")
    r = b.post("/login", {"email": addr, "password": pw, "csrf": csrf_of(r.text)}, headers={"User-Agent": ua})
    assert r.status == 303, (r.status, r.text[:300])
    return b


def register(addr, name, pw):
    b = Browser(s)
    r = b.form("/register", "/register", {"email": addr, "name": name, "password": pw, "terms": "1"})
    assert r.status == 200, r.text[:300]
    return sql("SELECT id FROM customers WHERE email = ?", (addr,))[0][0]


def tc(*args, check=True):
    return s.cli("test-commerce", *[str(a) for a in args], check=check)


def session_ids(cid):
    return [x[0] for x in sql("SELECT id FROM sessions WHERE customer_id = ? ORDER BY id", (cid,))]


def audits(action):
    return sql("SELECT target, detail, actor FROM audit_log WHERE action = ? ORDER BY id", (action,))


aid = register("alice@example.com", "Alice", PW_A)
bid = register("bob@example.com", "Bob", PW_B)
laptop = signed_in("alice@example.com", PW_A, "Mozilla/5.0 (X11; Linux) AliceLaptop/1.0")
phone = signed_in("alice@example.com", PW_A, "Mozilla/5.0 (iPhone) AlicePhone/2.0 " + "x" * 300)
bobb = signed_in("bob@example.com", PW_B, "BobBrowser/9")
a_laptop, a_phone = session_ids(aid)
(b_sess,) = session_ids(bid)

ada = Staff(s, "ada@example.com", "super_admin")
sam = Staff(s, "sam@example.com", "support")
sql("INSERT INTO roles (name, label) VALUES ('auditor', 'Auditor')")
sql("INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM roles r, permissions p "
    "WHERE r.name = 'auditor' AND p.name = 'audit.read'")
aud = Staff(s, "aud@example.com", "auditor")

page = "/admin/customers/%d" % aid
end_one = page + "/sessions/end"
everywhere = page + "/sessions/end-all"

# -- the page --
r = ada.get(page)
t.is_(r.status, 200, "GET /admin/customers/{id}: 200")
html_ok(r, page)
rows = re.findall(r'<tr class="session" data-id="(\d+)"><td>([^<]+)</td><td>([^<]+)</td><td>([^<]*)</td>'
                  r'<td class="ua">([^<]*)</td>', r.text)
t.is_(sorted(int(x[0]) for x in rows), sorted([a_laptop, a_phone]), "both of the customer's sessions are listed, "
      "not another customer's")
t.ok(all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", x[1]) and re.match(r"\d{4}-\d\d-\d\dT", x[2]) and
         x[3] == "127.0.0.1" for x in rows), "each with when it signed in, when it was last seen and its address",
     rows)
uas = {int(x[0]): html.unescape(x[4]) for x in rows}
t.ok(uas.get(a_laptop) == "Mozilla/5.0 (X11; Linux) AliceLaptop/1.0" and
     uas.get(a_phone, "").startswith("Mozilla/5.0 (iPhone) AlicePhone/2.0") and len(uas.get(a_phone, "")) == 120,
     "and its browser as stored, cut to 120 characters as on /account/sessions", uas)
t.ok('action="%s"' % end_one in r.text and 'name="session" value="%d"' % a_laptop in r.text and
     'action="%s"' % everywhere in r.text,
     "customers.write: a sign-out button for each session and one for all")
t.ok(re.search(r"<dt>Two-factor</dt><dd>off</dd>", r.text), "the two-factor state: off")
sql("UPDATE customers SET totp_enabled_at = unixepoch() WHERE id = ?", (aid,))
t.ok(re.search(r"<dt>Two-factor</dt><dd>on</dd>", ada.get(page).text), "and on once enrolled")
sql("UPDATE customers SET totp_enabled_at = NULL WHERE id = ?", (aid,))

r = sam.get(page)
t.ok(r.status == 200 and 'class="session"' in r.text and "/sessions/" not in r.text,
     "support (customers.read only) sees the sessions without the buttons", r.status)
t.is_(aud.get(page).status, 403, "a role without customers.read: 403")

# -- ending one session --
r = sam.post(end_one, {"session": a_laptop, "csrf": csrf_of(sam.get(page).text)})
t.ok(r.status == 403 and session_ids(aid) == [a_laptop, a_phone], "support cannot end a session: 403", r.status)
r = ada.post(end_one, {"session": a_laptop})
t.ok(r.status == 403 and session_ids(aid) == [a_laptop, a_phone], "without the CSRF token: 403, nothing ended",
     r.status)
csrf = csrf_of(ada.get(page).text)
r = ada.post(end_one, {"session": b_sess, "csrf": csrf})
t.ok(r.status == 404 and session_ids(bid) == [b_sess] and bobb.get("/wallet").status == 200,
     "another customer's session under this customer: 404, and it stays", r.status)
r = ada.post("/admin/customers/99999/sessions/end", {"session": a_laptop, "csrf": csrf})
t.ok(r.status == 404 and session_ids(aid) == [a_laptop, a_phone], "no such customer: 404", r.status)
r = ada.post(end_one, {"session": "1; DROP", "csrf": csrf})
t.ok(r.status == 400 and session_ids(aid) == [a_laptop, a_phone], "a session that is not an id: 400", r.status)
t.is_(audits("session.revoked"), [], "none of those wrote an audit row")

r = ada.post(end_one, {"session": a_laptop, "csrf": csrf})
t.ok(r.status == 303 and loc(r) == page + "?done=session_ended", "ending a session: 303 to the page", loc(r))
t.is_(session_ids(aid), [a_phone], "that session is gone, the other stays")
r = laptop.get("/wallet")
t.ok(r.status == 303 and loc(r).startswith("/login"), "the laptop is signed out", (r.status, loc(r)))
t.is_(phone.get("/wallet").status, 200, "the phone is still signed in")
a = audits("session.revoked")
t.ok(len(a) == 1 and a[0][0] == "customer:%d" % aid and "session %d ended by staff" % a_laptop in a[0][1] and
     a[0][2] == "staff", "one audit row naming the session, the customer and a staff actor", a)
r = ada.get(page + "?done=session_ended")
t.ok("That session is signed out." in r.text and 'data-id="%d"' % a_laptop not in r.text and
     'data-id="%d"' % a_phone in r.text,
     "the page says so and lists the rest")
r = ada.post(end_one, {"session": a_laptop, "csrf": csrf})
t.is_(r.status, 404, "ending it again: 404")

# -- ending all --
laptop = signed_in("alice@example.com", PW_A, "AliceLaptop/1.1")
t.is_(len(session_ids(aid)), 2, "the customer signs in again: two sessions")
r = ada.post(everywhere, {"csrf": csrf})
t.ok(r.status == 303 and loc(r) == page + "?done=sessions_ended" and session_ids(aid) == [] and
     session_ids(bid) == [b_sess], "sign out everywhere: every session of the customer ends, no one else's",
     (r.status, loc(r)))
t.ok(phone.get("/wallet").status == 303 and laptop.get("/wallet").status == 303 and
     bobb.get("/wallet").status == 200, "both of the customer's browsers are signed out")
a = audits("session.revoked_all")
t.ok(len(a) == 1 and "2 session(s) ended by staff" in a[0][1], "one audit row with the count", a)
r = ada.get(page)
t.ok("Signed in nowhere." in r.text and 'action="%s"' % everywhere not in r.text,
     "the page shows no session and no button")
r = ada.post(everywhere, {"csrf": csrf})
t.ok(r.status == 409 and "no session to end" in r.text and len(audits("session.revoked_all")) == 1,
     "nothing to end: 409, nothing written", r.status)
html_ok(r, "the 409 page")

# -- the ledger, paginated like /wallet --
for i in range(30):
    tc("wallet", aid, 100 + i, "topup", "p-%d" % i)
r = ada.get(page)
t.ok(r.text.count('class="tx"') == 25 and 'href="%s?page=2"' % page in r.text and 'id="balance">$34.35<' in r.text,
     "the ledger on the staff page: 25 a page, a link to the next, the balance", r.text.count('class="tx"'))
r = ada.get(page + "?page=2")
t.ok(r.text.count('class="tx"') == 5 and 'href="%s?page=1"' % page in r.text, "page 2 holds the rest")

# -- one order, one view model --
alice = signed_in("alice@example.com", PW_A, "AliceLaptop/1.2")
plan = sql("SELECT id, name FROM plans WHERE active = 1 AND stock IS NULL ORDER BY id LIMIT 1")[0]
p = tc("checkout", aid, plan[0], 2, "k-order-1")
pub = p.stdout.split()[-1]
tc("order-move", sql("SELECT id FROM orders WHERE public_id = ?", (pub,))[0][0], "provisioning", "panel asked")


def view(r):
    body = html.unescape(r.text)
    # The customer's rows lead with the item number and end with Renew.
    items = re.findall(r"<tr>(?:<td>\d+</td>)?<td>(?:<a href=\"/plans/[^\"]+\">)?([^<]+)(?:</a>)?</td>"
                       r"<td[^>]*>([^<]+)</td><td>([^<]+)</td>", body)
    totals = re.search(r'<dl class="specs totals">(.*?)</dl>', body, re.S)
    events = re.findall(r'<strong>([a-z]+)</strong> <time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)">'
                        r'(\d{4}-\d\d-\d\d \d\d:\d\d UTC)</time>', body)
    placed = re.search(r'<dt>Placed</dt><dd><time datetime="([^"]+)">([^<]+)</time>', body)
    inv = re.search(r'/invoices/(\d{4}-\d{6})"', body)
    return (items, totals and re.sub(r"\s+", " ", totals.group(1)), events, placed and placed.groups(),
            inv and inv.group(1))


mine, staff = alice.get("/orders/" + pub), ada.get("/admin/orders/" + pub)
t.ok(mine.status == 200 and staff.status == 200, "the customer's and the staff's order pages", (mine.status,
                                                                                              staff.status))
html_ok(mine, "/orders/{public_id}")
html_ok(staff, "/admin/orders/{public_id}")
vm, vs = view(mine), view(staff)
t.ok(len(vm[0]) == 2 and vm[0][0][0] == html.unescape(plan[1]) and vm[1] and "Total" in vm[1] and
     [e[0] for e in vm[2]] == ["created", "paid", "provisioning"] and vm[3] and vm[4],
     "the customer's page: two items, the totals, the timeline with times, the invoice", vm)
t.is_(vs, vm, "the staff's page shows the same items, totals, timeline, placing time and invoice")
t.ok("by cli" in staff.text and "by cli" not in mine.text, "and who moved it only to staff")

s.check_sanitizers(t)
s.stop()
t.done()
