#!/usr/bin/env python3
"""One HTTP request, shown the way a person would type it with curl (for see_it_work.sh,
so the demo needs no curl). Prints the curl command, the status, the headers that
matter and the body to stderr; ``--field NAME`` prints that member of a JSON answer to
stdout (to capture a token); exits 1 when the status is not ``--expect``.

    show_request.py [-X METHOD] [-u ID:SECRET] [-d NAME=VALUE]... [--bearer TOKEN]
                    [--json JSON] [--expect STATUS] [--field NAME] URL
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import shlex
import sys
import urllib.parse
from typing import Dict, List, Optional, Sequence

SHOWN_HEADERS = ("content-type", "www-authenticate", "retry-after")


def short(token: str) -> str:
    return token if len(token) <= 24 else f"{token[:12]}...{token[-8:]}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("-X", dest="method")
    parser.add_argument("-u", dest="basic", help="ID:SECRET for HTTP Basic")
    parser.add_argument("-d", dest="form", action="append", default=[], help="form field NAME=VALUE")
    parser.add_argument("--json", dest="json_body", help="JSON request body")
    parser.add_argument("--bearer", help="access token for Authorization: Bearer")
    parser.add_argument("--expect", type=int)
    parser.add_argument("--field")
    args = parser.parse_args(argv)

    headers: Dict[str, str] = {}
    body: Optional[bytes] = None
    shown: List[str] = ["curl", "-s"]
    if args.basic:
        headers["Authorization"] = "Basic " + base64.b64encode(args.basic.encode()).decode()
        shown += ["-u", args.basic]
    if args.bearer:
        headers["Authorization"] = f"Bearer {args.bearer}"
        shown += ["-H", f"Authorization: Bearer {short(args.bearer)}"]
    if args.form:
        body = "&".join(urllib.parse.quote(f, safe="=:") for f in args.form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        for f in args.form:
            shown += ["-d", f]
    if args.json_body is not None:
        body = args.json_body.encode()
        headers["Content-Type"] = "application/json"
        shown += ["-H", "Content-Type: application/json", "-d", args.json_body]
    method = args.method or ("POST" if body is not None else "GET")
    if args.method:
        shown += ["-X", args.method]
    shown.append(args.url)
    print("$ " + " ".join(shlex.quote(s) for s in shown), file=sys.stderr)

    parts = urllib.parse.urlsplit(args.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=15)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except OSError as exc:
        print(f"  request failed: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    print(f"  HTTP {response.status} {response.reason}", file=sys.stderr)
    for name in SHOWN_HEADERS:
        value = response.getheader(name)
        if value is not None:
            print(f"  {name}: {value}", file=sys.stderr)
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    if parsed is None:
        print("  " + data.decode("utf-8", "replace"), file=sys.stderr)
    else:
        printable = dict(parsed) if isinstance(parsed, dict) else parsed
        if isinstance(printable, dict):
            for name in ("access_token", "refresh_token"):
                if name in printable:
                    printable[name] = short(str(printable[name]))
        print("  " + json.dumps(printable, indent=2).replace("\n", "\n  "), file=sys.stderr)
    if args.field:
        if not isinstance(parsed, dict) or args.field not in parsed:
            print(f"  (no {args.field!r} in the answer)", file=sys.stderr)
            return 1
        print(parsed[args.field])
    if args.expect is not None and response.status != args.expect:
        print(f"  UNEXPECTED: wanted HTTP {args.expect}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
