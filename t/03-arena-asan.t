#!/bin/sh
# Under AddressSanitizer the arena is as visible as malloc: a poisoned
# redzone after every object and a poisoned block after arena_reset(),
# so a read past an object (into the bytes before its neighbour) or of
# last request's memory is reported (src/util.c; `1000proxy test-arena`
# in src/cmd_test.c).  Only an ASan build can show it; a plain build
# checks only that it says so (`./quickstart test --sanitize` runs the rest).
set -u
: "${PX_BIN:?PX_BIN is not set}"
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
if ! "$PX_BIN" -c /dev/null test-arena asan > "$tmp/out" 2>&1; then
	# A plain build has no redzones to show; it still must say so and
	# read its own objects cleanly.  The redzone cases run in the
	# sanitizer pass (`./quickstart test --sanitize`, the second half of
	# .ci/run), so this is not a skip: both builds are always tested.
	echo "# plain build: $(cat "$tmp/out"); the redzone cases run under --sanitize"
	grep -qi "not" "$tmp/out"; ok $? "a plain build says it has no AddressSanitizer"
	"$PX_BIN" -c /dev/null test-arena inside > "$tmp/out" 2> "$tmp/err"
	ok $? "reading inside two neighbouring arena objects works in a plain build"
	echo "1..$n"
	exit $fail
fi
# abort_on_error=1 (quickstart's default) makes a report end in SIGABRT;
# say it here so the verdict does not depend on the caller's ASAN_OPTIONS.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"

"$PX_BIN" -c /dev/null test-arena inside > "$tmp/out" 2> "$tmp/err"
[ $? -eq 0 ] && ! grep -q AddressSanitizer "$tmp/err"; ok $? "reading inside two neighbouring arena objects is clean"

for mode in overread past16 after-reset; do
	"$PX_BIN" -c /dev/null test-arena $mode > "$tmp/out" 2> "$tmp/err"
	rc=$?
	[ $rc -ne 0 ]; ok $? "$mode: the process fails (exit $rc)"
	grep -q "ERROR: AddressSanitizer: use-after-poison" "$tmp/err" && grep -q "READ of size 1" "$tmp/err"
	ok $? "$mode: ASan reports the read as use-after-poison"
	[ $rc -ne 0 ] || sed -e 's/^/#   /' "$tmp/out" "$tmp/err" | head -n 20
	grep -q "cmd_test_arena" "$tmp/err"; ok $? "$mode: the report names the reading function"
done
echo "1..$n"
exit $fail
