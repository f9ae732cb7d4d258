#!/usr/bin/env python3
"""The pool master and the worker loop through a real nginx: a worker
killed under load, graceful reload (and a refused one), the request
timeout, max_requests recycling, graceful stop with a request in flight,
clients that trickle their request (the timer runs from the accept),
a crashing worker, and start-up refusals (broken template, old schema)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack, SRC, wait_for, fcgi_begin, fcgi_record, read_until_closed  # noqa: E402

t = TAP()


def serve_once(stack):
    """Run `serve` in the foreground for a start that must be refused:
    (exit status or None if it kept running, stderr)."""
    try:
        p = subprocess.run([os.environ.get("PX_BIN") or os.path.join(SRC, "build", "1000proxy"),
                            "-c", stack.conf, "serve"], capture_output=True, text=True, timeout=20)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return None, "serve did not return"

N = 3


class bg:
    """Run fn in a thread; .join() returns its result (None if it raised)."""

    def __init__(self, fn):
        self.result = None
        self.th = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.th.start()

    def _run(self, fn):
        self.result = fn()

    def join(self, timeout):
        self.th.join(timeout)
        return self.result


def settle(s, n, old=()):
    """Wait until the pool has n workers, none of them in old."""
    return wait_for(lambda: len(s.worker_pids()) == n and not set(s.worker_pids()) & set(old), 15)


# -- 1. kill -9 of a worker under load --------------------------------------
s = Stack(workers=N).start()
t.ok(settle(s, N), "pool starts %d workers" % N, s.worker_pids())
t.is_(oct(os.stat(s.sock).st_mode & 0o777), "0o660", "the FastCGI socket has mode 0660")
before = s.worker_pids()
h = s.hammer("/plans", threads=4)
wait_for(lambda: h.count() >= 20, 10)
victim = before[0]
os.kill(victim, signal.SIGKILL)
wait_for(lambda: victim not in s.worker_pids() and len(s.worker_pids()) == N, 10)
n0 = h.count()
wait_for(lambda: h.count() >= n0 + 20, 10)
res = h.stop()
bad = [x for x in res if x != 200]
t.ok(len(res) > 40, "load ran (%d requests)" % len(res))
t.ok(len(bad) <= 1, "kill -9 of a worker loses at most its request in flight", bad)
t.ok(all(x == 502 for x in bad), "a lost request is nginx's 502, nothing else", bad)
after = s.worker_pids()
t.ok(len(after) == N and victim not in after and len(set(after) - set(before)) == 1,
     "the master replaced the killed worker", (before, after))
t.ok(s.wait_log("worker %d killed by signal 9" % victim), "the master logs the kill")

# -- 2. SIGHUP under load: lossless, new generation --------------------------
before = s.worker_pids()
h = s.hammer("/plans", threads=4)
wait_for(lambda: h.count() >= 20, 10)
s.pool.send_signal(signal.SIGHUP)
t.ok(s.wait_log("reloaded: generation"), "SIGHUP: the log says reloaded")
t.ok(settle(s, N, before), "SIGHUP: every worker pid changed", (before, s.worker_pids()))
n0 = h.count()
wait_for(lambda: h.count() >= n0 + 20, 10)
res = h.stop()
t.ok(len(res) > 40 and all(x == 200 for x in res), "SIGHUP under load loses no request (%d requests)" % len(res),
     sorted(set(res)))

# SIGHUP with a broken config keeps the old workers
before = s.worker_pids()
good_conf = open(s.conf).read()
s.write_conf(workers="0")
s.pool.send_signal(signal.SIGHUP)
t.ok(s.wait_log("reload refused"), "SIGHUP with workers = 0: reload refused")
time.sleep(0.3)
t.is_(sorted(s.worker_pids()), sorted(before), "a refused reload keeps the old workers")
t.ok(all(s.get("/plans").status == 200 for _ in range(6)), "and they keep serving")
with open(s.conf, "w") as f:
    f.write(good_conf)

# -- 6. a worker crashing mid-request -----------------------------------------
before = s.worker_pids()
r = s.get("/_test/crash")
t.is_(r.status, 502, "/_test/crash: that request fails with nginx's 502")
t.ok(all(s.get("/plans").status == 200 for _ in range(8)), "the next requests succeed")
t.ok(s.wait_log("killed by signal 11 during request"), "the master logs the signal and the request")
t.ok(settle(s, N) and len(set(s.worker_pids()) - set(before)) == 1, "the crashed worker is replaced")
s.check_sanitizers(t, "no sanitizer report after kill, reload and crash")
s.stop()

# -- 3. request_timeout: the worker answers 504 and is replaced --------------
s = Stack(workers=2, conf={"request_timeout": "1"}, read_timeout=30).start()
t.ok(settle(s, 2), "timeout stack starts")
before = s.worker_pids()
slow = bg(lambda: s.get("/_test/sleep?ms=3000"))
time.sleep(0.2)
others = [s.get("/plans").status for _ in range(5)]
r = slow.join(20)
t.ok(r is not None, "the slow request got an answer")
t.is_(r.status, 504, "a request past request_timeout gets 504")
t.ok("This took too long" in r.text, "the 504 body is the app's timeout page, not nginx's", r.text[:300])
rid = r.header("x-request-id") or ""
t.ok(len(rid) == 16, "the 504 carries the request id", rid)
t.ok("frame-ancestors 'none'" in (r.header("content-security-policy") or "") and
     r.header("referrer-policy") and r.header("x-frame-options") == "DENY",
     "the 504 carries the security headers every response does (response.c)",
     r.header("content-security-policy"))
t.ok(all(x == 200 for x in others), "other requests are served meanwhile", others)
t.ok(s.wait_log("timed out on request %s /_test/sleep" % rid), "the master logs the timeout with id and path")
lines = [x for x in s.log_lines() if x.get("id") == rid and x.get("status") == 504]
t.ok(lines and lines[0].get("path") == "/_test/sleep" and lines[0].get("level") == "error" and "time" in lines[0],
     "the log file has a JSON line with the request id, path and status 504",
     s.pool_log_text()[-1500:])
t.ok(settle(s, 2) and len(set(s.worker_pids()) - set(before)) == 1, "the timed-out worker is replaced",
     (before, s.worker_pids()))
t.ok(all(s.get("/plans").status == 200 for _ in range(6)), "the pool serves after the timeout")
s.check_sanitizers(t, "no sanitizer report after a timeout")
s.stop()

# -- 3b. the timer runs from the accept: a client talking FastCGI straight
# to the socket (nginx buffers bodies, a local client need not) cannot
# hold a worker past request_timeout with a body that never arrives in
# full, nor with parameters it never sends.
s = Stack(workers=2, conf={"request_timeout": "1"}, read_timeout=30).start()
t.ok(settle(s, 2), "slow-client stack starts")
before = s.worker_pids()


def fcgi_conn():
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(s.sock)
    return c


c = fcgi_conn()
c.sendall(fcgi_begin({"REQUEST_METHOD": "POST", "REQUEST_URI": "/_test/echo", "SCRIPT_NAME": "/_test/echo",
                      "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "100",
                      "REMOTE_ADDR": "127.0.0.1"})
          + fcgi_record(5, b"a=" + b"x" * 8))
data, took, closed = read_until_closed(c, 8)
c.close()
t.ok(closed and took < 4, "a body that never arrives in full: the worker lets go within request_timeout "
     "(%.1f s, closed: %s)" % (took, closed))
t.ok(b"Status: 504" in data and b"This took too long" in data, "and answers the app's 504 first", data[:300])
rid = data.split(b"X-Request-Id: ")[1][:16].decode() if b"X-Request-Id: " in data else ""
t.ok(s.wait_log("timed out on request %s /_test/echo" % rid) and rid, "the master logs that request's timeout",
     s.pool_log_text()[-800:])

c = fcgi_conn()
c.sendall(fcgi_record(1, bytes([0, 1, 0, 0, 0, 0, 0, 0])) + fcgi_record(4, b"\x0e"))
data, took, closed = read_until_closed(c, 8)
c.close()
t.ok(closed and took < 4, "parameters that never arrive in full: the connection is closed within "
     "request_timeout (%.1f s, closed: %s)" % (took, closed))
t.ok(s.wait_log("timed out waiting for a request's parameters"), "the master logs the timeout",
     s.pool_log_text()[-800:])
lines = [x for x in s.log_lines() if x.get("status") == 504 and "before its parameters" in x.get("msg", "")]
t.ok(lines and lines[0].get("level") == "error" and "time" in lines[0],
     "the log file has a JSON line for it", s.pool_log_text()[-1500:])

# Connections trickling their parameters, one per worker (libfcgi itself
# drops a unix-socket connection that sends nothing for 2 s, not one that
# sends a little): the pool must serve again after the timeout, not wait
# for nginx's read timeout (30 s here).
settle(s, 2)
held = [fcgi_conn() for _ in range(2)]
for c in held:
    c.sendall(fcgi_record(1, bytes([0, 1, 0, 0, 0, 0, 0, 0])) + fcgi_record(4, b"\x0e"))
time.sleep(0.3)
t0 = time.time()
try:
    st = s.get("/plans", timeout=10).status
except Exception as e:  # noqa: BLE001 - a timeout is the failure shown
    st = repr(e)
took = time.time() - t0
for c in held:
    c.close()
t.ok(st == 200 and took < 5, "two trickling connections on a pool of two: /plans is served after the timeout "
     "(%.1f s)" % took, st)
t.ok(settle(s, 2) and not set(s.worker_pids()) & set(before), "the workers held are replaced",
     (before, s.worker_pids()))
t.ok(all(s.get("/plans").status == 200 for _ in range(6)), "the pool serves after the slow clients")
s.check_sanitizers(t, "no sanitizer report after slow clients")
s.stop()

# -- 4. max_requests recycles every worker without failures -----------------
s = Stack(workers=2, conf={"max_requests": "5"}).start()
t.ok(settle(s, 2), "max_requests stack starts")
orig = s.worker_pids()
res = []
lock = threading.Lock()


def five():
    for _ in range(5):
        st = s.get("/_test/sleep?ms=50").status
        with lock:
            res.append(st)


ths = [threading.Thread(target=five) for _ in range(4)]
for th in ths:
    th.start()
for th in ths:
    th.join(30)
t.ok(len(res) == 20 and all(x == 200 for x in res), "20 requests with max_requests = 5: none failed", res)
t.ok(wait_for(lambda: not set(s.worker_pids()) & set(orig), 10), "every original worker has been replaced",
     (orig, s.worker_pids()))
t.ok(settle(s, 2), "the pool is back to 2 workers")
s.check_sanitizers(t, "no sanitizer report after recycling")
s.stop()

# -- 5. SIGTERM with a request in flight -------------------------------------
s = Stack(workers=2).start()
t.ok(settle(s, 2), "stop stack starts")
pidfile = os.path.join(s.dir, "pool.pid")
t.ok(os.path.exists(pidfile) and os.path.exists(s.sock), "pid file and socket exist while serving")
slow = bg(lambda: s.get("/_test/sleep?ms=1500"))
wait_for(lambda: False, 0.5)
s.pool.send_signal(signal.SIGTERM)
r = slow.join(20)
t.ok(r is not None and r.status == 200 and "slept 1500" in r.text, "SIGTERM: the slow request still completes",
     r and (r.status, r.text[:200]))
try:
    rc = s.pool.wait(15)
except subprocess.TimeoutExpired:
    rc = None
t.is_(rc, 0, "then the master exits 0")
t.ok(not os.path.exists(s.sock), "the socket is removed")
t.ok(not os.path.exists(pidfile), "the pid file is removed")
t.ok(s.wait_log("stopping"), "the log says stopping")
s.check_sanitizers(t, "no sanitizer report after a graceful stop")
s.stop()

# -- 5b. SIGTERM right behind a SIGHUP: the new workers, still starting
# when the SIGTERM reaches them, must not miss it and idle in accept()
# until the master's SIGKILL deadline (request_timeout + 2 = 32 s here).
s = Stack(workers=3).start()
t.ok(settle(s, 3), "hup+term stack starts")
old = s.worker_pids()
os.kill(s.pool.pid, signal.SIGHUP)
os.kill(s.pool.pid, signal.SIGTERM)
try:
    rc = s.pool.wait(15)
except subprocess.TimeoutExpired:
    rc = None
t.is_(rc, 0, "SIGHUP then SIGTERM: the master exits 0 well before its SIGKILL deadline")
t.ok("killed by signal 9" not in s.pool_log_text(), "no worker had to be SIGKILLed", s.pool_log_text()[-800:])
s.check_sanitizers(t, "no sanitizer report after hup+term")
s.stop()

# -- 5c. the master dies by SIGKILL: its workers leave too, rather than
# serving forever with nobody to supervise them.
s = Stack(workers=2, nginx=False).start()
t.ok(settle(s, 2), "orphan stack starts")
kids = s.worker_pids()
s.pool.kill()
s.pool.wait(5)


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


t.ok(wait_for(lambda: all(gone(k) for k in kids), 10), "workers exit when the master is killed", kids)
s.pool = None
s.stop()

# -- 7a. a crash loop at run time (the database vanished under a running
# pool): replacements that cannot start are slowed down, not forked as
# fast as possible, and the pool recovers once the cause is gone.
s = Stack(workers=2).start()
t.ok(settle(s, 2), "crash-loop stack starts")
os.rename(s.db, s.db + ".away")
for k in s.worker_pids():
    os.kill(k, signal.SIGKILL)
time.sleep(4)
starts = s.pool_log_text().count("cannot start")
t.ok(starts >= 2, "replacement workers fail to start (%d failures)" % starts, s.pool_log_text()[-600:])
t.ok(starts < 60, "and are not forked as fast as possible (%d in 4 s)" % starts)
t.ok(s.pool.poll() is None, "the master stays up")
for ext in ("", "-wal", "-shm"):
    if os.path.exists(s.db + ext):
        os.unlink(s.db + ext)
os.rename(s.db + ".away", s.db)
t.ok(settle(s, 2) and wait_for(lambda: s.get("/plans").status == 200, 10), "the pool recovers when the database is back")
s.check_sanitizers(t, "no sanitizer report after a crash loop")
s.stop()

# -- 7. a broken template: serve refuses to start (no crash loop) ------------
s = Stack(workers=2, nginx=False)
views = os.path.join(s.dir, "views")
shutil.copytree(os.path.join(SRC, "views"), views)
with open(os.path.join(views, "pages", "home.html"), "a") as f:
    f.write("\n{{#never_closed}}\n")
s.write_conf(views_dir=views)
s.cli("migrate")
rc, err = serve_once(s)
t.ok(rc not in (0, None), "serve with a broken template exits non-zero", (rc, err))
t.ok("pages/home" in err and "never closed" in err, "the message names the template and the fault", err)
t.ok(not os.path.exists(os.path.join(s.dir, "pool.pid")), "no pid file is left behind")
t.ok("serving on" not in s.pool_log_text(), "no worker was ever forked", s.pool_log_text()[-500:])
t.ok(not [x for x in err.splitlines() if any(m in x for m in Stack.SANITIZER_MARKS)],
     "no sanitizer report from the refused start", err)
s.stop()

# -- 8. a database whose schema is behind ------------------------------------
s = Stack(workers=2, nginx=False)
s.write_conf()
open(s.db, "w").close()
rc, err = serve_once(s)
t.ok(rc not in (0, None), "serve on an unmigrated database exits non-zero", (rc, err))
t.ok("1000proxy migrate" in err and "behind" in err, "the message says to run 1000proxy migrate", err)
t.ok(not os.path.exists(s.sock), "no socket is left behind")
t.ok(not [x for x in err.splitlines() if any(m in x for m in Stack.SANITIZER_MARKS)],
     "no sanitizer report from the refused start", err)
s.stop()
t.done()
