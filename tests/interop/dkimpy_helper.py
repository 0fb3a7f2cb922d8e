#!/usr/bin/env python3
"""dkimpy side of mailstamp's DKIM interoperability test (tests/tests/cli/interop_dkimpy.rs).

Never touches the network: key records come from the command line or from a master zone
file read with dnspython, and are handed to dkimpy through its `dnsfunc` hook.

  dkimpy_helper.py version
      imports dkim, nacl and dns and prints their versions (exit 1 when one is missing)

  dkimpy_helper.py sign --key PEM --domain D --selector S --algorithm A --canonicalization H/B
      reads a message on stdin, prints it with dkimpy's DKIM-Signature field prepended.
      PEM: PKCS#8 or PKCS#1 RSA key, or a PKCS#8 Ed25519 key (the seed is handed to PyNaCl).
      A: rsa-sha256, ed25519-sha256 or rsa-sha1.

  dkimpy_helper.py canon-body --canonicalization simple|relaxed
      reads a body on stdin and prints dkimpy's canonical form of it (bytes, unchanged).

  dkimpy_helper.py verify [--record NAME=VALUE ...] [--zone FILE ...]
      reads a signed message on stdin and verifies every DKIM-Signature with dkimpy; prints
      one line per signature ("<index> pass d=... s=..." or "<index> fail ...: reason");
      exit 0 when there is at least one signature and all pass, 1 otherwise.
"""

import argparse
import base64
import re
import sys


def die(msg):
    sys.stderr.write("dkimpy_helper: %s\n" % msg)
    sys.exit(2)


def cmd_version(_args):
    try:
        import dkim  # noqa: F401
        import dns.version
        import nacl
    except ImportError as e:
        sys.stderr.write("dkimpy_helper: missing Python module: %s\n" % e)
        return 1
    from importlib.metadata import version

    print("dkimpy %s, dnspython %s, PyNaCl %s" % (version("dkimpy"), dns.version.version, nacl.__version__))
    return 0


def pem_der(text):
    m = re.search(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)-----END \1-----", text, re.S)
    if not m:
        die("no PEM block in the key file")
    return m.group(1), base64.b64decode("".join(m.group(2).split()))


# PKCS#8 (RFC 8410): AlgorithmIdentifier id-Ed25519 (1.3.101.112), then the private key as an
# OCTET STRING wrapping an OCTET STRING of 32 bytes.
ED25519_OID = b"\x06\x03\x2b\x65\x70"
SEED_PREFIX = b"\x04\x22\x04\x20"


def ed25519_seed(der):
    oid = der.find(ED25519_OID)
    start = der.find(SEED_PREFIX, oid)
    if oid < 0 or start < 0 or len(der) < start + 4 + 32:
        die("not a PKCS#8 Ed25519 key")
    return der[start + 4 : start + 4 + 32]


def cmd_sign(args):
    import dkim

    message = sys.stdin.buffer.read()
    with open(args.key, "r") as f:
        text = f.read()
    algorithm = args.algorithm.encode()
    if algorithm == b"ed25519-sha256":
        _label, der = pem_der(text)
        privkey = base64.b64encode(ed25519_seed(der))
    else:
        privkey = text.encode()
    header, body = args.canonicalization.split("/")
    linesep = b"\r\n" if b"\r\n" in message else b"\n"
    field = dkim.sign(
        message,
        args.selector.encode(),
        args.domain.encode(),
        privkey,
        canonicalize=(header.encode(), body.encode()),
        signature_algorithm=algorithm,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        linesep=linesep,
    )
    if not field:
        die("dkimpy did not sign")
    sys.stdout.buffer.write(field + message)
    return 0


def cmd_canon_body(args):
    from dkim.canonicalization import Relaxed, Simple

    body = sys.stdin.buffer.read()
    canon = Relaxed if args.canonicalization == "relaxed" else Simple
    sys.stdout.buffer.write(canon.canonicalize_body(body))
    return 0


def zone_records(path):
    import dns.name
    import dns.rdatatype
    import dns.zone

    zone = dns.zone.from_file(path, origin=dns.name.root, relativize=False, check_origin=False)
    out = {}
    for name, _ttl, rdata in zone.iterate_rdatas(dns.rdatatype.TXT):
        key = name.to_text().rstrip(".").lower()
        out.setdefault(key, []).append(b"".join(rdata.strings))
    return out


def cmd_verify(args):
    import dkim

    records = {}
    for path in args.zone:
        for name, values in zone_records(path).items():
            records.setdefault(name, []).extend(values)
    for item in args.record:
        name, sep, value = item.partition("=")
        if not sep:
            die("--record expects NAME=VALUE, found %r" % item)
        records.setdefault(name.rstrip(".").lower(), []).append(value.encode())

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        values = records.get(name.rstrip(".").lower())
        if not values:
            return None
        if len(values) > 1:
            die("%s has %d TXT records" % (name, len(values)))
        return values[0]

    message = sys.stdin.buffer.read()
    d = dkim.DKIM(message, minkey=1024)
    count = len([1 for (name, _value) in d.headers if name.lower() == b"dkim-signature"])
    if count == 0:
        print("no DKIM-Signature field")
        return 1
    ok = True
    for idx in range(count):
        try:
            d = dkim.DKIM(message, minkey=1024)
            passed = d.verify(idx=idx, dnsfunc=dnsfunc)
            reason = "signature or body hash mismatch"
        except dkim.DKIMException as e:
            passed, reason = False, str(e)
        who = "d=%s s=%s" % (
            (getattr(d, "domain", None) or b"?").decode(errors="replace"),
            (getattr(d, "selector", None) or b"?").decode(errors="replace"),
        )
        if passed:
            print("%d pass %s" % (idx, who))
        else:
            ok = False
            print("%d fail %s: %s" % (idx, who, reason))
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version").set_defaults(func=cmd_version)
    s = sub.add_parser("sign")
    s.add_argument("--key", required=True)
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--algorithm", required=True, choices=["rsa-sha256", "ed25519-sha256", "rsa-sha1"])
    s.add_argument("--canonicalization", default="relaxed/relaxed",
                   choices=["relaxed/relaxed", "relaxed/simple", "simple/relaxed", "simple/simple"])
    s.set_defaults(func=cmd_sign)
    c = sub.add_parser("canon-body")
    c.add_argument("--canonicalization", required=True, choices=["simple", "relaxed"])
    c.set_defaults(func=cmd_canon_body)
    v = sub.add_parser("verify")
    v.add_argument("--record", action="append", default=[])
    v.add_argument("--zone", action="append", default=[])
    v.set_defaults(func=cmd_verify)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
