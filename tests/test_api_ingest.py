"""POST /api/v1/sources/{code}/records/: per-record answers; bad input gets a clear 4xx."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from rest_framework.test import APIClient

from mdm.golden.models import Customer
from mdm.sources.models import RejectedRecord, SourceRecord

pytestmark = pytest.mark.django_db
URL = "/api/v1/sources/{}/records/"


@pytest.fixture
def crm(make_source):
    return make_source("crm", value_maps={"customer": {"status": {"1": "active"}}})


def record(key="C1", **attributes):
    return {"source_key": key, "domain": "customer",
            "attributes": attributes or {"name": "张伟", "phones": ["138-0013-8000"]},
            "source_updated_at": "2026-11-01T10:00:00+08:00"}


def post(client, code, body):
    return client.post(URL.format(code), data=json.dumps(body), content_type="application/json")


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_a_batch_is_answered_per_record_and_resending_it_changes_nothing(crm, source_client):
    client = source_client(crm)
    body = {"records": [record("C1"), record("C2", name="李娜", status="1"),
                        record("C3", name="王五", phones="12345")]}
    response = post(client, "crm", body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["counts"] == {"created": 2, "quarantined": 1}
    assert [r["outcome"] for r in data["results"]] == ["created", "created", "quarantined"]
    assert data["results"][2]["reasons"][0]["attribute"] == "phones"
    assert response["X-Request-ID"]

    again = post(client, "crm", body).json()
    assert again["counts"] == {"unchanged": 3}
    assert [r["golden_id"] for r in again["results"]] == [r["golden_id"] for r in data["results"]]


def test_numbers_are_kept_exactly_as_received(crm, source_client):
    raw = '{"records": [{"source_key": "P1", "domain": "product", "attributes": ' \
          '{"sku": "SKU-1", "list_price": 1999.90, "currency": "CNY"}}]}'
    response = source_client(crm).post(URL.format("crm"), data=raw,
                                       content_type="application/json")
    assert response.status_code == 200, response.content
    assert SourceRecord.objects.get().raw_payload == \
        '{"sku": "SKU-1", "list_price": 1999.90, "currency": "CNY"}'


@pytest.mark.parametrize("body, field", [
    ({"records": "C1"}, "records"),
    ({"records": []}, "records"),
    ({}, "records"),
    ({"records": [{**record(), "domain": "planet"}]}, "records[0].domain"),
    ({"records": [{**record(), "attributes": ["name", "x"]}]}, "records[0].attributes"),
    ({"records": [{**record(), "source_key": {"id": 1}}]}, "records[0].source_key"),
    ({"records": [{**record(), "source_key": ""}]}, "records[0].source_key"),
    ({"records": [{**record(), "deleted": "maybe"}]}, "records[0].deleted"),
    ({"records": [{**record(), "base_version": "three"}]}, "records[0].base_version"),
    ({"records": [{**record(), "source_updated_at": {"at": 1}}]}, "records[0].source_updated_at"),
    ({"records": [{**record(), "atributes": {}}]}, "records[0].atributes"),
    ({"records": [record("C1"), {**record("C2"), "attributes": {}}]}, "records[1].attributes"),
])
def test_malformed_batches_get_field_errors_and_change_nothing(crm, source_client, body, field):
    error = assert_error(post(source_client(crm), "crm", body), 400, "invalid")
    assert field in error["fields"], error
    assert SourceRecord.objects.count() == 0 and Customer.objects.count() == 0


def test_invalid_json_is_a_400(crm, source_client):
    response = source_client(crm).post(URL.format("crm"), data="{not json",
                                       content_type="application/json")
    assert_error(response, 400)
    assert SourceRecord.objects.count() == 0


@override_settings(MDM_MAX_BATCH_RECORDS=5)
def test_an_oversize_batch_is_refused_whole(crm, source_client):
    response = post(source_client(crm), "crm", {"records": [record(f"C{i}") for i in range(6)]})
    error = assert_error(response, 413, "payload_too_large")
    assert "at most 5" in error["message"]
    assert SourceRecord.objects.count() == 0


def test_missing_or_wrong_token_is_401(crm):
    assert_error(post(APIClient(), "crm", {"records": [record()]}), 401)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token src_crm_not-a-real-key")
    assert_error(post(client, "crm", {"records": [record()]}), 401)
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert_error(post(client, "crm", {"records": [record()]}), 401)
    assert SourceRecord.objects.count() == 0


def test_a_source_cannot_write_another_sources_records(crm, make_source, source_client):
    erp = make_source("erp")
    response = post(source_client(erp), "crm", {"records": [record("C1")]})
    error = assert_error(response, 403, "forbidden")
    assert "erp may not write records of crm" in error["message"]
    assert SourceRecord.objects.count() == 0
    refused = RejectedRecord.objects.get()
    assert refused.source == crm and "erp tried to write" in refused.reasons[0]["message"]
    assert '"C1"' in refused.raw


def test_unknown_source_is_404(crm, source_client):
    assert_error(post(source_client(crm), "nope", {"records": [record()]}), 404, "not_found")


def test_a_revoked_key_stops_working(crm, source_client):
    from mdm.sources.services import source_system_rotate_key

    client = source_client(crm)
    source_system_rotate_key(source=crm)
    assert_error(post(client, "crm", {"records": [record()]}), 401)


def test_users_need_permission_to_ingest(crm, steward_client):
    assert_error(post(steward_client, "crm", {"records": [record()]}), 403)
    admin = User.objects.create_superuser("root1", password="pw")
    client = APIClient()
    client.force_authenticate(admin)
    assert post(client, "crm", {"records": [record()]}).status_code == 200


def test_user_token_login_and_golden_read(crm, source_client, steward):
    post(source_client(crm), "crm", {"records": [record("C1")]})
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "steward1",
                                                 "password": "pw-steward-1"}).json()["token"]
    assert_error(client.post("/api/v1/auth/token/", {"username": "steward1", "password": "x"}),
                 400)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listing = client.get("/api/v1/golden/customer/?q=张").json()
    assert listing["count"] == 1
    golden_id = listing["results"][0]["id"]
    detail = client.get(f"/api/v1/golden/customer/{golden_id}/")
    assert detail["ETag"] == '"1"'
    data = detail.json()
    assert data["values"]["phones"] == ["+8613800138000"]
    assert data["lineage"]["name"]["source"] == "crm"
    assert data["lineage"]["name"]["source_key"] == "C1"
    assert data["sources"][0]["source_key"] == "C1"
    history = client.get(f"/api/v1/golden/customer/{golden_id}/history/").json()
    assert history["versions"][0]["changes"]["name"] == {"before": None, "after": "张伟"}
    assert_error(client.get("/api/v1/golden/planet/"), 404)
    assert_error(client.get("/api/v1/golden/customer/not-a-uuid/"), 404)


def test_sources_cannot_read_golden_records(crm, source_client):
    assert_error(source_client(crm).get("/api/v1/golden/customer/"), 403)


def test_quarantine_list_and_reprocess_via_api(crm, source_client, steward_client):
    post(source_client(crm), "crm", {"records": [record("C9", name="王五", status="7")]})
    listing = steward_client.get("/api/v1/quarantine/?source=crm").json()
    assert listing["count"] == 1
    assert "no value map for code '7'" in listing["results"][0]["quarantine_reasons"][0]["message"]
    crm.value_maps.create(domain="customer", attribute="status", source_value="7",
                          canonical_value="inactive")
    response = steward_client.post("/api/v1/quarantine/reprocess/", {"source": "crm"},
                                   format="json")
    assert response.status_code == 200, response.content
    assert response.json()[0]["counts"] == {"updated": 1}
    assert steward_client.get("/api/v1/quarantine/").json()["count"] == 0
    assert_error(steward_client.post("/api/v1/quarantine/reprocess/", {}, format="json"), 400)


def test_schema_and_docs_are_served(crm, steward_client):
    schema = steward_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/sources/{code}/records/" in schema.content
    assert steward_client.get("/api/docs/").status_code == 200
