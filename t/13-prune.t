#!/bin/sh
# `1000proxy cron prune`: expired sessions, spent or expired email tokens
# and idle throttle rows go; live ones, locks, the audit log and the
# ledger stay.  Safe to run twice.
. "$PX_SRC/t/lib/tap.sh"
q() { sqlite3 "$d/db" "$1"; }
px migrate >/dev/null; ok $? "migrate"
q "INSERT INTO customers (id, email, password_hash) VALUES (1, 'a@example.com', 'x');
   INSERT INTO sessions (token_hash, kind, customer_id, csrf_token, expires_at) VALUES
     (x'01', 'customer', 1, 'c', unixepoch() - 10), (x'02', 'customer', 1, 'c', unixepoch() + 3600);
   INSERT INTO email_tokens (token_hash, purpose, customer_id, expires_at, used_at) VALUES
     (x'01', 'verify', 1, unixepoch() + 3600, unixepoch() - 30 * 86400),
     (x'02', 'reset', 1, unixepoch() - 30 * 86400, NULL),
     (x'03', 'reset', 1, unixepoch() + 3600, NULL);
   INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES
     ('acct:old', 3, unixepoch() - 3 * 86400, 0),
     ('acct:locked', 10, unixepoch() - 3 * 86400, unixepoch() + 600),
     ('acct:recent', 2, unixepoch() - 60, 0);
   INSERT INTO audit_log (actor_kind, action) VALUES ('system', 'x');"
out=$(px cron prune 2>&1); r=$?
[ $r -eq 0 ]; ok $? "prune runs"
echo "$out" | grep -q "1 expired sessions removed" ; ok $? "it reports one expired session"
[ "$(q 'SELECT count(*) FROM sessions')" = 1 ] && [ "$(q "SELECT hex(token_hash) FROM sessions")" = 02 ]; ok $? "the live session stays"
[ "$(q 'SELECT group_concat(hex(token_hash)) FROM email_tokens')" = 03 ]; ok $? "spent and long-expired email tokens go, the live one stays"
[ "$(q "SELECT group_concat(key) FROM (SELECT key FROM login_throttle ORDER BY key)")" = "acct:locked,acct:recent" ]; ok $? "idle throttle rows go; locks and recent failures stay"
[ "$(q 'SELECT count(*) FROM audit_log')" = 1 ]; ok $? "the audit log is untouched"
px cron prune >/dev/null 2>&1 & px cron prune >/dev/null 2>&1; r1=$?; wait $!; r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ]; ok $? "two runs at once both succeed"
done_testing
