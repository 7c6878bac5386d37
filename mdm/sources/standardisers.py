"""Standardisers: turn raw source values into canonical attribute values.

Every attribute ``kind`` in :mod:`mdm.core.domains` has a standardiser in ``STANDARDISERS``,
called as ``fn(value, options)`` with the field mapping's options. Each returns a
JSON-serialisable value (``None`` for an empty one) or raises ``StandardisationError`` with a
message a data steward can act on. The matching keys at the end (``person_name_key``,
``company_name_key``, ``company_region``) feed record linkage.

Conventions a caller should know:

* phone: E.164; an extension (ext/x/#/转/分机) is accepted but dropped.
* national_id: a 15-digit first-generation number is upgraded to 18 digits.
* gtin: UPC-A (12 digits) and GTIN-14 with indicator 0 come back as 13 digits, so every
  spelling of one product agrees.
* date/datetime: a bare number is an Excel serial date in ``EXCEL_SERIAL_MIN`` to
  ``EXCEL_SERIAL_MAX`` (1910-01-01 to 2099-12-31); for datetime, larger numbers are epoch
  seconds (>= 1e8) or milliseconds (>= 1e11). An 8-digit number is YYYYMMDD.
* amount: the last of "," and "." is the decimal mark; a lone "," before exactly three
  digits groups thousands ("1,000"), a lone "." is always decimal ("1.000" is 1.000);
  option ``decimal_separator`` overrides. "¥" means CNY.

Pure Python: no Django imports, safe to import anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache, wraps
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from pypinyin import Style, lazy_pinyin
from stdnum import ean
from stdnum.cn import ric, uscc

Options = Mapping[str, Any]
Standardiser = Callable[[Any, Options], Any]

__all__ = [
    "EXCEL_SERIAL_MAX",
    "EXCEL_SERIAL_MIN",
    "ISO_4217",
    "STANDARDISERS",
    "StandardisationError",
    "amount_currency_hint",
    "company_name_key",
    "company_region",
    "has_han",
    "national_id_birth_date",
    "person_name_key",
    "standardise",
]


class StandardisationError(ValueError):
    """A raw value that cannot be standardised; the message says why."""


# --------------------------------------------------------------------------- helpers

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_NUMERIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.translate(_INVISIBLE).strip()
    if isinstance(value, (list, tuple, dict)):
        return not value
    return False


def _nfkc(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).translate(_INVISIBLE)


def _clean(value: Any) -> str:
    """NFKC-normalise, collapse internal whitespace and strip."""
    return " ".join(_nfkc(value).split())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _flag(value: Any) -> bool | None:
    """An option meant as a boolean; accepts "true"/"false"/"1"/"0" from configuration."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "y", "on"}


def _to_decimal(value: Any, raw: Any, what: str) -> Decimal:
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise StandardisationError(f"'{raw}' is not a valid {what}") from None
    if not number.is_finite():
        raise StandardisationError(f"'{raw}' is not a valid {what}")
    return number


def _optional(fn: Standardiser) -> Standardiser:
    """Return ``None`` for empty values instead of calling ``fn``."""

    @wraps(fn)
    def wrapper(value: Any, options: Options) -> Any:
        return None if _is_empty(value) else fn(value, options or {})

    return wrapper


# --------------------------------------------------------------------------- text kinds

_HONORIFIC_PREFIX = re.compile(r"^(?:(?:mr|mrs|ms|miss|mx|dr|prof)(?:\.\s*|\s+))+", re.IGNORECASE)
_HONORIFIC_SUFFIX = re.compile(r"\s*(?:先生|女士|小姐)$")
_HONORIFIC_WORDS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})


def _strip_honorifics(name: str) -> str:
    stripped = _HONORIFIC_SUFFIX.sub("", _HONORIFIC_PREFIX.sub("", name)).strip()
    return stripped or name


@_optional
def _std_text(value: Any, options: Options) -> str:
    return _clean(value)


@_optional
def _std_name(value: Any, options: Options) -> str:
    return _strip_honorifics(_clean(value))


@_optional
def _std_code(value: Any, options: Options) -> str:
    return _clean(value).lower()


@_optional
def _std_sku(value: Any, options: Options) -> str:
    return "".join(_clean(value).split()).upper()


# --------------------------------------------------------------------------- email

_EMAIL_DOMAIN = re.compile(r"(?:[^\s@.]+\.)+[^\s@.]+")


@_optional
def _std_email(value: Any, options: Options) -> str:
    raw = _clean(value)
    text = raw.strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):].strip()
    text = text.lower()
    problem = _email_problem(text)
    if problem:
        raise StandardisationError(f"'{raw}' is not a valid email address: {problem}")
    return text


def _email_problem(text: str) -> str | None:
    if any(ch.isspace() for ch in text):
        return "it contains spaces"
    if text.count("@") != 1:
        return "it must contain exactly one '@'"
    local, domain = text.split("@")
    if not local:
        return "the part before '@' is empty"
    if not _EMAIL_DOMAIN.fullmatch(domain):
        return f"the domain '{domain}' is not valid"
    return None


# --------------------------------------------------------------------------- phone

