#!/usr/bin/env python3
"""Lanes: a panel that hangs every call for the whole timeout delays no
job for another panel or for mail; servers.max_concurrency is never
exceeded (the panel doubles count calls in flight); payment and panel
work go before mail; the server_test job signs in as the contract says
(v3 with its CSRF token, v2 without) and records the outcome and the
panel's health."""
import json
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, wait_for  # noqa: E402
from pxmail import PanelDouble, SMTPDouble, Spool, make_ca, rss_of, runner_pids  # noqa: E402

t = TAP()
TIMEOUT = 5


def stack(**conf):
    base = {"work_runners": "4", "panel_timeout": str(TIMEOUT), "smtp_timeout": "10", "work_lease": "60"}
    base.update(conf)
    s = Spool(conf=base)
    ca, _, _ = make_ca(s.dir)
    d = SMTPDouble(s, "smtp", "starttls", "shop", "s3cret")
    s.setup(smtp_url=d.url, smtp_user="shop", smtp_password="s3cret", smtp_ca_file=ca,
            smtp_from="noreply@shop.example")
    return s, d


def enqueue(s, kind, key, payload="{}", *opts):
    return int(s.cli("test-spool", "enqueue", kind, key, payload, *opts).stdout)


def state(s, jid):
    return (s.job(jid) or ("?",))[0]


def mail(s, key, to="buyer@example.com"):
    return enqueue(s, "email", key, json.dumps({"to": to, "template": "emails/test",
                                                "vars": {"address": to}}))


# -- a hanging panel A beside a healthy panel B and mail --
s, smtp = stack()
a = PanelDouble(s, "panel-a", "--hang", "30")
b = PanelDouble(s, "panel-b", "--csrf", "--delay", "0.3")
a.add_server(s, 1, max_concurrency=2)
b.add_server(s, 2, max_concurrency=2)
w = s.start_work()
t.ok(wait_for(lambda: len(runner_pids(w)) == 1, 10), "an idle work has one runner (more start on demand)",
     runner_pids(w))
t0 = time.time()
ja = [enqueue(s, "server_test", "test-a-%d" % i, "{}", "server=1") for i in range(3)]
t.ok(wait_for(lambda: a.stats().get("in_flight") == 2, 10), "panel A holds two calls", a.stats())
jb = [enqueue(s, "server_test", "test-b-%d" % i, "{}", "server=2") for i in range(4)]
jm = [mail(s, "lane-mail-%d" % i) for i in range(2)]
t.is_(s.sql("SELECT count(*) FROM jobs WHERE kind = 'server_test' AND server_id IS NOT NULL")[0][0], 7,
      "server_id is set on every panel job")
done_bm = wait_for(lambda: all(state(s, j) == "done" for j in jb + jm), 20)
took = time.time() - t0
t.ok(done_bm, "panel B's jobs and the mail complete while A hangs", [s.job(j) for j in jb + jm])
# "Before A's timeout" by A's own clock, not the test's: a sanitizer
# build on a loaded machine took 5.3-5.7 s of wall time for the seven
# jobs, yet none had waited for A.  What must hold is that no call to A
# has timed out yet when B's jobs and the mail are done.
a_timeouts = [x for x in open(s.log).read().splitlines() if "panel=panel-1" in x and "timed out" in x]
t.ok(done_bm and not a_timeouts, "... before any call to A timed out (%.1f s; A's timeout %d s)" % (took, TIMEOUT),
     a_timeouts)
t.ok(all(state(s, j) == "running" for j in ja[:2]) and state(s, ja[2]) == "pending",
     "A's third job waits for its lane (max_concurrency 2), not for a runner",
     [s.job(j) for j in ja])
t.is_(len(smtp.messages()), 2, "two messages delivered")
t.is_(b.stats().get("logins"), 4, "panel B: one login per job")
t.ok(b.stats().get("max_in_flight", 0) <= 2, "panel B never had more than max_concurrency calls in flight",
     b.stats())
res = json.loads(s.sql("SELECT result FROM jobs WHERE id = ?", (jb[0],))[0][0])
t.ok(res.get("login") == "ok" and res.get("csrf") is True, "the v3 panel's login went through its CSRF token",
     res)
t.is_(s.sql("SELECT health, last_checked_at > 0 FROM servers WHERE id = 2")[0], ("up", 1),
      "panel B is up, checked now")
t.ok(wait_for(lambda: all(state(s, j) == "done" for j in ja), 3 * TIMEOUT + 15), "A's jobs end with their timeouts",
     [s.job(j) for j in ja])
