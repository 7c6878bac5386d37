"""The matching benchmark on FEBRL1: the report's shape, and quality a user would notice.

No timing assertions: benchmarks are not timed tests.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

pytest.importorskip("recordlinkage")

KEYS = ("precision", "recall", "f1", "pairs_completeness", "review_share",
        "auto_merge_precision", "wall_s", "ingest_s", "train_s", "rematch_s", "records",
        "true_links", "predicted_pairs", "rule_version", "rule")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_bench_matching_febrl1_links_the_true_duplicates() -> None:
    out = StringIO()
    call_command("bench_matching", "--dataset", "febrl1", "--json", stdout=out)
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    missing = [key for key in KEYS if key not in report]
    assert not missing, (missing, report)
    assert report["records"] == 1000 and report["true_links"] == 500
    assert report["f1"] > 0.9, report
    assert report["pairs_completeness"] > 0.95, report
    assert report["auto_merge_precision"] == report["precision"]
    assert report["rule_version"] >= 2, "the re-match ran under the trained rule"
    assert {"auto_merge_weight", "review_weight", "bridge_weight"} <= set(report["rule"])
