"""A typed tour of the xconnauth API; ``mypy --strict`` must accept it (run_tests.sh).

Run it from the repository root: ``python python/examples/typed_example.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

import xconnauth

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "keycloak"


def build_verifier() -> xconnauth.Verifier:
    keys: xconnauth.KeySet = xconnauth.KeySet.from_jwks((SAMPLE / "jwks.json").read_bytes())
    kids: List[Optional[str]] = keys.kids
    assert len(keys) == len(kids)
    return xconnauth.Verifier(
        keys,
        issuers="https://sso.example.com/realms/demo",
        audiences=["product-factory"],
        algorithms=("RS256",),
        leeway=30,
        token_type="Bearer",
        required_scopes=["openid", "spark"],
        required_realm_roles=(),
        required_client_roles={"product-factory": ["reader"]},
        required_claims=("exp", "sub"),
        min_rsa_bits=2048,
        max_rsa_bits=8192,
        max_token_bytes=16384,
    )


def describe(claims: xconnauth.Claims) -> Tuple[Optional[str], FrozenSet[str], Dict[str, Any]]:
    subject: Optional[str] = claims.subject
    scopes: FrozenSet[str] = claims.scopes
    header: Dict[str, Any] = claims.header
    as_mapping: Mapping[str, Any] = claims
    assert as_mapping["iss"] == claims.issuer
    return subject, scopes, header


def answer(exc: xconnauth.InvalidToken) -> Tuple[int, Dict[str, str], str]:
    code: str = exc.code
    status: int = exc.status
    headers = {"WWW-Authenticate": xconnauth.www_authenticate(exc, realm="demo")}
    problem: Dict[str, Any] = xconnauth.problem_details(
        exc, type_uri=xconnauth.I2_CONNECT_PROBLEM_TYPE, instance="/orders/1"
    )
    assert problem["error"] == code
    body: str = xconnauth.problem_json(exc)
    response: xconnauth.ProblemResponse = xconnauth.problem_response(exc, realm="demo")
    assert response.status == status
    return status, headers, body


def wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    claims: xconnauth.Claims = environ[xconnauth.CLAIMS_KEY]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(claims.subject).encode()]


def main() -> None:
    verifier = build_verifier()
    token = (SAMPLE / "token.jwt").read_text().strip()
    now = int((SAMPLE / "now.txt").read_text())
    claims = verifier.verify(token, now=now)
    print("valid:", describe(claims))
    print("policy:", json.dumps(dict(verifier.policy), default=list))
    try:
        verifier.verify_header(f"Bearer {token}", now=now + 86_400)
    except xconnauth.Expired as exc:
        print("rejected:", answer(exc))
    except xconnauth.InvalidToken as exc:  # any other category
        print("rejected:", exc.code)
    rotated: xconnauth.Verifier = verifier.with_keys(xconnauth.KeySet.from_jwks((SAMPLE / "jwks.json").read_text()))
    rotated.set_keys({"https://sso.example.com/realms/demo": xconnauth.KeySet.from_jwks((SAMPLE / "jwks.json").read_text())})
    protected = xconnauth.WSGIMiddleware(wsgi_app, verifier, realm="demo", exclude_paths={"/health"})
    assert callable(protected)

    client = xconnauth.JWKSClient("https://sso.example.com/realms/demo", refresh_cooldown=30.0)
    managed: xconnauth.ManagedVerifier = client.verifier_for(audiences="product-factory")
    assert managed.client is client
    exc_class: type[xconnauth.InvalidToken | xconnauth.KeysUnavailable] = xconnauth.exception_class("wrong_audience")
    assert exc_class is xconnauth.WrongAudience
    status: xconnauth.IssuerStatus = client.status()[0]
    assert status.kids == ()


if __name__ == "__main__":
    main()
