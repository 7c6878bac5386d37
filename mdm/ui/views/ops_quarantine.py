"""Quarantine: records that failed mapping or validation, with every reason; re-process."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mdm.core.errors import ValidationFailed
from mdm.sources.selectors import quarantined_records, source_systems_all
from mdm.sources.services import source_records_reprocess
from mdm.ui.access import action, back_url, check_domain, page, visible_domains
from mdm.ui.views.common import int_ids, paginate, query_without_page
from mdm.ui.views.ops_common import outcome_text


@page("sources.view_sourcerecord")
def quarantine(request: HttpRequest) -> HttpResponse:
    domains = visible_domains(request.user)
    domain = request.GET.get("domain", "")
    if domain:
        check_domain(request.user, domain)
    sources = list(source_systems_all())
    source = next((s for s in sources if s.code == request.GET.get("source")), None)
    records = quarantined_records(source=source, domain=domain or None) \
        .filter(domain__in=domains)
    return render(request, "ui/quarantine.html", {
        "nav": "quarantine", "page": paginate(request, records), "sources": sources,
        "domains": domains, "source": source, "domain": domain,
        "query": query_without_page(request),
        "can_reprocess": request.user.has_perm("sources.change_sourcerecord"),
    })


@action("quarantine_reprocess", "sources.change_sourcerecord")
def quarantine_reprocess(request: HttpRequest) -> HttpResponse:
    ids = int_ids(request.POST.getlist("record"))
    wanted = list(quarantined_records().filter(domain__in=visible_domains(request.user),
                                               pk__in=ids).values_list("pk", flat=True))
    if not wanted:
        raise ValidationFailed(_("Select at least one record in quarantine to re-process "
                                 "(the selected ones may have left quarantine already)."))
    counts: dict[str, int] = {}
    for result in source_records_reprocess(record_ids=wanted, actor=request.user):
        for outcome, n in result.counts.items():
            counts[outcome] = counts.get(outcome, 0) + n
    messages.success(request, ngettext(
        "Re-processed %(n)d record: %(outcomes)s.", "Re-processed %(n)d records: %(outcomes)s.",
        len(wanted)) % {"n": len(wanted), "outcomes": outcome_text(counts)})
    return redirect(back_url(request, reverse("ui:quarantine")))


urlpatterns = [
    path("quarantine/", quarantine, name="quarantine"),
    path("quarantine/reprocess/", quarantine_reprocess, name="quarantine_reprocess"),
]
