"""xconnauth against a real third-party OpenID provider: npm `oidc-provider` (provider.mjs)
on 127.0.0.1, RFC 9068 JWT access tokens from its token endpoint (client credentials plus
a resource indicator), verified through Rust (the CLI), C (libxconnauth through ctypes)
and Python (JWKSClient), with the one-line policy of docs/integrations/oidc-provider.md.

Environment (set by run_tests.sh): XCONNAUTH_CLI (the CLI binary), XCA_LIB (the
libxconnauth shared library).
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import xconnauth

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "ffi" / "tests"))
import xca_ctypes  # noqa: E402  (the C signatures, declared once)
DOC = ROOT / "docs" / "integrations" / "oidc-provider.md"
RESOURCE = "https://api.example.test/orders"
PLAIN_RESOURCE = "https://plain-jwt.example.test/orders"
# Engine options for a test: an unknown kid may refresh at once (the default cooldown of
# 10 s would only make the rotation test slower).
ENGINE = {"refresh_cooldown": 0.05, "timeout": 5}


def doc_policy(issuer: str) -> Dict[str, Any]:
    """The one-line policy the page shows, pointed at this provider."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- policy:[^>]*-->\s*```json\n(.*?)\n```", text, re.S)
    assert block, "docs/integrations/oidc-provider.md lost its policy block"
    line = block.group(1)
    assert "\n" not in line.strip(), "the policy is one line"
    policy = json.loads(line)
    # The page's example issuer and audience, everything else exactly as shown.
    assert set(policy) == {"issuers", "audiences", "token_type", "header_types"}, policy
    assert policy["token_type"] is None and policy["header_types"] == ["at+jwt"]
    return dict(policy, issuers=[issuer], audiences=[RESOURCE])


