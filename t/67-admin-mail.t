#!/usr/bin/env python3
"""The staff mail log (issue 14, mailadmin14), against the SMTP double:

- /admin/mail (mail.read): states sent, retried-then-sent (451 then
  250), permanently failed (554 at the end of DATA: failed at the first
  attempt), queued and discarded, from the job and mail_log only;
  recipient, template, subject, attempts, next attempt, last answer,
  Message-ID; filters by state, recipient (LIKE wildcards escaped) and
  template; a bad filter is a 400 with a message; everything escaped;
- one message's page: headers; its body only with demo = yes, as
  escaped text, and with demo = no neither the body nor the
  verification token anywhere in the page; a non-email job is a 404;
- retry (mail.manage) of a failed message sends it exactly once; retry
  of a sent message is refused (409) and sends nothing; discard of a
  queued message; each change one audit row (jobctl.c's);
- 403 for analyst (no mail.read), 403 on POST for support (no
  mail.manage), a customer cookie gets the staff sign-in redirect;
- the dashboard's mail counts; the banner past mail.alert_failures (a
  setting on the general settings page, validated) and not at it;
  /healthz's mail line for staff only."""
import email
import email.policy
import html
import json
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP, wait_for  # noqa: E402
from pxmail import SMTPDouble  # noqa: E402
from pxstaff import PW, Staff  # noqa: E402
from pxweb import Browser, Shop, csrf_of, link_in  # noqa: E402

t = TAP()
EVIL = "Sh<script>alert(1)</script>p"


class MailShop(Shop):
    """Shop whose SMTP double takes fault options."""

    def __init__(self, smtp_args, **conf):
        super().__init__(workers=1, conf=conf)
        self.smtp_args = smtp_args

    def start(self):
        self.smtp = SMTPDouble(self, "smtp", "starttls", "shop", "s3cret", *self.smtp_args)
        self.extra.update(smtp_url=self.smtp.url, smtp_user="shop", smtp_password="s3cret",
                          smtp_ca_file=self.smtp.ca, smtp_from="noreply@shop.example")
        super(Shop, self).start()
        err = open(os.path.join(self.dir, "work.stderr"), "ab")
        self.work = subprocess.Popen([BIN, "-c", self.conf, "work"], stdout=err, stderr=err)
        return self


def enqueue(s, key, to, tmpl="emails/test", vars_=None, *opts):
    payload = {"to": to, "template": tmpl, "vars": vars_ if vars_ is not None else {"address": to}}
    return int(s.cli("test-spool", "enqueue", "email", key, json.dumps(payload), *opts).stdout)


def state(s, jid):
    r = s.sql("SELECT state FROM jobs WHERE id = ?", (jid,))
    return r[0][0] if r else None


def row(page, jid):
    """The <tr> of message jid in a list page, or ''."""
    i = page.find('data-mail="%d"' % jid)
    return page[i:page.index("</tr>", i)] if i >= 0 else ""


def listed(page):
    import re
    return [int(x) for x in re.findall(r'data-mail="(\d+)"', page)]


# ---------------------------------------------------------------- demo = no
s = MailShop(["--data-reply", "554 5.7.1 Message refused", "--data-reply-count", "1",
              "--rcpt-fail", "bounce@*=550 5.1.1 No such user"])
