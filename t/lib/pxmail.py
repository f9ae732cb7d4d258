"""pxmail.py: test helpers for the spool and mail tests: a Stack with no
pool or nginx, the `1000proxy work` daemon, a throwaway CA and the SMTP
double (t/lib/smtpd.py), all in the stack's temp dir."""
import glob
import os
import subprocess
import sys

from px import BIN, Stack, terminate, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))


class Spool(Stack):
    """A migrated database and spool directory; `work` on demand."""

    def __init__(self, conf=None):
        base = {"work_poll_ms": "50", "retry_base": "1", "retry_cap": "2"}
        base.update(conf or {})
        super().__init__(workers=1, conf=base, seed=False, nginx=False)
        self.spool = os.path.join(self.dir, "spool")
        self.works = []

    def setup(self, **more):
        self.write_conf(**more)
        self.cli("migrate")
        return self

    def reconf(self, **more):
        self.extra.update(more)
        self.write_conf()

    def job(self, jid):
        rows = self.sql("SELECT state, attempts, last_error, step, next_attempt_at FROM jobs WHERE id = ?", (jid,))
        return rows[0] if rows else None

    def files(self, sub):
        try:
            return sorted(os.listdir(os.path.join(self.spool, sub)))
        except FileNotFoundError:
            return []

    def job_files(self, sub, jid):
        return [f for f in self.files(sub) if f.split(".")[0] == str(jid)]

    def start_work(self):
        err = open(os.path.join(self.dir, "work.stderr"), "ab")
        p = subprocess.Popen([BIN, "-c", self.conf, "work"], stdout=err, stderr=err)
        self.works.append(p)
        lock = os.path.join(self.spool, "lock")

        def locked():
            try:
                return open(lock).read().strip() == str(p.pid)
            except FileNotFoundError:
                return False
        wait_for(lambda: locked() or p.poll() is not None, 10)
        return p

    def stop(self, keep_dir=False):
        for p in self.works:
            terminate(p)
        self.works = []
        for d in getattr(self, "doubles", []):
            d.stop()
        super().stop(keep_dir=keep_dir)


def make_ca(d):
    """A CA and a 127.0.0.1/localhost server certificate signed by it."""
    ca_key, ca, key, csr, cert, ext = (os.path.join(d, n) for n in
                                       ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "ext.cnf"))
    if os.path.exists(cert):
        return ca, cert, key
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(["openssl"] + list(a), check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=px test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    return ca, cert, key


class SMTPDouble:
    def __init__(self, stack, name="smtp", mode="starttls", user="shop", password="s3cret", *extra):
        self.ca, cert, key = make_ca(stack.dir)
        self.dir = os.path.join(stack.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        pf = os.path.join(self.dir, "port")
        self.err = open(os.path.join(stack.dir, name + ".stderr"), "ab")
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "smtpd.py"), "--dir", self.dir,
                                   "--port-file", pf, "--mode", mode, "--cert", cert, "--key", key,
                                   "--user", user, "--password", password] + list(extra),
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        if not wait_for(lambda: os.path.exists(pf) or self.p.poll() is not None, 10) or self.p.poll() is not None:
            raise RuntimeError("smtpd did not start")
        self.port = int(open(pf).read())
        self.url = "%s://127.0.0.1:%d/shop.example" % ("smtps" if mode == "tls" else "smtp", self.port)
        if not hasattr(stack, "doubles"):
            stack.doubles = []
        stack.doubles.append(self)

    def messages(self):
        return sorted(glob.glob(os.path.join(self.dir, "*.eml")))

    def events(self):
        try:
            return open(os.path.join(self.dir, "events.log")).read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()


class PanelDouble:
    """A 3X-UI panel double (t/lib/paneld.py) on an ephemeral port."""

    def __init__(self, stack, name="panel", *extra, user="admin", password="pw-panel"):
        self.dir = os.path.join(stack.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        pf = os.path.join(self.dir, "port")
        self.stats_file = os.path.join(self.dir, "stats.json")
        self.events_file = os.path.join(self.dir, "events.log")
        self.user, self.password = user, password
        self.err = open(os.path.join(stack.dir, name + ".stderr"), "ab")
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "paneld.py"), "--port-file", pf,
                                   "--stats", self.stats_file, "--events", self.events_file,
                                   "--user", user, "--password", password] + list(extra),
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        if not wait_for(lambda: os.path.exists(pf) or self.p.poll() is not None, 10) or self.p.poll() is not None:
            raise RuntimeError("paneld did not start")
        self.port = int(open(pf).read())
        self.url = "http://127.0.0.1:%d/" % self.port
        if not hasattr(stack, "doubles"):
            stack.doubles = []
        stack.doubles.append(self)

    def stats(self):
        import json
        try:
            with open(self.stats_file) as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return {}

    def events(self):
        try:
            return open(self.events_file).read()
        except FileNotFoundError:
            return ""

    def state(self):
        """The double's state: inbounds, clients, traffics, onlines, stats
        (GET /_double/state, see t/lib/paneld.py)."""
        import json
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/_double/state" % self.port, timeout=10) as r:
            return json.loads(r.read())

    def control(self, what, **body):
        """POST /_double/<what> (fault, traffic, expire) with a JSON body."""
        import json
        import urllib.error
        import urllib.request
        req = urllib.request.Request("http://127.0.0.1:%d/_double/%s" % (self.port, what),
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read() or b"{}")

    def add_server(self, stack, sid, max_concurrency=2, password=None):
        """A servers row for this panel, its password sealed by the binary."""
        stack.sql("INSERT INTO servers (id, name, country_code, country, panel_url, panel_user, "
                  "public_host, max_concurrency) VALUES (?, ?, 'DE', 'Germany', ?, ?, '127.0.0.1', ?)",
                  (sid, "panel-%d" % sid, self.url, self.user, max_concurrency))
        stack.cli("test-spool", "server-password", str(sid), password or self.password)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()


def runner_pids(work):
    """The pids of a work master's runners."""
    try:
        with open("/proc/%d/task/%d/children" % (work.pid, work.pid)) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def rss_pss(pid):
    """(RSS, PSS) of a process in KiB, or None once it has exited.  The
    pid usually comes from runner_pids(), and a runner may be retired
    between that read and this one: its /proc directory is then gone
    (ENOENT), or it is a zombie whose memory is already released, and
    reading smaps_rollup fails with ESRCH or yields no Rss line.  A
    process that has gone has no memory to report; callers skip it."""
    vals = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Rss", "Pss"):
                    vals[k] = int(v.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None
    if "Rss" not in vals:
        return None
    return vals["Rss"], vals.get("Pss", 0)


def rss_of(pids):
    """[(RSS, PSS)] of those of pids still alive (see rss_pss)."""
    return [m for m in (rss_pss(pid) for pid in pids) if m is not None]
