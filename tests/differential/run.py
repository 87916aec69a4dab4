#!/usr/bin/env python3
"""One verdict on every surface: the cross-surface differential test (issue 17, item 2).

Feeds the dev corpus (tests/vectors/dev/cases.jsonl, each case with its JWKS, policy and
`now`) plus deterministic generated and mutated inputs -- tokens and `Authorization`
values -- through the four surfaces in one run:

- Rust: the `verdicts` example of the core crate (`xconnauth::Verifier`), reading a plan;
- C: the release libxconnauth through ctypes, `xca_verify` and `xca_verify_header`;
- Python: the installed wheel, `Verifier.verify` and `Verifier.verify_header`;
- CLI: `xconnauth verify --json ... -` (batch mode, one token per stdin line).

Every input must get the same category everywhere, and when valid the same claims (the
exact payload bytes from Rust and C, equal decoded JSON from Python and the CLI).

What each surface cannot take, and why (counted and printed as "skipped"):
- CLI: `Authorization` values (the CLI has no header mode), and tokens that cannot be
  one stdin line: containing LF, or ending in CR (batch mode strips one CRLF).
- Python gets every input: its API takes `bytes` as well as `str`; inputs alternate
  between the two types, and non-UTF-8 inputs always go as `bytes`.

usage: run.py --lib LIBXCONNAUTH_SO --rust VERDICTS_BIN --cli XCONNAUTH_BIN
              [--count N] [--seed S] [--keep DIR]
(run from the venv that has the wheel installed; tests/differential/run_tests.sh does it)
"""

import argparse
import base64
import ctypes
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "vectors" / "dev" / "cases.jsonl"
# Wycheproof-derived signature cases: fed as they are (token and "Bearer <token>"), not mutated.
WYCHEPROOF = REPO / "tests" / "vectors" / "dev" / "wycheproof_jwt.jsonl"
SURFACES = ("rust", "c", "python", "cli")
SHOW = 20  # disagreements printed in full
BIG_TOKEN = 8192
MIN_OUTCOMES = 19  # the 18 token categories and ok

sys.path.insert(0, str(REPO / "ffi" / "tests"))
import xca_ctypes  # noqa: E402  (one set of C signatures for every ctypes test)
from xca_ctypes import XCA_BUFFER_TOO_SMALL, XCA_OK  # noqa: E402

# Byte sequences that are not UTF-8: a lone lead byte, bytes that never occur, a stray
# continuation byte, overlong encodings of '/' and of NUL, a UTF-16 surrogate, a
# truncated 4-byte sequence, a code point above U+10FFFF.
NON_UTF8 = [
    b"\xc3", b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf",
    b"\xf0\x80\x80\xaf", b"\xc0\x80", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x9f\x98",
    b"\xf4\x90\x80\x80", b"\xe2\x82",
]
# Whitespace and friends: ASCII whitespace, NUL, U+00A0, U+2028, U+FEFF, U+3000.
WHITESPACE = [
    b" ", b"\t", b"\r", b"\n", b"\r\n", b"\x0b", b"\x0c", b"\x00", b"\xc2\xa0",
    b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\xe3\x80\x80", b"  ", b"\t ",
]
B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SPECIAL = b"=+/.% \\\"{}"
SCHEMES = [
    b"Bearer", b"bearer", b"BEARER", b"BeArEr", b"bEARER", b"Bearer:", b"Basic", b"Beare",
    b"Bearerr", b"Bearer\x00", b"B\xc3\xa9arer", b"Token", b"", b"DPoP", b"Bearer,",
]
SEPARATORS = [
    b" ", b" ", b" ", b"  ", b"   ", b"\t", b" \t", b"\t ", b"\xc2\xa0", b"\x00", b"",
    b"\r\n", b"\n", b"\r", b" \xc3", b"\x0b",
]
TINY_HEADERS = [
    b"", b" ", b"\t", b"\r\n", b"\x00", b"\xc3", b"Bearer", b"Bearer ", b"Bearer  ", b"bearer\t",
    b" Bearer ", b"Bearer \x00", b"Bearer \xc3", b"Bearer \xff", b"Bearer .", b"Bearer ...",
    b"Bearer a.b.c", b"Bearer\xc2\xa0a.b.c", b"Bearer \xc2\xa0", b"Bearer\x00a.b.c",
]
AROUND = [b"", b"", b"", b" ", b"\t", b"  ", b" \t ", b"\r\n", b"\n", b"\x00", b"\xc2\xa0", b"\xff"]


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def unb64u(text):
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


