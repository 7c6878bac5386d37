"""Token authentication for source systems (``Authorization: Token src_...``)."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from mdm.sources.models import SourceSystem
from mdm.sources.selectors import source_system_for_key

SOURCE_KEY_PREFIX = "src_"


class SourcePrincipal:
    """The authenticated caller when a source system presents its API key."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, source: SourceSystem) -> None:
        self.source = source
        self.username = f"source:{source.code}"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def __str__(self) -> str:
        return self.username


class SourceSystemTokenAuthentication(TokenAuthentication):
    """Authenticates source-system keys; user tokens fall through to DRF's own class."""

    def authenticate_credentials(self, key: str) -> tuple[SourcePrincipal, str] | None:
        if not key.startswith(SOURCE_KEY_PREFIX):
            return None
        source = source_system_for_key(key)
        if source is None:
            raise AuthenticationFailed("Invalid or revoked source system key.")
        return SourcePrincipal(source), key
