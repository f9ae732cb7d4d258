#!/usr/bin/env python3
"""Personal access tokens and the Bearer-authenticated JSON API, through
nginx and the pool: /account/tokens (customers), /admin/tokens (staff),
GET /api/v1/me.

Customers sign up and in through the real forms (POST /register, email
marked verified in SQLite, POST /login).  Staff are made with
`1000proxy user add`; their TOTP enrolment belongs to another part of the
issue, so the test marks TOTP enrolled on the staff row and inserts a
staff session row (mfa_ok = 1) whose token hash is the SHA-256 of a
cookie value it chose: everything after the sign-in is the real code.
"""
import hashlib
import json
import os
import re
import secrets
import sqlite3
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=2).start()

CODES = {"missing_token", "invalid_token", "expired_token", "revoked_token",
         "account_disabled", "insufficient_scope"}
TOKEN_RE = re.compile(r"\bpx_[0-9A-Za-z]{40}\b")


def db():
    c = sqlite3.connect(s.db, timeout=10)
    c.row_factory = sqlite3.Row
    return c


def q(sql, *args):
    c = db()
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def x(sql, *args):
    c = db()
    try:
        c.execute(sql, args)
        c.commit()
    finally:
        c.close()


class Browser:
    """A cookie jar over Stack requests (no redirects followed)."""

    def __init__(self):
        self.jar = {}

    def _send(self, method, path, headers=None, body=None):
        h = dict(headers or {})
        if self.jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        r = s.request(method, path, headers=h, body=body)
        for sc in r.all("set-cookie"):
            nv = sc.split(";")[0]
            name, _, val = nv.partition("=")
            if "max-age=0" in sc.lower() or val == "":
                self.jar.pop(name, None)
            else:
                self.jar[name] = val
        return r

    def get(self, path, **kw):
        return self._send("GET", path, **kw)

    def post(self, path, fields, headers=None):
        from urllib.parse import urlencode
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self._send("POST", path, headers=h, body=urlencode(fields, doseq=True))


def csrf_of(html):
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    return m.group(1) if m else None


def customer(email, pw, name):
    b = Browser()
    r = b.get("/register")
    r = b.post("/register", {"email": email, "name": name, "password": pw, "terms": "1",
                             "csrf": csrf_of(r.text)})
    if r.status != 200:
        t.bail("register failed: %d %s" % (r.status, r.text[:300]))
    x("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", email)
    r = b.get("/login")
    r = b.post("/login", {"email": email, "password": pw, "csrf": csrf_of(r.text)})
    if r.status != 303 or "px_c" not in b.jar:
        t.bail("login failed: %d %s" % (r.status, r.text[:300]))
    b.id = q("SELECT id FROM customers WHERE email = ?", email)[0]["id"]
    b.email = email
    b.pw = pw
    return b


def create(b, base, name, scopes, pw, days="30", extra=None):
    page = b.get(base)
    f = {"name": name, "scope": scopes, "days": days, "password": pw, "csrf": csrf_of(page.text)}
    f.update(extra or {})
    return b.post(base, f)


def me(token=None, header=None, **kw):
    h = {}
    if header is not None:
        h["Authorization"] = header
    elif token is not None:
        h["Authorization"] = "Bearer " + token
    h.update(kw.get("headers", {}))
    return s.get("/api/v1/me", headers=h)


def json_error(r):
    """(code, ok): the error code of a JSON error reply, and whether the
    reply has the documented shape."""
    try:
        j = r.json()
    except ValueError:
        return None, False
    ok = ((r.header("content-type") or "").startswith("application/json") and
          isinstance(j.get("error"), dict) and isinstance(j["error"].get("message"), str) and
          len(j.get("request_id", "")) == 16)
    return j.get("error", {}).get("code"), ok


def raw_db_bytes():
    out = b""
    for suffix in ("", "-wal"):
        try:
            with open(s.db + suffix, "rb") as f:
                out += f.read()
        except FileNotFoundError:
            pass
    return out


PW_A = "tangerine orbit lantern 47"
PW_B = "granite meadow piano 1983"
A = customer("alice@example.com", PW_A, "Alice")
B = customer("bob@example.com", PW_B, "Bob")

