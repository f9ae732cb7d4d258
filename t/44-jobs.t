#!/usr/bin/env python3
"""Job rows: run_at in the future is not run early; a discarded job never
runs; a retried failed job runs again and its age limit counts from the
retry; `1000proxy job list|show|retry|discard` with audit rows; `cron
prune` removes old finished rows but keeps those mail_log references;
work refuses a lease shorter than a call; 006_jobs.sql keeps every row
and reference."""
import json
import os
import shutil
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, free_port, wait_for  # noqa: E402
from pxmail import SMTPDouble, Spool, make_ca  # noqa: E402

t = TAP()


def stack(*smtp_args, **conf):
    s = Spool(conf=conf)
    ca, _, _ = make_ca(s.dir)
    d = SMTPDouble(s, "smtp", "starttls", "shop", "s3cret", *smtp_args)
    s.setup(smtp_url=d.url, smtp_user="shop", smtp_password="s3cret", smtp_ca_file=ca,
            smtp_from="noreply@shop.example")
    return s, d


def mail(s, key, to="buyer@example.com", *opts):
    return int(s.cli("test-spool", "enqueue", "email", key,
                     json.dumps({"to": to, "template": "emails/test", "vars": {"address": to}}), *opts).stdout)


def state(s, jid):
    return (s.job(jid) or ("?",))[0]


# -- run_at, discard --
s, smtp = stack("--data-reply", "550 5.1.1 No such user", "--data-reply-count", "1")
later = mail(s, "later", "later@example.com", "run_at=+3600")
t.ok(abs(s.sql("SELECT next_attempt_at - unixepoch() FROM jobs WHERE id = ?", (later,))[0][0] - 3600) <= 2,
     "run_at sets the first due time")
gone = mail(s, "discard-me", "discarded@example.com", "run_at=+3600")
r = s.cli("job", "discard", str(gone))
t.ok(r.returncode == 0 and "discarded" in r.stdout, "job discard", r.stdout)
t.is_(state(s, gone), "discarded", "the row is discarded")
s.sql("UPDATE jobs SET next_attempt_at = unixepoch() - 10 WHERE id = ?", (gone,))
failing = mail(s, "fails-once", "first@example.com")
w = s.start_work()
t.ok(wait_for(lambda: state(s, failing) == "failed", 20), "a 550 fails the job for good", s.job(failing))
time.sleep(1)
t.is_(state(s, later), "pending", "a job due in an hour has not run")
t.is_(s.job(later)[1], 0, "... not even one attempt")
t.is_(state(s, gone), "discarded", "a discarded job never runs, even when due")
t.ok(not any("discarded@example.com" in open(m, errors="replace").read() for m in smtp.messages()),
     "... nothing was sent for it")
r = s.cli("job", "discard", str(gone), check=False)
t.ok(r.returncode == 1 and "only pending or failed" in r.stderr, "a discarded job cannot be discarded again", r.stderr)

# -- retry --
r = s.cli("job", "retry", str(failing))
t.ok(r.returncode == 0 and "pending again" in r.stdout, "job retry", r.stdout)
t.ok(wait_for(lambda: state(s, failing) == "done", 20), "the retried job runs again and is done", s.job(failing))
t.is_(len(smtp.messages()), 1, "one message delivered (the first attempt was refused)")
r = s.cli("job", "retry", str(later), check=False)
t.ok(r.returncode == 1 and "only failed or discarded" in r.stderr, "a pending job cannot be retried", r.stderr)
audit = s.sql("SELECT action, target FROM audit_log WHERE action LIKE 'job.%' ORDER BY id")
t.is_(audit, [("job.discard", "job:%d" % gone), ("job.retry", "job:%d" % failing)],
      "discard and retry are audited")
t.is_([x[0] for x in s.sql("SELECT actor FROM audit_log WHERE action LIKE 'job.%'")], ["cli", "cli"],
      "... with the command line as the actor")
out = s.cli("job", "list").stdout
t.ok("discarded" in out and "done" in out and str(later) in out, "job list shows the rows", out)
out = s.cli("job", "list", "-s", "discarded").stdout
listed = [int(x.split()[0]) for x in out.splitlines()[1:] if x.strip()]
t.is_(listed, [gone], "job list -s filters by state")
out = s.cli("job", "show", str(failing)).stdout
t.ok("state: done" in out and "idempotency key: fails-once" in out, "job show", out)
s.advance(3600)     # the hour passes on the test clock
t.ok(wait_for(lambda: state(s, later) == "done", 20), "an hour later the run_at job runs", s.job(later))
w.terminate()
w.wait(10)
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")

# -- the age limit counts from the retry, not from created_at --
dead = free_port()
s = Spool(conf={"retry_max_age": "3600", "retry_base": "60", "retry_cap": "60"})
s.setup(smtp_url="smtp://127.0.0.1:%d/shop.example" % dead, smtp_timeout="2", work_lease="30")
old = mail(s, "old-job", "old@example.com", "nowake")
s.sql("UPDATE jobs SET state = 'failed', created_at = unixepoch() - 10 * 86400, "
      "age_from = unixepoch() - 10 * 86400, next_attempt_at = unixepoch() - 10 * 86400, attempts = 9 "
      "WHERE id = ?", (old,))
