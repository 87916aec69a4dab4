"""Fixtures: a local Keycloak-style issuer (examples/issuer) and the two remote services
(C and .NET/Mono) as subprocesses on 127.0.0.1, each on a port it picks itself.

The services are found through the environment that run_tests.sh sets:
  REMOTE_SERVICE_C        the compiled C service
  REMOTE_SERVICE_DOTNET   RemoteService.exe (run with $MONO, default "mono")
  XCA_LIB_DIR             directory holding libxconnauth.so.0 (LD_LIBRARY_PATH)
A service whose variable is unset is skipped, with the reason in the pytest summary.
"""

from __future__ import annotations

import http.client
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "issuer"))

from issuer import Issuer  # noqa: E402

AUDIENCE = "remote-service"
SCOPE = "data:read"
REALM = "remote-service"

CLIENTS = {
    # Keycloak puts a client into `aud` when the token carries roles of it.
    "data-reader": {
        "secret": "dev-secret-data-reader",
        "service_account": {"client_roles": {AUDIENCE: ["reader"]}},
        "optional_scopes": [SCOPE],
    },
    "other-app": {
        "secret": "dev-secret-other-app",
        "service_account": {"client_roles": {"other-api": ["reader"]}},
        "optional_scopes": [SCOPE],
    },
}


class Response:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:300]!r}>"


def request(
    base: str, path: str = "/api/data", *, token: Optional[str] = None, method: str = "GET",
    headers: Optional[List[Tuple[str, str]]] = None,
) -> Response:
    host, port = base.split("//", 1)[1].rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=15)
    try:
        conn.putrequest(method, path)
        if token is not None:
            conn.putheader("Authorization", f"Bearer {token}")
        for name, value in headers or []:
            conn.putheader(name, value)
        conn.endheaders()
        r = conn.getresponse()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return Response(r.status, hdrs, r.read())
    finally:
        conn.close()


class Service:
    """A running service process; ``base`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, kind: str, cmd: List[str], env: Dict[str, str], log: Path,
                 jwks_path: Optional[Path] = None) -> None:
        self.kind = kind
        self.jwks_path = jwks_path
        self.log = log
        self._log_file = open(log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log_file, env=env)
        self._failed_start = False
        line = self._first_line(timeout=30)
        if not line.startswith("listening on "):
            self._failed_start = True
            self.stop()
            raise RuntimeError(f"{kind} service did not start: {line!r}\n{self.log_text()}")
        self.base = line.split()[-1].rstrip("/")

    def _first_line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                return "(no output)"
            return self.proc.stdout.readline().decode("utf-8", "replace").strip()
        finally:
            sel.close()

    def log_text(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text("utf-8", "replace")

    def get(self, path: str = "/api/data", **kw: Any) -> Response:
        return request(self.base, path, **kw)

    def wait_for(self, predicate: Any, timeout: float = 10.0, interval: float = 0.1) -> Any:
        """Polls ``predicate()`` until it returns something truthy; returns that."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result or time.monotonic() > deadline:
                return result
            time.sleep(interval)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log_file.close()
        # The C service exits 0 on SIGTERM after freeing everything; anything else (a
        # sanitizer report, a crash) is a failure even if every answer was right.
        if self.kind == "c" and self.proc.returncode != 0 and not self._failed_start:
            raise AssertionError(f"C service exited with {self.proc.returncode}:\n{self.log_text()}")


def write_jwks(path: Path, jwks: Any) -> None:
    """Replaces the file the way a sidecar should: write a temporary file, then rename."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(jwks))
    os.replace(tmp, path)


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    lib = os.environ.get("XCA_LIB_DIR")
    if lib:
        env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def start_service(kind: str, iss: Issuer, workdir: Path, *extra: str) -> Service:
    """Starts the ``kind`` ("c", "c-file" or "dotnet") service for ``iss``; skips if not built."""
    policy = ["--issuer", iss.issuer, "--audience", AUDIENCE, "--scope", SCOPE, "--realm", REALM, "--port", "0"]
    workdir.mkdir(parents=True, exist_ok=True)
    if kind in ("c", "c-file"):
        exe = os.environ.get("REMOTE_SERVICE_C")
        if not exe:
            pytest.skip("REMOTE_SERVICE_C is not set (run examples/remote-service/run_tests.sh)")
        if kind == "c":  # the default: keys fetched by libxconnauth's engine
            return Service(kind, [exe, *policy, *extra], _env(), workdir / "service.log")
        jwks = workdir / "jwks.json"
        write_jwks(jwks, iss.jwks())
        cmd = [exe, "--jwks", str(jwks), *policy, *extra]
        return Service(kind, cmd, _env(), workdir / "service.log", jwks)
    exe = os.environ.get("REMOTE_SERVICE_DOTNET")
    if not exe:
        pytest.skip("REMOTE_SERVICE_DOTNET is not set: mcs/mono missing, or not run through run_tests.sh")
    cmd = [os.environ.get("MONO", "mono"), exe, *policy, *extra]
    return Service(kind, cmd, _env(), workdir / "service.log")


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    iss = Issuer(realm="demo", clients=CLIENTS, rotation_grace=3600)
    iss.start()
    yield iss
    iss.stop()


# "c": the C service fetching its keys (xca_verifier_new_remote, the default); "c-file":
# the same service reading a JWKS file (--jwks); "dotnet": the .NET service (Verifier.Remote).
@pytest.fixture(scope="module", params=["c", "c-file", "dotnet"])
def service(request: pytest.FixtureRequest, issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    kind = request.param
    extra = {
        "c": ["--timeout-ms", "700", "--max-connections", "16", "--cooldown", "3"],
        "c-file": ["--timeout-ms", "700", "--max-connections", "16"],
        "dotnet": ["--cooldown", "3"],
    }[kind]
    svc = start_service(kind, issuer, tmp_path_factory.mktemp(kind), *extra)
    yield svc
    svc.stop()
