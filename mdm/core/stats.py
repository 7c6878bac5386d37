"""Summary statistics, and an isolated database for the benchmark commands."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def isolated_database(*, keep: bool = False) -> Iterator[str]:
    """Run inside a fresh, migrated copy of the configured database (``test_<name>``), so a
    benchmark never touches real data; dropped afterwards unless ``keep``."""
    old_name = connection.settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield name
    finally:
        if not keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(fraction * 1000) - 1]
