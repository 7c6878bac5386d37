"""Comparators: how far two canonical attribute values agree, as a Fellegi–Sunter level.

A :class:`Comparison` names one attribute and a method; :func:`compare` turns two values into
an :class:`Outcome`: an agreement ``level`` from 0 (disagree) to ``levels - 1`` (exact or
near-exact), plus a ``similarity`` in [0, 1] for explanations. A level of ``None`` means a
side is missing (None, blank, empty list), and a missing comparison contributes nothing to a
Fellegi–Sunter score. Level counts are fixed per comparison (``Comparison.levels``), so the
m/u probabilities of each level can be estimated (recordlinkage's ECM) before any pair is
compared.

Many-valued attributes (lists) compare every pair of items and keep the best one, so
``exact`` on two phone lists agrees when they share any number.

Methods (``thresholds`` empty means the method's default):

========================  =============================================================  ======
method                    levels, highest first                                           levels
========================  =============================================================  ======
exact, phone, email,      1 equal (any common list item); 0 different                    2
identifier
jaro_winkler,             top equal; then one level per similarity threshold             n + 2
levenshtein               (descending, e.g. (0.94, 0.88)); 0 below the last
numeric                   top equal as decimals; then one level per relative-difference  n + 2
                          threshold (ascending, e.g. (0.01, 0.1)); 0 beyond
date                      top same day; day and month transposed in the same year;       n + 3
                          one level per day-distance threshold (ascending); 0 beyond
person_name               top same name (same pinyin key, and the same Han characters    n + 3
                          when both are written in Han); same pinyin key but different
                          Han characters (张伟/张卫); Jaro–Winkler bands on the key parts
                          the two names do not share (王伟/张伟: wang/zhang); 0
company_name              top same company key (region and legal form ignored); same    n + 3
                          key but both name a different region (北京…/上海…); token-set
                          similarity bands on the keys; 0
========================  =============================================================  ======

Pure Python: no Django imports. Every comparator is symmetric: ``compare(c, a, b)`` equals
``compare(c, b, a)``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import pairwise
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from mdm.sources.standardisers import (
    company_name_key,
    company_region,
    has_han,
    person_name_key,
)

__all__ = ["COMPARATORS", "Comparator", "Comparison", "Outcome", "compare"]

Thresholds = tuple[float, ...]
# A pair comparator: (level, similarity), or None when a value cannot be compared.
PairFn = Callable[[Any, Any, Thresholds], "tuple[int, float] | None"]


@dataclass(frozen=True)
class Outcome:
    """The agreement of two values: ``level`` None when either side is missing."""

    level: int | None
    similarity: float | None
    levels: int

    @property
    def missing(self) -> bool:
        return self.level is None


@dataclass(frozen=True)
class Comparator:
    """A registered method: a pair function plus how its levels and thresholds work.

    ``extra_levels`` are the levels besides one per threshold; ``order`` is "desc" for
    similarity thresholds in (0, 1], "asc" for distances (>= 0), "" when none are allowed.
    """

    pair: PairFn
    extra_levels: int
    order: str = ""
    default: Thresholds = ()

    def thresholds(self, thresholds: Any = ()) -> Thresholds:
        """``thresholds`` validated, or the default when empty; ValueError if invalid."""
        values = tuple(float(t) for t in thresholds or ()) or self.default
        if values and not self.order:
            raise ValueError("this method takes no thresholds")
        desc = self.order == "desc"
        ordered = all((a > b) if desc else (a < b) for a, b in pairwise(values))
        in_range = all((0 < t <= 1) if desc else t >= 0 for t in values)
        if not (ordered and in_range):
            kind = "similarities in (0, 1], descending" if desc else "distances >= 0, ascending"
            raise ValueError(f"thresholds {values} must be {kind}")
        return values

    def levels(self, thresholds: Thresholds) -> int:
        return len(thresholds) + self.extra_levels

    def __call__(self, a_value: Any, b_value: Any, thresholds: Any = ()) -> Outcome:
        thresholds = self.thresholds(thresholds)
        pairs = [self.pair(a, b, thresholds) for a in _items(a_value) for b in _items(b_value)]
        found = [p for p in pairs if p is not None]
        if not found:
            return Outcome(None, None, self.levels(thresholds))
        level, similarity = max(found)
        return Outcome(level, similarity, self.levels(thresholds))


@dataclass(frozen=True)
class Comparison:
    """One comparison of a record-linkage model: ``attribute`` compared by ``method``.

    Empty ``thresholds`` become the method's default; invalid ones raise ValueError.
    """

    name: str
    attribute: str
    method: str
    thresholds: Thresholds = ()

    def __post_init__(self) -> None:
        if self.method not in COMPARATORS:
            raise ValueError(f"unknown comparison method '{self.method}'; "
                             f"known: {', '.join(sorted(COMPARATORS))}")
        object.__setattr__(self, "thresholds", self.comparator.thresholds(self.thresholds))

    @property
    def comparator(self) -> Comparator:
        return COMPARATORS[self.method]

    @property
    def levels(self) -> int:
        """How many agreement levels: 0 … ``levels - 1``."""
        return self.comparator.levels(self.thresholds)


def compare(comparison: Comparison, a_value: Any, b_value: Any) -> Outcome:
    """The agreement of two values of ``comparison.attribute``."""
    return comparison.comparator(a_value, b_value, comparison.thresholds)


# --------------------------------------------------------------------------- helpers


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _items(value: Any) -> list[Any]:
    """The non-empty items of a list attribute, or ``[value]`` for a present scalar."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return [item for item in value if _present(item)]
    return [value] if _present(value) else []


