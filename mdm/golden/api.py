"""REST endpoints of golden records: list/search, detail with lineage and sources, history."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.timezone import make_aware
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from mdm.api.input import validated
from mdm.api.permissions import HasModelPerms, may_act_on_domain
from mdm.core.domains import DOMAINS
from mdm.core.errors import Forbidden, NotFound, ValidationFailed
from mdm.golden.schema import golden_values
from mdm.golden.selectors import (
    golden_lineage_explained,
    golden_record_as_of,
    golden_record_get,
    golden_record_history,
    golden_record_resolve,
    golden_records_list,
)
from mdm.golden.services import (
    golden_record_pin,
    golden_record_revert,
    golden_record_unmerge,
    golden_record_unpin,
    golden_records_merge,
)
from mdm.sources.selectors import source_records_for_golden


class GoldenRecordSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    merged_into = serializers.UUIDField(allow_null=True)
    values = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_values(self, record: Any) -> dict[str, Any]:
        return golden_values(record)


class GoldenRecordDetailSerializer(GoldenRecordSerializer):
    lineage = serializers.SerializerMethodField()
    sources = serializers.SerializerMethodField()

    def get_lineage(self, record: Any) -> dict[str, Any]:
        return golden_lineage_explained(record)

    def get_sources(self, record: Any) -> list[dict[str, Any]]:
        return [{"source": r.source.code, "source_key": r.source_key, "status": r.status,
                 "source_updated_at": r.source_updated_at, "received_at": r.received_at,
                 "attributes": r.attributes}
                for r in source_records_for_golden(record.id)]


class DomainMixin:
    permission_classes = [HasModelPerms]

    @property
    def read_perms(self) -> list[str]:
        return [f"golden.view_{self.domain}"]

    @property
    def write_perms(self) -> list[str]:
        return [f"golden.change_{self.domain}"]

    @property
    def domain(self) -> str:
        domain = self.kwargs["domain"]
        if domain not in DOMAINS:
            raise NotFound(f"Unknown domain '{domain}'; use one of {sorted(DOMAINS)}.")
        return domain


class GoldenRecordListView(DomainMixin, GenericAPIView):
    serializer_class = GoldenRecordSerializer
    filter_backends: list = []

    @extend_schema(operation_id="golden_list", parameters=[
        OpenApiParameter("q", str, description="search names, identifiers, SKU, number"),
        OpenApiParameter("status", str, enum=["active", "merged", "retired"])])
    def get(self, request: Request, domain: str) -> Response:
        records = golden_records_list(domain=self.domain, search=request.query_params.get("q", ""),
                                      status=request.query_params.get("status", ""))
        page = self.paginate_queryset(records)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class GoldenPatchSerializer(serializers.Serializer):
    values = serializers.DictField(required=False, default=dict,
                                   help_text="attribute → value to pin (steward override)")
    unpin = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    reason = serializers.CharField(required=False, default="", allow_blank=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data["values"] and not data["unpin"]:
            raise serializers.ValidationError({"values": ["give values to pin or unpin"]})
        return data


def if_match_version(request: Request) -> int | None:
    """The version from an ``If-Match: "7"`` header (None when absent)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    try:
        return int(header.removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise ValidationFailed("If-Match must be the ETag you read, e.g. \"7\".",
                               fields={"If-Match": ["not a version ETag"]}) from exc


class GoldenRecordDetailView(DomainMixin, GenericAPIView):
    """One golden record with lineage and sources. Merged-away ids resolve to the
    survivor; ``?as_of=`` reads a past state. PATCH pins or unpins values (If-Match)."""

    serializer_class = GoldenRecordDetailSerializer

    @extend_schema(operation_id="golden_retrieve", parameters=[
        OpenApiParameter("as_of", OpenApiTypes.DATETIME, description="state at this time")])
    def get(self, request: Request, domain: str, golden_id: str) -> Response:
        as_of = request.query_params.get("as_of")
        if as_of:
            at = parse_datetime(as_of)
            if at is None:
                raise ValidationFailed("as_of must be an ISO 8601 date-time",
                                       fields={"as_of": ["e.g. 2026-11-22T10:00:00+08:00"]})
            record = golden_record_as_of(domain=self.domain, golden_id=golden_id,
                                         at=at if at.tzinfo else make_aware(at))
            return Response({**GoldenRecordSerializer(record).data, "as_of": as_of,
                             "lineage": record.lineage})
        record, asked = golden_record_resolve(domain=self.domain, golden_id=golden_id)
        data = self.get_serializer(record).data
        if asked:
            data["resolved_from"] = asked
        return _with_etag(Response(data), record)

    @extend_schema(operation_id="golden_update", request=GoldenPatchSerializer)
    def patch(self, request: Request, domain: str, golden_id: str) -> Response:
        check_domain(request.user, self.domain)
        body = validated(GoldenPatchSerializer, request.data)
        expected = if_match_version(request)
        record = None
        if body["values"]:
            record = golden_record_pin(domain=self.domain, golden_id=golden_id,
                                       values=body["values"],
                                       actor=request.user, reason=body["reason"],
                                       expected_version=expected)
            expected = None if expected is None else record.version
        if body["unpin"]:
            record = golden_record_unpin(domain=self.domain, golden_id=golden_id,
                                         attributes=body["unpin"],
                                         actor=request.user, expected_version=expected)
        return _with_etag(Response(self.get_serializer(record).data), record)


def _with_etag(response: Response, record: Any) -> Response:
    response["ETag"] = f'"{record.version}"'
    return response


def check_domain(user: Any, domain: str) -> None:
    if not may_act_on_domain(user, domain):
        raise Forbidden(f"You steward other domains, not {domain}.")


class MergeSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), min_length=2)
    survivor = serializers.UUIDField(required=False, help_text="default: the first id")
    reason = serializers.CharField(required=False, default="", allow_blank=True)


