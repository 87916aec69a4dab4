#!/usr/bin/env python3
"""Bounded load run through the proxy, with and without token verification.

Starts, on 127.0.0.1 with free ports: the issuer (in this process; it only hands out one
token and the JWKS), the upstream and two proxies, each in its own process: one that
verifies tokens and one started with ``--insecure-disable-verification`` (benchmark
mode). Then ``--clients`` threads send GET requests over kept-alive connections for
``--seconds`` per mode (after a short warm-up), and it prints requests/s and p50/p99
latency per mode. Everything is stopped at the end.

    python examples/e2e/load.py                 # 10 s per mode, 2 clients
    python examples/e2e/load.py --seconds 20 --clients 4 --markdown

Needs the venv that run_tests.sh sets up (xconnauth, cryptography, uvicorn).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent
sys.path.insert(0, str(EXAMPLES / "issuer"))

from issuer import Issuer  # noqa: E402

UPSTREAM_KEY = "load-upstream-key"


def spawn(args: Sequence[str], url_file: Path, env: Dict[str, str], procs: List["subprocess.Popen[bytes]"]) -> str:
    proc = subprocess.Popen([sys.executable, *args, "--port", "0", "--url-file", str(url_file)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(proc)
    deadline = time.monotonic() + 30
    while not url_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"load: {args[0]} did not start (exit code {proc.poll()})")
        time.sleep(0.05)
    return url_file.read_text().strip()


def get_token(issuer: Issuer) -> str:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "orders:read"}).encode()
    basic = base64.b64encode(b"orders-reporter:dev-secret-orders-reporter").decode()
    request = urllib.request.Request(issuer.token_endpoint, data=form, headers={
        "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["access_token"])


def run_phase(url: str, token: str, clients: int, seconds: float, warmup: float) -> Dict[str, float]:
    """``clients`` threads, each on its own kept-alive connection, for ``seconds``."""
    parts = urllib.parse.urlsplit(url)
    headers = {"Authorization": f"Bearer {token}"}
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    latencies: List[List[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        mine = latencies[n]
        while True:
            t0 = time.monotonic()
            if t0 >= stop_at:
                break
            try:
                conn.request("GET", "/orders?id=42", headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            t1 = time.monotonic()
            if t0 >= measure_from:
                if ok:
                    mine.append(t1 - t0)
                else:
                    errors[n] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merged = sorted(x for per in latencies for x in per)
    if not merged:
        raise SystemExit(f"load: no successful request to {url} ({sum(errors)} errors)")
    q = statistics.quantiles(merged, n=100, method="inclusive")
    return {"requests": len(merged), "errors": sum(errors), "rps": len(merged) / seconds,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per mode (default 10)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent client connections (default 2)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each mode (default 1)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1:
        parser.error("--seconds must be > 0 and --clients >= 1")

    procs: List["subprocess.Popen[bytes]"] = []
    issuer = Issuer.from_config(EXAMPLES / "issuer" / "realm.json")
    results: List[Tuple[str, Dict[str, float]]] = []
    try:
        issuer.start()
        env = dict(os.environ, UPSTREAM_API_KEY=UPSTREAM_KEY)
        with tempfile.TemporaryDirectory(prefix="xconnauth-load-") as tmp:
            upstream = spawn([str(EXAMPLES / "proxy" / "upstream.py")], Path(tmp) / "upstream", env, procs)
            proxy_args = [str(EXAMPLES / "proxy" / "proxy.py"), "--config", str(EXAMPLES / "proxy" / "proxy.json"),
                          "--issuer", issuer.issuer, "--upstream", upstream]
            plain = spawn(proxy_args + ["--insecure-disable-verification"], Path(tmp) / "plain", env, procs)
            verifying = spawn(proxy_args, Path(tmp) / "verifying", env, procs)
        token = get_token(issuer)
        for name, url in (("without verification", plain), ("with verification", verifying)):
            print(f"load: {name}: {args.clients} clients, {args.seconds:g} s ...", file=sys.stderr, flush=True)
            results.append((name, run_phase(url, token, args.clients, args.seconds, args.warmup)))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        issuer.stop()

    cpus = os.cpu_count()
    print(f"# {args.clients} clients x {args.seconds:g} s per mode, GET through the proxy to the upstream, "
          f"Python {platform.python_version()}, {cpus} CPUs")
    if args.markdown:
        print("| mode | requests | errors | req/s | p50 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, r in results:
            print(f"| {name} | {r['requests']:.0f} | {r['errors']:.0f} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    else:
        for name, r in results:
            print(f"{name:>22}: {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                  f"({r['requests']:.0f} ok, {r['errors']:.0f} errors)")
    (_, plain_r), (_, verify_r) = results
    print(f"verification cost: p50 +{verify_r['p50_ms'] - plain_r['p50_ms']:.2f} ms, "
          f"throughput {100 * (verify_r['rps'] / plain_r['rps'] - 1):+.0f} %")
    return 1 if any(r["errors"] for _, r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
