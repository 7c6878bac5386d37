"""Alerts about new high and critical conflicts: the in-app inbox and outside channels.

``conflict_alert`` notifies every steward whose scope covers the conflict's domain (and,
for a change awaiting approval, the approvers) once, then sends the alert to each
matching ``AlertChannel``: email, a generic JSON webhook, or a DingTalk / WeCom group robot
(markdown messages). A failing channel is logged and reported; the others still get theirs.

Robot message formats (group robot webhooks, POST JSON, answer ``{"errcode": 0, ...}``):

* DingTalk custom robot: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``
  (open.dingtalk.com/document/robots/custom-robot-access, "message types");
* WeCom group robot: ``{"msgtype": "markdown", "markdown": {"content"}}``, content at most
  4096 bytes, colours only via ``<font color="info|comment|warning">``, no lists
  (developer.work.weixin.qq.com/document/path/91770).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from mdm.core.http import HttpError, HttpResponse, request
from mdm.core.roles import APPROVER, DATA_STEWARD
from mdm.golden.schema import golden_model
from mdm.stewardship.models import (
    AlertChannel,
    ChangeRequest,
    Conflict,
    Notification,
    Severity,
    StewardScope,
)

logger = logging.getLogger(__name__)

SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
ALERT_MIN_SEVERITY = Severity.HIGH
WECOM_MAX_BYTES = 4096
ROBOT_MAX_CANDIDATES = 20
VALUE_MAX_CHARS = 200
TITLE_MAX_CHARS = 300
HTTP_TIMEOUT_S = 10.0

_OUTCOME = {
    Conflict.Status.OPEN: "needs review",
    Conflict.Status.AWAITING_APPROVAL: "needs approval",
    Conflict.Status.RESOLVED: "was resolved",
    Conflict.Status.AUTO_RESOLVED: "was resolved by survivorship",
}


@dataclass
class AlertReport:
    """What one alert run did: users newly notified in-app, channels sent and failed."""

    notified_user_ids: list[int] = field(default_factory=list)
    channels_sent: list[str] = field(default_factory=list)
    channels_failed: list[tuple[str, str]] = field(default_factory=list)  # (name, error)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Alert:
    """The conflict rendered once for every channel."""

    conflict: Conflict
    label: str
    title: str
    link: str
    candidates: list[dict[str, Any]]


def conflict_alert(*, conflict_id: int) -> AlertReport:
    """Notify the people and channels that must know about a high or critical conflict.

    Lower severities do nothing. Each user is notified at most once per conflict, so
    running twice (a retried task) adds no duplicate in-app notifications.
    """
    report = AlertReport()
    conflict = Conflict.objects.filter(pk=conflict_id).first()
    if conflict is None:
        logger.info("conflict %s no longer exists; no alert", conflict_id)
        return report
    if _rank(conflict.severity) < _rank(ALERT_MIN_SEVERITY):
        return report
    alert = _render(conflict)
    report.notified_user_ids = _notify_users(alert)
    for channel in _channels_for(conflict):
        error = _send(channel, alert)
        if error:
            logger.warning("alert channel %r failed for conflict %s: %s", channel.name,
                           conflict.pk, error)
            report.channels_failed.append((channel.name, error))
        else:
            report.channels_sent.append(channel.name)
    logger.info("conflict %s alert: %d users notified, %d channels sent, %d failed",
                conflict.pk, len(report.notified_user_ids), len(report.channels_sent),
                len(report.channels_failed))
    return report


def conflict_alert_recipients(conflict: Conflict) -> list[int]:
    """Ids of the users who should see the conflict in-app: active data stewards whose
    scope covers its domain and, while it awaits approval, the approver group's members."""
    users = get_user_model().objects.filter(is_active=True)
    stewards = list(users.filter(groups__name=DATA_STEWARD).values_list("pk", flat=True)
                    .distinct())
    scopes = dict(StewardScope.objects.filter(user_id__in=stewards)
                  .values_list("user_id", "domains"))
    wanted = [pk for pk in stewards if _covers(scopes.get(pk), conflict.domain)]
    change_request = _change_request(conflict)
    if change_request is not None:
        group = change_request.approver_group or APPROVER
        wanted += users.filter(groups__name=group).values_list("pk", flat=True).distinct()
    return sorted(set(wanted))


def conflict_link(conflict: Conflict) -> str:
    """Where a human opens the conflict (absolute when ``MDM_PUBLIC_URL`` is set)."""
    base = str(getattr(settings, "MDM_PUBLIC_URL", "") or "").rstrip("/")
    return f"{base}/admin/stewardship/conflict/{conflict.pk}/change/"


