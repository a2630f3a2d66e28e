"""loadlib.py -- what the load clients (load.py, use_load.py) share: the
next request index at a fixed arrival rate, and one HTTP/1.1 response off an
asyncio stream (keep-alive assumed)."""
import asyncio
import time


async def next_paced(st, n, rate, t0):
    """-> the next index below n (st.next, shared by every connection),
    sleeping until its start time t0 + i / rate when rate > 0; None when
    all n are taken."""
    i = st.next
    if i >= n:
        return None
    st.next += 1
    if rate > 0:
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    return i


async def read_response(reader):
    """-> (status, body, close, retry_after): close when the server says
    Connection: close; retry_after the Retry-After seconds (1.0 when absent
    or not a number)."""
    head = await reader.readuntil(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split(' ', 2)[1])
    length, close, retry = 0, False, 1.0
    for line in lines[1:]:
        k, _, v = line.partition(':')
        k = k.strip().lower()
        if k == 'content-length':
            length = int(v.strip())
        elif k == 'connection' and v.strip().lower() == 'close':
            close = True
        elif k == 'retry-after':
            try:
                retry = float(v.strip())
            except ValueError:
                pass
    body = await reader.readexactly(length) if length else b''
    return status, body, close, retry
