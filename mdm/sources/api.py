"""REST endpoints of the sources stage: ingest a batch, quarantine list and re-process."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mdm.api.input import validated
from mdm.api.parsers import ExactJSONParser
from mdm.api.permissions import HasModelPerms, is_source
from mdm.core.domains import DOMAIN_CHOICES
from mdm.core.errors import Forbidden, PayloadTooLarge, ValidationFailed
from mdm.sources.models import SourceRecord, SourceSystem
from mdm.sources.selectors import quarantined_records
from mdm.sources.services import (
    IncomingRecord,
    records_reject,
    source_records_ingest,
    source_records_reprocess,
)


@extend_schema_field(OpenApiTypes.STR)
class TimeField(serializers.Field):
    """A source's own timestamp as sent: ISO text or epoch seconds/milliseconds."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, (str, int, float, Decimal)):
            raise serializers.ValidationError("must be an ISO 8601 date-time or an epoch number")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.STR)
class SourceKeyField(serializers.Field):
    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            raise serializers.ValidationError("must be a string or an integer")
        key = str(data).strip()
        if not key or len(key) > 200:
            raise serializers.ValidationError("must be 1 to 200 characters")
        return key

    def to_representation(self, value: Any) -> str:
        return value


class IncomingRecordSerializer(serializers.Serializer):
    source_key = SourceKeyField()
    domain = serializers.ChoiceField(choices=DOMAIN_CHOICES)
    attributes = serializers.DictField(required=False, default=dict)
    source_updated_at = TimeField(required=False, allow_null=True, default=None)
    deleted = serializers.BooleanField(required=False, default=False)
    base_version = serializers.IntegerField(required=False, min_value=1, allow_null=True,
                                            default=None)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["unknown field"] for name in sorted(unknown)})
        return super().to_internal_value(data)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data["attributes"] and not data["deleted"]:
            raise serializers.ValidationError({"attributes": ["must not be empty"]})
        return data


class IngestBatchSerializer(serializers.Serializer):
    records = IncomingRecordSerializer(many=True, allow_empty=False)


class RecordOutcomeSerializer(serializers.Serializer):
    source_key = serializers.CharField()
    domain = serializers.CharField()
    outcome = serializers.ChoiceField(
        choices=["created", "updated", "unchanged", "deleted", "stale", "quarantined"])
    golden_id = serializers.UUIDField(allow_null=True)
    reasons = serializers.ListField(child=serializers.DictField(), required=False)
    refused = serializers.DictField(required=False)
    ignored_fields = serializers.ListField(child=serializers.CharField(), required=False)


class IngestResultSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    results = RecordOutcomeSerializer(many=True)


class SourceRecordsIngestView(APIView):
    """Ingest a batch of one source system's records; answers per record."""

    parser_classes = [ExactJSONParser]

    @extend_schema(request=IngestBatchSerializer, responses=IngestResultSerializer)
    def post(self, request: Request, code: str) -> Response:
        source = get_object_or_404(SourceSystem, code=code)
        self._check_writer(request, source)
        records = request.data.get("records") if isinstance(request.data, dict) else None
        limit = settings.MDM_MAX_BATCH_RECORDS
        if isinstance(records, list) and len(records) > limit:
            raise PayloadTooLarge(f"A batch holds at most {limit} records; this one has "
                                  f"{len(records)}. Split it.",
                                  fields={"records": [f"at most {limit} records"]})
        envelope = validated(IngestBatchSerializer, request.data)
        incoming = [IncomingRecord(source_key=r["source_key"], domain=r["domain"],
                                   fields=r["attributes"],
                                   source_updated_at=r["source_updated_at"],
                                   deleted=r["deleted"], base_version=r["base_version"])
                    for r in envelope["records"]]
        result = source_records_ingest(source=source, records=incoming, channel="api",
                                       origin=request.path,
                                       actor=None if is_source(request.user) else request.user)
        return Response({"batch": result.batch.pk, "counts": result.counts,
                         "results": [o.as_dict() for o in result.outcomes]})

    def _check_writer(self, request: Request, source: SourceSystem) -> None:
        user = request.user
        if is_source(user) and user.source.pk != source.pk:
            records_reject(source=source, batch=None, rejected=[(
                "", "", None, request.body.decode("utf-8", "replace")[:100_000],
                [{"attribute": "", "message": f"source {user.source.code} tried to write "
                  f"records of {source.code}; refused"}])])
            raise Forbidden(f"Source {user.source.code} may not write records of {source.code}.")
        if not is_source(user) and not user.has_perm("sources.add_sourcerecord"):
            raise Forbidden("You may not ingest records on behalf of a source system.")
        if not source.is_source or not source.is_active:
            raise Forbidden(f"{source.code} is not an active source system.")


class SourceRecordSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = SourceRecord
        fields = ["id", "source", "domain", "source_key", "golden_id", "status",
                  "quarantine_reasons", "refused_values", "attributes", "raw_payload",
                  "source_updated_at", "received_at", "batch"]


class QuarantineListView(ListAPIView):
    """Quarantined source records with every reason, newest first."""

    serializer_class = SourceRecordSerializer
    permission_classes = [HasModelPerms]
    read_perms = ["sources.view_sourcerecord"]
    filter_backends: list = []

    def get_queryset(self) -> Any:
        source = self.request.query_params.get("source")
        domain = self.request.query_params.get("domain")
        source_obj = get_object_or_404(SourceSystem, code=source) if source else None
        return quarantined_records(source=source_obj, domain=domain)


class ReprocessSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    source = serializers.SlugField(required=False)
    domain = serializers.ChoiceField(choices=DOMAIN_CHOICES, required=False)


class QuarantineReprocessView(APIView):
    """Re-run quarantined records through mapping and validation (after a fix)."""

    permission_classes = [HasModelPerms]
    read_perms = write_perms = ["sources.change_sourcerecord"]

    @extend_schema(request=ReprocessSerializer, responses=IngestResultSerializer(many=True))
    def post(self, request: Request) -> Response:
        body = validated(ReprocessSerializer, request.data)
        data = body
        if not data.get("ids") and not data.get("source"):
            raise ValidationFailed("Name the records: ids, or a source (and domain).",
                                   fields={"ids": ["ids or source is required"]})
        source = get_object_or_404(SourceSystem, code=data["source"]) if data.get("source") \
            else None
        records = quarantined_records(source=source, domain=data.get("domain"))
        if data.get("ids"):
            records = records.filter(pk__in=data["ids"])
        results = source_records_reprocess(record_ids=list(records.values_list("pk", flat=True)),
                                           actor=request.user)
        return Response([{"batch": r.batch.pk, "counts": r.counts,
                          "results": [o.as_dict() for o in r.outcomes]} for r in results])
