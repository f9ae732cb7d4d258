#!/usr/bin/env python3
"""The demo delivers mail you can read (issue 14, "The demo delivers mail
locally" and "Staff TOTP in the demo"; "Tests must show": "The demo
journey in Chromium: register, open the mail from the demo's mail log (or
the .eml file), follow the link, sign in").

A shop configured as ./quickstart demo configures it: the SMTP sink
(t/lib/smtpd.py --sink, STARTTLS with a certificate from a CA of its own,
no AUTH) writing NNNN.eml into a mail directory, smtp_url, smtp_ca_file
and smtp_from naming it, and demo = yes (the lines quickstart writes are
checked here too, so the two cannot drift apart).  In Debian's chromium
(t/browser/mail.cjs): a customer registers ("Check your inbox" says where
the demo's mail lands), the test reads the .eml file the sink wrote (the
To, the Message-ID that mail_log recorded, a link to the shop's base_url),
the browser follows the link, confirms and signs in to its account.  A
second customer registers; staff sign in with a TOTP code from oathtool
(`oathtool --totp -b SECRET`, the README's way without an authenticator
app) after reading the key as text beside the QR code; they open that
message in the staff mail log, whose body shows the link masked (issue
16), follow the link from the .eml, and the customer signs in.  Then the sink, restarted on the same directory,
numbers on and overwrites nothing, and writes only .eml files.  Without
chromium, node, the npm packages or oathtool the test is a loud SKIP, and
under CI=true a failure."""
import email
import email.policy
import glob
import json
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, Stack, browser_or_skip, terminate, wait_for  # noqa: E402
from pxmail import SMTPDouble  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)
OATHTOOL = shutil.which("oathtool")
if OATHTOOL is None:
    t.skip_all("DEMO MAIL BROWSER TEST NOT RUN: no oathtool (apt-get install oathtool; ./quickstart installs it)")

STAFF_PW = "heather compass violin 37"
FROM = "noreply@demo.example"
out = tempfile.mkdtemp(prefix="px-browser-mail-")

# -- what ./quickstart demo writes, read from quickstart itself --
qs = open(os.path.join(SRC, "quickstart")).read()
t.ok(re.search(r'smtpd\.py" --sink --dir "\$md"[^\n]*--mode starttls', qs) is not None,
     "quickstart runs the SMTP double as the demo's sink (--sink, STARTTLS) into .demo/mail")
for line in ('smtp_url = "smtp://127.0.0.1:$smtp_port/demo.localhost"', 'smtp_ca_file = "$run/smtp/ca.pem"',
             'smtp_from = "%s"' % FROM, "demo = yes"):
    t.ok(line in qs, "quickstart's demo config has: " + line)
t.ok("smtp_user" not in qs, "... and no smtp_user (the sink takes mail without AUTH)")
t.ok(re.search(r'DEMO_PKGS="[^"]*\boathtool\b', qs) and "install_missing $DEMO_PKGS" in qs,
     "./quickstart demo installs oathtool when missing")


class DemoShop(Stack):
    """nginx + pool + work, and the demo's sink instead of the tests' SMTP
    double with AUTH (pxweb.Shop)."""

    def __init__(self):
        super().__init__(workers=2, conf={"work_poll_ms": "50", "retry_base": "1", "retry_cap": "2"})
        self.work = None

    def start(self):
        self.sink = SMTPDouble(self, "mail", "starttls", "", "", "--sink")
        self.extra.update(smtp_url="smtp://127.0.0.1:%d/demo.localhost" % self.sink.port,
                          smtp_ca_file=self.sink.ca, smtp_from=FROM, demo="yes")
        super().start()
        err = open(os.path.join(self.dir, "work.stderr"), "ab")
        self.work = subprocess.Popen([BIN, "-c", self.conf, "work"], stdout=err, stderr=err)
        return self

    def stop(self, **kw):
        terminate(self.work)
        self.work = None
        for d in getattr(self, "doubles", []):
            d.stop()
        super().stop(**kw)


s = DemoShop().start()
s.cli("user", "add", "--role", "super_admin", "--name", "Sam Staff", "sam@example.com", input=STAFF_PW + "\n")
base = "http://127.0.0.1:%d" % s.port
maildir = s.sink.dir


def emls():
    return sorted(glob.glob(os.path.join(maildir, "*.eml")))


