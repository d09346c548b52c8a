"""The health probes: /healthz needs nothing, /readyz names the service that does not answer."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from tests.services import OwnRedis, free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert "Set-Cookie" not in response


def test_readyz_is_ok_when_the_database_and_the_broker_answer():
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_probes_answer_any_host_over_plain_http_without_a_login(settings):
    """The kubelet probes the pod's address; Docker probes 127.0.0.1; neither logs in."""
    settings.ALLOWED_HOSTS = ["posture.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/healthz", "/readyz"):
        response = Client().get(path, HTTP_HOST="10.1.2.3:8000")
        assert response.status_code == 200, (path, response.status_code)
    # Everything else still meets the host check.
    assert Client().get("/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_readyz_names_a_broker_that_does_not_answer_quickly(settings):
    port = free_port()  # nothing listens there
    secret = "s3cret-in-the-url"
    settings.CELERY_BROKER_URL = f"redis://:{secret}@127.0.0.1:{port}/0"
    started = time.monotonic()
    response = Client().get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body == {"status": "unavailable", "checks": {"database": "ok", "broker": "failed"},
                    "failed": ["broker"]}
    assert secret not in response.content.decode() and "Traceback" not in json.dumps(body)


def test_readyz_follows_the_broker_down_and_back_up(settings):
    redis = OwnRedis(free_port())
    redis.start()
    settings.CELERY_BROKER_URL = redis.url
    try:
        assert Client().get("/readyz").status_code == 200
        redis.stop()
        assert Client().get("/readyz").json()["failed"] == ["broker"]
        redis.start()
        assert Client().get("/readyz").status_code == 200
    finally:
        redis.stop()


def test_readyz_refuses_other_methods():
    assert Client().post("/readyz").status_code == 405
