#!/usr/bin/env python3
"""Passkeys (WebAuthn, attestation "none") through nginx and the pool,
against a software authenticator written apart from the C verifier
(t/lib/webauthn_soft.cjs, node:crypto): ES256 and EdDSA passkeys are
added from the account page (customers) and the staff page (password
first), sign in without a password and stand in for the TOTP code; a
wrong origin, a wrong RP ID hash, a replayed assertion, a challenge used
twice, a wrong signature, another account's passkey, missing user
verification and malformed or oversized JSON and CBOR are refused with
their reasons; renaming and deleting are audited, another person's
passkey is a 404."""
import base64
import json
import os
import re
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP  # noqa: E402
from pxstaff import Staff, totp  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
t = TAP()
s = Shop(workers=2).start()
PW = "correct horse battery staple"
ORIGIN = "http://127.0.0.1:%d" % s.port


def soft(req):
    p = subprocess.run(["node", os.path.join(HERE, "lib", "webauthn_soft.cjs")], input=json.dumps(req),
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        t.bail("webauthn_soft.cjs: " + p.stderr[-500:])
    return json.loads(p.stdout)


def register(email):
    b = Browser(s)
    r = b.form("/register", "/register", {"email": email, "name": email.split("@")[0], "password": PW, "terms": "1"})
    if r.status != 200:
        t.bail("register %s: %d" % (email, r.status))
    s.sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (email,))
    r = b.form("/login", "/login", {"email": email, "password": PW})
    if r.status != 303:
        t.bail("login %s: %d" % (email, r.status))
    return b


def options(b, page, path):
    """The JSON options of path, with the CSRF token of page."""
    r = b.get(page)
    tok = csrf_of(r.text)
    o = b.post(path, {"csrf": tok})
    return tok, o


def add(b, base, alg=-7, name="laptop", extra=None, **lie):
    tok, o = options(b, base, base + "/options")
    opt = o.json()
    q = {"op": "create", "options": opt, "origin": ORIGIN, "alg": alg}
    q.update(lie)
    a = soft(q)
    f = {"csrf": tok, "name": name, "password": PW, "credential": a["credential"]}
    f.update(extra or {})
    return b.post(base, f), a["key"], opt


def assertion(b, page, opath, key, count, **lie):
    """Options from opath (token of page), the soft authenticator's
    answer: (csrf, credential JSON, options)."""
    tok, o = options(b, page, opath)
    q = {"op": "get", "options": o.json(), "origin": ORIGIN, "key": key, "count": count}
    q.update(lie)
    return tok, soft(q)["credential"], o.json()


def signin(key, count, b=None, page="/login", base="/login/passkey", **lie):
    b = b or Browser(s)
    tok, cred, _ = assertion(b, page, base + "/options", key, count, **lie)
    return b, b.post(base, {"csrf": tok, "credential": cred})


def alert(r):
    m = re.search(r'class="alert alert-error" role="alert">([^<]*)<', r.text)
    return m.group(1) if m else ""


def audits(action):
    return s.sql("SELECT count(*) FROM audit_log WHERE action = ?", (action,))[0][0]


# ---- adding passkeys ----
a = register("ann@example.com")
r = a.get("/account/passkeys")
t.ok(r.status == 200 and 'data-passkey="create"' in r.text and 'src="/js/passkey.js"' in r.text
     and "<script>" not in r.text, "the passkeys page has the add form and loads passkey.js (no inline script)")
js = s.get("/js/passkey.js")
t.ok(js.status == 200 and "JSON.parse(" in js.text and not re.search(r"\beval\b|new Function|innerHTML", js.text) and
     (js.header("x-content-type-options") or "") == "nosniff",
     "nginx serves passkey.js (nosniff); it parses JSON with JSON.parse, never eval or innerHTML", js.status)
