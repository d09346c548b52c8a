from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development tools: the demo's commands, synthetic history and the cluster emulator."""

    name = "posture.devtools"
    label = "devtools"
    verbose_name = "Development tools"
