"""REST endpoints of stewardship: the conflict queue, approvals, notifications."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mdm.api.input import validated
from mdm.api.permissions import HasModelPerms, may_act_on_domain
from mdm.core.errors import Forbidden
from mdm.stewardship.models import ChangeRequest, Conflict, Notification
from mdm.stewardship.selectors import change_requests_list, conflicts_list
from mdm.stewardship.services import (
    change_request_approve,
    change_request_reject,
    conflict_resolve,
    conflicts_bulk_resolve,
)


class ConflictSerializer(serializers.ModelSerializer):
    change_request = serializers.SerializerMethodField()

    class Meta:
        model = Conflict
        fields = ["id", "kind", "domain", "golden_id", "attribute", "severity", "status",
                  "candidates", "current_value", "detail", "created_at", "resolved_at",
                  "resolution", "change_request"]

    def get_change_request(self, conflict: Conflict) -> int | None:
        request = getattr(conflict, "change_request", None)
        return request.pk if request else None


class ConflictListView(ListAPIView):
    """The conflict queue (``?status=open&severity=high&domain=contract&kind=...``)."""

    serializer_class = ConflictSerializer
    permission_classes = [HasModelPerms]
    read_perms = ["stewardship.view_conflict"]
    filter_backends: list = []

    def get_queryset(self) -> Any:
        params = self.request.query_params
        return conflicts_list(user=self.request.user, status=params.get("status", ""),
                              severity=params.get("severity", ""),
                              domain=params.get("domain", ""), kind=params.get("kind", ""))


class ResolveSerializer(serializers.Serializer):
    comment = serializers.CharField()
    value = serializers.JSONField(required=False,
                                  help_text="the value to keep (pinned), for value conflicts")


class ConflictResolveView(APIView):
    permission_classes = [HasModelPerms]
    read_perms = write_perms = ["stewardship.change_conflict"]

    @extend_schema(request=ResolveSerializer, responses=ConflictSerializer)
    def post(self, request: Request, conflict_id: int) -> Response:
        body = validated(ResolveSerializer, request.data)
        _check_conflict_domain(request.user, conflict_id)
        conflict = conflict_resolve(conflict_id=conflict_id, user=request.user,
                                    comment=body["comment"],
                                    value=body.get("value"),
                                    use_value="value" in body)
        return Response(ConflictSerializer(conflict).data)


class BulkResolveSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)
    comment = serializers.CharField()


class ConflictBulkResolveView(APIView):
    """Close many low- or medium-severity conflicts with one comment."""

    permission_classes = [HasModelPerms]
    read_perms = write_perms = ["stewardship.change_conflict"]

    @extend_schema(request=BulkResolveSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        body = validated(BulkResolveSerializer, request.data)
        return Response({"resolved": conflicts_bulk_resolve(
            conflict_ids=body["ids"], user=request.user, comment=body["comment"])})


def _check_conflict_domain(user: Any, conflict_id: int) -> None:
    domain = Conflict.objects.filter(pk=conflict_id).values_list("domain", flat=True).first()
    if domain and not may_act_on_domain(user, domain):
        raise Forbidden(f"You steward other domains, not {domain}.")


class DecisionSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    user = serializers.CharField(source="user.username")
    approved = serializers.BooleanField()
    comment = serializers.CharField()
    decided_at = serializers.DateTimeField()


class ChangeRequestSerializer(serializers.ModelSerializer):
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta:
        model = ChangeRequest
        fields = ["id", "conflict", "domain", "golden_id", "attribute", "current_value",
                  "proposed_value", "proposed_by_source", "approval_levels", "approver_group",
                  "status", "created_at", "decided_at", "decisions"]


class ChangeRequestListView(ListAPIView):
    serializer_class = ChangeRequestSerializer
    permission_classes = [HasModelPerms]
    read_perms = ["stewardship.view_changerequest"]
    filter_backends: list = []

    def get_queryset(self) -> Any:
        return change_requests_list(user=self.request.user,
                                    status=self.request.query_params.get("status", ""))


class DecideSerializer(serializers.Serializer):
    comment = serializers.CharField()


class ChangeRequestDecideView(APIView):
    """Approve or reject (who, when and why are kept)."""

    permission_classes = [HasModelPerms]
    read_perms = write_perms = ["stewardship.change_changerequest"]
    approve = True

    @extend_schema(request=DecideSerializer, responses=ChangeRequestSerializer)
    def post(self, request: Request, change_request_id: int) -> Response:
        body = validated(DecideSerializer, request.data)
        decide = change_request_approve if self.approve else change_request_reject
        result = decide(change_request_id=change_request_id, user=request.user,
                        comment=body["comment"])
        return Response(ChangeRequestSerializer(ChangeRequest.objects.get(pk=result.pk)).data)


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "conflict", "title", "body", "created_at", "read_at"]


class NotificationListView(ListAPIView):
    """The caller's own in-app notifications, newest first (``?unread=1``)."""

    serializer_class = NotificationSerializer
    filter_backends: list = []

    def get_queryset(self) -> Any:
        notifications = Notification.objects.filter(user_id=getattr(self.request.user, "pk",
                                                                    None))
        if self.request.query_params.get("unread"):
            notifications = notifications.filter(read_at=None)
        return notifications