_PHONE_EXTENSION = re.compile(r"\s*(?:转|分机|ext\.?|extension|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)
_PHONE_CHARS = re.compile(r"[\d\s+()\-.]+")


@_optional
def _std_phone(value: Any, options: Options) -> str:
    """E.164 phone number; an extension (ext/x/#/转/分机) is accepted and dropped."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    raw = _clean(value)
    number = _PHONE_EXTENSION.sub("", raw)
    if not _PHONE_CHARS.fullmatch(number):
        raise StandardisationError(f"'{raw}' is not a valid phone number: it contains letters "
                                   "or symbols")
    region = str(options.get("default_region") or "CN").upper()
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        raise StandardisationError(f"'{raw}' is not a valid phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise StandardisationError(f"'{raw}' is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# --------------------------------------------------------------------------- identifiers


def _compact_id(value: Any) -> str:
    return re.sub(r"[\s\-]", "", _clean(value)).upper()


@_optional
def _std_national_id(value: Any, options: Options) -> str:
    """Resident identity number (18 chars); a 15-digit first-generation number is upgraded."""
    raw = _clean(value)
    number = _compact_id(value)
    if len(number) == 15 and number.isdigit():
        number = _upgrade_15_digit_id(number)
    if len(number) != 18:
        raise StandardisationError(
            f"national ID '{raw}' has the wrong length: expected 18 characters, got {len(number)}")
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise StandardisationError(
            f"national ID '{raw}' may only contain digits and a final check character X")
    _id_birth_date(number, raw)
    if ric.calc_check_digit(number) != number[-1]:
        raise StandardisationError(f"national ID '{raw}' has a wrong check digit")
    return number


def _upgrade_15_digit_id(number: str) -> str:
    upgraded = number[:6] + "19" + number[6:] + "0"
    return upgraded[:-1] + ric.calc_check_digit(upgraded)


def _id_birth_date(number: str, raw: str) -> dt.date:
    digits = number[6:14]
    try:
        birth = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1900 or birth > dt.date.today():
        raise StandardisationError(f"national ID '{raw}' has an invalid birth date ({digits})")
    return birth


def national_id_birth_date(number: str) -> str:
    """The ISO birth date encoded in a Chinese resident identity number."""
    standard = _std_national_id(number, {})
    if standard is None:
        raise StandardisationError("national ID is empty")
    return _id_birth_date(standard, standard).isoformat()


_USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")


@_optional
def _std_credit_code(value: Any, options: Options) -> str:
    """Unified social credit code (统一社会信用代码), 18 characters."""
    raw = _clean(value)
    code = _compact_id(value)
    if len(code) != 18:
        raise StandardisationError(
            f"credit code '{raw}' has the wrong length: expected 18 characters, got {len(code)}")
    invalid = sorted(set(code) - _USCC_ALPHABET)
    if invalid:
        raise StandardisationError(
            f"credit code '{raw}' contains invalid characters {', '.join(invalid)} "
            "(the letters I, O, S, V and Z are never used)")
    if not code[2:8].isdigit():
        raise StandardisationError(
            f"credit code '{raw}' has an invalid region code '{code[2:8]}' "
            "(characters 3 to 8 must be digits)")
    if uscc.calc_check_digit(code) != code[-1]:
        raise StandardisationError(f"credit code '{raw}' has a wrong check digit")
    return code


@_optional
def _std_gtin(value: Any, options: Options) -> str:
    """GTIN in canonical form: UPC-A as 13 digits, a GTIN-14 with indicator 0 as 13 digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    raw = _clean(value)
    number = re.sub(r"[\s\-]", "", raw)
    if not number.isdigit():
        raise StandardisationError(f"GTIN '{raw}' may only contain digits")
    if len(number) not in (8, 12, 13, 14):
        raise StandardisationError(
            f"GTIN '{raw}' has the wrong length: expected 8, 12, 13 or 14 digits, "
            f"got {len(number)}")
    if ean.calc_check_digit(number[:-1]) != number[-1]:
        raise StandardisationError(f"GTIN '{raw}' has a wrong check digit")
    if len(number) == 12:
        return "0" + number
    if len(number) == 14 and number[0] == "0":
        return number[1:]
    return number


# --------------------------------------------------------------------------- country

_COUNTRIES: tuple[tuple[str, ...], ...] = (
    ("CN", "CHN", "China", "PRC", "People's Republic of China", "Mainland China", "中国",
     "中华人民共和国", "中国大陆"),
    ("HK", "HKG", "Hong Kong", "Hong Kong SAR", "香港", "中国香港"),
    ("MO", "MAC", "Macao", "Macau", "澳门", "中国澳门"),
    ("TW", "TWN", "Taiwan", "台湾", "中国台湾"),
    ("US", "USA", "United States", "United States of America", "America", "美国"),
    ("GB", "GBR", "UK", "United Kingdom", "Great Britain", "Britain", "England", "英国"),
    ("DE", "DEU", "Germany", "德国"),
    ("FR", "FRA", "France", "法国"),
    ("JP", "JPN", "Japan", "日本"),
    ("KR", "KOR", "South Korea", "Korea", "Republic of Korea", "韩国"),
    ("SG", "SGP", "Singapore", "新加坡"),
    ("AU", "AUS", "Australia", "澳大利亚", "澳洲"),
    ("NZ", "NZL", "New Zealand", "新西兰"),
    ("CA", "CAN", "Canada", "加拿大"),
    ("IT", "ITA", "Italy", "意大利"),
    ("ES", "ESP", "Spain", "西班牙"),
    ("PT", "PRT", "Portugal", "葡萄牙"),
    ("NL", "NLD", "Netherlands", "Holland", "荷兰"),
    ("BE", "BEL", "Belgium", "比利时"),
    ("LU", "LUX", "Luxembourg", "卢森堡"),
    ("CH", "CHE", "Switzerland", "瑞士"),
    ("AT", "AUT", "Austria", "奥地利"),
    ("IE", "IRL", "Ireland", "爱尔兰"),
    ("SE", "SWE", "Sweden", "瑞典"),
    ("NO", "NOR", "Norway", "挪威"),
    ("DK", "DNK", "Denmark", "丹麦"),
    ("FI", "FIN", "Finland", "芬兰"),
    ("PL", "POL", "Poland", "波兰"),
    ("CZ", "CZE", "Czechia", "Czech Republic", "捷克"),
    ("HU", "HUN", "Hungary", "匈牙利"),
    ("GR", "GRC", "Greece", "希腊"),
    ("RU", "RUS", "Russia", "Russian Federation", "俄罗斯"),
    ("TR", "TUR", "Turkey", "Türkiye", "土耳其"),
    ("IN", "IND", "India", "印度"),
    ("PK", "PAK", "Pakistan", "巴基斯坦"),
    ("KZ", "KAZ", "Kazakhstan", "哈萨克斯坦"),
    ("TH", "THA", "Thailand", "泰国"),
    ("VN", "VNM", "Vietnam", "Viet Nam", "越南"),
    ("MY", "MYS", "Malaysia", "马来西亚"),
    ("ID", "IDN", "Indonesia", "印度尼西亚", "印尼"),
    ("PH", "PHL", "Philippines", "菲律宾"),
    ("AE", "ARE", "United Arab Emirates", "UAE", "阿联酋"),
    ("SA", "SAU", "Saudi Arabia", "沙特阿拉伯", "沙特"),
    ("IL", "ISR", "Israel", "以色列"),
    ("EG", "EGY", "Egypt", "埃及"),
    ("ZA", "ZAF", "South Africa", "南非"),
    ("BR", "BRA", "Brazil", "巴西"),
    ("MX", "MEX", "Mexico", "墨西哥"),
)


def _country_key(text: str) -> str:
    text = _clean(text).casefold().replace(".", "").replace("'", "")
    text = re.sub(r"^the\s+", "", text)
    return " ".join(text.replace(",", " ").split())


_COUNTRY_LOOKUP: dict[str, str] = {
    _country_key(alias): entry[0] for entry in _COUNTRIES for alias in entry
}


@_optional
def _std_country(value: Any, options: Options) -> str:
    """ISO 3166-1 alpha-2 code from a code, English or Chinese name."""
    code = _COUNTRY_LOOKUP.get(_country_key(value))
    if code is None:
        raise StandardisationError(f"'{_clean(value)}' is not a known country")
    return code


# --------------------------------------------------------------------------- dates and times

_EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_SERIAL_MIN = (dt.date(1910, 1, 1) - _EXCEL_EPOCH).days
EXCEL_SERIAL_MAX = (dt.date(2099, 12, 31) - _EXCEL_EPOCH).days

_MONTHS = {
    name: number
    for number, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")],
        start=1,
    )
    for name in names
}
_YEAR_FIRST = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YEAR_LAST = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})")
_DAY_MONTH_NAME = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]*([a-z]+)\.?[\s\-/.,]+(\d{4})", re.IGNORECASE)
_MONTH_NAME_DAY = re.compile(
    r"([a-z]+)\.?[\s\-/.]*(\d{1,2})(?:st|nd|rd|th)?,?[\s\-/.]+(\d{4})", re.IGNORECASE)
