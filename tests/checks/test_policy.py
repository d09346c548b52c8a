"""Policy: defaults, parsing from the stored JSON, and errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from posture.checks.policy import Policy, PolicyError
from posture.checks.vocabulary import Severity


def test_defaults_aim_for_restricted_with_a_ninety_day_warning() -> None:
    policy = Policy()
    assert policy.pss_level == "restricted"
    assert policy.pss_version == "latest"
    assert policy.eol_warning_days == 90
    assert policy.max_node_age_days == 90
    assert policy.pss_exempt("kube-system")
    assert not policy.pss_exempt("shop")


def test_from_dict_reads_every_field_and_round_trips() -> None:
    data = {
        "approved_registries": ["Registry.Example.com/", "ghcr.io/acme"],
        "eol_warning_days": 30,
        "max_node_age_days": 60,
        "patch_lag_threshold": 1,
        "max_kubelet_minor_skew": 1,
        "min_kernel_version": "5.10",
        "pss_level": "baseline",
        "pss_version": "v1.30",
        "pss_exempt_namespaces": ["monitoring"],
        "max_critical_vulnerabilities": 0,
        "max_high_vulnerabilities": 10,
        "disabled_checks": ["node.kernel-old"],
        "severity_overrides": {"image.latest-tag": "high"},
        "platform_namespaces": ["kube-system", "vendor-*"],
        "platform_workloads": ["DaemonSet/monitoring/ama-*"],
        "score_platform_findings": True,
    }
    policy = Policy.from_dict(data)
    assert policy.approved_registries == ("registry.example.com", "ghcr.io/acme")
    assert policy.severity_overrides == {"image.latest-tag": Severity.HIGH}
    assert policy.pss_exempt("monitoring")
    assert Policy.from_dict(policy.to_dict()) == policy


def test_empty_or_null_document_gives_defaults() -> None:
    assert Policy.from_dict({}) == Policy()
    assert Policy.from_dict(None) == Policy()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a mapping"),
        ({"eol_warning_day": 30}, "unknown key(s) eol_warning_day"),
        ({"eol_warning_days": "30"}, "policy.eol_warning_days: expected an integer, got str"),
        ({"eol_warning_days": True}, "expected an integer, got bool"),
        ({"max_node_age_days": -1}, "must be zero or more"),
        ({"approved_registries": "docker.io"}, "expected a list of strings"),
        ({"approved_registries": ["ok", 3]}, "approved_registries[1]"),
        ({"pss_level": "privileged"}, "expected one of baseline, restricted"),
        ({"pss_version": "1.30"}, 'expected "latest" or a version like "v1.30"'),
        ({"pss_version": 130}, "pss_version"),
        ({"min_kernel_version": "five"}, "min_kernel_version"),
        ({"disabled_checks": ["node.nope"]}, "unknown check id(s) node.nope"),
        ({"severity_overrides": {"node.os-eol": "urgent"}}, "expected one of critical"),
        ({"severity_overrides": {"node.nope": "low"}}, "severity_overrides: unknown check id"),
        ({"severity_overrides": ["x"]}, "mapping of check id to severity"),
        ({"platform_namespaces": "kube-system"}, "platform_namespaces: expected a list"),
        ({"platform_namespaces": [""]}, "platform_namespaces[0]: expected a non-empty string"),
        ({"platform_workloads": ["kube-proxy"]}, "platform_workloads[0]: expected kind/namespace"),
        ({"platform_workloads": ["DaemonSet/kube-system/"]}, "platform_workloads[0]"),
        ({"score_platform_findings": "yes"}, "score_platform_findings: expected true or false"),
    ],
)
def test_invalid_documents_are_refused_with_the_key_named(data: object, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        Policy.from_dict(data)
    assert message in str(err.value)


def test_huge_bad_value_gives_a_short_message() -> None:
    with pytest.raises(PolicyError) as err:
        Policy.from_dict({"pss_level": "x" * 100_000})
    assert len(str(err.value)) <= 300


def test_from_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("approved_registries: [ghcr.io]\npss_level: baseline\n")
    assert Policy.from_yaml_file(path).pss_level == "baseline"
    path.write_text("pss_level: [\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        Policy.from_yaml_file(path)
    path.write_text("bogus: 1\n")
    with pytest.raises(PolicyError, match=f"{path}: policy: unknown key"):
        Policy.from_yaml_file(path)
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.from_yaml_file(tmp_path / "missing.yaml")


def test_system_namespaces_and_provider_add_ons_are_platform_managed_by_default() -> None:
    policy = Policy()
    assert not policy.score_platform_findings
    for namespace in ("kube-system", "kube-public", "kube-node-lease", "amazon-cloudwatch",
                      "gke-managed-cim", "gmp-system", "gatekeeper-system", "app-routing-system"):
        assert policy.platform_managed("DaemonSet", namespace, "agent"), namespace
    assert not policy.platform_managed("Deployment", "shop", "web")
    # A Namespace finding is about the namespace it names; a cluster-scoped one has none.
    assert policy.platform_managed("Namespace", "", "kube-system")
    assert not policy.platform_managed("Namespace", "", "shop")
    assert not policy.platform_managed("ClusterRoleBinding", "", "kube-system")
    # Names that merely resemble a platform namespace are not one.
    assert not policy.platform_managed("Deployment", "kube-system-copy", "x")
    assert not policy.platform_managed("Deployment", "my-gke-managed-app", "x")


def test_platform_patterns_match_kind_namespace_and_name_with_wildcards() -> None:
    policy = Policy.from_dict({
        "platform_namespaces": ["vendor-*"],
        "platform_workloads": ["DaemonSet/monitoring/ama-*", "ClusterRoleBinding/*/aks-*"],
    })
    assert policy.platform_managed("Deployment", "vendor-agent", "x")
    assert not policy.platform_managed("Deployment", "kube-system", "x")  # list replaced
    assert policy.platform_managed("DaemonSet", "monitoring", "ama-logs")
    assert not policy.platform_managed("Deployment", "monitoring", "ama-logs")
    assert not policy.platform_managed("DaemonSet", "monitoring", "prometheus")
    assert policy.platform_managed("ClusterRoleBinding", "", "aks-service-rolebinding")
def test_every_key_is_documented_with_a_valid_example() -> None:
    """A key added without documentation fails here (and on the policy page)."""
    import dataclasses

    import yaml

    from posture.checks.policy import KeyDoc, policy_keys

    for f in dataclasses.fields(Policy):
        doc = f.metadata.get("doc")
        assert isinstance(doc, KeyDoc), f"policy key {f.name} has no documentation"
        assert doc.meaning and doc.type and doc.example, f.name
        # The example is a value the policy accepts, and differs from the default.
        example = Policy.from_dict({f.name: yaml.safe_load(doc.example)})
        assert example.to_dict()[f.name] != Policy().to_dict()[f.name], f.name
    keys = policy_keys()
    assert [k.name for k in keys] == [f.name for f in dataclasses.fields(Policy)]
    assert {k.name: k.default for k in keys}["eol_warning_days"] == "90"
    assert {k.name: k.default for k in keys}["max_kubelet_minor_skew"] == "null"


def test_a_key_without_documentation_is_refused() -> None:
    import dataclasses

    from posture.checks.policy import policy_keys

    @dataclasses.dataclass(frozen=True)
    class Undocumented(Policy):
        surprise: int = 1

    with pytest.raises(PolicyError, match="policy.surprise: declared without documentation"):
        policy_keys(Undocumented)
