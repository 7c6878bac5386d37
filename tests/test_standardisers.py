"""Tests for mdm.sources.standardisers: real-world inputs, bad inputs and matching keys."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from mdm.core.domains import DOMAINS
from mdm.sources.standardisers import (
    EXCEL_SERIAL_MAX,
    EXCEL_SERIAL_MIN,
    STANDARDISERS,
    StandardisationError,
    amount_currency_hint,
    company_name_key,
    company_region,
    has_han,
    national_id_birth_date,
    person_name_key,
    standardise,
)


def fullwidth(text: str) -> str:
    """``text`` in full-width forms, as typed with a Chinese input method."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


LP, RP, YUAN = "\uff08", "\uff09", "\uffe5"  # full-width brackets and yuan sign


def ok(kind: str, value: object, options: dict | None = None) -> object:
    return standardise(kind, value, options)


def fails(kind: str, value: object, message: str, options: dict | None = None) -> None:
    with pytest.raises(StandardisationError) as excinfo:
        standardise(kind, value, options)
    assert message in str(excinfo.value)


# --------------------------------------------------------------------------- registry


def test_registry_covers_every_kind_in_the_domains() -> None:
    kinds = {a.kind for domain in DOMAINS.values() for a in domain.attributes}
    assert kinds <= set(STANDARDISERS)
    assert set(STANDARDISERS) == {
        "text", "name", "code", "enum", "email", "phone", "national_id", "credit_code",
        "country", "date", "datetime", "amount", "currency", "sku", "gtin", "product_lines",
    }


@pytest.mark.parametrize("kind", sorted(STANDARDISERS))
@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000", "\t\n", "\u200b"])
def test_empty_values_are_none_for_every_kind(kind: str, empty: object) -> None:
    assert standardise(kind, empty) is None
    assert STANDARDISERS[kind](empty, {}) is None


def test_unknown_kind_is_a_key_error_not_a_data_error() -> None:
    with pytest.raises(KeyError, match="colour"):
        standardise("colour", "red")


def test_standardisation_error_is_a_value_error() -> None:
    assert issubclass(StandardisationError, ValueError)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("product_lines", "SKU-1:2:100.00"),
        ("amount", "¥1,000"),
        ("datetime", "2026-11-22 10:00"),
        ("date", 46348),
    ],
)
def test_results_are_json_serialisable(kind: str, value: object) -> None:
    json.dumps(standardise(kind, value))


# --------------------------------------------------------------------------- text kinds


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("text", "  Hello\u3000 World ", "Hello World"),
        ("text", fullwidth("ABC123"), "ABC123"),
        ("text", "北京市\t朝阳区\n建国路 88 号", "北京市 朝阳区 建国路 88 号"),
        ("text", "Caf\u0065\u0301", "Café"),
        ("text", 123, "123"),
        ("name", "张伟先生", "张伟"),
        ("name", "张伟 先生", "张伟"),
        ("name", "王女士", "王"),
        ("name", "李小姐", "李"),
        ("name", "Mr. Zhang Wei", "Zhang Wei"),
        ("name", "Mr Zhang Wei", "Zhang Wei"),
        ("name", "mrs  Mary   Smith", "Mary Smith"),
        ("name", "Ms. Li Na", "Li Na"),
        ("name", "Dr.Smith", "Smith"),
        ("name", "Dr Wang Fang", "Wang Fang"),
        ("name", "Drake Bell", "Drake Bell"),
        ("name", "Msimang Thabo", "Msimang Thabo"),
        ("name", "先生", "先生"),
        ("name", "ZHANG Wei", "ZHANG Wei"),
        ("code", " Gold  Tier ", "gold tier"),
        ("code", fullwidth("VIP"), "vip"),
        ("code", "KG", "kg"),
        ("enum", "Active", "active"),
        ("enum", " ORGANISATION ", "organisation"),
        ("sku", "sku 001 a", "SKU001A"),
        ("sku", fullwidth("sku-001"), "SKU-001"),
        ("sku", " ht-2026/0042 ", "HT-2026/0042"),
    ],
)
def test_text_kinds(kind: str, raw: object, expected: str) -> None:
    assert ok(kind, raw) == expected


