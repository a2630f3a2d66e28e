#!/usr/bin/env python3
"""tools_load.py -- a small parallel client for the tools_*.sh tests.

usage: tools_load.py PORT COUPON FIRST_USER LAST_USER [THREADS] [ACCEPTED_FILE]

Sends one POST /v1/coupons/COUPON/issues per user FIRST..LAST (inclusive)
over keep-alive connections, THREADS at a time, and prints a JSON object of
answers by status code, e.g. {"202": 3000, "410": 1000}. The ids of users
answered 202 are appended to ACCEPTED_FILE when given. Standard library
only.
"""
import http.client
import json
import sys
import threading


def worker(port, coupon, users, counts, accepted, lock):
    conn = None
    for u in users:
        body = json.dumps({"user_id": u})
        for attempt in range(3):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/v1/coupons/%d/issues" % coupon, body,
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                break
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                status = "error"
        with lock:
            counts[str(status)] = counts.get(str(status), 0) + 1
            if status == 202:
                accepted.append(u)
    if conn is not None:
        conn.close()


def main():
    port, coupon, first, last = (int(a) for a in sys.argv[1:5])
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    out = sys.argv[6] if len(sys.argv) > 6 else None
    users = list(range(first, last + 1))
    counts, accepted, lock = {}, [], threading.Lock()
    ts = [threading.Thread(target=worker,
                           args=(port, coupon, users[i::threads], counts, accepted, lock))
          for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if out:
        with open(out, "a") as f:
            f.writelines("%d\n" % u for u in sorted(accepted))
    print(json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    main()
