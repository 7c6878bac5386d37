"""Quarantine, deliveries, notifications and imports in the steward interface, through the
Django test client: roles, bad input, the audit trail and what each action changes."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from mdm.core.roles import AUDITOR, DATA_STEWARD
from mdm.publishing.models import ChangeEvent, Delivery, DeliveryAttempt, Subscription
from mdm.sources import services as source_services
from mdm.sources.models import FeedUpload, IngestBatch, SourceRecord, ValueMap
from mdm.stewardship.models import Conflict, Notification, StewardScope
from mdm.ui.models import StewardAction

pytestmark = pytest.mark.django_db

CSV_HEADER = "id,name,mobile,status\n"


def user_in(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="pw-ops-1")
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def steward_web(client, steward):
    client.force_login(steward)
    return client


@pytest.fixture
def auditor_web(client):
    client.force_login(user_in("audrey", AUDITOR))
    return client


@pytest.fixture
def crm(make_source):
    return make_source("crm", mappings={"customer": [("name", "name"), ("mobile", "phones"),
                                                     ("status", "status")]},
                       value_maps={"customer": {"status": {"1": "active"}}},
                       record_key_fields={"customer": "id"})


@pytest.fixture
def quarantined(crm, ingest):
    """C1 is fine; C2 sends status code 9, which no value map knows yet."""
    ingest(crm, ("C1", "customer", {"id": "C1", "name": "张伟", "status": "1"}),
           ("C2", "customer", {"id": "C2", "name": "李娜", "status": "9"}))
    return SourceRecord.objects.get(source_key="C2")


def actions(name: str) -> list[tuple[str, str]]:
    return list(StewardAction.objects.filter(action=name).values_list("user__username",
                                                                      "outcome"))


# --- quarantine --------------------------------------------------------------------------

def row(source_key: str) -> str:
    """A quarantined record's row (a bare key could also occur inside a CSRF token)."""
    return f'data-testid="quarantined-{source_key}"'


def test_quarantine_lists_records_with_field_reasons_and_raw_payload(steward_web, quarantined):
    page = steward_web.get("/quarantine/").content.decode()
    assert quarantined.status == "quarantined"
    assert row("C2") in page and "status" in page and "李娜" in page  # reason, raw payload
    assert "Re-process selected" in page
    assert row("C1") not in page


def test_quarantine_filters_by_source_and_domain(steward_web, quarantined, make_source, ingest):
    erp = make_source("erp", value_maps={"customer": {"status": {"1": "active"}}})
    ingest(erp, ("E1", "customer", {"name": "王芳", "status": "x"}))
    assert row("E1") in steward_web.get("/quarantine/").content.decode()
    only_crm = steward_web.get("/quarantine/?source=crm&domain=customer").content.decode()
    assert row("C2") in only_crm and row("E1") not in only_crm
    assert row("C2") not in steward_web.get("/quarantine/?domain=product").content.decode()


def test_reprocess_after_fixing_the_value_map_releases_the_record(steward_web, crm,
                                                                  quarantined):
    ValueMap.objects.create(source=crm, domain="customer", attribute="status",
                            source_value="9", canonical_value="inactive")
    response = steward_web.post("/quarantine/reprocess/", {"record": [quarantined.pk]},
                                follow=True)
    quarantined.refresh_from_db()
    assert quarantined.status == "active" and quarantined.attributes["status"] == "inactive"
    assert "Re-processed 1 record: 1 updated." in response.content.decode()
    assert "Nothing in quarantine." in response.content.decode()
    assert actions("quarantine_reprocess") == [("steward1", "done")]


def test_reprocess_without_a_fix_keeps_the_record_and_says_so(steward_web, quarantined):
    response = steward_web.post("/quarantine/reprocess/", {"record": [quarantined.pk]},
                                follow=True)
    assert "1 quarantined" in response.content.decode()
    quarantined.refresh_from_db()
    assert quarantined.status == "quarantined"