class GoldenMergeView(DomainMixin, GenericAPIView):
    """Merge golden records into one (the survivor keeps its id; the others resolve to it)."""

    serializer_class = GoldenRecordDetailSerializer

    @extend_schema(operation_id="golden_merge", request=MergeSerializer)
    def post(self, request: Request, domain: str) -> Response:
        check_domain(request.user, self.domain)
        body = validated(MergeSerializer, request.data)
        ids = body["ids"]
        survivor = body.get("survivor") or ids[0]
        record = golden_records_merge(domain=self.domain, survivor_id=survivor,
                                      merged_ids=[i for i in ids if i != survivor],
                                      actor=request.user, reason=body["reason"])
        return _with_etag(Response(self.get_serializer(record).data), record)


class UnmergeSerializer(serializers.Serializer):
    source = serializers.CharField()
    source_key = serializers.CharField()


class GoldenUnmergeView(DomainMixin, GenericAPIView):
    """Split one source record out of a golden record."""

    serializer_class = GoldenRecordDetailSerializer

    @extend_schema(operation_id="golden_unmerge", request=UnmergeSerializer)
    def post(self, request: Request, domain: str, golden_id: str) -> Response:
        check_domain(request.user, self.domain)
        body = validated(UnmergeSerializer, request.data)
        remaining, split = golden_record_unmerge(
            domain=self.domain, golden_id=golden_id, actor=request.user,
            source=body["source"], source_key=body["source_key"])
        return Response({"remaining": self.get_serializer(remaining).data,
                         "split_off": self.get_serializer(split).data})


class RevertSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class GoldenRevertView(DomainMixin, GenericAPIView):
    """Bring back the values of an earlier version (pinned until unpinned)."""

    serializer_class = GoldenRecordDetailSerializer

    @extend_schema(operation_id="golden_revert", request=RevertSerializer)
    def post(self, request: Request, domain: str, golden_id: str) -> Response:
        check_domain(request.user, self.domain)
        body = validated(RevertSerializer, request.data)
        record = golden_record_revert(domain=self.domain, golden_id=golden_id,
                                      version=body["version"],
                                      actor=request.user,
                                      expected_version=if_match_version(request))
        return _with_etag(Response(self.get_serializer(record).data), record)


class GoldenRecordHistoryView(DomainMixin, GenericAPIView):
    serializer_class = serializers.Serializer

    @extend_schema(operation_id="golden_history", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, domain: str, golden_id: str) -> Response:
        record = golden_record_get(domain=self.domain, golden_id=golden_id)
        return Response({"id": str(record.id),
                         "versions": golden_record_history(record=record)})
