#!/usr/bin/env python3
"""The ASVS table (issue 16): doc/asvs-l2.md holds one row per ASVS 4.0.3
Level 2 requirement, and every claim in it that names a test must name a
test that exists.  The 259 ids come from doc/asvs-l2-1878ff4.md, the
outside assessment the table started from (kept as it was written).

A row is `| id | requirement | state | evidence |`; the state is holds,
fails, untested, later or n/a.  A reference is a test file and a case
name in double quotes: `t/NN-name.t "case"` or `src/cmd_test*.c "case"`
(the unit cases print their own names).  The case name must be one of
that file's string literals that end an argument, or what one of them
prints when it is a format (%s, %d, ... ; {x} ; $var).  A holds row names at least one; a fails
row names the slice of issue 16 that takes it, or says no slice does.

Also checked: the header's count tables are the table's counts, the
threat model covers the boundaries, services and data classes the issue
names, and the README links both documents.  The checker is run on
broken copies of the table too, so a broken row is seen to fail.

Run with --counts to print the header's two count tables, with --write
to put them into doc/asvs-l2.md (after flipping rows)."""
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC  # noqa: E402

TABLE = os.path.join(SRC, "doc", "asvs-l2.md")
BEFORE = os.path.join(SRC, "doc", "asvs-l2-1878ff4.md")
THREATS = os.path.join(SRC, "doc", "threats.md")
STATES = ("holds", "fails", "untested", "later", "n/a")
SLICES = ("pwkeys16", "authflow16", "passkey16", "requests16", "data16", "no slice")
CHAPTERS = ["V%d" % i for i in range(1, 15)]
ROW = re.compile(r"^\| (V\d+\.\d+\.\d+) \|")
REF = re.compile(r'((?:t/\d\d-[A-Za-z0-9_.-]+\.t)|(?:src/cmd_test\w*\.c)) "([^"]+)"')


