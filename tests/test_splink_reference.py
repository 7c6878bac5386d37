"""Splink 5 reference deduplication on synthetic customers with known duplicates (bench-only)."""

from __future__ import annotations

import json
import random

import pytest

pytest.importorskip("splink")

from pypinyin import lazy_pinyin

from mdm.matching.splink_reference import (
    pairs_from_clusters,
    splink_dedupe,
    splink_dedupe_clusters,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲飞鹏辉斌宇浩凯健俊帆帅旭宁龙林欣颖琳晨阳雪梅琴云莉兰凤洁婷慧鑫博文彬"  # noqa: E501
CITIES = (
    "北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆",
    "天津", "苏州", "长沙", "郑州", "青岛", "沈阳", "宁波", "厦门", "合肥", "昆明",
)
STEMS = (
    "星辰", "海川", "瑞丰", "华信", "博远", "锦程", "天成", "鸿达",
    "恒泰", "新元", "永盛", "佳和", "金桥", "远航", "明德",
)
TRADES = ("科技", "贸易", "实业", "物流", "建设", "咨询", "电子", "医药")


def _entity(i: int, rng: random.Random) -> dict:
    """One real-world customer, with unique identifiers derived from its index."""
    city = rng.choice(CITIES)
    if i % 10 == 9:
        stem = f"{rng.choice(STEMS)}{rng.choice(STEMS)[0]}{rng.choice(TRADES)}"
        return {
            "party_type": "organisation", "city": city, "name": f"{city}{stem}有限公司",
            "alt_names": [f"{stem}（{city}）有限公司", f"{city}{stem}股份有限公司"],
            "credit_code": f"91{110000 + i % 899999:06d}MA{i:07d}X",
            "emails": [f"info{i}@corp{i}.cn"], "phones": [f"+8610{60000000 + i:08d}"],
        }
    surname, given = rng.choice(SURNAMES), "".join(rng.sample(GIVEN, rng.choice((1, 2))))
    latin_s, latin_g = "".join(lazy_pinyin(surname)), "".join(lazy_pinyin(given))
    birth = f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return {
        "party_type": "person", "city": city, "name": surname + given,
        "alt_names": [
            f"{latin_s.title()} {latin_g.title()}", f"{latin_g.title()} {latin_s.upper()}",
        ],
        "national_id": f"{110101 + i % 800000:06d}{birth.replace('-', '')}{i % 10000:04d}",
        "birth_date": birth,
        "emails": [f"{latin_g}.{latin_s}{i}@example.com"],
        "phones": [f"+861{rng.choice('3578')}{i:09d}"],
    }


def _copy(entity: dict, n: int, rng: random.Random) -> dict:
    """The n-th source copy of an entity: name variants and missing fields, never all ids."""
    attrs = {k: entity[k] for k in ("party_type", "city", "name")}
    if n and rng.random() < 0.6:
        attrs["name"] = rng.choice(entity["alt_names"])
    ids = [k for k in ("national_id", "credit_code", "emails", "phones") if k in entity]
    keep = set(rng.sample(ids, rng.randint(1, len(ids)))) if n else set(ids)
    for key in ids:
        if key in keep or rng.random() < 0.5:
            attrs[key] = entity[key]
    if "birth_date" in entity and rng.random() < 0.9:
        attrs["birth_date"] = entity["birth_date"]
    return attrs


def make_rows(entities: int, *, seed: int = 7) -> tuple[list[tuple[int, dict]], dict[int, int]]:
    """Synthetic ``(record_id, attributes)`` rows (1-3 copies per entity) and id -> entity."""
    rng = random.Random(seed)
    rows: list[tuple[int, dict]] = []
    truth: dict[int, int] = {}
    for i in range(entities):
        entity = _entity(i, rng)
        for n in range(rng.choice((1, 2, 2, 3))):
            record_id = len(rows) + 1
            rows.append((record_id, _copy(entity, n, rng)))
            truth[record_id] = i
    rng.shuffle(rows)
    return rows, truth


def test_pairs_from_clusters() -> None:
    clusters = {1: 1, 2: 1, 3: 1, 4: 4, 5: 5, 6: 5}
    assert pairs_from_clusters(clusters) == {
        frozenset({1, 2}), frozenset({1, 3}), frozenset({2, 3}), frozenset({5, 6}),
    }
    assert pairs_from_clusters({}) == set()


def test_splink_finds_known_duplicates() -> None:
    rows, truth = make_rows(150)
    assert 250 <= len(rows) <= 350

    summary, clusters = splink_dedupe_clusters(rows, max_pairs=1e6)

    assert set(clusters) == set(truth)
    found, expected = pairs_from_clusters(clusters), pairs_from_clusters(truth)
    true_positives = len(found & expected)
    recall = true_positives / len(expected)
    precision = true_positives / len(found)
    assert recall >= 0.9, (recall, precision)
    assert precision >= 0.9, (recall, precision)

    assert summary["wall_s"] > 0
    assert summary["records"] == len(rows)
    assert summary["clusters"] == len(set(clusters.values()))
    assert summary["pairs_predicted"] >= true_positives
    json.dumps(summary)


def test_splink_dedupe_returns_summary_only() -> None:
    rows, _ = make_rows(40, seed=3)
    summary = splink_dedupe(rows, threshold=0.95, max_pairs=1e5)
    assert set(summary) == {"wall_s", "records", "pairs_predicted", "clusters"}
    assert json.loads(json.dumps(summary)) == summary
