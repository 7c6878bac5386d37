"""Every admin page a administrator opens loads, with data in it."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse


@pytest.mark.django_db
def test_every_admin_list_and_change_page_loads_with_demo_data(client):
    call_command("mdm_demo", "--customers", "30", "--products", "5", "--contracts", "10",
                 stdout=io.StringIO())
    client.force_login(User.objects.get(username="admin"))
    for model in admin.site._registry:
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        first = model.objects.first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert client.get(change).status_code == 200, change


@pytest.mark.django_db
def test_stewards_cannot_open_configuration_they_may_not_change(client):
    from django.contrib.auth.models import Group

    from mdm.core.roles import DATA_STEWARD

    steward = User.objects.create_user("s", password="pw", is_staff=True)
    steward.groups.add(Group.objects.get(name=DATA_STEWARD))
    client.force_login(steward)
    assert client.get(reverse("admin:sources_sourcerecord_changelist")).status_code == 200
    assert client.get(reverse("admin:stewardship_conflictpolicy_add")).status_code == 403
