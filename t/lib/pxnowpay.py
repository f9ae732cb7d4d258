"""pxnowpay.py: the NOWPayments double (t/lib/nowpay_double.py) beside a
test stack, and the shop's pages a customer pays through.

    d = NowPayDouble(stack)      # before stack.start(): it sets the
                                 # stack's nowpayments_api_url and origin
    stack.start(); d.configure() # the API key and IPN secret sealed, the
                                 # gateway enabled
    pub = order_via(c, slug)     # cart, /checkout by NOWPayments: /pay/{pub}
    url = d.invoice_of(c, pub)   # /pay/{pub} until its 303 to the invoice
    d.pay_page(url, "full")      # the invoice page's button
"""
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from pxdouble import DoubleControl
from px import terminate

HERE = os.path.dirname(os.path.abspath(__file__))
API_KEY = "NP-TEST-KEY-0000-PXDOUBLE"
IPN_SECRET = "px-double-ipn-secret/+0001"


class NowPayDouble(DoubleControl):
    def __init__(self, stack, key=API_KEY, secret=IPN_SECRET):
        self.s = stack
        self.key = key
        self.secret = secret
        sf = os.path.join(stack.dir, "nowpay-ipn-secret")
        with open(sf, "w") as f:
            f.write(secret + "\n")
        err = open(os.path.join(stack.dir, "nowpay-double.stderr"), "ab")
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "nowpay_double.py"), "--port", "0",
                                   "--api-key", key, "--ipn-secret-file", sf],
                                  stdout=subprocess.PIPE, stderr=err, text=True)
        self.port = int(self.p.stdout.readline())
        self.base = "http://127.0.0.1:%d" % self.port
        stack.extra.update(nowpayments_api_url=self.base, nowpayments_checkout_origin=self.base)
        if not hasattr(stack, "doubles"):
            stack.doubles = []
        stack.doubles.append(self)

    def configure(self, enable=True):
        """The shop's API key and IPN secret (sealed) and the gateway
        enabled, as an operator would with `1000proxy gateway`."""
        self.s.cli("gateway", "set", "nowpayments.api_key", input=self.key + "\n")
        self.s.cli("gateway", "set", "nowpayments.ipn_secret", input=self.secret + "\n")
        if enable:
            self.s.cli("gateway", "enable", "nowpayments")

    def invoice_of(self, c, pub, timeout=20):
        """Follow /pay/{pub} as the customer's browser does (its meta
        refresh) until it sends them to the invoice: the URL, or None."""
        end = time.time() + timeout
        while time.time() < end:
            r = c.get("/pay/" + pub)
            loc = r.header("location") or ""
            if r.status == 303 and loc.startswith(self.base):
                return loc
            time.sleep(0.2)
        return None

    def pay_page(self, url, how="full", coin="btc"):
        """The invoice page, then its button: the double delivers the
        IPNs before it answers.  (status, Location)."""
        with urllib.request.urlopen(url, timeout=30) as r:
            page = r.read().decode()
        iid = re.search(r'name=iid value="(\d+)"', page).group(1)
        body = urllib.parse.urlencode({"iid": iid, "how": how, "pay_currency": coin}).encode()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **kw):
                return None
        op = urllib.request.build_opener(NoRedirect)
        try:
            r = op.open(urllib.request.Request(self.base + "/payment/pay", data=body, method="POST"), timeout=60)
            return r.status, r.headers.get("Location")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location")

    def stop(self):
        terminate(self.p)


def order_via(c, slug, method="nowpayments"):
    """Put plan slug in the cart and check out by method: the payment's
    public id (from the 303 to /pay/{id}), or the response."""
    c.post("/cart/add", {"plan": slug, "qty": "1"}, page="/cart/add?plan=" + slug)
    r = c.get("/checkout")
    idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text)
    r = c.post("/checkout", {"idem": idem.group(1) if idem else "", "method": method}, page="/checkout")
    loc = r.header("location") or ""
    m = re.match(r"(?:https?://[^/]+)?/pay/([0-9a-f]+)$", loc)
    return m.group(1) if r.status == 303 and m else r


def topup_via(c, amount, method="nowpayments"):
    """/wallet's top-up form: the payment's public id, or the response."""
    r = c.get("/wallet")
    idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text)
    r = c.post("/wallet/topup", {"amount": amount, "method": method, "idem": idem.group(1) if idem else ""},
               page="/wallet")
    loc = r.header("location") or ""
    m = re.match(r"(?:https?://[^/]+)?/pay/([0-9a-f]+)$", loc)
    return m.group(1) if r.status == 303 and m else r
