#!/usr/bin/env python3
"""/admin/settings/payments (issue 13, admin_settings_payments.c) and the
CSP form-action it drives (worker.c, response.c).

settings.write only (403 for support).  Each gateway's enabled flag, mode
and secrets: a secret is sealed through gw_secret_put, shown only by its
hint, a field left empty keeps it, and it is in no page, audit row or log
line.  A secret, an enabled flag or a mode change without a fresh sign-in
goes to /admin/reauth and writes nothing; enabling a gateway without all
its secrets is a 400 that writes nothing; top-up limits and the policies
are checked; one audit row names what changed.  CSP form-action is 'self'
plus each enabled gateway's checkout origin, on every worker's next
response after a change (from the page or from `1000proxy gateway`)."""
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402
from pxstaff import Staff  # noqa: E402
from pxweb import csrf_of  # noqa: E402

t = TAP()
PP_ORIGIN = "http://127.0.0.1:9"
s = Stack(workers=2, conf={"paypal_checkout_origin": PP_ORIGIN + "/"}).start()
sql = s.sql
SK = "sk_test_51Hx-STRIPE-secret-never-shown-K7QA"
WH = "whsec_stripe-webhook-secret-never-shown-P2MB"
SK2 = "sk_test_51Hx-STRIPE-second-secret-never-R9TD"
PAGE = "/admin/settings/payments"


def one(q, args=()):
    return sql(q, args)[0][0]


def audits():
    return sql("SELECT detail FROM audit_log WHERE action = 'settings.payments' ORDER BY id")


def state():
    return (sql("SELECT key, value FROM settings WHERE key LIKE 'payments.%' ORDER BY key"),
            sql("SELECT name, sealed FROM gateway_secrets ORDER BY name"), audits())


def form_action(r):
    csp = r.header("content-security-policy") or ""
    m = re.search(r"form-action ([^;]*)", csp)
    return m.group(1).split() if m else None


def every_worker_says(want, tries=12):
    """form-action of `tries` anonymous requests (both workers answer
    some): all equal to want."""
    seen = [form_action(s.get("/")) for _ in range(tries)]
    return all(x == want for x in seen), seen


def no_reauth(who):
    sql("UPDATE sessions SET reauth_at = NULL WHERE staff_id = (SELECT id FROM staff WHERE email = ?)", (who,))


ada = Staff(s, "ada@example.com", "super_admin")
sam = Staff(s, "sam@example.com", "support")

ok, seen = every_worker_says(["'self'"])
t.ok(ok, "no gateway enabled: form-action 'self' only", seen)

r = sam.get(PAGE)
t.is_(r.status, 403, "support (no settings.write): 403")
r = ada.get(PAGE)
good, errs = s.html_ok(r.body)
t.ok(r.status == 200 and good and "Card (Stripe)" in r.text and "(not set)" in r.text and
     'name="stripe_secret_key"' in r.text and "/webhooks/stripe" in r.text,
     "the page: every gateway, its secrets not set, its webhook URL; well-formed", errs)
CSRF = csrf_of(r.text)
t.ok("/admin/settings/payments" in ada.get("/admin/settings").text, "the shop settings page links to it")


def base(**kw):
    d = {"csrf": CSRF, "stripe_mode": "test", "paypal_mode": "test", "nowpayments_mode": "test",
         "topup_min": "5.00", "topup_max": "500.00", "mismatch": "hold", "refund_policy": "suspend",
         "paypal_verify": "offline", "reconcile_minutes": "10"}
    d.update(kw)
    return {k: v for k, v in d.items() if v is not None}


# -- refusals write nothing --
before = state()
ada.reauth(PAGE)
r = ada.post(PAGE, base(stripe_enabled="1", stripe_secret_key=SK))
t.ok(r.status == 400 and "cannot be enabled without" in r.text and "Webhook signing secret" in r.text and
     SK not in r.text and state() == before,
     "enabling Stripe with its key but not its webhook secret: 400, the typed key not echoed, nothing written",
     r.status)
no_reauth("ada@example.com")
r = ada.post(PAGE, base(stripe_secret_key=SK))
t.ok(r.status == 303 and "/admin/reauth" in (r.header("location") or "") and state() == before,
     "a secret without a fresh sign-in: to /admin/reauth, nothing written", r.header("location"))
r = ada.post(PAGE, base(stripe_mode="live"))
t.ok(r.status == 303 and "/admin/reauth" in (r.header("location") or "") and state() == before,
     "a mode change without a fresh sign-in: to /admin/reauth, nothing written", r.header("location"))
for bad, why in ((dict(topup_min="600", topup_max="500"), "min over max"),
                 (dict(topup_min="-1"), "a negative minimum"), (dict(topup_max="lots"), "a word"),
                 (dict(mismatch="refund"), "an unknown mismatch policy"),
                 (dict(refund_policy="delete"), "an unknown refund policy"),
                 (dict(paypal_verify="trust"), "an unknown PayPal verification"),
                 (dict(stripe_mode="prod"), "an unknown mode"),
                 (dict(reconcile_minutes="1"), "a lookup delay under 2 minutes"),
                 (dict(stripe_secret_key="sk_test two words"), "a secret with a space")):
    r = ada.post(PAGE, base(**bad))
    t.ok(r.status == 400 and state() == before, "%s: 400, nothing written" % why, r.status)

