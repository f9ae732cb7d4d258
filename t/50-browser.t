#!/usr/bin/env python3
"""The public pages in a real browser: Debian's chromium driven by the npm
package playwright-core (t/browser/shop.cjs) against a private Stack.
Home, catalog, a filter chosen in the form, a plan page: no console
errors, no CSP violations, the filter shows only matching plans, and no
page overflows sideways at a 390px-wide phone viewport.  Screenshots are
kept in the test's temp dir (PX_KEEP=1 keeps it)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from px import BIN, SRC, TAP, browser_or_skip, Stack  # noqa: E402

t = TAP()
chromium, node, pw = browser_or_skip(t)

out = tempfile.mkdtemp(prefix="px-browser-")
s = Stack(workers=2).start()
base = "http://127.0.0.1:%d" % s.port
try:
    p = subprocess.run([node, os.path.join(SRC, "t", "browser", "shop.cjs"), pw, base, out],
                       capture_output=True, text=True, timeout=180)
except subprocess.TimeoutExpired:
    t.bail("the browser script ran past 180 s")
if not t.ok(p.returncode == 0, "the browser script ran", p.stderr[-3000:]):
    t.done()
res = json.loads(p.stdout.strip().splitlines()[-1])

for name in ("home", "plans", "plan"):
    pg = res["pages"][name]
    t.is_(pg["status"], 200, "%s: 200 in the browser" % name)
    t.ok(pg["cssLoaded"] not in ("", "rgba(0, 0, 0, 0)"), "%s: the stylesheet applied" % name, pg["cssLoaded"])
t.ok(not res["console"], "no console errors or warnings", "\n".join(res["console"]))
t.ok(not res["pageerrors"], "no uncaught page errors", "\n".join(res["pageerrors"]))
t.ok(not res["csp"], "no Content-Security-Policy violations", "\n".join(res["csp"]))

f = res["filter"]
t.ok("protocol=vless" in f["url"] and "sort=price" in f["url"], "submitting the form puts the filter in the URL",
     f["url"])
t.is_(f["selected"], "vless", "the chosen protocol stays selected after submitting")
t.ok(len(f["badges"]) > 0 and all(b.lower() == "vless" for b in f["badges"]),
     "the filtered catalog shows only VLESS plans (%d)" % len(f["badges"]), f["badges"])
t.ok(("%d plan" % len(f["badges"])) in f["count"], "the count matches the cards shown", f["count"])


def amount(x):
    return int("".join(ch for ch in x if ch.isdigit()))


prices = [amount(x) for x in f["prices"]]
t.ok(prices == sorted(prices), "sorted by price ascending", f["prices"])
t.ok(res["plan_href"].startswith("/plans/") and res["plan_h1"].strip() != "", "a plan page opens from the result",
     res["plan_href"])
for name, w in res["widths"].items():
    t.ok(w["scroll"] <= w["inner"], "%s at 390px: no horizontal overflow (%d <= %d)" % (name, w["scroll"], w["inner"]),
         w["wide"])
shots = sorted(x for x in os.listdir(out) if x.endswith(".png"))
t.ok(len(shots) >= 8, "screenshots saved (%d)" % len(shots))
t.diag("screenshots in " + out)
s.stop()
if not os.environ.get("PX_KEEP"):
    shutil.rmtree(out, ignore_errors=True)
t.done()
