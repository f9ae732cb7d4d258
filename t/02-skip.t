#!/bin/sh
# A skip is loud, and under CI it is a failure.  Two tiny TAP scripts
# skip the way the suite's tests do: one shell (t/lib/skip.sh's
# skip_all), one Python (t/lib/px.py's TAP.skip_all, which the browser
# tests' browser_or_skip() calls).  Without CI each passes with
# "1..0 # SKIP" and a banner on stderr, and prove says PASS; with
# CI=true each prints "not ok", exits 1, and prove fails the run.
. "$PX_SRC/t/lib/tap.sh"

cat > "$d/skip-sh.t" <<T
#!/bin/sh
. "$PX_SRC/t/lib/skip.sh"
skip_all "frobnicator is not installed"
echo "ok 1 - never reached"
T
cat > "$d/skip-py.t" <<T
#!/usr/bin/env python3
import sys
sys.path.insert(0, "$PX_SRC/t/lib")
from px import TAP
t = TAP()
t.skip_all("frobnicator is not installed")
t.ok(True, "never reached")
t.done()
T
chmod +x "$d/skip-sh.t" "$d/skip-py.t"

for k in sh py; do
	f="$d/skip-$k.t"
	env -u CI "$f" > "$d/out" 2> "$d/err"
	ok $? "$k: without CI a skip exits 0"
	grep -qx '1..0 # SKIP frobnicator is not installed' "$d/out"
	ok $? "$k: without CI it prints '1..0 # SKIP why'"
	! grep -q '^ok\|^not ok' "$d/out"
	ok $? "$k: and runs no check after the skip"
	grep -q '^#### SKIPPED (not run, not tested): frobnicator is not installed$' "$d/err"
	ok $? "$k: without CI a loud SKIPPED banner goes to stderr"
	env -u CI prove -e "" "$f" > "$d/prove" 2>&1
	ok $? "$k: without CI prove passes the skipping script"
	grep -q 'skipped: frobnicator is not installed' "$d/prove"
	ok $? "$k: and prove names the skip"

	CI=true "$f" > "$d/out" 2> "$d/err"
	rc=$?
	[ $rc -eq 1 ]
	ok $? "$k: under CI=true a skip exits 1 (got $rc)"
	grep -qx 'not ok 1 - SKIP NOT ALLOWED UNDER CI=true: frobnicator is not installed' "$d/out"
	ok $? "$k: under CI=true it prints 'not ok - SKIP NOT ALLOWED UNDER CI=true'"
	grep -qx '1..1' "$d/out" && ! grep -q 'never reached' "$d/out"
	ok $? "$k: with a plan of one and nothing after it"
	grep -q '^#### FAIL: this test would have been SKIPPED: frobnicator is not installed$' "$d/err"
	ok $? "$k: under CI=true a loud FAIL banner goes to stderr"
	CI=true prove -e "" "$f" > "$d/prove" 2>&1
	rc=$?
	[ $rc -ne 0 ] && grep -q 'Result: FAIL' "$d/prove"
	ok $? "$k: under CI=true prove fails the run (exit $rc)"
done

# The CI entry point runs the suite with CI=true.
grep -qx 'export CI=true' "$PX_SRC/.ci/run"
ok $? ".ci/run exports CI=true"
done_testing
