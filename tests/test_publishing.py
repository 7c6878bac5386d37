"""Publishing: fan-out in subscribers' own names and codes, signed webhooks, retries,
dead letters and replay, order per golden record, batches, the pull feed and sync lag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from webhook_receiver import webhook_receiver

from mdm.publishing.models import Delivery, Subscription
from mdm.publishing.services import deliveries_fan_out, subscription_send

pytestmark = pytest.mark.django_db
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def crm(make_source):
    return make_source(
        "crm", is_subscriber=True,
        mappings={"customer": [("客户名称", "name"), ("手机", "phones"), ("状态", "status"),
                               ("邮箱", "emails")]},
        value_maps={"customer": {"status": {"1": "active", "2": "inactive"}}})


@pytest.fixture
def erp(make_source):
    return make_source("erp", is_subscriber=True,
                       value_maps={"customer": {"status": {"A": "active", "I": "inactive"}}})


def subscribe(subscriber, **fields):
    defaults = {"name": "main", "domains": ["customer"], "secret": SECRET,
                "url": "http://127.0.0.1:9/unused"}
    return Subscription.objects.create(subscriber=subscriber, **{**defaults, **fields})


def make_due(subscription):
    Delivery.objects.filter(subscription=subscription).update(next_attempt_at=None)


def test_events_reach_a_subscriber_in_its_own_names_codes_and_keys(crm, erp, ingest):
    subscription = subscribe(erp, field_map={"name": "name_en", "phones": "mobile"},
                             attributes=["name", "phones", "status"])
    ingest(erp, ("E-1", "customer", {"name": "Zhang Wei", "emails": "zw@example.com",
                                     "status": "active"}))
    ingest(crm, ("C-1", "customer", {"客户名称": "张伟", "手机": "13800138000", "状态": "2"}))
    # both records share nothing strong: two golden records; link C-1 via email instead
    ingest(crm, ("C-2", "customer", {"客户名称": "李娜", "状态": "1"}))
    deliveries_fan_out()
    payloads = [d.payload for d in Delivery.objects.filter(subscription=subscription)]
    by_name = {p["data"]["values"].get("name_en"): p for p in payloads}
    event = by_name["张伟"]
    assert event["specversion"] == "1.0" and event["type"] == "mdm.customer.created"
    assert event["subject"] == event["data"]["golden_id"]
    assert event["data"]["values"] == {"name_en": "张伟", "mobile": ["+8613800138000"],
                                       "status": "I"}
    assert by_name["李娜"]["data"]["values"]["status"] == "A"
    assert "Zhang Wei" not in by_name  # erp's own change is not echoed back to erp


def test_no_echo_unless_the_golden_value_differs_from_what_the_subscriber_sent(
        crm, erp, ingest):
    subscription = subscribe(erp)
    ingest(erp, ("E-1", "customer", {"name": "Zhang Wei", "emails": "zw@example.com"},
                 "2026-11-01 10:00:00"))
    ingest(crm, ("C-1", "customer", {"客户名称": "张伟", "邮箱": "zw@example.com"},
                 "2026-11-05 10:00:00"))
    ingest(erp, ("E-1", "customer", {"name": "Zhang Wei", "emails": "zw@example.com",
                                     "phones": "13900139000"}, "2026-11-02 10:00:00"))
    ingest(erp, ("E-1", "customer", {"name": "Zhang Wei", "emails": "zw2@example.com",
                                     "phones": "13900139000"}, "2026-11-03 10:00:00"))
    deliveries_fan_out()
    types = [(d.payload["type"], d.payload["data"]["changed"])
             for d in Delivery.objects.filter(subscription=subscription).order_by("seq")]
    # 1: erp's own create → echo, not sent; 2: crm's name wins → sent to erp;
    # 3: erp adds a phone, and the golden phones are now what erp sent → echo, not sent;
    # 4: erp changes its email, but the golden emails keep crm's too → differs, sent
    assert [t for t, _ in types] == ["mdm.customer.updated", "mdm.customer.updated"]
    assert types[0][1]["name"] == {"before": "Zhang Wei", "after": "张伟"}
    assert types[1][1]["emails"]["after"] == ["zw@example.com", "zw2@example.com"]
    ids = [d.payload["data"]["source_keys"] for d in Delivery.objects.all()]
    assert all(keys == ["E-1"] for keys in ids)


def test_filters_and_event_types(crm, make_source, ingest):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    subscription = subscribe(bi, event_types=["created"],
                             filters=[{"attribute": "status", "op": "eq", "value": "active"}])
    ingest(crm, ("C-1", "customer", {"客户名称": "张伟", "状态": "1"}, "2026-11-01 10:00:00"),
           ("C-2", "customer", {"客户名称": "李娜", "状态": "2"}, "2026-11-01 10:00:00"))
    ingest(crm, ("C-1", "customer", {"客户名称": "张伟伟", "状态": "1"}, "2026-11-02 10:00:00"))
    deliveries_fan_out()
    names = [d.payload["data"]["values"]["name"] for d in subscription.deliveries.all()]
    assert names == ["张伟"]


def test_signed_webhooks_verify_with_the_standard_webhooks_library(crm, make_source, ingest):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    with webhook_receiver() as receiver:
        subscription = subscribe(bi, url=receiver.url)
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
        deliveries_fan_out()
        summary = subscription_send(subscription_id=subscription.pk)
        [call] = receiver.wait_for(1)
    assert summary.delivered == 1
    event = Webhook(SECRET).verify(call.body, call.headers)
    assert event["data"]["values"]["name"] == "张伟"
    delivery = Delivery.objects.get()
    assert call.headers["webhook-id"] == str(delivery.id)
    assert call.headers["Content-Type"].startswith("application/cloudevents+json")
    assert delivery.status == "delivered" and delivery.lag_ms is not None
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(call.body, call.headers)


def test_500_and_timeouts_are_retried_with_the_same_webhook_id(crm, make_source, ingest):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    with webhook_receiver() as receiver:
        receiver.script = [500, "sleep", 503]
        subscription = subscribe(bi, url=receiver.url, timeout_seconds=1)
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
        deliveries_fan_out()
        for _ in range(4):
            make_due(subscription)
            subscription_send(subscription_id=subscription.pk)
        calls = receiver.wait_for(4)
    assert [c.answered for c in calls] == [500, "sleep", 503, 200]
    delivery = Delivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert {c.headers["webhook-id"] for c in calls} == {str(delivery.id)}
    errors = list(delivery.tries.order_by("attempted_at").values_list("status_code", "error"))
    assert errors[0][0] == 500 and errors[1][0] is None and "time" in errors[1][1].lower()
    assert errors[-1][0] == 200


def test_a_receiver_that_is_down_gets_it_once_it_is_back(crm, make_source, ingest):
    import socket

    bi = make_source("bi", is_source=False, is_subscriber=True)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    subscription = subscribe(bi, url=f"http://127.0.0.1:{port}/hooks/mdm")
    ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
    deliveries_fan_out()
    assert subscription_send(subscription_id=subscription.pk).failed == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.next_attempt_at > timezone.now()
    assert delivery.next_attempt_at < timezone.now() + timedelta(seconds=6)
    with webhook_receiver(port) as receiver:
        make_due(subscription)
        assert subscription_send(subscription_id=subscription.pk).delivered == 1
        receiver.wait_for(1)


@pytest.mark.parametrize("status, final", [(400, "dead"), (410, "dead"), (429, "pending"),
                                           (408, "pending")])
def test_4xx_is_not_retried_except_408_and_429(crm, make_source, ingest, status, final):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    with webhook_receiver() as receiver:
        receiver.script = [status]
        subscription = subscribe(bi, url=receiver.url)
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
        deliveries_fan_out()
        subscription_send(subscription_id=subscription.pk)
    assert Delivery.objects.get().status == final


def test_dead_letters_after_max_attempts_and_replay(crm, make_source, ingest, steward_client):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    with webhook_receiver() as receiver:
        receiver.script = [500, 500]
        subscription = subscribe(bi, url=receiver.url, max_attempts=2)
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
        deliveries_fan_out()
        for _ in range(2):
            make_due(subscription)
            subscription_send(subscription_id=subscription.pk)
        assert Delivery.objects.get().status == "dead"
        dead = steward_client.get(f"/api/v1/subscriptions/{subscription.pk}/deliveries/"
                                  "?status=dead").json()
        assert len(dead) == 1 and "HTTP 500" in dead[0]["last_error"]
        response = steward_client.post(f"/api/v1/subscriptions/{subscription.pk}/replay/", {},
                                       format="json")
        assert response.json() == {"replayed": 1}
        subscription_send(subscription_id=subscription.pk)
        assert [c.answered for c in receiver.wait_for(3)] == [500, 500, 200]
    assert Delivery.objects.get().status == "delivered"


def test_a_golden_records_versions_stay_in_order_while_one_is_retried(crm, make_source, ingest):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    with webhook_receiver() as receiver:
        receiver.script = [500]
        subscription = subscribe(bi, url=receiver.url)
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}, "2026-11-01 10:00:00"))
        ingest(crm, ("C-2", "customer", {"客户名称": "李娜"}, "2026-11-01 10:00:00"))
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟二"}, "2026-11-02 10:00:00"))
        deliveries_fan_out()
        subscription_send(subscription_id=subscription.pk)  # C-1 v1 fails; C-2 goes
        calls = receiver.wait_for(2)
        assert [(c.json["data"]["values"]["name"], c.answered) for c in calls] == \
            [("张伟", 500), ("李娜", 200)]  # C-1 v2 waits for v1
        make_due(subscription)
        subscription_send(subscription_id=subscription.pk)
        calls = receiver.wait_for(4)
    versions = [(c.json["data"]["values"]["name"], c.json["data"]["version"]) for c in calls[2:]]
    assert versions == [("张伟", 1), ("张伟二", 2)]


def test_scheduled_subscriptions_send_batches(crm, make_source, ingest):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    with webhook_receiver() as receiver:
        subscription = subscribe(bi, url=receiver.url, mode="interval", interval_minutes=15,
                                 batch_size=3)
        ingest(crm, *[(f"C-{i}", "customer", {"客户名称": f"客户{i}"}) for i in range(7)])
        deliveries_fan_out()
        summary = subscription_send(subscription_id=subscription.pk)
        calls = receiver.wait_for(3)
    assert summary.delivered == 7 and summary.requests == 3
    assert [len(c.json) for c in calls] == [3, 3, 1]
    assert calls[0].headers["Content-Type"].startswith("application/cloudevents-batch+json")
    Webhook(SECRET).verify(calls[0].body, calls[0].headers)


def test_schedules_say_when_a_subscription_is_due(make_source):
    from mdm.publishing.schedules import is_due

    bi = make_source("bi", is_source=False, is_subscriber=True)
    now = timezone.now()
    every = subscribe(bi, mode="interval", interval_minutes=10, last_sent_at=now)
    assert not is_due(every, now + timedelta(minutes=9))
    assert is_due(every, now + timedelta(minutes=10))
    cron = subscribe(bi, name="cron", mode="cron", cron="*/5 * * * *",
                     last_sent_at=now - timedelta(minutes=6))
    assert is_due(cron, now)
    assert not is_due(subscribe(bi, name="m", mode="manual"), now)
    assert not is_due(subscribe(bi, name="p", transport="pull"), now)


def test_the_pull_feed_and_its_acknowledged_cursor(crm, make_source, ingest, source_client):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    subscription = subscribe(bi, transport="pull", url="")
    ingest(crm, *[(f"C-{i}", "customer", {"客户名称": f"客户{i}"}) for i in range(5)])
    deliveries_fan_out()
    client = source_client(bi)
    url = f"/api/v1/subscriptions/{subscription.pk}"
    everything = [c["data"]["values"]["name"]
                  for c in client.get(f"{url}/changes/?after=0").json()["changes"]]
    assert sorted(everything) == [f"客户{i}" for i in range(5)]
    page = client.get(f"{url}/changes/?limit=3").json()
    assert len(page["changes"]) == 3 and page["acked_seq"] == 0
    assert client.post(f"{url}/ack/", {"seq": page["last_seq"]}, format="json").status_code == 200
    rest = client.get(f"{url}/changes/").json()  # from the stored cursor
    assert [c["data"]["values"]["name"] for c in rest["changes"]] == everything[3:]
    assert client.post(f"{url}/ack/", {"seq": 1}, format="json").status_code == 400
    assert client.post(f"{url}/ack/", {"seq": 10**9}, format="json").status_code == 400
    assert client.get(f"{url}/changes/?limit=0").status_code == 400
    assert source_client(crm).get(f"{url}/changes/").status_code == 403
    lag = client.get(f"{url}/lag/").json()
    assert lag["deliveries"] == 3 and lag["pending"] == 2 and lag["p95_ms"] >= 0


def test_a_backlog_larger_than_one_pass_drains_in_one_dispatch(crm, make_source, ingest,
                                                               monkeypatch):
    from mdm.publishing import services
    from mdm.publishing.tasks import dispatch_outbox

    monkeypatch.setattr(services, "FAN_OUT_CHUNK", 3)
    bi = make_source("bi", is_source=False, is_subscriber=True)
    subscription = subscribe(bi, transport="pull")
    ingest(crm, *[(f"C-{i}", "customer", {"客户名称": f"客户{i}"}) for i in range(8)])
    assert not deliveries_fan_out().caught_up
    assert dispatch_outbox.apply().get()["fanned_out"] == 5
    assert subscription.deliveries.count() == 8


def test_fan_out_moves_its_cursor_without_writing_configuration_history(crm, make_source,
                                                                         ingest):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    subscription = subscribe(bi, transport="pull")
    ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
    deliveries_fan_out()
    subscription.refresh_from_db()
    assert subscription.fanned_out_seq > 0
    assert subscription.history.count() == 1  # only its creation


def test_dispatch_sends_a_realtime_event_itself_under_the_fan_outs_lease(crm, make_source,
                                                                        ingest):
    from mdm.publishing.services import delivery_id
    from mdm.publishing.tasks import dispatch_outbox

    bi = make_source("bi", is_source=False, is_subscriber=True)
    with webhook_receiver() as receiver:
        subscription = subscribe(bi, url=receiver.url)
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
        result = dispatch_outbox.apply(kwargs={"sweep": False}).get()
        [call] = receiver.wait_for(1)
    assert result == {"fanned_out": 1, "senders": 0, "sent": 1}  # no sender task queued
    delivery = Delivery.objects.select_related("event").get()
    assert delivery.status == "delivered" and call.headers["webhook-id"] == str(delivery.id)
    assert delivery.id == delivery_id(subscription.pk, delivery.event.event_id)
    assert Subscription.objects.get(pk=subscription.pk).sending_until is None


def test_a_sender_looks_again_when_a_fan_out_ran_while_it_held_the_lease(crm, make_source,
                                                                        ingest, monkeypatch):
    from mdm.publishing import services

    bi = make_source("bi", is_source=False, is_subscriber=True)
    post = services._post
    changed = []

    def post_while_another_change_is_fanned_out(*args, **kwargs):
        result = post(*args, **kwargs)
        if not changed:  # the lease is ours: this fan-out leaves its delivery to us
            changed.append(ingest(crm, ("C-2", "customer", {"客户名称": "李娜"})))
            assert deliveries_fan_out(lease_realtime=True).lease is None
        return result

    monkeypatch.setattr(services, "_post", post_while_another_change_is_fanned_out)
    with webhook_receiver() as receiver:
        subscription = subscribe(bi, url=receiver.url)
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
        deliveries_fan_out()
        summary = subscription_send(subscription_id=subscription.pk)
        calls = receiver.wait_for(2)
    assert summary.delivered == 2
    assert [c.json["data"]["values"]["name"] for c in calls] == ["张伟", "李娜"]


def test_a_value_map_change_reaches_the_next_fan_out_however_it_was_written(crm, erp,
                                                                             ingest):
    from mdm.sources.models import ValueMap

    subscription = subscribe(erp, attributes=["status"])

    def status_sent(key, status):
        ingest(crm, (key, "customer", {"客户名称": f"Name {key}", "状态": status}))
        deliveries_fan_out()
        return Delivery.objects.filter(subscription=subscription).latest("seq") \
            .payload["data"]["values"].get("status")

    assert status_sent("C-1", "1") == "A"
    # a queryset update: no save(), no signal, no history row
    ValueMap.objects.filter(source=erp, canonical_value="active").update(source_value="ACT")
    assert status_sent("C-2", "1") == "ACT"
    ValueMap.objects.filter(source=erp).delete()
    assert status_sent("C-3", "1") == "active"


def test_the_fan_outs_lease_sends_an_older_pending_delivery_first(crm, make_source, ingest):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    subscription = subscribe(bi)
    ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
    deliveries_fan_out()  # no lease taken: its delivery stays pending
    ingest(crm, ("C-2", "customer", {"客户名称": "李娜"}))
    lease = deliveries_fan_out(lease_realtime=True).lease
    assert lease is not None and lease.subscription.pk == subscription.pk
    assert [d.payload["data"]["values"]["name"] for d in lease.due] == ["张伟"]
    assert lease.more
    Subscription.objects.filter(pk=subscription.pk).update(sending_until=None)
    ingest(crm, ("C-3", "customer", {"客户名称": "王芳"}))
    Delivery.objects.filter(subscription=subscription).update(status="delivered")
    lease = deliveries_fan_out(lease_realtime=True).lease
    assert [d.payload["data"]["values"]["name"] for d in lease.due] == ["王芳"]
    assert not lease.more and lease.seen_all
