"""``Claims``: the read-only mapping a successful verification returns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterator, Optional, Tuple

from ._xconnauth import _claims_realm_roles, _claims_scopes

__all__ = ["Claims"]


class Claims(Mapping[str, Any]):
    """The complete decoded payload of a verified token, read-only.

    It is equal to ``json.loads`` of the payload (numbers keep their JSON value: an
    ``exp`` of ``1751328120.25`` is the float ``1751328120.25``) and compares equal to a
    ``dict`` with the same content. The mapping itself cannot be changed; nested values
    are fresh objects built for this verification, so changing them affects nothing else.

    The payload is turned into Python objects on access, not during ``verify``: the
    verifier has already validated it as strict JSON and checked the policy on it, so a
    caller that only needs the verdict does not pay for ``json.loads`` (about a fifth of
    a verification's time for a Keycloak token), and one that reads a few claims
    (``claims["sub"]``, ``scopes``, ``realm_roles``, ``client_roles``) gets each straight
    from the verified token. The whole payload is decoded, once, by the first access
    that needs it (iteration, ``len``, equality, a list or object claim). Decoding
    cannot fail then: a payload that Python might refuse (an integer longer than the
    smallest ``sys.set_int_max_str_digits`` limit) is decoded inside ``verify`` instead.

    Convenience accessors cover the claims a Keycloak resource server usually needs:
    ``subject``, ``issuer``, ``audiences``, ``scopes``, ``realm_roles``,
    ``client_roles(client)``, and ``header`` (the verified JOSE header).
    """

    __slots__ = ("_dict", "_header_json", "_header", "_json", "_payload")

    def __init__(self, data: Mapping[str, Any], header: Optional[Mapping[str, Any]] = None) -> None:
        self._dict: Optional[Dict[str, Any]] = dict(data)
        self._header: Optional[Dict[str, Any]] = None if header is None else dict(header)
        self._header_json: Optional[str] = None
        self._json: Optional[str] = None
        self._payload: Any = None

    @classmethod
    def _from_payload(cls, payload: Any, decode_now: bool = False) -> "Claims":
        """Builds the claims of a verified token from the compiled module's ``Payload``
        (``verify`` calls this). Claims are converted on access; ``decode_now`` decodes
        the whole payload here, so that ``json.loads``'s ``ValueError`` (Python's
        integer digit limit) reaches the caller of ``verify``."""
        self = cls.__new__(cls)
        self._dict = json.loads(payload.json) if decode_now else None
        self._header = None
        self._header_json = None
        self._json = None
        self._payload = payload
        return self

    @property
    def _data(self) -> Dict[str, Any]:
        data = self._dict
        if data is None:
            # Only claims made by _from_payload start without a dict, and they keep the
            # token. Under the GIL a race decodes twice into equal dicts:
            # harmless.
            data = self._dict = json.loads(self.json or "{}")
        return data

    # Mapping protocol -----------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        payload = self._payload
        if self._dict is None and payload is not None:
            # A str, number, bool or null claim straight from the token; a list or an
            # object (``...``) from the decoded payload, so that it is one object that
            # keeps changes made to it, as in a dict.
            value = payload.scalar(name)
            if value is not ...:
                return value
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Claims):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]  # mutable content: not hashable, like dict

    def __repr__(self) -> str:
        return f"Claims({self._data!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (Claims, (self._data, self.header))

    # Access ---------------------------------------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        """A deep, independent ``dict`` copy of the claims."""
        text = self.json
        copied: Dict[str, Any] = json.loads(text if text is not None else json.dumps(self._data))
        return copied

    @property
    def json(self) -> Optional[str]:
        """The payload JSON text exactly as signed (``None`` for hand-built claims)."""
        text = self._json
        if text is None and self._payload is not None:
            text = self._json = self._payload.json
        return text

    @property
    def header(self) -> Dict[str, Any]:
        """The verified JOSE header (``alg``, ``kid``, ``typ``, ...), as a new dict."""
        if self._header is None:
            text = self._header_json
            if text is None and self._payload is not None:
                text = self._header_json = self._payload.header_json
            self._header = {} if text is None else json.loads(text)
        return dict(self._header or {})

    @property
    def subject(self) -> Optional[str]:
        """``sub``, if it is a string."""
        sub = self.get("sub")
        return sub if isinstance(sub, str) else None

    @property
    def issuer(self) -> Optional[str]:
        """``iss``."""
        iss = self.get("iss")
        return iss if isinstance(iss, str) else None

    @property
    def audiences(self) -> Tuple[str, ...]:
        """``aud`` as a tuple (a single string becomes a one-element tuple)."""
        aud = self._data.get("aud")
        if isinstance(aud, str):
            return (aud,)
        if isinstance(aud, list):
            return tuple(a for a in aud if isinstance(a, str))
        return ()

    if TYPE_CHECKING:

        @property
        def scopes(self) -> FrozenSet[str]:
            """The space-separated words of ``scope``."""

        @property
        def realm_roles(self) -> FrozenSet[str]:
            """``realm_access.roles``."""

    else:
        # The compiled module reads these straight from the verified token (the
        # verifier checked ``scope`` is a string and ``realm_access.roles`` a list of
        # strings); as the properties' getters themselves they cost no Python frame.
        scopes = property(_claims_scopes, doc="The space-separated words of ``scope``.")
        realm_roles = property(_claims_realm_roles, doc="``realm_access.roles``.")

    def _scopes_from_data(self) -> FrozenSet[str]:
        # ``scopes`` of claims built from a mapping.
        scope = self._data.get("scope")
        return frozenset(scope.split(" ")) - {""} if isinstance(scope, str) else frozenset()

    def _realm_roles_from_data(self) -> FrozenSet[str]:
        # ``realm_roles`` of claims built from a mapping.
        return _roles(self._data.get("realm_access"))

    def client_roles(self, client: str) -> FrozenSet[str]:
        """``resource_access.<client>.roles``."""
        if self._payload is not None:
            roles: FrozenSet[str] = self._payload.client_roles(client)
            return roles
        access = self._data.get("resource_access")
        return _roles(access.get(client)) if isinstance(access, dict) else frozenset()


def _roles(access: Any) -> FrozenSet[str]:
    if not isinstance(access, dict):
        return frozenset()
    roles = access.get("roles")
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(r for r in roles if isinstance(r, str))
