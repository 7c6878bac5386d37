"""Operations pages: quarantine, deliveries, notifications and imports (one module each)."""

from mdm.ui.views import ops_deliveries, ops_imports, ops_notifications, ops_quarantine

urlpatterns = [
    *ops_quarantine.urlpatterns,
    *ops_deliveries.urlpatterns,
    *ops_notifications.urlpatterns,
    *ops_imports.urlpatterns,
]
