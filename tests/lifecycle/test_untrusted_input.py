"""Untrusted text from clusters: the parsers never raise and never claim to know garbage."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posture.lifecycle import (
    SupportStatus,
    detect_provider,
    kubelet_skew,
    kubelet_skew_check,
    kubernetes_support,
    os_support,
    parse_kubernetes_version,
    runtime_support,
)

TODAY = date(2026, 11, 28)

GARBAGE = [
    None,
    "",
    " ",
    "\x00\x01\x02",
    "A" * 100_000,
    "Ubuntu " + "9" * 5_000,
    "Ubuntu 22.04.4 LTS" + " " * 500 + "x",
    "Ubuntu 22.04.4 LTS\nDebian GNU/Linux 12 (bookworm)",
    "<script>alert('Ubuntu 22.04')</script>",
    '=HYPERLINK("http://x","Ubuntu 22.04")',
    "Ubuntu ２２.０４ LTS",
    "Ubuntu ٢٢.٠٤ LTS",
    "Ｗindows Server 2022 Datacenter",
    "Debian GNU/Linux 12 (bookworm))))))))))))))))))))))))))))))))",
    "Flatcar Container Linux by Kinvolk 99999.2.0 (x)",
    "Talos (v99.999.999)",
    "Bottlerocket OS 1.2.3 (aws-k8s-1.99999)",
    "Windows Server 2099 Datacenter",
    "🦄 Linux 1.0",
    "../../etc/passwd",
    "%s%s%s%n",
    "{{7*7}}",
    "${jndi:ldap://x}",
]
NOT_TEXT = [12, 3.5, b"Ubuntu 22.04 LTS", ["Ubuntu 22.04 LTS"], {"osImage": "x"}, object()]


@pytest.mark.parametrize("garbage", GARBAGE + NOT_TEXT, ids=repr)
def test_garbage_os_images_are_unknown_or_judged_never_raised(garbage):
    support = os_support(garbage, TODAY, kernel_version=garbage, kubelet_version=garbage)
    assert support.status in set(SupportStatus)


@pytest.mark.parametrize("garbage", GARBAGE[:14] + NOT_TEXT, ids=repr)
def test_garbage_is_unknown(garbage):
    assert os_support(garbage, TODAY).status is SupportStatus.UNKNOWN
    assert runtime_support(garbage, TODAY).status is SupportStatus.UNKNOWN
    assert kubernetes_support(garbage, TODAY).status is SupportStatus.UNKNOWN
    assert parse_kubernetes_version(garbage) is None
    assert kubelet_skew(garbage, "v1.31.0") is None
    assert detect_provider(garbage, [{"x": garbage}] if isinstance(garbage, str) else []) is None


def test_unknown_provider_values_do_not_raise():
    for provider in (None, "", "EKS ", "gke\x00", 5, ["aks"], "aks" * 1000):
        assert kubernetes_support("v1.33.1", TODAY, provider).status in set(SupportStatus)


def test_implausible_numbers_in_known_formats_are_unknown():
    assert os_support("Windows Server 2099 Datacenter", TODAY).status is SupportStatus.UNKNOWN
    assert os_support("Talos (v99.999.999)", TODAY).status is SupportStatus.UNKNOWN
    bottlerocket = os_support("Bottlerocket OS 1.2.3 (aws-k8s-1.99999)", TODAY)
    assert bottlerocket.status is SupportStatus.UNKNOWN
    # A Flatcar build cut in the far future is young, not an error.
    assert os_support("Flatcar Container Linux by Kinvolk 99999.2.0 (x)", TODAY).estimated


texts = st.text(max_size=300)
# Near misses: real prefixes followed by arbitrary text, to reach past the first regex branch.
near_misses = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(
        [
            "Ubuntu ",
            "Debian GNU/Linux ",
            "Red Hat Enterprise Linux ",
            "Rocky Linux ",
            "AlmaLinux ",
            "CentOS Linux ",
            "CentOS Stream ",
            "Amazon Linux 2",
            "Bottlerocket OS ",
            "Flatcar Container Linux by Kinvolk ",
            "Talos (v",
            "SUSE Linux Enterprise Server ",
            "SUSE Linux Micro ",
            "Azure Linux ",
            "Windows Server ",
            "containerd://",
            "cri-o://",
            "docker://",
            "v1.",
            "1.",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(texts, near_misses), kernel=st.none() | texts, today=days)
def test_os_support_never_raises(text, kernel, today):
    support = os_support(text, today, kernel_version=kernel, kubelet_version=text)
    assert support.status in set(SupportStatus)
    if support.status is SupportStatus.UNKNOWN:
        assert support.eol is None and support.days_left is None


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(texts, near_misses), today=days)
def test_runtime_support_never_raises(text, today):
    support = runtime_support(text, today, kubelet_version=text)
    assert support.status in set(SupportStatus)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(texts, near_misses), other=texts, today=days)
def test_kubernetes_parsers_never_raise(text, other, today):
    parsed = parse_kubernetes_version(text)
    if parsed is not None:
        assert parsed.major >= 0 and parsed.minor >= 0
    assert kubernetes_support(text, today, other).status in set(SupportStatus)
    kubelet_skew(text, other)
    kubelet_skew_check(other, text)
    detect_provider(text, [{other: text}, {text: other}])


@settings(max_examples=200, deadline=None)
@given(
    major=st.integers(1, 1),
    minor=st.integers(0, 9999),
    patch=st.integers(0, 999_999),
    suffix=st.sampled_from(["", "-eks-2d5f260", "-gke.1969001", "+k3s1", "-rc.0"]),
)
def test_every_well_formed_version_round_trips(major, minor, patch, suffix):
    text = f"v{major}.{minor}.{patch}{suffix}"
    parsed = parse_kubernetes_version(text)
    assert parsed is not None
    assert (parsed.major, parsed.minor, parsed.patch, parsed.suffix) == (
        major,
        minor,
        patch,
        suffix,
    )
    support = kubernetes_support(text, TODAY)
    if support.status is not SupportStatus.UNKNOWN and support.patches_behind is not None:
        assert support.patches_behind >= 0
