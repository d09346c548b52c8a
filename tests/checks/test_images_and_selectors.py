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


SHA256 = "sha256:" + "0123456789abcdef" * 4
SHA512 = "sha512:" + "0123456789abcdef" * 8


def test_floating_and_mutable() -> None:
    assert parse_image("nginx").floating
    assert parse_image("nginx:latest").floating
    assert not parse_image(f"nginx:latest@{SHA256}").floating
    assert parse_image("nginx:1.27").mutable
    assert not parse_image(f"nginx@{SHA256}").mutable
    assert not parse_image(f"nginx@{SHA512}").mutable


@pytest.mark.parametrize(
    ("digest", "problem"),
    [
        ("sha256:abc", "sha256 digests are 64 lower-case hexadecimal characters"),
        ("sha256:" + "A" * 64, "sha256 digests are 64 lower-case hexadecimal characters"),
        ("sha256:" + "a" * 65, "sha256 digests are 64 lower-case hexadecimal characters"),
        ("sha512:" + "a" * 64, "sha512 digests are 128 lower-case hexadecimal characters"),
        ("sha384:" + "a" * 96, "the OCI image spec registers no digest algorithm sha384"),
        ("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3Td", "the OCI image spec registers no "
         "digest algorithm multihash+base58"),
        ("a" * 64, "a digest is algorithm:encoded"),
        ("", "a digest is algorithm:encoded"),
        ("SHA256:" + "a" * 64, "a digest is algorithm:encoded"),
        ("sha256:" + "a" * 63 + "!", "sha256 digests are 64 lower-case hexadecimal characters"),
        ("sha256:", "sha256 digests are 64 lower-case hexadecimal characters"),
    ],
)
def test_a_malformed_digest_pins_nothing(digest: str, problem: str) -> None:
    ref = parse_image(f"registry.example.com/app:1.2@{digest}")
    assert ref.mutable
    assert ref.digest_problem == problem
    assert ref.tag == "1.2"


def test_a_malformed_digest_leaves_the_tag_to_decide_whether_the_reference_floats() -> None:
    assert parse_image("nginx:latest@sha256:abc").floating
    assert parse_image("nginx@sha256:abc").floating
    assert not parse_image("nginx:1.27@sha256:abc").floating


def test_a_valid_digest_has_no_problem() -> None:
    assert parse_image(f"nginx@{SHA256}").digest_problem == ""
    assert parse_image("nginx:1.27").digest_problem == ""


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


def test_malformed_digest_is_reported_as_not_pinned_and_says_why() -> None:
    from posture.checks import Policy, evaluate
    from tests.checks.builders import TODAY, clean_inventory, container, pod_spec, workload

    image = "registry.example.com/shop/web:1.2.3@sha256:deadbeef"
    inv = clean_inventory(workloads=[workload(spec=pod_spec(containers=[container(image=image)]))])
    result = evaluate(inv, Policy(approved_registries=("registry.example.com",)), TODAY)
    (hit,) = [f for f in result.findings if f.check == "image.not-pinned-by-digest"]
    assert hit.message == (
        f"Image {image} has a malformed digest (sha256 digests are 64 lower-case hexadecimal "
        "characters): it pins nothing, and a runtime that checks digests refuses to pull it"
    )
    assert hit.evidence == {
        "image": image,
        "digest_problem": "sha256 digests are 64 lower-case hexadecimal characters",
    }


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("10.0.4.12:5000/app:1", "ip-address"),
        ("10.0.4.12/app:1", "ip-address"),
        ("[fd00::4]:5000/app:1", "ip-address"),
        ("[fd00::4]/app:1", "ip-address"),
        ("localhost:5000/app:1", "loopback"),
        ("localhost/app:1", "loopback"),
        ("127.0.0.1:5000/app:1", "loopback"),
        ("127.8.9.10/app:1", "loopback"),
        ("[::1]:5000/app:1", "loopback"),
        ("http://registry.example.com/app:1", "http-scheme"),
        ("HTTP://10.0.4.12:5000/app:1", "http-scheme"),
        # Not registries by the grammar, or not addresses.
        ("acme/10.0.4.12:1", ""),
        ("localhostx/app:1", ""),
        ("registry.example.com/app:1", ""),
        ("[10.0.4.12]/app:1", ""),
        ("300.1.2.3/app:1", ""),
        ("nginx", ""),
    ],
)
def test_insecure_registries_by_the_reference_grammar(reference: str, reason: str) -> None:
    from posture.checks.images import insecure_registry

    assert insecure_registry(parse_image(reference).registry, ()) == reason


def test_policy_lists_insecure_hosts_with_or_without_a_port() -> None:
    from posture.checks.images import insecure_registry

    listed = ("registry.lab.internal", "mirror.lab.internal:8080")
    assert insecure_registry("registry.lab.internal", listed) == "policy"
    assert insecure_registry("registry.lab.internal:5000", listed) == "policy"
    assert insecure_registry("mirror.lab.internal:8080", listed) == "policy"
    assert insecure_registry("mirror.lab.internal:8443", listed) == ""
    assert insecure_registry("mirror.lab.internal", listed) == ""


def test_insecure_registry_finding_names_the_container_list_and_the_policy_reason() -> None:
    from posture.checks import Policy, evaluate
    from tests.checks.builders import TODAY, clean_inventory, container, pod_spec, workload

    image = f"registry.example.com/shop/web:1.2.3@{SHA256}"
    spec = pod_spec(initContainers=[container("setup", image=image)])
    inv = clean_inventory(workloads=[workload(spec=spec)])
    policy = Policy.from_dict({"approved_registries": ["registry.example.com"],
                               "insecure_registries": ["Registry.Example.com/"]})
    result = evaluate(inv, policy, TODAY)
    hits = {f.container: f for f in result.findings if f.check == "image.insecure-registry"}
    assert set(hits) == {"setup", "app"}
    app_image = hits["app"].evidence["image"]
    assert hits["setup"].message.startswith(
        f"Init container setup runs image {image}, which comes from registry.example.com, "
        "which the policy lists as insecure"
    )
    assert hits["app"].evidence == {"image": app_image, "registry": "registry.example.com",
                                    "reason": "policy"}
