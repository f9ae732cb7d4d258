#!/usr/bin/env python3
"""Retention (issue 16, ASVS V8.3.8 and V8.3.3): `1000proxy cron prune`
clears the client address of audit rows older than audit_ip_keep_days,
deletes mail_log rows older than mail_log_keep_days (and then the job rows
they held back, past job_keep_days), and empties the payloads of jobs done
or discarded more than job_payload_keep_days ago (an email keeps its
recipient and template for /admin/mail); younger rows, failed jobs and the
rest of the audit row stay.  The audit log still refuses every other
UPDATE and every DELETE (sql/029).  /terms has a privacy section that
states the same periods, from the same configuration.
"""
import json
import os
import sqlite3
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=1, conf={"audit_ip_keep_days": "10", "mail_log_keep_days": "20",
                                        "job_payload_keep_days": "5", "job_keep_days": "30",
                                        "customer_idle": "1800", "customer_absolute": "43200"}).start()
sql = s.sql
DAY = 86400
sql("INSERT INTO audit_log (at, actor_kind, action, target, ip) VALUES "
    "(unixepoch() - 11 * 86400, 'customer', 'old.action', 'customer:1', '203.0.113.7'), "
    "(unixepoch() - 9 * 86400, 'customer', 'new.action', 'customer:1', '203.0.113.8')")
email = json.dumps({"to": "cora@example.com", "template": "emails/order_paid",
                    "vars": {"name": "Cora", "order": "X-1", "total": "9.99 USD"}})
rows = [  # idem, kind, state, done days ago, payload, mail_log sent days ago
    ("old-mail", "email", "done", 40, email, 25),
    ("mid-mail", "email", "done", 8, email, 8),
    ("new-mail", "email", "done", 2, email, 2),
    ("old-prov", "provision", "done", 6, json.dumps({"item": 7}), None),
    ("old-fail", "email", "failed", 6, email, None),
]
for idem, kind, state, ago, payload, sent in rows:
    sql("INSERT INTO jobs (kind, idem_key, payload, state, done_at, updated_at) "
        "VALUES (?, ?, ?, ?, unixepoch() - ?, unixepoch() - ?)", (kind, idem, payload, state, ago * DAY, ago * DAY))
    if sent is not None:
        sql("INSERT INTO mail_log (job_id, rcpt, subject, message_id, sent_at) "
            "SELECT id, 'cora@example.com', 'Order', ?, unixepoch() - ? FROM jobs WHERE idem_key = ?",
            ("<%s@x>" % idem, sent * DAY, idem))


sql("INSERT INTO staff (id, email, password_hash, role_id) VALUES (77, 'ops@example.com', 'x', 2)")
sql("INSERT INTO staff_devices (staff_id, token_hash, ip, user_agent, last_seen_at) VALUES "
    "(77, x'01', '203.0.113.9', 'old browser', unixepoch() - 11 * 86400), "
    "(77, x'02', '203.0.113.10', 'new browser', unixepoch() - 9 * 86400)")
sql("INSERT INTO passkey_challenges (hash, purpose, kind, bind, expires_at) VALUES "
    "(x'0a', 'signin', 'customer', x'00', unixepoch() - 1), (x'0b', 'signin', 'customer', x'00', unixepoch() + 300)")


def payload(idem):
    r = sql("SELECT payload FROM jobs WHERE idem_key = ?", (idem,))
    return json.loads(r[0][0]) if r else None


out = s.cli("cron", "prune").stdout
t.ok("1 mail log rows past mail_log_keep_days removed" in out, "prune reports one mail log row removed", out)
t.ok("1 audit rows past audit_ip_keep_days had their address cleared" in out, "... and one audit address cleared", out)
t.ok("3 finished job payloads past job_payload_keep_days emptied" in out, "... and three job payloads emptied (one row then goes)", out)
t.is_(sql("SELECT action, ip FROM audit_log WHERE action IN ('old.action', 'new.action') ORDER BY action"),
      [("new.action", "203.0.113.8"), ("old.action", "")],
      "an audit row past audit_ip_keep_days loses its address; a younger one keeps it")
t.is_(sql("SELECT actor_kind, target FROM audit_log WHERE action = 'old.action'"), [("customer", "customer:1")],
      "... and keeps who, what and when")
t.is_(sql("SELECT message_id FROM mail_log ORDER BY message_id"), [("<mid-mail@x>",), ("<new-mail@x>",)],
      "mail_log rows past mail_log_keep_days go; younger ones stay")
t.is_(payload("old-mail"), None, "the job row the old mail_log row held back goes with it (past job_keep_days)")
t.is_(payload("mid-mail"), {"to": "cora@example.com", "template": "emails/order_paid", "pruned": True},
      "a sent email's payload past job_payload_keep_days keeps only recipient and template")
t.is_(payload("new-mail")["vars"]["name"], "Cora", "a younger payload is whole")
t.is_(payload("old-prov"), {"pruned": True}, "another kind's old payload is emptied")
t.is_(payload("old-fail")["vars"]["name"], "Cora", "a failed job's payload stays (staff may retry it)")
t.is_(sql("SELECT user_agent FROM staff_devices ORDER BY id"), [("new browser",)],
      "a staff device unused past audit_ip_keep_days goes with its address; a younger one stays")
t.is_(sql("SELECT hex(hash) FROM passkey_challenges"), [("0B",)], "expired passkey challenges go; a live one stays")
out2 = s.cli("cron", "prune").stdout
t.ok("0 finished job payloads" in out2 and "0 audit rows" in out2 and "0 mail log rows" in out2,
     "a second run changes nothing", out2)

# The audit log stays append-only apart from clearing an address.
db = sqlite3.connect(s.db)
for what, q in (("changing its action", "UPDATE audit_log SET action = 'forged' WHERE action = 'new.action'"),
                ("writing an address", "UPDATE audit_log SET ip = '198.51.100.1' WHERE action = 'old.action'"),
                ("clearing an address and changing the detail",
                 "UPDATE audit_log SET ip = '', detail = 'x' WHERE action = 'new.action'"),
                ("deleting a row", "DELETE FROM audit_log WHERE action = 'new.action'")):
    try:
        db.execute(q)
        db.commit()
        t.ok(False, "the audit log refuses %s" % what)
    except sqlite3.DatabaseError as e:
        t.ok("append-only" in str(e), "the audit log refuses %s" % what, str(e))
db.close()

# /terms states the same periods.
r = s.get("/terms")
t.is_(r.status, 200, "/terms answers")
good, errs = s.html_ok(r.body)
t.ok(good, "/terms is well-formed HTML", errs)
for cls, want in (("pv-audit-ip", "10 days"), ("pv-mail-log", "20 days"), ("pv-job-payload", "5 days"),
                  ("pv-session-idle", "30 minutes"), ("pv-session-absolute", "12 hours")):
    t.ok('<span class="%s">%s</span>' % (cls, want) in r.text, "/terms's privacy section says %s (%s)" % (want, cls))
t.ok('id="privacy"' in r.text and "/account/export" in r.text, "... under its own heading, linking the export")
s.check_sanitizers(t)
t.done()
