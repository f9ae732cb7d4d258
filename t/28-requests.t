#!/usr/bin/env python3
"""Requests and responses (issue 16, requests16), through nginx (HTTP and
TLS) and the pool:

- Content types (V13.1.5, V13.2.5): a body of a type the route does not
  take is a 415 that names the types it does (HTML for pages, the API's
  JSON error for the API); forms take urlencoded, the API and the
  webhooks application/json (a charset parameter is fine).
- JSON shape (V13.2.2): an API call's body is checked against the shape
  its route declares: unknown fields, wrong types, values out of range
  and missing required fields are a 400 "invalid_body"; a call with no
  shape takes no body.
- API responses carry Content-Disposition: attachment; filename="api.json"
  (V14.4.2, V12.3.4), errors and nginx's own JSON error too.
- nginx's own answers (static files, its error pages) carry nosniff and,
  over TLS, HSTS (V14.4.4, V14.4.5), each header once.
"""
import hashlib
import json
import os
import secrets
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402
from pxweb import Browser, csrf_of  # noqa: E402

t = TAP()
s = Stack(workers=2, tls=True).start()


def token(scopes, cid=None):
    tok = "pxt_" + secrets.token_urlsafe(24)
    s.sql("INSERT INTO api_tokens (token_hash, prefix, name, customer_id, scopes) VALUES (?, ?, 'test', ?, ?)",
          (hashlib.sha256(tok.encode()).digest(), tok[:8], cid, scopes))
    return tok


s.sql("INSERT INTO customers (id, email, name, password_hash) VALUES (900, 'ann28@example.com', 'Ann', 'x')")
TOK = token("read", cid=900)
AUTH = {"Authorization": "Bearer " + TOK}


def api(method, path, body=None, ctype="application/json", headers=None, tls=False):
    h = dict(AUTH)
    if ctype is not None:
        h["Content-Type"] = ctype
    h.update(headers or {})
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    return s.request(method, path, headers=h, body=body, tls=tls)


def code_of(r):
    try:
        return r.json()["error"]["code"]
    except Exception:
        return None


# -- 415 on forms --
b = Browser(s)
page = b.get("/login")
tok = csrf_of(page.text)
r = b._absorb(s.request("POST", "/login", headers=b.headers({"Content-Type": "text/plain"}),
                        body="email=a@example.com&password=x&csrf=" + tok))
t.ok(r.status == 415 and "application/x-www-form-urlencoded" in r.text and
     (r.header("content-type") or "").startswith("text/html"),
     "a form posted as text/plain is a 415 page naming the type it takes", (r.status, r.text[:300]))
t.is_(r.header("accept-post"), "application/x-www-form-urlencoded", "the 415 says Accept-Post")
r = b._absorb(s.request("POST", "/login", headers=b.headers(), body="email=a@example.com&csrf=" + tok))
t.ok(r.status == 415, "a form body with no Content-Type is a 415", r.status)
r = b._absorb(s.request("POST", "/login", headers=b.headers({"Content-Type": "application/json"}),
                        body=json.dumps({"email": "a@example.com", "csrf": tok})))
t.ok(r.status == 415, "a form route refuses a JSON body: 415", r.status)
bd = "pxb" + secrets.token_hex(8)
mp = ("--%s\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n--%s--\r\n") % (bd, tok, bd)
r = b._absorb(s.request("POST", "/login", headers=b.headers({"Content-Type": "multipart/form-data; boundary=" + bd}),
                        body=mp))