_TIME_SUFFIX = re.compile(
    r"(?P<date>.*?)(?:[Tt]|\s+|(?<=日))"
    r"(?P<h>\d{1,2})[:时点](?P<m>\d{2})(?:[:分](?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?秒?|分)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?")


def _make_date(year: int, month: int, day: int, raw: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise StandardisationError(f"'{raw}' is not a valid calendar date") from None


def _excel_date(serial: Decimal, raw: Any) -> dt.date:
    if not EXCEL_SERIAL_MIN <= serial < EXCEL_SERIAL_MAX + 1:
        raise StandardisationError(
            f"'{raw}' is not a date: numbers are read as Excel serial dates, accepted from "
            f"{EXCEL_SERIAL_MIN} (1910-01-01) to {EXCEL_SERIAL_MAX} (2099-12-31)")
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def _date_from_number(value: Any, raw: Any) -> dt.date:
    number = _to_decimal(value, raw, "date")
    if number == number.to_integral_value() and _COMPACT_DATE.fullmatch(str(int(number))):
        digits = str(int(number))
        return _make_date(int(digits[:4]), int(digits[4:6]), int(digits[6:]), str(raw))
    return _excel_date(number, raw)


def _parse_date_text(text: str, options: Options) -> dt.date:
    """A date from text: year-first, compact, month-name, then day/month/year forms."""
    match = _YEAR_FIRST.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return _make_date(year, month, day, text)
    named = _month_name_date(text)
    if named:
        return named
    match = _YEAR_LAST.fullmatch(text)
    if match:
        return _year_last_date(text, match, options)
    raise StandardisationError(f"'{text}' is not a recognised date")


def _month_name_date(text: str) -> dt.date | None:
    match = _DAY_MONTH_NAME.fullmatch(text)
    if match:
        day, month_name, year = match.groups()
    else:
        match = _MONTH_NAME_DAY.fullmatch(text)
        if not match:
            return None
        month_name, day, year = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        raise StandardisationError(f"'{text}' has an unknown month name '{month_name}'")
    return _make_date(int(year), month, int(day), text)


def _year_last_date(text: str, match: re.Match[str], options: Options) -> dt.date:
    first, second, year = (int(part) for part in match.groups())
    if options.get("date_format"):
        raise StandardisationError(
            f"'{text}' does not match date_format '{options['date_format']}'")
    dayfirst = _flag(options.get("dayfirst"))
    if dayfirst is None:
        if first > 12 or first == second:
            dayfirst = True
        elif second > 12:
            dayfirst = False
        else:
            raise StandardisationError(
                f"ambiguous date '{text}': set date_format on the field mapping "
                "(or dayfirst)")
    day, month = (first, second) if dayfirst else (second, first)
    return _make_date(int(year), month, day, text)


def _strptime(text: str, options: Options) -> dt.datetime | None:
    fmt = options.get("date_format")
    if not fmt:
        return None
    try:
        return dt.datetime.strptime(text, str(fmt))
    except ValueError:
        return None


@_optional
def _std_date(value: Any, options: Options) -> str:
    """ISO date; datetimes keep the date as written (no timezone conversion)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if _is_number(value):
        return _date_from_number(value, value).isoformat()
    text = _clean(value)
    parsed = _strptime(text, options)
    if parsed:
        return parsed.date().isoformat()
    if _NUMERIC.fullmatch(text):
        return _date_from_number(text, text).isoformat()
    timed = _TIME_SUFFIX.fullmatch(text)
    if timed and timed["date"].strip():
        text = timed["date"].strip(" ,")
    return _parse_date_text(text, options).isoformat()


def _zone(options: Options) -> ZoneInfo:
    name = str(options.get("timezone") or "Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        raise StandardisationError(f"unknown timezone '{name}' in the field mapping") from None


def _offset(text: str) -> dt.tzinfo:
    if text.upper() in {"Z", "UTC", "GMT"}:
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
    return dt.timezone(sign * dt.timedelta(minutes=minutes))


def _parse_datetime_text(text: str, options: Options) -> dt.datetime:
    timed = _TIME_SUFFIX.fullmatch(text)
    if not timed or not timed["date"].strip():
        return dt.datetime.combine(_parse_date_text(text, options), dt.time())
    day = _parse_date_text(timed["date"].strip(" ,"), options)
    fraction = int((timed["f"] or "0")[:6].ljust(6, "0"))
    try:
        clock = dt.time(int(timed["h"]), int(timed["m"]), int(timed["s"] or 0), fraction)
    except ValueError:
        raise StandardisationError(f"'{text}' has an invalid time of day") from None
    tzinfo = _offset(timed["tz"]) if timed["tz"] else None
    return dt.datetime.combine(day, clock, tzinfo=tzinfo)


def _datetime_from_number(value: Any, raw: Any) -> dt.datetime:
    """Excel serial (local time), epoch milliseconds (>= 1e11) or epoch seconds (>= 1e8)."""
    number = _to_decimal(value, raw, "timestamp")
    if EXCEL_SERIAL_MIN <= number < EXCEL_SERIAL_MAX + 1:
        seconds = round(number * 86400)
        return dt.datetime(1899, 12, 30) + dt.timedelta(seconds=int(seconds))
    if Decimal("1e11") <= number < Decimal("1e14"):
        number /= 1000
    elif not Decimal("1e8") <= number < Decimal("1e11"):
        raise StandardisationError(
            f"'{raw}' is not a plausible timestamp: expected epoch seconds, epoch "
            "milliseconds or an Excel serial date")
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=float(number))


@_optional
def _std_datetime(value: Any, options: Options) -> str:
    """ISO 8601 in UTC; naive values are read in option ``timezone`` (Asia/Shanghai)."""
    zone = _zone(options)
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif _is_number(value):
        moment = _datetime_from_number(value, value)
    else:
        text = _clean(value)
        moment = _strptime(text, options)
        if moment is None and _NUMERIC.fullmatch(text) and not _COMPACT_DATE.fullmatch(text):
            moment = _datetime_from_number(text, text)
        if moment is None:
            moment = _parse_datetime_text(text, options)
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC).isoformat()


# --------------------------------------------------------------------------- currency

ISO_4217 = frozenset({
    "AED", "ARS", "AUD", "BDT", "BHD", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK",
    "EGP", "EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KES", "KRW", "KWD",
    "KZT", "LKR", "MOP", "MXN", "MYR", "NGN", "NOK", "NZD", "OMR", "PEN", "PHP", "PKR", "PLN",
    "QAR", "RON", "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VND", "ZAR",
})
_CURRENCY_ALIASES: dict[str, str] = {
    "RMB": "CNY", "人民币": "CNY", "元": "CNY", "圆": "CNY", "¥": "CNY",
    "$": "USD", "US$": "USD", "USD$": "USD", "美元": "USD", "美金": "USD",
    "€": "EUR", "欧元": "EUR", "£": "GBP", "英镑": "GBP", "日元": "JPY", "円": "JPY",
    "HK$": "HKD", "港币": "HKD", "港元": "HKD", "港幣": "HKD", "NT$": "TWD", "新台币": "TWD",
    "S$": "SGD", "新加坡元": "SGD", "A$": "AUD", "澳元": "AUD", "C$": "CAD", "加元": "CAD",
    "瑞士法郎": "CHF", "韩元": "KRW", "₩": "KRW", "卢布": "RUB", "₽": "RUB", "₹": "INR",
}


def _currency_code(text: str) -> str | None:
    key = _clean(text).upper()
    return _CURRENCY_ALIASES.get(key) or (key if key in ISO_4217 else None)


@_optional
def _std_currency(value: Any, options: Options) -> str:
    """ISO 4217 code from a code, symbol or Chinese/English word."""
    code = _currency_code(value)
    if code is None:
        raise StandardisationError(f"'{_clean(value)}' is not a known currency")
    return code


# --------------------------------------------------------------------------- amount

_MULTIPLIERS = {"万亿": Decimal("1e12"), "千万": Decimal("1e7"), "百万": Decimal("1e6"),
                "亿": Decimal("1e8"), "万": Decimal("1e4"), "千": Decimal("1e3")}
_CURRENCY_TOKEN = "|".join(
    re.escape(token) for token in sorted(_CURRENCY_ALIASES, key=len, reverse=True)
) + "|[A-Za-z]{3}"
_AMOUNT = re.compile(
    rf"(?P<s1>[-+])?\s*(?P<c1>{_CURRENCY_TOKEN})?\s*(?P<s2>[-+])?\s*"
    rf"(?P<num>[\d.,' ]*\d[\d.,' ]*?)\s*(?P<mult>{'|'.join(_MULTIPLIERS)})?\s*"
    rf"(?P<c2>{_CURRENCY_TOKEN})?\s*(?P<s3>-)?",
    re.IGNORECASE,
)


def _parse_amount(value: Any, options: Options) -> tuple[Decimal, str | None]:
    """The amount and the ISO currency named in it, if any."""
    if _is_number(value):
        number = _to_decimal(value, value, "amount")
        return number, None
    raw = _clean(value)
    text = raw.replace("\u2212", "-")
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1].strip()
    match = _AMOUNT.fullmatch(text)
    if not match:
        raise StandardisationError(f"'{raw}' is not a valid amount")
    currency = _amount_currency(match, raw)
    number = _parse_number(match["num"], options.get("decimal_separator"), raw)
    if match["mult"]:
        number = (number * _MULTIPLIERS[match["mult"]]).normalize()
    signs = [match[name] for name in ("s1", "s2", "s3") if match[name]]
    if len(signs) > 1 or (negative and signs):
        raise StandardisationError(f"'{raw}' is not a valid amount: conflicting signs")
    if negative or signs == ["-"]:
        number = -number
    return number, currency


def _amount_currency(match: re.Match[str], raw: str) -> str | None:
    codes = []
    for token in (match["c1"], match["c2"]):
        if token:
            code = _currency_code(token)
            if code is None:
                raise StandardisationError(f"'{raw}' is not a valid amount: unknown currency "
                                           f"'{token}'")
            codes.append(code)
    if len(set(codes)) > 1:
        raise StandardisationError(f"'{raw}' is not a valid amount: conflicting currencies")
    return codes[0] if codes else None


def _guess_decimal_separator(num: str) -> str:
    """The last of ',' and '.' is the decimal mark; a lone ',' before 3 digits groups."""
    if "," in num and "." in num:
        return "," if num.rfind(",") > num.rfind(".") else "."
    if "," in num:
        single = num.count(",") == 1 and not re.fullmatch(r"\d{1,3},\d{3}", num)
        return "," if single else "."
    if num.count(".") > 1:
        return ","
    return "."


def _parse_number(num: str, decimal_separator: Any, raw: str) -> Decimal:
    num = num.replace(" ", "").replace("'", "")
    if decimal_separator not in (None, "", ",", "."):
        raise StandardisationError(
            f"decimal_separator must be ',' or '.', not '{decimal_separator}'")
    decimal = decimal_separator or _guess_decimal_separator(num)
    group = "," if decimal == "." else "."
    whole, _, fraction = num.partition(decimal)
    grouped = rf"\d{{1,3}}(?:{re.escape(group)}\d{{3}})+"
    well_formed = re.fullmatch(rf"\d*|{grouped}", whole) and re.fullmatch(r"\d*", fraction)
    if not well_formed or not (whole or fraction):
        raise StandardisationError(f"'{raw}' is not a valid amount: misplaced separators")
    digits = whole.replace(group, "") or "0"
    return Decimal(f"{digits}.{fraction}" if fraction else digits)


def _format_amount(number: Decimal) -> str:
    if number == 0:
        number = abs(number)
    if number.as_tuple().exponent > -2:
        number = number.quantize(Decimal("0.01"))
    return format(number, "f")


@_optional
def _std_amount(value: Any, options: Options) -> str:
    """Exact decimal string keeping the value's scale, at least 2 places ("1000000.00")."""
    number, _ = _parse_amount(value, options)
    return _format_amount(number)


def amount_currency_hint(value: Any) -> str | None:
    """The ISO currency a raw amount names ("¥1,000" -> "CNY"); None if none or not an amount."""
    if _is_empty(value) or _is_number(value):
        return None
    try:
        return _parse_amount(value, {})[1]
    except StandardisationError:
        return None


# --------------------------------------------------------------------------- product lines


def _quantity(value: Any, label: str) -> str:
    number = None
    if not _is_empty(value) and not isinstance(value, bool):
        try:
            number = _to_decimal(value if _is_number(value) else _clean(value), value, "number")
        except StandardisationError:
            number = None
    if number is None or number <= 0:
        raise StandardisationError(f"{label}: quantity '{value}' is not a positive number")
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _product_line(item: Any, index: int) -> dict[str, Any]:
    if isinstance(item, str):
        item = _split_line_text(item, index)
    if not isinstance(item, Mapping):
        raise StandardisationError(f"line item {index}: expected an object, got '{item}'")
    sku = _std_sku(item.get("sku"), {})
    label = f"line item {index} ('{sku}')" if sku else f"line item {index}"
    if sku is None:
        raise StandardisationError(f"{label}: the sku is missing")
    quantity = _quantity(item.get("quantity", item.get("qty")), label)
    try:
        price = _std_amount(item.get("unit_price", item.get("price")), {})
    except StandardisationError as exc:
        raise StandardisationError(f"{label}: unit price {exc}") from None
    return {"sku": sku, "quantity": quantity, "unit_price": price}


def _split_line_text(text: str, index: int) -> dict[str, str]:
    parts = [part.strip() for part in _clean(text).split(":")]
    if len(parts) not in (2, 3):
        raise StandardisationError(
            f"line item {index} '{text.strip()}' must look like sku:quantity[:unit_price]")
    return dict(zip(("sku", "quantity", "unit_price"), parts, strict=False))


def _line_items(value: Any) -> Iterable[Any]:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, (list, tuple)):
        return value
    text = _nfkc(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise StandardisationError("product lines are not valid JSON") from None
        if isinstance(parsed, (list, dict)):
            return _line_items(parsed)
        raise StandardisationError("product lines JSON must be a list of line items")
    return [line for line in re.split(r"[;\n]", text) if line.strip()]


@_optional
def _std_product_lines(value: Any, options: Options) -> list[dict[str, Any]] | None:
    """A list of {sku, quantity, unit_price}, from objects or "SKU-1:2:100.00;SKU-2:1"."""
    lines = [_product_line(item, index) for index, item in enumerate(_line_items(value), 1)]
    return lines or None


# --------------------------------------------------------------------------- registry

STANDARDISERS: dict[str, Standardiser] = {
    "text": _std_text,
    "name": _std_name,
    "code": _std_code,
    "enum": _std_code,
    "email": _std_email,
    "phone": _std_phone,
    "national_id": _std_national_id,
    "credit_code": _std_credit_code,
    "country": _std_country,
    "date": _std_date,
    "datetime": _std_datetime,
    "amount": _std_amount,
    "currency": _std_currency,
    "sku": _std_sku,
    "gtin": _std_gtin,
    "product_lines": _std_product_lines,
}


def standardise(kind: str, value: Any, options: Options | None = None) -> Any:
    """Standardise ``value`` as attribute ``kind``; ``KeyError`` for an unknown kind."""
    try:
        fn = STANDARDISERS[kind]
    except KeyError:
        raise KeyError(f"no standardiser for attribute kind '{kind}'") from None
    return fn(value, options or {})


# --------------------------------------------------------------------------- person names

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_CHAR = re.compile(f"[{_HAN}]")
_NAME_TOKEN = re.compile(rf"[{_HAN}]+|(?:(?![{_HAN}])[^\W\d_])+|\d+")
_PINYIN_TABLE = """
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can
cang cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai
chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den
deng di dia dian diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang
fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang
gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo
ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken
keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian
liang liao lie lin ling liu lo long lou lu luan lue lun luo ma mai man mang mao me mei men
meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng ni nian
niang niao nie nin ning niu nong nou nu nuan nue nun nuo o ou pa pai pan pang pao pei pen
peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu
quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang
sao se sen seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan
shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te teng ti tian
tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian
xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you
yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen
zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun
zuo
"""
_PINYIN_SYLLABLES = frozenset(_PINYIN_TABLE.split())
# Surnames whose reading differs from the character's everyday reading.
_SURNAME_READINGS = {
    "曾": "zeng", "单": "shan", "解": "xie", "朴": "piao", "仇": "qiu", "区": "ou", "查": "zha",
    "翟": "zhai", "乐": "yue", "缪": "miao", "覃": "qin", "盖": "ge", "种": "chong",
}


def has_han(text: Any) -> bool:
    """Whether ``text`` contains a Chinese (Han) character."""
    return bool(text) and _HAN_CHAR.search(str(text)) is not None


def _han_syllables(run: str, first: bool) -> list[str]:
    syllables = [s.replace("v", "u") for s in lazy_pinyin(run, style=Style.NORMAL)]
    if first and run[0] in _SURNAME_READINGS:
        syllables[0] = _SURNAME_READINGS[run[0]]
    return syllables


@lru_cache(maxsize=4096)
def _segment_pinyin(token: str) -> tuple[str, ...] | None:
    """Split "zhangwei" into ("zhang", "wei"); None if ``token`` is not all pinyin.

    Pinyin writes an apostrophe before a non-initial syllable starting with a, o or e
    ("Xi'an"), so without one such a split is never taken: "nana" is "na na", not "nan a".
    Remaining ties go to the fewest syllables, then the longer first syllable.
    """
    best: list[tuple[str, ...] | None] = [None] * len(token) + [()]
    for start in range(len(token) - 1, -1, -1):
        for end in range(min(len(token), start + 6), start, -1):
            rest = best[end]
            syllable = token[start:end]
            if rest is None or syllable not in _PINYIN_SYLLABLES:
                continue
            if start and syllable[0] in "aoe":
                continue
            current = best[start]
            if current is None or len(rest) + 1 < len(current):
                best[start] = (syllable, *rest)
    return best[0]


def _latin_syllables(token: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", token.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if plain in _HONORIFIC_WORDS:
        return []
    segmented = _segment_pinyin(plain) if plain.isascii() else None
    return list(segmented or (plain,))


def person_name_key(name: Any) -> str:
    """Script-independent key: "张伟", "Zhang Wei", "Wei ZHANG", "Zhangwei" -> "wei zhang"."""
    if _is_empty(name):
        return ""
    tokens: list[str] = []
    seen_han = False
    for run in _NAME_TOKEN.findall(_strip_honorifics(_clean(name))):
        if has_han(run):
            tokens.extend(_han_syllables(run, first=not seen_han))
            seen_han = True
        else:
            tokens.extend(_latin_syllables(run))
    return " ".join(sorted(tokens))


# --------------------------------------------------------------------------- company names

# (canonical name, English names, official full names besides the suffixed forms)
_PROVINCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("北京", "beijing peking", ()), ("天津", "tianjin", ()), ("上海", "shanghai", ()),
    ("重庆", "chongqing", ()), ("河北", "hebei", ()), ("山西", "shanxi", ()),
    ("辽宁", "liaoning", ()), ("吉林", "jilin", ()), ("黑龙江", "heilongjiang", ()),
    ("江苏", "jiangsu", ()), ("浙江", "zhejiang", ()), ("安徽", "anhui", ()),
    ("福建", "fujian", ()), ("江西", "jiangxi", ()), ("山东", "shandong", ()),
    ("河南", "henan", ()), ("湖北", "hubei", ()), ("湖南", "hunan", ()),
    ("广东", "guangdong", ()), ("海南", "hainan", ()), ("四川", "sichuan", ()),
    ("贵州", "guizhou", ()), ("云南", "yunnan", ()), ("陕西", "shaanxi", ()),
    ("甘肃", "gansu", ()), ("青海", "qinghai", ()), ("台湾", "taiwan", ()),
    ("内蒙古", "inner_mongolia neimenggu", ("内蒙古自治区",)),
    ("广西", "guangxi", ("广西壮族自治区",)), ("西藏", "tibet xizang", ("西藏自治区",)),
    ("宁夏", "ningxia", ("宁夏回族自治区",)), ("新疆", "xinjiang", ("新疆维吾尔自治区",)),
    ("香港", "hong_kong hongkong", ("香港特别行政区",)),
    ("澳门", "macau macao", ("澳门特别行政区",)),
)
_MUNICIPALITIES = frozenset({"北京", "天津", "上海", "重庆"})
_CITIES: tuple[tuple[str, str], ...] = (
    ("石家庄", "shijiazhuang"), ("太原", "taiyuan"), ("呼和浩特", "hohhot"), ("沈阳", "shenyang"),
    ("长春", "changchun"), ("哈尔滨", "harbin"), ("南京", "nanjing"), ("杭州", "hangzhou"),
    ("合肥", "hefei"), ("福州", "fuzhou"), ("南昌", "nanchang"), ("济南", "jinan"),
    ("郑州", "zhengzhou"), ("武汉", "wuhan"), ("长沙", "changsha"), ("广州", "guangzhou"),
    ("南宁", "nanning"), ("海口", "haikou"), ("成都", "chengdu"), ("贵阳", "guiyang"),
    ("昆明", "kunming"), ("拉萨", "lhasa"), ("西安", "xian"), ("兰州", "lanzhou"),
    ("西宁", "xining"), ("银川", "yinchuan"), ("乌鲁木齐", "urumqi"), ("台北", "taipei"),
    ("深圳", "shenzhen"), ("大连", "dalian"), ("青岛", "qingdao"), ("宁波", "ningbo"),
    ("厦门", "xiamen"), ("苏州", "suzhou"), ("无锡", "wuxi"), ("常州", "changzhou"),
    ("南通", "nantong"), ("徐州", "xuzhou"), ("扬州", "yangzhou"), ("盐城", "yancheng"),
    ("镇江", "zhenjiang"), ("泰州", ""), ("昆山", "kunshan"), ("温州", "wenzhou"),
    ("绍兴", "shaoxing"), ("嘉兴", "jiaxing"), ("金华", "jinhua"), ("义乌", "yiwu"),
    ("台州", "taizhou"), ("湖州", "huzhou"), ("佛山", "foshan"), ("东莞", "dongguan"),
    ("珠海", "zhuhai"), ("中山", "zhongshan"), ("惠州", "huizhou"), ("汕头", "shantou"),
    ("江门", "jiangmen"), ("泉州", "quanzhou"), ("漳州", "zhangzhou"), ("烟台", "yantai"),
    ("潍坊", "weifang"), ("临沂", "linyi"), ("淄博", "zibo"), ("济宁", "jining"),
    ("唐山", "tangshan"), ("保定", "baoding"), ("廊坊", "langfang"), ("洛阳", "luoyang"),
    ("宜昌", "yichang"), ("襄阳", "xiangyang"), ("株洲", "zhuzhou"), ("芜湖", "wuhu"),
    ("绵阳", "mianyang"), ("柳州", "liuzhou"), ("桂林", "guilin"), ("三亚", "sanya"),
    ("包头", "baotou"), ("鄂尔多斯", "ordos"), ("大庆", "daqing"), ("鞍山", "anshan"),
    ("赣州", "ganzhou"), ("遵义", "zunyi"), ("宝鸡", "baoji"), ("咸阳", "xianyang"),
)


def _region_tables() -> tuple[dict[str, str], dict[str, str]]:
    """Chinese region spellings and English region names, each mapped to the canonical name."""
    chinese: dict[str, str] = {}
    english: dict[str, str] = {}
    for name, latin, official in _PROVINCES:
        suffix = "市" if name in _MUNICIPALITIES else "省"
        for spelling in (name, name + suffix, *official):
            chinese[spelling] = name
        english.update(dict.fromkeys(latin.replace("_", "").split(), name))
    for name, latin in _CITIES:
        chinese.setdefault(name, name)
        chinese.setdefault(name + "市", name)
        english.update(dict.fromkeys(latin.split(), name))
    return chinese, english


_ZH_REGIONS, _EN_REGIONS = _region_tables()
_ZH_REGIONS_LONGEST_FIRST = sorted(_ZH_REGIONS, key=len, reverse=True)
# Words that start with 市 after a city name: "深圳市场" is 深圳 + 市场, not 深圳市 + 场.
_SHI_WORDS = ("场", "政", "民", "容", "郊")
_ZH_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "责任有限公司", "有限公司", "股份公司",
                   "合伙企业", "总公司", "公司")
