#!/usr/bin/env bash
# The local stack: real servers answering, configured as DESIGN.md says, and
# `up` idempotent (a second up starts nothing and changes nothing).
source "$(dirname "$0")/../lib.sh"
STACK=$COUPONQ_SRC/scripts/stack

pids_before=$(cat "$COUPONQ_STACK_DIR"/{redis/redis,mysql/mysqld,kafka/kafka}.pid | xargs)
out=$("$STACK" up 2>&1)
pids_after=$(cat "$COUPONQ_STACK_DIR"/{redis/redis,mysql/mysqld,kafka/kafka}.pid | xargs)
assert_eq "$pids_before" "$pids_after" "pids after a second 'stack up'"
grep -q 'applied' <<<"$out" && fail "second 'stack up' re-applied DDL: $out"

assert_eq "appendonly yes" "$(rcli CONFIG GET appendonly | xargs)" "redis AOF"
assert_eq "appendfsync everysec" "$(rcli CONFIG GET appendfsync | xargs)" "redis fsync policy"
tables=$(sql "SHOW TABLES" | sort | xargs)
for t in coupons coupon_issues schema_migrations; do
  grep -qw "$t" <<<"$tables" || fail "mysql table $t missing (have: $tables)"
done
# Every DDL file is recorded as applied.
for f in "$COUPONQ_SRC"/schemas/mysql/*.sql; do
  v=$(basename "$f" .sql)
  assert_eq 1 "$(sql "SELECT COUNT(*) FROM schema_migrations WHERE version='$v'")" "migration $v recorded"
done
sql "SHOW INDEX FROM coupon_issues WHERE Key_name='uq_coupon_issues_coupon_user' AND Non_unique=0" | grep -q coupon_id ||
  fail "coupon_issues lacks UNIQUE(coupon_id, user_id)"

meta=$(kcat -b "$COUPONQ_KAFKA" -L 2>&1)
assert_contains "$meta" 'topic "couponq.issue-requests" with 6 partitions' "kafka topic"
assert_contains "$meta" 'topic "couponq.issue-requests.dlq" with 6 partitions' "kafka dlq topic"
assert_contains "$meta" 'topic "couponq.redemptions" with 6 partitions' "kafka redemption topic"
# A real broker: a message round-trips.
t=$(new_topic stack 1)
echo "k:hello" | kcat -b "$COUPONQ_KAFKA" -P -t "$t" -K: 2>/dev/null
assert_eq "hello" "$(kcat -b "$COUPONQ_KAFKA" -C -t "$t" -e -q -c 1 2>/dev/null)" "kafka round trip"
# Listening on loopback only.
ss -ltnH | awk '{print $4}' | grep -E ":(${REDIS_PORT}|${MYSQL_PORT}|${COUPONQ_KAFKA##*:})$" | grep -vE '^(127\.[0-9.]+|\[::ffff:127\.[0-9.]+\]|\[::1\]):' &&
  fail "a stack server listens beyond loopback"
"$COUPONQ_SRC/scripts/stack" status >/dev/null || fail "stack status not ok"
log "stack ok"
