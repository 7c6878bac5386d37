"""REST endpoints of golden records: list/search, detail with lineage and sources, history."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from mdm.api.permissions import HasModelPerms
from mdm.core.domains import DOMAINS
from mdm.core.errors import NotFound
from mdm.golden.schema import golden_values
from mdm.golden.selectors import (
    golden_lineage_explained,
    golden_record_get,
    golden_records_list,
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


class GoldenRecordDetailView(DomainMixin, GenericAPIView):
    serializer_class = GoldenRecordDetailSerializer

    @extend_schema(operation_id="golden_retrieve")
    def get(self, request: Request, domain: str, golden_id: str) -> Response:
        record = golden_record_get(domain=self.domain, golden_id=golden_id)
        response = Response(self.get_serializer(record).data)
        response["ETag"] = f'"{record.version}"'
        return response


class GoldenRecordHistoryView(DomainMixin, GenericAPIView):
    serializer_class = serializers.Serializer

    @extend_schema(operation_id="golden_history", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, domain: str, golden_id: str) -> Response:
        record = golden_record_get(domain=self.domain, golden_id=golden_id)
        versions = []
        rows = list(record.history.order_by("history_date", "history_id"))
        previous: dict[str, Any] = {}
        for row in rows:
            values = golden_values(row.instance)
            versions.append({
                "version": row.version, "status": row.status, "at": row.history_date,
                "user": row.history_user.username if row.history_user else None,
                "reason": row.history_change_reason, "request_id": row.request_id,
                "changes": {k: {"before": previous.get(k), "after": values.get(k)}
                            for k in sorted(set(previous) | set(values))
                            if previous.get(k) != values.get(k)},
            })
            previous = values
        return Response({"id": str(record.id), "versions": versions})
