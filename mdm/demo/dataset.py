"""A deterministic, realistic demo data set for the MDM hub (pure Python, no Django).

``build_demo_dataset(seed=7, customers=2000, products=200, contracts=600)`` invents
``customers`` customer entities (~85% persons, ~15% organisations), ``products`` products
and ``contracts`` contracts, and renders each entity as the records three source systems
would send, each in its own field names, formats and codes:

* ``crm``  - 客户关系管理 CRM, Chinese-first CSV export (every value a string): customers
  and contracts.
* ``erp``  - ERP with pinyin/English data, JSON: customers, products and contracts.
* ``shop`` - e-commerce shop pushing JSON over REST: customers (persons only) and products.

Each record carries the hidden true identity in ``DemoRecord.entity`` (never in
``fields``) so tests and benchmarks can score matching with ``DemoDataset.true_pairs``.
The same seed always gives the same data set (only ``random.Random(seed)`` is used; no
set iteration, no clock). Everything is relative to the fixed reference date 2026-11-22.

Scenario records (fixed keys and values, identical for every seed):

* ``crm/C900001`` 张伟, mobile "138-0013-8000", resident ID A (110105198503021233, born
  1985-03-02), 北京  <->  ``erp/E-900001`` "Zhang Wei", mobile "+86 138 0013 8000", same
  ID A. The same person (entity ``cust-90001``).
* ``crm/C900002`` a different 张伟, also 北京, resident ID B (110108199007153572), mobile
  "139 1088 6621" (entity ``cust-90002``); the shop knows him as ``shop/U900002``
  (phone "+86-139-1088-6621", no ID).
* ``crm/C900010`` 北京星辰科技有限公司, credit code X (91110105660905374C)  <->
  ``erp/E-900010`` 星辰科技（北京）有限责任公司 with the same credit code X (entity
  ``cust-90010``).
* ``crm/C900011`` 北京星辰科技有限公司上海分公司, the Shanghai branch: different credit code
  Y (91310115781520462E), city 上海 (entity ``cust-90011``, not the same as C900010).
* Contract ``HT-2026-900001`` for the company: in CRM (客户编号 C900010, 合同金额
  "1,000,000.00" = SKU-00001 x 500 at 2000.00, 更新时间 2026-03-18 16:05:00) and in ERP
  (cust_no E-900010, amount 1250000.00 after an amendment to 625 units, updated_at
  2026-09-30T10:12:45+08:00 - later than CRM's). Random contracts only use the scenario
  customers when a tiny population offers no other customer in the needed sources.
* Product ``SKU-90001`` (星辰 智能保温杯) in ERP and shop with the same GTIN
  6901234590012 and in no contract.

Deliberately bad values (so quarantine is demonstrated; listed in
``DemoDataset.bad_values``, about 1% of customer records, nowhere else):

* ``crm/C900003`` - 张伟 (C900001) entered a second time with the truncated mobile
  "138-0013-800".
* ``crm/C900004`` - the second 张伟 (C900002) entered again with resident ID B carrying a
  wrong check digit (110108199007153575).
* ``crm/C900012`` - 北京星辰科技有限公司 entered again with 状态 "9" (no value map).
* Seed-dependent extras of the same kinds on ordinary customer records: a resident ID
  (CRM 证件号码 / ERP id_no) or credit code (统一社会信用代码 / uscc) with a wrong check
  digit, a mobile with its last digit dropped (手机 / mobile / phone), or CRM 状态 "9".
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from pypinyin import lazy_pinyin
from stdnum import ean as _ean
from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc

__all__ = [
    "BadValue",
    "DemoDataset",
    "DemoRecord",
    "FieldMappingSpec",
    "SourceSpec",
    "ValueMapSpec",
    "build_demo_dataset",
]

CST = timezone(timedelta(hours=8))
REFERENCE_DATE = date(2026, 11, 22)
_UPDATED_FROM = datetime(2024, 1, 1, 8, 0, tzinfo=CST)
_UPDATED_TO = datetime(2026, 11, 20, 22, 0, tzinfo=CST)


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class FieldMappingSpec:
    """Maps one source field onto a canonical attribute.

    ``transform`` is "" or "split" (split a multi-value cell on ; , / 、 into a list);
    ``options`` passes hints to the standardiser, e.g. {"date_format": "%Y/%m/%d"}.
    """

    source_field: str
    attribute: str
    transform: str = ""
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ValueMapSpec:
    """Translates one source code of ``attribute`` into its canonical value."""

    attribute: str
    source_value: str
    canonical_value: str


@dataclass(frozen=True)
class SourceSpec:
    """A source system: its role, record key / last-updated fields, mappings, value maps.

    ``key_field``, ``updated_field``, ``mappings`` and ``value_maps`` are keyed by domain.
    """

    code: str
    name: str
    is_source: bool
    is_subscriber: bool
    key_field: dict[str, str]
    updated_field: dict[str, str]
    mappings: dict[str, list[FieldMappingSpec]]
    value_maps: dict[str, list[ValueMapSpec]]


@dataclass(frozen=True)
class DemoRecord:
    """One record exactly as ``source`` would send it.

    ``fields`` uses the source's own names, formats and codes (including its key and
    updated fields); ``source_updated_at`` is that time normalised to ISO 8601 with
    +08:00; ``entity`` is the hidden true identity, for tests and benchmarks only.
    """

    source: str
    domain: str
    source_key: str
    fields: dict[str, object]
    source_updated_at: str
    entity: str


@dataclass(frozen=True)
class BadValue:
    """A deliberately invalid value planted in ``fields[source_field]`` of one record."""

    source: str
    domain: str
    source_key: str
    source_field: str
    reason: str  # "national_id_checksum", "credit_code_checksum", "phone_truncated",
    #              or "status_unmapped"


@dataclass(frozen=True)
class DemoDataset:
    """The source specifications and every generated record (sorted by source, domain, key)."""

    sources: list[SourceSpec]
    records: list[DemoRecord]
    bad_values: tuple[BadValue, ...] = ()

    def source(self, code: str) -> SourceSpec:
        """The source called ``code``; raises ``KeyError`` for an unknown one."""
        for spec in self.sources:
            if spec.code == code:
                return spec
        raise KeyError(code)

    def records_for(self, source: str, domain: str) -> list[DemoRecord]:
        """The records ``source`` sends for ``domain``, in key order."""
        return [r for r in self.records if r.source == source and r.domain == domain]

    def entities(self, domain: str) -> dict[str, list[DemoRecord]]:
        """The records of ``domain`` grouped by true entity."""
        groups: dict[str, list[DemoRecord]] = {}
        for r in self.records:
            if r.domain == domain:
                groups.setdefault(r.entity, []).append(r)
        return groups

    def true_pairs(self, domain: str) -> set[frozenset[tuple[str, str]]]:
        """Every pair of (source, source_key) in ``domain`` that shares a true entity."""
        pairs: set[frozenset[tuple[str, str]]] = set()
        for group in self.entities(domain).values():
            refs = [(r.source, r.source_key) for r in group]
            for i, a in enumerate(refs):
                for b in refs[i + 1:]:
                    pairs.add(frozenset((a, b)))
        return pairs

    def is_bad(self, source: str, domain: str, source_key: str, source_field: str) -> bool:
        """Whether that value was planted as deliberately bad."""
        return any(
            (b.source, b.domain, b.source_key, b.source_field)
            == (source, domain, source_key, source_field)
            for b in self.bad_values
        )


# ------------------------------------------------------------------------ source specs


def _maps(attribute: str, pairs: dict[str, str]) -> list[ValueMapSpec]:
    return [ValueMapSpec(attribute, src, canonical) for src, canonical in pairs.items()]


_CN = {"default_region": "CN"}


def _source_specs() -> list[SourceSpec]:
    fm = FieldMappingSpec
    crm = SourceSpec(
        code="crm",
        name="客户关系管理 CRM",
        is_source=True,
        is_subscriber=True,
        key_field={"customer": "客户编号", "contract": "合同编号"},
        updated_field={"customer": "更新时间", "contract": "更新时间"},
        mappings={
            "customer": [
                fm("客户类型", "party_type"),
                fm("客户名称", "name"),
                fm("客户名称", "name_zh"),
                fm("英文名", "name_latin"),
                fm("证件号码", "national_id"),
                fm("统一社会信用代码", "credit_code"),
                fm("手机", "phones", options=dict(_CN)),
                fm("电话", "phones", options=dict(_CN)),
                fm("邮箱", "emails", transform="split"),
                fm("地址", "addresses"),
                fm("城市", "city"),
                fm("出生日期", "birth_date"),
                fm("状态", "status"),
                fm("客户等级", "segment"),
            ],
            "contract": [
                fm("合同编号", "contract_number"),
                fm("客户编号", "customer_ref"),
                fm("合同金额", "amount"),
                fm("币种", "currency"),
                fm("开始日期", "start_date", options={"date_format": "%Y/%m/%d"}),
                fm("结束日期", "end_date", options={"date_format": "%Y/%m/%d"}),
                fm("签订日期", "signed_date", options={"date_format": "%Y/%m/%d"}),
                fm("合同状态", "status"),
                fm("产品明细", "product_lines"),
            ],
        },
        value_maps={
            "customer": (
                _maps("party_type", {"个人": "person", "企业": "organisation"})
                + _maps("status", {"1": "active", "2": "inactive", "3": "suspended"})
                + _maps("segment", {"VIP": "vip", "普通": "standard", "大客户": "key_account"})
            ),
            "contract": _maps(
                "status",
                {"草稿": "draft", "生效": "active", "到期": "expired", "终止": "terminated"},
            ),
        },
    )
    erp = SourceSpec(
        code="erp",
        name="ERP 企业资源计划",
        is_source=True,
        is_subscriber=True,
        key_field={"customer": "cust_no", "product": "item_code", "contract": "contract_no"},
        updated_field={"customer": "updated_at", "product": "updated_at",
                       "contract": "updated_at"},
        mappings={
            "customer": [
                fm("cust_type", "party_type"),
                fm("name_en", "name"),
                fm("name_en", "name_latin"),
                fm("name_cn", "name_zh"),
                fm("id_no", "national_id"),
                fm("uscc", "credit_code"),
                fm("mobile", "phones", options=dict(_CN)),
                fm("tel", "phones", options=dict(_CN)),
                fm("email", "emails"),
                fm("addr", "addresses"),
                fm("city", "city"),
                fm("birth", "birth_date"),
                fm("status", "status"),
            ],
            "product": [
                fm("item_code", "sku"),
                fm("ean", "gtin"),
                fm("description", "name"),
                fm("brand", "brand"),
                fm("category", "category"),
                fm("uom", "unit"),
                fm("price", "list_price"),
                fm("currency", "currency"),
                fm("status", "status"),
            ],
            "contract": [
                fm("contract_no", "contract_number"),
                fm("cust_no", "customer_ref"),
                fm("amount", "amount"),
                fm("currency", "currency"),
                fm("start", "start_date"),
                fm("end", "end_date"),
                fm("signed", "signed_date"),
                fm("status", "status"),
                fm("lines", "product_lines"),
            ],
        },
        value_maps={
            "customer": (
                _maps("party_type", {"P": "person", "O": "organisation"})
                + _maps("status", {"A": "active", "I": "inactive", "S": "suspended"})
            ),
            "product": (
                _maps("unit", {"PCS": "pcs", "BOX": "box", "KG": "kg"})
                + _maps("status", {"A": "active", "I": "inactive", "D": "discontinued"})
            ),
            "contract": _maps(
                "status", {"D": "draft", "A": "active", "E": "expired", "T": "terminated"}
            ),
        },
    )
    shop = SourceSpec(
        code="shop",
        name="电商平台 Shop",
        is_source=True,
        is_subscriber=True,
        key_field={"customer": "user_id", "product": "sku"},
        updated_field={"customer": "updated", "product": "updated"},
        mappings={
            "customer": [
                fm("real_name", "name"),
                fm("email", "emails"),
                fm("phone", "phones", options=dict(_CN)),
                fm("city", "city"),
                fm("status", "status"),
            ],
            "product": [
                fm("sku", "sku"),
                fm("gtin", "gtin"),
                fm("title", "name"),
                fm("brand", "brand"),
                fm("category", "category"),
                fm("price", "list_price"),
                fm("status", "status"),
            ],
        },
        value_maps={
            "customer": _maps("status", {"enabled": "active", "disabled": "inactive"}),
            "product": _maps("status", {"on_sale": "active", "off_shelf": "inactive"}),
        },
    )
    return [crm, erp, shop]


# ------------------------------------------------------------------------ reference data

# (zh, pinyin, relative frequency)
_SURNAMES = (
    ("王", "Wang", 71), ("李", "Li", 70), ("张", "Zhang", 67), ("刘", "Liu", 54),
    ("陈", "Chen", 45), ("杨", "Yang", 31), ("黄", "Huang", 22), ("赵", "Zhao", 20),
    ("吴", "Wu", 20), ("周", "Zhou", 19), ("徐", "Xu", 13), ("孙", "Sun", 12),
    ("马", "Ma", 12), ("朱", "Zhu", 11), ("胡", "Hu", 11), ("郭", "Guo", 10),
    ("何", "He", 9), ("高", "Gao", 9), ("林", "Lin", 9), ("罗", "Luo", 8),
    ("郑", "Zheng", 8), ("梁", "Liang", 7), ("谢", "Xie", 6), ("宋", "Song", 6),
    ("唐", "Tang", 6), ("许", "Xu", 5), ("韩", "Han", 5), ("冯", "Feng", 5),
    ("邓", "Deng", 5), ("曹", "Cao", 5), ("彭", "Peng", 5), ("曾", "Zeng", 5),
    ("肖", "Xiao", 5), ("田", "Tian", 4), ("董", "Dong", 4), ("袁", "Yuan", 4),
    ("潘", "Pan", 4), ("于", "Yu", 4), ("蒋", "Jiang", 4), ("蔡", "Cai", 4),
    ("余", "Yu", 4), ("杜", "Du", 4), ("叶", "Ye", 4), ("程", "Cheng", 4),
    ("苏", "Su", 3), ("魏", "Wei", 3), ("吕", "Lyu", 3), ("丁", "Ding", 3),
    ("任", "Ren", 3), ("沈", "Shen", 3), ("欧阳", "Ouyang", 1), ("司马", "Sima", 1),
)
_SURNAME_WEIGHTS = [s[2] for s in _SURNAMES]

# (zh, gender m/f/u, relative frequency)
_GIVEN_NAMES = (
    ("伟", "m", 12), ("芳", "f", 10), ("娜", "f", 9), ("秀英", "f", 8), ("敏", "f", 8),
    ("静", "f", 8), ("丽", "f", 7), ("强", "m", 7), ("磊", "m", 7), ("军", "m", 7),
    ("洋", "m", 6), ("勇", "m", 6), ("艳", "f", 6), ("杰", "m", 6), ("娟", "f", 5),
    ("涛", "m", 5), ("明", "m", 5), ("超", "m", 5), ("秀兰", "f", 5), ("霞", "f", 5),
    ("平", "u", 4), ("刚", "m", 4), ("桂英", "f", 4), ("浩然", "m", 3), ("子涵", "u", 3),
    ("欣怡", "f", 3), ("雨桐", "f", 3), ("梓涵", "f", 3), ("一诺", "u", 3), ("宇轩", "m", 3),
    ("思远", "m", 2), ("俊杰", "m", 3), ("婷婷", "f", 3), ("晓明", "m", 2), ("建国", "m", 3),
    ("建华", "m", 2), ("志强", "m", 3), ("海燕", "f", 2), ("玉兰", "f", 2), ("丹", "f", 3),
    ("鹏", "m", 3), ("辉", "m", 3), ("斌", "m", 3), ("宁", "u", 2), ("琳", "f", 3),
    ("雪", "f", 3), ("颖", "f", 3), ("建军", "m", 3), ("红", "f", 3), ("文", "u", 2),
    ("华", "u", 3), ("健", "m", 2), ("亮", "m", 2), ("慧", "f", 2), ("佳怡", "f", 2),
    ("子轩", "m", 2), ("浩宇", "m", 2), ("晨曦", "u", 1), ("诗涵", "f", 2), ("振华", "m", 1),
    ("国强", "m", 2), ("淑珍", "f", 1), ("桂芳", "f", 1), ("玉梅", "f", 1), ("春梅", "f", 1),
    ("志明", "m", 1), ("文杰", "m", 1), ("雅婷", "f", 1), ("梦洁", "f", 1), ("欣然", "f", 1),
)
_GIVEN_WEIGHTS = [g[2] for g in _GIVEN_NAMES]


@dataclass(frozen=True)
class _District:
    zh: str
    en: str
    code: str  # administrative division code (resident ID / credit code prefix)
    since: int  # first year the code was assigned (resident IDs born earlier can't use it)


@dataclass(frozen=True)
class _City:
    zh: str
    en: str
    province: str  # "" for the municipalities
    area_code: str
    weight: int
    districts: tuple[_District, ...]


_D = _District
_CITIES = (
    _City("北京", "Beijing", "", "010", 16, (
        _D("东城区", "Dongcheng District", "110101", 0),
        _D("西城区", "Xicheng District", "110102", 0),
        _D("朝阳区", "Chaoyang District", "110105", 0),
        _D("海淀区", "Haidian District", "110108", 0))),
    _City("上海", "Shanghai", "", "021", 16, (
        _D("黄浦区", "Huangpu District", "310101", 0),
        _D("徐汇区", "Xuhui District", "310104", 0),
        _D("静安区", "Jing'an District", "310106", 0),
        _D("浦东新区", "Pudong New Area", "310115", 1992))),
    _City("广州", "Guangzhou", "广东省", "020", 10, (
        _D("越秀区", "Yuexiu District", "440104", 1983),
        _D("天河区", "Tianhe District", "440106", 1985),
        _D("海珠区", "Haizhu District", "440105", 1983))),
    _City("深圳", "Shenzhen", "广东省", "0755", 10, (
        _D("福田区", "Futian District", "440304", 1990),
        _D("南山区", "Nanshan District", "440305", 1990),
        _D("罗湖区", "Luohu District", "440303", 1983))),
    _City("杭州", "Hangzhou", "浙江省", "0571", 8, (
        _D("上城区", "Shangcheng District", "330102", 1983),
        _D("西湖区", "Xihu District", "330106", 1983),
        _D("滨江区", "Binjiang District", "330108", 1996))),
    _City("成都", "Chengdu", "四川省", "028", 8, (
        _D("锦江区", "Jinjiang District", "510104", 1990),
        _D("青羊区", "Qingyang District", "510105", 1990),
        _D("武侯区", "Wuhou District", "510107", 1990))),
    _City("南京", "Nanjing", "江苏省", "025", 6, (
        _D("玄武区", "Xuanwu District", "320102", 1983),
        _D("鼓楼区", "Gulou District", "320106", 1983),
        _D("建邺区", "Jianye District", "320105", 1983))),
    _City("武汉", "Wuhan", "湖北省", "027", 6, (
        _D("江岸区", "Jiang'an District", "420102", 1983),
        _D("武昌区", "Wuchang District", "420106", 1983),
        _D("洪山区", "Hongshan District", "420111", 1983))),
    _City("西安", "Xi'an", "陕西省", "029", 5, (
        _D("碑林区", "Beilin District", "610103", 1983),
        _D("雁塔区", "Yanta District", "610113", 1983),
        _D("莲湖区", "Lianhu District", "610104", 1983))),
    _City("重庆", "Chongqing", "", "023", 5, (
        _D("渝中区", "Yuzhong District", "500103", 1997),
        _D("江北区", "Jiangbei District", "500105", 1997),
        _D("沙坪坝区", "Shapingba District", "500106", 1997))),
    _City("天津", "Tianjin", "", "022", 5, (
        _D("和平区", "Heping District", "120101", 0),
        _D("河西区", "Hexi District", "120103", 0),
        _D("南开区", "Nankai District", "120104", 0))),
    _City("苏州", "Suzhou", "江苏省", "0512", 5, (
        _D("姑苏区", "Gusu District", "320508", 2012),
        _D("吴中区", "Wuzhong District", "320506", 2000),
        _D("虎丘区", "Huqiu District", "320505", 2000))),
)
_CITY_WEIGHTS = [c.weight for c in _CITIES]
_CITY_BY_ZH = {c.zh: c for c in _CITIES}
_ALL_DISTRICTS = [d for c in _CITIES for d in c.districts]

_STREETS = (
    ("建国路", "Jianguo Road"), ("中山路", "Zhongshan Road"), ("人民路", "Renmin Road"),
    ("解放路", "Jiefang Road"), ("建设路", "Jianshe Road"), ("和平路", "Heping Road"),
    ("新华路", "Xinhua Road"), ("长江路", "Changjiang Road"), ("黄河路", "Huanghe Road"),
    ("科技路", "Keji Road"), ("创业大道", "Chuangye Avenue"), ("文化路", "Wenhua Road"),
    ("青年路", "Qingnian Road"), ("学院路", "Xueyuan Road"), ("光明街", "Guangming Street"),
    ("东风路", "Dongfeng Road"), ("滨江大道", "Binjiang Avenue"), ("世纪大道", "Century Avenue"),
)

_BRANDS = (
    ("星辰", "Xingchen"), ("华信", "Huaxin"), ("博远", "Boyuan"), ("天成", "Tiancheng"),
    ("鼎盛", "Dingsheng"), ("恒通", "Hengtong"), ("瑞丰", "Ruifeng"), ("金桥", "Jinqiao"),
    ("宏达", "Hongda"), ("永新", "Yongxin"), ("海纳", "Haina"), ("蓝海", "Lanhai"),
    ("新锐", "Xinrui"), ("联创", "Lianchuang"), ("远航", "Yuanhang"), ("卓越", "Zhuoyue"),
    ("汇通", "Huitong"), ("明德", "Mingde"), ("嘉禾", "Jiahe"), ("盛世", "Shengshi"),
    ("锦程", "Jincheng"), ("天宇", "Tianyu"), ("中科", "Zhongke"), ("恒信", "Hengxin"),
    ("华泰", "Huatai"), ("东方", "Dongfang"), ("百川", "Baichuan"), ("云帆", "Yunfan"),
    ("启明", "Qiming"), ("万象", "Wanxiang"), ("智联", "Zhilian"), ("安泰", "Antai"),
    ("润泽", "Runze"), ("金鹏", "Jinpeng"), ("宏图", "Hongtu"), ("新纪元", "Xinjiyuan"),
    ("凯旋", "Kaixuan"), ("同创", "Tongchuang"), ("信达", "Xinda"), ("富源", "Fuyuan"),
    ("康宁", "Kangning"), ("德馨", "Dexin"), ("君和", "Junhe"), ("尚品", "Shangpin"),
    ("长青", "Changqing"), ("友邦", "Youbang"), ("泰和", "Taihe"), ("晟达", "Shengda"),
    ("朗润", "Langrun"), ("佳合", "Jiahe"), ("银河", "Yinhe"), ("青山", "Qingshan"),
)
# (zh, English, e-mail domain tag)
_INDUSTRIES = (
    ("科技", "Technology", "tech"), ("贸易", "Trading", "trade"),
    ("电子", "Electronics", "elec"), ("医药", "Pharmaceutical", "pharma"),
    ("物流", "Logistics", "logistics"),
)
_LEGAL_FORMS = (("有限公司", "Co., Ltd."), ("有限责任公司", "Co., Ltd."),
                ("股份有限公司", "Corp., Ltd."))
_LEGAL_FORM_WEIGHTS = (60, 25, 15)

_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "166", "173", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
)
_MAIL_DOMAINS = ("163.com", "126.com", "qq.com", "sina.com", "gmail.com", "outlook.com",
                 "foxmail.com", "139.com")
_MAIL_DOMAIN_WEIGHTS = (25, 12, 30, 6, 8, 8, 6, 5)

# (ERP category, shop category, base name, variants, unit, price from, price to)
_PRODUCT_TEMPLATES = (
    ("办公用品", "办公文具", "A4复印纸 70g 500张/包", ("5包/箱", "8包/箱"), "BOX", 90, 260),
    ("办公用品", "办公文具", "中性笔 0.5mm", ("黑色 12支装", "蓝色 12支装", "红色 12支装"),
     "BOX", 12, 36),
    ("办公用品", "办公文具", "订书机 12号", ("标准款", "省力款"), "PCS", 12, 48),
    ("办公用品", "办公文具", "文件夹 A4", ("蓝色", "黑色", "透明"), "PCS", 3, 15),
    ("办公用品", "办公文具", "计算器 12位", ("太阳能", "语音款"), "PCS", 25, 89),
    ("电子产品", "数码电脑", "无线鼠标 2.4G", ("黑色", "白色", "灰色"), "PCS", 49, 199),
    ("电子产品", "数码电脑", "机械键盘 87键", ("青轴", "红轴", "茶轴"), "PCS", 199, 899),
    ("电子产品", "数码电脑", "27英寸显示器", ("2K 165Hz", "4K IPS"), "PCS", 999, 2999),
    ("电子产品", "数码电脑", "USB-C 扩展坞", ("7合1", "11合1"), "PCS", 129, 499),
    ("电子产品", "手机数码", "蓝牙耳机", ("降噪版", "标准版"), "PCS", 99, 999),
    ("电子产品", "手机数码", "移动电源 20000mAh", ("22.5W 快充", "65W 快充"), "PCS", 99, 299),
    ("电子产品", "数码电脑", "笔记本电脑 14英寸", ("16G/512G", "32G/1T"), "PCS", 3999, 8999),
    ("食品饮料", "食品生鲜", "饮用天然水 550ml×24瓶", ("整箱",), "BOX", 24, 48),
    ("食品饮料", "食品生鲜", "绿茶饮料 500ml×15瓶", ("整箱",), "BOX", 35, 60),
    ("食品饮料", "食品生鲜", "咖啡豆 中度烘焙", ("1kg",), "KG", 89, 199),
    ("食品饮料", "食品生鲜", "东北长粒香大米", ("散装",), "KG", 5, 15),
    ("食品饮料", "食品生鲜", "每日坚果礼盒 750g", ("30袋装",), "BOX", 99, 299),
    ("日用百货", "家居日用", "抽纸 3层120抽", ("24包/箱",), "BOX", 39, 89),
    ("日用百货", "家居日用", "洗衣液 3kg", ("薰衣草香", "无香型"), "PCS", 29, 69),
    ("日用百货", "家居日用", "保温杯 500ml", ("不锈钢 黑色", "不锈钢 白色"), "PCS", 59, 199),
    ("工业品", "五金工具", "不锈钢螺丝 M6×20", ("304材质",), "KG", 30, 60),
    ("工业品", "五金工具", "锂电电钻 12V", ("单电版", "双电版"), "PCS", 199, 599),
    ("工业品", "五金工具", "劳保手套 12双装", ("浸胶", "棉纱"), "BOX", 15, 40),
    ("医疗器械", "医药保健", "医用外科口罩 50只/盒", ("蓝色",), "BOX", 15, 40),
    ("医疗器械", "医药保健", "电子体温计", ("软头",), "PCS", 19, 59),
)
_PRODUCT_BRANDS = ("星辰", "优品", "恒源", "佳美", "利达", "蓝鲸", "晨曦", "云途", "金禾",
                   "青木", "和风", "百川")

_CRM_STATUS = {"active": "1", "inactive": "2", "suspended": "3"}
_ERP_STATUS = {"active": "A", "inactive": "I", "suspended": "S"}
_CRM_SEGMENT = {"vip": "VIP", "standard": "普通", "key_account": "大客户"}
_CRM_CONTRACT_STATUS = {"draft": "草稿", "active": "生效", "expired": "到期",
                        "terminated": "终止"}
_ERP_CONTRACT_STATUS = {"draft": "D", "active": "A", "expired": "E", "terminated": "T"}
_ERP_PRODUCT_STATUS = {"active": "A", "inactive": "I", "discontinued": "D"}


# ---------------------------------------------------------------------- internal models


@dataclass
class _Party:
    """A true customer entity (mutable while the data set is being built)."""

    entity: str
    kind: str  # "person" or "organisation"
    name_zh: str
    city: _City
    district: _District
    street: tuple[str, str]
    address_no: int
    address_detail: tuple[int, int, int]  # building/tower, unit/floor, room
    mobile: str = ""
    landline: str = ""
    emails: list[str] = field(default_factory=list)
    status: str = "active"
    segment: str = "standard"
    # persons
    surname: tuple[str, str] = ("", "")
    given: str = ""
    given_py: str = ""
    national_id: str = ""
    birth: date | None = None
    # organisations
    credit_code: str = ""
    brand: tuple[str, str] = ("", "")
    industry: tuple[str, str, str] = ("", "", "")
    legal_form: tuple[str, str] = ("", "")
    branch_of: _Party | None = None
    # membership
    in_crm: bool = False
    in_erp: bool = False
    in_shop: bool = False
    crm_keys: list[str] = field(default_factory=list)
    erp_key: str = ""

    @property
    def is_person(self) -> bool:
        return self.kind == "person"


@dataclass
class _Product:
    entity: str
    sku: str
    gtin: str
    brand: str
    base: str
    variant: str
    category: str
    shop_category: str
    unit: str
    price_cents: int
    status: str
    in_shop: bool


@dataclass
class _Contract:
    entity: str
    number: str
    party: _Party
    lines: list[tuple[str, int, int]]  # (sku, quantity, unit price in cents)
    amount_cents: int
    erp_amount_cents: int
    signed: date | None
    start: date
    end: date
    status: str
    in_crm: bool
    in_erp: bool
    erp_lines: list[tuple[str, int, int]] | None = None  # when ERP holds an amendment


@dataclass
class _Raw:
    """A record under construction: fields may still be changed (bad values)."""

    source: str
    domain: str
    key: str
    fields: dict[str, object]
    updated: datetime
    entity: str
    scenario: bool = False


class _Registry:
    """Values that must stay unique across the whole data set."""

    def __init__(self) -> None:
        self.mobiles: set[str] = set()
        self.landlines: set[str] = set()
        self.emails: set[str] = set()
        self.ids: set[str] = set()
        self.codes: set[str] = set()
        self.gtins: set[str] = set()
        self.domains: set[str] = set()
        self.org_names: set[str] = set()


# --------------------------------------------------------------------------- generators


def _weighted(rng: random.Random, options, weights):
    return rng.choices(options, weights=weights, k=1)[0]


def _ric_with_check(body17: str) -> str:
    return body17 + _ric.calc_check_digit(body17 + "0")


def _uscc_with_check(body17: str) -> str:
    return body17 + _uscc.calc_check_digit(body17)


def _org_code(body8: str) -> str:
    """The 9-character organisation code (GB 11714) for an 8-digit body."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c) * w for c, w in zip(body8, weights, strict=True)) % 11
    return body8 + {10: "X", 11: "0"}.get(check, str(check))


