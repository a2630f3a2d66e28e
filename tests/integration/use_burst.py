#!/usr/bin/env python3
"""use_burst.py -- concurrent redemption requests against couponq-api, for
tests/integration/redemption_concurrency.sh (stdlib only).

  holds PORT COUPON USER_BASE N CONNS [--twice] [--amount A] [--prefix P]
      N holds at once, user USER_BASE+i+1 with order "P-<i>" (P: b), over CONNS
      keep-alive connections that all start together; --twice sends every
      hold twice, on two different connections (duplicate order ids racing).
      Prints JSON: statuses, results, and "rids": the redemption id of every
      order that got 201/200 (each order's answers must agree).
  ops PORT CONNS OP[,OP...] RID...
      for every rid, each OP (confirm, cancel) sent at the same moment on
      different connections; prints JSON: per op, statuses and results, and
      per rid the answers it got.
"""
import asyncio
import json
import sys


async def request(reader, writer, method, path, body):
    raw = body.encode()
    writer.write(('%s %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json'
                  '\r\nContent-Length: %d\r\n\r\n' % (method, path, len(raw))
                  ).encode() + raw)
    head = await reader.readuntil(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split(' ', 2)[1])
    n = 0
    for line in lines[1:]:
        k, _, v = line.partition(':')
        if k.strip().lower() == 'content-length':
            n = int(v)
    data = await reader.readexactly(n) if n else b''
    try:
        doc = json.loads(data)
    except ValueError:
        doc = {}
    return status, doc


async def worker(port, jobs, out, start):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    await start.wait()
    for key, method, path, body in jobs:
        status, doc = await request(reader, writer, method, path, body)
        out.append((key, status, doc))
    writer.close()


async def run(port, jobs_per_conn):
    out, start = [], asyncio.Event()
    tasks = [asyncio.ensure_future(worker(port, jobs, out, start))
             for jobs in jobs_per_conn]
    await asyncio.sleep(0.2)  # every connection open before the first byte
    start.set()
    await asyncio.gather(*tasks)
    return out


def count(pairs):
    d = {}
    for k in pairs:
        d[k] = d.get(k, 0) + 1
    return d


def holds(argv):
    port, coupon, base, n, conns = (int(x) for x in argv[:5])
    twice = '--twice' in argv
    amount = int(argv[argv.index('--amount') + 1]) if '--amount' in argv else 30000
    prefix = argv[argv.index('--prefix') + 1] if '--prefix' in argv else 'b'
    reqs = []
    for i in range(n):
        body = json.dumps({'user_id': base + i + 1, 'order_id': '%s-%d' % (prefix, i),
                           'order_amount': amount})
        reqs.append((i, 'POST', '/v1/coupons/%d/redemptions' % coupon, body))
    jobs = [[] for _ in range(conns)]
    for k, r in enumerate(reqs):
        jobs[k % conns].append(r)
        if twice:  # the copy on another connection, at the same position
            jobs[(k + conns // 2 + 1) % conns].append(r)
    out = asyncio.run(run(port, jobs))
    rids, disagree = {}, 0
    for i, status, doc in out:
        if status in (200, 201):
            rid = doc.get('redemption_id')
            if rids.setdefault(i, rid) != rid:
                disagree += 1
    print(json.dumps({
        'answers': len(out),
        'status': count(str(s) for _, s, _ in out),
        'result': count(d.get('result', d.get('error', '-')) for _, _, d in out),
        'orders_with_redemption': len(rids),
        'distinct_rids': len(set(rids.values())),
        'disagree': disagree, 'rids': sorted(set(rids.values()))}))


def ops(argv):
    port, conns = int(argv[0]), int(argv[1])
    names = argv[2].split(',')
    rids = argv[3:]
    jobs = [[] for _ in range(conns)]
    k = 0
    for rid in rids:
        for name in names:  # each op of a rid on its own connection
            jobs[k % conns].append(((rid, name), 'POST',
                                    '/v1/redemptions/%s/%s' % (rid, name), '{}'))
            k += 1
    out = asyncio.run(run(port, jobs))
    per = {}
    for (rid, name), status, doc in out:
        per.setdefault(rid, {})[name] = [status, doc.get('result',
                                                         doc.get('error'))]
    print(json.dumps({
        'answers': len(out),
        'status': count('%s %d' % (k[1], s) for k, s, _ in out),
        'result': count('%s %s' % (k[1], d.get('result', d.get('error')))
                        for k, _, d in out),
        'per_rid': per}))


if __name__ == '__main__':
    {'holds': holds, 'ops': ops}[sys.argv[1]](sys.argv[2:])
