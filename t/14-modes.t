#!/usr/bin/env python3
"""File modes: every file and directory serve and work create (the
database and its -wal and -shm, the pid file, the log, the key file, the
spool and its files, the hash-slot locks) is closed to others, however
permissive the umask they were started under; the key file is 0600.
The systemd units say UMask=0027 and run under a dedicated group."""
import os
import re
import stat
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, Stack, BIN, SRC, wait_for, terminate  # noqa: E402

t = TAP()
# The permissive umask a shell or an init script might hand down: the
# program must not depend on its caller's.
os.umask(0o022)

s = Stack(workers=2, nginx=False).start()
t.ok(wait_for(lambda: os.path.exists(s.db + "-wal") and os.path.exists(s.db + "-shm"), 10),
     "the pool runs with the database open in WAL mode")
werr = open(os.path.join(s.dir, "work.stderr"), "ab")
work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=werr, stderr=werr)
spool = os.path.join(s.dir, "spool")
t.ok(wait_for(lambda: os.path.exists(os.path.join(spool, "lock")), 10), "work starts and locks the spool")
p = s.cli("mail-test", "buyer@example.com")
t.ok(wait_for(lambda: any(os.listdir(os.path.join(spool, d)) for d in ("new", "cur", "done", "failed")
                          if os.path.isdir(os.path.join(spool, d))), 10),
     "mail-test leaves a job file in the spool", p.stdout)

def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def closed_to_others(path):
    return t.ok(mode(path) & 0o007 == 0, "%s is closed to others (%04o)" % (os.path.relpath(path, s.dir), mode(path)))


for name in (s.db, s.db + "-wal", s.db + "-shm", os.path.join(s.dir, "pool.pid"), s.log):
    t.ok(os.path.exists(name), "%s exists" % os.path.basename(name)) and closed_to_others(name)
key = os.path.join(s.dir, "secret.key")
t.is_(oct(mode(key)), "0o600", "the key file is 0600")

seen = 0
for root, dirs, files in os.walk(spool):
    for n in dirs + files:
        seen += 1
        closed_to_others(os.path.join(root, n))
t.ok(seen >= 7, "the spool's directories and files were checked (%d)" % seen)
t.ok(mode(spool) & 0o007 == 0, "the spool directory itself is closed to others (%04o)" % mode(spool))
terminate(work)
s.check_sanitizers(t, "no sanitizer report from serve and work")
s.stop()

# The units: UMask=0027, and a dedicated group (not nginx's: the pool
# reaches nginx's group through socket_group and SupplementaryGroups).
for unit in ("1000proxy.service", "1000proxy-work.service"):
    text = open(os.path.join(SRC, "etc", "systemd", unit + ".in")).read()
    t.ok(re.search(r"^UMask=0027$", text, re.M), "%s: UMask=0027" % unit)
    t.ok(re.search(r"^Group=1000proxy$", text, re.M), "%s: Group=1000proxy" % unit)
t.done()
