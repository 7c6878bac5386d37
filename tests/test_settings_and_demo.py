"""Settings from the environment, production hardening, and the demo loader."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from mdm.golden.models import Contract, Customer
from mdm.sources.models import SourceRecord
from mdm.stewardship.models import ChangeRequest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


def test_production_settings_pass_the_deploy_check_but_for_the_documented_preload():
    result = manage("check", "--deploy", DJANGO_SETTINGS_MODULE="mdm.settings.production",
                    DJANGO_SECRET_KEY="x" * 20 + "-production-secret-key-for-the-check-0123456789",
                    DJANGO_ALLOWED_HOSTS="mdm.example.com")
    output = result.stdout + result.stderr
    assert "System check identified 1 issue" in output, output
    assert "security.W021" in output  # HSTS preload: an opt-in, see README


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = manage("check", DJANGO_SETTINGS_MODULE="mdm.settings.production",
                    DJANGO_SECRET_KEY="", DJANGO_ALLOWED_HOSTS="mdm.example.com")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_the_demo_loads_its_scenarios_and_is_safe_to_run_again():
    out = io.StringIO()
    call_command("mdm_demo", "--customers", "60", "--products", "10", "--contracts", "20",
                 stdout=out)
    text = out.getvalue()
    assert "admin/admin" in text and "steward/steward" in text and "src_crm_" in text
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="steward").groups.filter(name="data_steward").exists()
    zhang = SourceRecord.objects.get(source__code="crm", source_key="C900001")
    assert SourceRecord.objects.get(source__code="erp", source_key="E-900001").golden_id == \
        zhang.golden_id  # same resident ID
    assert SourceRecord.objects.get(source__code="crm", source_key="C900002").golden_id != \
        zhang.golden_id
    company = SourceRecord.objects.get(source__code="crm", source_key="C900010")
    assert SourceRecord.objects.get(source__code="erp", source_key="E-900010").golden_id == \
        company.golden_id  # same credit code
    assert SourceRecord.objects.get(source__code="crm", source_key="C900011").golden_id != \
        company.golden_id  # the branch has its own credit code
    assert SourceRecord.objects.get(source__code="crm", source_key="C900012").status == \
        "quarantined"
    contract = Contract.objects.get(contract_number="HT-2026-900001")
    assert contract.customer_id == company.golden_id
    # ERP's later 1,250,000 is +25%: held for a finance approver, the golden amount stays
    assert str(contract.amount) == "1000000.00"
    request = ChangeRequest.objects.get(golden_id=contract.id)
    assert request.proposed_value == "1250000.00" and request.status == "pending"
    assert User.objects.get(username="approver").groups.filter(name="finance_approver").exists()
    assert Customer.objects.filter(status="active").count() > 40

    again = io.StringIO()
    call_command("mdm_demo", "--customers", "60", "--products", "10", "--contracts", "20",
                 stdout=again)
    assert "created" not in again.getvalue() and "unchanged" in again.getvalue()


@pytest.mark.django_db
@override_settings(MDM_ALLOW_DEMO_USERS=False)
def test_production_refuses_demo_logins():
    with pytest.raises(CommandError, match="refused with production settings"):
        call_command("mdm_demo", "--customers", "10", "--products", "2", "--contracts", "1")
    assert not User.objects.filter(username="admin").exists()
    call_command("mdm_demo", "--customers", "10", "--products", "2", "--contracts", "1",
                 "--no-users", stdout=io.StringIO())
    assert not User.objects.filter(username="admin").exists()
    assert SourceRecord.objects.exists()


@pytest.mark.django_db
def test_api_changes_carry_the_request_id_into_history(make_source, source_client):
    crm = make_source("crm")
    response = source_client(crm).post(
        "/api/v1/sources/crm/records/", HTTP_X_REQUEST_ID="req-42", format="json",
        data={"records": [{"source_key": "C1", "domain": "customer",
                           "attributes": {"name": "张伟"}}]})
    assert response["X-Request-ID"] == "req-42"
    assert SourceRecord.history.get().request_id == "req-42"
    assert Customer.history.get().request_id == "req-42"


@pytest.mark.django_db
def test_configuration_changes_are_kept_in_history(make_source):
    crm = make_source("crm", mappings={"customer": [("客户名称", "name")]})
    mapping = crm.mappings.get()
    mapping.source_field = "名称"
    mapping.save()
    crm.allowed_attributes = {"customer": ["name"]}
    crm.save()
    assert [h.source_field for h in mapping.history.order_by("history_date")] == \
        ["客户名称", "名称"]
    assert crm.history.count() == 2
