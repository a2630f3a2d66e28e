#!/usr/bin/env python3
"""tests/faults/events.py -- coupon.issue.requested events for kcat, valid
ones mixed at random with poison ones, for the poison scenario.

Prints `key<TAB>value` lines (`kcat -P -K '\t'`), key = user id. The poison
kinds and the DLQ reason the worker must give each:
  bad_json        not JSON
  wrong_type      type is not coupon.issue.requested
  wrong_version   v is 2
  missing_field   no user_id
  bad_field       user_id is negative
  unknown_field   an extra field
  too_big         a 100 KiB payload (over the 64 KiB limit)
  unknown_coupon  a well-formed event for a coupon that does not exist
Writes the expected count per reason and the valid user ids (--expect FILE,
JSON) so the scenario can compare them with the DLQ and the rows.
"""
import argparse
import json
import random
import time

CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'


def ulid():
    return random.choice('01234567') + ''.join(random.choice(CROCKFORD)
                                               for _ in range(25))


def event(coupon, user, seq, **over):
    ms = int(time.time() * 1000)
    ev = {'type': 'coupon.issue.requested', 'v': 1, 'event_id': ulid(),
          'coupon_id': coupon, 'user_id': user, 'seq': seq,
          'requested_at': time.strftime('%Y-%m-%dT%H:%M:%S',
                                        time.gmtime(ms // 1000)) +
          '.%03dZ' % (ms % 1000)}
    ev.update(over)
    return {k: v for k, v in ev.items() if v is not None}


def poison(kind, coupon, user, seq, missing_coupon):
    if kind == 'bad_json':
        return '{"type": "coupon.issue.requested", "v": 1, oops'
    if kind == 'wrong_type':
        return json.dumps(event(coupon, user, seq, type='coupon.other'))
    if kind == 'wrong_version':
        return json.dumps(event(coupon, user, seq, v=2))
    if kind == 'missing_field':
        return json.dumps(event(coupon, user, seq, user_id=None))
    if kind == 'bad_field':
        return json.dumps(event(coupon, user, seq, user_id=-user))
    if kind == 'unknown_field':
        return json.dumps(event(coupon, user, seq, extra='x'))
    if kind == 'too_big':
        return json.dumps(event(coupon, user, seq, pad='x' * 100 * 1024))
    if kind == 'unknown_coupon':
        return json.dumps(event(missing_coupon, user, seq))
    raise ValueError(kind)


KINDS = ['bad_json', 'wrong_type', 'wrong_version', 'missing_field',
         'bad_field', 'unknown_field', 'too_big', 'unknown_coupon']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--coupon', type=int, required=True)
    ap.add_argument('--missing-coupon', type=int, required=True)
    ap.add_argument('--valid', type=int, default=2000)
    ap.add_argument('--each', type=int, default=20, help='poison per kind')
    ap.add_argument('--user-base', type=int, default=0)
    ap.add_argument('--expect', required=True)
    args = ap.parse_args()
    items = [('valid', args.user_base + i + 1) for i in range(args.valid)]
    pu = args.user_base + args.valid + 1
    for kind in KINDS:
        for _ in range(args.each):
            items.append((kind, pu))
            pu += 1
    random.shuffle(items)
    for seq, (kind, user) in enumerate(items, 1):
        if kind == 'valid':
            value = json.dumps(event(args.coupon, user, seq))
        else:
            value = poison(kind, args.coupon, user, seq, args.missing_coupon)
        print('%d\t%s' % (user, value))
    with open(args.expect, 'w') as f:
        json.dump({'reasons': {k: args.each for k in KINDS},
                   'valid_users': sorted(u for k, u in items if k == 'valid')},
                  f)


if __name__ == '__main__':
    main()
