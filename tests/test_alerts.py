"""Conflict alerts: in-app notifications for stewards and approvers, and alert channels."""

from __future__ import annotations

import socket
import uuid
from contextlib import ExitStack
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from webhook_receiver import webhook_receiver

from mdm.core.http import HttpResponse
from mdm.core.roles import APPROVER, DATA_STEWARD
from mdm.golden.models import Contract
from mdm.stewardship import alerts
from mdm.stewardship.alerts import conflict_alert
from mdm.stewardship.models import (
    AlertChannel,
    ChangeRequest,
    Conflict,
    ConflictPolicy,
    Notification,
    StewardScope,
)
from mdm.stewardship.tasks import alert_conflicts

pytestmark = pytest.mark.django_db

CANDIDATES = [
    {"value": "120000.00", "source": "crm", "source_key": "C-1", "record": 11,
     "at": "2026-03-01T02:00:00+00:00"},
    {"value": "95000.00", "source": "erp", "source_key": "E-9", "record": 12,
     "at": "2026-03-02T03:30:00+00:00"},
]
TITLE = "High conflict: contract.amount of HT-2026-900001 needs review"


def _user(name: str, *groups: str, domains: list[str] | None = None,
          active: bool = True) -> User:
    user = User.objects.create_user(name, password="pw", is_active=active)
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    if domains is not None:
        StewardScope.objects.create(user=user, domains=domains)
    return user


@pytest.fixture
def contract() -> Contract:
    return Contract.objects.create(contract_number="HT-2026-900001", amount=Decimal("95000"))


def _conflict(contract: Contract | None = None, *, severity: str = "high",
              status: str = "open", domain: str = "contract", **fields: Any) -> Conflict:
    return Conflict.objects.create(
        kind="value_disagreement", domain=domain, attribute="amount", severity=severity,
        status=status, golden_id=contract.pk if contract else uuid.uuid4(),
        candidates=CANDIDATES, current_value="95000.00", **fields)


def _channel(name: str, fmt: str, url: str = "", **fields: Any) -> AlertChannel:
    return AlertChannel.objects.create(name=name, format=fmt, url=url, **fields)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def test_low_and_medium_conflicts_alert_nobody(contract: Contract, mailoutbox: list) -> None:
    _user("s1", DATA_STEWARD)
    _channel("mail", "email", emails=["ops@example.com"], min_severity="low")
    with webhook_receiver() as receiver:
        _channel("hook", "generic", receiver.url, min_severity="low")
        for severity in ("low", "medium"):
            report = conflict_alert(conflict_id=_conflict(contract, severity=severity).pk)
            assert report == alerts.AlertReport()
        assert receiver.received == []
    assert Notification.objects.count() == 0
    assert mailoutbox == []


def test_high_conflict_notifies_in_scope_stewards_once(contract: Contract) -> None:
    unscoped = _user("unscoped", DATA_STEWARD)
    empty_scope = _user("empty", DATA_STEWARD, domains=[])
    contract_scope = _user("contracts", DATA_STEWARD, domains=["customer", "contract"])
    _user("products", DATA_STEWARD, domains=["product"])
    _user("gone", DATA_STEWARD, active=False)
    _user("approver", APPROVER)  # not awaiting approval: approvers stay out of it
    _user("nobody")
    conflict = _conflict(contract)

    report = conflict_alert(conflict_id=conflict.pk)

    wanted = sorted([unscoped.pk, empty_scope.pk, contract_scope.pk])
    assert report.notified_user_ids == wanted
    notes = Notification.objects.filter(conflict=conflict)
    assert sorted(n.user_id for n in notes) == wanted
    note = notes[0]
    assert note.title == TITLE
    assert note.read_at is None
    # Every candidate with its source, key and time (in the hub's zone, Asia/Shanghai).
    assert "- 120000.00 from crm (C-1) at 2026-03-01 10:00:00" in note.body
    assert "- 95000.00 from erp (E-9) at 2026-03-02 11:30:00" in note.body
    assert "Current value: 95000.00" in note.body
    assert f"/admin/stewardship/conflict/{conflict.pk}/change/" in note.body

    again = conflict_alert(conflict_id=conflict.pk)
    assert again.notified_user_ids == []
    assert Notification.objects.filter(conflict=conflict).count() == 3

    late = _user("late", DATA_STEWARD)  # joins later: a re-run only adds the newcomer
    assert conflict_alert(conflict_id=conflict.pk).notified_user_ids == [late.pk]


