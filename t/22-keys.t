#!/usr/bin/env python3
"""Key ids and online rotation (ASVS V1.6.1, V1.6.3), and secrets out of
the configuration file (V2.10.3, V6.4.1).  `1000proxy key
rotate` with the pool answering requests throughout puts a new key file in
place, keeps the old one as KEY.old-ID, re-seals every sealed column under
the new key (customer and staff TOTP seeds, panel passwords and tokens,
gateway secrets) and every value still opens; the running workers pick the
new key up without a restart and seal new values under it; a password
peppered under the retired key still signs in and is re-made under the new
one; subscription tokens and panel credentials stay as they were;
`key status` says what each key still protects.  The SMTP password comes
from a 0600 credentials file or from systemd's $CREDENTIALS_DIRECTORY (which
wins), a credentials file others may read stops the start, and `check` warns
when a configuration file others may read holds a secret."""
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, BIN  # noqa: E402
from pxweb import Browser, Shop  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
KEY = os.path.join(s.dir, "secret.key")
PW = "correct horse battery staple"
SK = "sk_test_51Hx-rotate-me-VALUE-WXYZ"
PANEL_PW, PANEL_TOK = "panel-password-rotate", "panel-token-rotate-0123456789"
SECRET_RE = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')


def cli(*args, input=None):
    return s.cli(*args, check=False, input=input)


def kid_of(blob):
    b = bytes(blob)
    return b[1:5].hex() if b and b[0] == 3 else "v%d" % (b[0] if b else 0)


def blobs():
    return [kid_of(r[0]) for r in s.sql(
        "SELECT totp_sealed FROM customers WHERE totp_sealed IS NOT NULL UNION ALL "
        "SELECT totp_sealed FROM staff WHERE totp_sealed IS NOT NULL UNION ALL "
        "SELECT panel_password_sealed FROM servers WHERE panel_password_sealed IS NOT NULL UNION ALL "
        "SELECT panel_token_sealed FROM servers WHERE panel_token_sealed IS NOT NULL UNION ALL "
        "SELECT sealed FROM gateway_secrets")]


def hash_kid(table, email):
    h = s.sql("SELECT password_hash FROM %s WHERE email = ?" % table, (email,))[0][0]
    m = re.match(r"\$pepper1\$([0-9a-f]{8})\$argon2id\$", h)
    return m.group(1) if m else h


def customer(email):
    b = Browser(s)
    b.form("/register", "/register", {"email": email, "name": "K", "password": PW, "terms": "1"})
    s.sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (email,))
    s.sql("DELETE FROM login_throttle")
    r = b.form("/login", "/login", {"email": email, "password": PW})
    return b, r.status


def seed_shown(b, page):
    m = SECRET_RE.search(b.get(page).text)
    return m.group(1).replace(" ", "") if m else ""


# -- one sealed value of every kind, under the first key --
t.is_(cli("gateway", "set", "stripe.secret_key", input=SK + "\n").returncode, 0, "a gateway secret is sealed")
r1 = cli("server", "add", "--name", "K1", "--country-code", "DE", "--country", "Germany", "--url",
         "https://10.0.0.9:54321", "--user", "root", "--host", "203.0.113.7", input=PANEL_PW + "\n")
r2 = cli("server", "add", "--name", "K2", "--country-code", "DE", "--country", "Germany", "--url",
         "https://10.0.0.10:54321", "--user", "api", "--host", "203.0.113.8", "--token", input=PANEL_TOK + "\n")
SRV1, SRV2 = int(r1.stdout.strip() or 0), int(r2.stdout.strip() or 0)
t.ok(SRV1 and SRV2, "a panel with a password and one with a token", r1.stderr + r2.stderr)
cb, st = customer("kim@example.com")
cust_seed = seed_shown(cb, "/account/2fa")
t.ok(st == 303 and len(cust_seed) == 32, "a customer's pending TOTP seed is sealed", st)
cli("user", "add", "--role", "support", "stan@example.com", input=PW + "\n")
sb = Browser(s)
sb.form("/admin/login", "/admin/login", {"email": "stan@example.com", "password": PW})
staff_seed = seed_shown(sb, "/admin/2fa/setup")
t.ok(len(staff_seed) == 32, "a staff member's pending TOTP seed is sealed")
before = blobs()
t.ok(len(before) == 5 and len(set(before)) == 1 and re.match(r"^[0-9a-f]{8}$", before[0]),
     "five sealed values, each a version 3 blob naming the key file's key", before)
K0 = before[0]
t.is_(hash_kid("customers", "kim@example.com"), K0, "the password hash names the same key")
derived = cli("test-keys", "derive").stdout.strip()
t.ok(len(derived.split()) == 3, "a subscription token and a panel credential derive", derived)

