#!/usr/bin/env python3
"""The files a service runs by, as `make install` installs them (issue 15).

- systemd: `systemd-analyze verify` passes on both units, and
  `systemd-analyze security --offline=true` rates each at or below 4.0
  ("OK"); UMask=0027; every ReadWritePaths entry may be missing ("-");
  both units have an ExecReload that sends SIGHUP.
- logs: the installed logrotate file (`su`, `create`, a postrotate that
  reloads both units), checked by `logrotate -d`, then run for real on a
  live pool and work daemon sharing one log_file, with its postrotate
  sending the HUP the units' ExecReload would: afterwards the pool's
  master and workers and the work daemon's master and runner write to
  the new file at the old path, none to the rotated one.  A reload the
  pool refuses (a broken config) still reopens its log.
- nginx: the installed site, on a snakeoil-like certificate made here,
  passes `nginx -t`.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, TAP, wait_for  # noqa: E402
from pxmail import Spool, runner_pids  # noqa: E402

t = TAP()
build = os.path.dirname(BIN)
need = [x for x in ("systemd-analyze", "logrotate", "nginx", "openssl") if shutil.which(x) is None]
if need:
    t.skip_all("not installed: %s (apt-get install systemd logrotate nginx-light openssl)" % " ".join(need))
if not os.path.isfile(os.path.join(build, "Makefile")):
    t.skip_all("%s has no Makefile (PX_BIN outside a build tree)" % build)

tmp = tempfile.mkdtemp(prefix="px-units-")
dest = os.path.join(tmp, "dest")
env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
p = subprocess.run(["make", "-s", "-C", build, "install", "DESTDIR=" + dest], capture_output=True, text=True,
                   env=env)
if not t.ok(p.returncode == 0, "make install DESTDIR=... succeeds", p.stdout + p.stderr):
    t.done()


def installed(suffix):
    for root, _, files in os.walk(dest):
        for f in files:
            path = os.path.join(root, f)
            if path.endswith(suffix):
                return path
    return None


sbin = installed("/sbin/1000proxy")
sbindir = os.path.dirname(sbin)[len(dest):]

# -- systemd --
# verify looks for ExecStart's binary on this machine: the units name it
# where it will be (sbindir), which is only under DESTDIR here, so that
# one path is pointed into DESTDIR; the rest of each unit is as installed.
udir = os.path.join(tmp, "units")
os.makedirs(udir)
for unit in ("1000proxy.service", "1000proxy-work.service"):
    path = installed("/systemd/system/" + unit)
    if not t.ok(path is not None, "%s installed in a systemd unit directory" % unit):
        continue
    text = open(path).read()
    t.ok("/usr/local" not in text or sbindir.startswith("/usr/local"), "%s names no /usr/local of its own" % unit)
    t.ok(re.search(r"^UMask=0027$", text, re.M) is not None, "%s: UMask=0027" % unit)
    rw = [w for line in re.findall(r"^ReadWritePaths=(.*)$", text, re.M) for w in line.split()]
    t.ok(rw and all(w.startswith("-") for w in rw),
         "%s: every ReadWritePaths entry may be missing ('-')" % unit, rw)
    t.ok(re.search(r"^ExecReload=/bin/kill -HUP \$MAINPID$", text, re.M) is not None,
         "%s: ExecReload sends SIGHUP to the master" % unit)
    t.ok(re.search(r"^StateDirectory=1000proxy$", text, re.M) and re.search(r"^LogsDirectory=1000proxy$", text, re.M),
         "%s: systemd makes /var/lib/1000proxy and /var/log/1000proxy for it" % unit)
    local = os.path.join(udir, unit)
    with open(local, "w") as f:
        f.write(text.replace(sbindir + "/1000proxy", os.path.join(dest + sbindir, "1000proxy")))
    v = subprocess.run(["systemd-analyze", "verify", local], capture_output=True, text=True)
    # systemd 252 warns that a user name starting with a digit is not
    # "strict"; it accepts it (Debian's adduser makes such users).
    noise = [x for x in (v.stdout + v.stderr).splitlines() if x and "does not match strict user/group name" not in x]
    t.ok(v.returncode == 0 and not noise, "systemd-analyze verify %s" % unit, "\n".join(noise))
    s = subprocess.run(["systemd-analyze", "security", "--offline=true", local], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for %s: ([0-9.]+) (\w+)" % re.escape(unit), s.stdout)
    score = float(m.group(1)) if m else 99.0
    t.ok(m is not None and score <= 4.0, "systemd-analyze security %s: %s (at most 4.0)"
         % (unit, m.group(1) + " " + m.group(2) if m else "no score"), s.stdout[-2000:] + s.stderr)

# -- logrotate --
lr_path = installed("/logrotate.d/1000proxy")
lr = open(lr_path).read()
t.ok(re.search(r"^\s*su 1000proxy 1000proxy$", lr, re.M) is not None, "logrotate works as the service user (su)")
t.ok("copytruncate" not in lr, "logrotate moves the file (the daemons reopen), no copytruncate")
t.ok(re.search(r"systemctl reload 1000proxy\.service", lr) and re.search(r"systemctl reload 1000proxy-work\.service", lr),
     "postrotate reloads both units")

me = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
grp = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
s = Spool(conf={"work_runners": "2"})
logdir = os.path.join(s.dir, "log")
os.makedirs(logdir, mode=0o750)
s.log = os.path.join(logdir, "1000proxy.log")
s.setup()
s.start_pool()
s.start_nginx()
w = s.start_work()


def render_lr(post):
    """The installed file with its directory, user and postrotate made
    local (the service user does not exist here; systemd does not run)."""
    text = re.sub(r"^\S+/log/1000proxy/\*\.log", logdir + "/*.log", lr, flags=re.M)
    text = text.replace("1000proxy 1000proxy", "%s %s" % (me, grp))
    text = re.sub(r"(postrotate\n).*?(\n\s*endscript)", lambda m: m.group(1) + "\t\t" + post + m.group(2),
                  text, flags=re.S)
    path = os.path.join(tmp, "logrotate.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def lines(path):
    out = []
    try:
        with open(path) as f:
            for x in f:
                try:
                    out.append(json.loads(x))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return out


def has(path, pred):
    return any(pred(x) for x in lines(path))


def job_failed(jid):
    """A runner's line on job jid's attempt (it fails: no SMTP server)."""
    return lambda x: x.get("msg", "").startswith("job %d (email)" % jid)


def enqueue(key):
    return int(s.cli("test-spool", "enqueue", "email", key,
                     json.dumps({"to": "a@example.com", "template": "emails/test", "vars": {}})).stdout)


# Lines before the rotation: a request (a pool worker) and a job (a runner).
r1 = s.get("/healthz")
j1 = enqueue("units-1")
t.ok(wait_for(lambda: has(s.log, job_failed(j1)) and has(s.log, lambda x: x.get("id") == r1.header("x-request-id")), 10),
     "before the rotation: a worker's and a runner's lines in the log")
runner = next((x["pid"] for x in lines(s.log) if job_failed(j1)(x)), None)
runners_before = sorted(runner_pids(w))
workers_before = sorted(s.worker_pids())

conf = render_lr("kill -HUP %d %d" % (s.pool.pid, w.pid))
d = subprocess.run(["logrotate", "-d", "-s", os.path.join(tmp, "state"), conf], capture_output=True, text=True)
out = d.stdout + d.stderr
t.ok(d.returncode == 0 and "error" not in out.lower() and "rotating pattern" in out,
     "logrotate -d accepts the installed file", out[-2000:])
t.ok("insecure permissions" not in out, "logrotate does not skip the 0750 log directory", out[-1000:])
f = subprocess.run(["logrotate", "-f", "-s", os.path.join(tmp, "state"), conf], capture_output=True, text=True)
t.ok(f.returncode == 0 and os.path.exists(s.log + ".1"), "logrotate -f moved the log to .1", f.stdout + f.stderr)

t.ok(wait_for(lambda: has(s.log, lambda x: x.get("pid") == s.pool.pid and "reloaded" in x.get("msg", "")), 15),
     "the pool's master writes to the new file after the HUP", open(s.log).read()[-1500:] if os.path.exists(s.log) else "")
t.ok(wait_for(lambda: has(s.log, lambda x: x.get("pid") == w.pid and x.get("msg") == "master: log reopened"), 10),
     "the work master reopened its log")
t.ok(wait_for(lambda: has(s.log, lambda x: x.get("pid") == runner and x.get("msg", "").endswith(": log reopened")), 10),
     "the work runner reopened its log")
t.ok(w.poll() is None and s.pool.poll() is None, "both daemons are still running after the HUP")
t.is_(sorted(runner_pids(w)), runners_before, "the HUP did not restart the work daemon's runners")
# The old generation leaves once it has finished its request; a request
# it took in that moment would still be logged in the rotated file, so
# wait for the new generation alone.
t.ok(wait_for(lambda: s.worker_pids() and not set(s.worker_pids()) & set(workers_before), 10),
     "the pool's old workers have left", (workers_before, s.worker_pids()))
r2 = s.get("/healthz")
j2 = enqueue("units-2")
rid = r2.header("x-request-id")
t.ok(wait_for(lambda: has(s.log, lambda x: x.get("id") == rid and x.get("pid") not in workers_before), 10),
     "a request after the rotation: its line is in the new file, from a new-generation worker")
t.ok(wait_for(lambda: has(s.log, lambda x: job_failed(j2)(x) and x.get("pid") == runner), 10),
     "a job after the rotation: its runner's line is in the new file")
t.ok(not has(s.log + ".1", lambda x: x.get("id") == rid or job_failed(j2)(x)),
     "no line after the rotation in the rotated file")
st = os.stat(s.log)
t.is_(oct(st.st_mode & 0o777), "0o640", "the new log file is 0640 (logrotate's create, the daemons' open)")

# A reload the pool refuses still reopens its log: the rotation must not
# depend on the configuration being good.
good = open(s.conf).read()
with open(s.conf, "a") as fh:
    fh.write("workers = \"many\"\n")
os.rename(s.log, s.log + ".2")
s.pool.send_signal(signal.SIGHUP)
t.ok(wait_for(lambda: has(s.log, lambda x: x.get("pid") == s.pool.pid and "reload refused" in x.get("msg", "")), 10),
     "a refused reload still reopens the pool's log", open(s.log + ".2").read()[-800:])
with open(s.conf, "w") as fh:
    fh.write(good)
s.stop()

# -- nginx --
site = open(installed("/nginx/sites-available/1000proxy")).read()
t.ok("/etc/ssl/certs/ssl-cert-snakeoil.pem" in site and "/etc/ssl/private/ssl-cert-snakeoil.key" in site,
     "the site points at Debian's snakeoil certificate")
t.ok(re.search(r"^\s*ssl_certificate /etc/letsencrypt", site, re.M) is None and "Let's Encrypt" in site,
     "Let's Encrypt is a comment saying how to switch")
ng = os.path.join(tmp, "nginx")
os.makedirs(os.path.join(ng, "tmp"))
cert, key = os.path.join(ng, "snakeoil.pem"), os.path.join(ng, "snakeoil.key")
# What make-ssl-cert (package ssl-cert) makes: RSA 2048, self-signed.
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
shutil.copy("/etc/nginx/fastcgi_params", ng)
with open(os.path.join(ng, "site"), "w") as fh:
    fh.write(site.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", cert)
             .replace("/etc/ssl/private/ssl-cert-snakeoil.key", key)
             .replace("/var/log/nginx/", ng + "/"))
with open(os.path.join(ng, "nginx.conf"), "w") as fh:
    fh.write("pid %s/nginx.pid;\nerror_log %s/error.log;\nevents { }\nhttp {\n"
             "\tinclude /etc/nginx/mime.types;\n" % (ng, ng)
             + "".join("\t%s_temp_path %s/tmp/%s;\n" % (k, ng, k)
                       for k in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"))
             + "\tinclude %s/site;\n}\n" % ng)
n = subprocess.run(["nginx", "-t", "-p", ng, "-c", os.path.join(ng, "nginx.conf"), "-e", os.path.join(ng, "error.log")],
                   capture_output=True, text=True)
t.ok(n.returncode == 0 and "test is successful" in n.stderr, "nginx -t passes on the installed site", n.stderr)

shutil.rmtree(tmp, ignore_errors=True)
t.done()
