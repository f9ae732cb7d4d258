#!/usr/bin/env python3
"""Paths come from configure, and the program fails loudly (issue 15).

Configures the tree into a temporary build directory with every
directory somewhere else (--prefix, --sysconfdir, --localstatedir,
--runstatedir and the unit directory all under a temp dir), builds,
installs for real into that prefix (so the installed program runs on
its own defaults) and once more into a DESTDIR, then checks:

- no installed file names /usr/local, and no @placeholder@ is left;
- the units' ExecStart names the configured sbindir, and
  `systemd-analyze verify` accepts them (a loud skip without it);
- the nginx site's root is the installed public directory, its socket
  the one the program listens on by default; cron and logrotate name
  the configured paths; the sample config's defaults are the program's;
- the default config path is the configured one: no file there means
  the defaults, and `check` says so; a file there is named by `check`;
  a file that cannot be read (mode, a dangling link, -c to nothing)
  stops config, check, migrate and serve with its path and the reason;
- `check` as root creates nothing and says how to make the key and the
  database with runuser; `key init` makes a 0600 key once, owned by the
  state directory's owner, and never replaces it; `migrate` as the
  service user makes a missing key and says so.
"""
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP, under_ci  # noqa: E402

t = TAP()
if not os.path.exists(os.path.join(SRC, "configure")):
    t.skip_all("no configure script in %s (run autoreconf -fi)" % SRC)
if os.path.exists(os.path.join(SRC, "config.status")):
    t.skip_all("%s is configured in-tree: a second build directory cannot be configured "
               "(make distclean there)" % SRC)

tmp = tempfile.mkdtemp(prefix="px-paths-")
# The unprivileged user below must reach the files under it.
os.chmod(tmp, 0o755)
prefix = os.path.join(tmp, "opt", "px")
sysconf = os.path.join(tmp, "etc")
lsd = os.path.join(tmp, "var")
rsd = os.path.join(tmp, "run")
unitdir = os.path.join(tmp, "units")
build = os.path.join(tmp, "build")
dest = os.path.join(tmp, "dest")
os.makedirs(build)
make = os.environ.get("PX_MAKE") or "make"
# Outside the calling make's jobserver and goals (t/05-install.t does the same).
env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
ROOT = os.geteuid() == 0
# The service user's stand-in: a user that owns nothing here.
SVC = "nobody"


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, env=kw.pop("env", env), **kw)


def step(name, cmd, **kw):
    p = sh(cmd, **kw)
    if not t.ok(p.returncode == 0, name, (p.stdout + p.stderr)[-3000:]):
        t.done()
    return p


# -- configure, build, install --
step("configure with every directory elsewhere",
     [os.path.join(SRC, "configure"), "-q", "--prefix=" + prefix, "--sysconfdir=" + sysconf,
      "--localstatedir=" + lsd, "--runstatedir=" + rsd, "--with-systemdsystemunitdir=" + unitdir,
      "CFLAGS=-O0"], cwd=build)
step("make", [make, "-s", "-j2"], cwd=build)
step("make install (into the temporary prefix)", [make, "-s", "install"], cwd=build)
step("make install DESTDIR=...", [make, "-s", "install", "DESTDIR=" + dest], cwd=build)
sbin = os.path.join(prefix, "sbin", "1000proxy")
data = os.path.join(prefix, "share", "1000proxy")
conf_default = os.path.join(sysconf, "1000proxy", "1000proxy.conf")
state = os.path.join(lsd, "lib", "1000proxy")


def installed(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in files]
    return out


files = installed(prefix) + installed(sysconf) + installed(unitdir)
t.ok(len(files) > 100 and sbin in files, "installed %d files, the program in the configured sbindir" % len(files))
dfiles = installed(dest)
t.is_(sorted(f[len(dest):] for f in dfiles), sorted(files), "a DESTDIR install puts the same files under DESTDIR")
local = [f for f in files + dfiles if b"/usr/local" in open(f, "rb").read()]
t.ok(not local, "no installed file names /usr/local (the prefix is %s)" % prefix, "\n".join(local))
texts = {}
for f in files:
    if f.endswith(".svg") or f.endswith(".sql") or "/views/" in f or f.endswith(".css") or f == sbin:
        continue
    try:
        texts[f] = open(f, encoding="utf-8").read()
    except UnicodeDecodeError:
        pass
left = [f for f, s in texts.items() if re.search(r"@(sbindir|pkgdatadir|sysconfdir|localstatedir|runstatedir)@", s)]
t.ok(not left, "no @placeholder@ is left in an installed file", "\n".join(left))


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return "(%s)" % e


