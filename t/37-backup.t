#!/usr/bin/env python3
"""Backup and restore (issue 16, ASVS V14.1.4): `1000proxy backup` copies
the database (SQLite's online backup API) and the spool's pending files
into one timestamped directory with a manifest, while requests and the
work daemon write; the copy is never torn.  `restore` checks the manifest
and every hash, refuses a changed byte, a newer schema and a live
database without --force, and names the sealed columns a wrong key file
does not open.  `cron backup` keeps backup_keep.  Modes 0700/0600, and the
key file only with --with-key, beside the backup, not in it.
"""
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, Stack  # noqa: E402

t = TAP()
s = Stack(workers=2).start()
sql = s.sql
s.cli("seed", "--demo", "--customer")
bdir = os.path.join(s.dir, "backups")
s.write_conf(backup_dir=bdir, backup_keep="2", smtp_url="smtp://127.0.0.1:1")

# Something in every sealed column the key check reads: a staff TOTP
# seed and a gateway secret, sealed by the binary itself.
s.cli("gateway", "set", "stripe.secret_key", input="sk_test_" + "b" * 40 + "\n", check=False)
sealed = sql("SELECT count(*) FROM gateway_secrets")[0][0]
# Orders and their services, as a shop holds them.
sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
    "INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency, created_at) "
    "SELECT printf('bk-%06d', i), (SELECT id FROM customers LIMIT 1), 'pending', i, i, 'USD', 1767225600 + i FROM n")

# Writers: requests through nginx, the work daemon's job attempts (mails
# that fail against a closed SMTP port and are retried), `mail-test`
# enqueuing, and a writer whose transactions each add two audit rows:
# a copy taken mid-transaction would hold an odd number.
work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
stop = threading.Event()
pairs = [0]


def pair_writer():
    c = sqlite3.connect(s.db, timeout=30, isolation_level=None)
    while not stop.is_set():
        c.execute("BEGIN IMMEDIATE")
        for _ in range(2):
            c.execute("INSERT INTO audit_log (actor_kind, action, target) VALUES ('system', 'bk.pair', 'x')")
        c.execute("COMMIT")
        pairs[0] += 1
    c.close()


def enqueuer():
    i = 0
    while not stop.is_set():
        subprocess.run([BIN, "-c", s.conf, "mail-test", "bk%d@example.com" % i], capture_output=True)
        i += 1


threads = [threading.Thread(target=pair_writer), threading.Thread(target=enqueuer)]
for th in threads:
    th.start()
ham = s.hammer("/", threads=2)
time.sleep(1)
made = []
for i in range(3):
    p = s.cli("backup", check=False)
    made.append((p.returncode, p.stdout.strip(), p.stderr))
    time.sleep(0.3)
stop.set()
for th in threads:
    th.join()
ham.stop()
t.ok(all(rc == 0 for rc, _, _ in made), "three backups while requests, work and writers run all succeed", made)
t.ok(pairs[0] > 10, "the writer committed while they ran (%d transactions)" % pairs[0])
torn = []
for rc, path, _ in made:
    c = sqlite3.connect("file:%s?mode=ro" % os.path.join(path, "1000proxy.db"), uri=True)
    ok = c.execute("PRAGMA integrity_check").fetchone()[0]
    n = c.execute("SELECT count(*) FROM audit_log WHERE action = 'bk.pair'").fetchone()[0]
    jobs = c.execute("SELECT count(*) FROM jobs").fetchone()[0]
    c.close()
    if ok != "ok" or n % 2 != 0 or jobs == 0:
        torn.append((path, ok, n, jobs))
t.ok(not torn, "no torn copy: integrity_check ok, the two-row transactions whole, jobs present", torn)
last = made[-1][1]
man = open(os.path.join(last, "MANIFEST")).read()
t.ok(man.startswith("1000proxy-backup 1\nschema ") and " 1000proxy.db\n" in man,
     "the manifest names the format, the schema and the database with its SHA-256", man[:300])
t.ok(not os.path.exists(os.path.join(last, "1000proxy.db-wal")), "the copy is one file (no -wal beside it)")

# Modes: 0700 directories, 0600 files, and no key file anywhere in it.
bad = []
for root, dirs, files in os.walk(bdir):
    for d in dirs:
        m = stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode)
        if m != 0o700:
            bad.append((os.path.join(root, d), oct(m)))
    for f in files:
        m = stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode)
        if m != 0o600:
            bad.append((os.path.join(root, f), oct(m)))
