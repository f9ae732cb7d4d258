#!/usr/bin/env python3
"""The account security fixes of issue 10, each shown through nginx and
the real binary: the sign-in redirect stays on the site, a reset by mail
spends pending email changes and older links and revokes API tokens, a
password change offers to revoke them, an unverified account makes none,
half-done staff sign-ins expire, mail-sending forms are counted, names
refuse control characters, parallel guesses cannot pass the lock, and a
hash slot that never comes free is a 503 for a known and an unknown
account alike (and no hash at all without the run directory)."""
import fcntl
import os
import re
import subprocess
import sys
import threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP  # noqa: E402
from pxweb import Browser, Shop, csrf_of, link_in  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
PW = "correct horse battery staple"
NEW = "a brand new long passphrase"
TOKEN_RE = re.compile(r"\bpx_[0-9A-Za-z]{40}\b")


def main_of(r):
    return r.text.split("<main")[1].split("</main>")[0] if "<main" in r.text else r.text


def register(email, name, verified=True):
    b = Browser(s)
    r = b.form("/register", "/register", {"email": email, "name": name, "password": PW, "terms": "1"})
    if r.status != 200:
        t.bail("register %s: %d" % (email, r.status))
    if verified:
        s.sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (email,))
    return b


def login(email, pw=PW, nxt=None):
    b = Browser(s)
    f = {"email": email, "password": pw}
    if nxt is not None:
        f["next"] = nxt
    return b, b.form("/login", "/login", f)


def make_token(b, pw=PW):
    page = b.get("/account/tokens")
    r = b.post("/account/tokens", {"name": "script", "scope": "read", "days": "30", "password": pw,
                                   "csrf": csrf_of(page.text)})
    m = TOKEN_RE.search(r.text)
    return r, (m.group(0) if m else None)


def api_ok(tok):
    return s.get("/api/v1/me", headers={"Authorization": "Bearer " + tok}).status == 200


def reset_jobs(to):
    """Reset mails queued for the account of `to` (their idempotency keys
    are reset:<customer id>:<request id>)."""
    return s.sql("SELECT count(*) FROM jobs j JOIN customers c ON j.idem_key LIKE 'reset:' || c.id || ':%' "
                 "WHERE c.email = ?", (to,))[0][0]


# ---- 1. the sign-in redirect stays on the site ----
register("nav@example.com", "Nav")
hostile = ["/%c/evil.example/x" % c for c in list(range(0x20)) + [0x7f]]
hostile += ["/\\evil.example", "\\\\evil.example", "/\\/evil.example", "\\/evil.example", "//evil.example/x",
            "///evil.example", "/%09/evil.example", "/%2F/evil.example", "/%5Cevil.example", "%2F%2Fevil.example",
            "https://evil.example/", "http:/evil.example", "javascript:alert(1)", "//evil.example\\@shop",
            " /evil.example", "/plans/\t/evil.example", "/ /evil.example", "/\u3002/evil.example", "/.\\evil"]
bad = []
for nxt in hostile:
    s.sql("DELETE FROM login_throttle")
    b, r = login("nav@example.com", nxt=nxt)
    loc = r.header("location") or ""
    if not (r.status == 400 or (r.status == 303 and loc == "/account")):
        bad.append((nxt, r.status, loc))
t.ok(not bad, "%d hostile next values (every ASCII control, backslash, '//', scheme and encoded forms) "
     "all end on /account" % len(hostile), bad)
b, r = login("nav@example.com", nxt="/plans/fra-vless-starter")
t.ok(r.status == 303 and r.header("location") == "/plans/fra-vless-starter", "a plain local next is kept",
     r.header("location"))

