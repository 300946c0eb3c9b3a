"""URL configuration: the web app at the root, the Django admin (staff) under /admin/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("vertebro.registry.api.urls")),
    path("", include("vertebro.registry.web.urls")),
]

handler403 = "vertebro.registry.web.views.errors.forbidden"
handler404 = "vertebro.registry.web.views.errors.not_found"
