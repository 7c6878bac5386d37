"""Generic JSON REST pull: ``GET url?since=<cursor>``, optionally following pagination.

Config keys (only ``url`` is required):

``url``
    The endpoint (http/https).
``since_param`` = ``"since"``
    Query parameter that carries the cursor (left out on the first pull).
``records_path`` = ``""``
    Dotted path to the list of records in the response (``"data.items"``); ``""`` means
    the response body itself is the list.
``cursor_path`` = ``"next_cursor"``
    Dotted path to the new cursor in the response; the last non-null value over all pages
    wins. Without one, the cursor is the maximum of ``cursor_field`` over the records.
    If neither yields a value the cursor stays ``since``.
``cursor_field`` = ``"updated_at"``
    Record field used for the fallback cursor.
``next_path`` / ``page_param``
    Pagination is on when either is set. ``next_path`` (default ``"next"``) holds the next
    page: a URL (absolute, or a path starting with ``/``; it must stay on the configured
    host, since it receives the configured headers) or a token that is sent as
    ``page_param`` together with the cursor. Paging stops when the value is null/absent.
``max_pages`` = ``1000``
    A feed that has more pages raises ConnectorError (rather than returning a silently
    truncated pull with a wrong cursor). A page that repeats is also an error.
``headers``, ``timeout`` = ``10``, ``connect_timeout`` = ``3``, ``max_body_bytes``
    Passed to :func:`mdm.core.http.request`.

All pages are fetched before :meth:`RestJsonConnector.fetch_changes` returns, so the
cursor covers exactly the rows returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from connectors.base import (
    ConnectorError,
    FeedRow,
    FetchResult,
    SourceConnector,
    register,
)
from connectors.feed_files import json_type_name
from mdm.core.http import HttpError, HttpResponse, redact_url, request

_SNIPPET = 200


class _PathError(LookupError):
    """A dotted path does not lead anywhere in the document."""


@register("rest_json")
class RestJsonConnector(SourceConnector):
    """Pulls changed records from a JSON REST endpoint (see the module doc for config)."""

    config_keys = frozenset(
        {
            "url",
            "since_param",
            "records_path",
            "cursor_path",
            "cursor_field",
            "page_param",
            "next_path",
            "max_pages",
            "headers",
            "timeout",
            "connect_timeout",
            "max_body_bytes",
        }
    )

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        cfg = self.config
        self.url: str = _check_url(cfg.get("url"))
        self.since_param: str = cfg.get("since_param", "since")
        self.records_path: str = cfg.get("records_path", "") or ""
        self.cursor_path: str | None = cfg.get("cursor_path", "next_cursor")
        self.cursor_field: str | None = cfg.get("cursor_field", "updated_at")
        self.page_param: str | None = cfg.get("page_param")
        paginate = bool(cfg.get("next_path") or self.page_param)
        self.next_path: str | None = (cfg.get("next_path") or "next") if paginate else None
        self.max_pages: int = _positive(cfg, "max_pages", 1000, int)
        self.headers: dict[str, str] = {"Accept": "application/json", **_headers(cfg)}
        self.timeout = _positive(cfg, "timeout", 10.0, float)
        self.connect_timeout = _positive(cfg, "connect_timeout", 3.0, float)
        self.max_body_bytes = _positive(cfg, "max_body_bytes", 20_000_000, int)
        self.origin = redact_url(self.url)

    def fetch_changes(self, since: str | None) -> FetchResult:
        """Every record the endpoint reports as changed since ``since``, all pages."""
        records: list[Any] = []
        cursor: str | None = None
        for url, body in self._pages(since):
            records.extend(self._records(url, body))
            cursor = self._response_cursor(body) or cursor
        rows = [_row(index, record) for index, record in enumerate(records, start=1)]
        return FetchResult(rows, cursor or self._max_cursor(records) or since, self.origin)

    # --- paging ------------------------------------------------------------------------

    def _pages(self, since: str | None) -> Iterator[tuple[str, Any]]:
        url, params = self.url, self._params(since)
        seen = {json.dumps([url, params], sort_keys=True)}
        for _ in range(self.max_pages):
            body = self._get_json(url, params)
            yield url, body
            token = self._optional(body, self.next_path)
            if token is None or token == "":
                return
            url, params = self._next_request(url, token, since)
            key = json.dumps([url, params], sort_keys=True)
            if key in seen:
                raise ConnectorError(f"{self.origin}: pagination repeats page {token!r}")
            seen.add(key)
        raise ConnectorError(
            f"{self.origin}: more than max_pages={self.max_pages} pages; "
            "raise max_pages or pull more often"
        )

    def _params(self, since: str | None, token: Any = None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if since is not None:
            params[self.since_param] = since
        if token is not None and self.page_param:
            params[self.page_param] = token
        return params

    def _next_request(self, current: str, token: Any, since: str | None) -> tuple[str, dict]:
        if isinstance(token, str) and token.startswith(("http://", "https://", "/")):
            target = urljoin(current, token)
            if _origin_of(target) != _origin_of(self.url):
                raise ConnectorError(
                    f"{self.origin}: next page {redact_url(target)} is on another host; "
                    "refusing to send the configured headers there"
                )
            return target, {}
        if not isinstance(token, (str, int)) or isinstance(token, bool):
            raise ConnectorError(
                f"{self.origin}: expected a URL or token at {self.next_path!r}, "
                f"got {json_type_name(token)}"
            )
        if not self.page_param:
            raise ConnectorError(
                f"{self.origin}: {self.next_path!r} holds {token!r}, which is not a URL; "
                "set 'page_param' to send it as a query parameter"
            )
        return self.url, self._params(since, token)

    # --- one response ------------------------------------------------------------------

    def _get_json(self, url: str, params: dict[str, Any]) -> Any:
        try:
            resp = request(
                "GET",
                url,
                params=params,
                headers=self.headers,
                timeout=self.timeout,
                connect_timeout=self.connect_timeout,
                max_body_bytes=self.max_body_bytes,
            )
        except HttpError as exc:
            raise ConnectorError(f"GET {exc.url} failed: {exc.reason}") from exc
        if not resp.ok:
            raise ConnectorError(f"GET {resp.url} returned HTTP {resp.status}: {_snippet(resp)}")
        try:
            return resp.json()
        except ValueError as exc:
            raise ConnectorError(
                f"GET {resp.url}: expected a JSON response, got invalid JSON ({exc}): "
                f"{_snippet(resp)}"
            ) from exc

    def _records(self, url: str, body: Any) -> list[Any]:
        where = repr(self.records_path) if self.records_path else "the top level"
        try:
            records = _resolve(body, self.records_path)
        except _PathError as exc:
            raise ConnectorError(
                f"GET {redact_url(url)}: expected a list of records at {where}, but {exc}"
            ) from None
        if not isinstance(records, list):
            raise ConnectorError(
                f"GET {redact_url(url)}: expected a list of records at {where}, "
                f"got {json_type_name(records)}"
            )
        return records

    def _response_cursor(self, body: Any) -> str | None:
        value = self._optional(body, self.cursor_path)
        if value is None or value == "" or isinstance(value, (dict, list)):
            return None
        return str(value)

    def _max_cursor(self, records: list[Any]) -> str | None:
        if not self.cursor_field:
            return None
        values = [r[self.cursor_field] for r in records if _has_value(r, self.cursor_field)]
        if not values:
            return None
        try:
            return str(max(values))
        except TypeError:  # mixed types: compare their text
            return str(max(values, key=str))

    @staticmethod
    def _optional(body: Any, path: str | None) -> Any:
        if not path:
            return None
        try:
            return _resolve(body, path)
        except _PathError:
            return None


def _row(index: int, record: Any) -> FeedRow:
    raw = json.dumps(record, ensure_ascii=False)
    if not isinstance(record, dict):
        error = f"record {index}: expected a JSON object, got {json_type_name(record)}"
        return FeedRow(index, None, raw, error)
    return FeedRow(index, record, raw)


def _resolve(document: Any, path: str) -> Any:
    """Follow a dotted path (``"data.items"``; digits index lists); ``""`` is the root."""
    value = document
    walked: list[str] = []
    for key in path.split(".") if path else []:
        here = ".".join(walked) or "the top level"
        if isinstance(value, dict):
            if key not in value:
                raise _PathError(f"there is no {key!r} in {here}")
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise _PathError(f"{here} is {json_type_name(value)}, cannot look up {key!r}")
        walked.append(key)
    return value


def _has_value(record: Any, field: str) -> bool:
    return isinstance(record, dict) and record.get(field) not in (None, "")


def _snippet(resp: HttpResponse) -> str:
    return resp.text()[:_SNIPPET]


def _origin_of(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), parts.hostname, parts.port or default


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url:
        raise ConnectorError("rest_json: 'url' is required")
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ConnectorError(f"rest_json: 'url' must be an http(s) URL, got {redact_url(url)!r}")
    return url


def _headers(cfg: Mapping[str, Any]) -> dict[str, str]:
    headers = cfg.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConnectorError("rest_json: 'headers' must map header names to strings")
    return dict(headers)


def _positive(cfg: Mapping[str, Any], key: str, default: Any, kind: type) -> Any:
    value = cfg.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number <= 0:
        raise ConnectorError(f"rest_json: {key!r} must be a positive number, got {value!r}")
    return number
