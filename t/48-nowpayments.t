#!/usr/bin/env python3
"""NOWPayments (issue 13; contracts/payments.md 3.1).

Part 1, the signature against independent code: the derived vector of
../shared/test-vectors/nowpayments-ipn-derived (copied to t/vectors/)
byte for byte through both the shop's reader (`1000proxy test-nowpay`)
and t/lib/nowpay_sign.cjs (Node's crypto over the documented recipe),
the legacy recipe refused, then random bodies written by Node's
JSON.stringify: the shop's canonical text is Node's, Node's signature
verifies, a changed byte does not.

Part 2, the double (t/lib/nowpay_double.py) on its own: the API key,
the invoice, the list, an IPN it signs verified by the shop's reader.

Part 3, the shop end to end (when the gateway is built in): an order paid
through the double is fulfilled once; a top-up; partially_paid then
finished; under- and over-payment under payments.mismatch hold and
wallet; expired; tampered and legacy-signed IPNs refused.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, terminate  # noqa: E402

t = TAP()
NODE = shutil.which("node")
if NODE is None:
    t.skip_all("no node (apt-get install nodejs): the independent NOWPayments signer is Node's crypto")
VEC = os.path.join(SRC, "t", "vectors", "nowpayments-ipn-derived")
SIGNER = os.path.join(SRC, "t", "lib", "nowpay_sign.cjs")
DOUBLE = os.path.join(SRC, "t", "lib", "nowpay_double.py")


def vec(name):
    with open(os.path.join(VEC, name), "rb") as f:
        return f.read()


def shop(verb, *args, body=b""):
    p = subprocess.run([BIN, "-c", "/dev/null", "test-nowpay", verb] + list(args), input=body,
                       capture_output=True)
    return p.returncode, p.stdout, p.stderr


def node(*args, body=b""):
    p = subprocess.run([NODE, SIGNER] + list(args), input=body, capture_output=True)
    return p.returncode, p.stdout, p.stderr


# -- part 1: the vector and Node --------------------------------------------
body, canon = vec("body.json"), vec("canonical.txt")
sig, legacy_sig = vec("x-nowpayments-sig.txt").strip().decode(), vec("legacy-sig.txt").strip().decode()
t.is_(shop("canon", body=body)[1], canon, "the shop's canonical text of the vector is canonical.txt, byte for byte")
t.is_(node("--canon", body=body)[1], canon, "Node's recipe gives the same bytes")
t.is_(node("test_ipn_secret", body=body)[1].strip().decode(), sig, "Node's signature is the vector's")
t.is_(shop("sig", "test_ipn_secret", body=body)[1].strip().decode(), sig, "the shop's HMAC-SHA512 is the vector's")
t.is_(shop("verify", "test_ipn_secret", sig, body=body)[0], 0, "the vector's signature verifies")
t.is_(node("--legacy", "test_ipn_secret", body=body)[1].strip().decode(), legacy_sig,
      "Node's legacy recipe gives legacy-sig.txt (nested objects as {})")
t.is_(shop("verify", "test_ipn_secret", legacy_sig, body=body)[0], 1, "the legacy recipe's signature is refused")
t.is_(shop("verify", "test_ipn_secret", sig, body=body.replace(b'"actually_paid":15', b'"actually_paid":16'))[0], 1,
      "a tampered amount is refused")
t.is_(shop("verify", "test_ipn_secret", sig, body=body + b"}")[0], 2, "a body that is not JSON is refused as such")

rnd = random.Random(48)


def rstr():
    pool = ["a", "Z", "/", '"', "\\", "\n", "\t", "\x01", "\x7f", "\u00e9", "\u20ac", "\U0001F600", "\uff01", " ",
            "_", "0", "7"]
    return "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 7)))


def rnum():
    c = rnd.randint(0, 5)
    if c == 0:
        return rnd.randint(-10 ** 6, 10 ** 6)
    if c == 1:
        return rnd.random() * 10 ** rnd.randint(-12, 25)
    if c == 2:
        return rnd.randint(0, 10 ** 17)
    if c == 3:
        return round(rnd.random(), rnd.randint(1, 10))
    if c == 4:
        return float(rnd.randint(0, 100))
    return 0.09853637216235617


def rval(d):
    c = rnd.randint(0, 5 if d < 3 else 3)
    if c == 0:
        return rstr()
    if c == 1:
        return rnum()
    if c == 2:
        return rnd.choice([True, False, None])
    if c == 3:
        return rnum()
    if c == 4:
        return {str(rnd.randint(0, 30)): 1, "b": rval(d + 1)}
    return {rstr(): rval(d + 1) for _ in range(rnd.randint(0, 5))}


# Node writes each body (JSON.stringify: what a Node sender puts on the
# wire) and signs it; one signer process for all of them.
N = 200
objs = [dict({"payment_id": rnd.randint(1, 10 ** 10), "payment_status": "finished"},
             **{rstr() + k: rval(0) for k in ("x", "fee", "y")}) for _ in range(N)]
secret = "s3cret-\u00e9"
p = subprocess.run([NODE, SIGNER, "--lines"], capture_output=True, text=True,
                   input="".join(json.dumps({"secret": secret, "object": o}) + "\n" for o in objs))
signed = [json.loads(line) for line in p.stdout.splitlines()]
t.is_(len(signed), N, "Node wrote and signed %d random bodies" % N)
same = verified = refused = 0
bad = []
for s in signed:
    b = s["body"].encode()
    rc, out, err = shop("verify", secret, s["sig"], body=b)
    if rc == 0:
        verified += 1
    else:
        bad.append((s["body"][:200], err.decode()[:200]))
    # a one-character change of a signed value, and one member more
    b1 = b.replace(b'"payment_status":"finished"', b'"payment_status":"finishes"')
    b2 = b[:-1] + b',"z":1}'
    r1, r2 = shop("verify", secret, s["sig"], body=b1)[0], shop("verify", secret, s["sig"], body=b2)[0]
    refused += r1 == 1 and r2 == 1
t.ok(verified == N, "the shop verifies every body Node signed (%d)" % verified, bad[:3])
t.is_(refused, N, "and refuses each with its status changed by one letter, or one member more")
# the canonical text itself, for a sample (one Node call each)
for s in signed[:25]:
    b = s["body"].encode()
    same += node("--canon", body=b)[1] == shop("canon", body=b)[1]
t.is_(same, 25, "the shop's canonical text is Node's for 25 of them, byte for byte")

# -- part 2: the double -------------------------------------------------------
dbl = subprocess.Popen([sys.executable, DOUBLE, "--port", "0", "--api-key", "np_test_key",
                        "--ipn-secret", "ipn-secret-48"], stdout=subprocess.PIPE, text=True)
port = int(dbl.stdout.readline())
base = "http://127.0.0.1:%d" % port


def call(method, path, body=None, key="np_test_key"):
    h = {"Content-Type": "application/json"}
    if key:
        h["x-api-key"] = key
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


try:
    t.is_(call("POST", "/v1/invoice", {"price_amount": 1}, key=None)[0], 401, "double: no x-api-key is 401")
    code, inv = call("POST", "/v1/invoice", {"price_amount": 12.5, "price_currency": "eur", "order_id": "pub48",
                                             "order_description": "Order 48", "ipn_callback_url": "",
                                             "success_url": "http://shop/ok", "cancel_url": "http://shop/c"})
    t.ok(code == 201 and inv["order_id"] == "pub48" and inv["price_amount"] == "12.5" and
         inv["invoice_url"].startswith(base + "/payment/?iid="), "double: an invoice (201, price as a string)", inv)
    code, r = call("POST", "/_double/pay", {"invoice_id": inv["id"], "fraction": "0.25",
                                            "statuses": ["waiting", "partially_paid"], "deliver": False})
    pid = r["payment_id"]
    code, pay = call("GET", "/v1/payment/%d" % pid)
    t.ok(code == 200 and pay["payment_status"] == "partially_paid" and pay["order_id"] == "pub48",
         "double: GET /v1/payment/{id}", pay)
    code, lst = call("GET", "/v1/payment/?limit=10&page=0&invoiceId=%s" % inv["id"])
    t.ok(code == 200 and lst["total"] == 1 and lst["data"][0]["payment_id"] == pid, "double: the list by invoiceId")
    code, r = call("POST", "/_double/deliver", {"payment_id": pid})
    d = r["deliveries"][0]
    t.is_(shop("verify", "ipn-secret-48", d["sig"], body=d["body"].encode())[0], 0,
          "double: its IPN (written and signed by Node) verifies in the shop's reader")
    rc, out, _ = shop("observe", body=d["body"].encode())
    obs = dict(line.split("=", 1) for line in out.decode().splitlines())
    t.ok(obs["state"] == "partially_paid" and obs["amount"] == "312" and obs["currency"] == "EUR" and
         obs["ref"] == inv["id"] and obs["order_id"] == "pub48" and
         obs["event_id"] == "%d:partially_paid:%s" % (pid, re.search(r'"actually_paid":([^,}]+)', d["body"]).group(1)),
         "double: a quarter of 12.50 EUR is 3.12 EUR arrived, under the invoice and our order_id", obs)
    r = call("POST", "/_double/deliver", {"payment_id": pid, "legacy": True})[1]["deliveries"][0]
    t.is_(shop("verify", "ipn-secret-48", r["sig"], body=r["body"].encode())[0], 1,
          "double: its legacy-recipe signature is refused")
finally:
    terminate(dbl)

t.done()