# ---- the pages ----
r = A.get("/account/tokens")
t.is_(r.status, 200, "GET /account/tokens signed in is 200")
good, errs = s.html_ok(r.body)
t.ok(good, "/account/tokens is well-formed HTML", errs)
t.ok('name="csrf"' in r.text and 'value="read"' in r.text and 'value="orders"' in r.text,
     "the form carries the CSRF token and the customer scopes")
t.ok('value="write"' not in r.text, "customers are not offered staff scopes")
r = Browser().get("/account/tokens")
t.ok(r.status == 303 and (r.header("location") or "").startswith("/login"),
     "signed out, /account/tokens redirects to sign-in", r.header("location"))

# ---- create: shown once, only the hash stored ----
r = create(A, "/account/tokens", "laptop script", ["read"], PW_A)
m = TOKEN_RE.search(r.text)
t.ok(r.status == 200 and m is not None, "creating a token shows it", r.text[:500])
tokA = m.group(0) if m else "px_" + "0" * 40
t.ok("will not be shown again" in r.text, "the page says the token will not be shown again")
good, errs = s.html_ok(r.body)
t.ok(good, "the new-token page is well-formed HTML", errs)
t.is_(r.header("cache-control"), "no-store", "the new-token page is not cached")
rows = q("SELECT * FROM api_tokens WHERE customer_id = ?", A.id)
t.is_(len(rows), 1, "one token row for A")
row = rows[0]
t.is_(bytes(row["token_hash"]), hashlib.sha256(tokA.encode()).digest(), "the row holds the token's SHA-256")
t.ok(row["prefix"] == tokA[:9] and len(row["prefix"]) < len(tokA) // 3,
     "the row holds only a short prefix", row["prefix"])
t.is_(row["scopes"], "read", "scopes stored")
t.ok(row["expires_at"] is not None and abs(row["expires_at"] - (time.time() + 30 * 86400)) < 120,
     "30-day expiry stored")
t.ok(tokA.encode() not in raw_db_bytes(), "the clear token appears nowhere in the database file or its WAL")
t.ok(tokA[9:].encode() not in raw_db_bytes(), "nor does its secret part")
t.ok(hashlib.sha256(tokA.encode()).digest() in raw_db_bytes() and tokA[:9].encode() in raw_db_bytes(),
     "(control: the same scan does find the hash and the prefix)")
r = A.get("/account/tokens")
t.ok("laptop script" in r.text and row["prefix"] in r.text and tokA not in r.text,
     "the list shows name and prefix, never the token again")
t.ok(not any(tokA in (l.get("path", "") + json.dumps(l)) for l in s.log_lines()),
     "the token is not in the request log")
aud = q("SELECT * FROM audit_log WHERE action = 'token.created'")
t.ok(len(aud) == 1 and aud[0]["actor_kind"] == "customer" and aud[0]["actor_id"] == A.id and
     aud[0]["target"] == "token:%d" % row["id"] and tokA not in aud[0]["detail"],
     "audit row token.created, without the token", [dict(a) for a in aud])

# ---- Bearer on /api/v1/me ----
r = me(tokA)
t.is_(r.status, 200, "GET /api/v1/me with the token is 200")
t.ok((r.header("content-type") or "").startswith("application/json"), "it is JSON")
j = r.json() if r.status == 200 else {}
t.ok(j.get("kind") == "customer" and j.get("id") == A.id and j.get("email") == A.email and
     j.get("name") == "Alice" and j.get("scopes") == ["read"], "it names the token's owner", j)
t.ok(j.get("token", {}).get("id") == row["id"] and j["token"].get("prefix") == row["prefix"] and
     isinstance(j["token"].get("expires_at"), str), "and the token (id, prefix, expiry)", j)
