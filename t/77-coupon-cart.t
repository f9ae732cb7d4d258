#!/usr/bin/env python3
"""Coupons on the cart, staff's coupons, release and the expiry of unpaid
orders (issue 11), through nginx with the work daemon:

- The cart's coupon form: a good code shows its discount and the new
  total; each refusal says why (unknown, not started, expired, used up,
  not for these plans, minimum not reached, first order only) with
  nothing stored; a hostile code is a 400 with the form kept; remove.
- The anonymous cart's code comes through the sign-in merge (unless the
  customer's cart has one); checkout charges the discounted total and
  writes the redemption; a coupon that went bad between the cart and the
  pay button is refused with its reason and nothing is written.
- /admin/coupons (plans.write; 403 without): create, edit, activate,
  deactivate, each audited; hostile fields are 400s that write nothing;
  the list's figures count unreleased uses and the discount given.
- coupon_release: a cancelled pending order (staff cancel, or `cron
  orders` after orders.expire_minutes on the test clock) gives its use
  back and its stock; the expiry is idempotent and two runs at once
  cancel each order once."""
import base64
import hashlib
import hmac
import os
import re
import struct
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
sql = s.sql
PW = "correct horse battery staple"
PW_A, PW_B, PW_C = "tangerine orbit lamp 41", "quiet harbor violin 77", "amber falcon river 19"


def loc(r):
    return r.header("location") or ""


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def tc(*args, check=True):
    return s.cli("test-commerce", *[str(a) for a in args], check=check)


def totp(secret, step):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


