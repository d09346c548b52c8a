"""Severity and category: declared once, with label, display colour and rank.

Templates, charts, emails and the CLI read these; nothing else decides that critical is red.
Colours are dark enough for text on a white background (WCAG AA, contrast >= 4.5:1).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class _Meta(NamedTuple):
    label: str
    colour: str
    rank: int


class Severity(StrEnum):
    """How urgent a finding is; a higher ``rank`` is more severe."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def label(self) -> str:
        """Return the human label."""
        return _SEVERITY[self].label

    @property
    def colour(self) -> str:
        """Return the display colour as ``#rrggbb``."""
        return _SEVERITY[self].colour

    @property
    def rank(self) -> int:
        """Return the rank: 4 for critical down to 0 for info."""
        return _SEVERITY[self].rank

    @classmethod
    def ordered(cls) -> tuple[Severity, ...]:
        """Return every severity, most severe first."""
        return tuple(sorted(cls, key=lambda s: -s.rank))


class Category(StrEnum):
    """The area of the cluster a check looks at; ``rank`` is the display order."""

    VERSION = "version"
    NODES = "nodes"
    WORKLOADS = "workloads"
    IMAGES = "images"
    NETWORK = "network"
    ACCESS = "access"
    VULNERABILITIES = "vulnerabilities"

    @property
    def label(self) -> str:
        """Return the human label."""
        return _CATEGORY[self].label

    @property
    def colour(self) -> str:
        """Return the display colour as ``#rrggbb``."""
        return _CATEGORY[self].colour

    @property
    def rank(self) -> int:
        """Return the display position, 0 first."""
        return _CATEGORY[self].rank

    @classmethod
    def ordered(cls) -> tuple[Category, ...]:
        """Return every category in display order."""
        return tuple(sorted(cls, key=lambda c: c.rank))


_SEVERITY: dict[Severity, _Meta] = {
    Severity.CRITICAL: _Meta("Critical", "#b91c1c", 4),
    Severity.HIGH: _Meta("High", "#c2410c", 3),
    Severity.MEDIUM: _Meta("Medium", "#a16207", 2),
    Severity.LOW: _Meta("Low", "#1d4ed8", 1),
    Severity.INFO: _Meta("Info", "#4b5563", 0),
}

_CATEGORY: dict[Category, _Meta] = {
    Category.VERSION: _Meta("Kubernetes version", "#6d28d9", 0),
    Category.NODES: _Meta("Nodes", "#0f766e", 1),
    Category.WORKLOADS: _Meta("Workloads", "#1e40af", 2),
    Category.IMAGES: _Meta("Images", "#9d174d", 3),
    Category.NETWORK: _Meta("Network", "#047857", 4),
    Category.ACCESS: _Meta("Access control", "#92400e", 5),
    Category.VULNERABILITIES: _Meta("Vulnerabilities", "#be123c", 6),
}


class VulnerabilitySeverity(StrEnum):
    """A known vulnerability's severity as Trivy rates it; ``unknown`` when it gives none.

    Separate from ``Severity``: that one rates Posture's findings, this one a CVE in a package.
    """

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """Return the human label."""
        return _VULNERABILITY_SEVERITY[self].label

    @property
    def colour(self) -> str:
        """Return the display colour as ``#rrggbb`` (the finding severity's of the same rank)."""
        return _VULNERABILITY_SEVERITY[self].colour

    @property
    def rank(self) -> int:
        """Return the rank: 4 for critical down to 0 for unknown."""
        return _VULNERABILITY_SEVERITY[self].rank

    @classmethod
    def ordered(cls) -> tuple[VulnerabilitySeverity, ...]:
        """Return every severity, most severe first."""
        return tuple(sorted(cls, key=lambda s: -s.rank))

    @classmethod
    def from_trivy(cls, value: object) -> VulnerabilitySeverity:
        """Read Trivy's ``CRITICAL`` … ``UNKNOWN``; anything else reads as unknown."""
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        return cls.UNKNOWN


_VULNERABILITY_SEVERITY: dict[VulnerabilitySeverity, _Meta] = {
    VulnerabilitySeverity.CRITICAL: _Meta("Critical", _SEVERITY[Severity.CRITICAL].colour, 4),
    VulnerabilitySeverity.HIGH: _Meta("High", _SEVERITY[Severity.HIGH].colour, 3),
    VulnerabilitySeverity.MEDIUM: _Meta("Medium", _SEVERITY[Severity.MEDIUM].colour, 2),
    VulnerabilitySeverity.LOW: _Meta("Low", _SEVERITY[Severity.LOW].colour, 1),
    VulnerabilitySeverity.UNKNOWN: _Meta("Unknown", _SEVERITY[Severity.INFO].colour, 0),
}
