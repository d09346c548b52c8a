"""Image reference normalisation and label selector matching."""

from __future__ import annotations

import pytest

from posture.checks.images import is_approved, parse_image
from posture.checks.selectors import selects


@pytest.mark.parametrize(
    ("reference", "name", "tag", "digest"),
    [
        ("nginx", "docker.io/library/nginx", "", ""),
        ("nginx:1.27", "docker.io/library/nginx", "1.27", ""),
        ("bitnami/redis:7", "docker.io/bitnami/redis", "7", ""),
        ("index.docker.io/library/nginx", "docker.io/library/nginx", "", ""),
        ("ghcr.io/acme/app@sha256:abc", "ghcr.io/acme/app", "", "sha256:abc"),
        ("localhost:5000/app:dev", "localhost:5000/app", "dev", ""),
        ("localhost/app", "localhost/app", "", ""),
        ("REGISTRY.example.com/x/y:1@sha256:d", "registry.example.com/x/y", "1", "sha256:d"),
    ],
)
def test_parse_image(reference: str, name: str, tag: str, digest: str) -> None:
    ref = parse_image(reference)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)


def test_floating_and_mutable() -> None:
    assert parse_image("nginx").floating
    assert parse_image("nginx:latest").floating
    assert not parse_image("nginx:latest@sha256:abc").floating
    assert parse_image("nginx:1.27").mutable
    assert not parse_image("nginx@sha256:abc").mutable


def test_approved_registries_match_hosts_and_path_prefixes() -> None:
    assert is_approved(parse_image("nginx"), ("docker.io",))
    assert is_approved(parse_image("nginx"), ("index.docker.io",))
    assert is_approved(parse_image("ghcr.io/acme/app:1"), ("ghcr.io/acme",))
    assert not is_approved(parse_image("ghcr.io/acmeevil/app:1"), ("ghcr.io/acme",))
    assert not is_approved(parse_image("ghcr.io.evil.com/app"), ("ghcr.io",))


LABELS = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({}, True),
        ({"matchLabels": {"app": "web"}}, True),
        ({"matchLabels": {"app": "db"}}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, False),
        ({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["a"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Bogus"}]}, False),
        ({"matchLabels": {"app": 1}}, False),
        ({"matchLabels": "app"}, False),
        ({"matchExpressions": "x"}, False),
        ({"matchExpressions": [None]}, False),
        ("x", False),
        (None, False),
    ],
)
def test_selects(selector: object, expected: bool) -> None:
    assert selects(selector, LABELS) is expected