tok, o = options(a, "/account/passkeys", "/account/passkeys/options")
opt = o.json()["publicKey"]
t.ok(o.status == 200 and o.header("content-type").startswith("application/json") and
     len(base64.urlsafe_b64decode(opt["challenge"] + "==")) == 32 and opt["rp"]["id"] == "127.0.0.1" and
     opt["attestation"] == "none" and [p["alg"] for p in opt["pubKeyCredParams"]] == [-8, -7] and
     "ann" not in opt["user"]["id"], "creation options: a 32-byte challenge, the RP ID, attestation none, EdDSA and ES256, an opaque user id", o.text)
t.is_(s.sql("SELECT count(*) FROM passkey_challenges")[0][0], 1, "the challenge is stored server-side")
t.ok(opt["challenge"].encode() not in b"".join(bytes(x[0]) for x in s.sql("SELECT hash FROM passkey_challenges")),
     "only its hash is stored")
r = a.post("/account/passkeys/options", {})
t.is_(r.status, 403, "the options route checks the CSRF token")

r, ann_es, _ = add(a, "/account/passkeys", -7, "phone")
t.ok(r.status == 303 and r.header("location") == "/account/passkeys?done=added", "an ES256 passkey is added", r.text[:300])
r, ann_ed, _ = add(a, "/account/passkeys", -8, "key")
t.ok(r.status == 303, "an EdDSA passkey is added", r.text[:300])
rows = s.sql("SELECT p.alg, p.name, p.sign_count FROM passkeys p JOIN customers c ON c.id = p.customer_id "
             "WHERE c.email = 'ann@example.com' ORDER BY p.id")
t.is_([tuple(x) for x in rows], [(-7, "phone", 0), (-8, "key", 0)], "both are stored with their algorithms")
t.is_(audits("passkey.added"), 2, "each addition is audited")
m = s.wait_mail("ann@example.com", "A passkey was added", n=2)
t.ok(m is not None and "phone" in str(s.find_mail("ann@example.com", "A passkey was added")[0]),
     "each addition is mailed to the account's owner, naming the passkey")
r = a.get("/account/passkeys")
t.ok("phone" in r.text and "EdDSA" in r.text and "ES256" in r.text, "the page lists them")

r, _, _ = add(a, "/account/passkeys", -7, extra={"password": "wrong password here"})
t.ok(r.status == 403 and "password was wrong" in alert(r), "adding one needs the current password", alert(r))
t.is_(s.sql("SELECT count(*) FROM passkeys")[0][0], 2, "(nothing was added)")

# ---- registration refusals ----
r, _, _ = add(a, "/account/passkeys", -7, origin="http://evil.example")
t.ok(r.status == 400 and "another origin" in alert(r), "registration: a wrong origin is refused", alert(r))
r, _, _ = add(a, "/account/passkeys", -7, rpId="evil.example")
t.ok(r.status == 400 and "RP ID" in alert(r), "registration: a wrong RP ID hash is refused", alert(r))
r, _, _ = add(a, "/account/passkeys", -7, type="webauthn.get")
t.ok(r.status == 400 and "wrong type" in alert(r), "registration: client data of the wrong type is refused", alert(r))
r, _, _ = add(a, "/account/passkeys", -7, flags=0x44)
t.ok(r.status == 400 and "presence" in alert(r), "registration: no user presence is refused", alert(r))
# An indefinite-length map, a float, trailing bytes, a tag, "packed".
for name, att in (("an indefinite-length map", b"\xbf\x63fmt\x64none\xff"),
                  ("trailing bytes", b"\xa0\x00"),
                  ("a tag", b"\xc0\xa0"),
                  ("a float", b"\xf9\x00\x00"),
                  ("truncated CBOR", b"\xa3\x63fmt\x64no"),
                  ("attestation packed", b"\xa3\x63fmt\x66packed\x67attStmt\xa0\x68authData\x40")):
    r, _, _ = add(a, "/account/passkeys", -7, attObj=base64.urlsafe_b64encode(att).decode().rstrip("="))
    t.ok(r.status == 400 and "attestation" in alert(r).lower(), "registration: %s is refused" % name, alert(r))
