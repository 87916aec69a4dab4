"""Type stubs for the compiled module ``xconnauth._xconnauth``."""

from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple, Union, final

from ._claims import Claims
from ._errors import InvalidToken, KeysUnavailable
from ._types import SkippedKey

__all__ = [
    "KeySet",
    "Verifier",
    "RemoteVerifier",
    "_CoreError",
    "www_authenticate",
    "problem_json",
    "parse_discovery",
    "validate_options",
    "__version__",
    "I2_CONNECT_PROBLEM_TYPE",
    "ERROR_CODES",
    "ALGORITHMS",
    "OPTION_NAMES",
    "BACKENDS",
    "DEFAULT_BACKEND",
]

__version__: str
I2_CONNECT_PROBLEM_TYPE: str
ERROR_CODES: Tuple[str, ...]
ALGORITHMS: Tuple[str, ...]
OPTION_NAMES: Tuple[str, ...]
BACKENDS: Tuple[str, ...]
DEFAULT_BACKEND: str

_Text = Union[str, bytes, bytearray]

_Now = Union[int, float, None]
_Names = Union[str, Sequence[str]]

@final
class KeySet:
    """A set of trusted RSA signing keys, parsed once from a JWKS document."""

    @staticmethod
    def from_jwks(jwks: _Text, backend: Optional[str] = None) -> KeySet: ...
    @property
    def kids(self) -> List[Optional[str]]: ...
    @property
    def skipped(self) -> List[SkippedKey]: ...
    @property
    def backend(self) -> str: ...
    def __len__(self) -> int: ...

@final
class Verifier:
    """Verifies bearer tokens against trusted keys and a policy."""

    def __new__(
        cls,
        keys: Union[KeySet, Mapping[str, KeySet]],
        issuers: _Names,
        *,
        audiences: Optional[_Names] = None,
        algorithms: Sequence[str] = ...,  # ("RS256",)
        leeway: int = 30,
        token_type: Optional[str] = "Bearer",
        required_scopes: Sequence[str] = (),
        required_realm_roles: Sequence[str] = (),
        required_client_roles: Optional[Mapping[str, Sequence[str]]] = None,
        required_claims: Sequence[str] = ...,  # ("exp",)
        min_rsa_bits: int = 2048,
        max_rsa_bits: int = 8192,
        max_token_bytes: int = 16384,
        header_types: Optional[_Names] = None,
        cache_entries: int = 0,
    ) -> Verifier: ...
    def verify(self, token: _Text, now: _Now = None) -> Claims: ...
    def verify_header(self, value: _Text, now: _Now = None) -> Claims: ...
    def with_keys(self, keys: Union[KeySet, Mapping[str, KeySet]]) -> Verifier: ...
    def set_keys(self, keys: Union[KeySet, Mapping[str, KeySet]]) -> None: ...
    @property
    def policy(self) -> Dict[str, Any]: ...

@final
class RemoteVerifier:
    """A verifier that trusts issuers by URL and keeps their keys fresh (Rust engine)."""

    def __new__(
        cls,
        issuers: _Names,
        options_json: str,
        *,
        audiences: Optional[_Names] = None,
        algorithms: Sequence[str] = ...,  # ("RS256",)
        leeway: int = 30,
        token_type: Optional[str] = "Bearer",
        required_scopes: Sequence[str] = (),
        required_realm_roles: Sequence[str] = (),
        required_client_roles: Optional[Mapping[str, Sequence[str]]] = None,
        required_claims: Sequence[str] = ...,  # ("exp",)
        min_rsa_bits: int = 2048,
        max_rsa_bits: int = 8192,
        max_token_bytes: int = 16384,
        header_types: Optional[_Names] = None,
        cache_entries: int = 0,
    ) -> RemoteVerifier: ...
    def verify(self, token: _Text, now: _Now = None) -> Claims: ...
    def verify_header(self, value: _Text, now: _Now = None) -> Claims: ...
    def verify_cached(self, token: _Text, now: _Now = None, header: bool = False) -> Claims: ...
    def refresh(self) -> None: ...
    def status(self) -> List[Dict[str, Any]]: ...
    def snapshot(self) -> Optional[Verifier]: ...
    @property
    def policy(self) -> Dict[str, Any]: ...

@final
class _CoreError: ...

# The getters of Claims.scopes and Claims.realm_roles (not public API).
def _claims_scopes(claims: Claims) -> FrozenSet[str]: ...
def _claims_realm_roles(claims: Claims) -> FrozenSet[str]: ...
def www_authenticate(exc: Union[InvalidToken, KeysUnavailable], realm: Optional[str] = None) -> str: ...
def problem_json(
    exc: Union[InvalidToken, KeysUnavailable], type_uri: Optional[str] = None, instance: Optional[str] = None
) -> str: ...
def parse_discovery(document: _Text, issuer: str) -> str: ...
def validate_options(
    issuers: _Names,
    *,
    audiences: Optional[_Names] = None,
    algorithms: Sequence[str] = ...,  # ("RS256",)
    leeway: int = 30,
    token_type: Optional[str] = "Bearer",
    required_scopes: Sequence[str] = (),
    required_realm_roles: Sequence[str] = (),
    required_client_roles: Optional[Mapping[str, Sequence[str]]] = None,
    required_claims: Sequence[str] = ...,  # ("exp",)
    min_rsa_bits: int = 2048,
    max_rsa_bits: int = 8192,
    max_token_bytes: int = 16384,
    header_types: Optional[_Names] = None,
    cache_entries: int = 0,
) -> None: ...
