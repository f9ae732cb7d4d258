#!/usr/bin/env python3
"""The job spool: idempotent enqueue (both API variants), the claim race,
corrupt files, recovery by `cron reconcile` and at `work` start, the
daemon lock, unknown kinds, backoff, prune and a graceful stop."""
import os
import signal
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP, wait_for  # noqa: E402
from pxmail import Spool  # noqa: E402

t = TAP()
s = Spool(conf={"retry_base": "5", "retry_cap": "3600"}).setup()

# -- enqueue --
a = s.cli("test-spool", "enqueue", "email", "k-1", '{"to":"a@example.com"}').stdout.strip()
b = s.cli("test-spool", "enqueue", "email", "k-1", '{"to":"other@example.com"}').stdout.strip()
t.ok(a.isdigit(), "enqueue prints a job id", a)
t.is_(b, a, "a second enqueue with the same idempotency key returns the same job")
c = s.cli("test-spool", "enqueue-req", "email", "k-1", '{"to":"x@example.com"}').stdout.strip()
t.is_(c, a, "the request variant finds the same job by key too")
d = s.cli("test-spool", "enqueue-req", "email", "k-2", '{"to":"x@example.com"}').stdout.strip()
t.ok(d.isdigit() and d != a, "the request variant makes a new job for a new key", d)
t.is_(s.sql("SELECT count(*) FROM jobs")[0][0], 2, "two keys, two rows")
t.is_(s.sql("SELECT payload FROM jobs WHERE id = ?", (int(a),))[0][0], '{"to":"a@example.com"}',
      "the first payload is kept, not overwritten")
t.ok(len(s.job_files("new", a)) >= 1 and len(s.job_files("new", d)) == 1, "enqueue woke: files in new/",
     s.files("new"))
body = open(os.path.join(s.spool, "new", s.job_files("new", d)[0])).read()
t.ok(body.endswith("\n%end\n") and '"job":%s' % d in body, "the file names the job and ends with the marker", body)
t.is_(s.files("tmp"), [], "nothing is left in tmp/")
p = s.cli("test-spool", "enqueue", "nonsense", "k-3", "{}", check=False)
t.ok(p.returncode != 0, "a kind the schema does not know is refused")
p = s.cli("test-spool", "enqueue-req", "email", "k-4", "[1,2]", check=False)
t.ok(p.returncode != 0 and "500" in p.stderr, "the request variant refuses a payload that is not an object", p.stderr)
t.is_(s.sql("SELECT count(*) FROM jobs")[0][0], 2, "refused enqueues left no row")

# -- the claim race: exactly one of eight claimants wins --
for f in s.job_files("new", a)[1:]:
    os.unlink(os.path.join(s.spool, "new", f))
name = s.job_files("new", a)[0]
go = os.path.join(s.dir, "go")
procs = [subprocess.Popen([BIN, "-c", s.conf, "test-spool", "claim", name, go]) for _ in range(8)]
time.sleep(0.3)
open(go, "w").close()
codes = [p.wait(20) for p in procs]
t.is_(codes.count(0), 1, "exactly one claimant wins the rename (codes %s)" % codes)
t.ok(name in s.files("cur") and name not in s.files("new"), "the claimed file is in cur/")

# -- recovery without a daemon: cron reconcile does it all --
for f in s.job_files("new", d):
    os.unlink(os.path.join(s.spool, "new", f))           # a lost wake-up
with open(os.path.join(s.spool, "new", "4242.1.1.ab"), "w") as f:
    f.write('{"job":4242,"kind":"email"}\n%end\n')      # a file without a row
with open(os.path.join(s.spool, "new", "%s.2.2.cd" % d), "w") as f:
    f.write('{"job":%s,"ki' % d)                        # truncated: no end marker
with open(os.path.join(s.spool, "new", "garbage"), "w") as f:
    f.write("hello\n")
old = os.path.join(s.spool, "tmp", "7.1.1.old")
fresh = os.path.join(s.spool, "tmp", "8.1.1.fresh")
for fn in (old, fresh):
    open(fn, "w").close()
os.utime(old, (time.time() - 7200, time.time() - 7200))
r = s.cli("cron", "reconcile")
t.ok("full" in r.stdout, "reconcile without a daemon does the full recovery", r.stdout)
t.ok(name in s.files("new") and s.files("cur") == [], "cur/ left by a dead claimer went back to new/",
     (s.files("new"), s.files("cur")))
t.is_(len(s.job_files("new", d)), 1, "a pending row without a file got a new one")
t.ok("4242.1.1.ab" not in s.files("new") and "4242.1.1.ab" not in s.files("corrupt"),
     "a file whose row does not exist was dropped")
t.ok("%s.2.2.cd" % d in s.files("corrupt") and "garbage" in s.files("corrupt"),
     "truncated and garbled files went to corrupt/", s.files("corrupt"))