tok, o = options(a, "/account/passkeys", "/account/passkeys/options")
for name, cred in (("not JSON", "{nope"), ("JSON that is not an object", "[1]"),
                   ("bad base64url", json.dumps({"id": "!!", "rawId": "!!", "type": "public-key", "response": {}})),
                   ("JSON nested too deep", "[" * 50 + "]" * 50)):
    r = a.post("/account/passkeys", {"csrf": tok, "name": "x", "password": PW, "credential": cred})
    t.ok(r.status == 400 and "passkey response" in alert(r), "registration: %s is refused" % name, alert(r))
r = a.post("/account/passkeys", {"csrf": tok, "name": "x", "password": PW, "credential": "{" + " " * 20000 + "}"})
t.ok(r.status == 400 and "too large" in alert(r), "registration: an oversized response is refused", alert(r))
# The same credential id twice.
tok, o = options(a, "/account/passkeys", "/account/passkeys/options")
c1 = soft({"op": "create", "options": o.json(), "origin": ORIGIN, "alg": -7})
r = a.post("/account/passkeys", {"csrf": tok, "name": "dup", "password": PW, "credential": c1["credential"]})
t.is_(r.status, 303, "(a third passkey)")
r = a.post("/account/passkeys", {"csrf": tok, "name": "dup", "password": PW, "credential": c1["credential"]})
t.ok(r.status == 400 and "already used" in alert(r), "a registration response sent twice is refused (challenge spent)", alert(r))
b = register("bob@example.com")
tok, o = options(b, "/account/passkeys", "/account/passkeys/options")
again = soft({"op": "create", "options": o.json(), "origin": ORIGIN, "alg": -7})
r = b.post("/account/passkeys", {"csrf": tok, "name": "b", "password": PW, "credential": again["credential"]})
t.is_(r.status, 303, "Bob adds a passkey of his own")
bob_key = again["key"]
pid_ann = s.sql("SELECT id FROM passkeys WHERE name = 'dup'")[0][0]
r = b.post("/account/passkeys/%d/delete" % pid_ann, {"csrf": csrf_of(b.get("/account/passkeys").text)})
t.is_(r.status, 404, "another customer's passkey id is a 404 (delete)")
r = b.post("/account/passkeys/%d/rename" % pid_ann, {"csrf": csrf_of(b.get("/account/passkeys").text), "name": "mine"})
t.is_(r.status, 404, "another customer's passkey id is a 404 (rename)")

# ---- passwordless sign-in ----
for label, key in (("ES256", ann_es), ("EdDSA", ann_ed)):
    c, r = signin(key, 1)
    t.ok(r.status == 303 and r.header("location") == "/account", "%s: a passkey signs in without a password" % label,
         "%d %s" % (r.status, alert(r)))
    t.is_(c.get("/account").status, 200, "%s: the session is a full one" % label)
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = 'login' AND detail LIKE '%passkey%'")[0][0] >= 2,
     "passkey sign-ins are audited as logins")
t.is_(s.sql("SELECT sign_count FROM passkeys WHERE name = 'phone'")[0][0], 1, "the sign counter is recorded")

s.sql("INSERT INTO login_throttle (key, failures) VALUES ('ip:127.0.0.1', 3) "
      "ON CONFLICT (key) DO UPDATE SET failures = 3")
c, r = signin(ann_ed, 2)
t.ok(r.status == 303 and s.sql("SELECT failures FROM login_throttle WHERE key = 'ip:127.0.0.1'")[0][0] == 3,
     "a passkey sign-in takes back its own count only, not the address's earlier failures",
     s.sql("SELECT key, failures FROM login_throttle"))