s.start()
s.sql("INSERT INTO settings (key, value) VALUES ('shop.name', ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (EVIL,))
# A permanent failure first: the double refuses the first DATA with 554.
F = enqueue(s, "mail-f", "fail@example.com")
t.ok(wait_for(lambda: state(s, F) == "failed", 20), "554 at the end of DATA: failed", state(s, F))
t.is_(s.sql("SELECT attempts FROM jobs WHERE id = ?", (F,))[0][0], 1, "... at its first attempt, not retried")
ada = Staff(s, "ada@example.com", "super_admin")
mgr = Staff(s, "mgr@example.com", "manager")
sam = Staff(s, "sam@example.com", "support")
ann = Staff(s, "ann@example.com", "analyst")
S = enqueue(s, "mail-s", "sent@example.com")
t.ok(wait_for(lambda: state(s, S) == "done", 20), "the next message is sent")
B = enqueue(s, "mail-b", "bounce@example.com")
t.ok(wait_for(lambda: state(s, B) == "failed", 20), "550 at RCPT: failed", state(s, B))
t.is_(s.sql("SELECT attempts FROM jobs WHERE id = ?", (B,))[0][0], 1, "... at once, not retried for days")
BAD = enqueue(s, "mail-bad", "x<script>@example.com")
NOT = enqueue(s, "mail-nope", "nope@example.com", "emails/nope")
t.ok(wait_for(lambda: state(s, BAD) == "failed" and state(s, NOT) == "failed", 20),
     "a refused address and a missing template fail")
Q = enqueue(s, "mail-q", "later@example.com", "emails/test", None, "run_at=+3600")

# A customer registers: the verification mail is sent.
cust = Browser(s)
cust.form("/register", "/register", {"email": "cora@example.com", "name": "Cora", "password": PW, "terms": "on"})
V = s.sql("SELECT id FROM jobs WHERE kind = 'email' AND json_extract(payload, '$.to') = 'cora@example.com'")
V = V[0][0] if V else 0
t.ok(V > 0 and wait_for(lambda: state(s, V) == "done", 20), "the verification mail is sent", V)
vmail = s.wait_mail("cora@example.com", "Confirm")
token = (link_in(vmail, "/verify/") or "/verify/?").split("/")[-1] if vmail else "?"
t.ok(len(token) > 10, "the verification link is in the mail", token)

# -- the list --
r = sam.get("/admin/mail")
page = r.text
t.is_(r.status, 200, "support (mail.read) opens /admin/mail")
good, errs = s.html_ok(r.body)
t.ok(good, "the mail log is well-formed HTML", errs)
t.ok(listed(page)[:1] == [V] and set(listed(page)) >= {F, S, B, BAD, NOT, Q, V}, "every message, newest first",
     listed(page))
t.ok('data-state="failed"' in row(page, F) and "fail@example.com" in row(page, F) and
     "SMTP 554" in row(page, F) and "Message refused" in row(page, F),
     "the 554: failed, with the server's answer", row(page, F))
t.ok('data-state="failed"' in row(page, B) and "550 5.1.1 No such user" in row(page, B),
     "the 550 at RCPT: failed, with the server's answer", row(page, B))
sr = row(page, S)
msgid = s.sql("SELECT message_id FROM mail_log WHERE job_id = ?", (S,))[0][0]
t.ok('data-state="sent"' in sr and html.escape(msgid) in sr and ">test<" in sr, "sent: template and Message-ID", sr)
t.ok("250 2.0.0 Ok: queued as" in sr, "sent: the last answer is the server's reply to the end of DATA", sr)
t.ok("Test email from Sh&lt;script&gt;alert(1)&lt;/script&gt;p" in sr, "the subject (from mail_log) is escaped", sr)
t.ok("<script>" not in page, "no raw <script> anywhere in the page")
t.ok("x&lt;script&gt;@example.com" in row(page, BAD) and "recipient" in row(page, BAD),
     "a refused recipient shows escaped, with why", row(page, BAD))
t.ok("—" in row(page, NOT) and "no email template" in row(page, NOT), "a message that cannot render: '—'",
     row(page, NOT))
qr = row(page, Q)
t.ok('data-state="queued"' in qr and "Test email from" in qr and "UTC" in qr,
     "queued: the subject rendered now, the next attempt", qr)

# -- filters --
r = sam.get("/admin/mail?state=failed")
t.ok(r.status == 200 and set(listed(r.text)) == {F, B, BAD, NOT}, "state=failed", listed(r.text))
r = sam.get("/admin/mail?state=queued")
t.is_(listed(r.text), [Q], "state=queued")
r = sam.get("/admin/mail?to=SENT%40example")
t.is_(listed(r.text), [S], "to= matches part of the address, case-blind")
r = sam.get("/admin/mail?to=%25")
t.ok(r.status == 200 and listed(r.text) == [] and "No message matches" in r.text,
     "to=% is a literal %, not a wildcard")
for i in range(51):
    enqueue(s, "mail-page-%d" % i, "a+b&c@example.com", "emails/test", None, "run_at=+7200")
r = sam.get("/admin/mail?to=a%2Bb%26c")
t.ok(len(listed(r.text)) == 50 and 'href="/admin/mail?state=&amp;to=a%2Bb%26c&amp;template=&amp;page=2"' in r.text,
     "50 a page; the next page's link keeps the recipient filter, encoded", r.text[r.text.find("pager"):][:300])
r = sam.get("/admin/mail?to=a%2Bb%26c&page=2")
t.is_(len(listed(r.text)), 1, "... page 2 has the 51st")
s.sql("DELETE FROM jobs WHERE idem_key LIKE 'mail-page-%'")
r = sam.get("/admin/mail?template=verify")
t.is_(listed(r.text), [V], "template=verify")
for q, why in (("state=bogus", "The state is one of"), ("template=..%2Fx", "no such email template"),
               ("template=nope", "no such email template"), ("page=0", "The page is"),
               ("to=a%0Ab", "The recipient filter")):
    r = sam.get("/admin/mail?" + q)
    t.ok(r.status == 400 and why in r.text and listed(r.text) == [], "a bad filter (%s): 400 with a message" % q,
         (r.status, r.text[:200]))

# -- one message; no body with demo = no --
r = sam.get("/admin/mail/%d" % V)
t.ok(r.status == 200 and "cora@example.com" in r.text and "noreply@shop.example" in r.text and
     "Confirm your email" in r.text, "a message's headers", r.status)
good, errs = s.html_ok(r.body)
t.ok(good, "the message page is well-formed HTML", errs)
t.ok(token not in r.text and "/verify/" not in r.text and "mail-body" not in r.text,
     "demo = no: neither the body nor the verification link")
r = sam.get("/admin/mail/%d" % S)
t.ok(html.escape(msgid) in r.text and "Date" in r.text, "a sent message: Message-ID and date")
sid = s.sql("INSERT INTO jobs (kind, idem_key, state) VALUES ('traffic_sync', 'not-mail', 'done') RETURNING id")[0][0]
t.is_(sam.get("/admin/mail/%d" % sid).status, 404, "a job that is not an email is a 404")
t.is_(sam.get("/admin/mail/999999").status, 404, "no such message: 404")

# -- permissions --
t.is_(ann.get("/admin/mail").status, 403, "analyst (no mail.read): 403")
t.is_(ann.get("/admin/mail/%d" % S).status, 403, "... on a message too")
scsrf = csrf_of(sam.get("/admin/mail").text)
n_before = len(s.smtp.messages())
r = sam.post("/admin/mail/%d/retry" % F, {"csrf": scsrf})
t.ok(r.status == 403 and state(s, F) == "failed", "support (no mail.manage): POST retry is 403, nothing changes")
t.ok("/admin/mail/%d/retry" % F not in sam.get("/admin/mail").text, "... and is offered no retry button")
r = cust.get("/admin/mail")
t.ok(r.status == 303 and r.header("location").startswith("/admin/login"),
     "an anonymous or customer cookie: the staff sign-in redirect", (r.status, r.header("location")))
cust.form("/login", "/login", {"email": "cora@example.com", "password": PW})
r = cust.get("/admin/mail/%d" % V)
t.ok(r.status == 303 and r.header("location").startswith("/admin/login") and token not in r.text,
     "a signed-in customer gets nothing", r.status)

# -- retry and discard (manager: mail.manage) --
r = mgr.get("/admin/mail")
mcsrf = csrf_of(r.text)
t.ok("/admin/mail/%d/discard" % Q in row(r.text, Q) and "/admin/mail/%d/retry" % F in row(r.text, F),
     "mail.manage: discard a queued message, retry a failed one")
r = mgr.post("/admin/mail/%d/retry" % F, {"csrf": mcsrf})
t.ok(r.status == 303 and r.header("location") == "/admin/mail/%d?done=retried" % F, "retry: 303 to the message",
     (r.status, r.header("location")))
t.ok(wait_for(lambda: state(s, F) == "done", 20), "the retried message is sent")
wait_for(lambda: len(s.smtp.messages()) > n_before, 5)
subprocess.run(["sleep", "1"])
t.is_(len(s.smtp.messages()) - n_before, 1, "... exactly one message arrives")
t.is_(len(s.find_mail("fail@example.com", "Test email")), 1, "... to its recipient, once")
t.is_(s.sql("SELECT count(*) FROM mail_log WHERE job_id = ?", (F,))[0][0], 1, "... and mail_log has it once")
t.is_(s.sql("SELECT actor_kind, target FROM audit_log WHERE action = 'job.retry'"), [("staff", "job:%d" % F)],
      "one audit row job.retry")
r = mgr.post("/admin/mail/%d/retry" % F, {"csrf": mcsrf})
t.ok(r.status == 409 and "sent already" in r.text, "retry of a sent message: 409 with why", r.status)
subprocess.run(["sleep", "1"])
t.ok(len(s.smtp.messages()) - n_before == 1 and state(s, F) == "done", "... nothing is sent twice")
r = mgr.post("/admin/mail/%d/discard" % Q, {"csrf": mcsrf})
t.ok(r.status == 303 and state(s, Q) == "discarded", "discard a queued message", r.status)
r = mgr.get("/admin/mail?state=discarded")
t.ok(listed(r.text) == [Q] and "/admin/mail/%d/retry" % Q in r.text, "discarded, and may be retried",
     listed(r.text))
r = mgr.post("/admin/mail/%d/discard" % S, {"csrf": mcsrf})
t.ok(r.status == 409 and state(s, S) == "done", "discard of a sent message: 409", r.status)
t.is_(s.sql("SELECT count(*) FROM audit_log WHERE action = 'job.discard' AND target = ?", ("job:%d" % Q,))[0][0], 1,
      "one audit row job.discard")
t.is_(mgr.post("/admin/mail/%d/retry" % sid, {"csrf": mcsrf}).status, 404, "retry of a job that is not mail: 404")

# -- dashboard, banner, healthz --
Q2 = enqueue(s, "mail-q2", "later2@example.com", "emails/test", None, "run_at=+3600")
r = sam.get("/admin")
t.ok('href="/admin/mail?state=queued"><span class="n">1</span> <span class="label">Mail queued' in r.text,
     "dashboard: mail queued, linking to the log", r.text[r.text.find("stats"):][:800])
t.ok('href="/admin/mail?state=failed"><span class="n">3</span> <span class="label">Mail failed (24 h)' in r.text,
     "dashboard: mail failed in the last 24 hours")
t.ok("Mail queued" not in ann.get("/admin").text, "... not for a role without mail.read")
# Three failed in the last hour (B, BAD, NOT); the default limit is 5.
t.ok("mail-banner" not in sam.get("/admin").text, "three failures, limit 5: no banner")
settings = {"seller_name": "S", "seller_address": "A", "seller_tax_id": "T", "tax_rate": "0"}
r = ada.form("/admin/settings", "/admin/settings", dict(settings, mail_alert_failures="x"))
t.ok(r.status == 400 and "mail alert" in r.text, "mail_alert_failures must be a number", r.status)
r = ada.form("/admin/settings", "/admin/settings", dict(settings, mail_alert_failures="3"))
t.ok(r.status == 303 and s.sql("SELECT value FROM settings WHERE key = 'mail.alert_failures'") == [("3",)],
     "the setting saves", r.status)
t.ok(s.sql("SELECT count(*) FROM audit_log WHERE action = 'settings.changed' AND target = "
           "'setting:mail.alert_failures'")[0][0] == 1, "... audited")
t.ok('name="mail_alert_failures" value="3"' in ada.get("/admin/settings").text,
     "... and shows on the general settings page")
t.ok("mail-banner" not in sam.get("/admin").text, "three failures, limit 3: no banner (more than the limit)")
hz = json.loads(sam.get("/healthz").text)
t.is_(hz.get("mail"), {"queued": 1, "failed_last_hour": 3, "alert_failures": 3, "alert": False},
      "/healthz: the mail line for staff with mail.read")
t.ok("panels" not in hz, "... without the panels (servers.write)")
ada.form("/admin/settings", "/admin/settings", dict(settings, mail_alert_failures="2"))
for who, name in ((sam, "support"), (ann, "analyst"), (ada, "super_admin")):
    for path in ("/admin", "/admin/settings", "/admin/tokens"):
        r = who.get(path)
        if r.status != 200:
            continue
        t.ok("mail-banner" in r.text and "3 messages failed to send in the last hour" in r.text,
             "banner past the limit: %s on %s" % (name, path))
t.ok('see the <a href="/admin/mail?state=failed">mail log' in sam.get("/admin").text,
     "... linking to the failed mail for mail.read")
t.ok("mail-banner" in ann.get("/admin").text and "/admin/mail?" not in ann.get("/admin").text,
     "... and without the link for a role that cannot open it")
hz = json.loads(ada.get("/healthz").text)
t.ok(hz.get("mail", {}).get("alert") is True and "panels" in hz, "/healthz: alert true (super_admin: panels too)",
     hz.get("mail"))
hz = json.loads(s.get("/healthz").text)
t.ok("mail" not in hz and "panels" not in hz, "/healthz anonymous: no mail line")
s.sql("UPDATE jobs SET updated_at = updated_at - 3700 WHERE state = 'failed'")
r = sam.get("/admin")
t.ok(r.status == 200 and "mail-banner" not in r.text, "failures older than an hour no longer count")
s.stop()

# --------------------------------------------------------------- demo = yes
s = MailShop(["--data-reply", "451 4.3.0 Try again later", "--data-reply-count", "1"], demo="yes")
s.start()
s.sql("INSERT INTO settings (key, value) VALUES ('shop.name', ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (EVIL,))
R = enqueue(s, "mail-r", "retry@example.com", "emails/test", {"address": "<b>bold</b>@example.com"})
t.ok(wait_for(lambda: state(s, R) == "done", 30), "451 then 250: sent")
sam = Staff(s, "sam@example.com", "support")
t.is_(s.sql("SELECT attempts FROM jobs WHERE id = ?", (R,))[0][0], 2, "... at the second attempt")
t.is_(len(s.find_mail("retry@example.com", "Test email")), 1, "... one message arrived")
r = sam.get("/admin/mail")
t.ok('data-state="sent"' in row(r.text, R) and ">2<" in row(r.text, R) and "250 2.0.0 Ok" in row(r.text, R),
     "the log: sent, two attempts, the server's 250", row(r.text, R))
r = sam.get("/admin/mail/%d" % R)
good, errs = s.html_ok(r.body)
t.ok(good, "the message page with its body is well-formed HTML", errs)
body = r.text[r.text.find('<pre class="mail-body">'):]
body = body[:body.find("</pre>")]
t.ok("&lt;b&gt;bold&lt;/b&gt;@example.com" in body and "<b>" not in body,
     "demo = yes: the body, as escaped text in <pre>", body[:300])
t.ok("SMTP transparency" in body, "... the rendered template")
t.ok("<script>" not in r.text, "... nothing unescaped in the page")
cust = Browser(s)
cust.form("/register", "/register", {"email": "dan@example.com", "name": "Dan", "password": PW, "terms": "on"})
V = s.sql("SELECT id FROM jobs WHERE kind = 'email' AND json_extract(payload, '$.to') = 'dan@example.com'")[0][0]
wait_for(lambda: state(s, V) == "done", 20)
vmail = s.wait_mail("dan@example.com", "Confirm")
link = link_in(vmail, "/verify/") if vmail else None
r = sam.get("/admin/mail/%d" % V)
tok = link.rsplit("/", 1)[1] if link else "?"
t.ok(link is not None and tok not in r.text and html.escape(link.rsplit("/", 1)[0] + "/" + tok[:4] + "...") in r.text,
     "demo = yes: the verification link shows masked (sealed, then scrubbed once sent)", link)
s.check_sanitizers(t)
s.stop()
t.done()
