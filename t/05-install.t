#!/bin/sh
# `make install DESTDIR=...` from the build directory puts the program in
# sbin, views/sql/public under share/1000proxy, the man pages, the sample
# config, the systemd units, the nginx site, cron.d and logrotate files
# in place; the installed binary's `config` names the
# installed data directory; `make uninstall` removes every file again.
set -u
: "${PX_BIN:?PX_BIN is not set}" "${PX_SRC:?PX_SRC is not set}"
. "$PX_SRC/t/lib/skip.sh"
build=$(dirname "$PX_BIN")
make=${PX_MAKE:-make}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
n=0
fail=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else fail=$((fail + 1)); echo "not ok $n - $2"; fi
}

if [ ! -f "$build/Makefile" ]; then
	skip_all "$build has no Makefile (PX_BIN outside a build tree)"
fi
# Run from outside the build's make: -s quiet, no inherited goals.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $make -s -C "$build" install DESTDIR="$dest" \
    > "$tmp/log" 2>&1
rc=$?
ok $rc "make install DESTDIR=... succeeds"
[ $rc -eq 0 ] || sed -e 's/^/#   /' "$tmp/log" | tail -n 20

sbin=$(find "$dest" -path '*/sbin/1000proxy' -type f | head -n 1)
ok "$([ -n "$sbin" ] && [ -x "$sbin" ]; echo $?)" "the program is installed in sbin (${sbin#"$dest"})"
views=$(find "$dest" -path '*/share/1000proxy/views' -type d | head -n 1)
data=${views%/views}
ok "$([ -n "$views" ]; echo $?)" "data under share/1000proxy (${data#"$dest"})"
for f in views/layouts views/pages sql/001_init.sql sql/demo/seed.sql public/css/site.css; do
	ok "$([ -e "$data/$f" ]; echo $?)" "installed: share/1000proxy/$f"
done
nv=$(cd "$PX_SRC/views" && find . -type f | wc -l)
iv=$(cd "$data/views" 2>/dev/null && find . -type f | wc -l)
ok "$([ "$nv" -eq "$iv" ]; echo $?)" "every template installed ($iv of $nv)"
for m in man8/1000proxy.8 man5/1000proxy.conf.5; do
	ok "$(find "$dest" -path "*/man/$m" | grep -q .; echo $?)" "man page $m installed"
done
ok "$(find "$dest" -path '*/etc/1000proxy/1000proxy.conf.sample' | grep -q .; echo $?)" \
    "sample config in sysconfdir/1000proxy"
# The files made from templates (t/09-paths.t checks the paths in them).
for f in '*/systemd/system/1000proxy.service' '*/systemd/system/1000proxy-work.service' \
    '*/etc/nginx/sites-available/1000proxy' '*/etc/cron.d/1000proxy' '*/etc/logrotate.d/1000proxy'; do
	ok "$(find "$dest" -path "$f" -type f | grep -q .; echo $?)" "installed: $f"
done

# The installed program was built for the installed paths.
if [ -n "$sbin" ]; then
	"$sbin" -c /dev/null config > "$tmp/config" 2>&1
	ok $? "installed binary runs config"
	ok "$(grep -qxF "views_dir = \"${data#"$dest"}/views\"" "$tmp/config"; echo $?)" \
	    "config names the installed views dir"
	ok "$(grep -qxF "sql_dir = \"${data#"$dest"}/sql\"" "$tmp/config"; echo $?)" \
	    "config names the installed sql dir"
	"$sbin" -c /dev/null test-views "$data/views" > /dev/null 2>&1
	ok $? "installed templates parse"
else
	for i in 1 2 3 4; do ok 1 "installed binary (missing)"; done
fi

env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $make -s -C "$build" uninstall DESTDIR="$dest" \
    > "$tmp/log" 2>&1
ok $? "make uninstall DESTDIR=... succeeds"
left=$(find "$dest" -type f | sed -e "s|^$dest||")
ok "$([ -z "$left" ]; echo $?)" "uninstall leaves no files"
[ -z "$left" ] || echo "$left" | sed -e 's/^/#   left: /'
echo "1..$n"
[ $fail -eq 0 ]
