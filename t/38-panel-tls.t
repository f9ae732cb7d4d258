#!/usr/bin/env python3
"""t/38-panel-tls.t: the 3X-UI panel client speaks TLS or stays on the
machine (issue 16, ASVS V1.9.1, V1.9.2, V9.2.1, V9.2.2).

- a panel URL is https://, or http:// on a loopback host only: the
  validator `server add/set` and the admin form share (valid.c) refuses
  the rest, and the client (xui_open) refuses an old http:// row at its
  next call, which shows as the server's last error;
- over TLS the panel's certificate is checked: self-signed without a pin
  is refused, the right pin (sha256// of its SubjectPublicKeyInfo) is
  accepted, a wrong one refused; a CA PEM for the panel's own CA is
  accepted; an expired or wrong-host certificate is refused;
- a server whose TLS verification was off (tls_verify = 0) is refused
  until it carries a pin or a CA.

The double (t/lib/paneld.py --tls-cert/--tls-key) serves certificates
made here with openssl(1) in the test's temp dir; `1000proxy test-xui`
takes the pin and CA from PX_TEST_XUI_PIN / PX_TEST_XUI_CA.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP  # noqa: E402
from pxweb import Shop  # noqa: E402
import pxprov as pv  # noqa: E402

t = TAP()
s = Shop(workers=1, conf={"panel_timeout": "5", "work_runners": "1"})
s.start()
D = os.path.join(s.dir, "tls")
os.makedirs(D)


def ossl(*args, cwd=D):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def key(name):
    ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key")


def ext(name, san):
    with open(os.path.join(D, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % san)


# A self-signed certificate for 127.0.0.1 (what a panel's installer makes).
key("self")
ossl("req", "-x509", "-new", "-key", "self.key", "-out", "self.pem", "-days", "30", "-subj", "/CN=127.0.0.1",
     "-addext", "subjectAltName=IP:127.0.0.1")
# A test CA and three leaves it signs: good, wrong host, expired.
key("ca")
ossl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=Panel Test CA",
     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
for name, san in (("good", "IP:127.0.0.1,DNS:localhost"), ("wronghost", "DNS:panel.other.example")):
    key(name)
    ossl("req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
    ext(name, san)
    ossl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", name + ".pem", "-days", "30", "-extfile", name + ".ext")
key("expired")
ossl("req", "-new", "-key", "expired.key", "-out", "expired.csr", "-subj", "/CN=expired")
ext("expired", "IP:127.0.0.1,DNS:localhost")
open(os.path.join(D, "index.txt"), "w").close()
with open(os.path.join(D, "serial"), "w") as f:
    f.write("1000\n")
with open(os.path.join(D, "ca.cnf"), "w") as f:
    f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
            "default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n")
ossl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "expired.csr",
     "-out", "expired.pem", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext",
     "-extfile", "expired.ext")


def pin(name):
    """sha256//BASE64 of the certificate's SubjectPublicKeyInfo (DER)."""
    pub = subprocess.run(["openssl", "x509", "-in", os.path.join(D, name + ".pem"), "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def double(name):
    return pv.panel(s, "p-" + name, "classic", "vless:21001:V", persist=False,
                    extra=("--tls-cert", os.path.join(D, name + ".pem"), "--tls-key", os.path.join(D, name + ".key")))


def xui(url, p, env=None):
    """`test-xui URL ... detect list 1`: (exit status, JSON or None, stderr)."""
    e = dict(os.environ)
    for k in ("PX_TEST_XUI_PIN", "PX_TEST_XUI_CA", "PX_TEST_XUI_NOVERIFY"):
        e.pop(k, None)
    e.update(env or {})
    r = subprocess.run([BIN, "-c", s.conf, "test-xui", url, p.user, p.password, "detect", "list", "1"],
                       capture_output=True, text=True, timeout=60, env=e)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = None
    return r.returncode, out, r.stderr + r.stdout


def works(res):
    return res[1] is not None and res[1].get("rc") == 0


# -- http:// only on loopback --
plain = pv.panel(s, "plain", "classic", "vless:21001:V", persist=False)
r = s.cli("server", "add", "--name", "far", "--country-code", "DE", "--country", "Land DE",
          "--url", "http://panel.example.com:2053/base/", "--user", "admin", "--host", "127.0.0.1",
          input="pw\n", check=False)
t.ok(r.returncode != 0 and "https://" in r.stderr, "server add: an http:// panel off loopback is refused",
     (r.returncode, r.stderr))
for url in ("http://10.1.2.3:2053/", "http://[2001:db8::1]:2053/", "http://127.example.com/",
            "http://localhost.example.com/"):
    r = xui(url, plain)
    t.ok(r[0] != 0 and "must be https://" in r[2], "the client refuses %s before connecting" % url, r)
t.ok(works(xui(plain.url, plain)), "http://127.0.0.1 (loopback) still works")
t.ok(works(xui(plain.url.replace("127.0.0.1", "localhost"), plain)), "http://localhost still works")
sid = pv.server(s, plain, "near")
s.sql("UPDATE servers SET panel_url = 'http://192.0.2.7:2053/' WHERE id = ?", (sid,))
r = s.cli("server", "sync", str(sid), check=False)
err = s.sql("SELECT last_error FROM servers WHERE id = ?", (sid,))[0][0]
t.ok(r.returncode != 0 and "https://" in err, "an old http:// row is refused at its next call, "
     "its last error says why", (r.returncode, r.stdout, r.stderr, err))

# -- self-signed: refused without a pin, the right pin accepted --
ss = double("self")
url = "https://127.0.0.1:%d/" % ss.port
r = xui(url, ss)
t.ok(not works(r) and "certificate" in r[2].lower(), "self-signed without a pin is refused", r)
t.ok(works(xui(url, ss, {"PX_TEST_XUI_PIN": pin("self")})), "self-signed with the right pin is accepted")
r = xui(url, ss, {"PX_TEST_XUI_PIN": pin("good")})
t.ok(not works(r) and "public key" in r[2].lower(), "a wrong pin is refused", r)
r = xui(url, ss, {"PX_TEST_XUI_NOVERIFY": "1"})
t.ok(not works(r) and "needs a pin" in r[2], "TLS verification off without a pin is refused (needs a pin)", r)
t.ok(works(xui(url, ss, {"PX_TEST_XUI_NOVERIFY": "1", "PX_TEST_XUI_PIN": pin("self")})),
     "TLS verification off with the right pin is accepted")
t.ok(works(xui(url, ss, {"PX_TEST_XUI_CA": os.path.join(D, "self.pem")})),
     "self-signed with its own certificate as the CA PEM is accepted")

# -- `server pin`: a server whose TLS verification was off needs a pin --
r = s.cli("server", "add", "--name", "selfie", "--country-code", "DE", "--country", "Land DE",
          "--url", "https://127.0.0.1:%d/" % ss.port, "--user", ss.user, "--host", "127.0.0.1",
          "--no-tls-verify", input=ss.password + "\n")
SS = int(r.stdout)


def sync(sid):
    r = s.cli("server", "sync", str(sid), check=False)
    return r.returncode, s.sql("SELECT last_error FROM servers WHERE id = ?", (sid,))[0][0], r.stdout + r.stderr


r = sync(SS)
t.ok(r[0] != 0 and "needs a pin" in r[1], "tls_verify=0 server: refused until pinned, its last error says so", r)
r = s.cli("server", "pin", str(SS), check=False)
t.ok(r.returncode == 0 and r.stdout.strip() == pin("self") and "--set " + pin("self") in r.stderr,
     "server pin ID shows the panel's current key and the command to trust it", (r.stdout, r.stderr, pin("self")))
r = s.cli("server", "pin", str(SS), "--set", pin("good"), check=False)
t.is_(r.returncode, 0, "server pin --set stores a pin")
r = sync(SS)
t.ok(r[0] != 0 and "public key" in r[1].lower(), "a server pinned to another key is refused", r)
s.cli("server", "pin", str(SS), "--set", pin("self"))
r = sync(SS)
t.ok(r[0] == 0, "the server pinned to its panel's key syncs (the kept session reopened with the new pin)", r)
r = s.cli("server", "pin", str(SS), "--set", "sha256//short", check=False)
t.ok(r.returncode != 0 and s.sql("SELECT tls_pin FROM servers WHERE id = ?", (SS,))[0][0] == pin("self"),
     "server pin --set refuses a malformed pin", r.stderr)
s.cli("server", "pin", str(SS), "--clear")
r = sync(SS)
t.ok(r[0] != 0 and "needs a pin" in r[1], "cleared: refused again", r)
s.cli("server", "pin", str(SS), "--ca", os.path.join(D, "self.pem"))
r = sync(SS)
t.ok(r[0] == 0, "its own certificate as the CA: syncs", r)
a = s.sql("SELECT actor, detail FROM audit_log WHERE action = 'server.tls_pin' AND target = ? ORDER BY id",
          ("server:%d" % SS,))
t.ok(len(a) == 4 and a[0][0] == "cli" and pin("good") in a[0][1] and "cleared" in a[2][1] and "CA: set" in a[3][1],
     "each pin change writes one audit row (actor cli)", a)
r = s.cli("server", "pin", str(sid), check=False)
t.ok(r.returncode != 0 and "https://" in r.stderr, "server pin of an http:// panel: nothing to pin", r.stderr)

# -- a CA PEM: its certificates accepted, an expired or wrong-host one refused --
good = double("good")
url = "https://127.0.0.1:%d/" % good.port
CA = {"PX_TEST_XUI_CA": os.path.join(D, "ca.pem")}
r = xui(url, good)
t.ok(not works(r), "a certificate from a CA the system does not know is refused", r)
t.ok(works(xui(url, good, CA)), "CA PEM accepted: the panel's certificate from that CA")
t.ok(works(xui("https://localhost:%d/" % good.port, good, CA)), "CA PEM accepted by DNS name too (localhost)")
r = xui(url, good, {"PX_TEST_XUI_CA": os.path.join(D, "self.pem")})
t.ok(not works(r), "another CA PEM is refused", r)
wh = double("wronghost")
r = xui("https://127.0.0.1:%d/" % wh.port, wh, CA)
t.ok(not works(r) and ("match" in r[2].lower() or "name" in r[2].lower()),
     "a wrong-host certificate is refused", r)
ex = double("expired")
r = xui("https://127.0.0.1:%d/" % ex.port, ex, CA)
t.ok(not works(r) and "expired" in r[2].lower(), "an expired certificate is refused", r)

s.check_sanitizers(t, "no sanitizer report from the commands")
t.done()