# -- rotate while the pool answers --
pids = set(s.worker_pids())
h = s.hammer("/", threads=2)
time.sleep(0.3)
p = cli("key", "rotate")
time.sleep(0.5)
statuses = h.stop()
t.ok(p.returncode == 0, "key rotate succeeds with the service running", p.stdout + p.stderr)
m = re.search(r"new key ([0-9a-f]{8}) in .*; key ([0-9a-f]{8}) retired as (\S+)", p.stdout)
K1 = m.group(1) if m else ""
t.ok(m and m.group(2) == K0 and K1 != K0 and m.group(3) == KEY + ".old-" + K0,
     "it says which key is new and where the old one went", p.stdout)
t.ok("re-sealed 5 values under key %s: customer TOTP seeds 1, staff TOTP seeds 1, panel passwords 1, "
     "panel tokens 1, gateway secrets 1" % K1 in p.stdout and "0 not opened" in p.stdout,
     "it re-sealed every sealed column and says how many of each", p.stdout)
t.ok(statuses and all(x == 200 for x in statuses),
     "the pool answered every request during the rotation (%d requests)" % len(statuses), set(statuses))
t.is_(set(s.worker_pids()), pids, "no worker restarted")
modes = [stat.S_IMODE(os.stat(f).st_mode) for f in (KEY, KEY + ".old-" + K0, KEY + ".ident")]
t.ok(modes == [0o600] * 3, "the new key file, the retired key and the identity key are mode 0600", modes)
t.is_(blobs(), [K1] * 5, "every sealed value now names the new key")

# -- everything still opens --
p = cli("gateway", "check", "stripe.secret_key")
t.ok(p.returncode == 0 and "opens, %d bytes" % len(SK) in p.stdout, "the gateway secret opens", p.stdout + p.stderr)
t.ok(cli("server", "test-open", str(SRV1), "password", input=PANEL_PW + "\n").returncode == 0 and
     cli("server", "test-open", str(SRV2), "token", input=PANEL_TOK + "\n").returncode == 0,
     "the panel password and the panel token open to what was typed")
t.is_(seed_shown(cb, "/account/2fa"), cust_seed, "the customer's TOTP seed opens in a running worker")
t.is_(seed_shown(sb, "/admin/2fa/setup"), staff_seed, "the staff member's TOTP seed opens too")
t.is_(cli("test-keys", "derive").stdout.strip(), derived,
      "subscription tokens and panel credentials stay as they were (the identity key)")

# -- running workers seal and pepper under the new key --
cb2, st = customer("lee@example.com")
seed_shown(cb2, "/account/2fa")
t.is_(kid_of(s.sql("SELECT totp_sealed FROM customers WHERE email = 'lee@example.com'")[0][0]), K1,
      "a value sealed by a running worker after the rotation names the new key")
t.is_(hash_kid("customers", "lee@example.com"), K1, "a new password is peppered under the new key")
t.is_(set(s.worker_pids()), pids, "by the same workers")

# -- a password peppered under the retired key --
p = cli("key", "status")
t.ok(re.search(r"retired key %s \(.*\): 0 sealed values, 2 password hashes: keep it" % K0, p.stdout),
     "key status: the retired key still peppers two hashes, so it is kept", p.stdout)
s.sql("DELETE FROM login_throttle")
r = Browser(s).form("/login", "/login", {"email": "kim@example.com", "password": PW})
t.is_(r.status, 303, "a password peppered under the retired key signs in")
t.is_(hash_kid("customers", "kim@example.com"), K1, "and its hash is re-made under the new key")
sb2 = Browser(s)
sb2.form("/admin/login", "/admin/login", {"email": "stan@example.com", "password": PW})
t.is_(hash_kid("staff", "stan@example.com"), K1, "a staff hash too, at its sign-in")
# A mail not yet sent whose link was sealed (mail_seal.c) may still name
# the retired key: a retry needs it.
s.sql("INSERT INTO jobs (kind, idem_key, payload, state) VALUES ('email', 'keys-t-mail', ?, 'failed')",
      (json.dumps({"to": "kim@example.com", "template": "emails/verify", "vars": {"link": "x"},
                   "sealed": {"link": "03" + K0 + "00" * 40}}),))
p = cli("key", "status")
t.ok(re.search(r"retired key %s \(.*\): 0 sealed values, 0 password hashes: keep it" % K0, p.stdout) and
     "unsent mail with sealed links: 1" in p.stdout,
     "key status: an unsent mail with a sealed link keeps the retired key", p.stdout)