control = mail(s, "old-control", "old2@example.com", "nowake")
s.sql("UPDATE jobs SET created_at = unixepoch() - 10 * 86400, age_from = unixepoch() - 10 * 86400 "
      "WHERE id = ?", (control,))
s.cli("job", "retry", str(old))
w = s.start_work()
t.ok(wait_for(lambda: s.job(old)[1] >= 1 and state(s, old) != "running", 20), "the retried job was attempted",
     s.job(old))
t.is_(state(s, old), "pending", "ten days after created_at it is still retried: the age counts from the retry")
t.ok(wait_for(lambda: state(s, control) == "failed", 20), "a job failing since its first due time ten days ago "
     "fails (retry_max_age)", s.job(control))
w.terminate()
w.wait(10)
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")

# -- cron prune: old finished rows go, mail_log's stay --
s = Spool(conf={"job_keep_days": "7"})
s.setup()
ids = {}
for key in ("old-done", "old-mailed", "new-done", "old-discarded", "old-failed", "pending"):
    ids[key] = mail(s, key, "p@example.com", "nowake")
s.sql("UPDATE jobs SET state = 'done', done_at = unixepoch() - 8 * 86400 WHERE idem_key IN ('old-done', 'old-mailed')")
s.sql("UPDATE jobs SET state = 'done', done_at = unixepoch() - 86400 WHERE idem_key = 'new-done'")
s.sql("UPDATE jobs SET state = 'discarded', done_at = unixepoch() - 8 * 86400 WHERE idem_key = 'old-discarded'")
s.sql("UPDATE jobs SET state = 'failed', updated_at = unixepoch() - 30 * 86400 WHERE idem_key = 'old-failed'")
s.sql("INSERT INTO mail_log (job_id, rcpt, subject, message_id) VALUES (?, 'p@example.com', 's', '<m@x>')",
      (ids["old-mailed"],))
r = s.cli("cron", "prune")
t.ok("2 finished job rows older than 7 days removed" in r.stdout, "prune reports two job rows", r.stdout)
left = sorted(x[0] for x in s.sql("SELECT idem_key FROM jobs"))
t.is_(left, ["new-done", "old-failed", "old-mailed", "pending"],
      "old done and discarded rows went; mail_log's row, recent, failed and pending rows stay")
t.ok(s.cli("cron", "prune").returncode == 0, "prune twice is fine")

# -- 006_jobs.sql rebuilds jobs under rows: every row and reference kept --
s.stop()
s = Spool()
src_sql = os.path.join(os.environ.get("PX_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")), "sql")
old_sql = os.path.join(s.dir, "sql-005")
os.makedirs(old_sql)
for f in os.listdir(src_sql):
    if f.endswith(".sql") and f[:3].isdigit() and int(f[:3]) <= 5:
        shutil.copy(os.path.join(src_sql, f), old_sql)
s.write_conf(sql_dir=old_sql)
r = s.cli("migrate", check=False)
t.ok("schema at version 5" in r.stdout, "a database at version 5", r.stdout + r.stderr)
s.sql("INSERT INTO jobs (id, kind, idem_key, state, attempts, created_at, done_at) "
      "VALUES (7, 'email', 'pre-1', 'done', 1, 1000, 2000), (8, 'provision', 'pre-2', 'failed', 3, 1500, NULL)")
s.sql("INSERT INTO mail_log (job_id, rcpt, subject, message_id) VALUES (7, 'a@example.com', 's', '<pre@x>')")
s.reconf(sql_dir=src_sql)
r = s.cli("migrate", check=False)
t.ok(r.returncode == 0, "the rebuild migration applies over rows", r.stdout + r.stderr)
t.is_(s.sql("SELECT id, kind, state, attempts, created_at, age_from, coalesce(done_at, 0) FROM jobs ORDER BY id"),
      [(7, "email", "done", 1, 1000, 1000, 2000), (8, "provision", "failed", 3, 1500, 1500, 0)],
      "every job row is kept, its age counted from its creation")
t.is_(s.sql("SELECT m.job_id, j.idem_key FROM mail_log m JOIN jobs j ON j.id = m.job_id"), [(7, "pre-1")],
      "mail_log still references its job")
t.is_(s.sql("PRAGMA foreign_key_check"), [], "no broken reference")
t.ok(s.sql("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
           "('jobs_state', 'jobs_server', 'jobs_done')")[0][0] == 3, "the indexes are there")

# -- a lease shorter than a call would let two runners hold one job --
s.reconf(work_lease="20", panel_timeout="20")
r = s.cli("work", check=False)
t.ok(r.returncode == 1 and "work_lease" in r.stderr, "work refuses a lease that does not outlast a call", r.stderr)
s.reconf(work_lease="300")

# -- the kinds of the next issues, and the rebuild kept what was there --
for kind in ("server_test", "server_sync", "payment_create", "payment_capture", "refund", "suspend",
             "resume", "reset_traffic", "regenerate", "provision", "renew", "deprovision", "traffic_sync"):
    r = s.cli("test-spool", "enqueue", kind, "kind-" + kind, "{}", "nowake", check=False)
    t.ok(r.returncode == 0, "the schema knows job kind %s" % kind, r.stderr)
t.ok(s.cli("test-spool", "enqueue", "bogus", "kind-bogus", "{}", "nowake", check=False).returncode != 0,
     "an unknown kind is still refused")
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")
t.done()
