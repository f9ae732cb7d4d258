#!/usr/bin/env python3
"""Declared form fields through nginx (valid.h): a POST with a field its
form does not declare, or without a required one, is a 400 that names
the field and writes nothing; the shared validators refuse what they
must on the way in (a NUL, line breaks, bidirectional controls)."""
import html
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import TAP  # noqa: E402
from pxweb import Browser, Shop  # noqa: E402

t = TAP()
s = Shop(workers=2).start()
PW = "correct horse battery staple"


def count(q):
    return s.sql(q)[0][0]


b = Browser(s)
before = (count("SELECT count(*) FROM customers"), count("SELECT count(*) FROM jobs"))
r = b.form("/register", "/register", {"email": "eve@example.com", "name": "Eve", "password": PW,
                                       "terms": "1", "email_verified": "1"})
t.is_(r.status, 400, "register with a field the form does not declare is a 400")
t.ok('no field "email_verified"' in html.unescape(r.text), "the page names the field", r.text[:400])
r = b.form("/register", "/register", {"name": "Eve", "password": PW, "terms": "1"})
t.is_(r.status, 400, "register without the email field is a 400")
t.ok('"email" is missing' in html.unescape(r.text), "the page names the missing field", r.text[:400])
t.is_((count("SELECT count(*) FROM customers"), count("SELECT count(*) FROM jobs")), before,
      "neither wrote a customer or queued a mail")

r = b.form("/login", "/login", {"email": "eve@example.com", "password": PW, "remember": "1"})
t.is_(r.status, 400, "a sign-in with an undeclared field is a 400 (before any hashing)")
r = b.form("/password/forgot", "/password/forgot", {"email": "eve@example.com", "to": "x@evil.example"})
t.ok(r.status == 400 and count("SELECT count(*) FROM jobs") == before[1],
     "forgot-password with an extra recipient field is a 400 and sends nothing")

# The shared validators, through the pages.
r = b.form("/register", "/register", {"email": "eve@example.com", "name": "Eve\u202etxt.exe", "password": PW,
                                       "terms": "1"})
t.ok(r.status == 400 and count("SELECT count(*) FROM customers") == before[0],
     "a name with a right-to-left override is refused and creates nothing", r.status)
r = b.form("/register", "/register", {"email": "eve@example.com", "name": "Eve\u0085", "password": PW,
                                       "terms": "1"})
t.ok(r.status == 400 and count("SELECT count(*) FROM customers") == before[0],
     "a name with a C1 control (NEL) is refused", r.status)
r = b.form("/register", "/register", {"email": "eve@example.com\r\nBcc: x@evil.example", "name": "Eve",
                                       "password": PW, "terms": "1"})
t.ok(r.status in (400, 200) and "Check your inbox" not in r.text and
     count("SELECT count(*) FROM customers") == before[0], "an email with CR LF is refused", r.status)
r = b.form("/register", "/register", {"email": "eve\x00@example.com", "name": "Eve", "password": PW, "terms": "1"})
t.ok(r.status == 400 and count("SELECT count(*) FROM customers") == before[0], "an email with a NUL is refused",
     r.status)
r = b.form("/register", "/register", {"email": "j\u00fcrgen@example.com", "name": "J\u00fcrgen", "password": PW,
                                       "terms": "1"})
t.ok("Check your inbox" not in r.text and count("SELECT count(*) FROM customers") == before[0],
     "an internationalised address is refused (no SMTPUTF8): the mail job could not send to it")
r = b.form("/register", "/register", {"email": "eve@xn--bcher-kva.example", "name": "Eve", "password": PW,
                                       "terms": "1"})
t.ok(r.status == 200 and "Check your inbox" in r.text and count("SELECT count(*) FROM customers") == before[0] + 1,
     "its punycode form is accepted", r.status)

s.stop()
t.done()
