"""Blocking keys: which record pairs are worth scoring at all.

Scoring every pair is quadratic, so the scored matcher compares only records that share at
least one blocking key. :func:`blocking_keys` gives a record's keys as namespaced strings
("phone:+8613800138000", "name_by:wei zhang|1985"), computed from already-standardised
canonical attributes: deterministic, cheap (no I/O, a few string operations, the name keys
of :mod:`mdm.sources.standardisers`) and selective. ``BLOCKING_KEY_KINDS`` says for each kind
what it holds and why its blocks stay small; several kinds per record give recall, since a
pair needs only one shared key while each key tolerates a different kind of error.

Pure Python: no Django imports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from mdm.sources.standardisers import company_name_key, company_region, person_name_key

__all__ = ["BLOCKING_KEY_KINDS", "blocking_keys", "is_organisation", "name_lookup"]

BLOCKING_KEY_KINDS: dict[str, str] = {
    # customer: identifiers, one key per list item
    "phone": "an E.164 phone number; a number belongs to one person or one office line, so a "
             "block is a household or a company switchboard at most",
    "email": "an email address (lower-case); personal or shared mailbox, a handful of records",
    "nid": "an 18-character national ID; unique per person",
    "uscc": "an 18-character unified social credit code; unique per legal entity",
    "other_id": "another personal identifier (passport, foreign social security number); "
                "unique per person",
    "other_id_near": "another identifier with one character left out, one key per position "
                     "(other_id_near:413787 from 4137877); two identifiers one mistyped or "
                     "swapped character apart share a key; a block is one person plus the "
                     "rare identifier one typo away",
    # customer, persons (party_type not "organisation")
    "name_by": "person name key + birth year (name_by:wei zhang|1985); even the commonest "
               "Chinese name key spread over ~70 birth years leaves blocks of a few records "
               "per million; tolerates day/month errors in the birth date",
    "part_dob": "one syllable (or word) of the person name key + full birth date "
                "(part_dob:zhang|1985-03-04); tolerates a changed given name or surname "
                "spelling and needs no surname detection (Latin names come in either order); "
                "~25,000 birth dates make even 'wang' or 'wei' blocks tiny. Chosen over "
                "surname + birth year, whose blocks for 王/李/张 (~7% of people each) hold "
                "about 0.1% of all persons (~1,000 records per million)",
    "name_city": "person name key + city (name_city:wei zhang|北京); the broadest person key "
                 "with context: the commonest names in a big city share it (two different "
                 "张伟 in 北京 do), so it yields candidates, never a match by itself",
    "name": "person name key alone, only for a person with neither birth date nor city: a "
            "nationwide block for a common name (every 'wei zhang'); such a record shares it "
            "only with other name-only records, so the engine should cap its size or look "
            "up the name_city:/name_by: prefixes of its key",
    "part_postcode": "one syllable (or word) of the person name key + postal code "
                     "(part_postcode:green|2119); tolerates errors in the birth date and in "
                     "the other name part; a postal code holds a few thousand people, so a "
                     "block is the few sharing a surname or given name there",
    "part_city": "one syllable (or word) of the person name key + city "
                 "(part_city:green|ivanhoe); like part_postcode, for a city that is a town "
                 "or suburb: in a big city a common syllable exceeds the block size limit",
    "dob_postcode": "full birth date + postal code (dob_postcode:1985-03-04|100081); needs "
                    "no name, so it survives typos in every name part; ~25,000 birth dates "
                    "over the few thousand to a hundred thousand people of a postal code "
                    "leave a handful per block",
    "dob_city": "full birth date + city (dob_city:1985-03-04|北京); needs no name and "
                "tolerates a wrong postal code; a city of a million people gives blocks of "
                "~40, one of twenty million blocks that exceed the size limit",
    "address_dob": "an address + full birth date (address_dob:5beaumontclose|1964-01-05); "
                   "needs no name, postal code or city: a household's members born on one "
                   "day (twins) at most",
    # customer, organisations
    "company_city": "company key + region (company_city:星辰科技|北京), the region from the "
                    "name (北京…, …（北京）, Beijing …) or the city; company names are "
                    "registered unique within a region, so a block is about one legal entity "
                    "(a branch keeps its own key: 星辰科技上海分公司)",
    "company": "company key alone, only when neither the name nor the city gives a region; "
               "a nationwide block, still narrow since company stems are distinctive",
    # product
    "sku": "a stock-keeping unit code; unique per product within a catalogue",
    "gtin": "a GTIN in 13-digit form; unique per trade item worldwide",
    "brand_name": "brand + product name, case- and space-insensitive; one product line",
    # contract
    "contract": "a contract number; unique per contract",
    "customer_signed": "customer reference + signing date; a customer seldom signs several "
                       "contracts on one day. customer_ref is a source key, so this key links "
                       "within a source (or once references are resolved to golden ids)",
}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CITY_SUFFIX = re.compile(r"(?:市|city)$")


def blocking_keys(domain: str, attributes: dict[str, Any]) -> set[str]:
    """The namespaced blocking keys of one record of ``domain``; KeyError for an unknown one."""
    try:
        builder = _BUILDERS[domain]
    except KeyError:
        raise KeyError(f"no blocking keys for domain '{domain}'") from None
    return builder(attributes)


def name_lookup(name: str) -> tuple[set[str], set[str]]:
    """Where records called ``name`` sit in the index: exact keys and key prefixes of the
    person- and company-name kinds, built as the records' own keys are, so a search by
    name finds them across scripts and word order (张伟 = Zhang Wei = wei zhang)."""
    exact: set[str] = set()
    prefixes: set[str] = set()
    for person in _names({"name": name}, person_name_key):
        exact.add(f"name:{person}")
        prefixes |= {f"name_by:{person}|", f"name_city:{person}|"}
    for stem in _names({"name": name}, company_name_key):
        exact.add(f"company:{_compact(stem)}")
        prefixes.add(f"company_city:{_compact(stem)}|")
    return exact, prefixes


# --------------------------------------------------------------------------- helpers


def _items(value: Any) -> list[str]:
    """The non-blank items of a list attribute or a scalar, as stripped strings."""
    values = value if isinstance(value, (list, tuple, set)) else [value]
    return [text for item in values if item is not None and (text := str(item).strip())]


def _keyed(kind: str, values: Iterable[str]) -> set[str]:
    return {f"{kind}:{value}" for value in values if value}


def _compact(value: Any) -> str:
    """NFKC, case-folded, without whitespace or the key separator '|'."""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return "".join(text.split()).replace("|", "")


def _city(attributes: dict[str, Any]) -> str:
    """The city, compact and without a trailing 市/city ("北京市" -> "北京")."""
    city = _compact(attributes.get("city") or "")
    stripped = _CITY_SUFFIX.sub("", city)
    return stripped if len(stripped) >= 2 else city


def _birth_date(attributes: dict[str, Any]) -> str:
    text = str(attributes.get("birth_date") or "").strip()[:10]
    return text if _DATE.fullmatch(text) else ""


def _names(attributes: dict[str, Any], key: Callable[[Any], str]) -> list[str]:
    """The distinct name keys of name, name_zh and name_latin, in a stable order."""
    keys = (key(attributes.get(field)) for field in ("name", "name_zh", "name_latin"))
    return sorted({k.replace("|", "") for k in keys if k})


# --------------------------------------------------------------------------- domains


def _customer(attributes: dict[str, Any]) -> set[str]:
    keys = _keyed("phone", _items(attributes.get("phones")))
    keys |= _keyed("email", (e.casefold() for e in _items(attributes.get("emails"))))
    keys |= _keyed("nid", (n.upper() for n in _items(attributes.get("national_id"))))
    keys |= _keyed("uscc", (c.upper() for c in _items(attributes.get("credit_code"))))
    other_ids = [_compact(i) for i in _items(attributes.get("other_ids"))]
    keys |= _keyed("other_id", other_ids)
    keys |= _keyed("other_id_near", (i[:k] + i[k + 1:] for i in other_ids if len(i) > 4
                                     for k in range(len(i))))
    return keys | (_organisation(attributes) if is_organisation(attributes) else
                   _person(attributes))


def is_organisation(attributes: dict[str, Any]) -> bool:
    """party_type "organisation", or no party type but a credit code."""
    party_type = attributes.get("party_type")
    return party_type == "organisation" or (not party_type and bool(attributes.get("credit_code")))


def _person(attributes: dict[str, Any]) -> set[str]:
    birth, city = _birth_date(attributes), _city(attributes)
    postcode = _compact(attributes.get("postal_code") or "")
    keys = _nameless(attributes, birth, city, postcode)
    for name in _names(attributes, person_name_key):
        if postcode:
            keys |= {f"part_postcode:{part}|{postcode}" for part in name.split()}
        if birth:
            keys.add(f"name_by:{name}|{birth[:4]}")
            keys |= {f"part_dob:{part}|{birth}" for part in name.split()}
        if city:
            keys.add(f"name_city:{name}|{city}")
            keys |= {f"part_city:{part}|{city}" for part in name.split()}
        if not birth and not city:
            keys.add(f"name:{name}")
    return keys


def _nameless(attributes: dict[str, Any], birth: str, city: str, postcode: str) -> set[str]:
    """A person's keys that need no name: the birth date with a place."""
    if not birth:
        return set()
    addresses = (_compact(address) for address in _items(attributes.get("addresses")))
    keys = _keyed("address_dob", (f"{address}|{birth}" for address in addresses if address))
    if postcode:
        keys.add(f"dob_postcode:{birth}|{postcode}")
    if city:
        keys.add(f"dob_city:{birth}|{city}")
    return keys


