#!/usr/bin/env python3
"""dkimpy side of mailstamp's ARC interoperability test (crates/arc/tests/arc/interop_dkimpy.rs).

Never touches the network: key records come from --record NAME=VALUE and reach dkimpy through
its `dnsfunc` hook.

  dkimpy_arc_helper.py version
      imports dkim and authres (dkimpy's ARC needs both) and prints their versions

  dkimpy_arc_helper.py seal --key PEM --domain D --selector S --srv-id ID --timestamp T
      reads a message on stdin (which carries an Authentication-Results field of ID, whose
      arc= result dkimpy takes as the chain status) and prints it with dkimpy's ARC set
      prepended. PEM: PKCS#8 RSA key, or PKCS#8 Ed25519 (the seed is handed to PyNaCl).

  dkimpy_arc_helper.py verify [--record NAME=VALUE ...]
      reads a message on stdin, runs dkim.arc_verify and prints "cv=<status>" and one line per
      set; exit 0 for pass, 1 otherwise.
"""

import argparse
import base64
import re
import sys

ED25519_OID = b"\x06\x03\x2b\x65\x70"
SEED_PREFIX = b"\x04\x22\x04\x20"


def die(msg):
    sys.stderr.write("dkimpy_arc_helper: %s\n" % msg)
    sys.exit(2)


def cmd_version(_args):
    try:
        import authres  # noqa: F401
        import dkim
        import nacl  # noqa: F401
    except ImportError as e:
        sys.stderr.write("dkimpy_arc_helper: missing Python module: %s\n" % e)
        return 1
    if not hasattr(dkim, "arc_sign"):
        sys.stderr.write("dkimpy_arc_helper: this dkimpy has no ARC\n")
        return 1
    from importlib.metadata import version

    print("dkimpy %s, authres %s" % (version("dkimpy"), version("authres")))
    return 0


def private_key(path):
    text = open(path).read()
    m = re.search(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)-----END \1-----", text, re.S)
    if not m:
        die("no PEM block in the key file")
    der = base64.b64decode("".join(m.group(2).split()))
    oid = der.find(ED25519_OID)
    if oid >= 0:
        start = der.find(SEED_PREFIX, oid)
        return b"ed25519-sha256", base64.b64encode(der[start + 4 : start + 36])
    # dkimpy reads PKCS#1 only: unwrap the RSAPrivateKey from PKCS#8's OCTET STRING.
    if m.group(1) == "PRIVATE KEY":
        der = pkcs8_inner(der)
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n" % "\n".join(lines)
    return b"rsa-sha256", pem.encode()


def der_item(der, pos):
    """(tag, content start, content end) of the DER item at pos."""
    tag = der[pos]
    length = der[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    return tag, pos, pos + length


def pkcs8_inner(der):
    _tag, start, _end = der_item(der, 0)  # PrivateKeyInfo SEQUENCE
    _tag, _s, end = der_item(der, start)  # version INTEGER
    _tag, _s, end = der_item(der, end)  # AlgorithmIdentifier SEQUENCE
    tag, s, e = der_item(der, end)  # privateKey OCTET STRING
    if tag != 0x04:
        die("not a PKCS#8 RSA key")
    return der[s:e]


def cmd_seal(args):
    import dkim

    message = sys.stdin.buffer.read()
    algorithm, privkey = private_key(args.key)
    fields = dkim.arc_sign(
        message,
        args.selector.encode(),
        args.domain.encode(),
        privkey,
        args.srv_id.encode(),
        signature_algorithm=algorithm,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        timestamp=int(args.timestamp),
    )
    if not fields:
        die("dkimpy did not seal")
    sys.stdout.buffer.write(b"".join(fields) + message)
    return 0


def cmd_verify(args):
    import dkim

    records = {}
    for r in args.record or []:
        name, value = r.split("=", 1)
        records[name.lower().rstrip(".")] = value.encode()

    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return records.get(n.lower().rstrip("."))

    message = sys.stdin.buffer.read()
    cv, results, comment = dkim.arc_verify(message, dnsfunc=dnsfunc)
    print("cv=%s" % cv.decode())
    print("comment=%s" % comment)
    for r in results:
        print("i=%s ams=%s as=%s" % (r.get("instance"), r.get("ams-valid"), r.get("as-valid")))
    return 0 if cv == b"pass" else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("version")
    s = sub.add_parser("seal")
    s.add_argument("--key", required=True)
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--srv-id", required=True)
    s.add_argument("--timestamp", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--record", action="append")
    args = p.parse_args()
    return {"version": cmd_version, "seal": cmd_seal, "verify": cmd_verify}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
