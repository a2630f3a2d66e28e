#!/usr/bin/env python3
"""use_lua_model.py -- schemas/redis/use.lua against a Python reference model.

Drives a few thousand random operations (several users and orders, holds
with TTLs of a few ms, confirms, cancels, reversals, GETs, undos, finishes,
adjusts, in any order) through the real script on the real Redis (raw RESP
socket, EVALSHA) and checks every answer against the model, then, after
every step, with one atomic read of Redis:

  * confirmed + live holds <= limit (the budget, independent of the model)
  * confirmed and the live holds equal what the model computes
  * the touched record equals the model's; its refunds sum to rd <= d, and
    to d exactly on a full reversal; the vendor lines of its events sum to
    share(d) - share(rd) (so to 0 on a full reversal)
  * a replay's event is byte for byte the record's latest event

The script's clock is Redis TIME. The model reads TIME before and after each
call; when a hold's expiry falls inside that window the answer may go either
way, so the model tries each possible "now" (t0, t1 and both sides of each
expiry inside the window) and takes the one that explains the answer. A
seed makes the run repeatable; it is printed first.

Usage: use_lua_model.py --port P --script use.lua --coupon ID --seed N --ops N
(uses coupons ID and ID+1, half the operations each; exits 1 on the first
difference, printing the operation, the answer and what the model expected).
"""
import argparse
import json
import random
import socket
import sys
import time

MAXAMT = 2**31 - 1
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SUFFIXES = ["meta", "use", "use:holds", "use:recs", "use:orders", "use:users", "issued", "use:revs"]


class RedisError(str):
    pass


