"""Source and target connectors, registered by name.

>>> connector = get_connector("file_drop", {"directory": "/srv/drop", "pattern": "*.csv"})
>>> result = connector.fetch_changes(since=None)
>>> for row in result.rows: ...
>>> save_cursor(result.cursor)  # only after the rows were processed

Built-in connectors: ``file_drop`` (:mod:`connectors.file_drop`) and ``rest_json``
(:mod:`connectors.rest_json`). A new connector subclasses :class:`SourceConnector` and is
decorated with ``@register("name")``; its module must be imported to be available.
"""

from __future__ import annotations

# Imported for their side effect: each built-in connector registers itself.
from connectors import file_drop, rest_json  # noqa: F401
from connectors.base import (
    ConnectorError,
    FeedRow,
    FetchResult,
    SourceConnector,
    TargetConnector,
    available,
    get_connector,
    register,
)

__all__ = [
    "ConnectorError",
    "FeedRow",
    "FetchResult",
    "SourceConnector",
    "TargetConnector",
    "available",
    "get_connector",
    "register",
]
