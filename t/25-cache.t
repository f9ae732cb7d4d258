#!/usr/bin/env python3
"""The per-worker page cache (src/cache.c) through nginx and FastCGI:
a hit is the same page with a fresh request id; a commit from another
connection (the sqlite3 CLI) makes the next request render afresh; a
request with a session cookie or Authorization is neither served from nor stored
into the cache; error pages are never cached.  One worker, so every
request meets the same cache.  No timings: this proves behaviour only."""
import os
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack, wait_for  # noqa: E402

t = TAP()
s = Stack(workers=1).start()


def cache_state(r):
    """The log's verdict on response r ("hit", "miss", "bypass" or None)."""
    rid = r.header("x-request-id")
    found = {}

    def seen():
        for x in s.log_lines():
            if x.get("id") == rid and "status" in x:
                found["line"] = x
                return True
        return False
    if not wait_for(seen, 5):
        return "no log line for " + str(rid)
    return found["line"].get("cache")


def sql(stmt):
    p = subprocess.run(["sqlite3", s.db], input=".timeout 5000\n" + stmt + "\n",
                       capture_output=True, text=True)
    if p.returncode != 0:
        t.bail("sqlite3: " + p.stderr)


if not t.ok(len(s.worker_pids()) == 1, "one worker"):
    t.bail("the test needs exactly one worker")

a = s.get("/plans")
t.is_(a.status, 200, "GET /plans")
t.ok("$4.99" in a.text, "catalog shows the seeded price $4.99")
t.is_(cache_state(a), "miss", "first GET /plans is a miss")
b = s.get("/plans")
t.is_(cache_state(b), "hit", "second GET /plans is a hit")
t.ok(a.body == b.body, "a hit serves the same page")
t.ok(a.header("x-request-id") != b.header("x-request-id"), "a hit still gets its own request id")
t.is_(b.header("content-security-policy"), a.header("content-security-policy"),
      "a hit carries the security headers")
t.is_(b.header("cache-control"), "no-store", "a hit is still no-store for browsers")
h = s.request("HEAD", "/plans")
t.ok(cache_state(h) == "hit" and h.body == b"" and h.header("content-length") == str(len(a.body)),
     "HEAD is answered from the GET's entry, without a body")
q = s.get("/plans?sort=price_desc")
t.is_(cache_state(q), "miss", "another query string is another entry")

p1 = s.get("/plans/fra-vless-starter")
p2 = s.get("/plans/fra-vless-starter")
t.ok(cache_state(p1) == "miss" and cache_state(p2) == "hit" and "$4.99" in p2.text,
     "the plan page is cached too")
h1 = s.get("/")
h2 = s.get("/")
t.ok(cache_state(h1) == "miss" and cache_state(h2) == "hit", "the home page is cached too")

# A commit by another connection (another process) invalidates.
sql("UPDATE plans SET price_minor = 498 WHERE slug = 'fra-vless-starter';")
c = s.get("/plans")
t.is_(cache_state(c), "miss", "after a commit elsewhere /plans renders afresh")
t.ok("$4.98" in c.text and "$4.99" not in c.text, "and shows the new price", c.text[:200])
pc = s.get("/plans/fra-vless-starter")
t.ok(cache_state(pc) == "miss" and "$4.98" in pc.text, "the plan page shows the new price too")
hc = s.get("/")
t.ok(cache_state(hc) == "miss" and "$4.98" in hc.text, "and so does the home page")
t.is_(cache_state(s.get("/plans")), "hit", "which is cached again")

# A plan retired elsewhere disappears from a cached page.
sql("UPDATE plans SET active = 0 WHERE slug = 'fra-vless-starter';")
g = s.get("/plans/fra-vless-starter")
t.is_(g.status, 404, "a plan retired by another connection is 404 at once")
t.ok("Frankfurt VLESS Starter" not in s.get("/plans").text, "and is gone from the catalog")
sql("UPDATE plans SET active = 1 WHERE slug = 'fra-vless-starter';")