def test_reprocess_bad_selection_is_answered_not_a_500(steward_web, quarantined):
    for data in ({}, {"record": ["abc"]}, {"record": ["999999"]}):
        response = steward_web.post("/quarantine/reprocess/", data, follow=True)
        assert response.status_code == 200
        assert b'class="error"' in response.content
    assert [o for _, o in actions("quarantine_reprocess")] == ["refused"] * 3


def test_auditor_sees_quarantine_without_buttons_and_may_not_reprocess(auditor_web,
                                                                      quarantined):
    page = auditor_web.get("/quarantine/").content.decode()
    assert "C2" in page and "Re-process" not in page and 'name="record"' not in page
    assert auditor_web.post("/quarantine/reprocess/",
                            {"record": [quarantined.pk]}).status_code == 403
    quarantined.refresh_from_db()
    assert quarantined.status == "quarantined"
    assert actions("quarantine_reprocess") == [("audrey", "refused")]


def test_scoped_steward_sees_only_their_domains(client, quarantined):
    user = user_in("pat", DATA_STEWARD)
    StewardScope.objects.create(user=user, domains=["product"])
    client.force_login(user)
    assert row("C2") not in client.get("/quarantine/").content.decode()
    assert client.get("/quarantine/?domain=customer").status_code == 404
    client.post("/quarantine/reprocess/", {"record": [quarantined.pk]})
    quarantined.refresh_from_db()
    assert quarantined.batch.channel != "reprocess"  # not touched


# --- deliveries --------------------------------------------------------------------------

@pytest.fixture
def subscription(make_source):
    bi = make_source("bi", is_source=False, is_subscriber=True)
    return Subscription.objects.create(subscriber=bi, name="bi-main", domains=["customer"],
                                       url="http://127.0.0.1:9/hooks", lag_slo_p95_ms=1000)


def delivery(subscription: Subscription, seq: int, status: str, **fields) -> Delivery:
    golden = uuid.uuid4()
    event = ChangeEvent.objects.create(type="customer.updated", domain="customer",
                                       golden_id=golden, version=1)
    return Delivery.objects.create(subscription=subscription, event=event, seq=event.seq,
                                   golden_id=golden, payload={}, status=status, **fields)


@pytest.fixture
def dead(subscription):
    letter = delivery(subscription, 1, "dead", attempts=8, last_error="HTTP 500 from receiver")
    DeliveryAttempt.objects.create(delivery=letter, status_code=500, error="Internal Error")
    delivery(subscription, 2, "delivered", attempts=1, delivered_at=timezone.now(), lag_ms=400)
    return letter


def test_deliveries_show_status_attempts_and_lag_per_subscription(steward_web, dead,
                                                                  subscription):
    page = steward_web.get(f"/deliveries/?subscription={subscription.pk}").content.decode()
    assert "bi-main" in page and "dead letter" in page and "HTTP 500 from receiver" in page
    assert "Internal Error" in page and "400 ms" in page and "1000 ms" in page  # lag vs SLO
    assert "Replay all" in page or "Replay 1 dead letter" in page
    dead_only = steward_web.get(f"/deliveries/?subscription={subscription.pk}&status=dead")
    assert "400 ms" not in dead_only.content.decode().split('data-testid="deliveries"')[1]
    assert steward_web.get("/deliveries/?subscription=99999").status_code == 404


def test_replay_puts_a_dead_delivery_back_to_pending(steward_web, dead, subscription):
    response = steward_web.post(f"/deliveries/{subscription.pk}/replay/",
                                {"delivery": [str(dead.pk)]}, follow=True)
    dead.refresh_from_db()
    assert dead.status == "pending" and dead.attempts == 0
    assert "1 dead letter is back in the queue of bi-main." in response.content.decode()
    assert actions("deliveries_replay") == [("steward1", "done")]
    again = steward_web.post(f"/deliveries/{subscription.pk}/replay/",
                             {"delivery": [str(dead.pk)]}, follow=True)
    assert "Nothing to replay" in again.content.decode()


