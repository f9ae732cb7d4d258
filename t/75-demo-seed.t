#!/usr/bin/env python3
"""The demo shopper (issue 11): `seed --demo --customer`, as
`./quickstart demo` runs it, makes a verified customer with a wallet
funded through the ledger, the seller's details and tax settings and two
coupon rows; a second run changes nothing (one customer, one ledger row,
`check` ok); settings staff already set are kept.  Then the README's
walk-through, through nginx over TLS: the demo customer signs in with the
printed password, adds a plan, pays from the wallet (19 % tax added), and
sees the order and its invoice.  And the tests' own stacks (`seed
--demo`) get no customer.  Then `seed --demo-panel` (the demo's live
panel, issue 12): refused before the panel exists and before its sync;
after `server add` and `server sync` against the panel double, every
plan a customer can buy is bound to the live panel's synced inbound of
its protocol, the others stay on show but sold out, once (audited) and
idempotently."""
import json
import os
import re
import sys
from urllib.parse import urlencode
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402
from pxmail import PanelDouble, Spool  # noqa: E402

EMAIL, PW = "customer@demo.example", "demo customer passphrase 1000"
t = TAP()

# -- the catalog-only seed the tests use makes no customer --
plain = Stack(seed=True, nginx=False)
plain.write_conf()
plain.cli("migrate")
plain.cli("seed", "--demo")
t.is_(plain.sql("SELECT count(*) FROM customers")[0][0], 0, "seed --demo alone makes no customer")
t.is_(plain.sql("SELECT count(*) FROM settings WHERE key LIKE 'tax.%'")[0][0], 0, "nor tax settings")
p = plain.cli("seed", "--demo", "--bogus", check=False)
t.ok(p.returncode == 2 and "--customer" in p.stderr, "an unknown option: usage, exit 2", p.stderr)
plain.stop()

# -- seed --demo --customer, twice --
s = Stack(workers=2, tls=True, seed=False)
s.write_conf()
s.cli("migrate")
# A setting staff chose before the seed is kept.
s.sql("INSERT INTO settings (key, value) VALUES ('seller.name', 'Already Named GmbH')")
p1 = s.cli("seed", "--demo", "--customer")
t.ok("demo data loaded" in p1.stdout and "created" in p1.stdout, "the first seed loads the catalog and the customer", p1.stdout)
p2 = s.cli("seed", "--demo", "--customer")
t.ok("nothing done" in p2.stdout and "already present" in p2.stdout, "the second seed says it did nothing", p2.stdout)
sql = s.sql
t.is_(sql("SELECT count(*), sum(email_verified_at IS NOT NULL), min(state) FROM customers WHERE email = ?", (EMAIL,)),
      [(1, 1, "active")], "one verified, active demo customer")
cid = sql("SELECT id FROM customers WHERE email = ?", (EMAIL,))[0][0]
t.is_(sql("SELECT c.email FROM customers c WHERE c.email <> ?", (EMAIL,)), [("friend@demo.example",)],
      "and no other customer than the friend it referred")
t.is_(sql("SELECT count(*) FROM referrals r JOIN customers c ON c.id = r.referred_id "
          "WHERE r.referrer_id = ? AND c.email = 'friend@demo.example'", (cid,))[0][0], 1,
      "one referral: the demo customer brought the friend")
t.is_(sql("SELECT w.balance_minor, (SELECT sum(amount_minor) FROM wallet_transactions x WHERE x.wallet_id = w.id), "
          "(SELECT count(*) FROM wallet_transactions x WHERE x.wallet_id = w.id), w.currency "
          "FROM wallets w WHERE customer_id = ?", (cid,)),
      [(50000, 50000, 1, "USD")], "one wallet of USD 500.00, equal to its ledger of one entry")
t.is_(sql("SELECT count(*) FROM audit_log WHERE target = ?", ("customer:%d" % cid,))[0][0], 2,
      "the customer and the funds are audited once each")
t.is_(sql("SELECT code, kind FROM coupons ORDER BY code"), [("SAVE5", "fixed"), ("WELCOME10", "percent")],
      "two coupon rows")
