#!/usr/bin/env python3
"""The staff's catalogue panels (issue 11, admin_catalog.c) through nginx:
/admin/plans, /admin/categories and /admin/brands behind plans.write (403
for a role without it, the staff sign-in for anyone else); list, create,
edit, activate, deactivate, move up and down, delete.  Every field goes
through the shared validators: a hostile value is a 400 that keeps the
form and writes nothing, a slug in use a 409.  A plan in another currency
than the shop's is refused.  A plan with orders is never deleted; a
category or brand in use cannot be.  Every change writes one audit row
with the changed fields before and after, and moves the catalog version
in the same transaction, so the public pages, cached before, show it on
the next request.  One worker, so every request meets the same cache."""
import html
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack, wait_for  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import Browser, csrf_of  # noqa: E402

t = TAP()
s = Stack(workers=1).start()
sql = s.sql
GIB = 1073741824


def html_ok(r, name):
    good, errs = s.html_ok(r.body)
    t.ok(good, name + " is well-formed HTML", errs)


def cache_state(r):
    return s.cache_verdict(r)


def one(q, args=()):
    return sql(q, args)[0][0]


def version():
    return one("SELECT version FROM catalog_version")


def audits(action):
    return sql("SELECT target, detail FROM audit_log WHERE action = ? ORDER BY id", (action,))


def state():
    """What a refused request must leave alone."""
    return (sql("SELECT * FROM plans ORDER BY id"), sql("SELECT * FROM server_categories ORDER BY id"),
            sql("SELECT * FROM server_brands ORDER BY id"), one("SELECT count(*) FROM audit_log"), version())


def warm(path):
    """GET path anonymously until the cache answers it: (page, verdict)."""
    s.get(path)
    r = s.get(path)
    return r, cache_state(r)


sql("INSERT INTO settings (key, value) VALUES ('shop.currency', 'USD')")
ada = Staff(s, "ada@example.com", "super_admin")
mgr = Staff(s, "mgr@example.com", "manager")
sam = Staff(s, "sam@example.com", "support")
CSRF = csrf_of(ada.get("/admin/plans/new").text)

# -- who may open it --
r = ada.get("/admin/plans")
html_ok(r, "/admin/plans")
t.ok(r.status == 200 and "Frankfurt VLESS Starter" in r.text and "$4.99" in r.text and "unlimited" in r.text,
     "a super admin sees the plans with their price (money_str) and stock", r.status)
t.ok('href="/admin/plans" aria-current="page">Catalog<' in r.text, "the admin nav links the catalogue, marked current")
t.ok('href="/admin/plans"' in ada.get("/admin").text, "the dashboard links it for plans.write")
t.is_(mgr.get("/admin/plans").status, 200, "a manager (plans.write) opens it too")
for path in ("/admin/plans", "/admin/plans/new", "/admin/plans/1", "/admin/categories", "/admin/categories/1",
             "/admin/brands", "/admin/brands/1"):
    t.is_(sam.get(path).status, 403, "support (no plans.write): 403 on GET " + path)
t.ok('href="/admin/plans"' not in sam.get("/admin").text, "and no link to it")
before = state()
r = sam.post("/admin/plans", {"csrf": csrf_of(sam.get("/admin").text), "slug": "sneaky"})
t.ok(r.status == 403 and state() == before, "support's POST: 403, nothing written", r.status)
r = Browser(s).get("/admin/plans")
t.ok(r.status in (302, 303) and "/admin/login" in (r.header("location") or ""),
     "anyone else is sent to the staff sign-in", (r.status, r.header("location")))

# -- create a plan; the cached catalog shows it at once --
page, verdict = warm("/plans")
t.ok(verdict == "hit" and "Budget VLESS" not in page.text, "the public catalog is cached (a hit) before", verdict)
PLAN = {"slug": "budget-vless", "name": "Budget VLESS", "description": "Line one.\r\nLine two.",
        "protocol": "vless", "server": "1", "inbound": "1", "category": "1", "brand": "1", "currency": "USD",
        "price": "0.99", "duration_days": "30", "traffic_gb": "50", "device_limit": "2", "stock": "",
        "sort": "5", "featured": "1", "active": "1"}
