"""Personas and shared fixtures.

``alice`` owns cluster A, ``bob`` owns cluster B, ``sam`` is on the security team (sees and
administers all), ``ava`` is an auditor (reads all, changes nothing), ``anon`` is logged out.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import ClusterFactory, UserFactory

# Personas are created in nearly every test; the production hasher is deliberately slow.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def sam(db):
    from django.contrib.auth.models import Group

    from clusters.access import SECURITY_TEAM

    user = UserFactory(username="sam")
    # get_or_create: transactional tests flush the groups the data migration made.
    user.groups.add(Group.objects.get_or_create(name=SECURITY_TEAM)[0])
    return user


@pytest.fixture
def ava(db):
    from django.contrib.auth.models import Group

    from clusters.access import AUDITORS

    user = UserFactory(username="ava")
    user.groups.add(Group.objects.get_or_create(name=AUDITORS)[0])
    return user


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
def as_ava(ava) -> Client:
    return _client_for(ava)


@pytest.fixture
def anon() -> Client:
    return Client()


@pytest.fixture
def emulate():
    """Start emulated clusters by scenario name; all are stopped after the test."""
    from emulator import start_emulator

    running = []

    def start(scenario: str, **kwargs):
        emulator = start_emulator(scenario, port=0, **kwargs)
        running.append(emulator)
        return emulator

    yield start
    for emulator in running:
        emulator.stop()


def pytest_addoption(parser):
    parser.addoption("--threat-report", default=None,
                     help="write the tests marked threat(...) to this JSON file (docs/security.md)")


def pytest_collection_modifyitems(config, items):
    path = config.getoption("--threat-report")
    if not path:
        return
    import json

    entries = []
    for item in items:
        for mark in item.iter_markers("threat"):
            threat, defence = mark.args
            test = item.nodeid.split("[")[0]
            entries.append({"threat": threat, "defence": defence, "test": test})
    with open(path, "w") as handle:
        json.dump(entries, handle)
