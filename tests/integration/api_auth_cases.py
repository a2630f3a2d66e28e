#!/usr/bin/env python3
"""api_auth_cases.py -- hostile tokens and requests for api_auth.sh, and the
abuse-limit drivers. Keys from tests/jwt_tool.py (openssl CLI).

  catalogue KEYDIR PORT COUPON   runs every case, prints one line per case
                                 "ok|FAIL name: status body"; exit 1 on a FAIL
  users KEYDIR PORT COUPON N     N users, one request each, one connection
                                 each in turn (same IP); prints status counts
  hot KEYDIR PORT COUPON         user 1 at 50/s and user 2 at 2/s for 2 s;
                                 prints JSON status counts per user
  flood PORT COUPON N            N requests with invalid tokens; JSON counts
"""
import base64
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import jwt_tool as jt  # noqa: E402

WWW = 'Bearer realm="couponq"'
WWW_BAD = 'Bearer realm="couponq", error="invalid_token"'


def request(port, method, path, headers=(), body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.putrequest(method, path, skip_accept_encoding=True)
    for k, v in headers:
        c.putheader(k, v)
    data = body.encode() if body is not None else None
    if data is not None:
        c.putheader("Content-Length", str(len(data)))
    c.endheaders(data)
    r = c.getresponse()
    out = (r.status, r.read().decode(), r.getheader("WWW-Authenticate"),
           r.getheader("Retry-After"))
    c.close()
    return out


def b64(s):
    return jt.b64u(s.encode() if isinstance(s, str) else s)


def catalogue(d, port, coupon):
    now = int(time.time())
    H = lambda kid, alg=None, **kw: dict({"alg": alg or jt.alg_of(kid), "typ": "JWT", "kid": kid}, **kw)  # noqa: E731
    C = lambda sub="1001", **kw: jt.claims(sub, now=now, **kw)  # noqa: E731
    S = lambda kid="hs1", h=None, c=None: jt.sign(d, kid, h or H(kid), c or C())  # noqa: E731
    good = S()
    hp, pp, sp = good.split(".")
    es = S("es1")
    rs = S("rs1")
    rsa_pub = open(os.path.join(d, "rsa.pub.pem"), "rb").read()
    other_pl = S(c=C("1002")).split(".")[1]
    flip = lambda s: s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]  # noqa: E731
    U = "unauthorized: "
    cases = []  # (name, headers, body, status, text, www)

    def tok(name, t, why, status=401, body="{}", www=WWW_BAD):
        cases.append((name, [("Authorization", "Bearer " + t)], body, status,
                      U + why if status == 401 else why, www))

    for sp_ in ("none", "None", "NONE", "nOnE"):
        h = b64(json.dumps({"alg": sp_}))
        tok("alg " + sp_, h + "." + pp + ".", "alg none is not accepted")
        tok("alg " + sp_ + " signed", h + "." + pp + "." + sp, "alg none is not accepted")
    tok("HS256 with the RSA public key as secret",
        jt.hs256_with(rsa_pub, H("rs1", "HS256"), C()), "alg does not match the key")
    tok("ES256 header, HS256 key", S(h=H("hs1", "ES256")), "alg does not match the key")
    tok("alg HS512", S(h=H("hs1", "HS512")), "alg not accepted")
    tok("tampered payload HS256", hp + "." + other_pl + "." + sp, "bad signature")
    tok("tampered signature HS256", hp + "." + pp + "." + flip(sp), "bad signature")
    e = es.split(".")
    tok("tampered signature ES256", e[0] + "." + e[1] + "." + flip(e[2]), "bad signature")
    r = rs.split(".")
    tok("tampered signature RS256", r[0] + "." + r[1] + "." + flip(r[2]), "bad signature")
    tok("tampered payload ES256", e[0] + "." + other_pl + "." + e[2], "bad signature")
    tok("empty signature", hp + "." + pp + ".", "bad signature")
    tok("wrong iss", S(c=C(iss="evil")), "wrong issuer")
    tok("no iss", S(c=C(iss=None)), "wrong issuer")
    tok("wrong aud", S(c=C(aud="shop")), "wrong audience")
    tok("aud array without couponq", S(c=C(aud=["a", "b"])), "wrong audience")
    tok("missing exp", S(c=C(exp=None)), "exp missing")
    tok("expired", S(c=C(exp=now - 31, iat=now - 300)), "expired")
    tok("nbf in the future", S(c=C(nbf=now + 60)), "not valid yet (nbf)")
    tok("iat in the future", S(c=C(iat=now + 60)), "issued in the future (iat)")
    tok("lifetime too long", S(c=C(ttl=7200)), "lifetime too long")
    tok("2 segments", hp + "." + pp, "malformed token: expected 3 segments")
    tok("4 segments", good + "." + sp, "malformed token: expected 3 segments")
    tok("bad base64url", hp.replace(hp[3], "+", 1) + "." + pp + "." + sp, "malformed token: header")
    tok("padded", hp + "==." + pp + "." + sp, "malformed token: header")
    tok("header not JSON", b64("nope") + "." + pp + "." + sp, "malformed token: header")
    tok("payload not JSON", jt.sign(d, "hs1", H("hs1"), "nope"), "malformed token: payload")
    tok("duplicate alg", jt.sign(d, "hs1", '{"alg":"HS256","kid":"hs1","alg":"none"}', C()), "malformed token: header")
    tok("oversized token", S(c=C(pad="x" * 5000)), "token too large")
    tok("unknown kid", S(h=H("k9", "HS256")), "unknown kid")
    tok("no kid, 3 keys", S(h={"alg": "HS256"}), "kid required")
    tok("crit", S(h=H("hs1", crit=["exp"])), 'header parameter "crit" is not accepted')
    tok("embedded jwk", S(h=H("hs1", jwk={"kty": "oct", "k": "AAAA"})), 'header parameter "jwk" is not accepted')
    tok("sub not a user id", S(c=C("admin")), "sub: not a user id")
    tok("sub with leading zero", S(c=C("01001")), "sub: not a user id")
    tok("sub missing", S(c=C(None)), "sub missing")
    tok("user mismatch", good, "forbidden: user_mismatch", 403, '{"user_id":1002}', None)
    tok("service token without user", S(c=C("orders", scope="couponq:service")),
        "user_id: missing; a service token acts for the user_id it names", 400, "{}", None)
    cases.append(("no Authorization", [], "{}", 401, U + "missing bearer token", WWW))
    cases.append(("Basic scheme", [("Authorization", "Basic dXNlcjpwYXNz")], "{}", 401,
                  U + "expected Authorization: Bearer <token>", WWW_BAD))
    cases.append(("Bearer without token", [("Authorization", "Bearer ")], "{}", 401,
                  U + "expected Authorization: Bearer <token>", WWW_BAD))
    cases.append(("duplicate Authorization", [("Authorization", "Bearer " + good),
                                              ("Authorization", "Bearer " + good)], "{}", 401,
                  U + "more than one Authorization header", WWW_BAD))
    cases.append(("body user_id without token", [], '{"user_id":1001}', 401,
                  U + "missing bearer token", WWW))
    failed = 0
    for name, hdrs, body, status, text, www in cases:
        st, got, gwww, _ = request(port, "POST", "/v1/coupons/%d/issues" % coupon, hdrs, body)
        okay = st == status and json.loads(got).get("error") == text and (www is None or gwww == www)
        failed += not okay
        print("%s %s: %d %s www=%s" % ("ok" if okay else "FAIL", name, st, got, gwww))
    # status of another user, read with a user token
    st, got, _, _ = request(port, "GET", "/v1/coupons/%d/issues/1002" % coupon,
                            [("Authorization", "Bearer " + good)])
    okay = st == 403 and "forbidden: user_mismatch" in got
    failed += not okay
    print("%s another user's status: %d %s" % ("ok" if okay else "FAIL", st, got))
    st, got, gwww, _ = request(port, "GET", "/v1/coupons/%d/issues/1001" % coupon)
    okay = st == 401 and gwww == WWW
    failed += not okay
    print("%s status without a token: %d %s" % ("ok" if okay else "FAIL", st, got))
    print("cases: %d" % (len(cases) + 2))
    return 1 if failed else 0