t.ok(not bad and stat.S_IMODE(os.stat(bdir).st_mode) == 0o700, "modes: backup directories 0700, files 0600", bad)
key = open(os.path.join(s.dir, "secret.key"), "rb").read()
holds = [os.path.join(r, f) for r, _, fs in os.walk(bdir) for f in fs if open(os.path.join(r, f), "rb").read().find(key) >= 0]
t.ok(not holds, "no file of a backup holds the key file's bytes", holds)
p = s.cli("backup", "--with-key", os.path.join(s.dir, "withkey"), check=False)
kpath = p.stdout.strip() + ".key"
t.ok(p.returncode == 0 and os.path.exists(kpath) and open(kpath, "rb").read() == key and
     stat.S_IMODE(os.stat(kpath).st_mode) == 0o600 and "WARNING" in p.stderr and kpath in p.stderr,
     "--with-key writes the key beside the backup, 0600, and says so loudly", (p.returncode, p.stderr))
t.ok(not os.path.exists(os.path.join(p.stdout.strip(), "secret.key")), "... not inside it")
# After a rotation the keyring is more than the key file: the identity key
# and retired keys go with it, or a restore changes every subscription URL.
ring = {}
for suffix in (".ident", ".old-0badc0de"):
    ring[suffix] = os.urandom(32)
    fd = os.open(os.path.join(s.dir, "secret.key" + suffix), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, ring[suffix])
    os.close(fd)
p = s.cli("backup", "--with-key", os.path.join(s.dir, "withring"), check=False)
base = p.stdout.strip() + ".key"
t.ok(p.returncode == 0 and all(os.path.exists(base + x) and open(base + x, "rb").read() == v and
                               stat.S_IMODE(os.stat(base + x).st_mode) == 0o600 for x, v in ring.items()),
     "--with-key copies the identity key and retired keys beside it too (NAME.key.ident, NAME.key.old-ID)",
     (p.returncode, p.stderr, sorted(os.listdir(os.path.dirname(base)))))
for suffix in ring:
    os.unlink(os.path.join(s.dir, "secret.key" + suffix))

# The final state, quiet: a backup to restore and compare against.
work.terminate()
work.wait(15)
final = s.cli("backup").stdout.strip()
Q = {"orders": "SELECT public_id, customer_id, state, total_minor FROM orders ORDER BY id",
     "wallets": "SELECT customer_id, currency, balance_minor FROM wallets ORDER BY customer_id",
     "services": "SELECT id, customer_id, state FROM provisioned_clients ORDER BY id",
     "plans": "SELECT id, name FROM plans ORDER BY id"}
before = {k: sql(q) for k, q in Q.items()}

# Restore into a fresh installation with the same key file.
r = Stack(workers=1, seed=False)
r.write_conf()
shutil.copy(os.path.join(s.dir, "secret.key"), os.path.join(r.dir, "secret.key"))
os.chmod(os.path.join(r.dir, "secret.key"), 0o600)
t0 = time.time()
p = r.cli("restore", final, check=False)
t.ok(p.returncode == 0 and ("key file opens the gateway secrets" in p.stdout or sealed == 0),
     "restore into a fresh directory succeeds and the key opens the sealed columns", (p.stdout, p.stderr))
r.start_pool()
r.start_nginx()
after = {k: r.sql(q) for k, q in Q.items()}
t.is_(after, before, "the restored shop holds the same orders, wallets, services and plans")
g = r.get("/")
t.ok(g.status == 200 and before["plans"] and before["plans"][0][1] in g.text,
     "the restored shop serves its catalog", (g.status, g.text[:200]))
p = r.cli("restore", final, check=False)
t.ok(p.returncode != 0 and ("work daemon" in p.stderr or "--force" in p.stderr),
     "a second restore over the live database is refused without --force", p.stderr)
r.stop()

# A changed byte is refused, naming the file; nothing changes.
bent = os.path.join(s.dir, "bent")
shutil.copytree(final, bent)
with open(os.path.join(bent, "1000proxy.db"), "r+b") as f:
    f.seek(5000)
    b = f.read(1)
    f.seek(5000)
    f.write(bytes([b[0] ^ 1]))
q = Stack(workers=1, seed=False)
q.write_conf()
p = q.cli("restore", bent, check=False)
t.ok(p.returncode != 0 and "changed since the backup" in p.stderr and not os.path.exists(q.db),
     "a backup with one changed byte is refused and nothing is written", (p.returncode, p.stderr))