def test_awaiting_approval_notifies_the_approver_group(contract: Contract) -> None:
    steward = _user("steward", DATA_STEWARD)
    finance = _user("finance", "finance_approvers")
    general = _user("general", APPROVER)
    both = _user("both", DATA_STEWARD, "finance_approvers")
    conflict = _conflict(contract, status="awaiting_approval")
    ChangeRequest.objects.create(conflict=conflict, domain="contract", golden_id=contract.pk,
                                 attribute="amount", current_value="95000.00",
                                 proposed_value="120000.00", approver_group="finance_approvers")

    report = conflict_alert(conflict_id=conflict.pk)

    assert report.notified_user_ids == sorted([steward.pk, finance.pk, both.pk])
    assert Notification.objects.filter(conflict=conflict, user=both).count() == 1
    assert not Notification.objects.filter(user=general).exists()
    assert Notification.objects.filter(conflict=conflict).first().title == (
        "High conflict: contract.amount of HT-2026-900001 needs approval")


def test_blank_approver_group_means_the_approver_role(contract: Contract) -> None:
    general = _user("general", APPROVER)
    conflict = _conflict(contract, status="awaiting_approval", severity="critical")
    ChangeRequest.objects.create(conflict=conflict, domain="contract", golden_id=contract.pk,
                                 attribute="amount", current_value=None, proposed_value="1")
    assert conflict_alert(conflict_id=conflict.pk).notified_user_ids == [general.pk]


def test_golden_id_is_the_label_when_the_record_is_missing() -> None:
    conflict = _conflict(None)
    _user("s1", DATA_STEWARD)
    conflict_alert(conflict_id=conflict.pk)
    assert Notification.objects.get().title == (
        f"High conflict: contract.amount of {conflict.golden_id} needs review")


def test_email_channel(contract: Contract, mailoutbox: list, settings: Any) -> None:
    settings.MDM_PUBLIC_URL = "https://mdm.example.com/"
    _channel("stewards mail", "email", emails=["a@example.com", "b@example.com"])
    conflict = _conflict(contract)

    report = conflict_alert(conflict_id=conflict.pk)

    assert report.channels_sent == ["stewards mail"]
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.subject == TITLE
    assert mail.to == ["a@example.com", "b@example.com"]
    assert "120000.00 from crm (C-1) at 2026-03-01 10:00:00" in mail.body
    assert "95000.00 from erp (E-9) at 2026-03-02 11:30:00" in mail.body
    assert (f"Open: https://mdm.example.com/admin/stewardship/conflict/{conflict.pk}/change/"
            in mail.body)


def test_webhook_channels_post_their_formats(contract: Contract, settings: Any) -> None:
    settings.MDM_PUBLIC_URL = "https://mdm.example.com"
    link = "https://mdm.example.com/admin/stewardship/conflict/{}/change/"
    with ExitStack() as stack:
        generic, ding, wecom = (stack.enter_context(webhook_receiver()) for _ in range(3))
        _channel("generic", "generic", generic.url)
        _channel("ding", "dingtalk", ding.url)
        _channel("wecom", "wecom", wecom.url, domains=["contract"], min_severity="medium")
        conflict = _conflict(contract)

        report = conflict_alert(conflict_id=conflict.pk)

        assert report.channels_sent == ["generic", "ding", "wecom"]
        assert report.channels_failed == []
        [g], [d], [w] = generic.wait_for(1), ding.wait_for(1), wecom.wait_for(1)

    assert g.headers["Content-Type"] == "application/json"
    assert g.json == {
        "type": "mdm.conflict", "conflict_id": conflict.pk, "severity": "high",
        "kind": "value_disagreement", "domain": "contract", "attribute": "amount",
        "golden_id": str(contract.pk), "status": "open", "title": TITLE,
        "candidates": CANDIDATES, "link": link.format(conflict.pk),
    }

    assert set(d.json) == {"msgtype", "markdown"}
    assert d.json["msgtype"] == "markdown"
    assert set(d.json["markdown"]) == {"title", "text"}
    assert d.json["markdown"]["title"] == TITLE
    text = d.json["markdown"]["text"]
    assert text.startswith(f"#### {TITLE}\n")
    assert "\n- 120000.00 from crm (C-1) at 2026-03-01 10:00:00\n" in text
    assert "\n- 95000.00 from erp (E-9) at 2026-03-02 11:30:00\n" in text
    assert f"[Open in MDM]({link.format(conflict.pk)})" in text

    assert set(w.json) == {"msgtype", "markdown"}
    assert w.json["msgtype"] == "markdown"
    assert set(w.json["markdown"]) == {"content"}
    content = w.json["markdown"]["content"]
    assert content.startswith(f"### {TITLE}\n")
    assert '> Severity: <font color="warning">High</font>' in content
    assert "> 120000.00 from crm (C-1) at 2026-03-01 10:00:00" in content
    assert "> 95000.00 from erp (E-9) at 2026-03-02 11:30:00" in content
    assert f"[Open in MDM]({link.format(conflict.pk)})" in content