class Gen:
    """Deterministic inputs derived from one corpus token."""

    def __init__(self, rng, token, max_bytes):
        self.rng = rng
        self.t = token
        self.max = max_bytes
        self.segs = token.split(b".")

    def pos(self, data):
        return self.rng.randrange(len(data) + 1)

    def replace_byte(self):
        t = self.t
        if not t:
            return bytes([self.rng.randrange(256)])
        i = self.rng.randrange(len(t))
        b = self.rng.choice([self.rng.randrange(256), self.rng.choice(B64_CHARS + SPECIAL)])
        return t[:i] + bytes([b]) + t[i + 1:]

    def insert_byte(self):
        i = self.pos(self.t)
        return self.t[:i] + bytes([self.rng.randrange(256)]) + self.t[i:]

    def delete_byte(self):
        if not self.t:
            return b""
        i = self.rng.randrange(len(self.t))
        return self.t[:i] + self.t[i + 1:]

    def truncate(self):
        return self.t[: self.rng.randrange(len(self.t) + 1)]

    def segments(self):
        s = list(self.segs)
        r = self.rng.randrange(9)
        if r == 0 and len(s) > 1:
            i, j = self.rng.sample(range(len(s)), 2)
            s[i], s[j] = s[j], s[i]
        elif r == 1:
            s.insert(self.rng.randrange(len(s) + 1), self.rng.choice(s))
        elif r == 2 and s:
            s.pop(self.rng.randrange(len(s)))
        elif r == 3:
            s = s + [self.rng.choice(s), self.rng.choice(s)]  # five parts: a JWE shape
        elif r == 4:
            s[self.rng.randrange(len(s))] = b""
        elif r == 5:
            self.rng.shuffle(s)
        elif r == 6:
            return b"..".join(s)
        elif r == 7:
            return b".".join(s) + b"."
        else:
            return b"." + b".".join(s)
        return b".".join(s)

    def non_utf8(self):
        seq = self.rng.choice(NON_UTF8)
        i = self.pos(self.t)
        if self.rng.random() < 0.5 and self.t:
            return self.t[:i] + seq + self.t[i + 1:]
        return self.t[:i] + seq + self.t[i:]

    def non_utf8_in_segment(self):
        """A non-UTF-8 byte inside one chosen segment: header, payload or signature."""
        s = list(self.segs)
        k = self.rng.randrange(len(s))
        i = self.rng.randrange(len(s[k]) + 1)
        s[k] = s[k][:i] + self.rng.choice(NON_UTF8) + s[k][i:]
        return b".".join(s)

    def whitespace(self):
        w = self.rng.choice(WHITESPACE)
        where = self.rng.randrange(3)
        if where == 0:
            return w + self.t
        if where == 1:
            return self.t + w
        i = self.pos(self.t)
        return self.t[:i] + w + self.t[i:]

    def huge(self):
        m = self.max
        n = self.rng.choice([m - 1, m, m + 1, m + 2, m + 3, 2 * m, 4 * m + 3, m - len(self.t)])
        n = max(n, 0)
        r = self.rng.randrange(4)
        if r == 0 or len(self.segs) != 3:
            return (self.t + b"A" * n)[:n] if n >= len(self.t) else self.t[:n]
        h, p, s = self.segs
        fill = max(n - len(self.t), 0)
        if r == 1:
            return h + b"." + p + b"A" * fill + b"." + s
        if r == 2:
            return b"A" * fill + self.t
        return b"A" * n

    def trailing_bits(self):
        s = list(self.segs)
        k = self.rng.randrange(len(s))
        if not s[k]:
            return self.t
        last = s[k][-1:]
        j = B64_CHARS.find(last)
        if j < 0:
            return self.t
        s[k] = s[k][:-1] + bytes([B64_CHARS[(j + self.rng.randrange(1, 4)) % 64]])
        return b".".join(s)

    def json_edit(self):
        """Decode header or payload, change the JSON, encode again (signature stale)."""
        if len(self.segs) != 3:
            return self.replace_byte()
        k = self.rng.randrange(2)
        try:
            raw = unb64u(self.segs[k])
        except ValueError:
            return self.replace_byte()
        raw = self.rng.choice(JSON_EDITS)(self.rng, raw)
        s = list(self.segs)
        s[k] = b64u(raw)
        if self.rng.random() < 0.15:
            s[k] = s[k] + b"=" * self.rng.randrange(1, 3)
        return b".".join(s)

    def signature(self):
        if len(self.segs) != 3:
            return self.replace_byte()
        h, p, s = self.segs
        choice = self.rng.randrange(5)
        if choice == 0:
            sig = b""
        elif choice == 1:
            sig = s[: self.rng.randrange(len(s) + 1)]
        elif choice == 2:
            sig = s + b"AAAA"
        elif choice == 3:
            try:
                raw = bytearray(unb64u(s) or b"\x00")
            except ValueError:
                raw = bytearray(s or b"\x00")
            raw[self.rng.randrange(len(raw))] ^= 1 << self.rng.randrange(8)
            sig = b64u(bytes(raw))
        else:
            sig = b64u(bytes(self.rng.randrange(256) for _ in range(self.rng.choice([1, 255, 256, 257, 512]))))
        return h + b"." + p + b"." + sig

    def multi(self):
        """Two mutations on top of each other."""
        first = self.rng.choice(TOKEN_MUTATIONS)(self)
        return Gen(self.rng, first, self.max).pick()

    def pick(self):
        return self.rng.choice(TOKEN_MUTATIONS)(self)


