"""The publishing benchmark runs end to end: its own worker, Redis, PostgreSQL and receiver.

Only the report's shape is checked; benchmarks are not timed tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "mdm_benchpub"
BENCH_BROKER = "redis://127.0.0.1:6379/13"
KEYS = ("realtime_p50_ms", "realtime_p95_ms", "noop_p50_ms", "noop_p95_ms", "p95_ratio",
        "batched_events_per_s")


def bench_database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{BENCH_DATABASE}"


@pytest.mark.slow
def test_bench_publish_reports_latency_and_throughput() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark's worker needs a database shared across processes")
    env = {**os.environ, "DATABASE_URL": bench_database_url(), "CELERY_BROKER_URL": BENCH_BROKER}
    done = subprocess.run(
        [sys.executable, "manage.py", "bench_publish", "--events", "20", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for key in KEYS:
        assert isinstance(report[key], int | float) and report[key] > 0, (key, report)
    assert report["events"] == 20 and report["batched_events"] == 20
    assert report["worker_pool"] == "solo" and report["database"] == "postgresql"
    assert report["signature_failures"] == 0
