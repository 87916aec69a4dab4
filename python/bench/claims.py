"""Reading claims after ``verify``: what ``claims["sub"]``, ``scopes`` and ``realm_roles``
cost on top of ``verify`` alone (issue 19.3: at most 10%). The two take turns in every
round; the result is the median over rounds of each, in microseconds per call.

    python python/bench/claims.py [--rounds 30] [--number 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import timeit
from pathlib import Path

import xconnauth

DATA = Path(__file__).resolve().parents[2] / "benches" / "data"
ISSUER = "https://sso.example.com/realms/demo"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    keys = xconnauth.KeySet.from_jwks((DATA / "jwks-2048.json").read_text())
    token = (DATA / "token-2048.jwt").read_text().strip()
    verifier = xconnauth.Verifier(keys, ISSUER, audiences="product-factory", token_type=None)
    now = int(time.time())
    claims = verifier.verify(token, now=now)
    assert claims == json.loads(claims.json or "")

    def alone() -> object:
        return verifier.verify(token, now=now)

    def standard() -> object:
        c = verifier.verify(token, now=now)
        return (c["sub"], c.scopes, c.realm_roles)

    def with_json_loads() -> object:
        # What reading one claim cost when every first access ran json.loads.
        c = verifier.verify(token, now=now)
        d = json.loads(c.json or "")
        return (d["sub"], d["scope"].split(" "), d["realm_access"]["roles"])

    cases = {"verify": alone, "verify + sub, scopes, realm_roles": standard, "verify + json.loads": with_json_loads}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            times[name].append(timeit.timeit(fn, number=args.number) / args.number * 1e6)
    base = statistics.median(times["verify"])
    for name, samples in times.items():
        m = statistics.median(samples)
        print(f"{name:40s} {m:8.2f} us  {m / base:5.3f}x verify")


if __name__ == "__main__":
    main()
