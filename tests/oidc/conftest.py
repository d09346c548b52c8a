"""A real OpenID provider for this folder's tests, which drive Posture with Django's client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oidc.fixtures import signing_in_with, start_provider
from tests.oidc.provider import OpenIdProvider

# Django's test client speaks to Posture as this host.
BASE_URL = "http://testserver"


@pytest.fixture(scope="package")
def provider(tmp_path_factory) -> Iterator[OpenIdProvider]:
    running = start_provider(tmp_path_factory.mktemp("provider"), BASE_URL)
    yield running
    running.stop()


@pytest.fixture
def sso(settings, provider, db) -> Iterator[OpenIdProvider]:
    with signing_in_with(settings, provider):
        yield provider