# --------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Zhang.Wei@Example.COM", "zhang.wei@example.com"),
        ("  zhang.wei@example.com ", "zhang.wei@example.com"),
        ("mailto:zw@example.com", "zw@example.com"),
        ("MAILTO:ZW@EXAMPLE.COM", "zw@example.com"),
        (fullwidth("zw@") + "example.com", "zw@example.com"),
        (fullwidth("zw@example.com"), "zw@example.com"),
        ("<zw@example.com>", "zw@example.com"),
        ("first.last+tag@mail.example.com.cn", "first.last+tag@mail.example.com.cn"),
        ("user@例子.中国", "user@例子.中国"),
    ],
)
def test_email(raw: str, expected: str) -> None:
    assert ok("email", raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("zw@example", "the domain 'example' is not valid"),
        ("zw@@example.com", "exactly one '@'"),
        ("zw.example.com", "exactly one '@'"),
        ("a@b@example.com", "exactly one '@'"),
        ("@example.com", "the part before '@' is empty"),
        ("zw @example.com", "it contains spaces"),
        ("zw@.com", "the domain '.com' is not valid"),
        ("zw@example..com", "is not valid"),
        ("zw@example.com.", "is not valid"),
    ],
)
def test_email_errors(raw: str, message: str) -> None:
    fails("email", raw, f"'{raw}' is not a valid email address")
    fails("email", raw, message)


# --------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("86-13800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("(+86)13800138000", "+8613800138000"),
        ("+86-10-12345678", "+861012345678"),
        ("010-12345678", "+861012345678"),
        ("(010) 1234 5678", "+861012345678"),
        ("0755-8888 8888", "+8675588888888"),
        ("021-6123 4567", "+862161234567"),
        ("400-810-8888", "+864008108888"),
        (fullwidth("13800138000"), "+8613800138000"),
        ("010-12345678 ext 123", "+861012345678"),
        ("010-12345678 ext. 123", "+861012345678"),
        ("010-12345678x123", "+861012345678"),
        ("010-12345678转123", "+861012345678"),
        ("010-12345678 分机 8001", "+861012345678"),
        ("+1 650-253-0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+852 2123 4567", "+85221234567"),
        (13800138000, "+8613800138000"),
        (13800138000.0, "+8613800138000"),
    ],
)
def test_phone(raw: object, expected: str) -> None:
    assert ok("phone", raw) == expected


def test_phone_default_region_option() -> None:
    assert ok("phone", "(650) 253-0000", {"default_region": "US"}) == "+16502530000"
    assert ok("phone", "020 7946 0958", {"default_region": "gb"}) == "+442079460958"
    assert ok("phone", "+86 138 0013 8000", {"default_region": "US"}) == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("138-0013-800", "'138-0013-800' is not a valid phone number"),
        ("12345", "'12345' is not a valid phone number"),
        ("1", "is not a valid phone number"),
        ("1380013800O", "contains letters or symbols"),
        ("call me", "contains letters or symbols"),
        ("138-0013-8000 / 139-0013-9000", "contains letters or symbols"),
        ("+86 123 4567 8901", "is not a valid phone number"),
    ],
)
def test_phone_errors(raw: str, message: str) -> None:
    fails("phone", raw, message)


# --------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("360426199101010071", "360426199101010071"),
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("110105 19491231 002x", "11010519491231002X"),
        ("44030419900307123X", "44030419900307123X"),
        ("110101200002290042", "110101200002290042"),  # leap day
        (fullwidth("11010519491231002X"), "11010519491231002X"),
        ("360426910101007", "360426199101010071"),  # 15-digit first generation
    ],
)
def test_national_id(raw: str, expected: str) -> None:
    assert ok("national_id", raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("3604261991010100", "wrong length: expected 18 characters, got 16"),
        ("3604261991010100711", "wrong length: expected 18 characters, got 19"),
        ("360426199101010072", "has a wrong check digit"),
        ("11010519491231002Y", "may only contain digits and a final check character X"),
        ("36042619910101X071", "may only contain digits"),
        ("36042619911301007X", "has an invalid birth date (19911301)"),
        ("11010120010229004X", "has an invalid birth date (20010229)"),  # check digit right
        ("440304209912311233", "has an invalid birth date (20991231)"),  # in the future
        ("110101180001010013", "has an invalid birth date (18000101)"),
    ],
)
def test_national_id_errors(raw: str, message: str) -> None:
    fails("national_id", raw, f"national ID '{raw}'")
    fails("national_id", raw, message)


