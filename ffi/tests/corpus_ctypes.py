#!/usr/bin/env python3
"""The shared dev corpus driven through the real C library with ctypes.

Every case of cases.jsonl and wycheproof_jwt.jsonl must give its exact category through
xca_verify (and xca_verify_header with "Bearer <token>"), and valid tokens their exact
decoded claims. The corpus is required: a missing directory is a failure, not a skip.

usage: corpus_ctypes.py LIBXCONNAUTH_SO [VECTORS_DIR]
       (VECTORS_DIR defaults to tests/vectors/dev relative to the repo root)
"""

import ctypes
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FILES = {"cases.jsonl": 150, "wycheproof_jwt.jsonl": 240}  # minimum case counts

from xca_ctypes import XCA_BUFFER_TOO_SMALL, XCA_OK, load  # noqa: F401 (re-exported)


def name(lib, s):
    return lib.xca_status_name(s).decode()


def last_error(lib):
    buf = ctypes.create_string_buffer(1024)
    n = ctypes.c_size_t(0)
    assert lib.xca_last_error_message(buf, len(buf), ctypes.byref(n)) == XCA_OK
    return buf.value.decode()


def verify(lib, fn, v, data, now):
    """(code, claims text or None), using the size query then an exact buffer."""
    need = ctypes.c_size_t(0)
    s = fn(v, data, len(data), now, None, 0, ctypes.byref(need))
    if s != XCA_BUFFER_TOO_SMALL:
        return name(lib, s), None
    buf = ctypes.create_string_buffer(need.value)
    got = ctypes.c_size_t(0)
    s = fn(v, data, len(data), now, buf, need.value, ctypes.byref(got))
    if s != XCA_OK or got.value != need.value:
        return f"{name(lib, s)} after size query ({got.value} != {need.value})", None
    return "ok", buf.raw[: got.value].decode("utf-8")


def run_case(lib, base, case):
    """Returns a list of problems (empty when the case passes)."""
    problems = []
    if "jwks_ref" in case:
        jwks = (base / case["jwks_ref"]).read_bytes()
    else:
        jwks = json.dumps(case["jwks"]).encode()
    policy = json.dumps(case["options"]).encode()
    v = ctypes.c_void_p()
    s = lib.xca_verifier_new(jwks, len(jwks), policy, len(policy), ctypes.byref(v))
    if s != XCA_OK:
        return [f"xca_verifier_new: {name(lib, s)}: {last_error(lib)}"]
    try:
        expect = case["expect"]
        want = "ok" if expect == "ok" else expect["error"]
        token = case["token"].encode()
        got, claims = verify(lib, lib.xca_verify, v, token, case["now"])
        if got != want:
            problems.append(f"xca_verify: got {got}, want {want}")
        elif got == "ok":
            if json.loads(claims) != case["claims"]:
                problems.append("xca_verify: claims differ")
            if last_error(lib) != "":
                problems.append("message not cleared by success")
        else:
            msg = last_error(lib)
            if not msg.startswith(want + ": "):
                problems.append(f"message {msg!r} does not start with {want}")
            if len(token) >= 16 and case["token"] in msg:
                problems.append("message echoes the token")
            status = lib.xca_verify(v, token, len(token), case["now"], None, 0, None)
            http = lib.xca_http_status(status)
            if http not in (401, 403):
                problems.append(f"http status {http}")
            out = ctypes.create_string_buffer(512)
            n = ctypes.c_size_t(0)
            if lib.xca_www_authenticate(status, b"demo", out, len(out), ctypes.byref(n)) != XCA_OK:
                problems.append("xca_www_authenticate failed")
        # The header form gives the same verdict whenever "Bearer " + token parses back to
        # the same token (RFC 6750 trims spaces/tabs around it, so tokens with whitespace
        # differ by design).
        if not any(c.isspace() for c in case["token"]):
            hgot, hclaims = verify(lib, lib.xca_verify_header, v, b"Bearer " + token, case["now"])
            if hgot != want and not (want == "malformed" and token == b""):
                problems.append(f"xca_verify_header: got {hgot}, want {want}")
            elif hgot == "ok" and hclaims != claims:
                problems.append("xca_verify_header: claims differ from xca_verify")
    finally:
        lib.xca_verifier_free(v)
    return problems


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    lib = load(sys.argv[1])
    vectors = Path(sys.argv[2]) if len(sys.argv) == 3 else REPO / "tests" / "vectors" / "dev"
    passed = failed = 0
    seen = set()
    for file, minimum in FILES.items():
        path = vectors / file
        if not path.is_file():
            print(f"corpus_ctypes: FAIL: corpus file {path} is required", file=sys.stderr)
            return 1
        count = 0
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            count += 1
            problems = run_case(lib, path.parent, case)
            expect = case["expect"]
            seen.add("ok" if expect == "ok" else expect["error"])
            if problems:
                failed += 1
                print(f"FAIL {file}:{case['name']}: {'; '.join(problems)}", file=sys.stderr)
            else:
                passed += 1
        if count < minimum:
            print(f"corpus_ctypes: FAIL: {file} has only {count} cases", file=sys.stderr)
            failed += 1
    print(f"corpus_ctypes: {len(seen)} distinct outcomes: {' '.join(sorted(seen))}")
    if len(seen) < 19:
        print("corpus_ctypes: FAIL: not every category (18 + ok) was reached", file=sys.stderr)
        failed += 1
    print(f"corpus_ctypes: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