_ZH_BRACKET_DROP = frozenset({"中国", "有限合伙", "普通合伙", "特殊普通合伙"})
_ZH_BRANCH = re.compile(
    rf"(?P<head>.+?(?:{'|'.join(_ZH_LEGAL_FORMS)}))"
    r"(?P<branch>.+(?:分公司|分厂|分店|分部|办事处|代表处|营业部|分行|支行))")
_EN_LEGAL_FORMS = frozenset({
    "co", "company", "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "corp",
    "corporation", "gmbh", "ag", "plc", "sa", "bv", "nv", "pte", "pty", "kk", "srl", "sarl",
    "spa", "oy", "ab",
})
_DOTTED_ABBREVIATION = re.compile(r"(?<!\w)(?:[a-z]\.)+[a-z]?(?!\w)")  # s.a., l.l.c.
_BRACKETS = re.compile(r"[(\[【]([^()\[\]【】]*)[)\]】]")


def _zh_region_prefix(text: str) -> str | None:
    for spelling in _ZH_REGIONS_LONGEST_FIRST:
        if text.startswith(spelling):
            rest = text[len(spelling):]
            if spelling.endswith("市") and rest.startswith(_SHI_WORDS):
                continue
            if len(rest) >= 2:
                return spelling
    return None


def _zh_company(text: str) -> tuple[str, str | None]:
    """(stem, region) of a Chinese company name, compact and lower-cased."""
    regions: list[str] = []

    def bracket(match: re.Match[str]) -> str:
        inner = match[1]
        if inner in _ZH_REGIONS:
            regions.append(_ZH_REGIONS[inner])
            return ""
        return "" if inner in _ZH_BRACKET_DROP else inner

    text = _BRACKETS.sub(bracket, text)
    branch = ""
    split = _ZH_BRANCH.fullmatch(text)
    if split:
        text, branch = split["head"], split["branch"]
    head, leading = text, []
    while (prefix := _zh_region_prefix(text)) is not None:
        leading.append(_ZH_REGIONS[prefix])
        text = text[len(prefix):]
    stem = _strip_zh_legal_form(text)
    if leading and len(stem) <= 2:  # the region is the trade name: 北京银行, 青岛啤酒
        stem = _strip_zh_legal_form(head)
    region = leading[-1] if leading else (regions[0] if regions else None)
    return stem + branch, region


