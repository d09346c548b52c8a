from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "posture.domain.oidc"
    label = "oidc"
    verbose_name = "Single sign-on"
