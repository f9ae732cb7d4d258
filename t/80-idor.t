#!/usr/bin/env python3
"""IDOR on every route that names an object (issue 11), through nginx.

The routes come from the binary's own table (1000proxy test-routes):
every pattern with {public_id}, {number}, {id...} or {token} must have
a case below, or this test fails naming it, so a new route cannot be
forgotten.  Two customers, A and B, each with an order, an invoice,
wallet rows, API tokens and sessions:

- customer B on A's object: 404, never 403 (which would confirm it
  exists) and never 200, for the GET and the POST of each pattern (a
  method the pattern does not have: 405, the same as for an object that
  does not exist), and nothing of A's changes;
- B's API token on A's order: 404;
- staff on another staff member's token: 404;
- capability links ({token}: verify, reset, invite): a token nobody was
  given answers exactly as a spent one does, never 200 or 403;
- a staff role with none of the commerce permissions: 403 on every
  staff route that needs one of them (/admin/orders, customers,
  invoices, credit and debit, exports, and whatever comes next), GET
  and POST; a customer's cookie on them: the staff sign-in.
"""
import hashlib
import os
import re
import secrets
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402
import pxsvc  # noqa: E402

t = TAP()
routes = []
for line in subprocess.run([BIN, "-c", "/dev/null", "test-routes"], capture_output=True, text=True).stdout.splitlines():
    method, pattern, who, perm, csrf, flags = line.split("\t")
    routes.append((method, pattern, who, perm))
OBJ = re.compile(r"\{(public_id|number|id(:int)?|token)\}")
named = [r for r in routes if OBJ.search(r[1])]
t.ok(len(named) >= 20, "the route table names %d routes with an object in the path" % len(named))
COMMERCE = {"plans.write", "orders.read", "orders.write", "customers.read", "customers.write", "wallet.adjust",
            "settings.write", "servers.write", "jobs.manage"}

s = Shop(workers=2).start()
sql = s.sql
PW = "correct horse battery staple"


def tc(*args):
    return s.cli("test-commerce", *[str(a) for a in args]).stdout.split()


def sha(x):
    return hashlib.sha256(x.encode()).digest()


class Who:
    """A signed-in caller: cookie, CSRF token, session id."""

    def __init__(self, kind, uid):
        self.kind = kind
        self.cookie = secrets.token_hex(16)
        self.csrf = secrets.token_hex(16)
        col = "customer_id" if kind == "customer" else "staff_id"
        sql("INSERT INTO sessions (token_hash, kind, %s, csrf_token, mfa_ok, expires_at) "
            "VALUES (?, ?, ?, ?, 1, unixepoch() + 3600)" % col, (sha(self.cookie), kind, uid, self.csrf))
        self.sid = sql("SELECT id FROM sessions WHERE token_hash = ?", (sha(self.cookie),))[0][0]

    def req(self, method, path, body=None):
        name = "px_c" if self.kind == "customer" else "px_s"
        h = {"Cookie": "%s=%s" % (name, self.cookie)}
        if method == "POST":
            h["Content-Type"] = "application/x-www-form-urlencoded"
            body = "csrf=%s%s" % (self.csrf, body or "")
        return s.request(method, path, headers=h, body=body)


def api_token(cid=None, sid=None):
    tok = "pxt_" + secrets.token_urlsafe(24)
    sql("INSERT INTO api_tokens (token_hash, prefix, name, customer_id, staff_id, scopes) "
        "VALUES (?, ?, 'idor', ?, ?, 'read')", (sha(tok), tok[:8], cid, sid))
    return tok, sql("SELECT id FROM api_tokens WHERE token_hash = ?", (sha(tok),))[0][0]


def api(tok, path, method="GET"):
    return s.request(method, path, headers={"Authorization": "Bearer " + tok})


# -- two customers with everything --
own = {}
for cid, email in ((1, "ann@example.com"), (2, "bob@example.com")):
    sql("INSERT INTO customers (id, email, name, password_hash, email_verified_at) VALUES (?, ?, 'N', 'x', unixepoch())",
        (cid, email))
    tc("wallet", cid, 5000, "topup", "idor-%d" % cid)
    oid, pub = tc("order-new", cid, 1000, 0, 0)
    tc("order-move", oid, "paid")
    num = tc("invoice", oid, "commit")[0]
    tok, tok_id = api_token(cid=cid)
    extra = Who("customer", cid)		# a second session, the one B aims at
    own[cid] = {"order": pub, "order_id": int(oid), "invoice": num, "token": tok, "token_id": tok_id,
                "session": Who("customer", cid), "other_session": extra.sid, "customer": cid}
