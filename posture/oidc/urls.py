from django.urls import path

from posture.oidc import views

app_name = "oidc"
urlpatterns = [
    path("login/", views.StartView.as_view(), name="login"),
    path("callback/", views.CallbackView.as_view(), name="callback"),
]
