#!/usr/bin/env python3
"""use_lua_cost.py -- not a test: Redis time per use.lua operation.

Runs hold+confirm pairs on one coupon (every pair a new user and order, the
api's checkout) through schemas/redis/use.lua on a Redis of your own, and
prints what Redis itself counted (INFO commandstats, reset first): usec per
EVALSHA and usec per operation. With --batch B the operations go B to a
call in the batch form (ARGV[1] "batch"), as the api sends them under load.
Run it before and after a change to the script and compare numbers of the
same machine; absolute values mean little on a shared box. The coupon's keys
are deleted before and after.

Time on a shared machine moves by tens of percent from run to run; the
instructions Redis executes do not. With --callgrind, the Redis on --port
must run under callgrind with instrumentation off until asked:

  valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file=/tmp/cg/out.%p redis-server --port P ...

and the pairs run with it switched on (callgrind_control); the dump's total
divided by the operations is printed too: every instruction Redis ran for
them (the script, the commands it calls, the AOF feed, the replies).

Usage: use_lua_cost.py --port P --script use.lua [--pairs N] [--batch B]
                       [--coupon ID] [--callgrind OUT_DIR]
"""
import glob
import subprocess
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from use_lua_model import SUFFIXES, Redis, ulid  # noqa: E402
import random  # noqa: E402


def pipeline(red, cmds):
    """Sends every command, then reads every reply (one round trip)."""
    out = []
    for args in cmds:
        out.append(b"*%d\r\n" % len(args))
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    red.sock.sendall(b"".join(out))
    return [red._read() for _ in cmds]


def cpu_us(red):
    """CPU time of Redis's main thread so far: unlike commandstats' usec (wall
    time) it does not grow while a busy machine keeps Redis off the CPU."""
    f = dict(ln.split(":", 1) for ln in red.call("INFO", "cpu").splitlines() if ":" in ln)
    return (float(f["used_cpu_user_main_thread"]) + float(f["used_cpu_sys_main_thread"])) * 1e6


def stats(red):
    line = [ln for ln in red.call("INFO", "commandstats").splitlines() if ln.startswith("cmdstat_evalsha:")]
    if not line:
        return 0, 0
    f = dict(kv.split("=") for kv in line[0].split(":", 1)[1].split(","))
    return int(f["calls"]), int(f["usec"])


def callgrind(pid, *args):
    subprocess.run(["callgrind_control", *args, pid], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def callgrind_total(out_dir, pid):
    """Dumps what callgrind counted since the zero, switches it off, and
    returns the dump's instruction total."""
    before = set(glob.glob(os.path.join(out_dir, "*")))
    callgrind(pid, "-d")
    callgrind(pid, "-i", "off")
    new = [f for f in glob.glob(os.path.join(out_dir, "*")) if f not in before]
    if not new:
        raise SystemExit("use_lua_cost: callgrind wrote no dump into %s" % out_dir)
    with open(max(new, key=os.path.getmtime)) as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("summary:"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=0, help="ops per EVALSHA in the batch form; 0: one op per call")
    ap.add_argument("--coupon", type=int, default=990001)
    ap.add_argument("--warm", type=int, default=1000,
                    help="pairs run first, not counted: the coupon's hashes past Redis's listpack sizes "
                    "(hash-max-listpack-entries, 512 here), as on a coupon in use")
    ap.add_argument("--callgrind", metavar="OUT_DIR", help="the directory of the callgrind Redis's out files")
    o = ap.parse_args()
    rng = random.Random(1)
    red = Redis(o.port)
    sha = red.call("SCRIPT", "LOAD", open(o.script).read())
    keys = ["couponq:{c%d}:%s" % (o.coupon, s) for s in SUFFIXES]
    red.call("DEL", *keys)
    replid = [ln for ln in red.call("INFO", "replication").splitlines() if ln.startswith("master_replid:")]
    red.call("HSET", keys[0], "total", -1, "start_ms", 0, "end_ms", 2**52, "state", "open",
             "fence", replid[0].split(":", 1)[1])
    red.call("HSET", keys[1], "limit", -1, "ttl_ms", 600000, "until_ms", -1, "discount", 500, "min_amount", 0,
             "vendor", 7, "share_bps", 2500, "reuse", 1, "confirmed", 0)
    users = [str(100000 + i) for i in range(o.warm + o.pairs)]
    for i in range(0, len(users), 1000):
        red.call("SADD", keys[6], *users[i:i + 1000])
    rids = [ulid(rng, o.coupon) for _ in users]
    holds = [["hold", rid, ulid(rng), "0", u, "o-" + u, "30000"] for rid, u in zip(rids, users)]
    confirms = [["confirm", rid, ulid(rng), "0"] for rid in rids]

    def calls(ops):
        if o.batch <= 0:
            return [["EVALSHA", sha, 8] + keys + op for op in ops]
        out = []
        for i in range(0, len(ops), o.batch):
            cmd = ["EVALSHA", sha, 8] + keys + ["batch"]
            for op in ops[i:i + o.batch]:
                cmd += [len(op)] + op
            out.append(cmd)
        return out

    def run(first, last):
        bad = 0
        for i in range(first, last, 200):
            for ops, want in ((holds[i:min(i + 200, last)], "held"), (confirms[i:min(i + 200, last)], "confirmed")):
                for rep in pipeline(red, calls(ops)):
                    answers = rep if o.batch > 0 else [rep]
                    if not isinstance(answers, list):
                        answers = [answers]
                    for a in answers:
                        if not isinstance(a, list) or a[0] != want:
                            bad += 1
        return bad

    bad = run(0, o.warm)
    red.call("CONFIG", "RESETSTAT")
    pid = red.call("INFO", "server").split("process_id:")[1].split()[0]
    if o.callgrind:
        callgrind(pid, "-i", "on")
        callgrind(pid, "-z")
    cpu0 = cpu_us(red)
    bad += run(o.warm, len(users))
    cpu = cpu_us(red) - cpu0
    ncalls, usec = stats(red)
    nops = 2 * o.pairs
    instr = ""
    if o.callgrind:
        instr = "; %.0f instructions per op" % (callgrind_total(o.callgrind, pid) / nops)
    red.call("DEL", *keys)
    print("use_lua_cost: %d ops (%d hold+confirm pairs), batch %d: %d EVALSHA, %.1f usec per call, "
          "%.1f usec per op; Redis CPU %.1f usec per op%s; %d unexpected answers" % (
              nops, o.pairs, o.batch, ncalls, usec / max(ncalls, 1), usec / nops, cpu / nops, instr, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
