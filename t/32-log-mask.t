#!/usr/bin/env python3
"""No secret in any log, and no live link at rest in a mail job (issue 16,
ASVS V7.1.1 and V8.1.2), through nginx with the work daemon and the SMTP
double:

- every route whose path segment is a credential (/verify/,
  /password/reset/, /admin/invite/, /sub/) is requested by GET and by a
  POST that fails its CSRF check (which writes a diagnostic line naming
  the path): neither the pool's log nor nginx's access log (the shipped
  px_masked format) holds the token; both hold the masked form (first four
  characters and "...");
- the pool's request log holds no client address, user agent, query
  string or referrer at all;
- a query string with a secret-named parameter (token=, code=,
  session_id=) is logged by nginx as "?(masked)", and a Referer carrying a
  token path is cut the same way;
- the verification, reset, change-of-address and staff invitation mails
  are queued with the link sealed: with the work daemon stopped, the
  database files and the spool hold no token, and each payload has a
  sealed part and only a masked link; once sent, the links in the mails
  work, the payloads lost their sealed part, and still no token is in the
  database or the spool;
- a discarded message loses its sealed link too, and retrying it fails
  with the reason instead of sending a dead link.
"""
import glob
import json
import os
import re
import secrets
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, BIN, terminate, wait_for  # noqa: E402
from pxweb import Browser, Shop, csrf_of, link_in  # noqa: E402
from pxstaff import Staff, PW  # noqa: E402

t = TAP()
s = Shop(workers=1).start()
PREFIXES = ["/verify/", "/password/reset/", "/admin/invite/", "/admin/password/reset/", "/sub/"]

# -- the request log and nginx's access log --
toks = {p: secrets.token_urlsafe(32) for p in PREFIXES}
for p, tok in toks.items():
    r = s.request("GET", p + tok)
    t.ok(r.status in (200, 404, 410), "GET %s{token} answers (%d)" % (p, r.status))
    r = s.request("POST", p + tok, headers={"Content-Type": "application/x-www-form-urlencoded"},
                  body="csrf=wrong")
    t.ok(r.status in (403, 404, 405, 410), "POST %s{token} with a wrong CSRF token is refused (%d)" % (p, r.status))
qtok, ctok, stok = secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(16)
s.request("GET", "/pay/return/paypal/X1?token=%s&PayerID=P" % qtok)
s.request("GET", "/login?code=%s" % ctok)
s.request("GET", "/plans?format=x&session_id=%s" % stok)
rtok = secrets.token_urlsafe(32)
s.request("GET", "/", headers={"Referer": "http://127.0.0.1:%d/password/reset/%s" % (s.port, rtok),
                               "User-Agent": "px-ua-marker-7731"})
time.sleep(0.5)
pool = s.pool_log_text()
with open(os.path.join(s.dir, "nginx-access.log")) as f:
    alog = f.read()
for p, tok in toks.items():
    t.ok(tok not in pool, "the pool's log never holds a %s token" % p)
    t.ok(tok not in alog, "nginx's access log never holds a %s token" % p)
    lines = [x for x in s.log_lines() if x.get("path") == p + tok[:4] + "..."]
    t.ok(len(lines) >= 2, "the request log shows %s with the token cut to 4 characters" % p, len(lines))
    t.ok(("GET %s%s... HTTP" % (p, tok[:4])) in alog and ("POST %s%s... HTTP" % (p, tok[:4])) in alog,
         "nginx's access log shows %s cut to 4 characters" % p)
t.ok(re.search(r"csrf token missing or wrong on POST /password/reset/%s\.\.\." % re.escape(toks["/password/reset/"][:4]),
               pool) is not None, "the CSRF diagnostic names the path masked")
for tok, what in ((qtok, "token="), (ctok, "code="), (stok, "session_id=")):
    t.ok(tok not in alog, "nginx's access log never holds a %s query value" % what)
t.ok("GET /pay/return/paypal/X1?(masked) HTTP" in alog and "GET /login?(masked) HTTP" in alog,
     "a query string with a secret-named parameter is logged as ?(masked)")
t.ok(rtok not in alog and ("/password/reset/%s..." % rtok[:4]) in alog,
     "a Referer with a token path is cut to 4 characters")
t.ok("GET /plans HTTP" in alog or "GET / HTTP" in alog, "an ordinary request is logged as it is")
keys = set().union(*[set(x) for x in s.log_lines() if "path" in x and "status" in x])
t.ok(keys <= {"time", "id", "method", "path", "status", "bytes", "wall_ms", "cpu_ms", "user", "pid", "cache"} and
     "px-ua-marker-7731" not in pool and "127.0.0.1" not in pool,
     "the request log holds no client address, user agent, query string or referrer", sorted(keys))

