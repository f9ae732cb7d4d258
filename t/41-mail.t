#!/usr/bin/env python3
"""The email job end to end against a real SMTP peer (t/lib/smtpd.py):
STARTTLS + AUTH and implicit TLS, the message parsed back with Python's
email module, 4xx retried, 5xx and a bad password failed, header
injection refused, a misspelt template key fails the job (strict
views under test_routes), kill -9 mid-delivery sends exactly one copy, and
SIGTERM lets the current delivery finish."""
import email
import email.policy
import hashlib
import json
import os
import signal
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, wait_for  # noqa: E402
from pxmail import SMTPDouble, Spool, make_ca  # noqa: E402

t = TAP()


def stack(mode="starttls", password="s3cret", *smtp_args, **conf):
    s = Spool(conf=conf)
    ca, _, _ = make_ca(s.dir)
    d = SMTPDouble(s, "smtp", mode, "shop", "s3cret", *smtp_args)
    s.setup(smtp_url=d.url, smtp_user="shop", smtp_password=password, smtp_ca_file=ca,
            smtp_from="noreply@shop.example", site_name="Ünïcode Shop")
    return s, d


def mail_test(s, to="buyer@example.com", key=None):
    args = ["mail-test"] + (["-k", key] if key else []) + [to]
    return int(s.cli(*args).stdout.split()[1])


def state(s, jid):
    return (s.job(jid) or ("?",))[0]


# -- STARTTLS + AUTH, the message itself --
s, d = stack()
w = s.start_work()
jid = mail_test(s, key="welcome:42")
t.ok(wait_for(lambda: len(d.messages()) == 1, 20), "STARTTLS: the message reached the server", d.events())
t.ok(wait_for(lambda: state(s, jid) == "done", 10), "the job is done", s.job(jid))
raw = open(d.messages()[0], "rb").read() if d.messages() else b""
env = json.load(open(d.messages()[0][:-4] + ".json")) if d.messages() else {}
ev = d.events()
t.ok("C: STARTTLS" in ev and ev.index("TLS\n") < ev.index("AUTH ok"), "STARTTLS came before AUTH", ev)
t.ok(env.get("tls") is True and env.get("auth") == "shop", "delivered under TLS as the authenticated user", env)
t.is_(env.get("from"), "<noreply@shop.example>", "envelope sender is smtp_from")
t.is_(env.get("rcpt"), ["<buyer@example.com>"], "envelope recipient")
t.ok(b"\n" not in raw.replace(b"\r\n", b""), "every line ends with CRLF (no bare LF or CR)")
t.ok(all(len(x) <= 998 for x in raw.split(b"\r\n")), "no line is longer than 998 bytes")
m = email.message_from_bytes(raw, policy=email.policy.default)
t.is_(str(m["Subject"]), "Test email from Ünïcode Shop", "Subject decodes to the template's first line")
t.ok(b"Subject: =?UTF-8?B?" in raw, "a non-ASCII Subject is an RFC 2047 encoded-word")
want_id = "<%s@shop.example>" % hashlib.sha256(b"welcome:42").hexdigest()[:32]
t.is_(m["Message-ID"], want_id, "Message-ID derives from the idempotency key")
t.is_(str(m["From"]), "noreply@shop.example", "From header")
t.is_(str(m["To"]), "buyer@example.com", "To header")
t.ok(m["Date"] is not None and m["Date"].datetime is not None, "Date parses", m["Date"])
t.is_(m["MIME-Version"], "1.0", "MIME-Version")
t.is_(m.get_content_type() + ";" + m.get_content_charset(), "text/plain;utf-8", "Content-Type text/plain UTF-8")
t.is_(m["Content-Transfer-Encoding"], "8bit", "Content-Transfer-Encoding 8bit")
body = m.get_content()
t.ok(b"\r\n.\r\n.. two dots\r\n" in raw and "\n.. two dots" in body.replace("\r\n", "\n"),
     "lines starting with dots survive SMTP dot-stuffing", raw)
