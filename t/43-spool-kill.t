#!/usr/bin/env python3
"""kill -9 of a runner mid-job, of the work master mid-job, and a runner
that lost its lease: every job still completes exactly once in effect,
counted at the doubles (one login per server_test job, one message per
email job) and in mail_log (one row per job)."""
import json
import os
import re
import signal
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, wait_for  # noqa: E402
from pxmail import PanelDouble, SMTPDouble, Spool, make_ca, runner_pids  # noqa: E402

t = TAP()


def stack(*smtp_args, **conf):
    base = {"work_runners": "3", "panel_timeout": "10", "smtp_timeout": "10", "gateway_timeout": "10",
            "work_lease": "30"}
    base.update(conf)
    s = Spool(conf=base)
    ca, _, _ = make_ca(s.dir)
    d = SMTPDouble(s, "smtp", "starttls", "shop", "s3cret", *smtp_args)
    s.setup(smtp_url=d.url, smtp_user="shop", smtp_password="s3cret", smtp_ca_file=ca,
            smtp_from="noreply@shop.example")
    return s, d


def enqueue(s, kind, key, payload="{}", *opts):
    return int(s.cli("test-spool", "enqueue", kind, key, payload, *opts).stdout)


def mail(s, key, to="buyer@example.com"):
    return enqueue(s, "email", key, json.dumps({"to": to, "template": "emails/test", "vars": {"address": to}}))


def state(s, jid):
    return (s.job(jid) or ("?",))[0]


def holder(s, jid):
    """The pid of the runner holding job jid (claimed_by is PID.NONCE)."""
    r = s.sql("SELECT claimed_by FROM jobs WHERE id = ? AND state = 'running'", (jid,))
    return int(r[0][0].split(".")[0]) if r and r[0][0] else None


# -- kill -9 of a runner in the middle of a login and of an SMTP delivery --
s, smtp = stack("--delay", "2", "--delay-count", "1")
p = PanelDouble(s, "panel", "--delay", "2")
p.add_server(s, 1)
w = s.start_work()
t.ok(wait_for(lambda: len(runner_pids(w)) == 1, 10), "one runner at rest (more start on demand)")
js = [enqueue(s, "server_test", "kill-t-%d" % i, "{}", "server=1") for i in range(2)]
jm = [mail(s, "kill-m-%d" % i, "r%d@example.com" % i) for i in range(2)]
t.ok(wait_for(lambda: "enter login" in p.events() and "DATA delaying" in smtp.events(), 20),
     "a login and a delivery are held by the doubles", (p.events(), smtp.events()))
victims = {holder(s, j) for j in js + jm if state(s, j) == "running"} - {None}
login_job = [j for j in js if state(s, j) == "running" and s.job(j)[3] == "login"]
mail_job = [j for j in jm if state(s, j) == "running"]
kill = {holder(s, login_job[0]) if login_job else None, holder(s, mail_job[0]) if mail_job else None} - {None}
t.ok(len(kill) >= 1 and kill <= victims, "found the runners mid-login and mid-delivery", (kill, victims))
before = set(runner_pids(w))
for pid in kill:
    os.kill(pid, signal.SIGKILL)
t.ok(wait_for(lambda: all(re.search(r"runner %d\.\w+ killed by signal 9" % pid, open(s.log).read())
                             for pid in kill) and
              len(set(runner_pids(w)) - before) >= len(kill) and len(runner_pids(w)) <= 3, 10),
     "the master replaces the killed runners", (kill, before, runner_pids(w)))
t.ok(wait_for(lambda: all(state(s, j) == "done" for j in js + jm), 30), "every job completes",
     [s.job(j) for j in js + jm])
time.sleep(0.5)
t.is_(p.stats().get("logins"), 2, "the panel saw exactly one login per server_test job")
t.ok(p.stats().get("abandoned", 0) >= (1 if login_job else 0), "... the killed runner's login was abandoned",
     p.stats())