t.ok(not os.path.exists(old) and os.path.exists(fresh), "stale tmp/ swept, a fresh one kept")
r2 = s.cli("cron", "reconcile")
t.ok("0 re-woken" in r2.stdout and "0 dropped" in r2.stdout, "reconcile twice changes nothing more", r2.stdout)
p1 = subprocess.Popen([BIN, "-c", s.conf, "cron", "reconcile"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p2 = subprocess.Popen([BIN, "-c", s.conf, "cron", "reconcile"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
t.ok(p1.wait(20) == 0 and p2.wait(20) == 0, "two reconciles at once both succeed")
t.is_(len(s.job_files("new", d)) + len(s.job_files("cur", d)), 1, "... and do not duplicate wake-ups")

# -- the daemon: lock, unknown kinds, corrupt files, graceful stop --
s.sql("UPDATE jobs SET next_attempt_at = unixepoch() + 3600")     # keep the email jobs quiet
w = s.start_work()
t.ok(w.poll() is None, "work starts")
lock = open(os.path.join(s.spool, "lock")).read().strip()
t.is_(lock, str(w.pid), "the lock file holds the daemon's pid")
p = s.cli("work", check=False)
t.ok(p.returncode == 1 and "another work daemon" in p.stderr, "a second work daemon on the spool refuses", p.stderr)
r = s.cli("cron", "reconcile")
t.ok(r.returncode == 0 and "work daemon running" in r.stdout, "reconcile beside the daemon does the safe part",
     r.stdout)
wait_for(lambda: s.files("new") == [], 5)
t.ok(wait_for(lambda: len(s.job_files("cur", a)) >= 1, 5), "the daemon claimed the waiting files into cur/",
     (s.files("new"), s.files("cur")))
# A job that cannot succeed: every kind the schema knows has a handler
# since issue 13, so a payment look-up for a payment that does not exist
# (job_payment.c) fails for good, at once.
pv = s.cli("test-spool", "enqueue", "gateway_followup", "gw-1", '{"payment":1}').stdout.strip()
t.ok(wait_for(lambda: (s.job(pv) or ("",))[0] == "failed", 10), "a job that cannot succeed fails",
     s.job(pv))
t.ok("no payment 1" in s.job(pv)[2], "... with a clear last_error", s.job(pv))
t.ok(wait_for(lambda: len(s.job_files("failed", pv)) == 1, 5), "... and its file is in failed/")
with open(os.path.join(s.spool, "tmp", "x"), "w") as f:
    f.write('{"job":%s,"kind":"email"}\n%%en' % a)
os.rename(os.path.join(s.spool, "tmp", "x"), os.path.join(s.spool, "new", "%s.9.9.ef" % a))
t.ok(wait_for(lambda: "%s.9.9.ef" % a in s.files("corrupt"), 5), "the daemon moves a file without marker to corrupt/")
t.is_(s.job(a)[0], "pending", "... and the job it names is untouched (the row is the truth)")
w.send_signal(signal.SIGTERM)
try:
    rc = w.wait(10)
except subprocess.TimeoutExpired:
    rc = None
t.is_(rc, 0, "SIGTERM stops an idle daemon with status 0")
t.is_(open(os.path.join(s.spool, "lock")).read(), "", "... and it empties the lock file")

# -- recovery at work start: a dead daemon's running row and cur/ file --
s.sql("UPDATE jobs SET state = 'running', step = 'send' WHERE id = ?", (int(a),))
w = s.start_work()
t.ok(wait_for(lambda: s.job(a)[0] == "pending", 5), "work start resets a dead daemon's running job", s.job(a))
t.ok("interrupted" in s.job(a)[2], "... noting the interruption", s.job(a))
w.send_signal(signal.SIGTERM)
w.wait(10)

# -- backoff --
vals = {n: [int(s.cli("test-spool", "backoff", str(n)).stdout) for _ in range(20)] for n in (1, 3, 30)}
t.ok(all(3 <= v <= 5 for v in vals[1]), "first retry after 3..5 s (base 5, jitter)", vals[1])
t.ok(all(10 <= v <= 20 for v in vals[3]), "third retry after 10..20 s (doubling)", vals[3])
t.ok(all(1800 <= v <= 3600 for v in vals[30]), "capped at retry_cap", vals[30])
t.ok(len(set(vals[30])) > 1, "jitter varies the delay")

# -- prune --
os.makedirs(os.path.join(s.spool, "done"), exist_ok=True)
oldf = os.path.join(s.spool, "done", "1.1.1.old")
newf = os.path.join(s.spool, "done", "2.1.1.new")
for fn in (oldf, newf):
    open(fn, "w").close()
os.utime(oldf, (time.time() - 8 * 86400, time.time() - 8 * 86400))
r = s.cli("cron", "prune")
t.ok(not os.path.exists(oldf) and os.path.exists(newf), "prune removes done/ files older than 7 days only", r.stdout)
t.ok(s.cli("cron", "prune").returncode == 0, "prune twice is fine")
p = s.cli("cron", "nope", check=False)
t.ok(p.returncode == 2 and "usage" in p.stderr and "reconcile" in p.stderr, "an unknown cron task is a usage error")
t.done()
