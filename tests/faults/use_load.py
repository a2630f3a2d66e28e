#!/usr/bin/env python3
"""tests/faults/use_load.py -- the redemption scenarios' load client:
checkouts against couponq-api, with a per-request history, and a sampler
that reads the coupon's use budget from Redis all the time.

A checkout (index i, user base + i % users + 1, order "o<coupon>-<i>") is:
  hold    POST /v1/coupons/C/redemptions {"user_id","order_id","order_amount"}
then, by a seeded draw: confirm (--confirm), cancel (--cancel), a late
confirm after the hold expired (--late: sleeps --ttl-s + 0.3 s first), or
abandon (the rest: the hold is left to expire). A confirmed redemption is
reversed with probability --reverse: a partial reversal of a third, then
(half of the time) the rest.

Like a real checkout, a step whose answer was a 503 or never came (the
connection was cut: the api was killed) is sent again, the same request
(same order id, same reversal id), after min(Retry-After, 1) s, up to
--retries times (except, with --give-up, that share of checkouts, which
stop at the first cut); the redemption endpoints are idempotent, so a retry never
takes a second use. Every attempt is one line of --history (JSON): i, op,
order, user, rid, status (0 = no answer), result, state, refunded (reverse),
t (unix time of the answer).

The sampler (--redis-port, or with --sentinel-port the primary the
sentinel names, asked again after each lost connection) runs a read-only script every 10 ms that returns,
at one instant of Redis time, the coupon's `confirmed` counter, its live
holds (ZCOUNT use:holds (now +inf)) and its limit: held + confirmed <= limit
must hold at every moment, and each sample that breaks it is reported.

Prints one JSON line: requests, statuses and results by op, latencies,
samples, the largest held + confirmed seen, violations, and a 0.1 s timeline
of answers [t, 2xx, 503, other, no answer]. Bounded by --max-seconds.
"""
import argparse
import asyncio
import json
import random
import time

from loadlib import next_paced, read_response

