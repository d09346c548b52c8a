from django.urls import path

from clusters import views

app_name = "clusters"

urlpatterns = [
    path("", views.cluster_list, name="list"),
    path("register/", views.cluster_register, name="register"),
    path("<int:pk>/", views.cluster_detail, name="detail"),
    path("<int:pk>/poll/", views.cluster_poll_now, name="poll"),
    path("<int:pk>/poll-status/", views.cluster_poll_status, name="poll-status"),
]
