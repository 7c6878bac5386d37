"""The user's own in-app notifications: unread first; mark one or all read."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import ngettext

from mdm.stewardship.selectors import notifications_list
from mdm.stewardship.services import notifications_mark_read
from mdm.ui.access import action, back_url, page
from mdm.ui.views.common import int_ids, paginate


@page()
def notifications(request: HttpRequest) -> HttpResponse:
    """Any logged-in user's own inbox (approvers and auditors may get alerts too)."""
    return render(request, "ui/notifications.html", {
        "nav": "notifications", "page": paginate(request, notifications_list(user=request.user),
                                                 per_page=50)})


@action("notifications_read")
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Marking one's own notifications read changes no master data: no permission needed."""
    ids = None if request.POST.get("all") else int_ids(request.POST.getlist("notification"))
    count = notifications_mark_read(user=request.user, ids=ids)
    messages.success(request, ngettext("%(n)d notification marked as read.",
                                       "%(n)d notifications marked as read.", count)
                     % {"n": count})
    return redirect(back_url(request, reverse("ui:notifications")))


urlpatterns = [
    path("notifications/", notifications, name="notifications"),
    path("notifications/read/", notifications_read, name="notifications_read"),
]