t.is_(len(smtp.messages()), 2, "exactly one message per email job")
t.is_(s.sql("SELECT count(*), count(DISTINCT job_id) FROM mail_log")[0], (2, 2), "mail_log: one row per job")
log = open(s.log).read()
t.ok("died" in log and "back to pending" in log, "the new runner put the dead one's job back at once")
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")

# -- kill -9 of the master: its runners die with it; a restart finishes the work --
s, smtp = stack("--delay", "2", "--delay-count", "1")
p = PanelDouble(s, "panel", "--delay", "2")
p.add_server(s, 1)
w = s.start_work()
t.ok(wait_for(lambda: len(runner_pids(w)) == 1, 10), "one runner at rest")
js = [enqueue(s, "server_test", "mk-t-%d" % i, "{}", "server=1") for i in range(2)]
jm = [mail(s, "mk-m-%d" % i, "m%d@example.com" % i) for i in range(2)]
t.ok(wait_for(lambda: "enter login" in p.events() and "DATA delaying" in smtp.events(), 20),
     "a login and a delivery are in progress")
kids = runner_pids(w)
w.kill()
w.wait(5)
gone = wait_for(lambda: not any(os.path.exists("/proc/%d" % k) and
                                "zombie" not in open("/proc/%d/status" % k).read().lower() for k in kids), 5)
t.ok(gone, "the runners died with the master (PR_SET_PDEATHSIG)")
w = s.start_work()
t.ok(w.poll() is None, "a new work starts at once: the lock went with the runners")
t.ok(wait_for(lambda: all(state(s, j) == "done" for j in js + jm), 30), "every job completes after the restart",
     [s.job(j) for j in js + jm])
time.sleep(0.5)
t.is_(p.stats().get("logins"), 2, "exactly one login per server_test job")
t.is_(len(smtp.messages()), 2, "exactly one message per email job")
t.is_(s.sql("SELECT count(*), count(DISTINCT job_id) FROM mail_log")[0], (2, 2), "mail_log: one row per job")
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")

# -- leases: a running job whose runner is gone without a word --
# Four runners: with three, one panel may have only one job in flight
# (the others keep a runner), and the ghost's would fill it.
s, smtp = stack(work_lease="20", work_runners="4")
p = PanelDouble(s, "panel")
p.add_server(s, 1)
# Not due yet: work's start leaves them alone (it resets every running
# row, as no runner of an old master can be alive).
j1 = enqueue(s, "server_test", "lease-expired", "{}", "server=1", "run_at=+3600")
j2 = enqueue(s, "server_test", "lease-live", "{}", "server=1", "run_at=+3600")
w = s.start_work()
# The start's recovery runs in a child of the master (work.c) that
# runner_pids() counts too, and it resets every running row: the ghosts
# below must come after it, or it takes them back.
t.ok(wait_for(lambda: "started; recovery" in open(s.log).read() and len(runner_pids(w)) == 1, 10),
     "recovery done, one runner at rest")
logins0 = p.stats().get("logins", 0)
s.sql("UPDATE jobs SET state = 'running', attempts = 1, step = 'login', claimed_by = 'ghost', "
      "lease_until = unixepoch() + 3 WHERE id = ?", (j2,))
s.sql("UPDATE jobs SET state = 'running', attempts = 1, step = 'login', claimed_by = 'ghost', "
      "lease_until = unixepoch() - 1 WHERE id = ?", (j1,))
t.ok(wait_for(lambda: state(s, j1) == "done" and p.stats().get("logins", 0) == logins0 + 1, 10),
     "a job whose lease ran out is taken over and done", s.job(j1))
t.ok("lease of ghost ran out" in (s.sql("SELECT last_error FROM jobs WHERE id = ?", (j1,))[0][0]),
     "... saying whose lease ran out", s.job(j1))
t.is_(state(s, j2), "running", "a job under a live lease is left to its runner")
t.ok(wait_for(lambda: state(s, j2) == "done", 10), "... until the lease runs out", s.job(j2))
t.is_(p.stats().get("logins", 0), logins0 + 2, "one login each")
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")
t.done()
