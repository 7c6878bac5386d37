"""python manage.py bench_ingest --records N --json

Feeds N generated customer records (the demo generator's three sources, with their
duplicates and ~1% bad values) through the full service path — land, map, standardise,
validate, match, survive, history, match keys, outbox — in batches, inside an isolated
copy of the configured database. With --vs-splink it also runs Splink 5 (DuckDB)
deduplication of the same records in the same run, as the reference.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from mdm.core.stats import isolated_database, percentile
from mdm.demo.dataset import build_demo_dataset
from mdm.demo.services import demo_source_configure
from mdm.sources.models import SourceRecord
from mdm.sources.services import IncomingRecord, source_records_ingest

COUNTED_TABLES = ["sources.SourceRecord", "sources.HistoricalSourceRecord",
                  "sources.IngestBatch", "sources.RejectedRecord", "golden.Customer",
                  "golden.HistoricalCustomer", "matching.BlockingKey", "publishing.ChangeEvent"]


class Command(BaseCommand):
    help = "Benchmark ingestion through the full path; prints one JSON object with --json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--records", type=int, default=10_000)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--vs-splink", action="store_true",
                            help="also time Splink 5 deduplicating the same records")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        with isolated_database():
            records = _customer_records(options["records"], options["seed"])
            report = _run(records, options["batch_size"])
            if options["vs_splink"]:
                from mdm.matching.splink_reference import splink_dedupe

                rows = list(SourceRecord.objects.filter(status="active")
                            .values_list("id", "attributes"))
                report["splink"] = splink_dedupe(rows)
                report["wall_s_ratio_vs_splink"] = round(
                    report["wall_s"] / report["splink"]["wall_s"], 3)
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            for key, value in report.items():
                self.stdout.write(f"{key}: {value}")


def _customer_records(count: int, seed: int) -> list[tuple[str, IncomingRecord]]:
    """Exactly ``count`` customer records from the demo generator, in arrival order."""
    dataset = build_demo_dataset(seed=seed, customers=max(4, math.ceil(count / 1.75)),
                                 products=2, contracts=1)
    customers = [r for r in dataset.records if r.domain == "customer"]
    if len(customers) < count:
        raise SystemExit(f"generator produced only {len(customers)} customer records")
    for spec in dataset.sources:
        demo_source_configure(spec=spec)
    return [(r.source, IncomingRecord(source_key=r.source_key, domain="customer",
                                      fields=r.fields, source_updated_at=r.source_updated_at))
            for r in customers[:count]]


def _run(records: list[tuple[str, IncomingRecord]], batch_size: int) -> dict[str, Any]:
    from mdm.sources.models import SourceSystem

    sources = {s.code: s for s in SourceSystem.objects.all()}
    batches: list[tuple[str, list[IncomingRecord]]] = []
    for code, record in records:
        if not batches or batches[-1][0] != code or len(batches[-1][1]) >= batch_size:
            batches.append((code, []))
        batches[-1][1].append(record)
    timings, outcomes = [], {}
    started = time.perf_counter()
    for code, batch in batches:
        t0 = time.perf_counter()
        result = source_records_ingest(source=sources[code], records=batch, origin="bench")
        timings.append((time.perf_counter() - t0) * 1000)
        for outcome, n in result.counts.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    wall = time.perf_counter() - started
    rows = sum(apps.get_model(label).objects.count() for label in COUNTED_TABLES)
    return {
        "records": len(records), "path": "service (source_records_ingest)",
        "database": connection.vendor, "batch_size": batch_size, "batches": len(batches),
        "wall_s": round(wall, 3), "records_per_s": round(len(records) / wall, 1),
        "batch_p50_ms": round(percentile(timings, 0.5), 1),
        "batch_p95_ms": round(percentile(timings, 0.95), 1),
        "db_rows_per_record": round(rows / len(records), 2), "outcomes": outcomes,
    }
