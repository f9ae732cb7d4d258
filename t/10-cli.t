#!/usr/bin/env python3
"""The command line, the config loader, migrations and the schema's own
guards: --help/--version/unknown command, `config` prints every key,
config errors name file:line, `migrate` is idempotent and atomic per
migration, `serve` refuses a database that is behind, `check` catches a
wallet whose cached balance disagrees with its ledger, and the append-only
triggers and CHECK constraints hold."""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, Stack  # noqa: E402

t = TAP()
tmp = tempfile.mkdtemp(prefix="px-cli-")


def run(*args, conf=None, timeout=30):
    cmd = [BIN] + (["-c", conf] if conf else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


# -- the program's surface --
p = run("--help")
t.ok(p.returncode == 0 and "usage: 1000proxy" in p.stdout and "migrate" in p.stdout, "--help: usage on stdout, exit 0",
     p.stdout + p.stderr)
p = run("-h")
t.ok(p.returncode == 0 and "usage:" in p.stdout, "-h is --help")
p = run("--version")
t.ok(p.returncode == 0 and re.fullmatch(r"1000proxy \d+\.\d+\.\d+\n", p.stdout), "--version prints the version",
     p.stdout)
p = run("-c", "/dev/null", "no-such-command")
t.ok(p.returncode == 2 and "unknown command" in p.stderr and "usage:" in p.stderr,
     "unknown command: exit 2 with usage on stderr", p.stderr)
p = run()
t.is_(p.returncode, 2, "no command: exit 2")
p = run("-Z", "config")
t.is_(p.returncode, 2, "unknown option: exit 2")

# -- config prints every key the man page documents, and every key parses back --
p = run("config", conf="/dev/null")
t.is_(p.returncode, 0, "config exits 0")
keys = re.findall(r"^([a-z0-9_]+) = ", p.stdout, re.M)
with open(os.path.join(SRC, "man", "1000proxy.conf.5.in")) as f:
    man = f.read()
documented = set()
for m in re.findall(r"^\.It Cm (.*)$", man, re.M):
    documented |= {w for w in m.split() if re.fullmatch(r"[a-z0-9_]+", w)}
t.ok(len(keys) >= 25 and len(keys) == len(set(keys)), "config prints each key once (%d keys)" % len(keys))
t.ok(all(line.startswith("# ") for line in p.stdout.splitlines() if line and not re.match(r"[a-z0-9_]+ = ", line)),
     "every other line of config is a help comment")
t.ok(set(keys) == documented, "every key is documented in 1000proxy.conf(5) and vice versa",
     "undocumented: %s\nno such key: %s" % (sorted(set(keys) - documented), sorted(documented - set(keys))))
# The printed config is itself a valid config (secrets aside).
printed = write(os.path.join(tmp, "printed.conf"), p.stdout)
p2 = run("config", conf=printed)
t.ok(p2.returncode == 0 and p2.stdout == p.stdout, "config output loads back unchanged", p2.stderr)
p = run("config", conf=write(os.path.join(tmp, "w.conf"), 'workers = 7\nsite_name = "Shop #1"  \n'))
t.ok('workers = 7\n' in p.stdout and 'site_name = "Shop #1"\n' in p.stdout, "values and quoted '#' are kept")
p = run("config", conf=write(os.path.join(tmp, "pw.conf"), 'smtp_password = "hunter2"\n'))
t.ok("hunter2" not in p.stdout and "smtp_password = (set)" in p.stdout, "config never prints a password")

# -- config errors stop start-up naming file:line: reason --
bad = [
    ("unknown.conf", "# ok\nworkers = 2\nno_such_key = 1\n", 3, "unknown key"),
    ("range.conf", "workers = 0\n", 1, "outside 1..64"),
    ("nan.conf", "\n\nmax_body = lots\n", 3, "not a number"),
    ("bool.conf", "test_routes = maybe\n", 1, "not yes or no"),
    ("syntax.conf", "workers 4\n", 1, "expected"),
]
for name, text, line, why in bad:
    path = write(os.path.join(tmp, name), text)
    for cmd in ("config", "check", "serve"):
        p = run(cmd, conf=path, timeout=20)
        want = "%s:%d: " % (path, line)
        t.ok(p.returncode == 1 and want in p.stderr and why in p.stderr,
             "%s with %s stops: file:line: %s" % (cmd, name, why), p.stderr)
for url in ("htp://shop.example", "https://", "https://user:pw@shop.example/", "https://shop example/",
            "javascript:alert(1)", "https://shop.example/#x"):
    path = write(os.path.join(tmp, "url.conf"), 'base_url = "%s"\n' % url)
    p = run("check", conf=path, timeout=20)
    t.ok(p.returncode == 1 and "base_url" in p.stderr and "not an http or https URL" in p.stderr,
         "base_url %r stops start-up naming the key" % url, p.stderr)
p = run("config", conf=write(os.path.join(tmp, "url.conf"), 'base_url = "https://shop.example/"\n'))
t.ok(p.returncode == 0 and 'base_url = "https://shop.example/"' in p.stdout, "a good base_url loads")
p = run("config", conf=os.path.join(tmp, "absent.conf"))
t.ok(p.returncode == 1 and "absent.conf" in p.stderr, "a missing config file is an error naming it", p.stderr)


# -- migrations --
def conf_for(name, **more):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    vals = {"database": os.path.join(d, "px.db"), "sql_dir": os.path.join(SRC, "sql"),
            "views_dir": os.path.join(SRC, "views"), "spool_dir": os.path.join(d, "spool"),
            "key_file": os.path.join(d, "secret.key"), "pid_file": os.path.join(d, "pool.pid"),
            "listen": "unix:" + os.path.join(d, "fcgi.sock"), "log_file": os.path.join(d, "log"),
            "workers": "1"}
    vals.update(more)
    return write(os.path.join(d, "px.conf"), "".join('%s = "%s"\n' % kv for kv in vals.items())), vals


def version(db):
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    finally:
        c.close()


def tables(db):
    c = sqlite3.connect(db)
    try:
        return {r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    finally:
        c.close()


# The schema version is the highest migration number; numbers may have
# gaps (a branch may hold a later number before an earlier one lands), so count files too.
MIGRATIONS = [f for f in os.listdir(os.path.join(SRC, "sql")) if re.match(r"\d{3}_.*\.sql$", f)]
LATEST = max(int(f[:3]) for f in MIGRATIONS)
NMIG = len(MIGRATIONS)
conf, vals = conf_for("mig")
p = run("migrate", conf=conf)
t.ok(p.returncode == 0 and ("version %d" % LATEST) in p.stdout and
     ("(%d migration%s applied)" % (NMIG, "" if NMIG == 1 else "s")) in p.stdout,
     "migrate applies every migration to a fresh database", p.stdout + p.stderr)
t.ok({"plans", "orders", "wallets", "wallet_transactions", "audit_log"} <= tables(vals["database"]),
     "the schema's tables exist")
p = run("migrate", conf=conf)
t.ok(p.returncode == 0 and "(0 migrations applied)" in p.stdout, "migrate again applies nothing", p.stdout)
t.is_(version(vals["database"]), LATEST, "schema version is the latest")

# A file numbered below the newest applied one that never ran (two
# branches merged out of order) is refused by name, not skipped.
conf_o, vals_o = conf_for("mig-order")
run("migrate", conf=conf_o)
below = sorted(int(f[:3]) for f in MIGRATIONS)[-2]
c = sqlite3.connect(vals_o["database"])
c.execute("DELETE FROM schema_migrations WHERE version = ?", (below,))
c.commit()
c.close()
p = run("migrate", conf=conf_o)
t.ok(p.returncode != 0 and "was never applied" in p.stderr and "renumber" in p.stderr,
     "a migration below the newest that never ran is refused by name", p.stdout + p.stderr)

sqlbad = os.path.join(tmp, "sql-bad")
shutil.copytree(os.path.join(SRC, "sql"), sqlbad)
write(os.path.join(sqlbad, "900_bad.sql"),
      "-- a valid statement, then an error: the whole migration must roll back\n"
      "CREATE TABLE px_half_applied (x INTEGER) STRICT;\n"
      "INSERT INTO px_no_such_table VALUES (1);\n")
badconf, _ = conf_for("mig", sql_dir=sqlbad)
p = run("migrate", conf=badconf)
t.ok(p.returncode == 1 and "900_bad.sql" in p.stderr and "px_no_such_table" in p.stderr,
     "a broken migration fails, naming the file and the error", p.stderr)
t.is_(version(vals["database"]), LATEST, "after the failure the schema version is unchanged")
t.ok("px_half_applied" not in tables(vals["database"]), "the valid statement of the broken migration was rolled back")
fresh, fvals = conf_for("mig-fresh", sql_dir=sqlbad)
p = run("migrate", conf=fresh)
t.ok(p.returncode == 1 and version(fvals["database"]) == LATEST and "px_half_applied" not in tables(fvals["database"]),
     "on a fresh database the good migrations commit, the bad one rolls back whole", p.stderr)

# -- serve refuses a database that is behind --
behind, bvals = conf_for("behind")
sqlite3.connect(bvals["database"]).close()
try:
    p = run("serve", conf=behind, timeout=20)
    t.ok(p.returncode != 0 and "1000proxy migrate" in p.stderr and "behind" in p.stderr,
         "serve refuses a database that is behind, naming `1000proxy migrate`", p.stderr)
except subprocess.TimeoutExpired:
    t.ok(False, "serve refuses a database that is behind (it kept running)")
t.ok(not os.path.exists(os.path.join(tmp, "behind", "fcgi.sock")), "and leaves no socket behind")
p = run("check", conf=behind)
t.ok(p.returncode == 1 and "FAIL" in p.stdout and "migrate" in p.stdout, "check fails on a database that is behind",
     p.stdout + p.stderr)
p = run("seed", "--demo", conf=behind)
t.ok(p.returncode == 1 and "migrate" in p.stderr, "seed refuses an unmigrated database", p.stderr)

# -- check on a seeded database, and on a wallet that disagrees with its ledger --
s = Stack(seed=True, nginx=False)
s.write_conf()
s.cli("migrate")
s.cli("seed", "--demo")
p = s.cli("seed", "--demo", check=False)
t.ok(p.returncode == 0 and "nothing done" in p.stdout, "seed twice does nothing the second time", p.stdout)
p = s.cli("check", check=False)
t.ok(p.returncode == 0 and "FAIL" not in p.stdout and "wallet balances equal their ledgers" in p.stdout,
     "check passes on the seeded database", p.stdout + p.stderr)
db = sqlite3.connect(s.db)
db.execute("PRAGMA foreign_keys = ON")
cid = db.execute("INSERT INTO customers (email, password_hash) VALUES ('drift@example.com', 'x')").lastrowid
wid = db.execute("INSERT INTO wallets (customer_id, balance_minor) VALUES (?, 500)", (cid,)).lastrowid
db.commit()
p = s.cli("check", check=False)
t.ok(p.returncode == 1 and re.search(r"^FAIL wallet balances", p.stdout, re.M),
     "check fails (exit 1) when a cached balance disagrees with the ledger", p.stdout + p.stderr)
db.execute("INSERT INTO wallet_transactions (wallet_id, amount_minor, kind, idempotency_key) "
           "VALUES (?, 500, 'topup', 'drift-1')", (wid,))
db.commit()
p = s.cli("check", check=False)
t.ok(p.returncode == 0, "check passes again once the ledger explains the balance", p.stdout)


# -- the schema guards itself --
def refused(sql, args=(), what="", why=None):
    try:
        db.execute(sql, args)
        db.commit()
    except sqlite3.DatabaseError as e:
        db.rollback()
        return t.ok(why is None or why in str(e), what, str(e))
    return t.ok(False, what, "the statement succeeded")


refused("UPDATE wallet_transactions SET amount_minor = 1", what="wallet_transactions refuses UPDATE",
        why="append-only")
refused("DELETE FROM wallet_transactions", what="wallet_transactions refuses DELETE", why="append-only")
db.execute("INSERT INTO audit_log (actor_kind, action) VALUES ('system', 'test')")
db.commit()
refused("UPDATE audit_log SET action = 'x'", what="audit_log refuses UPDATE", why="append-only")
refused("DELETE FROM audit_log", what="audit_log refuses DELETE", why="append-only")
refused("UPDATE plans SET price_minor = -1 WHERE id = (SELECT min(id) FROM plans)", what="a negative price is refused",
        why="CHECK")
refused("INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency) "
        "VALUES ('o1', ?, 'teleported', 0, 0, 'USD')", (cid,), "an unknown order state is refused", why="CHECK")
refused("UPDATE wallets SET balance_minor = -1", what="a negative wallet balance is refused", why="CHECK")
refused("INSERT INTO wallets (customer_id) VALUES (99999)", what="a wallet for no customer is refused (foreign keys)",
        why="FOREIGN KEY")
db.close()
s.stop()
shutil.rmtree(tmp, ignore_errors=True)
t.done()
