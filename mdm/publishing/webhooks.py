"""Signed webhook posts (Standard Webhooks), through the hub's one HTTP client."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from mdm.core.http import HttpError, request

NO_RETRY_EXCEPT = {408, 429}


@dataclass
class WebhookResult:
    ok: bool
    status: int | None
    error: str
    duration_ms: int

    @property
    def retryable(self) -> bool:
        """5xx, timeouts and network errors are retried; 4xx only 408 and 429; a redirect
        is a misconfigured URL (redirects are never followed) and is not retried."""
        if self.status is None or self.status >= 500:
            return True
        return self.status in NO_RETRY_EXCEPT


def signature_headers(*, secret: str, message_id: str, body: str,
                      at: datetime | None = None) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64>``."""
    at = at or datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature}


def webhook_post(*, url: str, secret: str, message_id: str, body: Any, batch: bool = False,
                 timeout: float = 10.0) -> WebhookResult:
    """POST one event (or a batch) signed; never raises for HTTP or network failures.
    The body is canonical JSON (keys sorted): a retry sends the same bytes as the first
    attempt, whether the payload came from memory or back from the database."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    content_type = "application/cloudevents-batch+json" if batch \
        else "application/cloudevents+json"
    headers = {"Content-Type": f"{content_type}; charset=utf-8",
               **signature_headers(secret=secret, message_id=message_id, body=text)}
    started = time.perf_counter()
    try:
        response = request("POST", url, body=text.encode(), headers=headers, timeout=timeout,
                           max_body_bytes=1_000_000)
    except HttpError as exc:
        return WebhookResult(False, exc.status, exc.reason, _ms(started))
    ok = 200 <= response.status < 300
    error = "" if ok else f"HTTP {response.status}: {response.text()[:500]}"
    return WebhookResult(ok, response.status, error, _ms(started))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
