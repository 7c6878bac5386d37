"""REST endpoints of matching: the review queue, match rules, re-match runs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mdm.api.input import validated
from mdm.api.permissions import HasModelPerms, may_act_on_domain
from mdm.core.domains import DOMAINS
from mdm.core.errors import Forbidden, NotFound
from mdm.matching.models import MatchCandidate, MatchRule, RematchRun
from mdm.matching.rematch import rematch_start
from mdm.matching.selectors import match_candidates_list, rematch_runs_list
from mdm.matching.services import (
    ECM,
    LABELS,
    MERGE,
    NOT_A_MATCH,
    match_candidate_claim,
    match_candidate_decide,
    match_rule_for,
    match_rule_train,
)


class _RecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField(source="source.code")
    source_key = serializers.CharField()
    golden_id = serializers.UUIDField()
    attributes = serializers.JSONField()


class MatchCandidateSerializer(serializers.ModelSerializer):
    record_a = _RecordSerializer()
    record_b = _RecordSerializer()
    claimed_by = serializers.CharField(source="claimed_by.username", default=None)
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = MatchCandidate
        fields = ["id", "domain", "status", "weight", "probability", "reason", "rule_version",
                  "breakdown", "record_a", "record_b", "claimed_by", "claimed_at",
                  "decided_by", "decided_at", "comment", "created_at"]


def _candidate_domain(user: Any, candidate_id: int) -> None:
    domain = MatchCandidate.objects.filter(pk=candidate_id) \
        .values_list("domain", flat=True).first()
    if domain is None:
        raise NotFound(f"match candidate {candidate_id} does not exist")
    if not may_act_on_domain(user, domain):
        raise Forbidden(f"You steward other domains, not {domain}.")


def _domain_param(value: str) -> str:
    if value and value not in DOMAINS:
        raise NotFound(f"unknown domain {value!r}")
    return value


class MatchCandidateListView(ListAPIView):
    """The review queue (``?domain=customer&status=open``), strongest pairs first; each
    pair with both records side by side and each comparison's contribution."""

    serializer_class = MatchCandidateSerializer
    permission_classes = [HasModelPerms]
    read_perms = ["matching.view_matchcandidate"]
    filter_backends: list = []

    def get_queryset(self) -> Any:
        params = self.request.query_params
        return match_candidates_list(user=self.request.user,
                                     domain=_domain_param(params.get("domain", "")),
                                     status=params.get("status", "open"))


class MatchCandidateDetailView(APIView):
    permission_classes = [HasModelPerms]
    read_perms = ["matching.view_matchcandidate"]

    @extend_schema(responses=MatchCandidateSerializer)
    def get(self, request: Request, candidate_id: int) -> Response:
        _candidate_domain(request.user, candidate_id)
        candidate = match_candidates_list(user=request.user, status="").get(pk=candidate_id)
        return Response(MatchCandidateSerializer(candidate).data)


class MatchDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[MERGE, NOT_A_MATCH])
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class MatchCandidateDecideView(APIView):
    """Merge the pair's golden records, or remember that they are not a match."""

    permission_classes = [HasModelPerms]
    read_perms = write_perms = ["matching.change_matchcandidate"]

    @extend_schema(request=MatchDecisionSerializer, responses=MatchCandidateSerializer)
    def post(self, request: Request, candidate_id: int) -> Response:
        body = validated(MatchDecisionSerializer, request.data)
        _candidate_domain(request.user, candidate_id)
        candidate = match_candidate_decide(candidate_id=candidate_id, decision=body["decision"],
                                           actor=request.user, comment=body["comment"])
        return Response(MatchCandidateSerializer(candidate).data)


class MatchCandidateClaimView(APIView):
    """Claim a pair so no other steward takes it (or, as ``release/``, give it back)."""

    permission_classes = [HasModelPerms]
    read_perms = write_perms = ["matching.change_matchcandidate"]
    release = False

    @extend_schema(request=None, responses=MatchCandidateSerializer)
    def post(self, request: Request, candidate_id: int) -> Response:
        _candidate_domain(request.user, candidate_id)
        candidate = match_candidate_claim(candidate_id=candidate_id, actor=request.user,
                                          release=self.release)
        return Response(MatchCandidateSerializer(candidate).data)


class MatchRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = MatchRule
        fields = ["domain", "version", "blocking_keys", "comparisons", "classifier",
                  "parameters", "auto_merge_weight", "review_weight", "bridge_weight",
                  "max_cluster_size", "max_block_size", "trained_on", "trained_at",
                  "updated_at"]


class MatchRuleDetailView(APIView):
    permission_classes = [HasModelPerms]
    read_perms = ["matching.view_matchrule"]

    @extend_schema(responses=MatchRuleSerializer)
    def get(self, request: Request, domain: str) -> Response:
        return Response(MatchRuleSerializer(match_rule_for(_domain_param(domain))).data)


class TrainSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=[ECM, LABELS], default=ECM)
    max_pairs = serializers.IntegerField(min_value=100, max_value=5_000_000, default=200_000)


class MatchRuleTrainView(APIView):
    """Estimate the rule's parameters from the data (ECM) or the stewards' decisions."""

    permission_classes = [HasModelPerms]
    read_perms = write_perms = ["matching.change_matchrule"]

    @extend_schema(request=TrainSerializer, responses=MatchRuleSerializer)
    def post(self, request: Request, domain: str) -> Response:
        body = validated(TrainSerializer, request.data)
        rule = match_rule_train(domain=_domain_param(domain), method=body["method"],
                                max_pairs=body["max_pairs"], actor=request.user)
        return Response(MatchRuleSerializer(rule).data)


class RematchRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RematchRun
        fields = ["id", "domain", "rule_version", "dry_run", "status", "partitions",
                  "partitions_done", "report", "error", "started_at", "finished_at"]


class RematchStartSerializer(serializers.Serializer):
    domain = serializers.ChoiceField(choices=list(DOMAINS))
    dry_run = serializers.BooleanField(default=True)
    partitions = serializers.IntegerField(min_value=1, max_value=256, default=4)


class RematchRunListView(APIView):
    """Start a bulk re-match (a dry run unless ``dry_run`` is false), or list runs."""

    permission_classes = [HasModelPerms]
    read_perms = ["matching.view_rematchrun"]
    write_perms = ["matching.add_rematchrun"]

    @extend_schema(responses=RematchRunSerializer(many=True))
    def get(self, request: Request) -> Response:
        runs = rematch_runs_list(domain=request.query_params.get("domain", ""))[:50]
        return Response(RematchRunSerializer(runs, many=True).data)

    @extend_schema(request=RematchStartSerializer, responses={202: RematchRunSerializer})
    def post(self, request: Request) -> Response:
        body = validated(RematchStartSerializer, request.data)
        if not may_act_on_domain(request.user, body["domain"]):
            raise Forbidden(f"You steward other domains, not {body['domain']}.")
        run = rematch_start(domain=body["domain"], dry_run=body["dry_run"],
                            partitions=body["partitions"], actor=request.user)
        return Response(RematchRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RematchRunDetailView(APIView):
    permission_classes = [HasModelPerms]
    read_perms = ["matching.view_rematchrun"]

    @extend_schema(responses=RematchRunSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        run = rematch_runs_list().filter(pk=run_id).first()
        if run is None:
            raise NotFound(f"re-match run {run_id} does not exist")
        return Response(RematchRunSerializer(run).data)