t.is_(dict(sql("SELECT key, value FROM settings WHERE key IN ('seller.name', 'seller.tax_id', 'tax.rate_bp', "
               "'tax.inclusive', 'shop.currency')")),
      {"seller.name": "Already Named GmbH", "seller.tax_id": "DE000000000", "tax.rate_bp": "1900",
       "tax.inclusive": "0", "shop.currency": "USD"}, "seller and tax settings, the staff's choice kept")
t.is_(sql("SELECT count(*) FROM plans")[0][0], 12, "the catalog once")
p = s.cli("check", check=False)
t.ok(p.returncode == 0 and "ok wallet balances equal their ledgers" in p.stdout, "check is ok", p.stdout)

# -- the README's walk-through --
s.start_pool()
s.start_nginx()
jar = {}


def req(method, path, fields=None):
    h = {"User-Agent": "demo-walk"}
    if jar:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in jar.items())
    body = None
    if fields is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(fields)
    r = s.request(method, path, headers=h, body=body, tls=True)
    for sc in r.all("set-cookie"):
        name, _, val = sc.split(";")[0].partition("=")
        if val == "" or "max-age=0" in sc.lower():
            jar.pop(name, None)
        else:
            jar[name] = val
    return r


def post(path, fields, page):
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', req("GET", page).text)
    return req("POST", path, dict(fields, csrf=m.group(1) if m else ""))


r = post("/login", {"email": EMAIL, "password": PW}, "/login")
t.ok(r.status == 303, "the demo customer signs in with the printed password", (r.status, r.text[:200]))
slug, price = sql("SELECT slug, price_minor FROM plans WHERE slug = 'fra-vless-starter'")[0]
r = post("/cart/add", {"plan": slug, "qty": "1"}, "/cart/add?plan=" + slug)
t.ok(r.status in (200, 303), "adds a plan", r.status)
r = req("GET", "/checkout")
idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text)
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text)
r = req("POST", "/checkout", {"csrf": csrf.group(1) if csrf else "", "idem": idem.group(1) if idem else ""})
m = re.match(r"/orders/([a-z2-7]{16,32})\?ok=paid$", r.header("location") or "")
t.ok(r.status == 303 and m, "pays from the wallet", (r.status, r.header("location"), r.text[:300]))
tax = (price * 1900 + 5000) // 10000
row = sql("SELECT state, total_minor FROM orders WHERE customer_id = ?", (cid,))
t.ok(row and row[0][0] == "paid" and row[0][1] in (price + tax, price + tax - 1, price + tax + 1),
     "the order is paid with the 19 %% tax added (%d + %d)" % (price, tax), row)
total = row[0][1] if row else 0
t.is_(sql("SELECT balance_minor FROM wallets WHERE customer_id = ?", (cid,))[0][0], 50000 - total,
      "the wallet paid the total")
r = req("GET", "/orders/" + (m.group(1) if m else "x"))
inv = re.search(r'href="(/invoices/\d{4}-\d{6})"', r.text)
t.ok(r.status == 200 and "paid" in r.text and inv, "the order page shows it paid with its invoice link", r.status)
r = req("GET", inv.group(1) if inv else "/invoices/none")
t.ok(r.status == 200 and "Already Named GmbH" in r.text and "DE000000000" in r.text,
     "the invoice carries the seller's details", r.status)
p = s.cli("check", check=False)
t.ok(p.returncode == 0, "check is still ok after the purchase", p.stdout)
s.check_sanitizers(t)
s.stop()