# -- the units --
pool_unit = read(os.path.join(unitdir, "1000proxy.service"))
work_unit = read(os.path.join(unitdir, "1000proxy-work.service"))
t.ok(re.search(r"^ExecStart=%s serve$" % re.escape(sbin), pool_unit, re.M) and
     re.search(r"^ExecStartPre=%s migrate$" % re.escape(sbin), pool_unit, re.M),
     "1000proxy.service runs the configured sbindir's program (migrate, serve)", pool_unit)
t.ok(re.search(r"^ExecStart=%s work$" % re.escape(sbin), work_unit, re.M),
     "1000proxy-work.service runs the configured sbindir's program (work)", work_unit)
t.ok(state in pool_unit and state in work_unit, "both units name the configured state directory %s" % state)
if shutil.which("systemd-analyze"):
    for u in ("1000proxy.service", "1000proxy-work.service"):
        p = sh(["systemd-analyze", "verify", os.path.join(unitdir, u)])
        # Warnings about the user name's style aside, nothing may be said.
        said = [ln for ln in (p.stdout + p.stderr).splitlines() if "does not match strict user/group" not in ln]
        t.ok(p.returncode == 0 and not said, "systemd-analyze verify %s" % u, p.stdout + p.stderr)
else:
    why = "systemd-analyze is not installed (Debian package systemd)"
    if under_ci():
        t.ok(False, "SKIP NOT ALLOWED UNDER CI=true: " + why)
    else:
        t.n += 1
        print("ok %d # SKIP %s" % (t.n, why), flush=True)
        sys.stderr.write("#### SKIPPED (not run, not tested): %s\n" % why)

# -- nginx, cron, logrotate, the sample, the man pages --
site = read(os.path.join(sysconf, "nginx", "sites-available", "1000proxy"))
public = os.path.join(data, "public")
t.ok(re.search(r"^\s*root %s;$" % re.escape(public), site, re.M), "the nginx site's root is %s" % public, site[:2000])
t.ok(os.path.isfile(os.path.join(public, "css", "site.css")) and os.path.isfile(os.path.join(public, "502.html")),
     "and the CSS and the 502 page are there")
p = sh([sbin, "config"])
t.ok(p.returncode == 0, "the installed program runs on its defaults (config, no file)", p.stderr)
cfg = dict(re.findall(r'^([a-z_]+) = "(.*)"$', p.stdout, re.M))
socks = re.findall(r"fastcgi_pass (unix:\S+);", site)
t.ok(socks and all(s == cfg.get("listen") for s in socks),
     "the site's fastcgi_pass is the pool's default listen (%s)" % cfg.get("listen"), socks)
for key, want in (("key_file", os.path.join(state, "secret.key")), ("database", os.path.join(state, "1000proxy.db")),
                  ("spool_dir", os.path.join(state, "spool")), ("views_dir", os.path.join(data, "views")),
                  ("run_dir", os.path.join(rsd, "1000proxy")), ("listen", "unix:" + os.path.join(rsd, "1000proxy", "fcgi.sock"))):
    t.is_(cfg.get(key), want, "default %s from configure" % key)
cron = read(os.path.join(sysconf, "cron.d", "1000proxy"))
t.ok(re.search(r"^PATH=%s:" % re.escape(os.path.dirname(sbin)), cron, re.M), "cron.d's PATH starts with the sbindir")
rot = read(os.path.join(sysconf, "logrotate.d", "1000proxy"))
# On a line of its own, after the header comment.
t.ok(re.search(r"^%s \{" % re.escape(os.path.join(lsd, "log", "1000proxy", "*.log")), rot, re.M),
     "logrotate names the configured log directory",
     rot[:200])
sample = read(os.path.join(sysconf, "1000proxy", "1000proxy.conf.sample"))
pairs = re.findall(r'^# ([a-z_]+) = "(.*)"$', sample, re.M)
bad = [(k, v, cfg.get(k)) for k, v in pairs if cfg.get(k) != v and "password" not in k]
t.ok(len(pairs) > 10 and not bad, "the installed sample's defaults are the program's (%d keys)" % len(pairs), bad)
man8 = read(os.path.join(prefix, "share", "man", "man8", "1000proxy.8"))
t.ok("Pa %s\n" % conf_default in man8 and "Pa %s/\n" % data in man8, "1000proxy(8) names the configured paths")

# -- the default config path --
p = sh([sbin, "check"])
t.ok(p.returncode == 1 and "ok config: no file at %s, defaults\n" % conf_default in p.stdout,
     "check with no config file: 'ok config: no file at <configured path>, defaults'", p.stdout + p.stderr)
t.ok(not os.path.exists(lsd) and not os.path.exists(rsd), "check created no state or run directory")

