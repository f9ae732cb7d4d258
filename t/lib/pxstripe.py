"""pxstripe.py: the Stripe double (t/lib/stripe_double.py) beside a test
stack, and the official npm client as the independent signer.

    d = StripeDouble(stack)          # before stack.start(): it sets the
                                     # stack's stripe_api_url and origin
    stack.start(); d.configure()     # secrets sealed, gateway enabled
    d.control("complete/" + sid, deliver="twice")
    npm_sign(payload, secret, timestamp=...)   # generateTestHeaderString
"""
import json
import os
import subprocess
import sys

from pxdouble import DoubleControl
from px import BIN, terminate

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "sk_test_51PxShopDoubleKey0000000000000000"
WEBHOOK_SECRET = "whsec_px_double_endpoint_secret_0001"


def node_modules():
    """Where quickstart installed the npm packages (<builddir>/node), or
    PX_NODE_MODULES."""
    cands = [os.environ.get("PX_NODE_MODULES", ""), os.path.join(os.path.dirname(BIN), "node", "node_modules")]
    return next((c for c in cands if c and os.path.isfile(os.path.join(c, "stripe", "package.json"))), None)


def npm(script, req, *args):
    mods = node_modules()
    if mods is None:
        raise RuntimeError("npm stripe is not installed (./quickstart test installs it)")
    p = subprocess.run(["node", os.path.join(HERE, script), mods] + [str(a) for a in args],
                       input=json.dumps(req) if req is not None else "", capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0 and not p.stdout:
        raise RuntimeError("%s: %s" % (script, p.stderr))
    return json.loads(p.stdout)


def npm_sign(payload, secret=WEBHOOK_SECRET, **kw):
    """The Stripe-Signature header stripe.webhooks.generateTestHeaderString
    makes for payload (str): the independent signer."""
    req = {"op": "sign", "payload": payload, "secret": secret}
    req.update(kw)
    return npm("stripe_sign.cjs", req)


def npm_verify(payload, header, secret=WEBHOOK_SECRET, tolerance=None, received_at=None):
    req = {"op": "verify", "payload": payload, "header": header, "secret": secret}
    if tolerance is not None:
        req["tolerance"] = tolerance
    if received_at is not None:
        req["received_at"] = received_at
    return npm("stripe_sign.cjs", req)


class StripeDouble(DoubleControl):
    def __init__(self, stack, key=SECRET_KEY, secret=WEBHOOK_SECRET):
        self.s = stack
        self.key = key
        self.secret = secret
        err = open(os.path.join(stack.dir, "stripe-double.stderr"), "ab")
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "stripe_double.py"), "--port", "0",
                                   "--key", key, "--webhook-secret", secret,
                                   "--webhook", "http://127.0.0.1:%d/webhooks/stripe" % stack.port,
                                   "--clock-file", stack.clock_file],
                                  stdout=subprocess.PIPE, stderr=err, text=True)
        self.port = int(self.p.stdout.readline())
        self.base = "http://127.0.0.1:%d" % self.port
        stack.extra.update(stripe_api_url=self.base, stripe_checkout_origin=self.base)
        if not hasattr(stack, "doubles"):
            stack.doubles = []
        stack.doubles.append(self)

    def configure(self, enable=True):
        """The shop's Stripe keys (sealed) and the gateway enabled, as an
        operator would with `1000proxy gateway`."""
        self.s.cli("gateway", "set", "stripe.secret_key", input=self.key + "\n")
        self.s.cli("gateway", "set", "stripe.webhook_secret", input=self.secret + "\n")
        if enable:
            self.s.cli("gateway", "enable", "stripe")

    def requests(self):
        return self.control("requests", method="GET")

    def call(self, *args):
        """`1000proxy test-stripe call` against this double."""
        p = subprocess.run([BIN, "-c", self.s.conf, "test-stripe", "call", self.base, self.key] +
                           [str(a) for a in args], capture_output=True, text=True, timeout=60)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return {"rc": -99, "err": p.stdout + p.stderr}

    def stop(self):
        terminate(self.p)