# --- in-app -------------------------------------------------------------------------------


def _notify_users(alert: _Alert) -> list[int]:
    conflict = alert.conflict
    recipients = conflict_alert_recipients(conflict)
    if not recipients:
        return []
    body = _plain_body(alert)
    with transaction.atomic():
        # Lock the conflict row so two concurrent runs cannot both notify the same user.
        Conflict.objects.select_for_update().filter(pk=conflict.pk).first()
        already = set(Notification.objects.filter(conflict=conflict, user_id__in=recipients)
                      .values_list("user_id", flat=True))
        new = [pk for pk in recipients if pk not in already]
        Notification.objects.bulk_create(
            [Notification(user_id=pk, conflict=conflict, title=alert.title, body=body)
             for pk in new])
    return new


def _change_request(conflict: Conflict) -> ChangeRequest | None:
    if conflict.status != Conflict.Status.AWAITING_APPROVAL:
        return None
    return ChangeRequest.objects.filter(conflict=conflict).first()


def _covers(domains: list[str] | None, domain: str) -> bool:
    """No scope row or an empty list: every domain."""
    return not domains or domain in domains


# --- channels -----------------------------------------------------------------------------


def _channels_for(conflict: Conflict) -> list[AlertChannel]:
    rank = _rank(conflict.severity)
    return [channel for channel in AlertChannel.objects.filter(is_active=True).order_by("id")
            if _covers(channel.domains, conflict.domain) and _rank(channel.min_severity) <= rank]


def _send(channel: AlertChannel, alert: _Alert) -> str:
    """Send the alert to one channel; the error ("" when it went through). Never raises."""
    try:
        if channel.format == AlertChannel.Format.EMAIL:
            return _send_email(channel, alert)
        if channel.format == AlertChannel.Format.GENERIC:
            return _post(channel, generic_payload(alert))
        if channel.format == AlertChannel.Format.DINGTALK:
            return _post(channel, dingtalk_payload(alert), robot=True)
        if channel.format == AlertChannel.Format.WECOM:
            return _post(channel, wecom_payload(alert), robot=True)
        return f"unknown channel format {channel.format!r}"
    except Exception as exc:  # a broken channel must not stop the others
        logger.exception("alert channel %r raised", channel.name)
        return f"{type(exc).__name__}: {exc}"


def _send_email(channel: AlertChannel, alert: _Alert) -> str:
    recipients = [address for address in (channel.emails or []) if address]
    if not recipients:
        return "no email addresses configured"
    send_mail(alert.title, _plain_body(alert), None, recipients, fail_silently=False)
    return ""


def _post(channel: AlertChannel, payload: dict[str, Any], *, robot: bool = False) -> str:
    if not channel.url:
        return "no URL configured"
    try:
        response = request("POST", channel.url, json_body=payload, timeout=HTTP_TIMEOUT_S,
                           max_body_bytes=100_000)
    except HttpError as exc:
        return exc.reason  # never str(exc): robot URLs carry their access token
    if response.status >= 400:
        return f"HTTP {response.status}: {response.text()[:200]}"
    return _robot_error(response) if robot else ""


def _robot_error(response: HttpResponse) -> str:
    """DingTalk and WeCom answer 200 with ``{"errcode": non-zero, "errmsg": ...}`` when they
    refuse a message (bad token, missing keyword, rate limit)."""
    try:
        answer = response.json()
    except ValueError:
        return ""
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        return f"robot errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"[:300]
    return ""


# --- rendering ----------------------------------------------------------------------------


def generic_payload(alert: _Alert) -> dict[str, Any]:
    conflict = alert.conflict
    return {
        "type": "mdm.conflict",
        "conflict_id": conflict.pk,
        "severity": conflict.severity,
        "kind": conflict.kind,
        "domain": conflict.domain,
        "attribute": conflict.attribute,
        "golden_id": str(conflict.golden_id) if conflict.golden_id else None,
        "status": conflict.status,
        "title": alert.title,
        "candidates": alert.candidates,
        "link": alert.link,
    }


def dingtalk_payload(alert: _Alert) -> dict[str, Any]:
    """DingTalk custom robot markdown: ``#### title``, then ``- item`` lines."""
    conflict = alert.conflict
    lines = [f"#### {alert.title}", "",
             f"**{conflict.get_severity_display()}** · {conflict.get_kind_display()} · "
             f"{conflict.get_status_display()}", ""]
    if conflict.current_value is not None:
        lines += [f"Current value: {_value(conflict.current_value)}", ""]
    shown = alert.candidates[:ROBOT_MAX_CANDIDATES]
    lines += [f"- {_candidate_line(c)}" for c in shown]
    if len(alert.candidates) > len(shown):
        lines.append(f"- … and {len(alert.candidates) - len(shown)} more")
    lines += ["", _md_link(alert.link), "", "— MDM hub"]
    return {"msgtype": "markdown",
            "markdown": {"title": alert.title, "text": "\n".join(lines)}}