def test_failing_channels_are_reported_and_do_not_stop_others(
        contract: Contract, mailoutbox: list, caplog: pytest.LogCaptureFixture) -> None:
    with webhook_receiver() as good, webhook_receiver() as broken:
        broken.script = [500]
        _channel("closed port", "dingtalk", _closed_port_url())
        _channel("server error", "generic", broken.url)
        _channel("no url", "wecom")
        _channel("good", "generic", good.url)
        _channel("mail", "email", emails=["ops@example.com"])
        _user("s1", DATA_STEWARD)

        report = conflict_alert(conflict_id=_conflict(contract).pk)

        good.wait_for(1)
        assert len(broken.received) == 1

    assert report.channels_sent == ["good", "mail"]
    failed = dict(report.channels_failed)
    assert list(failed) == ["closed port", "server error", "no url"]
    assert failed["closed port"].startswith("connection failed")
    assert failed["server error"].startswith("HTTP 500")
    assert failed["no url"] == "no URL configured"
    assert len(report.notified_user_ids) == 1
    assert len(mailoutbox) == 1
    assert "alert channel 'closed port' failed" in caplog.text


def test_robot_refusal_with_errcode_is_a_failure(contract: Contract,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    refusal = b'{"errcode":310000,"errmsg":"keywords not in content"}'
    monkeypatch.setattr(alerts, "request",
                        lambda *a, **k: HttpResponse(200, {}, refusal, "http://robot"))
    _channel("ding", "dingtalk", "http://robot.example/send")
    report = conflict_alert(conflict_id=_conflict(contract).pk)
    assert report.channels_failed == [
        ("ding", "robot errcode 310000: keywords not in content")]


def test_inactive_other_domain_and_higher_threshold_channels_are_skipped(
        contract: Contract) -> None:
    with webhook_receiver() as receiver:
        _channel("inactive", "generic", receiver.url, is_active=False)
        _channel("products only", "generic", receiver.url, domains=["product"])
        _channel("critical only", "generic", receiver.url, min_severity="critical")
        _channel("contracts", "generic", receiver.url, domains=["customer", "contract"])

        high = conflict_alert(conflict_id=_conflict(contract).pk)
        critical = conflict_alert(conflict_id=_conflict(contract, severity="critical").pk)

        receiver.wait_for(3)
    assert high.channels_sent == ["contracts"]
    assert critical.channels_sent == ["critical only", "contracts"]
    assert len(receiver.received) == 3
    assert [r.json["severity"] for r in receiver.received] == ["high", "critical", "critical"]


def test_wecom_content_stays_within_4096_bytes(contract: Contract) -> None:
    many = [{"value": "长" * 150, "source": f"src{i}", "source_key": f"K-{i}",
             "at": "2026-03-01T02:00:00+00:00"} for i in range(30)]
    conflict = _conflict(contract)
    conflict.candidates = many
    conflict.save()
    alert = alerts._render(conflict)
    content = alerts.wecom_payload(alert)["markdown"]["content"]
    assert len(content.encode()) <= alerts.WECOM_MAX_BYTES
    assert "more" in content
    assert content.endswith("— MDM hub")


def test_task_runs_the_service(contract: Contract) -> None:
    steward = _user("s1", DATA_STEWARD)
    conflict = _conflict(contract)
    result = alert_conflicts.apply(args=[[conflict.pk]]).get()
    assert result == [{"notified_user_ids": [steward.pk], "channels_sent": [],
                       "channels_failed": []}]
    assert alert_conflicts.name == "mdm.stewardship.tasks.alert_conflicts"


def test_missing_conflict_is_a_no_op() -> None:
    assert conflict_alert(conflict_id=987654) == alerts.AlertReport()


def test_one_batch_of_bad_records_raises_one_alert(make_source, ingest, monkeypatch,
                                                   django_capture_on_commit_callbacks) -> None:
    ConflictPolicy.objects.create(name="bad customer input is urgent", domain="customer",
                                  kind="validation_failure", severity="high")
    alerted: list[list[int]] = []
    monkeypatch.setattr(alert_conflicts, "delay", alerted.append)
    crm = make_source("crm", mappings={"customer": [("name", "name"), ("phone", "phones")]})
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest(crm, *[(f"C{n}", "customer", {"name": f"客户{n}", "phone": "no phone"})
                               for n in range(3)])
    assert result.counts == {"quarantined": 3}
    assert list(Conflict.objects.values_list("severity", flat=True)) == ["high"] * 3
    assert len(alerted) == 1 and len(alerted[0]) == 3
