#!/usr/bin/env bash
# tools_redemption.sh -- couponqctl's redemption tools on the real stack:
# create with every use flag (MySQL columns + the Redis use hash), vendor
# create/show, status's use budget, settle (twice = the same settlement; a
# crash before COMMIT leaves nothing and the re-run gives what an uncrashed
# run gives; a reversal after a settlement is a negative line in the next).
#
# Redemption rows and ledger lines are written with SQL here (what a worker
# writes), so the test depends on no api or worker.
source "$(dirname "$0")/../lib.sh"

CTL=$COUPONQ_BUILD/couponqctl
[[ -x $CTL ]] || fail "build couponqctl first"

json() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d.get(k) if isinstance(d, dict) else None
print(json.dumps(d) if not isinstance(d, str) else d)' "$1"; }
# expect_rc CODE WHAT CMD... -- runs CMD, asserts its exit code; stdout in $out.
expect_rc() {
  local want=$1 what=$2 rc=0
  shift 2
  out=$("$@" 2>"$TEST_TMP/stderr") || rc=$?
  assert_eq "$want" "$rc" "$what (stderr: $(cat "$TEST_TMP/stderr"))"
}
ulid() { python3 -c 'import random; print("".join(random.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(26)))'; }
# line VENDOR AMOUNT AGE_SQL -- a ledger line dated NOW(3) - AGE_SQL.
line() {
  sql "INSERT INTO vendor_ledger (vendor_id, event_id, redemption_id, amount, date_created)
       VALUES ($1, '$(ulid)', '$(ulid)', $2, NOW(3) - INTERVAL $3)"
}

# ------------------------------------------------------------ vendor create
VNAME="vendor $TEST_NAME $(date +%s%N)"
V=$("$CTL" vendor create --name "$VNAME") || fail "vendor create failed"
assert_eq "$VNAME" "$(sql "SELECT name FROM vendors WHERE id=$V")" "vendor row"
expect_rc 3 "a vendor name is unique" "$CTL" vendor create --name "$VNAME"
expect_rc 2 "vendor create needs --name" "$CTL" vendor create
expect_rc 4 "vendor show of no vendor" "$CTL" vendor show 999999999999
expect_rc 2 "vendor without a subcommand" "$CTL" vendor

# ------------------------------------------------------------ create
ID=$(new_coupon_id)
log "coupon $ID vendor $V"
out=$("$CTL" create --id "$ID" --title "use flags" --quantity 100 --end +1h \
  --discount 5000 --min-amount 10000 --use-limit 40 --hold-ttl 90s \
  --use-until +2h --vendor "$V" --vendor-share-bps 2500 --no-reuse --json) ||
  fail "create with every use flag failed: $out"
assert_eq "40 90000 $V 2500 0 5000 10000 0" \
  "$(sql "SELECT use_limit, hold_ttl_ms, vendor_id, vendor_share_bps, reuse_after_reverse,
          discount_amount, min_available_amount, used_quantity FROM coupons WHERE id=$ID" | tr '\t' ' ')" \
  "MySQL use columns"
until_ms=$(sql "SELECT CAST(ROUND(UNIX_TIMESTAMP(use_until)*1000) AS SIGNED) FROM coupons WHERE id=$ID")
now_ms=$(date +%s%3N)
(( until_ms > now_ms + 7000000 && until_ms < now_ms + 7300000 )) || fail "use_until $until_ms is not about now + 2h"
assert_eq "40 90000 $until_ms 5000 10000 $V 2500 0 0" \
  "$(rcli HMGET "couponq:{c$ID}:use" limit ttl_ms until_ms discount min_amount vendor share_bps reuse confirmed | tr '\n' ' ' | sed 's/ $//')" \
  "Redis use hash"
assert_eq "open" "$(rcli HGET "couponq:{c$ID}:meta" state)" "meta written with the use hash"