def _ean13(body12: str) -> str:
    return body12 + _ean.calc_check_digit(body12)


def _wrong_check(value: str, alphabet: str) -> str:
    """``value`` with its last character replaced by a different one."""
    options = [c for c in alphabet if c != value[-1]]
    return value[:-1] + options[sum(map(ord, value)) % len(options)]


def _new_mobile(rng: random.Random, reg: _Registry) -> str:
    while True:
        number = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if number not in reg.mobiles:
            reg.mobiles.add(number)
            return number


def _new_landline(rng: random.Random, reg: _Registry, city: _City) -> str:
    while True:
        local = str(rng.randint(2, 8)) + f"{rng.randrange(10**7):07d}"
        number = f"{city.area_code}-{local}"
        if number not in reg.landlines:
            reg.landlines.add(number)
            return number


def _unique_email(reg: _Registry, local: str, domain: str, rng: random.Random) -> str:
    email = f"{local}@{domain}"
    while email in reg.emails:
        email = f"{local}{rng.randint(1, 999)}@{domain}"
    reg.emails.add(email)
    return email


def _person_email(rng: random.Random, reg: _Registry, sur: str, given: str,
                  birth: date | None) -> str:
    domain = _weighted(rng, _MAIL_DOMAINS, _MAIL_DOMAIN_WEIGHTS)
    if domain == "qq.com":
        local = str(rng.randint(10**5, 3 * 10**9))
    else:
        suffix = rng.choice(
            ["", str(rng.randint(1, 99)), f"{birth.year % 100:02d}" if birth else "",
             f"{birth.month:02d}{birth.day:02d}" if birth else "", "_" + str(rng.randint(1, 9))]
        )
        local = _weighted(rng, (sur + given, f"{sur}.{given}", given[:1] + sur, given + sur),
                          (50, 15, 15, 20)) + suffix
    return _unique_email(reg, local.lower(), domain, rng)