def test_national_id_birth_date() -> None:
    assert national_id_birth_date("11010519491231002X") == "1949-12-31"
    assert national_id_birth_date("360426 19910101 0071") == "1991-01-01"
    assert national_id_birth_date("360426910101007") == "1991-01-01"
    with pytest.raises(StandardisationError, match="wrong check digit"):
        national_id_birth_date("360426199101010072")
    with pytest.raises(StandardisationError, match="empty"):
        national_id_birth_date("  ")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("91110000600037341L", "91110000600037341L"),
        ("91110000600037341l", "91110000600037341L"),
        ("9111 0000 6000 3734 1L", "91110000600037341L"),
        ("91310000-MA1FL1234-Q", "91310000MA1FL1234Q"),
        ("91440300MA5F000007", "91440300MA5F000007"),
        ("53100000500021676K", "53100000500021676K"),
        ("121000004000000010", "121000004000000010"),
        (fullwidth("91110000600037341L"), "91110000600037341L"),
    ],
)
def test_credit_code(raw: str, expected: str) -> None:
    assert ok("credit_code", raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("91110000X", "wrong length: expected 18 characters, got 9"),
        ("91110000600037341LL", "got 19"),
        ("91110000600037341M", "has a wrong check digit"),
        ("91310000MA1FL1234R", "has a wrong check digit"),
        ("911100006000373I1L", "invalid characters I"),
        ("9111000060003734OZ", "invalid characters O, Z"),
        ("91A10000600037341L", "invalid region code 'A10000'"),
    ],
)
def test_credit_code_errors(raw: str, message: str) -> None:
    fails("credit_code", raw, f"credit code '{raw}'")
    fails("credit_code", raw, message)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4006381333931", "4006381333931"),
        ("400-638-133-393-1", "4006381333931"),
        (" 6901234567892 ", "6901234567892"),
        ("73513537", "73513537"),
        ("12345670", "12345670"),
        ("036000291452", "0036000291452"),  # UPC-A as EAN-13
        ("00036000291452", "0036000291452"),  # GTIN-14 with indicator 0
        ("98412345678908", "98412345678908"),
        (6901234567892, "6901234567892"),
    ],
)
def test_gtin(raw: object, expected: str) -> None:
    assert ok("gtin", raw) == expected


def test_gtin_spellings_of_one_product_agree() -> None:
    forms = {"036000291452", "0036000291452", "00036000291452", "0 36000 29145 2"}
    assert {ok("gtin", form) for form in forms} == {"0036000291452"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("4006381333932", "GTIN '4006381333932' has a wrong check digit"),
        ("12345", "wrong length: expected 8, 12, 13 or 14 digits, got 5"),
        ("400638133393100", "got 15"),
        ("40063813339a1", "may only contain digits"),
    ],
)
def test_gtin_errors(raw: str, message: str) -> None:
    fails("gtin", raw, message)


# --------------------------------------------------------------------------- country


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CN", "CN"), ("cn", "CN"), ("CHN", "CN"), ("China", "CN"), ("PRC", "CN"),
        ("P.R.C.", "CN"), ("People's Republic of China", "CN"), ("中国", "CN"),
        ("中华人民共和国", "CN"), ("中国大陆", "CN"),
        ("US", "US"), ("USA", "US"), ("U.S.A.", "US"), ("United States", "US"),
        ("the United States of America", "US"), ("美国", "US"),
        ("GB", "GB"), ("UK", "GB"), ("United Kingdom", "GB"), ("英国", "GB"),
        ("DE", "DE"), ("Germany", "DE"), ("德国", "DE"),
        ("JP", "JP"), ("japan", "JP"), ("日本", "JP"),
        ("HK", "HK"), ("Hong Kong", "HK"), ("香港", "HK"), ("中国香港", "HK"),
        ("SG", "SG"), ("Singapore", "SG"), ("新加坡", "SG"),
        (fullwidth("CN"), "CN"), ("  france ", "FR"), ("Türkiye", "TR"), ("韩国", "KR"),
    ],
)
def test_country(raw: str, expected: str) -> None:
    assert ok("country", raw) == expected


@pytest.mark.parametrize("raw", ["Narnia", "XX", "ZZZ", "Chinaa", "欧洲"])
def test_country_errors(raw: str) -> None:
    fails("country", raw, f"'{raw}' is not a known country")