def staff(addr, role):
    s.cli("user", "add", "--role", role, addr, input=PW + "\n")
    b = Browser(s)
    s.next_step(30, 5)
    b.form("/admin/login", "/admin/login", {"email": addr, "password": PW})
    r = b.get("/admin/2fa/setup")
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', r.text).group(1)
    b.post("/admin/2fa/setup", {"code": totp(secret, int(s.now() // 30) - 1), "csrf": csrf_of(r.text)})
    b.secret = secret
    return b


def reauth(b, nxt):
    """Password and a code of a step not used yet (the clock moves on one
    step, so the enrolment's code is never replayed)."""
    s.advance(30)
    return b.form("/admin/reauth?next=" + nxt, "/admin/reauth",
                  {"password": PW, "code": totp(b.secret, int(s.now() // 30)), "next": nxt})


def register(b, addr, name, pw):
    r = b.form("/register", "/register", {"email": addr, "name": name, "password": pw, "terms": "1"})
    assert r.status == 200, r.text[:300]
    return sql("SELECT id FROM customers WHERE email = ?", (addr,))[0][0]


def login(b, addr, pw):
    r = b.form("/login", "/login", {"email": addr, "password": pw})
    assert r.status == 303, (r.status, r.text[:300])


def coupon(code, **kw):
    kw.setdefault("kind", "percent")
    if kw["kind"] == "percent":
        kw.setdefault("percent", 10)
    cols = ["code"] + list(kw)
    sql("INSERT INTO coupons (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
        [code] + list(kw.values()))
    return sql("SELECT id FROM coupons WHERE code = ?", (code,))[0][0]


def cart_code(cid):
    r = sql("SELECT coupon_code FROM carts WHERE customer_id = ?", (cid,))
    return r[0][0] if r else None


def apply(b, code):
    return b.form("/cart", "/cart/coupon", {"code": code})


def count(q, args=()):
    return sql(q, args)[0][0]


plans = sql("SELECT id, slug, name, price_minor, category_id FROM plans WHERE active = 1 AND stock IS NULL "
            "AND price_minor >= 200 ORDER BY id LIMIT 2")
(p1, slug1, name1, price1, cat1), (p2, slug2, name2, price2, cat2) = plans
now = int(s.now())

# -- the cart's coupon form, anonymous --
anon = Browser(s)
r = anon.form("/cart/add?plan=" + slug1, "/cart/add", {"plan": slug1, "qty": "2"})
t.ok(r.status == 303, "an anonymous visitor fills a cart", r.status)
r = anon.get("/cart")
t.ok('action="/cart/coupon"' in r.text and 'for="coupon-code"' in r.text, "the cart has a labelled coupon form")
t.ok('id="tax-note"' not in r.text, "no tax set: the cart says nothing of tax")
sql("INSERT INTO settings (key, value) VALUES ('tax.rate_bp', '1950'), ('tax.inclusive', '0')")
t.ok('id="tax-note"' in anon.get("/cart").text and "19.5 % is added at checkout" in anon.get("/cart").text,
     "tax added on top: the cart says so before checkout")
sql("UPDATE settings SET value = '1' WHERE key = 'tax.inclusive'")
t.ok('id="tax-note"' not in anon.get("/cart").text, "prices that include the tax: no note")
sql("DELETE FROM settings WHERE key IN ('tax.rate_bp', 'tax.inclusive')")
coupon("PCT10", percent=10)
r = apply(anon, "pct10")
t.ok(r.status == 303 and loc(r) == "/cart?done=coupon", "a good code (any case) is applied", (r.status, loc(r)))
r = anon.get("/cart?done=coupon")
disc = (2 * price1 * 10 + 50) // 100
html_ok(r, "/cart with a coupon")
t.ok('id="coupon-applied"' in r.text and "PCT10" in r.text and "Remove coupon PCT10" in r.text
     and "Coupon applied." in r.text, "the cart shows the coupon as stored, its discount and a remove button")
t.ok(("$%d.%02d" % divmod(2 * price1 - disc, 100)) in r.text, "and the new total (lines less the discount)",
     ("$%d.%02d" % divmod(2 * price1 - disc, 100)))
t.is_(count("SELECT count(*) FROM carts WHERE coupon_code = 'PCT10' AND customer_id IS NULL"), 1,
      "the anonymous cart keeps the code")

# Each refusal: its reason, nothing stored (the cart keeps PCT10).
coupon("LATER", starts_at=now + 86400)
coupon("GONE", ends_at=now - 1, starts_at=now - 86400)
coupon("ONCE", max_uses=1)
coupon("OTHERPLAN", scope="plan", plan_id=p2)
coupon("BIGONLY", min_order_minor=100 * price1)
coupon("OFF", active=0)
refusals = [("NOSUCHCODE", "not valid"), ("LATER", "cannot be used yet"), ("GONE", "has expired"),
            ("OTHERPLAN", "does not apply to anything in your cart"), ("BIGONLY", "below this coupon"),
            ("OFF", "not valid")]
for code, why in refusals:
    r = apply(anon, code)
    t.ok(r.status == 409 and why in r.text and 'value="%s"' % code in r.text and 'aria-invalid="true"' in r.text,
         "%s: 409 with the reason, the code kept in the form" % code, (r.status, r.text[:200] if r.status != 409 else ""))
t.is_(count("SELECT count(*) FROM carts WHERE coupon_code = 'PCT10'"), 1, "no refusal changed the cart's coupon")
for bad in ("<script>", "ab", "x" * 33, "a b c", "code;DROP", "\u00e9t\u00e9t\u00e9"):
    r = apply(anon, bad)
    t.ok(r.status == 400 and "3 to 32 letters" in r.text and "<script>" not in r.text,
         "a hostile code %r: 400, escaped, nothing written" % bad[:10], r.status)
t.is_(count("SELECT count(*) FROM carts WHERE coupon_code = 'PCT10'"), 1, "still PCT10")

# -- sign-in: the anonymous cart's code comes along --
aid = register(anon, "alice@example.com", "Alice", PW_A)
login(anon, "alice@example.com", PW_A)
t.is_(cart_code(aid), "PCT10", "the anonymous cart's coupon came through the sign-in merge")
# Bob's own cart has a code: his wins over the anonymous one's.
bob = Browser(s)
bid = register(bob, "bob@example.com", "Bob", PW_B)
login(bob, "bob@example.com", PW_B)
bob.form("/cart/add?plan=" + slug1, "/cart/add", {"plan": slug1})
coupon("BOBS", percent=5)
t.is_(apply(bob, "BOBS").status, 303, "a signed-in customer applies a code")
bob2 = Browser(s)
bob2.form("/cart/add?plan=" + slug2, "/cart/add", {"plan": slug2})
apply(bob2, "PCT10")
login(bob2, "bob@example.com", PW_B)
t.is_(cart_code(bid), "BOBS", "a customer's own coupon is kept over the anonymous cart's")

# -- checkout with the cart's coupon --
tc("wallet", aid, 100 * price1, "topup", "fund-a")
r = anon.get("/checkout")
html_ok(r, "/checkout with a coupon")
pay = "$%d.%02d" % divmod(2 * price1 - disc, 100)
t.ok(r.status == 200 and 'id="coupon-applied"' in r.text and ("Pay %s from my wallet" % pay) in r.text,
     "checkout shows the discount and pays the discounted total", pay)
idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text).group(1)
r = anon.post("/checkout", {"csrf": csrf_of(r.text), "idem": idem})
t.ok(r.status == 303 and "?ok=paid" in loc(r), "checkout pays", (r.status, loc(r)))
row = sql("SELECT id, subtotal_minor, discount_minor, total_minor FROM orders WHERE idempotency_key = ?", (idem,))
t.ok(row and row[0][2] == disc and row[0][3] == 2 * price1 - disc, "the order keeps the coupon's discount", row)
t.is_(sql("SELECT c.code, r.discount_minor FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id "
          "WHERE r.order_id = ?", (row[0][0],)), [("PCT10", disc)], "with its redemption row")

# -- a coupon that goes bad between the cart and the pay button --
def refused_at_checkout(b, cid, code, spoil, why, name):
    b.form("/cart/add?plan=" + slug1, "/cart/add", {"plan": slug1})
    r = apply(b, code)
    assert r.status == 303, (r.status, r.text[:400])
    page = b.get("/checkout")
    idem = re.search(r'name="idem" value="([0-9a-f]{32})"', page.text).group(1)
    spoil()
    before = (count("SELECT count(*) FROM orders"), count("SELECT count(*) FROM coupon_redemptions"),
              tc("balance", cid).stdout, count("SELECT count(*) FROM invoices"))
    r = b.post("/checkout", {"csrf": csrf_of(page.text), "idem": idem})
    after = (count("SELECT count(*) FROM orders"), count("SELECT count(*) FROM coupon_redemptions"),
             tc("balance", cid).stdout, count("SELECT count(*) FROM invoices"))
    t.ok(r.status == 409 and why in r.text and "Nothing was charged" in r.text, name + ": 409 with the reason",
         (r.status, r.text[:300]))
    t.is_(after, before, name + ": nothing written (orders, redemptions, wallet, invoices)")
    r = b.get("/checkout")
    t.ok('id="coupon-bad"' in r.text and 'action="/checkout"' not in r.text and "Remove coupon" in r.text,
         name + ": the checkout page says why and offers removal, not the pay button")
    return r


coupon("SOON-OFF", percent=20)
r = refused_at_checkout(anon, aid, "SOON-OFF", lambda: sql("UPDATE coupons SET active = 0 WHERE code = 'SOON-OFF'"),
                        "not valid", "deactivated by staff meanwhile")
html_ok(r, "/checkout with a coupon gone bad")
r = anon.form("/checkout", "/cart/coupon/remove", {"next": "checkout"})
t.ok(r.status == 303 and loc(r) == "/checkout" and cart_code(aid) is None, "remove from checkout: back to checkout",
     (r.status, loc(r)))
anon.form("/cart", "/cart/remove", {"plan": slug1})
carol = Browser(s)
cid_c = register(carol, "carol@example.com", "Carol", PW_C)
login(carol, "carol@example.com", PW_C)
tc("wallet", cid_c, 100 * price1, "topup", "fund-c")
tc("wallet", bid, 100 * price1, "topup", "fund-b")
refused_at_checkout(carol, cid_c, "ONCE", lambda: tc("checkout", bid, p1, 1, "bob-once", "coupon=ONCE"),
                    "used up", "used up by another customer meanwhile")
# First order only, judged with the customer known: Alice has ordered.
coupon("FIRSTONLY", first_order_only=1)
anon.form("/cart/add?plan=" + slug1, "/cart/add", {"plan": slug1})
r = apply(anon, "FIRSTONLY")
t.ok(r.status == 409 and "first order only" in r.text, "first order only: refused for a customer who has ordered",
     r.status)
r = apply(carol, "FIRSTONLY")
t.is_(r.status, 303, "and applied for one who has not")
r = carol.form("/cart", "/cart/coupon/remove", {})
t.ok(r.status == 303 and loc(r) == "/cart" and cart_code(cid_c) is None, "remove from the cart")

# -- staff's coupons --
ada = staff("ada@example.com", "super_admin")
sam = staff("sam@example.com", "support")
t.is_(sam.get("/admin/coupons").status, 403, "a role without plans.write: 403 on the list")
t.is_(sam.form("/admin", "/admin/coupons/new", {"code": "SAMS", "kind": "percent", "percent": "5",
                                                 "scope": "global"}).status, 403, "and on create")
r = ada.get("/admin")
t.ok('href="/admin/coupons"' in r.text, "the dashboard links the coupons")
r = ada.get("/admin/coupons")
html_ok(r, "/admin/coupons")
m = re.search(r'data-code="PCT10">.*?class="num uses">([^<]*)<.*?class="num given">([^<]*)<', r.text, re.S)
t.ok(r.status == 200 and m and m.group(1) == "1" and m.group(2) == "$%d.%02d" % divmod(disc, 100),
     "the list shows PCT10's uses and the discount it gave", m.groups() if m else r.text[:300])
m = re.search(r'data-code="ONCE">.*?class="num uses">([^<]*)<', r.text, re.S)
t.ok(m and m.group(1) == "1 / 1", "and ONCE's uses against its maximum", m.group(1) if m else None)
r = ada.get("/admin/coupons/new")
t.ok(r.status == 200 and 'action="/admin/coupons/new"' in r.text, "the new-coupon form", r.status)
html_ok(r, "/admin/coupons/new")
good = {"code": "SPRING-25", "kind": "fixed", "amount": "2.50", "percent": "", "scope": "plan", "plan": str(p2),
        "category": "", "starts": "2026-03-01", "ends": "2026-03-31", "max_uses": "100",
        "max_per_customer": "2", "min_order": "5", "first_order": "1", "note": "spring"}
hostile = [("code", "<b>x</b>"), ("code", "PCT10"), ("kind", "gift"), ("amount", "-1"), ("amount", "1.234"),
           ("amount", "0"), ("scope", "everything"), ("plan", "999999"), ("plan", "1 OR 1=1"),
           ("starts", "2026-02-30"), ("ends", "2026-02-01"), ("max_uses", "0"), ("max_uses", "1e3"),
           ("max_per_customer", "-2"), ("min_order", "abc"), ("note", "two\nlines")]
n0 = count("SELECT count(*) FROM coupons")
a0 = count("SELECT count(*) FROM audit_log WHERE action LIKE 'coupon.%'")
for field, val in hostile:
    f = dict(good)
    f[field] = val
    r = ada.form("/admin/coupons/new", "/admin/coupons/new", f)
    want = 409 if (field, val) == ("code", "PCT10") else 400
    kept = 'value="%s"' % (good["note"] if field != "note" else good["code"])
    t.ok(r.status == want and kept in r.text and "<b>x</b>" not in r.text,
         "create with %s=%r: %d, the form kept" % (field, val, want), r.status)
f = dict(good, kind="percent", percent="101")
t.is_(ada.form("/admin/coupons/new", "/admin/coupons/new", f).status, 400, "a percent of 101: 400")
t.is_((count("SELECT count(*) FROM coupons"), count("SELECT count(*) FROM audit_log WHERE action LIKE 'coupon.%'")),
      (n0, a0), "no hostile form wrote a coupon or an audit row")
r = ada.form("/admin/coupons/new", "/admin/coupons/new", good)
t.ok(r.status == 303 and loc(r) == "/admin/coupons?done=created", "a good form creates the coupon", (r.status, r.text[:300]))
row = sql("SELECT id, kind, amount_minor, currency, scope, plan_id, starts_at, ends_at, max_uses, "
          "max_uses_per_customer, min_order_minor, first_order_only, active, note FROM coupons WHERE code = 'SPRING-25'")
sid = row[0][0] if row else 0
t.is_(row[0][1:] if row else None, ("fixed", 250, "USD", "plan", p2, 1772323200, 1772323200 + 31 * 86400, 100, 2, 500,
                                    1, 1, "spring"), "every field stored (the last day counts whole)")
t.is_(count("SELECT count(*) FROM audit_log WHERE action = 'coupon.created' AND target = ?", ("coupon:%d" % sid,)), 1,
      "one audit row for the creation")
r = ada.get("/admin/coupons/%d" % sid)
t.is_(r.status, 200, "the edit form")
html_ok(r, "/admin/coupons/{id}")
t.ok('value="SPRING-25"' in r.text and 'value="2.50"' in r.text and 'value="2026-03-31"' in r.text
     and 'value="%d" selected' % p2 in r.text, "the edit form shows the stored values")
f = dict(good, kind="percent", percent="15", amount="", scope="category", plan="", category=str(cat1 or 1),
         ends="", first_order="")
del f["first_order"]
r = ada.form("/admin/coupons/%d" % sid, "/admin/coupons/%d" % sid, f)
t.ok(r.status == 303 and loc(r) == "/admin/coupons/%d?done=saved" % sid, "edit saves", (r.status, r.text[:300]))
t.is_(sql("SELECT kind, percent, amount_minor, currency, scope, plan_id, category_id, ends_at, first_order_only "
          "FROM coupons WHERE id = ?", (sid,)),
      [("percent", 15, None, None, "category", None, cat1 or 1, None, 0)], "the edit is stored")
t.ok(count("SELECT count(*) FROM audit_log WHERE action = 'coupon.changed' AND target = ? AND detail LIKE 'was %'",
           ("coupon:%d" % sid,)) == 1, "one audit row with before and after")
r = ada.form("/admin/coupons/%d" % sid, "/admin/coupons/%d" % sid, dict(f, code="pct10"))
t.is_(r.status, 409, "edit to another coupon's code (any case): 409")
t.is_(ada.get("/admin/coupons/999999").status, 404, "an unknown coupon: 404")
once = sql("SELECT id FROM coupons WHERE code = 'ONCE'")[0][0]
r = ada.form("/admin/coupons", "/admin/coupons/%d/deactivate" % once, {})
t.ok(r.status == 303 and count("SELECT active FROM coupons WHERE id = ?", (once,)) == 0,
     "deactivate a used coupon: it stays, inactive")
t.is_(count("SELECT count(*) FROM coupons WHERE id = ?", (once,)), 1, "never deleted")
r = ada.form("/admin/coupons", "/admin/coupons/%d/activate" % once, {})
t.ok(r.status == 303 and count("SELECT active FROM coupons WHERE id = ?", (once,)) == 1, "activate it again")
t.is_(count("SELECT count(*) FROM audit_log WHERE action IN ('coupon.activated', 'coupon.deactivated') AND target = ?",
            ("coupon:%d" % once,)), 2, "each audited")
r = ada.form("/admin/coupons", "/admin/coupons/%d/activate" % once, {})
t.is_(count("SELECT count(*) FROM audit_log WHERE action = 'coupon.activated' AND target = ?", ("coupon:%d" % once,)),
      1, "activating an active coupon writes nothing")

# -- release: a staff cancel gives the use back --
coupon("SOLO", max_uses=1, percent=50)
sql("UPDATE plans SET stock = 10 WHERE id = ?", (p2,))
out = tc("pending", cid_c, p2, 2, "coupon=SOLO").stdout.split()
pend_id, pend_pub = int(out[0]), out[1]
t.is_(sql("SELECT state, discount_minor FROM orders WHERE id = ?", (pend_id,)), [("pending", (2 * price2 * 50 + 50) // 100)],
      "a pending order with the coupon (test-commerce pending)")
t.is_(count("SELECT stock FROM plans WHERE id = ?", (p2,)), 8, "it took 2 of the stock")
t.is_(tc("checkout", bid, p2, 1, "bob-solo-1", "coupon=SOLO", check=False).stdout.strip(), "coupon:exhausted -",
      "SOLO is used up while the order is pending")
r = ada.form("/admin/orders/" + pend_pub, "/admin/orders/%s/cancel" % pend_pub, {})
t.is_(r.status, 303, "staff cancel the pending order")
t.ok(count("SELECT count(*) FROM coupon_redemptions WHERE order_id = ? AND released_at IS NOT NULL", (pend_id,)) == 1
     and count("SELECT stock FROM plans WHERE id = ?", (p2,)) == 10, "its coupon use is released and its stock back")
t.ok(count("SELECT count(*) FROM audit_log WHERE action = 'order.cancelled' AND target = ? AND detail LIKE "
           "'%coupon use released%'", ("order:%d" % pend_id,)) == 1, "the audit row says the coupon use came back")
t.is_(tc("checkout", bid, p2, 1, "bob-solo-2", "coupon=SOLO").stdout.split()[0], "ok",
      "the released use can be used again")
r = ada.get("/admin/coupons")
m = re.search(r'data-code="SOLO">.*?class="num uses">([^<]*)<.*?class="num released">([^<]*)<', r.text, re.S)
t.ok(m and m.groups() == ("1 / 1", "1"), "the list counts 1 use of 1 and 1 released", m.groups() if m else None)

# -- release: a refund gives the use back too --
coupon("REFUNDME", max_uses=1)
paid_pub = tc("checkout", cid_c, p1, 1, "carol-refundme", "coupon=REFUNDME").stdout.split()[1]
paid_id = count("SELECT id FROM orders WHERE public_id = ?", (paid_pub,))
t.is_(tc("checkout", bid, p1, 1, "bob-refundme-1", "coupon=REFUNDME", check=False).stdout.strip(),
      "coupon:exhausted -", "REFUNDME is used up by a paid order")
page = "/admin/orders/" + paid_pub
reauth(ada, page)
r = ada.get(page)
op = re.search(r'name="op" value="([0-9a-f]{32})"', r.text)
r = ada.post(page + "/refund", {"reason": "coupon test", "op": op.group(1) if op else "", "csrf": csrf_of(r.text)})
t.ok(r.status == 303 and count("SELECT state = 'refunded' FROM orders WHERE id = ?", (paid_id,)) == 1,
     "staff refund the paid order", (r.status, loc(r)))
t.is_(count("SELECT count(*) FROM coupon_redemptions WHERE order_id = ? AND released_at IS NOT NULL", (paid_id,)), 1,
      "the refund released its coupon use")
t.ok(count("SELECT count(*) FROM audit_log WHERE action = 'order.refunded' AND target = ? AND detail LIKE "
           "'%coupon use released%'", ("order:%d" % paid_id,)) == 1, "and its audit row says so")
t.is_(tc("checkout", bid, p1, 1, "bob-refundme-2", "coupon=REFUNDME").stdout.split()[0], "ok",
      "the use can be taken again")

# -- cron orders: the expiry of unpaid orders, on the test clock --
def cron():
    p = subprocess.run([BIN, "-c", s.conf, "cron", "orders"], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


coupon("EXP", max_uses=5)
sql("UPDATE plans SET stock = 20 WHERE id = ?", (p2,))
pend = [tc("pending", cid_c, p2, 1, "coupon=EXP").stdout.split() for _ in range(3)]
paid = tc("checkout", cid_c, p2, 1, "carol-paid").stdout.split()
t.is_(count("SELECT stock FROM plans WHERE id = ?", (p2,)), 16, "three pending orders and a paid one took 4")
rc, out, err = cron()
t.ok(rc == 0 and out.startswith("orders: 0 unpaid orders older than 60 minutes cancelled"),
     "cron orders right away: nothing is old enough (default 60 minutes)", (rc, out, err))
s.advance(59 * 60)
t.ok(cron()[1].startswith("orders: 0 "), "59 minutes later: still nothing")
sql("INSERT INTO settings (key, value) VALUES ('orders.expire_minutes', '30') "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
# Two runs at once: every order is cancelled once.
procs = [subprocess.Popen([BIN, "-c", s.conf, "cron", "orders"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) for _ in range(2)]
outs = [p.communicate(timeout=120) for p in procs]
t.ok(all(p.returncode == 0 for p in procs), "two cron orders at once both succeed", outs)
got = sorted(int(re.match(r"orders: (\d+)", o).group(1)) for o, _ in outs)
t.ok(sum(got) == 3, "together they cancel the 3 pending orders (the setting says 30 minutes)", outs)
ids = [int(x[0]) for x in pend]
t.is_(sql("SELECT DISTINCT state FROM orders WHERE id IN (?, ?, ?)", ids), [("cancelled",)], "all three cancelled")
t.is_(sql("SELECT state FROM orders WHERE public_id = ?", (paid[1],)), [("paid",)], "the paid order is left alone")
t.is_(count("SELECT count(*) FROM order_events WHERE kind = 'cancelled' AND actor = 'system' AND order_id IN (?, ?, ?)",
            ids), 3, "one cancelled event each, by system")
t.is_(count("SELECT count(*) FROM audit_log WHERE action = 'order.expired' AND actor_kind = 'system'"), 3,
      "one audit row each, by system")
t.is_(count("SELECT stock FROM plans WHERE id = ?", (p2,)), 19, "their stock is back once (16 + 3)")
t.is_(count("SELECT count(*) FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id "
            "WHERE c.code = 'EXP' AND r.released_at IS NOT NULL"), 3, "and their coupon uses released")
rc, out, err = cron()
t.ok(rc == 0 and out.startswith("orders: 0 "), "a second run changes nothing", out)
t.is_(count("SELECT stock FROM plans WHERE id = ?", (p2,)), 19, "the stock is not given back twice")
sql("UPDATE settings SET value = 'soon' WHERE key = 'orders.expire_minutes'")
rc, out, err = cron()
t.ok(rc == 0 and "not 0..527040" in err, "a bad setting falls back to 60 minutes with a warning", err)
sql("UPDATE settings SET value = '0' WHERE key = 'orders.expire_minutes'")
tc("pending", cid_c, p2, 1)
s.advance(7 * 86400)
rc, out, err = cron()
t.ok(rc == 0 and "expiry off" in out and count("SELECT count(*) FROM orders WHERE state = 'pending'") == 1,
     "orders.expire_minutes = 0 turns the expiry off", out)

s.check_sanitizers(t)
t.done()
