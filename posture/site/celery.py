"""The Celery app. Configuration lives in ``posture.site.settings`` (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")

app = Celery("posture")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
