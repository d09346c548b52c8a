from django.apps import AppConfig


class PostureConfig(AppConfig):
    name = "posture"
    verbose_name = "Posture"

    def ready(self) -> None:
        from posture import lifecycle_checks, signals, system_checks  # noqa: F401  (register)
