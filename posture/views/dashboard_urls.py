"""The dashboard's pages: fleet overview (home), trends, checklist, findings."""

from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    # Until the fleet overview exists, home is the cluster list.
    path("", RedirectView.as_view(pattern_name="clusters:list"), name="home"),
]
