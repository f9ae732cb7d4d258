"""px.py: the test harness shared by the Python tests under t/.

A TAP writer that fails loudly, and Stack: a private 1000proxy system in a
temp dir on ephemeral ports (config, migrated and seeded SQLite file, the
pool, nginx over HTTP and optionally TLS), torn down at exit.
"""
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("PX_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("PX_BIN") or os.path.join(SRC, "build", "1000proxy")


def under_ci():
    """True when CI is set to true (or 1, yes): skips then fail the run
    (the same rule as t/lib/skip.sh)."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


class TAP:
    """Minimal TAP producer: every check prints a line; done() prints the plan."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        atexit.register(self._end)
        self._done = False

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, name), flush=True)
        if not cond and diag is not None:
            for line in str(diag).splitlines()[:40]:
                print("#   " + line, flush=True)
        return cond

    def is_(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line, flush=True)

    def skip_all(self, why):
        """Skip the whole script, loudly: a TAP "1..0 # SKIP why" and exit 0,
        with a banner on stderr.  Under CI (CI=true, as .ci/run sets it) a
        skip is a failure instead: a "not ok" line and exit 1.  Only before
        the first check (after one, it is a broken harness: bail out)."""
        if self.n:
            self.bail("skip_all after %d checks: %s" % (self.n, why))
        self._done = True
        if under_ci():
            print("1..1\nnot ok 1 - SKIP NOT ALLOWED UNDER CI=true: " + why, flush=True)
            sys.stderr.write("#### FAIL: this test would have been SKIPPED: %s\n"
                             "#### (CI=%s: a skipped test fails the run; install what it needs)\n"
                             % (why, os.environ.get("CI")))
            sys.stderr.flush()
            sys.exit(1)
        print("1..0 # SKIP " + why, flush=True)
        sys.stderr.write("#### SKIPPED (not run, not tested): %s\n" % why)
        sys.stderr.flush()
        sys.exit(0)

    def bail(self, msg):
        print("Bail out! " + msg, flush=True)
        sys.exit(255)

    def done(self):
        self._done = True
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if self.failed else 0)

    def _end(self):
        if not self._done:
            print("# test script ended without done()", flush=True)


def browser_or_skip(t):
    """(chromium, node, node_modules) for the browser tests, or a loud skip.

    quickstart test installs playwright-core into <builddir>/node;
    PX_PLAYWRIGHT names another node_modules, PX_CHROMIUM another browser."""
    import shutil
    chromium = os.environ.get("PX_CHROMIUM", "/usr/bin/chromium")
    node = shutil.which("node")
    cands = [os.environ.get("PX_PLAYWRIGHT", ""), os.path.join(os.path.dirname(BIN), "node", "node_modules")]
    pw = next((c for c in cands if c and os.path.isfile(os.path.join(c, "playwright-core", "package.json"))), None)
    why = None
    if not os.access(chromium, os.X_OK):
        why = "no chromium at %s (apt-get install chromium)" % chromium
    elif node is None:
        why = "no node (apt-get install nodejs npm)"
    elif pw is None:
        why = "playwright-core is not installed in %s (./quickstart test installs it)" % cands[1]
    if why:
        t.skip_all("BROWSER TEST NOT RUN: " + why)
    return chromium, node, pw


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def terminate(p, timeout=15):
    """SIGTERM the process p unless it has ended, wait up to timeout
    seconds, then SIGKILL it."""
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def fcgi_record(rtype, content=b"", req_id=1):
    """One FastCGI record (version 1) of type rtype carrying content."""
    import struct
    return struct.pack(">BBHHBB", 1, rtype, req_id, len(content), 0, 0) + content


def fcgi_params(params):
    """The name-value pairs of a FastCGI PARAMS record (short lengths)."""
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        out += bytes([len(k), len(v)]) + k + v
    return out


def fcgi_begin(params):
    """BEGIN_REQUEST (responder, no keep-alive), the PARAMS and the
    empty PARAMS record that ends them: what a web server sends before
    the body.  Append fcgi_record(5, ...) records for STDIN."""
    return (fcgi_record(1, bytes([0, 1, 0, 0, 0, 0, 0, 0])) + fcgi_record(4, fcgi_params(params))
            + fcgi_record(4))