# ---- 2. a reset by mail spends a pending email change and older reset links ----
victim, vr = login("nav@example.com")
attacker = Browser(s)
attacker.jar = dict(victim.jar)           # the attacker knows the password and has a session
r = attacker.form("/account/email", "/account/email", {"email": "mallory@evil.example", "password": PW})
t.is_(r.status, 303, "a session that knows the password asks to move the account to the attacker's address")
m = s.wait_mail("mallory@evil.example", "")
evil_link = link_in(m, "/verify/") if m else None
t.ok(evil_link is not None, "the attacker's address receives a confirmation link")
tb = Browser(s)
tb.jar = dict(victim.jar)
r, tok = make_token(tb)
t.ok(tok is not None and api_ok(tok), "an API token made before the reset works", r.text[:300])

owner = Browser(s)
owner.form("/password/forgot", "/password/forgot", {"email": "nav@example.com"})
owner.form("/password/forgot", "/password/forgot", {"email": "nav@example.com"})
m1 = s.wait_mail("nav@example.com", "Reset your", n=1)
m2 = s.wait_mail("nav@example.com", "Reset your", n=2)
old_link, new_link = (link_in(m1, "/password/reset/") if m1 else None), (link_in(m2, "/password/reset/") if m2 else None)
t.ok(old_link and new_link and old_link != new_link, "two reset links arrive")
r = owner.get(new_link)
r = owner.post(new_link, {"csrf": csrf_of(r.text), "password": NEW})
t.ok(r.status == 200 and "Password changed" in r.text, "the owner resets the password with the newer link")
t.ok("API token" in r.text and "email change" in r.text,
     "the confirmation says API tokens are revoked and a pending email change cancelled", main_of(r))
r = attacker.get(evil_link)
t.is_(r.status, 410, "after the reset the attacker's confirmation link is spent")
r = attacker.post(evil_link, {"csrf": csrf_of(attacker.get("/register").text)})
t.ok(s.sql("SELECT email FROM customers WHERE name = 'Nav'")[0][0] == "nav@example.com",
     "and the account keeps the owner's address")
r = owner.get(old_link)
t.is_(r.status, 410, "the older reset link no longer works either")
t.ok(not api_ok(tok), "the API token made before the reset is revoked")

# ---- 3. a password change offers to revoke API tokens; unverified accounts make none ----
register("pat@example.com", "Pat")
pb, r = login("pat@example.com")
r, tok1 = make_token(pb)
page = pb.get("/account/password")
t.ok(re.search(r'name="revoke_tokens" value="1" checked', page.text) is not None,
     "the change-password form offers to revoke API tokens, ticked by default")
good, errs = s.html_ok(page.body)
t.ok(good, "and is well-formed", errs)
r = pb.post("/account/password", {"csrf": csrf_of(page.text), "password": PW, "new_password": NEW})
t.ok(r.status == 303 and api_ok(tok1), "changed without the box: the token keeps working", r.header("location"))
r, tok2 = make_token(pb, NEW)
page = pb.get("/account/password")
r = pb.post("/account/password", {"csrf": csrf_of(page.text), "password": NEW, "new_password": PW,
                                  "revoke_tokens": "1"})
t.ok(r.status == 303 and not api_ok(tok1) and not api_ok(tok2), "changed with the box: every token is revoked")
r = pb.get(r.header("location"))
t.ok("API token" in r.text, "and the notice says so")

register("unv@example.com", "Unv", verified=False)
ub, r = login("unv@example.com")
r, tok = make_token(ub)
t.ok(r.status == 403 and tok is None and "confirm your email" in r.text,
     "an unverified account cannot create an API token, and is told why", (r.status, main_of(r)[:300]))
t.is_(s.sql("SELECT count(*) FROM api_tokens t JOIN customers c ON c.id = t.customer_id "
            "WHERE c.email = 'unv@example.com'")[0][0], 0, "no token row was made")

# ---- 4. half-done staff sign-ins expire after five minutes ----
s.cli("user", "add", "--role", "support", "sam@example.com", input=PW + "\n")
s.sql("UPDATE staff SET totp_enabled_at = unixepoch() WHERE email = 'sam@example.com'")
sb = Browser(s)
r = sb.form("/admin/login", "/admin/login", {"email": "sam@example.com", "password": PW})
t.ok(r.status == 303 and "/admin/login/2fa" in (r.header("location") or ""), "staff password step done",
     r.header("location"))