t.is_(a.stats().get("max_in_flight"), 2, "panel A never had more than max_concurrency = 2 calls in flight")
res = json.loads(s.sql("SELECT result FROM jobs WHERE id = ?", (ja[0],))[0][0])
t.ok(res.get("login") == "unreachable" and "timed out" in res.get("msg", ""), "A's outcome: timed out", res)
t.is_(s.sql("SELECT health FROM servers WHERE id = 1")[0][0], "down", "panel A is down")
t.ok(len(runner_pids(w)) <= 4, "never more than work_runners = 4 runners", runner_pids(w))
mem = rss_of([w.pid] + runner_pids(w))
t.diag("work master and runners after the hanging panel, RSS/PSS KiB: %s; sum RSS %d, PSS %d"
       % (" ".join("%d/%d" % m for m in mem), sum(m[0] for m in mem), sum(m[1] for m in mem)))
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")

# -- three runners: one panel never takes both panel runners --
s, smtp = stack(work_runners="3")
a = PanelDouble(s, "panel-a", "--hang", "30")
b = PanelDouble(s, "panel-b")
a.add_server(s, 1, max_concurrency=2)
b.add_server(s, 2, max_concurrency=2)
w = s.start_work()
t0 = time.time()
ja = [enqueue(s, "server_test", "three-a-%d" % i, "{}", "server=1") for i in range(2)]
t.ok(wait_for(lambda: a.stats().get("in_flight") == 1, 10), "panel A holds one call", a.stats())
jb = [enqueue(s, "server_test", "three-b-%d" % i, "{}", "server=2") for i in range(2)]
jm = [mail(s, "three-mail")]
t.ok(wait_for(lambda: all(state(s, j) == "done" for j in jb + jm), TIMEOUT - 1),
     "with three runners panel B and mail still finish while A hangs (%.1f s)" % (time.time() - t0),
     [s.job(j) for j in jb + jm])
t.is_(a.stats().get("max_in_flight"), 1, "... because A had at most one of the two panel runners")
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")

# -- a v2 panel (no csrf-token route), a wrong password, a stored password the key cannot open --
s, smtp = stack()
c = PanelDouble(s, "panel-c")
c.add_server(s, 3)
c.add_server(s, 4, password="wrong")
s.sql("INSERT INTO servers (id, name, country_code, country, panel_url, public_host) "
      "VALUES (5, 'no-password', 'DE', 'Germany', ?, '127.0.0.1')", (c.url,))
w = s.start_work()
j3 = enqueue(s, "server_test", "t3", "{}", "server=3")
j4 = enqueue(s, "server_test", "t4", "{}", "server=4")
j5 = enqueue(s, "server_test", "t5", "{}", "server=5")
t.ok(wait_for(lambda: all(state(s, j) == "done" for j in (j3, j4, j5)), 20), "three tests finish",
     [s.job(j) for j in (j3, j4, j5)])
r3, r4, r5 = (json.loads(s.sql("SELECT result FROM jobs WHERE id = ?", (j,))[0][0]) for j in (j3, j4, j5))
t.ok(r3.get("login") == "ok" and r3.get("csrf") is False, "v2 panel: signed in without a CSRF token", r3)
t.ok(r4.get("login") == "refused" and "Invalid" in r4.get("msg", ""), "a wrong password: refused, the panel's message kept", r4)
t.is_(r5.get("login"), "no_credentials", "no stored password: said so")
t.is_([x[0] for x in s.sql("SELECT health FROM servers WHERE id IN (3, 4, 5) ORDER BY id")], ["up", "down", "down"],
      "health follows the outcome")
t.is_(c.stats().get("logins"), 1, "one successful login on the panel")
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")

# -- priority: with one runner, due panel work goes before due mail --
s, smtp = stack(work_runners="1")
p = PanelDouble(s, "panel-p")
p.add_server(s, 6)
m1 = mail(s, "prio-mail", "first@example.com")
j6 = enqueue(s, "server_test", "prio-panel", "{}", "server=6")
s.sql("UPDATE jobs SET next_attempt_at = unixepoch() - 5")
w = s.start_work()
t.ok(wait_for(lambda: state(s, m1) == "done" and state(s, j6) == "done", 20), "both jobs run",
     [s.job(m1), s.job(j6)])
t_login = min([float(x.split()[0]) for x in p.events().splitlines() if " login ok" in x] or [1e18])
t_mail = os.path.getmtime(smtp.messages()[0]) if smtp.messages() else 0
t.ok(t_login < t_mail, "the panel job ran before the older email (%.3f < %.3f)" % (t_login, t_mail))
s.check_sanitizers(t, "no sanitizer report from work, its runners or the commands")
t.done()
