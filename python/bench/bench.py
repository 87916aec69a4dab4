"""Verify one Keycloak-style RS256 token (RSA-2048) with xconnauth, PyJWT and authlib.

Every library checks the same things: signature (key parsed once, outside the loop),
``exp``, ``iss`` and ``aud``. Prints microseconds per verification (median over rounds
in which the contenders take turns), the ratios the Python issue sets goals for, and xconnauth's throughput with 1
and 2 threads.

xconnauth is measured four ways: ``verify`` alone (the returned ``Claims`` converts claims
on access), ``verify`` + ``dict(claims)`` (the whole payload decoded into Python objects,
which is what PyJWT and authlib return), ``verify`` + reading ``sub``, ``scopes`` and
``realm_roles`` (what a resource server usually reads), and a cache hit (``cache_entries``
on, the same token again). The Rust core is measured in the same process and rounds
(``Verifier._core_seconds``: the core's ``verify`` in a Rust loop, no Python objects), so
the binding's overhead is a same-run ratio.

    pip install ./python 'pyjwt[crypto]' authlib     # from the repository root
    python python/bench/bench.py [--bits 2048] [--rounds 40] [--seconds 0.05]

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


# A contender: how many seconds ``n`` verifications take.
Batch = Callable[[int], float]


def python_batch(fn: Callable[[], object]) -> Batch:
    def batch(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - start

    return batch


def calls_per_round(batch: Batch, seconds: float) -> int:
    """How many calls take about ``seconds`` (after a warm-up)."""
    batch(20)
    return max(50, int(seconds / (batch(20) / 20)))


def measure(batches: Dict[str, Batch], rounds: int, seconds: float) -> Dict[str, List[float]]:
    """µs per call of each contender, one sample per round. The contenders take turns
    within each round (starting with a different one each round), so a change in
    machine speed between rounds hits all of them alike; compare them with ``ratio``."""
    sizes = {name: calls_per_round(batch, seconds) for name, batch in batches.items()}
    samples: Dict[str, List[float]] = {name: [] for name in batches}
    names = list(batches)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            n = sizes[name]
            samples[name].append(batches[name](n) / n * 1e6)
    return samples


def ratio(samples: Dict[str, List[float]], a: str, b: str) -> float:
    """Median over rounds of a ÷ b timed in the same round."""
    return statistics.median(x / y for x, y in zip(samples[a], samples[b]))


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


def xconnauth_verifier(jwks: str, token: str, cache_entries: int = 0) -> xconnauth.Verifier:
    keys = xconnauth.KeySet.from_jwks(jwks)
    verifier = xconnauth.Verifier(keys, ISSUER, audiences=AUDIENCE, token_type=None, cache_entries=cache_entries)
    verifier.verify(token)
    return verifier


def standard_claims(claims: xconnauth.Claims) -> object:
    """What a resource server usually reads after ``verify``."""
    return (claims["sub"], claims.scopes, claims.realm_roles)


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
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=0.05, help="time per contender per round")
    parser.add_argument("--throughput-seconds", type=float, default=1.0, help="time per thread-count run")
    args = parser.parse_args()
    jwks = (DATA / f"jwks-{args.bits}.json").read_text()
    token = (DATA / f"token-{args.bits}.jwt").read_text().strip()

    verifier = xconnauth_verifier(jwks, token)
    # The same token again and again, as a proxy sees a client's access token.
    cached = xconnauth_verifier(jwks, token, cache_entries=64)
    ours = f"xconnauth {xconnauth.__version__}"
    core = "Rust core (same process)"
    # Assigned first, so the lambdas below never see an Optional.
    pyjwt, authlib = pyjwt_verifier(jwks, token), authlib_verifier(jwks, token)
    contenders: Dict[str, Optional[Batch]] = {
        core: lambda n: verifier._core_seconds(token, int(time.time()), n),
        f"{ours}, verify": python_batch(lambda: verifier.verify(token)),
        # The whole payload as Python objects: what PyJWT and authlib return.
        f"{ours}, verify + claims": python_batch(lambda: dict(verifier.verify(token))),
        f"{ours}, verify + sub/scopes/roles": python_batch(lambda: standard_claims(verifier.verify(token))),
        f"{ours}, cache hit": python_batch(lambda: cached.verify(token)),
        f"PyJWT {version('PyJWT')}": None if pyjwt is None else python_batch(pyjwt),
        f"authlib {version('authlib')}": None if authlib is None else python_batch(authlib),
    }
    print(f"RS256, RSA-{args.bits}, {len(token)}-byte token; {args.rounds} rounds of {args.seconds} s per contender")
    installed = {name: batch for name, batch in contenders.items() if batch is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        samples = measure(installed, args.rounds, args.seconds)
    print(f"{'library':<44} {'median µs/verify':>17} {'÷ Rust core':>12}")
    for name in contenders:
        if name in samples:
            print(f"{name:<44} {statistics.median(samples[name]):>17.1f} {ratio(samples, name, core):>12.2f}")
        else:
            print(f"{name.split()[0]:<44} {'not installed':>17}  (pip install 'pyjwt[crypto]' authlib)")

    print("\n(ratios: median over rounds of this ÷ that, timed in the same round)")
    for mine in (f"{ours}, verify", f"{ours}, verify + claims"):
        print(f"{mine}: {ratio(samples, mine, core):.2f}x the Rust core (goal: within 1.2x)")
    reads = f"{ours}, verify + sub/scopes/roles"
    print(f"{reads}: {ratio(samples, reads, f'{ours}, verify'):.3f}x verify alone (goal: at most 1.10x)")
    hit = statistics.median(samples[f"{ours}, cache hit"])
    print(f"{ours}, cache hit: {hit:.2f} µs (goal: at most 2 µs)")
    for name in contenders:
        if name in samples and name.split()[0] in ("PyJWT", "authlib"):
            for mine in (f"{ours}, verify", f"{ours}, verify + claims"):
                goal = " (goal: >= 4x)" if name.startswith("PyJWT") else ""
                print(f"{name} ÷ {mine}: {ratio(samples, name, mine):.2f}x{goal}")

    fn = lambda: verifier.verify(token)  # noqa: E731
    one = throughput(fn, 1, args.throughput_seconds)
    two = throughput(fn, 2, args.throughput_seconds)
    print(
        f"\nxconnauth throughput: 1 thread {one:,.0f}/s, 2 threads {two:,.0f}/s "
        f"(x{two / one:.2f}; near x2 on two idle cores, since verify releases the GIL)"
    )


if __name__ == "__main__":
    main()
