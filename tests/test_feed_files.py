"""Reading real CSV / JSON Lines files as partners export them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from connectors.base import ConnectorError
from connectors.feed_files import detect_encoding, detect_format, read_feed

CHINESE_CSV = "客户名称,手机\n张伟,138-0013-8000\n北京星辰科技有限公司,010-6552-1234\n"


def write(tmp_path: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def good(rows):
    return [r.data for r in rows if r.error is None]


def errors(rows):
    return [r.error for r in rows if r.error is not None]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_csv_reads_the_same_in_every_encoding(tmp_path, encoding):
    path = write(tmp_path, "customers.csv", CHINESE_CSV, encoding)

    rows = list(read_feed(path))

    assert errors(rows) == []
    assert good(rows) == [
        {"客户名称": "张伟", "手机": "138-0013-8000"},
        {"客户名称": "北京星辰科技有限公司", "手机": "010-6552-1234"},
    ]
    assert [r.line for r in rows] == [2, 3]


def test_encoding_detection_names_the_codec(tmp_path):
    assert detect_encoding(write(tmp_path, "a.csv", CHINESE_CSV, "utf-8-sig")) == "utf-8-sig"
    assert detect_encoding(write(tmp_path, "b.csv", CHINESE_CSV, "gb18030")) == "gb18030"
    assert detect_encoding(write(tmp_path, "c.csv", CHINESE_CSV)) == "utf-8"


def test_gb18030_detected_even_when_chinese_appears_late(tmp_path):
    filler = "".join(f"C{i:05d},ascii only\n" for i in range(20_000))  # > 64 KB of ASCII
    content = "客户名称,备注\n" + filler + "张伟,北京星辰科技有限公司\n"
    path = write(tmp_path, "late.csv", content, "gb18030")

    rows = list(read_feed(path))

    assert errors(rows) == []
    assert rows[-1].data == {"客户名称": "张伟", "备注": "北京星辰科技有限公司"}
    assert rows[-1].line == 20_002


def test_utf8_multibyte_character_across_read_boundaries(tmp_path):
    # Long runs of 3-byte characters make chunk boundaries fall inside characters.
    content = "名称,说明\n" + "".join(f"客户{i},{'星辰' * 5000}\n" for i in range(80))
    path = write(tmp_path, "wide.csv", content)

    rows = list(read_feed(path))

    assert detect_encoding(path) == "utf-8"
    assert errors(rows) == []
    assert len(rows) == 80 and rows[0].data["说明"] == "星辰" * 5000


def test_explicit_encoding_wins(tmp_path):
    path = write(tmp_path, "x.csv", "名称\n张伟\n", "gb18030")

    assert good(read_feed(path, encoding="gb18030")) == [{"名称": "张伟"}]
    rows = list(read_feed(path, encoding="utf-8"))
    # Read as UTF-8 the GB18030 bytes are invalid: an error, not a crash.
    assert rows and rows[0].data is None
    assert "not valid utf-8" in rows[0].error


def test_unknown_encoding_is_rejected_up_front(tmp_path):
    path = write(tmp_path, "x.csv", "a\n1\n")
    with pytest.raises(ConnectorError, match="unknown encoding"):
        read_feed(path, encoding="no-such-codec")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("semi.csv", "id;name;city\n1;Zhang Wei;Beijing\n2;Li Na;Shanghai\n"),
        ("tabs.tsv", "id\tname\tcity\n1\tZhang Wei\tBeijing\n2\tLi Na\tShanghai\n"),
        ("pipes.txt", "id|name|city\n1|Zhang Wei|Beijing\n2|Li Na|Shanghai\n"),
    ],
)
def test_delimiter_is_sniffed(tmp_path, name, content):
    rows = list(read_feed(write(tmp_path, name, content)))

    assert good(rows) == [
        {"id": "1", "name": "Zhang Wei", "city": "Beijing"},
        {"id": "2", "name": "Li Na", "city": "Shanghai"},
    ]


def test_header_names_are_stripped(tmp_path):
    path = write(tmp_path, "h.csv", " id , name \n1,x\n", "utf-8-sig")
    assert good(read_feed(path)) == [{"id": "1", "name": "x"}]


def test_quoted_fields_with_newlines_keep_physical_line_numbers(tmp_path):
    content = (
        "id,name,address\n"
        '1,"Zhang, Wei","Room 1\nBuilding 2\nBeijing"\n'
        "2,Li Na,Shanghai\n"
        '3,"Wang ""Jr"" Fang","line a\r\nline b"\r\n'
        "4,Too,Many,Fields\n"
    )
    rows = list(read_feed(write(tmp_path, "q.csv", content)))

    assert [r.line for r in rows] == [2, 5, 6, 8]
    assert rows[0].data == {
        "id": "1",
        "name": "Zhang, Wei",
        "address": "Room 1\nBuilding 2\nBeijing",
    }
    assert rows[2].data["name"] == 'Wang "Jr" Fang'
    assert rows[3].error == "line 8: 4 fields, header has 3"


def test_field_count_errors_name_line_and_counts_and_reading_goes_on(tmp_path):
    content = "a,b,c,d\n1,2,3,4\n1,2,3,4,5\n1,2,3\n5,6,7,8\n"
    rows = list(read_feed(write(tmp_path, "bad.csv", content)))

    assert errors(rows) == ["line 3: 5 fields, header has 4", "line 4: 3 fields, header has 4"]
    assert rows[1].raw == "1,2,3,4,5"
    assert good(rows) == [
        {"a": "1", "b": "2", "c": "3", "d": "4"},
        {"a": "5", "b": "6", "c": "7", "d": "8"},
    ]


def test_empty_values_stay_empty_and_blank_lines_are_ignored(tmp_path):
    content = "name,phone\nZhang Wei,\n\n,138\n\n\n   \n"
    rows = list(read_feed(write(tmp_path, "e.csv", content)))

    assert errors(rows) == []
    assert good(rows) == [{"name": "Zhang Wei", "phone": ""}, {"name": "", "phone": "138"}]
    assert [r.line for r in rows] == [2, 4]


def test_duplicate_header_is_one_error_and_nothing_else(tmp_path):
    rows = list(read_feed(write(tmp_path, "d.csv", "id,name,id\n1,2,3\n")))

    assert len(rows) == 1
    assert rows[0].line == 1 and "'id' appears more than once" in rows[0].error


def test_empty_and_header_only_files_have_no_rows(tmp_path):
    assert list(read_feed(write(tmp_path, "empty.csv", ""))) == []
    assert list(read_feed(write(tmp_path, "header.csv", "a,b\n"))) == []


def test_jsonl_bad_lines_are_reported_and_reading_goes_on(tmp_path):
    content = (
        '{"id": 1, "name": "张伟"}\n'
        '{"id": 2, "name": "broken\n'
        "\n"
        "[1, 2, 3]\n"
        "null\n"
        '{"id": 3, "name": "Li Na"}\n'
    )
    rows = list(read_feed(write(tmp_path, "feed.jsonl", content)))

    assert good(rows) == [{"id": 1, "name": "张伟"}, {"id": 3, "name": "Li Na"}]
    assert [r.line for r in rows] == [1, 2, 4, 5, 6]
    errs = errors(rows)
    assert errs[0].startswith("line 2: invalid JSON: Unterminated string")
    assert errs[1:] == [
        "line 4: expected a JSON object, got array",
        "line 5: expected a JSON object, got null",
    ]
    assert rows[1].raw == '{"id": 2, "name": "broken'


def test_jsonl_with_bom_and_gb18030(tmp_path):
    bom = write(tmp_path, "bom.ndjson", '{"名称": "张伟"}\n', "utf-8-sig")
    gb = write(tmp_path, "gb.json", '{"名称": "张伟"}\r\n', "gb18030")

    assert good(read_feed(bom)) == [{"名称": "张伟"}]
    assert good(read_feed(gb)) == [{"名称": "张伟"}]


def test_bytes_and_file_objects(tmp_path):
    data = CHINESE_CSV.encode("gb18030")

    assert len(good(read_feed(data, fmt="csv"))) == 2
    assert len(good(read_feed(io.BytesIO(data), fmt="csv"))) == 2
    with pytest.raises(ConnectorError, match="format is required"):
        read_feed(data)


def test_reading_streams_lazily(tmp_path):
    path = write(tmp_path, "big.csv", "id\n" + "".join(f"{i}\n" for i in range(100_000)))

    rows = read_feed(path)
    first = next(rows)
    rows.close()

    assert first.data == {"id": "0"}


def test_format_detection_by_extension():
    assert detect_format("a.CSV") == "csv"
    assert detect_format("a.tsv") == detect_format("a.txt") == "csv"
    assert detect_format("a.jsonl") == detect_format("a.ndjson") == detect_format("a.json")
    assert detect_format("x/y.json") == "jsonl"
    with pytest.raises(ConnectorError, match=r"customers\.xlsx"):
        detect_format("customers.xlsx")


def test_missing_file_is_a_connector_error(tmp_path):
    with pytest.raises(ConnectorError, match="cannot read"):
        list(read_feed(tmp_path / "nope.csv"))
