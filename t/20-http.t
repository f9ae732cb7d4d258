#!/usr/bin/env python3
"""Public pages through a real nginx and the pool over FastCGI: status,
security headers, well-formed HTML, HEAD, 404/405, bad input, the log."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=2, tls=True).start()

pages = ["/", "/plans", "/plans?sort=price_desc", "/plans?protocol=vless&country=DE",
         "/plans?sort=traffic&page=2", "/plans?category=gaming&brand=swift",
         "/plans/fra-vless-starter", "/plans/sgp-vmess-unlimited", "/terms", "/register", "/login",
         "/password/forgot"]
for p in pages:
    r = s.get(p)
    t.is_(r.status, 200, "GET %s is 200" % p)
    t.ok((r.header("content-type") or "").startswith("text/html"), "%s is HTML" % p)
    good, errs = s.html_ok(r.body)
    t.ok(good, "%s is well-formed HTML (libxml2)" % p, errs)
    csp = r.header("content-security-policy") or ""
    t.ok("script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp,
         "%s has a CSP without inline script" % p, csp)
    t.is_(r.header("x-content-type-options"), "nosniff", "%s has nosniff" % p)
    t.ok(r.header("referrer-policy") is not None, "%s has a Referrer-Policy" % p)
    t.ok(r.header("strict-transport-security") is None, "%s has no HSTS over plain HTTP" % p)
    t.ok(len(r.header("x-request-id") or "") == 16, "%s carries a request id" % p)

home = s.get("/").text
t.ok("Frankfurt" in home and "Featured plans" in home, "home shows featured plans and locations")
cat = s.get("/plans").text
t.ok("12 plans found" in cat, "catalog counts all twelve demo plans", cat[:300])
t.ok(cat.count('class="card plan"') == 9, "catalog shows nine plans on page one")
t.ok('rel="next"' in cat, "catalog links to page two")
p2 = s.get("/plans?page=2").text
t.ok(p2.count('class="card plan"') == 3, "page two shows the remaining three")
v = s.get("/plans?protocol=vless").text
t.ok("4 plans found" in v and "VMess WebSocket" not in v, "protocol filter keeps only VLESS plans")
de = s.get("/plans?country=DE&protocol=trojan").text
t.ok("1 plan found" in de and "Frankfurt Trojan" in de, "country and protocol filters combine")
asc = s.get("/plans?sort=price").text
t.ok(asc.index("Singapore Trojan Week") < asc.index("Amsterdam Shadowsocks Lite"), "sort by price ascending")
desc = s.get("/plans?sort=price_desc").text
t.ok(desc.index("Singapore Shadowsocks Yearly") < desc.index("Amsterdam Trojan Quarterly"), "sort by price descending")
pg = s.get("/plans?page=999").text
t.ok("Page 2 of 2" in pg, "a page past the end shows the last page")
none = s.get("/plans?country=ZZ")
t.ok(none.status == 200 and "No plan matches" in none.text, "an empty result says so")

# HEAD for every GET
r = s.request("HEAD", "/plans")
t.ok(r.status == 200 and r.body == b"" and int(r.header("content-length") or 0) > 1000,
     "HEAD /plans: headers with the GET's length, no body")

# Errors
r = s.get("/plans/no-such-plan")
t.is_(r.status, 404, "unknown plan is 404")
t.ok("no such plan" in r.text.lower(), "404 page explains")
good, errs = s.html_ok(r.body)
t.ok(good, "404 page is well-formed", errs)
t.is_(s.get("/nope").status, 404, "unknown path is 404")
r = s.request("POST", "/plans", body="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
t.is_(r.status, 405, "POST /plans is 405")
t.ok("GET" in (r.header("allow") or ""), "405 names the allowed methods", r.header("allow"))
t.is_(s.get("/plans/Not_A_Slug").status, 404, "malformed slug is 404")
t.is_(s.get("/plans?page=abc").status, 400, "malformed page number is 400")
t.is_(s.get("/plans?protocol=%3Cscript%3E").status, 400, "hostile filter value is 400")
t.is_(s.get("/plans?x=%zz").status, 400, "malformed %-escape is 400")
t.is_(s.get("/plans?x=%C0%AF").status, 400, "invalid UTF-8 in the query is 400")
t.is_(s.get("/plans?" + "&".join("f%d=1" % i for i in range(300))).status, 400, "too many fields is 400")
r = s.request("POST", "/_test/echo", body="a=" + "x" * 70000,
              headers={"Content-Type": "application/x-www-form-urlencoded"})
t.is_(r.status, 413, "an over-long field is 413")
r = s.request("POST", "/_test/echo", body="x" * (2 * 1024 * 1024),
              headers={"Content-Type": "application/x-www-form-urlencoded"})
t.is_(r.status, 413, "a body over the limit is 413 (nginx)")
# A pre-session CSRF token (cookie + signed value), as a browser gets from any form page.
pre = s.get("/register")
cookie = (pre.header("set-cookie") or "").split(";")[0]
import re  # noqa: E402
tok = re.search(r'name="csrf" value="([0-9a-f]+)"', pre.text).group(1)
# 64 hex digits signed, then the page's time and its MAC (t/31-budgets.t).
t.ok(cookie.startswith("px_pre=") and len(tok) == 64 + 24, "form pages hand out a signed pre-session CSRF token", cookie)
r = s.request("POST", "/_test/echo", body='{"a": [1, "two"]}', headers={"Content-Type": "application/json"})
t.is_(r.status, 403, "a JSON POST without the CSRF header is refused")
r = s.request("POST", "/_test/echo", body='{"a": [1, "two"]}', headers={"Content-Type": "application/json",
              "Cookie": cookie, "X-CSRF-Token": tok})
t.ok(r.status == 200 and r.json()["json"] == {"a": [1, "two"]}, "JSON body parsed", r.text)
r = s.request("POST", "/_test/echo", body='{"a": ', headers={"Content-Type": "application/json"})
t.is_(r.status, 400, "malformed JSON is 400")

# Issue 10: every key and string of a JSON body follows the rules of form
# fields, and no text field (query, form, multipart, cookie, JSON) may hold
# a C1 control or a bidirectional override or isolate.
jh = {"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": tok}
fh = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
for body, why, what in [
        (r'{"a": "x\u0000y"}', r"\u0000", "\\u0000 in a JSON string"),
        (r'{"a\u0000": 1}', r"\u0000", "\\u0000 in a JSON key"),
        (r'{"a": "\ud800"}', "surrogate", "a lone surrogate in a JSON string"),
        (r'{"a": ["ok", "\udfff!"]}', "surrogate", "a lone low surrogate in a JSON array"),
        (r'{"a": "x\u0085"}', "C1 control", "an escaped C1 control in a JSON string"),
        ('{"a": "x\u0090"}', "C1 control", "a raw C1 control in a JSON string"),
        (r'{"name\u202e": 1}', "bidirectional", "a bidi override in a JSON key"),
        (r'{"a": {"b": "\u2067x"}}', "bidirectional", "a bidi isolate in a nested JSON string"),
        ('{"a": "' + "x" * 70000 + '"}', None, "an over-long JSON string"),
        ("[" + ",".join(["1"] * 300) + "]", "too many fields", "a JSON array over max_fields"),
        ("[" * 40 + "]" * 40, "too deep", "JSON nested 40 deep")]:
    r = s.request("POST", "/_test/echo", body=body.encode("utf-8", "surrogatepass"), headers=jh)
    want = 413 if why is None else 400
    t.ok(r.status == want and (why is None or why in r.text), "%s is %d%s" % (what, want, " and says so" if why else ""),
         (r.status, r.text[:300]))
r = s.request("POST", "/_test/echo", body=r'{"msg": "two\r\nlines\tand a tab \ud83d\ude00"}', headers=jh)
t.ok(r.status == 200 and r.json()["json"] == {"msg": "two\r\nlines\tand a tab \U0001F600"},
     "JSON strings keep tab, CR/LF and a surrogate pair", r.text[:300])
r = s.get("/plans?q=%C2%85")
t.ok(r.status == 400 and "C1 control" in r.text, "a C1 control in the query is 400 and says so", r.text[:300])
r = s.get("/plans?q=abc%E2%80%AEgpj")
t.ok(r.status == 400 and "bidirectional" in r.text, "U+202E in the query is 400 and says so", r.text[:300])
r = s.request("POST", "/_test/echo", body="csrf=%s&a=%%E2%%81%%A6x" % tok, headers=fh)
t.ok(r.status == 400 and "bidirectional" in r.text, "U+2066 in a form field is 400", r.text[:300])
r = s.request("POST", "/_test/echo", body="csrf=%s&a=line+one%%0D%%0Aline%%09two%%C2%%A0%%E2%%80%%AF" % tok, headers=fh)
t.ok(r.status == 200 and r.json()["form"].get("a") == "line one\r\nline\ttwo\u00a0\u202f",
     "a form field keeps CR/LF, tab and ordinary non-ASCII spaces", r.text[:300])
r = s.request("GET", "/_test/echo", headers={"Cookie": "keep=1; c1=a\xc2\x85b; bidi=\xe2\x80\xaeX"})
t.ok(r.status == 200 and r.json()["cookies"].get("keep") == "1" and "c1" not in r.json()["cookies"]
     and "bidi" not in r.json()["cookies"], "a cookie with a C1 control or bidi override never reaches a handler",
     r.text[:300])
r = s.request("POST", "/_test/echo", body="a=1", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                           "Origin": "https://evil.example"})
t.is_(r.status, 403, "a cross-site Origin is refused")
r = s.request("POST", "/_test/echo", body="a=1", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                           "Sec-Fetch-Site": "cross-site"})
t.is_(r.status, 403, "Sec-Fetch-Site: cross-site is refused")
boundary = "----px1234"
mp = ("--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
      "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n\x01\x02\x03\r\n--%s--\r\n") % (boundary, boundary, boundary)
mp = ("--%s\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n" % (boundary, tok)) + mp
r = s.request("POST", "/_test/echo", body=mp, headers={"Content-Type": "multipart/form-data; boundary=" + boundary,
                                                         "Cookie": cookie})
t.ok(r.status == 200 and r.json()["form"].get("note") == "hello" and r.json()["upload0_len"] == 3,
     "multipart form with a file", r.text)
mpc = ("--%s\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n"
       "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"invoice\u202egpj.exe\"\r\n"
       "Content-Type: application/octet-stream\r\n\r\nx\r\n--%s--\r\n") % (boundary, tok, boundary, boundary)
r = s.request("POST", "/_test/echo", body=mpc.encode("utf-8"),
              headers={"Content-Type": "multipart/form-data; boundary=" + boundary, "Cookie": cookie})
t.is_(r.status, 400, "a bidi override in an upload's file name is 400")

r = s.request("POST", "/api/v1/me", body="x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
t.ok(r.status == 413 and (r.header("content-type") or "").startswith("application/json") and r.json()["error"]["code"],
     "an API body over nginx's limit is a JSON 413, not an HTML page", (r.status, r.header("content-type"), r.text[:200]))

# Health and robots
r = s.get("/healthz")
t.ok(r.status == 200 and r.json()["status"] == "ok" and r.json()["database"] == "ok", "healthz ok", r.text)
t.ok("spool_pending" in r.json() and "jobs_failed" in r.json(), "healthz reports spool depth and failed jobs")
r = s.get("/robots.txt")
t.ok(r.status == 200 and "Disallow: /admin" in r.text, "robots.txt")

# Static files come from nginx, not the pool
r = s.get("/css/site.css")
t.ok(r.status == 200 and "text/css" in (r.header("content-type") or ""), "CSS served by nginx")

# TLS: HSTS appears
r = s.get("/", tls=True)
t.ok(r.status == 200 and "max-age" in (r.header("strict-transport-security") or ""), "HSTS over TLS")

# The log: one JSON line per request with the documented fields
lines = [x for x in s.log_lines() if "status" in x and "path" in x]
need = {"time", "id", "method", "path", "status", "bytes", "wall_ms", "user"}
t.ok(len(lines) >= len(pages) and all(need <= set(x) for x in lines), "every request logged with all fields",
     lines[:2])
t.ok(any(x["path"] == "/plans/no-such-plan" and x["status"] == 404 for x in lines), "log records the 404")

# The pool refuses a second start on the same socket
p = s.cli("serve", check=False)
t.ok(p.returncode != 0 and ("already running" in p.stderr or "listening" in p.stderr),
     "a second pool on the same pid file/socket refuses to start", p.stderr)
# /healthz tells a monitor when the database is unusable.
import sqlite3  # noqa: E402
c = sqlite3.connect(s.db)
c.execute("ALTER TABLE schema_migrations RENAME TO schema_migrations_gone")
c.commit()
c.close()
r = s.get("/healthz")
t.ok(r.status == 503 and r.json()["database"] == "error", "healthz is 503 when the database is unusable", r.text)
t.is_(s.get("/robots.txt").status, 200, "and the worker is still there")
s.check_sanitizers(t)
s.stop()
t.done()