class Redis:
    """The smallest RESP2 client: one connection, one call at a time."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = self.sock.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.buf.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.buf.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("bad RESP line %r" % line)

    def now_ms(self):
        s, us = self.call("TIME")
        return int(s) * 1000 + int(us) // 1000


def ulid(rng, coupon=None):
    """A ULID; with coupon, one carrying it in the low 48 bits (a rid)."""
    n = (rng.getrandbits(48) << 80) | (rng.getrandbits(32) << 48)
    n |= coupon if coupon is not None else rng.getrandbits(48)
    return "".join(CROCKFORD[(n >> (5 * (25 - i))) & 31] for i in range(26))


# -- the model -----------------------------------------------------------------


def view(r, now):
    return "expired" if r["s"] == "held" and r["x"] <= now else r["s"]


def takes_use(r, now):
    s = r["s"]
    if s == "held":
        return r["x"] > now
    if s in ("confirmed", "partially_reversed"):
        return True
    if s == "released":
        return r["p"] == 1 and r["x"] > now
    if s == "reversed":
        return r["f"] == 0
    return False


def frees(r):
    return r["t"] == "released" or (r["t"] == "reversed" and r["ra"] == r["a"] and r["ru"] == 1)


def hard(r):
    """A reversal amount x where d*x = k*a - 1: floor(d*x/a) is k-1 but a
    double division rounds the quotient up to k (for large d and a)."""
    a, d = r["a"], r["d"]
    try:
        return (-pow(d, -1, a)) % a
    except ValueError:  # d and a not coprime
        return a


def copy_rec(r):
    c = dict(r)
    c["revs"] = dict(r["revs"])
    c["lines"] = list(r["lines"])
    return c


class Model:
    def __init__(self, cfg):
        self.cfg = cfg  # discount, min, vendor, bps, reuse
        self.limit = cfg["limit"]
        self.ttl = cfg["ttl"]
        self.confirmed = 0
        self.recs, self.orders, self.users, self.holds = {}, {}, {}, {}
        self.issued = set(cfg["issued"])

    def clone(self):
        m = Model.__new__(Model)
        m.__dict__.update(self.__dict__)
        m.recs, m.orders, m.users, m.holds = dict(self.recs), dict(self.orders), dict(self.users), dict(self.holds)
        m._owned = set()
        return m

    def own(self, rid):
        """The record of rid, copied into this clone before it changes."""
        if rid not in self._owned:
            self.recs[rid] = copy_rec(self.recs[rid])
            self._owned.add(rid)
        return self.recs[rid]

    def live(self, now):
        return sum(1 for x in self.holds.values() if x > now)

    def share(self, r, amount):
        return 0 if r["vd"] == 0 else amount * r["bp"] // 10000


def ans(code, new=0, fin=0, rid="", r=None, now=0, refund=0):
    if r is None:
        return [code, 0, 0, "", "", "", 0, 0, "", 0, 0, 0, 0, 0]
    return [code, new, fin, rid, r["u"], r["o"], r["a"], r["d"], view(r, now), r["x"], r["ra"], r["rd"], refund, r["v"]]


def replay(m, code, rid, now, refund=0):
    r = m.own(rid)
    r["ep"] = 1
    return ans(code, 0, r["p"], rid, r, now, refund), ("replay", rid)


def transition(m, rid, t, eid, now):
    r = m.own(rid)
    r["v"] += 1
    r["t"], r["e"], r["et"], r["ep"] = t, eid, now, 0
    return r


def predict(m, op, a, now):
    """The answer use.lua must give for op at time now; changes the clone m.
    Returns (answer, note): note tells the caller what to check or keep."""
    if op == "hold":
        rid, eid, actor, user, order, amount = a
        amount = int(amount)
        if actor != "0" and actor != user:
            return ans("forbidden"), None
        if order in m.orders:
            orid = m.orders[order]
            r = m.recs[orid]
            if r["u"] == user and r["a"] == amount:
                return replay(m, "replay", orid, now)
            if actor != "0" and r["u"] != actor:
                return ans("order_conflict"), None
            return replay(m, "order_conflict", orid, now)
        if user not in m.issued:
            return ans("not_owned"), None
        if user in m.users and takes_use(m.recs[m.users[user]], now):
            return replay(m, "already_used", m.users[user], now)
        if amount < m.cfg["min"]:
            return ans("below_min_amount"), None
        if m.limit >= 0 and m.confirmed + m.live(now) >= m.limit:
            return ans("use_sold_out"), None
        if rid in m.recs:
            return ans("rid_taken"), None
        c = m.cfg
        r = dict(u=user, o=order, a=amount, d=min(c["discount"], amount), s="held", h=now, x=now + m.ttl,
                 c=0, ra=0, rd=0, v=1, vd=c["vendor"], bp=c["bps"], ru=c["reuse"], p=0, f=0, e=eid, t="held",
                 et=now, ep=0, ri="", rx=0, rf=0, rw=0, revs={}, lines=[])
        m.recs[rid] = r
        m._owned.add(rid)
        m.holds[rid] = r["x"]
        m.orders[order] = rid
        prev_user = m.users.get(user, "")
        m.users[user] = rid
        return ans("held", 1, 0, rid, r, now) + [prev_user], ("new", rid)
    if op == "adjust":
        limit = int(a[0])
        in_use = m.confirmed + m.live(now)
        if limit != -1 and limit < in_use:
            return ["ERR couponq use: below_in_use %d" % in_use], None
        m.limit = limit
        return [in_use], None
    if op in ("undo", "finish"):
        return None, None  # the caller predicts these (they need its undo list)
    rid, actor = a[0], (a[1] if op == "get" else a[2])
    if rid not in m.recs:
        return ans("not_found"), None
    r = m.recs[rid]
    if actor != "0" and actor != r["u"]:
        return ans("forbidden"), None
    if op == "get":
        return replay(m, "found", rid, now)
    eid = a[1]
    if op in ("confirm", "cancel"):
        if r["s"] == "held" and r["x"] > now:
            if op == "confirm":
                r = transition(m, rid, "confirmed", eid, now)
                r["s"], r["c"] = "confirmed", now
                del m.holds[rid]
                m.confirmed += 1
                r["lines"].append(m.share(r, r["d"]))
                return ans("confirmed", 1, 0, rid, r, now), ("new", rid)
            r = transition(m, rid, "released", eid, now)
            r["s"], r["p"] = "released", 1
            return ans("released", 1, 1, rid, r, now), ("new", rid)
        if r["s"] == "held":
            r = transition(m, rid, "expired", eid, now)
            r["s"] = "expired"
            return ans("hold_expired", 1, 0, rid, r, now), ("new", rid)
        if r["s"] == "expired":
            return replay(m, "hold_expired", rid, now)
        if r["s"] == "released":
            return replay(m, "not_held" if op == "confirm" else "released", rid, now)
        return replay(m, "confirmed" if op == "confirm" else "already_confirmed", rid, now)
    assert op == "reverse"
    revid, amount = a[3], int(a[4])
    if r["s"] not in ("confirmed", "partially_reversed", "reversed"):
        return replay(m, "not_confirmed", rid, now)
    if revid in r["revs"]:
        old = r["revs"][revid]
        if old[0] == amount:
            return replay(m, r["s"], rid, now, old[1])
        return replay(m, "reversal_conflict", rid, now)
    left = r["a"] - r["ra"]
    if left == 0 or amount > left:
        return replay(m, "amount_too_large", rid, now)
    refund = r["d"] - r["rd"] if amount == left else r["d"] * amount // r["a"]
    r = transition(m, rid, "reversed", eid, now)
    vendor = m.share(r, r["rd"]) - m.share(r, r["rd"] + refund)
    r["ra"] += amount
    r["rd"] += refund
    r["ri"], r["rx"], r["rf"], r["rw"] = revid, amount, refund, vendor
    r["revs"][revid] = (amount, refund)
    r["lines"].append(vendor)
    if r["ra"] == r["a"]:
        r["s"] = "reversed"
        if r["ru"] == 1:
            r["p"] = 1
    else:
        r["s"] = "partially_reversed"
    return ans(r["s"], 1, r["p"], rid, r, now, refund), ("new", rid)


# -- the driver ----------------------------------------------------------------

REC_FIELDS = ["u", "o", "a", "d", "s", "h", "x", "c", "ra", "rd", "v", "vd", "bp", "ru", "p", "f", "e", "t",
              "et", "ep", "ri", "rx", "rf", "rw"]
USE_OPS = ("hold", "confirm", "cancel", "reverse", "get")


def event_of(r, rid, coupon):
    """The event of record r's latest transition, as the api builds it from
    the record an answer carries (common/userec.c): the snapshot plus what
    the transition moved, compact JSON in the contract's field order."""
    rev = r["t"] == "reversed"
    vendor = r["rw"] if rev else (0 if r["t"] != "confirmed" or r["vd"] == 0 else r["d"] * r["bp"] // 10000)
    return json.dumps({
        "type": "coupon.redemption." + r["t"], "v": 1, "event_id": r["e"], "redemption_id": rid,
        "coupon_id": coupon, "user_id": int(r["u"]), "order_id": r["o"], "order_amount": r["a"],
        "discount": r["d"], "state": r["s"], "version": r["v"], "held_at_ms": r["h"], "expires_at_ms": r["x"],
        "confirmed_at_ms": r["c"], "reversed_amount": r["ra"], "refunded_discount": r["rd"], "vendor_id": r["vd"],
        "vendor_share_bps": r["bp"], "reuse": r["ru"],
        "use_freed": 1 if rev and r["ra"] == r["a"] and r["ru"] == 1 else 0,
        "reversal_id": r["ri"] if rev else "", "reversal_amount": r["rx"] if rev else 0,
        "reversal_refund": r["rf"] if rev else 0, "vendor_amount": vendor, "occurred_at_ms": r["et"],
    }, separators=(",", ":"))


def legacy(got, op, coupon):
    """use.lua's answer {code, new, finish, rid, state, refund_this, rec,
    prev[, prev_user]} spelled out as the checks read it: {code, new,
    finish, rid, user, order_id, order_amount, discount, state, expires_ms,
    reversed_amount, refunded_discount, refund_this, version, event,
    prev[, prev_user]}, the fields from the record it carries and the event
    built from it (event_of). An answer not as agreed (its length, a record
    not in encode()'s form, fields without a record) comes back as a list
    no prediction matches."""
    if op not in USE_OPS or not isinstance(got, list):
        return got
    if len(got) != (9 if op == "hold" else 8):
        return ["answer of %d elements" % len(got)]
    code, new, fin, rid, state, refund, rec, prev = got[:8]
    if rec == "":
        if (new, fin, rid, state, refund) != (0, 0, "", "", 0):
            return ["fields without a record", got]
        out = [code, 0, 0, "", "", "", 0, 0, "", 0, 0, 0, 0, 0, "", prev]
    else:
        r = json.loads(rec)
        if list(r) != REC_FIELDS or json.dumps(r, separators=(",", ":")) != rec:
            return ["a record not in encode()'s form", rec]
        out = [code, new, fin, rid, r["u"], r["o"], r["a"], r["d"], state, r["x"], r["ra"], r["rd"], refund,
               r["v"], event_of(r, rid, coupon), prev]
    return out + got[8:]


def legacy_lines():
    """legacy() as a filter for shell tests: argv op coupon, redis-cli's lines
    of one answer on stdin, the spelled-out answer's lines on stdout (any
    other reply, an error or an integer, unchanged)."""
    op, coupon = sys.argv[1], int(sys.argv[2])
    lines = sys.stdin.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if op in USE_OPS and len(lines) == (9 if op == "hold" else 8) and not lines[0].startswith("ERR"):
        got = [int(v) if i in (1, 2, 5) and v.lstrip("-").isdigit() else v for i, v in enumerate(lines)]
        lines = [str(v) for v in legacy(got, op, coupon)]
    print("\n".join(lines))

# one atomic read: TIME, confirmed, limit, live holds, and one record
SNAPSHOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local u = redis.call('HMGET', KEYS[2], 'confirmed', 'limit')
return {now, u[1], u[2], redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf'), redis.call('HGET', KEYS[4], ARGV[1]) or ''}
"""


class Run:
    def __init__(self, red, sha, coupon, cfg, rng, log, batches):
        self.red, self.sha, self.coupon, self.rng, self.log = red, sha, coupon, rng, log
        self.keys = ["couponq:{c%d}:%s" % (coupon, s) for s in SUFFIXES]
        self.m = Model(cfg)
        self.undos = []  # (rid, version, prev, prev_user, event id, model record before or None for a hold)
        self.finishes = []  # (rid, version)
        self.snap = red.call("SCRIPT", "LOAD", SNAPSHOT)
        self.nops = 0
        self.counts = {}
        self.batches = batches
        self.checked = 0
        red.call("DEL", *self.keys)
        replid = [ln for ln in red.call("INFO", "replication").splitlines() if ln.startswith("master_replid:")]
        red.call("HSET", self.keys[0], "total", -1, "start_ms", 0, "end_ms", 2**52, "state", "open",
                 "fence", replid[0].split(":", 1)[1])
        red.call("HSET", self.keys[1], "limit", cfg["limit"], "ttl_ms", cfg["ttl"], "until_ms", -1,
                 "discount", cfg["discount"], "min_amount", cfg["min"], "vendor", cfg["vendor"],
                 "share_bps", cfg["bps"], "reuse", cfg["reuse"], "confirmed", 0)
        red.call("SADD", self.keys[6], *cfg["issued"])

    def fail(self, what, op=None, args=None, got=None, want=None):
        print("use_lua_model: FAIL after %d operations on coupon %d: %s" % (self.nops, self.coupon, what))
        if op is not None:
            print("  operation: %s %s" % (op, args))
        if got is not None:
            print("  answer:   %s" % (got,))
        if want is not None:
            print("  expected: %s" % (want,))
        sys.exit(1)

    def evalsha(self, op, args):
        return legacy(self.red.call("EVALSHA", self.sha, 8, *self.keys, op, *args), op, self.coupon)

    # the times the script's clock may have read during [t0, t1]: the ends
    # and both sides of each expiry inside
    def nows(self, t0, t1):
        nows = {t0, t1}
        for r in self.m.recs.values():
            for b in (r["x"] - 1, r["x"]):
                if t0 <= b <= t1:
                    nows.add(b)
        return sorted(nows)

    # -- one operation, predicted and checked
    def step(self, op, args):
        self.nops += 1
        self.counts[op] = self.counts.get(op, 0) + 1
        t0 = self.red.now_ms()
        got = self.evalsha(op, args)
        t1 = self.red.now_ms()
        self.check_op(op, args, got, t0, t1, self.nows(t0, t1), True)
        return got

    # got is op's answer; the model takes the first now of nows that explains
    # it. False (or, with hard, a failure) when none does.
    def check_op(self, op, args, got, t0, t1, nows, hard):
        self.last_op = op
        if op in ("undo", "finish"):
            self.step_undo_finish(op, args, got)
            return True
        if op == "bad":  # an invalid call: its error, and nothing changed
            if not (isinstance(got, RedisError) and got == args[0]):
                self.fail("an invalid operation's answer", op, args[1:], got, args[0])
            return True
        tried = []
        for now in nows:
            c = self.m.clone()
            want, note = predict(c, op, args, now)
            if self.matches(got, want):
                self.m = c
                self.after(op, args, got, want, note, t0, t1)
                return True
            tried.append((now, want))
        if hard:
            self.fail("the answer matches no possible now in [%d, %d]" % (t0, t1), op, args,
                      got[:14] if isinstance(got, list) else got, tried)
        return False

    # -- a batch: one EVALSHA "batch" with several operations; each element
    # of the answer must be what the operation answers alone, all at one now
    def step_batch(self, ops):
        self.nops += len(ops)
        self.counts["batch"] = self.counts.get("batch", 0) + 1
        argv = ["batch"]
        for op, args, _ in ops:
            self.counts[op] = self.counts.get(op, 0) + 1
            call = args[1:] if op == "bad" else [op] + args
            argv += [str(len(call))] + call
        t0 = self.red.now_ms()
        got = self.red.call("EVALSHA", self.sha, 8, *self.keys, *argv)
        t1 = self.red.now_ms()
        if not isinstance(got, list) or len(got) != len(ops):
            self.fail("a batch of %d answers %r" % (len(ops), got))
        got = [legacy(g, op, self.coupon) for g, (op, _, _) in zip(got, ops)]
        saved = (self.m, list(self.undos), list(self.finishes))
        tried = []
        for now in self.nows(t0, t1):
            self.m, self.undos, self.finishes = saved[0].clone(), list(saved[1]), list(saved[2])
            for k, (op, args, undo_saved) in enumerate(ops):
                rid = args[0] if op not in ("adjust", "bad") else None
                self.before_rec = copy_rec(self.m.recs[rid]) if rid in self.m.recs else None
                self.undo_saved = undo_saved
                if not self.check_op(op, args, got[k], t0, t1, [now], False):
                    tried.append((now, k))
                    break
            else:
                return got
        self.fail("no now in [%d, %d] explains the batch (now, first element that differs: %s)" % (t0, t1, tried),
                  "batch", [(op, args) for op, args, _ in ops], got)

    def matches(self, got, want):
        if isinstance(got, RedisError):
            return len(want) == 1 and got == want[0]
        if not isinstance(got, list) or len(got) < 14:
            return len(want) == 1 and got == want[0]
        if len(got) not in (16, 17) or (len(got) == 17) != (self.last_op == "hold"):
            return False
        if len(got) == 17 and got[16] != (want[14] if len(want) == 15 else ""):
            return False
        for i in range(14):
            if i == 9 and want[0] == "held" and want[1] == 1:
                continue  # a new hold's expiry is the script's now + ttl: checked in after()
            if got[i] != want[i]:
                return False
        return True

    def after(self, op, args, got, want, note, t0, t1):
        m = self.m
        if note is None:
            return
        kind, rid = note
        r = m.recs[rid]
        if kind == "replay":
            if got[14] != r["event"]:
                self.fail("a replay's event is not the record's latest event", op, args, got[14], r["event"])
            if got[15] != "":
                self.fail("a replay carries a prev", op, args, got[15])
            return
        ev = json.loads(got[14])
        if op == "hold":
            x = got[9]
            if not (t0 + m.ttl <= x <= t1 + m.ttl):
                self.fail("hold expires_ms %d outside [%d, %d] + ttl %d" % (x, t0, t1, m.ttl), op, args)
            r["x"] = m.holds[rid] = x
            r["h"] = r["et"] = x - m.ttl
        else:
            r["et"] = ev["occurred_at_ms"]
            if not t0 <= r["et"] <= t1:
                self.fail("occurred_at_ms outside the call", op, args, ev)
            if op == "confirm" and r["s"] == "confirmed":
                r["c"] = ev["confirmed_at_ms"]
        expect = {
            "type": "coupon.redemption." + r["t"], "v": 1, "event_id": r["e"], "redemption_id": rid,
            "coupon_id": self.coupon, "user_id": int(r["u"]), "order_id": r["o"], "order_amount": r["a"],
            "discount": r["d"], "state": r["s"], "version": r["v"], "held_at_ms": r["h"],
            "expires_at_ms": r["x"], "confirmed_at_ms": r["c"], "reversed_amount": r["ra"],
            "refunded_discount": r["rd"], "vendor_id": r["vd"], "vendor_share_bps": r["bp"], "reuse": r["ru"],
            "use_freed": 1 if (r["t"] == "reversed" and r["ra"] == r["a"] and r["ru"] == 1) else 0,
            "reversal_id": r["ri"] if r["t"] == "reversed" else "",
            "reversal_amount": r["rx"] if r["t"] == "reversed" else 0,
            "reversal_refund": r["rf"] if r["t"] == "reversed" else 0,
            "vendor_amount": r["lines"][-1] if r["t"] in ("confirmed", "reversed") else 0,
            "occurred_at_ms": r["et"],
        }
        if ev != expect or list(ev) != list(expect):
            self.fail("event differs", op, args, got[14], json.dumps(expect, separators=(",", ":")))
        r["event"] = got[14]
        before = self.before_rec
        if op == "hold":
            if got[15] != "":
                self.fail("a new hold's prev is not empty", op, args, got[15])
            self.undos.append((rid, 1, "", got[16], r["e"], None))
        else:
            prev = json.loads(got[15])
            if [prev[k] for k in REC_FIELDS] != [before[k] for k in REC_FIELDS]:
                self.fail("prev is not the record before", op, args, got[15], before)
            self.undos.append((rid, r["v"], got[15], "", r["e"], before))
        if got[2] == 1:
            self.finishes.append((rid, r["v"]))

    def step_undo_finish(self, op, args, got):
        m = self.m
        rid, version = args[0], int(args[1])
        r = m.recs.get(rid)
        if op == "finish":
            ok = r is not None and r["v"] == version and r["p"] == 1
            if got != (1 if ok else 0):
                self.fail("finish", op, args, got, 1 if ok else 0)
            if ok:
                r = m.recs[rid] = copy_rec(r)
                if r["s"] == "released":
                    m.holds.pop(rid, None)
                else:
                    m.confirmed -= 1
                    r["f"] = 1
                r["p"] = 0
            return got
        ok = (r is not None and r["v"] == version and r["e"] == args[4] and r["ep"] == 0
              and not (frees(r) and r["p"] == 0))
        if got != (1 if ok else 0):
            self.fail("undo", op, args[:2], got, 1 if ok else 0)
        if ok:
            saved = self.undo_saved
            if version == 1:
                del m.recs[rid]
                if m.orders.get(r["o"]) == rid:
                    del m.orders[r["o"]]
                m.holds.pop(rid, None)
                if m.users.get(r["u"]) == rid:
                    if args[3] and args[3] in m.recs:
                        m.users[r["u"]] = args[3]
                    else:
                        del m.users[r["u"]]
            else:
                if r["t"] == "confirmed":
                    m.confirmed -= 1
                    m.holds[rid] = r["x"]
                m.recs[rid] = copy_rec(saved)
        return got

    # -- after every step: the budget, the counters, the touched record
    def check(self, rid):
        m = self.m
        now, confirmed, limit, live, raw = self.red.call("EVALSHA", self.snap, 8, *self.keys, rid or "-")
        confirmed, limit = int(confirmed), int(limit)
        if limit >= 0 and confirmed + live > limit:
            self.fail("over the limit: confirmed %d + live holds %d > %d" % (confirmed, live, limit))
        if (confirmed, limit, live) != (m.confirmed, m.limit, m.live(now)):
            self.fail("counters: redis confirmed %d limit %d live %d, model %d %d %d at %d" % (
                confirmed, limit, live, m.confirmed, m.limit, m.live(now), now))
        if rid:
            r = m.recs.get(rid)
            if (raw == "") != (r is None):
                self.fail("record %s: redis %r, model %r" % (rid, raw, r))
            if r is not None:
                self.check_rec(rid, json.loads(raw), r)

    def check_rec(self, rid, got, r):
        want = {k: r[k] for k in REC_FIELDS}
        if got != want:
            self.fail("record %s differs" % rid, got=got, want=want)
        if sum(v[1] for v in r["revs"].values()) != r["rd"] or r["rd"] > r["d"]:
            self.fail("record %s: refunds %s do not sum to rd %d <= d %d" % (rid, r["revs"], r["rd"], r["d"]))
        if r["a"] > 0 and r["ra"] == r["a"] and r["rd"] != r["d"]:
            self.fail("record %s: fully reversed but refunded %d of %d" % (rid, r["rd"], r["d"]))
        if r["c"] and sum(r["lines"]) != self.m.share(r, r["d"]) - self.m.share(r, r["rd"]):
            self.fail("record %s: vendor lines %s" % (rid, r["lines"]))
        if r["s"] == "reversed" and sum(r["lines"]) != 0:
            self.fail("record %s: a full reversal's vendor lines sum to %d" % (rid, sum(r["lines"])))

    def check_all(self):
        m, red, k = self.m, self.red, self.keys
        recs = dict(zip(*[iter(red.call("HGETALL", k[3]))] * 2))
        if set(recs) != set(m.recs):
            self.fail("records: redis %d, model %d" % (len(recs), len(m.recs)))
        for rid, raw in recs.items():
            self.check_rec(rid, json.loads(raw), m.recs[rid])
        if dict(zip(*[iter(red.call("HGETALL", k[4]))] * 2)) != m.orders:
            self.fail("use:orders differs")
        if dict(zip(*[iter(red.call("HGETALL", k[5]))] * 2)) != m.users:
            self.fail("use:users differs")
        revs = {"%s/%s" % (rid, i): v for rid, r in m.recs.items() for i, v in r["revs"].items()}
        got = {key: json.loads(v) for key, v in zip(*[iter(red.call("HGETALL", k[7]))] * 2)}
        if {key: (v["a"], v["r"]) for key, v in got.items()} != revs:
            self.fail("use:revs differs")
        now = red.now_ms()
        live = red.call("ZRANGEBYSCORE", k[2], "(%d" % now, "+inf")
        if sorted(live) != sorted(rid for rid, x in m.holds.items() if x > now):
            self.fail("live holds differ")

    # -- random operations
    def pick_rid(self):
        if not self.m.recs or self.rng.random() < 0.03:
            return ulid(self.rng, self.coupon)
        rids = list(self.m.recs)
        return rids[-1 - min(int(self.rng.expovariate(0.3)), len(rids) - 1)]

    def actor(self, owner):
        x = self.rng.random()
        if x < 0.8:
            return "0"
        if x < 0.95 and owner:
            return owner
        return self.rng.choice(self.m.cfg["users"])

    def random_op(self):
        rng, m = self.rng, self.m
        x = rng.random()
        if x < 0.30:
            users = m.cfg["users"]
            if m.orders and rng.random() < 0.3:
                order = rng.choice(list(m.orders))
                r = m.recs[m.orders[order]]
                user, amount = (r["u"], r["a"]) if rng.random() < 0.6 else (rng.choice(users), rng.choice(m.cfg["amounts"]))
            else:
                order, user, amount = "o-%d" % len(m.orders) + rng.choice(["", ".x", ":y", "-z"]), rng.choice(users), rng.choice(m.cfg["amounts"])
            rid = ulid(rng, self.coupon) if rng.random() > 0.03 or not m.recs else rng.choice(list(m.recs))
            return "hold", [rid, ulid(rng), self.actor(user), user, order, str(amount)]
        if x < 0.45:
            rid = self.pick_rid()
            return "confirm", [rid, ulid(rng), self.actor(m.recs[rid]["u"] if rid in m.recs else None)]
        if x < 0.53:
            rid = self.pick_rid()
            return "cancel", [rid, ulid(rng), self.actor(m.recs[rid]["u"] if rid in m.recs else None)]
        if x < 0.68:
            done = [rid for rid, r in m.recs.items() if r["s"] in ("confirmed", "partially_reversed", "reversed")]
            rid = rng.choice(done) if done and rng.random() < 0.9 else self.pick_rid()
            r = m.recs.get(rid)
            revid, amount = "r%d" % rng.randrange(1000000), rng.randint(1, 1000)
            if r is not None:
                left = r["a"] - r["ra"]
                y = rng.random()
                if r["revs"] and y < 0.15:
                    revid = rng.choice(list(r["revs"]))
                    amount = r["revs"][revid][0] if rng.random() < 0.7 else rng.randint(1, MAXAMT)
                elif y < 0.3 and left > 0:
                    amount = left
                elif y < 0.45 and r["d"] > 0 and 0 < hard(r) < left:
                    amount = hard(r)
                elif left > 0:
                    amount = rng.randint(1, left) if rng.random() < 0.9 else min(MAXAMT, left + rng.randint(1, 5))
            return "reverse", [rid, ulid(rng), self.actor(r["u"] if r else None), revid, str(amount)]
        if x < 0.73:
            rid = self.pick_rid()
            return "get", [rid, self.actor(m.recs[rid]["u"] if rid in m.recs else None)]
        if x < 0.83 and self.undos:
            # mostly the latest transition (what the api does), else an
            # older one: its version no longer matches (answer 0)
            i = -1 if rng.random() < 0.7 else rng.randrange(len(self.undos))
            rid, version, prev, prev_user, eid, before = self.undos.pop(i)
            self.undo_saved = before
            y = rng.random()
            if y < 0.1:  # another transition's event id: answers 0
                eid = ulid(rng)
            elif y < 0.3:  # sent again later, as the api re-sends a kept undo
                self.undos.insert(0, (rid, version, prev, prev_user, eid, before))
            return "undo", [rid, str(version), prev, prev_user, eid]
        if x < 0.93 and self.finishes:
            i = -1 if rng.random() < 0.8 else rng.randrange(len(self.finishes))
            rid, version = self.finishes.pop(i)
            return "finish", [rid, str(version)]
        in_use = m.confirmed + m.live(self.red.now_ms())
        limit = rng.choice([-1, in_use - 1, in_use, in_use + 1, in_use + 2, in_use + 4, m.cfg["limit"]])
        return "adjust", [str(max(-1, limit))]

    def bad_op(self):
        """An invalid operation for a batch: (the error it must answer,
        the op name as sent, its arguments)."""
        rng, c = self.rng, self.coupon
        rid = ulid(rng, c)
        x = rng.randrange(5)
        if x == 0:
            return ["ERR couponq use: rid must be a ULID (26 Crockford base32 characters)", "confirm", "R" * 26,
                    ulid(rng), "0"]
        if x == 1:
            return ["ERR couponq use: order amount must be an integer 0..2147483647", "hold", rid, ulid(rng), "0",
                    "1001", "o-bad", "1.5"]
        if x == 2:
            other = ulid(rng, c + 7)
            return ["ERR couponq use: rid %s does not carry coupon %d" % (other, c), "cancel", other, ulid(rng), "0"]
        if x == 3:
            return ["ERR couponq use: get expects 2 arguments", "get", rid]
        return ["ERR couponq use: unknown operation (hold confirm cancel reverse get undo finish adjust)", "nope",
                rid]

    def random_batch(self):
        """1..8 operations: random ones, holds often followed by their
        confirm or cancel in the same batch (a checkout under load), and
        now and then an invalid one, which must change nothing."""
        rng, ops = self.rng, []
        for _ in range(rng.randint(1, 8)):
            if rng.random() < 0.1:
                ops.append(("bad", self.bad_op(), None))
                continue
            self.undo_saved = None
            op, args = self.random_op()
            ops.append((op, args, self.undo_saved))
            if op == "hold" and rng.random() < 0.5:
                follow = "confirm" if rng.random() < 0.7 else "cancel"
                ops.append((follow, [args[0], ulid(rng), args[2]], None))
        return ops

    def run(self, n):
        rng = self.rng
        i = 0
        while i < n:
            if self.batches and rng.random() < 0.5:
                ops = self.random_batch()
                self.step_batch(ops)
                for op, args, _ in ops:
                    self.check(args[0] if op not in ("adjust", "bad") else None)
                i += len(ops)
            else:
                op, args = self.random_op()
                rid = args[0] if op != "adjust" else None
                self.before_rec = copy_rec(self.m.recs[rid]) if rid in self.m.recs else None
                self.step(op, args)
                self.check(rid)
                i += 1
            if rng.random() < 0.04:
                time.sleep(rng.choice([0.002, 0.005, 0.02]))
            if rng.random() < 0.01:
                self.m.ttl = rng.choice([2, 5, 20, 50, 200, 60000])
                self.red.call("HSET", self.keys[1], "ttl_ms", self.m.ttl)
            if i // 250 != self.checked:
                self.checked = i // 250
                self.check_all()
        self.check_all()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--coupon", type=int, required=True)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--ops", type=int, default=3000)
    ap.add_argument("--no-batches", action="store_true", help="one operation per call only")
    o = ap.parse_args()
    print("use_lua_model: seed %d, %d operations, coupons %d and %d" % (o.seed, o.ops, o.coupon, o.coupon + 1))
    rng = random.Random(o.seed)
    red = Redis(o.port)
    sha = red.call("SCRIPT", "LOAD", open(o.script).read())
    users = ["1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "9223372036854775807",
             "4242"]  # the last one never admitted
    configs = [
        dict(limit=4, ttl=20, discount=2000000011, min=0, vendor=9, bps=3333, reuse=1, users=users,
             issued=users[:-1], amounts=[0, 1, 2, 3, 7, 100, 4999, 5000, 123457, MAXAMT - 1, MAXAMT]),
        dict(limit=3, ttl=5, discount=5000, min=50, vendor=0, bps=10000, reuse=0, users=users,
             issued=users[:-1], amounts=[0, 49, 50, 51, 4999, 5000, 5001, 30000, MAXAMT]),
    ]
    start = time.time()
    for i, cfg in enumerate(configs):
        run = Run(red, sha, o.coupon + i, cfg, rng, print, not o.no_batches)
        run.run(o.ops // len(configs))
        states = {}
        for r in run.m.recs.values():
            states[r["s"]] = states.get(r["s"], 0) + 1
        print("use_lua_model: coupon %d: %d operations %s, records by state %s, confirmed %d, limit %d" % (
            run.coupon, run.nops, dict(sorted(run.counts.items())), dict(sorted(states.items())),
            run.m.confirmed, run.m.limit))
        red.call("DEL", *run.keys)
    print("use_lua_model: ok in %.1f s" % (time.time() - start))


if __name__ == "__main__":
    main()
