"""Node operating systems: every osImage format, its release and its status."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from posture.lifecycle import OSFamily, SupportStatus, os_support

TODAY = date(2026, 11, 28)
DAY = timedelta(days=1)
S = SupportStatus
F = OSFamily


@pytest.mark.parametrize(
    ("os_image", "family", "cycle", "status", "eol"),
    [
        ("Ubuntu 22.04.4 LTS", F.UBUNTU, "22.04", S.SUPPORTED, date(2032, 4, 9)),
        ("Ubuntu 24.04 LTS", F.UBUNTU, "24.04", S.SUPPORTED, date(2036, 5, 31)),
        ("Ubuntu 20.04.6 LTS", F.UBUNTU, "20.04", S.EXTENDED, date(2030, 4, 2)),
        ("Ubuntu 18.04.6 LTS", F.UBUNTU, "18.04", S.EXTENDED, date(2028, 4, 1)),
        ("Ubuntu 25.10", F.UBUNTU, "25.10", S.EOL, date(2026, 7, 1)),
        ("Debian GNU/Linux 12 (bookworm)", F.DEBIAN, "12", S.EXTENDED, date(2028, 6, 30)),
        ("Debian GNU/Linux 13 (trixie)", F.DEBIAN, "13", S.SUPPORTED, date(2030, 6, 30)),
        ("Debian GNU/Linux 11 (bullseye)", F.DEBIAN, "11", S.EOL, date(2026, 8, 31)),
        ("Red Hat Enterprise Linux 8.10 (Ootpa)", F.RHEL, "8", S.MAINTENANCE, date(2033, 5, 31)),
        ("Red Hat Enterprise Linux 9.4 (Plow)", F.RHEL, "9", S.SUPPORTED, date(2036, 5, 31)),
        ("Red Hat Enterprise Linux 10.0 (Coughlan)", F.RHEL, "10", S.SUPPORTED, date(2039, 5, 31)),
        ("Red Hat Enterprise Linux Server 7.9 (Maipo)", F.RHEL, "7", S.EXTENDED, date(2029, 5, 31)),
        ("Rocky Linux 9.4 (Blue Onyx)", F.ROCKY, "9", S.SUPPORTED, date(2032, 5, 31)),
        ("Rocky Linux 8.10 (Green Obsidian)", F.ROCKY, "8", S.MAINTENANCE, date(2029, 5, 31)),
        ("AlmaLinux 9.4 (Seafoam Ocelot)", F.ALMALINUX, "9", S.SUPPORTED, date(2032, 5, 31)),
        ("AlmaLinux 8.10 (Cerulean Leopard)", F.ALMALINUX, "8", S.MAINTENANCE, date(2029, 5, 31)),
        ("CentOS Linux 7 (Core)", F.CENTOS, "7", S.EOL, date(2024, 6, 30)),
        ("CentOS Linux 8", F.CENTOS, "8", S.EOL, date(2021, 12, 31)),
        ("CentOS Stream 9", F.CENTOS_STREAM, "9", S.SUPPORTED, date(2027, 5, 31)),
        ("CentOS Stream 8", F.CENTOS_STREAM, "8", S.EOL, date(2024, 5, 31)),
        ("Amazon Linux 2", F.AMAZON_LINUX, "2", S.EOL, date(2026, 6, 30)),
        ("Amazon Linux 2023.5.20240805", F.AMAZON_LINUX, "2023", S.SUPPORTED, date(2029, 6, 30)),
        ("Amazon Linux 2023", F.AMAZON_LINUX, "2023", S.SUPPORTED, date(2029, 6, 30)),
        (
            "Bottlerocket OS 1.20.3 (aws-k8s-1.29)",
            F.BOTTLEROCKET,
            "aws-k8s-1.29",
            S.EOL,
            date(2026, 3, 23),
        ),
        (
            "Bottlerocket OS 1.26.1 (aws-k8s-1.33)",
            F.BOTTLEROCKET,
            "aws-k8s-1.33",
            S.EXTENDED,
            date(2027, 7, 29),
        ),
        (
            "Bottlerocket OS 1.61.0 (aws-k8s-1.36-nvidia)",
            F.BOTTLEROCKET,
            "aws-k8s-1.36-nvidia",
            S.SUPPORTED,
            date(2028, 8, 2),
        ),
        (
            "Bottlerocket OS 1.61.0 (vmware-k8s-1.34)",
            F.BOTTLEROCKET,
            "vmware-k8s-1.34",
            S.EOL,
            date(2026, 10, 27),
        ),
        (
            "Flatcar Container Linux by Kinvolk 3815.2.5 (Oklo)",
            F.FLATCAR,
            "3815",
            S.EOL,
            date(2024, 12, 10),
        ),
        ("Talos (v1.7.6)", F.TALOS, "1.7", S.EOL, date(2024, 9, 23)),
        ("Talos (v1.14.2)", F.TALOS, "1.14", S.SUPPORTED, None),
        ("Talos (v1.13.0-beta.1)", F.TALOS, "1.13", S.EOL, date(2026, 9, 30)),
        ("SUSE Linux Enterprise Server 15 SP5", F.SLES, "15.5", S.EXTENDED, date(2027, 12, 31)),
        ("SUSE Linux Enterprise Server 15 SP7", F.SLES, "15.7", S.SUPPORTED, date(2034, 7, 31)),
        ("SUSE Linux Enterprise Server 16.0", F.SLES, "16.0", S.SUPPORTED, date(2030, 11, 30)),
        ("SUSE Linux Enterprise Micro 5.5", F.SLE_MICRO, "5.5", S.SUPPORTED, date(2027, 10, 31)),
        ("SUSE Linux Enterprise Micro 5.3", F.SLE_MICRO, "5.3", S.EOL, date(2026, 10, 30)),
        ("SUSE Linux Micro 6.1", F.SLE_MICRO, "6.1", S.SUPPORTED, date(2028, 11, 30)),
        ("CBL-Mariner/Linux", F.AZURE_LINUX, "2.0", S.EOL, date(2025, 7, 31)),
        ("Azure Linux 3.0", F.AZURE_LINUX, "3.0", S.SUPPORTED, None),
        ("Microsoft Azure Linux 3.0", F.AZURE_LINUX, "3.0", S.SUPPORTED, None),
        (
            "Windows Server 2022 Datacenter",
            F.WINDOWS_SERVER,
            "2022",
            S.MAINTENANCE,
            date(2031, 10, 14),
        ),
        (
            "Windows Server 2019 Datacenter",
            F.WINDOWS_SERVER,
            "2019",
            S.MAINTENANCE,
            date(2029, 1, 9),
        ),
        (
            "Windows Server 2025 Datacenter",
            F.WINDOWS_SERVER,
            "2025",
            S.SUPPORTED,
            date(2034, 11, 14),
        ),
        (
            "Windows Server 2016 Standard",
            F.WINDOWS_SERVER,
            "2016",
            S.MAINTENANCE,
            date(2030, 1, 12),
        ),
    ],
)
def test_os_images_on_the_reference_day(os_image, family, cycle, status, eol):
    support = os_support(os_image, TODAY)
    assert support.family is family
    assert support.cycle == cycle
    assert support.status is status
    assert support.eol == eol
    assert support.days_left == (None if eol is None else (eol - TODAY).days)
    assert support.source.startswith("https://")
    assert support.name


def test_the_version_read_from_the_node_is_kept():
    assert os_support("Ubuntu 22.04.4 LTS", TODAY).version == "22.04.4"
    assert os_support("Red Hat Enterprise Linux 8.10 (Ootpa)", TODAY).version == "8.10"
    assert os_support("SUSE Linux Enterprise Server 15 SP5", TODAY).version == "15 SP5"
    assert os_support("Amazon Linux 2023.6.20241010", TODAY).version == "2023.6.20241010"
    assert os_support("Bottlerocket OS 1.20.3 (aws-k8s-1.29)", TODAY).version == "1.20.3"
    assert os_support("Talos (v1.13.0-beta.1)", TODAY).version == "1.13.0-beta.1"


def test_extended_phases_report_standard_and_extended_ends():
    support = os_support("Ubuntu 20.04.6 LTS", TODAY)
    assert support.standard_end == date(2025, 5, 31)
    assert support.extended_end == date(2030, 4, 2)
    rhel = os_support("Red Hat Enterprise Linux 8.10 (Ootpa)", TODAY)
    assert rhel.active_end == date(2024, 5, 31)
    assert rhel.standard_end == date(2029, 5, 31)
    assert rhel.phase_end == date(2029, 5, 31)


@pytest.mark.parametrize(
    ("os_image", "last_day", "before", "after"),
    [
        ("Ubuntu 22.04.5 LTS", date(2027, 4, 1), S.SUPPORTED, S.EXTENDED),
        ("Ubuntu 22.04.5 LTS", date(2032, 4, 9), S.EXTENDED, S.EOL),
        ("Amazon Linux 2", date(2026, 6, 30), S.SUPPORTED, S.EOL),
        ("Amazon Linux 2023.5.20240805", date(2027, 6, 30), S.SUPPORTED, S.MAINTENANCE),
        ("Windows Server 2022 Datacenter", date(2026, 10, 13), S.SUPPORTED, S.MAINTENANCE),
        ("Red Hat Enterprise Linux 9.4 (Plow)", date(2027, 5, 31), S.SUPPORTED, S.MAINTENANCE),
        ("Debian GNU/Linux 12 (bookworm)", date(2026, 7, 11), S.SUPPORTED, S.EXTENDED),
        ("CentOS Stream 9", date(2027, 5, 31), S.SUPPORTED, S.EOL),
        ("SUSE Linux Enterprise Server 15 SP4", date(2026, 12, 31), S.EXTENDED, S.EOL),
        ("Bottlerocket OS 1.50.0 (aws-k8s-1.34)", date(2026, 12, 2), S.SUPPORTED, S.EXTENDED),
        (
            "Flatcar Container Linux by Kinvolk 4459.2.0 (Oklo)",
            date(2026, 9, 15),
            S.SUPPORTED,
            S.EOL,
        ),
    ],
)
def test_boundary_days(os_image, last_day, before, after):
    """The day before and the last day are still in the phase; the day after is not."""
    assert os_support(os_image, last_day - DAY).status is before
    on_the_day = os_support(os_image, last_day)
    assert on_the_day.status is before
    assert os_support(os_image, last_day + DAY).status is after


def test_days_left_reaches_zero_on_the_last_day():
    assert os_support("CentOS Stream 9", date(2027, 5, 31)).days_left == 0
    assert os_support("CentOS Stream 9", date(2027, 6, 1)).days_left == -1


class TestContainerOptimizedOS:
    image = "Container-Optimized OS from Google"

    def test_alone_it_is_unknown(self):
        support = os_support(self.image, TODAY)
        assert support.family is F.COS
        assert support.status is S.UNKNOWN
        assert "kubelet or kernel" in support.note

    @pytest.mark.parametrize(
        ("kubelet", "cycle", "status"),
        [
            ("v1.32.6-gke.1060000", "cos-117", S.EOL),
            ("v1.33.5-gke.1", "cos-121", S.SUPPORTED),
            ("v1.34.9-gke.1655001", "cos-125", S.SUPPORTED),
            ("v1.35.7-gke.1222000", "cos-125", S.SUPPORTED),
            ("v1.36.3-gke.1640000", "cos-129", S.SUPPORTED),
        ],
    )
    def test_the_gke_minor_names_the_milestone(self, kubelet, cycle, status):
        support = os_support(self.image, TODAY, kubelet_version=kubelet)
        assert (support.cycle, support.status) == (cycle, status)
        assert not support.estimated

    def test_a_unique_kernel_line_names_the_milestone(self):
        support = os_support(self.image, TODAY, kernel_version="6.12.68+")
        assert support.cycle == "cos-125"
        assert support.status is S.SUPPORTED
        assert support.estimated

    def test_a_shared_kernel_line_with_different_fates_is_unknown(self):
        # cos-117 (past its end) and cos-121 (supported) both run 6.6.
        support = os_support(self.image, TODAY, kernel_version="6.6.72+")
        assert support.status is S.UNKNOWN
        assert "cos-121" in support.note and "cos-117" in support.note

    def test_a_shared_kernel_line_with_one_fate_reports_the_earliest_end(self):
        support = os_support(self.image, date(2026, 6, 1), kernel_version="6.6.72+")
        assert support.status is S.SUPPORTED
        assert support.eol == date(2026, 9, 1)
        assert support.cycle == "cos-121 or cos-117"

    def test_the_kubelet_wins_over_the_kernel(self):
        support = os_support(
            self.image, TODAY, kernel_version="6.6.72+", kubelet_version="v1.33.5-gke.1"
        )
        assert support.cycle == "cos-121"

    def test_an_unmapped_kubelet_falls_back_to_the_kernel(self):
        support = os_support(
            self.image, TODAY, kernel_version="6.1.100+", kubelet_version="v1.30.5-gke.1"
        )
        assert (support.cycle, support.status) == ("cos-113", S.EOL)


def test_cbl_mariner_release_comes_from_the_kernel():
    two = os_support("CBL-Mariner/Linux", TODAY, kernel_version="5.15.153.1-2.cm2")
    assert (two.cycle, two.status) == ("2.0", S.EOL)
    assert "assumed" not in two.note
    one = os_support("CBL-Mariner/Linux", TODAY, kernel_version="5.10.102.1-1.cm1")
    assert (one.cycle, one.status) == ("1.0", S.EOL)
    assert "assumed" in os_support("CBL-Mariner/Linux", TODAY).note


def test_windows_annual_channel_is_named_by_its_build():
    support = os_support("Windows Server Datacenter", TODAY, kernel_version="10.0.25398.1189")
    assert (support.cycle, support.status) == ("23h2-ac", S.EOL)
    assert os_support("Windows Server Datacenter", TODAY).status is S.UNKNOWN


def test_flatcar_is_judged_by_the_age_of_its_build():
    stable = os_support("Flatcar Container Linux by Kinvolk 4459.2.0 (Oklo)", TODAY)
    assert stable.status is S.EOL and stable.estimated
    assert "Stable" in stable.name
    lts = os_support("Flatcar Container Linux by Kinvolk 4459.3.1 (Oklo)", TODAY)
    assert lts.status is S.SUPPORTED and "LTS" in lts.name
    assert lts.eol == date(2025, 9, 15) + timedelta(days=850)  # 4459 days after 2013-07-01


def test_bottlerocket_without_kubernetes_is_unknown():
    support = os_support("Bottlerocket OS 1.20.3 (aws-ecs-2)", TODAY)
    assert support.family is F.BOTTLEROCKET
    assert support.status is S.UNKNOWN


@pytest.mark.parametrize(
    ("os_image", "status"),
    [
        ("Red Hat Enterprise Linux CoreOS 416.94.202407081958-0 (Plow)", S.UNKNOWN),
        ("Linux", S.UNKNOWN),
        ("Alpine Linux v3.20", S.UNKNOWN),
        ("Buildroot 2021.02.4", S.UNKNOWN),
        ("Debian GNU/Linux trixie/sid", S.UNKNOWN),
        ("Ubuntu 16.04.7 LTS", S.UNKNOWN),  # older than the data, whose oldest is still in ESM
        ("Debian GNU/Linux 9 (stretch)", S.EOL),  # older than the data, whose oldest is EOL
        ("CentOS Linux 6", S.EOL),
        ("Talos (v1.2.0)", S.EOL),
        ("Oracle Linux Server 8.10", S.UNKNOWN),
    ],
)
def test_other_images(os_image, status):
    assert os_support(os_image, TODAY).status is status


def test_rhcos_names_its_openshift_release():
    support = os_support("Red Hat Enterprise Linux CoreOS 416.94.202407081958-0 (Plow)", TODAY)
    assert support.name == "Red Hat Enterprise Linux CoreOS (OpenShift 4.16)"
    assert support.family is None
