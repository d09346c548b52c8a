"""What counts as a secret-looking key or value."""

import pytest

from posture.checks.secrets import looks_secret, name_looks_secret, value_looks_secret


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "password",
        "MYSQL_ROOT_PASSWD",
        "dbPassword",
        "API_TOKEN",
        "api-token",
        "AWS_SECRET_ACCESS_KEY",
        "client_secret",
        "SIGNING_KEY",
        "apiKey",
        "API_KEY",
        "STRIPE_API_KEY",
        "REGISTRY_CREDENTIALS",
        "tls.key",
        "GITHUB_TOKEN",
    ],
)
def test_secret_names(name: str) -> None:
    assert name_looks_secret(name)
    assert looks_secret(name, "s3cr3t-value")


@pytest.mark.parametrize(
    "name",
    [
        "KEYCLOAK_URL",
        "MONKEY",
        "PASSWORD_FILE",
        "TOKEN_PATH",
        "SECRET_NAME",
        "PUBLIC_KEY",
        "KEY_ID",
        "LOG_LEVEL",
        "TOKEN_TTL",
        "key",
        "HOSTNAME",
        "TOKENIZER_MODEL_URL",
        "SSH_PUBLIC_KEY",
        "SECRET_REF",
    ],
)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not name_looks_secret(name)


def test_empty_values_and_references_are_not_secrets() -> None:
    assert not looks_secret("DB_PASSWORD", "")
    assert not looks_secret("DB_PASSWORD", "   ")
    assert not looks_secret("DB_PASSWORD", "$(PASSWORD_FROM_SECRET)")


@pytest.mark.parametrize(
    "value",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "key=ASIAY34FZKBOKMUTVV7A;",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        '{"type": "service_account", "private_key": "..."}',
        "ghp_" + "a1" * 18,
        "github_pat_" + "A" * 30,
        "xoxb-123456789012-abcdefghij",
    ],
)
def test_credential_shaped_values_under_any_name(value: str) -> None:
    assert value_looks_secret(value)
    assert looks_secret("CONFIG", value)


@pytest.mark.parametrize(
    "value",
    ["AKIA123", "-----BEGIN CERTIFICATE-----", "ghp_short", "https://example.com", "true"],
)
def test_ordinary_values_are_not_credentials(value: str) -> None:
    assert not value_looks_secret(value)
    assert not looks_secret("SETTING", value)


def test_huge_values_are_searched_in_their_head_only() -> None:
    assert not value_looks_secret("x" * 70_000 + "AKIAIOSFODNN7EXAMPLE")
    assert value_looks_secret("AKIAIOSFODNN7EXAMPLE\n" + "x" * 70_000)
