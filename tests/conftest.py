"""Personas and shared fixtures.

``alice`` owns cluster A, ``bob`` owns cluster B, ``sam`` is on the security team (sees all),
``anon`` is logged out.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ClusterFactory, UserFactory


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def sam(db):
    return UserFactory(username="sam", is_staff=True)


@pytest.fixture
def cluster_a(alice):
    return ClusterFactory(name="cluster-a", owners=[alice])


@pytest.fixture
def cluster_b(bob):
    return ClusterFactory(name="cluster-b", owners=[bob])


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_alice(alice) -> Client:
    return _client_for(alice)


@pytest.fixture
def as_bob(bob) -> Client:
    return _client_for(bob)


@pytest.fixture
def as_sam(sam) -> Client:
    return _client_for(sam)


@pytest.fixture
def anon() -> Client:
    return Client()
