"""Deliveries: per subscription, what was sent, what failed, what is dead; replay."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mdm.core.errors import ValidationFailed
from mdm.publishing.models import Subscription
from mdm.publishing.selectors import (
    DELIVERY_FILTERS,
    deliveries_list,
    subscription_lag,
    subscriptions_visible,
)
from mdm.publishing.services import deliveries_replay
from mdm.ui.access import action, back_url, page, visible_domains
from mdm.ui.views.common import paginate, query_without_page


def _subscription(user: Any, subscription_id: Any) -> Subscription | None:
    for subscription in subscriptions_visible(domains=visible_domains(user)):
        if str(subscription.pk) == str(subscription_id):
            return subscription
    return None


@page("publishing.view_delivery", "publishing.view_subscription")
def deliveries(request: HttpRequest) -> HttpResponse:
    subscriptions = subscriptions_visible(domains=visible_domains(request.user))
    lags = [{**subscription_lag(subscription=s), "subscription": s} for s in subscriptions]
    wanted = request.GET.get("subscription")
    selected = next((s for s in subscriptions if str(s.pk) == wanted), None)
    if wanted and selected is None:
        raise Http404(wanted)
    if selected is None and len(subscriptions) == 1:
        selected = subscriptions[0]
    status = request.GET.get("status", "")
    status = status if status in DELIVERY_FILTERS else ""
    context: dict[str, Any] = {
        "nav": "deliveries", "lags": lags, "selected": selected, "status": status,
        "statuses": list(DELIVERY_FILTERS), "query": query_without_page(request),
        "can_replay": request.user.has_perm("publishing.change_subscription"),
    }
    if selected is not None:
        context["page"] = paginate(request, deliveries_list(subscription=selected,
                                                            status=status))
        context["lag"] = next(row for row in lags if row["subscription"] == selected)
    return render(request, "ui/deliveries.html", context)


@action("deliveries_replay", "publishing.change_subscription")
def replay(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = _subscription(request.user, subscription_id)
    if subscription is None:
        raise ValidationFailed(_("Unknown subscription."))
    ids = None
    if request.POST.get("scope") != "all":
        ids = _uuids(request.POST.getlist("delivery"))
        if not ids:
            raise ValidationFailed(_("Select at least one dead letter to replay."))
    count = deliveries_replay(subscription=subscription, ids=ids)
    if count:
        messages.success(request, ngettext(
            "%(n)d dead letter is back in the queue of %(name)s.",
            "%(n)d dead letters are back in the queue of %(name)s.", count)
            % {"n": count, "name": subscription.name})
    else:
        messages.warning(request, _("Nothing to replay: no dead letter among the selected "
                                    "deliveries (replayed already?)."))
    default = reverse("ui:deliveries") + f"?subscription={subscription.pk}"
    return redirect(back_url(request, default))


def _uuids(values: list[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in values]
    except ValueError:
        raise ValidationFailed(_("The selection holds an unknown delivery id.")) from None


urlpatterns = [
    path("deliveries/", deliveries, name="deliveries"),
    path("deliveries/<int:subscription_id>/replay/", replay, name="deliveries_replay"),
]
