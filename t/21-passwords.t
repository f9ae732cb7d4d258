#!/usr/bin/env python3
"""Passwords count characters, are NFKC-normalised and peppered (ASVS
V2.1.2, V2.4.5): 12..128 code points after NFKC, whatever the script (64
emoji register and sign in; 129 code points are refused; the composed and
the decomposed form of one password are the same password); invalid UTF-8
is refused with a reason; new hashes are peppered under the key file's key
and name it; a plain argon2id hash from before the pepper signs in and is
re-made peppered; a peppered hash does not verify once the key file is
swapped.  Through nginx, with two workers, and the CLI."""
import os
import re
import signal
import subprocess
import sys
import time
import unicodedata
from urllib.parse import quote_from_bytes
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP, BIN, wait_for  # noqa: E402
from pxweb import Browser, Shop, csrf_of  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
PEPPERED = re.compile(r"^\$pepper1\$([0-9a-f]{8})\$argon2id\$v=19\$m=7168,t=5,p=1\$")


def register(email, pw):
    b = Browser(s)
    r = b.form("/register", "/register", {"email": email, "name": "P", "password": pw, "terms": "1"})
    s.sql("UPDATE customers SET email_verified_at = unixepoch() WHERE email = ?", (email,))
    return r


def signin(email, pw):
    s.sql("DELETE FROM login_throttle")
    b = Browser(s)
    return b.form("/login", "/login", {"email": email, "password": pw})


def phc(email):
    row = s.sql("SELECT password_hash FROM customers WHERE email = ?", (email,))
    return row[0][0] if row else ""


# -- characters, not bytes (V2.1.2) --
EMOJI = "\U0001F600\U0001F680\U0001F4A9\U0001F99C" * 16      # 64 emoji, 256 bytes
r = register("emoji@example.com", EMOJI)
t.ok(r.status == 200 and "Check your inbox" in r.text, "64 emoji (256 bytes) are accepted as a password", r.text[-400:])
t.ok(signin("emoji@example.com", EMOJI).status == 303, "and sign in")
t.ok(signin("emoji@example.com", EMOJI[:-1]).status == 200, "63 of them do not")

CJK = "".join(chr(0x4E00 + i * 7) for i in range(128))       # 128 code points, 384 bytes
r = register("cjk@example.com", CJK)
t.ok("Check your inbox" in r.text and signin("cjk@example.com", CJK).status == 303,
     "128 CJK characters (384 bytes) register and sign in")
# Never truncated (V2.1.3): a 128-character password that differs from
# the real one only in its last character does not sign in.
t.is_(signin("cjk@example.com", CJK[:-1] + "\u4E01").status, 200,
      "a 128-character password differing only in its last character is refused (no truncation)")
r = register("long@example.com", CJK + "\u4E01")
t.ok("at most 128 characters" in r.text and phc("long@example.com") == "",
     "129 code points are refused, with the reason")
# NFKC expands U+FDFA (one code point) to 18: counted after normalisation.
r = register("fdfa@example.com", "\uFDFA" * 8)
t.ok("at most 128 characters" in r.text, "8 code points that NFKC makes 144 are refused")
r = register("few@example.com", "\U0001F600" * 11)
t.ok("at least 12" in r.text, "11 emoji (44 bytes) are too short")

# -- NFKC: composed and decomposed forms are one password --
COMPOSED = unicodedata.normalize("NFC", "Ünïcödé pässwörd çafé")
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)
t.ok(COMPOSED != DECOMPOSED, "the test's two forms differ as bytes")
r = register("nfkc@example.com", COMPOSED)
t.ok("Check your inbox" in r.text, "a password typed composed registers")
t.is_(signin("nfkc@example.com", COMPOSED).status, 303, "the composed form signs in")
t.is_(signin("nfkc@example.com", DECOMPOSED).status, 303, "the decomposed form signs in too")
WIDE = "ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ"            # full width
register("wide@example.com", WIDE)
t.is_(signin("wide@example.com", "correct horse battery").status, 303,
      "a full-width password and its ASCII compatibility form are one password")

