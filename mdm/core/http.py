"""The hub's one hardened outbound HTTP client.

Every outbound call (source pulls, webhook delivery, lookups) goes through :func:`request`,
which applies the same safety rules everywhere:

* only ``http``/``https`` URLs;
* redirects are never followed (a 3xx comes back as a normal response);
* no automatic retries (the caller owns its retry policy);
* separate connect and read timeouts (the read timeout bounds each wait for data,
  not the whole transfer);
* the response body is read in bounded chunks and rejected above ``max_body_bytes``;
* network failures become :class:`HttpError` with ``status=None`` and a readable reason.

4xx/5xx responses are *returned*, not raised; call :meth:`HttpResponse.raise_for_status`
when any error status should be fatal. The module has no Django dependency.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import urllib3
from urllib3 import exceptions as u3exc

__all__ = ["USER_AGENT", "HttpError", "HttpResponse", "redact_url", "request"]

_READ_CHUNK = 64 * 1024
_ERROR_SNIPPET = 200


def _version() -> str:
    try:
        return metadata.version("mdm-hub")
    except metadata.PackageNotFoundError:
        return "0.1.0"


USER_AGENT = f"mdm-hub/{_version()}"

_pool: urllib3.PoolManager | None = None
_pool_lock = threading.Lock()


class HttpError(Exception):
    """An outbound request failed: a network error (``status`` None) or an error status."""

    def __init__(self, url: str, status: int | None, reason: str) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        super().__init__(f"{reason} ({url})")


@dataclass
class HttpResponse:
    """A fully read response. Header names are lower-cased; repeated headers are joined."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str = field(default="", compare=False)

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def text(self) -> str:
        """The body decoded with the Content-Type charset (UTF-8 by default, lenient)."""
        return self.body.decode(self._charset(), errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not valid JSON."""
        return json.loads(self.text())

    def raise_for_status(self) -> None:
        """Raise :class:`HttpError` when the status is 400 or above."""
        if self.status >= 400:
            snippet = self.text()[:_ERROR_SNIPPET]
            raise HttpError(self.url, self.status, f"HTTP {self.status}: {snippet}")

    def _charset(self) -> str:
        content_type = self.headers.get("content-type", "")
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("\"'")
        return "utf-8"


def request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    timeout: float = 10.0,
    connect_timeout: float = 3.0,
    max_body_bytes: int = 20_000_000,
) -> HttpResponse:
    """Send one request and return the fully read response (see the module doc for rules).

    ``json_body`` (encoded as UTF-8 JSON) and ``body`` are mutually exclusive. ``params``
    are urlencoded and appended to the URL's query; ``None`` values are left out.
    Raises :class:`HttpError` for a bad URL, a network failure or an oversized body.
    """
    if json_body is not None and body is not None:
        raise ValueError("pass either json_body or body, not both")
    full_url = _build_url(url, params)
    safe_url = redact_url(full_url)
    payload, send_headers = _prepare(json_body, body, headers)
    try:
        resp = _pool_manager().request(
            method.upper(),
            full_url,
            body=payload,
            headers=send_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=timeout),
        )
    except u3exc.HTTPError as exc:
        raise HttpError(safe_url, None, _describe(exc, connect_timeout, timeout)) from exc
    data = _read_bounded(resp, safe_url, max_body_bytes, timeout)
    resp_headers = {name.lower(): resp.headers[name] for name in resp.headers}
    return HttpResponse(resp.status, resp_headers, data, safe_url)


def _pool_manager() -> urllib3.PoolManager:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = urllib3.PoolManager(num_pools=20, maxsize=10, retries=False)
    return _pool


def _build_url(url: str, params: dict[str, Any] | None) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise HttpError(url, None, f"invalid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        reason = f"unsupported URL scheme {parts.scheme!r}" if parts.scheme else "URL has no scheme"
        raise HttpError(redact_url(url), None, f"{reason}; only http and https are allowed")
    if not parts.netloc:
        raise HttpError(url, None, "URL has no host")
    if not params:
        return url
    query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
    joined = "&".join(q for q in (parts.query, query) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def _prepare(
    json_body: Any, body: bytes | None, headers: dict[str, str] | None
) -> tuple[bytes | None, urllib3.HTTPHeaderDict]:
    merged = urllib3.HTTPHeaderDict({"User-Agent": USER_AGENT})
    if json_body is not None:
        body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        merged["Content-Type"] = "application/json"
    for name, value in (headers or {}).items():
        merged[name] = value  # caller's headers win, case-insensitively
    return body, merged


def _read_bounded(
    resp: urllib3.BaseHTTPResponse, url: str, max_body_bytes: int, timeout: float
) -> bytes:
    """Read the body in chunks, refusing anything larger than ``max_body_bytes``."""
    try:
        declared = int(resp.headers.get("Content-Length", "") or -1)
    except ValueError:
        declared = -1
    chunks: list[bytes] = []
    size = 0
    try:
        if declared > max_body_bytes:
            raise _too_large(url, resp.status, max_body_bytes)
        while chunk := resp.read(_READ_CHUNK):
            size += len(chunk)
            if size > max_body_bytes:
                raise _too_large(url, resp.status, max_body_bytes)
            chunks.append(chunk)
    except HttpError:
        resp.close()  # drop the connection rather than drain an oversized body
        raise
    except u3exc.HTTPError as exc:
        resp.close()
        raise HttpError(url, None, _describe(exc, 0, timeout)) from exc
    finally:
        resp.release_conn()
    return b"".join(chunks)


def _too_large(url: str, status: int, limit: int) -> HttpError:
    return HttpError(url, status, f"response body larger than {limit} bytes")


def _describe(exc: Exception, connect_timeout: float, read_timeout: float) -> str:
    """A short, human-readable reason for a urllib3 failure."""
    if isinstance(exc, u3exc.NameResolutionError):
        host = getattr(exc.conn, "host", "?")
        return f"DNS lookup failed for host {host!r}: {_root_cause(exc)}"
    if isinstance(exc, u3exc.NewConnectionError):
        return f"connection failed: {_root_cause(exc)}"
    if isinstance(exc, u3exc.ConnectTimeoutError):
        return f"connect timed out after {connect_timeout:g}s"
    if isinstance(exc, u3exc.ReadTimeoutError):
        return f"read timed out after {read_timeout:g}s"
    if isinstance(exc, u3exc.SSLError):
        return f"TLS error: {_root_cause(exc)}"
    if isinstance(exc, u3exc.LocationValueError):
        return f"invalid URL: {exc}"
    if isinstance(exc, u3exc.ProtocolError):
        return f"connection broken: {_root_cause(exc)}"
    return f"request failed: {exc}"


def _root_cause(exc: BaseException) -> str:
    """The innermost OS/SSL error message, which is what an operator can act on."""
    inner: BaseException = exc
    for _ in range(10):  # bounded: exception chains can in theory be cyclic
        nxt = inner.__cause__ or inner.__context__
        if nxt is None:
            break
        inner = nxt
    return str(inner) or type(inner).__name__


def redact_url(url: str) -> str:
    """The URL without user:password, for error messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
