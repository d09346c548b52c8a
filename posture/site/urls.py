"""The root URLs: the site's pages and API (``posture.web.urls``) and Django's admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("posture.web.urls")),
    path("admin/", admin.site.urls),
]
