"""The review queue: candidate pairs of source records a steward merges or keeps apart."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mdm.core.errors import NotFound
from mdm.matching.models import MatchCandidate
from mdm.matching.selectors import (
    match_candidate_get,
    match_candidate_neighbours,
    match_candidates_list,
)
from mdm.matching.services import (
    CLAIM_TTL,
    MERGE,
    NOT_A_MATCH,
    match_candidate_claim,
    match_candidate_decide,
)
from mdm.ui.access import action, page, visible_domains
from mdm.ui.views.common import paginate

VIEW = "matching.view_matchcandidate"
CHANGE = "matching.change_matchcandidate"
PAGE_SIZE = 25


@page(VIEW)
def review(request: HttpRequest) -> HttpResponse:
    """Open pairs the user may see, strongest first, optionally of one domain."""
    domains = visible_domains(request.user)
    domain = _domain_param(request, domains)
    pairs = match_candidates_list(user=request.user, domain=domain).filter(domain__in=domains)
    page_obj = paginate(request, pairs, PAGE_SIZE)
    for pair in page_obj.object_list:
        pair.claim = _claim(pair, request.user)
        pair.label_a, pair.label_b = _label(pair.record_a), _label(pair.record_b)
    return render(request, "ui/review.html", {
        "nav": "review", "page_obj": page_obj, "domains": domains, "domain": domain})


@page(VIEW)
def review_pair(request: HttpRequest, candidate_id: int) -> HttpResponse:
    """Both records side by side with each comparison's contribution to the score."""
    candidate = match_candidate_get(user=request.user, candidate_id=candidate_id)
    if candidate is None or candidate.domain not in visible_domains(request.user):
        raise Http404(candidate_id)
    domain = _domain_param(request, visible_domains(request.user))
    previous, following = match_candidate_neighbours(user=request.user, candidate=candidate,
                                                     domain=domain)
    suffix = f"?domain={domain}" if domain else ""
    return render(request, "ui/review_pair.html", {
        "nav": "review", "pair": candidate, "domain": domain, "suffix": suffix,
        "previous": previous, "following": following,
        "attributes": _attribute_rows(candidate), "comparisons": _comparison_rows(candidate),
        "prior": _prior(candidate), "claim": _claim(candidate, request.user),
        "is_open": candidate.status == MatchCandidate.Status.OPEN})


@action("review.merge", CHANGE)
def review_merge(request: HttpRequest, candidate_id: int) -> HttpResponse:
    return _decide(request, candidate_id, MERGE,
                   _("Merged: the two records now share one golden record."))


@action("review.not_a_match", CHANGE)
def review_not_a_match(request: HttpRequest, candidate_id: int) -> HttpResponse:
    return _decide(request, candidate_id, NOT_A_MATCH,
                   _("Kept apart: the pair is remembered as not a match."))


