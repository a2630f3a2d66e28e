#!/usr/bin/env python3
"""jwt_tool.py -- test keys and tokens for couponq's JWT checks, signed with
the openssl CLI (independent of the C code under test) and stdlib hmac.

  keygen DIR          writes DIR/{hs.key,ec.pem,rsa.pem,ec2.pem,rsa1024.pem}
                      and DIR/jwks.json (kids hs1 HS256, es1 ES256, rs1
                      RS256) plus DIR/jwks-one.json (hs1 alone) and
                      DIR/jwks-rotated.json (hs2 replacing hs1)
  sign DIR KID 'header-json' 'payload-json'
                      prints the compact token; the header is used verbatim
                      (so it may lie about alg), the key is DIR's KID
  mint DIR KID SUB [TTL] [SCOPE]
                      a valid token for the defaults (iss/aud couponq)
  tokens DIR KID FIRST N [TTL]
                      "USER TOKEN" lines for users FIRST..FIRST+N-1, a
                      distinct valid token each (couponq-bench --token-file);
                      signed in-process with the cryptography package,
                      thousands a second, since the openssl CLI costs ~5 ms
                      a token

Imported by tests/unit/gen_jwt_vectors.py and tests/integration/api_auth.sh.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True,
                          capture_output=True).stdout


def _der_ints(der):
    """r, s of a DER ECDSA signature SEQUENCE { INTEGER, INTEGER }."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = []
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out.append(int.from_bytes(der[i + 2:i + 2 + n], "big"))
        i += 2 + n
    return out


def keygen(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "hs.key"), "wb") as f:
        f.write(os.urandom(32))
    with open(os.path.join(d, "hs2.key"), "wb") as f:
        f.write(os.urandom(32))
    for name in ("ec", "ec2"):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", os.path.join(d, name + ".pem"))
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", os.path.join(d, "rsa.pem"))
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
            "-out", os.path.join(d, "rsa1024.pem"))
    keys = [jwk(d, "hs1"), jwk(d, "es1"), jwk(d, "rs1")]
    write_jwks(os.path.join(d, "jwks.json"), keys)
    write_jwks(os.path.join(d, "jwks-one.json"), [jwk(d, "hs1")])
    write_jwks(os.path.join(d, "jwks-rotated.json"), [jwk(d, "hs2")])
    # The RSA public key in PEM, as an attacker would use it as an HMAC key.
    with open(os.path.join(d, "rsa.pub.pem"), "wb") as f:
        f.write(openssl("pkey", "-in", os.path.join(d, "rsa.pem"), "-pubout"))


def write_jwks(path, keys):
    with open(path, "w") as f:
        json.dump({"keys": keys}, f)


def _key_file(d, kid):
    return {"hs1": "hs.key", "hs2": "hs2.key", "es1": "ec.pem", "es2": "ec2.pem",
            "rs1": "rsa.pem", "rs1024": "rsa1024.pem"}[kid]


def jwk(d, kid):
    path = os.path.join(d, _key_file(d, kid))
    if kid.startswith("hs"):
        return {"kid": kid, "kty": "oct", "alg": "HS256",
                "k": b64u(open(path, "rb").read())}
    pub = openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
    if kid.startswith("es"):
        point = pub[-65:]
        assert point[0] == 4
        return {"kid": kid, "kty": "EC", "crv": "P-256", "alg": "ES256",
                "x": b64u(point[1:33]), "y": b64u(point[33:])}
    mod = openssl("rsa", "-in", path, "-noout", "-modulus").decode()
    n = bytes.fromhex(mod.strip().split("=", 1)[1])
    return {"kid": kid, "kty": "RSA", "alg": "RS256", "n": b64u(n),
            "e": b64u((65537).to_bytes(3, "big"))}


def sign_raw(d, kid, msg, alg=None):
    """Signature bytes of msg with DIR's key KID (alg from the key name)."""
    path = os.path.join(d, _key_file(d, kid))
    if kid.startswith("hs"):
        return hmac.new(open(path, "rb").read(), msg, hashlib.sha256).digest()
    der = openssl("dgst", "-sha256", "-sign", path, data=msg)
    if kid.startswith("es"):
        r, s = _der_ints(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return der  # RSASSA-PKCS1-v1_5: the signature itself


def sign(d, kid, header, payload):
    h = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    p = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    msg = (b64u(h.encode()) + "." + b64u(p.encode())).encode()
    return msg.decode() + "." + b64u(sign_raw(d, kid, msg))


def hs256_with(secret, header, payload):
    """HS256 over header.payload with an arbitrary secret (confusion tests)."""
    h = json.dumps(header, separators=(",", ":"))
    p = json.dumps(payload, separators=(",", ":"))
    msg = (b64u(h.encode()) + "." + b64u(p.encode())).encode()
    return msg.decode() + "." + b64u(hmac.new(secret, msg, hashlib.sha256).digest())


def alg_of(kid):
    return {"hs": "HS256", "es": "ES256", "rs": "RS256"}[kid[:2]]


def claims(sub, now=None, ttl=300, **extra):
    now = int(time.time()) if now is None else now
    c = {"iss": "couponq", "aud": "couponq",
         "sub": None if sub is None else str(sub), "iat": now,
         "exp": now + ttl}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def mint(d, kid, sub, ttl=300, scope=None, now=None):
    c = claims(sub, now=now, ttl=ttl)
    if scope:
        c["scope"] = scope
    return sign(d, kid, {"alg": alg_of(kid), "typ": "JWT", "kid": kid}, c)


def _signer(d, kid):
    """msg -> signature with DIR's key KID, in-process."""
    path = os.path.join(d, _key_file(d, kid))
    if kid.startswith("hs"):
        key = open(path, "rb").read()
        return lambda m: hmac.new(key, m, hashlib.sha256).digest()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    priv = serialization.load_pem_private_key(open(path, "rb").read(), None)
    if kid.startswith("es"):
        def es(m):
            r, s = decode_dss_signature(priv.sign(m, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return es
    return lambda m: priv.sign(m, padding.PKCS1v15(), hashes.SHA256())


def tokens(d, kid, first, n, ttl=3000):
    sig = _signer(d, kid)
    h = b64u(json.dumps({"alg": alg_of(kid), "typ": "JWT", "kid": kid},
                        separators=(",", ":")).encode())
    now = int(time.time())
    out = []
    for u in range(first, first + n):
        p = b64u(json.dumps(claims(u, now=now, ttl=ttl), separators=(",", ":")).encode())
        msg = (h + "." + p).encode()
        out.append("%d %s.%s\n" % (u, msg.decode(), b64u(sig(msg))))
    sys.stdout.write("".join(out))


def main():
    cmd = sys.argv[1]
    if cmd == "keygen":
        keygen(sys.argv[2])
    elif cmd == "sign":
        print(sign(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]))
    elif cmd == "mint":
        ttl = int(sys.argv[5]) if len(sys.argv) > 5 else 300
        scope = sys.argv[6] if len(sys.argv) > 6 else None
        print(mint(sys.argv[2], sys.argv[3], sys.argv[4], ttl, scope))
    elif cmd == "tokens":
        ttl = int(sys.argv[6]) if len(sys.argv) > 6 else 3000
        tokens(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), ttl)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
