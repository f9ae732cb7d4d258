#!/usr/bin/env python3
"""Logs to syslog (issue 16, ASVS V1.7.2): with log_syslog = yes both
daemons send every log line, the same JSON as the file log, to the local
syslog socket as syslog(3) would (facility daemon, tag 1000proxy[PID]).
glibc's syslog(3) always writes to /dev/log, so log.c speaks the datagram
protocol itself to log_syslog_socket, and this test binds a unix datagram
socket of its own there (no logger, no journald):

- a request's line arrives as "<30>TIMESTAMP 1000proxy[PID]: {json}"
  (daemon.info), its JSON equal to the file log's line for the same
  request id, with a token path masked as in the file;
- a diagnostic of level error arrives as daemon.err (<27>), the line a
  worker writes from its timeout signal handler too;
- the work daemon's lines arrive too (its note after SIGHUP);
- with log_syslog = no nothing is sent, and a missing socket costs the
  requests nothing.
"""
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, BIN, Stack, terminate, wait_for  # noqa: E402

t = TAP()
LINE = re.compile(r"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) 1000proxy\[(\d+)\]: (\{.*\})$", re.S)


def collector(path):
    sk = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sk.bind(path)
    sk.setblocking(False)
    return sk


def drain(sk, into):
    while True:
        try:
            into.append(sk.recv(65536).decode())
        except BlockingIOError:
            return into


s = Stack(workers=1)
path = os.path.join(s.dir, "log.sock")
sk = collector(path)
s.extra.update(log_syslog="yes", log_syslog_socket=path, request_timeout="1")
s.start()
got = []
tok = secrets.token_urlsafe(32)
r = s.get("/")
rid = r.header("x-request-id")
s.get("/verify/" + tok)
s.request("POST", "/login", headers={"Content-Type": "application/x-www-form-urlencoded"}, body="csrf=wrong")
wait_for(lambda: any(rid in x for x in drain(sk, got)), 5)
time.sleep(0.3)
drain(sk, got)
parsed = [LINE.match(x) for x in got]
t.ok(got and all(parsed), "every datagram is <PRI>TIMESTAMP 1000proxy[PID]: {json}", [x[:200] for x in got[:5]])
msgs = [(int(m.group(1)), int(m.group(3)), json.loads(m.group(4))) for m in parsed if m]
mine = [(pri, pid, o) for pri, pid, o in msgs if o.get("id") == rid and "path" in o]
filed = [x for x in s.log_lines() if x.get("id") == rid and "path" in x]
t.ok(len(mine) == 1 and len(filed) == 1 and mine[0][2] == filed[0],
     "a request's syslog line is the file log's JSON line for the same request id", (mine, filed))
t.ok(mine and mine[0][0] == 3 * 8 + 6, "... sent as daemon.info (<30>)", mine[:1])
t.ok(mine and mine[0][1] == mine[0][2]["pid"], "... tagged with the worker's pid")
t.ok(all(tok not in x for x in got) and any(o.get("path") == "/verify/%s..." % tok[:4] for _, _, o in msgs),
     "a token path is masked in syslog as in the file")
errs = [(pri, o) for pri, _, o in msgs if o.get("level") == "error"]
t.ok(errs and all(pri == 3 * 8 + 3 for pri, _ in errs) and any("csrf" in o.get("msg", "") for _, o in errs),
     "an error diagnostic is sent as daemon.err (<27>)", errs[:2])

# The line a worker's timeout writes from its signal handler.
r = s.get("/_test/sleep?ms=3000")
t.is_(r.status, 504, "a request past request_timeout: 504")
late = []
wait_for(lambda: any("timed out" in x for x in drain(sk, late)), 10)
tl = [LINE.match(x) for x in late if "request timed out" in x]
t.ok(tl and tl[0] and int(tl[0].group(1)) == 27 and json.loads(tl[0].group(4)).get("path") == "/_test/sleep",
     "the timeout line, written from the signal handler, reaches syslog as daemon.err", late[-3:])

# The work daemon.
err = open(os.path.join(s.dir, "work.stderr"), "ab")
w = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=err, stderr=err)
time.sleep(1.0)
w.send_signal(signal.SIGHUP)
seen = []
wait_for(lambda: any("log reopened" in x for x in drain(sk, seen)), 10)
wl = [LINE.match(x) for x in seen if "log reopened" in x]
t.ok(wl and wl[0] and int(wl[0].group(3)) == w.pid and json.loads(wl[0].group(4)).get("who") == "work",
     "the work daemon's lines go to syslog too, tagged with its pid", seen[-3:])
terminate(w)
s.stop()

# Off (the default), and on with no socket there.
s2 = Stack(workers=1)
path2 = os.path.join(s2.dir, "log.sock")
sk2 = collector(path2)
s2.start()
s2.get("/")
time.sleep(0.5)
t.is_(drain(sk2, []), [], "log_syslog = no (the default): nothing is sent")
s2.stop()
s3 = Stack(workers=1, conf={"log_syslog": "yes", "log_syslog_socket": "/nonexistent/log.sock"}).start()
t.is_([s3.get("/").status for _ in range(3)], [200, 200, 200], "a missing syslog socket costs the requests nothing")
t.ok(len([x for x in s3.log_lines() if x.get("path") == "/"]) == 3, "... and the file log still has every line")
s3.check_sanitizers(t)
t.done()
