#!/usr/bin/env python3
"""use_sim.py -- helpers for the redemption tool tests (tools_redemption.sh).

  use_sim.py rid COUPON   a redemption id carrying COUPON (schemas/redemption.md:
                          48-bit ms time, 32 random bits, 48-bit coupon id)
  use_sim.py ulid         an event id
  use_sim.py sql          events (use.lua's JSON, one per line) on stdin ->
                          the SQL a worker's transaction writes for them
                          (schemas/redemption.md "Events": the row moves only
                          to a higher version, every event in
                          redemption_events, a ledger line per event with
                          vendor_amount != 0, used_quantity +1 per confirm
                          and -1 per use given back)

The tests write MySQL this way so that they depend on use.lua alone, not on
the api or the worker.
"""
import json
import random
import sys
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid128(n):
    return "".join(CROCKFORD[(n >> (5 * (25 - i))) & 31] for i in range(26))


def rid(coupon):
    ms = int(time.time() * 1000)
    return ulid128((ms << 80) | (random.getrandbits(32) << 48) | coupon)


def ulid():
    return ulid128((int(time.time() * 1000) << 80) | random.getrandbits(80))


def dt(ms):
    return "FROM_UNIXTIME(%d / 1000)" % ms if ms else "NULL"


def q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


# version last: MySQL assigns left to right, and each IF compares with the
# row's version as it is at that point.
ROW_COLS = ("state", "reversed_amount", "refunded_discount", "use_freed", "expires_at",
            "confirmed_at", "version")


def event_sql(ev):
    out = ["INSERT IGNORE INTO redemption_events (event_id, redemption_id, type, payload, occurred_at)"
           " VALUES (%s, %s, %s, %s, %s);" % (q(ev["event_id"]), q(ev["redemption_id"]), q(ev["type"]),
                                               q(json.dumps(ev, separators=(",", ":"))),
                                               dt(ev["occurred_at_ms"])),
           # the counter moves once per new event, as in a worker's batch
           "SET @new = ROW_COUNT();"]
    vendor = ev["vendor_id"] or None
    out.append(
        "INSERT INTO coupon_redemptions (id, coupon_id, user_id, order_id, order_amount, discount, state,"
        " version, held_at, expires_at, confirmed_at, reversed_amount, refunded_discount, vendor_id,"
        " vendor_share_bps, reuse_after_reverse, use_freed) VALUES (%s, %d, %d, %s, %d, %d, %s, %d, %s,"
        " %s, %s, %d, %d, %s, %d, %d, %d) ON DUPLICATE KEY UPDATE %s;" % (
            q(ev["redemption_id"]), ev["coupon_id"], ev["user_id"], q(ev["order_id"]),
            ev["order_amount"], ev["discount"], q(ev["state"]), ev["version"], dt(ev["held_at_ms"]),
            dt(ev["expires_at_ms"]), dt(ev["confirmed_at_ms"]), ev["reversed_amount"],
            ev["refunded_discount"], vendor if vendor else "NULL", ev["vendor_share_bps"], ev["reuse"],
            ev["use_freed"],
            ", ".join("%s = IF(VALUES(version) > version, VALUES(%s), %s)" % (c, c, c)
                      for c in ROW_COLS)))
    if ev["vendor_amount"] != 0 and vendor:
        out.append("INSERT IGNORE INTO vendor_ledger (vendor_id, event_id, redemption_id, amount)"
                   " VALUES (%d, %s, %s, %d);" % (vendor, q(ev["event_id"]), q(ev["redemption_id"]),
                                                  ev["vendor_amount"]))
    delta = (1 if ev["type"] == "coupon.redemption.confirmed" else 0) - ev["use_freed"]
    if delta:
        out.append("UPDATE coupons SET used_quantity = used_quantity + %d * @new WHERE id = %d;"
                   % (delta, ev["coupon_id"]))
    return out


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "rid":
        print(rid(int(sys.argv[2])))
    elif cmd == "ulid":
        print(ulid())
    elif cmd == "sql":
        for line in sys.stdin:
            if line.strip():
                print("\n".join(event_sql(json.loads(line))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
