"""Splink 5 reference deduplication, for benchmarking the hub's matcher (benchmark-only).

Splink, DuckDB and pandas come from ``requirements/bench.txt`` and are imported lazily, so the
hub itself runs without them.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import TYPE_CHECKING, Any

from mdm.sources.standardisers import company_name_key, person_name_key

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["pairs_from_clusters", "splink_dedupe", "splink_dedupe_clusters"]

_MISSING = "Splink is a benchmark-only dependency: pip install -r requirements/bench.txt"
_COLUMNS = (
    "name_key", "name", "national_id", "credit_code", "email", "phone", "city", "birth_date",
)
_DETERMINISTIC_COLUMNS = ("national_id", "credit_code")
_DETERMINISTIC_RECALL = 0.7


def _text(value: Any) -> str | None:
    """A non-empty string, or None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _first(values: Any) -> str | None:
    """The first non-empty item of a list (or a bare scalar), or None."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        return _text(values)
    for value in values:
        if text := _text(value):
            return text
    return None


def _flat_row(record_id: int, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """One Splink input row from canonical customer attributes."""
    name = _text(attrs.get("name")) or _text(attrs.get("name_zh")) or _text(attrs.get("name_latin"))
    key_fn = company_name_key if attrs.get("party_type") == "organisation" else person_name_key
    return {
        "unique_id": int(record_id),
        "name_key": _text(key_fn(name)) if name else None,
        "name": name,
        "national_id": _text(attrs.get("national_id")),
        "credit_code": _text(attrs.get("credit_code")),
        "email": _first(attrs.get("emails")),
        "phone": _first(attrs.get("phones")),
        "city": _text(attrs.get("city")),
        "birth_date": _text(attrs.get("birth_date")),
    }


def _frame(rows: list[tuple[int, dict]]) -> pd.DataFrame:
    """Flatten ``(record_id, attributes)`` rows; string columns are typed so all-null ones work."""
    import pandas as pd

    frame = pd.DataFrame([_flat_row(rid, attrs) for rid, attrs in rows],
                         columns=["unique_id", *_COLUMNS])
    frame["unique_id"] = frame["unique_id"].astype("int64")
    return frame.astype(dict.fromkeys(_COLUMNS, "string"))


def splink_dedupe_clusters(
    rows: list[tuple[int, dict]], *, threshold: float = 0.9, max_pairs: float = 1e7,
) -> tuple[dict[str, Any], dict[int, int]]:
    """Deduplicate with Splink 5 (DuckDB, unsupervised); return (summary, record_id -> cluster).

    The summary holds JSON-friendly values only: ``wall_s`` (Splink run from registering the
    table to having clusters), ``records``, ``pairs_predicted`` (blocked pairs scored) and
    ``clusters``. Pairs at ``match_probability >= threshold`` are joined into clusters.
    """
    try:
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    except ImportError as exc:
        raise RuntimeError(_MISSING) from exc

    logging.getLogger("splink").setLevel(logging.WARNING)
    frame = _frame(rows)
    if frame.empty:
        return {"wall_s": 0.0, "records": 0, "pairs_predicted": 0, "clusters": 0}, {}

    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("name_key"),
            cl.ExactMatch("national_id"),
            cl.ExactMatch("credit_code"),
            cl.ExactMatch("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("city"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("email"),
            block_on("national_id"),
            block_on("credit_code"),
            block_on("name_key", "city"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    # Deterministic rules only where they can fire: an all-distinct column gives a zero prior.
    deterministic = [
        block_on(col) for col in _DETERMINISTIC_COLUMNS if frame[col].dropna().duplicated().any()
    ]

    start = time.perf_counter()
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings, log_level=None)
    if deterministic:
        # On tiny inputs the rules can find more matches than the recall allows: keep the prior.
        with contextlib.suppress(ValueError):
            linker.training.estimate_probability_two_random_records_match(
                deterministic, recall=_DETERMINISTIC_RECALL,
            )
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_key"))
    predictions = linker.inference.predict()
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold,
    )
    cluster_frame = clustered.as_pandas_dataframe()
    wall_s = time.perf_counter() - start

    pairs_predicted = linker.misc.query_sql(
        f"select count(*) as n from {predictions.physical_name}", output_type="pandas",
    )["n"].iloc[0]
    mapping = {
        int(rid): int(cid)
        for rid, cid in zip(cluster_frame["unique_id"], cluster_frame["cluster_id"], strict=True)
    }
    summary = {
        "wall_s": round(wall_s, 3),
        "records": len(frame),
        "pairs_predicted": int(pairs_predicted),
        "clusters": len(set(mapping.values())),
    }
    return summary, mapping


def splink_dedupe(
    rows: list[tuple[int, dict]], *, threshold: float = 0.9, max_pairs: float = 1e7,
) -> dict[str, Any]:
    """Deduplicate with Splink 5; the JSON-friendly summary of :func:`splink_dedupe_clusters`."""
    summary, _ = splink_dedupe_clusters(rows, threshold=threshold, max_pairs=max_pairs)
    return summary


def pairs_from_clusters(clusters: dict[Any, Any]) -> set[frozenset[Any]]:
    """Every unordered pair of record ids sharing a cluster id (for precision/recall)."""
    members: dict[int, list[int]] = defaultdict(list)
    for record_id, cluster_id in clusters.items():
        members[cluster_id].append(record_id)
    return {
        frozenset(pair) for ids in members.values() for pair in combinations(sorted(ids), 2)
    }
