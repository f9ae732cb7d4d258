"""pxweb.py: a small browser for tests: a cookie jar, forms with their
CSRF token, and the full system (nginx, pool, work daemon, SMTP double)."""
import email
import email.policy
import os
import re
import subprocess
import time
from urllib.parse import urlencode

from px import BIN, Stack, terminate, wait_for
from pxmail import SMTPDouble


class Browser:
    """Keeps cookies like a browser (by name), sends them back."""

    def __init__(self, stack, tls=False):
        self.s = stack
        self.tls = tls
        self.jar = {}
        self.last = None

    def _absorb(self, r):
        for sc in r.all("set-cookie"):
            first = sc.split(";")[0]
            name, _, value = first.partition("=")
            attrs = sc.lower()
            if value == "" or "max-age=0" in attrs:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        self.last = r
        return r

    def headers(self, extra=None):
        h = {}
        if self.jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        h.update(extra or {})
        return h

    def get(self, path, headers=None):
        return self._absorb(self.s.request("GET", path, headers=self.headers(headers), tls=self.tls))

    def post(self, path, fields, headers=None):
        h = self.headers({"Content-Type": "application/x-www-form-urlencoded"})
        h.update(headers or {})
        return self._absorb(self.s.request("POST", path, headers=h, body=urlencode(fields), tls=self.tls))

    def form(self, page, path, fields, csrf=True):
        """GET page, then POST fields (+ its csrf token) to path."""
        r = self.get(page)
        f = dict(fields)
        if csrf:
            f["csrf"] = csrf_of(r.text)
        return self.post(path, f)


def csrf_of(html):
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    return m.group(1) if m else ""


class Shop(Stack):
    """The whole system with mail: nginx + pool + work + SMTP double."""

    def __init__(self, workers=2, tls=False, conf=None):
        base = {"work_poll_ms": "50", "retry_base": "1", "retry_cap": "2"}
        base.update(conf or {})
        super().__init__(workers=workers, conf=base, tls=tls)
        self.work = None

    def start(self):
        self.smtp = SMTPDouble(self, "smtp", "starttls", "shop", "s3cret")
        self.extra.update(smtp_url=self.smtp.url, smtp_user="shop", smtp_password="s3cret",
                          smtp_ca_file=self.smtp.ca, smtp_from="noreply@shop.example")
        super().start()
        err = open(os.path.join(self.dir, "work.stderr"), "ab")
        self.work = subprocess.Popen([BIN, "-c", self.conf, "work"], stdout=err, stderr=err)
        return self

    def mails(self):
        out = []
        for p in self.smtp.messages():
            with open(p, "rb") as f:
                out.append(email.message_from_binary_file(f, policy=email.policy.default))
        return out

    def wait_mail(self, to, subject_part, n=1, timeout=15):
        def found():
            return len(self.find_mail(to, subject_part)) >= n
        wait_for(found, timeout)
        m = self.find_mail(to, subject_part)
        return m[n - 1] if len(m) >= n else None

    def find_mail(self, to, subject_part):
        return [m for m in self.mails() if to in str(m["To"]) and subject_part in str(m["Subject"])]

    def stop(self, **kw):
        terminate(self.work)
        self.work = None
        for d in getattr(self, "doubles", []):
            d.stop()
        super().stop(**kw)


def link_in(msg, path_prefix):
    body = msg.get_body(preferencelist=("plain",)).get_content()
    m = re.search(r"https?://[^/\s]+(%s[A-Za-z0-9_-]+)" % re.escape(path_prefix), body)
    return m.group(1) if m else None


def wait(seconds):
    time.sleep(seconds)


class Client:
    """A cookie jar with a User-Agent over the stack's TLS (or plain) front:
    the commerce tests' client (carts and sessions live in its jar)."""

    def __init__(self, stack, ua, tls=True):
        self.s = stack
        self.jar = {}
        self.ua = ua
        self.tls = tls

    def headers(self, extra=None):
        h = {"User-Agent": self.ua}
        if self.jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        h.update(extra or {})
        return h

    def store(self, r):
        for sc in r.all("set-cookie"):
            name, _, val = sc.split(";")[0].partition("=")
            if val == "" or "max-age=0" in sc.lower():
                self.jar.pop(name, None)
            else:
                self.jar[name] = val
        return r

    def get(self, path):
        return self.store(self.s.get(path, headers=self.headers(), tls=self.tls))

    def token(self, page):
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', self.get(page).text)
        return m.group(1) if m else ""

    def raw_post(self, path, fields):
        h = self.headers({"Content-Type": "application/x-www-form-urlencoded"})
        return self.store(self.s.request("POST", path, headers=h, body=urlencode(fields), tls=self.tls))

    def post(self, path, fields, page=None):
        f = dict(fields)
        f["csrf"] = self.token(page or path)
        return self.raw_post(path, f)

    def checkout(self):
        """Open /checkout and pay with the form's idempotency token."""
        r = self.get("/checkout")
        idem = re.search(r'name="idem" value="([0-9a-f]{32})"', r.text)
        return self.post("/checkout", {"idem": idem.group(1) if idem else ""}, page="/checkout")