t.is_(sb.get("/admin/login/2fa").status, 200, "the code form opens while the sign-in is fresh")
s.advance(301)       # five minutes pass on the test clock
r = sb.get("/admin/login/2fa")
t.ok(r.status == 303 and (r.header("location") or "").startswith("/admin/login"),
     "five minutes later the half-done sign-in is over", (r.status, r.header("location")))
t.is_(s.sql("SELECT count(*) FROM sessions WHERE kind = 'staff'")[0][0], 0, "and its session row is gone")

# ---- 5. mail abuse ----
s.sql("DELETE FROM mail_throttle")
register("rita@example.com", "Rita")
s.sql("DELETE FROM mail_throttle")
fb = Browser(s)
pages = set()
for i in range(8):
    r = fb.form("/password/forgot", "/password/forgot", {"email": "rita@example.com"})
    pages.add((r.status, main_of(r)))
t.is_(reset_jobs("rita@example.com"), 5, "8 reset requests to one address in an hour send 5 mails")
r = fb.form("/password/forgot", "/password/forgot", {"email": "nobody-here@example.com"})
pages.add((r.status, main_of(r)))
t.is_(len(pages), 1, "every answer is the same 200 page, sent or not, known or not")
s.sql("UPDATE mail_throttle SET hour_start = hour_start - 3600")
for i in range(8):
    fb.form("/password/forgot", "/password/forgot", {"email": "rita@example.com"})
t.is_(reset_jobs("rita@example.com"), 7, "an hour later the daily cap (10 requests) leaves room for 2 more")

s.sql("DELETE FROM mail_throttle")
codes = []
for i in range(20):
    codes.append(fb.form("/password/forgot", "/password/forgot", {"email": "n%d@example.com" % i}).status)
r = fb.form("/password/forgot", "/password/forgot", {"email": "n20@example.com"})
t.ok(codes == [200] * 20 and r.status == 429 and r.header("retry-after"),
     "one client address gets 20 mail-sending forms an hour, then 429 with Retry-After", (codes, r.status))
r = fb.form("/register", "/register", {"email": "late@example.com", "name": "Late", "password": PW, "terms": "1"})
t.ok(r.status == 429 and s.sql("SELECT count(*) FROM customers WHERE email = 'late@example.com'")[0][0] == 0,
     "register from that address is refused too, before anything is made")

s.sql("DELETE FROM mail_throttle")
r = Browser(s).form("/register", "/register", {"email": "rita@example.com", "name": "Mallory Evil",
                                                "password": PW, "terms": "1"})
m = s.wait_mail("rita@example.com", "already have")
body = m.get_body(preferencelist=("plain",)).get_content() if m else ""
t.ok("Hello Rita" in body and "Mallory" not in body,
     "the 'already registered' mail greets the owner by the stored name, not the typed one", body[:200])

bad = []
for name in ["A\tB", "A\nB", "A\rB", "A\x0bB", "A\x1bB", "A\x7fB", "A\u0085B", "A\u2028B", "A\u2029B"]:
    r = Browser(s).form("/register", "/register", {"email": "nm@example.com", "name": name, "password": PW,
                                                    "terms": "1"})
    if r.status not in (200, 400) or "Check your inbox" in r.text:
        bad.append(name)
t.ok(not bad and s.sql("SELECT count(*) FROM customers WHERE email = 'nm@example.com'")[0][0] == 0,
     "register refuses names with control characters and line breaks", bad)
pb, r = login("pat@example.com")
bad = []
for name in ["A\tB", "A\nB", "A\u0085B", "A\u2028B"]:
    page = pb.get("/account")
    r = pb.post("/account/profile", {"csrf": csrf_of(page.text), "name": name})
    if r.status != 400:
        bad.append((name, r.status))
