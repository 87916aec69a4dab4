"""The three programs as a user runs them: separate processes, free ports, URL files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, List

import pytest
from conftest import EXAMPLES, UPSTREAM_KEY, call

PY = sys.executable


def wait_for(path: Path, proc: "subprocess.Popen[bytes]", timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{proc.args!r} did not write {path} within {timeout} s")
        time.sleep(0.05)
    return path.read_text().strip()


@pytest.fixture
def processes() -> Iterator[List["subprocess.Popen[bytes]"]]:
    procs: List["subprocess.Popen[bytes]"] = []
    yield procs
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_issuer_upstream_and_proxy_as_processes(tmp_path: Path, processes: List["subprocess.Popen[bytes]"]) -> None:
    env = dict(os.environ, UPSTREAM_API_KEY=UPSTREAM_KEY)

    def spawn(*args: str) -> "subprocess.Popen[bytes]":
        proc = subprocess.Popen([PY, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        processes.append(proc)
        return proc

    issuer_proc = spawn(os.path.join(EXAMPLES, "issuer", "issuer.py"), "--port", "0", "--url-file", str(tmp_path / "issuer"))
    upstream_proc = spawn(os.path.join(EXAMPLES, "proxy", "upstream.py"), "--port", "0", "--url-file", str(tmp_path / "upstream"))
    issuer_url = wait_for(tmp_path / "issuer", issuer_proc)
    upstream_url = wait_for(tmp_path / "upstream", upstream_proc)
    proxy_proc = spawn(os.path.join(EXAMPLES, "proxy", "proxy.py"), "--config", os.path.join(EXAMPLES, "proxy", "proxy.json"),
                       "--issuer", f"{issuer_url}/realms/demo", "--upstream", upstream_url,
                       "--port", "0", "--url-file", str(tmp_path / "proxy"))
    proxy_url = wait_for(tmp_path / "proxy", proxy_proc)

    form = b"grant_type=client_credentials&client_id=orders-reporter&client_secret=dev-secret-orders-reporter&scope=orders:read"
    token = call(f"{issuer_url}/realms/demo/protocol/openid-connect/token", method="POST", body=form,
                 headers={"Content-Type": "application/x-www-form-urlencoded"}).json()["access_token"]
    reply = call(f"{proxy_url}/orders", token=token)
    assert reply.status == 200, reply.body
    assert reply.json()["authenticated_client"] == "orders-reporter"
    assert call(f"{proxy_url}/orders").status == 401


def test_proxy_refuses_to_start_without_the_upstream_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "UPSTREAM_API_KEY"}
    done = subprocess.run([PY, os.path.join(EXAMPLES, "proxy", "proxy.py"), "--port", "0"],
                          env=env, capture_output=True, timeout=30)
    assert done.returncode == 2
    assert b"UPSTREAM_API_KEY" in done.stderr
