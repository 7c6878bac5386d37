"""Writes for the land / map / validate stages. ``source_records_ingest`` is the one way in.

Every path (REST, file import, pull connectors, re-processing) ends here. A batch is
processed set-wise per domain: load what exists, map and validate in Python, then write
source records, their history, match keys, golden records and outbox events in bulk,
all in one transaction.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from connectors import ConnectorError, get_connector
from connectors.base import FeedRow
from connectors.feed_files import detect_format, read_feed
from mdm.core.bulk import bulk_save_with_history
from mdm.core.domains import DOMAINS
from mdm.core.errors import MDMError, PayloadTooLarge, ValidationFailed
from mdm.core.locks import domain_write_lock
from mdm.core.middleware import current_request_id
from mdm.golden.selectors import golden_versions
from mdm.golden.services import golden_records_merge, golden_records_survive
from mdm.matching.services import (
    MatchInput,
    blocking_keys_repoint,
    match_plan,
    match_plan_apply,
)
from mdm.sources.mapping import MappedRecord, MappingConfig, is_empty, map_record, reason
from mdm.sources.models import (
    FeedUpload,
    IngestBatch,
    RejectedRecord,
    SourceRecord,
    SourceSystem,
)
from mdm.sources.standardisers import StandardisationError, standardise
from mdm.sources.validation import RuleSet

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
DELETED, STALE, QUARANTINED = "deleted", "stale", "quarantined"
DOMAIN_ORDER = tuple(DOMAINS)  # customer, product, contract: references point backwards

logger = logging.getLogger(__name__)


@dataclass
class IncomingRecord:
    """One record as a source sent it: its key, its own fields, its business time."""

    source_key: str
    domain: str
    fields: dict[str, Any]
    source_updated_at: Any = None
    deleted: bool = False
    base_version: int | None = None
    line: int | None = None


@dataclass
class RecordOutcome:
    """What happened to one incoming record, as the API and CLI report it."""

    source_key: str
    domain: str
    outcome: str
    golden_id: uuid.UUID | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, Any] = field(default_factory=dict)
    ignored_fields: list[str] = field(default_factory=list)
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source_key": self.source_key, "domain": self.domain,
                                "outcome": self.outcome,
                                "golden_id": str(self.golden_id) if self.golden_id else None}
        for name in ("reasons", "refused", "ignored_fields", "line"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data


@dataclass
class IngestResult:
    batch: IngestBatch
    outcomes: list[RecordOutcome]

    @property
    def counts(self) -> dict[str, int]:
        return count_outcomes(self.outcomes)


def count_outcomes(outcomes: Iterable[RecordOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return counts


# --- credentials -----------------------------------------------------------------------

def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def source_system_rotate_key(*, source: SourceSystem) -> str:
    """Give the source a new API key; returns it (only its hash is stored)."""
    raw_key = f"src_{source.code}_{secrets.token_urlsafe(32)}"
    source.api_key_hash = api_key_hash(raw_key)
    source.api_key_prefix = raw_key[: len(source.code) + 8]
    source.save(update_fields=["api_key_hash", "api_key_prefix"])
    return raw_key


# --- batches ---------------------------------------------------------------------------

def ingest_batch_start(*, source: SourceSystem, channel: str, origin: str = "",
                       actor: Any = None) -> IngestBatch:
    """Open a batch that one or more ingest calls (e.g. a file's chunks) report into."""
    return IngestBatch.objects.create(
        source=source, channel=channel, origin=origin[:500], request_id=current_request_id(),
        user=actor if getattr(actor, "is_authenticated", False) else None)


def ingest_batch_finish(*, batch: IngestBatch, counts: dict[str, int]) -> IngestBatch:
    batch.counts = counts
    batch.finished_at = timezone.now()
    batch.save(update_fields=["counts", "finished_at"])
    return batch


def records_reject(*, source: SourceSystem | None, batch: IngestBatch | None,
                   rejected: Iterable[tuple[str, str, int | None, str, list[dict]]]) -> int:
    """Keep input that cannot become a source record: (domain, key, line, raw, reasons)."""
    rows = [RejectedRecord(batch=batch, source=source, domain=domain, source_key=key[:200],
                           line=line, raw=raw, reasons=reasons)
            for domain, key, line, raw, reasons in rejected]
    RejectedRecord.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


# --- ingestion -------------------------------------------------------------------------

def source_records_ingest(*, source: SourceSystem, records: Sequence[IncomingRecord],
                          channel: str = IngestBatch.Channel.API, origin: str = "",
                          batch: IngestBatch | None = None, actor: Any = None,
                          reprocess: bool = False) -> IngestResult:
    """Land, map, validate, match and survive a batch of one source's records.

    Re-sending identical records changes nothing (``unchanged``). A record older than the
    stored version is kept as rejected (``stale``). A record failing mapping or validation
    is kept quarantined with every reason. ``reprocess`` re-runs stored records even if
    their content did not change.
    """
    unknown = sorted({r.domain for r in records} - set(DOMAINS))
    if unknown:
        raise ValidationFailed(f"unknown domain {unknown[0]!r}",
                               fields={"domain": [f"must be one of {sorted(DOMAINS)}"]})
    with transaction.atomic():
        finish = batch is None
        batch = batch or ingest_batch_start(source=source, channel=channel, origin=origin,
                                            actor=actor)
        outcomes: dict[int, RecordOutcome] = {}
        for domain in DOMAIN_ORDER:  # the advisory locks are always taken in this order
            items = [(i, r) for i, r in enumerate(records) if r.domain == domain]
            if items:
                outcomes.update(_DomainIngest(source, domain, batch, actor, reprocess).run(items))
        result = IngestResult(batch=batch, outcomes=[outcomes[i] for i in range(len(records))])
        if finish:
            ingest_batch_finish(batch=batch, counts=result.counts)
    return result


class _Prepared(NamedTuple):
    """A record after hashing and mapping, before anything is written."""

    kind: str  # unchanged, stale, deleted or mapped
    content_hash: str
    updated_at: datetime | None = None
    mapped: MappedRecord | None = None
    problems: list[dict[str, Any]] = []


class _DomainIngest:
    """One domain's share of a batch, processed set-wise inside one transaction."""

    def __init__(self, source: SourceSystem, domain: str, batch: IngestBatch, actor: Any,
                 reprocess: bool) -> None:
        self.source, self.domain, self.batch, self.actor = source, domain, batch, actor
        self.reprocess = reprocess
        self.config = MappingConfig.load(source, domain)
        self.now = timezone.now()
        self.skip_fields = frozenset(
            f for f in (source.record_key_fields.get(domain), source.updated_at_fields.get(domain))
            if f)

    def run(self, items: list[tuple[int, IncomingRecord]]) -> dict[int, RecordOutcome]:
        # One batch of a domain at a time: two batches cannot both create a golden
        # record for the same identifier.
        domain_write_lock(self.domain)
        existing = {r.source_key: r for r in SourceRecord.objects.select_for_update().filter(
            source=self.source, domain=self.domain,
            source_key__in=[str(r.source_key) for _, r in items])}
        outcomes: dict[int, RecordOutcome] = {}
        latest = self._latest_per_key(items, outcomes)
        prepared = {i: self._prepare(r, existing.get(r.source_key)) for i, r in latest}
        rules = RuleSet.load(self.source, self.domain,
                             [p.mapped.attributes for p in prepared.values() if p.mapped])
        self.golden_versions = golden_versions(
            domain=self.domain, golden_ids=[existing[r.source_key].golden_id for _, r in latest
                                            if r.base_version is not None
                                            and r.source_key in existing])
        changed = self._apply(latest, prepared, existing, rules, outcomes)
        self._write(changed, outcomes)
        return outcomes

    # -- steps ---------------------------------------------------------------------

    def _latest_per_key(self, items: list[tuple[int, IncomingRecord]],
                        outcomes: dict[int, RecordOutcome]) -> list[tuple[int, IncomingRecord]]:
        """Keep the last record per key; earlier ones in the same batch are superseded."""
        last: dict[str, int] = {}
        for position, (_, record) in enumerate(items):
            record.source_key = str(record.source_key).strip()
            last[record.source_key] = position
        kept, superseded = [], []
        for position, (index, record) in enumerate(items):
            if last[record.source_key] == position:
                kept.append((index, record))
            else:
                superseded.append((index, record))
        for index, record in superseded:
            outcomes[index] = RecordOutcome(
                record.source_key, self.domain, STALE, line=record.line,
                reasons=[reason("source_key", "superseded by a later record with the same key "
                                "in this batch")])
        self._reject([(r, outcomes[i].reasons) for i, r in superseded])
        return kept

    def _prepare(self, record: IncomingRecord, current: SourceRecord | None) -> _Prepared:
        """Hash, business time, stale check and mapping of one record (no writes)."""
        content_hash = _content_hash(record)
        if current and current.content_hash == content_hash and not self.reprocess:
            return _Prepared(UNCHANGED, content_hash)
        updated_at, problems = self._business_time(record)
        if current and current.source_updated_at and updated_at and \
                updated_at < current.source_updated_at and not self.reprocess:
            return _Prepared(STALE, content_hash, updated_at, problems=[reason(
                "source_updated_at", f"older than the stored version "
                f"({current.source_updated_at.isoformat()}); not applied")])
        if record.deleted:
            return _Prepared(DELETED, content_hash, updated_at, problems=problems)
        mapped = map_record(self.config, record.fields, self.skip_fields)
        return _Prepared("mapped", content_hash, updated_at, mapped, problems)

    def _business_time(self, record: IncomingRecord) -> tuple[datetime | None, list[dict]]:
        raw = record.source_updated_at
        if is_empty(raw):
            return None, []
        try:
            return datetime.fromisoformat(standardise("datetime", raw, {})), []
        except (StandardisationError, ValueError) as exc:
            return None, [reason("source_updated_at", str(exc), value=raw)]

    def _apply(self, latest: list[tuple[int, IncomingRecord]], prepared: dict[int, _Prepared],
               existing: dict[str, SourceRecord], rules: RuleSet,
               outcomes: dict[int, RecordOutcome]) -> dict[int, SourceRecord]:
        """Decide each record's new state in memory; return the records to write."""
        changed: dict[int, SourceRecord] = {}
        stale: list[tuple[IncomingRecord, list[dict]]] = []
        for index, record in latest:
            prep = prepared[index]
            current = existing.get(record.source_key)
            outcome = RecordOutcome(record.source_key, self.domain, prep.kind, line=record.line)
            outcomes[index] = outcome
            if prep.kind == UNCHANGED:
                outcome.golden_id = current.golden_id
                outcome.reasons = list(current.quarantine_reasons)
                continue
            if prep.kind == STALE:
                outcome.golden_id, outcome.reasons = current.golden_id, prep.problems
                stale.append((record, prep.problems))
                continue
            target = current or SourceRecord(source=self.source, domain=self.domain,
                                             source_key=record.source_key)
            target.raw_payload = _raw_text(record.fields)
            target.content_hash = prep.content_hash
            target.received_at = self.now
            target.batch = self.batch
            target.base_version = record.base_version
            target.source_updated_at = prep.updated_at or (current.source_updated_at if current
                                                           else None)
            changed[index] = target
            if prep.kind == DELETED:
                target.status = SourceRecord.Status.DELETED
                continue
            mapped = prep.mapped
            reasons = prep.problems + mapped.reasons + rules.check(mapped.attributes)
            concurrent = self._stale_base(record, current)
            if concurrent:
                reasons.append(concurrent)
            outcome.refused, outcome.ignored_fields = mapped.refused, mapped.ignored_fields
            target.refused_values = mapped.refused
            if reasons:
                target.status = SourceRecord.Status.QUARANTINED
                target.quarantine_reasons = reasons
                outcome.outcome, outcome.reasons = QUARANTINED, reasons
            else:
                target.status = SourceRecord.Status.ACTIVE
                target.quarantine_reasons = []
                target.attributes = mapped.attributes
                outcome.outcome = UPDATED if current else CREATED
        self._reject(stale)
        return changed

    def _stale_base(self, record: IncomingRecord, current: SourceRecord | None) -> dict | None:
        """A writer that based its change on an older golden version is not applied."""
        if record.base_version is None or current is None or current.golden_id is None:
            return None
        version = self.golden_versions.get(current.golden_id)
        if version is None or version <= record.base_version:
            return None
        return reason("base_version", f"based on golden version {record.base_version}, but "
                      f"the golden record is at version {version}: a concurrent write",
                      value=record.base_version)

    def _write(self, changed: dict[int, SourceRecord], outcomes: dict[int, RecordOutcome]) -> None:
        """Match, store with history, index, survive, merge: the set-wise writes."""
        previous_golden = {i: r.golden_id for i, r in changed.items()}
        active = {i: r for i, r in changed.items() if r.status == SourceRecord.Status.ACTIVE}
        plan = match_plan(domain=self.domain, records=[
            MatchInput(i, r.pk, r.attributes, r.golden_id) for i, r in active.items()])
        for i, record in active.items():
            record.golden_id = plan.assigned[i]
        new = [r for r in changed.values() if r.pk is None]
        old = [r for r in changed.values() if r.pk is not None]
        user = self.actor if getattr(self.actor, "pk", None) else None
        bulk_save_with_history(SourceRecord, created=new, updated=old,
                               update_fields=_RECORD_FIELDS, user=user,
                               reason=f"{self.batch.channel} batch {self.batch.pk}")
        match_plan_apply(plan=plan, record_ids={i: r.pk for i, r in active.items()},
                         unindexed=[r.pk for r in changed.values()
                                    if r.status == SourceRecord.Status.DELETED], actor=user)
        affected = {r.golden_id for r in changed.values() if r.golden_id}
        affected |= {g for g in previous_golden.values() if g}
        joined = [r.pk for i, r in changed.items() if r.golden_id != previous_golden[i]]
        if affected:
            golden_records_survive(domain=self.domain, golden_ids=affected,
                                   origin_source=self.source.code, actor=user, caused_at=self.now,
                                   joined=joined)
        for survivor, merged in plan.merges:
            golden_records_merge(domain=self.domain, survivor_id=survivor, merged_ids=merged,
                                 actor=user, reason=f"matched by {self.source.code} batch "
                                 f"{self.batch.pk} (rule v{plan.model.version})")
        for i, record in changed.items():
            outcomes[i].golden_id = record.golden_id
        self._record_conflicts(changed, outcomes)

    def _record_conflicts(self, changed: dict[int, SourceRecord],
                          outcomes: dict[int, RecordOutcome]) -> None:
        """Bad input and refused writes become conflicts stewards see (quarantine keeps
        the record itself)."""
        from mdm.stewardship.models import ConflictKind
        from mdm.stewardship.services import conflicts_record

        conflicts: list[dict[str, Any]] = []
        for i, record in changed.items():
            origin = {"source": self.source.code, "source_key": record.source_key,
                      "record": record.pk}
            for attribute, refused in (outcomes[i].refused or {}).items():
                conflicts.append({"kind": ConflictKind.PERMISSION, "domain": self.domain,
                                  "attribute": attribute, "golden_id": record.golden_id,
                                  "candidates_": [{"value": refused["value"], **origin}],
                                  "detail": refused["reason"]})
            if outcomes[i].outcome != QUARANTINED:
                continue
            reasons = record.quarantine_reasons
            concurrent = any(r["attribute"] == "base_version" for r in reasons)
            conflicts.append({
                "kind": ConflictKind.CONCURRENT_WRITE if concurrent else ConflictKind.VALIDATION,
                "domain": self.domain, "attribute": reasons[0]["attribute"],
                "golden_id": record.golden_id,
                "candidates_": [{"value": r.get("value"), **origin} for r in reasons],
                "detail": "; ".join(r["message"] for r in reasons)})
        conflicts_record(conflicts=conflicts)

    def _reject(self, records: list[tuple[IncomingRecord, list[dict]]]) -> None:
        records_reject(source=self.source, batch=self.batch, rejected=[
            (self.domain, r.source_key, r.line, _raw_text(r.fields), reasons)
            for r, reasons in records])


_RECORD_FIELDS = ["golden_id", "raw_payload", "attributes", "source_updated_at", "received_at",
                  "content_hash", "status", "quarantine_reasons", "refused_values",
                  "base_version", "batch"]


def _raw_text(value: Any) -> str:
    """JSON text of a record's fields as received: key order kept, and numbers parsed as
    ``Decimal`` written back with their original digits (1250000.00 stays 1250000.00)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {_raw_text(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_raw_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)


def _content_hash(record: IncomingRecord) -> str:
    payload = json.dumps([record.fields, str(record.source_updated_at), record.deleted],
                         ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


# --- feeds (files and pull connectors) ----------------------------------------------

@dataclass
class FeedSummary:
    """The result of ingesting a feed: counts and every problem, by line."""

    batch: IngestBatch
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def add(self, outcome: str, problem: dict[str, Any] | None = None) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if problem:
            self.problems.append(problem)


def source_feed_ingest(*, source: SourceSystem, domain: str, rows: Iterable[FeedRow],
                       channel: str, origin: str = "", actor: Any = None, chunk_size: int = 500,
                       on_progress: Callable[[int], None] | None = None) -> FeedSummary:
    """Ingest a stream of feed rows (CSV/JSONL lines, pulled records) in chunks.

    Unparseable rows and rows without a key are kept as rejected with their line number;
    the good rows go through ``source_records_ingest`` in chunks of ``chunk_size``.
    """
    if domain not in DOMAINS:
        raise ValidationFailed(f"unknown domain {domain!r}",
                               fields={"domain": [f"must be one of {sorted(DOMAINS)}"]})
    key_field = source.key_field(domain)
    updated_field = source.updated_at_fields.get(domain) or "source_updated_at"
    batch = ingest_batch_start(source=source, channel=channel, origin=origin, actor=actor)
    summary = FeedSummary(batch=batch)
    chunk: list[IncomingRecord] = []
    for row in rows:
        record, problem = _incoming_from_row(row, domain, key_field, updated_field)
        if record is None:
            records_reject(source=source, batch=batch, rejected=[
                (domain, "", row.line, row.raw, [reason("", problem)])])
            summary.add("rejected", {"line": row.line, "message": problem})
        else:
            chunk.append(record)
        if len(chunk) >= chunk_size:
            _ingest_chunk(source, chunk, batch, actor, summary, on_progress)
            chunk = []
        elif record is None and on_progress:
            on_progress(1)
    if chunk:
        _ingest_chunk(source, chunk, batch, actor, summary, on_progress)
    ingest_batch_finish(batch=batch, counts=summary.counts)
    return summary


def _incoming_from_row(row: FeedRow, domain: str, key_field: str,
                       updated_field: str) -> tuple[IncomingRecord | None, str]:
    if row.error or row.data is None:
        return None, row.error or "unreadable line"
    key = row.data.get(key_field)
    if is_empty(key):
        return None, f"line {row.line}: no record key in field '{key_field}'"
    deleted = str(row.data.get("_deleted", "")).strip().lower() in {"1", "true", "yes"}
    return IncomingRecord(source_key=str(key).strip(), domain=domain, fields=row.data,
                          source_updated_at=row.data.get(updated_field), deleted=deleted,
                          line=row.line), ""


def _ingest_chunk(source: SourceSystem, chunk: list[IncomingRecord], batch: IngestBatch,
                  actor: Any, summary: FeedSummary,
                  on_progress: Callable[[int], None] | None) -> None:
    result = source_records_ingest(source=source, records=chunk, batch=batch, actor=actor)
    for outcome in result.outcomes:
        problem = None
        if outcome.reasons and outcome.outcome in (QUARANTINED, STALE):
            messages = "; ".join(f"{r.get('field') or r['attribute']}: {r['message']}"
                                 for r in outcome.reasons)
            problem = {"line": outcome.line, "source_key": outcome.source_key,
                       "outcome": outcome.outcome, "message": messages}
        summary.add(outcome.outcome, problem)
    if on_progress:
        on_progress(len(chunk))


# --- re-processing ---------------------------------------------------------------------

def source_records_reprocess(*, record_ids: Iterable[int], actor: Any = None) -> list[IngestResult]:
    """Run stored records (usually quarantined ones) through mapping and validation again,
    after the mapping or a rule was fixed. Returns one result per source system."""
    records = SourceRecord.objects.filter(pk__in=list(record_ids)).select_related("source")
    by_source: dict[SourceSystem, list[IncomingRecord]] = {}
    for record in records:
        updated_field = record.source.updated_at_fields.get(record.domain) or ""
        fields = json.loads(record.raw_payload, parse_float=Decimal)
        by_source.setdefault(record.source, []).append(IncomingRecord(
            source_key=record.source_key, domain=record.domain, fields=fields,
            source_updated_at=record.source_updated_at or fields.get(updated_field),
            deleted=record.status == SourceRecord.Status.DELETED,
            base_version=record.base_version))
    return [source_records_ingest(source=source, records=items, actor=actor, reprocess=True,
                                  channel=IngestBatch.Channel.REPROCESS)
            for source, items in by_source.items()]


# --- pull connectors -------------------------------------------------------------------

class ConnectorFailed(MDMError):
    status = 502
    code = "connector_failed"


def source_pull(*, source: SourceSystem, from_start: bool = False) -> FeedSummary:
    """Pull what changed since the stored cursor through the source's connector.

    The cursor moves only after every pulled row was ingested, so a failed pull is simply
    repeated next time (re-sent records come back ``unchanged``).
    """
    if not source.connector or not source.connector_domain:
        raise ValidationFailed(f"source {source.code} has no pull connector and domain set",
                               fields={"connector": ["required for pulling"]})
    try:
        connector = get_connector(source.connector, source.connector_config)
        fetched = connector.fetch_changes(None if from_start else (source.pull_cursor or None))
        summary = source_feed_ingest(source=source, domain=source.connector_domain,
                                     rows=fetched.rows, channel=IngestBatch.Channel.PULL,
                                     origin=fetched.origin)
    except ConnectorError as exc:
        source.last_pull_error = str(exc)[:2000]
        source.save(update_fields=["last_pull_error"])
        raise ConnectorFailed(f"pull from {source.code} failed: {exc}") from exc
    source.pull_cursor = fetched.cursor or source.pull_cursor
    source.last_pulled_at = timezone.now()
    source.last_pull_error = ""
    source.save(update_fields=["pull_cursor", "last_pulled_at", "last_pull_error"])
    return summary


# --- relinking (merge / unmerge) -------------------------------------------------------

@transaction.atomic
def source_records_relink(*, domain: str, record_ids: Sequence[int], golden_id: uuid.UUID,
                          actor: Any = None, reason: str = "") -> int:
    """Point source records at another golden record (with history), and their match
    keys with them. Used by merge and unmerge; survivorship is the caller's next step."""
    records = list(SourceRecord.objects.select_for_update().filter(pk__in=list(record_ids),
                                                                   domain=domain))
    for record in records:
        record.golden_id = golden_id
    user = actor if getattr(actor, "pk", None) else None
    bulk_save_with_history(SourceRecord, updated=records, update_fields=["golden_id"],
                           user=user, reason=reason)
    blocking_keys_repoint(record_ids=[r.pk for r in records], golden_id=golden_id)
    return len(records)


# --- feed files uploaded in the web interface -----------------------------------------

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
KEPT_PROBLEMS = 500  # per upload; the rest stay in RejectedRecord / quarantine
_PEEK_ROWS = 20


def feed_upload_receive(*, source: SourceSystem | None, domain: str, file_name: str,
                        size: int, stream: Any, actor: Any = None) -> FeedUpload:
    """Keep an uploaded feed file and queue its import (after commit).

    A request that cannot be a feed (no source, unknown domain, empty, too large, an
    extension that is neither CSV nor JSON Lines) raises and nothing is stored. A file
    that is kept but cannot be imported at all (bad CSV header, no readable record, no
    key column) is stored as failed, then raises: nothing received is lost.
    """
    fmt = _check_upload(source=source, domain=domain, file_name=file_name, size=size)
    content = stream.read(MAX_UPLOAD_BYTES + 1)
    if not content.strip():
        raise ValidationFailed(gettext("The file “%(name)s” is empty.") % {"name": file_name},
                               fields={"file": ["empty"]})
    if len(content) > MAX_UPLOAD_BYTES:
        raise _too_large(file_name)
    with transaction.atomic():
        upload = FeedUpload.objects.create(
            source=source, domain=domain, file_name=file_name[:255], format=fmt,
            content=content, size=len(content), request_id=current_request_id(),
            user=actor if getattr(actor, "is_authenticated", False) else None)
        problem = _unreadable(upload, source)
        if problem:
            upload.status, upload.error = FeedUpload.Status.FAILED, problem
            upload.finished_at = timezone.now()
            upload.save(update_fields=["status", "error", "finished_at"])
        else:
            from mdm.sources.tasks import process_feed_upload

            transaction.on_commit(lambda: process_feed_upload.delay(upload.pk), robust=True)
    if problem:
        raise ValidationFailed(problem, fields={"file": [problem]})
    return upload


def _check_upload(*, source: SourceSystem | None, domain: str, file_name: str,
                  size: int) -> str:
    if source is None or not source.is_source:
        raise ValidationFailed(gettext("Choose a source system that sends records."),
                               fields={"source": ["unknown"]})
    if domain not in DOMAINS:
        raise ValidationFailed(gettext("Choose a domain."), fields={"domain": ["unknown"]})
    if not file_name:
        raise ValidationFailed(gettext("Choose a file to upload."), fields={"file": ["required"]})
    try:
        fmt = detect_format(file_name)
    except ConnectorError:
        raise ValidationFailed(
            gettext("“%(name)s” is not a CSV or JSON Lines file: the name must end in .csv, .tsv, "
              ".txt, .jsonl, .ndjson or .json.") % {"name": file_name},
            fields={"file": ["format"]}) from None
    if size > MAX_UPLOAD_BYTES:
        raise _too_large(file_name)
    return fmt


def _too_large(file_name: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        gettext("“%(name)s” is larger than %(limit)d MB: split it, or import it with the "
          "import_feed command.") % {"name": file_name, "limit": MAX_UPLOAD_BYTES // 2**20},
        fields={"file": ["too large"]})


def _unreadable(upload: FeedUpload, source: SourceSystem) -> str:
    """Why a stored upload cannot be imported at all ("" when it can be)."""
    rows = list(itertools.islice(read_feed(bytes(upload.content), fmt=upload.format),
                                 _PEEK_ROWS))
    if not rows:
        return gettext("The file “%(name)s” holds no records.") % {"name": upload.file_name}
    parsed = [row for row in rows if row.data is not None]
    if not parsed:
        return gettext("No readable record in “%(name)s” (is it really %(format)s?): %(error)s") % {
            "name": upload.file_name, "format": upload.format.upper(), "error": rows[0].error}
    key_field = source.key_field(upload.domain)
    if upload.format == "csv" and key_field not in parsed[0].data:
        return gettext("“%(name)s” has no column “%(key)s”, which holds the record key of "
                 "%(source)s %(domain)s records.") % {
            "name": upload.file_name, "key": key_field, "source": source.code,
            "domain": upload.domain}
    return ""


class _Progress:
    """Counts rows done; writes the count after every chunk, and for single rejected rows
    (reported one by one) at most every ``every_seconds``."""

    def __init__(self, upload_id: int, every_seconds: float = 0.2) -> None:
        self.upload_id, self.every = upload_id, every_seconds
        self.done, self.written_at = 0, 0.0

    def __call__(self, rows: int) -> None:
        self.done += rows
        if rows > 1 or time.monotonic() - self.written_at >= self.every:
            self.write()

    def write(self) -> None:
        FeedUpload.objects.filter(pk=self.upload_id).update(rows_done=self.done)
        self.written_at = time.monotonic()


def upload_chunk_rows(total: int) -> int:
    """Rows per ingest transaction: about twenty progress steps, 20 to 500 rows each."""
    return max(20, min(500, total // 20))


def feed_upload_process(*, upload_id: int) -> FeedUpload:
    """Import a stored upload through ``source_feed_ingest``, recording progress.

    Not one transaction on purpose: each chunk commits (as with ``import_feed``) so the
    progress is visible while it runs. Run again after a crash, it starts over; records
    already imported come back ``unchanged``.
    """
    upload = FeedUpload.objects.select_related("source", "user").get(pk=upload_id)
    if upload.finished:
        return upload
    content = bytes(upload.content)
    total = sum(1 for _row in read_feed(content, fmt=upload.format))
    FeedUpload.objects.filter(pk=upload.pk).update(
        status=FeedUpload.Status.RUNNING, started_at=timezone.now(), rows_total=total,
        rows_done=0)
    progress = _Progress(upload.pk)
    try:
        summary = source_feed_ingest(
            source=upload.source, domain=upload.domain, rows=read_feed(content, fmt=upload.format),
            channel=IngestBatch.Channel.FILE, origin=f"upload {upload.pk}: {upload.file_name}",
            actor=upload.user, chunk_size=upload_chunk_rows(total), on_progress=progress)
    except Exception as exc:
        logger.exception("import of upload %s failed", upload.pk)
        message = exc.message if isinstance(exc, MDMError) else str(exc)
        return _upload_finish(upload, status=FeedUpload.Status.FAILED, rows_done=progress.done,
                              error=gettext("The import stopped: %(error)s") % {"error": message})
    return _upload_finish(upload, status=FeedUpload.Status.DONE, rows_done=total,
                          counts=summary.counts, problems=sorted(
                              summary.problems, key=lambda p: p.get("line") or 0)[:KEPT_PROBLEMS],
                          problems_total=len(summary.problems), batch=summary.batch)


@transaction.atomic
def _upload_finish(upload: FeedUpload, **fields: Any) -> FeedUpload:
    for name, value in fields.items():
        setattr(upload, name, value)
    upload.finished_at = timezone.now()
    upload.save(update_fields=[*fields, "finished_at"])
    return upload
