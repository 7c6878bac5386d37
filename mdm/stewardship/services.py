"""Writes of the stewardship stage: conflicts, approvals and their decisions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from mdm.core.errors import Conflict as ConflictError
from mdm.core.errors import Forbidden, ValidationFailed
from mdm.core.roles import APPROVER
from mdm.golden.survivorship import is_empty
from mdm.sources.selectors import LinkedRecord
from mdm.stewardship.models import (
    ChangeRequest,
    Conflict,
    ConflictKind,
    ConflictPolicy,
    Decision,
    Notification,
    Severity,
)

ALERT_SEVERITIES = (Severity.HIGH, Severity.CRITICAL)


@dataclass
class ProposedChange:
    """Survivorship wants to change a golden record from ``before`` to ``after``."""

    golden_id: uuid.UUID
    before: dict[str, Any]
    after: dict[str, Any]
    held: dict[str, Any] = field(default_factory=dict)
    records: list[LinkedRecord] = field(default_factory=list)
    pinned: set[str] = field(default_factory=set)
    lineage_before: dict[str, Any] = field(default_factory=dict)
    lineage_after: dict[str, Any] = field(default_factory=dict)
    joined: set[int] = field(default_factory=set)  # records linked just now


def conflicts_from_changes(*, domain: str, proposals: list[ProposedChange],
                           origin_source: str = "") -> dict[uuid.UUID, dict[str, Any]]:
    """Apply the conflict policies to proposed golden changes.

    Returns, per golden id, the attributes to hold at their current value: a change that
    needs approval (a ``ChangeRequest`` is opened) or is blocked. Changes a policy
    resolves by survivorship are recorded as auto-resolved conflicts. Attributes already
    held stay held; their pending change request follows the latest proposed value.
    Pinned values are a steward's decision and approved values were accepted: neither is
    questioned again.
    """
    policies = _policies(domain, ConflictKind.VALUE_DISAGREEMENT)
    holds: dict[uuid.UUID, dict[str, Any]] = {}
    alerts: list[Conflict] = []
    for proposal in proposals:
        held = dict(proposal.held)
        for attribute, after in proposal.after.items():
            before = proposal.before.get(attribute)
            if attribute in proposal.pinned:
                held.pop(attribute, None)  # the steward's pinned value ends any hold
                continue
            entry = held.get(attribute)
            if entry is not None and "accepted" in entry:
                del held[attribute]
                if after == entry["accepted"]:
                    continue
            elif entry is not None:
                _follow(entry, after)
                continue
            if before != after:
                alerts += _concurrent_sources(domain, proposal, attribute)
            policy = _matching_policy(policies, attribute, before, after) if policies else None
            if policy is not None:
                conflict, hold = _open(domain, proposal, attribute, policy, origin_source)
                alerts.append(conflict)
                if hold:
                    held[attribute] = hold
        if held:
            holds[proposal.golden_id] = held
    _alert_on_commit(alerts)
    return holds


def _concurrent_sources(domain: str, proposal: ProposedChange,
                        attribute: str) -> list[Conflict]:
    """Two sources changing one attribute within ``MDM_CONCURRENT_WRITE_WINDOW_S`` of each
    other (by their own business times) is a concurrent write a steward should see; a
    record joining the golden record just now brings its value for the first time, which
    is no such write. The conflict recorded, if any (its alert is the caller's)."""
    window = settings.MDM_CONCURRENT_WRITE_WINDOW_S
    old = proposal.lineage_before.get(attribute) or {}
    new = proposal.lineage_after.get(attribute) or {}
    if not window or not old.get("source") or old.get("source") == new.get("source") \
            or new.get("record") in proposal.joined:
        return []
    times = {r.id: r.business_time for r in proposal.records}
    old_at, new_at = times.get(old.get("record")), times.get(new.get("record"))
    if not (old_at and new_at and abs((new_at - old_at).total_seconds()) <= window):
        return []
    return [_conflict_create(kind=ConflictKind.CONCURRENT_WRITE, domain=domain,
                             attribute=attribute, golden_id=proposal.golden_id,
                             candidates_=candidates(proposal.records, attribute),
                             current_value=proposal.before.get(attribute),
                             detail=f"{old['source']} and {new['source']} changed {attribute} "
                                    f"within {window:g} s of each other")]


def _policies(domain: str, kind: str) -> list[ConflictPolicy]:
    policies = list(ConflictPolicy.objects.filter(domain=domain, kind=kind, is_active=True))
    # the most specific first: an attribute's own policies before the domain-wide ones
    return sorted(policies, key=lambda p: (p.attribute == "", p.id))


def _matching_policy(policies: list[ConflictPolicy], attribute: str, before: Any,
                     after: Any) -> ConflictPolicy | None:
    if is_empty(before) or before == after:
        return None  # a first value is not a disagreement
    for policy in policies:
        if policy.attribute in ("", attribute) and condition_holds(policy, before, after):
            return policy
    return None


def condition_holds(policy: ConflictPolicy, before: Any, after: Any) -> bool:
    """Whether a change from ``before`` to ``after`` meets the policy's condition."""
    params = policy.params or {}
    if policy.condition == ConflictPolicy.Condition.ANY:
        return True
    if policy.condition == ConflictPolicy.Condition.VALUE_IN:
        return after in (params.get("values") or [])
    old, new = _number(before), _number(after)
    if old is None or new is None:
        return False
    if policy.condition == ConflictPolicy.Condition.RELATIVE:
        if old == 0:
            return new != 0
        return abs(new - old) / abs(old) * 100 > Decimal(str(params.get("percent", 0)))
    if policy.condition == ConflictPolicy.Condition.ABSOLUTE:
        return abs(new - old) > Decimal(str(params.get("amount", 0)))
    return False


def _open(domain: str, proposal: ProposedChange, attribute: str, policy: ConflictPolicy,
          origin_source: str) -> tuple[Conflict, dict[str, Any] | None]:
    """Record the conflict (its alert is the caller's); for approve/block also the hold
    that keeps the old value."""
    before, after = proposal.before.get(attribute), proposal.after.get(attribute)
    handling = policy.handling
    status = {ConflictPolicy.Handling.RESOLVE: Conflict.Status.AUTO_RESOLVED,
              ConflictPolicy.Handling.APPROVE: Conflict.Status.AWAITING_APPROVAL,
              ConflictPolicy.Handling.BLOCK: Conflict.Status.OPEN}[handling]
    conflict = Conflict.objects.create(
        kind=ConflictKind.VALUE_DISAGREEMENT, domain=domain, golden_id=proposal.golden_id,
        attribute=attribute, severity=policy.severity, status=status, policy=policy,
        candidates=candidates(proposal.records, attribute), current_value=before,
        detail=f"{policy.name}: {before!r} → {after!r}",
        resolved_at=timezone.now() if status == Conflict.Status.AUTO_RESOLVED else None)
    if handling == ConflictPolicy.Handling.RESOLVE:
        return conflict, None
    hold: dict[str, Any] = {"value": before, "conflict": conflict.pk}
    if handling == ConflictPolicy.Handling.APPROVE:
        request = ChangeRequest.objects.create(
            conflict=conflict, domain=domain, golden_id=proposal.golden_id, attribute=attribute,
            current_value=before, proposed_value=after, proposed_by_source=origin_source,
            approval_levels=min(2, max(1, policy.approval_levels)),
            approver_group=policy.approver_group)
        hold["change_request"] = request.pk
    return conflict, hold


def _follow(hold: dict[str, Any], after: Any) -> None:
    """A held attribute changed again at the source: the open request proposes the latest."""
    request_id = hold.get("change_request")
    if request_id:
        ChangeRequest.objects.filter(pk=request_id, status=ChangeRequest.Status.PENDING) \
            .exclude(proposed_value=after).update(proposed_value=after)


def candidates(records: list[LinkedRecord], attribute: str) -> list[dict[str, Any]]:
    """Every source's value of the attribute, with where and when it came from."""
    return [{"value": r.attributes.get(attribute), "source": r.source,
             "source_key": r.source_key, "record": r.id, "at": r.business_time.isoformat()}
            for r in sorted(records, key=lambda r: (r.business_time, r.id), reverse=True)
            if not is_empty(r.attributes.get(attribute))]


def conflict_record(*, kind: str, domain: str, attribute: str = "",
                    golden_id: uuid.UUID | None = None, candidates_: list | None = None,
                    current_value: Any = None, detail: str = "") -> Conflict:
    """Record a conflict of any other kind (permission, validation, concurrent write,
    potential duplicate); its severity comes from the domain's policy for that kind."""
    return conflicts_record(conflicts=[{
        "kind": kind, "domain": domain, "attribute": attribute, "golden_id": golden_id,
        "candidates_": candidates_, "current_value": current_value, "detail": detail}])[0]


def conflicts_record(*, conflicts: Iterable[dict[str, Any]]) -> list[Conflict]:
    """Record several conflicts (each given as ``conflict_record``'s arguments) with one
    alert for the high and critical ones among them, as one write batch raises them."""
    created = [_conflict_create(**{"attribute": "", "golden_id": None, "candidates_": None,
                                   "current_value": None, "detail": "", **spec})
               for spec in conflicts]
    _alert_on_commit(created)
    return created


def _conflict_create(*, kind: str, domain: str, attribute: str, golden_id: uuid.UUID | None,
                     candidates_: list | None, current_value: Any, detail: str) -> Conflict:
    policies = [p for p in _policies(domain, kind) if p.attribute in ("", attribute)]
    policy = policies[0] if policies else None
    return Conflict.objects.create(
        kind=kind, domain=domain, golden_id=golden_id, attribute=attribute,
        severity=policy.severity if policy else DEFAULT_SEVERITY[kind], policy=policy,
        candidates=candidates_ or [], current_value=current_value, detail=detail[:5000])


DEFAULT_SEVERITY = {
    ConflictKind.VALUE_DISAGREEMENT: Severity.LOW,
    ConflictKind.CONCURRENT_WRITE: Severity.HIGH,
    ConflictKind.PERMISSION: Severity.MEDIUM,
    ConflictKind.VALIDATION: Severity.MEDIUM,
    ConflictKind.POTENTIAL_DUPLICATE: Severity.LOW,
}


def _alert_on_commit(conflicts: list[Conflict]) -> None:
    """One alert task for the high and critical ones among ``conflicts``, after commit."""
    ids = [c.pk for c in conflicts if c.severity in ALERT_SEVERITIES]
    if ids:
        from mdm.stewardship.tasks import alert_conflicts

        transaction.on_commit(lambda: alert_conflicts.delay(ids), robust=True)


# --- approvals -------------------------------------------------------------------------

@transaction.atomic
def change_request_approve(*, change_request_id: int, user: AbstractBaseUser,
                           comment: str) -> ChangeRequest:
    """One approval; with all levels approved the held change goes through."""
    request = _decide(change_request_id, user, comment, approved=True)
    if request.decisions.filter(approved=True).count() >= request.approval_levels:
        _finish(request, user, comment, approved=True)
    return request


@transaction.atomic
def change_request_reject(*, change_request_id: int, user: AbstractBaseUser,
                          comment: str) -> ChangeRequest:
    """A rejection ends the request; the current value is pinned so it stays."""
    request = _decide(change_request_id, user, comment, approved=False)
    _finish(request, user, comment, approved=False)
    return request


def _decide(change_request_id: int, user: AbstractBaseUser, comment: str, *,
            approved: bool) -> ChangeRequest:
    request = ChangeRequest.objects.select_for_update().filter(pk=change_request_id).first()
    if request is None:
        from mdm.core.errors import NotFound

        raise NotFound(f"No change request {change_request_id}.")
    if request.status != ChangeRequest.Status.PENDING:
        raise ConflictError(f"Change request {request.pk} is already {request.status}.")
    if not comment or not comment.strip():
        raise ValidationFailed("Say why.", fields={"comment": ["required"]})
    if request.requested_by_id and request.requested_by_id == user.pk:
        raise Forbidden("You cannot decide on your own change request.")
    _check_scope(user, request.domain)
    group = request.approver_group or APPROVER
    if not user.is_superuser and not user.groups.filter(name=group).exists():
        raise Forbidden(f"Only members of '{group}' may decide on this change request.")
    if request.decisions.filter(user=user).exists():
        raise Forbidden("You already approved this request; another approver must decide "
                        "the next level.")
    Decision.objects.create(change_request=request, level=request.decisions.count() + 1,
                            user=user, approved=approved, comment=comment.strip())
    return request


def _check_scope(user: AbstractBaseUser, domain: str) -> None:
    from mdm.stewardship.selectors import steward_domains

    domains = steward_domains(user)
    if domains is not None and domain not in domains:
        raise Forbidden(f"You steward other domains, not {domain}.")


def _finish(request: ChangeRequest, user: AbstractBaseUser, comment: str, *,
            approved: bool) -> None:
    from mdm.golden.services import golden_record_hold_release

    now = timezone.now()
    request.status = ChangeRequest.Status.APPROVED if approved else ChangeRequest.Status.REJECTED
    request.decided_at = now
    request.save(update_fields=["status", "decided_at"])
    Conflict.objects.filter(pk=request.conflict_id).update(
        status=Conflict.Status.RESOLVED, resolved_at=now, resolved_by=user,
        resolution={"approved": approved, "value": request.proposed_value if approved
                    else request.current_value, "comment": comment})
    golden_record_hold_release(
        domain=request.domain, golden_id=request.golden_id, attribute=request.attribute,
        keep_current=not approved, accepted=request.proposed_value if approved else None,
        actor=user,
        reason=f"change request #{request.pk} {'approved' if approved else 'rejected'}")


# --- resolving -------------------------------------------------------------------------

BULK_SEVERITIES = (Severity.LOW, Severity.MEDIUM)


@transaction.atomic
def conflicts_bulk_resolve(*, conflict_ids: Iterable[int], user: AbstractBaseUser,
                           comment: str) -> list[int]:
    """Close many low- and medium-severity conflicts in the user's domains with one
    comment, all or none; high and critical ones each need their own look."""
    from mdm.core.errors import NotFound
    from mdm.stewardship.selectors import conflicts_list

    ids = sorted(set(conflict_ids))
    if not ids:
        raise ValidationFailed(gettext("Select at least one conflict."),
                               fields={"ids": ["required"]})
    severities = dict(conflicts_list(user=user).filter(pk__in=ids)
                      .values_list("pk", "severity"))
    missing = [i for i in ids if i not in severities]
    if missing:
        raise NotFound(gettext("No conflict %(ids)s.") % {"ids": _listed(missing)},
                       fields={"ids": [f"unknown: {missing}"]})
    risky = [i for i in ids if severities[i] not in BULK_SEVERITIES]
    if risky:
        raise ValidationFailed(
            gettext("Bulk resolution is for low and medium conflicts only (not %(ids)s).")
            % {"ids": _listed(risky)}, fields={"ids": [f"high or critical: {risky}"]})
    return [conflict_resolve(conflict_id=i, user=user, comment=comment).pk for i in ids]


def _listed(ids: list[int]) -> str:
    return ", ".join(map(str, ids))


@transaction.atomic
def conflict_resolve(*, conflict_id: int, user: AbstractBaseUser, comment: str,
                     value: Any = None, use_value: bool = False) -> Conflict:
    """A steward closes a conflict; for a blocked value change, optionally with the value
    to keep (pinned on the golden record)."""
    conflict = Conflict.objects.select_for_update().filter(pk=conflict_id).first()
    if conflict is None:
        from mdm.core.errors import NotFound

        raise NotFound(f"No conflict {conflict_id}.")
    if conflict.status in (Conflict.Status.RESOLVED, Conflict.Status.AUTO_RESOLVED):
        raise ConflictError(f"Conflict {conflict.pk} is already resolved.")
    if conflict.status == Conflict.Status.AWAITING_APPROVAL:
        raise ConflictError("This conflict waits for its change request; approve or reject it.")
    if not comment or not comment.strip():
        raise ValidationFailed("Say why.", fields={"comment": ["required"]})
    conflict.status, conflict.resolved_at, conflict.resolved_by = \
        Conflict.Status.RESOLVED, timezone.now(), user
    conflict.resolution = {"comment": comment.strip(), **({"value": value} if use_value else {})}
    conflict.save()
    if conflict.golden_id and conflict.kind == ConflictKind.VALUE_DISAGREEMENT:
        from mdm.golden.services import golden_record_hold_release, golden_record_pin

        if use_value:  # a pinned value ends the hold
            golden_record_pin(domain=conflict.domain, golden_id=conflict.golden_id,
                              values={conflict.attribute: value}, actor=user,
                              reason=f"conflict #{conflict.pk}: {comment.strip()}")
        else:
            golden_record_hold_release(domain=conflict.domain, golden_id=conflict.golden_id,
                                       attribute=conflict.attribute, keep_current=True,
                                       actor=user, reason=f"conflict #{conflict.pk} resolved")
    return conflict


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# --- notifications ---------------------------------------------------------------------

@transaction.atomic
def notifications_mark_read(*, user: AbstractBaseUser, ids: list[int] | None = None) -> int:
    """Mark a user's own unread notifications read (the given ones, or all); returns how
    many changed. Other users' notifications are never touched."""
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