def _new_national_id(rng: random.Random, reg: _Registry, birth: date, male: bool,
                     home: _City) -> str:
    valid_home = [d for d in home.districts if d.since <= birth.year]
    if valid_home and rng.random() < 0.6:
        district = rng.choice(valid_home)
    else:
        district = rng.choice([d for d in _ALL_DISTRICTS if d.since <= birth.year])
    while True:
        seq = rng.randrange(0, 1000)
        if (seq % 2 == 1) != male:
            seq = (seq + 1) % 1000
        number = _ric_with_check(f"{district.code}{birth:%Y%m%d}{seq:03d}")
        if number not in reg.ids:
            reg.ids.add(number)
            return number


def _new_credit_code(rng: random.Random, reg: _Registry, district: _District) -> str:
    while True:
        body = f"91{district.code}" + _org_code(f"{rng.randrange(10**8):08d}")
        code = _uscc_with_check(body)
        if code not in reg.codes:
            reg.codes.add(code)
            return code


def _pinyin_given(given: str) -> str:
    return "".join(lazy_pinyin(given)).capitalize()


def _make_person(rng: random.Random, reg: _Registry, entity: str) -> _Party:
    surname = _weighted(rng, _SURNAMES, _SURNAME_WEIGHTS)
    given, gender, _ = _weighted(rng, _GIVEN_NAMES, _GIVEN_WEIGHTS)
    male = gender == "m" or (gender == "u" and rng.random() < 0.5)
    city = _weighted(rng, _CITIES, _CITY_WEIGHTS)
    birth = date(1956, 1, 1) + timedelta(days=rng.randrange(0, 52 * 365))
    p = _Party(
        entity=entity, kind="person", name_zh=surname[0] + given, city=city,
        district=rng.choice(city.districts), street=rng.choice(_STREETS),
        address_no=rng.randint(1, 399),
        address_detail=(rng.randint(1, 30), rng.randint(1, 6),
                        rng.randint(1, 32) * 100 + rng.randint(1, 8)),
        surname=(surname[0], surname[1]), given=given, given_py=_pinyin_given(given),
        birth=birth,
    )
    p.national_id = _new_national_id(rng, reg, birth, male, city)
    p.mobile = _new_mobile(rng, reg)
    if rng.random() < 0.2:
        p.landline = _new_landline(rng, reg, city)
    sur, giv = surname[1].lower(), p.given_py.lower()
    if rng.random() < 0.92:
        p.emails.append(_person_email(rng, reg, sur, giv, birth))
        if rng.random() < 0.12:
            p.emails.append(_person_email(rng, reg, sur, giv, birth))
    p.status = _weighted(rng, ("active", "inactive", "suspended"), (85, 10, 5))
    p.segment = _weighted(rng, ("standard", "vip"), (82, 18))
    return p


