from django.apps import AppConfig


class SiteConfig(AppConfig):
    """Site wiring: registers the start-up system checks."""

    name = "posture.site"
    label = "site"
    verbose_name = "Site"

    def ready(self) -> None:
        from posture.site import configuration_checks, startup_checks  # noqa: F401  (register)
