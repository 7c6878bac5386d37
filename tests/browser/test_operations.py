"""Operations pages in the browser: a steward uploads a feed file and watches a real Celery
worker import it (progress bar, then the summary with counts and line-numbered problems);
quarantine re-processing; replaying a dead letter; notifications."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect
from process_helpers import celery_client, celery_worker, database_url, redis_server

from mdm.core.locks import _LOCK_IDS
from mdm.core.roles import AUDITOR, DATA_STEWARD
from mdm.publishing.models import ChangeEvent, Delivery, Subscription
from mdm.sources.models import FeedUpload, FieldMapping, SourceRecord, SourceSystem, ValueMap
from mdm.sources.services import IncomingRecord, source_records_ingest
from mdm.stewardship.models import Notification

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

HEADER = "id,name,mobile,status"
ROWS = re.compile(r"(\d+) of 100 rows")
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇"]


def crm_source() -> SourceSystem:
    source = SourceSystem.objects.create(code="crm", name="CRM",
                                         record_key_fields={"customer": "id"})
    for field, attribute in (("name", "name"), ("mobile", "phones"), ("status", "status")):
        FieldMapping.objects.create(source=source, domain="customer", source_field=field,
                                    attribute=attribute)
    ValueMap.objects.create(source=source, domain="customer", attribute="status",
                            source_value="1", canonical_value="active")
    return source


def feed_of_100() -> tuple[str, dict[str, list[int]]]:
    """100 data rows: 90 good, 4 with an unknown status code (quarantined), 3 without a
    key and 3 with a missing column (rejected). Returns the text and the bad lines."""
    lines, bad = [HEADER], {"quarantined": [], "rejected": []}
    for n in range(1, 101):
        line = n + 1  # the header is line 1
        name = SURNAMES[n % 10] + GIVEN[(n // 10) % 10] + GIVEN[n % 7]
        phone = f"139{n:08d}"
        if n % 25 == 0:
            lines.append(f"C{n},{name},{phone},9")
            bad["quarantined"].append(line)
        elif n in (7, 47, 77):
            lines.append(f",{name},{phone},1")
            bad["rejected"].append(line)
        elif n in (13, 53, 93):
            lines.append(f"C{n},{name}")
            bad["rejected"].append(line)
        else:
            lines.append(f"C{n},{name},{phone},1")
    return "\n".join(lines) + "\n", bad


class HeldLock:
    """A domain's write lock held from a connection of its own, to pause the importer
    between chunks (each chunk's transaction takes the lock)."""

    def __init__(self, domain: str) -> None:
        self.key = _LOCK_IDS[domain]
        self.conn = psycopg2.connect(database_url())

    def take(self) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [self.key])

    def let_one_through(self) -> None:
        """Release, and queue for the lock again at once: the waiting chunk runs first."""
        self.conn.commit()
        self.take()

    def release(self) -> None:
        self.conn.commit()


@contextmanager
def held_write_lock(domain: str) -> Iterator[HeldLock]:
    lock = HeldLock(domain)
    try:
        lock.take()
        yield lock
    finally:
        lock.conn.commit()
        lock.conn.close()


@pytest.fixture
def postgresql_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the worker needs a database shared across processes (PostgreSQL)")


def test_a_steward_uploads_a_feed_and_watches_a_worker_import_it(
        user_with_roles, open_as, tmp_path, postgresql_only):
    crm_source()
    text, bad = feed_of_100()
    steward = user_with_roles("ana", DATA_STEWARD)
    with redis_server(tmp_path) as broker, celery_client(broker.url()):
        page = open_as(steward)
        page.locator("nav.main").get_by_role("link", name="Import").click()
        page.get_by_label("Source system").select_option("crm")
        page.get_by_label("Domain").select_option("customer")
        page.get_by_label("File").set_input_files(
            files=[{"name": "crm-customers.csv", "mimeType": "text/csv",
                    "buffer": text.encode()}])
        page.get_by_test_id("upload").click()

        # No worker runs yet: the file is stored and waits in the queue, the page polls.
        expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
        progress = page.get_by_test_id("import-progress")
        expect(progress).to_have_attribute("data-status", "queued")
        expect(page.get_by_role("progressbar")).to_be_visible()
        expect(progress).to_contain_text("Waiting for a worker")
        page.screenshot(path=SCREENSHOTS / "operations-import-queued.png", full_page=True)
        assert FeedUpload.objects.get().size == len(text.encode())

        seen: list[str] = []
        page.on("response", lambda r: seen.append(r.text()) if "/progress/" in r.url else None)
        rows = page.get_by_test_id("import-rows")
        with held_write_lock("customer") as lock, celery_worker(tmp_path, broker.url()):
            # The worker counted the rows and waits for the customer write lock we hold.
            expect(progress).to_have_attribute("data-status", "running", timeout=60_000)
            # only the two rows rejected before the first chunk was full are done
            expect(rows).to_have_text(re.compile(r"^[0-2] of 100 rows$"))
            lock.let_one_through()  # the first chunk (20 records) commits, then it waits
            expect(rows).to_have_text("22 of 100 rows")
            expect(page.get_by_role("progressbar")).not_to_have_attribute("aria-valuenow", "0")
            page.screenshot(path=SCREENSHOTS / "operations-import-running.png", full_page=True)
            lock.release()
            summary = page.get_by_test_id("import-summary")
            expect(summary).to_be_visible(timeout=90_000)
            polled = len(seen)
            time.sleep(1.2)  # finished: the fragment no longer asks to be polled
            assert len(seen) == polled

    expect(progress).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("import-rows")).to_have_text("100 of 100 rows")
    expect(page.get_by_test_id("count-created")).to_have_text("90 created")
    expect(page.get_by_test_id("count-quarantined")).to_have_text("4 quarantined")
    expect(page.get_by_test_id("count-rejected")).to_have_text("6 rejected")
    problems = page.get_by_test_id("import-problems")
    lines = [int(t) for t in problems.locator("tbody tr td:first-child").all_inner_texts()]
    assert lines == sorted(bad["quarantined"] + bad["rejected"])
    for line in bad["quarantined"] + bad["rejected"]:
        expect(problems.locator("tr", has=page.locator(f"td:text-is('{line}')"))).to_have_count(1)
    expect(problems).to_contain_text("line 8: no record key in field 'id'")
    expect(problems).to_contain_text("line 14: 2 fields, header has 4")
    expect(problems).to_contain_text("status")
    running = [body for body in seen if 'data-status="running"' in body]
    rows_seen = [m.group(1) for body in seen if (m := ROWS.search(body))]
    print(f"\nprogress fragments polled: {len(seen)}, of which while running: {len(running)}; "
          f"rows done seen: {rows_seen}")
    assert SourceRecord.objects.filter(status="active").count() == 90
    page.screenshot(path=SCREENSHOTS / "operations-import-summary.png", full_page=True)
    page.get_by_role("link", name="See the quarantined records").click()
    expect(page.get_by_test_id("quarantined-C25")).to_be_visible()
    page.locator("nav.main").get_by_role("link", name="Import").click()
    expect(page.get_by_test_id("uploads")).to_contain_text("crm-customers.csv")
    expect(page.get_by_test_id("batches")).to_contain_text("90 created")


