"""The single sign-on settings: what is required, what is refused, and the defaults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from posture.domain.oidc.provider import LocalLogin
from posture.site.oidc import from_environment, local_login

BASE = {
    "POSTURE_OIDC_ISSUER": "https://login.example.com/realms/posture",
    "POSTURE_OIDC_CLIENT_ID": "posture",
    "POSTURE_OIDC_CLIENT_SECRET": "s3cret-value-never-echoed",
}


def test_off_without_an_issuer_and_local_login_stays_on():
    assert from_environment({}) is None
    assert local_login(None, {}) is LocalLogin.ON


def test_an_issuer_turns_it_on_and_local_login_becomes_break_glass_only():
    oidc = from_environment(BASE)
    assert oidc is not None and oidc.issuer == BASE["POSTURE_OIDC_ISSUER"]
    assert oidc.scopes == "openid email profile" and oidc.groups_claim == "groups"
    assert oidc.signing_algorithms == ("RS256",) and oidc.origin == "https://login.example.com"
    assert local_login(oidc, {}) is LocalLogin.SUPERUSERS
    assert local_login(oidc, {"POSTURE_LOCAL_LOGIN": "off"}) is LocalLogin.OFF
    assert local_login(oidc, {"POSTURE_LOCAL_LOGIN": "ON"}) is LocalLogin.ON


def test_groups_map_from_comma_separated_lists():
    oidc = from_environment({**BASE, "POSTURE_OIDC_GROUP_SECURITY_TEAM": "sec, secops",
                             "POSTURE_OIDC_GROUP_AUDITORS": "audit",
                             "POSTURE_OIDC_TEAM_GROUP_PREFIX": "posture-team-"})
    assert oidc is not None
    assert oidc.security_team_groups == {"sec", "secops"}
    assert oidc.auditor_groups == {"audit"} and oidc.team_group_prefix == "posture-team-"


def test_the_client_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    environ = {**BASE, "POSTURE_OIDC_CLIENT_SECRET_FILE": str(secret)}
    del environ["POSTURE_OIDC_CLIENT_SECRET"]
    oidc = from_environment(environ)
    assert oidc is not None and oidc.client_secret == "from-a-file"


@pytest.mark.parametrize(("changes", "message"), [
    ({"POSTURE_OIDC_ISSUER": "http://login.example.com"}, "must be an https:// URL"),
    ({"POSTURE_OIDC_ISSUER": "ftp://127.0.0.1"}, "must be an https:// URL"),
    ({"POSTURE_OIDC_CLIENT_ID": ""}, "POSTURE_OIDC_CLIENT_ID must be set"),
    ({"POSTURE_OIDC_CLIENT_SECRET": ""}, "POSTURE_OIDC_CLIENT_SECRET"),
    ({"POSTURE_OIDC_SCOPES": "email profile"}, "must include openid"),
    ({"POSTURE_OIDC_SIGNING_ALGORITHMS": "RS256,HS256"}, "HS256 not accepted"),
    ({"POSTURE_OIDC_SIGNING_ALGORITHMS": "none"}, "none not accepted"),
    ({"POSTURE_OIDC_GROUPS_CLAIM": " "}, "may not be empty"),
])
def test_bad_values_stop_start_up_naming_the_variable(changes, message):
    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        from_environment({**BASE, **changes})
    assert BASE["POSTURE_OIDC_CLIENT_SECRET"] not in str(refused.value)


def test_plain_http_is_accepted_only_on_loopback():
    for issuer in ("http://127.0.0.1:9000", "http://localhost:9000/realms/x", "http://[::1]:9"):
        assert from_environment({**BASE, "POSTURE_OIDC_ISSUER": issuer}) is not None


def test_local_login_off_needs_single_sign_on_and_only_known_modes_are_accepted():
    with pytest.raises(ImproperlyConfigured, match="nobody could log in"):
        local_login(None, {"POSTURE_LOCAL_LOGIN": "off"})
    with pytest.raises(ImproperlyConfigured, match="not one of on, superusers, off"):
        local_login(None, {"POSTURE_LOCAL_LOGIN": "admins"})


@pytest.mark.threat('Insecure production configuration',
                    'manage.py check --deploy clean: secure cookies, HSTS, SSL redirect')
def test_deploy_check_is_clean_with_single_sign_on(tmp_path):
    from cryptography.fernet import Fernet

    env = {**os.environ, **BASE, "DEBUG": "false",
           "POSTURE_SECRET_KEY": "k" * 64 + "-Prod-Secret-9f3",
           "POSTURE_KUBECONFIG_KEYS": Fernet.generate_key().decode(),
           "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/posture",
           "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "ALLOWED_HOSTS": "posture.example.com",
           "POSTURE_SSL_REDIRECT": "true", "POSTURE_VAR_DIR": str(tmp_path),
           "POSTURE_OIDC_GROUP_SECURITY_TEAM": "posture-security",
           "POSTURE_OIDC_TEAM_GROUP_PREFIX": "posture-team-", "POSTURE_LOCAL_LOGIN": "off"}
    env.pop("POSTURE_INSECURE_COOKIES", None)
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                           "WARNING"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
