"""node.runtime-eol: a vendor OS's own runtime is judged by the OS, anything else by upstream."""

from __future__ import annotations

from posture.checks import Policy, evaluate
from tests.checks.builders import TODAY, clean_inventory, node

# containerd 1.6 reached its upstream end of life on 2025-08-23.
OLD_CONTAINERD = "containerd://1.6.38"


def runtime_findings(os_image: str, kubelet: str, kernel: str) -> list[tuple[str, str]]:
    inv = clean_inventory(nodes=[node(os_image=os_image, kubelet=kubelet, kernel=kernel,
                                      runtime=OLD_CONTAINERD)])
    result = evaluate(inv, Policy(), TODAY)
    return [(f.name, f.message) for f in result.findings if f.check == "node.runtime-eol"]


def test_bottlerocket_containerd_follows_the_bottlerocket_release() -> None:
    assert runtime_findings("Bottlerocket OS 1.61.0 (aws-k8s-1.36)", "v1.36.4-eks-1",
                            "6.18.2") == []
    [(name, message)] = runtime_findings("Bottlerocket OS 1.20.3 (aws-k8s-1.29)",
                                         "v1.29.9-eks-1", "6.1.112")
    assert message == ("Node node-a runs container runtime containerd://1.6.38 as shipped with "
                       "Bottlerocket OS 1.20.3 (aws-k8s-1.29), past end of life since 2026-03-23")


def test_a_package_based_os_runtime_is_judged_by_upstream() -> None:
    [(_, message)] = runtime_findings("Ubuntu 24.04.1 LTS", "v1.36.4", "6.8.0-1015-aws")
    assert message.endswith("containerd://1.6.38, past end of life since 2025-08-23")
