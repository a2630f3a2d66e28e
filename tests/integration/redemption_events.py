#!/usr/bin/env python3
"""redemption_events.py -- coupon.redemption.* v1 events for the worker tests,
built as schemas/redemption.md says use.lua writes them (snapshot, version,
refunds, vendor lines), one "RID:JSON" line per event (kcat -P -K:).

  life COUPON USER ORDER AMOUNT DISCOUNT VENDOR BPS REUSE ACTION...
      one redemption: held, then each ACTION in turn: confirm | release |
      expire | reverse:ID:AMOUNT. --rid RID reuses a redemption id.
  bulk COUPON FIRST_USER N VENDOR BPS
      N redemptions of users FIRST_USER.. with discount 5000 on 30000: all
      held and confirmed; every third reversed in part (10000), every third
      reversed fully in two steps (reuse 1: the use comes back).
  --summary FILE (both): writes "events E\\nledger L\\nused U\\nledger_lines N"
      -- what MySQL must hold once every event is applied.

Every event is checked against schemas/events/coupon.redemption.v1.json
(jsonschema) before it is printed: the generator, the schema and the
worker's decoder must agree.
"""
import json
import os
import random
import sys
import time

import jsonschema

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                           "schemas", "events", "coupon.redemption.v1.json")
with open(SCHEMA_PATH) as f:
    VALIDATOR = jsonschema.Draft202012Validator(json.load(f))

_last = [0, 0]


def b32(v):
    return "".join(CROCKFORD[(v >> (5 * (25 - i))) & 31] for i in range(26))


def ulid():
    """Monotonic within this process, as common/ulid.c."""
    ms = int(time.time() * 1000)
    if ms <= _last[0]:
        ms, rnd = _last[0], _last[1] + 1
    else:
        rnd = random.getrandbits(79)
    _last[0], _last[1] = ms, rnd
    return b32(ms << 80 | rnd)


def rid(coupon):
    return b32(int(time.time() * 1000) << 80 | random.getrandbits(32) << 48 | coupon)


def share(vendor, bps, amount):
    return 0 if vendor == 0 else amount * bps // 10000


class Redemption:
    def __init__(self, coupon, user, order, amount, discount, vendor, bps, reuse,
                 r=None):
        now = int(time.time() * 1000)
        self.r = dict(rid=r or rid(coupon), coupon=coupon, user=user, order=order,
                      a=amount, d=discount, s="held", v=1, h=now, x=now + 600000,
                      c=0, ra=0, rd=0, vd=vendor, bp=bps, ru=reuse)
        self.events = [self.event("held")]

    def event(self, t, rev=("", 0, 0, 0), freed=0, amount=0):
        r = self.r
        ev = {"type": "coupon.redemption." + t, "v": 1, "event_id": ulid(),
              "redemption_id": r["rid"], "coupon_id": r["coupon"],
              "user_id": r["user"], "order_id": r["order"],
              "order_amount": r["a"], "discount": r["d"], "state": r["s"],
              "version": r["v"], "held_at_ms": r["h"], "expires_at_ms": r["x"],
              "confirmed_at_ms": r["c"], "reversed_amount": r["ra"],
              "refunded_discount": r["rd"], "vendor_id": r["vd"],
              "vendor_share_bps": r["bp"], "reuse": r["ru"], "use_freed": freed,
              "reversal_id": rev[0], "reversal_amount": rev[1],
              "reversal_refund": rev[2], "vendor_amount": amount,
              "occurred_at_ms": int(time.time() * 1000)}
        VALIDATOR.validate(ev)
        return ev

    def step(self, action):
        r = self.r
        r["v"] += 1
        if action == "confirm":
            r["s"], r["c"] = "confirmed", int(time.time() * 1000)
            ev = self.event("confirmed", amount=share(r["vd"], r["bp"], r["d"]))
        elif action in ("release", "expire"):
            r["s"] = "released" if action == "release" else "expired"
            ev = self.event(r["s"])
        elif action.startswith("reverse:"):
            _, revid, amount = action.split(":")
            amount = int(amount)
            left = r["a"] - r["ra"]
            assert r["s"] in ("confirmed", "partially_reversed") and 0 < amount <= left
            refund = r["d"] - r["rd"] if amount == left else r["d"] * amount // r["a"]
            before = r["rd"]
            r["ra"] += amount
            r["rd"] += refund
            r["s"] = "reversed" if r["ra"] == r["a"] else "partially_reversed"
            freed = 1 if r["s"] == "reversed" and r["ru"] == 1 else 0
            vendor = -(share(r["vd"], r["bp"], r["rd"]) - share(r["vd"], r["bp"], before))
            ev = self.event("reversed", (revid, amount, refund), freed, vendor)
        else:
            raise SystemExit("unknown action " + action)
        self.events.append(ev)


def emit(events):
    out = sys.stdout
    for ev in events:
        out.write(ev["redemption_id"] + ":" + json.dumps(ev, separators=(",", ":")) + "\n")


def summary(path, events):
    if path is None:
        return
    ledger = sum(e["vendor_amount"] for e in events)
    lines = sum(1 for e in events if e["vendor_amount"] != 0)
    used = sum(1 for e in events if e["type"] == "coupon.redemption.confirmed") - \
        sum(e["use_freed"] for e in events)
    with open(path, "w") as f:
        f.write("events %d\nledger %d\nused %d\nledger_lines %d\n" %
                (len(events), ledger, used, lines))


def main(argv):
    path = r = None
    if "--summary" in argv:
        i = argv.index("--summary")
        path = argv[i + 1]
        del argv[i:i + 2]
    if "--rid" in argv:
        i = argv.index("--rid")
        r = argv[i + 1]
        del argv[i:i + 2]
    if argv[0] == "life":
        c, u, o, a, d, vd, bp, ru = argv[1:9]
        red = Redemption(int(c), int(u), o, int(a), int(d), int(vd), int(bp), int(ru), r)
        for action in argv[9:]:
            red.step(action)
        events = red.events
    elif argv[0] == "bulk":
        c, first, n, vd, bp = (int(x) for x in argv[1:6])
        events = []
        for i in range(n):
            red = Redemption(c, first + i, "bulk-%d" % i, 30000, 5000, vd, bp, 1)
            red.step("confirm")
            if i % 3 == 1:
                red.step("reverse:p:10000")
            elif i % 3 == 2:
                red.step("reverse:a:7")
                red.step("reverse:b:29993")
            events.extend(red.events)
    else:
        raise SystemExit(__doc__)
    emit(events)
    summary(path, events)


if __name__ == "__main__":
    main(sys.argv[1:])
