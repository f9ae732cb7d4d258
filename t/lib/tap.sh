# tap.sh: shared set-up for the shell tests: a TAP ok(), done_testing(),
# a temp dir removed at exit, a config inside it, and px() running the
# binary with that config, and skip_all (t/lib/skip.sh: fails under
# CI=true).  Source it; it needs PX_BIN and PX_SRC.
set -u
. "$PX_SRC/t/lib/skip.sh"
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
done_testing() { echo "1..$n"; exit $fail; }
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
cat > "$d/c.conf" <<CONF
database = "$d/db"
sql_dir = "$PX_SRC/sql"
views_dir = "$PX_SRC/views"
spool_dir = "$d/spool"
run_dir = "$d"
key_file = "$d/key"
common_passwords = "$PX_SRC/etc/passwords/common-passwords.txt"
CONF
px() { "$PX_BIN" -c "$d/c.conf" "$@"; }
