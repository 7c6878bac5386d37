"""The web interface's URL map: each view module brings its own ``urlpatterns``."""

from mdm.ui.views import conflicts, dashboard, operations, records, review, session

app_name = "ui"

urlpatterns = [
    *session.urlpatterns,
    *dashboard.urlpatterns,
    *records.urlpatterns,
    *review.urlpatterns,
    *conflicts.urlpatterns,
    *operations.urlpatterns,
]