A, B = own[1], own[2]
for addr, role in (("ada@example.com", "super_admin"), ("sam@example.com", "super_admin")):
    s.cli("user", "add", "--role", role, addr, input=PW + "\n")
sql("INSERT INTO roles (name, label) VALUES ('nobody', 'No commerce permission')")
sql("INSERT INTO role_permissions (role_id, permission_id) SELECT r.id, p.id FROM roles r, permissions p "
    "WHERE r.name = 'nobody' AND p.name = 'audit.read'")
s.cli("user", "add", "--role", "nobody", "nob@example.com", input=PW + "\n")
sql("UPDATE staff SET totp_enabled_at = unixepoch()")
staff_id = {e: sql("SELECT id FROM staff WHERE email = ?", (e,))[0][0]
            for e in ("ada@example.com", "sam@example.com", "nob@example.com")}
ada, sam, nob = (Who("staff", staff_id[e]) for e in ("ada@example.com", "sam@example.com", "nob@example.com"))
ada_tok, ada_tok_id = api_token(sid=staff_id["ada@example.com"])
# A second session of ada's, the one sam aims at (admin_account.c, issue 16).
ada_other = Who("staff", staff_id["ada@example.com"]).sid
t.ok(nob.req("GET", "/admin").status == 200, "the role without commerce permissions can open /admin")

# Spent capability links of A's (and of ada's invite): a spent link and
# one nobody was given must answer alike.
spent = {}
for pat, purpose, col, uid in (("/verify/{token}", "verify", "customer_id", 1),
                               ("/password/reset/{token}", "reset", "customer_id", 1),
                               ("/admin/invite/{token}", "invite", "staff_id", staff_id["ada@example.com"]),
                               ("/admin/password/reset/{token}", "reset", "staff_id", staff_id["ada@example.com"])):
    tok = secrets.token_hex(16)
    sql("INSERT INTO email_tokens (token_hash, purpose, %s, expires_at, used_at) VALUES (?, ?, ?, unixepoch() + 3600, "
        "unixepoch() - 60)" % col, (sha(tok), purpose, uid))
    spent[pat] = tok

# A coupon for the staff's coupon routes (no customer owns one: the
# permission sweep below covers them).
coupon_id = sql("INSERT INTO coupons (code, kind, percent) VALUES ('IDOR10', 'percent', 10) RETURNING id")[0][0]

MISSING = {"public_id": "zzzzzzzzzzzzzzzzzzzz", "number": "2099-999999", "id": "999999", "token": "q" * 32}


def fill(pattern, obj):
    """Each placeholder of pattern from obj, or from the tuple obj in turn."""
    objs = list(obj) if isinstance(obj, tuple) else None
    return re.sub(r"\{(\w+)(:int)?\}", lambda m: str(objs.pop(0) if objs is not None else obj), pattern)


def state_of_a():
    return (sql("SELECT state FROM orders WHERE id = ?", (A["order_id"],))[0][0],
            sql("SELECT revoked_at FROM api_tokens WHERE id = ?", (A["token_id"],))[0][0],
            sql("SELECT count(*) FROM sessions WHERE customer_id = 1")[0][0],
            sql("SELECT count(*) FROM wallet_transactions")[0][0],
            sql("SELECT state FROM customers WHERE id = 1")[0][0],
            sql("SELECT revoked_at FROM api_tokens WHERE id = ?", (ada_tok_id,))[0][0],
            sql("SELECT count(*) FROM sessions WHERE id = ?", (ada_other,))[0][0],
            sql("SELECT count(*), group_concat(state) FROM jobs")[0],
            sql("SELECT group_concat(state) FROM order_items")[0][0])


