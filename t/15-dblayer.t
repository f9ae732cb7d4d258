#!/usr/bin/env python3
"""The one data layer (src/db.h): its shape and its error contract.

1. Shape, read from the source: nothing outside src/db.c names sqlite3;
   no string literal outside src/sql.c and src/db.c holds SQL; every
   statement of sql.h has its text and name in sql.c; every statement is
   prepared at start (`check` names the first one that does not prepare).
2. A constraint failure inside a transaction rolls the whole unit of work
   back: a handler's (/_test/db-rollback: 500, its audit row gone), a job
   attempt's (the test job: retried, its audit row gone, the daemon goes
   on) and a command's (`user add --test-fail-after-audit`: exit 1, the
   staff row and its audit row gone).
3. Bookkeeping writes never fail a page: with another connection holding
   the write lock, a signed-in GET still answers 200 (the session touch
   is skipped and logged).
4. The audit log names its actor: `cli` for the command line.
"""
import hashlib
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP, Stack, wait_for  # noqa: E402
from pxmail import Spool  # noqa: E402

t = TAP()
SRCDIR = os.path.join(SRC, "src")

# -- 1. shape ---------------------------------------------------------------


def strip_comments(text):
    """C source without comments, string literals kept (and left intact)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


LITERAL_RUN = re.compile(r'"(?:[^"\\\n]|\\.)*"(?:\s*"(?:[^"\\\n]|\\.)*")*')
SQL = re.compile(r"\bSELECT\b.*\bFROM\b|\bINSERT\b.*\bINTO\b|\bUPDATE\b.*\bSET\b|"
                 r"\bDELETE\b.*\bFROM\b|\bPRAGMA\b|\bBEGIN\s+(IMMEDIATE|DEFERRED|EXCLUSIVE)\b",
                 re.IGNORECASE)

sources = sorted(f for f in os.listdir(SRCDIR) if f.endswith((".c", ".h")))
t.ok(len(sources) > 40, "the source tree is found", SRCDIR)
named, with_sql = [], []
for f in sources:
    text = open(os.path.join(SRCDIR, f), encoding="utf-8").read()
    if f != "db.c" and "sqlite3" in text:
        named.append(f)
    if f in ("sql.c", "db.c"):
        continue
    for m in LITERAL_RUN.finditer(strip_comments(text)):
        joined = "".join(re.findall(r'"((?:[^"\\\n]|\\.)*)"', m.group(0)))
        if SQL.search(joined):
            with_sql.append("%s: %s" % (f, joined[:80]))
t.ok(not named, "nothing outside src/db.c names sqlite3 (includes, types or calls)", named)
t.ok(not with_sql, "no string literal outside src/sql.c and src/db.c holds SQL", with_sql)
calls = [f for f in sources if f != "db.c" and re.search(
    r"sqlite3_(prepare|bind_parameter_index|changes)", open(os.path.join(SRCDIR, f)).read())]
t.ok(not calls, "... in particular no sqlite3_prepare*, bind_parameter_index or changes", calls)

sql_h = open(os.path.join(SRCDIR, "sql.h")).read()
sql_c = open(os.path.join(SRCDIR, "sql.c")).read()
enum = re.search(r"enum q \{(.*?)Q__MAX", sql_h, re.S).group(1)
ids = re.findall(r"\b(Q_[A-Z0-9_]+)\s*,", strip_comments(enum))
text_part, name_part = sql_c.split("sql_name[Q__MAX]")
no_text = [q for q in ids if "[%s] =" % q not in text_part]
no_name = [q for q in ids if '[%s] = "%s"' % (q, q[2:]) not in name_part]
t.ok(len(ids) > 100, "sql.h lists the statements", len(ids))
t.ok(not no_text, "every statement of sql.h has its SQL in sql.c", no_text)
t.ok(not no_name, "every statement of sql.h has its name in sql.c", no_name)
t.is_(len(re.findall(r"INSERT INTO jobs\b", text_part)), 1, "the jobs INSERT exists once")
t.is_(len(re.findall(r"INSERT INTO audit_log\b", text_part)), 1, "the audit_log INSERT exists once")

# Every statement is prepared at start, the daemon's and the CLI's too:
# a database without the table one of them needs does not start.
s = Stack(workers=1, seed=False, nginx=False)
s.write_conf()
s.cli("migrate")
p = s.cli("check", check=False)
t.ok(p.returncode == 0, "check passes on a fresh database", p.stdout + p.stderr)
s.sql("DROP TABLE mail_log")
p = s.cli("check", check=False)
t.ok(p.returncode == 1 and "MAIL_LOG_HAS" in p.stdout and "mail_log" in p.stdout,
     "a statement that does not prepare stops the start, named (MAIL_LOG_HAS: no such table)",
     p.stdout + p.stderr)
p = s.cli("user", "list", check=False)
t.ok(p.returncode == 1 and "MAIL_LOG_HAS" in p.stderr,
     "... for a subcommand as much as for the workers", p.stdout + p.stderr)
s.stop()

# -- 2a. a handler's transaction --------------------------------------------
s = Stack(workers=1).start()
before = s.sql("SELECT count(*) FROM audit_log")[0][0]
r = s.get("/_test/db-rollback")
t.is_(r.status, 500, "a constraint failure inside a handler's transaction ends the request with 500")
t.ok("committed" not in r.text and "CHECK" not in r.text and "INSERT" not in r.text,
     "... on an error page that shows no SQL", r.text[:300])
t.is_(s.sql("SELECT count(*) FROM audit_log WHERE action = 'test.handler.before_constraint'")[0][0], 0,
      "the row the handler wrote before the failure is rolled back")
t.is_(s.sql("SELECT count(*) FROM audit_log")[0][0], before, "nothing else was written")
t.ok(s.get("/").status == 200, "the worker goes on serving")
t.ok(wait_for(lambda: any("constraint failed" in str(l) for l in s.log_lines()), 5),
     "the failure is logged with its cause")

# -- 3. bookkeeping writes never fail a page --------------------------------
tok = secrets.token_hex(16)
now = int(time.time())
s.sql("INSERT INTO customers (email, name, password_hash) VALUES ('bk@example.com', 'Bk', 'x')")
cid = s.sql("SELECT id FROM customers WHERE email = 'bk@example.com'")[0][0]
# Seen two minutes ago: past the touch interval, well within the idle limit.
s.sql("INSERT INTO sessions (token_hash, kind, customer_id, csrf_token, mfa_ok, created_at, "
      "last_seen_at, expires_at) VALUES (?, 'customer', ?, 'c', 1, ?, ?, ?)",
      (hashlib.sha256(tok.encode()).digest(), cid, now - 120, now - 120, now + 3600))
cookie = {"Cookie": "px_c=" + tok}
r = s.get("/_test/customer", headers=cookie)
t.ok(r.status == 200 and ("customer %d" % cid) in r.text, "the test session signs in", (r.status, r.text[:200]))
seen = s.sql("SELECT last_seen_at FROM sessions WHERE customer_id = ?", (cid,))[0][0]
t.ok(seen >= now, "a signed-in GET touches the session", seen)
s.sql("UPDATE sessions SET last_seen_at = ? WHERE customer_id = ?", (now - 120, cid))

holder = sqlite3.connect(s.db, timeout=1, isolation_level=None)
holder.execute("BEGIN IMMEDIATE")
t0 = time.time()
r = s.get("/_test/customer", headers=cookie, timeout=30)
took = time.time() - t0
holder.execute("ROLLBACK")
holder.close()
t.ok(r.status == 200 and ("customer %d" % cid) in r.text,
     "with the write lock held elsewhere, a signed-in GET still answers 200", (r.status, r.text[:200]))
t.ok(took < 3, "... without waiting out the busy timeout (%.2f s)" % took)
t.is_(s.sql("SELECT last_seen_at FROM sessions WHERE customer_id = ?", (cid,))[0][0], now - 120,
      "the touch was skipped, not half-done")
t.ok(wait_for(lambda: any("bookkeeping write skipped" in str(l) for l in s.log_lines()), 5),
     "the skipped touch is logged")

# The page cache's validator is read outside a request's error path
# (before dispatch, after the response is made): a database error there
# serves the page uncached and never ends the worker.
pids = sorted(s.worker_pids())
s.get("/")
t.is_(s.cache_verdict(s.get("/")), "hit", "an anonymous / is served from the cache (one worker)")
s.sql("DROP TABLE catalog_version")
r = s.get("/")
# The verdict is in the access log: no validator, no lookup (no cache
# field), never the stale hit.
t.ok(r.status == 200 and s.cache_verdict(r) is None,
     "with the page cache's validator failing, an anonymous page still answers 200, not from the cache",
     (r.status, s.cache_verdict(r)))
t.is_(sorted(s.worker_pids()), pids, "... and no worker died")
s.stop()

# -- 2b. a job attempt's transaction ----------------------------------------
w = Spool(conf={"retry_base": "1", "retry_cap": "1"}).setup()
j = w.cli("test-spool", "enqueue", "email", "test:db-rollback:1", "{}").stdout.strip()
work = w.start_work()
t.ok(wait_for(lambda: (w.job(j) or (None, 0))[1] >= 1 and w.job(j)[0] == "pending", 10),
     "a constraint failure in a job's transaction ends the attempt: the job is retried", w.job(j))
t.ok("constraint" in w.job(j)[2], "... with the database error as last_error", w.job(j))
t.is_(w.sql("SELECT count(*) FROM audit_log WHERE action = 'test.job.before_constraint'")[0][0], 0,
      "the row the job wrote before the failure is rolled back")
t.ok(w.job(j)[3] != "done", "the job is not marked done", w.job(j))
pv = w.cli("test-spool", "enqueue", "provision", "dl-prov-1", "{}").stdout.strip()
t.ok(wait_for(lambda: (w.job(pv) or ("",))[0] == "failed", 10), "the daemon goes on with the next job",
     w.job(pv))
t.ok(wait_for(lambda: w.job(j)[1] >= 2, 10), "... and retries the failed one", w.job(j))
t.ok(work.poll() is None, "the daemon is still running")
work.send_signal(signal.SIGTERM)
work.wait(10)

# -- 2c. a command's transaction, and the audit actor -----------------------
pw = "correct horse battery staple"
p = w.cli("user", "add", "--test-fail-after-audit", "gone@example.com", check=False, input=pw + "\n")
t.ok(p.returncode == 1 and "constraint" in p.stderr,
     "a constraint failure inside a command's transaction: exit 1, the cause on stderr", p.stderr)
t.is_(w.sql("SELECT count(*) FROM staff WHERE email = 'gone@example.com'")[0][0], 0,
      "the staff row written before the failure is rolled back")
t.is_(w.sql("SELECT count(*) FROM audit_log WHERE action = 'staff.create'")[0][0], 0,
      "... and so is its audit row")
p = w.cli("user", "add", "kept@example.com", check=False, input=pw + "\n")
t.ok(p.returncode == 0, "without the test flag the same command commits", p.stderr)
t.is_(w.sql("SELECT actor_kind, actor FROM audit_log WHERE action = 'staff.create'"), [("system", "cli")],
      "the command line's audit row names its actor: cli")
w.stop()

t.done()