def users(d, port, coupon, n):
    codes = {}
    toks = [jt.hs256_with(open(os.path.join(d, "hs.key"), "rb").read(),
                          {"alg": "HS256", "kid": "hs1"}, jt.claims(10000 + u)) for u in range(n)]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for t in toks:
        c.request("POST", "/v1/coupons/%d/issues" % coupon, body="{}",
                  headers={"Authorization": "Bearer " + t})
        r = c.getresponse()
        r.read()
        codes[r.status] = codes.get(r.status, 0) + 1
    print(json.dumps({str(k): v for k, v in codes.items()}))


def hot(d, port, coupon):
    key = open(os.path.join(d, "hs.key"), "rb").read()
    t1 = jt.hs256_with(key, {"alg": "HS256", "kid": "hs1"}, jt.claims(1))
    t2 = jt.hs256_with(key, {"alg": "HS256", "kid": "hs1"}, jt.claims(2))
    out = {"1": {}, "2": {}}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    t0 = time.time()
    for i in range(100):  # user 1 at 50/s; user 2 every 25th (2/s)
        for who, t in (("1", t1),) + ((("2", t2),) if i % 25 == 0 else ()):
            c.request("GET", "/v1/coupons/%d/issues/%s" % (coupon, who),
                      headers={"Authorization": "Bearer " + t})
            r = c.getresponse()
            r.read()
            out[who][str(r.status)] = out[who].get(str(r.status), 0) + 1
        time.sleep(max(0, t0 + (i + 1) * 0.02 - time.time()))
    print(json.dumps(out))


def flood(port, coupon, n):
    codes = {}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for i in range(n):
        c.request("POST", "/v1/coupons/%d/issues" % coupon, body="{}",
                  headers={"Authorization": "Bearer x.y.%d" % i})
        r = c.getresponse()
        body = r.read().decode()
        key = "%d %s" % (r.status, json.loads(body)["error"].split(":")[0])
        codes[key] = codes.get(key, 0) + 1
    print(json.dumps(codes))


def main():
    a = sys.argv
    if a[1] == "catalogue":
        sys.exit(catalogue(a[2], int(a[3]), int(a[4])))
    elif a[1] == "users":
        users(a[2], int(a[3]), int(a[4]), int(a[5]))
    elif a[1] == "hot":
        hot(a[2], int(a[3]), int(a[4]))
    elif a[1] == "flood":
        flood(int(a[2]), int(a[3]), int(a[4]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