class Provider:
    """provider.mjs as a subprocess; restartable on the same port (key rotation)."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.proc: Optional[subprocess.Popen[str]] = None
        self.port = 0
        self.issuer = ""
        self.kids: List[str] = []

    def start(self, keys: str = "a") -> None:
        cmd = ["node", str(HERE / "provider.mjs"), "--state", str(self.state), "--keys", keys,
               "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"provider.mjs did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")
        info = json.loads(line)
        self.port, self.issuer, self.kids = info["port"], info["issuer"], info["kids"]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck node
                self.proc.kill()
                self.proc.wait(timeout=10)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
            self.proc = None

    def restart(self, keys: str) -> None:
        self.stop()
        self.start(keys)

    def token(self, resource: str = RESOURCE, scope: str = "orders:read") -> str:
        """An access token from the token endpoint (client_credentials + resource)."""
        body = urllib.parse.urlencode(
            {"grant_type": "client_credentials", "resource": resource, "scope": scope}
        ).encode()
        basic = base64.b64encode(b"svc:svc-secret").decode()
        req = urllib.request.Request(
            f"{self.issuer}/token", data=body, headers={"Authorization": f"Basic {basic}"}
        )
        with no_proxy().open(req, timeout=10) as resp:
            answer = json.load(resp)
        assert answer["token_type"] == "Bearer", answer
        return str(answer["access_token"])


def no_proxy() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def decode(segment: str) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return data


def parts(token: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    header, payload, _ = token.split(".")
    return decode(header), decode(payload)


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    p = Provider(tmp_path_factory.mktemp("oidc-provider"))
    p.start("a")
    try:
        yield p
    finally:
        p.stop()


# ------------------------------------------------------------------ the provider itself


def test_tokens_are_rfc9068(provider: Provider) -> None:
    """What the other tests rely on: header typ at+jwt, no typ claim, bare-origin iss."""
    header, claims = parts(provider.token())
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": "oidc-provider-a"}
    assert "typ" not in claims and claims["client_id"] == "svc" and claims["aud"] == RESOURCE
    assert claims["iss"] == provider.issuer and urllib.parse.urlsplit(provider.issuer).path == ""
    plain_header, _ = parts(provider.token(PLAIN_RESOURCE))
    assert plain_header["typ"] == "JWT"


def test_discovery_names_the_issuer_and_jwks(provider: Provider) -> None:
    url = f"{provider.issuer}/.well-known/openid-configuration"
    with no_proxy().open(url, timeout=10) as resp:
        document = json.load(resp)
    assert document["issuer"] == provider.issuer
    with no_proxy().open(document["jwks_uri"], timeout=10) as resp:
        keys = xconnauth.KeySet.from_jwks(resp.read())
    assert len(keys) == 1 and keys.skipped == []
    # The engine discovers the bare-origin issuer and finds the same JWKS.
    client = xconnauth.JWKSClient(provider.issuer, fail_fast=True, **ENGINE)
    assert client.jwks_uri == document["jwks_uri"]
    assert client.key_set().kids == ("oidc-provider-a",)
    # The issuer is compared byte for byte: with a trailing slash it is another issuer.
    with pytest.raises(xconnauth.JWKSError, match="issuer"):
        xconnauth.JWKSClient(provider.issuer + "/", fail_fast=True, **ENGINE)


# ------------------------------------------------------------------ Rust: the CLI


def cli(provider: Provider, token: str, *extra: str) -> Tuple[int, Dict[str, Any]]:
    out = subprocess.run(
        [os.environ["XCONNAUTH_CLI"], "verify", "--issuer", provider.issuer, "--discover", "--json", *extra, token],
        capture_output=True, text=True, timeout=30,
        env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
    )
    assert out.stdout, out.stderr
    result: Dict[str, Any] = json.loads(out.stdout)
    return out.returncode, result


def test_rust_cli(provider: Provider, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(doc_policy(provider.issuer)))
    code, result = cli(provider, provider.token(), "--policy", str(policy))
    assert code == 0, result
    assert result["header"]["typ"] == "at+jwt" and result["claims"]["client_id"] == "svc"
    code, result = cli(provider, provider.token(PLAIN_RESOURCE), "--policy", str(policy),
                       "--audience", PLAIN_RESOURCE)
    assert (code, result["error"]) == (1, "wrong_type"), result
    assert "header_types" in result["message"]
    # The default policy: refused, and told what to set.
    code, result = cli(provider, provider.token())
    assert (code, result["error"]) == (1, "missing_claim"), result
    assert 'set token_type to null and header_types to ["at+jwt"]' in result["message"]
    # The flags of the page instead of the file.
    flags = ("--audience", RESOURCE, "--no-token-type", "--header-type", "at+jwt")
    assert cli(provider, provider.token(), *flags)[0] == 0


# ------------------------------------------------------------------ C: libxconnauth


class CLib:
    OK = 0

    def __init__(self, path: str) -> None:
        lib = xca_ctypes.load(path)
        self.lib = lib

    def remote(self, policy: Dict[str, Any], options: Dict[str, Any]) -> ctypes.c_void_p:
        p, o = json.dumps(policy).encode(), json.dumps(options).encode()
        handle = ctypes.c_void_p()
        status = self.lib.xca_verifier_new_remote(p, len(p), o, len(o), ctypes.byref(handle))
        assert status == self.OK, self.message()
        return handle

    def verify(self, handle: ctypes.c_void_p, token: str) -> Tuple[str, Any]:
        t = token.encode()
        buf = ctypes.create_string_buffer(16384)
        n = ctypes.c_size_t()
        status = self.lib.xca_verify(handle, t, len(t), -1, buf, len(buf), ctypes.byref(n))
        name = self.lib.xca_status_name(status).decode()
        if status == self.OK:
            return name, json.loads(buf.raw[: n.value])
        return name, self.message()

    def message(self) -> str:
        buf = ctypes.create_string_buffer(1024)
        n = ctypes.c_size_t()
        self.lib.xca_last_error_message(buf, len(buf), ctypes.byref(n))
        return buf.value.decode()


@pytest.fixture(scope="module")
def clib() -> CLib:
    return CLib(os.environ["XCA_LIB"])


def test_c_remote_verifier(provider: Provider, clib: CLib) -> None:
    v = clib.remote(doc_policy(provider.issuer), ENGINE)
    try:
        name, claims = clib.verify(v, provider.token())
        assert name == "ok", claims
        assert claims["client_id"] == "svc"
        # Step 4 (header typ) comes before the audience (step 8).
        assert clib.verify(v, provider.token(PLAIN_RESOURCE))[0] == "wrong_type"
    finally:
        clib.lib.xca_verifier_free(v)
    plain = clib.remote(dict(doc_policy(provider.issuer), audiences=[PLAIN_RESOURCE]), ENGINE)
    try:
        name, message = clib.verify(plain, provider.token(PLAIN_RESOURCE))
        assert name == "wrong_type" and "header_types" in message, message
    finally:
        clib.lib.xca_verifier_free(plain)


# ------------------------------------------------------------------ Python: JWKSClient


def test_python_jwks_client(provider: Provider) -> None:
    client = xconnauth.JWKSClient(provider.issuer, **ENGINE)
    policy = doc_policy(provider.issuer)
    del policy["issuers"]
    verifier = client.verifier_for(**policy)
    claims = verifier.verify(provider.token())
    assert claims["client_id"] == "svc" and claims["iss"] == provider.issuer
    plain = client.verifier_for(**dict(policy, audiences=[PLAIN_RESOURCE]))
    with pytest.raises(xconnauth.WrongType, match="header_types") as err:
        plain.verify(provider.token(PLAIN_RESOURCE))
    assert err.value.code == "wrong_type"
    with pytest.raises(xconnauth.MissingClaim, match="header_types"):
        client.verify(provider.token())  # the default policy
    assert client.jwks_uri and client.jwks_uri.startswith(provider.issuer + "/")


# ------------------------------------------------------------------ rotation (runs last)


def test_rotation_is_picked_up(provider: Provider, clib: CLib, tmp_path: Path) -> None:
    """The provider restarts with a new signing key (b, with a still published): running
    verifiers meet an unknown kid, refresh once, and verify; the CLI discovers afresh."""
    client = xconnauth.JWKSClient(provider.issuer, **ENGINE)
    policy = doc_policy(provider.issuer)
    verifier = client.verifier_for(**{k: v for k, v in policy.items() if k != "issuers"})
    c_verifier = clib.remote(policy, ENGINE)
    try:
        old = provider.token()
        assert verifier.verify(old)["client_id"] == "svc"
        assert clib.verify(c_verifier, old)[0] == "ok"
        fetched = client.fetch_count

        provider.restart("b,a")
        new = provider.token()
        assert parts(new)[0]["kid"] == "oidc-provider-b"
        assert verifier.verify(new)["client_id"] == "svc"
        assert client.fetch_count > fetched
        assert "oidc-provider-b" in client.key_set().kids
        name, claims = clib.verify(c_verifier, new)
        assert name == "ok", claims
        assert verifier.verify(old) and clib.verify(c_verifier, old)[0] == "ok"  # a still published

        file = tmp_path / "policy.json"
        file.write_text(json.dumps(policy))
        assert cli(provider, new, "--policy", str(file))[0] == 0
    finally:
        clib.lib.xca_verifier_free(c_verifier)
        provider.restart("a")