def _strip_zh_legal_form(text: str) -> str:
    for form in _ZH_LEGAL_FORMS:
        if text.endswith(form) and len(text) > len(form):
            return text[: -len(form)]
    return text


def _en_region(tokens: list[str], at_start: bool) -> tuple[int, str | None]:
    """How many tokens at the start (or end) name a region, and the region."""
    for width in (2, 1):
        if len(tokens) <= width:
            continue
        part = tokens[:width] if at_start else tokens[-width:]
        region = _EN_REGIONS.get("".join(part))
        if region:
            return width, region
    return 0, None


def _en_company(text: str) -> tuple[str, str | None]:
    """(stem, region) of a Latin-script company name."""
    regions: list[str] = []

    def bracket(match: re.Match[str]) -> str:
        inner = re.sub(r"[\s.']", "", match[1].lower())
        if inner in _EN_REGIONS:
            regions.append(_EN_REGIONS[inner])
            return " "
        return " " if inner == "china" else f" {match[1]} "

    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    text = _BRACKETS.sub(bracket, text).replace("&", " and ").replace("'", "")
    text = _DOTTED_ABBREVIATION.sub(lambda match: match[0].replace(".", ""), text)
    tokens = re.sub(r"[^\w\s]", " ", text).split()
    if tokens[:1] == ["the"]:
        tokens = tokens[1:]
    changed = True
    while changed and tokens:
        before = len(tokens)
        while len(tokens) > 1 and tokens[-1] in _EN_LEGAL_FORMS:
            tokens.pop()
        for at_start in (True, False):
            width, region = _en_region(tokens, at_start)
            if width:
                regions.append(region)
                tokens = tokens[width:] if at_start else tokens[:-width]
        changed = len(tokens) != before
    return " ".join(tokens), regions[0] if regions else None


def _company_parts(name: Any) -> tuple[str, str | None]:
    if _is_empty(name):
        return "", None
    text = _clean(name)
    if has_han(text):
        return _zh_company("".join(text.split()).lower())
    return _en_company(text)


def company_name_key(name: Any) -> str:
    """Canonical stem without region and legal form: "北京星辰科技有限公司" -> "星辰科技".

    A branch keeps its branch part ("北京星辰科技有限公司上海分公司" -> "星辰科技上海分公司");
    集团 is kept, since a group is a different legal entity from its operating company.
    """
    return _company_parts(name)[0]


def company_region(name: Any) -> str | None:
    """The Chinese region stripped from a company name ("北京"), as a blocking hint."""
    return _company_parts(name)[1]
