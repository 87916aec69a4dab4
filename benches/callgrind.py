#!/usr/bin/env python3
"""Instructions per verification of every operation of benches/peers.rs, by callgrind.

Usage: python3 benches/callgrind.py [BITS ...]     (default: 2048 3072 4096)

Builds the peers bench (`cargo bench --no-run`), runs it under
`valgrind --tool=callgrind` in its XCONNAUTH_BENCH_REPEAT mode (each operation N
times, nothing else) once per key size, and prints a Markdown table of each
operation's inclusive instruction count divided by N. Unlike wall time, the counts do
not depend on what else runs on the machine. Valgrind hides some CPU features (SHA-NI
among them), so the code paths differ a little from a native run: compare rows, not
instructions with microseconds. Needs valgrind; standard library only.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

REPEAT = 10
# Function ids of peers.rs, and the symbol of each (one #[inline(never)] fn per op).
OPS = [
    ("xconnauth-aws-lc", "xconnauth_aws"),
    ("xconnauth-rust", "xconnauth_rust"),
    ("jsonwebtoken-aws-lc", "jsonwebtoken_aws"),
    ("jsonwebtoken-rust-crypto", "jsonwebtoken_rust_crypto"),
    ("jwt-compact", "jwt_compact"),
    ("jwt-simple", "jwt_simple"),
    ("raw-aws-lc", "raw_aws_lc"),
    ("raw-rsa", "raw_rsa"),
    ("xca_verify", "c_abi"),
    ("core-verify-copy", "core_verify_copy"),
    ("core-verify_into-copy", "core_verify_into_copy"),
]


def bench_binary():
    out = subprocess.run(
        ["cargo", "bench", "-p", "xconnauth-benches", "--bench", "peers", "--no-run",
         "--message-format=json"],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "peers" \
                and msg.get("executable"):
            return msg["executable"]
    sys.exit("cargo did not report the peers bench executable")


def count(binary, bits, workdir):
    out = os.path.join(workdir, f"callgrind-{bits}.out")
    env = dict(os.environ, XCONNAUTH_BENCH_BITS=str(bits), XCONNAUTH_BENCH_REPEAT=str(REPEAT))
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], check=True,
                          stdout=subprocess.PIPE, text=True).stdout
    per_op = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+\S*:peers::(\w+)\s", line)
        if m:
            per_op.setdefault(m.group(2), int(m.group(1).replace(",", "")) / REPEAT)
    return per_op


def main():
    bits = [int(b) for b in sys.argv[1:]] or [2048, 3072, 4096]
    binary = bench_binary()
    with tempfile.TemporaryDirectory() as tmp:
        counts = {b: count(binary, b, tmp) for b in bits}
    print("Instructions per verification (callgrind, thousands):\n")
    print("| operation |" + "".join(f" {b} |" for b in bits)
          + "".join(f" {b} ÷ raw aws-lc |" for b in bits))
    print("|---|" + "---:|" * (2 * len(bits)))
    for name, sym in OPS:
        vals = [counts[b].get(sym) for b in bits]
        raw = [counts[b].get("raw_aws_lc") for b in bits]
        row = f"| {name} |" + "".join(f" {v / 1000:,.0f} |" if v else " – |" for v in vals)
        row += "".join(f" {v / r:.2f} |" if v and r else " – |" for v, r in zip(vals, raw))
        print(row)


if __name__ == "__main__":
    main()
