#!/usr/bin/env bash
# h06_mysql_promote -- the MariaDB primary (mysql1) is SIGKILLed mid-drain
# and the semi-synchronous replica (mysql2, AFTER_SYNC: every committed
# transaction was on it before the commit returned) is promoted. The
# workers' batches fail, they reconnect to the host list and write only to
# the writable server; offsets are committed after the rows, so a batch in
# flight is replayed and its rows are inserted idempotently: no row lost,
# none doubled. mysql1 comes back as a read-only replica of mysql2.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 2000)
qty=$(size 2000 20000)
sale_setup "$qty"
sale_load "$id" "$qty" "$rate"
wait_40 "$qty" rows
[[ $(ha_node mysql) == mysql1 ]] || die "mysql1 is not the primary"
rows_before=$(rows_of "$id")
T_FAULT=$(now)
kill -KILL "$(ha_pid mysql1)"
m2() { mariadb --no-defaults -h127.0.0.1 -P"$((COUPONQ_HA_BASE + 307))" -uroot -N -B -e "$1"; }
m2 "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=0" || die "promoting mysql2 failed"
echo mysql2 >"$COUPONQ_STACK_DIR/mysql-primary"
log "mysql1 SIGKILLed at $rows_before rows; mysql2 promoted after $(elapsed "$T_FAULT")s"
sleep 3
stack up mysql1 || log "restarting mysql1 failed (see $WORK/stack.log)"
ro=$(mariadb --no-defaults -h127.0.0.1 -P"$((COUPONQ_HA_BASE + 306))" -uroot -N -B -e 'SELECT @@global.read_only' 2>/dev/null || echo down)
log "mysql1 back with read_only=$ro"
sale_wait
ok=pass
[[ $ro == 1 ]] || { log "mysql1 came back writable (read_only=$ro)"; ok=fail; }
sale_result "$id" "$qty" "$ok" "sale of $qty at ${rate}/s, 2 workers, COUPONQ_MYSQL with both hosts; mysql1 SIGKILLed at $rows_before rows, mysql2 (semi-sync AFTER_SYNC) promoted, mysql1 restarted read-only" \
  rows_at_kill="$rows_before" mysql1_read_only_after="$ro"
