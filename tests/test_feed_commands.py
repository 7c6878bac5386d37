"""import_feed, sync_source and export_golden, run as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mdm.golden.models import Customer
from mdm.sources.models import IngestBatch, RejectedRecord, SourceRecord

pytestmark = pytest.mark.django_db

HEADER = "客户编号,客户名称,手机,状态,更新时间\n"
GOOD_ROWS = ("C1,张伟,138-0013-8000,1,2026-11-01 10:00:00\n"
             "C2,北京星辰科技有限公司,010-12345678,2,2026-11-01 11:00:00\n")


@pytest.fixture
def crm(make_source):
    return make_source(
        "crm",
        mappings={"customer": [("客户名称", "name"), ("手机", "phones"), ("状态", "status")]},
        value_maps={"customer": {"status": {"1": "active", "2": "inactive"}}},
        record_key_fields={"customer": "客户编号"}, updated_at_fields={"customer": "更新时间"},
    )


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_bom_and_gb18030_imports_the_same(crm, tmp_path, encoding):
    path = tmp_path / f"customers-{encoding}.csv"
    path.write_bytes((HEADER + GOOD_ROWS).encode(encoding))
    code, out, err = run("import_feed", "--source", "crm", "--domain", "customer", str(path))
    assert code == 0, err
    assert "2 created" in out
    names = set(Customer.objects.values_list("name", flat=True))
    assert names == {"张伟", "北京星辰科技有限公司"}
    assert SourceRecord.objects.get(source_key="C1").attributes["phones"] == ["+8613800138000"]


def test_malformed_csv_lines_are_named_and_good_lines_still_imported(crm, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + GOOD_ROWS +
                    "C3,王五,139-0000-0000,1,2026-11-01,extra\n"   # line 4: too many fields
                    ",无编号,13800138001,1,2026-11-01 10:00:00\n"  # line 5: no key
                    "C6,赵六,138-0013-800,1,2026-11-01 10:00:00\n"  # line 6: bad phone
                    "C7,钱七,13800138007,1,2026-11-01 10:00:00\n", encoding="utf-8")
    code, out, err = run("import_feed", "--source", "crm", "--domain", "customer", str(path))
    assert code == 1
    assert "3 created" in out and "1 quarantined" in out and "2 rejected" in out
    assert "line 4" in err and "line 5" in err and "no record key" in err
    assert "line 6 [C6]" in err and "not a valid phone number" in err
    assert set(SourceRecord.objects.filter(status="active").values_list("source_key", flat=True)) \
        == {"C1", "C2", "C7"}
    assert SourceRecord.objects.get(source_key="C6").status == "quarantined"
    assert sorted(RejectedRecord.objects.values_list("line", flat=True)) == [4, 5]
    batch = IngestBatch.objects.get()
    assert batch.channel == "file" and batch.counts["created"] == 3


def test_jsonl_with_a_broken_line(make_source, tmp_path):
    make_source("erp", record_key_fields={"customer": "cust_no"})
    lines = [json.dumps({"cust_no": "E1", "name": "Zhang Wei", "phones": "+86 138 0013 8000"}),
             '{"cust_no": "E2", "name": ',
             json.dumps(["not", "an", "object"]),
             json.dumps({"cust_no": "E4", "name": "Li Na"})]
    path = tmp_path / "erp.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run("import_feed", "--source", "erp", "--domain", "customer", str(path))
    assert code == 1
    assert "2 created" in out and "2 rejected" in out
    assert "line 2" in err and "line 3" in err
    assert Customer.objects.count() == 2


def test_import_feed_refuses_unknown_source_and_missing_file(crm, tmp_path):
    assert run("import_feed", "--source", "nope", "--domain", "customer", "x.csv")[0] == 2
    code, _, err = run("import_feed", "--source", "crm", "--domain", "customer",
                       str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in err
    weird = tmp_path / "data.xlsx"
    weird.write_bytes(b"PK")
    assert run("import_feed", "--source", "crm", "--domain", "customer", str(weird))[0] == 2


def test_sync_source_from_a_file_drop_moves_its_cursor(crm, tmp_path):
    crm.connector, crm.connector_domain = "file_drop", "customer"
    crm.connector_config = {"directory": str(tmp_path), "pattern": "*.csv"}
    crm.save()
    (tmp_path / "a.csv").write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    code, out, _ = run("sync_source", "crm")
    assert code == 0 and "2 created" in out
    crm.refresh_from_db()
    assert crm.pull_cursor and crm.last_pulled_at
    code, out, _ = run("sync_source", "crm")
    assert "no changes" in out
    assert SourceRecord.objects.count() == 2


class FakeCrm(BaseHTTPRequestHandler):
    """A CRM serving its customers as JSON, filtered by ?since=."""

    customers = [
        {"id": "C1", "name": "张伟", "mobile": "13800138000", "updated_at": "2026-11-01T10:00:00Z"},
        {"id": "C2", "name": "李娜", "mobile": "13900139000", "updated_at": "2026-11-02T10:00:00Z"},
    ]

    def log_message(self, *args):
        pass

    def do_GET(self):
        since = parse_qs(urlparse(self.path).query).get("since", [""])[0]
        items = [c for c in self.customers if c["updated_at"] > since]
        body = json.dumps({"data": {"items": items}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_crm_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/customers"
    server.shutdown()
    server.server_close()


def test_sync_source_from_a_json_rest_api(make_source, fake_crm_url):
    source = make_source(
        "crm", connector="rest_json", connector_domain="customer",
        connector_config={"url": fake_crm_url, "records_path": "data.items",
                          "cursor_field": "updated_at"},
        mappings={"customer": [("name", "name"), ("mobile", "phones")]},
        record_key_fields={"customer": "id"}, updated_at_fields={"customer": "updated_at"})
    code, out, err = run("sync_source", "crm")
    assert code == 0, err
    assert "2 created" in out
    source.refresh_from_db()
    assert source.pull_cursor == "2026-11-02T10:00:00Z"
    assert Customer.objects.get(name="李娜").phones == ["+8613900139000"]
    assert run("sync_source", "crm")[1].startswith("crm: no changes")


def test_sync_source_reports_an_unreachable_source(make_source):
    make_source("crm", connector="rest_json", connector_domain="customer",
                connector_config={"url": "http://127.0.0.1:9/none"})
    code, _, err = run("sync_source", "crm")
    assert code == 2 and "pull from crm failed" in err


def test_export_golden_csv_jsonl_and_with_sources(crm, make_source, ingest, tmp_path):
    ingest(crm, ("C1", "customer", {"客户名称": "张伟", "手机": "13800138000"}))
    erp = make_source("erp")
    ingest(erp, ("E1", "customer", {"name": "Zhang Wei", "phones": "+86 138 0013 8000",
                                    "emails": "zw@example.com"}))
    ingest(crm, ("C2", "customer", {"客户名称": "李娜", "手机": "13900139000"}))
    out = tmp_path / "golden.csv"
    assert run("export_golden", "--domain", "customer", "--format", "csv",
               "--output", str(out))[0] == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    # 张伟 and Zhang Wei share a mobile: one person, one golden record
    assert len(rows) == 2 and "李娜" in {r["name"] for r in rows}
    assert {r["name"] for r in rows} & {"张伟", "Zhang Wei"}
    assert rows[0]["record_status"] == "active" and "lineage" in rows[0]

    out = tmp_path / "golden.jsonl"
    run("export_golden", "--domain", "customer", "--format", "jsonl", "--with-sources",
        "--output", str(out))
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert list(lines[0])[:3] == ["golden_id", "source", "source_key"]
    assert {(r["source"], r["source_key"]) for r in lines} == {("crm", "C1"), ("erp", "E1"),
                                                                ("crm", "C2")}


def test_a_feed_row_marked_deleted_retires_its_golden_record(crm, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER.rstrip("\n") + ",_deleted\n"
                    "C1,张伟,138-0013-8000,1,2026-11-01 10:00:00,\n", encoding="utf-8")
    assert run("import_feed", "--source", "crm", "--domain", "customer", str(path))[0] == 0
    path.write_text(HEADER.rstrip("\n") + ",_deleted\n"
                    "C1,张伟,138-0013-8000,1,2026-11-02 10:00:00,true\n", encoding="utf-8")
    code, out, _ = run("import_feed", "--source", "crm", "--domain", "customer", str(path))
    assert code == 0 and "1 deleted" in out
    assert SourceRecord.objects.get(source_key="C1").status == "deleted"
    assert Customer.objects.get().status == "retired"