# The state directory as the package makes it: the service's own.
os.makedirs(state)
svc = pwd.getpwnam(SVC) if ROOT else pwd.getpwuid(os.geteuid())
if ROOT:
    os.chown(state, svc.pw_uid, svc.pw_gid)
os.chmod(state, 0o750)
p = sh([sbin, "check"])
how = "runuser -u 1000proxy -- 1000proxy " if ROOT else "1000proxy "
t.ok(p.returncode == 1 and "FAIL key file: no file at %s/secret.key" % state in p.stdout and
     how + "key init" in p.stdout and how + "migrate" in p.stdout,
     "check reports the missing key and database, saying how to make them (%s...)" % how, p.stdout + p.stderr)
t.is_(os.listdir(state), [], "check%s created nothing in the state directory" % (" as root" if ROOT else ""))


def as_svc(cmd):
    return (["runuser", "-u", SVC, "--"] if ROOT else []) + cmd


# -- key init --
key = os.path.join(state, "secret.key")
p = sh(as_svc([sbin, "key", "init"]))
st = os.lstat(key) if os.path.exists(key) else None
t.ok(p.returncode == 0 and st is not None and stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32 and
     st.st_uid == svc.pw_uid, "key init as the service user: 32 bytes, 0600, the service's", p.stdout + p.stderr)
before = open(key, "rb").read()
p = sh(as_svc([sbin, "key", "init"]))
t.ok(p.returncode == 1 and "already exists" in p.stderr and key in p.stderr and open(key, "rb").read() == before,
     "key init again: refused, naming the file, which is unchanged", p.stderr)
if ROOT:
    os.unlink(key)
    p = sh([sbin, "key", "init"])
    st = os.lstat(key) if os.path.exists(key) else None
    t.ok(p.returncode == 0 and st is not None and st.st_uid == svc.pw_uid and stat.S_IMODE(st.st_mode) == 0o600,
         "key init as root: the key goes to the state directory's owner, 0600", p.stdout + p.stderr)
os.unlink(key)

# -- migrate makes a missing key, as the service user; then check passes --
p = sh(as_svc([sbin, "migrate"]))
st = os.lstat(key) if os.path.exists(key) else None
t.ok(p.returncode == 0 and st is not None and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == svc.pw_uid and
     "created the key file %s" % key in p.stderr,
     "migrate as the service user makes the missing key (0600) and logs it", p.stdout + p.stderr)
p = sh([sbin, "check"])
t.ok(p.returncode == 0 and "ok key file %s" % key in p.stdout, "check passes on the defaults once migrated",
     p.stdout + p.stderr)
foreign = [f for f in os.listdir(state) if os.lstat(os.path.join(state, f)).st_uid != svc.pw_uid]
t.is_(foreign, [], "every file in the state directory is the service's, after check%s" % (" as root" if ROOT else ""))

# -- a config file at the default path --
os.makedirs(os.path.dirname(conf_default), exist_ok=True)
with open(conf_default, "w") as f:
    f.write('site_name = "Paths"\n')
os.chmod(conf_default, 0o644)
p = sh([sbin, "check"])
t.ok(p.returncode == 0 and "ok config: %s\n" % conf_default in p.stdout, "check names the file it read", p.stdout)
p = sh([sbin, "config"])
t.ok('site_name = "Paths"' in p.stdout, "config reads the default path")

# -- a file that cannot be read stops every command --
os.chmod(conf_default, 0)
for cmd in ("config", "check", "migrate", "serve"):
    p = sh(as_svc([sbin, cmd]) if ROOT else [sbin, cmd], timeout=30)
    t.ok(p.returncode != 0 and conf_default in p.stderr and "Permission denied" in p.stderr,
         "an unreadable config at the default path stops %s with its path and the reason" % cmd, p.stdout + p.stderr)
os.unlink(conf_default)
os.symlink(os.path.join(tmp, "nowhere.conf"), conf_default)
p = sh([sbin, "config"])
t.ok(p.returncode != 0 and conf_default in p.stderr and "No such file" in p.stderr,
     "a dangling link at the default path is an error, not the defaults", p.stderr)
os.unlink(conf_default)
p = sh([sbin, "-c", os.path.join(tmp, "absent.conf"), "check"])
t.ok(p.returncode != 0 and "absent.conf" in p.stderr and "No such file" in p.stderr,
     "-c naming no file is an error", p.stderr)
p = sh([sbin, "-c", tmp, "config"])
t.ok(p.returncode != 0 and "Is a directory" in p.stderr, "-c naming a directory is an error", p.stderr)

shutil.rmtree(tmp, ignore_errors=True)
t.done()
