"""Database locks that order golden-record writes against the outbox reader.

Every transaction that changes golden records of a domain holds that domain's write lock
(exclusive) until it commits; the outbox fan-out takes all of them shared. So when the
fan-out reads the outbox, no transaction holding a lower, uncommitted sequence number can
still be running, and no event is ever skipped. (SQLite serialises all writes anyway.)

Locks are always taken in the order of ``DOMAINS`` (customer, product, contract: contracts
refer to customers), by every writer and by the fan-out, so they cannot deadlock.
"""

from __future__ import annotations

from django.db import connection

from mdm.core.domains import DOMAINS

_LOCK_IDS = {name: 7_300 + position for position, name in enumerate(DOMAINS, start=1)}


def in_lock_order(domains: set[str]) -> list[str]:
    """The domains in the one order every lock holder takes them in."""
    return [name for name in DOMAINS if name in domains]


def domain_write_lock(domain: str) -> None:
    """Hold the domain's write lock until the current transaction ends (re-entrant)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_IDS[domain]])


def all_domains_read_lock() -> None:
    """Wait for every in-flight golden write to commit; hold new ones off until we end."""
    if connection.vendor == "postgresql":
        # one statement; PostgreSQL evaluates the select list left to right (lock order)
        calls = ", ".join("pg_advisory_xact_lock_shared(%s)" for _ in DOMAINS)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {calls}", [_LOCK_IDS[domain] for domain in DOMAINS])