# --------------------------------------------------------------------------- date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-22", "2026-11-22"),
        ("2026/11/22", "2026-11-22"),
        ("2026.11.22", "2026-11-22"),
        ("2026-1-5", "2026-01-05"),
        ("20261122", "2026-11-22"),
        ("2026年11月22日", "2026-11-22"),
        ("2026年1月5日", "2026-01-05"),
        (fullwidth("2026") + "年" + fullwidth("11") + "月" + fullwidth("22") + "日", "2026-11-22"),
        ("2026-11-22T10:00:00+08:00", "2026-11-22"),
        ("2026-11-22T23:30:00-05:00", "2026-11-22"),  # the date as written, not UTC
        ("2026-11-22 10:00:00", "2026-11-22"),
        ("2026年11月22日 10:30", "2026-11-22"),
        ("22-Nov-2026", "2026-11-22"),
        ("22 November 2026", "2026-11-22"),
        ("Nov 22, 2026", "2026-11-22"),
        ("November 22nd, 2026", "2026-11-22"),
        ("Sept. 1, 2026", "2026-09-01"),
        ("22/11/2026", "2026-11-22"),  # day > 12 decides
        ("11/22/2026", "2026-11-22"),
        ("22.11.2026", "2026-11-22"),
        ("03/03/2026", "2026-03-03"),  # same either way
        ("2024-02-29", "2024-02-29"),
        (46348, "2026-11-22"),
        (46348.75, "2026-11-22"),
        ("46348", "2026-11-22"),
        ("46348.0", "2026-11-22"),
        (Decimal("46348"), "2026-11-22"),
        (EXCEL_SERIAL_MIN, "1910-01-01"),
        (EXCEL_SERIAL_MAX, "2099-12-31"),
        (20261122, "2026-11-22"),
        (dt.date(2026, 11, 22), "2026-11-22"),
        (dt.datetime(2026, 11, 22, 23, 59), "2026-11-22"),
        (dt.datetime(2026, 11, 22, 23, 59, tzinfo=dt.UTC), "2026-11-22"),
    ],
)
def test_date(raw: object, expected: str) -> None:
    assert ok("date", raw) == expected


@pytest.mark.parametrize(
    ("raw", "options", "expected"),
    [
        ("03/04/2026", {"dayfirst": True}, "2026-04-03"),
        ("03/04/2026", {"dayfirst": False}, "2026-03-04"),
        ("03/04/2026", {"dayfirst": "true"}, "2026-04-03"),
        ("03/04/2026", {"date_format": "%m/%d/%Y"}, "2026-03-04"),
        ("03/04/2026", {"date_format": "%d/%m/%Y"}, "2026-04-03"),
        ("04.03.26", {"date_format": "%d.%m.%y"}, "2026-03-04"),
        ("03/04/2026 10:15", {"date_format": "%m/%d/%Y %H:%M"}, "2026-03-04"),
        ("2026-11-22", {"date_format": "%m/%d/%Y"}, "2026-11-22"),  # unambiguous still read
        ("22/11/2026", {"dayfirst": False}, None),  # dayfirst=False forces month 22
    ],
)
def test_date_options(raw: str, options: dict, expected: str | None) -> None:
    if expected is None:
        fails("date", raw, "is not a valid calendar date", options)
    else:
        assert ok("date", raw, options) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("03/04/2026", "ambiguous date '03/04/2026': set date_format on the field mapping"),
        ("12/11/2026", "ambiguous date"),
        ("2026-02-30", "'2026-02-30' is not a valid calendar date"),
        ("2026-13-01", "is not a valid calendar date"),
        ("2025-02-29", "is not a valid calendar date"),
        ("31/04/2026", "is not a valid calendar date"),
        ("20261332", "is not a valid calendar date"),
        ("2026年2月30日", "is not a valid calendar date"),
        ("hello", "'hello' is not a recognised date"),
        ("22/11/26", "is not a recognised date"),
        ("2026-11", "is not a recognised date"),
        ("22-Foo-2026", "unknown month name 'Foo'"),
        (2026, "numbers are read as Excel serial dates"),
        ("100", "accepted from 3654 (1910-01-01) to 73050 (2099-12-31)"),
        (-5, "Excel serial"),
        (EXCEL_SERIAL_MAX + 1, "Excel serial"),
        (True, "is not a recognised date"),
        (float("nan"), "is not a valid date"),
    ],
)
def test_date_errors(raw: object, message: str) -> None:
    fails("date", raw, message)


def test_date_format_mismatch_on_day_month_year() -> None:
    fails("date", "03-04-2026", "does not match date_format '%m/%d/%Y'",
          {"date_format": "%m/%d/%Y"})


