#!/usr/bin/env python3
"""parsedmarc side of mailstamp's DMARC report round trip (tests/tests/cli/report_interop.rs).

Never touches the network: reports are parsed with parsedmarc's Python API in offline mode
(no reverse DNS, no IP database download, local files only).

  parsedmarc_helper.py version
      imports parsedmarc and prints its version (exit 1 when it is missing)

  parsedmarc_helper.py counts FILE...
      parses each aggregate report file (.xml or .xml.gz) with parsedmarc and prints one JSON
      object per file, in argument order:
      {"file", "report_id", "org_name", "domain", "begin", "end", "messages",
       "sources": {ip: messages}, "dispositions": {disposition: messages},
       "dkim_aligned": {"pass"|"fail": messages}, "spf_aligned": {...},
       "dkim": {"domain/selector/result": messages}, "spf": {"domain/scope/result": messages}}
      Exit 1 when a file is not a report parsedmarc reads.
"""

import json
import sys


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def add(counts, key, n):
    counts[key] = counts.get(key, 0) + n


def counts(path):
    import parsedmarc

    with open(path, "rb") as f:
        data = f.read()
    try:
        report = parsedmarc.parse_aggregate_report_file(
            data, offline=True, always_use_local_files=True
        )
    except Exception as e:  # parsedmarc raises its own exception classes
        die(f"{path}: parsedmarc: {type(e).__name__}: {e}")
    meta = report["report_metadata"]
    out = {
        "file": path,
        "report_id": meta["report_id"],
        "org_name": meta["org_name"],
        "domain": report["policy_published"]["domain"],
        "begin": meta["begin_date"],
        "end": meta["end_date"],
        "messages": 0,
        "sources": {},
        "dispositions": {},
        "dkim_aligned": {},
        "spf_aligned": {},
        "dkim": {},
        "spf": {},
    }
    for record in report["records"]:
        n = int(record["count"])
        out["messages"] += n
        add(out["sources"], record["source"]["ip_address"], n)
        evaluated = record["policy_evaluated"]
        add(out["dispositions"], evaluated["disposition"], n)
        add(out["dkim_aligned"], evaluated["dkim"], n)
        add(out["spf_aligned"], evaluated["spf"], n)
        for d in record["auth_results"]["dkim"]:
            add(out["dkim"], f'{d["domain"]}/{d["selector"]}/{d["result"]}', n)
        for s in record["auth_results"]["spf"]:
            add(out["spf"], f'{s["domain"]}/{s["scope"]}/{s["result"]}', n)
    return out


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    if sys.argv[1] == "version":
        try:
            import parsedmarc
        except ImportError as e:
            die(f"cannot import parsedmarc: {e}")
        print("parsedmarc", parsedmarc.__version__)
        return
    if sys.argv[1] == "counts":
        for path in sys.argv[2:]:
            print(json.dumps(counts(path), sort_keys=True))
        return
    die(f"unknown command {sys.argv[1]!r}\n{__doc__}")


if __name__ == "__main__":
    main()
