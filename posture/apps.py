from django.apps import AppConfig


class PostureConfig(AppConfig):
    name = "posture"
    verbose_name = "Posture"

    def ready(self) -> None:
        from posture import system_checks  # noqa: F401  (registers Django system checks)
