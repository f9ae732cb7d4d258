#!/usr/bin/env python3
"""The test clock: with test_routes on, the offset in test_clock_file
moves the clock of every process of a running system at once (a web
worker's C code and its SQL, `work`, `cron`, the CLI, and the harness's
own SQL); with test_routes off the same file is ignored.  And the
sources read the wall clock for business time only through now_unix()
and SQL's unixepoch(), so that nothing escapes the test clock."""
import glob
import os
import re
import signal
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, terminate, wait_for  # noqa: E402
from pxweb import Browser, Shop  # noqa: E402

t = TAP()
PW = "correct horse battery staple"
AHEAD = 10 * 86400 + 7        # ten days and a few seconds


def near(x, want, slack=5):
    return x is not None and abs(x - want) <= slack


# -- the sources have one clock --
wall = []
for path in sorted(glob.glob(os.path.join(SRC, "src", "*.c"))):
    name = os.path.basename(path)
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if re.search(r"\btime\s*\(\s*(NULL|0|&)|gettimeofday|CLOCK_REALTIME|\bftime\s*\(", line):
                wall.append("%s:%d: %s" % (name, n, line.strip()))
# util.c's now_unix() is the clock; log.c stamps log lines with the real
# time on purpose (logs must be comparable with the rest of the machine).
t.ok(all(w.startswith(("util.c:", "log.c:")) for w in wall) and any(w.startswith("util.c:") for w in wall),
     "C reads the wall clock only in now_unix() (util.c) and for log stamps (log.c)", "\n".join(wall))
sqlnow = []
for path in sorted(glob.glob(os.path.join(SRC, "src", "*.c")) + glob.glob(os.path.join(SRC, "sql", "*.sql")) +
                   glob.glob(os.path.join(SRC, "sql", "*", "*.sql"))):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if re.search(r"'now'|\bCURRENT_(TIMESTAMP|DATE|TIME)\b|\bunixepoch\(\s*[^)\s]", line, re.I):
                sqlnow.append("%s:%d: %s" % (os.path.relpath(path, SRC), n, line.strip()))
t.ok(not sqlnow, "SQL reads the clock only through unixepoch() with no argument (the test clock's override)",
     "\n".join(sqlnow))

# -- test mode: one file moves every process --
s = Shop(workers=2).start()
t.ok(near(s.sql("SELECT unixepoch()")[0][0], time.time()), "before any move the clock is the wall clock")
s.advance(AHEAD)        # after the pool and work started: running processes follow
t.ok(near(s.now() - time.time(), AHEAD, 1), "advance() moves the harness's clock")
t.ok(near(s.sql("SELECT unixepoch()")[0][0], s.now()), "... and unixepoch() in the harness's own SQL")

b = Browser(s)
t.is_(b.get("/_test/echo").status, 200, "test mode: the test routes answer")
r = b.form("/login", "/login", {"email": "nobody@example.com", "password": "wrong password here"})
t.is_(r.status, 200, "a failed sign-in on a worker")
row = s.sql("SELECT last_failure_at FROM login_throttle WHERE key = 'acct:nobody@example.com'")
t.ok(row and near(row[0][0], s.now()), "a web worker's C clock (the throttle's now) is ten days ahead",
     (row, s.now()))
at = s.sql("SELECT max(at) FROM audit_log WHERE action = 'login.failed'")[0][0]
t.ok(near(at, s.now()), "a web worker's SQL clock (audit_log.at, DEFAULT (unixepoch())) too", (at, s.now()))

jid = int(s.cli("mail-test", "ahead@example.com").stdout.split()[1])
m = s.wait_mail("ahead@example.com", "Test email")
date = m["Date"].datetime.timestamp() if m is not None and m["Date"] is not None else None
t.ok(near(date, s.now()), "work's C clock (the mail's Date header) is ten days ahead", (date, s.now()))
t.ok(wait_for(lambda: s.sql("SELECT done_at FROM jobs WHERE id = ?", (jid,))[0][0] is not None, 10),
     "the job is done")
done_at, created = s.sql("SELECT done_at, created_at FROM jobs WHERE id = ?", (jid,))[0]
t.ok(near(done_at, s.now()), "work's SQL clock (jobs.done_at) too", (done_at, s.now()))
t.ok(near(created, s.now()), "the CLI's SQL clock (mail-test's jobs.created_at) too", (created, s.now()))

s.cli("user", "add", "--role", "support", "ahead@example.com", input=PW + "\n")
created = s.sql("SELECT created_at FROM staff WHERE email = 'ahead@example.com'")[0][0]
t.ok(near(created, s.now()), "the CLI's clock (user add: staff.created_at) is ten days ahead", (created, s.now()))

