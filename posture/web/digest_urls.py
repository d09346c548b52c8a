"""The weekly digest's pages: preferences and the signed one-click unsubscribe."""

from django.urls import path

from posture.web.views import digest

app_name = "digest"

urlpatterns = [
    path("", digest.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", digest.unsubscribe, name="unsubscribe"),
]