v0 = version()
r = ada.post("/admin/plans", dict(PLAN, csrf=CSRF))
t.ok(r.status == 303 and (r.header("location") or "").endswith("/admin/plans?done=created"),
     "POST /admin/plans creates: 303 to the list", (r.status, r.header("location"), r.text[:300]))
row = sql("SELECT id, name, description, price_minor, currency, traffic_bytes, stock, device_limit, featured, "
          "active, inbound_id, sort FROM plans WHERE slug = 'budget-vless'")
t.is_(row[0][1:] if row else None, ("Budget VLESS", "Line one.\r\nLine two.", 99, "USD", 50 * GIB, None, 2, 1, 1, 1, 5),
      "the row: price in minor units, GB stored in bytes, empty stock is unlimited (NULL)")
NEW = row[0][0]
t.ok(version() > v0, "the catalog version moved with it")
r = s.get("/plans")
t.ok(cache_state(r) == "miss" and "Budget VLESS" in r.text and "$0.99" in r.text,
     "the public catalog renders afresh and shows the new plan at once", cache_state(r))
a = audits("plan.created")
t.ok(len(a) == 1 and a[0][0] == "plan:%d" % NEW and "price: none -> $0.99" in a[0][1]
     and 'slug: none -> "budget-vless"' in a[0][1] and "traffic_bytes: none -> %d" % (50 * GIB) in a[0][1],
     "one audit row with every field after", a)

# -- the form and its refusals --
r = ada.get("/admin/plans/%d" % NEW)
html_ok(r, "/admin/plans/{id}")
t.ok(r.status == 200 and 'value="0.99"' in r.text and 'value="50"' in r.text and "Line one." in r.text,
     "the edit form shows the stored values (price in major units, traffic in GB)", r.status)
html_ok(ada.get("/admin/plans/new"), "/admin/plans/new")
t.is_(ada.get("/admin/plans/99999").status, 404, "an unknown plan: 404")

bad = [("slug", "Bad Slug", "slug"), ("slug", "x" * 65, "slug"), ("slug", "-edge", "slug"),
       ("name", "", "name"), ("name", "tab\there", "name"), ("name", "n" * 121, "name"),
       ("description", "d" * 2001, "description"), ("description", "bidi \u202e", None),
       ("protocol", "http", "protocol"), ("server", "999", "server"), ("server", "one", "server"),
       ("inbound", "5", "another server"), ("inbound", "2", "another protocol"), ("inbound", "999", "inbound"),
       ("category", "999", "categor"), ("brand", "-1", "brand"),
       ("currency", "EUR", "The shop sells in USD"), ("currency", "ZZZ", "The shop sells in USD"),
       ("price", "1e3", "Price"), ("price", "-5", "Price"), ("price", "4.999", "Price"), ("price", "", "Price"),
       ("price", "99999999999999999", "Price"),
       ("duration_days", "0", "duration"), ("duration_days", "3661", "duration"),
       ("traffic_gb", "-1", "traffic"), ("traffic_gb", "1.5", "traffic"),
       ("device_limit", "101", "device limit"), ("stock", "-1", "stock"), ("stock", "many", "stock"),
       ("sort", "1.5", "sort number")]
before = state()
for field, value, why in bad:
    f = dict(PLAN, slug="hostile-one", csrf=CSRF)
    f[field] = value
    r = ada.post("/admin/plans", f)
    text = html.unescape(r.text)
    kept = why is None or (('value="hostile-one"' in r.text or field == "slug") and
                           (field in ("protocol", "server", "inbound", "category", "brand")
                            or html.escape(value, quote=True) in r.text))
    t.ok(r.status == 400 and (why is None or why.lower() in text.lower()) and kept,
         "%s = %r: 400 with the form kept%s" % (field, value[:20], "" if why is None else " (" + why + ")"),
         (r.status, re.findall(r'role="alert">([^<]*)', r.text)))
r = ada.post("/admin/plans", dict(PLAN, slug="hostile-two", csrf=CSRF, price_minor="1"))
t.is_(r.status, 400, "a field the form does not declare: 400")
t.ok(state() == before, "none of them wrote anything (plans, audit log, catalog version)")