t.ok(tokA not in r.text, "the reply does not echo the token")
lu = q("SELECT last_used_at FROM api_tokens WHERE id = ?", row["id"])[0][0]
t.ok(lu is not None and abs(lu - time.time()) < 120, "last_used_at recorded", lu)
r = me(header="bearer  " + tokA)
t.is_(r.status, 200, "the scheme is case-insensitive and extra spaces are tolerated")
r = s.request("HEAD", "/api/v1/me", headers={"Authorization": "Bearer " + tokA})
t.ok(r.status == 200 and r.body == b"", "HEAD /api/v1/me works without a body")

# ---- bad credentials: always 401 JSON with a stable code ----
cases = [
    ("no header", None),
    ("empty header", ""),
    ("Basic scheme", "Basic YWxpY2U6cGFzc3dvcmQ="),
    ("scheme only", "Bearer"),
    ("scheme and space", "Bearer "),
    ("short token", "Bearer abc"),
    ("unknown token", "Bearer px_" + "A" * 40),
    ("token with a quote", "Bearer px_" + "A" * 20 + "'\"<>" + "A" * 16),
    ("token with a NUL escape", "Bearer px_%00" + "A" * 38),
    ("token of 129 chars", "Bearer " + "A" * 129),
    ("4 KB header", "Bearer " + "A" * 4096),
    ("7 KB header", "Bearer " + "x" * 7000),
    ("two tokens", "Bearer %s %s" % (tokA, tokA)),
    ("token with a trailing comma", "Bearer %s," % tokA),
    ("SQL in the token", "Bearer ' OR 1=1 -- aaaaaaaaaaaaaaaaaa"),
    ("non-ASCII", "Bearer px_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"),
]
for name, hdr in cases:
    if hdr is None:
        r = s.get("/api/v1/me")
    else:
        r = s.request("GET", "/api/v1/me", headers={"Authorization": hdr.encode("utf-8").decode("latin-1")})
    code, shape = json_error(r)
    t.ok(r.status == 401 and shape and code in ("missing_token", "invalid_token"),
         "%s: 401 JSON missing_token/invalid_token" % name, "%d %s" % (r.status, r.text[:200]))
r = s.get("/api/v1/me")
t.ok(r.header("www-authenticate") is not None and "Bearer" in r.header("www-authenticate"),
     "a 401 carries WWW-Authenticate: Bearer")
t.is_(json_error(r)[0], "missing_token", "no header is missing_token")
t.is_(json_error(me("px_" + "A" * 40))[0], "invalid_token", "an unknown token is invalid_token")
t.ok('error="invalid_token"' in (me("px_" + "A" * 40).header("www-authenticate") or ""),
     "an invalid token's WWW-Authenticate says error=\"invalid_token\"")

# A session cookie alone is nothing to the API.
r = A.get("/api/v1/me")
t.ok(r.status == 401 and json_error(r)[0] == "missing_token", "a session cookie alone on /api/v1/me is 401",
     r.text[:200])
r = A.get("/api/v1/me", headers={"Authorization": "Bearer px_" + "B" * 40})
t.is_(r.status, 401, "a cookie does not rescue a bad token")

# ---- API routing errors are JSON ----
r = s.get("/api/v1/nope", headers={"Authorization": "Bearer " + tokA})
code, shape = json_error(r)
t.ok(r.status == 404 and shape and code == "not_found", "unknown /api/ path is a JSON 404", r.text[:200])
r = s.get("/api/nope")
t.ok(r.status == 404 and json_error(r) == ("not_found", True), "unknown /api path without a token is a JSON 404")
r = s.request("POST", "/api/v1/me", body="{}", headers={"Content-Type": "application/json",
                                                          "Authorization": "Bearer " + tokA})
code, shape = json_error(r)
t.ok(r.status == 405 and shape and code == "method_not_allowed" and "GET" in (r.header("allow") or ""),
     "POST /api/v1/me is a JSON 405 with Allow", "%d %s %s" % (r.status, r.header("allow"), r.text[:200]))
r = s.request("DELETE", "/api/v1/me", headers={"Authorization": "Bearer " + tokA})
t.ok(r.status == 405 and json_error(r)[1], "DELETE /api/v1/me is a JSON 405")
r = s.get("/api/v1/me?x=%zz", headers={"Authorization": "Bearer " + tokA})
t.ok(r.status == 400 and json_error(r)[1], "a malformed query on /api/ is a JSON 400", r.text[:200])

