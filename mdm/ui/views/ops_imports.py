"""Imports: upload a CSV / JSON Lines feed for a source, watch it being imported, read the
summary; and the recent ingest batches (the dashboard links here with ``?day=``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from mdm.core.domains import DOMAINS
from mdm.sources.models import FeedUpload
from mdm.sources.selectors import feed_uploads, ingest_batches_recent, source_systems_sending
from mdm.sources.services import MAX_UPLOAD_BYTES, feed_upload_receive
from mdm.ui.access import action, page, visible_domains
from mdm.ui.views.common import paginate, query_without_page
from mdm.ui.views.ops_common import OUTCOME_LABELS, outcome_rows

VIEW_PERMS = ("sources.view_ingestbatch", "sources.change_sourcerecord")
RECENT_UPLOADS = 10


@page(*VIEW_PERMS)
def imports(request: HttpRequest) -> HttpResponse:
    day, day_error = _day(request.GET.get("day", ""))
    domains = visible_domains(request.user)
    return render(request, "ui/imports.html", {
        "nav": "imports", "day": day, "day_error": day_error,
        "page": paginate(request, ingest_batches_recent(day=day)),
        "query": query_without_page(request),
        "uploads": feed_uploads(domains=domains)[:RECENT_UPLOADS],
        "sources": source_systems_sending(), "domains": domains,
        "max_mb": MAX_UPLOAD_BYTES // 2**20,
        "can_upload": request.user.has_perm("sources.change_sourcerecord"),
    })


def _day(value: str) -> tuple[date | None, str]:
    if not value:
        return None, ""
    try:
        return date.fromisoformat(value), ""
    except ValueError:
        return None, _("“%(value)s” is not a date (YYYY-MM-DD): showing every day.") % {
            "value": value}


@action("import_upload", "sources.change_sourcerecord")
def import_upload(request: HttpRequest) -> HttpResponse:
    domain = request.POST.get("domain", "")
    if domain in DOMAINS and domain not in visible_domains(request.user):
        raise Http404(domain)
    source = source_systems_sending().filter(code=request.POST.get("source", "")).first()
    upload = request.FILES.get("file")
    received = feed_upload_receive(
        source=source, domain=domain, file_name=upload.name if upload else "",
        size=upload.size if upload else 0, stream=upload, actor=request.user)
    return redirect("ui:import_detail", upload_id=received.pk)


def _upload(request: HttpRequest, upload_id: int) -> FeedUpload:
    return get_object_or_404(feed_uploads(domains=visible_domains(request.user)), pk=upload_id)


def _progress_context(upload: FeedUpload) -> dict[str, Any]:
    problems = [{**p, "label": OUTCOME_LABELS.get(p.get("outcome") or "rejected")}
                for p in upload.problems or []]
    return {"upload": upload, "outcomes": outcome_rows(upload.counts or {}), "problems": problems,
            "more_problems": max(0, upload.problems_total - len(upload.problems or []))}


@page(*VIEW_PERMS)
def import_detail(request: HttpRequest, upload_id: int) -> HttpResponse:
    return render(request, "ui/import_detail.html", {
        "nav": "imports", **_progress_context(_upload(request, upload_id))})


@page(*VIEW_PERMS)
def import_progress(request: HttpRequest, upload_id: int) -> HttpResponse:
    """The progress fragment htmx polls; once finished it no longer asks to be polled."""
    return render(request, "ui/_import_progress.html",
                  _progress_context(_upload(request, upload_id)))


urlpatterns = [
    path("imports/", imports, name="imports"),
    path("imports/upload/", import_upload, name="import_upload"),
    path("imports/<int:upload_id>/", import_detail, name="import_detail"),
    path("imports/<int:upload_id>/progress/", import_progress, name="import_progress"),
]
