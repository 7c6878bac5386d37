"""Top-level URLs: the steward web UI at /, the API under /api/, Django admin under /admin/."""

from django.contrib import admin
from django.urls import include, path

from mdm.api.urls import urlpatterns as api_docs
from mdm.api.urls import v1

urlpatterns = [
    path("", include("mdm.ui.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(v1)),
    path("api/", include(api_docs)),
]
