#!/bin/sh
# `1000proxy user add`: staff accounts from the command line, with the
# password policy, argon2id PHC hashes, role checks and an audit row.
. "$PX_SRC/t/lib/tap.sh"
px migrate >/dev/null; ok $? "migrate"
echo 'qwertyuiop123' | px user add a@example.com 2>"$d/err"; r=$?
[ $r -ne 0 ] && grep -q 'commonly used' "$d/err"; ok $? "a common password is refused"
echo 'short' | px user add a@example.com 2>"$d/err"; r=$?
[ $r -ne 0 ] && grep -q 'at least 12' "$d/err"; ok $? "a short password is refused"
echo 'correct horse battery staple' | px user add --role boss a@example.com 2>"$d/err"; r=$?
[ $r -ne 0 ] && grep -q 'no role' "$d/err"; ok $? "an unknown role is refused"
echo 'correct horse battery staple' | px user add not-an-email 2>"$d/err"; r=$?
[ $r -ne 0 ] && grep -q 'not a valid email' "$d/err"; ok $? "a malformed email is refused"
echo 'correct horse battery staple' | px user add --role support --name 'Sam' sam@example.com >/dev/null; ok $? "a staff account is created"
h=$(sqlite3 "$d/db" "SELECT password_hash FROM staff WHERE email = 'sam@example.com'")
case "$h" in '$pepper1$'????????'$argon2id$v=19$m=7168,t=5,p=1$'*) r=0 ;; *) r=1 ;; esac; ok $r "stored peppered, as an argon2id PHC string with m=7 MiB, t=5, p=1"
echo 'correct horse battery staple' | px user add SAM@example.com 2>"$d/err"; r=$?
[ $r -ne 0 ] && grep -q 'exists' "$d/err"; ok $? "emails are unique regardless of case"
px user list | grep -q '^sam@example.com	support	active	no-totp$'; ok $? "user list shows role, state and that TOTP is not yet enrolled"
c=$(sqlite3 "$d/db" "SELECT count(*) FROM audit_log WHERE action = 'staff.create'")
[ "$c" = 1 ]; ok $? "one audit row for the creation"
done_testing