t.ok("Ünïcode Shop" in body and "buyer@example.com" in body, "the body is the rendered template", body)
log = s.sql("SELECT job_id, rcpt, message_id FROM mail_log")
t.is_(log, [(jid, "buyer@example.com", want_id)], "mail_log records the job, recipient and Message-ID")
# The runner moves the file after the row's commit (the row is the truth):
# wait for the move rather than read it the instant the row says done.
t.ok(wait_for(lambda: len(s.job_files("done", jid)) == 1 and s.job_files("cur", jid) == [], 10),
     "the job's file moved to done/", (s.job_files("cur", jid), s.job_files("done", jid)))
again = mail_test(s, key="welcome:42")
t.is_(again, jid, "mail-test with the same key is the same job")
subprocess.run(["sleep", "0.5"])
t.is_(len(d.messages()), 1, "... and sends nothing more")
p = s.cli("mail-test", "a@example.com\r\nBcc: victim@example.com", check=False)
t.ok(p.returncode == 2, "mail-test refuses CR/LF in the address")
bad = s.cli("test-spool", "enqueue", "email", "inject-1",
            json.dumps({"to": "x@example.com\r\nBcc: victim@example.com", "template": "emails/test"})).stdout
t.ok(wait_for(lambda: state(s, int(bad)) == "failed", 10), "a job with CR/LF in the recipient fails")
t.ok("recipient" in s.job(int(bad))[2], "... saying why", s.job(int(bad)))
t.is_(len(d.messages()), 1, "... and nothing was sent")
# Under test_routes (the suite) the runners render strictly, as the pool
# does: a key the template names and the job does not give (here
# misspelt) fails the job instead of sending the mail with a hole.
typo = int(s.cli("test-spool", "enqueue", "email", "typo-1",
                 json.dumps({"to": "x@example.com", "template": "emails/test",
                             "vars": {"adress": "x@example.com"}})).stdout)
t.ok(wait_for(lambda: state(s, typo) == "failed", 10), "a misspelt template key fails the email job", s.job(typo))
t.ok("{{address}} is not in the view model" in (s.job(typo) or ("", 0, ""))[2] and
     "emails/test" in s.job(typo)[2], "... naming the template and the key", s.job(typo))
t.is_(s.job(typo)[1], 1, "... at once, without a retry")
t.is_(len(d.messages()), 1, "... and nothing was sent")
t.is_(s.sql("SELECT count(*) FROM mail_log WHERE job_id = ?", (typo,))[0][0], 0, "... nor logged as sent")
nul = int(s.cli("test-spool", "enqueue", "email", "null-1",
                json.dumps({"to": "y@example.com", "template": "emails/test",
                            "vars": {"address": None}})).stdout)
t.ok(wait_for(lambda: state(s, nul) == "done", 10), "a key given as null renders empty and sends", s.job(nul))
t.is_(len(d.messages()), 2, "... one more message")
w.send_signal(signal.SIGTERM)
w.wait(10)

# -- implicit TLS --
s, d = stack("tls")
w = s.start_work()
jid = mail_test(s)
t.ok(wait_for(lambda: len(d.messages()) == 1, 20), "smtps://: implicit TLS delivers", d.events())
t.ok(wait_for(lambda: state(s, jid) == "done", 10), "... and the job is done", s.job(jid))
env = json.load(open(d.messages()[0][:-4] + ".json")) if d.messages() else {}
t.ok(env.get("tls") is True and env.get("auth") == "shop" and "C: STARTTLS" not in d.events(),
     "... with AUTH and without STARTTLS", env)

# -- 4xx: retried later, then delivered --
# A minute's backoff, passed on the test clock instead of waited for.
s, d = stack("starttls", "s3cret", "--data-reply", "451 4.3.0 Try again later", "--data-reply-count", "1",
             retry_base="60", retry_cap="60")