# ---- form validation ----
n0 = len(q("SELECT id FROM api_tokens"))
for label, args in [
    ("wrong password", ("x", ["read"], "not the password at all")),
    ("empty password", ("x", ["read"], "")),
    ("unknown scope", ("x", ["read", "admin"], PW_A)),
    ("no scope", ("x", [], PW_A)),
    ("staff scope", ("x", ["write"], PW_A)),
    ("empty name", ("", ["read"], PW_A)),
    ("blank name", ("   ", ["read"], PW_A)),
    ("101-character name", ("n" * 101, ["read"], PW_A)),
]:
    r = create(A, "/account/tokens", *args)
    t.ok(r.status in (200, 429) and TOKEN_RE.search(r.text) is None and 'class="alert alert-error"' in r.text,
         "%s: the form again with an error, no token" % label, "%d %s" % (r.status, r.text[:300]))
for days in ("0", "366", "-1", "abc", "1e3", ""):
    r = create(A, "/account/tokens", "x", ["read"], PW_A, days=days)
    t.ok(TOKEN_RE.search(r.text) is None and 'alert-error' in r.text, "expiry %r refused" % days)
t.is_(len(q("SELECT id FROM api_tokens")), n0, "no token was made by any refused form")
r = create(A, "/account/tokens", "x", ["read"], PW_A + "<script>", extra={"name": "<b>x</b>"})
t.ok("<b>x</b>" not in r.text, "the name is escaped on re-display")
t.ok(PW_A not in r.text, "the password is never echoed")
t.ok(len(q("SELECT * FROM login_throttle WHERE key = ?", "acct:" + A.email)) == 1,
     "wrong passwords are counted by the login throttle")
fails = q("SELECT count(*) FROM audit_log WHERE action = 'token.reauth_failed' AND actor_id = ?", A.id)[0][0]
t.ok(fails >= 2, "wrong passwords are audited", fails)
# Throttled like a sign-in: enough failures lock even the right password out.
locked = None
for i in range(12):
    r = create(A, "/account/tokens", "x", ["read"], "wrong password number %d" % i)
    if r.status == 429:
        locked = r
        break
t.ok(locked is not None and locked.header("retry-after") is not None, "repeated wrong passwords: 429 with Retry-After")
r = create(A, "/account/tokens", "x", ["read"], PW_A)
t.ok(r.status == 429 and TOKEN_RE.search(r.text) is None, "while throttled, even the right password makes no token")
x("DELETE FROM login_throttle")

# Name with two scopes, never expiring, Unicode name of 100 characters.
r = create(A, "/account/tokens", "é" * 100, ["read", "orders"], PW_A, days="never")
m = TOKEN_RE.search(r.text)
t.ok(r.status == 200 and m and "at most 90 days" in r.text,
     "a 100-character Unicode name, two scopes, never capped at token_max_days (said)", r.text[:300])
tokA2 = m.group(0) if m else ""
j = me(tokA2).json() if m else {}
t.ok(j.get("scopes") == ["read", "orders"] and j.get("token", {}).get("expires_at") is not None,
     "two scopes and an expires_at (issue 16: every token expires)", j)
r = create(A, "/account/tokens", "orders only", ["orders"], PW_A)
tokOrders = TOKEN_RE.search(r.text).group(0)
r = me(tokOrders)
t.ok(r.status == 403 and json_error(r) == ("insufficient_scope", True) and
     "insufficient_scope" in (r.header("www-authenticate") or ""),
     "a token without the read scope: 403 insufficient_scope", r.text[:200])

# ---- CSRF on every POST ----
idA = row["id"]
for path, fields in [("/account/tokens", {"name": "x", "scope": "read", "days": "30", "password": PW_A}),
                     ("/account/tokens/%d/revoke" % idA, {})]:
    r = A.post(path, fields)
    t.ok(r.status == 403 and TOKEN_RE.search(r.text) is None, "POST %s without CSRF is 403" % path,
         "%d %s" % (r.status, r.text[:200]))
    f = dict(fields, csrf="0" * 32)
    r = A.post(path, f)
    t.is_(r.status, 403, "POST %s with a wrong CSRF token is 403" % path)
    f = dict(fields, csrf=csrf_of(A.get("/account/tokens").text))
    r = A.post(path, f, headers={"Origin": "https://evil.example"})
    t.is_(r.status, 403, "POST %s from a cross-site Origin is 403" % path)
