"""Builders of incoming records shared by the tests."""

from __future__ import annotations

from typing import Any


def person(key: str, **attributes: Any) -> tuple[str, str, dict[str, Any]]:
    """A person customer as the ``ingest`` fixture takes it: (key, domain, fields)."""
    return (key, "customer", {"party_type": "person", **attributes})
