"""Kubernetes versions: parsing, provider detection, support windows and kubelet skew."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from posture.lifecycle import (
    KubeVersion,
    Provider,
    SupportStatus,
    detect_provider,
    kubelet_skew,
    kubelet_skew_check,
    kubernetes_support,
    parse_kubernetes_version,
)

TODAY = date(2026, 11, 28)
DAY = timedelta(days=1)
S = SupportStatus


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1.31.4-eks-2d5f260", (1, 31, 4, Provider.EKS, "-eks-2d5f260")),
        ("v1.30.3-gke.1969001", (1, 30, 3, Provider.GKE, "-gke.1969001")),
        ("v1.33.12", (1, 33, 12, None, "")),
        ("v1.30.0+k3s1", (1, 30, 0, None, "+k3s1")),
        ("v1.23.5+012e945", (1, 23, 5, None, "+012e945")),
        ("v1.27.10+rke2r1", (1, 27, 10, None, "+rke2r1")),
        ("v1.34.0-rc.1", (1, 34, 0, None, "-rc.1")),
        ("1.29", (1, 29, None, None, "")),
        ("  v1.35.1\n", (1, 35, 1, None, "")),
    ],
)
def test_versions_parse_with_their_provider(text, expected):
    parsed = parse_kubernetes_version(text)
    assert parsed is not None
    assert (parsed.major, parsed.minor, parsed.patch, parsed.provider, parsed.suffix) == expected
    assert parsed.cycle == f"{expected[0]}.{expected[1]}"
    assert parsed.raw == text.strip()


def test_the_example_in_full():
    assert parse_kubernetes_version("v1.31.4-eks-2d5f260") == KubeVersion(
        major=1,
        minor=31,
        patch=4,
        provider=Provider.EKS,
        suffix="-eks-2d5f260",
        raw="v1.31.4-eks-2d5f260",
    )


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "v",
        "latest",
        "1",
        "v1.",
        "v1.31.4 x",
        "x1.31.4",
        "v1.31.4-eks-<script>",
        "v1.31.4;rm -rf",
        "v１.３１.４",
        "v1.٣١.4",
        "v1.31.4\x00",
        "v" + "1" * 300 + ".2",
        "v1.31.4-" + "a" * 300,
        131,
        b"v1.31.4",
        ["v1.31.4"],
    ],
)
def test_garbage_is_not_a_version(text):
    assert parse_kubernetes_version(text) is None


@pytest.mark.parametrize(
    ("version", "labels", "expected"),
    [
        ("v1.31.4-eks-2d5f260", [], Provider.EKS),
        ("v1.30.3-gke.1969001", [], Provider.GKE),
        ("v1.33.12", [{"kubernetes.azure.com/cluster": "mc_rg"}], Provider.AKS),
        ("v1.33.12", [{"a": "b"}, {"eks.amazonaws.com/nodegroup": "ng-1"}], Provider.EKS),
        ("v1.33.12", [{"cloud.google.com/gke-nodepool": "pool"}], Provider.GKE),
        ("v1.33.12", [{"cloud.google.com/machine-family": "e2"}], None),
        ("v1.33.12", [{"kubernetes.io/os": "linux"}], None),
        ("v1.33.12", [], None),
        # The suffix wins over labels.
        ("v1.30.3-gke.1969001", [{"kubernetes.azure.com/cluster": "x"}], Provider.GKE),
        (None, [{"kubernetes.azure.com/cluster": "x"}], Provider.AKS),
        ("garbage", [None, 3, "text", {5: "x"}, {"kubernetes.azure.com/x": "y"}], Provider.AKS),
        ("v1.33.12", None, None),
        ("v1.33.12", 42, None),
    ],
)
def test_provider_detection(version, labels, expected):
    assert detect_provider(version, labels) is expected


def test_provider_detection_reads_a_generator_of_labels():
    labels = ({"node.kubernetes.io/instance-type": "m5"} for _ in range(3))
    assert detect_provider("v1.33.1", labels) is None


@pytest.mark.parametrize(
    ("version", "provider", "status", "eol"),
    [
        # Upstream: 1.35-1.37 supported, 1.34 reached EOL on 2026-10-27.
        ("v1.37.1", None, S.SUPPORTED, date(2027, 10, 28)),
        ("v1.36.4", None, S.SUPPORTED, date(2027, 6, 28)),
        ("v1.35.9", None, S.SUPPORTED, date(2027, 2, 28)),
        ("v1.34.11", None, S.EOL, date(2026, 10, 27)),
        ("v1.28.15", None, S.EOL, date(2024, 10, 28)),
        # EKS: 1.34+ standard, 1.32/1.33 extended, 1.31 extended ended 2026-11-26.
        ("v1.36.1-eks-1", None, S.SUPPORTED, date(2028, 8, 2)),
        ("v1.34.2-eks-1", None, S.SUPPORTED, date(2027, 12, 2)),
        ("v1.33.5-eks-1", None, S.EXTENDED, date(2027, 7, 29)),
        ("v1.32.9-eks-1", None, S.EXTENDED, date(2027, 3, 23)),
        ("v1.31.4-eks-2d5f260", None, S.EOL, date(2026, 11, 26)),
        # GKE: 1.35/1.36 standard, 1.32-1.34 on the Extended channel only, 1.31 past it.
        ("v1.36.3-gke.1640000", None, S.SUPPORTED, date(2028, 6, 9)),
        ("v1.34.9-gke.1655001", None, S.EXTENDED, date(2027, 9, 30)),
        ("v1.32.13-gke.2314000", None, S.EXTENDED, date(2027, 2, 11)),
        ("v1.31.14-gke.2613000", None, S.EOL, date(2026, 10, 25)),
        ("v1.29.15-gke.2725000", None, S.EOL, date(2026, 1, 26)),
        # AKS (no suffix: the provider is passed in): 1.34 community support ends 2026-11-30.
        ("v1.34.2", "aks", S.SUPPORTED, date(2027, 11, 30)),
        ("v1.33.12", Provider.AKS, S.EXTENDED, date(2027, 7, 31)),
        ("v1.31.9", "AKS", S.EXTENDED, date(2026, 11, 30)),
        ("v1.26.3", "aks", S.EOL, date(2024, 4, 11)),
    ],
)
def test_support_by_provider_on_the_reference_day(version, provider, status, eol):
    support = kubernetes_support(version, TODAY, provider)
    assert support.status is status
    assert support.eol == eol
    assert support.days_left == (eol - TODAY).days
    assert support.source.startswith("https://")


def test_extended_support_reports_both_ends():
    support = kubernetes_support("v1.33.5-eks-1", TODAY)
    assert support.provider is Provider.EKS
    assert support.standard_end == date(2026, 7, 29)
    assert support.extended_end == date(2027, 7, 29)
    assert support.phase_end == date(2027, 7, 29)
    assert support.phase_days_left == (date(2027, 7, 29) - TODAY).days


def test_phase_end_is_when_standard_support_stops():
    support = kubernetes_support("v1.34.2-eks-1", TODAY)
    assert support.status is S.SUPPORTED
    assert support.phase_end == date(2026, 12, 2)
    assert support.phase_days_left == 4


def test_upstream_reports_maintenance_mode():
    support = kubernetes_support("v1.35.2", date(2027, 1, 15))
    assert support.status is S.MAINTENANCE
    assert support.active_end == date(2026, 12, 28)
    assert support.phase_end == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("version", "provider", "last_day", "before", "after"),
    [
        ("v1.35.0", None, date(2026, 12, 28), S.SUPPORTED, S.MAINTENANCE),
        ("v1.35.0", None, date(2027, 2, 28), S.MAINTENANCE, S.EOL),
        ("v1.34.0-eks-1", None, date(2026, 12, 2), S.SUPPORTED, S.EXTENDED),
        ("v1.31.0-eks-1", None, date(2026, 11, 26), S.EXTENDED, S.EOL),
        ("v1.34.0", "aks", date(2026, 11, 30), S.SUPPORTED, S.EXTENDED),
        ("v1.26.0", "aks", date(2024, 4, 11), S.SUPPORTED, S.EOL),
        ("v1.36.0-gke.1", None, date(2027, 8, 9), S.SUPPORTED, S.EXTENDED),
    ],
)
def test_boundary_days(version, provider, last_day, before, after):
    """The day before and the last day itself are still in the phase; the next day is not."""
    assert kubernetes_support(version, last_day - DAY, provider).status is before
    on_the_day = kubernetes_support(version, last_day, provider)
    assert on_the_day.status is before
    assert kubernetes_support(version, last_day + DAY, provider).status is after


def test_days_left_reaches_zero_on_the_last_day_and_goes_negative():
    eol = date(2027, 2, 28)
    assert kubernetes_support("v1.35.0", eol - DAY).days_left == 1
    assert kubernetes_support("v1.35.0", eol).days_left == 0
    assert kubernetes_support("v1.35.0", eol + DAY).days_left == -1


def test_patch_and_minor_lag():
    support = kubernetes_support("v1.35.2", TODAY)
    assert support.latest_patch == "1.35.9"
    assert support.patches_behind == 7
    assert support.newest_minor == "1.37"
    assert support.minors_behind == 2
    newest = kubernetes_support("v1.37.5", TODAY)
    assert newest.patches_behind == 0  # newer than the data knows: never negative
    assert newest.minors_behind == 0


def test_newest_minor_depends_on_the_provider_and_the_day():
    assert kubernetes_support("v1.33.1-eks-1", TODAY).newest_minor == "1.36"
    assert kubernetes_support("v1.33.1", TODAY, "aks").newest_minor == "1.36"
    assert kubernetes_support("v1.33.1", TODAY).newest_minor == "1.37"
    # 1.38 is scheduled for 2026-12-16: it counts only from that day.
    assert kubernetes_support("v1.33.1", date(2026, 12, 15)).newest_minor == "1.37"
    assert kubernetes_support("v1.33.1", date(2026, 12, 16)).newest_minor == "1.38"


def test_a_version_without_patch_has_no_patch_lag():
    support = kubernetes_support("v1.35", TODAY)
    assert support.status is S.SUPPORTED
    assert support.patches_behind is None


def test_a_minor_the_provider_does_not_list_yet_falls_back_to_upstream():
    support = kubernetes_support("v1.37.0-eks-abc", TODAY)
    assert support.provider is Provider.EKS
    assert support.status is S.SUPPORTED
    assert support.eol == date(2027, 10, 28)
    assert "no Amazon EKS dates for 1.37" in support.note


def test_scheduled_release_is_marked_estimated():
    support = kubernetes_support("v1.38.0-rc.1", TODAY)
    assert support.status is S.SUPPORTED
    assert support.estimated


def test_gke_extended_end_is_marked_estimated():
    assert kubernetes_support("v1.34.9-gke.1", TODAY).estimated
    assert not kubernetes_support("v1.34.9-eks-1", TODAY).estimated


def test_a_minor_older_than_the_data_is_eol_and_one_newer_is_unknown():
    old = kubernetes_support("v1.10.3", TODAY)
    assert old.status is S.EOL
    assert old.eol is None
    assert "older than every release" in old.note
    assert kubernetes_support("v1.12.0-gke.1", TODAY).status is S.EOL
    assert kubernetes_support("v1.45.0", TODAY).status is S.UNKNOWN
    assert kubernetes_support("v1.45.0-eks-1", TODAY).status is S.UNKNOWN
    assert kubernetes_support("v2.0.0", TODAY).status is S.UNKNOWN


def test_explicit_provider_wins_and_unknown_providers_mean_upstream():
    assert kubernetes_support("v1.33.1-eks-1", TODAY, "gke").provider is Provider.GKE
    upstream = kubernetes_support("v1.33.1", TODAY, "openshift")
    assert upstream.provider is None
    assert upstream.status is S.EOL


@pytest.mark.parametrize("garbage", [None, "", "banana", "v1.31.4 ; DROP TABLE", "<b>1.31</b>"])
def test_garbage_versions_are_unknown(garbage):
    support = kubernetes_support(garbage, TODAY, "eks")
    assert support.status is S.UNKNOWN
    assert support.provider is Provider.EKS
    assert support.eol is None and support.days_left is None


@pytest.mark.parametrize(
    ("apiserver", "kubelet", "skew", "max_skew", "allowed", "at_limit"),
    [
        ("v1.31.0", "v1.31.9", 0, 3, True, False),
        ("v1.31.0-eks-1", "v1.29.3-eks-1", 2, 3, True, False),
        ("v1.31.0", "v1.28.15", 3, 3, True, True),
        ("v1.31.0", "v1.27.1", 4, 3, False, False),
        ("v1.28.0", "v1.25.4", 3, 3, True, True),
        # Before 1.25 a kubelet may only trail by two minors.
        ("v1.27.0", "v1.24.17", 3, 2, False, False),
        ("v1.26.0", "v1.24.17", 2, 2, True, True),
        # Never newer than the apiserver.
        ("v1.30.2", "v1.31.0", -1, 3, False, False),
    ],
)
def test_kubelet_skew_policy(apiserver, kubelet, skew, max_skew, allowed, at_limit):
    check = kubelet_skew_check(apiserver, kubelet)
    assert check is not None
    assert (check.skew, check.max_skew, check.allowed, check.at_limit) == (
        skew,
        max_skew,
        allowed,
        at_limit,
    )
    assert kubelet_skew(apiserver, kubelet) == skew


@pytest.mark.parametrize(
    ("apiserver", "kubelet"), [("v1.31.0", None), ("junk", "v1.30.0"), ("v2.0.0", "v1.30.0")]
)
def test_kubelet_skew_of_unparseable_versions_is_none(apiserver, kubelet):
    assert kubelet_skew(apiserver, kubelet) is None
    assert kubelet_skew_check(apiserver, kubelet) is None
