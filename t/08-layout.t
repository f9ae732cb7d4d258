#!/usr/bin/env python3
"""The source tree's shape (issue 10): which file calls which, read from
the sources as text.  No two files call each other, directly or round a
circle (the dispatcher, the sessions and the layout used to: router.c
held req_fail and resp_header, which session.c and ui.c call, while it
calls them); response.c, the bottom of every request, calls nothing
above it."""
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import SRC, TAP  # noqa: E402

t = TAP()
SRCDIR = os.path.join(SRC, "src")
files = sorted(f for f in os.listdir(SRCDIR) if f.endswith(".c"))
t.ok(len(files) > 40, "the source tree is found", SRCDIR)


def code(f):
    """f's text without comments and with every string literal empty."""
    s = open(os.path.join(SRCDIR, f), encoding="utf-8").read()
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    s = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', s)
    return re.sub(r"'(?:[^'\\\n]|\\.)*'", "''", s)


text = {f: code(f) for f in files}
# STYLE.md: a function's name starts a line, its type on the line before.
defs = {}
for f in files:
    for m in re.finditer(r"^([a-z_][a-z0-9_]*)\(", text[f], re.M):
        before = text[f][text[f].rfind("\n", 0, m.start() - 1) + 1:m.start()]
        if "static" not in before:
            defs.setdefault(m.group(1), set()).add(f)
dup = {n: sorted(fs) for n, fs in defs.items() if len(fs) > 1}
t.ok(not dup, "every function is defined in one file", dup)
calls = {f: {} for f in files}
for f in files:
    for name in set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", text[f])):
        for d in defs.get(name, ()):
            if d != f:
                calls[f].setdefault(d, []).append(name)


def circles(g):
    """Tarjan's strongly connected components of more than one file."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


found = circles(calls)
why = ["%s -> %s: %s" % (a, b, ", ".join(sorted(set(calls[a][b]))))
       for comp in found for a in comp for b in comp if b in calls[a]]
t.ok(not found, "no circle of calls between files", why)
t.ok(not any("router.c" in c and "session.c" in c for c in found),
     "router.c and session.c do not call each other round a circle")

for name in ("req_fail", "resp_header", "resp_redirect", "resp_json", "set_cookie",
             "status_text", "render_error", "resp_head", "resp_timeout"):
    t.is_(sorted(defs.get(name, ())), ["response.c"], "%s lives in response.c" % name)
up = sorted(calls["response.c"])
t.ok(not set(up) & {"router.c", "session.c", "ui.c", "routes.c", "worker.c"},
     "response.c calls neither the dispatcher, the sessions, the layout nor the worker", up)
t.ok("Content-Security-Policy" in open(os.path.join(SRCDIR, "response.c")).read() and not any(
    "Content-Security-Policy" in open(os.path.join(SRCDIR, f)).read() for f in files if f != "response.c"),
    "the security headers are written in response.c alone")

# File names say what is inside: a route's handler lives in a page
# (page_*.c), a staff page (admin*.c), an API file (api_*.c) or the
# gateways' webhook route (webhook.c), and a job kind of the work daemon
# in job_*.c.
routes = code("routes.c")
handlers = sorted(set(re.findall(r"\{\s*M_[A-Z]+\s*,\s*\"\"\s*,\s*([a-z_0-9]+)\s*,", routes)))
t.ok(len(handlers) > 30, "routes.c names its handlers", len(handlers))
stray = ["%s in %s" % (h, sorted(defs.get(h, ()))) for h in handlers
         if not all(re.match(r"(page_|admin|api_|webhook\.c$)", f) for f in defs.get(h, ("?",)))]
t.ok(not stray, "every route handler is in a page_*.c, admin*.c, api_*.c or webhook.c file", stray)
kinds = ["%s" % f for f in files
         if re.search(r"^const struct job_kind job_kind_", text[f], re.M) and not f.startswith("job_")]
t.ok(not kinds, "every job kind is defined in a job_*.c file", kinds)
t.ok(not os.path.exists(os.path.join(SRCDIR, "tokens.c")) and
     not os.path.exists(os.path.join(SRCDIR, "api.c")) and
     not os.path.exists(os.path.join(SRCDIR, "mail.c")), "tokens.c, api.c and mail.c are renamed")
t.is_(sorted(defs.get("cmd_request", ())), ["cmd_request.c"], "cmd_request has its own file")
for name, f in (("next_customer", "next.c"), ("next_staff", "next.c"), ("mailq_add", "mailq.c")):
    t.is_(sorted(defs.get(name, ())), [f], "%s lives in %s" % (name, f))

# Every POST form declares its fields (valid.h): the route table names a
# form for each POST route but the test-only ones.
posts = re.findall(r"\{\s*M_POST\s*,\s*\"\"\s*,\s*([a-z_0-9]+)\s*,([^}]*)\}", routes)
undeclared = [h for h, rest in posts if not h.startswith("page_test") and not re.search(r"&[a-z_0-9]+\s*$", rest.strip())]
t.ok(len(posts) > 25 and not undeclared, "every POST route names its declared form fields", undeclared)

t.done()