s.sql("DELETE FROM login_throttle")
c, r = signin(ann_es, 1)
t.ok(r.status == 400 and "counter did not grow" in alert(r), "a counter that did not grow is refused (replay or clone)", alert(r))
c = Browser(s)
tok, cred, _ = assertion(c, "/login", "/login/passkey/options", ann_es, 5)
r = c.post("/login/passkey", {"csrf": tok, "credential": cred})
t.is_(r.status, 303, "(a fresh assertion signs in)")
r = Browser(s).post("/login/passkey", {"csrf": tok, "credential": cred})
t.is_(r.status, 403, "a replayed assertion from another browser fails the CSRF check")
c3 = Browser(s)
tok3, _, _ = assertion(c3, "/login", "/login/passkey/options", ann_es, 6)
r = c3.post("/login/passkey", {"csrf": tok3, "credential": cred})
t.ok(r.status == 400 and "already used" in alert(r), "a replayed assertion (its challenge used) is refused", alert(r))
c, r = signin(ann_es, 7, origin="http://evil.example")
t.ok(r.status == 400 and "another origin" in alert(r), "sign-in: a wrong origin is refused", alert(r))
c, r = signin(ann_es, 8, rpId="evil.example")
t.ok(r.status == 400 and "RP ID" in alert(r), "sign-in: a wrong RP ID hash is refused", alert(r))
c, r = signin(ann_es, 9, badSig=True)
t.ok(r.status == 400 and "signature is wrong" in alert(r), "sign-in: a wrong signature is refused", alert(r))
c, r = signin(ann_ed, 9, badSig=True)
t.ok(r.status == 400 and "signature is wrong" in alert(r), "sign-in: a wrong EdDSA signature is refused", alert(r))
c, r = signin(ann_es, 10, flags=0x01)
t.ok(r.status == 400 and "user verification" in alert(r), "sign-in: an assertion without user verification is refused", alert(r))
c, r = signin(ann_es, 11, userHandle=bob_key["userHandle"])
t.ok(r.status == 400 and "user handle" in alert(r), "sign-in: another account's user handle is refused", alert(r))
c, r = signin(ann_es, 12, userHandle=None)
t.ok(r.status == 400 and "user handle" in alert(r), "sign-in: an assertion without a user handle is refused", alert(r))
c, r = signin(ann_es, 13, type="webauthn.create")
t.ok(r.status == 400 and "wrong type" in alert(r), "sign-in: client data of the wrong type is refused", alert(r))
# A challenge used twice: the authenticator signs the same options twice.
c = Browser(s)
tok, o = options(c, "/login", "/login/passkey/options")
one = soft({"op": "get", "options": o.json(), "origin": ORIGIN, "key": ann_es, "count": 20})["credential"]
two = soft({"op": "get", "options": o.json(), "origin": ORIGIN, "key": ann_es, "count": 21})["credential"]
t.is_(c.post("/login/passkey", {"csrf": tok, "credential": one}).status, 303, "(the first use of a challenge signs in)")
c.jar.pop("px_c", None)
r = c.post("/login/passkey", {"csrf": tok, "credential": two})
t.ok(r.status == 400 and "already used" in alert(r), "a challenge used twice is refused", alert(r))
c, r = signin(ann_es, 30, page="/admin/login", base="/admin/login/passkey")
t.ok(r.status == 400 and "not registered" in alert(r), "a customer's passkey does not sign in to the staff pages", alert(r))
t.ok(audits("passkey.refused") >= 10, "refusals are audited", audits("passkey.refused"))
t.ok(s.sql("SELECT count(*) FROM passkey_challenges WHERE expires_at < unixepoch()")[0][0] == 0,
     "expired challenges do not pile up")
s.advance(400)
c = Browser(s)
tok, cred, _ = assertion(c, "/login", "/login/passkey/options", ann_es, 40)
s.advance(301)
r = c.post("/login/passkey", {"csrf": tok, "credential": cred})
t.ok(r.status == 400 and "expired" in alert(r), "an expired challenge is refused", alert(r))