# --------------------------------------------------------------------------- datetime


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-22T10:00:00+08:00", "2026-11-22T02:00:00+00:00"),
        ("2026-11-22T10:00:00+0800", "2026-11-22T02:00:00+00:00"),
        ("2026-11-22T10:00+08", "2026-11-22T02:00:00+00:00"),
        ("2026-11-22T02:00:00Z", "2026-11-22T02:00:00+00:00"),
        ("2026-11-22 02:00:00 UTC", "2026-11-22T02:00:00+00:00"),
        ("2026-11-22T10:00:00.123456+05:30", "2026-11-22T04:30:00.123456+00:00"),
        ("2026-11-22T10:00:00.5Z", "2026-11-22T10:00:00.500000+00:00"),
        ("2026-11-22 10:00:00", "2026-11-22T02:00:00+00:00"),  # Asia/Shanghai by default
        ("2026/11/22 10:00", "2026-11-22T02:00:00+00:00"),
        ("2026/11/22 9:05", "2026-11-22T01:05:00+00:00"),
        ("2026年11月22日 10:00", "2026-11-22T02:00:00+00:00"),
        ("2026年11月22日10时30分", "2026-11-22T02:30:00+00:00"),
        ("22/11/2026 10:00", "2026-11-22T02:00:00+00:00"),
        ("Nov 22, 2026 10:00", "2026-11-22T02:00:00+00:00"),
        ("2026-11-22", "2026-11-21T16:00:00+00:00"),
        ("20261122", "2026-11-21T16:00:00+00:00"),
        ("1763776800", "2025-11-22T02:00:00+00:00"),
        ("1763776800000", "2025-11-22T02:00:00+00:00"),
        ("1763776800.5", "2025-11-22T02:00:00.500000+00:00"),
        (1763776800, "2025-11-22T02:00:00+00:00"),
        (1763776800123, "2025-11-22T02:00:00.123000+00:00"),
        (46348.5, "2026-11-22T04:00:00+00:00"),  # Excel serial, local noon
        (dt.datetime(2026, 11, 22, 10, 0), "2026-11-22T02:00:00+00:00"),
        (dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC), "2026-11-22T10:00:00+00:00"),
        (dt.date(2026, 11, 22), "2026-11-21T16:00:00+00:00"),
    ],
)
def test_datetime(raw: object, expected: str) -> None:
    assert ok("datetime", raw) == expected


@pytest.mark.parametrize(
    ("raw", "options", "expected"),
    [
        ("2026-11-22 10:00", {"timezone": "Europe/London"}, "2026-11-22T10:00:00+00:00"),
        ("2026-07-01 10:00", {"timezone": "Europe/London"}, "2026-07-01T09:00:00+00:00"),
        ("2026-11-22 10:00", {"timezone": "America/New_York"}, "2026-11-22T15:00:00+00:00"),
        ("2026-11-22T10:00:00+08:00", {"timezone": "UTC"}, "2026-11-22T02:00:00+00:00"),
        ("03/04/2026 10:00", {"dayfirst": True}, "2026-04-03T02:00:00+00:00"),
        ("04.03.2026 10:00", {"date_format": "%d.%m.%Y %H:%M"}, "2026-03-04T02:00:00+00:00"),
    ],
)
def test_datetime_options(raw: str, options: dict, expected: str) -> None:
    assert ok("datetime", raw, options) == expected


@pytest.mark.parametrize(
    ("raw", "options", "message"),
    [
        ("2026-11-22 25:00", {}, "has an invalid time of day"),
        ("2026-11-22 10:61", {}, "has an invalid time of day"),
        ("2026-02-30 10:00", {}, "is not a valid calendar date"),
        ("03/04/2026 10:00", {}, "ambiguous date '03/04/2026'"),
        ("nope", {}, "'nope' is not a recognised date"),
        ("100", {}, "is not a plausible timestamp"),
        (-1763776800, {}, "is not a plausible timestamp"),
        ("1" * 15, {}, "is not a plausible timestamp"),
        ("2026-11-22 10:00", {"timezone": "Mars/Base"}, "unknown timezone 'Mars/Base'"),
    ],
)
def test_datetime_errors(raw: object, options: dict, message: str) -> None:
    fails("datetime", raw, message, options)


# --------------------------------------------------------------------------- amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1000000", "1000000.00"),
        ("1,000,000.00", "1000000.00"),
        ("1 000 000", "1000000.00"),
        ("1\u00a0000\u00a0000", "1000000.00"),
        ("1'000'000.25", "1000000.25"),
        ("¥1,000,000", "1000000.00"),
        (YUAN + "1,000,000.50", "1000000.50"),
        ("$1,250.5", "1250.50"),
        ("US$ 1,250.50", "1250.50"),
        ("RMB 1,000", "1000.00"),
        ("CNY1000", "1000.00"),
        ("1000 usd", "1000.00"),
        ("€ 99.99", "99.99"),
        ("1.000.000,50", "1000000.50"),
        ("1.000,5", "1000.50"),
        ("12,50", "12.50"),
        ("1,000", "1000.00"),  # a lone comma before three digits groups
        ("1.000", "1.000"),  # a lone dot is always a decimal mark
        ("1.2345", "1.2345"),
        ("(1,000.00)", "-1000.00"),
        ("-1,000", "-1000.00"),
        ("\u22121,000", "-1000.00"),
        ("-¥1,000", "-1000.00"),
        ("¥-1,000", "-1000.00"),
        ("1,000-", "-1000.00"),
        ("+1,000", "1000.00"),
        ("100万", "1000000.00"),
        ("100万元", "1000000.00"),
        ("RMB 100万", "1000000.00"),
        ("1.5亿", "150000000.00"),
        ("1.5亿元", "150000000.00"),
        ("3千万", "30000000.00"),
        ("1.23456万", "12345.60"),
        ("1,250,000元", "1250000.00"),
        ("1,250,000 人民币", "1250000.00"),
        (".5", "0.50"),
        ("0", "0.00"),
        ("-0", "0.00"),
        (1000000, "1000000.00"),
        (1250.5, "1250.50"),
        (0.1, "0.10"),
        (Decimal("1.2345"), "1.2345"),
        (Decimal("1E+3"), "1000.00"),
    ],
)
def test_amount(raw: object, expected: str) -> None:
    assert ok("amount", raw) == expected


