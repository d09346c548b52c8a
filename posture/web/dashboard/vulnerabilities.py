"""A cluster's vulnerabilities per image, most urgent first: the scorecard's summary and the
vulnerabilities page.

Images come in the order the poll ranked them (``Image.rank``: most fixable criticals first,
then most criticals, then fixable highs …) and each image's CVEs by their stored ``priority``
(fixable criticals, criticals without a fix, fixable highs …): both computed once, by
``posture.checks.trivy``, when the poll was recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from clusters.models import Cluster
from posture.checks.vocabulary import VulnerabilitySeverity
from posture.domain.models import Image, ImageVulnerability, ImageWorkload, Snapshot

# CVEs listed per image on the page (the image's own view lists all it stored).
PER_IMAGE = 25
# Images in the scorecard's summary.
SUMMARY_IMAGES = 5
RESOURCE = "vulnerabilityreports"


class _Unread:
    """The newest successful snapshot, not read yet."""


UNREAD = _Unread()


class State:
    """Whether the cluster's vulnerabilities are known."""

    NOT_POLLED = "not-polled"
    NOT_EVALUATED = "not-evaluated"
    EVALUATED = "evaluated"


@dataclass(frozen=True)
class Filters:
    """What the page is narrowed to; empty means everything."""

    severity: str = ""
    fixable: bool = False
    image: int | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """Read filters from GET parameters; unknown values are ignored."""
        severity = query.get("severity", "")
        image = query.get("image", "")
        return cls(
            severity=severity if severity in {str(s) for s in VulnerabilitySeverity} else "",
            fixable=query.get("fixable", "") in ("1", "on", "true"),
            image=int(image) if image.isdigit() and len(image) < 12 else None,
        )

    @property
    def narrowed(self) -> bool:
        return bool(self.severity or self.fixable or self.image)


@dataclass(frozen=True)
class SeverityTotal:
    """Vulnerabilities of one severity over the cluster's images (a CVE in two images counts
    twice: each image needs its own fix)."""

    severity: VulnerabilitySeverity
    total: int
    fixable: int
    # Counted in images whose report gave counts only, so whether a fix exists is unknown.
    unknown: int

    @property
    def unfixable(self) -> int:
        return self.total - self.fixable - self.unknown


@dataclass
class ImageRow:
    """One image: its counts, the workloads that run it, its CVEs as listed here."""

    image: Image
    workloads: list[ImageWorkload]
    vulnerabilities: list[ImageVulnerability]
    # CVEs matching the filters, listed or not.
    matching: int = 0

    @property
    def counts(self) -> list[tuple[VulnerabilitySeverity, dict[str, int | None]]]:
        return [(s, self.image.count(str(s))) for s in VulnerabilitySeverity.ordered()]

    @property
    def unlisted(self) -> int:
        """Return how many matching CVEs are not listed (page limit, or not stored)."""
        return max(0, self.matching - len(self.vulnerabilities))

    @property
    def summary_only(self) -> bool:
        return any(c.get("fixable") is None and c.get("total") for _, c in self.counts)


@dataclass
class ClusterVulnerabilities:
    """What the scorecard and the vulnerabilities page show."""

    state: str
    reason: str = ""
    images: list[ImageRow] = field(default_factory=list)
    totals: list[SeverityTotal] = field(default_factory=list)
    image_count: int = 0
    # Scanned images with at least one known vulnerability.
    vulnerable_count: int = 0
    filters: Filters = field(default_factory=Filters)

    @property
    def total(self) -> int:
        return sum(t.total for t in self.totals)

    @property
    def fixable(self) -> int:
        return sum(t.fixable for t in self.totals)

    @property
    def unfixable(self) -> int:
        return sum(t.unfixable for t in self.totals)


