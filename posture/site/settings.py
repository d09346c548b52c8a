"""Posture's settings: one module, driven by environment variables (see docs/configuration.md).

With nothing set, Posture runs *embedded*: a SQLite file and a filesystem Celery broker under
``var/``, so the demo needs nothing but Python. With ``DATABASE_URL`` and ``CELERY_BROKER_URL`` it
uses PostgreSQL and Redis. Every value goes through a typed reader in ``posture.site.env`` that
refuses bad input with a message naming the variable.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import dj_email_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from posture.site import env
from posture.site import oidc as oidc_config

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env.string("POSTURE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.boolean("DEBUG", False)
EMBEDDED = env.raw("DATABASE_URL") is None


def _embedded_secrets() -> dict[str, str]:
    """Return the secret key and a kubeconfig key for an embedded (single-machine) install.

    They are made once and kept in ``var/`` beside the SQLite database they protect, readable by
    the owner only. A deployment with ``DATABASE_URL`` must set both variables instead: keeping
    the key beside the data would make the encryption pointless there.
    """
    path = VAR_DIR / "embedded-secrets.json"
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        pass
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    made = {
        "secret_key": secrets.token_urlsafe(50),
        "kubeconfig_key": Fernet.generate_key().decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(made, handle)
    return made


_secret_key = env.raw("POSTURE_SECRET_KEY")
_kubeconfig_keys = env.fernet_keys("POSTURE_KUBECONFIG_KEYS")
if EMBEDDED and (_secret_key is None or not _kubeconfig_keys):
    _local = _embedded_secrets()
    _secret_key = _secret_key or _local["secret_key"]
    _kubeconfig_keys = _kubeconfig_keys or [_local["kubeconfig_key"]]
if not _secret_key:
    raise ImproperlyConfigured("POSTURE_SECRET_KEY (or POSTURE_SECRET_KEY_FILE) must be set")
if not _kubeconfig_keys:
    raise ImproperlyConfigured(
        "POSTURE_KUBECONFIG_KEYS (or POSTURE_KUBECONFIG_KEYS_FILE) must be set: comma-separated "
        "Fernet keys, the first one encrypts"
    )
SECRET_KEY = _secret_key
# Newest first: MultiFernet encrypts with the first and decrypts with any (key rotation).
POSTURE_KUBECONFIG_KEYS = _kubeconfig_keys

ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.csv("CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = env.time_zone("TIME_ZONE", "UTC")
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Its widget templates, which templates/django/forms/ overrides (see FORM_RENDERER).
    "django.forms",
    # Layers, top to bottom (docs/architecture.md): site wiring, pages and API, the domain (app
    # label "posture": its tables keep their names), the cluster registry.
    "posture.site.apps.SiteConfig",
    "posture.web.apps.WebConfig",
    "posture.devtools.apps.DevtoolsConfig",
    "posture.domain.apps.PostureConfig",
    "posture.domain.oidc.apps.OidcConfig",  # single sign-on: provider identities
    "clusters.apps.ClustersConfig",
]

MIDDLEWARE = [
    # The health probes, answered before the host check, the HTTPS redirect and the session.
    "posture.site.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "posture.site.middleware.SecurityHeadersMiddleware",
    # Outermost of those that can touch the database: a view's OperationalError becomes a 503.
    "posture.site.outage.DatabaseOutageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "posture.site.middleware.CurrentRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "posture.site.urls"
WSGI_APPLICATION = "posture.site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Every template shows cluster text through these filters (untrusted, visible, exact).
            "builtins": ["posture.web.templatetags.untrusted"],
        },
    },
]
# Form widgets render through the templates above, so templates/django/forms/widgets/ can keep
# field values exact and labels visible (the ``exact`` and ``untrusted`` filters).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES: dict[str, Any] = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "posture.sqlite3",
            # The web server, worker and beat share one file: wait for the lock, don't fail.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
else:
    _database_url = env.url("DATABASE_URL", "", ("postgres", "postgresql", "sqlite"))
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    # The database the test runner creates; distinct names let test runs share a server.
    DATABASES["default"]["TEST"] = {"NAME": env.string("DATABASE_TEST_NAME", "test_posture")}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # A database that does not answer fails a request (and /readyz) in seconds, not when
        # the kernel gives up on the TCP handshake minutes later.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env.integer("POSTURE_DATABASE_CONNECT_TIMEOUT", 3, minimum=1))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling: this many failures for one user name or address within the window locks
# further attempts for the rest of the window.
POSTURE_LOGIN_MAX_FAILURES = env.integer("POSTURE_LOGIN_MAX_FAILURES", 5, minimum=1)
POSTURE_LOGIN_LOCKOUT_SECONDS = env.integer("POSTURE_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Single sign-on with an OpenID provider (posture/domain/oidc/), off unless POSTURE_OIDC_ISSUER is
# set; POSTURE_LOCAL_LOGIN says who may still log in with a password (on/superusers/off).
POSTURE_OIDC = oidc_config.from_environment()
POSTURE_LOCAL_LOGIN = oidc_config.local_login(POSTURE_OIDC)
AUTHENTICATION_BACKENDS = [
    "posture.domain.oidc.backends.LocalPasswordBackend",
    "posture.domain.oidc.backends.OidcBackend",
]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "posture.site.staticfinders.PlotlyFinder",  # vendor/plotly.min.js from the plotly package
]
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Cookies and transport: strict by default; POSTURE_INSECURE_COOKIES=true for plain-HTTP setups
# such as the local demo.
_secure_cookies = not env.boolean("POSTURE_INSECURE_COOKIES", DEBUG or EMBEDDED)
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.integer("POSTURE_SESSION_SECONDS", 8 * 3600, minimum=300)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env.integer(
    "POSTURE_HSTS_SECONDS", 31536000 if _secure_cookies else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("POSTURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.boolean("POSTURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env.boolean("POSTURE_SSL_REDIRECT", False)
# Probes come over plain HTTP from the kubelet or Docker: a redirect to https would fail them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Submitting a domain to the browsers' HSTS preload list binds every subdomain for good: an
# organisation's decision, not Posture's, so the reminder (security.W021) is silenced.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if env.boolean("POSTURE_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Mail: EMAIL_URL such as smtp://user:pass@host:587/?tls=True; embedded default writes to var/mail.
_email_url = env.raw("EMAIL_URL")
if _email_url is None:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
else:
    _email = dj_email_url.parse(env.url("EMAIL_URL", "", tuple(dj_email_url.SCHEMES)))
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
    EMAIL_PORT = _email["EMAIL_PORT"] or 25
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
    EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 30
    EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "posture@localhost")
POSTURE_BASE_URL = env.string("POSTURE_BASE_URL", "http://127.0.0.1:8000")
# Bearer token Prometheus sends to /metrics; unset turns the endpoint off.
POSTURE_METRICS_TOKEN = env.string("POSTURE_METRICS_TOKEN", "")

# Celery. Embedded default: kombu's filesystem transport, which needs no server.
_broker_url = env.raw("CELERY_BROKER_URL")
if _broker_url is None:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables; kombu's default is ./control, in whatever directory the process runs.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_URL = env.url("CELERY_BROKER_URL", "", ("redis", "rediss", "amqp", "amqps"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# The UI reads rows (Snapshot), never Celery results: no result backend.
CELERY_TASK_IGNORE_RESULT = True
# Queue name: separate Posture installations (or test runs) sharing one Redis.
CELERY_TASK_DEFAULT_QUEUE = env.string("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "posture.site.beat.HeartbeatScheduler"
# Touched by every beat tick; the liveness probe of beat checks its age (docs/operations.md).
POSTURE_BEAT_HEARTBEAT_FILE = env.string("POSTURE_BEAT_HEARTBEAT_FILE",
                                         str(VAR_DIR / "beat-heartbeat"))
# A broker outage must not end a worker or beat: they reconnect for as long as it lasts (kombu
# backs off to one attempt every few seconds), at start-up too, and a worker keeps its running
# tasks meanwhile. Messages taken but not acknowledged come back after the visibility timeout.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Polls running when the broker connection drops go on and record their snapshots; should the
# message come back, the poll lease and the schedule keep the cluster from being polled twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False

from posture.domain.schedule import beat_schedule  # noqa: E402  (needs TIME_ZONE above)

CELERY_BEAT_SCHEDULE = beat_schedule(env.raw)

# Snapshot node detail and failed-poll rows older than this are pruned (aggregates stay).
POSTURE_RETENTION_DAYS = env.integer("POSTURE_RETENTION_DAYS", 90, minimum=1)

# Polling.
POSTURE_ALLOW_LINK_LOCAL = env.boolean("POSTURE_ALLOW_LINK_LOCAL", False)
POSTURE_POLL_INTERVAL_DEFAULT = env.integer("POSTURE_POLL_INTERVAL_MINUTES", 15, minimum=1)
POSTURE_POLL_CONNECT_TIMEOUT = env.integer("POSTURE_POLL_CONNECT_TIMEOUT", 10, minimum=1)
POSTURE_POLL_READ_TIMEOUT = env.integer("POSTURE_POLL_READ_TIMEOUT", 30, minimum=1)
# A poll claim older than this is taken to belong to a dead worker and may be taken over.
POSTURE_POLL_LEASE_SECONDS = env.integer("POSTURE_POLL_LEASE_SECONDS", 600, minimum=1)
# First retry delay after a transient failure; each further retry waits four times longer.
POSTURE_POLL_RETRY_SECONDS = env.integer("POSTURE_POLL_RETRY_SECONDS", 30, minimum=0)
# Largest answer read from a cluster (one list page); a larger one is refused as it streams in.
POSTURE_POLL_MAX_PAGE_BYTES = env.integer(
    "POSTURE_POLL_MAX_PAGE_BYTES", 32 * 1024 * 1024, minimum=64 * 1024
)
# Reading a cluster stops after this long however slowly it answers (at most 80% of the lease).
POSTURE_POLL_DEADLINE_SECONDS = env.integer("POSTURE_POLL_DEADLINE_SECONDS", 300, minimum=1)
# List Secrets of type kubernetes.io/service-account-token (metadata only) for the long-lived
# token check. Off by default: it needs the list right on Secrets, which reveals their values
# to whoever holds the reader's token, so an operator must choose it.
POSTURE_READ_TOKEN_SECRETS = env.boolean("POSTURE_READ_TOKEN_SECRETS", False)
# Cluster servers on loopback and private addresses are allowed by default (most clusters are
# private); link-local ones are not (POSTURE_ALLOW_LINK_LOCAL). Checked after DNS resolution.
POSTURE_ALLOW_LOOPBACK = env.boolean("POSTURE_ALLOW_LOOPBACK", True)
POSTURE_ALLOW_PRIVATE_NETWORKS = env.boolean("POSTURE_ALLOW_PRIVATE_NETWORKS", True)

# Alerts (docs/alerts.md): a webhook's answer is awaited this long; a claimed delivery whose
# worker died is claimable again after the lease; failures retry with doubling waits from the
# first, up to the attempts allowed. Plain-http webhook URLs are refused unless allowed.
POSTURE_ALERT_TIMEOUT_SECONDS = env.integer("POSTURE_ALERT_TIMEOUT_SECONDS", 10, minimum=1)
POSTURE_ALERT_LEASE_SECONDS = env.integer("POSTURE_ALERT_LEASE_SECONDS", 120, minimum=1)
POSTURE_ALERT_RETRY_SECONDS = env.integer("POSTURE_ALERT_RETRY_SECONDS", 30, minimum=0)
POSTURE_ALERT_MAX_ATTEMPTS = env.integer("POSTURE_ALERT_MAX_ATTEMPTS", 8, minimum=1)
POSTURE_ALERT_ALLOW_HTTP = env.boolean("POSTURE_ALERT_ALLOW_HTTP", False)
# A worker still waiting for a slow endpoint must not lose its claim to another worker.
if POSTURE_ALERT_LEASE_SECONDS <= 2 * POSTURE_ALERT_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        f"POSTURE_ALERT_LEASE_SECONDS={POSTURE_ALERT_LEASE_SECONDS} must be more than twice "
        f"POSTURE_ALERT_TIMEOUT_SECONDS={POSTURE_ALERT_TIMEOUT_SECONDS} (connect and read)"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    # urllib3 logs request lines at DEBUG; they can carry cluster URLs but never headers.
    "loggers": {"urllib3": {"level": "WARNING"}, "kubernetes": {"level": "WARNING"}},
}