def _text(value: Any) -> str:
    """NFKC, case-folded, whitespace-collapsed text."""
    return " ".join(unicodedata.normalize("NFKC", str(value)).split()).casefold()


def _band(similarity: float, thresholds: Thresholds) -> int:
    """Level for a similarity against descending thresholds: len(thresholds) … 0."""
    for index, threshold in enumerate(thresholds):
        if similarity >= threshold:
            return len(thresholds) - index
    return 0


def _distance_band(distance: float, thresholds: Thresholds) -> int:
    """Level for a distance against ascending thresholds: len(thresholds) … 0."""
    for index, threshold in enumerate(thresholds):
        if distance <= threshold:
            return len(thresholds) - index
    return 0


def _string_pair(similarity: Callable[[str, str], float]) -> PairFn:
    """A pair function: equal text is the top level, else bands of ``similarity``."""

    def pair(a: Any, b: Any, thresholds: Thresholds) -> tuple[int, float]:
        x, y = sorted((_text(a), _text(b)))  # a fixed order keeps the result symmetric
        if x == y:
            return len(thresholds) + 1, 1.0
        score = similarity(x, y)
        return _band(score, thresholds), score

    return pair


def _exact_pair(normalise: Callable[[Any], str]) -> PairFn:
    def pair(a: Any, b: Any, thresholds: Thresholds) -> tuple[int, float] | None:
        x, y = normalise(a), normalise(b)
        if not x or not y:
            return None
        return (1, 1.0) if x == y else (0, 0.0)

    return pair


_NOT_PHONE = re.compile(r"[^\d+]")
_ID_SEPARATORS = re.compile(r"[\s\-]")


# --------------------------------------------------------------------------- numbers, dates


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _numeric_pair(a: Any, b: Any, thresholds: Thresholds) -> tuple[int, float] | None:
    """Relative difference |a - b| / max(|a|, |b|) against ascending thresholds."""
    x, y = _decimal(a), _decimal(b)
    if x is None or y is None:
        return None
    if x == y:
        return len(thresholds) + 1, 1.0
    try:
        relative = float(abs(x - y) / max(abs(x), abs(y)))
    except ArithmeticError:
        return None
    return _distance_band(relative, thresholds), max(0.0, 1.0 - relative)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _date_pair(a: Any, b: Any, thresholds: Thresholds) -> tuple[int, float] | None:
    """Same day; day and month transposed; within each threshold of days; else 0."""
    x, y = _date(a), _date(b)
    if x is None or y is None:
        return None
    days = abs((x - y).days)
    similarity = max(0.0, 1.0 - days / 365)
    if days == 0:
        return len(thresholds) + 2, 1.0
    if x.year == y.year and (x.month, x.day) == (y.day, y.month):
        return len(thresholds) + 1, similarity
    return _distance_band(days, thresholds), similarity


