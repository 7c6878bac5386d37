"""Comparators: agreement levels of canonical values (pure functions, no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.matching.comparators import COMPARATORS, Comparison, Outcome, compare


def level(method: str, a, b, thresholds=()) -> int | None:
    return compare(Comparison("c", "attr", method, thresholds), a, b).level


def top(method: str, thresholds=()) -> int:
    return Comparison("c", "attr", method, thresholds).levels - 1


# --------------------------------------------------------------------------- the API


def test_outcome_carries_level_similarity_and_level_count():
    outcome = compare(Comparison("name", "name", "jaro_winkler", (0.94, 0.88)), "MARTHA", "MARHTA")
    assert outcome == Outcome(level=2, similarity=pytest.approx(0.9611, abs=1e-4), levels=4)
    assert not outcome.missing


def test_empty_thresholds_take_the_method_default():
    assert Comparison("n", "name", "jaro_winkler").thresholds == (0.94, 0.88)
    assert Comparison("d", "birth_date", "date").thresholds == (1.0, 31.0)
    assert Comparison("e", "emails", "email").levels == 2


@pytest.mark.parametrize(("method", "thresholds"), [
    ("jaro_winkler", (0.8, 0.9)),      # not descending
    ("levenshtein", (1.5,)),           # similarity above 1
    ("numeric", (0.1, 0.01)),          # not ascending
    ("date", (-1,)),                   # negative distance
    ("exact", (0.5,)),                 # exact takes none
])
def test_invalid_thresholds_are_rejected(method, thresholds):
    with pytest.raises(ValueError, match="thresholds"):
        Comparison("c", "attr", method, thresholds)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown comparison method 'soundex'"):
        Comparison("c", "attr", "soundex")


@pytest.mark.parametrize("method", sorted(COMPARATORS))
@pytest.mark.parametrize("empty", [None, "", "   ", [], [None, ""]])
def test_a_missing_side_has_no_level(method, empty):
    value = {"numeric": "100.00", "date": "1985-03-04"}.get(method, "张伟")
    for a, b in ((value, empty), (empty, value), (empty, empty)):
        outcome = compare(Comparison("c", "attr", method), a, b)
        assert outcome.level is None and outcome.similarity is None and outcome.missing
        assert outcome.levels == Comparison("c", "attr", method).levels


def test_registry_is_keyed_by_method():
    assert set(COMPARATORS) == {
        "exact", "phone", "email", "identifier", "jaro_winkler", "levenshtein", "numeric",
        "date", "person_name", "company_name",
    }
    assert COMPARATORS["exact"]("a", "A").level == 1


# --------------------------------------------------------------------------- exact kinds


def test_exact_scalars_and_lists():
    assert level("exact", "Gold", "gold") == 1
    assert level("exact", "gold", "silver") == 0
    assert level("exact", ["a", "b"], ["c", "b"]) == 1
    assert level("exact", ["a", "b"], ["c", "d"]) == 0
    assert level("exact", "b", ["c", "b"]) == 1


def test_phone_matches_any_common_number():
    assert level("phone", ["+8613800138000", "+861065529988"], ["+8613800138000"]) == 1
    assert level("phone", ["+8613800138000"], ["+8613900139000"]) == 0


def test_email_matches_any_common_address():
    assert level("email", ["zw@example.com"], ["ZW@example.com ", "x@y.cn"]) == 1
    assert level("email", ["zw@example.com"], ["wz@example.com"]) == 0


def test_identifier_ignores_spacing_and_case():
    assert level("identifier", "11010519491231002x", "110105 19491231 002X") == 1
    assert level("identifier", "91110108MA01ABCD1X", "91110108MA01ABCD2X") == 0


# --------------------------------------------------------------------------- fuzzy strings


def test_jaro_winkler_levels():
    assert level("jaro_winkler", "Dixon", "dixon") == 3          # exact (case-folded)
    assert level("jaro_winkler", "MARTHA", "MARHTA") == 2        # 0.961 >= 0.94
    assert level("jaro_winkler", "DWAYNE", "DUANE") == 0         # 0.84 < 0.88
    assert level("jaro_winkler", "DWAYNE", "DUANE", (0.94, 0.8)) == 1
    assert level("jaro_winkler", "Shanghai", "Beijing") == 0


def test_levenshtein_levels():
    assert level("levenshtein", "ACME-100", "ACME-100") == 3
    assert level("levenshtein", "ACME-1000", "ACME-1001") == 1   # 8/9 = 0.889
    assert level("levenshtein", "ACME-1000", "ACME-1001", (0.88, 0.8)) == 2
    assert level("levenshtein", "kitten", "sitting") == 0
    outcome = compare(Comparison("n", "name", "levenshtein"), "kitten", "sitting")
    assert outcome.similarity == pytest.approx(1 - 3 / 7)


# --------------------------------------------------------------------------- numbers, dates


def test_numeric_relative_difference_bands():
    assert level("numeric", "1000000.00", "1000000") == 3        # equal as decimals
    assert level("numeric", "100.00", "100.50") == 2             # 0.5% <= 1%
    assert level("numeric", "100.00", "105.00") == 1             # 4.8% <= 10%
    assert level("numeric", "100.00", "200.00") == 0
    assert level("numeric", "0.00", "0") == 3
    assert level("numeric", "-5.00", "5.00") == 0
    outcome = compare(Comparison("a", "amount", "numeric"), "100", "200")
    assert outcome.similarity == pytest.approx(0.5)


def test_numeric_unparsable_values_count_as_missing():
    assert level("numeric", "n/a", "100.00") is None


def test_date_levels():
    assert level("date", "1985-03-04", "1985-03-04") == 4        # same day
    assert level("date", "1985-03-04", "1985-04-03") == 3        # day and month swapped
    assert level("date", "1985-03-04", "1985-03-05") == 2        # within 1 day
    assert level("date", "1985-03-04", "1985-03-24") == 1        # within 31 days
    assert level("date", "1985-03-04", "1986-03-04") == 0
    assert level("date", "1985-03-04", "1986-04-03") == 0        # a swap needs the same year
    assert level("date", dt.date(2024, 1, 2), "2024-01-02T08:00:00") == 4
    assert level("date", "not a date", "2024-01-02") is None


def test_date_swap_with_own_thresholds():
    assert level("date", "2023-11-12", "2023-12-11", (7,)) == 2  # swap sits below same day
    assert level("date", "2023-11-12", "2023-11-15", (7,)) == 1
    assert level("date", "2023-11-12", "2023-12-11", ()) == 3


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("other", ["Zhang Wei", "ZHANG Wei", "Wei ZHANG", "zhang wei", "张伟"])
def test_person_name_scripts_and_orders_reach_the_top(other):
    assert level("person_name", "张伟", other) == top("person_name")


def test_person_name_homophones_are_one_level_lower():
    assert level("person_name", "张伟", "张卫") == top("person_name") - 1
    assert level("person_name", "张伟", "章伟") == top("person_name") - 1  # surname homophone
    # written in Latin, a homophone cannot be told apart: same top level
    assert level("person_name", "张卫", "Zhang Wei") == top("person_name")


def test_person_name_lower_levels_use_jaro_winkler_on_the_parts_not_shared():
    assert level("person_name", "Chloe Mason", "Chloe Masno") == 2   # mason/masno 0.953
    assert level("person_name", "Charlotte Orchard", "Charlotye Orchard") == 2
    assert level("person_name", "Charles Orchard", "Charlotye Orchard") == 1  # 0.905
    # a shared given name or surname does not make different names alike
    assert level("person_name", "Chloe Mason", "Chloe Sporn") == 0   # mason/sporn 0.6
    assert level("person_name", "王伟", "张伟") == 0                  # wang/zhang 0.783
    assert level("person_name", "张伟", "王芳") == 0
    outcome = compare(Comparison("n", "name", "person_name"), "王伟", "张伟")
    assert 0.7 < outcome.similarity < 0.8
    # a name part missing on one side is compared on the whole keys
    assert level("person_name", "Morrison", "Amy Morrison") == 1


def test_company_name_region_and_legal_form_do_not_matter():
    assert level("company_name", "北京星辰科技有限公司", "星辰科技（北京）有限责任公司") \
        == top("company_name")
    assert level("company_name", "Beijing Xingchen Technology Co., Ltd.",
                 "Xingchen Technology Ltd (Beijing)") == top("company_name")


def test_company_name_branch_is_not_its_head_office():
    head, branch = "北京星辰科技有限公司", "北京星辰科技有限公司上海分公司"
    assert level("company_name", head, branch) < top("company_name") - 1
    assert level("company_name", head, branch) > 0  # but a closely related name


def test_company_name_same_stem_in_another_region_is_one_level_lower():
    assert level("company_name", "北京星辰科技有限公司", "上海星辰科技有限公司") \
        == top("company_name") - 1
    # a region on one side only is no conflict
    assert level("company_name", "北京星辰科技有限公司", "星辰科技有限公司") == top("company_name")


def test_company_name_token_set_bands():
    assert level("company_name", "北京星辰科技有限公司", "北京星晨科技有限公司") == 1  # 0.857
    assert level("company_name", "北京星辰科技有限公司", "华为技术有限公司") == 0
    assert level("company_name", "Acme Trading Co", "Acme Global Trading Ltd") == 2


# --------------------------------------------------------------------------- symmetry

_NAMES = st.sampled_from([
    "张伟", "张卫", "Zhang Wei", "Wei ZHANG", "王芳", "北京星辰科技有限公司",
    "星辰科技（北京）有限责任公司", "北京星辰科技有限公司上海分公司", "Acme Trading Co", "",
])
_SCALARS = st.one_of(
    st.none(), _NAMES, st.text(max_size=12),
    st.text(alphabet="张伟卫王芳李娜北京上海科技有限公司分 abcZW", max_size=10),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.integers(-10**6, 10**6), st.dates().map(dt.date.isoformat), st.dates(),
)
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3))


@settings(max_examples=300, deadline=None)
@given(method=st.sampled_from(sorted(COMPARATORS)), a=_VALUES, b=_VALUES)
def test_compare_is_symmetric(method, a, b):
    comparison = Comparison("c", "attr", method)
    assert compare(comparison, a, b) == compare(comparison, b, a)


@settings(max_examples=200, deadline=None)
@given(method=st.sampled_from(sorted(COMPARATORS)), a=_VALUES, b=_VALUES)
def test_levels_and_similarities_stay_in_range(method, a, b):
    outcome = compare(Comparison("c", "attr", method), a, b)
    assert (outcome.level is None) == (outcome.similarity is None)
    if outcome.level is not None:
        assert 0 <= outcome.level < outcome.levels
        assert 0.0 <= outcome.similarity <= 1.0


@settings(max_examples=100, deadline=None)
@given(method=st.sampled_from(sorted(COMPARATORS)), a=_SCALARS)
def test_a_present_value_agrees_fully_with_itself(method, a):
    outcome = compare(Comparison("c", "attr", method), a, a)
    assert outcome.level in (None, outcome.levels - 1)