def test_amount_decimal_separator_option() -> None:
    assert ok("amount", "1.000", {"decimal_separator": ","}) == "1000.00"
    assert ok("amount", "1,000", {"decimal_separator": ","}) == "1.000"
    assert ok("amount", "1,000", {"decimal_separator": "."}) == "1000.00"
    fails("amount", "1,000", "decimal_separator must be ',' or '.'", {"decimal_separator": ";"})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "'abc' is not a valid amount"),
        ("", None),
        ("1,00,0", "misplaced separators"),
        ("1..2", "misplaced separators"),
        ("1.000.000.5,2", "misplaced separators"),
        ("12,34,56", "misplaced separators"),
        ("XYZ 100", "unknown currency 'XYZ'"),
        ("$100元", "conflicting currencies"),
        ("--5", "conflicting signs"),
        ("(-5)", "conflicting signs"),
        ("1e5", "is not a valid amount"),
        ("about 100", "is not a valid amount"),
        ("100 apples", "is not a valid amount"),
        (True, "is not a valid amount"),
        (float("nan"), "is not a valid amount"),
        (float("inf"), "is not a valid amount"),
    ],
)
def test_amount_errors(raw: object, message: str | None) -> None:
    if message is None:
        assert ok("amount", raw) is None
    else:
        fails("amount", raw, message)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("¥1,000", "CNY"),
        (YUAN + "1,000", "CNY"),
        ("1,000元", "CNY"),
        ("100万元", "CNY"),
        ("RMB 1,000", "CNY"),
        ("人民币 500", "CNY"),
        ("$1,250.5", "USD"),
        ("US$ 5", "USD"),
        ("€5", "EUR"),
        ("£5", "GBP"),
        ("HK$5", "HKD"),
        ("JPY 500", "JPY"),
        ("1,000", None),
        ("1000", None),
        (1000, None),
        (None, None),
        ("", None),
        ("张元", None),  # a name, not an amount
        ("2026-11-22", None),
        ("ABC-100", None),
        ("Widget $5 pack", None),
    ],
)
def test_amount_currency_hint(raw: object, expected: str | None) -> None:
    assert amount_currency_hint(raw) == expected


# --------------------------------------------------------------------------- currency


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CNY", "CNY"), ("cny", "CNY"), ("RMB", "CNY"), ("rmb", "CNY"), ("人民币", "CNY"),
        ("元", "CNY"), ("¥", "CNY"), (YUAN, "CNY"),
        ("USD", "USD"), ("$", "USD"), ("US$", "USD"), ("美元", "USD"),
        ("EUR", "EUR"), ("€", "EUR"), ("欧元", "EUR"),
        ("GBP", "GBP"), ("£", "GBP"), ("英镑", "GBP"),
        ("JPY", "JPY"), ("日元", "JPY"),
        ("HKD", "HKD"), ("港币", "HKD"), ("港元", "HKD"), ("HK$", "HKD"),
        ("CHF", "CHF"), ("sgd", "SGD"), (" AUD ", "AUD"), (fullwidth("TWD"), "TWD"),
    ],
)
def test_currency(raw: str, expected: str) -> None:
    assert ok("currency", raw) == expected


@pytest.mark.parametrize("raw", ["XYZ", "ABC", "dollars", "US", "EURO", "123"])
def test_currency_errors(raw: str) -> None:
    fails("currency", raw, f"'{raw}' is not a known currency")