# --------------------------------------------------------------------------- names

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_CHAR = re.compile(f"[{_HAN}]")
# Token-set tokens of a company key: each Han character, or a run of other word characters.
_KEY_TOKEN = re.compile(rf"[{_HAN}]|(?:(?![{_HAN}])\w)+")


@lru_cache(maxsize=65536)
def _person(name: str) -> tuple[str, str]:
    """(pinyin key, Han characters) of a person name; both cached, as keys are costly."""
    han = "".join(_HAN_CHAR.findall(name)) if has_han(name) else ""
    return person_name_key(name), han


@lru_cache(maxsize=65536)
def _company(name: str) -> tuple[str, str | None, str]:
    """(company key, region, key tokens for token-set similarity) of a company name."""
    key = company_name_key(name)
    return key, company_region(name), " ".join(_KEY_TOKEN.findall(key))


def _person_pair(a: Any, b: Any, thresholds: Thresholds) -> tuple[int, float] | None:
    """张伟 = Zhang Wei = Wei ZHANG (top); 张伟/张卫 (same pinyin) one lower; then JW bands
    on the name parts the keys do not share."""
    (key_a, han_a), (key_b, han_b) = _person(str(a)), _person(str(b))
    if not key_a or not key_b:
        return None
    top = len(thresholds) + 2
    if key_a == key_b:
        homophone = bool(han_a and han_b) and han_a != han_b
        return (top - 1 if homophone else top), 1.0
    score = JaroWinkler.similarity(*sorted(_unshared(key_a, key_b)))
    return _band(score, thresholds), score


def _unshared(key_a: str, key_b: str) -> tuple[str, str]:
    """The keys without the parts both have, so a shared given name or surname does not
    make two different names look alike ('chloe mason' / 'chloe sporn' compare 'mason'
    with 'sporn'); the whole keys when one holds only shared parts (a missing part)."""
    parts_a, parts_b = Counter(key_a.split()), Counter(key_b.split())
    rest_a, rest_b = parts_a - parts_b, parts_b - parts_a
    if not rest_a or not rest_b:
        return key_a, key_b
    return " ".join(sorted(rest_a.elements())), " ".join(sorted(rest_b.elements()))


def _company_pair(a: Any, b: Any, thresholds: Thresholds) -> tuple[int, float] | None:
    """Same key (top); same key, different stated regions; then token-set bands."""
    (key_a, region_a, tokens_a), (key_b, region_b, tokens_b) = _company(str(a)), _company(str(b))
    if not key_a or not key_b:
        return None
    top = len(thresholds) + 2
    if key_a == key_b:
        other_region = bool(region_a and region_b) and region_a != region_b
        return (top - 1 if other_region else top), 1.0
    score = fuzz.token_set_ratio(*sorted((tokens_a, tokens_b))) / 100
    return _band(score, thresholds), score


# --------------------------------------------------------------------------- registry

COMPARATORS: dict[str, Comparator] = {
    "exact": Comparator(_exact_pair(_text), 2),
    "phone": Comparator(_exact_pair(lambda v: _NOT_PHONE.sub("", str(v))), 2),
    "email": Comparator(_exact_pair(lambda v: str(v).strip().casefold()), 2),
    "identifier": Comparator(_exact_pair(lambda v: _ID_SEPARATORS.sub("", str(v)).upper()), 2),
    "jaro_winkler": Comparator(_string_pair(JaroWinkler.similarity), 2, "desc", (0.94, 0.88)),
    "levenshtein": Comparator(_string_pair(Levenshtein.normalized_similarity), 2, "desc",
                              (0.9, 0.8)),
    "numeric": Comparator(_numeric_pair, 2, "asc", (0.01, 0.1)),
    "date": Comparator(_date_pair, 3, "asc", (1, 31)),
    "person_name": Comparator(_person_pair, 3, "desc", (0.92, 0.8)),
    "company_name": Comparator(_company_pair, 3, "desc", (0.9, 0.75)),
}