s.sql("UPDATE jobs SET state = 'discarded' WHERE idem_key = 'keys-t-mail'")
p = cli("key", "status")
t.ok(re.search(r"retired key %s \(.*\): 0 sealed values, 0 password hashes: may be deleted" % K0, p.stdout),
     "key status: then the retired key may be deleted", p.stdout)

# -- reseal is idempotent; a second rotation keeps the identity key --
p = cli("key", "reseal")
t.ok(p.returncode == 0 and "re-sealed 0 values" in p.stdout and "6 already under it" in p.stdout,
     "key reseal finds nothing left to do", p.stdout)
p = cli("key", "rotate")
K2 = (re.search(r"new key ([0-9a-f]{8})", p.stdout) or re.search("(x)", "x")).group(1)
t.ok(p.returncode == 0 and "re-sealed 6 values" in p.stdout and blobs() == [K2] * 6,
     "a second rotation re-seals all six under a third key", p.stdout + p.stderr)
t.is_(cli("test-keys", "derive").stdout.strip(), derived, "the derived values still have not changed")
t.is_(seed_shown(cb, "/account/2fa"), cust_seed, "and the running workers open what it sealed")
os.unlink(KEY + ".old-" + K0)
s.sql("DELETE FROM login_throttle")
t.is_(Browser(s).form("/login", "/login", {"email": "kim@example.com", "password": PW}).status, 303,
      "deleting a retired key nothing names any more locks nobody out")


# -- secrets from a credentials file or systemd's LoadCredential= --
def restart_work(env=None):
    s.work.send_signal(signal.SIGTERM)
    s.work.wait(30)
    err = open(os.path.join(s.dir, "work.stderr"), "ab")
    s.work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=err, stderr=err,
                              env=dict(os.environ, **(env or {})))


def write(path, text, mode):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


cred = write(os.path.join(s.dir, "credentials"), 'smtp_password = "s3cret"\n', 0o600)
del s.extra["smtp_password"]
s.extra["credentials_file"] = cred
s.write_conf()
t.ok("s3cret" not in open(s.conf).read(), "the configuration file no longer holds the SMTP password")
restart_work()
cli("mail-test", "cred1@example.com")
t.ok(s.wait_mail("cred1@example.com", "Test email") is not None,
     "mail goes out with the SMTP password from a 0600 credentials file")
p = cli("config")
t.ok(p.returncode == 0 and "smtp_password = (set)" in p.stdout and "s3cret" not in p.stdout,
     "config shows it set, never its value", p.stdout[-300:] + p.stderr)
os.chmod(cred, 0o644)
p = cli("config")
t.ok(p.returncode == 1 and "closed to others" in p.stderr and "0644" in p.stderr,
     "a credentials file others may read stops every command", p.stderr)
write(cred, 'smtp_password = "s3cret"\nworkers = 3\n', 0o600)
p = cli("config")
t.ok(p.returncode == 1 and "not a secret key" in p.stderr, "a credentials file holds only secret keys", p.stderr)
# The wrong password in the file; systemd's credential has the right one.
write(cred, 'smtp_password = "wrong"\n', 0o640)
restart_work()
cli("mail-test", "cred2@example.com")
time.sleep(3)
t.ok(not s.find_mail("cred2@example.com", "Test email"), "with a wrong password in the file, no mail goes out")
cdir = os.path.join(s.dir, "creds")
os.mkdir(cdir, 0o700)
write(os.path.join(cdir, "smtp_password"), "s3cret\n", 0o400)
restart_work({"CREDENTIALS_DIRECTORY": cdir})
cli("mail-test", "cred3@example.com")
t.ok(s.wait_mail("cred3@example.com", "Test email") is not None,
     "systemd's LoadCredential= ($CREDENTIALS_DIRECTORY/smtp_password) wins over the file: the mail goes out")

# -- check warns about a readable configuration file holding a secret --
del s.extra["credentials_file"]
s.extra["smtp_password"] = "s3cret"
s.write_conf()
os.chmod(s.conf, 0o644)
p = cli("check")
t.ok(re.search(r"WARN config: .* holds smtp_password and others may read it \(mode 0644\)", p.stdout),
     "check warns when a configuration file others may read holds a secret", p.stdout)
os.chmod(s.conf, 0o640)
p = cli("check")
t.ok("WARN" not in p.stdout and "ok config" in p.stdout, "group-readable (0640, the package's) is fine", p.stdout)
del s.extra["smtp_password"]
s.write_conf()
os.chmod(s.conf, 0o644)
t.ok("WARN" not in cli("check").stdout, "and a readable file without a secret is fine")

s.check_sanitizers(t)
s.stop()
t.done()
