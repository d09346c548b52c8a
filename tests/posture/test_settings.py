"""Settings as a fresh process sees them: embedded defaults, configured services, refusals."""

import os
import subprocess
import sys

PRINT = ("from django.conf import settings as s; "
         "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND)")


def run(tmp_path, **env):
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "CELERY_", "POSTURE_", "EMAIL_URL", "DEBUG"))}
    base.update({"POSTURE_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "posture.site.settings"})
    base.update(env)
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {PRINT}"],
                          capture_output=True, text=True, env=base, timeout=60)


def test_embedded_defaults_need_no_services(tmp_path):
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    engine, broker, mail = done.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert mail.endswith("filebased.EmailBackend")
    # The embedded keys are kept beside the data, owner-only.
    assert oct((tmp_path / "embedded-secrets.json").stat().st_mode & 0o777) == "0o600"


def test_configured_services_are_used(tmp_path):
    from cryptography.fernet import Fernet

    done = run(tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:5432/posture",
               CELERY_BROKER_URL="redis://127.0.0.1:6379/3", POSTURE_SECRET_KEY="x" * 50,
               POSTURE_KUBECONFIG_KEYS=Fernet.generate_key().decode(),
               EMAIL_URL="smtp://mail.example:587/?tls=True")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["django.db.backends.postgresql", "redis://127.0.0.1:6379/3",
                                   "django.core.mail.backends.smtp.EmailBackend"]


def test_production_without_keys_refuses_to_start(tmp_path):
    done = run(tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:5432/posture")
    assert done.returncode != 0
    assert "POSTURE_SECRET_KEY (or POSTURE_SECRET_KEY_FILE) must be set" in done.stderr


def test_bad_value_names_the_variable(tmp_path):
    done = run(tmp_path, DEBUG="perhaps")
    assert done.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in done.stderr


def test_bad_broker_url_is_refused(tmp_path):
    done = run(tmp_path, CELERY_BROKER_URL="http://localhost")
    assert "CELERY_BROKER_URL must be a URL starting with one of redis://" in done.stderr


def test_manage_py_check_is_clean():
    done = subprocess.run([sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_an_alert_lease_shorter_than_two_timeouts_is_refused(tmp_path):
    done = run(tmp_path, POSTURE_ALERT_LEASE_SECONDS="15", POSTURE_ALERT_TIMEOUT_SECONDS="10")
    assert done.returncode != 0
    assert "POSTURE_ALERT_LEASE_SECONDS=15 must be more than twice" in done.stderr
