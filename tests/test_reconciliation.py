"""Reconciliation, the sync-frequency advisor and the lag SLO check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mdm.golden.models import Customer
from mdm.publishing.models import ChangeEvent, Delivery, DeliveryAttempt, Subscription
from mdm.publishing.services import deliveries_fan_out, subscriptions_lag_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(make_source):
    return make_source("crm", mappings={"customer": [("客户名称", "name"), ("手机", "phones"),
                                                     ("邮箱", "emails")]})


@pytest.fixture
def shop(make_source, tmp_path):
    return make_source(
        "shop", is_subscriber=True, connector="file_drop", connector_domain="customer",
        connector_config={"directory": str(tmp_path), "pattern": "*.csv"},
        record_key_fields={"customer": "user_id"},
        mappings={"customer": [("real_name", "name"), ("phone", "phones"),
                               ("email", "emails")]})


def test_checksums_posted_back_find_drift_and_republish_only_to_that_subscriber(
        crm, make_source, ingest, steward_client):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    other = make_source("dwh", is_source=False, is_subscriber=True)
    subscription = Subscription.objects.create(subscriber=bi, name="feed", domains=["customer"],
                                               transport="pull")
    Subscription.objects.create(subscriber=other, name="feed", domains=["customer"],
                                transport="pull")
    ingest(crm, *[(f"C-{i}", "customer", {"客户名称": f"客户{i}"}) for i in range(3)])
    deliveries_fan_out()
    payloads = {d.golden_id: d.payload for d in subscription.deliveries.all()}
    golden = sorted(payloads)
    held = [{"golden_id": str(golden[0]), "checksum": payloads[golden[0]]["data"]["checksum"]},
            {"golden_id": str(golden[1]), "checksum": "0" * 64}]
    url = f"/api/v1/subscriptions/{subscription.pk}/reconcile/"
    run = steward_client.post(url, {"records": held, "republish": True}, format="json").json()
    assert (run["checked"], run["in_sync"], run["different"], run["missing"]) == (3, 1, 1, 1)
    assert run["republished"] == 2
    deliveries_fan_out()
    reconciled = subscription.deliveries.filter(payload__type="mdm.customer.reconciled")
    assert {d.golden_id for d in reconciled} == {golden[1], golden[2]}
    assert not Delivery.objects.filter(subscription__subscriber=other,
                                       payload__type="mdm.customer.reconciled").exists()
    assert steward_client.get(url).json()[0]["id"] == run["id"]
    bad = steward_client.post(url, {"records": [{"golden_id": "nope"}]}, format="json")
    assert bad.status_code == 400 and "records[0]" in bad.json()["error"]["fields"]


def test_reading_the_subscriber_through_its_connector(crm, shop, ingest, tmp_path):
    subscription = Subscription.objects.create(subscriber=shop, name="to-shop",
                                               domains=["customer"], transport="pull")
    ingest(crm, ("C-1", "customer", {"客户名称": "张伟", "手机": "13800138000",
                                     "邮箱": "zw@example.com"}),
           ("C-2", "customer", {"客户名称": "李娜", "手机": "13900139000",
                                "邮箱": "ln@example.com"}),
           ("C-3", "customer", {"客户名称": "王芳"}))
    ingest(shop, ("U1", "customer", {"real_name": "张伟", "phone": "+86 138 0013 8000",
                                     "email": "zw@example.com"}),
           ("U2", "customer", {"real_name": "李娜", "phone": "13700137000",
                               "email": "ln@example.com"}))
    zhang, li = (Customer.objects.get(name=n) for n in ("张伟", "李娜"))
    assert li.phones == ["+8613700137000", "+8613900139000"]  # the hub knows both numbers
    # the shop holds C-1 as the hub does, C-2 with only its own phone, and not C-3
    (tmp_path / "shop.csv").write_text(
        "user_id,real_name,phone,email\nU1,张伟,+86 138 0013 8000,zw@example.com\n"
        "U2,李娜,13700137000,ln@example.com\n", encoding="utf-8")
    from mdm.publishing.reconciliation import subscription_reconcile

    run = subscription_reconcile(subscription=subscription, republish=True)
    assert run.method == "connector"
    assert run.in_sync == 1 and run.different == 1 and run.missing == 1
    assert {d["golden_id"] for d in run.drift if d["why"] == "different"} == {str(li.id)}
    assert str(zhang.id) not in {d["golden_id"] for d in run.drift}
    assert ChangeEvent.objects.filter(type="mdm.customer.reconciled",
                                      audience=subscription).count() == 2


def test_reconciling_without_a_connector_or_checksums_is_a_clear_error(make_source,
                                                                       steward_client):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    subscription = Subscription.objects.create(subscriber=bi, name="x", domains=["customer"])
    response = steward_client.post(f"/api/v1/subscriptions/{subscription.pk}/reconcile/", {},
                                   format="json")
    assert response.status_code == 400
    assert "no connector" in response.json()["error"]["message"]


def _history(subscription, *, count, duration_ms, status=200, lag_ms=1000):
    event = ChangeEvent.objects.create(type="mdm.customer.updated", domain="customer",
                                       golden_id="00000000-0000-0000-0000-000000000001",
                                       version=1)
    for n in range(count):
        delivery = Delivery.objects.create(
            subscription=subscription, event=event if n == 0 else ChangeEvent.objects.create(
                type="mdm.customer.updated", domain="customer", version=n + 1,
                golden_id="00000000-0000-0000-0000-000000000001"),
            seq=n, golden_id="00000000-0000-0000-0000-000000000001", payload={},
            status="delivered", delivered_at=timezone.now(), lag_ms=lag_ms)
        DeliveryAttempt.objects.create(delivery=delivery, status_code=status,
                                       duration_ms=duration_ms)


@pytest.mark.parametrize("count, duration_ms, status, mode", [
    (0, 0, 200, "daily"),
    (20, 50, 200, "realtime"),
    (200, 4000, 200, "interval"),  # 200 changes/h × 4 s: the sender would be busy 22%
    (20, 50, 500, "interval"),
])
def test_the_advisor_suggests_a_mode_with_its_numbers(make_source, steward_client, count,
                                                      duration_ms, status, mode):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    subscription = Subscription.objects.create(subscriber=bi, name="x", domains=["customer"])
    _history(subscription, count=count, duration_ms=duration_ms, status=status)
    url = f"/api/v1/subscriptions/{subscription.pk}/advice/"
    advice = steward_client.get(f"{url}?window_hours=1").json()
    assert advice["suggested_mode"] == mode, advice
    assert advice["numbers"]["changes_per_hour"] == count
    assert steward_client.get(f"{url}?window_hours=0").status_code == 400
    assert advice["reason"]


def test_lag_slo_breach_is_flagged_and_cleared(make_source):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    subscription = Subscription.objects.create(subscriber=bi, name="x", domains=["customer"],
                                               lag_slo_p95_ms=5_000)
    _history(subscription, count=10, duration_ms=10, lag_ms=9_000)
    assert subscriptions_lag_check() == [subscription.pk]
    subscription.refresh_from_db()
    assert subscription.slo_breached_since is not None
    Delivery.objects.update(lag_ms=100, delivered_at=timezone.now() - timedelta(minutes=1))
    assert subscriptions_lag_check() == []
    subscription.refresh_from_db()
    assert subscription.slo_breached_since is None