r = ada.post("/admin/plans", dict(PLAN, slug="fra-vless-starter", csrf=CSRF))
t.ok(r.status == 409 and "Another plan has the slug" in html.unescape(r.text) and 'value="Budget VLESS"' in r.text,
     "a slug in use: 409, a clear message, the form kept", r.status)
r = ada.post("/admin/plans/%d" % NEW, dict(PLAN, slug="fra-vless-pro", csrf=CSRF))
t.is_(r.status, 409, "editing to another plan's slug: 409")
t.ok(state() == before, "and nothing written")

# -- edit: one audit row with what changed; the cached plan page refreshes --
starter = one("SELECT id FROM plans WHERE slug = 'fra-vless-starter'")
page, verdict = warm("/plans/fra-vless-starter")
t.ok(verdict == "hit" and "$4.99" in page.text, "the plan's public page is cached at $4.99", verdict)


def form_of(pid):
    """The edit form of plan pid as a browser would send it back."""
    form = ada.get("/admin/plans/%d" % pid).text
    f = {k: html.unescape(v) for k, v in re.findall(r'<input type="text" name="([a-z_]+)" value="([^"]*)"', form)}
    f.update({k: v for k, v in re.findall(r'<select name="([a-z]+)">.*?<option value="([^"]*)" selected>', form)})
    f["description"] = html.unescape(re.search(r'<textarea name="description"[^>]*>(.*?)</textarea>', form,
                                               re.S).group(1))
    for box in ("featured", "active"):
        if re.search(r'name="%s" value="1" checked' % box, form):
            f[box] = "1"
    f["csrf"] = CSRF
    return f


cur = form_of(starter)
t.ok(cur.get("price") == "4.99" and cur.get("server") == "1" and cur.get("inbound") == "1",
     "the edit form preselects the plan's server and inbound", cur)
r = ada.post("/admin/plans/%d" % starter, cur)
t.ok(r.status == 303 and (r.header("location") or "").endswith("done=unchanged") and not audits("plan.updated"),
     "saving an unchanged form writes nothing and no audit row", (r.status, r.header("location")))
v0 = version()
r = ada.post("/admin/plans/%d" % starter, dict(cur, price="5.49", stock="7"))
t.ok(r.status == 303 and (r.header("location") or "").endswith("done=saved"), "an edit saves: 303", r.status)
t.is_(sql("SELECT price_minor, stock FROM plans WHERE id = ?", (starter,)), [(549, 7)], "price and stock changed")
a = audits("plan.updated")
t.ok(len(a) == 1 and a[0][1] == "price: $4.99 -> $5.49; stock: unlimited -> 7",
     "one audit row naming only the changed fields, before and after", a)
t.ok(version() > v0, "the catalog version moved")
r = s.get("/plans/fra-vless-starter")
t.ok(cache_state(r) == "miss" and "$5.49" in r.text and "$4.99" not in r.text,
     "the public plan page shows the new price on the next request", cache_state(r))

# -- a plan priced in another currency; traffic that is not a whole GB --
pro = one("SELECT id FROM plans WHERE slug = 'fra-vless-pro'")
sql("UPDATE plans SET currency = 'EUR' WHERE id = ?", (pro,))
row = re.search(r'<tr id="plan-%d".*?</tr>' % pro, ada.get("/admin/plans").text, re.S).group(0)
t.ok("€9.99" in row and "not the shop's currency" in row, "the list flags a plan not in the shop's currency", row)
f = form_of(pro)
t.ok(f.get("currency") == "EUR", "its form shows its currency", f.get("currency"))
before = state()
r = ada.post("/admin/plans/%d" % pro, f)
t.ok(r.status == 400 and "The shop sells in USD" in html.unescape(r.text) and state() == before,
     "saving it in EUR is refused: 400, nothing written", r.status)
r = ada.post("/admin/plans/%d" % pro, dict(f, currency="USD"))
t.ok(r.status == 303 and sql("SELECT price_minor, currency FROM plans WHERE id = ?", (pro,)) == [(999, "USD")],
     "in the shop's currency it saves", r.status)
