"""Site wiring: settings, root URLs, the Celery app, WSGI, middleware and start-up checks."""

# Loading the settings loads the Celery app, so the domain's shared tasks bind to it in every
# process (web, worker, beat, commands).
from posture.site.celery import app as celery_app

__all__ = ["celery_app"]