def _organisation(attributes: dict[str, Any]) -> set[str]:
    fields = [attributes.get(field) for field in ("name", "name_zh", "name_latin")]
    regions = {_compact(region) for name in fields if (region := company_region(name))}
    if city := _city(attributes):
        regions.add(city)
    keys: set[str] = set()
    for stem in _names(attributes, company_name_key):
        stem = _compact(stem)
        keys |= {f"company_city:{stem}|{region}" for region in regions} or {f"company:{stem}"}
    return keys


def _product(attributes: dict[str, Any]) -> set[str]:
    keys = _keyed("sku", (s.upper() for s in _items(attributes.get("sku"))))
    keys |= _keyed("gtin", _items(attributes.get("gtin")))
    brand, name = _compact(attributes.get("brand") or ""), _compact(attributes.get("name") or "")
    if brand and name:
        keys.add(f"brand_name:{brand}|{name}")
    return keys


def _contract(attributes: dict[str, Any]) -> set[str]:
    keys = _keyed("contract", (n.upper() for n in _items(attributes.get("contract_number"))))
    customer = _compact(attributes.get("customer_ref") or "")
    signed = str(attributes.get("signed_date") or "").strip()[:10]
    if customer and _DATE.fullmatch(signed):
        keys.add(f"customer_signed:{customer}|{signed}")
    return keys


_BUILDERS: dict[str, Callable[[dict[str, Any]], set[str]]] = {
    "customer": _customer,
    "product": _product,
    "contract": _contract,
}
