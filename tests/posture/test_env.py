"""The typed environment readers refuse bad values with a message naming the variable."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from posture.site import env


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("YES", True),
                                                  ("off", False), ("0", False), ("", False)])
def test_boolean(value, expected):
    assert env.boolean("DEBUG", False, {"DEBUG": value}) is expected


def test_boolean_refuses_garbage():
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean"):
        env.boolean("DEBUG", False, {"DEBUG": "maybe"})


def test_integer_bounds():
    assert env.integer("N", 5, environ={"N": " 7 "}) == 7
    with pytest.raises(ImproperlyConfigured, match="N='x' is not an integer"):
        env.integer("N", 5, environ={"N": "x"})
    with pytest.raises(ImproperlyConfigured, match="below the minimum 1"):
        env.integer("N", 5, minimum=1, environ={"N": "0"})
    with pytest.raises(ImproperlyConfigured, match="above the maximum 9"):
        env.integer("N", 5, maximum=9, environ={"N": "10"})


def test_csv():
    assert env.csv("HOSTS", ["a"], {"HOSTS": "x.example, y.example"}) == ["x.example", "y.example"]
    assert env.csv("HOSTS", ["a"], {}) == ["a"]
    with pytest.raises(ImproperlyConfigured, match="HOSTS has an empty item"):
        env.csv("HOSTS", [], {"HOSTS": "a,,b"})


def test_time_zone():
    assert env.time_zone("TIME_ZONE", "UTC", {"TIME_ZONE": "Europe/Berlin"}) == "Europe/Berlin"
    with pytest.raises(ImproperlyConfigured, match="not a time zone name"):
        env.time_zone("TIME_ZONE", "UTC", {"TIME_ZONE": "Mars/Olympus"})


@pytest.mark.threat('Secrets printed by configuration errors',
                     'Configuration errors name the variable, never echo secret values')
def test_url_scheme_is_checked_without_echoing_the_value():
    with pytest.raises(ImproperlyConfigured) as refused:
        env.url("DATABASE_URL", "", ("postgresql",), {"DATABASE_URL": "mysql://u:s3cret@h/db"})
    assert "postgresql://" in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_file_variant_reads_a_mounted_secret(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    assert env.raw("POSTURE_SECRET_KEY", {"POSTURE_SECRET_KEY_FILE": str(secret)}) == "from-a-file"
    # The plain variable wins over the file.
    assert env.raw("POSTURE_SECRET_KEY", {"POSTURE_SECRET_KEY": "direct",
                                          "POSTURE_SECRET_KEY_FILE": str(secret)}) == "direct"


def test_unreadable_file_variant_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="POSTURE_SECRET_KEY_FILE=.* cannot be read"):
        env.raw("POSTURE_SECRET_KEY", {"POSTURE_SECRET_KEY_FILE": str(tmp_path / "missing")})


def test_fernet_keys():
    one, two = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert env.fernet_keys("K", {"K": f"{one},{two}"}) == [one, two]
    with pytest.raises(ImproperlyConfigured, match="key #2 is not a Fernet key"):
        env.fernet_keys("K", {"K": f"{one},not-a-key"})


@given(st.text())
def test_boolean_either_parses_or_refuses_clearly(value):
    try:
        env.boolean("FLAG", False, {"FLAG": value})
    except ImproperlyConfigured as refused:
        assert str(refused).startswith("FLAG=")