t.ok(audits("plan.updated")[-1][1] == "price: €9.99 -> $9.99", "audited: the price before and after",
     audits("plan.updated")[-1])
sql("UPDATE plans SET traffic_bytes = ? WHERE id = ?", (5 * GIB + 12345, pro))
f = form_of(pro)
t.is_(f.get("traffic_gb"), "5", "traffic of 5 GB and a little shows as 5")
n = len(audits("plan.updated"))
r = ada.post("/admin/plans/%d" % pro, f)
t.ok(r.status == 303 and one("SELECT traffic_bytes FROM plans WHERE id = ?", (pro,)) == 5 * GIB + 12345
     and len(audits("plan.updated")) == n, "left alone, it keeps its exact bytes (nothing written)", r.status)
r = ada.post("/admin/plans/%d" % pro, dict(f, traffic_gb="6"))
t.is_(one("SELECT traffic_bytes FROM plans WHERE id = ?", (pro,)), 6 * GIB, "changed, it is whole GB")

# -- deactivate, activate --
r = ada.post("/admin/plans/%d/deactivate" % starter, {"csrf": CSRF})
t.ok(r.status == 303 and one("SELECT active FROM plans WHERE id = ?", (starter,)) == 0, "deactivate: 303, inactive")
t.is_(s.get("/plans/fra-vless-starter").status, 404, "its public page is gone at once")
t.ok("Frankfurt VLESS Starter" in ada.get("/admin/plans").text, "staff still list it")
r = ada.post("/admin/plans/%d/deactivate" % starter, {"csrf": CSRF})
t.is_(len(audits("plan.deactivated")), 1, "deactivating twice writes one audit row")
t.ok(audits("plan.deactivated")[0][1].endswith("active: 1 -> 0"), "before and after", audits("plan.deactivated"))
r = ada.post("/admin/plans/%d/activate" % starter, {"csrf": CSRF})
t.ok(r.status == 303 and s.get("/plans/fra-vless-starter").status == 200 and len(audits("plan.activated")) == 1,
     "activate: on sale again, audited")

# -- a plan with orders is never deleted --
sql("INSERT INTO customers (id, email, password_hash) VALUES (1, 'ann@example.com', 'x')")
sql("INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency) "
    "VALUES ('o-ann-0000000001', 1, 'paid', 549, 549, 'USD')")
sql("INSERT INTO order_items (order_id, plan_id, quantity, unit_price_minor, currency) "
    "SELECT id, ?, 1, 549, 'USD' FROM orders", (starter,))
r = ada.get("/admin/plans")
row = re.search(r'<tr id="plan-%d".*?</tr>' % starter, r.text, re.S).group(0)
t.ok('<td class="num">1</td>' in row and "/delete" not in row and "/deactivate" in row,
     "the list counts its order and offers deactivate, not delete", row)
before = state()
r = ada.post("/admin/plans/%d/delete" % starter, {"csrf": CSRF})
t.ok(r.status == 409 and "never deleted" in html.unescape(r.text) and "1 order" in html.unescape(r.text)
     and state() == before, "delete of a plan with orders: 409, a clear message, nothing written", r.status)

# -- a plan a coupon names cannot be deleted either; a free one can --
sql("INSERT INTO coupons (code, kind, percent, scope, plan_id) VALUES ('BUDGET10', 'percent', 10, 'plan', ?)", (NEW,))
r = ada.post("/admin/plans/%d/delete" % NEW, {"csrf": CSRF})
t.ok(r.status == 409 and "1 coupon" in html.unescape(r.text) and state() == before,
     "a plan a coupon names: 409, nothing written", r.status)
sql("DELETE FROM coupons WHERE code = 'BUDGET10'")
page, verdict = warm("/plans")
v0 = version()
r = ada.post("/admin/plans/%d/delete" % NEW, {"csrf": CSRF})
t.ok(r.status == 303 and not sql("SELECT id FROM plans WHERE id = ?", (NEW,)) and version() > v0,
     "a plan nothing names is deleted (and the catalog version moves)", r.status)
