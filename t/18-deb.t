#!/bin/sh
# The Debian package on a fresh Debian 12 (issue 15), the README's package
# path: build it from a clean copy of the tree (apt-get build-dep ./,
# dpkg-buildpackage -us -uc -b), run lintian, make a fresh bookworm root
# (debootstrap minbase, from this machine's Debian mirror; the base is
# cached as a tarball, so reruns skip the download), install the .deb
# there with apt, then run the pool and the work daemon as their units
# would (ExecStartPre/ExecStart as User=/Group=/SupplementaryGroups= with
# UMask=; systemd does not run in a chroot), nginx with the shipped site
# on an ephemeral port, and check over TLS that /plans, /admin/login and
# /healthz answer 200; check every owner and mode the issue lists; purge
# and check the data stays.
#
# Slow (50 to 90 s; 2 minutes uncached) and needs root and the network: make check
# leaves it out; `./quickstart test --deb` runs it (and .ci/run).
# Environment: PX_SRC (the tree); PX_DEB_CACHE (default
# /var/cache/1000proxy-deb: the debootstrap tarball and apt's archives).
set -u
: "${PX_SRC:?PX_SRC is not set}"
. "$PX_SRC/t/lib/skip.sh"

n=0
fail=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else fail=$((fail + 1)); echo "not ok $n - $2"; fi
}
note() { echo "# $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (debootstrap, chroot, apt-get build-dep)"
for c in debootstrap dpkg-buildpackage lintian unshare chroot curl; do
	command -v "$c" > /dev/null 2>&1 ||
	    skip_all "$c is missing (./quickstart test --deb installs it)"
done

cache=${PX_DEB_CACHE:-/var/cache/1000proxy-deb}
mkdir -p "$cache/archives/partial"
tmp=$(mktemp -d /var/tmp/px-deb.XXXXXX) || exit 1
root=$tmp/root
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	# The chroot's nginx daemonises: its pid file is inside the root.
	[ -s "$root/run/nginx.pid" ] && kill "$(cat "$root/run/nginx.pid")" 2>/dev/null
	sleep 0.5
	for m in $(awk -v r="$root" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The mirror this machine uses (deb822 or one-line sources).
mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
note "mirror $mirror, cache $cache"

# 1. Build from a clean copy: the tracked and untracked-but-not-ignored
# files, as a clone of this tree with its edits would have.
t0=$(now)
mkdir -p "$tmp/b/src"
(cd "$PX_SRC" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -xf - -C "$tmp/b/src"
ok $? "clean copy of the tree"
(cd "$tmp/b/src" && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq --no-install-recommends ./) \
    > "$tmp/build-dep.log" 2>&1
rc=$?
ok $rc "apt-get build-dep ./"
[ $rc -eq 0 ] || sed -e 's/^/#   /' "$tmp/build-dep.log" | tail -n 20
(cd "$tmp/b/src" && dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1
rc=$?
ok $rc "dpkg-buildpackage -us -uc -b"
[ $rc -eq 0 ] || sed -e 's/^/#   /' "$tmp/build.log" | tail -n 30
deb=$(ls "$tmp"/b/1000proxy_*_*.deb 2>/dev/null | head -n 1)
ok "$([ -n "$deb" ]; echo $?)" "built ${deb##*/}"
note "package built in $(since "$t0") s"
[ -n "$deb" ] || { echo "1..$n"; exit 1; }

t1=$(now)
lintian "$deb" > "$tmp/lintian.log" 2>&1
rc=$?
grep -v 'running with root privileges' "$tmp/lintian.log" | sed -e 's/^/#   /'
ok "$([ $rc -eq 0 ] && ! grep -q '^[EW]:' "$tmp/lintian.log"; echo $?)" \
    "lintian: no error or warning (overrides in debian/1000proxy.lintian-overrides)"
note "lintian in $(since "$t1") s"

# 2. A fresh bookworm root.  The base is downloaded once into a tarball.
t2=$(now)
tarball=$cache/bookworm-minbase.tgz
if [ ! -s "$tarball" ]; then
	debootstrap --variant=minbase --make-tarball="$tarball.tmp" bookworm "$tmp/mk" "$mirror" \
	    > "$tmp/mktar.log" 2>&1 && mv "$tarball.tmp" "$tarball"
	ok $? "debootstrap --make-tarball (first run)"
	rm -rf "$tmp/mk"
fi
debootstrap --variant=minbase --unpack-tarball="$tarball" bookworm "$root" "$mirror" \
    > "$tmp/debootstrap.log" 2>&1
rc=$?
ok $rc "debootstrap --variant=minbase bookworm (a fresh root)"
[ $rc -eq 0 ] || { sed -e 's/^/#   /' "$tmp/debootstrap.log" | tail -n 20; echo "1..$n"; exit 1; }
note "fresh root in $(since "$t2") s"

# apt inside: the machine's Debian sources (bookworm, -updates and
# -security, as a server would have), its resolver, /proc, and the
# cached archives; policy-rc.d keeps services from starting (there is no
# init in a chroot: the test starts them below as their units would).
t3=$(now)
cp /etc/resolv.conf "$root/etc/resolv.conf"
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
	: > "$root/etc/apt/sources.list"
fi
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount --bind "$cache/archives" "$root/var/cache/apt/archives"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"; }
cp "$deb" "$root/tmp/"
{ in_root apt-get update -qq &&
  in_root apt-get install -y -qq --no-install-recommends "/tmp/${deb##*/}"; } > "$tmp/install.log" 2>&1
rc=$?
ok $rc "apt-get install ./${deb##*/} in the fresh root"
[ $rc -eq 0 ] || sed -e 's/^/#   /' "$tmp/install.log" | tail -n 30
note "apt-get install in $(since "$t3") s"

# 3. What the package made, with the owners and modes the issue lists.
mode() { in_root stat -c '%U:%G %a' "$1" 2>/dev/null; }
is_mode() { m=$(mode "$1"); ok "$([ "$m" = "$2" ]; echo $?)" "$1 is $2 (${m:-missing})"; }
ok "$(in_root test -x /usr/sbin/1000proxy; echo $?)" "/usr/sbin/1000proxy"
for f in views/layouts/main.html sql/001_init.sql public/css/site.css; do
	ok "$(in_root test -f "/usr/share/1000proxy/$f"; echo $?)" "/usr/share/1000proxy/$f"
done
for f in man8/1000proxy.8.gz man5/1000proxy.conf.5.gz; do
	ok "$(in_root test -f "/usr/share/man/$f"; echo $?)" "man page /usr/share/man/$f"
done
pw=$(in_root getent passwd 1000proxy)
ok "$([ -n "$pw" ] && [ "${pw##*:}" = /usr/sbin/nologin ] && [ "$(echo "$pw" | cut -d: -f3)" -lt 1000 ]; echo $?)" \
    "system user 1000proxy, no login shell ($pw)"
ok "$(in_root getent group 1000proxy > /dev/null; echo $?)" "group 1000proxy"
is_mode /var/lib/1000proxy "1000proxy:1000proxy 750"
is_mode /var/log/1000proxy "1000proxy:1000proxy 750"
is_mode /etc/1000proxy/1000proxy.conf "root:1000proxy 640"
ok "$(grep -qx /etc/1000proxy/1000proxy.conf "$root/var/lib/dpkg/info/1000proxy.conffiles"; echo $?)" \
    "/etc/1000proxy/1000proxy.conf is a conffile"
is_mode /var/lib/1000proxy/secret.key "1000proxy:1000proxy 600"
is_mode /var/lib/1000proxy/1000proxy.db "1000proxy:1000proxy 640"
for u in 1000proxy 1000proxy-work; do
	ok "$(in_root test -f "/lib/systemd/system/$u.service"; echo $?)" "unit $u.service installed"
	ok "$(in_root test -L "/etc/systemd/system/multi-user.target.wants/$u.service"; echo $?)" \
	    "unit $u.service enabled"
done
for f in /etc/nginx/sites-available/1000proxy /etc/cron.d/1000proxy /etc/logrotate.d/1000proxy; do
	ok "$(in_root test -f "$f"; echo $?)" "$f"
done
# Outside comments (a unit's comment may say what make install's
# default would be).
ok "$(cat "$root/lib/systemd/system/1000proxy.service" "$root/lib/systemd/system/1000proxy-work.service" \
    "$root/etc/nginx/sites-available/1000proxy" "$root/etc/cron.d/1000proxy" \
    "$root/etc/logrotate.d/1000proxy" | grep -v '^[[:space:]]*#' | grep -q /usr/local; [ $? -ne 0 ]; echo $?)" \
    "no installed unit, site, cron or logrotate line names /usr/local"
in_root nginx -t > "$tmp/nginx-t.log" 2>&1
rc=$?
ok $rc "nginx -t straight after install"
[ $rc -eq 0 ] || sed -e 's/^/#   /' "$tmp/nginx-t.log"
# The README's step: enable the shipped site as it is (snakeoil until
# the operator's certificate), beside Debian's default site.
ln -s ../sites-available/1000proxy "$root/etc/nginx/sites-enabled/1000proxy"
in_root nginx -t > "$tmp/nginx-t.log" 2>&1
rc=$?
ok $rc "nginx -t with the shipped site enabled as it is"
[ $rc -eq 0 ] || sed -e 's/^/#   /' "$tmp/nginx-t.log"
rm -f "$root/etc/nginx/sites-enabled/1000proxy"
# The README's checks, as the service user: check reads the package's
# config, finds the key and the database, and says ok.
in_root runuser -u 1000proxy -- 1000proxy check > "$tmp/check.log" 2>&1
rc=$?
ok $rc "runuser -u 1000proxy -- 1000proxy check"
sed -e 's/^/#   /' "$tmp/check.log"
ok "$(grep -q /etc/1000proxy/1000proxy.conf "$tmp/check.log"; echo $?)" "check names /etc/1000proxy/1000proxy.conf"

# 4. The daemons as their units run them.  A unit's key, first value.
unit() { sed -n "s/^$2=//p" "$root/lib/systemd/system/$1.service" | head -n 1; }
# Run one ExecStart-style command line as the unit's User=, Group=,
# SupplementaryGroups= and UMask= (the part of the unit that a chroot can
# honour), in the background when $2 is "bg".
as_unit() {
	u=$1; how=$2; shift 2
	user=$(unit "$u" User); group=$(unit "$u" Group); sup=$(unit "$u" SupplementaryGroups)
	um=$(unit "$u" UMask)
	set -- chroot --userspec="$user:${group:-$user}" ${sup:+--groups="$sup"} "$root" \
	    /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	    /bin/sh -c "umask ${um:-0022}; exec $*"
	if [ "$how" = bg ]; then
		"$@" >> "$tmp/$u.log" 2>&1 &
		pids="$pids $!"
	else
		"$@" >> "$tmp/$u.log" 2>&1
	fi
}
# RuntimeDirectory= and its mode, as systemd makes them.
rd=$(unit 1000proxy RuntimeDirectory)
in_root install -d -m "$(unit 1000proxy RuntimeDirectoryMode)" -o "$(unit 1000proxy User)" \
    -g "$(unit 1000proxy Group)" "/run/$rd"
# Every ExecStartPre= in order; a leading "-" (failure ignored) or "+"
# (run as root) prefix is honoured as systemd would.
sed -n 's/^ExecStartPre=//p' "$root/lib/systemd/system/1000proxy.service" > "$tmp/pre"
while IFS= read -r pre; do
	case "$pre" in
	-*) as_unit 1000proxy fg "${pre#-}"; ok 0 "pool ExecStartPre (may fail): $pre" ;;
	+*) in_root /bin/sh -c "${pre#+}" >> "$tmp/1000proxy.log" 2>&1; ok $? "pool ExecStartPre (as root): $pre" ;;
	*) as_unit 1000proxy fg "$pre"; ok $? "pool ExecStartPre: $pre" ;;
	esac
done < "$tmp/pre"
as_unit 1000proxy bg "$(unit 1000proxy ExecStart)"
as_unit 1000proxy-work bg "$(unit 1000proxy-work ExecStart)"
i=0
while [ ! -S "$root/run/1000proxy/fcgi.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ok "$([ -S "$root/run/1000proxy/fcgi.sock" ]; echo $?)" "the pool listens on /run/1000proxy/fcgi.sock"
in_root ls -l /run/1000proxy/ | sed -e 's/^/#   /'
is_mode /run/1000proxy/fcgi.sock "1000proxy:www-data 660"

# nginx with the shipped site, its listen lines moved to ephemeral
# loopback ports in an enabled copy (the default site would take :80).
set -- $(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
port=$1 port80=$2
rm -f "$root/etc/nginx/sites-enabled/default"
sed -e "/listen \[::\]/d" -e "s/listen 443 /listen 127.0.0.1:$port /" \
    -e "s/listen 80;/listen 127.0.0.1:$port80;/" \
    "$root/etc/nginx/sites-available/1000proxy" > "$root/etc/nginx/sites-enabled/1000proxy-test"
ok "$(grep -q "listen 127.0.0.1:$port " "$root/etc/nginx/sites-enabled/1000proxy-test"; echo $?)" \
    "the site's TLS listen line moved to port $port"
in_root nginx -t > "$tmp/nginx-t2.log" 2>&1
rc=$?
ok $rc "nginx -t with the site enabled"
[ $rc -eq 0 ] || sed -e 's/^/#   /' "$tmp/nginx-t2.log"
in_root nginx > "$tmp/nginx.log" 2>&1
ok $? "nginx starts"

# Over TLS (the snakeoil certificate is self-signed: -k).
first=""
for path in /plans /admin/login /healthz; do
	code=000 i=0
	while [ $i -lt 50 ]; do
		code=$(curl -sk -o "$tmp/body" -w '%{http_code}' "https://127.0.0.1:$port$path")
		[ "$code" = 200 ] && break
		sleep 0.2; i=$((i + 1))
	done
	[ -z "$first" ] && [ "$code" = 200 ] && first=$(since "$t2")
	ok "$([ "$code" = 200 ]; echo $?)" "https://127.0.0.1:$port$path answers 200 ($code)"
done
css=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/css/site.css")
ok "$([ "$css" = 200 ]; echo $?)" "nginx serves /css/site.css from /usr/share/1000proxy/public ($css)"
note "fresh root to first HTTPS 200: ${first:-never} s (debootstrap, apt install, start)"
is_mode /var/lib/1000proxy/1000proxy.db-wal "1000proxy:1000proxy 640"
is_mode /var/lib/1000proxy/spool "1000proxy:1000proxy 750"
for u in 1000proxy 1000proxy-work; do
	[ -s "$tmp/$u.log" ] && { note "$u log:"; tail -n 5 "$tmp/$u.log" | sed -e 's/^/#   /'; }
done

# 5. Stop, purge, and the data stays.
[ -s "$root/run/nginx.pid" ] && kill "$(cat "$root/run/nginx.pid")" 2>/dev/null
for p in $pids; do kill "$p" 2>/dev/null; done
for p in $pids; do wait "$p" 2>/dev/null; done
pids=""
in_root apt-get purge -y -qq 1000proxy > "$tmp/purge.log" 2>&1
rc=$?
ok $rc "apt-get purge 1000proxy"
[ $rc -eq 0 ] || sed -e 's/^/#   /' "$tmp/purge.log" | tail -n 20
ok "$(in_root test ! -e /usr/sbin/1000proxy; echo $?)" "purge removed the program"
ok "$(in_root test ! -e /etc/1000proxy/1000proxy.conf; echo $?)" "purge removed the config"
ok "$(! in_root dpkg-statoverride --list /etc/1000proxy/1000proxy.conf > /dev/null; echo $?)" \
    "purge removed the statoverride"
ok "$(in_root test ! -e /lib/systemd/system/1000proxy.service; echo $?)" "purge removed the units"
for f in /var/lib/1000proxy/1000proxy.db /var/lib/1000proxy/secret.key /var/log/1000proxy; do
	ok "$(in_root test -e "$f"; echo $?)" "purge left $f"
done
ok "$(in_root getent passwd 1000proxy > /dev/null; echo $?)" "purge left the user that owns the data"
note "whole test in $(since "$t0") s"

echo "1..$n"
[ $fail -eq 0 ]
