#!/bin/sh
# Every template in views/ parses and every partial it names exists;
# a broken template fails here, not on a customer's screen.
set -u
echo "1..3"
out=$("$PX_BIN" -c /dev/null test-views "$PX_SRC/views" 2>&1)
if [ $? -eq 0 ]; then echo "ok 1 - views parse: $out"; else echo "not ok 1 - views parse"; echo "# $out"; fi
d=$(mktemp -d); mkdir -p "$d/pages"; printf '<p>{{>partials/nope}}</p>' > "$d/pages/x.html"
if "$PX_BIN" -c /dev/null test-views "$d" >/dev/null 2>&1; then echo "not ok 2 - a missing partial is caught"; else echo "ok 2 - a missing partial is caught"; fi
rm -rf "$d"
d=$(mktemp -d); mkdir -p "$d/partials"; printf '<p>{{>partials/b}}</p>' > "$d/partials/a.html"; printf '<i>{{>partials/a}}</i>' > "$d/partials/b.html"
out=$("$PX_BIN" -c /dev/null test-views "$d" 2>&1)
if [ $? -ne 0 ] && echo "$out" | grep -q "includes itself"; then echo "ok 3 - a partial that includes itself is caught"; else echo "not ok 3 - a partial that includes itself is caught"; echo "# $out"; fi
rm -rf "$d"