t.ok(r.status == 415, "a form route that takes no upload refuses multipart: 415", r.status)
r = b.form("/login", "/login", {"email": "nobody28@example.com", "password": "not the password at all"})
t.ok(r.status != 415, "the same form urlencoded is not refused for its type", r.status)
r = b._absorb(s.request("POST", "/logout", headers=b.headers({"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}),
                        body="csrf=" + tok))
t.ok(r.status != 415, "a charset parameter on a form type is fine", r.status)

# -- the API: application/json only --
r = api("POST", "/api/v1/_test/echo", body="name=ann", ctype="application/x-www-form-urlencoded")
t.ok(r.status == 415 and code_of(r) == "unsupported_media_type" and
     (r.header("content-type") or "").startswith("application/json"),
     "the API refuses a form body: JSON 415 unsupported_media_type", (r.status, r.text[:300]))
r = api("POST", "/api/v1/_test/echo", body='{"name": "ann"}', ctype=None)
t.ok(r.status == 415, "the API refuses a body with no Content-Type: 415", (r.status, r.text[:200]))
r = api("POST", "/api/v1/_test/echo", body='{"name": "ann"}', ctype="text/plain")
t.ok(r.status == 415, "the API refuses text/plain: 415", r.status)
r = api("POST", "/api/v1/_test/echo", body={"name": "ann"}, ctype="application/json; charset=utf-8")
t.ok(r.status == 200 and r.json() == {"name": "ann"}, "the API takes application/json with a charset",
     (r.status, r.text[:200]))
r = api("GET", "/api/v1/me", body="x=1", ctype="application/x-www-form-urlencoded")
t.ok(r.status == 415, "a GET API call with a form body: 415", r.status)
r = s.request("POST", "/webhooks/stripe", headers={"Content-Type": "application/x-www-form-urlencoded"}, body="a=1")
t.ok(r.status == 415, "a webhook refuses a body that is not JSON: 415", (r.status, r.text[:200]))

# -- JSON shape --
r = api("POST", "/api/v1/_test/echo", body={"name": "ann", "count": 3, "notify": True, "email": "a@example.com"})
t.ok(r.status == 200 and r.json() == {"name": "ann", "count": 3, "notify": True, "email": "a@example.com"},
     "json shape: a body that fits its declared shape reaches the handler", (r.status, r.text[:300]))
for body, why, field in (
        ({"name": "ann", "admin": True}, "an unknown field", "admin"),
        ({"count": 3}, "a missing required field", "name"),
        ({"name": 5}, "a number where a string is declared", "name"),
        ({"name": "ann", "count": "3"}, "a string where an integer is declared", "count"),
        ({"name": "ann", "count": 11}, "an integer out of its range", "count"),
        ({"name": "ann", "count": 2.5}, "a fraction where an integer is declared", "count"),
        ({"name": "ann", "notify": "yes"}, "a string where a boolean is declared", "notify"),
        ({"name": "a" * 41}, "a string over its maximum length", "name"),
        ({"name": "ann\tlee"}, "a one-line string with a tab in it", "name"),
        ({"name": "ann", "email": "not an address"}, "an invalid email", "email"),
        ({"name": {"first": "ann"}}, "an object where a string is declared", "name")):
    r = api("POST", "/api/v1/_test/echo", body=body)
    t.ok(r.status == 400 and code_of(r) == "invalid_body" and field in r.json()["error"]["message"],
         "json shape: %s is a 400 invalid_body naming %s" % (why, field), (r.status, r.text[:300]))
r = api("POST", "/api/v1/_test/echo", body=["ann"])
t.ok(r.status == 400 and code_of(r) == "invalid_body", "json shape: an array body is a 400 invalid_body",
     (r.status, r.text[:200]))
r = api("POST", "/api/v1/_test/echo", body=None, ctype=None)
t.ok(r.status == 400 and code_of(r) == "invalid_body", "json shape: no body at all misses the required field",
     (r.status, r.text[:200]))
r = api("GET", "/api/v1/me", body={"x": 1})
t.ok(r.status == 400 and code_of(r) == "unexpected_body", "json shape: a call with no declared shape takes no body",
     (r.status, r.text[:200]))

# -- Content-Disposition on the API --
for path, want in (("/api/v1/me", 200), ("/api/v1/orders/nope-nope", 404)):
    r = api("GET", path, ctype=None)
    t.ok(r.status == want and r.header("content-disposition") == 'attachment; filename="api.json"',
         "API %s (%d) carries Content-Disposition attachment api.json" % (path, want),
         (r.status, r.header("content-disposition")))
r = s.request("GET", "/api/v1/me")
t.ok(r.status == 401 and r.header("content-disposition") == 'attachment; filename="api.json"',
     "an API 401 carries Content-Disposition too", (r.status, r.header("content-disposition")))
r = s.request("POST", "/api/v1/me", headers={"Content-Type": "application/json"}, body="x" * (2 * 1024 * 1024))
t.ok(r.status == 413 and r.header("content-disposition") == 'attachment; filename="api.json"'
     and r.header("x-content-type-options") == "nosniff",
     "nginx's own API error (413) carries Content-Disposition and nosniff", (r.status, r.headers))
r = s.get("/")
t.ok(r.header("content-disposition") is None, "pages carry no Content-Disposition")

# -- nginx's own files and error pages: nosniff, and HSTS over TLS --
for tls in (False, True):
    scheme = "https" if tls else "http"
    for path in ("/css/site.css", "/favicon.svg"):
        r = s.request("GET", path, tls=tls)
        t.ok(r.status == 200 and r.all("x-content-type-options") == ["nosniff"],
             "%s %s: nginx's static file has nosniff once" % (scheme, path), (r.status, r.headers))
        hsts = r.all("strict-transport-security")
        t.ok(hsts == (["max-age=63072000; includeSubDomains"] if tls else []),
             "%s %s: HSTS %s" % (scheme, path, "once over TLS" if tls else "absent over plain HTTP"), hsts)
    r = s.request("GET", "/css/no-such-file.css", tls=tls)
    t.ok(r.status == 404 and r.all("x-content-type-options") == ["nosniff"] and
         len(r.all("strict-transport-security")) == (1 if tls else 0),
         "%s: nginx's own 404 has nosniff and %s" % (scheme, "HSTS" if tls else "no HSTS"), (r.status, r.headers))
    r = s.request("GET", "/", tls=tls)
    t.ok(r.all("x-content-type-options") == ["nosniff"] and
         len(r.all("strict-transport-security")) == (1 if tls else 0),
         "%s: a pool page has each header once" % scheme, r.headers)

# nginx's 502 page: the pool gone.
s.pool.terminate()
s.pool.wait(15)
for tls in (False, True):
    r = s.request("GET", "/plans", tls=tls)
    t.ok(r.status in (502, 503) and r.all("x-content-type-options") == ["nosniff"] and
         len(r.all("strict-transport-security")) == (1 if tls else 0),
         "%s: nginx's 502 page has nosniff and %s" % ("https" if tls else "http", "HSTS" if tls else "no HSTS"),
         (r.status, r.headers))
s.check_sanitizers(t)
t.done()