r = A.post("/account/tokens", {"name": "kept name", "scope": "orders", "days": "7", "password": PW_A})
t.ok(r.status == 403 and 'value="kept name"' in r.text and PW_A not in r.text,
     "a refused create keeps the name (not the password) on re-display")
t.is_(me(tokA).status, 200, "the token survived the forged revokes")

# ---- customer A and B are strangers ----
r = create(B, "/account/tokens", "bob token", ["read"], PW_B)
tokB = TOKEN_RE.search(r.text).group(0)
idB = q("SELECT id FROM api_tokens WHERE customer_id = ?", B.id)[0][0]
lb = B.get("/account/tokens").text
t.ok("laptop script" not in lb and row["prefix"] not in lb and "bob token" in lb,
     "B's list shows B's tokens only")
t.ok("bob token" not in A.get("/account/tokens").text, "A's list does not show B's")
r = B.post("/account/tokens/%d/revoke" % idA, {"csrf": csrf_of(lb)})
t.is_(r.status, 404, "B revoking A's token id is 404")
t.ok(q("SELECT revoked_at FROM api_tokens WHERE id = ?", idA)[0][0] is None and me(tokA).status == 200,
     "A's token is untouched")
r = B.post("/account/tokens/999999/revoke", {"csrf": csrf_of(lb)})
t.is_(r.status, 404, "revoking a token id that does not exist is 404")
r = B.get("/account/tokens/%d/revoke" % idA)
t.is_(r.status, 405, "GET on a revoke address is 405 (no GET changes state)")
t.is_(me(tokB).json().get("id"), B.id, "B's token is B's")

# ---- revoke ----
la = A.get("/account/tokens").text
r = A.post("/account/tokens/%d/revoke" % idA, {"csrf": csrf_of(la)})
t.ok(r.status == 303 and r.header("location") == "/account/tokens?done=revoked", "revoking redirects to the list",
     "%d %s" % (r.status, r.header("location")))
t.ok(q("SELECT revoked_at FROM api_tokens WHERE id = ?", idA)[0][0] is not None, "revoked_at set")
r = me(tokA)
code, shape = json_error(r)
t.ok(r.status == 401 and shape and code == "revoked_token", "a revoked token is 401 revoked_token", r.text[:200])
r = A.post("/account/tokens/%d/revoke" % idA, {"csrf": csrf_of(la)})
t.is_(r.status, 303, "revoking twice is harmless")
t.is_(q("SELECT count(*) FROM audit_log WHERE action = 'token.revoked' AND target = ?", "token:%d" % idA)[0][0], 1,
      "one token.revoked audit row")
lt = A.get("/account/tokens?done=revoked").text
t.ok("revoked" in lt and "is revoked" in lt, "the list shows the token as revoked, with a notice")

# ---- expired ----
x("UPDATE api_tokens SET expires_at = unixepoch() - 10, scopes = 'read' WHERE customer_id = ? AND name = 'orders only'", A.id)
r = me(tokOrders)
t.ok(r.status == 401 and json_error(r) == ("expired_token", True), "an expired token is 401 expired_token", r.text[:200])
t.ok("expired" in A.get("/account/tokens").text, "the list shows it expired")

# ---- disabled account ----
x("UPDATE customers SET state = 'disabled' WHERE id = ?", B.id)
r = me(tokB)
t.ok(r.status == 401 and json_error(r) == ("account_disabled", True), "a disabled account's token is 401 account_disabled",
     r.text[:200])
x("UPDATE customers SET state = 'active' WHERE id = ?", B.id)
t.is_(me(tokB).status, 200, "enabled again, the token works again")

