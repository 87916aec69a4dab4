"""The whole dev corpus (hand-built cases + Wycheproof-derived) through the public API.

Each case: ``KeySet.from_jwks(jwks text)``, ``Verifier(keys, **options)``,
``verify(token, now=now)``; it passes when the claims are exactly the payload (same JSON
types: ``1751328120.25`` stays a float) or the raised ``InvalidToken`` has the expected
``.code`` (and is the subclass for that code).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import pytest

import xconnauth
from conftest import VECTORS

CORPUS_FILES = ("cases.jsonl", "wycheproof_jwt.jsonl")


def _load() -> List[Any]:
    if not VECTORS.is_dir():
        # Not a skip: without the corpus this suite proves nothing.
        return [pytest.param(None, id="corpus-missing")]
    params = []
    for name in CORPUS_FILES:
        path = VECTORS / name
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                case = json.loads(line)
                params.append(pytest.param((path, case), id=f"{name}:{number}:{case['name']}"))
    return params


@lru_cache(maxsize=None)
def _jwks_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _jwks(path: Path, case: Dict[str, Any]) -> str:
    if "jwks" in case:
        return json.dumps(case["jwks"])
    return _jwks_text(str(path.parent / case["jwks_ref"]))


def _typed(value: Any) -> str:
    """A canonical text that distinguishes 1 from 1.0 and True from 1."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("entry", _load())
def test_case(entry: Any) -> None:
    if entry is None:
        pytest.fail(f"the shared corpus is missing: {VECTORS}")
    path, case = entry
    keys = xconnauth.KeySet.from_jwks(_jwks(path, case))
    verifier = xconnauth.Verifier(keys, **case["options"])
    expect = case["expect"]
    if expect == "ok":
        claims = verifier.verify(case["token"], now=case["now"])
        assert isinstance(claims, xconnauth.Claims)
        assert claims == case["claims"]
        assert _typed(dict(claims)) == _typed(case["claims"])
    else:
        code = expect["error"]
        with pytest.raises(xconnauth.InvalidToken) as info:
            verifier.verify(case["token"], now=case["now"])
        assert info.value.code == code, f"{case['name']}: {info.value}"
        assert type(info.value) is xconnauth.exception_class(code)
        assert info.value.status == (403 if code in ("missing_scope", "missing_role") else 401)


def test_corpus_is_complete() -> None:
    assert VECTORS.is_dir(), f"the shared corpus is missing: {VECTORS}"
    counts = {name: sum(1 for l in (VECTORS / name).read_text().splitlines() if l.strip()) for name in CORPUS_FILES}
    assert counts["cases.jsonl"] >= 150 and counts["wycheproof_jwt.jsonl"] >= 200, counts


def test_fractional_exp_keeps_its_json_value() -> None:
    """The README's example: ``exp: 1751328120.25`` comes back as that float."""
    seen = False
    for line in (VECTORS / "cases.jsonl").read_text().splitlines():
        case = json.loads(line)
        exp = case.get("claims", {}).get("exp")
        if case["expect"] == "ok" and isinstance(exp, float):
            keys = xconnauth.KeySet.from_jwks(_jwks(VECTORS / "cases.jsonl", case))
            claims = xconnauth.Verifier(keys, **case["options"]).verify(case["token"], now=case["now"])
            assert isinstance(claims["exp"], float) and claims["exp"] == exp
            seen = True
    assert seen, "the corpus has no ok case with a fractional exp any more"


def _verdict(verifier: xconnauth.Verifier, case: Dict[str, Any]) -> str:
    try:
        return _typed(dict(verifier.verify(case["token"], now=case["now"])))
    except xconnauth.InvalidToken as exc:
        return exc.code


def test_every_backend_gives_every_case_the_same_verdict() -> None:
    """The default (fast) backend is what the parametrized cases use; the others must agree."""
    assert xconnauth.DEFAULT_BACKEND in xconnauth.BACKENDS
    entries = [p.values[0] for p in _load()]
    assert entries and entries[0] is not None
    disagreements = []
    for path, case in entries:
        verdicts = set()
        for backend in xconnauth.BACKENDS:
            keys = xconnauth.KeySet.from_jwks(_jwks(path, case), backend=backend)
            assert keys.backend == backend
            verdicts.add(_verdict(xconnauth.Verifier(keys, **case["options"]), case))
        if len(verdicts) != 1:
            disagreements.append((case["name"], verdicts))
    assert not disagreements, disagreements


def test_unknown_backend_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        xconnauth.KeySet.from_jwks('{"keys":[]}', backend="openssl")