def _make_org(rng: random.Random, reg: _Registry, entity: str, orgs: list[_Party]) -> _Party:
    parents = [o for o in orgs if o.branch_of is None]
    if parents and rng.random() < 0.06:
        parent = rng.choice(parents)
        city = rng.choice([c for c in _CITIES if c is not parent.city])
        name = f"{parent.name_zh}{city.zh}分公司"
        brand, industry, form = parent.brand, parent.industry, parent.legal_form
    else:
        parent = None
        for _ in range(60):
            city = _weighted(rng, _CITIES, _CITY_WEIGHTS)
            brand = rng.choice(_BRANDS)
            industry = rng.choice(_INDUSTRIES)
            form = _weighted(rng, _LEGAL_FORMS, _LEGAL_FORM_WEIGHTS)
            name = f"{city.zh}{brand[0]}{industry[0]}{form[0]}"
            if name not in reg.org_names:
                break
    if name in reg.org_names:  # only for huge populations: fall back to a made-up brand
        name = f"{city.zh}{brand[0]}{entity[-3:]}{industry[0]}{form[0]}"
    reg.org_names.add(name)
    district = rng.choice(city.districts)
    o = _Party(
        entity=entity, kind="organisation", name_zh=name, city=city, district=district,
        street=rng.choice(_STREETS), address_no=rng.randint(1, 999),
        address_detail=(rng.choice((1, 2, 3)), rng.randint(2, 38), rng.randint(1, 20)),
        brand=brand, industry=industry, legal_form=form, branch_of=parent,
    )
    o.credit_code = _new_credit_code(rng, reg, district)
    o.landline = _new_landline(rng, reg, city)
    if rng.random() < 0.4:
        o.mobile = _new_mobile(rng, reg)
    if parent is not None and parent.emails:
        mail_domain = parent.emails[0].split("@")[1]
        local = rng.choice(["sales", "service", "admin"]) + "." + city.en.lower().replace("'", "")
        o.emails.append(_unique_email(reg, local, mail_domain, rng))
    elif rng.random() < 0.9:
        stem = f"{brand[1].lower()}-{industry[2]}"
        mail_domain = stem + rng.choice((".com", ".com.cn", ".cn"))
        n = 1
        while mail_domain in reg.domains:
            n += 1
            mail_domain = f"{stem}{n}.com"
        reg.domains.add(mail_domain)
        local = _weighted(rng, ("info", "sales", "contact", "service", "finance"),
                          (40, 25, 15, 10, 10))
        o.emails.append(_unique_email(reg, local, mail_domain, rng))
    o.status = _weighted(rng, ("active", "inactive", "suspended"), (88, 8, 4))
    o.segment = _weighted(rng, ("standard", "vip", "key_account"), (50, 15, 35))
    return o


