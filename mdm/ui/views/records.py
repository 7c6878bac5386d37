"""Search golden records, and the record page: golden values with lineage, the linked
source records side by side, the history with diffs, and the steward actions on them
(revert, split out, pin, unpin)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mdm.core.domains import DOMAINS, get_domain
from mdm.core.errors import NotFound, ValidationFailed
from mdm.golden.models import GoldenRecord
from mdm.golden.schema import golden_attribute_name, golden_values
from mdm.golden.selectors import (
    golden_lineage_explained,
    golden_record_history,
    golden_record_resolve,
    golden_record_sources_compared,
    golden_records_search,
)
from mdm.golden.services import (
    golden_record_pin,
    golden_record_revert,
    golden_record_unmerge,
    golden_record_unpin,
)
from mdm.ui.access import action, check_domain, page, visible_domains
from mdm.ui.views.common import paginate, query_without_page

PAGE_SIZE = 50
ANY = "any"

DOMAIN_LABELS = {"customer": gettext_lazy("Customers"), "product": gettext_lazy("Products"),
                 "contract": gettext_lazy("Contracts")}
STATUS_LABELS = {"active": gettext_lazy("Active"), "merged": gettext_lazy("Merged away"),
                 "retired": gettext_lazy("Retired")}
ATTRIBUTE_LABELS = {
    "party_type": gettext_lazy("Party type"), "name": gettext_lazy("Name"),
    "name_zh": gettext_lazy("Chinese name"), "name_latin": gettext_lazy("Latin name"),
    "national_id": gettext_lazy("Resident ID"), "credit_code": gettext_lazy("Credit code"),
    "emails": gettext_lazy("Emails"), "phones": gettext_lazy("Phones"),
    "addresses": gettext_lazy("Addresses"), "postal_code": gettext_lazy("Postal code"),
    "city": gettext_lazy("City"), "region": gettext_lazy("Region"),
    "country": gettext_lazy("Country"), "birth_date": gettext_lazy("Birth date"),
    "other_ids": gettext_lazy("Other IDs"), "status": gettext_lazy("Status"),
    "segment": gettext_lazy("Segment"), "sku": gettext_lazy("SKU"), "gtin": gettext_lazy("GTIN"),
    "brand": gettext_lazy("Brand"), "category": gettext_lazy("Category"),
    "unit": gettext_lazy("Unit"), "list_price": gettext_lazy("List price"),
    "currency": gettext_lazy("Currency"), "contract_number": gettext_lazy("Contract number"),
    "customer_ref": gettext_lazy("Customer"), "customer": gettext_lazy("Customer"),
    "product_lines": gettext_lazy("Product lines"), "amount": gettext_lazy("Amount"),
    "start_date": gettext_lazy("Start date"), "end_date": gettext_lazy("End date"),
    "signed_date": gettext_lazy("Signed date"),
}
RULE_LABELS = {
    "pinned": gettext_lazy("pinned by a steward"), "source_priority": gettext_lazy(
        "source priority"), "most_recent": gettext_lazy("most recent"),
    "oldest": gettext_lazy("oldest"), "most_frequent": gettext_lazy("most frequent"),
    "longest": gettext_lazy("longest"), "largest": gettext_lazy("largest"),
    "smallest": gettext_lazy("smallest"), "aggregate": gettext_lazy("aggregate"),
}
# What a search result shows besides the record's label, per domain.
SUMMARY = {
    "customer": ["name_zh", "name_latin", "phones", "emails", "national_id", "credit_code",
                 "city"],
    "product": ["gtin", "name", "brand", "category", "list_price", "currency"],
    "contract": ["customer", "amount", "currency", "signed_date", "status"],
}


# --------------------------------------------------------------------------- search

class _Results:
    """Search results over one or several domains as one sequence the paginator can cut:
    ``(domain, record)`` pairs, domain by domain."""

    def __init__(self, parts: list[tuple[str, Any]]) -> None:
        self.parts = parts
        self.counts = [records.count() for _domain, records in parts]

    def count(self) -> int:
        return sum(self.counts)

    def __getitem__(self, window: slice) -> list[tuple[str, GoldenRecord]]:
        start, stop, items = window.start or 0, window.stop, []
        for (domain, records), size in zip(self.parts, self.counts, strict=True):
            if start < size and stop > 0:
                items += [(domain, r) for r in records[max(start, 0):min(stop, size)]]
            start, stop = start - size, stop - size
        return items


@page("golden.view_customer", "golden.view_product", "golden.view_contract")
def search(request: HttpRequest) -> HttpResponse:
    domains = visible_domains(request.user)
    query = request.GET.get("q", "").strip()
    domain = request.GET.get("domain", "")
    if domain not in domains:
        domain = ""
    status = request.GET.get("status", "active")
    if status not in STATUS_LABELS:
        status = ANY
    searched = [d for d in domains if d == domain or not domain]
    results = _Results([(d, golden_records_search(domain=d, query=query,
                                                  status="" if status == ANY else status))
                        for d in searched if request.user.has_perm(f"golden.view_{d}")])
    page_obj = paginate(request, results, PAGE_SIZE)
    context = {
        "nav": "search", "q": query, "domain": domain, "status": status,
        "domains": [(d, DOMAIN_LABELS[d]) for d in domains],
        "statuses": [(ANY, _("Any status")), *STATUS_LABELS.items()],
        "page": page_obj, "rows": [_result_row(d, r) for d, r in page_obj.object_list],
        "query_string": query_without_page(request),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "results":
        return render(request, "ui/_record_results.html", context)
    return render(request, "ui/search.html", context)


def _result_row(domain: str, record: GoldenRecord) -> dict[str, Any]:
    values = golden_values(record)
    return {
        "domain": domain, "domain_label": DOMAIN_LABELS[domain], "record": record,
        "label": str(record), "status": STATUS_LABELS.get(record.status, record.status),
        "url": reverse("ui:record", args=[domain, record.id]),
        "keys": [(ATTRIBUTE_LABELS.get(name, name), _shown(values[name]))
                 for name in SUMMARY[domain]
                 if values.get(name) not in (None, "", []) and values[name] != str(record)],
    }


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return ""
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values() if v not in (None, ""))
    return str(value)


# --------------------------------------------------------------------------- record page

@page()
def record(request: HttpRequest, domain: str, golden_id: uuid.UUID) -> HttpResponse:
    _check_view(request, domain)
    try:
        golden, asked = golden_record_resolve(domain=domain, golden_id=golden_id)
    except NotFound as exc:
        raise Http404(str(golden_id)) from exc
    if asked:
        messages.info(request, _("Record %(asked)s was merged into this one.") % {"asked": asked})
        return redirect("ui:record", domain, golden.id)
    can_change = request.user.has_perm(f"golden.change_{domain}")
    compared = golden_record_sources_compared(record=golden)
    history = golden_record_history(record=golden)
    return render(request, "ui/record.html", {
        "nav": "search", "domain": domain, "domain_label": DOMAIN_LABELS[domain],
        "record": golden, "can_change": can_change,
        "status_label": STATUS_LABELS.get(golden.status, golden.status),
        "values": _value_rows(domain, golden),
        "sources": compared["sources"],
        "source_rows": [_source_row(row) for row in compared["rows"]],
        "history": _timeline(history, golden.version),
        "attributes": [(a.name, ATTRIBUTE_LABELS.get(a.name, a.name))
                       for a in get_domain(domain).attributes if a.name != "customer_ref"],
    })


def _check_view(request: HttpRequest, domain: str) -> None:
    check_domain(request.user, domain)
    if not request.user.has_perm(f"golden.view_{domain}"):
        raise PermissionDenied


def _source_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"label": ATTRIBUTE_LABELS.get(row["attribute"], row["attribute"]),
            "golden": _shown(row["golden"]),
            "cells": [{"value": _shown(c["value"]), "differs": c["differs"]}
                      for c in row["cells"]]}


def _value_rows(domain: str, golden: GoldenRecord) -> list[dict[str, Any]]:
    """One row per golden attribute: value, lineage (rule, origins) and pin."""
    values = golden_values(golden)
    lineage = golden_lineage_explained(golden)
    pins = golden.pins or {}
    rows = []
    for attribute in get_domain(domain).attributes:
        name = attribute.name
        shown = golden_attribute_name(name)
        entry = lineage.get(name) or {}
        if shown not in values and name not in pins and not entry:
            continue
        origins = entry.get("values") if "values" in entry else ([entry] if entry else [])
        rows.append({
            "attribute": name, "label": ATTRIBUTE_LABELS.get(name, name),
            "items": _items(values.get(shown)), "value": _shown(values.get(shown)),
            "rule": RULE_LABELS.get(entry.get("rule", ""), entry.get("rule", "")),
            "origins": [o for o in origins if o.get("source")],
            "pin": pins.get(name), "held": name in (golden.holds or {}),
            "link": reverse("ui:record", args=["customer", values[shown]])
            if name == "customer_ref" and values.get(shown) else "",
        })
    return rows


def _items(value: Any) -> list[str]:
    return [_shown(v) for v in value] if isinstance(value, list) else \
        ([_shown(value)] if value not in (None, "") else [])


def _timeline(history: list[dict[str, Any]], current: int) -> list[dict[str, Any]]:
    """History newest first; each earlier version offers a revert once (its last row)."""
    seen: set[int] = set()
    rows = []
    for entry in reversed(history):
        version = entry["version"]
        rows.append({**entry, "revertable": version < current and version not in seen,
                     "changes": [{"label": ATTRIBUTE_LABELS.get(k, k),
                                  "before": _shown(v["before"]), "after": _shown(v["after"])}
                                 for k, v in entry["changes"].items()]})
        seen.add(version)
    return rows


# --------------------------------------------------------------------------- actions

View = Callable[..., HttpResponse]


def record_action(name: str) -> Callable[[View], View]:
    """``@action`` with the change permission of the URL's domain (``golden.change_<domain>``),
    after checking the steward may see that domain at all."""
    def wrap(view: View) -> View:
        by_domain = {d: action(name, f"golden.change_{d}")(view) for d in DOMAINS}

        @functools.wraps(view)
        def inner(request: HttpRequest, domain: str, golden_id: uuid.UUID) -> HttpResponse:
            if domain not in by_domain:
                raise Http404(domain)
            if request.user.is_authenticated:
                check_domain(request.user, domain)
            return by_domain[domain](request, domain=domain, golden_id=golden_id)
        return inner
    return wrap


def _expected_version(request: HttpRequest) -> int | None:
    """The version the steward's page showed (None when the form did not send one)."""
    raw = request.POST.get("version", "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationFailed(_("The page sent a bad version number; reload it.")) from exc


def _to_record(domain: str, golden_id: uuid.UUID) -> HttpResponse:
    return redirect("ui:record", domain, golden_id)


@record_action("record.revert")
def record_revert(request: HttpRequest, domain: str, golden_id: uuid.UUID) -> HttpResponse:
    try:
        version = int(request.POST.get("to_version", ""))
    except ValueError as exc:
        raise ValidationFailed(_("Choose a version to revert to.")) from exc
    golden_record_revert(domain=domain, golden_id=golden_id, version=version,
                         actor=request.user, expected_version=_expected_version(request))
    messages.success(request, _("Reverted to version %(version)s; the restored values are "
                                "pinned until unpinned.") % {"version": version})
    return _to_record(domain, golden_id)


@record_action("record.unmerge")
def record_unmerge(request: HttpRequest, domain: str, golden_id: uuid.UUID) -> HttpResponse:
    source, key = request.POST.get("source", ""), request.POST.get("source_key", "")
    if not source or not key:
        raise ValidationFailed(_("Choose the source record to split out."))
    remaining, split = golden_record_unmerge(domain=domain, golden_id=golden_id,
                                             source=source, source_key=key,
                                             actor=request.user,
                                             expected_version=_expected_version(request))
    messages.success(request, _("%(source)s %(key)s was split out into golden record "
                                "%(split)s.") % {"source": source, "key": key,
                                                 "split": split.id})
    return _to_record(domain, remaining.id)


@record_action("record.pin")
def record_pin(request: HttpRequest, domain: str, golden_id: uuid.UUID) -> HttpResponse:
    attribute = request.POST.get("attribute", "")
    spec = get_domain(domain).attribute(attribute)
    if spec is None or attribute == "customer_ref":
        raise ValidationFailed(_("Choose an attribute to pin."))
    reason = request.POST.get("reason", "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for pinning %(attribute)s.") % {
            "attribute": ATTRIBUTE_LABELS.get(attribute, attribute)})
    raw = request.POST.get("value", "")
    value: Any = [line.strip() for line in raw.splitlines() if line.strip()] if spec.many \
        else raw.strip()
    try:
        golden_record_pin(domain=domain, golden_id=golden_id, values={attribute: value},
                          actor=request.user, reason=reason,
                          expected_version=_expected_version(request))
    except ValidationFailed as error:
        details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in error.fields.items())
        raise ValidationFailed(f"{error.message} {details}".strip(),
                               fields=error.fields) from error
    messages.success(request, _("%(attribute)s is pinned.") % {
        "attribute": ATTRIBUTE_LABELS.get(attribute, attribute)})
    return _to_record(domain, golden_id)


@record_action("record.unpin")
def record_unpin(request: HttpRequest, domain: str, golden_id: uuid.UUID) -> HttpResponse:
    attribute = request.POST.get("attribute", "")
    if get_domain(domain).attribute(attribute) is None:
        raise ValidationFailed(_("Choose an attribute to unpin."))
    golden_record_unpin(domain=domain, golden_id=golden_id, attributes=[attribute],
                        actor=request.user, expected_version=_expected_version(request))
    messages.success(request, _("%(attribute)s is unpinned; survivorship decides it again.")
                     % {"attribute": ATTRIBUTE_LABELS.get(attribute, attribute)})
    return _to_record(domain, golden_id)


RECORD = "records/<str:domain>/<uuid:golden_id>/"

urlpatterns = [
    path("search/", search, name="search"),
    path(RECORD, record, name="record"),
    path(RECORD + "revert/", record_revert, name="record_revert"),
    path(RECORD + "unmerge/", record_unmerge, name="record_unmerge"),
    path(RECORD + "pin/", record_pin, name="record_pin"),
    path(RECORD + "unpin/", record_unpin, name="record_unpin"),
]