def rows_of(text):
    """Every table row that starts with an id: (line number, cells)."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if ROW.match(line):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            out.append((n, cells))
    return out


def before_states():
    """id -> state in the 1878ff4 assessment (its last column)."""
    got = {}
    for _, cells in rows_of(open(BEFORE, encoding="utf-8").read()):
        got[cells[0]] = cells[-1].strip("* ").split(" ")[0]
    return got


_files = {}


def file_text(path):
    if path not in _files:
        full = os.path.join(SRC, path)
        text = open(full, encoding="utf-8", errors="replace").read() if os.path.isfile(full) else None
        # Adjacent literals are one string (C and Python both): a name
        # may be written over two lines.
        _files[path] = re.sub(r'"\s*\n\s*"', "", text) if text is not None else None
    return _files[path]


LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'')
DIRECTIVE = re.compile(r"%%|%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t)?[sdirfxXoucg]|\{[^{}]*\}|\$\{?\w+\}?")
_names = {}


def names_of(path):
    """The string literals of a test file that can be a case name: those
    that end an argument (followed by ')', ',', '%', ';' or the end of
    the line), each as a literal or, if it prints something variable, as
    a regex.  A string the test only looks for in a page is followed by
    ' in', so it is not taken for a name."""
    if path not in _names:
        text = file_text(path)
        exact, pats = set(), []
        for m in LITERAL.finditer(text):
            if not re.match(r"[ \t]*(?:[),%;]|\n|$)", text[m.end():m.end() + 8]):
                continue
            lit = m.group(1) if m.group(1) is not None else m.group(2)
            lit = lit.replace('\\"', '"').replace("\\'", "'")
            exact.add(lit)
            # Only a literal with some fixed words: "%s" or "%s: %s"
            # alone would match any name at all.
            if not DIRECTIVE.search(lit) or len(re.sub(r"\W", "", DIRECTIVE.sub("", lit))) < 2:
                continue
            parts, pos = [], 0
            for d in DIRECTIVE.finditer(lit):
                parts.append(re.escape(lit[pos:d.start()]))
                parts.append("%" if d.group(0) == "%%" else ".+?")
                pos = d.end()
            parts.append(re.escape(lit[pos:]))
            pats.append(re.compile("".join(parts)))
        _names[path] = (exact, pats)
    return _names[path]


def case_found(path, name):
    exact, pats = names_of(path)
    return name in exact or any(p.fullmatch(name) for p in pats)


def check(text, ids):
    """Every fault of a table text, as a dict of lists keyed by the test
    case that reports it; and the counts per chapter."""
    bad = {k: [] for k in ("malformed", "ids", "holds", "files", "cases", "fails", "sections")}
    counts = {c: dict.fromkeys(STATES, 0) for c in CHAPTERS}
    seen = {}
    chapter = None
    for n, line in enumerate(text.splitlines(), 1):
        h = re.match(r"^## (V\d+) ", line)
        if h:
            chapter = h.group(1)
            continue
        if not ROW.match(line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 4 or not all(cells) or cells[2] not in STATES:
            bad["malformed"].append("line %d: %s" % (n, line[:120]))
            continue
        rid, _, state, ev = cells
        seen.setdefault(rid, []).append(n)
        if chapter != rid.split(".")[0]:
            bad["sections"].append("line %d: %s under %s" % (n, rid, chapter))
        if rid.split(".")[0] in counts:
            counts[rid.split(".")[0]][state] += 1
        refs = REF.findall(ev)
        if state == "holds" and not refs:
            bad["holds"].append("%s names no test" % rid)
        for path, name in refs:
            if file_text(path) is None:
                bad["files"].append("%s: %s does not exist" % (rid, path))
            elif not case_found(path, name):
                bad["cases"].append('%s: %s has no case "%s"' % (rid, path, name))
        if state == "fails" and not any(s in ev for s in SLICES):
            bad["fails"].append("%s: fails without a slice (or 'no slice')" % rid)
    for rid, lines in seen.items():
        if rid not in ids:
            bad["ids"].append("%s is not an ASVS 4.0.3 L2 id" % rid)
        if len(lines) > 1:
            bad["ids"].append("%s appears %d times (lines %s)" % (rid, len(lines), lines))
    for rid in ids:
        if rid not in seen:
            bad["ids"].append("%s is missing" % rid)
    return bad, counts


def count_tables(now, before):
    """The two count tables of the header, as markdown."""
    out = []
    for title, counts in (("now", now), ("at 1878ff4 (the outside assessment)", before)):
        out.append("Counts %s:" % title)
        out.append("")
        out.append("| chapter | holds | fails | untested | later | n/a | rows |")
        out.append("|---|---|---|---|---|---|---|")
        tot = dict.fromkeys(STATES, 0)
        for c in CHAPTERS:
            out.append("| %s | %s | %d |" % (c, " | ".join(str(counts[c][s]) for s in STATES),
                                            sum(counts[c].values())))
            for s in STATES:
                tot[s] += counts[c][s]
        out.append("| all | %s | %d |" % (" | ".join(str(tot[s]) for s in STATES), sum(tot.values())))
        out.append("")
    return "\n".join(out)


def c_code(path):
    """A C file without its comments, string and character literals."""
    text = open(path, encoding="utf-8", errors="replace").read()
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', " ", text, flags=re.S)


def static_checks(t):
    """ASVS rows no other test shows, read from the shipped files."""
    srcdir = os.path.join(SRC, "src")
    code = {f: c_code(os.path.join(srcdir, f)) for f in sorted(os.listdir(srcdir)) if f.endswith(".c")}
    t.ok(len(code) > 40, "the C sources are found", len(code))
    calls = [(f, m.group(0)) for f, c in code.items()
             for m in re.finditer(r"\b(?:system|popen|execl|execlp|execle|execv|execvp|execvpe|execve|"
                                  r"posix_spawnp?|wordexp)\s*\(", c)]
    t.ok(not calls, "no C source runs a shell or another program (system, popen, exec*, posix_spawn)", calls)
    calls = [(f, m.group(0)) for f, c in code.items()
             for m in re.finditer(r"\b(?:rand|random|srand|srandom|drand48|lrand48|rand_r)\s*\(", c)]
    t.ok(not calls, "no C source draws from rand(), random() or drand48(): RAND_bytes only", calls)
    calls = [(f, m.group(0)) for f, c in code.items() if not f.startswith("cmd_test")
             for m in re.finditer(r"Access-Control-|X-Forwarded-|HTTP_X_FORWARDED|HTTP_FORWARDED",
                                  open(os.path.join(srcdir, f), encoding="utf-8", errors="replace").read())]
    t.ok(not calls, "no C source sends a CORS header or reads X-Forwarded-* or Forwarded", calls)
    site = open(os.path.join(SRC, "etc", "nginx", "1000proxy.conf.in"), encoding="utf-8").read()
    protos = re.findall(r"^\s*ssl_protocols\s+([^;]*);", site, re.M)
    t.ok(protos and all(p.split() == ["TLSv1.2", "TLSv1.3"] for p in protos),
         "the shipped nginx site allows TLSv1.2 and TLSv1.3 only", protos)
    t.ok(re.search(r"^\s*server_tokens\s+off;", site, re.M) and not re.search(r"^\s*autoindex\s+on", site, re.M),
         "the shipped nginx site hides its version and lists no directory (server_tokens off, no autoindex)")
    # Files nginx serves itself: only these prefixes and exact names; a
    # location that passes to the pool, redirects or is internal serves
    # no file.
    served = []
    for m in re.finditer(r"^\s*location\s+([^{]+?)\s*\{", site, re.M):
        depth, i = 1, m.end()
        while depth and i < len(site):
            depth += {"{": 1, "}": -1}.get(site[i], 0)
            i += 1
        body = site[m.end():i]
        if not re.search(r"\b(?:fastcgi_pass|return|internal)\b", body):
            served.append(m.group(1))
    allowed = {"/css/", "/js/", "= /favicon.svg", "= /robots.txt", "/.well-known/acme-challenge/"}
    t.ok(served and set(served) <= allowed and not re.search(r"\btry_files\b", site),
         "the shipped nginx site serves files only under /css/, /js/ and named paths; every other path goes "
         "to the pool", served)
    migrations = "\n".join(open(os.path.join(SRC, "sql", f), encoding="utf-8").read()
                           for f in sorted(os.listdir(os.path.join(SRC, "sql"))) if f.endswith(".sql"))
    found = re.findall(r"\b\w*(?:hint|question|password_history|password_expir|must_change|"
                       r"password_changed_at|previous_password)\w*\b", re.sub(r"--[^\n]*", "", migrations), re.I)
    t.ok(set(x.lower() for x in found) <= {"hint"} and "gateway_secrets" in migrations,
         "no migration stores a password hint, a secret question, a password history or a password expiry",
         found)
    am = open(os.path.join(SRC, "Makefile.am"), encoding="utf-8").read()
    qs = open(os.path.join(SRC, "quickstart"), encoding="utf-8").read()
    cflags = re.search(r"^AM_CFLAGS\s*\+?=((?:.*\\\n)*.*)$", am, re.M)
    t.ok(cflags and "-Wformat=2" in cflags.group(1) and "--enable-werror" in qs and
         "PX_PRINTF" in open(os.path.join(SRC, "src", "util.h"), encoding="utf-8").read(),
         "format strings are checked at build time: -Wformat=2, printf-style helpers declared, warnings errors in CI")
    urls = sorted(f for f in os.listdir(srcdir) if f.endswith(".c") and not f.startswith("cmd_test") and
                  "CURLOPT_URL" in open(os.path.join(srcdir, f), encoding="utf-8", errors="replace").read())
    conns = sorted(f for f, c in code.items() if re.search(r"\bconnect\s*\(", c))
    # connect(2) elsewhere: the pool probing its own unix socket, and a
    # log writer reaching the local syslog socket.
    t.ok(urls == ["http_out.c", "job_email.c", "xui.c"] and set(conns) <= {"pool.c", "log.c"},
         "outgoing connections come only from the gateway, mail and panel clients", (urls, conns))
    limits = {f: re.findall(r"CURLOPT_PROTOCOLS_STR,\s*\"([^\"]*)\"",
                            open(os.path.join(srcdir, f), encoding="utf-8").read()) for f in urls}
    follow = [f for f in code if re.search(r"FOLLOWLOCATION\s*,\s*1", open(os.path.join(srcdir, f),
                                                                          encoding="utf-8").read())]
    t.ok(all(limits[f] and set(",".join(limits[f]).split(",")) <= {"http", "https", "smtp", "smtps"} for f in urls)
         and not follow, "every libcurl handle is limited to its protocols and follows no redirect", (limits, follow))
    remote = []
    for top in ("views", "public"):
        for root, _, files in os.walk(os.path.join(SRC, top)):
            for f in files:
                text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
                remote += [(f, m.group(0)) for m in re.finditer(
                    r"<(?:script|link|img|iframe|object|embed)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]*\"", text)]
                remote += [(f, m.group(0)) for m in re.finditer(r"@import\s+url\(\s*[\"']?(?:https?:)?//", text)]
    t.ok(not remote, "no page or stylesheet loads a script, style, image or frame from another origin", remote)
    fields = []
    for root, _, files in os.walk(os.path.join(SRC, "views")):
        for f in files:
            text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
            fields += [(f, m.group(0)) for m in re.finditer(r"<input\b[^>]*>", text) if 'type="password"' in m.group(0)]
    bad = [x for x in fields if not re.search(r'autocomplete="(?:current|new)-password"', x[1])
           or re.search(r"\bon(?:paste|copy|cut|drop)\b", x[1])]
    t.ok(len(fields) >= 10 and not bad,
         "every password field in views/ names its autocomplete purpose and blocks no paste", [len(fields)] + bad)
    scripts = []
    for root, _, files in os.walk(os.path.join(SRC, "public")):
        scripts += [os.path.join(root, f) for f in files if f.endswith(".js")]
    bad = [(os.path.relpath(f, SRC), m.group(0)) for f in scripts
           for m in re.finditer(r"\beval\s*\(|\bnew\s+Function\b|\b(?:localStorage|sessionStorage|indexedDB)\b|"
                                r"document\.cookie", open(f, encoding="utf-8", errors="replace").read())]
    t.ok(not bad, "no script in public/ uses eval, new Function, web storage or document.cookie",
         ["%d scripts" % len(scripts)] + bad)


def live_checks(t):
    """The pool's own answers, through nginx, for the same rows."""
    from px import Stack
    s = Stack(workers=1).start()
    pages = ["/", "/plans", "/login", "/register", "/nope"]
    got = {p: s.get(p) for p in pages}
    t.ok(all(r.header("x-frame-options") == "DENY" for r in got.values()),
         "every page carries X-Frame-Options: DENY", {p: r.header("x-frame-options") for p, r in got.items()})
    t.ok(all("camera=()" in (r.header("permissions-policy") or "") and "microphone=()" in r.header("permissions-policy")
             and "geolocation=()" in r.header("permissions-policy") for r in got.values()),
         "every page carries a Permissions-Policy refusing camera, microphone and geolocation")
    t.ok(all(not re.search(r"\d", r.header("server") or "") and r.header("x-powered-by") is None
             for r in got.values()), "no answer names a server version or X-Powered-By",
         {p: r.header("server") for p, r in got.items()})
    cors = [s.get("/plans", headers={"Origin": o}) for o in ("null", "https://evil.example")]
    cors.append(s.request("OPTIONS", "/api/v1/me", headers={"Origin": "null", "Access-Control-Request-Method": "GET"}))
    t.ok(all(not any(k.startswith("access-control-") for k, _ in r.headers) for r in cors),
         "an Origin of null or of another site gets no CORS header", [r.headers for r in cors])
    r = s.get("/register", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on",
                                    "Forwarded": "for=203.0.113.9;proto=https", "X-Forwarded-For": "203.0.113.9"})
    cookies = r.all("set-cookie")
    t.ok(r.status == 200 and r.header("strict-transport-security") is None and cookies and
         not any("Secure" in c or c.startswith("__Host-") for c in cookies),
         "X-Forwarded-Proto and Forwarded over plain HTTP change nothing: no HSTS, no Secure cookie", cookies)
    first, second = s.get("/plans?page=2&page=abc"), s.get("/plans?page=abc&page=2")
    t.ok(first.status == 200 and "Page 2 of 2" in first.text and second.status == 400,
         "a repeated query field: the first value is the one read, the second never overrides it",
         (first.status, second.status))
    listing = [s.get(p) for p in ("/css/", "/.git/config", "/.env", "/css/.htaccess", "/502.html")]
    t.ok(all(x.status in (403, 404) and "Index of" not in x.text for x in listing),
         "no directory listing, dot file or internal error page is served", [x.status for x in listing])
    pw = "violet harbour engine 2210"
    for who in ("salt-a@example.com", "salt-b@example.com"):
        s.cli("user", "add", "--role", "support", who, input=pw + "\n")
    hashes = [h for (h,) in s.sql("SELECT password_hash FROM staff WHERE email LIKE 'salt-_@example.com'")]
    salts = [re.search(r"\$argon2id\$v=19\$[^$]*\$([A-Za-z0-9+/]+)\$", h) for h in hashes]
    t.ok(len(salts) == 2 and all(salts) and salts[0].group(1) != salts[1].group(1) and
         all(len(x.group(1)) >= 22 for x in salts),
         "one password hashed twice gets two different salts of at least 128 bits", hashes)
    quoted = s.get('/nope%22,%22forged%22:%221%5C')
    broken = s.get("/nope%0A%7B%22forged2%22:1%7D%0D")
    ids = {quoted.header("x-request-id"), broken.header("x-request-id")}
    lines = []
    for _ in range(50):
        lines = s.log_lines()
        if len([x for x in lines if x.get("id") in ids]) == 2:
            break
        time.sleep(0.1)
    mine = {x.get("id"): x for x in lines if x.get("id") in ids}
    q = mine.get(quoted.header("x-request-id"), {})
    t.ok(len(mine) == 2 and q.get("path") == '/nope","forged":"1\\' and
         not any("unparsed" in x or "forged" in x or "forged2" in x for x in lines),
         "quotes, a backslash, CR and LF in a path cannot forge a log field or line", list(mine.values()))
    s.check_sanitizers(t)
    s.stop()