def _sub(rng, raw, old, new):
    return raw.replace(old, new, 1) if old in raw else raw + new


JSON_EDITS = [
    lambda rng, raw: _sub(rng, raw, b'"RS256"', rng.choice([b'"none"', b'"NONE"', b'"nOnE"', b'"HS256"', b'"RS384"', b'"PS256"', b'"ES256"', b'"rs256"', b"null", b"256", b'"RS256\\u0000"'])),
    lambda rng, raw: _sub(rng, raw, b'"kid"', rng.choice([b'"kId"', b'"kid ', b'"k\\u0069d"'])),
    lambda rng, raw: raw[:-1] + rng.choice([b',"crit":[]}', b',"b64":false}', b',"cty":"JWT"}', b',"jku":"http://x"}', b',"alg":"RS256"}', b',"exp":1}', b',"iss":"x"}', b'}', b' }', b'}\x00', b'}garbage', b',}', b',"a":NaN}', b',"\xc3":1}', b',"x":"\xc3"}', b',"x":"\xff\xfe"}', b',"x":"\xc0\xaf"}', b',"x":"\xed\xa0\x80"}', b',"x":"\\ud800"}', b',"x":' + b"[" * 40 + b"]" * 40 + b'}', b',"x":' + b"[" * 70 + b"]" * 70 + b'}', b',"x":1e999}', b',"x":-0}', b',"x":01}']),
    lambda rng, raw: rng.choice([b"", b"[]", b'"x"', b"1", b"null", b"{", b"{}", b' {"alg":"RS256"} ', b"\xef\xbb\xbf" + raw, b"\x00" + raw, raw + b"\n"]),
    lambda rng, raw: raw.replace(b":", b" : ").replace(b",", b" ,\n\t"),
    lambda rng, raw: _sub(rng, raw, b'"exp":', b'"exp":"') if b'"exp":' in raw else raw,
    lambda rng, raw: bytes(b ^ (1 << rng.randrange(8)) if i == rng.randrange(len(raw) or 1) else b for i, b in enumerate(raw)),
]

TOKEN_MUTATIONS = [
    Gen.replace_byte, Gen.replace_byte, Gen.replace_byte, Gen.insert_byte, Gen.delete_byte,
    Gen.truncate, Gen.segments, Gen.segments, Gen.non_utf8, Gen.non_utf8_in_segment,
    Gen.non_utf8_in_segment, Gen.whitespace, Gen.whitespace, Gen.trailing_bits,
    Gen.json_edit, Gen.json_edit, Gen.json_edit, Gen.signature, Gen.multi,
]


