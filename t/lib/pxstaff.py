"""pxstaff.py: a signed-in staff member for tests of the /admin pages:
created with `1000proxy user add`, TOTP enrolled at first sign-in (the
code computed here, RFC 6238), re-authentication on demand.  The same
steps t/72 and t/74 spell out inline, once."""
import base64
import hashlib
import hmac
import re
import struct

from pxweb import Browser, csrf_of

PW = "correct horse battery staple"


def totp(secret, step):
    """The RFC 6238 code (SHA-1, six digits) of a base32 secret at step."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


class Staff:
    """A staff member of role on stack s, signed in with 2FA enrolled
    (over TLS with tls set: the __Host- cookies)."""

    def __init__(self, s, addr, role, pw=PW, tls=False):
        s.cli("user", "add", "--role", role, "--name", addr.split("@")[0], addr, input=pw + "\n")
        self.s = s
        self.pw = pw
        self.b = Browser(s, tls=tls)
        s.next_step(30, 5)
        self.b.form("/admin/login", "/admin/login", {"email": addr, "password": pw})
        r = self.b.get("/admin/2fa/setup")
        self.secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', r.text).group(1)
        self.last = int(s.now() // 30) - 1
        r = self.b.post("/admin/2fa/setup", {"code": totp(self.secret, self.last), "csrf": csrf_of(r.text)})
        self.codes = re.findall(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>", r.text)

    def code(self):
        """A second factor never used before: this step's code, or a
        recovery code when this step's is spent."""
        cur = int(self.s.now() // 30)
        if cur > self.last:
            self.last = cur
            return totp(self.secret, cur)
        return self.codes.pop()

    def reauth(self, nxt):
        return self.b.form("/admin/reauth?next=" + nxt, "/admin/reauth",
                           {"password": self.pw, "code": self.code(), "next": nxt})

    def get(self, path):
        return self.b.get(path)

    def post(self, path, fields):
        return self.b.post(path, fields)

    def form(self, page, path, fields):
        return self.b.form(page, path, fields)