def _assign_membership(rng: random.Random, p: _Party) -> None:
    while True:
        if p.is_person:
            p.in_crm, p.in_erp = rng.random() < 0.70, rng.random() < 0.56
            p.in_shop = rng.random() < 0.42
        else:
            p.in_crm, p.in_erp, p.in_shop = rng.random() < 0.64, rng.random() < 0.5, False
        if p.in_crm or p.in_erp or p.in_shop:
            return


# ---------------------------------------------------------------------- value rendering


def _rand_dt(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randint(0, max(span, 0)))


def _crm_time(dt: datetime) -> str:
    return f"{dt:%Y-%m-%d %H:%M:%S}"


def _erp_time(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _fmt_mobile(number: str, style: str) -> str:
    a, b, c = number[:3], number[3:7], number[7:]
    return {
        "dash": f"{a}-{b}-{c}",
        "plain": number,
        "space": f"{a} {b} {c}",
        "plus_space": f"+86 {a} {b} {c}",
        "0086": f"0086 {number}",
        "86": f"86{number}",
        "plus_dash": f"+86-{a}-{b}-{c}",
    }[style]


def _fmt_landline(number: str, style: str) -> str:
    area, local = number.split("-")
    if style == "space":
        return f"{area} {local[:4]} {local[4:]}"
    if style == "intl":
        return f"+86 {area[1:]} {local[:4]} {local[4:]}"
    return number


def _address_zh(p: _Party, with_province: bool) -> str:
    city = p.city
    prefix = (city.province if with_province else "") + city.zh + "市" + p.district.zh
    a, b, c = p.address_detail
    street = f"{p.street[0]}{p.address_no}号"
    if p.is_person:
        return f"{prefix}{street}{a}栋{b}单元{c}室"
    return f"{prefix}{street}{'ABC'[a - 1]}座{b}层{c:02d}室"


def _address_en(p: _Party) -> str:
    a, b, c = p.address_detail
    tail = f"No. {p.address_no} {p.street[1]}, {p.district.en}, {p.city.en}"
    if p.is_person:
        return f"Room {c}, Unit {b}, Building {a}, {tail}"
    return f"{b}F, Tower {'ABC'[a - 1]}, {tail}"


def _latin_name(rng: random.Random, p: _Party) -> str:
    sur, given = p.surname[1], p.given_py
    style = _weighted(rng, ("std", "caps_sur", "western", "caps", "spaced"), (45, 20, 20, 10, 5))
    if style == "caps_sur":
        return f"{sur.upper()} {given}"
    if style == "western":
        return f"{given} {sur}"
    if style == "caps":
        return f"{sur} {given}".upper()
    if style == "spaced" and len(p.given) == 2:
        return f"{sur} " + " ".join(s.capitalize() for s in lazy_pinyin(p.given))
    return f"{sur} {given}"


def _org_english(o: _Party) -> str:
    base = o.branch_of or o
    text = f"{base.brand[1]} {base.industry[1]} ({base.city.en}) {base.legal_form[1]}"
    if o.branch_of is not None:
        text += f" {o.city.en} Branch"
    return text


def _org_bracketed(o: _Party) -> str:
    base = o.branch_of or o
    text = f"{base.brand[0]}{base.industry[0]}（{base.city.zh}）{base.legal_form[0]}"
    if o.branch_of is not None:
        text += f"{o.city.zh}分公司"
    return text


def _crm_birth(rng: random.Random, birth: date) -> str:
    style = _weighted(rng, ("iso", "slash", "zh", "compact"), (25, 30, 30, 15))
    if style == "slash":
        return f"{birth:%Y/%m/%d}"
    if style == "zh":
        return f"{birth.year}年{birth.month}月{birth.day}日"
    if style == "compact":
        return f"{birth:%Y%m%d}"
    return birth.isoformat()


def _money(cents: int, grouping: bool = True) -> str:
    yuan, rest = divmod(cents, 100)
    return (f"{yuan:,}" if grouping else str(yuan)) + f".{rest:02d}"


# ------------------------------------------------------------------------ record builders


def _crm_customer(rng: random.Random, p: _Party, key: str, updated: datetime) -> dict:
    person = p.is_person
    emails = list(p.emails) if rng.random() < 0.9 else []
    if len(emails) == 2:
        cell = rng.choice([";", "; ", ","]).join(emails)
    else:
        cell = emails[0] if emails else ""
    if cell and rng.random() < 0.1:
        cell = cell.upper()
    if person:
        latin = f"{p.surname[1]} {p.given_py}" if rng.random() < 0.1 else ""
    else:
        latin = _org_english(p) if rng.random() < 0.3 else ""
    return {
        "客户编号": key,
        "客户类型": "个人" if person else "企业",
        "客户名称": p.name_zh,
        "英文名": latin,
        "证件号码": p.national_id if person and rng.random() < 0.9 else "",
        "统一社会信用代码": p.credit_code if not person and rng.random() < 0.95 else "",
        "手机": _fmt_mobile(p.mobile, rng.choice(("dash", "plain", "space"))) if p.mobile else "",
        "电话": _fmt_landline(p.landline, _weighted(rng, ("dash", "space"), (80, 20)))
        if p.landline else "",
        "邮箱": cell,
        "地址": _address_zh(p, bool(p.city.province) and rng.random() < 0.5),
        "城市": p.city.zh + ("市" if rng.random() < 0.1 else ""),
        "出生日期": _crm_birth(rng, p.birth) if p.birth and rng.random() < 0.85 else "",
        "状态": _CRM_STATUS[p.status],
        "客户等级": _CRM_SEGMENT[p.segment],
        "更新时间": _crm_time(updated),
    }


def _crm_duplicate(rng: random.Random, p: _Party, original: dict, key: str,
                   updated: datetime) -> dict:
    """The same customer typed in again: new key, other phone format, e-mail maybe gone."""
    dup = dict(original)
    dup["客户编号"] = key
    dup["更新时间"] = _crm_time(updated)
    if p.mobile:
        styles = [s for s in ("dash", "plain", "space")
                  if _fmt_mobile(p.mobile, s) != original["手机"]]
        dup["手机"] = _fmt_mobile(p.mobile, rng.choice(styles))
    if rng.random() < 0.5:
        dup["邮箱"] = ""
    if rng.random() < 0.3:
        dup["地址"] = _address_zh(p, False).replace("市", "", 1)
    if p.is_person and rng.random() < 0.3:
        dup["证件号码"] = ""
    dup["客户等级"] = "普通" if rng.random() < 0.5 else original["客户等级"]
    return dup


def _erp_customer(rng: random.Random, p: _Party, key: str, updated: datetime) -> dict:
    person = p.is_person
    if person:
        name_en = _latin_name(rng, p)
    else:
        name_en = _weighted(rng, (_org_english(p), _org_bracketed(p), p.name_zh), (40, 30, 30))
    email = p.emails[0] if p.emails and rng.random() < 0.75 else None
    if email and rng.random() < 0.1:
        email = email.capitalize()
    status = p.status
    if rng.random() < 0.04:
        status = "inactive"
    chinese_addr = rng.random() < 0.5
    return {
        "cust_no": key,
        "cust_type": "P" if person else "O",
        "name_en": name_en,
        "name_cn": p.name_zh if rng.random() < 0.6 else None,
        "id_no": p.national_id if person and rng.random() < 0.8 else None,
        "uscc": p.credit_code if not person and rng.random() < 0.9 else None,
        "mobile": _fmt_mobile(p.mobile, rng.choice(("plus_space", "0086", "86")))
        if p.mobile else None,
        "tel": _fmt_landline(p.landline, rng.choice(("intl", "dash"))) if p.landline else None,
        "email": email,
        "addr": _address_zh(p, False) if chinese_addr else _address_en(p),
        "city": p.city.en,
        "birth": p.birth.isoformat() if p.birth and rng.random() < 0.7 else None,
        "status": _ERP_STATUS[status],
        "updated_at": _erp_time(updated),
    }


def _shop_customer(rng: random.Random, p: _Party, key: str, updated: datetime) -> dict:
    if rng.random() < 0.65:
        name = p.name_zh
    else:
        name = rng.choice([f"{p.surname[1]} {p.given_py}", f"{p.given_py} {p.surname[1]}"])
    email = p.emails[-1] if p.emails and rng.random() < 0.95 else None
    city = None
    if rng.random() < 0.7:
        city = p.city.zh + ("市" if rng.random() < 0.4 else "")
    return {
        "user_id": key,
        "real_name": name,
        "email": email.lower() if email else None,
        "phone": _fmt_mobile(p.mobile, rng.choice(("0086", "plus_dash", "plain"))),
        "city": city,
        "status": "enabled" if p.status == "active" else "disabled",
        "updated": int(updated.timestamp() * 1000) + rng.randrange(1000),
    }


def _erp_product(rng: random.Random, pr: _Product, updated: datetime) -> dict:
    return {
        "item_code": pr.sku,
        "ean": pr.gtin,
        "description": f"{pr.brand} {pr.base} {pr.variant}",
        "brand": pr.brand,
        "category": pr.category,
        "uom": pr.unit,
        "price": _money(pr.price_cents, grouping=False),
        "currency": "CNY",
        "status": _ERP_PRODUCT_STATUS[pr.status],
        "updated_at": _erp_time(updated),
    }


def _shop_product(rng: random.Random, pr: _Product, updated: datetime) -> dict:
    title = _weighted(rng, (
        f"{pr.brand} {pr.base} {pr.variant}",
        f"【官方正品】{pr.brand}{pr.base} {pr.variant}",
        f"{pr.brand} {pr.base} {pr.variant} 包邮",
    ), (40, 30, 30))
    price = pr.price_cents
    if rng.random() < 0.2:  # promotion price
        price = max(100, int(price * rng.choice((0.85, 0.9, 0.95))) // 10 * 10)
    on_sale = pr.status == "active" and rng.random() < 0.95
    return {
        "sku": pr.sku,
        "gtin": pr.gtin if rng.random() < 0.95 else None,
        "title": title,
        "brand": pr.brand,
        "category": pr.shop_category,
        "price": "¥" + _money(price),
        "status": "on_sale" if on_sale else "off_shelf",
        "updated": updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _crm_amount(rng: random.Random, cents: int) -> str:
    if cents % 1_000_000 == 0 and rng.random() < 0.5:
        return f"{cents // 1_000_000}万"
    return _money(cents, grouping=rng.random() < 0.7)


def _crm_contract(rng: random.Random, c: _Contract, updated: datetime) -> dict:
    return {
        "合同编号": c.number,
        "客户编号": c.party.crm_keys[0],
        "合同金额": _crm_amount(rng, c.amount_cents),
        "币种": "人民币" if rng.random() < 0.9 else "CNY",
        "开始日期": f"{c.start:%Y/%m/%d}",
        "结束日期": f"{c.end:%Y/%m/%d}",
        "签订日期": f"{c.signed:%Y/%m/%d}" if c.signed else "",
        "合同状态": _CRM_CONTRACT_STATUS[c.status],
        "产品明细": ";".join(f"{sku}:{qty}:{_money(price, False)}"
                         for sku, qty, price in c.lines),
        "更新时间": _crm_time(updated),
    }


def _erp_contract(rng: random.Random, c: _Contract, updated: datetime) -> dict:
    status = c.status
    if status == "expired" and rng.random() < 0.05:  # ERP lags behind
        status = "active"
    return {
        "contract_no": c.number,
        "cust_no": c.party.erp_key,
        "amount": c.erp_amount_cents / 100,
        "currency": "CNY",
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "signed": c.signed.isoformat() if c.signed else None,
        "status": _ERP_CONTRACT_STATUS[status],
        "lines": [{"sku": sku, "quantity": qty, "unit_price": price / 100}
                  for sku, qty, price in (c.erp_lines or c.lines)],
        "updated_at": _erp_time(updated),
    }


# ------------------------------------------------------------------------------ scenario

_SCENARIO_ID_A = _ric_with_check("11010519850302123")
_SCENARIO_ID_B = _ric_with_check("11010819900715357")
_SCENARIO_CODE_X = _uscc_with_check("91110105" + _org_code("66090537"))
_SCENARIO_CODE_Y = _uscc_with_check("91310115" + _org_code("78152046"))
_SCENARIO_GTIN = _ean13("690123459001")

_RESERVED_KEYS = {
    ("crm", "customer"): {"C900001", "C900002", "C900003", "C900004", "C900010", "C900011",
                          "C900012"},
    ("erp", "customer"): {"E-900001", "E-900010"},
    ("shop", "customer"): {"U900002"},
}


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def _from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis // 1000, CST) + timedelta(milliseconds=millis % 1000)


def _scenario(reg: _Registry) -> tuple[list[_Party], list[_Raw], list[BadValue]]:
    """The fixed scenario customers and their records (independent of the seed)."""
    bj, sh = _CITY_BY_ZH["北京"], _CITY_BY_ZH["上海"]
    zhang = ("张", "Zhang")
    a = _Party(
        entity="cust-90001", kind="person", name_zh="张伟", city=bj,
        district=bj.districts[2], street=_STREETS[4], address_no=18,
        address_detail=(5, 2, 1102), mobile="13800138000", emails=["zhangwei85@163.com"],
        surname=zhang, given="伟", given_py="Wei", national_id=_SCENARIO_ID_A,
        birth=date(1985, 3, 2), status="active", segment="vip", in_crm=True, in_erp=True,
        crm_keys=["C900001", "C900003"], erp_key="E-900001",
    )
    b = _Party(
        entity="cust-90002", kind="person", name_zh="张伟", city=bj,
        district=bj.districts[3], street=_STREETS[13], address_no=37,
        address_detail=(12, 1, 602), mobile="13910886621", emails=["457812930@qq.com"],
        surname=zhang, given="伟", given_py="Wei", national_id=_SCENARIO_ID_B,
        birth=date(1990, 7, 15), status="active", segment="standard", in_crm=True,
        in_shop=True, crm_keys=["C900002", "C900004"],
    )
    x = _Party(
        entity="cust-90010", kind="organisation", name_zh="北京星辰科技有限公司", city=bj,
        district=bj.districts[2], street=_STREETS[0], address_no=88,
        address_detail=(1, 12, 3), landline="010-65881234", mobile="13601016688",
        emails=["info@xingchen-tech.com.cn"], credit_code=_SCENARIO_CODE_X,
        brand=("星辰", "Xingchen"), industry=_INDUSTRIES[0], legal_form=_LEGAL_FORMS[0],
        status="active", segment="key_account", in_crm=True, in_erp=True,
        crm_keys=["C900010", "C900012"], erp_key="E-900010",
    )
    y = _Party(
        entity="cust-90011", kind="organisation", name_zh="北京星辰科技有限公司上海分公司",
        city=sh, district=sh.districts[3], street=_STREETS[17], address_no=1000,
        address_detail=(2, 21, 8), landline="021-58761234",
        emails=["shanghai@xingchen-tech.com.cn"], credit_code=_SCENARIO_CODE_Y,
        brand=x.brand, industry=x.industry, legal_form=x.legal_form, branch_of=x,
        status="active", segment="standard", in_crm=True, crm_keys=["C900011"],
    )
    parties = [a, b, x, y]
    for p in parties:
        reg.ids.add(p.national_id)
        reg.codes.add(p.credit_code)
        reg.mobiles.add(p.mobile)
        reg.landlines.add(p.landline)
        reg.emails.update(p.emails)
        if not p.is_person:
            reg.org_names.add(p.name_zh)
    reg.domains.add("xingchen-tech.com.cn")

    def crm(p: _Party, key: str, updated: str, overrides: dict[str, str]) -> _Raw:
        fields = {
            "客户编号": key, "客户类型": "个人" if p.is_person else "企业",
            "客户名称": p.name_zh, "英文名": "", "证件号码": p.national_id,
            "统一社会信用代码": p.credit_code, "手机": "", "电话": p.landline,
            "邮箱": p.emails[0], "地址": _address_zh(p, False), "城市": p.city.zh,
            "出生日期": "", "状态": _CRM_STATUS[p.status], "客户等级": _CRM_SEGMENT[p.segment],
            "更新时间": updated,
        }
        fields.update(overrides)
        return _Raw("crm", "customer", key, fields, _dt(updated), p.entity, scenario=True)

    raws = [
        crm(a, "C900001", "2026-05-12 09:31:07",
            {"手机": "138-0013-8000", "出生日期": "1985年3月2日"}),
        crm(a, "C900003", "2026-08-03 15:02:44",
            {"手机": "138-0013-800", "邮箱": "", "出生日期": "1985/03/02"}),
        crm(b, "C900002", "2025-11-20 11:45:00",
            {"手机": "139 1088 6621", "出生日期": "1990-07-15"}),
        crm(b, "C900004", "2026-02-14 10:20:18",
            {"手机": "13910886621", "证件号码": _wrong_check(_SCENARIO_ID_B, "0123456789X"),
             "邮箱": ""}),
        crm(x, "C900010", "2026-03-01 08:55:30",
            {"手机": "136-0101-6688", "英文名": "Xingchen Technology (Beijing) Co., Ltd."}),
        crm(x, "C900012", "2026-06-30 17:40:02", {"状态": "9", "邮箱": "", "客户等级": "普通"}),
        crm(y, "C900011", "2026-04-08 13:12:55", {}),
        _Raw("erp", "customer", "E-900001", {
            "cust_no": "E-900001", "cust_type": "P", "name_en": "Zhang Wei", "name_cn": None,
            "id_no": _SCENARIO_ID_A, "uscc": None, "mobile": "+86 138 0013 8000",
            "tel": None, "email": "ZhangWei85@163.com",
            "addr": "Room 1102, Unit 2, Building 5, No. 18 Jianshe Road, Chaoyang District, "
                    "Beijing",
            "city": "Beijing", "birth": "1985-03-02", "status": "A",
            "updated_at": "2026-07-21T16:08:12+08:00",
        }, _dt("2026-07-21T16:08:12"), a.entity, scenario=True),
        _Raw("erp", "customer", "E-900010", {
            "cust_no": "E-900010", "cust_type": "O", "name_en": "星辰科技（北京）有限责任公司",
            "name_cn": "星辰科技（北京）有限责任公司", "id_no": None, "uscc": _SCENARIO_CODE_X,
            "mobile": "0086 13601016688", "tel": "+86 10 6588 1234",
            "email": "info@xingchen-tech.com.cn", "addr": "北京市朝阳区建国路88号A座12层03室",
            "city": "Beijing", "birth": None, "status": "A",
            "updated_at": "2026-09-30T10:12:45+08:00",
        }, _dt("2026-09-30T10:12:45"), x.entity, scenario=True),
        _Raw("shop", "customer", "U900002", {
            "user_id": "U900002", "real_name": "张伟", "email": "457812930@qq.com",
            "phone": "+86-139-1088-6621", "city": "北京", "status": "enabled",
            "updated": int(_dt("2026-10-02T21:17:33").timestamp() * 1000) + 512,
        }, _from_millis(int(_dt("2026-10-02T21:17:33").timestamp() * 1000) + 512), b.entity,
            scenario=True),
    ]
    bad = [
        BadValue("crm", "customer", "C900003", "手机", "phone_truncated"),
        BadValue("crm", "customer", "C900004", "证件号码", "national_id_checksum"),
        BadValue("crm", "customer", "C900012", "状态", "status_unmapped"),
    ]
    return parties, raws, bad


# -------------------------------------------------------------------------------- keys


def _key_stream(rng: random.Random, fmt: str, start: int, max_step: int, reserved: set[str]):
    n = start
    while True:
        n += rng.randint(1, max_step)
        key = fmt.format(n)
        if key not in reserved:
            yield key


# ------------------------------------------------------------------------------- build


def build_demo_dataset(
    *, seed: int = 7, customers: int = 2000, products: int = 200, contracts: int = 600
) -> DemoDataset:
    """Generate the demo data set; the same arguments always give the same result.

    ``customers``, ``products`` and ``contracts`` count true entities, including the fixed
    scenario ones (so at least 4, 2 and 1).
    """
    if customers < 4 or products < 2 or contracts < 1:
        raise ValueError("need at least 4 customers, 2 products and 1 contract")
    rng = random.Random(seed)
    reg = _Registry()
    raws: list[_Raw] = []

    # ---- customers
    parties, scenario_raws, bad = _scenario(reg)
    raws.extend(scenario_raws)
    generated: list[_Party] = []
    orgs: list[_Party] = []
    for i in range(1, customers - len(parties) + 1):
        entity = f"cust-{i:05d}"
        if rng.random() < 0.85:
            p = _make_person(rng, reg, entity)
        else:
            p = _make_org(rng, reg, entity, orgs)
            orgs.append(p)
        _assign_membership(rng, p)
        generated.append(p)

    def updated() -> datetime:
        return _rand_dt(rng, _UPDATED_FROM, _UPDATED_TO)

    crm_jobs = [(p, False) for p in generated if p.in_crm]
    n_dups = round(0.03 * len(crm_jobs))
    crm_jobs += [(p, True) for p, _ in rng.sample(crm_jobs, n_dups)]
    rng.shuffle(crm_jobs)
    keys = _key_stream(rng, "C{:06d}", 100, 3, _RESERVED_KEYS["crm", "customer"])
    for p, _ in crm_jobs:
        p.crm_keys.append(next(keys))
    originals: dict[str, dict] = {}
    for p, is_dup in sorted(crm_jobs, key=lambda job: job[1]):  # originals first
        if not is_dup:
            key = p.crm_keys[0]
            fields = _crm_customer(rng, p, key, updated())
            originals[p.entity] = fields
        else:
            key = p.crm_keys[1]
            fields = _crm_duplicate(rng, p, originals[p.entity], key, updated())
        raws.append(_Raw("crm", "customer", key, fields, _dt(fields["更新时间"]), p.entity))

    erp_parties = [p for p in generated if p.in_erp]
    rng.shuffle(erp_parties)
    keys = _key_stream(rng, "E-{:05d}", 10000, 3, _RESERVED_KEYS["erp", "customer"])
    for p in erp_parties:
        p.erp_key = next(keys)
        when = updated()
        raws.append(_Raw("erp", "customer", p.erp_key, _erp_customer(rng, p, p.erp_key, when),
                         when, p.entity))

    shop_parties = [p for p in generated if p.in_shop]
    rng.shuffle(shop_parties)
    keys = _key_stream(rng, "U{:d}", 1000, 7, _RESERVED_KEYS["shop", "customer"])
    for p in shop_parties:
        key = next(keys)
        fields = _shop_customer(rng, p, key, updated())
        raws.append(_Raw("shop", "customer", key, fields, _from_millis(fields["updated"]),
                         p.entity))

    bad.extend(_plant_bad_values(rng, raws, len(bad)))

    # ---- products
    product_list = _make_products(rng, reg, products)
    for pr in product_list:
        if pr.sku == "SKU-90001":  # scenario: rendered the same way for every seed
            when = _dt("2026-06-01T10:00:00")
            shop_fields = _shop_product(random.Random(90001), pr, _dt("2026-06-02T12:30:00"))
            shop_fields.update(gtin=pr.gtin, status="on_sale")
            raws.append(_Raw("erp", "product", pr.sku, _erp_product(rng, pr, when), when,
                             pr.entity, scenario=True))
            raws.append(_Raw("shop", "product", pr.sku, shop_fields,
                             _dt("2026-06-02T12:30:00"), pr.entity, scenario=True))
            continue
        when = updated()
        raws.append(_Raw("erp", "product", pr.sku, _erp_product(rng, pr, when), when,
                         pr.entity))
        if pr.in_shop:
            when = updated()
            raws.append(_Raw("shop", "product", pr.sku, _shop_product(rng, pr, when), when,
                             pr.entity))

    # ---- contracts
    for c in _make_contracts(rng, contracts, parties, generated, product_list):
        if c.status == "expired":  # status set when the contract ran out
            changed = c.end + timedelta(days=1)
        elif c.status == "terminated":
            changed = c.start + timedelta(days=rng.randint(0, max(0, (
                min(c.end, REFERENCE_DATE) - c.start).days)))
        else:
            changed = c.signed or REFERENCE_DATE - timedelta(days=rng.randint(3, 60))
        base = min(_UPDATED_TO - timedelta(hours=2),
                   datetime.combine(changed, datetime.min.time(), CST) + timedelta(hours=9))
        top = min(_UPDATED_TO, base + timedelta(days=400))
        crm_when = _rand_dt(rng, base, top)
        if c.entity == "contract-90001":
            crm_when, erp_when = _dt("2026-03-18T16:05:00"), _dt("2026-09-30T10:12:45")
        elif c.erp_amount_cents != c.amount_cents:  # ERP holds a later amendment
            erp_when = _rand_dt(rng, crm_when + timedelta(hours=1), _UPDATED_TO)
        else:
            erp_when = _rand_dt(rng, base, top)
        scenario = c.entity == "contract-90001"
        render_rng = random.Random(90001) if scenario else rng
        if c.in_crm:
            fields = _crm_contract(render_rng, c, crm_when)
            if scenario:
                fields.update({"合同金额": "1,000,000.00", "币种": "人民币"})
            raws.append(_Raw("crm", "contract", c.number, fields, crm_when, c.entity,
                             scenario=scenario))
        if c.in_erp:
            raws.append(_Raw("erp", "contract", c.number, _erp_contract(render_rng, c, erp_when),
                             erp_when, c.entity, scenario=scenario))

    return _finish(raws, bad)


def _plant_bad_values(rng: random.Random, raws: list[_Raw], already: int) -> list[BadValue]:
    """Corrupt about 1% of the customer records (counting the fixed scenario ones)."""
    candidates = [r for r in raws if r.domain == "customer" and not r.scenario]
    total = round(0.01 * (len(candidates) + already))
    bad: list[BadValue] = []
    for r in rng.sample(candidates, min(len(candidates), max(0, total - already))):
        f = r.fields
        id_field = {"crm": "证件号码", "erp": "id_no"}.get(r.source)
        code_field = {"crm": "统一社会信用代码", "erp": "uscc"}.get(r.source)
        phone_field = {"crm": "手机", "erp": "mobile", "shop": "phone"}[r.source]
        options = []
        if id_field and f.get(id_field):
            options.append((id_field, "national_id_checksum"))
        if code_field and f.get(code_field):
            options.append((code_field, "credit_code_checksum"))
        if f.get(phone_field):
            options.append((phone_field, "phone_truncated"))
        if r.source == "crm":
            options.append(("状态", "status_unmapped"))
        if not options:
            continue
        name, reason = rng.choice(options)
        if reason == "national_id_checksum":
            f[name] = _wrong_check(str(f[name]), "0123456789X")
        elif reason == "credit_code_checksum":
            f[name] = _wrong_check(str(f[name]), "0123456789ABCDEFGHJKLMNPQRTUWXY")
        elif reason == "phone_truncated":
            f[name] = str(f[name])[:-1]
        else:
            f[name] = "9"
        bad.append(BadValue(r.source, r.domain, r.key, name, reason))
    return bad


def _make_products(rng: random.Random, reg: _Registry, count: int) -> list[_Product]:
    reg.gtins.add(_SCENARIO_GTIN)
    companies = {b: f"69{rng.randint(0, 9)}{rng.randrange(10**4):04d}" for b in _PRODUCT_BRANDS}
    result = []
    for i in range(1, count):
        template = rng.choice(_PRODUCT_TEMPLATES)
        erp_cat, shop_cat, base, variants, unit, lo, hi = template
        brand = rng.choice(_PRODUCT_BRANDS)
        while True:
            gtin = _ean13(companies[brand] + f"{rng.randrange(10**5):05d}")
            if gtin not in reg.gtins:
                reg.gtins.add(gtin)
                break
        if hi < 100:
            price = rng.randint(lo * 10, hi * 10) * 10
        else:
            price = (rng.randint(lo // 10 + 1, hi // 10) * 10 - 1) * 100
        result.append(_Product(
            entity=f"prod-{i:05d}", sku=f"SKU-{i:05d}", gtin=gtin, brand=brand, base=base,
            variant=rng.choice(variants), category=erp_cat, shop_category=shop_cat,
            unit=unit, price_cents=price,
            status=_weighted(rng, ("active", "inactive", "discontinued"), (85, 8, 7)),
            in_shop=rng.random() < 0.7,
        ))
    result.append(_Product(
        entity="prod-90001", sku="SKU-90001", gtin=_SCENARIO_GTIN, brand="星辰",
        base="智能保温杯 500ml", variant="不锈钢 温度显示", category="日用百货",
        shop_category="家居日用", unit="PCS", price_cents=19900, status="active", in_shop=True,
    ))
    return result


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, min(d.day, 28))


def _make_contracts(rng: random.Random, count: int, scenario: list[_Party],
                    generated: list[_Party], product_list: list[_Product]) -> list[_Contract]:
    star = next(p for p in scenario if p.entity == "cust-90010")
    result = [_Contract(
        entity="contract-90001", number="HT-2026-900001", party=star,
        lines=[("SKU-00001", 500, 200000)], amount_cents=100_000_000,
        erp_amount_cents=125_000_000, signed=date(2026, 3, 18), start=date(2026, 4, 1),
        end=date(2027, 3, 31), status="active", in_crm=True, in_erp=True,
        erp_lines=[("SKU-00001", 625, 200000)],
    )]

    def pool(members: list[_Party], crm: bool, erp: bool, org: bool) -> list[_Party]:
        return [p for p in members if (not crm or p.in_crm) and (not erp or p.in_erp)
                and (p.kind == "organisation") == org]

    pools = {
        (crm, erp, org): pool(generated, crm, erp, org) or pool(generated, crm, erp, not org)
        or pool(scenario, crm, erp, org) or pool(scenario, crm, erp, not org)
        for crm in (True, False) for erp in (True, False) for org in (True, False)
    }
    sellable = [pr for pr in product_list if pr.sku != "SKU-90001"]
    drafts: list[_Contract] = []
    for i in range(1, count):
        in_crm, in_erp = _weighted(rng, ((True, True), (True, False), (False, True)),
                                   (50, 30, 20))
        party = rng.choice(pools[in_crm, in_erp, rng.random() < 0.6])
        lines = []
        for pr in rng.sample(sellable, min(len(sellable), rng.randint(1, 4))):
            if pr.unit == "KG":
                qty = rng.randint(5, 200) * 10
            elif pr.price_cents < 10_000:
                qty = rng.choice((50, 100, 200, 300, 500, 1000, 2000))
            else:
                qty = rng.choice((1, 2, 3, 5, 10, 20, 30, 50, 100))
            price = pr.price_cents * rng.choice((100, 100, 95, 90, 85)) // 100
            price = price // 10 * 10 if price < 10_000 else price // 100 * 100
            lines.append((pr.sku, qty, price))
        amount = sum(q * p for _, q, p in lines)
        if rng.random() < 0.25:  # negotiated package price in whole 万
            amount = max(1, round(amount / 1_000_000)) * 1_000_000
        erp_amount = amount
        if rng.random() < 0.05:
            erp_amount = amount * rng.choice((105, 110, 120, 95)) // 100
        if rng.random() < 0.04:
            signed = None
            start = REFERENCE_DATE + timedelta(days=rng.randint(10, 90))
            status = "draft"
        else:
            signed = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 1414))
            start = signed + timedelta(days=rng.randint(0, 30))
            status = ""
        end = _add_months(start, rng.choice((12, 12, 24, 36))) - timedelta(days=1)
        if not status:
            if end < REFERENCE_DATE:
                status = "expired" if rng.random() < 0.85 else "terminated"
            elif start > REFERENCE_DATE:
                status = "active"  # signed, starts soon
            else:
                status = "active" if rng.random() < 0.92 else "terminated"
        drafts.append(_Contract(
            entity=f"contract-{i:05d}", number="", party=party, lines=lines,
            amount_cents=amount, erp_amount_cents=erp_amount, signed=signed, start=start,
            end=end, status=status, in_crm=in_crm, in_erp=in_erp,
        ))
    drafts.sort(key=lambda c: (c.signed or REFERENCE_DATE, c.entity))
    seq = 100
    for c in drafts:
        seq += rng.randint(1, 4)
        if seq == 900001:
            seq += 1
        c.number = f"HT-{(c.signed or REFERENCE_DATE).year}-{seq:06d}"
    return result + drafts


def _finish(raws: list[_Raw], bad: list[BadValue]) -> DemoDataset:
    source_order = {"crm": 0, "erp": 1, "shop": 2}
    domain_order = {"customer": 0, "product": 1, "contract": 2}
    raws.sort(key=lambda r: (source_order[r.source], domain_order[r.domain],
                             len(r.key), r.key))
    records = []
    for r in raws:
        spec = "milliseconds" if isinstance(r.fields.get("updated"), int) else "seconds"
        records.append(DemoRecord(
            source=r.source, domain=r.domain, source_key=r.key, fields=r.fields,
            source_updated_at=r.updated.astimezone(CST).isoformat(timespec=spec),
            entity=r.entity,
        ))
    bad.sort(key=lambda b: (source_order[b.source], len(b.source_key), b.source_key))
    return DemoDataset(sources=_source_specs(), records=records, bad_values=tuple(bad))
