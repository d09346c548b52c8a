"""The site's own hardening: headers on every page, and a clean deployment check."""

import os
import subprocess
import sys

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.threat('Cross-site scripting and clickjacking',
                     "CSP with script-src 'self' and frame-ancestors 'none', X-Frame-Options DENY, nosniff, same-origin referrer")
@pytest.mark.threat('Cross-site scripting and clickjacking',
                     "CSP with script-src 'self' and frame-ancestors 'none', X-Frame-Options DENY, nosniff, same-origin referrer")
def test_every_page_carries_the_security_headers(as_alice, cluster_a):
    for url in (reverse("login"), reverse("clusters:list"),
                reverse("clusters:detail", args=[cluster_a.pk])):
        response = as_alice.get(url)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split(
            "script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.threat('Cross-site scripting and clickjacking',
                     "CSP with script-src 'self' and frame-ancestors 'none', X-Frame-Options DENY, nosniff, same-origin referrer")
@pytest.mark.threat('Cross-site scripting and clickjacking',
                     "CSP with script-src 'self' and frame-ancestors 'none', X-Frame-Options DENY, nosniff, same-origin referrer")
def test_pages_have_no_inline_scripts(as_alice, cluster_a):
    """The CSP forbids inline scripts, so none may exist (they would silently not run)."""
    import re

    for url in (reverse("clusters:list"), reverse("clusters:detail", args=[cluster_a.pk]),
                reverse("clusters:register"), reverse("policy")):
        html = as_alice.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert " onclick=" not in html and " onload=" not in html


@pytest.mark.threat('Insecure production configuration',
                     'manage.py check --deploy clean: secure cookies, HSTS, SSL redirect')
def test_deploy_check_is_clean_with_production_settings(tmp_path):
    from cryptography.fernet import Fernet

    env = {**os.environ, "DEBUG": "false", "POSTURE_SECRET_KEY": "k" * 64 + "-Prod-Secret-9f3",
           "POSTURE_KUBECONFIG_KEYS": Fernet.generate_key().decode(),
           "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/posture",
           "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "ALLOWED_HOSTS": "posture.example.com",
           "POSTURE_SSL_REDIRECT": "true", "POSTURE_VAR_DIR": str(tmp_path)}
    env.pop("POSTURE_INSECURE_COOKIES", None)
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                           "WARNING"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.threat('Cross-site request forgery',
                     'CSRF token required on every form')
def test_forms_refuse_posts_without_a_csrf_token(alice, cluster_a):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for url in (reverse("clusters:register"), reverse("clusters:poll", args=[cluster_a.pk]),
                reverse("policy"), reverse("clusters:delete", args=[cluster_a.pk])):
        assert client.post(url, {}).status_code == 403, url
