from django.urls import path

from clusters import views

app_name = "clusters"

urlpatterns = [
    path("", views.cluster_list, name="list"),
    path("register/", views.cluster_register, name="register"),
    path("<int:pk>/", views.cluster_detail, name="detail"),
]
