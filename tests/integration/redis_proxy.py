#!/usr/bin/env python3
"""redis_proxy.py LISTEN_PORT TARGET_PORT [TARGET_FILE] -- a TCP proxy to
Redis for fault tests of couponq-api (stdlib only). With TARGET_FILE it is
also a moving address (a managed endpoint, a VIP, a DNS name whose record
changes on failover).

Signals change its behaviour:
  SIGUSR1  hold replies: Redis -> client bytes are buffered, not forwarded
           (commands still reach Redis); a second SIGUSR1 releases them.
  SIGUSR2  reset: every open connection is closed at once (RST), and new
           connections are refused until the next SIGUSR2.
  SIGHUP   move: the target port is read again from TARGET_FILE, and every
           open connection is closed (RST), as when a VIP moves; new
           connections go to the new target.
"""
import asyncio
import signal
import socket
import struct
import sys

hold = False
held = []  # (writer, bytes) in order
refusing = False
conns = set()
target = int(sys.argv[2])


def reset_all():
    for w in list(conns):
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        w.close()
    conns.clear()


def on_usr1():
    global hold
    hold = not hold
    if not hold:
        for w, data in held:
            if not w.is_closing():
                w.write(data)
        held.clear()


def on_usr2():
    global refusing
    refusing = not refusing
    if refusing:
        reset_all()


def on_hup():
    global target
    with open(sys.argv[3]) as f:
        target = int(f.read().strip())
    reset_all()
    print("target", target, flush=True)


async def pump(reader, writer, replies):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if replies and hold:
                held.append((writer, data))
            else:
                writer.write(data)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(creader, cwriter):
    if refusing:
        reset_all_one = cwriter.get_extra_info("socket")
        reset_all_one.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        cwriter.close()
        return
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        cwriter.close()
        return
    conns.add(cwriter)
    await asyncio.gather(pump(creader, swriter, False), pump(sreader, cwriter, True))
    conns.discard(cwriter)


async def main():
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    loop.add_signal_handler(signal.SIGUSR2, on_usr2)
    if len(sys.argv) > 3:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