def test_a_steward_fixes_a_value_map_and_reprocesses_from_quarantine(user_with_roles,
                                                                     open_as):
    crm = crm_source()
    source_records_ingest(source=crm, records=[
        IncomingRecord("C1", "customer", {"id": "C1", "name": "张伟", "status": "9"}),
        IncomingRecord("C2", "customer", {"id": "C2", "name": "李娜", "status": "9"})])
    page = open_as(user_with_roles("ana", DATA_STEWARD))
    page.locator("nav.main").get_by_role("link", name="Quarantine").click()
    row = page.get_by_test_id("quarantined-C1")
    expect(row).to_contain_text("status")
    row.locator("summary").click()
    expect(row.locator("pre.payload")).to_contain_text("张伟")
    ValueMap.objects.create(source=crm, domain="customer", attribute="status",
                            source_value="9", canonical_value="inactive")
    page.get_by_label("Select C1").check()
    page.get_by_test_id("reprocess").click()
    expect(page.locator(".messages")).to_contain_text("Re-processed 1 record: 1 updated.")
    expect(page.get_by_test_id("quarantined-C1")).to_have_count(0)
    expect(page.get_by_test_id("quarantined-C2")).to_be_visible()


def test_a_dead_letter_is_replayed_and_an_auditor_sees_no_buttons(user_with_roles, open_as):
    bi = SourceSystem.objects.create(code="bi", name="BI", is_source=False,
                                     is_subscriber=True)
    subscription = Subscription.objects.create(subscriber=bi, name="bi-main",
                                               domains=["customer"], mode="manual",
                                               url="http://127.0.0.1:9/hooks")
    golden = uuid.uuid4()
    event = ChangeEvent.objects.create(type="customer.updated", domain="customer",
                                       golden_id=golden, version=1)
    Delivery.objects.create(subscription=subscription, event=event, seq=event.seq,
                            golden_id=golden, payload={}, status="dead", attempts=8,
                            last_error="HTTP 503", created_at=timezone.now())
    auditor = open_as(user_with_roles("audrey", AUDITOR))
    auditor.goto(f"/deliveries/?subscription={subscription.pk}&status=dead")
    expect(auditor.get_by_test_id("deliveries")).to_contain_text("HTTP 503")
    expect(auditor.get_by_role("button", name=re.compile("Replay"))).to_have_count(0)

    page = open_as(user_with_roles("ana", DATA_STEWARD))
    page.goto(f"/deliveries/?subscription={subscription.pk}&status=dead")
    page.get_by_label(f"Select delivery {event.seq}").check()
    page.get_by_test_id("replay-selected").click()
    expect(page.locator(".messages")).to_contain_text("1 dead letter is back in the queue")
    expect(page.get_by_test_id("deliveries-empty")).to_be_visible()
    assert Delivery.objects.get().status == "pending"


def test_notifications_are_marked_read(user_with_roles, open_as):
    ana = user_with_roles("ana", DATA_STEWARD)
    first = Notification.objects.create(user=ana, title="Critical conflict on phones")
    Notification.objects.create(user=ana, title="High conflict on email")
    page = open_as(ana)
    expect(page.locator("nav.main .badge")).to_have_text("2")
    page.get_by_role("link", name=re.compile("Notifications")).click()
    page.get_by_test_id(f"mark-read-{first.pk}").click()
    expect(page.locator("nav.main .badge")).to_have_text("1")
    expect(page.get_by_test_id(f"notification-{first.pk}")).to_have_class("read")
    page.get_by_test_id("mark-all-read").click()
    expect(page.locator("nav.main .badge")).to_have_count(0)