# A throttle row whose last failure was a minute ago by the wall clock is
# idle for more than a day by the test clock: prune removes it.
s.sql("INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ('acct:wall-recent', 1, ?)",
      (int(time.time()) - 60,))
out = s.cli("cron", "prune").stdout
t.ok("1 idle throttle rows removed" in out and
     s.sql("SELECT count(*) FROM login_throttle WHERE key = 'acct:wall-recent'") == [(0,)],
     "cron's clock is ten days ahead: it prunes a throttle row a minute old by the wall clock", out)

r = b.form("/login", "/login", {"email": "nobody@example.com", "password": "wrong password here"})
before = s.sql("SELECT last_failure_at FROM login_throttle WHERE key = 'acct:nobody@example.com'")[0][0]
s.advance(3600)
r = b.form("/login", "/login", {"email": "nobody@example.com", "password": "wrong password here"})
after = s.sql("SELECT last_failure_at FROM login_throttle WHERE key = 'acct:nobody@example.com'")[0][0]
t.ok(near(after - before, 3600), "a second advance() reaches the same running workers at once", (before, after))

# -- test_routes off: the file is ignored by every process --
s.extra["test_routes"] = "no"
s.write_conf()
t.ok(s.clock_offset() > AHEAD, "the clock file still holds an offset", s.clock_offset())
s.cli("user", "add", "--role", "support", "wall@example.com", input=PW + "\n")
created = s.sql("SELECT created_at FROM staff WHERE email = 'wall@example.com'")[0][0]
t.ok(near(created, time.time()), "test_routes off: the CLI keeps the wall clock", (created, time.time()))
s.sql("INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ('acct:wall-recent', 1, ?)",
      (int(time.time()) - 60,))
out = s.cli("cron", "prune").stdout
t.ok(s.sql("SELECT count(*) FROM login_throttle WHERE key = 'acct:wall-recent'") == [(1,)],
     "test_routes off: cron keeps the wall clock (the row a minute old stays)", out)

old = set(s.worker_pids())
s.pool.send_signal(signal.SIGHUP)
t.ok(wait_for(lambda: old.isdisjoint(s.worker_pids()) and len(s.worker_pids()) == 2, 20),
     "the pool reloads with test_routes off")
t.is_(Browser(s).get("/_test/echo").status, 404, "... and the test routes are gone")
b = Browser(s)
b.form("/login", "/login", {"email": "wall@example.com", "password": "wrong password here"})
row = s.sql("SELECT last_failure_at FROM login_throttle WHERE key = 'acct:wall@example.com'")
t.ok(row and near(row[0][0], time.time()), "test_routes off: a web worker's C clock is the wall clock",
     (row, time.time()))
at = s.sql("SELECT max(at) FROM audit_log WHERE action = 'login.failed' AND target = 'acct:wall@example.com'")[0][0]
t.ok(near(at, time.time()), "... and its SQL clock", (at, time.time()))

terminate(s.work)
err = open(os.path.join(s.dir, "work.stderr"), "ab")
s.work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=err, stderr=err)
jid = int(s.cli("mail-test", "wall@example.com").stdout.split()[1])
m = s.wait_mail("wall@example.com", "Test email")
date = m["Date"].datetime.timestamp() if m is not None and m["Date"] is not None else None
t.ok(near(date, time.time()), "test_routes off: work keeps the wall clock (the mail's Date)", (date, time.time()))
t.ok(near(s.sql("SELECT created_at FROM jobs WHERE id = ?", (jid,))[0][0], time.time()),
     "... and so does the CLI's SQL (jobs.created_at)")
t.ok(not any("test clock" in open(p, errors="replace").read()
             for p in glob.glob(os.path.join(s.dir, "*.stderr")) + [s.log] if os.path.exists(p)),
     "no process complained about the clock file")
s.check_sanitizers(t)

# A clock file that does not parse is a broken harness: said on stderr,
# and no offset is used rather than a guess.
s.extra["test_routes"] = "yes"
s.write_conf()
with open(s.clock_file, "w") as f:
    f.write("ten days\n")
p = s.cli("user", "add", "--role", "support", "garbled@example.com", input=PW + "\n")
created = s.sql("SELECT created_at FROM staff WHERE email = 'garbled@example.com'")[0][0]
t.ok("test clock" in p.stderr and "not a number of seconds" in p.stderr and near(created, time.time()),
     "a clock file that does not parse is reported, and no offset is used", (p.stderr, created))
t.done()
