"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from posture.site.heap import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")

application = get_wsgi_application()
# Full garbage collections then skip what start-up made (posture.site.heap says why).
freeze_startup_objects()
