"""Container runtimes: containerRuntimeVersion strings and their support."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from posture.lifecycle import Runtime, SupportStatus, runtime_support

TODAY = date(2026, 11, 28)
DAY = timedelta(days=1)
S = SupportStatus


@pytest.mark.parametrize(
    ("text", "runtime", "version", "cycle", "status", "eol"),
    [
        ("containerd://1.6.20", Runtime.CONTAINERD, "1.6.20", "1.6", S.EOL, date(2025, 8, 23)),
        ("containerd://1.7.22-1", Runtime.CONTAINERD, "1.7.22", "1.7", S.EOL, date(2026, 9, 1)),
        (
            "containerd://1.6.18+azure-1",
            Runtime.CONTAINERD,
            "1.6.18",
            "1.6",
            S.EOL,
            date(2025, 8, 23),
        ),
        ("containerd://1.7.15-k3s1", Runtime.CONTAINERD, "1.7.15", "1.7", S.EOL, date(2026, 9, 1)),
        (
            "containerd://2.0.4+azure",
            Runtime.CONTAINERD,
            "2.0.4",
            "2.0",
            S.SUPPORTED,
            date(2027, 3, 1),
        ),
        (
            "containerd://2.0.0-rc.6",
            Runtime.CONTAINERD,
            "2.0.0",
            "2.0",
            S.SUPPORTED,
            date(2027, 3, 1),
        ),
        ("containerd://2.2.7", Runtime.CONTAINERD, "2.2.7", "2.2", S.EOL, date(2026, 11, 6)),
        (
            "containerd://2.3.3-2",
            Runtime.CONTAINERD,
            "2.3.3",
            "2.3",
            S.SUPPORTED,
            date(2028, 4, 30),
        ),
        ("containerd://1.4.13", Runtime.CONTAINERD, "1.4.13", "1.4", S.EOL, None),
        ("docker://20.10.25", Runtime.DOCKER, "20.10.25", "20.10", S.EOL, date(2023, 12, 10)),
        ("docker://25.0.5", Runtime.DOCKER, "25.0.5", "25.0", S.SUPPORTED, date(2026, 12, 4)),
        ("docker://28.1.1", Runtime.DOCKER, "28.1.1", "28", S.EOL, date(2026, 5, 13)),
        ("docker://29.1.0", Runtime.DOCKER, "29.1.0", "29", S.SUPPORTED, None),
        ("docker://19.3.15", Runtime.DOCKER, "19.3.15", "19.3", S.EOL, None),
        ("cri-o://1.29.1", Runtime.CRI_O, "1.29.1", "1.29", S.EOL, date(2025, 2, 28)),
        ("cri-o://1.36.1", Runtime.CRI_O, "1.36.1", "1.36", S.SUPPORTED, date(2027, 6, 28)),
        (
            "cri-o://1.30.7-2.rhaos4.17.git239a1b2.el9",
            Runtime.CRI_O,
            "1.30.7",
            "1.30",
            S.EOL,
            date(2025, 7, 15),
        ),
    ],
)
def test_runtimes_on_the_reference_day(text, runtime, version, cycle, status, eol):
    support = runtime_support(text, TODAY)
    assert (support.runtime, support.version, support.cycle) == (runtime, version, cycle)
    assert support.status is status
    assert support.eol == eol
    assert support.source.startswith("https://")


def test_patch_lag():
    support = runtime_support("containerd://2.3.1", TODAY)
    assert support.latest_patch == "2.3.4"
    assert support.patches_behind == 3
    assert runtime_support("containerd://2.3.9", TODAY).patches_behind == 0
    assert runtime_support("containerd://2.3", TODAY).patches_behind is None
    assert runtime_support("cri-o://1.36.1", TODAY).latest_patch is None


@pytest.mark.parametrize(
    ("text", "last_day", "before", "after"),
    [
        ("containerd://2.2.7", date(2026, 11, 6), S.SUPPORTED, S.EOL),
        ("containerd://1.7.30", date(2026, 9, 1), S.SUPPORTED, S.EOL),
        ("cri-o://1.35.2", date(2026, 12, 28), S.SUPPORTED, S.MAINTENANCE),
        ("docker://25.0.5", date(2026, 12, 4), S.SUPPORTED, S.EOL),
    ],
)
def test_boundary_days(text, last_day, before, after):
    assert runtime_support(text, last_day - DAY).status is before
    assert runtime_support(text, last_day).status is before
    assert runtime_support(text, last_day + DAY).status is after


def test_cri_o_follows_kubernetes_without_its_notes():
    support = runtime_support("cri-o://1.29.1", TODAY)
    assert support.note == "CRI-O 1.29 is supported as long as Kubernetes 1.29 is"
    assert "cri-o" in support.source


@pytest.mark.parametrize(
    ("kubelet", "note"),
    [
        ("v1.23.17", "dockershim, removed from the kubelet in 1.24"),
        ("v1.24.0", "cri-dockerd"),
        ("v1.31.4-eks-1", "cri-dockerd"),
        (None, "dockershim (kubelet before 1.24) or cri-dockerd"),
        ("junk", "dockershim (kubelet before 1.24) or cri-dockerd"),
    ],
)
def test_docker_says_whether_it_is_dockershim_or_cri_dockerd(kubelet, note):
    support = runtime_support("docker://20.10.25", TODAY, kubelet_version=kubelet)
    assert support.note.startswith(note)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "containerd",
        "containerd://",
        "remote://1.2.3",
        "rkt://1.30.0",
        "containerd://latest",
        "CONTAINERD://1.7.0",
        "containerd://1.7.0 <script>",
        "containerd://" + "1" * 300,
    ],
)
def test_unrecognised_runtimes_are_unknown(text):
    support = runtime_support(text, TODAY)
    assert support.status is S.UNKNOWN
    assert support.runtime is None


@pytest.mark.parametrize(("os_image", "kernel", "kubelet", "status", "eol"), [
    # containerd 1.7 is past upstream's end (2026-09-01); the OS release decides instead.
    ("Bottlerocket OS 1.26.1 (aws-k8s-1.33)", "6.1.112", "v1.33.5-eks-1", S.EXTENDED,
     date(2027, 7, 29)),
    ("Bottlerocket OS 1.61.0 (aws-k8s-1.36-nvidia)", "6.18.2", "v1.36.1-eks-1", S.SUPPORTED,
     date(2028, 8, 2)),
    ("Bottlerocket OS 1.20.3 (aws-k8s-1.29)", "6.1.112", "v1.29.9-eks-1", S.EOL,
     date(2026, 3, 23)),
    ("Container-Optimized OS from Google", "6.6.105+", "v1.33.5-gke.1080000", S.SUPPORTED,
     date(2027, 3, 1)),
    ("Talos (v1.8.2)", "6.6.58-talos", "v1.31.2", S.EOL, None),
])
def test_a_runtime_shipped_by_an_image_based_os_follows_the_os(os_image, kernel, kubelet,
                                                                status, eol):
    support = runtime_support("containerd://1.7.22", TODAY, kubelet_version=kubelet,
                              os_image=os_image, kernel_version=kernel)
    assert support.status is status
    if eol is not None:
        assert support.eol == eol
    assert support.shipped_by is not None
    assert f"built and patched by {support.shipped_by.label}" in support.note
    assert support.patches_behind is None  # upstream's patches say nothing of the backports


def test_a_runtime_on_a_package_based_os_is_judged_by_upstream():
    for os_image in ("Ubuntu 24.04.1 LTS", "Amazon Linux 2023.6.20241010", None, "Mystery OS"):
        support = runtime_support("containerd://1.7.22", TODAY, os_image=os_image)
        assert (support.status, support.eol, support.shipped_by) == (S.EOL, date(2026, 9, 1), None)


def test_an_unrecognised_release_of_an_image_based_os_is_not_end_of_life():
    support = runtime_support("containerd://1.7.22", TODAY,
                              os_image="Bottlerocket OS 1.26.1 (aws-ecs-2)")
    assert support.status is not S.EOL