def header_value(rng, gen):
    """An `Authorization` value around the token, a mutated token, or nothing."""
    r = rng.random()
    if r < 0.45:
        token = gen.t
    elif r < 0.92:
        token = gen.pick() if rng.random() < 0.97 else gen.huge()
    else:
        token = rng.choice([b"", b".", b"a.b.c", b"Bearer", gen.t + b" " + gen.t])
    shape = rng.randrange(40)
    if shape < 8:
        return b"Bearer " + token
    if shape == 8:
        # Padding that takes the value (not the token) across max_token_bytes.
        pad = rng.choice([b" ", b"\t", b" \t"]) * max(gen.max - len(token) + rng.randrange(-2, 3), 1)
        where = rng.randrange(3)
        if where == 0:
            return pad + b"Bearer " + token
        if where == 1:
            return b"Bearer" + pad + b" " + token
        return b"Bearer " + token + pad
    scheme = rng.choice(SCHEMES) if rng.random() < 0.6 else b"Bearer"
    sep = rng.choice(SEPARATORS)
    return rng.choice(AROUND) + scheme + sep + token + rng.choice(AROUND)


def load_cases(path, minimum):
    """The corpus is required: a missing or shrunken file is a failure, not a skip."""
    if not path.is_file():
        sys.exit(f"differential: FAIL: the corpus file {path} is required")
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if len(cases) < minimum:
        sys.exit(f"differential: FAIL: {path} has only {len(cases)} cases")
    return cases