# -- enable Stripe with both secrets after a fresh sign-in --
ada.reauth(PAGE)
r = ada.post(PAGE, base(stripe_enabled="1", stripe_secret_key=SK, stripe_webhook_secret=WH))
t.ok(r.status == 303 and r.header("location").endswith("done=saved"), "enable with both secrets: 303", r.status)
rows = dict((n, (bytes(b), h)) for n, b, h in sql("SELECT name, sealed, hint FROM gateway_secrets"))
t.ok(set(rows) == {"stripe.secret_key", "stripe.webhook_secret"} and
     SK.encode() not in rows["stripe.secret_key"][0] and rows["stripe.secret_key"][1] == "K7QA",
     "both secrets sealed (not the plaintext), the hint is the last four", sorted(rows))
p = s.cli("gateway", "check", "stripe.secret_key", check=False)
t.ok(p.returncode == 0 and SK not in p.stdout, "the sealed key opens with the key file (gateway check)",
     p.stdout + p.stderr)
t.is_(one("SELECT value FROM settings WHERE key = 'payments.stripe.enabled'"), "1", "Stripe enabled")
a = audits()
t.ok(len(a) == 1 and "payments.stripe.enabled 0 -> 1" in a[0][0] and "stripe.secret_key replaced" in a[0][0] and
     "stripe.webhook_secret replaced" in a[0][0] and SK not in a[0][0] and "K7QA" not in a[0][0],
     "one audit row names what changed, the secrets only as replaced", a)
r = ada.get(PAGE)
t.ok("••••K7QA" in r.text and SK not in r.text and WH not in r.text,
     "the page shows the key by its hint, never the value")
ok, seen = every_worker_says(["'self'", "https://checkout.stripe.com"])
t.ok(ok, "every worker's next response: form-action 'self' https://checkout.stripe.com", seen)

# -- an empty field keeps the secret; limits and policies need no fresh sign-in --
blob = rows["stripe.secret_key"][0]
no_reauth("ada@example.com")
r = ada.post(PAGE, base(stripe_enabled="1", topup_min="10", topup_max="250.50", mismatch="wallet",
                        refund_policy="deprovision", paypal_verify="postback", reconcile_minutes="15"))
t.ok(r.status == 303 and r.header("location").endswith("done=saved"),
     "limits and policies alone: saved without a fresh sign-in", r.header("location"))
t.ok(bytes(one("SELECT sealed FROM gateway_secrets WHERE name = 'stripe.secret_key'")) == blob,
     "the secret field left empty kept the stored key")
t.is_(sql("SELECT key, value FROM settings WHERE key IN ('payments.topup_min', 'payments.topup_max', "
          "'payments.mismatch', 'payments.refund_policy', 'payments.paypal.verify', "
          "'payments.reconcile_minutes') ORDER BY key"),
      [("payments.mismatch", "wallet"), ("payments.paypal.verify", "postback"),
       ("payments.reconcile_minutes", "15"), ("payments.refund_policy", "deprovision"),
       ("payments.topup_max", "25050"), ("payments.topup_min", "1000")],
      "the limits in minor units and the policies are stored")
t.ok(len(audits()) == 2 and "payments.topup_min 500 -> 1000" in audits()[1][0], "one more audit row",
     audits())
r = ada.post(PAGE, base(stripe_enabled="1", topup_min="10", topup_max="250.50", mismatch="wallet",
                        refund_policy="deprovision", paypal_verify="postback", reconcile_minutes="15"))
t.ok(r.status == 303 and len(audits()) == 2, "saving what is stored changes nothing and audits nothing")

# -- replace a secret, enable PayPal from the command line --
ada.reauth(PAGE)
r = ada.post(PAGE, base(stripe_enabled="1", stripe_secret_key=SK2))
t.ok(r.status == 303 and bytes(one("SELECT sealed FROM gateway_secrets WHERE name = 'stripe.secret_key'")) != blob
     and one("SELECT hint FROM gateway_secrets WHERE name = 'stripe.secret_key'") == "R9TD",
     "a typed secret replaces the stored one", r.status)
for name, val in (("paypal.client_id", "pp-client-id-0123456789"), ("paypal.client_secret", "pp-secret-0123456789"),
                  ("paypal.webhook_id", "WH-0123456789ABCDEF")):
    s.cli("gateway", "set", name, input=val + "\n")
s.cli("gateway", "enable", "paypal")
ok, seen = every_worker_says(["'self'", "https://checkout.stripe.com", PP_ORIGIN])
t.ok(ok, "PayPal enabled by the command line: its configured checkout origin joins on every worker", seen)

# -- disable Stripe: its origin leaves --
ada.reauth(PAGE)
r = ada.post(PAGE, base(paypal_enabled="1"))
t.ok(r.status == 303 and one("SELECT value FROM settings WHERE key = 'payments.stripe.enabled'") == "0",
     "Stripe disabled", r.status)
ok, seen = every_worker_says(["'self'", PP_ORIGIN])
t.ok(ok, "... and its origin leaves form-action", seen)
t.ok("payments.stripe.enabled 1 -> 0" in audits()[-1][0], "... audited", audits()[-1])

# -- the secrets are nowhere --
pages = "".join(ada.get(p).text for p in (PAGE, "/admin/audit"))
audit_text = repr(sql("SELECT * FROM audit_log"))
with open(s.log, errors="replace") as f:
    log_text = f.read()
for sec in (SK, WH, SK2):
    t.ok(sec not in pages and sec not in audit_text and sec not in log_text,
         "the secret %s... is in no page, audit row or log line" % sec[:12])
s.check_sanitizers(t)
t.done()
