"""Tests for the deterministic demo data generator (no database, no Django)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from stdnum import ean
from stdnum.cn import ric, uscc

from mdm.core.domains import DOMAINS
from mdm.demo.dataset import DemoDataset, build_demo_dataset

ROOT = Path(__file__).resolve().parents[1]

ID_FIELDS = {("crm", "证件号码"), ("erp", "id_no")}
CODE_FIELDS = {("crm", "统一社会信用代码"), ("erp", "uscc")}
MOBILE_FIELDS = {("crm", "手机"), ("erp", "mobile"), ("shop", "phone")}


@pytest.fixture(scope="module")
def ds() -> DemoDataset:
    return build_demo_dataset()


def _snapshot(data: DemoDataset) -> list:
    return [(r.source, r.domain, r.source_key, r.fields, r.source_updated_at, r.entity)
            for r in data.records]


def _record(data: DemoDataset, source: str, domain: str, key: str):
    matches = [r for r in data.records_for(source, domain) if r.source_key == key]
    assert len(matches) == 1, (source, domain, key)
    return matches[0]


def _digits(value: object) -> str:
    return re.sub(r"\D", "", str(value))


def _mobile_digits(value: object) -> str:
    digits = _digits(value)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) > 11:
            return digits[len(prefix):]
    return digits


def _crm_amount(text: str) -> float:
    if text.endswith("万"):
        return float(text[:-1]) * 10_000
    return float(text.replace(",", ""))


def _parse_crm_date(text: str) -> date:
    m = re.fullmatch(r"(\d{4})(?:[-/年]?)(\d{1,2})(?:[-/月]?)(\d{1,2})日?", text)
    assert m, text
    return date(*map(int, m.groups()))


# ---------------------------------------------------------------------------- determinism


def test_same_seed_same_output_and_different_seed_differs(ds):
    assert _snapshot(build_demo_dataset()) == _snapshot(ds)
    assert build_demo_dataset().bad_values == ds.bad_values
    assert _snapshot(build_demo_dataset(seed=8)) != _snapshot(ds)


def test_deterministic_across_processes():
    code = (
        "import hashlib; from mdm.demo.dataset import build_demo_dataset as b;"
        "d = b(seed=3, customers=300, products=30, contracts=80);"
        "print(hashlib.sha256(repr([(r.source, r.domain, r.source_key, r.fields,"
        " r.source_updated_at, r.entity) for r in d.records]).encode()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True)
        digests.add(out.stdout.strip())
    local = build_demo_dataset(seed=3, customers=300, products=30, contracts=80)
    digests.add(hashlib.sha256(repr(_snapshot(local)).encode()).hexdigest())
    assert len(digests) == 1


def test_fast_enough():
    build_demo_dataset(customers=50, products=5, contracts=5)  # warm caches/imports
    started = time.perf_counter()
    build_demo_dataset(customers=2000)
    assert time.perf_counter() - started < 1.5


# ------------------------------------------------------------------------------- counts


def test_entity_counts_match_the_request(ds):
    assert len(ds.entities("customer")) == 2000
    assert len(ds.entities("product")) == 200
    assert len(ds.entities("contract")) == 600
    small = build_demo_dataset(seed=1, customers=40, products=5, contracts=12)
    assert len(small.entities("customer")) == 40
    assert len(small.entities("product")) == 5
    assert len(small.entities("contract")) == 12
    with pytest.raises(ValueError):
        build_demo_dataset(customers=3)


def test_population_shares(ds):
    customers = ds.entities("customer")
    kinds = {}
    for entity, group in customers.items():
        sources = {r.source for r in group}
        first = group[0].fields
        kinds[entity] = (first.get("客户类型") or first.get("cust_type") or "个人", sources)
    persons = [e for e, (k, _) in kinds.items() if k in ("个人", "P")]
    assert 0.80 <= len(persons) / len(customers) <= 0.90
    share = Counter(s for _, (_, sources) in kinds.items() for s in sources)
    assert 0.65 <= share["crm"] / len(customers) <= 0.85
    assert 0.50 <= share["erp"] / len(customers) <= 0.70
    assert 0.35 <= share["shop"] / len(persons) <= 0.55
    assert all(kinds[e][0] in ("个人", "P") for e in customers
               if "shop" in kinds[e][1]), "shop has persons only"
    crm = ds.records_for("crm", "customer")
    crm_entities = Counter(r.entity for r in crm)
    dups = sum(n - 1 for n in crm_entities.values())
    assert 0.01 <= dups / len(crm) <= 0.05

    erp_products = ds.records_for("erp", "product")
    shop_products = ds.records_for("shop", "product")
    assert len(erp_products) == 200
    assert 0.60 <= len(shop_products) / 200 <= 0.80
    assert ds.records_for("crm", "product") == []
    assert 0.70 <= len(ds.records_for("crm", "contract")) / 600 <= 0.90
    assert 0.60 <= len(ds.records_for("erp", "contract")) / 600 <= 0.80
    assert ds.records_for("shop", "contract") == []


def test_bad_values_are_few(ds):
    customer_records = [r for r in ds.records if r.domain == "customer"]
    assert 3 <= len(ds.bad_values) <= 0.015 * len(customer_records)
    assert {b.domain for b in ds.bad_values} == {"customer"}
    assert {(b.source, b.source_key) for b in ds.bad_values} >= {
        ("crm", "C900003"), ("crm", "C900004"), ("crm", "C900012")}


# --------------------------------------------------------------------------------- keys


def test_keys_unique_and_present_in_fields(ds):
    seen = Counter((r.source, r.domain, r.source_key) for r in ds.records)
    assert max(seen.values()) == 1
    for r in ds.records:
        spec = ds.source(r.source)
        assert r.fields[spec.key_field[r.domain]] == r.source_key
        assert r.fields[spec.updated_field[r.domain]] not in (None, "")
        assert r.source_updated_at.endswith("+08:00")
        assert r.entity not in {str(v) for v in r.fields.values()}
        if r.source == "crm":
            assert all(isinstance(v, str) for v in r.fields.values()), "CSV holds strings"


# ------------------------------------------------------------------- identifiers, formats


def test_resident_ids_and_credit_codes_valid_except_bad_ones(ds):
    checked = Counter()
    for r in ds.records:
        for name, value in r.fields.items():
            if not value or ((r.source, name) not in ID_FIELDS | CODE_FIELDS):
                continue
            validator = ric if (r.source, name) in ID_FIELDS else uscc
            bad = ds.is_bad(r.source, r.domain, r.source_key, name)
            assert validator.is_valid(value) != bad, (r.source_key, name, value)
            checked[validator.__name__, bad] += 1
    assert checked["stdnum.cn.ric", False] > 1000
    assert checked["stdnum.cn.uscc", False] > 200
    assert checked["stdnum.cn.ric", True] >= 1


def test_birth_dates_agree_with_resident_ids(ds):
    for r in ds.records_for("crm", "customer"):
        rid, born = r.fields["证件号码"], r.fields["出生日期"]
        if rid and born and ric.is_valid(rid):
            assert ric.get_birth_date(rid) == _parse_crm_date(born)
    formats = Counter(
        "zh" if "年" in r.fields["出生日期"] else "slash" if "/" in r.fields["出生日期"]
        else "iso" if "-" in r.fields["出生日期"] else "compact"
        for r in ds.records_for("crm", "customer") if r.fields["出生日期"])
    assert set(formats) == {"zh", "slash", "iso", "compact"}
    for r in ds.records_for("erp", "customer"):
        if r.fields["id_no"] and r.fields["birth"] and ric.is_valid(r.fields["id_no"]):
            assert ric.get_birth_date(r.fields["id_no"]).isoformat() == r.fields["birth"]


def test_gtins_valid(ds):
    gtins = [r.fields.get("ean") or r.fields.get("gtin")
             for r in ds.records if r.domain == "product"]
    assert all(ean.is_valid(g) and g[:3] in {f"69{i}" for i in range(10)} for g in gtins if g)


def test_mobiles_are_mainland_numbers_except_bad_ones(ds):
    for r in ds.records:
        for name, value in r.fields.items():
            if not value or (r.source, name) not in MOBILE_FIELDS:
                continue
            digits = _mobile_digits(value)
            if ds.is_bad(r.source, r.domain, r.source_key, name):
                assert len(digits) == 10
            else:
                assert re.fullmatch(r"1[3-9]\d{9}", digits), value


def test_copies_share_phone_and_id(ds):
    shared_phone = shared_id = 0
    for group in ds.entities("customer").values():
        by_source = {r.source: r for r in group}
        crm, erp = by_source.get("crm"), by_source.get("erp")
        if not crm or not erp or crm.fields["客户类型"] != "个人":
            continue
        bad = {b.source_key for b in ds.bad_values}
        if crm.source_key in bad or erp.source_key in bad:
            continue
        if crm.fields["手机"] and erp.fields["mobile"]:
            assert _mobile_digits(crm.fields["手机"]) == _mobile_digits(erp.fields["mobile"])
            shared_phone += 1
        if crm.fields["证件号码"] and erp.fields["id_no"]:
            assert crm.fields["证件号码"] == erp.fields["id_no"]
            shared_id += 1
    assert shared_phone > 300 and shared_id > 200


# -------------------------------------------------------------------------------- scenario


def test_scenario_records(ds):
    a = _record(ds, "crm", "customer", "C900001").fields
    assert (a["客户名称"], a["手机"], a["城市"]) == ("张伟", "138-0013-8000", "北京")
    e = _record(ds, "erp", "customer", "E-900001").fields
    assert (e["name_en"], e["mobile"]) == ("Zhang Wei", "+86 138 0013 8000")
    assert a["证件号码"] == e["id_no"] and ric.is_valid(a["证件号码"])

    b = _record(ds, "crm", "customer", "C900002").fields
    assert (b["客户名称"], b["城市"]) == ("张伟", "北京")
    assert ric.is_valid(b["证件号码"]) and b["证件号码"] != a["证件号码"]
    assert _mobile_digits(b["手机"]) != _mobile_digits(a["手机"])

    x = _record(ds, "crm", "customer", "C900010").fields
    assert x["客户名称"] == "北京星辰科技有限公司"
    ex = _record(ds, "erp", "customer", "E-900010").fields
    assert ex["name_cn"] == "星辰科技（北京）有限责任公司"
    assert ex["uscc"] == x["统一社会信用代码"] and uscc.is_valid(x["统一社会信用代码"])

    y = _record(ds, "crm", "customer", "C900011").fields
    assert (y["客户名称"], y["城市"]) == ("北京星辰科技有限公司上海分公司", "上海")
    assert uscc.is_valid(y["统一社会信用代码"])
    assert y["统一社会信用代码"] != x["统一社会信用代码"]

    crm_contract = _record(ds, "crm", "contract", "HT-2026-900001")
    erp_contract = _record(ds, "erp", "contract", "HT-2026-900001")
    assert crm_contract.fields["客户编号"] == "C900010"
    assert crm_contract.fields["合同金额"] == "1,000,000.00"
    assert erp_contract.fields["cust_no"] == "E-900010"
    assert erp_contract.fields["amount"] == 1250000.00
    assert erp_contract.source_updated_at > crm_contract.source_updated_at

    erp_product = _record(ds, "erp", "product", "SKU-90001")
    shop_product = _record(ds, "shop", "product", "SKU-90001")
    assert erp_product.fields["ean"] == shop_product.fields["gtin"]
    assert ean.is_valid(erp_product.fields["ean"])
    for r in ds.records:
        if r.domain == "contract":
            assert "SKU-90001" not in repr(r.fields)


def test_scenario_is_the_same_for_every_seed(ds):
    fixed = [("crm", "customer", f"C90000{i}") for i in range(1, 5)] + [
        ("crm", "customer", "C900010"), ("crm", "customer", "C900011"),
        ("crm", "customer", "C900012"), ("erp", "customer", "E-900001"),
        ("erp", "customer", "E-900010"), ("shop", "customer", "U900002"),
        ("erp", "product", "SKU-90001"), ("shop", "product", "SKU-90001"),
        ("crm", "contract", "HT-2026-900001"), ("erp", "contract", "HT-2026-900001"),
    ]
    for seed in (1, 3, 42, 99):
        other = build_demo_dataset(seed=seed, customers=100, products=10, contracts=20)
        for source, domain, key in fixed:
            mine, theirs = _record(ds, source, domain, key), _record(other, source, domain, key)
            assert (theirs.fields, theirs.source_updated_at) == (
                mine.fields, mine.source_updated_at), (seed, source, key)


def test_true_pairs(ds):
    pairs = ds.true_pairs("customer")
    assert len(pairs) > 1000
    assert frozenset({("crm", "C900001"), ("erp", "E-900001")}) in pairs
    assert frozenset({("crm", "C900010"), ("erp", "E-900010")}) in pairs
    assert frozenset({("crm", "C900001"), ("crm", "C900002")}) not in pairs
    assert frozenset({("crm", "C900010"), ("crm", "C900011")}) not in pairs
    assert frozenset({("crm", "C900002"), ("shop", "U900002")}) in pairs
    assert frozenset({("erp", "SKU-90001"), ("shop", "SKU-90001")}) in ds.true_pairs("product")
    assert frozenset({("crm", "HT-2026-900001"), ("erp", "HT-2026-900001")}) in ds.true_pairs(
        "contract")


# ------------------------------------------------------------------------------- mappings


def test_mapping_fields_appear_in_records(ds):
    for spec in ds.sources:
        assert spec.is_source and spec.is_subscriber
        for domain, mappings in spec.mappings.items():
            records = ds.records_for(spec.code, domain)
            assert records, (spec.code, domain)
            assert set(spec.key_field) >= {domain} and set(spec.updated_field) >= {domain}
            for m in mappings:
                assert m.transform in ("", "split")
                assert any(r.fields.get(m.source_field) not in (None, "") for r in records), (
                    spec.code, domain, m.source_field)


def test_mapping_attributes_exist_in_domains(ds):
    for spec in ds.sources:
        for domain, mappings in spec.mappings.items():
            names = DOMAINS[domain].attribute_names()
            for m in mappings:
                assert m.attribute in names, (spec.code, domain, m.attribute)
        for domain, value_maps in spec.value_maps.items():
            for vm in value_maps:
                attribute = DOMAINS[domain].attribute(vm.attribute)
                assert attribute is not None, (spec.code, domain, vm.attribute)
                if attribute.choices:
                    assert vm.canonical_value in attribute.choices


def test_coded_values_covered_by_value_maps(ds):
    unmapped = []
    for spec in ds.sources:
        for domain, value_maps in spec.value_maps.items():
            known: dict[str, set[str]] = {}
            for vm in value_maps:
                known.setdefault(vm.attribute, set()).add(vm.source_value)
            fields = {m.source_field: m.attribute for m in spec.mappings[domain]
                      if m.attribute in known}
            for r in ds.records_for(spec.code, domain):
                for name, attribute in fields.items():
                    value = r.fields.get(name)
                    if value in (None, "") or value in known[attribute]:
                        continue
                    assert ds.is_bad(spec.code, domain, r.source_key, name), (r.source_key, name)
                    unmapped.append(value)
    assert unmapped and set(unmapped) == {"9"}


def test_split_emails_and_case_noise(ds):
    cells = [r.fields["邮箱"] for r in ds.records_for("crm", "customer") if r.fields["邮箱"]]
    assert any(re.search(r"[;,]", c) for c in cells)
    assert any(c != c.lower() for c in cells)


# ------------------------------------------------------------------------------ contracts


def test_contracts_reference_existing_keys(ds):
    customer_keys = {s: {r.source_key for r in ds.records_for(s, "customer")}
                     for s in ("crm", "erp")}
    skus = {r.source_key for r in ds.records_for("erp", "product")}
    for r in ds.records_for("crm", "contract"):
        assert r.fields["客户编号"] in customer_keys["crm"]
        for line in r.fields["产品明细"].split(";"):
            sku, qty, price = line.split(":")
            assert sku in skus and int(qty) > 0 and float(price) > 0
    for r in ds.records_for("erp", "contract"):
        assert r.fields["cust_no"] in customer_keys["erp"]
        assert all(line["sku"] in skus for line in r.fields["lines"])
    # the CRM and ERP copies of a contract belong to the same customer entity
    entity_of = {(r.source, r.source_key): r.entity for r in ds.records
                 if r.domain == "customer"}
    same = equal_amounts = 0
    for group in ds.entities("contract").values():
        by_source = {r.source: r for r in group}
        if len(by_source) == 2:
            crm, erp = by_source["crm"], by_source["erp"]
            assert (entity_of["crm", crm.fields["客户编号"]]
                    == entity_of["erp", erp.fields["cust_no"]])
            same += 1
            equal_amounts += _crm_amount(crm.fields["合同金额"]) == erp.fields["amount"]
    assert equal_amounts / same > 0.85
    assert any(r.fields["合同金额"].endswith("万") for r in ds.records_for("crm", "contract"))