# --------------------------------------------------------------------------- product lines


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "SKU-1:2:100.00;SKU-2:1:50",
            [
                {"sku": "SKU-1", "quantity": "2", "unit_price": "100.00"},
                {"sku": "SKU-2", "quantity": "1", "unit_price": "50.00"},
            ],
        ),
        (
            "sku-1 : 2\nSKU-2:1.50\n",
            [
                {"sku": "SKU-1", "quantity": "2", "unit_price": None},
                {"sku": "SKU-2", "quantity": "1.5", "unit_price": None},
            ],
        ),
        (
            fullwidth("SKU-1:2:") + "¥1,000.00" + fullwidth(";SKU-2:3"),
            [
                {"sku": "SKU-1", "quantity": "2", "unit_price": "1000.00"},
                {"sku": "SKU-2", "quantity": "3", "unit_price": None},
            ],
        ),
        (
            [{"sku": "a-1", "quantity": 2, "unit_price": "¥10"}],
            [{"sku": "A-1", "quantity": "2", "unit_price": "10.00"}],
        ),
        (
            [{"sku": "A 1", "qty": "2.0", "price": 9.9, "note": "ignored"}],
            [{"sku": "A1", "quantity": "2", "unit_price": "9.90"}],
        ),
        (
            {"sku": "A-1", "quantity": Decimal("0.25")},
            [{"sku": "A-1", "quantity": "0.25", "unit_price": None}],
        ),
        (
            '[{"sku": "a", "quantity": "1.50", "unit_price": "2"}]',
            [{"sku": "A", "quantity": "1.5", "unit_price": "2.00"}],
        ),
        (["SKU-1:1", "SKU-2:2:5"], [
            {"sku": "SKU-1", "quantity": "1", "unit_price": None},
            {"sku": "SKU-2", "quantity": "2", "unit_price": "5.00"},
        ]),
        ([], None),
        (" ; ", None),
    ],
)
def test_product_lines(raw: object, expected: list | None) -> None:
    assert ok("product_lines", raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("SKU-1:abc", "line item 1 ('SKU-1'): quantity 'abc' is not a positive number"),
        ("SKU-1:1;SKU-2:0", "line item 2 ('SKU-2'): quantity '0' is not a positive number"),
        ("SKU-1:-2", "quantity '-2' is not a positive number"),
        ("SKU-1", "line item 1 'SKU-1' must look like sku:quantity[:unit_price]"),
        ("SKU-1:1:2:3", "must look like sku:quantity[:unit_price]"),
        ("SKU-1:1:cheap", "line item 1 ('SKU-1'): unit price 'cheap' is not a valid amount"),
        ([{"sku": "A", "quantity": None}], "line item 1 ('A'): quantity 'None'"),
        ([{"sku": "A", "quantity": True}], "quantity 'True' is not a positive number"),
        ([{"quantity": 1}], "line item 1: the sku is missing"),
        ([42], "line item 1: expected an object"),
        ("[not json", "product lines are not valid JSON"),
        ("[1, 2", "not valid JSON"),
    ],
)
def test_product_lines_errors(raw: object, message: str) -> None:
    fails("product_lines", raw, message)


# --------------------------------------------------------------------------- matching keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张伟", True), ("Zhang Wei", False), ("Zhang 伟", True), ("", False), (None, False),
        ("𠮷野家", True), (fullwidth("ABC"), False), ("한국", False), ("ひらがな", False),
    ],
)
def test_has_han(text: str | None, expected: bool) -> None:
    assert has_han(text) is expected


@pytest.mark.parametrize(
    "name",
    ["张伟", "Zhang Wei", "ZHANG Wei", "Wei Zhang", "zhang wei", "张 伟", "Zhangwei",
     "ZHANG, Wei", "Mr. Zhang Wei", "张伟先生", "Dr Wei ZHANG", "  Zhang\u3000Wei "],
)
def test_person_name_key_is_script_and_order_independent(name: str) -> None:
    assert person_name_key(name) == "wei zhang"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["欧阳娜娜", "Ouyang Nana", "Nana OUYANG", "OUYANG Na-Na"], "na na ou yang"),
        (["张晓明", "Xiaoming Zhang", "Zhang Xiao-Ming", "ZHANG XIAOMING"], "ming xiao zhang"),
        (["曾伟", "Zeng Wei"], "wei zeng"),  # surname reading, not ceng
        (["单田芳", "Shan Tianfang"], "fang shan tian"),
        (["吕布", "Lü Bu", "Lu Bu"], "bu lu"),
        (["王安", "Wang An", "Wang'an"], "an wang"),
        (["John Smith", "Smith, John", "Mr John SMITH"], "john smith"),
        (["José Müller", "Jose Muller"], "jose muller"),
        (["", None, "   "], ""),
    ],
)
def test_person_name_key_variants(names: list, expected: str) -> None:
    assert {person_name_key(name) for name in names} == {expected}


def test_person_name_key_keeps_distinct_people_apart() -> None:
    assert person_name_key("张伟") != person_name_key("张薇薇")
    assert person_name_key("Li Na") != person_name_key("Li Ning")
    # Without an apostrophe pinyin never starts a later syllable with a vowel.
    assert person_name_key("Wangan") == "gan wan"


