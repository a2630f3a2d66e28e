#!/usr/bin/env python3
"""gen_jwt_vectors.py -- writes tests/unit/jwt_vectors.h: a JWKS and tokens
signed by the openssl CLI (tests/jwt_tool.py) at a fixed time, each with the
answer api/jwt.c must give. Run it again only to change the vectors:

  python3 tests/unit/gen_jwt_vectors.py > tests/unit/jwt_vectors.h
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import jwt_tool as jt  # noqa: E402

NOW = 1900000000  # 2030-03-17; test_api_jwt.c uses the same


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    d = tempfile.mkdtemp(prefix="jwtvec.")
    jt.keygen(d)
    jwks = json.load(open(os.path.join(d, "jwks.json")))
    rs1024 = jt.jwk(d, "rs1024")
    es2 = jt.jwk(d, "es2")
    H = lambda kid, alg=None, **kw: dict({"alg": alg or jt.alg_of(kid), "typ": "JWT", "kid": kid}, **kw)  # noqa: E731
    C = lambda sub="1001", **kw: jt.claims(sub, now=NOW, **kw)  # noqa: E731
    S = lambda kid, h=None, c=None: jt.sign(d, kid, h or H(kid), c or C())  # noqa: E731
    rsa_pub = open(os.path.join(d, "rsa.pub.pem"), "rb").read()
    good = S("hs1")
    hp, pp, sp = good.split(".")
    es_good = S("es1", c=C("42"))
    rs_good = S("rs1", c=C("9223372036854775807"))
    other = jt.sign(d, "hs1", H("hs1"), C("1002")).split(".")[1]
    flip = lambda s: s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]  # noqa: E731
    v = []  # (name, token, why, user, service)
    ok = lambda n, t, user=0, svc=0: v.append((n, t, "", user, svc))  # noqa: E731
    bad = lambda n, t, why: v.append((n, t, why, 0, 0))  # noqa: E731

    ok("HS256 user", good, 1001)
    ok("ES256 user", es_good, 42)
    ok("RS256 user, max id", rs_good, 9223372036854775807)
    ok("service token", S("hs1", c=C("orders-svc", scope="read couponq:service")), 0, 1)
    ok("service token, ES256", S("es1", c=C("ops tool", scope="couponq:service")), 0, 1)
    ok("aud array", S("hs1", c=C(aud=["other", "couponq"])), 1001)
    ok("nbf within leeway", S("hs1", c=C(nbf=NOW + 29)), 1001)
    ok("exp within leeway", S("hs1", c=C(exp=NOW - 29, iat=NOW - 100)), 1001)
    ok("exp as a real", S("hs1", c=C(exp=NOW + 60.5)), 1001)
    ok("no typ", S("hs1", h={"alg": "HS256", "kid": "hs1"}), 1001)
    ok("max lifetime exactly", S("hs1", c=C(ttl=3600)), 1001)
    for spelling in ("none", "None", "NONE", "nOnE"):
        h = jt.b64u(json.dumps({"alg": spelling, "kid": "hs1"}).encode())
        bad("alg " + spelling, h + "." + pp + ".", "alg none is not accepted")
        bad("alg " + spelling + " with a signature", h + "." + pp + "." + sp, "alg none is not accepted")
    bad("alg HS512", S("hs1", h=H("hs1", "HS512")), "alg not accepted")
    bad("alg PS256", S("rs1", h=H("rs1", "PS256")), "alg not accepted")
    bad("alg lower-case hs256", S("hs1", h=H("hs1", "hs256")), "alg not accepted")
    bad("alg missing", S("hs1", h={"kid": "hs1"}), "malformed token: no alg")
    bad("alg a number", S("hs1", h={"alg": 256, "kid": "hs1"}), "malformed token: no alg")
    bad("HS256 with the RSA public key as secret",
        jt.hs256_with(rsa_pub, H("rs1", "HS256"), C()), "alg does not match the key")
    bad("ES256 header on the HS256 key", S("hs1", h=H("hs1", "ES256")), "alg does not match the key")
    bad("RS256 header on the ES256 key", S("es1", h=H("es1", "RS256")), "alg does not match the key")
    bad("tampered payload", hp + "." + other + "." + sp, "bad signature")
    bad("tampered signature HS256", hp + "." + pp + "." + flip(sp), "bad signature")
    e = es_good.split(".")
    bad("tampered signature ES256", e[0] + "." + e[1] + "." + flip(e[2]), "bad signature")
    bad("ES256 signature truncated", e[0] + "." + e[1] + "." + jt.b64u(unb64(e[2])[:-1]), "bad signature")
    bad("ES256 signature in DER", e[0] + "." + e[1] + "." + jt.b64u(
        jt.openssl("dgst", "-sha256", "-sign", os.path.join(d, "ec.pem"),
                   data=(e[0] + "." + e[1]).encode())), "bad signature")
    bad("ES256 signed by another key", S("es2", h=H("es1")), "bad signature")
    r = rs_good.split(".")
    bad("tampered signature RS256", r[0] + "." + r[1] + "." + flip(r[2]), "bad signature")
    bad("empty signature", hp + "." + pp + ".", "bad signature")
    bad("signature of another token", hp + "." + pp + "." + es_good.split(".")[2], "bad signature")
    bad("wrong iss", S("hs1", c=C(iss="evil")), "wrong issuer")
    bad("iss missing", S("hs1", c=C(iss=None)), "wrong issuer")
    bad("wrong aud", S("hs1", c=C(aud="other")), "wrong audience")
    bad("aud array without it", S("hs1", c=C(aud=["a", "b"])), "wrong audience")
    bad("aud missing", S("hs1", c=C(aud=None)), "wrong audience")
    bad("exp missing", S("hs1", c=C(exp=None)), "exp missing")
    bad("exp a string", S("hs1", c=C(exp=str(NOW + 60))), "exp: not a number")
    bad("expired", S("hs1", c=C(exp=NOW - 30, iat=NOW - 100)), "expired")
    bad("expired long ago", S("hs1", c=C(exp=1300819380, iat=None)), "expired")
    bad("nbf in the future", S("hs1", c=C(nbf=NOW + 31)), "not valid yet (nbf)")
    bad("iat in the future", S("hs1", c=C(iat=NOW + 31, exp=NOW + 300)), "issued in the future (iat)")
    bad("lifetime too long", S("hs1", c=C(ttl=3600 + 31)), "lifetime too long")
    bad("lifetime too long by iat", S("hs1", c=C(iat=NOW - 3600, exp=NOW + 60)), "lifetime too long")
    bad("exp far away", S("hs1", c=C(exp=2 ** 62)), "lifetime too long")
    bad("sub missing", S("hs1", c=C(sub=None)), "sub missing")
    bad("sub a number", S("hs1", c=dict(C(), sub=1001)), "sub: must be a string")
    for s in ("0", "-1", "+1", "01", "9223372036854775808", "abc", "", " 1", "1.0"):
        bad("sub " + repr(s), S("hs1", c=C(s)), "sub: not a user id")
    bad("service sub too long", S("hs1", c=C("x" * 65, scope=jt_scope())), "sub: a service name of 1..64 characters")
    bad("service sub with a newline", S("hs1", c=C("a\nb", scope=jt_scope())), "sub: a service name of printable characters")
    bad("scope a near miss", S("hs1", c=C("orders", scope="couponq:services")), "sub: not a user id")
    bad("scope not a string", S("hs1", c=C(scope=["couponq:service"])), "scope: must be a string")
    bad("unknown kid", S("hs1", h=H("nope", "HS256")), "unknown kid")
    bad("kid not a string", S("hs1", h={"alg": "HS256", "kid": 1}), "unknown kid")
    bad("no kid with several keys", S("hs1", h={"alg": "HS256"}), "kid required")
    bad("crit header", S("hs1", h=H("hs1", crit=["exp"], exp=1)), 'header parameter "crit" is not accepted')
    bad("embedded jwk", S("hs1", h=H("hs1", jwk=es2)), 'header parameter "jwk" is not accepted')
    bad("jku header", S("hs1", h=H("hs1", jku="http://evil/")), 'header parameter "jku" is not accepted')
    bad("duplicate alg in header", jt.sign(d, "hs1", '{"alg":"HS256","kid":"hs1","alg":"none"}', C()), "malformed token: header")
    bad("duplicate sub in payload", jt.sign(d, "hs1", H("hs1"), '{"iss":"couponq","aud":"couponq","exp":%d,"sub":"1","sub":"2"}' % (NOW + 60)), "malformed token: payload")
    bad("payload not JSON", jt.sign(d, "hs1", H("hs1"), "not json"), "malformed token: payload")
    bad("payload an array", jt.sign(d, "hs1", H("hs1"), "[1]"), "malformed token: payload")
    bad("header not JSON", "bm90IGpzb24." + pp + "." + sp, "malformed token: header")
    bad("header an array", jt.b64u(b"[1]") + "." + pp + "." + sp, "malformed token: header")
    bad("2 segments", hp + "." + pp, "malformed token: expected 3 segments")
    bad("1 segment", hp, "malformed token: expected 3 segments")
    bad("4 segments", good + "." + sp, "malformed token: expected 3 segments")
    bad("empty header", "." + pp + "." + sp, "malformed token: expected 3 segments")
    bad("empty payload", hp + ".." + sp, "malformed token: expected 3 segments")
    bad("padded header", hp + "=." + pp + "." + sp, "malformed token: header")
    bad("standard base64 char", hp.replace(hp[5], "+", 1) + "." + pp + "." + sp, "malformed token: header")
    bad("space in header", hp[:4] + " " + hp[4:] + "." + pp + "." + sp, "malformed token: header")
    bad("non-canonical signature bits", hp + "." + pp + "." + sp[:-1] + chr(ord(sp[-1]) + 1), "malformed token: signature")
    bad("signature length 4k+1", hp + "." + pp + "." + sp + "AA", "malformed token: signature")
    bad("oversized", S("hs1", c=C(pad="x" * 4000)), "token too large")

    # The JSON of a segment: the fast path (jwt_json.c) takes plain flat
    # objects, jansson the rest; both must give the answers of one parser.
    P = lambda body: '{"iss":"couponq","aud":"couponq","sub":"1001","iat":%d,"exp":%d%s}' % (NOW, NOW + 300, body)  # noqa: E731
    HS = '{"alg":"HS256","typ":"JWT","kid":"hs1"}'
    raw = lambda h, p: jt.sign(d, "hs1", h, p)  # noqa: E731
    ok("claims with escapes (jansson)", raw(HS, '{"iss":"coup\\u006fnq","aud":["x","couponq"],"sub":"100\\u0031","exp":%d}' % (NOW + 60)), 1001)
    ok("blanks around members", raw(' { "alg" : "HS256" ,\t"kid" : "hs1" } ', ' {\r\n "iss" : "couponq" , "aud" : [ "couponq" ] ,\n "sub" : "1001" , "exp" : %d } \n' % (NOW + 60)), 1001)
    ok("header members reordered", raw('{"kid":"hs1","typ":"JWT","alg":"HS256"}', P("")), 1001)
    ok("nested unknown claim (jansson)", raw(HS, P(',"ctx":{"a":[1,2.5,null]}')), 1001)
    ok("aud array with a number (jansson)", raw(HS, P("").replace('"aud":"couponq"', '"aud":[1,"couponq"]')), 1001)
    ok("unknown literal claims", raw(HS, P(',"a":true,"b":false,"c":null,"d":-0,"e":[]')), 1001)
    ok("iat as a real", S("hs1", c=C(iat=NOW + 0.5)), 1001)
    ok("nbf negative zero", raw(HS, '{"iss":"couponq","aud":"couponq","sub":"7","nbf":-0,"exp":%d}' % (NOW + 60)), 7)
    bad("exp of 19 digits", raw(HS, '{"iss":"couponq","aud":"couponq","sub":"1","exp":1000000000000000000}'), "lifetime too long")
    bad("exp of 20 digits", raw(HS, '{"iss":"couponq","aud":"couponq","sub":"1","exp":12345678901234567890}'), "malformed token: payload")
    bad("exp with a leading zero", raw(HS, '{"iss":"couponq","aud":"couponq","sub":"1","exp":0%d}' % (NOW + 60)), "malformed token: payload")
    bad("exp null", raw(HS, '{"iss":"couponq","aud":"couponq","sub":"1","exp":null}'), "exp: not a number")
    bad("nbf a string", S("hs1", c=C(nbf="soon")), "nbf/iat: not a number")
    bad("iat true", S("hs1", c=C(iat=True)), "nbf/iat: not a number")
    bad("iss a number", S("hs1", c=C(iss=5)), "wrong issuer")
    bad("iss escaped into another", raw(HS, P("").replace('"iss":"couponq"', '"iss":"couponq\\u0000"')), "malformed token: payload")
    bad("aud empty array", S("hs1", c=C(aud=[])), "wrong audience")
    bad("alg none escaped", raw('{"alg":"n\\u006fne","kid":"hs1"}', P("")), "alg none is not accepted")
    bad("crit escaped", raw('{"alg":"HS256","kid":"hs1","cr\\u0069t":["x"]}', P("")), 'header parameter "crit" is not accepted')
    bad("x5c after typ", raw('{"alg":"HS256","typ":"JWT","kid":"hs1","x5c":"a","jku":"b"}', P("")), 'header parameter "jku" is not accepted')
    bad("jku before x5c", raw('{"alg":"HS256","kid":"hs1","jku":"b","x5c":"a"}', P("")), 'header parameter "jku" is not accepted')
    bad("iss with a suffix", S("hs1", c=C(iss="couponq2")), "wrong issuer")
    bad("iss a prefix", S("hs1", c=C(iss="coupon")), "wrong issuer")
    bad("aud with a suffix", S("hs1", c=C(aud="couponqs")), "wrong audience")
    bad("aud array with a suffix", S("hs1", c=C(aud=["couponqs", "xcouponq"])), "wrong audience")
    bad("alg HS256 with a suffix", S("hs1", h=H("hs1", "HS2560")), "alg not accepted")
    bad("alg none with a suffix", S("hs1", h=H("hs1", "nonex")), "alg not accepted")
    bad("kid a prefix of a kid", S("hs1", h=H("hs", "HS256")), "unknown kid")
    bad("duplicate kid, one escaped", raw('{"alg":"HS256","kid":"hs1","k\\u0069d":"es1"}', P("")), "malformed token: header")
    bad("duplicate sub, one escaped", raw(HS, P(',"s\\u0075b":"2"')), "malformed token: payload")
    bad("duplicate exp, both plain", raw(HS, P(',"exp":%d' % (NOW + 60))), "malformed token: payload")
    bad("garbage after the payload", raw(HS, P("") + "x"), "malformed token: payload")
    bad("trailing comma in the payload", raw(HS, P(",")), "malformed token: payload")
    bad("NUL byte in a claim", raw(HS, P(',"x":"a\x00b"')), "malformed token: payload")
    bad("kid empty", raw('{"alg":"HS256","kid":""}', P("")), "unknown kid")
    bad("kid of 65 characters", raw('{"alg":"HS256","kid":"%s"}' % ("k" * 65), P("")), "unknown kid")
    bad("kid true", raw('{"alg":"HS256","kid":true}', P("")), "unknown kid")
    bad("alg null", raw('{"alg":null,"kid":"hs1"}', P("")), "malformed token: no alg")
    bad("scope with a tab (not a word)", raw(HS, '{"iss":"couponq","aud":"couponq","sub":"svc","exp":%d,"scope":"read\\tcouponq:service"}' % (NOW + 60)), "sub: not a user id")
    bad("service name not ASCII", S("hs1", c=C("caf\u00e9", scope=jt_scope())), "sub: a service name of printable characters")

    print("/* clang-format off */")
    print("/* jwt_vectors.h -- generated by tests/unit/gen_jwt_vectors.py with the")
    print(" * openssl CLI; do not edit. Tokens are valid (or not) at VEC_NOW. */")
    print("#define VEC_NOW %d" % NOW)
    print("static const char VEC_JWKS[] = %s;" % c_str(json.dumps(jwks)))
    print("static const char VEC_JWK_RS1024[] = %s;" % c_str(json.dumps(rs1024)))
    print("static const char VEC_JWK_ES2[] = %s;" % c_str(json.dumps(es2)))
    print("static const struct vec {\n    const char *name, *token, *why;\n"
          "    long long user;\n    int service;\n} VECS[] = {")
    for name, tok, why, user, svc in v:
        print("    { %s,\n      %s,\n      %s, %dLL, %d }," % (c_str(name), c_str(tok), c_str(why), user, svc))
    print("};")


def unb64(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jt_scope():
    return "couponq:service"


if __name__ == "__main__":
    main()
