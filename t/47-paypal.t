#!/usr/bin/env python3
"""PayPal (issue 13; contracts/payments.md section 2): src/gw_paypal.c,
the webhook verification (offline in the worker with a cached
certificate, the certificate fetch and the postback in work) and the
PayPal double t/lib/paypal_double.py.

Part 1, no shop: the pure pieces in C (test-paypal unit: CRC-32, the
signed string, PayPal's real 2017 vector verified at an injected clock
and refused with webhook_id NotToBeFound) and the C verifier against
deliveries signed by the double with the openssl command line (an
independent signer): its certificate chains to the double's CA, a rogue
CA's and a wrong CN's do not, a changed byte does not verify.
"""
import atexit
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP  # noqa: E402
from pxpaypal import PayPalDouble  # noqa: E402

t = TAP()
TMP = tempfile.mkdtemp(prefix="px47-")
atexit.register(shutil.rmtree, TMP, True)


def px(*args):
    r = subprocess.run([BIN] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


# ---- part 1: the pure pieces ----

rc, out, err = px("test-paypal", "unit", os.path.join(SRC, "t", "vectors", "paypal-webhook-rsa"))
lines = out.splitlines()
bad = [l for l in lines if l.startswith("not ok")]
t.ok(rc == 0 and not bad and any(l.startswith("1..") for l in lines),
     "test-paypal unit: %d checks in C pass (CRC-32, the real vector at an injected clock, "
     "NotToBeFound refused, URL and CN rules, event and order readers)"
     % sum(1 for l in lines if l.startswith("ok ")), out + err)
t.ok(any("PayPal's real signature verifies" in l and l.startswith("ok") for l in lines) and
     any("NotToBeFound" in l and l.startswith("ok") for l in lines),
     "the real PayPal vector verifies, and not with webhook_id NotToBeFound")


class Sink(http.server.BaseHTTPRequestHandler):
    """A webhook endpoint that keeps what arrives (part 1 has no shop)."""
    got = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        Sink.got.append((dict((k.upper(), v) for k, v in self.headers.items()), self.rfile.read(n)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
threading.Thread(target=sink.serve_forever, daemon=True).start()
SINK = "http://127.0.0.1:%d/" % sink.server_address[1]

pp = PayPalDouble(TMP)
# An order, approved and captured through the API as the shop will do.
tok = json.loads(subprocess.run(["curl", "-s", "-u", "px-client:px-secret", "-d", "grant_type=client_credentials",
                                 pp.url + "/v1/oauth2/token"], capture_output=True, text=True).stdout)["access_token"]


def api(method, path, body=None, rid=None):
    import urllib.request
    import urllib.error
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    if rid:
        h["PayPal-Request-Id"] = rid
    req = urllib.request.Request(pp.url + path, data=None if body is None else json.dumps(body).encode(),
                                 method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


st, order = api("POST", "/v2/checkout/orders", {"intent": "CAPTURE", "purchase_units": [
    {"custom_id": "pubX", "amount": {"currency_code": "USD", "value": "15.00"}}]}, rid="pay:x")
oid = order["id"]
pp.ctl("approve", order=oid)
st, cap = api("POST", "/v2/checkout/orders/%s/capture" % oid, None, rid="capture:x")
t.is_(st, 201, "double: a capture of an approved order is 201")


def delivered(**spec):
    Sink.got.clear()
    r = pp.ctl("deliver", url=SINK, **spec)
    return r, Sink.got[-1]


def bodyfile(body):
    path = os.path.join(TMP, "body-%d" % time.monotonic_ns())
    with open(path, "wb") as f:
        f.write(body)
    return path


def c_verify(hdr, body, pem, webhook_id=pp.webhook_id):
    path = bodyfile(body)
    return px("test-paypal", "verify", pem, hdr["PAYPAL-TRANSMISSION-ID"], hdr["PAYPAL-TRANSMISSION-TIME"],
              webhook_id, path, hdr["PAYPAL-TRANSMISSION-SIG"])


now = str(int(time.time()))
r, (hdr, body) = delivered(event="PAYMENT.CAPTURE.COMPLETED", order=oid)
good = os.path.join(pp.pki, "good.pem")
t.is_(c_verify(hdr, body, good)[1], "verified",
      "a delivery signed by the double (openssl dgst -sha256 -sign) verifies in C")
t.ok(c_verify(hdr, body, good, "NotOurs")[0] == 1, "with another webhook id it does not")
t.ok(hdr["PAYPAL-CERT-URL"] == pp.cert_url("good") and hdr["PAYPAL-AUTH-ALGO"] == "SHA256withRSA",
     "the delivery names its certificate URL and SHA256withRSA")
rc, out, _ = px("test-paypal", "event", bodyfile(body))
t.ok(out.startswith("PAYMENT.CAPTURE.COMPLETED %s 3 %s %s 1500 USD" % (r["id"], oid, cap["purchase_units"][0]
     ["payments"]["captures"][0]["id"])) and out.endswith(" pubX 0"),
     "the delivery reads as: paid, order and capture ids, 1500 USD, our public id", out)
r, (hdr, body) = delivered(event="PAYMENT.CAPTURE.COMPLETED", order=oid, tamper=True)
t.ok(c_verify(hdr, body, good)[0] == 1, "a tampered delivery does not verify")
t.is_(px("test-paypal", "cert", good, pp.ca, now)[1].split()[0], "ok",
      "the double's signing certificate chains to its CA with the right CN")
t.ok(px("test-paypal", "cert", os.path.join(pp.pki, "rogue.pem"), pp.ca, now)[1].startswith("bad certificate chain"),
     "a certificate from an unknown CA is refused")
t.ok(px("test-paypal", "cert", os.path.join(pp.pki, "badcn.pem"), pp.ca, now)[1].startswith("bad certificate CN"),
     "a certificate with another CN is refused")
t.ok(px("test-paypal", "cert", good, pp.ca, str(int(time.time()) + 900 * 86400))[1].startswith("bad certificate not valid"),
     "and the same certificate after its end date is refused")

# The postback (2.7.1) checks the webhook_event's bytes as sent.
r, (hdr, body) = delivered(event="PAYMENT.CAPTURE.COMPLETED", order=oid)
pb = (b'{"auth_algo":"SHA256withRSA","cert_url":"' + hdr["PAYPAL-CERT-URL"].encode() +
      b'","transmission_id":"' + hdr["PAYPAL-TRANSMISSION-ID"].encode() + b'","transmission_sig":"' +
      hdr["PAYPAL-TRANSMISSION-SIG"].encode() + b'","transmission_time":"' + hdr["PAYPAL-TRANSMISSION-TIME"].encode() +
      b'","webhook_id":"' + pp.webhook_id.encode() + b'","webhook_event":')


def postback(event_bytes):
    import urllib.request
    req = urllib.request.Request(pp.url + "/v1/notifications/verify-webhook-signature", data=pb + event_bytes + b"}",
                                 method="POST", headers={"Authorization": "Bearer " + tok,
                                                         "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["verification_status"]


t.is_(postback(body), "SUCCESS", "double's postback: the raw body spliced in verifies")
t.is_(postback(json.dumps(json.loads(body), separators=(",", ":")).encode()), "FAILURE",
      "double's postback: the same event re-serialised does not (as PayPal's)")

pp.stop()
sink.shutdown()
t.done()