def _state(cluster: Cluster, latest: Snapshot | None | _Unread) -> tuple[str, str]:
    if isinstance(latest, _Unread):
        polls = Snapshot.objects.successful_of(cluster)
        stored = list(polls.values_list("coverage", flat=True)[:1])
        if not stored:
            return State.NOT_POLLED, ""
        read = stored[0]
    elif latest is None:
        return State.NOT_POLLED, ""
    else:
        read = latest.coverage
    coverage = (read or {}).get(RESOURCE)
    if not isinstance(coverage, dict) or coverage.get("state") != "read":
        message = coverage.get("message", "") if isinstance(coverage, dict) else ""
        return State.NOT_EVALUATED, str(message or "the reports were not read")
    return State.EVALUATED, str(coverage.get("message", ""))


def _totals(images: list[Image]) -> list[SeverityTotal]:
    totals = []
    for severity in VulnerabilitySeverity.ordered():
        total = fixable = unknown = 0
        for image in images:
            count = image.count(str(severity))
            total += count.get("total") or 0
            if count.get("fixable") is None:
                unknown += count.get("total") or 0
            else:
                fixable += count["fixable"] or 0
        totals.append(SeverityTotal(severity, total, fixable, unknown))
    return totals


def _vulnerabilities(filters: Filters) -> QuerySet[ImageVulnerability]:
    rows = ImageVulnerability.objects.filter(resolved_at__isnull=True)
    if filters.severity:
        rows = rows.filter(severity=filters.severity)
    if filters.fixable:
        rows = rows.exclude(fixed_version="")
    return rows.order_by("-priority", "vulnerability_id", "package", "installed_version")


def _matching(image: Image, filters: Filters) -> int:
    severities = [filters.severity] if filters.severity else [str(s) for s in
                                                              VulnerabilitySeverity]
    key = "fixable" if filters.fixable else "total"
    return sum(image.count(s).get(key) or 0 for s in severities)


def build(cluster: Cluster, filters: Filters | None = None,
          per_image: int | None = PER_IMAGE, images: int | None = None,
          latest: Snapshot | None | _Unread = UNREAD,
          vulnerable_only: bool = False) -> ClusterVulnerabilities:
    """Return ``cluster``'s open images, worst first, with up to ``per_image`` CVEs each (all
    with None, none with 0), the first ``images`` of them (all with None), leaving out images
    with no known vulnerability if ``vulnerable_only``.

    ``latest`` is the cluster's newest successful snapshot when the caller has it (None: there
    is none), to read its coverage from. A fixed number of queries whatever the number of
    images: the newest snapshot's coverage (unless given), the images, their workloads, their
    CVEs (``per_image`` per image, cut in SQL).
    """
    filters = filters or Filters()
    state, reason = _state(cluster, latest)
    result = ClusterVulnerabilities(state=state, reason=reason, filters=filters)
    if state != State.EVALUATED:
        # What an earlier poll stored is not shown as current: the reports were not read.
        return result
    every = list(Image.objects.filter(cluster=cluster, resolved_at__isnull=True)
                 .order_by("rank", "ref"))
    result.totals = _totals(every)
    result.image_count = len(every)
    result.vulnerable_count = sum(1 for i in every if i.total)
    shown = [i for i in every if filters.image is None or i.pk == filters.image]
    shown = [i for i in shown if _matching(i, filters)] if filters.narrowed else shown
    if vulnerable_only:
        shown = [i for i in shown if i.total]
    shown = shown[:images] if images is not None else shown
    vulns = _vulnerabilities(filters)
    links = ImageWorkload.objects.order_by("namespace", "kind", "name", "container")
    lookups: list[Prefetch[Any, Any, Any]] = [
        Prefetch("workloads", queryset=links, to_attr="links")]
    if per_image != 0:
        lookups.append(Prefetch("vulnerabilities", to_attr="listed",
                                queryset=vulns[:per_image] if per_image else vulns))
    prefetch_related_objects(shown, *lookups)
    result.images = [ImageRow(i, getattr(i, "links", []), getattr(i, "listed", []),
                              _matching(i, filters)) for i in shown]
    return result
