from django.apps import AppConfig


class WebConfig(AppConfig):
    """Pages and the JSON API: its template tags and the ``create_api_token`` command."""

    name = "posture.web"
    label = "web"
    verbose_name = "Pages and API"