t.ok(not bad and s.sql("SELECT name FROM customers WHERE email = 'pat@example.com'")[0][0] == "Pat",
     "the profile refuses them too", bad)

# ---- 6. no hash slot: 503 for a known and an unknown account alike ----
s.sql("DELETE FROM login_throttle")
held = []
for i in range(2):
    f = open(os.path.join(s.dir, "hash-slot-%d.lock" % i), "a")
    fcntl.flock(f, fcntl.LOCK_EX)
    held.append(f)
_, r_known = login("pat@example.com", pw="not the password at all")
_, r_unknown = login("ghost@example.com", pw="not the password at all")
r_forgot = Browser(s).form("/password/forgot", "/password/forgot", {"email": "ghost@example.com"})
for f in held:
    f.close()
t.ok(r_known.status == 503 and r_unknown.status == 503,
     "with both hash slots taken, a known and an unknown account both answer 503", (r_known.status, r_unknown.status))
t.is_(r_forgot.status, 503, "and so does the reset form, whose dummy hash takes a slot too")

conf2 = os.path.join(s.dir, "norun.conf")
with open(s.conf) as f, open(conf2, "w") as g:
    g.write(re.sub(r'(?m)^run_dir = .*$', 'run_dir = "%s"' % os.path.join(s.dir, "no-such-dir"), f.read()))
p = subprocess.run([BIN, "-c", conf2, "user", "add", "--role", "support", "norun@example.com"],
                   input=PW + "\n", capture_output=True, text=True)
t.ok(p.returncode != 0 and s.sql("SELECT count(*) FROM staff WHERE email = 'norun@example.com'")[0][0] == 0,
     "without the run directory no password is hashed (fails closed)", p.stdout + p.stderr)

s.check_sanitizers(t)
s.stop()

# ---- 7. parallel guesses cannot pass the lock ----
s = Shop(workers=8).start()
register("lock@example.com", "Lock")
N = 32


def race(racers, page, path, fields):
    """POST fields (with "password": a different wrong guess each) from
    every racer at once, each with the CSRF token of its own page;
    returns the statuses."""
    tokens = [csrf_of(b.get(page).text) for b in racers]
    gate = threading.Barrier(len(racers))
    res = [0] * len(racers)

    def guess(i):
        gate.wait()
        f = dict(fields, password="wrong guess number %d" % i, csrf=tokens[i])
        res[i] = racers[i].post(path, f).status

    ths = [threading.Thread(target=guess, args=(i,)) for i in range(len(racers))]
    for th in ths:
        th.start()
    for th in ths:
        th.join(60)
    return res


res = race([Browser(s) for _ in range(N)], "/login", "/login", {"email": "lock@example.com"})
hashed = res.count(200)
t.ok(hashed <= 6 and res.count(429) == N - hashed,
     "%d parallel wrong passwords: at most 5 free tries and the one that set the delay were hashed" % N, res)
row = s.sql("SELECT failures, locked_until > unixepoch() FROM login_throttle WHERE key = 'acct:lock@example.com'")
t.ok(row and row[0][0] >= 10 and row[0][1] == 1, "every guess was counted and the account is locked", row)
_, r = login("lock@example.com")
t.is_(r.status, 429, "and the right password waits too")

# ---- 8. ... nor at re-authentication (signin_attempt, shared) ----
register("again@example.com", "Again")
res = race([login("again@example.com")[0] for _ in range(N)], "/account/password", "/account/password",
           {"new_password": NEW})
hashed = res.count(403)
t.ok(hashed <= 6 and res.count(429) == N - hashed,
     "%d parallel wrong passwords at a password change: at most 5 free tries and the one that set "
     "the delay were hashed" % N, res)
row = s.sql("SELECT failures, locked_until > unixepoch() FROM login_throttle WHERE key = 'acct:again@example.com'")
t.ok(row and row[0][0] == hashed and row[0][1] == 1,
     "every hashed guess was counted before its hash and the account is locked", (row, hashed))
s.check_sanitizers(t)
s.stop()
t.done()
