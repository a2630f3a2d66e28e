#!/usr/bin/env python3
"""gen_events.py -- coupon.issue.requested v1 events as `key:value` lines
for `kcat -P -K:` (key = user id, as the api produces them).

  gen_events.py COUPON FIRST_USER COUNT [FIRST_SEQ]

User ids FIRST_USER.. FIRST_USER+COUNT-1, seq FIRST_SEQ.. (default 1), a
fresh ULID per event. Used by the worker's integration tests and the drain
benchmark."""
import os
import sys
import time

B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms, rnd):
    n = (ms << 80) | rnd
    return "".join(B32[(n >> (5 * (25 - i))) & 31] for i in range(26))


def main():
    coupon, first, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    seq = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    ms = int(time.time() * 1000)
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)
    base = int.from_bytes(os.urandom(10), "big") & ((1 << 79) - 1)
    out = sys.stdout
    buf = []
    for i in range(count):
        u = first + i
        buf.append('%d:{"type":"coupon.issue.requested","v":1,"event_id":"%s",'
                   '"coupon_id":%d,"user_id":%d,"seq":%d,"requested_at":"%s"}\n'
                   % (u, ulid(ms, base + i), coupon, u, seq + i, ts))
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))


if __name__ == "__main__":
    main()