w = s.start_work()
jid = mail_test(s)
t.ok(wait_for(lambda: "DATA refused" in d.events(), 20), "the server answers 451 to the first try")
t.ok(wait_for(lambda: (s.job(jid) or (0, 0))[1] >= 1 and state(s, jid) == "pending", 10),
     "the job is pending a retry, not failed", s.job(jid))
due = s.job(jid)[4] - s.now()
# 30..60 s by the backoff (base 60, jitter), less the fraction of a
# second and the time the checks took since.
t.ok(20 <= due <= 61, "... due in about 30..60 s (base 60, jitter)", due)
s.advance(61)
t.ok(wait_for(lambda: state(s, jid) == "done", 20), "once the clock passes it, the retry delivers", s.job(jid))
t.is_(s.job(jid)[1], 2, "two attempts")
t.ok("451" in s.job(jid)[2], "last_error remembers the 451", s.job(jid))
t.is_(len(d.messages()), 1, "exactly one message delivered")

# -- 5xx: failed for good --
s, d = stack("starttls", "s3cret", "--data-reply", "554 5.7.1 Rejected by policy")
w = s.start_work()
jid = mail_test(s)
t.ok(wait_for(lambda: state(s, jid) == "failed", 20), "a 554 fails the job", s.job(jid))
t.ok("554" in s.job(jid)[2] and "Rejected by policy" in s.job(jid)[2], "last_error shows the server's reply",
     s.job(jid))
t.is_(s.job(jid)[1], 1, "no retry after a 5xx")
t.ok(wait_for(lambda: len(s.job_files("failed", jid)) == 1, 5), "the file is in failed/", s.files("cur"))
t.is_(d.messages(), [], "nothing delivered")

# -- wrong password --
s, d = stack("starttls", "wrong-password")
w = s.start_work()
jid = mail_test(s)
t.ok(wait_for(lambda: state(s, jid) == "failed", 20), "a wrong password fails the job", s.job(jid))
t.ok("login denied" in s.job(jid)[2], "last_error says the login was denied", s.job(jid))
t.ok("AUTH failed" in d.events() and "535" in s.job(jid)[2], "the server refused AUTH with 535",
     (d.events(), s.job(jid)))
t.is_(d.messages(), [], "nothing delivered")

# -- kill -9 mid-delivery, restart: exactly one copy --
s, d = stack("starttls", "s3cret", "--delay", "2", "--delay-count", "1")
w = s.start_work()
jid = mail_test(s)
t.ok(wait_for(lambda: "DATA delaying" in d.events(), 20), "the server holds back its final 250", d.events())
w.kill()
w.wait(5)
t.ok(wait_for(lambda: "DROPPED" in d.events(), 10), "the server saw the client vanish before its 250", d.events())
t.is_(d.messages(), [], "so nothing was delivered")
t.is_(state(s, jid), "running", "the row says the job was running")
w = s.start_work()
t.ok(wait_for(lambda: len(d.messages()) >= 1, 20), "after a restart the mail is delivered", d.events())
t.ok(wait_for(lambda: state(s, jid) == "done", 10), "the job is done", s.job(jid))
subprocess.run(["sleep", "0.5"])
t.is_(len(d.messages()), 1, "exactly one copy was delivered")
t.is_(s.sql("SELECT count(*) FROM mail_log WHERE job_id = ?", (jid,))[0][0], 1, "one mail_log row")

# -- SIGTERM mid-delivery: the job finishes, then the daemon exits 0 --
s, d = stack("starttls", "s3cret", "--delay", "1.5", "--delay-count", "1")
w = s.start_work()
jid = mail_test(s)
t.ok(wait_for(lambda: "DATA delaying" in d.events(), 20), "a delivery is in progress", d.events())
w.send_signal(signal.SIGTERM)
try:
    rc = w.wait(20)
except subprocess.TimeoutExpired:
    rc = None
t.is_(rc, 0, "SIGTERM: work exits 0")
t.is_(len(d.messages()), 1, "... after finishing the delivery it had started")
t.is_(state(s, jid), "done", "... and recording it")
t.done()
