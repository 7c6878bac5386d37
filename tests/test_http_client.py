"""The hardened outbound HTTP client against a real local HTTP server."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from mdm.core.http import USER_AGENT, HttpError, request

BIG = 50_000


class Handler(BaseHTTPRequestHandler):
    target_hits = 0

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._route()

    def do_POST(self):
        self._route()

    def _route(self):
        path = urlsplit(self.path).path
        routes = {
            "/echo": self._echo,
            "/redirect": self._redirect,
            "/target": self._target,
            "/slow": self._slow,
            "/huge": self._huge,
            "/huge-stream": self._huge_stream,
            "/missing": lambda: self._send(404, b"no such thing"),
            "/boom": lambda: self._send(500, b"internal error"),
            "/gbk": self._gbk,
        }
        routes.get(path, lambda: self._send(404, b"?"))()

    def _send(self, status, body, content_type="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        info = {
            "method": self.command,
            "query": parse_qs(urlsplit(self.path).query),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        payload = json.dumps(info, ensure_ascii=False).encode("utf-8")
        self._send(200, payload, "application/json", [("X-Multi", "a"), ("X-Multi", "b")])

    def _redirect(self):
        self._send(302, b"", extra=[("Location", "/target")])

    def _target(self):
        type(self).target_hits += 1
        self._send(200, b"followed")

    def _slow(self):
        time.sleep(2)
        with contextlib.suppress(OSError):  # the client gave up, as it should
            self._send(200, b"late")

    def _huge(self):
        self._send(200, b"x" * BIG)

    def _huge_stream(self):
        # HTTP/1.0 without Content-Length: the body ends when the connection closes.
        self.send_response(200)
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(BIG // 1000):
                self.wfile.write(b"y" * 1000)

    def _gbk(self):
        self._send(200, "张伟".encode("gb18030"), "text/plain; charset=gb18030")


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_get_with_params_and_user_agent(base_url):
    resp = request("GET", f"{base_url}/echo?a=1", params={"since": "2024-01-01 00:00", "x": None})

    assert resp.status == 200 and resp.ok
    info = resp.json()
    assert info["query"] == {"a": ["1"], "since": ["2024-01-01 00:00"]}
    assert info["headers"]["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("mdm-hub/")
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-multi"] == "a, b"


def test_json_body_is_utf8_with_content_type(base_url):
    resp = request("POST", f"{base_url}/echo", json_body={"name": "张伟"})

    info = resp.json()
    assert info["method"] == "POST"
    assert json.loads(info["body"]) == {"name": "张伟"}
    assert info["headers"]["content-type"] == "application/json"


def test_raw_body_and_caller_headers_win(base_url):
    resp = request(
        "POST",
        f"{base_url}/echo",
        body=b"plain",
        headers={"user-agent": "custom/1", "Authorization": "Token abc"},
    )

    info = resp.json()
    assert info["body"] == "plain"
    assert info["headers"]["user-agent"] == "custom/1"
    assert info["headers"]["authorization"] == "Token abc"


def test_json_body_and_body_are_exclusive(base_url):
    with pytest.raises(ValueError):
        request("POST", f"{base_url}/echo", json_body={}, body=b"x")


def test_redirect_is_returned_not_followed(base_url):
    Handler.target_hits = 0

    resp = request("GET", f"{base_url}/redirect")

    assert resp.status == 302
    assert resp.headers["location"] == "/target"
    assert Handler.target_hits == 0


def test_error_statuses_are_returned_and_raise_on_demand(base_url):
    resp = request("GET", f"{base_url}/missing")
    assert resp.status == 404 and not resp.ok

    with pytest.raises(HttpError) as caught:
        resp.raise_for_status()
    assert caught.value.status == 404
    assert "no such thing" in caught.value.reason
    assert caught.value.url.endswith("/missing")

    request("GET", f"{base_url}/echo").raise_for_status()  # 2xx: no error


def test_slow_server_times_out_quickly(base_url):
    started = time.monotonic()
    with pytest.raises(HttpError) as caught:
        request("GET", f"{base_url}/slow", timeout=0.5)

    assert time.monotonic() - started < 1.5
    assert caught.value.status is None
    assert "timed out" in caught.value.reason


@pytest.mark.parametrize("path", ["/huge", "/huge-stream"])
def test_body_size_is_bounded(base_url, path):
    with pytest.raises(HttpError, match="larger than 10000 bytes"):
        request("GET", f"{base_url}{path}", max_body_bytes=10_000)

    assert len(request("GET", f"{base_url}{path}", max_body_bytes=BIG).body) == BIG


def test_pool_still_works_after_an_oversized_body(base_url):
    with pytest.raises(HttpError):
        request("GET", f"{base_url}/huge", max_body_bytes=10)
    assert request("GET", f"{base_url}/echo").status == 200


def test_refused_connection_is_an_http_error():
    with pytest.raises(HttpError) as caught:
        request("GET", f"http://127.0.0.1:{free_port()}/x", connect_timeout=1)

    assert caught.value.status is None
    assert "refused" in caught.value.reason.lower()


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/file", "file:///etc/passwd", "/relative/path", "http:///no-host"],
)
def test_only_absolute_http_urls(url):
    with pytest.raises(HttpError) as caught:
        request("GET", url)
    assert caught.value.status is None


def test_credentials_in_url_are_not_echoed_in_errors():
    with pytest.raises(HttpError) as caught:
        request("GET", f"http://user:s3cret@127.0.0.1:{free_port()}/x")
    assert "s3cret" not in str(caught.value)


def test_text_uses_declared_charset(base_url):
    assert request("GET", f"{base_url}/gbk").text() == "张伟"