# -- invalid UTF-8 is refused clearly --
b = Browser(s)
page = b.get("/register")
body = ("email=bad%40example.com&name=B&terms=1&csrf=" + csrf_of(page.text) + "&password=").encode() + \
    quote_from_bytes(b"correct horse \xff\xfe battery").encode()
r = b.s.request("POST", "/register", headers=b.headers({"Content-Type": "application/x-www-form-urlencoded"}),
                body=body)
t.ok(r.status in (200, 400) and ("cannot be used" in r.text or "UTF-8" in r.text) and phc("bad@example.com") == "",
     "invalid UTF-8 in a password is refused with a reason", (r.status, r.text[-300:]))
p = subprocess.run([BIN, "-c", s.conf, "user", "add", "cli@example.com"], input=b"correct horse \xff battery\n",
                   capture_output=True)
t.ok(p.returncode != 0 and b"cannot be used" in p.stderr, "and by `user add`", p.stderr)
p = subprocess.run([BIN, "-c", s.conf, "user", "add", "cli@example.com"], input=EMOJI.encode() + b"\n",
                   capture_output=True)
sh = s.sql("SELECT password_hash FROM staff WHERE email = 'cli@example.com'")
t.ok(p.returncode == 0 and sh and PEPPERED.match(sh[0][0]), "`user add` takes 64 emoji and peppers the hash", p.stderr)

# -- the pepper (V2.4.5) --
h = phc("emoji@example.com")
m = PEPPERED.match(h)
t.ok(m is not None, "a new hash is peppered and names its key", h)
kid = m.group(1) if m else ""
t.ok(all(PEPPERED.match(phc(e)).group(1) == kid for e in ("cjk@example.com", "nfkc@example.com")),
     "every new hash names the same key (the key file's)")
PLAIN_PW = "an old password from before"
plain = subprocess.run([BIN, "-c", s.conf, "test-keys", "plain"], input=PLAIN_PW + "\n",
                       capture_output=True, text=True).stdout.strip()
register("old@example.com", "a placeholder password 1")
s.sql("UPDATE customers SET password_hash = ? WHERE email = 'old@example.com'", (plain,))
t.ok(plain.startswith("$argon2id$") and phc("old@example.com") == plain, "a plain argon2id hash from before the pepper is in the DB")
t.is_(signin("old@example.com", "not " + PLAIN_PW).status, 200, "it refuses a wrong password")
t.is_(signin("old@example.com", PLAIN_PW).status, 303, "it signs in")
h2 = phc("old@example.com")
t.ok(PEPPERED.match(h2) and PEPPERED.match(h2).group(1) == kid, "and the DB now holds a peppered hash of it", h2)
t.is_(signin("old@example.com", PLAIN_PW).status, 303, "which signs in")

# A stolen database with a guessed password and no key file: the hash
# is not argon2id(password).
t.ok(h2.split("$argon2id$")[1] != plain.split("$argon2id$")[1], "the peppered hash is not argon2id of the password")

# Swap the key file: a peppered hash no longer verifies.
old_pids = set(s.worker_pids())
key = os.path.join(s.dir, "secret.key")
os.rename(key, key + ".away")
fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, os.urandom(32))
os.close(fd)
s.pool.send_signal(signal.SIGHUP)
t.ok(wait_for(lambda: old_pids.isdisjoint(s.worker_pids()) and len(s.worker_pids()) == 2, 15),
     "the pool restarts its workers with another key file")
t.is_(signin("emoji@example.com", EMOJI).status, 200, "a peppered hash does not verify under another key file")
t.is_(signin("old@example.com", PLAIN_PW).status, 200, "nor does the re-made one")
t.ok(s.wait_log("not in the keyring", 5), "the log says which key the hash names")
os.replace(key + ".away", key)
old_pids = set(s.worker_pids())
s.pool.send_signal(signal.SIGHUP)
wait_for(lambda: old_pids.isdisjoint(s.worker_pids()) and len(s.worker_pids()) == 2, 15)
t.is_(signin("emoji@example.com", EMOJI).status, 303, "with the key file back, it signs in again")

s.check_sanitizers(t)
s.stop()
t.done()
