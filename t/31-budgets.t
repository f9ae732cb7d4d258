#!/usr/bin/env python3
"""Anti-automation (issue 16, requests16; ASVS V11.1.2, V11.1.4, V11.1.7,
V11.1.8, V8.1.4), with the shipped defaults unless a case says otherwise:

- forms faster than a person: a sign-in, registration or reset form sent
  sooner than form_min_seconds (default 2) after its page was served is
  refused (429, Retry-After) and shown again with what was typed but the
  password; the token carries its issue time, signed: a token stripped of
  its time is refused as too fast, one whose time was moved is refused
  as forged.
- request budgets: POSTs and API calls per client address (default 120
  a minute) and per account (default 60 a minute), 429 with Retry-After
  beyond them (an HTML page, or the API's JSON error "rate_limited");
  another account from the same address keeps its own budget.
- staff alerted: each trip writes one audit row "budget.tripped"; from
  budget_alert_trips of them in an hour, every staff page shows a banner
  and /healthz says so to staff.
"""
import hashlib
import os
import re
import secrets
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402
from pxweb import Browser, csrf_of  # noqa: E402
from pxstaff import Staff  # noqa: E402

t = TAP()
KEYS = ("budget_client_minute", "budget_account_minute", "budget_alert_trips", "form_min_seconds")


class DefaultStack(Stack):
    """A stack whose config leaves this slice's keys at the program's
    defaults (px.py's test config raises them for the rest of the suite)."""

    def write_conf(self, **more):
        super().write_conf(**more)
        with open(self.conf) as f:
            lines = [ln for ln in f if not ln.startswith(KEYS)]
        with open(self.conf, "w") as f:
            f.writelines(lines)


def fresh_minute(s, margin=45):
    """Move the test clock to just past a minute boundary, so a case runs
    inside one budget window from its start."""
    s.advance(60 - int(s.now()) % 60 + 1)


def token(s, scopes, cid):
    tok = "pxt_" + secrets.token_urlsafe(24)
    s.sql("INSERT INTO api_tokens (token_hash, prefix, name, customer_id, scopes) VALUES (?, ?, 'test', ?, ?)",
          (hashlib.sha256(tok.encode()).digest(), tok[:8], cid, scopes))
    return tok


s = DefaultStack(workers=2).start()
cfg = s.cli("config").stdout
for k, v in (("budget_client_minute", "120"), ("budget_account_minute", "60"), ("budget_alert_trips", "10"),
             ("form_min_seconds", "2")):
    t.ok(re.search(r"^%s = %s$" % (k, v), cfg, re.M) is not None, "defaults: %s is %s" % (k, v))

# -- forms faster than a person --
fresh_minute(s)
b = Browser(s)
page = b.get("/login")
tok = csrf_of(page.text)
t.ok(re.match(r"^[0-9a-f]{88}$", tok or "") is not None and abs(int(tok[64:72], 16) - s.now()) < 5,
     "too fast: the pre-session token carries its issue time, signed", tok)
r = b.post("/login", {"email": "fast@example.com", "password": "a password typed by a bot", "csrf": tok})
t.ok(r.status == 429 and "quicker than a person" in r.text, "too fast: a sign-in sent at once is refused (429)",
     (r.status, r.text[:300]))
t.ok('value="fast@example.com"' in r.text and "a password typed by a bot" not in r.text,
     "too fast: the form comes back with the email typed, not the password")
ra = r.header("retry-after") or ""
t.ok(ra.isdigit() and 1 <= int(ra) <= 2, "too fast: Retry-After says how long to wait", ra)
again = csrf_of(r.text)
s.advance(3)
r = b.post("/login", {"email": "fast@example.com", "password": "a password typed by a bot", "csrf": again})
t.ok(r.status != 429 and "quicker than a person" not in r.text,
     "too fast: the same form sent again after 3 s goes through", (r.status, r.text[:300]))
for path, fields in (("/register", {"email": "fast2@example.com", "name": "Fast", "password": "x" * 16,
                                    "password2": "x" * 16}),
                     ("/password/forgot", {"email": "fast3@example.com"}),
                     ("/admin/login", {"email": "fast4@example.com", "password": "a password typed by a bot"})):
    pg = b.get(path)
    f = dict(fields)
    f["csrf"] = csrf_of(pg.text)
    names = set(re.findall(r'name="([a-z0-9_]+)"', pg.text))
    f = {k: v for k, v in f.items() if k in names}
    r = b.post(path, f)
    t.ok(r.status == 429 and "quicker than a person" in r.text, "too fast: %s sent at once is refused" % path,
         (r.status, r.text[:300]))
pg = b.get("/login")
tok = csrf_of(pg.text)
base, when, mac = tok[:64], int(tok[64:72], 16), tok[72:]
s.advance(5)
r = b.post("/login", {"email": "fast@example.com", "password": "x" * 14, "csrf": base})
t.ok(r.status == 429, "too fast: a token stripped of its time counts as too fast", r.status)
r = b.post("/login", {"email": "fast@example.com", "password": "x" * 14,
                      "csrf": "%s%08x%s" % (base, when - 100, mac)})
t.ok(r.status == 403, "too fast: a token whose time was moved back is refused as forged (403)", r.status)
r = b.post("/login", {"email": "fast@example.com", "password": "x" * 14, "csrf": tok})
t.ok(r.status != 429 and r.status != 403, "too fast: the untouched token, 5 s on, goes through", r.status)

