"""The API's URL map (``/api/v1/...``), its schema and docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken

from mdm.golden.api import (
    GoldenMergeView,
    GoldenRecordDetailView,
    GoldenRecordHistoryView,
    GoldenRecordListView,
    GoldenRevertView,
    GoldenUnmergeView,
)
from mdm.matching.api import (
    MatchCandidateClaimView,
    MatchCandidateDecideView,
    MatchCandidateDetailView,
    MatchCandidateListView,
    MatchRuleDetailView,
    MatchRuleTrainView,
    RematchRunDetailView,
    RematchRunListView,
)
from mdm.publishing.api import (
    SubscriptionAckView,
    SubscriptionAdviceView,
    SubscriptionChangesView,
    SubscriptionDeliveriesView,
    SubscriptionLagView,
    SubscriptionReconcileView,
    SubscriptionReplayView,
)
from mdm.sources.api import QuarantineListView, QuarantineReprocessView, SourceRecordsIngestView
from mdm.stewardship.api import (
    ChangeRequestDecideView,
    ChangeRequestListView,
    ConflictBulkResolveView,
    ConflictListView,
    ConflictResolveView,
    NotificationListView,
)

v1 = [
    path("auth/token/", ObtainAuthToken.as_view(), name="auth-token"),
    path("sources/<slug:code>/records/", SourceRecordsIngestView.as_view(), name="ingest"),
    path("quarantine/", QuarantineListView.as_view(), name="quarantine"),
    path("quarantine/reprocess/", QuarantineReprocessView.as_view(), name="quarantine-reprocess"),
    path("golden/<str:domain>/", GoldenRecordListView.as_view(), name="golden-list"),
    path("golden/<str:domain>/merge/", GoldenMergeView.as_view(), name="golden-merge"),
    path("golden/<str:domain>/<str:golden_id>/unmerge/", GoldenUnmergeView.as_view(),
         name="golden-unmerge"),
    path("golden/<str:domain>/<str:golden_id>/revert/", GoldenRevertView.as_view(),
         name="golden-revert"),
    path("golden/<str:domain>/<str:golden_id>/", GoldenRecordDetailView.as_view(),
         name="golden-detail"),
    path("golden/<str:domain>/<str:golden_id>/history/", GoldenRecordHistoryView.as_view(),
         name="golden-history"),
    path("match-candidates/", MatchCandidateListView.as_view(), name="match-candidates"),
    path("match-candidates/<int:candidate_id>/", MatchCandidateDetailView.as_view(),
         name="match-candidate"),
    path("match-candidates/<int:candidate_id>/decision/", MatchCandidateDecideView.as_view(),
         name="match-candidate-decision"),
    path("match-candidates/<int:candidate_id>/claim/", MatchCandidateClaimView.as_view(),
         name="match-candidate-claim"),
    path("match-candidates/<int:candidate_id>/release/",
         MatchCandidateClaimView.as_view(release=True), name="match-candidate-release"),
    path("matching/rules/<str:domain>/", MatchRuleDetailView.as_view(), name="match-rule"),
    path("matching/rules/<str:domain>/train/", MatchRuleTrainView.as_view(),
         name="match-rule-train"),
    path("matching/rematch/", RematchRunListView.as_view(), name="rematch-runs"),
    path("matching/rematch/<int:run_id>/", RematchRunDetailView.as_view(), name="rematch-run"),
    path("conflicts/", ConflictListView.as_view(), name="conflicts"),
    path("conflicts/bulk-resolve/", ConflictBulkResolveView.as_view(),
         name="conflicts-bulk-resolve"),
    path("conflicts/<int:conflict_id>/resolve/", ConflictResolveView.as_view(),
         name="conflict-resolve"),
    path("change-requests/", ChangeRequestListView.as_view(), name="change-requests"),
    path("change-requests/<int:change_request_id>/approve/",
         ChangeRequestDecideView.as_view(approve=True), name="change-request-approve"),
    path("change-requests/<int:change_request_id>/reject/",
         ChangeRequestDecideView.as_view(approve=False), name="change-request-reject"),
    path("notifications/", NotificationListView.as_view(), name="notifications"),
    path("subscriptions/<int:subscription_id>/changes/", SubscriptionChangesView.as_view(),
         name="subscription-changes"),
    path("subscriptions/<int:subscription_id>/ack/", SubscriptionAckView.as_view(),
         name="subscription-ack"),
    path("subscriptions/<int:subscription_id>/deliveries/", SubscriptionDeliveriesView.as_view(),
         name="subscription-deliveries"),
    path("subscriptions/<int:subscription_id>/replay/", SubscriptionReplayView.as_view(),
         name="subscription-replay"),
    path("subscriptions/<int:subscription_id>/lag/", SubscriptionLagView.as_view(),
         name="subscription-lag"),
    path("subscriptions/<int:subscription_id>/reconcile/", SubscriptionReconcileView.as_view(),
         name="subscription-reconcile"),
    path("subscriptions/<int:subscription_id>/advice/", SubscriptionAdviceView.as_view(),
         name="subscription-advice"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
