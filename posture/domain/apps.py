from django.apps import AppConfig


class PostureConfig(AppConfig):
    """The domain: snapshots, findings, scores, waivers, digest, audit and their tasks.

    The label stays ``posture`` so its tables and migrations keep their names.
    """

    name = "posture.domain"
    label = "posture"
    verbose_name = "Posture"

    def ready(self) -> None:
        from posture.domain import signals  # noqa: F401  (register)
