#!/usr/bin/env python3
"""`1000proxy gateway` (cmd_gateway.c, gateway.c; issue 13): the
operator's way to configure the payment gateways.  A secret comes on
standard input, is sealed in gateway_secrets bound to its name (the
column is not the plaintext; a blob moved to another name does not open),
and shows only by its last four characters; an empty line deletes it;
unknown names are refused.  enable/disable and mode write the settings;
each change writes one audit row that never holds a secret.  The API
bases follow the mode unless the configuration names one."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=1, nginx=False, conf={"paypal_api_url": "http://127.0.0.1:9/pp/"}).start()
sql = s.sql
SECRET = "sk_test_51Hx-VALUE-never-printed-WXYZ"


def gw(*args, input=None):
    return s.cli("gateway", *args, check=False, input=input)


p = gw("list")
t.ok(p.returncode == 0 and "stripe       disabled test  api https://api.stripe.com" in p.stdout and
     "api http://127.0.0.1:9/pp " in p.stdout and "api https://api-sandbox.nowpayments.io" in p.stdout,
     "list: every gateway disabled in test mode; the configured PayPal base wins, its slash trimmed",
     p.stdout + p.stderr)

p = gw("set", "stripe.secret_key", input=SECRET + "\n")
blob = sql("SELECT sealed, hint FROM gateway_secrets WHERE name = 'stripe.secret_key'")
t.ok(p.returncode == 0 and len(blob) == 1 and SECRET.encode() not in bytes(blob[0][0]) and
     blob[0][1] == "WXYZ", "set seals the secret: the column is not the plaintext, the hint is its last four",
     p.stderr)
p = gw("list")
t.ok("stripe.secret_key" in p.stdout and "ends in WXYZ" in p.stdout and SECRET not in p.stdout,
     "list shows the secret by its hint, never its value", p.stdout)
audit = sql("SELECT action, target, detail FROM audit_log WHERE action LIKE 'gateway.%' ORDER BY id")
t.ok(audit == [("gateway.secret_set", "gateway_secret:stripe.secret_key", "by the command line")],
     "one audit row, naming the secret, not holding it", audit)

p = gw("set", "stripe.webhook_secret", input="short\n")
t.ok(p.returncode == 0 and sql("SELECT hint FROM gateway_secrets WHERE name = 'stripe.webhook_secret'")
     == [("",)], "a short secret gets no hint (a quarter of it would give it away)")
# The blob bound to its name: moved to another name it does not open.
sql("UPDATE gateway_secrets SET sealed = (SELECT sealed FROM gateway_secrets WHERE name = "
    "'stripe.secret_key') WHERE name = 'stripe.webhook_secret'")
p = gw("check", "stripe.webhook_secret")
t.ok(p.returncode == 1, "a sealed secret copied under another name does not open", p.stdout + p.stderr)
p = gw("check", "stripe.secret_key")
t.ok(p.returncode == 0 and p.stdout.strip() == "opens, %d bytes" % len(SECRET),
     "and under its own name it opens to what was typed", p.stdout + p.stderr)

before = sql("SELECT count(*) FROM audit_log")[0][0]
p = gw("set", "stripe.nonsense", input="x\n")
t.ok(p.returncode == 1 and "no secret is called" in p.stderr and
     sql("SELECT count(*) FROM audit_log")[0][0] == before, "an unknown secret name is refused, nothing written")
p = gw("set", "stripe.secret_key", input="\n")
t.ok(p.returncode == 0 and sql("SELECT count(*) FROM gateway_secrets WHERE name = 'stripe.secret_key'")
     == [(0,)], "an empty line deletes the secret")

p = gw("enable", "paypal")
p2 = gw("mode", "nowpayments", "live")
p3 = gw("list")
t.ok(p.returncode == 0 and p2.returncode == 0 and "paypal       enabled  test" in p3.stdout and
     "nowpayments  disabled live  api https://api.nowpayments.io " in p3.stdout and
     "checkout https://nowpayments.io" in p3.stdout,
     "enable and mode write the settings; live mode moves NOWPayments to its live hosts", p3.stdout)
p = gw("mode", "paypal", "production")
p2 = gw("enable", "bitpay")
t.ok(p.returncode == 2 and p2.returncode == 2, "a mode or a gateway that does not exist is a usage error")

p = s.cli("config", check=False)
t.ok(all(("%s = " % k) in p.stdout for k in ("stripe_api_url", "paypal_checkout_origin", "gateway_timeout",
                                             "paypal_cert_hosts", "paypal_ca_file")),
     "config prints the gateway keys")
t.done()
s.stop()
