"""A no-op Celery task: the reference round trip for ``manage.py bench_publish``.

It does nothing but tell the benchmark's local receiver that it ran, through the hub's
own HTTP client — the same observation the benchmark makes for webhooks, so the two
latencies compare broker pickup + one outbound POST against the whole publishing path.
Not autodiscovered (only ``tasks.py`` modules are): the benchmark starts its worker with
``--include mdm.publishing.bench_tasks``.
"""

from __future__ import annotations

from celery import shared_task

from mdm.core.http import request


@shared_task(name="mdm.publishing.bench_tasks.noop")
def noop(callback_url: str) -> None:
    request("POST", callback_url, body=b"", timeout=5.0, max_body_bytes=1000)