# Which of A's objects a route's placeholder names, and who tries it.
# kind: "customer" (B's session on A's object), "api" (B's token),
# "staff-own" (sam on ada's object), "capability" ({token} links),
# "staff" (covered by the permission sweep below, with the object).
CASES = {
    "/orders/{public_id}": ("customer", A["order"]),
    "/orders/{public_id}/renew": ("customer", A["order"]),
    "/invoices/{number}": ("customer", A["invoice"]),
    "/account/tokens/{id:int}/revoke": ("customer", A["token_id"]),
    "/account/sessions/{id:int}/revoke": ("customer", A["other_session"]),
    "/api/v1/orders/{public_id}": ("api", A["order"]),
    "/admin/tokens/{id:int}/revoke": ("staff-own", ada_tok_id),
    "/admin/account/sessions/{id:int}/end": ("staff-own", ada_other),
    "/admin/password/reset/{token}": ("capability", spent["/admin/password/reset/{token}"]),
    "/verify/{token}": ("capability", spent["/verify/{token}"]),
    "/password/reset/{token}": ("capability", spent["/password/reset/{token}"]),
    "/admin/invite/{token}": ("capability", spent["/admin/invite/{token}"]),
    "/admin/invoices/{number}": ("staff", A["invoice"]),
    "/admin/orders/{public_id}": ("staff", A["order"]),
    "/admin/orders/{public_id}/cancel": ("staff", A["order"]),
    "/admin/orders/{public_id}/refund": ("staff", A["order"]),
    "/admin/customers/{id:int}": ("staff", 1),
    "/admin/customers/{id:int}/wallet": ("staff", 1),
    "/admin/customers/{id:int}/disable": ("staff", 1),
    "/admin/customers/{id:int}/enable": ("staff", 1),
    "/admin/customers/{id:int}/sessions/end": ("staff", 1),
    "/admin/customers/{id:int}/sessions/end-all": ("staff", 1),
    "/admin/customers/{id:int}/reset-2fa": ("staff", 1),
    "/admin/staff/{id:int}/disable": ("staff", staff_id["ada@example.com"]),
    "/admin/staff/{id:int}/enable": ("staff", staff_id["ada@example.com"]),
    "/admin/staff/{id:int}/role": ("staff", staff_id["ada@example.com"]),
    "/admin/staff/{id:int}/reset-2fa": ("staff", staff_id["ada@example.com"]),
    "/admin/coupons/{id:int}": ("staff", coupon_id),
    "/admin/coupons/{id:int}/activate": ("staff", coupon_id),
    "/admin/coupons/{id:int}/deactivate": ("staff", coupon_id),
}
# The customer's proxies (page_services.c, api_services.c, page_sub.c):
# a client each for A and B on the seeded server 1, and A's subscription
# URL after A asked for a new one (the old token is spent).
ib = pxsvc.inbound(sql, 1, "vless", 443, pxsvc.VLESS_REALITY, flow="xtls-rprx-vision")
for cid in (1, 2):
    own[cid]["client"] = pxsvc.client(sql, cid, ib, auto_renew=0)[0]
sub_old = re.search(r'/sub/([A-Za-z0-9_-]+)', A["session"].req("GET", "/services").text).group(1)
t.is_(A["session"].req("POST", "/services/subscription").status, 303, "A asks for a new subscription URL")
CASES.update({
    "/services/{id:int}": ("customer", A["client"]),
    "/services/{id:int}/regenerate": ("customer", A["client"]),
    "/services/{id:int}/auto-renew": ("customer", A["client"]),
    "/api/v1/services/{id:int}": ("api", A["client"]),
    "/sub/{token}": ("capability", sub_old),
})
# The catalogue panels (admin_plans.c, admin_taxonomy.c): the seeded
# plan, category and brand 1, every action on them.
for base in ("/admin/plans", "/admin/categories", "/admin/brands"):
    for tail in ("", "/activate", "/deactivate", "/move", "/delete"):
        CASES[base + "/{id:int}" + tail] = ("staff", 1)
# Provisioning for staff (admin12): a job, A's provisioned client on the
# seeded server 1 and its failed order item, every action on them.
a_item = sql("INSERT INTO order_items (order_id, plan_id, unit_price_minor, currency, state) "
             "VALUES (?, 1, 1000, 'USD', 'failed') RETURNING id", (A["order_id"],))[0][0]
a_client = sql("INSERT INTO provisioned_clients (order_item_id, customer_id, server_id, inbound_id, email, "
               "client_uuid, sub_id, state) VALUES (?, 1, 1, 1, 'idor-a', 'u-idor-a', 'sub-idor-a', 'active') "
               "RETURNING id", (a_item,))[0][0]
a_job = sql("INSERT INTO jobs (kind, idem_key, state, last_error) VALUES ('email', 'idor:job', 'failed', 'x') "
            "RETURNING id")[0][0]
for tail in ("/retry", "/discard"):
    CASES["/admin/jobs/{id:int}" + tail] = ("staff", a_job)