# -- seed --demo-panel: the demo's plans onto its live panel, as
# ./quickstart demo does after `server add` and `server sync` --
d = Spool(conf={"panel_timeout": "10", "smtp_timeout": "10", "work_lease": "60"})
d.setup()
d.cli("seed", "--demo")
before = d.sql("SELECT * FROM plans ORDER BY id")
p = d.cli("seed", "--demo-panel", "fra-demo", check=False)
t.ok(p.returncode == 1 and "no server named fra-demo" in p.stderr, "--demo-panel: no such server, exit 1", p.stderr)
seed = os.path.join(d.dir, "inbounds.json")
with open(seed, "w") as f:
    json.dump([{"protocol": "vmess", "port": 20001, "remark": "fra-vmess-ws",
                "streamSettings": {"network": "ws", "security": "none", "wsSettings": {"path": "/vmess"}}},
               {"protocol": "vless", "port": 20002, "remark": "fra-vless-ws-tls",
                "streamSettings": {"network": "ws", "security": "tls", "wsSettings": {"path": "/vless"}}},
               {"protocol": "trojan", "port": 20003, "remark": "fra-trojan-tls",
                "streamSettings": {"network": "tcp", "security": "tls"}},
               {"protocol": "shadowsocks", "port": 20004, "remark": "fra-ss-aead",
                "settings": {"method": "aes-256-gcm", "password": "", "network": "tcp,udp", "clients": []}}], f)
panel = PanelDouble(d, "panel", "--inbounds", seed)
r = d.cli("server", "add", "--name", "fra-demo", "--country-code", "DE", "--country", "Germany", "--city",
          "Frankfurt", "--category", "1", "--brand", "1", "--url", panel.url, "--user", panel.user,
          "--host", "127.0.0.1", input=panel.password + "\n")
sid = int(r.stdout)
p = d.cli("seed", "--demo-panel", "fra-demo", check=False)
t.ok(p.returncode == 1 and "server sync" in p.stderr and d.sql("SELECT * FROM plans ORDER BY id") == before,
     "--demo-panel before the sync: exit 1, nothing written", p.stderr)
d.start_work()
r = d.cli("server", "sync", str(sid), check=False)
t.ok(r.returncode == 0, "the live panel's inbounds synced through work", r.stdout + r.stderr)
p = d.cli("seed", "--demo-panel", "fra-demo", check=False)
t.ok(p.returncode == 0 and "5 plans provision on it; 8 plans sold out" in p.stdout,
     "--demo-panel: five plans on the live panel, eight sold out", (p.stdout, p.stderr))
buyable = d.sql("SELECT p.slug, p.protocol, s.name, i.protocol, i.active FROM plans p "
                "LEFT JOIN servers s ON s.id = p.server_id LEFT JOIN server_inbounds i ON i.id = p.inbound_id "
                "WHERE p.active = 1 AND (p.stock IS NULL OR p.stock > 0) ORDER BY p.id")
t.ok(len(buyable) == 5 and all(b[2] == "fra-demo" and b[3] == b[1] and b[4] == 1 for b in buyable),
     "every plan a customer can buy is bound to a synced inbound of its protocol on the live panel", buyable)
t.is_(sorted({b[1] for b in buyable}), ["shadowsocks", "trojan", "vless", "vmess"],
      "one of each of the four kinds can be bought")
t.is_(d.sql("SELECT count(*), sum(stock = 0), sum(featured) FROM plans p JOIN servers s ON s.id = p.server_id "
            "WHERE s.panel_password_sealed IS NULL AND p.active = 1"), [(8, 8, 0)],
      "the other eight plans stay on show (active), sold out, not featured")
t.is_(d.sql("SELECT name, state FROM servers ORDER BY id"),
      [("fra-1", "disabled"), ("ams-1", "active"), ("sgp-1", "active"), ("fra-demo", "active")],
      "the display-only Frankfurt server, left without plans, leaves the locations")
t.ok("WebSocket and TLS" in d.sql("SELECT description FROM plans WHERE slug = 'fra-vless-starter'")[0][0],
     "the moved VLESS plan no longer promises Reality")
snap = d.sql("SELECT * FROM plans ORDER BY id")
p = d.cli("seed", "--demo-panel", "fra-demo", check=False)
t.ok(p.returncode == 0 and "nothing changed" in p.stdout and d.sql("SELECT * FROM plans ORDER BY id") == snap,
     "a second run changes nothing and says so", p.stdout)
t.is_(d.sql("SELECT actor, target FROM audit_log WHERE action = 'plans.demo_panel'"), [("cli", "server:%d" % sid)],
      "one audit row, by the command line")
p = d.cli("check", check=False)
t.ok(p.returncode == 0, "check is ok", p.stdout)
d.stop()
t.done()
