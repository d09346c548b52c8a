"""The lifecycle vocabulary: support statuses, managed providers, OS families, runtimes.

Each enumeration is declared here once, with its display label (for OS families and runtimes,
the product label in the data); its values are the keys used in the data files and in stored
results, so they never change.
"""

from __future__ import annotations

from enum import StrEnum

from posture.lifecycle.data import catalog


class SupportStatus(StrEnum):
    """Where a release stands in its vendor's support lifecycle on a given day."""

    SUPPORTED = "supported"
    MAINTENANCE = "maintenance"
    EXTENDED = "extended"
    EOL = "eol"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """Return the human label."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    SupportStatus.SUPPORTED: "Supported",
    SupportStatus.MAINTENANCE: "Maintenance only",
    SupportStatus.EXTENDED: "Extended support only",
    SupportStatus.EOL: "End of life",
    SupportStatus.UNKNOWN: "Unknown",
}


class Provider(StrEnum):
    """A managed Kubernetes service whose support windows differ from upstream's."""

    EKS = "eks"
    GKE = "gke"
    AKS = "aks"

    @property
    def label(self) -> str:
        """Return the human label."""
        return _PROVIDER_LABELS[self]


_PROVIDER_LABELS = {
    Provider.EKS: "Amazon EKS",
    Provider.GKE: "Google GKE",
    Provider.AKS: "Azure AKS",
}


class OSFamily(StrEnum):
    """A node operating system family; each value is a product key in ``data/os.yaml``."""

    UBUNTU = "ubuntu"
    DEBIAN = "debian"
    RHEL = "rhel"
    ROCKY = "rocky"
    ALMALINUX = "almalinux"
    CENTOS = "centos"
    CENTOS_STREAM = "centos-stream"
    AMAZON_LINUX = "amazon-linux"
    BOTTLEROCKET = "bottlerocket"
    COS = "cos"
    FLATCAR = "flatcar"
    TALOS = "talos"
    SLES = "sles"
    SLE_MICRO = "sle-micro"
    AZURE_LINUX = "azure-linux"
    WINDOWS_SERVER = "windows-server"

    @property
    def label(self) -> str:
        """Return the human label, as the data file names the product."""
        return catalog().product(self.value).label


class Runtime(StrEnum):
    """A container runtime as named in ``nodeInfo.containerRuntimeVersion``."""

    CONTAINERD = "containerd"
    CRI_O = "cri-o"
    DOCKER = "docker"

    @property
    def label(self) -> str:
        """Return the human label, as the data file names the product."""
        return catalog().product(self.value).label