# The staff mail log (admin_mail.c, issue 14): the same failed email job,
# its page and both actions.
for tail in ("", "/retry", "/discard"):
    CASES["/admin/mail/{id:int}" + tail] = ("staff", a_job)
for tail in ("", "/suspend", "/resume", "/reset-traffic", "/regenerate", "/deprovision"):
    CASES["/admin/clients/{id:int}" + tail] = ("staff", a_client)
for tail in ("/retry", "/refund"):
    CASES["/admin/orders/{public_id}/items/{id:int}" + tail] = ("staff", (A["order"], a_item))
# The servers panel (admin_servers.c): the seeded server 1, every action.
for tail in ("", "/enable", "/disable", "/maintenance", "/delete", "/test", "/sync"):
    CASES["/admin/servers/{id:int}" + tail] = ("staff", 1)
# Payments and refunds (refund13, issue 13): a payment of A's order
# through stripe, every action on it.
a_pay = sql("INSERT INTO payments (order_id, customer_id, gateway, amount_minor, currency, state, idempotency_key) "
            "VALUES (?, 1, 'stripe', 1000, 'USD', 'succeeded', 'idor:pay') RETURNING public_id", (A["order_id"],))[0][0]
for tail in ("", "/refund", "/release", "/credit"):
    CASES["/admin/payments/{public_id}" + tail] = ("staff", a_pay)
# The customer's side of a payment (core13, issue 13): A's payment's
# page, its retry and its return page, tried by B.
MISSING["gw"] = "stripe"
CASES["/pay/{public_id}"] = ("customer", a_pay)
CASES["/pay/{public_id}/retry"] = ("customer", a_pay)
CASES["/pay/return/{gw}/{public_id}"] = ("customer", ("stripe", a_pay))
# Passkeys (passkey16, page_passkey.c): one of A's and one of ada's,
# renamed or deleted by another customer or staff member.
a_pk = sql("INSERT INTO passkeys (customer_id, cred_id, public_key, alg, name) "
           "VALUES (1, randomblob(32), x'a0', -7, 'a') RETURNING id")[0][0]
ada_pk = sql("INSERT INTO passkeys (staff_id, cred_id, public_key, alg, name) "
             "VALUES (?, randomblob(32), x'a0', -8, 'ada') RETURNING id", (staff_id["ada@example.com"],))[0][0]
for tail in ("/rename", "/delete"):
    CASES["/account/passkeys/{id:int}" + tail] = ("customer", a_pk)
    CASES["/admin/passkeys/{id:int}" + tail] = ("staff-own", ada_pk)
patterns = sorted({p for _, p, _, _ in named})
for p in patterns:
    t.ok(p in CASES, "%s has an IDOR case in t/80-idor.t" % p)
methods_of = {p: {m for m, q, _, _ in routes if q == p} for p in patterns}
before = state_of_a()
b_sess = B["session"]

for p in patterns:
    if p not in CASES:
        continue
    kind, obj = CASES[p]
    for m in ("GET", "POST"):
        routed = m in methods_of[p]
        if kind == "customer":
            r = b_sess.req(m, fill(p, obj))
            r0 = b_sess.req(m, fill(p, MISSING["id" if "{id" in p else p.split("{")[1].split("}")[0]]))
            want = 404 if routed else 405
            t.ok(r.status == want and r0.status == want, "%s %s: customer B on A's object: %d, as for none"
                 % (m, p, want), (r.status, r0.status, r.body[:200]))
        elif kind == "api":
            r = api(B["token"], fill(p, obj), m)
            r0 = api(B["token"], fill(p, MISSING["id" if "{id" in p else "public_id"]), m)
            want = 404 if routed else 405
            t.ok(r.status == want and r0.status == want and r.json()["error"]["code"] == r0.json()["error"]["code"],
                 "%s %s: B's token on A's order: %d JSON, as for none" % (m, p, want), (r.status, r.body[:200]))
            if routed:
                t.is_(api(A["token"], fill(p, obj), m).status, 200, "%s %s: A's own token: 200" % (m, p))
        elif kind == "staff-own":
            r = sam.req(m, fill(p, obj))
            r0 = sam.req(m, fill(p, MISSING["id"]))
            want = 404 if routed else 405
            t.ok(r.status == want and r0.status == want, "%s %s: staff on another staff member's token: %d"
                 % (m, p, want), (r.status, r0.status))
            r = sam.req(m, fill(p, A["token_id"]))
            t.is_(r.status, want, "%s %s: staff on a customer's token: %d" % (m, p, want))
        elif kind == "capability":
            # Whoever holds the link may use it (it is the credential):
            # the probe is a stranger's, with a pre-session form token.
            anon = Browser(s)
            # The form's declared fields too, so the handler itself judges the link.
            form = {"csrf": csrf_of(anon.get("/login").text)} if m == "POST" else None
            if form is not None and not p.startswith("/verify/"):
                form["password"] = "x" * 20

            def go(tok):
                return anon.post(fill(p, tok), form) if m == "POST" else anon.get(fill(p, tok))
            r, r1, r2 = go(MISSING["token"]), go(secrets.token_hex(16)), go(obj)
            t.ok(r.status == r1.status == r2.status and r.status not in (200, 403) and r.status < 500,
                 "%s %s: a token nobody was given is refused (%d) as a spent one of A's is, never 200 or 403"
                 % (m, p, r.status), (r.status, r1.status, r2.status, r.body[:200]))
        else:
            # A customer's cookie never reaches a staff page.
            r = b_sess.req(m, fill(p, obj))
            t.ok(r.status in (303, 405) and (r.status == 405 or "/admin/login" in (r.header("location") or "")),
                 "%s %s: a customer's session goes to the staff sign-in" % (m, p), (r.status, r.header("location")))