# A newer schema than the binary knows is refused.
newer = os.path.join(s.dir, "newer")
shutil.copytree(final, newer)
mt = open(os.path.join(newer, "MANIFEST")).read()
import re  # noqa: E402
mt = re.sub(r"schema \d+", "schema 9999", mt)
open(os.path.join(newer, "MANIFEST"), "w").write(mt)
p = q.cli("restore", newer, check=False)
t.ok(p.returncode != 0 and "newer than this" in p.stderr, "a backup of a newer schema is refused", p.stderr)
# A wrong key file: reported by column, nothing changed.
q.cli("key", "init")
p = q.cli("restore", final, check=False)
if sealed:
    t.ok(p.returncode != 0 and "does not open the gateway secrets" in p.stderr and not os.path.exists(q.db),
         "a wrong key file is reported (the gateway secrets) and the restore refused", p.stderr)
else:
    t.ok(False, "a wrong key file is reported: no sealed value to check (gateway set failed)")
p = q.cli("restore", "--force", final, check=False)
t.ok(p.returncode == 0 and "does not open" in p.stderr, "--force restores anyway and still names what fails", p.stderr)
q.stop()

# A backup of an older schema (a database migrated up to the one before
# last, its manifest written as backup would) is migrated on restore.
import hashlib  # noqa: E402
olddir = os.path.join(s.dir, "oldsql")
os.makedirs(olddir)
migs = sorted(x for x in os.listdir(os.path.join(SRC, "sql")) if x.endswith(".sql"))
for x in migs[:-1]:
    shutil.copy(os.path.join(os.environ.get("PX_SRC", "."), "sql", x), olddir)
o = Stack(workers=1, seed=False)
o.write_conf(sql_dir=olddir)
o.cli("migrate", check=False)  # exits 1: behind this binary, on purpose
older = os.path.join(s.dir, "older")
os.makedirs(os.path.join(older, "spool", "new"))
c = sqlite3.connect(o.db)
c.execute("VACUUM INTO ?", (os.path.join(older, "1000proxy.db"),))
oldv = c.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
c.close()
dbb = open(os.path.join(older, "1000proxy.db"), "rb").read()
open(os.path.join(older, "MANIFEST"), "w").write("1000proxy-backup 1\nschema %d\ncreated x\nfile %s %d 1000proxy.db\n" % (
    oldv, hashlib.sha256(dbb).hexdigest(), len(dbb)))
okeyb = open(os.path.join(o.dir, "secret.key"), "rb").read()
o.stop()
m = Stack(workers=1, seed=False)
m.write_conf()
okey = os.path.join(m.dir, "secret.key")
with open(okey, "wb") as f:
    f.write(okeyb)
os.chmod(okey, 0o600)
p = m.cli("restore", older, check=False)
got = m.sql("SELECT max(version) FROM schema_migrations")[0][0] if p.returncode == 0 else None
t.ok(p.returncode == 0 and ("migrated the backup from schema %d" % oldv) in p.stdout and got > oldv,
     "a backup of an older schema is migrated on restore", (p.stdout, p.stderr, oldv, got))
m.stop()

# cron backup keeps backup_keep (2) newest.
for i in range(2):
    s.cli("cron", "backup")
left = sorted(x for x in os.listdir(bdir) if x.startswith("1000proxy-"))
t.ok(len(left) == 2, "cron backup keeps the backup_keep newest", left)

# Figures: a demo-size shop (the demo catalog and customer, 20,000 orders).
sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
    "INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency, created_at) "
    "SELECT printf('fig-%06d', i), (SELECT id FROM customers LIMIT 1), 'pending', i, i, 'USD', 1767225600 + i FROM n")
t0 = time.time()
big = s.cli("backup", os.path.join(s.dir, "fig")).stdout.strip()
tb = time.time() - t0
size = os.path.getsize(os.path.join(big, "1000proxy.db"))
f = Stack(workers=1, seed=False)
f.write_conf()
shutil.copy(os.path.join(s.dir, "secret.key"), os.path.join(f.dir, "secret.key"))
t0 = time.time()
p = f.cli("restore", big, check=False)
tr = time.time() - t0
t.ok(p.returncode == 0, "the demo-size backup restores", p.stderr)
t.diag("demo-size database %d kB: backup %.2f s, restore %.2f s" % (size // 1024, tb, tr))
f.stop()
s.stop()
t.done()