# Defaults: no use limit (-1 in Redis, NULL in MySQL), 10 min holds, reuse.
ID2=$(new_coupon_id)
"$CTL" create --id "$ID2" --title "use defaults" --quantity 10 --end +1h >/dev/null || fail "create with defaults"
assert_eq "-1 600000 -1 0 0 0 10000 1 0" \
  "$(rcli HMGET "couponq:{c$ID2}:use" limit ttl_ms until_ms discount min_amount vendor share_bps reuse confirmed | tr '\n' ' ' | sed 's/ $//')" \
  "Redis use hash defaults"
assert_eq "NULL 600000 NULL NULL 10000 1" \
  "$(sql "SELECT IFNULL(use_limit,'NULL'), hold_ttl_ms, IFNULL(use_until,'NULL'), IFNULL(vendor_id,'NULL'),
          vendor_share_bps, reuse_after_reverse FROM coupons WHERE id=$ID2" | tr '\t' ' ')" \
  "MySQL use column defaults"

# Bad use flags change nothing.
ID3=$(new_coupon_id)
expect_rc 2 "--vendor must exist" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --vendor 999999999999
expect_rc 2 "--vendor-share-bps above 10000" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --vendor-share-bps 10001
expect_rc 2 "--hold-ttl not a duration" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --hold-ttl soon
expect_rc 2 "--hold-ttl below 1s" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --hold-ttl 10ms
expect_rc 2 "--use-until in the past" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --use-until -1m
expect_rc 2 "--use-limit not a number" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --use-limit many
assert_eq 0 "$(sql "SELECT COUNT(*) FROM coupons WHERE id=$ID3")" "no row after refused creates"
assert_eq 0 "$(rcli EXISTS "couponq:{c$ID3}:use")" "no use hash after refused creates"
expect_rc 2 "a coupon id >= 2^48 is refused" "$CTL" create --id 281474976710656 --title x --quantity 1 --end +1h
assert_contains "$(cat "$TEST_TMP/stderr")" "2^48" "the refusal says why"
assert_eq 0 "$(sql "SELECT COUNT(*) FROM coupons WHERE id=281474976710656")" "no row for the refused id"

# ------------------------------------------------------------ status
# Rows as a worker writes them: one confirmed, one held (live), one held
# past its expiry (reported as expired), one released.
redemption_row() { # ID RID USER ORDER STATE EXPIRES_SQL
  sql "INSERT INTO coupon_redemptions (id, coupon_id, user_id, order_id, order_amount, discount,
         state, version, held_at, expires_at, vendor_id, vendor_share_bps, reuse_after_reverse)
       VALUES ('$2', $1, $3, '$4', 30000, 5000, '$5', 1, NOW(3) - INTERVAL 1 MINUTE, $6, NULL, 10000, 1)"
}
redemption_row "$ID" "$(ulid)" 1 o-1 confirmed "NOW(3) + INTERVAL 1 MINUTE"
redemption_row "$ID" "$(ulid)" 2 o-2 held "NOW(3) + INTERVAL 1 MINUTE"
redemption_row "$ID" "$(ulid)" 3 o-3 held "NOW(3) - INTERVAL 1 SECOND"
redemption_row "$ID" "$(ulid)" 4 o-4 released "NOW(3) + INTERVAL 1 MINUTE"
out=$("$CTL" status "$ID" --json) || fail "status failed: $out"
assert_eq '{"held": 1, "confirmed": 1, "released": 1, "expired": 1, "partially_reversed": 0, "reversed": 0}' \
  "$(json redemptions <<<"$out")" "status: redemptions by state"
assert_eq "40 0 40 0 0 90000" \
  "$(for k in use_limit used_quantity redis_use_limit redis_confirmed redis_live_holds hold_ttl_ms; do json $k <<<"$out"; done | tr '\n' ' ' | sed 's/ $//')" \
  "status: use budget"
rcli ZADD "couponq:{c$ID}:use:holds" $((now_ms + 600000)) LIVE1 $((now_ms - 1000)) GONE1 >/dev/null
assert_eq 1 "$("$CTL" status "$ID" --json | json redis_live_holds)" "status: only unexpired holds are live"
assert_contains "$("$CTL" status "$ID2")" "use_limit: unlimited" "status text: no use limit"

