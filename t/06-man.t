#!/bin/sh
# The man pages are well-formed mdoc: `mandoc -Tlint -W warning` finds
# no warning and no error in man/*.8.in and man/*.5.in (the sources;
# make fills their @paths@ in, which mandoc sees as plain words).  STYLE-level notes
# (such as cross-references to pages not installed here) are allowed.
set -u
: "${PX_SRC:?PX_SRC is not set}"
. "$PX_SRC/t/lib/skip.sh"
if ! command -v mandoc > /dev/null 2>&1; then
	skip_all "mandoc is not installed (Debian package mandoc)"
fi
n=0
fail=0
for f in "$PX_SRC"/man/*.8.in "$PX_SRC"/man/*.5.in; do
	n=$((n + 1))
	out=$(mandoc -Tlint -W warning "$f" 2>&1)
	rc=$?
	# mandoc exits 0 when clean, 2 on warnings, 3+ on errors.
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		echo "ok $n - $(basename "$f" .in): mandoc -Tlint clean"
	else
		fail=$((fail + 1))
		echo "not ok $n - $(basename "$f" .in): mandoc -Tlint (exit $rc)"
		printf '%s\n' "$out" | sed -e 's/^/#   /'
	fi
	# Every page names itself correctly.
	n=$((n + 1))
	base=$(basename "$f" .in)
	name=${base%.*}
	sec=${base##*.}
	if grep -q "^\.Dt $(echo "$name" | tr a-z A-Z) $sec\$" "$f" && grep -q "^\.Nm $name\$" "$f"; then
		echo "ok $n - $base: .Dt and .Nm match the file name"
	else
		fail=$((fail + 1))
		echo "not ok $n - $base: .Dt and .Nm match the file name"
	fi
done
echo "1..$n"
[ $fail -eq 0 ]
