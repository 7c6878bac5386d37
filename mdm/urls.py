"""Top-level URLs: the API under /api/, Django admin under /admin/."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from mdm.api.urls import urlpatterns as api_docs
from mdm.api.urls import v1

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(v1)),
    path("api/", include(api_docs)),
]
