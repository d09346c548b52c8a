"""The root URLs: the health probes, the site's pages and API (``posture.web.urls``) and
Django's admin."""

from django.contrib import admin
from django.urls import include, path

from posture.site import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("posture.web.urls")),
    path("admin/", admin.site.urls),
]

# A database outage raised outside a view becomes the 503 page, not a server error.
handler500 = "posture.site.outage.server_error"