def test_replay_all_and_bad_input(steward_web, dead, subscription):
    second = delivery(subscription, 3, "dead", attempts=8)
    assert b'class="error"' in steward_web.post(
        f"/deliveries/{subscription.pk}/replay/", {"delivery": ["not-a-uuid"]},
        follow=True).content
    assert b'class="error"' in steward_web.post(
        f"/deliveries/{subscription.pk}/replay/", {}, follow=True).content
    assert b'class="error"' in steward_web.post("/deliveries/424242/replay/", {"scope": "all"},
                                                follow=True).content
    steward_web.post(f"/deliveries/{subscription.pk}/replay/", {"scope": "all"})
    assert set(Delivery.objects.filter(pk__in=[dead.pk, second.pk])
               .values_list("status", flat=True)) == {"pending"}


def test_auditor_sees_deliveries_but_cannot_replay(auditor_web, dead, subscription):
    page = auditor_web.get(f"/deliveries/?subscription={subscription.pk}").content.decode()
    assert "HTTP 500 from receiver" in page and "Replay" not in page
    assert auditor_web.post(f"/deliveries/{subscription.pk}/replay/",
                            {"scope": "all"}).status_code == 403
    dead.refresh_from_db()
    assert dead.status == "dead"
    assert actions("deliveries_replay") == [("audrey", "refused")]


# --- notifications -----------------------------------------------------------------------

def test_notifications_unread_first_link_to_conflict_and_mark_read(steward_web, steward):
    conflict = Conflict.objects.create(kind="value_disagreement", domain="customer",
                                       attribute="email", severity="high", status="open")
    old = Notification.objects.create(user=steward, title="Old one", read_at=timezone.now())
    new = Notification.objects.create(user=steward, title="High conflict on email",
                                      conflict=conflict)
    other = Notification.objects.create(user=user_in("someone", DATA_STEWARD), title="Theirs")
    page = steward_web.get("/notifications/").content.decode()
    assert page.index("High conflict on email") < page.index("Old one")
    assert f'href="/conflicts/{conflict.pk}/"' in page and "Theirs" not in page
    assert 'class="badge">1<' in page
    steward_web.post("/notifications/read/", {"notification": [new.pk, other.pk]})
    new.refresh_from_db()
    other.refresh_from_db()
    assert new.read_at is not None and other.read_at is None
    assert old.read_at is not None
    assert actions("notifications_read") == [("steward1", "done")]


def test_mark_all_notifications_read(steward_web, steward):
    for n in range(3):
        Notification.objects.create(user=steward, title=f"n{n}")
    response = steward_web.post("/notifications/read/", {"all": "1"}, follow=True)
    assert "3 notifications marked as read." in response.content.decode()
    assert not Notification.objects.filter(user=steward, read_at__isnull=True).exists()
    assert b'class="badge"' not in response.content


# --- imports -----------------------------------------------------------------------------

