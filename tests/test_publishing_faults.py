"""Publishing under real faults, with real processes: a Celery worker + beat, a private
redis-server per test, a live webhook receiver and the PostgreSQL test database.

* the receiver is down, then comes back: delivered once, signed;
* Redis is stopped while a golden change commits: the commit succeeds, the event waits in
  the outbox, and is delivered once Redis is back;
* the worker is SIGKILLed in the middle of a POST: a new worker sends it again with the
  same ``webhook-id``;
* Redis hangs (frozen, not refusing) while a golden change commits.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from process_helpers import celery_client, celery_worker, free_port, redis_server, wait_until
from standardwebhooks.webhooks import Webhook
from webhook_receiver import webhook_receiver

from mdm.publishing.models import ChangeEvent, Delivery, Subscription

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("workers need a database shared across processes (PostgreSQL)")


@pytest.fixture
def crm(make_source):
    return make_source("crm", mappings={"customer": [("客户名称", "name"), ("手机", "phones")]})


@pytest.fixture
def bi(make_source):
    return make_source("bi", is_source=False, is_subscriber=True)


def subscribe(subscriber, url: str, **fields) -> Subscription:
    return Subscription.objects.create(subscriber=subscriber, name="main", domains=["customer"],
                                       secret=SECRET, url=url, mode="realtime", **fields)


def delivered(subscription: Subscription) -> Delivery | None:
    return Delivery.objects.filter(subscription=subscription, status="delivered").first()


def state(subscription: Subscription, *workers) -> str:
    """What to print when a wait times out: the rows, then each worker's log tail."""
    sub = Subscription.objects.get(pk=subscription.pk)
    rows = list(Delivery.objects.filter(subscription=subscription)
                .values("id", "status", "attempts", "next_attempt_at", "last_error"))
    logs = "\n".join(f"--- {w.log_path.name}\n{w.log_tail(3000)}" for w in workers)
    return (f"sending_until={sub.sending_until} fanned_out_seq={sub.fanned_out_seq}\n"
            f"events={ChangeEvent.objects.count()} deliveries={rows}\n{logs}")


def test_a_receiver_that_is_down_gets_the_event_once_it_is_back(tmp_path, crm, bi, ingest):
    port = free_port()  # nothing listens here until the receiver starts below
    subscription = subscribe(bi, url=f"http://127.0.0.1:{port}/hooks/mdm", timeout_seconds=2)
    with redis_server(tmp_path) as broker, celery_client(broker.url()), \
            celery_worker(tmp_path, broker.url()) as worker:
        started = time.monotonic()
        ingest(crm, ("C-1", "customer", {"客户名称": "张伟", "手机": "13800138000"}))

        failed = wait_until(
            lambda: Delivery.objects.filter(subscription=subscription, attempts__gte=1).first(),
            30, "a failed attempt", lambda: state(subscription, worker))
        assert failed.status == "pending" and failed.next_attempt_at is not None
        assert failed.tries.filter(status_code__isnull=True).exists()  # a network error

        with webhook_receiver(port) as receiver:
            # nobody nudges it: the scheduled retry (or beat's dispatch) sends it
            wait_until(lambda: delivered(subscription), 30, "the delivery",
                       lambda: state(subscription, worker))
            took = time.monotonic() - started
            time.sleep(2.5)  # more beat ticks and retries would show up as duplicates now
            calls = list(receiver.received)

    assert len(calls) == 1, [c.headers.get("webhook-id") for c in calls]
    event = Webhook(SECRET).verify(calls[0].body, calls[0].headers)
    delivery = Delivery.objects.get(subscription=subscription)
    assert calls[0].headers["webhook-id"] == str(delivery.id)
    assert event["data"]["values"]["name"] == "张伟"
    assert delivery.status == "delivered" and delivery.attempts >= 1
    print(f"\nreceiver down → back: delivered {took:.1f} s after the ingest, "
          f"after {delivery.attempts} failed attempt(s)")


