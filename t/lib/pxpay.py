"""pxpay.py: a customer paying through a gateway double, for t/97-pay-flow.t
and t/46-pay-kill.t (core13, issue 13).

    d = StripeDouble(shop)        # before shop.start(); set stripe_api_url
    p = Payer(shop, client, plan_slug)
    pub = p.checkout("stripe")    # /checkout by card -> the payment's public id
    loc, waited, pages = p.follow(pub)   # /pay/{id} until it sends the buyer on
    p.payment(pub)                # (id, state, held_reason, fulfilled_at,
                                  #  fulfilled_by, gateway_ref, amount, order,
                                  #  last_error)
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

from px import SRC, terminate


class StripeDouble:
    """t/lib/stripe_double.py on an ephemeral port, delivering to shop's
    /webhooks/stripe over plain HTTP, on the shop's test clock."""

    def __init__(self, shop):
        self.p = subprocess.Popen([sys.executable, os.path.join(SRC, "t", "lib", "stripe_double.py"),
                                   "--port", "0", "--webhook",
                                   "http://127.0.0.1:%d/webhooks/stripe" % shop.port,
                                   "--clock-file", shop.clock_file],
                                  stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(shop.dir, "stripe.log"), "ab"), text=True)
        self.port = int(self.p.stdout.readline().strip())
        self.base = "http://127.0.0.1:%d" % self.port
        shop.extra.update(stripe_api_url=self.base, stripe_checkout_origin=self.base)

    def configure(self, shop):
        shop.cli("gateway", "set", "stripe.secret_key", input="sk_test_core13\n")
        shop.cli("gateway", "set", "stripe.webhook_secret", input="whsec_test_secret\n")
        shop.cli("gateway", "enable", "stripe")

    def call(self, path, body=None, method=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return {"http": e.code, "body": e.read().decode(errors="replace")}

    def state(self):
        return self.call("/_double/state")

    def requests(self):
        """Every API request the double saw: method, path, headers, body."""
        return self.call("/_double/requests")

    def calls_with_key(self, path, key):
        """How many POSTs to path carried Idempotency-Key key."""
        return len([x for x in self.requests() if x.get("method") == "POST" and x.get("path") == path and
                    {k.lower(): v for k, v in x.get("headers", {}).items()}.get("idempotency-key") == key])

    def sessions(self):
        return len(self.state().get("sessions", {}))

    def stop(self):
        terminate(self.p)


def pay_id(loc):
    m = re.match(r"^/pay/([0-9a-f]{32})$", loc or "")
    return m.group(1) if m else None


def session_of(url):
    m = re.search(r"/c/pay/(cs_test_[A-Za-z0-9]+)", url or "")
    return m.group(1) if m else None


class Payer:
    def __init__(self, shop, client, slug):
        self.s, self.c, self.slug = shop, client, slug

    def fill_cart(self, qty=1):
        self.c.post("/cart/add", {"plan": self.slug, "qty": str(qty)}, page="/cart/add?plan=" + self.slug)

    def form(self, method):
        """The checkout page and its form fields for method."""
        r = self.c.get("/checkout")
        idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text)
        return r, {"idem": idem.group(1) if idem else "", "csrf": csrf.group(1) if csrf else "",
                   "method": method}

    def checkout(self, method="stripe"):
        self.fill_cart()
        _, f = self.form(method)
        return pay_id(self.c.raw_post("/checkout", f).header("location"))

    def follow(self, pub, timeout=30):
        """GET /pay/{pub} as a browser on its meta refresh would, until it
        sends the buyer elsewhere: (location or ("page", r), seconds, pages)."""
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < timeout:
            r = self.c.get("/pay/" + pub)
            n += 1
            if r.status == 303:
                return r.header("location"), time.monotonic() - t0, n
            if r.status != 200 or 'http-equiv="refresh"' not in r.text:
                return ("page", r), time.monotonic() - t0, n
            time.sleep(0.05)
        return None, time.monotonic() - t0, n

    def payment(self, pub):
        rows = self.s.sql("SELECT id, state, held_reason, fulfilled_at, fulfilled_by, gateway_ref, amount_minor, "
                          "order_id, last_error FROM payments WHERE public_id = ?", (pub,))
        return rows[0] if rows else None
