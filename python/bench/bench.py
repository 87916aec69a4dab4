"""Verify one Keycloak-style RS256 token (RSA-2048) with xconnauth, PyJWT and authlib.

Every library checks the same things: signature (key parsed once, outside the loop),
``exp``, ``iss`` and ``aud``. Prints microseconds per verification (median of several
rounds) and xconnauth's throughput with 1 and 2 threads.

    pip install ./python 'pyjwt[crypto]' authlib     # from the repository root
    python python/bench/bench.py [--bits 2048] [--rounds 7] [--seconds 0.3]

PyJWT and authlib are optional: a missing one is reported and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import threading
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional

import xconnauth

DATA = Path(__file__).resolve().parents[2] / "benches" / "data"
ISSUER = "https://sso.example.com/realms/demo"
AUDIENCE = "product-factory"


def calls_per_round(fn: Callable[[], object], seconds: float) -> int:
    """How many calls of ``fn`` take about ``seconds`` (after a warm-up)."""
    for _ in range(20):
        fn()
    start = time.perf_counter()
    for _ in range(20):
        fn()
    return max(50, int(seconds / ((time.perf_counter() - start) / 20)))


def measure(fns: Dict[str, Callable[[], object]], rounds: int, seconds: float) -> Dict[str, float]:
    """Median µs per call of each function. The functions take turns within each round,
    so a change in machine load between rounds hits all of them alike."""
    sizes = {name: calls_per_round(fn, seconds) for name, fn in fns.items()}
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = sizes[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - start) / n * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def throughput(fn: Callable[[], object], threads: int, seconds: float) -> float:
    """Calls per second with ``threads`` threads for about ``seconds``."""
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        c = 0
        while time.perf_counter() < stop:
            for _ in range(20):
                fn()
            c += 20
        counts[i] = c

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def xconnauth_verifier(jwks: str, token: str) -> Callable[[], object]:
    keys = xconnauth.KeySet.from_jwks(jwks)
    verifier = xconnauth.Verifier(keys, ISSUER, audiences=AUDIENCE, token_type=None)
    verifier.verify(token)
    return lambda: verifier.verify(token)


def pyjwt_verifier(jwks: str, token: str) -> Optional[Callable[[], object]]:
    try:
        import jwt  # PyJWT
    except ImportError:
        return None
    key = jwt.PyJWK(json.loads(jwks)["keys"][0]).key
    options = {"require": ["exp", "iss", "aud"]}

    def verify() -> object:
        return jwt.decode(token, key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER, options=options)

    verify()
    return verify


def authlib_verifier(jwks: str, token: str) -> Optional[Callable[[], object]]:
    try:
        # authlib.jose announces its deprecation (in favour of joserfc) on import.
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            from authlib.jose import JsonWebKey, JsonWebToken
    except ImportError:
        return None
    key = JsonWebKey.import_key(json.loads(jwks)["keys"][0])
    decoder = JsonWebToken(["RS256"])
    options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": AUDIENCE},
        "exp": {"essential": True},
    }

    def verify() -> object:
        claims = decoder.decode(token, key, claims_options=options)
        claims.validate()
        return claims

    verify()
    return verify


def version(module: str) -> str:
    try:
        from importlib.metadata import version as v

        return v(module)
    except Exception:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=2048, choices=(2048, 3072, 4096))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one round")
    args = parser.parse_args()
    jwks = (DATA / f"jwks-{args.bits}.json").read_text()
    token = (DATA / f"token-{args.bits}.jwt").read_text().strip()

    contenders: Dict[str, Optional[Callable[[], object]]] = {
        f"xconnauth {xconnauth.__version__}": xconnauth_verifier(jwks, token),
        f"PyJWT {version('PyJWT')}": pyjwt_verifier(jwks, token),
        f"authlib {version('authlib')}": authlib_verifier(jwks, token),
    }
    print(f"RS256, RSA-{args.bits}, {len(token)}-byte token; median of {args.rounds} rounds")
    installed = {name: fn for name, fn in contenders.items() if fn is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = measure(installed, args.rounds, args.seconds)
    print(f"{'library':<22} {'µs/verify':>10}")
    for name in contenders:
        if name in results:
            print(f"{name:<22} {results[name]:>10.1f}")
        else:
            print(f"{name.split()[0]:<22} {'not installed':>14}  (pip install 'pyjwt[crypto]' authlib)")

    fn = contenders[f"xconnauth {xconnauth.__version__}"]
    assert fn is not None
    one = throughput(fn, 1, 1.0)
    two = throughput(fn, 2, 1.0)
    print(
        f"\nxconnauth throughput: 1 thread {one:,.0f}/s, 2 threads {two:,.0f}/s "
        f"(x{two / one:.2f}; near x2 on two idle cores, since verify releases the GIL)"
    )


if __name__ == "__main__":
    main()