def test_redis_stopped_during_a_golden_change(tmp_path, crm, bi, ingest, caplog):
    with webhook_receiver() as receiver, redis_server(tmp_path) as broker:
        subscription = subscribe(bi, url=receiver.url)
        with celery_worker(tmp_path, broker.url()) as worker, celery_client(broker.url()):
            broker.stop()
            assert not broker.ping()

            started = time.monotonic()
            result = ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
            ingest_seconds = time.monotonic() - started

            assert [o.outcome for o in result.outcomes] == ["created"]
            swallowed = [r.getMessage() for r in caplog.records
                         if r.name == "django.db.backends.base" and "on_commit" in r.getMessage()]
            assert swallowed and "refused" in swallowed[0].lower(), swallowed
            assert ingest_seconds < 10, f"the commit's .delay blocked {ingest_seconds:.1f} s"
            event = ChangeEvent.objects.get()  # committed: the event waits in the outbox
            time.sleep(1.5)  # beat ticks while the broker is down; nothing can move
            assert not Delivery.objects.exists()

            down_at = time.monotonic()
            broker.start()  # same port, empty: the post-commit message is gone for good
            wait_until(lambda: receiver.received, 60, "the webhook after Redis came back",
                       lambda: state(subscription, worker))
            recovered_seconds = time.monotonic() - down_at
            wait_until(lambda: delivered(subscription), 10, "the delivery to be recorded",
                       lambda: state(subscription, worker))
            time.sleep(2)
            calls = list(receiver.received)

    assert len(calls) == 1
    body = Webhook(SECRET).verify(calls[0].body, calls[0].headers)
    assert body["id"] == str(event.event_id) and body["subject"] == str(event.golden_id)
    print(f"\nRedis stopped: ingest returned in {ingest_seconds:.2f} s; delivered "
          f"{recovered_seconds:.1f} s after Redis was restarted")


def test_a_worker_killed_in_the_middle_of_a_delivery(tmp_path, crm, bi, ingest):
    with webhook_receiver() as receiver, redis_server(tmp_path) as broker, \
            celery_client(broker.url()):
        receiver.script = ["sleep"]  # the first request hangs 3 s: the worker is mid-POST
        # the sender's lease is 2 × timeout + 10 s = 18 s: how long a dead sender blocks
        subscription = subscribe(bi, url=receiver.url, timeout_seconds=4)
        with celery_worker(tmp_path, broker.url(), "first") as first:
            ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
            wait_until(lambda: receiver.received, 30, "the first request",
                       lambda: state(subscription, first), interval=0.02)
            arrived = time.monotonic()
            first.kill()  # SIGKILL the worker's process group (solo pool: it is the sender)
            killed_after = time.monotonic() - arrived
            killed_at = timezone.now()
        assert killed_after < 2, "the kill must land while the receiver still hangs"

        delivery = Delivery.objects.get(subscription=subscription)
        assert delivery.status == "pending" and delivery.attempts == 0  # nothing recorded
        dead_lease = Subscription.objects.get(pk=subscription.pk).sending_until
        assert dead_lease is not None  # the killed sender's lease, never released
        lease_left = (dead_lease - killed_at).total_seconds()
        assert lease_left <= 2 * 4 + 10

        with celery_worker(tmp_path, broker.url(), "second") as second:
            # beat (every second here) starts a sender; it takes over once the lease ran out
            wait_until(lambda: len(receiver.received) >= 2, lease_left + 15,
                       "the interrupted delivery to be sent again",
                       lambda: state(subscription, second))
            resent_after = (timezone.now() - killed_at).total_seconds()
            wait_until(lambda: delivered(subscription), 10, "the delivery to be recorded",
                       lambda: state(subscription, second))
            time.sleep(2)
            calls = list(receiver.received)

    assert len(calls) == 2
    assert [c.headers["webhook-id"] for c in calls] == [str(delivery.id)] * 2
    assert calls[0].body == calls[1].body
    for call in calls:
        Webhook(SECRET).verify(call.body, call.headers)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.tries.count() == 1  # the killed attempt left no trace
    assert Subscription.objects.get(pk=subscription.pk).sending_until is None
    print(f"\nworker killed mid-POST: the dead sender's lease had {lease_left:.1f} s left; "
          f"resent {resent_after:.1f} s after the kill")


def test_a_frozen_redis_does_not_hang_the_committing_caller(tmp_path, crm, bi, ingest):
    subscribe(bi, url="http://127.0.0.1:9/unused")
    with redis_server(tmp_path) as broker, celery_client(broker.url()):
        broker.signal_group(signal.SIGSTOP)  # accepts TCP connections, never answers
        returned = threading.Event()

        def commit_a_change() -> None:
            try:
                ingest(crm, ("C-1", "customer", {"客户名称": "张伟"}))
                returned.set()
            finally:
                connection.close()

        caller = threading.Thread(target=commit_a_change, daemon=True)
        started = time.monotonic()
        caller.start()
        in_time = returned.wait(15)
        waited = time.monotonic() - started
        broker.signal_group(signal.SIGCONT)
        caller.join(30)
        assert not caller.is_alive()
    assert ChangeEvent.objects.count() == 1  # committed before the hang either way
    assert in_time, f"ingest still blocked in the post-commit .delay after {waited:.0f} s"
