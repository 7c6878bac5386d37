"""Scheduled pulls through a real Celery worker with beat, Redis and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from mdm.golden.models import Customer
from mdm.sources.models import SourceRecord

ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker_with_beat(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker needs a database shared across processes (PostgreSQL)")
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": BROKER,
           "MDM_PULL_CHECK_SECONDS": "1"}
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mdm", "worker", "--beat", "--pool=solo",
         "--purge", "--loglevel=INFO", "--schedule", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield tmp_path / "worker.log"
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.mark.django_db(transaction=True)
def test_beat_pulls_a_due_source_through_the_worker(make_source, tmp_path, worker_with_beat):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "customers.csv").write_text(
        "id,name,mobile\nC1,张伟,138-0013-8000\nC2,李娜,13900139000\n", encoding="utf-8")
    source = make_source("crm", connector="file_drop", connector_domain="customer",
                         connector_config={"directory": str(drop)}, pull_interval_minutes=5,
                         mappings={"customer": [("name", "name"), ("mobile", "phones")]},
                         record_key_fields={"customer": "id"})
    deadline = time.monotonic() + 60
    while SourceRecord.objects.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert SourceRecord.objects.count() == 2, worker_with_beat.read_text()[-3000:]
    assert set(Customer.objects.values_list("name", flat=True)) == {"张伟", "李娜"}
    source.refresh_from_db()
    assert source.last_pulled_at is not None and source.pull_cursor
    # The interval has not elapsed: beat keeps ticking but pulls nothing more.
    pulled_at = source.last_pulled_at
    time.sleep(3)
    source.refresh_from_db()
    assert source.last_pulled_at == pulled_at
