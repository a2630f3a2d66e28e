#!/usr/bin/env python3
"""tests/faults/load.py -- the fault scenarios' load client: flash-sale
requests over keep-alive connections, recording who got a 202.

POST /v1/coupons/<id>/issues {"user_id": u} for --requests requests from
--users distinct users (user i%users+base, so each user's repeats are spread
over the run), on --conns keep-alive connections, optionally paced at --rate
requests/s. Writes the user ids that received a 202 to --accepted and the
user ids of requests that were sent but got no answer (connection cut, e.g.
the api was killed) to --unknown; a request whose connection could not even
be opened was never sent and counts as `connect_error`. --ambiguous gets the
user ids whose 503 said "outcome unknown" (the api kept the admission and
re-produces the event: such a user may get a coupon), --events "user
event_id" of every 202 (the checker looks for them in the topic). Prints one
JSON line:
counts by status and result, latencies, a 0.1-second timeline of answers
(202s, 503s, others, errors) by the time they arrived, and the 202s by the
time their request was sent (a request sent after a fault began cannot have
been admitted before it). Scenarios use these to measure recovery. Bounded by --max-seconds.
"""
import argparse
import asyncio
import json
import time

from loadlib import next_paced, read_response


class Stats:
    def __init__(self):
        self.status = {}
        self.result = {}
        self.errors = {}
        self.accepted = set()
        self.unknown = set()
        self.ambiguous = set()
        self.events = {}  # user -> event_id of its 202
        self.lat = []
        self.timeline = {}  # 0.1 s bucket -> [202s, 503s, other, errors]
        self.sent202 = {}   # 0.1 s bucket of the SEND time -> 202s
        self.sent = 0
        self.next = 0

    def tick(self, col):
        sec = round(int(time.time() * 10) / 10, 1)
        row = self.timeline.setdefault(sec, [0, 0, 0, 0])
        row[col] += 1

    def error(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.tick(3)


def doc_of(body):
    try:
        doc = json.loads(body)
        return doc if isinstance(doc, dict) else {}
    except ValueError:
        return {}


def result_of(doc):
    if doc.get('result') == 'unavailable' and \
            'outcome unknown' in str(doc.get('error', '')):
        return 'ambiguous'
    return doc.get('result') or doc.get('error') or '-'


async def one_conn(args, st, t0, deadline):
    reader = writer = None
    while True:
        if time.monotonic() > deadline:
            break
        i = await next_paced(st, args.requests, args.rate, t0)
        if i is None:
            break
        user = args.user_base + (i % args.users) + 1
        coupon = args.coupon[i % len(args.coupon)]
        body = b'{"user_id": %d}' % user
        req = (b'POST /v1/coupons/%d/issues HTTP/1.1\r\nHost: faults\r\n'
               b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n'
               % (coupon, len(body))) + body
        if writer is None:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(args.host, args.port), 5)
            except (OSError, asyncio.TimeoutError):
                st.error('connect_error')
                reader = writer = None
                await asyncio.sleep(0.05)
                continue
        start = time.monotonic()
        sent_at = round(int(time.time() * 10) / 10, 1)
        try:
            writer.write(req)
            st.sent += 1
            status, rbody, close, _ = await asyncio.wait_for(
                read_response(reader), args.timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ValueError, IndexError) as e:
            # Sent, no answer: the api may or may not have admitted the user.
            st.unknown.add(user)
            st.error('no_answer_' + type(e).__name__)
            writer.close()
            reader = writer = None
            continue
        st.lat.append(time.monotonic() - start)
        st.status[status] = st.status.get(status, 0) + 1
        doc = doc_of(rbody)
        res = result_of(doc)
        st.result[res] = st.result.get(res, 0) + 1
        if status == 202:
            st.accepted.add(user)
            st.events[user] = str(doc.get('event_id', ''))
            st.tick(0)
            st.sent202[sent_at] = st.sent202.get(sent_at, 0) + 1
        elif status == 503:
            if res == 'ambiguous':
                st.ambiguous.add(user)
            st.tick(1)
        else:
            st.tick(2)
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def pct(sorted_lat, p):
    if not sorted_lat:
        return None
    return round(sorted_lat[min(len(sorted_lat) - 1,
                                int(p * len(sorted_lat)))] * 1000, 2)


async def run(args):
    st = Stats()
    t0 = time.monotonic()
    deadline = t0 + args.max_seconds
    await asyncio.gather(*(one_conn(args, st, t0, deadline)
                           for _ in range(args.conns)))
    elapsed = time.monotonic() - t0
    with open(args.accepted, 'w') as f:
        f.writelines('%d\n' % u for u in sorted(st.accepted))
    with open(args.unknown, 'w') as f:
        f.writelines('%d\n' % u for u in sorted(st.unknown))
    if args.ambiguous:
        with open(args.ambiguous, 'w') as f:
            f.writelines('%d\n' % u for u in sorted(st.ambiguous))
    if args.events:
        with open(args.events, 'w') as f:
            f.writelines('%d %s\n' % (u, e) for u, e in sorted(st.events.items()))
    lat = sorted(st.lat)
    print(json.dumps({
        'requests': st.next, 'sent': st.sent, 'answered': len(lat),
        'status': {str(k): v for k, v in sorted(st.status.items())},
        'result': st.result, 'errors': st.errors,
        'accepted_users': len(st.accepted), 'unknown_users': len(st.unknown),
        'ambiguous_users': len(st.ambiguous),
        'elapsed_s': round(elapsed, 2),
        'rate': round(len(lat) / elapsed, 1) if elapsed else 0,
        'p50_ms': pct(lat, 0.50), 'p99_ms': pct(lat, 0.99),
        'max_ms': pct(lat, 1.0),
        'timeline': [[s] + v for s, v in sorted(st.timeline.items())],
        'sent202': sorted(st.sent202.items())}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--coupon', type=int, action='append', required=True)
    ap.add_argument('--requests', type=int, default=20000)
    ap.add_argument('--users', type=int, default=10000)
    ap.add_argument('--user-base', type=int, default=0)
    ap.add_argument('--conns', type=int, default=64)
    ap.add_argument('--rate', type=float, default=0, help='0 = as fast as '
                    'the connections go')
    ap.add_argument('--timeout', type=float, default=30)
    ap.add_argument('--max-seconds', type=float, default=600)
    ap.add_argument('--accepted', required=True)
    ap.add_argument('--unknown', required=True)
    ap.add_argument('--ambiguous', help='file: users told "outcome unknown"')
    ap.add_argument('--events', help='file: "user event_id" of each 202')
    args = ap.parse_args()
    if args.host not in ('127.0.0.1', 'localhost', '::1'):
        ap.error('loopback only')
    asyncio.run(run(args))


if __name__ == '__main__':
    main()
