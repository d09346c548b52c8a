from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "posture.oidc"
    label = "oidc"
    verbose_name = "Single sign-on"
