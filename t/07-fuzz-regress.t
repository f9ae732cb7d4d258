#!/bin/sh
# Replays every seed in fuzz/corpus/KIND/ and every crasher the fuzzers
# ever found in fuzz/crashers/KIND/ through `1000proxy test-parse KIND`,
# the code the libFuzzer targets run (src/parse_probe.c).  Each must end
# with exit 0 and no sanitizer report; under ./quickstart test --sanitize
# this is the fuzz regression suite.
set -u
: "${PX_BIN:?PX_BIN is not set}" "${PX_SRC:?PX_SRC is not set}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
for f in "$PX_SRC"/fuzz/corpus/*/* "$PX_SRC"/fuzz/crashers/*/*; do
	[ -f "$f" ] || continue
	kind=$(basename "$(dirname "$f")")
	rel=${f#"$PX_SRC"/}
	n=$((n + 1))
	"$PX_BIN" -c /dev/null test-parse "$kind" < "$f" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ $rc -eq 0 ] && ! grep -q -e 'Sanitizer' -e 'runtime error' "$tmp/err"; then
		echo "ok $n - $rel: $(cat "$tmp/out")"
	else
		fail=$((fail + 1))
		echo "not ok $n - $rel (exit $rc)"
		sed -e 's/^/#   /' "$tmp/err" | head -n 30
	fi
done
if [ $n -eq 0 ]; then
	# A broken tree, not a missing tool: a failure everywhere, never a skip.
	echo "1..1"
	echo "not ok 1 - no corpus under $PX_SRC/fuzz (a broken tree?)"
	exit 1
fi
echo "1..$n"
[ $fail -eq 0 ]