CHINESE_COMPANY_VARIANTS = [
    "北京星辰科技有限公司",
    f"星辰科技{LP}北京{RP}有限责任公司",
    "星辰科技(北京)有限公司",
    "北京市星辰科技股份有限公司",
    "北京 星辰科技 有限公司",
    "星辰科技【北京】有限公司",
    "星辰科技有限公司",
    "星辰科技",
]


@pytest.mark.parametrize("name", CHINESE_COMPANY_VARIANTS)
def test_company_name_key_chinese_variants_agree(name: str) -> None:
    assert company_name_key(name) == "星辰科技"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("北京星辰科技有限公司上海分公司", "星辰科技上海分公司"),
        (f"星辰科技{LP}北京{RP}有限公司上海分公司", "星辰科技上海分公司"),
        ("中国银行股份有限公司北京分行", "中国银行北京分行"),
        ("广东省深圳市星辰科技有限公司", "星辰科技"),
        ("广东深圳星辰科技有限公司", "星辰科技"),
        ("深圳市星辰科技有限公司", "星辰科技"),
        ("内蒙古自治区星辰科技有限公司", "星辰科技"),
        ("广西壮族自治区星辰科技有限公司", "星辰科技"),
        ("香港特别行政区星辰科技有限公司", "星辰科技"),
        ("星辰科技集团有限公司", "星辰科技集团"),  # 集团 is kept
        ("星辰科技集团股份有限公司", "星辰科技集团"),
        (f"星辰投资合伙企业{LP}有限合伙{RP}", "星辰投资"),
        (f"星辰科技{LP}中国{RP}有限公司", "星辰科技"),
        ("TCL科技集团股份有限公司", "tcl科技集团"),
        ("深圳市场调研有限公司", "市场调研"),  # 深圳 + 市场, not 深圳市 + 场
        ("北京银行股份有限公司", "北京银行"),  # the region is the trade name
        ("青岛啤酒股份有限公司", "青岛啤酒"),
        ("中国石油天然气股份有限公司", "中国石油天然气"),  # a leading 中国 is a trade name
    ],
)
def test_company_name_key_chinese(name: str, expected: str) -> None:
    assert company_name_key(name) == expected


def test_company_name_key_branch_differs_from_head_office() -> None:
    head = company_name_key("北京星辰科技有限公司")
    branch = company_name_key("北京星辰科技有限公司上海分公司")
    assert head != branch
    assert branch.startswith(head)
    assert company_name_key("星辰科技有限公司") != company_name_key("辰星科技有限公司")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Xingchen Technology (Beijing) Co., Ltd.", "xingchen technology"),
        ("Beijing Xingchen Technology Co., Ltd.", "xingchen technology"),
        ("XINGCHEN TECHNOLOGY CO LTD", "xingchen technology"),
        ("Xingchen Technology Limited", "xingchen technology"),
        ("Xingchen Technology Shanghai Co., Ltd.", "xingchen technology"),
        ("Xingchen Technology (Hong Kong) Limited", "xingchen technology"),
        ("Hong Kong Xingchen Technology Ltd", "xingchen technology"),
        ("Xingchen Technology (China) Co., Ltd.", "xingchen technology"),
        ("Xingchen Technology Group Co., Ltd.", "xingchen technology group"),
        ("Acme, Inc.", "acme"),
        ("Acme Incorporated", "acme"),
        ("Acme L.L.C.", "acme"),
        ("Siemens AG", "siemens"),
        ("Robert Bosch GmbH", "robert bosch"),
        ("Société Générale S.A.", "societe generale"),
        ("Shell plc", "shell"),
        ("The Coca-Cola Company", "coca cola"),
        ("Johnson & Johnson", "johnson and johnson"),
        ("Beijing", "beijing"),  # nothing left without the region: keep it
        ("", ""),
        (None, ""),
    ],
)
def test_company_name_key_latin(name: str | None, expected: str) -> None:
    assert company_name_key(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("北京星辰科技有限公司", "北京"),
        ("北京市星辰科技股份有限公司", "北京"),
        (f"星辰科技{LP}北京{RP}有限责任公司", "北京"),
        ("广东省深圳市星辰科技有限公司", "深圳"),
        ("北京星辰科技有限公司上海分公司", "北京"),
        ("内蒙古自治区星辰科技有限公司", "内蒙古"),
        ("北京银行股份有限公司", "北京"),
        ("星辰科技有限公司", None),
        ("Xingchen Technology (Beijing) Co., Ltd.", "北京"),
        ("Shenzhen Xingchen Technology Co., Ltd.", "深圳"),
        ("Xingchen Technology (Hong Kong) Limited", "香港"),
        ("Acme, Inc.", None),
        ("", None),
    ],
)
def test_company_region(name: str, expected: str | None) -> None:
    assert company_region(name) == expected