# ------------------------------------------------------------ settle
line "$V" 1000 "3 HOUR"
line "$V" 250 "2 HOUR"
line "$V" -100 "90 MINUTE"
line "$V" 400 "30 MINUTE"
T1=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S.000Z)
T2=$(date -u -d '-10 minute' +%Y-%m-%dT%H:%M:%S.000Z)
out=$("$CTL" settle --vendor "$V" --until "$T1" --json) || fail "settle failed: $out"
S1=$(json settlement_id <<<"$out")
assert_eq "1150 3 false" "$(json total <<<"$out") $(json line_count <<<"$out") $(json existing <<<"$out")" "first settlement"
out=$("$CTL" settle --vendor "$V" --until "$T1" --json) || fail "second settle failed: $out"
assert_eq "$S1 1150 3 true" "$(json settlement_id <<<"$out") $(json total <<<"$out") $(json line_count <<<"$out") $(json existing <<<"$out")" \
  "settling again gives the same settlement"
assert_eq 1 "$(sql "SELECT COUNT(*) FROM settlements WHERE vendor_id=$V")" "one settlement row"
expect_rc 3 "--until in the future" "$CTL" settle --vendor "$V" --until +1h
expect_rc 4 "settle of no vendor" "$CTL" settle --vendor 999999999999 --until "$T1"
expect_rc 2 "settle needs --until" "$CTL" settle --vendor "$V"

# A crash before COMMIT leaves nothing.
expect_rc 86 "the crash hook" env COUPONQ_TEST_SETTLE_CRASH=after_lines "$CTL" settle --vendor "$V" --until "$T2"
assert_eq 1 "$(sql "SELECT COUNT(*) FROM settlements WHERE vendor_id=$V")" "no settlement after the crash"
assert_eq 1 "$(sql "SELECT COUNT(*) FROM vendor_ledger WHERE vendor_id=$V AND settlement_id IS NULL")" "the crash moved no line"
out=$("$CTL" settle --vendor "$V" --until "$T2" --json) || fail "settle after the crash failed: $out"
S2=$(json settlement_id <<<"$out")
assert_eq "400 1 false" "$(json total <<<"$out") $(json line_count <<<"$out") $(json existing <<<"$out")" \
  "the re-run after the crash settles what an uncrashed run would"

# A reversal after the settlement: a negative line in the next one; the
# settled lines are never touched.
before=$(sql "SELECT GROUP_CONCAT(id, ':', amount, ':', settlement_id ORDER BY id) FROM vendor_ledger WHERE vendor_id=$V AND settlement_id IS NOT NULL")
line "$V" -250 "1 SECOND"
out=$("$CTL" vendor show "$V" --json) || fail "vendor show failed: $out"
assert_eq "1300 -250 1 2" "$(json balance <<<"$out") $(json open_total <<<"$out") $(json open_line_count <<<"$out") $(json settlement_count <<<"$out")" \
  "vendor show: balance, open lines, settlements"
assert_eq "[$S1, $S2]" "$(python3 -c 'import json,sys; print([s["id"] for s in json.load(sys.stdin)["settlements"]])' <<<"$out")" "vendor show lists the settlements"
assert_eq "[-250]" "$(python3 -c 'import json,sys; print([l["amount"] for l in json.load(sys.stdin)["open_lines"]])' <<<"$out")" "vendor show lists the open line"
out=$("$CTL" settle --vendor "$V" --until now --json) || fail "third settle failed: $out"
assert_eq "-250 1" "$(json total <<<"$out") $(json line_count <<<"$out")" "the reversal is a negative line of the next settlement"
assert_eq "$before" "$(sql "SELECT GROUP_CONCAT(id, ':', amount, ':', settlement_id ORDER BY id) FROM vendor_ledger WHERE vendor_id=$V AND settlement_id IN ($S1, $S2)")" \
  "settled lines unchanged"
assert_eq "1300 0" "$("$CTL" vendor show "$V" --json | json balance) $("$CTL" vendor show "$V" --json | json open_line_count)" "all settled"
log "ok"