def csv_file(text: str, name: str = "customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def upload(client, file, source="crm", domain="customer"):
    return client.post("/imports/upload/", {"source": source, "domain": domain, "file": file},
                       follow=True)


def test_an_upload_is_stored_queued_then_imported_with_a_summary(
        steward_web, crm, eager_tasks, django_capture_on_commit_callbacks):
    rows = ["C1,张伟,13800138000,1", "C2,李娜,13900139000,9", ",no key,13700137000,1",
            "C4,王芳,13600136000"]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(steward_web, csv_file(CSV_HEADER + "\n".join(rows) + "\n"))
    received = FeedUpload.objects.get()
    assert bytes(received.content).startswith(b"id,name")  # kept as received
    assert received.status == "done" and received.rows_total == received.rows_done == 4
    assert received.counts == {"created": 1, "quarantined": 1, "rejected": 2}
    assert received.batch.channel == "file" and received.batch.user.username == "steward1"
    page = steward_web.get(f"/imports/{received.pk}/progress/").content.decode()
    assert "hx-trigger" not in page  # finished: no more polling
    for text in ("1</strong> created", "1</strong> quarantined", "2</strong> rejected",
                 "line 4: no record key", "line 5: 3 fields, header has 4"):
        assert text in page, text
    assert "<td>3</td>" in page  # C2's problem, with its line number
    assert response.redirect_chain[-1][0] == f"/imports/{received.pk}/"
    assert actions("import_upload") == [("steward1", "done")]


def test_a_queued_upload_polls_its_progress(steward_web, crm):
    response = upload(steward_web, csv_file(CSV_HEADER + "C1,张伟,13800138000,1\n"))
    received = FeedUpload.objects.get()
    assert received.status == "queued"  # the worker has not run (no commit in this test)
    page = response.content.decode()
    assert 'hx-trigger="every 500ms"' in page and f"/imports/{received.pk}/progress/" in page
    assert "Waiting for a worker" in page


@pytest.mark.parametrize(("file", "form", "message"), [
    (lambda: csv_file(""), {}, "is empty"),
    (lambda: csv_file("   \n\n"), {}, "is empty"),
    (lambda: csv_file("a,b\n", "customers.xlsx"), {}, "is not a CSV or JSON Lines file"),
    (lambda: csv_file(CSV_HEADER + "C1,x,1,1\n"), {"source": "nope"}, "Choose a source system"),
    (lambda: csv_file(CSV_HEADER + "C1,x,1,1\n"), {"domain": "planet"}, "Choose a domain"),
    (lambda: None, {}, "Choose a file"),
    (lambda: csv_file("code,name\nC1,x\n"), {}, "has no column “id”"),
    (lambda: csv_file("id,id\n1,2\n"), {}, "bad header"),
    (lambda: csv_file("not json\n[1]\n", "customers.jsonl"), {}, "No readable record"),
])
def test_bad_uploads_are_answered_with_clear_messages(steward_web, crm, file, form, message):
    data = {"source": "crm", "domain": "customer", **form}
    if file() is not None:
        data["file"] = file()
    response = steward_web.post("/imports/upload/", data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert actions("import_upload") == [("steward1", "refused")]


def test_a_file_too_large_is_refused_before_it_is_read(steward_web, crm, monkeypatch):
    monkeypatch.setattr(source_services, "MAX_UPLOAD_BYTES", 10)
    response = upload(steward_web, csv_file(CSV_HEADER + "C1,张伟,13800138000,1\n"))
    assert "is larger than" in response.content.decode()
    assert not FeedUpload.objects.exists()


def test_an_unreadable_upload_is_kept_as_failed(steward_web, crm):
    upload(steward_web, csv_file("code,name\nC1,x\n"))
    kept = FeedUpload.objects.get()
    assert kept.status == "failed" and "no column" in kept.error
    assert bytes(kept.content) == b"code,name\nC1,x\n"


def test_auditor_sees_imports_without_the_form_and_may_not_upload(auditor_web, crm):
    page = auditor_web.get("/imports/").content.decode()
    assert "Recent ingest batches" in page and 'type="file"' not in page
    response = auditor_web.post("/imports/upload/", {"source": "crm", "domain": "customer",
                                                     "file": csv_file(CSV_HEADER)})
    assert response.status_code == 403
    assert not FeedUpload.objects.exists()
    assert actions("import_upload") == [("audrey", "refused")]


def test_imports_list_batches_of_the_day_the_dashboard_links(steward_web, crm, ingest):
    ingest(crm, ("C1", "customer", {"id": "C1", "name": "张伟", "status": "1"}))
    batch = IngestBatch.objects.get()
    today = timezone.localdate(batch.received_at)
    page = steward_web.get(f"/imports/?day={today.isoformat()}").content.decode()
    assert f"Ingest batches received on {today.isoformat()}" in page and "1 created" in page
    assert "No ingest batches." in steward_web.get("/imports/?day=2001-01-01").content.decode()
    assert "is not a date" in steward_web.get("/imports/?day=yesterday").content.decode()


def test_steward_may_not_upload_outside_their_domains(client, crm):
    user = user_in("pat", DATA_STEWARD)
    StewardScope.objects.create(user=user, domains=["product"])
    client.force_login(user)
    response = client.post("/imports/upload/", {"source": "crm", "domain": "customer",
                                                "file": csv_file(CSV_HEADER + "C1,x,1,1\n")})
    assert response.status_code == 404
    assert not FeedUpload.objects.exists()