t.ok(len(audits("plan.deleted")) == 1 and '"budget-vless"' in audits("plan.deleted")[0][1],
     "one audit row saying what it was", audits("plan.deleted"))
r = s.get("/plans")
t.ok("Budget VLESS" not in r.text and cache_state(r) == "miss", "the public catalog drops it at once")


# -- sort: the number, and up and down --
def plan_order():
    return [x[0] for x in sql("SELECT slug FROM plans ORDER BY sort, name, id")]


o = plan_order()
r = ada.post("/admin/plans/%d/move" % one("SELECT id FROM plans WHERE slug = ?", (o[1],)),
             {"csrf": CSRF, "direction": "up"})
t.ok(r.status == 303 and plan_order()[:2] == [o[1], o[0]], "move up swaps a plan with the one above",
     plan_order()[:3])
t.is_([x[0] for x in sql("SELECT sort FROM plans ORDER BY sort, name, id")],
      [10 * (i + 1) for i in range(len(o))], "the list is renumbered 10, 20, ... (equal numbers cannot swap)")
t.ok(len(audits("plan.moved")) == 1 and "moved up: sort:" in audits("plan.moved")[0][1]
     and audits("plan.moved")[0][1].split("->")[1].strip().startswith("10"), "one audit row", audits("plan.moved"))
first = one("SELECT id FROM plans WHERE slug = ?", (plan_order()[0],))
before = state()
r = ada.post("/admin/plans/%d/move" % first, {"csrf": CSRF, "direction": "up"})
t.ok(r.status == 303 and state() == before, "moving the first one up changes nothing", r.status)
last = one("SELECT id FROM plans WHERE slug = ?", (plan_order()[-1],))
r = ada.post("/admin/plans/%d/move" % last, {"csrf": CSRF, "direction": "down"})
t.ok(r.status == 303 and state() == before, "nor the last one down")
r = ada.post("/admin/plans/%d/move" % first, {"csrf": CSRF, "direction": "sideways"})
t.ok(r.status == 400 and state() == before, "a direction but up or down: 400", r.status)
r = ada.post("/admin/plans/%d/move" % first, {"csrf": CSRF, "direction": "down"})
t.is_(plan_order()[1], o[1], "move down puts it back below")

# -- categories --
r = ada.get("/admin/categories")
html_ok(r, "/admin/categories")
t.ok(r.status == 200 and "Streaming" in r.text and 'aria-current="page">Categories<' in r.text,
     "the categories list", r.status)
page, verdict = warm("/plans")
t.ok(verdict == "hit" and 'value="business"' not in page.text, "the catalog is cached without a Business filter", verdict)
CAT = {"slug": "business", "name": "Business", "description": "Office\nroutes", "sort": "40", "active": "1"}
r = ada.post("/admin/categories", dict(CAT, csrf=CSRF))
t.ok(r.status == 303 and (r.header("location") or "").endswith("/admin/categories?done=created"),
     "create a category: 303", (r.status, r.text[:300]))
cat = sql("SELECT id, name, description, sort, active FROM server_categories WHERE slug = 'business'")
t.is_(cat[0][1:] if cat else None, ("Business", "Office\nroutes", 40, 1), "the row")
CATID = cat[0][0]
r = s.get("/plans")
t.ok('value="business"' in r.text and cache_state(r) == "miss", "the catalog's category filter shows it at once")
t.ok(len(audits("category.created")) == 1 and audits("category.created")[0][0] == "category:%d" % CATID,
     "audited", audits("category.created"))
before = state()
for field, value in (("slug", "Business Class"), ("name", ""), ("name", "a\tb"), ("description", "x" * 501),
                     ("sort", "ten"), ("sort", "10000000")):
    f = dict(CAT, csrf=CSRF, slug="other-cat")
    f[field] = value
    r = ada.post("/admin/categories", f)
    t.ok(r.status == 400 and ('value="other-cat"' in r.text or field == "slug"), "category %s = %r: 400, form kept" % (field, value[:12]),
         r.status)