def build_inputs(cases, extra, count, seed):
    """Groups (jwks, policy, now) and inputs [(group, kind, bytes, origin, expected)]:
    each case of `cases` and `extra` as it is, then mutations of the `cases` tokens."""
    rng = random.Random(seed)
    groups, group_of = [], {}
    inputs = []
    # Tokens above 8 KiB (a 50 KB and a 100 KB case) get a tenth of the mutations: their
    # size boundaries are covered by then, and every one of them costs megabytes.
    big = sum(1 for c in cases if len(c["token"]) > BIG_TOKEN)
    per_case = max(int((count - 2 * len(cases)) / (len(cases) - big + big / 10)) + 1, 0)
    for number, case in enumerate(cases + extra):
        mutate = number < len(cases)
        if "jwks_ref" in case:
            jwks = (CASES.parent / case["jwks_ref"]).read_bytes()
        else:
            jwks = json.dumps(case["jwks"]).encode()
        policy = json.dumps(case["options"], sort_keys=True).encode()
        key = (jwks, policy, case["now"])
        if key not in group_of:
            group_of[key] = len(groups)
            groups.append({"jwks": jwks, "policy": policy, "options": case["options"], "now": case["now"]})
        g = group_of[key]
        token = case["token"].encode()
        expect = case["expect"] if case["expect"] == "ok" else case["expect"]["error"]
        inputs.append((g, "T", token, f"corpus:{case['name']}", expect))
        inputs.append((g, "H", b"Bearer " + token, f"corpus-header:{case['name']}", None))
        if not mutate:
            continue
        # A valid token at every time boundary of its claims, and at extreme clocks
        # (0, 2^53, the largest int64): each `now` is a verifier of its own. Also under
        # the policy of only its issuers, so every surface's defaults are compared.
        if case["expect"] == "ok":
            edges = {0, 1 << 53, (1 << 63) - 1}
            claims = case.get("claims") or {}
            for leeway in {case["options"].get("leeway", 30), 30}:
                for name, sign in (("exp", -1), ("nbf", 1), ("iat", 1)):
                    at = claims.get(name)
                    if isinstance(at, (int, float)) and not isinstance(at, bool):
                        for d in (-2, -1, 0, 1, 2):
                            edges.add(max(int(at) - sign * leeway + d, 0))
            minimal = {"issuers": case["options"]["issuers"]}
            for options in (case["options"], minimal):
                opts = json.dumps(options, sort_keys=True).encode()
                for now in sorted(edges):
                    gkey = (jwks, opts, now)
                    if gkey not in group_of:
                        group_of[gkey] = len(groups)
                        groups.append({"jwks": jwks, "policy": opts, "options": options, "now": now})
                    for kind, data in (("T", token), ("H", b"Bearer " + token)):
                        inputs.append((group_of[gkey], kind, data, f"clock {now}<-{case['name']}", None))
        gen = Gen(rng, token, case["options"].get("max_token_bytes", 16384))
        for n in range(per_case if len(token) <= BIG_TOKEN else per_case // 10):
            if n % 3 == 2:
                inputs.append((g, "H", header_value(rng, gen), f"header<-{case['name']}", None))
            elif n % 97 == 0:
                inputs.append((g, "T", gen.huge(), f"huge<-{case['name']}", None))
            elif n % 83 == 0:
                inputs.append((g, "T", rng.choice([b"Bearer ", b"bearer ", b" ", b"Bearer\t"]) + token, f"scheme-in-token<-{case['name']}", None))
            elif n % 79 == 0:
                inputs.append((g, "H", rng.choice(TINY_HEADERS), "tiny-header", None))
            elif n % 89 == 0:
                inputs.append((g, "T", rng.choice([b"", b" ", b"\n", b"\x00", b".", b"..", b"...", b"....", b"\xc3"]), "tiny", None))
            else:
                fn = rng.choice(TOKEN_MUTATIONS)
                inputs.append((g, "T", fn(gen), f"{fn.__name__}<-{case['name']}", None))
    return groups, inputs


# ---------------------------------------------------------------- surfaces


def indices_by_group(inputs):
    by_group = {}
    for i, inp in enumerate(inputs):
        by_group.setdefault(inp[0], []).append(i)
    return by_group


def run_rust(binary, groups, inputs):
    """The plan goes through a pipe (hundreds of MB as hex: no temporary file)."""
    by_group = indices_by_group(inputs)
    order = [i for idxs in by_group.values() for i in idxs]
    proc = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)

    def feed():
        try:
            for g, idxs in by_group.items():
                grp = groups[g]
                proc.stdin.write(f"G {grp['jwks'].hex()} {grp['policy'].hex()} {grp['now']}\n".encode())
                for i in idxs:
                    proc.stdin.write(f"{inputs[i][1]} {inputs[i][2].hex()}\n".encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the helper died: its exit status and stderr tell why

    writer = threading.Thread(target=feed)
    writer.start()
    lines = proc.stdout.read().decode().splitlines()
    err = proc.stderr.read().decode(errors="replace")
    writer.join()
    if proc.wait() != 0:
        sys.exit(f"differential: FAIL: the Rust helper exited {proc.returncode}: {err}")
    if len(lines) != len(order):
        sys.exit(f"differential: FAIL: the Rust helper answered {len(lines)} of {len(order)} inputs: {lines[-1:]}")
    out = [None] * len(inputs)
    for i, line in zip(order, lines):
        if line.startswith("ok "):
            out[i] = ("ok", bytes.fromhex(line[3:]))
        else:
            out[i] = (line, None)
    return out


def run_c(lib, groups, inputs):
    by_group = indices_by_group(inputs)
    out = [None] * len(inputs)
    names = {}
    for g, grp in enumerate(groups):
        idxs = by_group.get(g, [])
        if not idxs:
            continue
        v = ctypes.c_void_p()
        s = lib.xca_verifier_new(grp["jwks"], len(grp["jwks"]), grp["policy"], len(grp["policy"]), ctypes.byref(v))
        if s != XCA_OK:
            for i in idxs:
                out[i] = (f"config:{lib.xca_status_name(s).decode()}", None)
            continue
        try:
            # As a C caller does: ask for the length (NULL buffer, capacity 0), then verify
            # into a buffer of exactly that size. Odd inputs take the one-call path with a
            # large buffer, so both paths are compared.
            cap = max(len(inputs[i][2]) for i in idxs) + 16
            big = ctypes.create_string_buffer(cap)
            need = ctypes.c_size_t(0)
            got = ctypes.c_size_t(0)
            for i in idxs:
                _, kind, data, _, _ = inputs[i]
                fn = lib.xca_verify if kind == "T" else lib.xca_verify_header
                if i % 2:
                    s = fn(v, data, len(data), grp["now"], big, cap, ctypes.byref(got))
                    claims = big.raw[: got.value]
                else:
                    s = fn(v, data, len(data), grp["now"], None, 0, ctypes.byref(need))
                    if s == XCA_BUFFER_TOO_SMALL:
                        exact = ctypes.create_string_buffer(max(need.value, 1))
                        s = fn(v, data, len(data), grp["now"], exact, need.value, ctypes.byref(got))
                        if s == XCA_OK and got.value != need.value:
                            s = XCA_BUFFER_TOO_SMALL  # reported as a disagreement below
                        claims = exact.raw[: got.value]
                    elif s == XCA_OK:
                        claims = b""  # only an empty payload fits in no buffer: never JSON
                if s not in names:
                    names[s] = lib.xca_status_name(s).decode()
                out[i] = ("ok", claims) if s == XCA_OK else (names[s], None)
        finally:
            lib.xca_verifier_free(v)
    return out


def run_python(groups, inputs):
    import xconnauth

    out = [None] * len(inputs)
    as_bytes = 0
    by_group = indices_by_group(inputs)
    for g, grp in enumerate(groups):
        idxs = by_group.get(g, [])
        if not idxs:
            continue
        try:
            keys = xconnauth.KeySet.from_jwks(grp["jwks"])
            verifier = xconnauth.Verifier(keys, **grp["options"])
        except Exception as exc:  # a refused group is itself a verdict to compare
            for i in idxs:
                out[i] = (f"config:{type(exc).__name__}", None)
            continue
        for i in idxs:
            _, kind, data, _, _ = inputs[i]
            arg = data
            if i % 2:
                try:
                    arg = data.decode("utf-8")
                except UnicodeDecodeError:
                    pass
            if isinstance(arg, bytes):
                as_bytes += 1
            fn = verifier.verify if kind == "T" else verifier.verify_header
            try:
                claims = fn(arg, now=grp["now"])
                out[i] = ("ok", dict(claims))
            except xconnauth.InvalidToken as exc:
                out[i] = (exc.code, None)
            except Exception as exc:  # anything else is a disagreement, not a crash
                out[i] = (f"exception:{type(exc).__name__}:{exc}", None)
    return out, as_bytes


def cli_can_take(kind, data):
    return kind == "T" and b"\n" not in data and not data.endswith(b"\r")


def run_cli(binary, groups, inputs, workdir):
    by_group = indices_by_group(inputs)
    out = [None] * len(inputs)
    for g, grp in enumerate(groups):
        idxs = [i for i in by_group.get(g, []) if cli_can_take(inputs[i][1], inputs[i][2])]
        if not idxs:
            continue
        jwks = workdir / f"jwks-{g}.json"
        policy = workdir / f"policy-{g}.json"
        jwks.write_bytes(grp["jwks"])
        policy.write_bytes(grp["policy"])
        stdin = b"".join(inputs[i][2] + b"\n" for i in idxs)
        proc = subprocess.run(
            [str(binary), "verify", "--jwks", str(jwks), "--policy", str(policy),
             "--now", str(grp["now"]), "--json", "-"],
            input=stdin, capture_output=True, check=False,
        )
        lines = proc.stdout.splitlines()
        if proc.returncode not in (0, 1) or len(lines) != len(idxs):
            msg = f"cli-exit-{proc.returncode}:{proc.stderr.decode(errors='replace').strip()[:200]}"
            for i in idxs:
                out[i] = (msg, None)
            continue
        for i, line in zip(idxs, lines):
            doc = json.loads(line)
            out[i] = ("ok", doc["claims"]) if doc.get("valid") is True else (doc.get("error"), None)
    return out


# ---------------------------------------------------------------- comparison


def same(reference, other, surface):
    """Whether `other` agrees with the Rust verdict `reference`."""
    if other is None:
        return True  # the surface could not take this input (counted as skipped)
    code, claims = reference
    if other[0] != code:
        return False
    if code != "ok":
        return True
    if surface == "c":
        return other[1] == claims
    try:
        return other[1] == json.loads(claims)
    except ValueError:
        return False


def show(data, limit=4096):
    """The whole input, or its first and last KiB when it is longer than `limit`."""
    if len(data) <= limit:
        return f"{data!r} ({len(data)} bytes)"
    return f"{data[:1024]!r} ... {data[-1024:]!r} ({len(data)} bytes)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True, help="the release libxconnauth.so")
    ap.add_argument("--rust", required=True, help="the verdicts example binary")
    ap.add_argument("--cli", required=True, help="the release xconnauth binary")
    ap.add_argument("--count", type=int, default=105_000, help="inputs in all (default 105000)")
    ap.add_argument("--seed", type=int, default=20260717)
    ap.add_argument("--keep", help="write the plan and CLI files here instead of a temp dir")
    args = ap.parse_args()

    start = time.monotonic()
    cases = load_cases(CASES, 150)
    extra = load_cases(WYCHEPROOF, 240)
    groups, inputs = build_inputs(cases, extra, args.count, args.seed)
    tokens = sum(1 for inp in inputs if inp[1] == "T")
    non_utf8 = sum(1 for inp in inputs if not _utf8(inp[2]))
    print(f"differential: {len(inputs)} inputs ({tokens} tokens, {len(inputs) - tokens} Authorization values, "
          f"{non_utf8} not UTF-8), {len(cases)} + {len(extra)} corpus cases in {len(groups)} groups, seed {args.seed}")

    with tempfile.TemporaryDirectory(prefix="xca-diff-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        timings = {}
        t = time.monotonic()
        verdicts = {"rust": run_rust(args.rust, groups, inputs)}
        timings["rust"] = time.monotonic() - t
        t = time.monotonic()
        verdicts["c"] = run_c(xca_ctypes.load(args.lib), groups, inputs)
        timings["c"] = time.monotonic() - t
        t = time.monotonic()
        verdicts["python"], py_bytes = run_python(groups, inputs)
        timings["python"] = time.monotonic() - t
        t = time.monotonic()
        verdicts["cli"] = run_cli(args.cli, groups, inputs, workdir)
        timings["cli"] = time.monotonic() - t

    disagreements = []
    expectation_misses = []
    for i, inp in enumerate(inputs):
        ref = verdicts["rust"][i]
        bad = [s for s in SURFACES[1:] if not same(ref, verdicts[s][i], s)]
        if bad:
            disagreements.append((i, bad))
        if inp[4] is not None and ref[0] != inp[4]:
            expectation_misses.append((i, inp[4]))

    for s in SURFACES:
        ran = sum(1 for v in verdicts[s] if v is not None)
        cats = Counter(v[0] for v in verdicts[s] if v is not None)
        extra = f", {py_bytes} passed as bytes, {ran - py_bytes} as str" if s == "python" else ""
        print(f"  {s:7} {ran:7} inputs, {len(inputs) - ran:6} skipped, {timings[s]:6.1f} s{extra}")
    cats = Counter(v[0] for v in verdicts["rust"])
    print("  outcomes:", " ".join(f"{k}={n}" for k, n in sorted(cats.items())))

    for n, (i, bad) in enumerate(disagreements[:SHOW]):
        g, kind, data, origin, _ = inputs[i]
        print(f"\nDISAGREEMENT {n + 1}: {'token' if kind == 'T' else 'Authorization'} from {origin} (group {g})")
        print(f"  input: {show(data)}")
        for s in SURFACES:
            v = verdicts[s][i]
            print(f"  {s:7} {'(skipped)' if v is None else v[0]}{' *' if s in bad else ''}")
    if len(disagreements) > SHOW:
        print(f"\n... and {len(disagreements) - SHOW} more disagreements")
        by = Counter((tuple(bad), verdicts["rust"][i][0]) for i, bad in disagreements)
        for (bad, code), count in by.most_common(20):
            print(f"  {count:6}  rust={code} differs on {','.join(bad)}")
    for i, want in expectation_misses:
        print(f"CORPUS: {inputs[i][3]}: rust says {verdicts['rust'][i][0]}, the corpus {want}")

    # A run that agrees on too little proves nothing: every category must be reached,
    # valid tokens must be compared, and every input class must have been fed.
    thin = []
    if len(cats) < MIN_OUTCOMES:
        thin.append(f"only {len(cats)} distinct outcomes (want all {MIN_OUTCOMES})")
    if cats.get("ok", 0) < min(500, args.count // 200):
        thin.append(f"only {cats.get('ok', 0)} valid verdicts compared")
    if len(inputs) < args.count:
        thin.append(f"only {len(inputs)} inputs")
    cli_ran = sum(1 for v in verdicts["cli"] if v is not None)
    if cli_ran < len(inputs) // 2:
        thin.append(f"the CLI took only {cli_ran} inputs")
    if not 0 < py_bytes < len(inputs):
        thin.append("Python got only str or only bytes")
    if non_utf8 < len(inputs) // 20:
        thin.append(f"only {non_utf8} non-UTF-8 inputs")
    for problem in thin:
        print(f"COVERAGE: {problem}")

    elapsed = time.monotonic() - start
    print(f"differential: {len(disagreements)} disagreements, {len(expectation_misses)} corpus mismatches "
          f"({elapsed:.1f} s)")
    return 1 if disagreements or expectation_misses or thin else 0


def _utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


if __name__ == "__main__":
    sys.exit(main())