# A's own objects are where the cases say (so a 404 above is not a typo).
t.is_(A["session"].req("GET", "/orders/" + A["order"]).status, 200, "A opens A's order: 200")
t.is_(A["session"].req("GET", "/invoices/" + A["invoice"]).status, 200, "A opens A's invoice: 200")
t.is_(A["session"].req("GET", "/account/sessions/%d/revoke" % A["other_session"]).status, 200,
      "A opens the revoke page of A's own session: 200")
t.is_(b_sess.req("GET", "/orders/" + B["order"]).status, 200, "B opens B's order: 200")
t.is_(A["session"].req("GET", "/services/%d" % A["client"]).status, 200, "A opens A's proxy: 200")
t.is_(sql("SELECT auto_renew, cred_gen FROM provisioned_clients WHERE id = ?", (A["client"],)) +
      sql("SELECT count(*) FROM jobs WHERE kind = 'regenerate'"), [(0, 0), (0,)],
      "B's posts changed nothing of A's proxy and asked no regenerate job")
t.is_(state_of_a(), before, "nothing of A's changed: order state, token, sessions, ledger, account, staff token")
t.ok(A["order"] not in api(B["token"], "/api/v1/orders").text and
     api(B["token"], "/api/v1/wallet").json()["balance"]["minor"] == 5000 and
     len(api(B["token"], "/api/v1/wallet").json()["ledger"]) == 1, "B's API lists hold none of A's orders or ledger rows")
t.ok(A["invoice"] not in b_sess.req("GET", "/wallet").text and A["order"] not in b_sess.req("GET", "/orders").text,
     "nor do B's /orders and /wallet pages")

# -- staff without the permission: 403 on every commerce route --
sweep = [(m, p, perm) for m, p, who, perm in routes if who == "staff" and perm in COMMERCE]
t.ok(len(sweep) >= 12, "%d staff routes need a commerce permission" % len(sweep))
body = {"/admin/customers/{id:int}/wallet": "&direction=credit&amount=1&reason=x&op=" + "a" * 32,
        "/admin/customers/{id:int}/sessions/end": "&session=%d" % A["other_session"]}
for m, p, perm in sweep:
    obj = CASES[p][1] if p in CASES else None
    path = fill(p, obj) + ("?from=2026-01-01&to=2026-01-02" if "/exports/" in p else "")
    r = nob.req(m, path, body.get(p))
    t.is_(r.status, 403, "%s %s (%s): a role without it gets 403" % (m, p, perm))
    if m == "GET":
        r = ada.req(m, path)
        t.is_(r.status, 200, "%s %s: a super admin gets 200 (the path is right)" % (m, p))
t.is_(state_of_a(), before, "the refused staff requests changed nothing")
t.is_(sql("SELECT count(*) FROM audit_log WHERE actor_id = ? AND actor = 'staff'", (staff_id["nob@example.com"],))[0][0],
      0, "and audited nothing as done")
s.check_sanitizers(t)
t.done()
