#!/usr/bin/env python3
"""tests/faults/hostile.py -- hostile HTTP against couponq-api, and the
normal client that measures what the attack costs real users.

--role attack runs, for --seconds, all at once:
  slowloris  N connections that each send a begun request one byte a second
             (reconnecting when the api drops them)
  idle       M connections opened and never written to
  headers    requests with 64 KiB of headers, one after another
  body       a Content-Length of 1 GB streamed, and a chunked body over the
             limit
  pipeline   a valid request followed by garbage in the same write
  random     connections that write random bytes
and prints one JSON line: what each attacker sent and what the api
answered (status codes, closes).

--role normal sends POST /v1/coupons/<id>/issues for fresh users at --rate
on a few keep-alive connections (every 10th request on a new connection,
so accepting connections is measured too), samples the api's RSS
(--pid), writes the 202 users to --accepted, and prints one JSON line with
p50/p99/max, errors and RSS (baseline, peak, end). With --token-file
("USER_ID TOKEN" lines, tests/jwt_tool.py tokens) each request carries its
user's Authorization: Bearer; --source binds its connections to another
loopback address, so that per-IP limits hit by an attacker on 127.0.0.1 are
not its own.

--role flood sends, for --seconds or --requests (whichever ends first), at
most --rate requests/s (0 = as fast as it can), the
issue request with an invalid bearer token each time (garbage, alg none,
forged signatures: all different, so nothing can be cached) on 8 keep-alive
connections from one IP, and prints one JSON line: answers by status and
error text, in arrival order as runs ("401 unauthorized: ..." x N, then
"429 rate_limited: auth_failures" x M...), and the count of 202s.
"""
import base64
import argparse
import asyncio
import json
import os
import random
import re
import resource
import time


def bump_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Tally:
    def __init__(self):
        self.d = {}

    def add(self, who, what):
        t = self.d.setdefault(who, {})
        t[what] = t.get(what, 0) + 1


