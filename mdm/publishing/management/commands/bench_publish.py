"""python manage.py bench_publish --events N --json

Benchmarks the publishing stage with its real moving parts: a Celery worker subprocess
(solo pool) that this command starts and stops, Redis as the broker, PostgreSQL (a fresh,
migrated copy of the configured database) and a local webhook receiver — a
ThreadingHTTPServer inside this process on 127.0.0.1 that timestamps every arrival and
verifies every Standard Webhooks signature with the ``standardwebhooks`` library.

1. No-op reference: N sequential round trips (one in flight) of
   ``mdm.publishing.bench_tasks.noop``, from ``apply_async`` until its HTTP callback
   reaches the receiver — broker pickup plus one outbound POST, observed the same way as
   the webhooks.
2. Real time: N times, one new customer record ingested in its own transaction; lag from
   its commit to the arrival of its webhook (outbox → on_commit ``dispatch_outbox`` →
   fan-out, which takes the send lease → signed POST from the same task).
3. Batched: N records ingested while an interval subscription (batch size 500) is not
   due; its fan-out is triggered and timed, then its sender, until all N events arrived.

The worker imports the no-op task because it is started with
``--include mdm.publishing.bench_tasks`` (autodiscovery only imports ``tasks.py``); this
process imports the same module to send it.

Broker: ``--broker``, else ``CELERY_BROKER_URL``, else ``redis://127.0.0.1:6379/13``; it is
set on this process's Celery app (and eager execution switched off) and passed to the
worker. The worker starts with ``--purge``: give the benchmark a Redis database of its own.
A broker is required — without one tasks would run in-process and there would be nothing
to measure. PostgreSQL is required too: the worker must see the isolated database.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from kombu import Connection
from kombu.utils.url import maybe_sanitize_url
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from mdm.celery import app as celery_app
from mdm.core.stats import isolated_database, percentile
from mdm.publishing import bench_tasks
from mdm.publishing.models import ChangeEvent, Delivery, Subscription
from mdm.publishing.services import FAN_OUT_CHUNK
from mdm.publishing.tasks import dispatch_outbox, send_subscription
from mdm.sources.models import FieldMapping, SourceSystem
from mdm.sources.services import IncomingRecord, source_records_ingest

DEFAULT_BROKER = "redis://127.0.0.1:6379/13"
WORKER_POOL = "solo"
BATCH_SIZE = 500
INGEST_CHUNK = 500
WARMUP = 5
WAIT_S = 30.0


class Command(BaseCommand):
    help = ("Benchmark publishing latency (real time vs a no-op task) and batched throughput "
            "through a real Celery worker; prints one JSON object with --json.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=200,
                            help="events per measurement (default 200)")
        parser.add_argument("--broker", default="",
                            help="broker URL (default: CELERY_BROKER_URL, else "
                                 f"{DEFAULT_BROKER}); use a Redis database of its own")
        parser.add_argument("--worker-log", default="",
                            help="keep the worker's log (loglevel INFO) in this file")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        events = options["events"]
        if events < 2:
            raise CommandError("--events must be at least 2")
        if connection.vendor != "postgresql":
            raise CommandError(
                f"bench_publish needs PostgreSQL (the database is {connection.vendor}): the "
                "worker subprocess must share the benchmark's database. Set DATABASE_URL.")
        broker = options["broker"] or os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER
        _use_broker(broker)
        started = time.perf_counter()
        with isolated_database() as name, _receiver() as receiver, \
                _worker(broker, options["worker_log"]) as worker:
            try:
                report = _run(events, receiver, worker)
            finally:
                worker.stop()
                _wait_for_disconnects(name)
        report.update(wall_s=round(time.perf_counter() - started, 2),
                      broker=maybe_sanitize_url(broker))
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            for key, value in report.items():
                self.stdout.write(f"{key}: {value}")


# --- broker and worker -----------------------------------------------------------------

def _use_broker(broker: str) -> None:
    """Send this process's tasks to ``broker`` (even if settings made them eager)."""
    try:
        with Connection(broker, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        raise CommandError(
            f"bench_publish needs a reachable Celery broker (Redis); {maybe_sanitize_url(broker)}"
            f" failed ({exc}). Start Redis or pass --broker / CELERY_BROKER_URL.") from exc
    celery_app.conf.broker_url = broker
    celery_app.conf.task_always_eager = False


def _database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="") + \
        (f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class _Worker:
    def __init__(self, process: subprocess.Popen, log_path: Path) -> None:
        self.process, self.log_path = process, log_path

    def check(self) -> None:
        if self.process.poll() is not None:
            raise CommandError(f"the Celery worker exited ({self.process.returncode}):\n"
                               f"{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def _worker(broker: str, log_file: str) -> Iterator[_Worker]:
    """A worker on the isolated database (call inside ``isolated_database``)."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": broker}
    with tempfile.TemporaryDirectory(prefix="bench_publish_") as tmp:
        log_path = Path(log_file) if log_file else Path(tmp) / "worker.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "mdm", "worker", f"--pool={WORKER_POOL}",
                 "--purge", "--include", bench_tasks.__name__, "--without-gossip",
                 "--without-mingle", "--without-heartbeat",
                 f"--loglevel={'INFO' if log_file else 'WARNING'}",
                 "-n", f"bench_publish_{os.getpid()}@%h"],
                cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
            worker = _Worker(process, log_path)
            try:
                yield worker
            finally:
                worker.stop()


def _wait_for_disconnects(name: str, timeout: float = 15.0) -> None:
    """Let the worker's database sessions end, so the isolated database can be dropped."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                           "AND pid <> pg_backend_pid()", [name])
            if not cursor.fetchone()[0]:
                return
            time.sleep(0.1)


# --- the receiver ----------------------------------------------------------------------

class _Receiver:
    """Arrival times (``time.perf_counter``) of webhooks by webhook-id, CloudEvents id and
    golden id, and of no-op callbacks by token."""

    def __init__(self) -> None:
        self.url = ""
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        self.verifier = Webhook(self.secret)
        self.changed = threading.Condition()
        self.noops: dict[str, float] = {}
        self.events: dict[str, float] = {}
        self.goldens: dict[str, float] = {}
        self.webhook_ids: dict[str, float] = {}
        self.requests = 0
        self.bad_signatures = 0

    def hook(self, at: float, body: str, headers: dict[str, str]) -> bool:
        try:
            payload = self.verifier.verify(body, headers)
        except WebhookVerificationError:
            with self.changed:
                self.bad_signatures += 1
            return False
        events = payload if isinstance(payload, list) else [payload]
        with self.changed:
            self.requests += 1
            self.webhook_ids.setdefault(headers.get("webhook-id", ""), at)
            for event in events:
                self.events.setdefault(event["id"], at)
                self.goldens.setdefault(event["data"]["golden_id"], at)
            self.changed.notify_all()
        return True

    def noop(self, at: float, token: str) -> None:
        with self.changed:
            self.noops[token] = at
            self.changed.notify_all()

    def wait(self, ready: Callable[[], bool], what: str, worker: _Worker,
             timeout: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CommandError(f"timed out after {timeout:.0f}s waiting for {what}; "
                                       f"worker log:\n{worker.log_tail()}")
                self.changed.wait(min(left, 1.0))
                worker.check()


@contextmanager
def _receiver() -> Iterator[_Receiver]:
    receiver = _Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real subscriber endpoint

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            at = time.perf_counter()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            status = 200
            if self.path.startswith("/noop/"):
                receiver.noop(at, self.path.removeprefix("/noop/"))
            elif not receiver.hook(at, body, {k.lower(): v for k, v in self.headers.items()}):
                status = 401
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="bench-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# --- the measurements ------------------------------------------------------------------

def _run(events: int, receiver: _Receiver, worker: _Worker) -> dict[str, Any]:
    _wait_until_ready(receiver, worker)
    source, subscriber = _configure()
    records = _records(f"{uuid.uuid4().hex[:8]}")

    for _ in range(WARMUP):
        _noop_round_trip(receiver, worker)
    noop = [_noop_round_trip(receiver, worker) for _ in range(events)]

    realtime_sub = Subscription.objects.create(
        subscriber=subscriber, name="bench-realtime", domains=["customer"],
        mode=Subscription.Mode.REALTIME, transport=Subscription.Transport.WEBHOOK,
        url=f"{receiver.url}/hooks/realtime", secret=receiver.secret)
    for _ in range(WARMUP):
        _realtime_lag(source, next(records), receiver, worker)
    realtime = [_realtime_lag(source, next(records), receiver, worker) for _ in range(events)]
    Subscription.objects.filter(pk=realtime_sub.pk).update(is_active=False)
    _noop_round_trip(receiver, worker)  # the real-time sender's tail has finished

    batched = _batched(source, subscriber, [next(records) for _ in range(events)],
                       receiver, worker)
    noop_p95, realtime_p95 = percentile(noop, 0.95), percentile(realtime, 0.95)
    return {
        "events": events, "worker_pool": WORKER_POOL, "database": connection.vendor,
        "noop_p50_ms": _ms(percentile(noop, 0.5)), "noop_p95_ms": _ms(noop_p95),
        "noop_max_ms": _ms(max(noop)),
        "realtime_p50_ms": _ms(percentile(realtime, 0.5)), "realtime_p95_ms": _ms(realtime_p95),
        "realtime_max_ms": _ms(max(realtime)),
        "p95_ratio": round(realtime_p95 / noop_p95, 2) if noop_p95 else None,
        **batched,
        "webhook_requests": receiver.requests, "signature_failures": receiver.bad_signatures,
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _wait_until_ready(receiver: _Receiver, worker: _Worker, timeout: float = 60.0) -> None:
    """Ping until the worker answers (pings sent before its --purge are lost)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        token = uuid.uuid4().hex
        bench_tasks.noop.apply_async((f"{receiver.url}/noop/{token}",))
        try:
            receiver.wait(lambda: bool(receiver.noops), "the worker", worker, 2.0)
            return
        except CommandError:
            worker.check()
    raise CommandError(f"the Celery worker did not answer within {timeout:.0f}s:\n"
                       f"{worker.log_tail()}")


def _noop_round_trip(receiver: _Receiver, worker: _Worker) -> float:
    token = uuid.uuid4().hex
    sent = time.perf_counter()
    bench_tasks.noop.apply_async((f"{receiver.url}/noop/{token}",))
    receiver.wait(lambda: token in receiver.noops, f"no-op {token}", worker)
    return receiver.noops[token] - sent


def _configure() -> tuple[SourceSystem, SourceSystem]:
    source = SourceSystem.objects.create(code="bench-src", name="Benchmark source")
    for field, attribute in (("name", "name"), ("email", "emails")):
        FieldMapping.objects.create(source=source, domain="customer", source_field=field,
                                    attribute=attribute)
    subscriber = SourceSystem.objects.create(code="bench-sub", name="Benchmark subscriber",
                                             is_source=False, is_subscriber=True)
    return source, subscriber


def _records(run: str) -> Iterator[IncomingRecord]:
    """New customers that share no identifier: each one creates a golden record."""
    i = 0
    while True:
        i += 1
        yield IncomingRecord(source_key=f"B-{i}", domain="customer",
                             fields={"name": f"Bench Customer {run} {i}",
                                     "email": f"bench-{run}-{i}@example.com"})


def _realtime_lag(source: SourceSystem, record: IncomingRecord, receiver: _Receiver,
                  worker: _Worker) -> float:
    committed: list[float] = []
    with transaction.atomic():
        # Registered first, so it runs first after the commit: before dispatch_outbox.delay.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        result = source_records_ingest(source=source, records=[record], origin="bench_publish")
    outcome = result.outcomes[0]
    if outcome.outcome != "created" or outcome.golden_id is None:
        raise CommandError(f"expected a new golden record, got {outcome.as_dict()}")
    golden = str(outcome.golden_id)
    receiver.wait(lambda: golden in receiver.goldens, f"the webhook for {golden}", worker)
    return receiver.goldens[golden] - committed[0]


def _batched(source: SourceSystem, subscriber: SourceSystem, records: list[IncomingRecord],
             receiver: _Receiver, worker: _Worker) -> dict[str, Any]:
    """Ingest while the interval subscription is not due; time its fan-out, then its send."""
    cursor = ChangeEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    subscription = Subscription.objects.create(
        subscriber=subscriber, name="bench-batched", domains=["customer"],
        mode=Subscription.Mode.INTERVAL, interval_minutes=60, batch_size=BATCH_SIZE,
        transport=Subscription.Transport.WEBHOOK, url=f"{receiver.url}/hooks/batched",
        secret=receiver.secret, is_active=False, fanned_out_seq=cursor)
    for start in range(0, len(records), INGEST_CHUNK):
        source_records_ingest(source=source, records=records[start:start + INGEST_CHUNK],
                              origin="bench_publish")
    expected = {str(e) for e in ChangeEvent.objects.filter(seq__gt=cursor)
                .values_list("event_id", flat=True)}
    _noop_round_trip(receiver, worker)  # the ingest's own dispatch tasks have run

    # Fan-out: active but not due (just sent), so dispatch_outbox fans out without sending.
    Subscription.objects.filter(pk=subscription.pk).update(is_active=True,
                                                           last_sent_at=timezone.now())
    started = time.perf_counter()
    for _ in range(-(-len(expected) // FAN_OUT_CHUNK)):
        dispatch_outbox.delay()
    barrier = uuid.uuid4().hex
    bench_tasks.noop.apply_async((f"{receiver.url}/noop/{barrier}",))
    receiver.wait(lambda: barrier in receiver.noops, "the fan-out", worker, 120.0)
    fan_out_s = receiver.noops[barrier] - started
    fanned = Delivery.objects.filter(subscription=subscription).count()
    if fanned != len(expected):
        raise CommandError(f"fan-out made {fanned} deliveries for {len(expected)} events")

    # Send: due now; one trigger, until every event arrived.
    requests_before = receiver.requests
    Subscription.objects.filter(pk=subscription.pk).update(last_sent_at=None)
    started = time.perf_counter()
    send_subscription.delay(subscription.pk)
    receiver.wait(lambda: expected <= receiver.events.keys(), "the batched events", worker,
                  120.0)
    send_s = max(receiver.events[e] for e in expected) - started
    total = len(expected)
    return {
        "batched_events": total, "batch_size": BATCH_SIZE,
        "batched_requests": receiver.requests - requests_before,
        "batched_fan_out_s": round(fan_out_s, 3), "batched_send_s": round(send_s, 3),
        "batched_fan_out_events_per_s": round(total / fan_out_s, 1),
        "batched_send_events_per_s": round(total / send_s, 1),
        "batched_events_per_s": round(total / (fan_out_s + send_s), 1),
    }
