"""Blocking keys: cheap, deterministic, namespaced candidate keys (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.matching.blocking import BLOCKING_KEY_KINDS, blocking_keys
from mdm.matching.rules import DEFAULT_RULES
from mdm.sources.standardisers import standardise


def kinds(keys: set[str]) -> set[str]:
    return {key.split(":", 1)[0] for key in keys}


def default_keys(attributes: dict) -> set[str]:
    """The keys of the kinds the default customer rule uses."""
    used = set(DEFAULT_RULES["customer"]["blocking_keys"])
    return {key for key in blocking_keys("customer", attributes) if kinds({key}) <= used}


def test_zhang_wei_in_two_scripts_with_one_mobile_in_two_formats_share_keys():
    crm = {"party_type": "person", "name": "张伟", "city": "北京",
           "phones": [standardise("phone", "138 0013 8000")]}
    shop = {"party_type": "person", "name": standardise("name", "Mr. ZHANG Wei"),
            "city": "北京市", "phones": [standardise("phone", "+86-138-0013-8000")]}
    shared = default_keys(crm) & default_keys(shop)
    assert shared == {"phone:+8613800138000", "name_city:wei zhang|北京"}


def test_two_different_zhang_wei_in_one_city_share_only_the_broad_name_city_key():
    # Different people: IDs, phones, emails and birth dates differ. The name_city block
    # makes them a candidate pair; the scored comparisons must tell them apart.
    first = {"party_type": "person", "name": "张伟", "city": "北京",
             "national_id": "11010519491231002X", "phones": ["+8613800138000"],
             "emails": ["zw@example.com"], "birth_date": "1985-03-04"}
    second = {"party_type": "person", "name": "Zhang Wei", "city": "北京",
              "national_id": "110101199003074477", "phones": ["+8613900139000"],
              "emails": ["wei.zhang@example.cn"], "birth_date": "1990-03-07"}
    shared = default_keys(first) & default_keys(second)
    assert shared == {"name_city:wei zhang|北京"}


def test_person_keys():
    keys = default_keys({
        "party_type": "person", "name": "张伟", "name_latin": "Zhang Wei",
        "national_id": "11010519491231002X", "emails": ["zw@example.com"],
        "phones": ["+8613800138000", "+861065529988"], "city": "北京",
        "birth_date": "1985-03-04",
    })
    assert keys == {
        "nid:11010519491231002X", "email:zw@example.com",
        "phone:+8613800138000", "phone:+861065529988",
        "name_by:wei zhang|1985", "name_city:wei zhang|北京",
        "part_dob:wei|1985-03-04", "part_dob:zhang|1985-03-04",
    }  # no birth date + city: in a city of millions that block holds hundreds


def test_a_person_with_every_name_part_mistyped_or_no_name_still_shares_keys():
    # FEBRL-style duplicates: the name is garbled (or gone), the postal code kept
    original = {"name": "Charles Trevorrow", "birth_date": "1972-10-22",
                "postal_code": "5473", "city": "Whitebridge",
                "addresses": ["20 duggan street"]}
    garbled = {"name": "Chalres Trevorvrow", "birth_date": "1972-10-22",
               "postal_code": "5473"}
    nameless = {"birth_date": "1972-10-22", "addresses": ["20 Duggan Street"]}
    assert kinds(blocking_keys("customer", original) & blocking_keys("customer", garbled)) \
        == {"dob_postcode"}
    assert blocking_keys("customer", original) & blocking_keys("customer", nameless) \
        == {"address_dob:20dugganstreet|1972-10-22"}


def test_other_ids_one_typo_apart_share_a_near_key():
    a = blocking_keys("customer", {"name": "Blake Moody", "other_ids": ["4137877"]})
    b = blocking_keys("customer", {"name": "Jacobie Tilleq", "other_ids": ["4137787"]})
    assert kinds(a & b) == {"other_id_near"}  # two digits swapped


def test_part_dob_survives_a_changed_given_name():
    a = {"name": "张伟", "birth_date": "1985-03-04"}
    b = {"name": "David Zhang", "birth_date": "1985-03-04"}
    assert blocking_keys("customer", a) & blocking_keys("customer", b) \
        == {"part_dob:zhang|1985-03-04"}


def test_name_by_survives_a_day_month_swap():
    a = {"name": "李娜", "birth_date": "1985-03-04"}
    b = {"name": "Li Na", "birth_date": "1985-04-03"}
    assert blocking_keys("customer", a) & blocking_keys("customer", b) == {"name_by:li na|1985"}


def test_name_only_person_falls_back_to_the_broad_name_key():
    assert blocking_keys("customer", {"party_type": "person", "name": "王芳"}) \
        == {"name:fang wang"}
    # with a city or a birth date the fallback is not needed
    assert "name" not in kinds(blocking_keys("customer", {"name": "王芳", "city": "上海"}))


def test_organisation_keys():
    keys = blocking_keys("customer", {
        "party_type": "organisation", "name": "北京星辰科技有限公司",
        "credit_code": "91110108MA01ABCD1X", "phones": ["+861065529988"],
        "emails": ["info@xingchen.cn"], "city": "北京市",
    })
    assert keys == {
        "uscc:91110108MA01ABCD1X", "phone:+861065529988", "email:info@xingchen.cn",
        "company_city:星辰科技|北京",
    }


def test_company_spellings_share_the_company_city_key_but_a_branch_does_not():
    def keys(name: str, **more) -> set[str]:
        return blocking_keys("customer", {"party_type": "organisation", "name": name, **more})

    head = keys("北京星辰科技有限公司")
    assert head & keys("星辰科技（北京）有限责任公司") == {"company_city:星辰科技|北京"}
    assert head & keys("星辰科技有限公司", city="北京") == {"company_city:星辰科技|北京"}
    assert not head & keys("北京星辰科技有限公司上海分公司", city="上海")
    assert keys("星辰科技有限公司") == {"company:星辰科技"}


def test_credit_code_without_party_type_means_an_organisation():
    keys = blocking_keys("customer", {"name": "星辰科技有限公司",
                                      "credit_code": "91110108MA01ABCD1X"})
    assert keys == {"uscc:91110108MA01ABCD1X", "company:星辰科技"}


def test_product_keys():
    keys = blocking_keys("product", {"sku": "SKU-001", "gtin": "6901234567892",
                                     "brand": "Xingchen", "name": "Smart  Speaker X1"})
    assert keys == {"sku:SKU-001", "gtin:6901234567892", "brand_name:xingchen|smartspeakerx1"}
    assert blocking_keys("product", {"name": "Smart Speaker"}) == set()


def test_contract_keys():
    keys = blocking_keys("contract", {"contract_number": "HT-2024-001", "customer_ref": "C1",
                                      "signed_date": "2024-01-15"})
    assert keys == {"contract:HT-2024-001", "customer_signed:c1|2024-01-15"}


def test_empty_and_unknown():
    assert blocking_keys("customer", {}) == set()
    assert blocking_keys("customer", {"phones": [], "emails": [None, ""], "name": "  "}) == set()
    with pytest.raises(KeyError, match="supplier"):
        blocking_keys("supplier", {})


_ATTRIBUTES = st.fixed_dictionaries({}, optional={
    "party_type": st.sampled_from(["person", "organisation", None]),
    "name": st.sampled_from(["张伟", "Zhang Wei", "北京星辰科技有限公司", "", "王芳"]),
    "name_latin": st.text(max_size=12),
    "phones": st.lists(st.sampled_from(["+8613800138000", "+861065529988"]), max_size=2),
    "emails": st.lists(st.emails(), max_size=2),
    "city": st.sampled_from(["北京", "北京市", "上海", "", None]),
    "birth_date": st.one_of(st.none(), st.dates().map(str), st.text(max_size=10)),
    "credit_code": st.sampled_from(["91110108MA01ABCD1X", None]),
})


@settings(max_examples=200, deadline=None)
@given(attributes=_ATTRIBUTES)
def test_keys_are_deterministic_and_of_documented_kinds(attributes):
    keys = blocking_keys("customer", attributes)
    assert keys == blocking_keys("customer", dict(reversed(list(attributes.items()))))
    assert kinds(keys) <= set(BLOCKING_KEY_KINDS)
    assert all(key.split(":", 1)[1] for key in keys)