# -- the client address's budget --
fresh_minute(s)
codes = [s.request("POST", "/logout", headers={"Content-Type": "application/x-www-form-urlencoded"}, body="").status
         for _ in range(120)]
# The request that trips it carries a token in its path: the audit row
# that records the trip must not keep it (V7.1.1).
rtok = secrets.token_urlsafe(32)
codes.append(s.request("POST", "/password/reset/" + rtok,
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, body="").status)
t.ok(all(c == 403 for c in codes[:120]) and codes[120] == 429,
     "client budget: 120 POSTs a minute from one address pass the budget, the 121st is a 429",
     [(i, c) for i, c in enumerate(codes) if c != 403])
r = s.request("POST", "/cart/add", headers={"Content-Type": "application/x-www-form-urlencoded"}, body="")
ra = r.header("retry-after") or ""
t.ok(r.status == 429 and (r.header("content-type") or "").startswith("text/html") and
     ra.isdigit() and 1 <= int(ra) <= 60, "client budget: every POST route is refused, an HTML 429 with Retry-After",
     (r.status, r.header("content-type"), ra))
t.ok(s.get("/plans").status == 200, "client budget: GET pages are not counted")
fresh_minute(s)
r = s.request("POST", "/logout", headers={"Content-Type": "application/x-www-form-urlencoded"}, body="")
t.ok(r.status == 403, "client budget: the next minute has a fresh budget", r.status)

# -- the account's budget (API tokens and sessions together) --
s.sql("INSERT INTO customers (id, email, name, password_hash) VALUES (931, 'a31@example.com', 'A', 'x'), "
      "(932, 'b31@example.com', 'B', 'x')")
ta, ta2, tb = token(s, "read", 931), token(s, "read", 931), token(s, "read", 932)
fresh_minute(s)
codes = [s.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + (ta if i % 2 else ta2)}).status
         for i in range(61)]
t.ok(all(c == 200 for c in codes[:60]) and codes[60] == 429,
     "account budget: 60 API calls a minute by one account (two tokens) pass, the 61st is a 429",
     [(i, c) for i, c in enumerate(codes) if c != 200])
r = s.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + ta})
ra = r.header("retry-after") or ""
t.ok(r.status == 429 and r.json()["error"]["code"] == "rate_limited" and ra.isdigit(),
     "account budget: the API's 429 is its JSON error rate_limited with Retry-After", (r.status, r.text[:200], ra))
r = s.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + tb})
t.ok(r.status == 200, "account budget: another account from the same address still has its own", r.status)

# -- trips are audited once a window; staff alerted --
rows = s.sql("SELECT target, detail FROM audit_log WHERE action = 'budget.tripped' ORDER BY id")
targets = [row[0] for row in rows]
t.ok(targets == ["ip:127.0.0.1", "customer:931"], "audit: one budget.tripped row per address or account and minute",
     rows)
t.ok(not any(rtok in (row[1] or "") for row in rows) and any("/password/reset/%s..." % rtok[:4] in (row[1] or "")
                                                         for row in rows),
     "audit: the trip's row names a token path masked, never the token", rows)
rows = s.sql("SELECT target FROM audit_log WHERE action = 'budget.form_too_fast'")
t.ok(rows == [("ip:127.0.0.1",)], "audit: forms sent too fast write one budget.form_too_fast row per address and minute",
     rows)
s.check_sanitizers(t)
s.stop()

s = Stack(workers=2, conf={"budget_client_minute": "3", "budget_alert_trips": "2"}).start()
admin = Staff(s, "boss31@example.com", "super_admin")
fresh_minute(s)
r = admin.get("/admin")
t.ok(r.status == 200 and "budget-banner" not in r.text, "alert: no banner before budgets trip", r.status)
h = admin.get("/healthz").json()
t.ok(h.get("budgets", {}).get("alert") is False, "alert: /healthz tells staff there is no alert", h)
t.ok("budgets" not in s.get("/healthz").json(), "alert: /healthz tells nobody else")
for trip in range(2):
    fresh_minute(s)
    codes = [s.request("POST", "/logout", headers={"Content-Type": "application/x-www-form-urlencoded"}, body="").status
             for _ in range(5)]
    t.ok(codes == [403, 403, 403, 429, 429], "alert: trip %d of the client budget (3 a minute)" % (trip + 1), codes)
r = admin.get("/admin")
t.ok(r.status == 200 and "budget-banner" in r.text and "refused 2 times" in r.text and
     "/admin/audit?action=budget." in r.text,
     "alert: staff pages show the banner after budget_alert_trips trips in the hour", r.text[:400])
good, errs = s.html_ok(r.body)
t.ok(good, "alert: the page with the banner is well-formed HTML", errs)
h = admin.get("/healthz").json()
t.ok(h.get("budgets", {}).get("alert") is True and h["budgets"]["tripped_last_hour"] == 2,
     "alert: /healthz tells staff", h)
s.advance(3700)
admin.reauth("/admin")
r = admin.get("/admin")
t.ok("budget-banner" not in r.text, "alert: an hour later the banner is gone", r.status)
s.check_sanitizers(t)
t.done()