def read_until_closed(sock, timeout):
    """Read from sock until the peer closes it or timeout seconds pass:
    (bytes read, seconds taken, True if the peer closed it)."""
    t0 = time.time()
    data = b""
    while True:
        left = timeout - (time.time() - t0)
        if left <= 0:
            return data, time.time() - t0, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, time.time() - t0, False
        except OSError:
            return data, time.time() - t0, True
        if not chunk:
            return data, time.time() - t0, True
        data += chunk


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (name-lowercase, value)
        self.body = body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class Stack:
    """A private system: config, database, pool, nginx (HTTP and TLS)."""

    def __init__(self, workers=2, conf=None, tls=False, seed=True, nginx=True,
                 read_timeout=60, public=None):
        self.dir = tempfile.mkdtemp(prefix="px-test-")
        # nginx's document root; the benchmark points it at a copy with
        # its yardstick file added.
        self.public = public or os.path.join(SRC, "public")
        self.workers = workers
        self.extra = conf or {}
        self.tls = tls
        self.seed = seed
        self.use_nginx = nginx
        self.read_timeout = read_timeout
        self.pool = None
        self.nginx = None
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.sock = os.path.join(self.dir, "fcgi.sock")
        self.conf = os.path.join(self.dir, "1000proxy.conf")
        self.log = os.path.join(self.dir, "pool.log")
        self.db = os.path.join(self.dir, "1000proxy.db")
        # The test clock (test_clock_file, read by every process of the
        # stack while test_routes is on): seconds added to the wall clock.
        self.clock_file = os.path.join(self.dir, "clock")
        atexit.register(self.stop)

    # -- set-up --
    def write_conf(self, **more):
        vals = {
            "listen": "unix:" + self.sock,
            "workers": str(self.workers),
            "pid_file": os.path.join(self.dir, "pool.pid"),
            "database": self.db,
            "spool_dir": os.path.join(self.dir, "spool"),
            "views_dir": os.path.join(SRC, "views"),
            "sql_dir": os.path.join(SRC, "sql"),
            "key_file": os.path.join(self.dir, "secret.key"),
            "run_dir": self.dir,
            "common_passwords": os.path.join(SRC, "etc", "passwords", "common-passwords.txt"),
            "base_url": "http://127.0.0.1:%d" % self.port,
            "log_file": self.log,
            "test_routes": "yes",
            "test_clock_file": self.clock_file,
            # The suite posts forms and calls the API far faster than a
            # person: budgets out of reach and no too-fast form check,
            # unless a test sets them (t/31-budgets.t tests the defaults).
            "budget_client_minute": "10000000",
            "budget_account_minute": "10000000",
            "form_min_seconds": "0",
        }
        vals.update(self.extra)
        vals.update(more)
        with open(self.conf, "w") as f:
            for k, v in vals.items():
                f.write('%s = "%s"\n' % (k, v))

    def cli(self, *args, check=True, input=None):
        p = subprocess.run([BIN, "-c", self.conf] + list(args), capture_output=True,
                           text=True, input=input)
        if check and p.returncode != 0:
            raise RuntimeError("1000proxy %s failed: %s %s" % (" ".join(args), p.stdout, p.stderr))
        return p

    def start(self):
        self.write_conf()
        self.cli("migrate")
        if self.seed:
            self.cli("seed", "--demo")
        self.start_pool()
        if self.use_nginx:
            self.start_nginx()
        return self

    def start_pool(self):
        self.pool_err = open(os.path.join(self.dir, "pool.stderr"), "ab")
        self.pool = subprocess.Popen([BIN, "-c", self.conf, "serve"], stdout=self.pool_err,
                                     stderr=self.pool_err)
        if not wait_for(lambda: os.path.exists(self.sock) or self.pool.poll() is not None, 10):
            raise RuntimeError("pool did not create its socket")
        if self.pool.poll() is not None:
            raise RuntimeError("pool exited: " + open(os.path.join(self.dir, "pool.stderr")).read())
        # Give every worker the chance to reach accept().
        wait_for(lambda: len(self.worker_pids()) >= self.workers, 10)

    def start_nginx(self):
        run = self.dir
        os.makedirs(os.path.join(run, "nginx-tmp"), exist_ok=True)
        tls = ""
        if self.tls:
            self.cert = os.path.join(run, "cert.pem")
            key = os.path.join(run, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", self.cert, "-days", "2", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                           check=True, capture_output=True)
            tls = ("listen 127.0.0.1:%d ssl;\n\t\tssl_certificate %s;\n\t\tssl_certificate_key %s;"
                   % (self.tls_port, self.cert, key))
        with open(os.path.join(SRC, "etc", "nginx", "local.conf.in")) as f:
            text = f.read()
        text = (text.replace("@RUN@", run).replace("@PORT@", str(self.port))
                .replace("@TLS@", tls).replace("@PUBLIC@", self.public)
                .replace("@SOCK@", self.sock).replace("@READ_TIMEOUT@", str(self.read_timeout))
                .replace("@USER@", "user root root;" if os.geteuid() == 0 else ""))
        conf = os.path.join(run, "nginx.conf")
        with open(conf, "w") as f:
            f.write(text)
        self.nginx_err = open(os.path.join(run, "nginx.stderr"), "ab")
        self.nginx = subprocess.Popen(["nginx", "-p", run, "-c", conf, "-e", os.path.join(run, "nginx-error.log")],
                                      stdout=self.nginx_err, stderr=self.nginx_err)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return False
        if not wait_for(up, 10):
            raise RuntimeError("nginx did not start: " + open(os.path.join(run, "nginx-error.log")).read())

    # -- the test clock --
    def clock_offset(self):
        """Seconds the test clock is ahead of the wall clock.  The file is
        the one truth, so a helper in another language (the browser
        scripts get PX_CLOCK_FILE) may move the clock as well."""
        try:
            with open(self.clock_file) as f:
                return int(f.read().strip() or "0")
        except FileNotFoundError:
            return 0

    def now(self):
        """The stack's business time: the wall clock plus the offset that
        advance() wrote, as every 1000proxy process of the stack and
        unixepoch() in sql() see it (float seconds; the program reads
        whole seconds)."""
        return time.time() + self.clock_offset()

    def advance(self, seconds):
        """Move the clock of every process of the stack (workers, work,
        cron, the CLI, SQL's unixepoch()) forward by whole seconds, at
        once and without sleeping.  Returns the new now()."""
        off = self.clock_offset() + int(seconds)
        tmp = self.clock_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % off)
        os.replace(tmp, self.clock_file)     # never a half-written file
        return self.now()

    def next_step(self, period=30, margin=10):
        """If the clock is within margin seconds of the end of its current
        period-second step (TOTP), advance it to just past the next
        boundary, so that checks which follow stay within one step.
        Returns the step number now current."""
        left = period - self.now() % period
        if left < margin:
            self.advance(int(left) + 1)
        return int(self.now() // period)

    # -- inspection --
    def worker_pids(self):
        if self.pool is None:
            return []
        try:
            out = subprocess.run(["pgrep", "-P", str(self.pool.pid)], capture_output=True, text=True).stdout
        except FileNotFoundError:
            return []
        return [int(x) for x in out.split()]

    def log_lines(self):
        out = []
        try:
            with open(self.log) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        out.append({"unparsed": line})
        except FileNotFoundError:
            pass
        return out

    def cache_verdict(self, r, timeout=5):
        """The page cache's verdict on response r as the pool's access log
        line records it ("hit", "miss", "bypass", or None when the cache
        was not consulted), found by the response's X-Request-Id; "no log
        line ..." when there is none.  No response header carries it."""
        rid = r.header("x-request-id")
        found = {}

        def seen():
            for x in self.log_lines():
                if x.get("id") == rid and "status" in x:
                    found["line"] = x
                    return True
            return False
        if rid is None or not wait_for(seen, timeout):
            return "no log line for " + str(rid)
        return found["line"].get("cache")

    def pool_log_text(self):
        """The pool's log file and its stderr, as one text (for grepping)."""
        out = []
        for name in (self.log, os.path.join(self.dir, "pool.stderr")):
            try:
                with open(name, errors="replace") as f:
                    out.append(f.read())
            except FileNotFoundError:
                pass
        return "\n".join(out)

    def wait_log(self, needle, timeout=10.0):
        """Wait until needle appears in the pool's log or stderr."""
        return wait_for(lambda: needle in self.pool_log_text(), timeout)

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                       "ERROR: UndefinedBehaviorSanitizer")

    def sanitizer_reports(self):
        """Lines of sanitizer reports (ASan, UBSan, LSan) in the pool's
        stderr and log files, and in any other *.stderr file of the stack.
        Empty when the build has no sanitizers or nothing went wrong."""
        found = []
        names = {self.log}
        try:
            names.update(os.path.join(self.dir, n) for n in os.listdir(self.dir)
                         if n.endswith(".stderr") or n.endswith(".log"))
        except FileNotFoundError:
            pass
        for name in sorted(names):
            try:
                with open(name, errors="replace") as f:
                    for line in f:
                        if any(m in line for m in self.SANITIZER_MARKS):
                            found.append("%s: %s" % (os.path.basename(name), line.rstrip()))
            except (FileNotFoundError, IsADirectoryError):
                pass
        return found

    def check_sanitizers(self, t, name="no sanitizer report from the pool or its workers"):
        """Stop nginx and the pool (so exit-time leak reports are written),
        keep the directory, and emit one TAP check over sanitizer_reports()."""
        self.stop(keep_dir=True)
        reps = self.sanitizer_reports()
        return t.ok(not reps, name, "\n".join(reps[:40]))

    def hammer(self, path, threads=4, timeout=30):
        """Start `threads` clients requesting path in a loop until the
        returned Hammer is stopped.  Each result is a status (0 for a
        transport error)."""
        return Hammer(self, path, threads, timeout)

    # -- requests --
    def request(self, method, path, headers=None, body=None, tls=False, timeout=30):
        if tls:
            ctx = ssl.create_default_context(cafile=self.cert)
            c = http.client.HTTPSConnection("127.0.0.1", self.tls_port, timeout=timeout, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        resp = Response(r.status, [(k.lower(), v) for k, v in r.getheaders()], data)
        c.close()
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post_form(self, path, fields, headers=None, **kw):
        from urllib.parse import urlencode
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, headers=h, body=urlencode(fields), **kw)

    def html_ok(self, body):
        """(ok, errors): libxml2's verdict on a page, through 1000proxy test-html."""
        p = subprocess.run([BIN, "test-html"], input=body, capture_output=True)
        return p.returncode == 0, p.stderr.decode("utf-8", "replace")

    def sql(self, q, args=()):
        """Run one statement on the stack's database (own connection,
        committed); returns the rows."""
        c = sqlite3.connect(self.db, timeout=10)
        # unixepoch() here is the stack's clock, as in the program (db.c).
        c.create_function("unixepoch", 0, lambda: int(self.now()))
        try:
            rows = c.execute(q, args).fetchall()
            c.commit()
            return rows
        finally:
            c.close()

    def stop(self, keep_dir=False):
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(5)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
        self.nginx = None
        if self.pool is not None and self.pool.poll() is None:
            self.pool.send_signal(signal.SIGTERM)
            try:
                self.pool.wait(15)
            except subprocess.TimeoutExpired:
                self.pool.kill()
        self.pool = None
        if keep_dir:
            return
        if os.environ.get("PX_KEEP"):
            print("# kept " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Hammer:
    """Client threads requesting one path in a loop through nginx."""

    def __init__(self, stack, path, threads, timeout):
        self.stack = stack
        self.path = path
        self.timeout = timeout
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for th in self.threads:
            th.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                st = self.stack.get(self.path, timeout=self.timeout).status
            except Exception:   # noqa: BLE001 - a transport error is a failed request
                st = 0
            with self.lock:
                self.results.append(st)

    def count(self):
        with self.lock:
            return len(self.results)

    def stop(self):
        """Stop the clients; returns every status seen."""
        self.stopping.set()
        for th in self.threads:
            th.join(self.timeout + 5)
        with self.lock:
            return list(self.results)