async def status_or_close(reader, timeout):
    """First response status of the connection, or 'closed' / 'timeout'."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except asyncio.TimeoutError:
        return 'timeout'
    except OSError:
        return 'reset'
    if not line:
        return 'closed'
    parts = line.split()
    return parts[1].decode() if len(parts) > 1 else 'garbage'


async def connect(a, source=None):
    local = (source, 0) if source else None
    return await asyncio.wait_for(
        asyncio.open_connection(a.host, a.port, local_addr=local), 5)


async def answer(r):
    """Status and body of one response on a keep-alive connection."""
    head = await asyncio.wait_for(r.readuntil(b'\r\n\r\n'), 10)
    st = int(head.split()[1])
    n = 0
    for line in head.split(b'\r\n'):
        if line.lower().startswith(b'content-length:'):
            n = int(line.split(b':')[1])
    return st, await asyncio.wait_for(r.readexactly(n), 10)


# ------------------------------------------------------------ attackers
async def slowloris(a, t, end):
    while time.monotonic() < end:
        try:
            r, w = await connect(a)
        except (OSError, asyncio.TimeoutError):
            t.add('slowloris', 'connect_failed')
            await asyncio.sleep(1)
            continue
        t.add('slowloris', 'connections')
        msg = (b'POST /v1/coupons/%d/issues HTTP/1.1\r\nHost: x\r\n'
               b'X-Slow: ' % a.coupon) + b'a' * 100000
        try:
            for i in range(len(msg)):
                if time.monotonic() > end:
                    break
                w.write(msg[i:i + 1])
                await w.drain()
                t.add('slowloris', 'bytes')
                # The api may answer (408) and close while we dribble.
                try:
                    line = await asyncio.wait_for(r.readline(), 1.0)
                    st = line.split()[1].decode() if line.split()[1:] else 'closed'
                    t.add('slowloris', 'answered_' + st)
                    break
                except asyncio.TimeoutError:
                    continue
        except (OSError, IndexError):
            t.add('slowloris', 'reset')
        w.close()


async def idle(a, t, end, n):
    conns = []
    for _ in range(n):
        try:
            conns.append(await connect(a))
            t.add('idle', 'connections')
        except (OSError, asyncio.TimeoutError):
            t.add('idle', 'connect_failed')
            await asyncio.sleep(0.01)
    while time.monotonic() < end:
        await asyncio.sleep(0.5)
    closed = sum(1 for r, _ in conns if r.at_eof())
    t.add('idle', 'closed_by_api=%d' % closed)
    for _, w in conns:
        w.close()


async def all_statuses(reader, timeout):
    """Every response status until the api closes: e.g. '200+400+closed'."""
    data = b''
    try:
        while len(data) < 1 << 20:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            data += chunk
        tail = 'closed'
    except asyncio.TimeoutError:
        tail = 'open'
    codes = [c.decode() for c in re.findall(rb'HTTP/1\.[01] (\d{3}) ', data)]
    return '+'.join(codes + [tail])


async def one_shot(a, t, who, payload, read_timeout=10, read_all=False):
    try:
        r, w = await connect(a)
    except (OSError, asyncio.TimeoutError):
        t.add(who, 'connect_failed')
        await asyncio.sleep(0.2)
        return
    try:
        if callable(payload):
            early = await payload(r, w)
            if early:
                t.add(who, 'answered_' + early)
                w.close()
                return
        else:
            w.write(payload)
            await w.drain()
    except OSError:
        pass  # the api may close mid-send; its answer may still be readable
    try:
        if read_all:
            t.add(who, 'answered_' + await all_statuses(r, read_timeout))
        else:
            t.add(who, 'answered_' + await status_or_close(r, read_timeout))
    except OSError:
        t.add(who, 'reset')
    w.close()


async def loop_attack(a, t, end, who, make, pause):
    while time.monotonic() < end:
        await one_shot(a, t, who, make(), read_all=(who == 'pipeline'))
        await asyncio.sleep(pause)


def big_headers(a):
    h = b''.join(b'X-Big-%d: %s\r\n' % (i, b'h' * 1000) for i in range(64))
    return (b'POST /v1/coupons/%d/issues HTTP/1.1\r\nHost: x\r\n' % a.coupon
            + h + b'Content-Length: 2\r\n\r\n{}')


def big_body(a):
    async def send(r, w):
        w.write(b'POST /v1/coupons/%d/issues HTTP/1.1\r\nHost: x\r\n'
                b'Content-Length: 1000000000\r\n\r\n' % a.coupon)
        await w.drain()
        # A server may answer 413 from the headers alone; if it waits for
        # the body instead, stream 4 MiB of it.
        st = await status_or_close(r, 0.5)
        if st != 'timeout':
            return st + '_before_body'
        for _ in range(64):
            w.write(b'x' * 65536)
            await w.drain()
        return None
    return send


def big_chunked(a):
    chunk = b'10000\r\n' + b'y' * 65536 + b'\r\n'
    return (b'POST /v1/coupons/%d/issues HTTP/1.1\r\nHost: x\r\n'
            b'Transfer-Encoding: chunked\r\n\r\n' % a.coupon) + chunk * 4


def pipelined_garbage(a):
    bad = b'{"user_id": 0}'  # refused (400): the attacker admits nobody
    return (b'GET /v1/coupons/%d HTTP/1.1\r\nHost: x\r\n\r\n' % a.coupon +
            b'POST /v1/coupons/%d/issues HTTP/1.1\r\nContent-Length: %d\r\n'
            b'\r\n%s' % (a.coupon, len(bad), bad) +
            bytes(random.getrandbits(8) for _ in range(512)) + b'\r\n\r\n')


def random_bytes(_a):
    return os.urandom(random.randint(1, 8192))


async def attack(a):
    t = Tally()
    end = time.monotonic() + a.seconds
    jobs = [slowloris(a, t, end) for _ in range(a.slowloris)]
    jobs.append(idle(a, t, end, a.idle))
    for _ in range(4):
        jobs.append(loop_attack(a, t, end, 'headers', lambda: big_headers(a), 0.02))
        jobs.append(loop_attack(a, t, end, 'body', lambda: big_body(a), 0.05))
        jobs.append(loop_attack(a, t, end, 'chunked', lambda: big_chunked(a), 0.05))
        jobs.append(loop_attack(a, t, end, 'pipeline', lambda: pipelined_garbage(a), 0.02))
        jobs.append(loop_attack(a, t, end, 'random', lambda: random_bytes(a), 0.02))
    await asyncio.gather(*jobs)
    print(json.dumps(t.d))


# ------------------------------------------------------------ normal client
async def normal(a):
    lat, errors, statuses, accepted = [], {}, {}, []
    rss = {'baseline': rss_kib(a.pid), 'peak': 0, 'samples': 0}
    end = time.monotonic() + a.seconds
    nconn = 4
    conns = [None] * nconn
    user = a.user_base
    tokens = {}
    if a.token_file:
        with open(a.token_file) as f:
            for line in f:
                uid, tok = line.split()
                tokens[int(uid)] = tok.encode()

    async def sampler():
        while time.monotonic() < end:
            v = rss_kib(a.pid)
            rss['peak'] = max(rss['peak'], v)
            rss['samples'] += 1
            await asyncio.sleep(0.25)

    async def client(k):
        nonlocal user
        i = 0
        while time.monotonic() < end:
            await asyncio.sleep(nconn / a.rate)
            i += 1
            user += 1
            u = user
            body = b'{"user_id": %d}' % u
            auth = b'Authorization: Bearer %s\r\n' % tokens[u] if tokens else b''
            req = (b'POST /v1/coupons/%d/issues HTTP/1.1\r\nHost: n\r\n%s'
                   b'Content-Length: %d\r\n\r\n' % (a.coupon, auth, len(body))) + body
            t0 = time.monotonic()
            try:
                if conns[k] is None or i % 10 == 0:
                    if conns[k] is not None:
                        conns[k][1].close()
                    conns[k] = await connect(a, a.source)
                r, w = conns[k]
                w.write(req)
                st, _ = await answer(r)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                    ValueError, IndexError) as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                conns[k] = None
                continue
            lat.append(time.monotonic() - t0)
            statuses[st] = statuses.get(st, 0) + 1
            if st == 202:
                accepted.append(u)

    await asyncio.gather(sampler(), *(client(k) for k in range(nconn)))
    rss['end'] = rss_kib(a.pid)
    lat.sort()
    pick = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else None
    with open(a.accepted, 'a') as f:
        f.writelines('%d\n' % u for u in accepted)
    print(json.dumps({'requests': len(lat) + sum(errors.values()),
                      'answered': len(lat), 'errors': errors,
                      'status': {str(k): v for k, v in statuses.items()},
                      'p50_ms': pick(0.5), 'p99_ms': pick(0.99),
                      'max_ms': pick(1.0), 'rss_kib': rss}))


# ------------------------------------------------------------ token flood
def bad_token(i):
    """A different invalid token each time."""
    b = lambda x: base64.urlsafe_b64encode(x).rstrip(b'=')
    pay = b(json.dumps({'iss': 'couponq', 'aud': 'couponq', 'sub': str(i + 1),
                        'exp': int(time.time()) + 300}).encode())
    sig = b(os.urandom(32))
    kind = i % 4
    if kind == 0:
        return b(os.urandom(48))  # garbage
    if kind == 1:
        return b(b'{"alg":"none","kid":"hs1"}') + b'.' + pay + b'.'
    if kind == 2:
        return b(b'{"alg":"HS256","kid":"hs1"}') + b'.' + pay + b'.' + sig
    return b(b'{"alg":"ES256","kid":"es1"}') + b'.' + pay + b'.' + b(os.urandom(64))


async def flood(a):
    end = time.monotonic() + a.seconds
    runs, errors = [], {}
    state = {'i': 0, 'accepted': 0}

    async def one():
        conn = None
        while time.monotonic() < end and state['i'] < a.requests:
            if a.rate > 0:
                await asyncio.sleep(8 / a.rate)  # 8 connections share --rate
            i = state['i']
            state['i'] += 1
            body = b'{"user_id": %d}' % (i + 1)
            req = (b'POST /v1/coupons/%d/issues HTTP/1.1\r\nHost: f\r\n'
                   b'Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n'
                   % (a.coupon, bad_token(i), len(body))) + body
            try:
                if conn is None:
                    conn = await connect(a)
                conn[1].write(req)
                st, resp = await answer(conn[0])
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                    ValueError, IndexError) as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                conn = None
                continue
            try:
                err = json.loads(resp).get('error', '')
            except ValueError:
                err = '?'
            key = '%d %s' % (st, 'unauthorized' if st == 401 else err)
            if st == 202:
                state['accepted'] += 1
            if runs and runs[-1][0] == key:
                runs[-1][1] += 1
            else:
                runs.append([key, 1])

    t0 = time.monotonic()
    await asyncio.gather(*(one() for _ in range(8)))
    took = time.monotonic() - t0
    by = {}
    for k, n in runs:
        by[k] = by.get(k, 0) + n
    print(json.dumps({'requests': state['i'], 'seconds': round(took, 2),
                      'rate': round(state['i'] / took) if took else 0,
                      'answers': by, 'runs': runs[:12], 'accepted': state['accepted'],
                      'errors': errors}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--role', choices=['attack', 'normal', 'flood'], required=True)
    ap.add_argument('--token-file', default=None)
    ap.add_argument('--source', default=None)
    ap.add_argument('--requests', type=int, default=20000)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--coupon', type=int, required=True)
    ap.add_argument('--seconds', type=float, default=30)
    ap.add_argument('--slowloris', type=int, default=500)
    ap.add_argument('--idle', type=int, default=2000)
    ap.add_argument('--rate', type=float, default=200)
    ap.add_argument('--user-base', type=int, default=0)
    ap.add_argument('--pid', type=int, default=0)
    ap.add_argument('--accepted', default='/dev/null')
    a = ap.parse_args()
    if a.host not in ('127.0.0.1', 'localhost'):
        ap.error('loopback only')
    bump_nofile()
    roles = {'attack': attack, 'normal': normal, 'flood': flood}
    asyncio.run(roles[a.role](a))


if __name__ == '__main__':
    main()