# ---- the second factor ----
r = a.get("/account/2fa")
secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', r.text).group(1).replace(" ", "")
r = a.post("/account/2fa/enable", {"password": PW, "code": totp(secret, int(s.now() // 30) - 1),
                                    "csrf": csrf_of(r.text)})
t.is_(r.status, 200, "(Ann enrols TOTP)")
c = Browser(s)
r = c.form("/login", "/login", {"email": "ann@example.com", "password": PW})
t.ok((r.header("location") or "").startswith("/login/2fa"), "(her password leads to the second step)")
r = c.get("/login/2fa")
t.ok('data-passkey="get"' in r.text and "/login/2fa/passkey" in r.text, "the code page offers a passkey")
tok, o = options(c, "/login/2fa", "/login/2fa/passkey/options")
allow = [x["id"] for x in o.json()["publicKey"]["allowCredentials"]]
t.ok(ann_es["credId"] in allow and bob_key["credId"] not in allow, "allowCredentials lists her passkeys only")
cred = soft({"op": "get", "options": o.json(), "origin": ORIGIN, "key": bob_key, "count": 1})["credential"]
r = c.post("/login/2fa/passkey", {"csrf": tok, "credential": cred})
t.ok(r.status == 400 and "not registered to this account" in alert(r),
     "another account's passkey is refused as the second factor", alert(r))
tok, cred, _ = assertion(c, "/login/2fa", "/login/2fa/passkey/options", ann_ed, 50, flags=0x01)
r = c.post("/login/2fa/passkey", {"csrf": tok, "credential": cred})
t.ok(r.status == 303 and r.header("location") == "/account",
     "her passkey (presence only) is the second factor", "%d %s" % (r.status, alert(r)))
t.is_(c.get("/account").status, 200, "the session is a full one")

# ---- rename, delete ----
pid = s.sql("SELECT id FROM passkeys WHERE name = 'key'")[0][0]
r = a.post("/account/passkeys/%d/rename" % pid, {"csrf": csrf_of(a.get("/account/passkeys").text), "name": "yubikey"})
t.ok(r.status == 303 and s.sql("SELECT name FROM passkeys WHERE id = ?", (pid,))[0][0] == "yubikey",
     "a passkey is renamed")
r = a.post("/account/passkeys/%d/delete" % pid, {"csrf": csrf_of(a.get("/account/passkeys").text)})
t.ok(r.status == 303 and s.sql("SELECT count(*) FROM passkeys WHERE id = ?", (pid,))[0][0] == 0, "a passkey is deleted")
t.ok(audits("passkey.renamed") == 1 and audits("passkey.deleted") == 1, "renaming and deleting are audited")
t.ok(s.wait_mail("ann@example.com", "A passkey was deleted") is not None, "a deletion is mailed to the owner")
c, r = signin(ann_ed, 60)
t.ok(r.status == 400 and "not registered" in alert(r), "a deleted passkey no longer signs in", alert(r))

# ---- staff ----
st = Staff(s, "ops@example.com", "super_admin")
r = st.get("/admin/passkeys")
t.ok(r.status == 200 and 'data-passkey="create"' in r.text, "staff have a passkeys page")
tok, o = options(st.b, "/admin/passkeys", "/admin/passkeys/options")
a1 = soft({"op": "create", "options": o.json(), "origin": ORIGIN, "alg": -8})
r = st.post("/admin/passkeys", {"csrf": tok, "name": "ops key", "password": PW, "credential": a1["credential"]})
t.ok(r.status == 403 and "code was wrong" in alert(r), "staff: adding one needs the code too", alert(r))
tok, o = options(st.b, "/admin/passkeys", "/admin/passkeys/options")
a1 = soft({"op": "create", "options": o.json(), "origin": ORIGIN, "alg": -8})
r = st.post("/admin/passkeys", {"csrf": tok, "name": "ops key", "password": PW, "code": st.code(),
                                "credential": a1["credential"]})
t.ok(r.status == 303 and r.header("location") == "/admin/passkeys?done=added", "staff: an EdDSA passkey is added",
     alert(r))
c, r = signin(a1["key"], 1, page="/admin/login", base="/admin/login/passkey")
t.ok(r.status == 303 and r.header("location") == "/admin", "staff: a passkey signs in without a password",
     "%d %s" % (r.status, alert(r)))
t.is_(c.get("/admin").status, 200, "staff: the session reaches the staff pages")
ops_sid = s.sql("SELECT id FROM staff WHERE email = 'ops@example.com'")[0][0]
t.is_(s.sql("SELECT count(*) FROM audit_log WHERE action = 'login.new_device' AND target = ?",
            ("staff:%d" % ops_sid,))[0][0], 1,
      "staff: a passkey sign-in from a new browser is recorded as a new device")
t.ok(s.wait_mail("ops@example.com", "New sign-in") is not None,
     "staff: ... and mailed to the owner, as after a password and a code")
c, r = signin(a1["key"], 2, page="/login", base="/login/passkey")
t.ok(r.status == 400 and "not registered" in alert(r), "a staff passkey does not sign in as a customer", alert(r))
c = Browser(s)
r = c.form("/admin/login", "/admin/login", {"email": "ops@example.com", "password": PW})
tok, cred, _ = assertion(c, "/admin/login/2fa", "/admin/login/2fa/passkey/options", a1["key"], 3)
r = c.post("/admin/login/2fa/passkey", {"csrf": tok, "credential": cred})
t.ok(r.status == 303 and r.header("location") == "/admin", "staff: a passkey is the second factor",
     "%d %s" % (r.status, alert(r)))

# A second-factor reset by another staff member takes the passkeys too.
boss = Staff(s, "boss@example.com", "super_admin")
ops_id = s.sql("SELECT id FROM staff WHERE email = 'ops@example.com'")[0][0]
boss.reauth("/admin/staff")
r = boss.form("/admin/staff", "/admin/staff/%d/reset-2fa" % ops_id, {})
t.ok(r.status == 303 and s.sql("SELECT count(*) FROM passkeys WHERE staff_id = ?", (ops_id,))[0][0] == 0,
     "a staff member's second-factor reset removes their passkeys", r.status)
c, r = signin(a1["key"], 9, page="/admin/login", base="/admin/login/passkey")
t.ok(r.status == 400 and "not registered" in alert(r), "and they no longer sign in", alert(r))
# A deleted account's passkeys go with it.
bob_id = s.sql("SELECT id FROM customers WHERE email = 'bob@example.com'")[0][0]
t.is_(s.sql("SELECT count(*) FROM passkeys WHERE customer_id = ?", (bob_id,))[0][0], 1, "(Bob has a passkey)")
r = b.form("/account/delete", "/account/delete", {"password": PW, "confirm": "1"})
t.ok(r.status in (200, 303) and s.sql("SELECT count(*) FROM passkeys WHERE customer_id = ?", (bob_id,))[0][0] == 0,
     "deleting an account deletes its passkeys", r.status)

# passkey_rp_id must be base_url's host or a parent domain of it.
conf = os.path.join(s.dir, "rp.conf")
verdicts = []
for rp in ("example.com", "shop.example.com", "SHOP.example.com", "evil.com", "op.example.com", "example.com:443"):
    with open(conf, "w") as f:
        f.write('base_url = "https://Shop.Example.com/"\npasskey_rp_id = "%s"\n' % rp)
    p = subprocess.run([BIN, "-c", conf, "config"], capture_output=True, text=True)
    verdicts.append((rp, p.returncode == 0, "passkey_rp_id" in p.stderr))
t.is_(verdicts, [("example.com", True, False), ("shop.example.com", True, False), ("SHOP.example.com", False, True),
                 ("evil.com", False, True), ("op.example.com", False, True), ("example.com:443", False, True)],
      "passkey_rp_id must be base_url's host or a parent domain, in lower case: anything else stops the start")

s.check_sanitizers(t)
s.stop()
t.done()
