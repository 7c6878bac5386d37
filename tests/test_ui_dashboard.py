"""The dashboard's numbers: what a steward may see, each linked to its list."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from mdm.core.roles import AUDITOR, DATA_STEWARD
from mdm.stewardship.models import Conflict, StewardScope

pytestmark = pytest.mark.django_db


def login(username: str, group: str, domains: list[str] | None = None) -> Client:
    user = User.objects.create_user(username, password="pw")
    user.groups.add(Group.objects.get(name=group))
    if domains:
        StewardScope.objects.create(user=user, domains=domains)
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_counts_what_the_steward_may_see(make_source, ingest):
    crm = make_source("crm", mappings={"customer": [("name", "name"), ("phone", "phones")],
                                       "product": [("sku", "sku"), ("name", "name")]})
    ingest(crm, ("C1", "customer", {"name": "王芳", "phone": "not a phone"}),
           ("C2", "customer", {"name": "李娜", "phone": "13900001111"}),
           ("P1", "product", {"sku": "SKU-1", "name": "Widget"}))
    for domain, severity in (("customer", "high"), ("customer", "high"), ("product", "low")):
        Conflict.objects.create(kind="value_disagreement", domain=domain, attribute="name",
                                severity=severity, status="open")

    page = login("ana", DATA_STEWARD).get("/").content.decode()
    assert 'href="/conflicts/?status=open&amp;severity=high"' in page
    assert '<strong>2</strong>' in page and 'data-testid="quarantined"><strong>1</strong>' in page
    assert "/imports/?day=" in page  # the ingest chart's bars link to that day's batches

    products_only = login("pia", DATA_STEWARD, domains=["product"]).get("/").content.decode()
    assert 'data-testid="conflicts-high"><strong>0</strong>' in products_only
    assert 'data-testid="quarantined"><strong>0</strong>' in products_only


def test_the_dashboard_needs_a_login_and_auditors_may_read_it():
    assert Client().get("/").url.startswith("/login/")
    assert login("otto", AUDITOR).get("/").status_code == 200
