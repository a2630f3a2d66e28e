#!/usr/bin/env python3
"""api_client.py -- HTTP/1.1 test client for couponq-api (stdlib only).

  raw PORT            bytes from stdin (Python escapes allowed: \\r\\n, \\x00)
                      are sent as-is on one connection; prints
                      "<status>\\t<body>\\t<closed|open>" for every response
                      read (closed = the server closed the socket after it).
  load PORT COUPON    N connections send requests for distinct users, each
                      user several times, interleaved; prints a JSON summary
                      and writes accepted (user, event_id) pairs to --accepted.
  bursts PORT COUPON BASE ROUNDS SIZE
                      ROUNDS bursts, one after another: SIZE requests for
                      distinct users (BASE + round * SIZE + i) written at
                      once on one connection (pipelined: one read, one loop
                      iteration of the api), all answered before the next;
                      prints "ROUND USER STATUS" for every request.
  sigterm PORT COUPON N
                      N connections each send one request at once, then the
                      script prints READY and waits for all answers; prints
                      a JSON summary (statuses).
"""
import asyncio
import json
import random
import sys
import time


async def read_response(reader):
    """One response: (status, headers dict, body bytes); None on EOF."""
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").split(" ", 2)
    status = int(parts[1])
    headers = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    body = await reader.readexactly(n) if n else b""
    return status, headers, body


async def raw(port):
    data = sys.stdin.buffer.read()
    data = data.decode("latin-1").encode("latin-1").decode("unicode_escape").encode("latin-1")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    out = []
    while True:
        try:  # the first answer may take a timeout (408); the rest follow
            r = await asyncio.wait_for(read_response(reader), 0.3 if out else 3.0)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            break
        if r is None:
            break
        out.append(r)
    closed = "open"
    try:
        extra = await asyncio.wait_for(reader.read(1), 0.25)
        if extra == b"":
            closed = "closed"
    except asyncio.TimeoutError:
        pass
    except ConnectionError:
        closed = "closed"
    for i, (status, headers, body) in enumerate(out):
        last = i == len(out) - 1
        extra_h = ""
        if "allow" in headers:
            extra_h += "\tallow=" + headers["allow"]
        if "retry-after" in headers:
            extra_h += "\tretry-after=" + headers["retry-after"]
        print("%d\t%s\t%s%s" % (status, body.decode("utf-8", "replace"),
                                closed if last else "open", extra_h))
    if not out:
        print("none\t\t%s" % closed)
    writer.close()


def post(coupon, user):
    body = json.dumps({"user_id": user}).encode()
    return (b"POST /v1/coupons/%d/issues HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (coupon, len(body))) + body


async def worker(port, coupon, queue, results, depth):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            batch = [queue.pop() for _ in range(min(depth, len(queue)))]
            writer.write(b"".join(post(coupon, u) for u in batch))
            await writer.drain()
            for u in batch:  # pipelined: answers come in request order
                status, _, body = await read_response(reader)
                results.append((u, status, body))
    finally:
        writer.close()


async def load(port, coupon, conns, users, repeat, base, depth, accepted):
    reqs = [base + u for u in range(users) for _ in range(repeat)]
    random.shuffle(reqs)
    results = []
    queues = [reqs[i::conns] for i in range(conns)]
    t0 = time.time()
    await asyncio.gather(*(worker(port, coupon, q, results, depth) for q in queues))
    dt = time.time() - t0
    codes = {}
    for _, status, _ in results:
        codes[status] = codes.get(status, 0) + 1
    acc = []
    for u, status, body in results:
        if status == 202:
            b = json.loads(body)
            if b["user_id"] != u or b["coupon_id"] != coupon:
                raise SystemExit("202 body for the wrong request: %r" % b)
            acc.append((u, b["event_id"]))
    with open(accepted, "w") as f:
        for u, e in acc:
            f.write("%d %s\n" % (u, e))
    print(json.dumps({"requests": len(results), "seconds": round(dt, 2),
                      "codes": {str(k): v for k, v in sorted(codes.items())},
                      "accepted_users": len(set(u for u, _ in acc))}))


async def bursts(port, coupon, base, rounds, size):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for r in range(rounds):
        users = [base + r * size + i for i in range(size)]
        writer.write(b"".join(post(coupon, u) for u in users))
        await writer.drain()
        for u in users:
            status = (await asyncio.wait_for(read_response(reader), 30))[0]
            print(r, u, status, flush=True)
    writer.close()


async def sigterm(port, coupon, n, base):
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(n)]
    for i, (_, w) in enumerate(conns):
        w.write(post(coupon, base + i))
    await asyncio.gather(*(w.drain() for _, w in conns))
    print("READY", flush=True)
    codes = {}
    for r, _ in conns:
        try:
            status = (await asyncio.wait_for(read_response(r), 30))[0]
        except Exception as e:  # noqa: BLE001 -- any failure is a result
            status = "error:" + type(e).__name__
        codes[str(status)] = codes.get(str(status), 0) + 1
    print(json.dumps({"codes": codes}), flush=True)


def main():
    cmd = sys.argv[1]
    port = int(sys.argv[2])
    if cmd == "raw":
        asyncio.run(raw(port))
    elif cmd == "load":
        import argparse
        p = argparse.ArgumentParser()
        p.add_argument("--conns", type=int, default=200)
        p.add_argument("--users", type=int, default=5000)
        p.add_argument("--repeat", type=int, default=4)
        p.add_argument("--base", type=int, default=1)
        p.add_argument("--depth", type=int, default=1)
        p.add_argument("--accepted", default="/dev/null")
        a = p.parse_args(sys.argv[4:])
        asyncio.run(load(port, int(sys.argv[3]), a.conns, a.users, a.repeat,
                         a.base, a.depth, a.accepted))
    elif cmd == "bursts":
        asyncio.run(bursts(port, *(int(x) for x in sys.argv[3:7])))
    elif cmd == "sigterm":
        asyncio.run(sigterm(port, int(sys.argv[3]), int(sys.argv[4]),
                            int(sys.argv[5]) if len(sys.argv) > 5 else 1))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
