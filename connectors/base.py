"""The small interface every connector implements, the rows they produce, and the registry.

The registry lives here (re-exported by :mod:`connectors`) so connector modules can
register themselves without importing the package they are part of.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


class ConnectorError(Exception):
    """A connector cannot do its job: bad config, unreachable source, malformed response."""


@dataclass
class FeedRow:
    """One input record.

    ``data`` is the parsed record (field name -> value), or None when the line could not be
    parsed; ``error`` then says why, starting with ``"line N: "``. ``line`` is 1-based:
    for files the physical line where the record starts (a CSV header is line 1), for API
    pulls the record's position within the fetch; 0 marks an error about a whole file.
    ``raw`` is the input text of the record.
    """

    line: int
    data: dict[str, Any] | None
    raw: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the record parsed."""
        return self.error is None


@dataclass
class FetchResult:
    """What one pull returned.

    ``rows`` may be a lazy iterator (consume it once). ``cursor`` is the opaque value to
    pass as ``since`` next time; store it only after the rows were processed.
    ``origin`` names where the rows came from (file or URL) for error messages.
    """

    rows: Iterable[FeedRow]
    cursor: str | None
    origin: str


class SourceConnector(ABC):
    """Pulls changed records from a source system.

    Subclasses declare the config keys they accept in ``config_keys``; unknown keys are
    rejected so typos in a source's configuration fail loudly.
    """

    name: ClassVar[str] = ""
    config_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: Mapping[str, Any]) -> None:
        unknown = sorted(set(config) - self.config_keys)
        if unknown:
            allowed = ", ".join(sorted(self.config_keys))
            raise ConnectorError(
                f"{self.name or type(self).__name__}: unknown config key(s) "
                f"{', '.join(unknown)}; allowed: {allowed}"
            )
        self.config = dict(config)

    @abstractmethod
    def fetch_changes(self, since: str | None) -> FetchResult:
        """Records changed since the opaque cursor ``since`` (None = everything)."""


class TargetConnector(ABC):
    """Delivers golden records to a downstream system."""

    @abstractmethod
    def deliver(self, batch: list[dict[str, Any]]) -> None:
        """Send one batch; raise :class:`ConnectorError` when it was not accepted."""


_REGISTRY: dict[str, type[SourceConnector]] = {}


def register(name: str) -> Callable[[type[SourceConnector]], type[SourceConnector]]:
    """Class decorator registering a :class:`SourceConnector` under ``name``."""

    def decorator(cls: type[SourceConnector]) -> type[SourceConnector]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"connector {name!r} is already registered by {existing!r}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def get_connector(name: str, config: Mapping[str, Any]) -> SourceConnector:
    """A configured connector; raises :class:`ConnectorError` for an unknown name or config."""
    cls = _REGISTRY.get(name)
    if cls is None:
        known = ", ".join(available()) or "none"
        raise ConnectorError(f"unknown connector {name!r}; available: {known}")
    return cls(config)


def available() -> list[str]:
    """Names of the registered connectors, sorted."""
    return sorted(_REGISTRY)
