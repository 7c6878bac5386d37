"""REST endpoints of publishing: the pull feed and ack, dead letters and replay, sync lag."""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mdm.api.input import validated
from mdm.api.permissions import is_source
from mdm.core.errors import Forbidden, NotFound
from mdm.publishing.models import Delivery, ReconciliationRun, Subscription
from mdm.publishing.reconciliation import subscription_reconcile
from mdm.publishing.selectors import (
    subscription_advice,
    subscription_changes,
    subscription_deliveries,
    subscription_lag,
)
from mdm.publishing.services import deliveries_replay, subscription_ack

MAX_LIMIT = 1000


def subscription_for(request: Request, subscription_id: int, *, write: bool) -> Subscription:
    """The subscription, if the caller is its subscriber system or a user allowed to."""
    subscription = Subscription.objects.filter(pk=subscription_id).select_related(
        "subscriber").first()
    if subscription is None:
        raise NotFound(f"No subscription {subscription_id}.")
    user = request.user
    if is_source(user):
        if user.source.pk != subscription.subscriber_id:
            raise Forbidden(f"Subscription {subscription_id} belongs to another system.")
        return subscription
    perm = "publishing.change_subscription" if write else "publishing.view_subscription"
    if not user.has_perm(perm):
        raise Forbidden("You may not use this subscription.")
    return subscription


class ChangesQuery(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=100)


class SubscriptionChangesView(APIView):
    """The changes feed: CloudEvents after a sequence number, oldest first."""

    @extend_schema(parameters=[ChangesQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = subscription_for(request, subscription_id, write=False)
        query = validated(ChangesQuery, request.query_params)
        changes = subscription_changes(subscription=subscription,
                                       after=query.get("after"),
                                       limit=query["limit"])
        last = changes[-1].seq if changes else query.get(
            "after", subscription.acked_seq)
        return Response({"changes": [d.payload for d in changes], "last_seq": last,
                         "acked_seq": subscription.acked_seq})


class AckBody(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0)


class SubscriptionAckView(APIView):
    """Acknowledge the feed up to a sequence number; the cursor is kept in the database."""

    @extend_schema(request=AckBody, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = subscription_for(request, subscription_id, write=True)
        body = validated(AckBody, request.data)
        acked = subscription_ack(subscription=subscription, seq=body["seq"])
        return Response({"acked_seq": body["seq"], "acknowledged": acked})


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "seq", "golden_id", "status", "attempts", "next_attempt_at",
                  "last_error", "created_at", "delivered_at", "lag_ms"]


class SubscriptionDeliveriesView(APIView):
    """Deliveries of a subscription, newest first (``?status=dead`` for dead letters)."""

    @extend_schema(parameters=[OpenApiParameter("status", str,
                                                enum=["pending", "delivered", "dead"])],
                   responses=DeliverySerializer(many=True))
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = subscription_for(request, subscription_id, write=False)
        deliveries = subscription_deliveries(subscription=subscription,
                                             status=request.query_params.get("status", ""))
        return Response(DeliverySerializer(deliveries[:MAX_LIMIT], many=True).data)


class ReplayBody(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), required=False)


class SubscriptionReplayView(APIView):
    """Send dead letters again (all, or the given delivery ids)."""

    @extend_schema(request=ReplayBody, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = subscription_for(request, subscription_id, write=True)
        body = validated(ReplayBody, request.data)
        count = deliveries_replay(subscription=subscription, ids=body.get("ids"))
        return Response({"replayed": count})


class SubscriptionLagView(APIView):
    """Sync lag p50/p95 over the last hour against the subscription's SLO."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = subscription_for(request, subscription_id, write=False)
        return Response(subscription_lag(subscription=subscription))



class ReconcileBody(serializers.Serializer):
    records = serializers.ListField(child=serializers.DictField(), required=False,
                                    help_text='[{"golden_id": ..., "checksum": ...}]; '
                                    "without it the subscriber's connector is read")
    republish = serializers.BooleanField(default=False)


class ReconciliationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReconciliationRun
        fields = ["id", "method", "started_at", "finished_at", "checked", "in_sync",
                  "different", "missing", "unexpected", "republished", "drift"]


class SubscriptionReconcileView(APIView):
    """Compare what the subscriber holds with the golden values; list past runs."""

    @extend_schema(request=ReconcileBody, responses=ReconciliationSerializer)
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = subscription_for(request, subscription_id, write=True)
        body = validated(ReconcileBody, request.data)
        run = subscription_reconcile(subscription=subscription,
                                     checksums=body.get("records"),
                                     republish=body["republish"])
        return Response(ReconciliationSerializer(run).data)

    @extend_schema(responses=ReconciliationSerializer(many=True))
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = subscription_for(request, subscription_id, write=False)
        runs = subscription.reconciliations.all()[:50]
        return Response(ReconciliationSerializer(runs, many=True).data)


class AdviceQuery(serializers.Serializer):
    window_hours = serializers.IntegerField(min_value=1, max_value=24 * 90, default=24 * 7)


class SubscriptionAdviceView(APIView):
    """A suggested sync mode with the numbers behind it (default window: 7 days)."""

    @extend_schema(parameters=[AdviceQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = subscription_for(request, subscription_id, write=False)
        query = validated(AdviceQuery, request.query_params)
        window = timedelta(hours=query["window_hours"])
        return Response(subscription_advice(subscription=subscription, window=window))