@action("review.claim", CHANGE)
def review_claim(request: HttpRequest, candidate_id: int) -> HttpResponse:
    _visible(request, candidate_id)
    match_candidate_claim(candidate_id=candidate_id, actor=request.user)
    minutes = int(CLAIM_TTL.total_seconds() // 60)
    messages.success(request, _("You hold this pair for %(minutes)d minutes.")
                     % {"minutes": minutes})
    return redirect(_pair_url(request, candidate_id))


@action("review.release", CHANGE)
def review_release(request: HttpRequest, candidate_id: int) -> HttpResponse:
    _visible(request, candidate_id)
    match_candidate_claim(candidate_id=candidate_id, actor=request.user, release=True)
    messages.success(request, _("You released this pair."))
    return redirect(_pair_url(request, candidate_id))


def _decide(request: HttpRequest, candidate_id: int, decision: str,
            done: str) -> HttpResponse:
    """Decide through the service, then go on to the next open pair (or the queue)."""
    _visible(request, candidate_id)
    candidate = match_candidate_decide(candidate_id=candidate_id, decision=decision,
                                       actor=request.user,
                                       comment=request.POST.get("comment", "").strip())
    messages.success(request, done)
    domain = _domain_param(request, visible_domains(request.user))
    previous, following = match_candidate_neighbours(user=request.user, candidate=candidate,
                                                     domain=domain)
    upcoming = following or previous
    if upcoming is None:
        return redirect(_queue_url(domain))
    return redirect(_pair_url(request, upcoming))


def _visible(request: HttpRequest, candidate_id: int) -> MatchCandidate:
    """The pair, if the user may see it; otherwise the service's own "does not exist"."""
    candidate = match_candidate_get(user=request.user, candidate_id=candidate_id)
    if candidate is None or candidate.domain not in visible_domains(request.user):
        raise NotFound(_("Match candidate %(id)s does not exist.") % {"id": candidate_id})
    return candidate


def _domain_param(request: HttpRequest, domains: list[str]) -> str:
    domain = request.GET.get("domain") or request.POST.get("domain") or ""
    return domain if domain in domains else ""


def _queue_url(domain: str) -> str:
    url = reverse("ui:review")
    return f"{url}?domain={domain}" if domain else url


def _pair_url(request: HttpRequest, candidate_id: int) -> str:
    url = reverse("ui:review-pair", args=[candidate_id])
    domain = _domain_param(request, visible_domains(request.user))
    return f"{url}?domain={domain}" if domain else url


def _claim(candidate: MatchCandidate, user: Any) -> dict[str, Any] | None:
    """Who holds the pair and until when (None: nobody, or the claim ran out)."""
    if not candidate.claimed_by_id or not candidate.claimed_at:
        return None
    until = candidate.claimed_at + CLAIM_TTL
    if until <= timezone.now():
        return None
    return {"user": candidate.claimed_by, "until": until,
            "mine": candidate.claimed_by_id == user.pk}


def _label(record: Any) -> str:
    """What a steward recognises a record by in the queue."""
    attributes = record.attributes or {}
    for name in ("name", "name_latin", "sku", "contract_number", "email", "emails"):
        if attributes.get(name):
            return display_value(attributes[name])
    return ""


def display_value(value: Any) -> str:
    """A canonical value as a steward reads it: lists joined, nothing for empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(display_value(v) for v in value if v not in (None, ""))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {display_value(v)}" for k, v in value.items())
    return str(value)


def _attribute_rows(candidate: MatchCandidate) -> list[dict[str, Any]]:
    """Every attribute of either record, the compared ones first."""
    a, b = candidate.record_a.attributes or {}, candidate.record_b.attributes or {}
    compared: list[str] = []
    for entry in candidate.breakdown or []:
        for name in str(entry.get("attribute") or "").split("|"):
            if name and name not in compared:
                compared.append(name)
    others = sorted((set(a) | set(b)) - set(compared))
    rows = []
    for name in compared + others:
        left, right = display_value(a.get(name)), display_value(b.get(name))
        if not left and not right:
            continue
        rows.append({"name": name, "a": left, "b": right, "compared": name in compared,
                     "same": left == right})
    return rows


def _comparison_rows(candidate: MatchCandidate) -> list[dict[str, Any]]:
    rows = []
    for entry in candidate.breakdown or []:
        if entry.get("comparison") == "prior":
            continue
        similarity = entry.get("similarity")
        rows.append({**entry, "a": display_value(entry.get("a")),
                     "b": display_value(entry.get("b")),
                     "similarity_pct": None if similarity is None else round(similarity * 100),
                     "top": max(int(entry.get("levels") or 1) - 1, 0),
                     "sign": _sign(entry.get("weight") or 0)})
    return rows


def _prior(candidate: MatchCandidate) -> dict[str, Any] | None:
    for entry in candidate.breakdown or []:
        if entry.get("comparison") == "prior":
            return {"weight": entry.get("weight") or 0, "sign": _sign(entry.get("weight") or 0)}
    return None


def _sign(weight: float) -> str:
    return "weight-pos" if weight > 0 else "weight-neg" if weight < 0 else "muted"


urlpatterns = [
    path("review/", review, name="review"),
    path("review/<int:candidate_id>/", review_pair, name="review-pair"),
    path("review/<int:candidate_id>/merge/", review_merge, name="review-merge"),
    path("review/<int:candidate_id>/not-a-match/", review_not_a_match,
         name="review-not-a-match"),
    path("review/<int:candidate_id>/claim/", review_claim, name="review-claim"),
    path("review/<int:candidate_id>/release/", review_release, name="review-release"),
]
