"""The GIL is released during verification, and key swaps are atomic under load."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from typing import Callable, List

import pytest

import xconnauth
from _mint import RsaKey, access_token_claims, jwks, mint
from conftest import BENCH, DEMO_ISSUER

BITS = 4096  # the slowest verify: the most time outside the GIL


@pytest.fixture(scope="module")
def bench_4096() -> "tuple[xconnauth.Verifier, str]":
    keys = xconnauth.KeySet.from_jwks((BENCH / f"jwks-{BITS}.json").read_text())
    verifier = xconnauth.Verifier(keys, DEMO_ISSUER, audiences="product-factory")
    token = (BENCH / f"token-{BITS}.jwt").read_text()
    verifier.verify(token)  # exp is in 2100
    return verifier, token


def _parallel(work: Callable[[], object], threads: int, per_thread: int) -> float:
    """Wall time for ``threads`` threads each calling ``work`` ``per_thread`` times."""
    barrier = threading.Barrier(threads + 1)
    errors: List[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                work()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    assert not errors, errors
    return elapsed


def _speedup(work: Callable[[], object], seconds: float) -> float:
    """Same total work on 2 threads vs 1: about 2 when ``work`` runs without the GIL on
    two free cores, about 1 when it holds the GIL (or only one core is free)."""
    start = time.perf_counter()
    for _ in range(10):
        work()
    n = max(50, int(seconds / ((time.perf_counter() - start) / 10) / 2))
    return _parallel(work, 1, 2 * n) / _parallel(work, 2, n)


def test_two_threads_verify_faster_than_one(bench_4096: "tuple[xconnauth.Verifier, str]") -> None:
    cpus = os.cpu_count() or 1
    if cpus < 2:
        pytest.skip("needs at least 2 CPUs to show parallel verification")
    verifier, token = bench_4096
    # A stdlib call known to release the GIL (hashing 1 MiB) measures, round by round,
    # how much parallelism the machine offers right now.
    blob = os.urandom(1 << 20)
    rounds = []
    for _ in range(8):
        baseline = _speedup(lambda: hashlib.sha256(blob).digest(), 0.15)
        ours = _speedup(lambda: verifier.verify(token), 0.25)
        rounds.append((round(baseline, 2), round(ours, 2)))
        if ours > 1.3:
            return
    # Fail only when, in several rounds, the machine was clearly parallel and verify in
    # that same round scaled far worse than the baseline: a busy machine (other jobs on
    # the cores, whose share moves between the two measurements of a round) gives a
    # skip, not a failure.
    if sum(1 for b, o in rounds if b >= 1.5 and o < 0.75 * b) < 3:
        pytest.skip(
            "the machine offers too little parallelism now (other load: 2 threads of "
            f"GIL-free sha256 are rarely faster than 1); (baseline, verify) speed-ups: {rounds}, "
            f"load {os.getloadavg()[0]:.1f} on {cpus} CPUs"
        )
    pytest.fail(f"2 threads do not verify faster than 1; (baseline, verify) speed-ups: {rounds}")


def test_python_threads_run_while_a_verify_is_in_flight(
    bench_4096: "tuple[xconnauth.Verifier, str]",
) -> None:
    """With a 1 s switch interval a thread holding the GIL is practically never
    interrupted; so if another Python thread makes progress *during* ``verify`` calls,
    ``verify`` must have released the GIL. (Unlike the speed-up test this does not need
    two idle cores, only that the spinning thread gets scheduled now and then.)"""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs at least 2 CPUs")
    verifier, token = bench_4096
    counter = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            counter[0] += 1
            time.sleep(0)  # hand the GIL straight back when the verifying thread wants it

    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    spinner = threading.Thread(target=spin)
    try:
        spinner.start()
        progressed = 0
        calls = 200
        for _ in range(calls):
            before = counter[0]
            verifier.verify(token)
            if counter[0] != before:
                progressed += 1
    finally:
        stop.set()
        sys.setswitchinterval(old)
        spinner.join()
    # Holding the GIL, the count is 0 (at most one forced switch per second). Releasing
    # it, CPython 3.11+ shows most calls, 3.9 fewer (its GIL hand-over is slower).
    assert progressed >= calls // 20, f"the spinning thread advanced during only {progressed}/{calls} verifies"


def test_key_swaps_are_atomic(key_a: RsaKey, key_b: RsaKey) -> None:
    issuer = "https://kc.example.test/realms/orders"
    token = mint(key_a, access_token_claims(issuer), kid="a")
    only_a = xconnauth.KeySet.from_jwks(jwks(key_a.jwk("a")))
    a_and_b = xconnauth.KeySet.from_jwks(jwks(key_b.jwk("b"), key_a.jwk("a")))
    verifier = xconnauth.Verifier(only_a, issuer)
    stop = threading.Event()
    failures: List[BaseException] = []
    done = [0]

    def verify_loop() -> None:
        while not stop.is_set():
            try:
                verifier.verify(token, now=1_764_000_000)
                done[0] += 1
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)
                return

    readers = [threading.Thread(target=verify_loop) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for i in range(300):
            verifier.set_keys(a_and_b if i % 2 else only_a)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not failures, failures[:3]
    assert done[0] > 0