r = ada.post("/admin/categories", dict(CAT, csrf=CSRF))
t.ok(r.status == 409 and "Another category has the slug" in html.unescape(r.text), "duplicate slug: 409", r.status)
t.ok(state() == before, "none of them wrote anything")
html_ok(ada.get("/admin/categories/%d" % CATID), "/admin/categories/{id}")
r = ada.post("/admin/categories/%d" % CATID, dict(CAT, csrf=CSRF, name="Business class"))
t.ok(r.status == 303 and one("SELECT name FROM server_categories WHERE id = ?", (CATID,)) == "Business class"
     and audits("category.updated")[0][1] == 'name: "Business" -> "Business class"', "edit a category, audited",
     audits("category.updated"))
r = ada.post("/admin/categories/1/delete", {"csrf": CSRF})
text = html.unescape(r.text)
t.ok(r.status == 409 and "in use by 4 plans, 1 server" in text and "cannot be deleted" in text,
     "a category in use by plans cannot be deleted: 409 with a clear message", (r.status, re.findall(r'role="alert">([^<]*)', r.text)))
t.ok(one("SELECT count(*) FROM server_categories WHERE id = 1") == 1, "it is still there")
r = ada.post("/admin/categories/2/deactivate", {"csrf": CSRF})
t.ok(r.status == 303 and 'value="gaming"' not in s.get("/plans").text, "a deactivated category leaves the catalog's filter")
t.ok(audits("category.deactivated")[0][1].endswith("active: 1 -> 0"), "audited with before and after")
ada.post("/admin/categories/2/activate", {"csrf": CSRF})
t.ok('value="gaming"' in s.get("/plans").text, "and comes back when activated")
r = ada.post("/admin/categories/%d/move" % CATID, {"csrf": CSRF, "direction": "up"})
t.is_([x[0] for x in sql("SELECT slug FROM server_categories ORDER BY sort, name, id")],
      ["streaming", "gaming", "business", "privacy"], "move up a category")
r = ada.post("/admin/categories/%d/delete" % CATID, {"csrf": CSRF})
t.ok(r.status == 303 and not sql("SELECT id FROM server_categories WHERE id = ?", (CATID,))
     and len(audits("category.deleted")) == 1, "an unused category is deleted, audited", r.status)
t.is_(ada.post("/admin/categories/%d/delete" % CATID, {"csrf": CSRF}).status, 404, "twice: 404")

# -- brands --
r = ada.get("/admin/brands")
html_ok(r, "/admin/brands")
t.ok(r.status == 200 and "Swift" in r.text and "Atlas" in r.text, "the brands list", r.status)
r = ada.post("/admin/brands", {"csrf": CSRF, "slug": "nova", "name": "Nova", "description": "", "sort": "3"})
t.ok(r.status == 303 and sql("SELECT name, active FROM server_brands WHERE slug = 'nova'") == [("Nova", 0)],
     "create a brand (unchecked active: inactive)", r.status)
r = ada.post("/admin/brands", {"csrf": CSRF, "slug": "swift", "name": "Swift 2", "description": "", "sort": "3"})
t.is_(r.status, 409, "a brand slug in use: 409")
r = ada.post("/admin/brands/2/delete", {"csrf": CSRF})
t.ok(r.status == 409 and "in use by 4 plans, 1 server" in html.unescape(r.text), "a brand in use: 409", r.status)
nova = one("SELECT id FROM server_brands WHERE slug = 'nova'")
r = mgr.post("/admin/brands/%d/delete" % nova, {"csrf": csrf_of(mgr.get("/admin/brands").text)})
t.ok(r.status == 303 and not sql("SELECT id FROM server_brands WHERE slug = 'nova'"), "a manager deletes an unused brand")
t.is_(sql("SELECT actor, action FROM audit_log WHERE action LIKE 'brand.%' ORDER BY id"),
      [("staff", "brand.created"), ("staff", "brand.deleted")], "one audit row per change")

# -- every change above: exactly one audit row each --
t.is_(one("SELECT count(*) FROM audit_log WHERE action LIKE 'plan.%' OR action LIKE 'category.%' "
          "OR action LIKE 'brand.%'"), 9 + 6 + 2,
      "one audit row per change, none for the refusals")
s.check_sanitizers(t)
t.done()