def eml_to(to):
    """The sink's .eml files to `to`, parsed, with their paths."""
    found = []
    for p in emls():
        with open(p, "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        if to in str(m["To"]):
            found.append((p, m))
    return found


def job_of(to):
    rows = s.sql("SELECT id, state FROM jobs WHERE kind = 'email' AND json_extract(payload, '$.to') = ? "
                 "ORDER BY id DESC LIMIT 1", (to,))
    return rows[0] if rows else (None, None)


MAIL = {}


def answer(msg):
    need = msg.get("need")
    if need == "eml":
        wait_for(lambda: eml_to(msg["to"]), 20)
        got = eml_to(msg["to"])
        if not got:
            return {"link": None}
        path, m = got[-1]
        body = m.get_body(preferencelist=("plain",)).get_content()
        link = re.search(r"https?://\S+/verify/[A-Za-z0-9_-]+", body)
        MAIL[msg["to"]] = (path, m, link.group(0) if link else None)
        return {"link": link.group(0) if link else None}
    if need == "totp":
        # What a person without an authenticator app types: oathtool's
        # code for the key on the page, at the stack's (test) clock.
        s.next_step()
        r = subprocess.run([OATHTOOL, "--totp", "-b", "-N", "@%d" % int(s.now()), msg["secret"]],
                           capture_output=True, text=True)
        MAIL["oathtool"] = (r.returncode, r.stdout.strip(), r.stderr.strip())
        return {"code": r.stdout.strip()}
    if need == "sent":
        wait_for(lambda: job_of(msg["to"])[1] == "done", 20)
        return {"job": job_of(msg["to"])[0]}
    return {}


env = dict(os.environ, PX_CLOCK_FILE=s.clock_file, PX_STAFF_PW=STAFF_PW)
p = subprocess.Popen([node, os.path.join(SRC, "t", "browser", "mail.cjs"), pw, base, out], env=env,
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
timer = threading.Timer(150, p.kill)
timer.start()
res = None
for line in p.stdout:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if "result" in msg:
        res = msg["result"]
        break
    p.stdin.write(json.dumps(answer(msg)) + "\n")
    p.stdin.flush()
p.stdin.close()
err = p.stderr.read()
rc = p.wait()
timer.cancel()
if not t.ok(rc == 0 and res is not None, "the browser script ran", err[-3000:] or "killed after 150 s"):
    t.done()
t.ok("error" not in res, "every step of the journey was reached", res.get("error", "")[-3000:])
st, pg = res["steps"], res["pages"]


def page(name):
    return pg.get(name, {})


# -- the customer: register, the .eml, the link, sign in --
t.ok(page("a-registered").get("status") == 200 and "Check your inbox" in st.get("a_registered", ""),
     "registering says 'Check your inbox'", st.get("a_registered"))
t.ok(".demo/mail/" in st.get("a_registered", "") and "mail log" in st.get("a_registered", ""),
     "... and, in the demo, that the mail is kept in .demo/mail/ and the staff mail log", st.get("a_registered"))
path, m, link = MAIL.get("noor@example.com", (None, None, None))
t.ok(path is not None and re.fullmatch(r"\d{4}\.eml", os.path.basename(path)) is not None,
     "the verification mail lands in the sink's directory as NNNN.eml", path)
if m is not None:
    t.is_(str(m["To"]), "noor@example.com", "the .eml's To is the customer")
    t.is_(str(m["From"]), FROM, "its From is smtp_from")
    t.ok("Confirm your email" in str(m["Subject"]), "its Subject asks to confirm", str(m["Subject"]))
    logged = s.sql("SELECT message_id FROM mail_log WHERE rcpt = 'noor@example.com'")
    t.ok(m["Message-ID"] and logged and str(m["Message-ID"]).strip("<>") == logged[0][0].strip("<>"),
         "its Message-ID is the one mail_log recorded", (str(m["Message-ID"]), logged))
    t.ok(link and link.startswith(base + "/verify/"), "its link is under the shop's base_url (%s)" % base, link)
else:
    t.ok(False, "the .eml could be read")
ev = s.sink.events()
t.ok("TLS" in ev.split("C: MAIL")[0] and "AUTH" not in ev, "the shop spoke STARTTLS to the sink before MAIL, "
     "without AUTH", ev[-1500:])
a = st.get("a", {})
t.ok(page("a-verify").get("status") == 200 and page("a-verified").get("status") == 200 and
     "confirmed" in a.get("verified", ""), "following the link and pressing Confirm confirms the email", a.get("verified"))
t.is_(s.sql("SELECT email_verified_at IS NOT NULL FROM customers WHERE email = 'noor@example.com'"), [(1,)],
      "email_verified_at is set")
t.ok(page("a-account").get("url") == "/account" and page("a-account").get("h1") == "Your account" and
     "verified" in a.get("account", ""), "signing in lands on the account page, the email verified", page("a-account"))

# -- staff: TOTP from oathtool --
t.ok(re.fullmatch(r"[A-Z2-7]{32}", st.get("secret", "")) is not None,
     "the staff enrolment page shows the key as text (32 base32 characters)", st.get("secret"))
q = st.get("qr", {})
t.ok(q.get("complete") and q.get("w", 0) > 0, "... beside the QR image, which rendered", q)
rc_o, code, err_o = MAIL.get("oathtool", (None, "", ""))
t.ok(rc_o == 0 and re.fullmatch(r"\d{6}", code or "") is not None, "oathtool --totp -b KEY prints six digits",
     (rc_o, code, err_o))
t.ok(page("staff-codes").get("status") == 200 and page("staff-admin").get("url") == "/admin",
     "the shop accepts oathtool's code: enrolled, on /admin", (page("staff-codes"), page("staff-admin")))
t.ok(s.sql("SELECT totp_enabled_at IS NOT NULL FROM staff WHERE email = 'sam@example.com'") == [(1,)],
     "the staff account has TOTP on")

# -- staff: the mail log, its body's link, the second customer signs in --
job = st.get("b_job")
rows = st.get("mail_rows", [])
t.ok(any(r["id"] == str(job) and r["state"] == "sent" and "olek@example.com" in r["text"] for r in rows),
     "the mail log lists the second customer's message as sent", rows)
one = st.get("mail_one", {})
b_eml = eml_to("olek@example.com")
t.ok(one.get("to") == "olek@example.com" and b_eml and
     one.get("msgid", "").strip("<>") == str(b_eml[-1][1]["Message-ID"]).strip("<>"),
     "its page shows the To and the Message-ID of the .eml the sink holds", (one.get("to"), one.get("msgid")))
stem = os.path.basename(b_eml[-1][0]).split(".")[0] if b_eml else "?"
t.ok(re.match(r"250 .*queued as %s\b" % stem, one.get("answer", "")) is not None,
     "... and the sink's answer, naming the .eml file it wrote (%s.eml)" % stem, one.get("answer"))
b_tok = (st.get("b_link") or "/").rsplit("/", 1)[1]
t.ok(st.get("b_masked") and st["b_masked"].startswith(base + "/verify/") and
     st["b_masked"].endswith(b_tok[:4] + "...") and len(b_tok) > 10 and b_tok not in one.get("body", ""),
     "the body (demo = yes) shows the link under base_url masked, never the token", one.get("body", "")[:400])
b = st.get("b", {})
t.ok("confirmed" in b.get("verified", "") and page("b-account").get("url") == "/account",
     "following it confirms the second customer, who signs in to the account page", (b, page("b-account")))
t.is_(s.sql("SELECT email_verified_at IS NOT NULL FROM customers WHERE email = 'olek@example.com'"), [(1,)],
      "and email_verified_at is set")

t.ok(not res["console"], "no console errors or warnings", "\n".join(res["console"]))
t.ok(not res["pageerrors"], "no uncaught page errors", "\n".join(res["pageerrors"]))
t.ok(not res["csp"], "no Content-Security-Policy violations", "\n".join(res["csp"]))

# -- the sink across a restart: numbers on, overwrites nothing --
before = {p: open(p, "rb").read() for p in emls()}
t.ok(len(before) >= 2, "the sink holds every message so far (%d)" % len(before))
t.is_(sorted(x for x in os.listdir(maildir) if not x.endswith(".eml")), ["events.log", "port"],
      "the sink writes only .eml files beside its log (no envelope .json; the port file is this test's)")
s.sink.stop()
os.unlink(os.path.join(maildir, "port"))     # the new sink writes its own
again = SMTPDouble(s, "mail", "starttls", "", "", "--sink")
ctx = ssl.create_default_context(cafile=again.ca)
with smtplib.SMTP("127.0.0.1", again.port, timeout=10) as c:
    c.starttls(context=ctx)
    c.sendmail(FROM, ["later@example.com"], b"From: " + FROM.encode() + b"\r\nTo: later@example.com\r\n"
               b"Subject: after a restart\r\nMessage-ID: <restart@demo.example>\r\n\r\nhello\r\n")
after = emls()
t.is_(os.path.basename(after[-1]), "%04d.eml" % (len(before) + 1),
      "a restarted sink numbers on after the last file")
t.ok(all(open(p, "rb").read() == body for p, body in before.items()),
     "and leaves the earlier messages as they were")

t.diag("screenshots in " + out)
s.check_sanitizers(t)
s.stop()
if not os.environ.get("PX_KEEP"):
    shutil.rmtree(out, ignore_errors=True)
t.done()