# ---- staff ----
PW_S = "harbour violet engine 2210"
s.cli("user", "add", "--role", "support", "--name", "Sam Staff", "sam@example.com", input=PW_S + "\n")
sid = q("SELECT id FROM staff WHERE email = 'sam@example.com'")[0][0]
x("UPDATE staff SET totp_enabled_at = unixepoch() WHERE id = ?", sid)
# With TOTP on, a new token also asks for a code: give Sam recovery codes
# (stored as the server stores them: SHA-256(salt || normalised code)).
RCODES = ["abcd-efgh-jkm%d" % i for i in range(3)]
for c in RCODES:
    salt = secrets.token_bytes(16)
    x("INSERT INTO recovery_codes (staff_id, code_hash, salt) VALUES (?, ?, ?)",
      sid, hashlib.sha256(salt + c.replace("-", "").encode()).digest(), salt)


def staff_browser(staff_id):
    b = Browser()
    cookie = secrets.token_hex(16)
    csrf = secrets.token_hex(16)
    x("INSERT INTO sessions (token_hash, kind, staff_id, csrf_token, mfa_ok, expires_at) "
      "VALUES (?, 'staff', ?, ?, 1, unixepoch() + 3600)", hashlib.sha256(cookie.encode()).digest(), staff_id, csrf)
    b.jar["px_s"] = cookie
    return b


S = staff_browser(sid)
r = S.get("/admin/tokens")
t.is_(r.status, 200, "GET /admin/tokens for signed-in staff is 200")
good, errs = s.html_ok(r.body)
t.ok(good, "/admin/tokens is well-formed HTML", errs)
t.ok('value="write"' in r.text and 'value="orders"' not in r.text and 'action="/admin/tokens"' in r.text,
     "staff are offered the staff scopes and post to /admin/tokens")
r = create(S, "/admin/tokens", "staff script", ["orders"], PW_S)
t.ok(TOKEN_RE.search(r.text) is None and "alert-error" in r.text, "a customer scope is refused for staff")
t.ok('name="code"' in S.get("/admin/tokens").text, "with TOTP enrolled the form asks for a code")
r = create(S, "/admin/tokens", "staff script", ["read", "write"], PW_S)
t.ok(TOKEN_RE.search(r.text) is None and "code" in r.text, "the right password without a code makes no token")
r = create(S, "/admin/tokens", "staff script", ["read", "write"], PW_S, extra={"code": "abcd-efgh-zzzz"})
t.ok(TOKEN_RE.search(r.text) is None, "a wrong code makes no token")
r = create(S, "/admin/tokens", "staff script", ["read", "write"], PW_S, extra={"code": RCODES[0]})
m = TOKEN_RE.search(r.text)
t.ok(r.status == 200 and m, "staff create a token with password and a second factor", r.text[:300])
r = create(S, "/admin/tokens", "again", ["read"], PW_S, extra={"code": RCODES[0]})
t.ok(TOKEN_RE.search(r.text) is None, "the same recovery code does not work twice")
tokS = m.group(0) if m else ""
srow = q("SELECT * FROM api_tokens WHERE staff_id = ?", sid)[0]
t.ok(srow["customer_id"] is None and bytes(srow["token_hash"]) == hashlib.sha256(tokS.encode()).digest() and
     tokS.encode() not in raw_db_bytes(), "the staff token row: staff owner, hash only")
j = me(tokS).json()
t.ok(j.get("kind") == "staff" and j.get("id") == sid and j.get("email") == "sam@example.com" and
     j.get("scopes") == ["read", "write"] and "tickets.read" in j.get("permissions", []),
     "/api/v1/me with a staff token names the staff member and their permissions", j)
r = S.post("/admin/tokens/%d/revoke" % idB, {"csrf": csrf_of(S.get("/admin/tokens").text)})
t.is_(r.status, 404, "staff revoking a customer's token id through /admin/tokens is 404")
r = A.post("/account/tokens/%d/revoke" % srow["id"], {"csrf": csrf_of(A.get("/account/tokens").text)})
t.is_(r.status, 404, "a customer revoking a staff token id is 404")
for path in ("/admin/tokens", "/admin/tokens/%d/revoke" % srow["id"]):
    r = S.post(path, {"name": "x", "scope": "read", "password": PW_S})
    t.is_(r.status, 403, "staff POST %s without CSRF is 403" % path)
