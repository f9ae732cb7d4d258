#!/bin/sh
# Every template in views/ parses and every partial it names exists;
# a broken template fails here, not on a customer's screen.
set -u
echo "1..6"
out=$("$PX_BIN" -c /dev/null test-views "$PX_SRC/views" 2>&1)
if [ $? -eq 0 ]; then echo "ok 1 - views parse: $out"; else echo "not ok 1 - views parse"; echo "# $out"; fi
d=$(mktemp -d); mkdir -p "$d/pages"; printf '<p>{{>partials/nope}}</p>' > "$d/pages/x.html"
if "$PX_BIN" -c /dev/null test-views "$d" >/dev/null 2>&1; then echo "not ok 2 - a missing partial is caught"; else echo "ok 2 - a missing partial is caught"; fi
rm -rf "$d"
d=$(mktemp -d); mkdir -p "$d/partials"; printf '<p>{{>partials/b}}</p>' > "$d/partials/a.html"; printf '<i>{{>partials/a}}</i>' > "$d/partials/b.html"
out=$("$PX_BIN" -c /dev/null test-views "$d" 2>&1)
if [ $? -ne 0 ] && echo "$out" | grep -q "includes itself"; then echo "ok 3 - a partial that includes itself is caught"; else echo "not ok 3 - a partial that includes itself is caught"; echo "# $out"; fi
rm -rf "$d"

# Issue 10: a partial, a section boundary or the end of a template in
# another HTML state than its surroundings is refused when the views
# load, and the error names the template and the line.
refused() {	# refused N WHAT EXPECT: load $d, want a failure mentioning EXPECT
	out=$("$PX_BIN" -c /dev/null test-views "$d" 2>&1)
	if [ $? -ne 0 ] && echo "$out" | grep -qF -- "$3"; then echo "ok $1 - $2"; else echo "not ok $1 - $2"; echo "# $out"; fi
	rm -rf "$d"
}
d=$(mktemp -d); mkdir -p "$d/pages" "$d/partials"; printf '<b>x</b>' > "$d/partials/p.html"
printf '<p>\n<a title="{{>partials/p}}">x</a></p>' > "$d/pages/x.html"
refused 4 "a partial inside an attribute value is refused" "pages/x:2: partial"
d=$(mktemp -d); mkdir -p "$d/pages"
printf '<p>\n\n{{#c}}<a href="{{/c}}{{u}}">x</a></p>' > "$d/pages/x.html"
refused 5 "a section opened in text and closed in an attribute is refused" "pages/x:3:"
d=$(mktemp -d); mkdir -p "$d/partials"
printf '<a href="/x' > "$d/partials/open.html"
refused 6 "a template that ends inside a tag is refused" "partials/open:1: the template ends inside"
