"""Connectors against real sources: a fake CRM over HTTP and a real drop directory."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

import connectors
from connectors import ConnectorError, available, get_connector
from connectors.file_drop import FileDropConnector
from connectors.rest_json import RestJsonConnector

PAGE_SIZE = 2


# --- a fake CRM serving JSON ------------------------------------------------------------


class FakeCrm:
    """In-memory customers with ``updated_at``; the handler below serves them."""

    def __init__(self) -> None:
        self.customers: list[dict] = []
        self.requests: list[str] = []
        self.base_url = ""

    def upsert(self, cid: int, name: str, updated_at: str) -> None:
        self.customers = [c for c in self.customers if c["id"] != cid]
        self.customers.append({"id": cid, "name": name, "updated_at": updated_at})

    def changed_since(self, since: str | None) -> list[dict]:
        rows = [c for c in self.customers if since is None or c["updated_at"] > since]
        return sorted(rows, key=lambda c: c["updated_at"])


def crm_handler(crm: FakeCrm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def do_GET(self):
            crm.requests.append(self.path)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            route = getattr(self, "route_" + parts.path.strip("/").replace("/", "_"), None)
            if route is None:
                self.send(404, {"error": "not found"})
            else:
                route(query)

        def send(self, status, payload, raw=None):
            body = raw if raw is not None else json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may have given up
                self.wfile.write(body)

        def page(self, query):
            rows = crm.changed_since(query.get("since"))
            offset = int(query.get("page", 0))
            more = offset + PAGE_SIZE < len(rows)
            return rows[offset : offset + PAGE_SIZE], (offset + PAGE_SIZE if more else None)

        def route_api_customers(self, query):  # token pagination, nested records
            items, nxt = self.page(query)
            self.send(200, {"data": {"items": items}, "next": None if nxt is None else str(nxt)})

        def route_api_linked(self, query):  # URL pagination + explicit sync cursor
            items, nxt = self.page(query)
            link = None
            if nxt is not None:
                params = {k: v for k, v in query.items() if k != "page"} | {"page": nxt}
                link = f"{crm.base_url}/api/linked?{urlencode(params)}"
            last = nxt is None
            body = {"results": items, "links": {"next": link}, "sync": "tok-9" if last else None}
            self.send(200, body)

        def route_api_secured(self, query):
            if self.headers.get("Authorization") != "Token s3cret":
                self.send(401, {"error": "unauthorized"})
            else:
                self.send(200, crm.changed_since(None))

        def route_api_mixed(self, query):
            self.send(200, [{"id": 1}, "junk", [1], {"id": 2}])

        def route_api_endless(self, query):
            self.send(200, {"items": [], "next": str(int(query.get("page", 0)) + 1)})

        def route_api_loop(self, query):
            self.send(200, {"items": [], "next": "same"})

        def route_api_offsite(self, query):
            port = urlsplit(crm.base_url).port
            self.send(200, {"items": [], "next": f"http://localhost:{port}/api/mixed"})

        def route_api_boom(self, query):
            self.send(500, None, raw=b"Internal Server Error: database is down")

        def route_api_notjson(self, query):
            self.send(200, None, raw=b"<html>maintenance</html>")

        def route_api_wrongshape(self, query):
            self.send(200, {"data": {"items": {"id": 1}}})

        def route_api_slow(self, query):
            time.sleep(2)
            self.send(200, [])

    return Handler


@pytest.fixture
def crm() -> Iterator[FakeCrm]:
    state = FakeCrm()
    server = ThreadingHTTPServer(("127.0.0.1", 0), crm_handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def seed(crm: FakeCrm) -> None:
    for cid, name, ts in [
        (1, "张伟", "2024-03-01T10:00:00Z"),
        (2, "北京星辰科技有限公司", "2024-03-01T11:00:00Z"),
        (3, "Li Na", "2024-03-02T09:00:00Z"),
        (4, "Wang Fang", "2024-03-02T09:30:00Z"),
        (5, "Chen Jie", "2024-03-03T08:00:00Z"),
    ]:
        crm.upsert(cid, name, ts)


def rest(crm: FakeCrm, path: str, **config) -> RestJsonConnector:
    connector = get_connector("rest_json", {"url": crm.base_url + path, **config})
    assert isinstance(connector, RestJsonConnector)
    return connector


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- registry ---------------------------------------------------------------------------


def test_registry_lists_builtins_and_rejects_unknown_names():
    assert {"file_drop", "rest_json"} <= set(available())
    with pytest.raises(ConnectorError) as caught:
        get_connector("sftp", {})
    assert "sftp" in str(caught.value)
    assert "file_drop" in str(caught.value) and "rest_json" in str(caught.value)


def test_unknown_config_keys_are_rejected(tmp_path):
    with pytest.raises(ConnectorError, match=r"unknown config key.*record_path"):
        get_connector("rest_json", {"url": "http://x.test/", "record_path": "data"})
    with pytest.raises(ConnectorError, match="'directory' is required"):
        get_connector("file_drop", {})


def test_register_adds_a_connector():
    @connectors.register("test_static")
    class Static(connectors.SourceConnector):
        config_keys = frozenset({"value"})

        def fetch_changes(self, since):
            row = connectors.FeedRow(1, {"v": self.config["value"]}, "raw")
            return connectors.FetchResult([row], "c1", "static")

    result = get_connector("test_static", {"value": 7}).fetch_changes(None)
    assert [r.data for r in result.rows] == [{"v": 7}] and result.cursor == "c1"


# --- rest_json --------------------------------------------------------------------------


def test_rest_pull_follows_token_pages_and_advances_cursor(crm):
    seed(crm)
    connector = rest(crm, "/api/customers", records_path="data.items", page_param="page")

    first = connector.fetch_changes(None)
    rows = list(first.rows)

    assert [r.data["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r.line for r in rows] == [1, 2, 3, 4, 5]
    assert json.loads(rows[1].raw)["name"] == "北京星辰科技有限公司"
    assert "北京" in rows[1].raw  # raw is readable, not \\u-escaped
    assert first.cursor == "2024-03-03T08:00:00Z"
    assert len(crm.requests) == 3  # 5 records, 2 per page
    assert "since" not in crm.requests[0]

    crm.upsert(2, "北京星辰科技股份有限公司", "2024-03-04T12:00:00Z")
    crm.upsert(6, "Zhao Lei", "2024-03-04T13:00:00Z")
    second = connector.fetch_changes(first.cursor)

    assert [r.data["id"] for r in second.rows] == [2, 6]
    assert second.cursor == "2024-03-04T13:00:00Z"

    third = connector.fetch_changes(second.cursor)
    assert list(third.rows) == [] and third.cursor == second.cursor


def test_rest_pull_follows_next_urls_and_reads_cursor_from_response(crm):
    seed(crm)
    connector = rest(
        crm, "/api/linked", records_path="results", next_path="links.next", cursor_path="sync"
    )

    result = connector.fetch_changes("2024-03-01T10:30:00Z")

    assert [r.data["id"] for r in result.rows] == [2, 3, 4, 5]
    assert result.cursor == "tok-9"
    assert all("since=2024-03-01T10" in path for path in crm.requests)
    assert result.origin == crm.base_url + "/api/linked"


def test_rest_pull_sends_configured_headers(crm):
    seed(crm)
    denied = rest(crm, "/api/secured")
    allowed = rest(crm, "/api/secured", headers={"Authorization": "Token s3cret"})

    with pytest.raises(ConnectorError, match="401"):
        denied.fetch_changes(None)
    assert len(list(allowed.fetch_changes(None).rows)) == 5


def test_rest_records_that_are_not_objects_become_error_rows(crm):
    result = rest(crm, "/api/mixed").fetch_changes(None)
    rows = list(result.rows)

    assert [r.data for r in rows if r.ok] == [{"id": 1}, {"id": 2}]
    assert [r.error for r in rows if not r.ok] == [
        "record 2: expected a JSON object, got string",
        "record 3: expected a JSON object, got array",
    ]
    assert rows[1].raw == '"junk"'


def test_rest_server_error_names_url_status_and_body(crm):
    with pytest.raises(ConnectorError) as caught:
        rest(crm, "/api/boom").fetch_changes(None)
    message = str(caught.value)
    assert "/api/boom" in message and "500" in message and "database is down" in message


def test_rest_invalid_json_is_reported(crm):
    with pytest.raises(ConnectorError, match=r"expected a JSON response.*maintenance"):
        rest(crm, "/api/notjson").fetch_changes(None)


def test_rest_wrong_shape_says_what_was_expected_where(crm):
    with pytest.raises(
        ConnectorError, match=r"expected a list of records at 'data\.items'.*object"
    ):
        rest(crm, "/api/wrongshape", records_path="data.items").fetch_changes(None)
    with pytest.raises(ConnectorError, match="no 'results'"):
        rest(crm, "/api/wrongshape", records_path="results").fetch_changes(None)


def test_rest_pagination_is_bounded(crm):
    endless = rest(crm, "/api/endless", records_path="items", page_param="page", max_pages=5)
    with pytest.raises(ConnectorError, match="more than max_pages=5"):
        endless.fetch_changes(None)
    assert len(crm.requests) == 5

    with pytest.raises(ConnectorError, match="repeats"):
        rest(crm, "/api/loop", records_path="items", page_param="page").fetch_changes(None)


def test_rest_next_page_on_another_host_is_refused(crm):
    connector = rest(crm, "/api/offsite", records_path="items", next_path="next")
    with pytest.raises(ConnectorError, match="another host"):
        connector.fetch_changes(None)


def test_rest_unreachable_and_slow_sources(crm):
    refused = get_connector("rest_json", {"url": f"http://127.0.0.1:{free_port()}/api"})
    with pytest.raises(ConnectorError, match="refused"):
        refused.fetch_changes(None)

    started = time.monotonic()
    with pytest.raises(ConnectorError, match="timed out"):
        rest(crm, "/api/slow", timeout=0.5).fetch_changes(None)
    assert time.monotonic() - started < 1.5


# --- file_drop --------------------------------------------------------------------------


def drop(directory: Path, name: str, content: str, mtime: int, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_bytes(content.encode(encoding))
    os.utime(path, ns=(mtime * 10**9, mtime * 10**9))
    return path


def file_drop(directory: Path, **config) -> FileDropConnector:
    connector = get_connector("file_drop", {"directory": str(directory), **config})
    assert isinstance(connector, FileDropConnector)
    return connector


def test_file_drop_reads_new_files_in_mtime_order_and_resumes(tmp_path):
    drop(tmp_path, "b.csv", "id,name\n2,Li Na\n", mtime=1_700_000_200)
    drop(tmp_path, "a.csv", "客户名称,手机\n张伟,138-0013-8000\n", 1_700_000_100, "gb18030")
    drop(tmp_path, "notes.md", "not a feed", mtime=1_700_000_300)
    connector = file_drop(tmp_path, pattern="*.csv")

    first = connector.fetch_changes(None)

    assert [r.data for r in first.rows] == [
        {"客户名称": "张伟", "手机": "138-0013-8000"},
        {"id": "2", "name": "Li Na"},
    ]
    assert first.cursor == "1700000200000000000:b.csv"

    again = connector.fetch_changes(first.cursor)
    assert list(again.rows) == [] and again.cursor == first.cursor

    drop(tmp_path, "c.csv", "id,name\n3,Wang Fang\n", mtime=1_700_000_300)
    drop(tmp_path, "b2.csv", "id,name\n4,Chen Jie\n", mtime=1_700_000_200)  # same mtime, later name
    second = connector.fetch_changes(first.cursor)

    assert [r.data["id"] for r in second.rows] == ["4", "3"]
    assert second.cursor == "1700000300000000000:c.csv"


def test_file_drop_touched_file_comes_again(tmp_path):
    old = drop(tmp_path, "a.jsonl", '{"id": 1}\n', mtime=1_700_000_100)
    drop(tmp_path, "b.jsonl", '{"id": 2}\n', mtime=1_700_000_200)
    connector = file_drop(tmp_path)
    cursor = connector.fetch_changes(None).cursor

    os.utime(old, ns=(1_700_000_500 * 10**9,) * 2)
    result = connector.fetch_changes(cursor)

    assert [r.data for r in result.rows] == [{"id": 1}]
    assert result.cursor == "1700000500000000000:a.jsonl"


def test_file_drop_errors_name_file_and_line(tmp_path):
    drop(tmp_path, "orders.csv", "a,b,c\n1,2,3\n1,2\n4,5,6\n", mtime=1_700_000_100)
    drop(tmp_path, "events.jsonl", '{"x": 1}\n{oops\n', mtime=1_700_000_200)
    drop(tmp_path, "report.pdf", "%PDF", mtime=1_700_000_300)
    drop(tmp_path, ".partial.csv", "a\n", mtime=1_700_000_400)  # hidden: still uploading

    result = file_drop(tmp_path).fetch_changes(None)
    rows = list(result.rows)

    assert [r.data for r in rows if r.ok] == [
        {"a": "1", "b": "2", "c": "3"},
        {"a": "4", "b": "5", "c": "6"},
        {"x": 1},
    ]
    errs = [r.error for r in rows if not r.ok]
    assert errs[0] == "orders.csv: line 3: 2 fields, header has 3"
    assert errs[1].startswith("events.jsonl: line 2: invalid JSON")
    assert errs[2].startswith("report.pdf: cannot tell the format")
    assert result.cursor == "1700000300000000000:report.pdf"


def test_file_drop_per_file_results_carry_origin_and_cursor(tmp_path):
    drop(tmp_path, "a.csv", "id\n1\n", mtime=1_700_000_100)
    drop(tmp_path, "b.csv", "id\n2\n3\n", mtime=1_700_000_200)

    results = list(file_drop(tmp_path).fetch_files(None))

    assert [Path(r.origin).name for r in results] == ["a.csv", "b.csv"]
    assert [r.cursor for r in results] == [
        "1700000100000000000:a.csv",
        "1700000200000000000:b.csv",
    ]
    assert [[row.line for row in r.rows] for r in results] == [[2], [2, 3]]


def test_file_drop_missing_directory_and_bad_cursor(tmp_path):
    with pytest.raises(ConnectorError, match="does not exist"):
        file_drop(tmp_path / "nowhere").fetch_changes(None)
    with pytest.raises(ConnectorError, match="invalid cursor"):
        file_drop(tmp_path).fetch_changes("yesterday")