def main():
    from px import TAP
    t = TAP()
    before = before_states()
    ids = list(before)
    t.is_(len(ids), 259, "doc/asvs-l2-1878ff4.md lists the 259 L2 ids")
    bcounts = {c: dict.fromkeys(STATES, 0) for c in CHAPTERS}
    for rid, st in before.items():
        bcounts[rid.split(".")[0]][st] += 1

    text = open(TABLE, encoding="utf-8").read()
    bad, counts = check(text, ids)
    t.ok(not bad["malformed"], "every row has four cells and a known state", bad["malformed"])
    t.ok(not bad["sections"], "every row sits under its chapter", bad["sections"])
    t.ok(not bad["ids"], "every one of the 259 ids appears exactly once", bad["ids"])
    t.ok(not bad["holds"], "every holds row names a test", bad["holds"])
    t.ok(not bad["files"], "every named test file exists", bad["files"])
    t.ok(not bad["cases"], "every named case occurs in its file", bad["cases"])
    t.ok(not (bad["holds"] or bad["files"] or bad["cases"]), "every holds row names a test that exists")
    t.ok(not bad["fails"], "every fails row names the slice that takes it", bad["fails"])
    tables = count_tables(counts, bcounts)
    t.ok(tables in text, "the header's counts are the table's (t/19-asvs.t --counts)", tables)
    for c in CHAPTERS:
        print("# %-4s now    %s" % (c, "  ".join("%s %d" % (s, counts[c][s]) for s in STATES)))
        print("# %-4s before %s" % (c, "  ".join("%s %d" % (s, bcounts[c][s]) for s in STATES)))

    # The checker itself: each kind of broken row must be reported.
    lines = text.splitlines()
    first = next(i for i, l in enumerate(lines) if l.startswith("| V2.1.1 |"))
    holds = next(i for i, l in enumerate(lines) if ROW.match(l) and " | holds | " in l)
    fails = next(i for i, l in enumerate(lines) if ROW.match(l) and " | fails | " in l)

    def broken(i, new):
        copy = list(lines)
        if new is None:
            del copy[i]
        else:
            copy[i] = new
        return check("\n".join(copy), ids)[0]

    row = lines[holds]
    cases = [
        ("a row with three cells", lambda: broken(first, "| V2.1.1 | text | holds |"), "malformed"),
        ("an unknown state", lambda: broken(first, lines[first].replace(" | holds | ", " | maybe | ")), "malformed"),
        ("a missing id", lambda: broken(first, None), "ids"),
        ("a duplicated id", lambda: broken(first + 1, lines[first]), "ids"),
        ("a holds row naming no test", lambda: broken(holds, re.sub(r'"[^"]*"', "", row)), "holds"),
        ("a test file that does not exist", lambda: broken(holds, REF.sub(
            lambda m: 't/99-no-such.t "%s"' % m.group(2), row)), "files"),
        ("a case name that does not occur", lambda: broken(holds, REF.sub(
            lambda m: '%s "%s, misspelt"' % (m.group(1), m.group(2)), row)), "cases"),
        ("a fails row naming no slice", lambda: broken(fails, re.sub(
            "|".join(SLICES), "someone", lines[fails])), "fails"),
    ]
    for what, run, key in cases:
        got = run()
        t.ok(got[key], "the check refuses %s" % what, got)

    # The threat model (V1.1.2, V1.1.4, V1.1.5, V1.8.1, V1.8.2, V8.3.4).
    threats = open(THREATS, encoding="utf-8").read() if os.path.isfile(THREATS) else ""
    low = threats.lower().replace("`", "")
    need = ["browser", "nginx", "fastcgi pool", "work daemon", "runner", "cron", "cli", "database",
            "key file", "spool", "3x-ui", "stripe", "paypal", "nowpayments", "smtp"]
    t.ok(all(w in low for w in need) and "## trust boundaries" in low and "## data flows" in low,
         "doc/threats.md covers every trust boundary", [w for w in need if w not in low])
    services = ["3X-UI", "Stripe", "PayPal", "NOWPayments", "SMTP"]
    heads = re.findall(r"^### (.+)$", threats, re.M)
    t.ok(all(any(h.startswith(s) for h in heads) for s in services),
         "doc/threats.md analyses every remote service", heads)
    classes = ["secrets", "credentials", "pii", "payment references", "usage", "logs"]
    t.ok("## sensitive data" in low and all(c in low for c in classes),
         "doc/threats.md classifies the sensitive data", [c for c in classes if c not in low])
    tbad, _ = check("\n".join("| V0.0.0 | x | untested | %s |" % l for l in threats.splitlines()), [])
    t.ok(not tbad["files"] and not tbad["cases"], "every test doc/threats.md names exists",
         tbad["files"] + tbad["cases"])
    static_checks(t)
    live_checks(t)
    readme = open(os.path.join(SRC, "README.md"), encoding="utf-8").read()
    t.ok("doc/asvs-l2.md" in readme and "doc/threats.md" in readme, "README links doc/asvs-l2.md and doc/threats.md")
    t.done()


if __name__ == "__main__":
    if sys.argv[1:] in (["--counts"], ["--write"]):
        b = before_states()
        bc = {c: dict.fromkeys(STATES, 0) for c in CHAPTERS}
        for k, v in b.items():
            bc[k.split(".")[0]][v] += 1
        text = open(TABLE, encoding="utf-8").read()
        _, now = check(text, list(b))
        tables = count_tables(now, bc)
        if sys.argv[1] == "--counts":
            print(tables)
        else:
            # Replace the header's tables (from "Counts now:" to the
            # first chapter) with the table's own counts.
            a, z = text.index("Counts now:"), text.index("\n## V1 ")
            open(TABLE, "w", encoding="utf-8").write(text[:a] + tables + text[z:])
    else:
        main()