# -- mail payloads: sealed while queued --
terminate(s.work)
s.work = None
cust = Browser(s)
cust.form("/register", "/register", {"email": "cora@example.com", "name": "Cora", "password": PW, "terms": "on"})
other = Browser(s)
other.form("/password/forgot", "/password/forgot", {"email": "cora@example.com"})
ada = Staff(s, "ada@example.com", "super_admin")
ada.reauth("/admin/staff")
r = ada.b.form("/admin/staff", "/admin/staff/invite", {"email": "nia@example.com", "name": "Nia", "role": "support"})
t.is_(r.status, 303, "a staff invitation is queued")


def payloads():
    return {row[0]: (row[1], json.loads(row[2]), row[3]) for row in
            s.sql("SELECT id, json_extract(payload, '$.template'), payload, state FROM jobs WHERE kind = 'email'")}


def at_rest():
    """Every byte of the database files and the spool."""
    out = b""
    for p in glob.glob(s.db + "*") + glob.glob(os.path.join(s.dir, "spool", "**", "*"), recursive=True):
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out += f.read()
    return out


queued = payloads()
links = [(jid, tm, pl) for jid, (tm, pl, st) in queued.items()
         if tm in ("emails/verify", "emails/reset", "emails/invite")]
t.is_(sorted(tm for _, tm, _ in links), ["emails/invite", "emails/reset", "emails/verify"],
      "verify, reset and invite mails are queued")
t.ok(all("sealed" in pl and "link" in pl["sealed"] and pl["vars"]["link"].endswith("...") for _, _, pl in links),
     "each queued payload has its link sealed and only a masked link in vars",
     [pl for _, _, pl in links])
t.ok(all(re.search(r"/(verify|password/reset|admin/invite)/[A-Za-z0-9_-]{4}\.\.\.$", pl["vars"]["link"])
         for _, _, pl in links), "the masked link keeps the path and 4 characters of the token")
before = at_rest()

# Sent: the work daemon opens the sealed link.
err = open(os.path.join(s.dir, "work.stderr"), "ab")
s.work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=err, stderr=err)
vmail = s.wait_mail("cora@example.com", "Confirm")
rmail = s.wait_mail("cora@example.com", "Reset")
imail = s.wait_mail("nia@example.com", "invited")
vlink = link_in(vmail, "/verify/") if vmail else None
rlink = link_in(rmail, "/password/reset/") if rmail else None
ilink = link_in(imail, "/admin/invite/") if imail else None
t.ok(vlink and rlink and ilink, "the three mails are sent with their links", (vlink, rlink, ilink))
tokens = [x.rsplit("/", 1)[1] for x in (vlink, rlink, ilink) if x]
t.ok(len(tokens) == 3 and all(len(x) >= 20 for x in tokens), "... each carrying a token")
t.ok(all(x.encode() not in before for x in tokens),
     "while queued, no token is in the database files or the spool")
t.is_(s.request("GET", rlink).status if rlink else 0, 200, "the mailed reset link works")
t.is_(s.request("GET", ilink).status if ilink else 0, 200, "the mailed invitation link works")
wait_for(lambda: all(st == "done" for jid, (tm, pl, st) in payloads().items() if jid in dict((a, 1) for a, _, _ in links)), 10)
sent = payloads()
t.ok(all("sealed" not in sent[jid][1] and sent[jid][1].get("scrubbed") is True for jid, _, _ in links),
     "once sent, each payload has lost its sealed link (scrubbed)", [sent[jid][1] for jid, _, _ in links])
t.ok(all(x.encode() not in at_rest() for x in tokens), "after sending, no token is in the database files or the spool")

# Change of address: the new address's confirmation link is sealed too.
cust.form("/login", "/login", {"email": "cora@example.com", "password": PW})
cust.get(vlink)
r = cust.form("/account/email", "/account/email", {"email": "cora2@example.com", "password": PW})
cmail = s.wait_mail("cora2@example.com", "Confirm")
clink = link_in(cmail, "/verify/") if cmail else None
t.ok(clink is not None, "the change-of-address mail is sent with its link", r.status)
t.ok(clink is not None and clink.rsplit("/", 1)[1].encode() not in at_rest(),
     "its token is not at rest either")

# Discarded: the sealed link goes, and a retry says why.
terminate(s.work)
s.work = None
Browser(s).form("/register", "/register", {"email": "dora@example.com", "name": "Dora", "password": PW,
                                           "terms": "on"})
D = max(jid for jid, (tm, pl, st) in payloads().items() if tm == "emails/verify")
t.ok("sealed" in payloads()[D][1], "a new verification mail is queued sealed")
s.cli("job", "discard", str(D))
t.ok("sealed" not in payloads()[D][1] and payloads()[D][2] == "discarded",
     "discarding it removes the sealed link")
s.cli("job", "retry", str(D))
s.work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=err, stderr=err)
t.ok(wait_for(lambda: payloads()[D][2] == "failed", 20), "a retried scrubbed message fails instead of sending",
     payloads()[D][2])
le = s.sql("SELECT last_error FROM jobs WHERE id = ?", (D,))[0][0] or ""
t.ok("scrubbed" in le, "... and says why", le)
t.ok(len(s.find_mail("dora@example.com", "Confirm")) == 0, "... and nothing was sent")
s.check_sanitizers(t)
t.done()