SAMPLE_LUA = b"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local c = redis.call('HGET', KEYS[1], 'confirmed')
local l = redis.call('HGET', KEYS[1], 'limit')
local h = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
return {c or '-', h, l or '-'}
"""


class Stats:
    def __init__(self):
        self.status = {}  # "op status" -> n
        self.result = {}  # "op result" -> n
        self.lat = {}     # op -> [s]
        self.timeline = {}
        self.requests = 0
        self.no_answer = 0
        self.samples = 0
        self.max_in_use = 0
        self.limit = None
        self.violations = []
        self.sample_errors = 0
        self.next = 0

    def tick(self, col):
        sec = round(int(time.time() * 10) / 10, 1)
        self.timeline.setdefault(sec, [0, 0, 0, 0])[col] += 1


class Conn:
    """One keep-alive connection, reopened after a cut."""

    def __init__(self, args):
        self.args = args
        self.reader = self.writer = None

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method, path, body):
        """-> (status, doc, retry_after); status 0 = no answer."""
        if self.writer is None:
            try:
                self.reader, self.writer = await asyncio.wait_for(
                    asyncio.open_connection(self.args.host, self.args.port), 5)
            except (OSError, asyncio.TimeoutError):
                self.close()
                return -1, {}, 0.2  # never sent
        raw = body.encode()
        req = ('%s %s HTTP/1.1\r\nHost: faults\r\nContent-Type: '
               'application/json\r\nContent-Length: %d\r\n\r\n'
               % (method, path, len(raw))).encode() + raw
        try:
            self.writer.write(req)
            status, rbody, close, retry = await asyncio.wait_for(
                read_response(self.reader), self.args.timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ValueError, IndexError):
            self.close()
            return 0, {}, 0.2
        if close:
            self.close()
        try:
            doc = json.loads(rbody)
            if not isinstance(doc, dict):
                doc = {}
        except ValueError:
            doc = {}
        return status, doc, retry


async def step(args, st, conn, hist, i, op, method, path, body, user, order,
               rid='', giveup=False):
    """Sends one step, again after a 503 or a cut, -> (status, doc)."""
    status, doc = 0, {}
    for attempt in range(args.retries + 1):
        t0 = time.monotonic()
        status, doc, retry = await conn.request(method, path, body)
        if status == -1:  # not sent: not an attempt the api saw
            await asyncio.sleep(retry)
            continue
        st.requests += 1
        st.lat.setdefault(op, []).append(time.monotonic() - t0)
        key = '%s %d' % (op, status)
        st.status[key] = st.status.get(key, 0) + 1
        res = doc.get('result') or doc.get('error') or '-'
        if status == 503 and 'outcome unknown' in str(doc.get('error', '')):
            res = 'ambiguous'
        rkey = '%s %s' % (op, res if len(res) < 40 else res[:40])
        st.result[rkey] = st.result.get(rkey, 0) + 1
        if status == 0:
            st.no_answer += 1
            st.tick(3)
        elif status == 503:
            st.tick(1)
        elif status < 300:
            st.tick(0)
        else:
            st.tick(2)
        hist.write(json.dumps({
            'i': i, 'op': op, 'attempt': attempt, 'order': order,
            'user': user, 'rid': doc.get('redemption_id', rid),
            'status': status, 'result': res, 'state': doc.get('state', doc.get('result', '')),
            'refunded': doc.get('refunded_discount'),
            'reversed_amount': doc.get('reversed_amount'),
            't': round(time.time(), 3)}) + '\n')
        if status not in (0, 503) or (status == 0 and giveup):
            return status, doc
        await asyncio.sleep(min(retry, 1.0) if status == 503 else 0.2)
    return status, doc


async def checkout(args, st, conn, hist, i):
    rng = random.Random(args.seed * 1000003 + i)
    user = args.user_base + (i % args.users) + 1
    order = 'o%d-%d' % (args.coupon, i)
    c = args.coupon
    # a client that gives up after a cut (no retry): only reconcile --repair
    # can then publish what the killed api left without its event
    g = rng.random() < args.give_up
    status, doc = await step(
        args, st, conn, hist, i, 'hold', 'POST', '/v1/coupons/%d/redemptions' % c,
        json.dumps({'user_id': user, 'order_id': order,
                    'order_amount': args.amount}), user, order, giveup=g)
    # a 201's `result` is held; a replay's 200 `result` is the current state
    if status not in (200, 201) or doc.get('result') != 'held':
        return
    rid = doc.get('redemption_id', '')
    draw = rng.random()
    if args.think_ms:
        await asyncio.sleep(rng.random() * args.think_ms / 1000)
    if draw < args.late:
        await asyncio.sleep(args.ttl_s + 0.3)
        await step(args, st, conn, hist, i, 'confirm', 'POST',
                   '/v1/redemptions/%s/confirm' % rid, '{}', user, order, rid, giveup=g)
        return
    draw -= args.late
    if draw < args.cancel:
        await step(args, st, conn, hist, i, 'cancel', 'POST',
                   '/v1/redemptions/%s/cancel' % rid, '{}', user, order, rid, giveup=g)
        return
    draw -= args.cancel
    if draw >= args.confirm:
        return  # abandoned: the hold expires
    status, doc = await step(args, st, conn, hist, i, 'confirm', 'POST',
                             '/v1/redemptions/%s/confirm' % rid, '{}', user,
                             order, rid, giveup=g)
    if status != 200 or doc.get('result') != 'confirmed':
        return
    if rng.random() >= args.reverse:
        return
    part = args.amount // 3
    status, doc = await step(
        args, st, conn, hist, i, 'reverse', 'POST',
        '/v1/redemptions/%s/reverse' % rid,
        json.dumps({'reversal_id': 'r1', 'amount': part}), user, order, rid, giveup=g)
    if status != 200 or rng.random() < 0.5:
        return
    await step(args, st, conn, hist, i, 'reverse', 'POST',
               '/v1/redemptions/%s/reverse' % rid,
               json.dumps({'reversal_id': 'r2', 'amount': args.amount - part}),
               user, order, rid, giveup=g)


async def one_conn(args, st, hist, t0, deadline):
    conn = Conn(args)
    while time.monotonic() < deadline:
        i = await next_paced(st, args.checkouts, args.rate, t0)
        if i is None:
            break
        await checkout(args, st, conn, hist, i)
    conn.close()


def resp(*parts):
    out = b'*%d\r\n' % len(parts)
    for p in parts:
        p = p if isinstance(p, bytes) else str(p).encode()
        out += b'$%d\r\n%s\r\n' % (len(p), p)
    return out


async def read_resp(reader):
    line = await reader.readline()
    kind, rest = line[:1], line[1:-2]
    if kind in (b'+', b'-'):
        if kind == b'-':
            raise ValueError(rest.decode())
        return rest.decode()
    if kind == b':':
        return int(rest)
    if kind == b'$':
        n = int(rest)
        if n < 0:
            return None
        data = await reader.readexactly(n + 2)
        return data[:-2].decode()
    if kind == b'*':
        return [await read_resp(reader) for _ in range(int(rest))]
    raise ValueError('bad RESP %r' % line)


async def sampler(args, st, stop):
    keys = ['couponq:{c%d}:use' % args.coupon,
            'couponq:{c%d}:use:holds' % args.coupon]
    reader = writer = None
    while not stop.is_set():
        try:
            if writer is None:
                port = args.redis_port
                if args.sentinel_port:  # the primary the sentinels name now
                    sr, sw = await asyncio.open_connection(
                        args.redis_host, args.sentinel_port)
                    sw.write(resp('SENTINEL', 'get-master-addr-by-name',
                                  args.sentinel_master))
                    host_port = await asyncio.wait_for(read_resp(sr), 2)
                    sw.close()
                    port = int(host_port[1])
                reader, writer = await asyncio.open_connection(
                    args.redis_host, port)
            writer.write(resp('EVAL', SAMPLE_LUA, 2, *keys))
            c, h, lim = await asyncio.wait_for(read_resp(reader), 2)
            if c != '-' and lim != '-':
                c, lim = int(c), int(lim)
                st.samples += 1
                st.limit = lim
                st.max_in_use = max(st.max_in_use, c + h)
                if 0 <= lim < c + h and len(st.violations) < 20:
                    st.violations.append({'t': round(time.time(), 3),
                                          'confirmed': c, 'held': h,
                                          'limit': lim})
        except (OSError, asyncio.TimeoutError, ValueError,
                asyncio.IncompleteReadError, TypeError):
            st.sample_errors += 1  # Redis down or restarting: no sample
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


def pct(lat, p):
    if not lat:
        return None
    lat = sorted(lat)
    return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)


async def run(args):
    st = Stats()
    stop = asyncio.Event()
    samp = None
    if args.redis_port:
        samp = asyncio.ensure_future(sampler(args, st, stop))
    t0 = time.monotonic()
    deadline = t0 + args.max_seconds
    with open(args.history, 'w') as hist:
        await asyncio.gather(*(one_conn(args, st, hist, t0, deadline)
                               for _ in range(args.conns)))
    elapsed = time.monotonic() - t0
    stop.set()
    if samp is not None:
        await samp
    print(json.dumps({
        'checkouts': st.next, 'requests': st.requests,
        'no_answer': st.no_answer, 'status': st.status, 'result': st.result,
        'elapsed_s': round(elapsed, 2),
        'latency_ms': {op: {'p50': pct(v, 0.5), 'p99': pct(v, 0.99),
                            'n': len(v)} for op, v in st.lat.items()},
        'samples': st.samples, 'sample_errors': st.sample_errors,
        'limit': st.limit, 'max_in_use': st.max_in_use,
        'violations': st.violations,
        'timeline': [[s] + v for s, v in sorted(st.timeline.items())]}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--coupon', type=int, required=True)
    ap.add_argument('--checkouts', type=int, default=2000)
    ap.add_argument('--users', type=int, default=2000)
    ap.add_argument('--user-base', type=int, default=0)
    ap.add_argument('--amount', type=int, default=30000)
    ap.add_argument('--conns', type=int, default=32)
    ap.add_argument('--rate', type=float, default=0,
                    help='checkouts started per second; 0 = closed loop')
    ap.add_argument('--confirm', type=float, default=0.6)
    ap.add_argument('--cancel', type=float, default=0.15)
    ap.add_argument('--late', type=float, default=0.02)
    ap.add_argument('--reverse', type=float, default=0.3)
    ap.add_argument('--think-ms', type=float, default=20)
    ap.add_argument('--ttl-s', type=float, default=3)
    ap.add_argument('--retries', type=int, default=8)
    ap.add_argument('--give-up', type=float, default=0,
                    help='share of checkouts that do not retry a step whose '
                    'answer never came')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--timeout', type=float, default=15)
    ap.add_argument('--max-seconds', type=float, default=300)
    ap.add_argument('--redis-host', default='127.0.0.1')
    ap.add_argument('--redis-port', type=int, default=0)
    ap.add_argument('--sentinel-port', type=int, default=0,
                    help='sample the primary this sentinel names (HA)')
    ap.add_argument('--sentinel-master', default='couponq')
    ap.add_argument('--history', required=True)
    args = ap.parse_args()
    if args.host not in ('127.0.0.1', 'localhost', '::1') or \
            args.redis_host not in ('127.0.0.1', 'localhost', '::1'):
        ap.error('loopback only')
    asyncio.run(run(args))


if __name__ == '__main__':
    main()
