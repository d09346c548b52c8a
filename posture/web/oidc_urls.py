from django.urls import path

from posture.web.views import sign_in as views

app_name = "oidc"
urlpatterns = [
    path("login/", views.StartView.as_view(), name="login"),
    path("callback/", views.CallbackView.as_view(), name="callback"),
]