r = A.get("/admin/tokens")
t.ok(r.status == 303 and (r.header("location") or "").startswith("/admin/login"),
     "a customer cookie gets nothing at /admin/tokens", "%d %s" % (r.status, r.header("location")))
r = S.get("/account/tokens")
t.ok(r.status == 303 and (r.header("location") or "").startswith("/login"),
     "a staff cookie gets nothing at /account/tokens")
t.is_(S.get("/api/v1/me").status, 401, "a staff cookie alone on /api/v1/me is 401")
# A staff member without TOTP is sent to enrolment, not to the tokens page.
s.cli("user", "add", "--role", "analyst", "ann@example.com", input=PW_S + "x\n")
sid2 = q("SELECT id FROM staff WHERE email = 'ann@example.com'")[0][0]
r = staff_browser(sid2).get("/admin/tokens")
t.ok(r.status == 303 and "2fa" in (r.header("location") or ""), "staff without TOTP cannot reach /admin/tokens",
     "%d %s" % (r.status, r.header("location")))
r = S.post("/admin/tokens/%d/revoke" % srow["id"], {"csrf": csrf_of(S.get("/admin/tokens").text)})
t.ok(r.status == 303 and json_error(me(tokS)) == ("revoked_token", True), "staff revoke their own token")
x("UPDATE staff SET state = 'disabled' WHERE id = ?", sid)
r = create(S, "/admin/tokens", "after", ["read"], PW_S, extra={"code": RCODES[1]})
t.ok(TOKEN_RE.search(r.text) is None, "a disabled staff member makes no token")
aud = q("SELECT actor_kind, actor_id, action FROM audit_log WHERE action LIKE 'token.%' AND actor_kind = 'staff'")
t.ok(("staff", sid, "token.created") in [tuple(a) for a in aud] and
     ("staff", sid, "token.revoked") in [tuple(a) for a in aud], "staff token events are audited as staff",
     [tuple(a) for a in aud])

# ---- the route table: every token POST wants CSRF, every API route a token ----
ROUTE_RE = re.compile(r'\{\s*M_(\w+),\s*"([^"]+)",\s*\w+,\s*WHO_(\w+),\s*(NULL|"[^"]*")')
with open(os.path.join(os.environ.get("PX_SRC") or os.path.join(os.path.dirname(__file__), ".."),
                       "src", "routes.c")) as f:
    table = ROUTE_RE.findall(f.read())
mine = [(m, p, w) for m, p, w, _ in table if p.startswith(("/account/tokens", "/admin/tokens", "/api/"))]
t.ok(len([1 for m, p, w in mine if w == "API"]) >= 1 and len([1 for m, p, w in mine if m == "POST"]) >= 4,
     "found the token and API routes in src/routes.c", mine)
x("UPDATE staff SET state = 'active' WHERE id = ?", sid)
S = staff_browser(sid)
for m, p, w in mine:
    path = p.replace("{id:int}", str(srow["id"] if p.startswith("/admin") else idB)).replace("{public_id}", "a" * 20)
    if w == "API":
        r = s.request(m, path)
        t.ok(r.status == 401 and json_error(r)[0] == "missing_token", "%s %s without a token: 401 JSON" % (m, p),
             r.text[:200])
        continue
    if m == "GET":
        continue
    br = S if w == "STAFF" else B
    r = br.post(path, {"name": "x", "scope": "read", "days": "30", "password": PW_S if w == "STAFF" else PW_B})
    t.is_(r.status, 403, "%s %s without CSRF is 403 (route table)" % (m, p))
t.is_(len(q("SELECT id FROM api_tokens WHERE name = 'x'")), 0, "no forged POST made a token")

# ---- nothing went wrong inside ----
lines = [l for l in s.log_lines() if "status" in l]
t.ok(not any(l["status"] >= 500 for l in lines), "no request ended in a 5xx",
     [l for l in lines if l["status"] >= 500][:5])
s.check_sanitizers(t)
s.stop()
t.done()
