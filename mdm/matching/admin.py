"""Admin for match rules (versioned, editable) and read-only views of the review queue
and re-match runs (decisions go through the API and services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from mdm.core.errors import MDMError
from mdm.matching.models import MatchCandidate, MatchRule, RematchRun
from mdm.matching.rematch import rematch_start
from mdm.matching.services import match_rule_train


@admin.register(MatchRule)
class MatchRuleAdmin(SimpleHistoryAdmin):
    list_display = ["domain", "version", "classifier", "auto_merge_weight", "review_weight",
                    "bridge_weight", "max_cluster_size", "trained_on", "updated_at"]
    readonly_fields = ["version", "trained_on", "trained_at", "updated_at"]
    actions = ["train_ecm", "train_from_labels", "rematch_dry_run"]

    def _each(self, request: HttpRequest, queryset: Any, action: Any, done: str) -> None:
        for rule in queryset:
            try:
                action(rule)
                self.message_user(request, f"{rule.domain}: {done}")
            except MDMError as exc:
                self.message_user(request, f"{rule.domain}: {exc}", messages.ERROR)

    @admin.action(description="Estimate m/u from the data (ECM): a new version")
    def train_ecm(self, request: HttpRequest, queryset: Any) -> None:
        self._each(request, queryset, lambda r: match_rule_train(
            domain=r.domain, method="ecm", actor=request.user), "trained with ECM")

    @admin.action(description="Train from stewards' decisions (logistic regression)")
    def train_from_labels(self, request: HttpRequest, queryset: Any) -> None:
        self._each(request, queryset, lambda r: match_rule_train(
            domain=r.domain, method="labels", actor=request.user), "trained from labels")

    @admin.action(description="Re-match dry run: what would merge or split")
    def rematch_dry_run(self, request: HttpRequest, queryset: Any) -> None:
        self._each(request, queryset, lambda r: rematch_start(
            domain=r.domain, dry_run=True, actor=request.user),
            "dry run started; see Re-match runs")


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MatchCandidate)
class MatchCandidateAdmin(SimpleHistoryAdmin, _ReadOnly):
    list_display = ["id", "domain", "record_a", "record_b", "weight", "reason", "status",
                    "claimed_by", "decided_by"]
    list_filter = ["domain", "status"]
    raw_id_fields = ["record_a", "record_b"]


@admin.register(RematchRun)
class RematchRunAdmin(_ReadOnly):
    list_display = ["id", "domain", "rule_version", "dry_run", "status", "partitions_done",
                    "partitions", "started_at", "finished_at"]
    list_filter = ["domain", "status", "dry_run"]
