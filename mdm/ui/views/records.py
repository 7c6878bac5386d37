"""Placeholder pages, replaced as the interface grows."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from mdm.ui.access import page


@page()
def placeholder(request: HttpRequest) -> HttpResponse:
    return render(request, "ui/base.html")


urlpatterns = [
    path("search/", placeholder, name="search"),
]