def wecom_payload(alert: _Alert) -> dict[str, Any]:
    """WeCom group robot markdown (no lists): quoted lines, ``<font color>`` for emphasis,
    cut to the 4096-byte limit."""
    conflict = alert.conflict
    head = [f"### {alert.title}",
            f'> Severity: <font color="warning">{conflict.get_severity_display()}</font>',
            f'> Kind: <font color="comment">{conflict.get_kind_display()}</font>',
            f'> Status: <font color="comment">{conflict.get_status_display()}</font>']
    if conflict.current_value is not None:
        head.append(f"> Current value: {_value(conflict.current_value)}")
    tail = [_md_link(alert.link), "— MDM hub"]
    lines = list(head)
    for index, candidate in enumerate(alert.candidates[:ROBOT_MAX_CANDIDATES]):
        line = f"> {_candidate_line(candidate)}"
        more = f"> … and {len(alert.candidates) - index} more"
        if _bytes([*lines, line, more, *tail]) > WECOM_MAX_BYTES:
            lines.append(more)
            break
        lines.append(line)
    else:
        if len(alert.candidates) > ROBOT_MAX_CANDIDATES:
            lines.append(f"> … and {len(alert.candidates) - ROBOT_MAX_CANDIDATES} more")
    content = "\n".join([*lines, *tail])
    if len(content.encode()) > WECOM_MAX_BYTES:  # only an absurdly long title gets here
        content = content.encode()[:WECOM_MAX_BYTES].decode(errors="ignore")
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _render(conflict: Conflict) -> _Alert:
    label = _golden_label(conflict)
    what = f"{conflict.domain}.{conflict.attribute}" if conflict.attribute else conflict.domain
    if label:
        what += f" of {label}"
    outcome = _OUTCOME.get(conflict.status, conflict.status)
    title = f"{conflict.get_severity_display()} conflict: {what} {outcome}"
    candidates = [c for c in (conflict.candidates or []) if isinstance(c, dict)]
    return _Alert(conflict=conflict, label=label, title=_one_line(title, TITLE_MAX_CHARS),
                  link=conflict_link(conflict), candidates=candidates)


def _golden_label(conflict: Conflict) -> str:
    """The golden record's label (e.g. a contract number), else its id, else ""."""
    if not conflict.golden_id:
        return ""
    try:
        record = golden_model(conflict.domain).objects.filter(pk=conflict.golden_id).first()
    except KeyError:
        record = None
    return _one_line(str(record), 120) if record is not None else str(conflict.golden_id)


def _plain_body(alert: _Alert) -> str:
    conflict = alert.conflict
    lines = [alert.title, "",
             f"Severity: {conflict.get_severity_display()}",
             f"Kind: {conflict.get_kind_display()}",
             f"Domain: {conflict.domain}"]
    if conflict.attribute:
        lines.append(f"Attribute: {conflict.attribute}")
    if conflict.golden_id:
        lines.append(f"Golden record: {alert.label} ({conflict.golden_id})")
    lines.append(f"Status: {conflict.get_status_display()}")
    if conflict.current_value is not None:
        lines.append(f"Current value: {_value(conflict.current_value)}")
    lines += ["", "Candidate values:"]
    lines += [f"- {_candidate_line(c)}" for c in alert.candidates] or ["- (none)"]
    if conflict.detail:
        lines += ["", conflict.detail]
    lines += ["", f"Open: {alert.link}"]
    return "\n".join(lines)


def _candidate_line(candidate: dict[str, Any]) -> str:
    source = _one_line(str(candidate.get("source") or "?"), 60)
    key = candidate.get("source_key")
    origin = f"{source} ({_one_line(str(key), 80)})" if key not in (None, "") else source
    at = _when(candidate.get("at"))
    return f"{_value(candidate.get('value'))} from {origin}" + (f" at {at}" if at else "")


def _value(value: Any) -> str:
    if value is None:
        return "(empty)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _one_line(text, VALUE_MAX_CHARS)


def _when(value: Any) -> str:
    """An ISO timestamp shown in the hub's time zone; anything else as it is."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return _one_line(str(value), 40)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _md_link(link: str) -> str:
    return f"[Open in MDM]({link})" if link.startswith(("http://", "https://")) \
        else f"Open in MDM: {link}"


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bytes(lines: list[str]) -> int:
    return len("\n".join(lines).encode())


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, -1)