# Cookies and Authorization: never served from the cache...
s.get("/plans")
t.is_(cache_state(s.get("/plans")), "hit", "/plans is cached (anonymous)")
for name in ("px_c", "__Host-px_c", "px_s", "__Host-px_s"):
    r = s.get("/plans", headers={"Cookie": "theme=dark; %s=%s" % (name, "a" * 32)})
    t.is_(cache_state(r), "bypass", "with a session cookie (%s): not served from the cache" % name)
r = s.get("/plans", headers={"Cookie": "px_pre=%s; theme=dark" % ("b" * 32)})
t.is_(cache_state(r), "hit", "a cookie that is not a session (the CSRF nonce) does not stop the cache")
r = s.get("/plans", headers={"Authorization": "Bearer 0123456789abcdef0123"})
t.is_(cache_state(r), "bypass", "with Authorization: not served from the cache")
# ...and never stored into it.
r = s.get("/plans?page=2", headers={"Cookie": "px_c=" + "a" * 32})
t.ok(r.status == 200 and cache_state(r) == "bypass", "a cookie request renders /plans?page=2")
t.is_(cache_state(s.get("/plans?page=2")), "miss", "and did not store it: the anonymous request misses")
r = s.get("/plans?page=3", headers={"Authorization": "Bearer 0123456789abcdef0123"})
t.is_(cache_state(s.get("/plans?page=3")), "miss", "an Authorization request stored nothing either")

# Error pages are not cached (they show the request id).
e1 = s.get("/plans/no-such-plan")
e2 = s.get("/plans/no-such-plan")
t.ok(e1.status == 404 and cache_state(e1) == "miss" and cache_state(e2) == "miss",
     "a 404 is never stored")
t.ok(e1.header("x-request-id") in e1.text and e2.header("x-request-id") in e2.text,
     "each error page shows its own request id")
t.is_(cache_state(s.get("/plans?page=abc")), "miss", "a 400 is looked up but not stored")
t.is_(cache_state(s.get("/plans?page=abc")), "miss", "so the next one misses again")
t.is_(cache_state(s.get("/healthz")), "miss", "a page that does not opt in is looked up...")
t.is_(cache_state(s.get("/healthz")), "miss", "...but never stored")
r = s.request("POST", "/plans", body="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
t.ok(r.status == 405 and cache_state(r) is None, "a POST never meets the cache")

# Bounded: many distinct queries churn the LRU but the worker survives
# and still serves correct pages.
for i in range(100):
    s.get("/plans?x=%d" % i)
r = s.get("/plans")
t.ok(r.status == 200 and "$4.98" in r.text, "after 100 distinct queries /plans is still right")
t.ok(s.pool.poll() is None, "the pool is still running")

# The worker's own commits empty its cache too (PRAGMA data_version does
# not move for them): a customer signs up and changes their name through
# the same single worker, and the next anonymous /plans is a miss.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from pxweb import Browser  # noqa: E402
b = Browser(s)
b.form("/register", "/register", {"email": "own@example.com", "name": "Own", "password": "correct horse battery staple",
                                  "terms": "1"})
b.form("/login", "/login", {"email": "own@example.com", "password": "correct horse battery staple"})
s.get("/plans")
t.is_(cache_state(s.get("/plans")), "hit", "/plans is cached before the write")
r = b.form("/account", "/account/profile", {"name": "Own Writer"})
t.ok(r.status in (200, 303), "the profile change commits on this worker", r.status)
t.is_(cache_state(s.get("/plans")), "miss", "after the worker's own commit the cache was emptied")

# Off switch.
s.stop()
s2 = Stack(workers=1, conf={"page_cache_kb": "0"}).start()
s = s2
r1 = s.get("/plans")
r2 = s.get("/plans")
t.ok(r2.status == 200 and cache_state(r1) is None and cache_state(r2) is None,
     "page_cache_kb = 0 turns the cache off")
s.stop()
t.done()
