#!/usr/bin/env python3
"""The per-worker page cache (src/cache.c) through nginx and FastCGI:
a hit is the same page with a fresh request id; a catalog change from
another connection (the sqlite3 CLI) makes the next request render
afresh; commits that leave the catalog alone (registration, sign-in,
session touch, profile change, job writes, a server health check) do not
empty it; a request with a session cookie or Authorization is neither
served from nor stored into the cache; error pages are never cached.  One
worker first, so every request meets the same cache, then three: a price
change shows at once on every worker.  No timings: behaviour only."""
import os
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack, wait_for  # noqa: E402

t = TAP()
s = Stack(workers=1).start()


def cache_state(r):
    return s.cache_verdict(r)


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

# Commits that do not touch the catalog leave the cache warm: it is keyed
# on the catalog version (sql/008_catalog_version.sql), not on PRAGMA
# data_version, which every commit moves.  On this one worker: a
# registration (a customer, a token, a mail job), a sign-in (a session,
# the audit log), a session touch and a profile change; from another
# process: a job row and a session write.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from pxweb import Browser  # noqa: E402


def one(stmt):
    p = subprocess.run(["sqlite3", s.db], input=".timeout 5000\n" + stmt + "\n",
                       capture_output=True, text=True)
    return p.stdout.strip()


def still_hit(what):
    r = s.get("/plans")
    t.is_(cache_state(r), "hit", "after %s /plans is still a hit" % what)


s.get("/plans")
t.is_(cache_state(s.get("/plans")), "hit", "/plans is cached before the writes")
catalog_before = one("SELECT version FROM catalog_version;")
b = Browser(s)
jobs_before = one("SELECT count(*) FROM jobs;")
b.form("/register", "/register", {"email": "own@example.com", "name": "Own", "password": "correct horse battery staple",
                                  "terms": "1"})
t.ok(int(one("SELECT count(*) FROM jobs;")) > int(jobs_before), "the registration wrote a mail job on this worker")
still_hit("a registration and its mail job")
r = b.form("/login", "/login", {"email": "own@example.com", "password": "correct horse battery staple"})
t.ok(one("SELECT count(*) FROM sessions WHERE kind = 'customer';") != "0", "the sign-in made a session")
still_hit("a sign-in")
# Older than the touch interval (60 s), well within the idle limit.
sql("UPDATE sessions SET last_seen_at = last_seen_at - 120 WHERE kind = 'customer';")
seen = one("SELECT max(last_seen_at) FROM sessions WHERE kind = 'customer';")
r = b.get("/account")
now = one("SELECT max(last_seen_at) FROM sessions WHERE kind = 'customer';")
t.ok(r.status == 200 and now and seen and int(now) > int(seen),
     "a signed-in page touched the session (a commit on this worker)", (r.status, seen, now))
still_hit("a session touch")
r = b.form("/account", "/account/profile", {"name": "Own Writer"})
t.ok(r.status in (200, 303), "the profile change commits on this worker", r.status)
still_hit("a profile change")
sql("INSERT INTO jobs (kind, idem_key) VALUES ('email', 'px-cache-test-job');"
    "UPDATE jobs SET state = 'done', attempts = attempts + 1 WHERE idem_key = 'px-cache-test-job';")
still_hit("a job written and updated by another process")
t.is_(one("SELECT version FROM catalog_version;"), catalog_before, "none of those moved the catalog version")
# A write to a server column no page shows (a health check) keeps it too;
# one the pages show empties it.
sql("UPDATE servers SET health = 'up', last_checked_at = unixepoch();")
still_hit("a health check's write to servers")
sql("UPDATE servers SET city = city || '' ;")
still_hit("an update that changes no shown server column")
city = one("SELECT city FROM servers WHERE id = (SELECT server_id FROM plans WHERE slug = 'fra-vless-starter');")
sql("UPDATE servers SET city = 'Offenbach' WHERE id = (SELECT server_id FROM plans WHERE slug = 'fra-vless-starter');")
r = s.get("/plans")
t.ok(cache_state(r) == "miss" and "Offenbach" in r.text, "a server's city change empties it and shows at once")
sql("UPDATE servers SET city = '%s' WHERE city = 'Offenbach';" % city.replace("'", "''"))
for table, stmt in (("server_categories", "UPDATE server_categories SET name = name || ' x' WHERE id = "
                     "(SELECT min(id) FROM server_categories);"),
                    ("server_brands", "UPDATE server_brands SET name = name || ' x' WHERE id = "
                     "(SELECT min(id) FROM server_brands);"),
                    ("settings", "INSERT INTO settings (key, value) VALUES ('px.test', '1');")):
    s.get("/plans")
    sql(stmt)
    t.is_(cache_state(s.get("/plans")), "miss", "a write to %s empties it" % table)

# Every worker: a price change shows at once on each of them, while
# nothing else empties their caches.
s.stop()
s = Stack(workers=3).start()


def spread(each=2, threads=6, rounds=20):
    """Rounds of 30 GET /plans from parallel clients until every worker
    has served at least `each` of them (the kernel hands a connection to
    whichever worker accepts first, and on a loaded machine one worker
    can sit out a whole round): (bodies, {pid: [cache states in the
    order that worker served]}) read from the log, where each worker's
    lines are in its own order."""
    import threading
    skip = len(s.log_lines())
    bodies, ids, lock = [], set(), threading.Lock()

    def client(k):
        for _ in range(k):
            r = s.get("/plans")
            with lock:
                bodies.append(r.text)
                ids.add(r.header("x-request-id"))

    def served():
        per = {}
        for x in s.log_lines()[skip:]:
            if x.get("id") in ids:
                per.setdefault(x.get("pid"), []).append(x.get("cache"))
        return per

    for _ in range(rounds):
        th = [threading.Thread(target=client, args=(30 // threads,)) for _ in range(threads)]
        for x in th:
            x.start()
        for x in th:
            x.join()
        wait_for(lambda: sum(len(v) for v in served().values()) == len(ids), 10)
        per = served()
        if set(per) >= pids and all(len(per[p]) >= each for p in pids):
            break
    return bodies, per


pids = set(s.worker_pids())
t.is_(len(pids), 3, "three workers")
_, warm = spread()
t.ok(set(warm) == pids and all("hit" in v for v in warm.values()), "every worker has /plans cached", warm)
sql("UPDATE plans SET price_minor = 497 WHERE slug = 'fra-vless-starter';")
bodies, after = spread()
t.ok(len(bodies) >= 30 and len(bodies) == sum(len(v) for v in after.values()) and
     all("$4.97" in b and "$4.98" not in b for b in bodies),
     "after a price change every response, from every worker, shows the new price at once")
t.ok(set(after) == pids and all(v[0] == "miss" and set(v[1:]) <= {"hit"} for v in after.values()),
     "each worker missed once, then served the new page from its cache", after)
# And with the other workers busy with sign-ins and job writes, the
# catalog stays cached on all of them.
b2 = Browser(s)
b2.form("/register", "/register", {"email": "busy@example.com", "name": "Busy",
                                   "password": "correct horse battery staple", "terms": "1"})
b2.form("/login", "/login", {"email": "busy@example.com", "password": "correct horse battery staple"})
sql("UPDATE jobs SET attempts = attempts + 1;")
_, busy = spread()
t.ok(set(busy) == pids and all(set(v) == {"hit"} for v in busy.values()),
     "after sign-ins and job writes on the workers, every /plans is still a hit", busy)

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
