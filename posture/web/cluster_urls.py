from django.urls import path

from posture.web.views import cluster_settings as editing
from posture.web.views import clusters as views

app_name = "clusters"

urlpatterns = [
    path("", views.cluster_list, name="list"),
    path("register/", views.cluster_register, name="register"),
    path("<int:pk>/", views.cluster_detail, name="detail"),
    path("<int:pk>/poll/", views.cluster_poll_now, name="poll"),
    path("<int:pk>/settings/", editing.cluster_settings, name="settings"),
    path("<int:pk>/delete/", editing.cluster_delete, name="delete"),
    path("<int:pk>/poll-status/", views.cluster_poll_status, name="poll-status"),
]
