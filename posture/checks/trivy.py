"""Trivy Operator's VulnerabilityReports, read per image: de-duplicated, ranked, bounded.

The schema is Trivy Operator's ``VulnerabilityReport`` (aquasecurity.github.io/v1alpha1). It
writes one report per workload container, in the workload's namespace:

- labels ``trivy-operator.resource.kind`` / ``.name`` / ``.namespace`` name the scanned object
  (a ReplicaSet for a Deployment's pods, a Job for a CronJob's) and
  ``trivy-operator.container.name`` the container. A name that is not a valid label value
  (longer than 63 characters) is put in an annotation of the same key instead, with a hash in
  ``trivy-operator.resource.name-hash``;
- ``report.registry.server`` and ``report.artifact`` (``repository``, ``tag``, ``digest``) name
  the image, ``report.os`` its base OS;
- ``report.vulnerabilities[]`` lists what was found: ``vulnerabilityID``, ``resource`` (the
  package), ``installedVersion``, ``fixedVersion`` (empty when no fixed version exists),
  ``severity`` (``CRITICAL``, ``HIGH``, ``MEDIUM``, ``LOW``, ``UNKNOWN``), ``title``,
  ``primaryLink``, ``score``; ``report.summary`` counts them by severity.

Many workloads run the same image, so vulnerabilities are kept per image — identified by
``registry/repository@digest`` when the digest is known, else ``registry/repository:tag`` — with
the workloads that run it. Everything in a report is untrusted: identity strings are shortened
with a hash past their limit, free text is clipped, links are kept only when they are plain
``http``/``https`` URLs, and a report's list is cut to its most urgent entries past a limit
(``slim_report``, which the collector applies as pages arrive).

Pure Python, no Django: the rules engine and the storage (``posture.vulnerabilities``) both
read the ``VulnerabilityScan`` built here, so a count on a finding and on a page is one number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from posture.checks.safe import clip, dicts, dig, integer, mapping, string_map, text
from posture.checks.vocabulary import VulnerabilitySeverity

KIND_LABEL = "trivy-operator.resource.kind"
NAME_LABEL = "trivy-operator.resource.name"
NAMESPACE_LABEL = "trivy-operator.resource.namespace"
CONTAINER_LABEL = "trivy-operator.container.name"

# Trivy Operator scans the object that owns the pods: the ReplicaSet of a Deployment, the Job of
# a CronJob. Vulnerabilities belong to the top owner, as every workload finding does.
_OWNERS = {"ReplicaSet": "Deployment", "Job": "CronJob"}

# Entries kept per report. A real report cannot hold many more: etcd refuses objects over
# 1.5 MiB, and an entry takes at least a few hundred bytes. Past this the report is hostile
# or broken, and its most urgent entries are kept.
REPORT_ENTRIES = 10_000
# Entries kept per poll, over all reports (the collector's budget; memory while evaluating).
CLUSTER_ENTRIES = 200_000
# Longest strings kept. Identity fields (id, package, installed version, image) are shortened
# with a hash so that distinct values stay distinct; free text is clipped.
ID_LIMIT = 128
PACKAGE_LIMIT = 256
VERSION_LIMIT = 128
FIXED_LIMIT = 256
TITLE_LIMIT = 300
LINK_LIMIT = 500
IMAGE_LIMIT = 512
PART_LIMIT = 256
# Workloads listed per image (a DaemonSet's image can run in many namespaces' copies).
WORKLOADS_PER_IMAGE = 200

_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")


def shorten(value: str, limit: int) -> str:
    """Return ``value`` if it fits ``limit``, else a prefix and a hash of the whole."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{value[: limit - 13]}~{digest}"


def safe_link(value: object) -> str:
    """Return ``value`` if it is an absolute ``http``/``https`` URL fit to be a link, else "".

    No ``javascript:``, ``data:`` or relative URLs, no whitespace or control characters (which
    browsers strip, turning ``java\\tscript:`` into a scheme), nothing too long to show whole.
    """
    if not isinstance(value, str) or not value or len(value) > LINK_LIMIT:
        return ""
    if _CONTROL.search(value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return value


def _score(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return round(number, 1) if 0.0 <= number <= 10.0 else None


class Vulnerability(NamedTuple):
    """One vulnerability of one package in an image; ``fixed`` is empty when no fix exists."""

    id: str
    package: str
    installed: str
    fixed: str
    severity: VulnerabilitySeverity
    title: str
    link: str
    score: float | None

    @property
    def fixable(self) -> bool:
        """Say whether a fixed version of the package exists."""
        return bool(self.fixed)

    @property
    def key(self) -> tuple[str, str, str]:
        """Return the identity within an image: (id, package, installed version)."""
        return (self.id, self.package, self.installed)

    @property
    def priority(self) -> int:
        """Return how urgent the entry is, from its own fields only (higher is more urgent):
        severity first, then whether a fix exists, then the CVSS score (0.0–10.0). Stored
        with the entry, so pages order rows in SQL exactly as this module ranks them."""
        score = round((self.score or 0.0) * 10)
        return (self.severity.rank * 2 + bool(self.fixed)) * 101 + score

    def rank_key(self) -> tuple[int, str, str, str]:
        """Order fixable criticals first, then criticals without a fix, then fixable highs …;
        within each, the higher CVSS score first."""
        return (-self.priority, *self.key)

    def to_entry(self) -> dict[str, Any]:
        """Return the entry as a report lists it (the fields Posture reads)."""
        entry: dict[str, Any] = {
            "vulnerabilityID": self.id, "resource": self.package,
            "installedVersion": self.installed, "fixedVersion": self.fixed,
            "severity": self.severity.upper(), "title": self.title,
            "primaryLink": self.link}
        if self.score is not None:
            entry["score"] = self.score
        return entry


def read_entry(raw: object) -> Vulnerability | None:
    """Return a report's vulnerability entry, bounded and checked; None without an id."""
    entry = mapping(raw)
    vuln_id = text(entry.get("vulnerabilityID")).strip()
    if not vuln_id:
        return None
    return Vulnerability(
        id=shorten(vuln_id, ID_LIMIT),
        package=shorten(text(entry.get("resource")).strip(), PACKAGE_LIMIT),
        installed=shorten(text(entry.get("installedVersion")).strip(), VERSION_LIMIT),
        fixed=clip(text(entry.get("fixedVersion")).strip(), FIXED_LIMIT),
        severity=VulnerabilitySeverity.from_trivy(entry.get("severity")),
        title=clip(text(entry.get("title")).strip(), TITLE_LIMIT),
        link=safe_link(entry.get("primaryLink")),
        score=_score(entry.get("score")),
    )


def ranked_entries(raw: object, limit: int = REPORT_ENTRIES) -> tuple[list[Vulnerability], int]:
    """Return a report's distinct entries, most urgent first, at most ``limit`` of them, and
    how many distinct entries were left out."""
    unique: dict[tuple[str, str, str], Vulnerability] = {}
    for item in dicts(raw):
        vuln = read_entry(item)
        if vuln is not None and vuln.key not in unique:
            unique[vuln.key] = vuln
    ranked = sorted(unique.values(), key=Vulnerability.rank_key)
    return ranked[:limit], max(0, len(ranked) - limit)


_KEPT_LABELS = (KIND_LABEL, NAME_LABEL, NAMESPACE_LABEL, CONTAINER_LABEL)


def slim_report(obj: object, limit: int = REPORT_ENTRIES) -> tuple[dict[str, Any], int]:
    """Return the parts of a report Posture reads, with at most ``limit`` vulnerability
    entries (the most urgent), and how many entries were left out.

    Descriptions, links lists and CVSS vectors can make a report a megabyte; none is read, so
    the collector keeps this instead of the report as served.
    """
    report = mapping(mapping(obj).get("report"))
    meta = mapping(mapping(obj).get("metadata"))
    labels = string_map(meta.get("labels"))
    annotations = string_map(meta.get("annotations"))
    kept, dropped = ranked_entries(report.get("vulnerabilities"), limit)
    summary = {k: v for k, v in mapping(report.get("summary")).items()
               if isinstance(k, str) and integer(v) is not None}
    slim_meta: dict[str, Any] = {
        "name": text(meta.get("name")), "namespace": text(meta.get("namespace")),
        "labels": {k: labels[k] for k in _KEPT_LABELS if k in labels}}
    if NAME_LABEL in annotations:
        slim_meta["annotations"] = {NAME_LABEL: annotations[NAME_LABEL]}
    artifact = mapping(report.get("artifact"))
    os_info = mapping(report.get("os"))
    return {
        "kind": "VulnerabilityReport",
        "metadata": slim_meta,
        "report": {
            "updateTimestamp": clip(text(report.get("updateTimestamp")), 64),
            "registry": {"server": clip(text(dig(report, "registry", "server")), PART_LIMIT)},
            "artifact": {k: clip(text(artifact.get(k)), PART_LIMIT)
                         for k in ("repository", "tag", "digest") if text(artifact.get(k))},
            "os": {"family": clip(text(os_info.get("family")), 64),
                   "name": clip(text(os_info.get("name")), 64)},
            "summary": summary,
            "vulnerabilities": [v.to_entry() for v in kept],
        },
    }, dropped


class WorkloadRef(NamedTuple):
    """The workload container that runs an image (the top owner, as findings name it)."""

    kind: str
    namespace: str
    name: str
    container: str


@dataclass(frozen=True)
class SeverityCount:
    """How many vulnerabilities of one severity an image has, and how many have a fix.

    ``fixable`` is None when the report gave counts only, without the list.
    """

    total: int
    fixable: int | None

    @property
    def unfixable(self) -> int | None:
        return None if self.fixable is None else self.total - self.fixable

    def to_dict(self) -> dict[str, int | None]:
        return {"total": self.total, "fixable": self.fixable}


_SUMMARY_KEYS = {
    VulnerabilitySeverity.CRITICAL: "criticalCount",
    VulnerabilitySeverity.HIGH: "highCount",
    VulnerabilitySeverity.MEDIUM: "mediumCount",
    VulnerabilitySeverity.LOW: "lowCount",
    VulnerabilitySeverity.UNKNOWN: "unknownCount",
}


@dataclass
class ImageReport:
    """One image's vulnerabilities, de-duplicated over every report of it, most urgent first.

    ``counts`` come from the list; a report with counts but no list (``summary_only``) gives
    its summary's counts and no fix status.
    """

    ref: str
    registry: str
    repository: str
    tag: str
    digest: str
    os: str
    workloads: list[WorkloadRef] = field(default_factory=list)
    vulnerabilities: list[Vulnerability] = field(default_factory=list)
    counts: dict[VulnerabilitySeverity, SeverityCount] = field(default_factory=dict)
    summary_only: bool = False
    # Workloads past WORKLOADS_PER_IMAGE, not listed.
    more_workloads: int = 0

    def count(self, severity: VulnerabilitySeverity) -> SeverityCount:
        return self.counts.get(severity) or SeverityCount(0, None if self.summary_only else 0)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.counts.values())

    @property
    def fixable(self) -> int:
        return sum(c.fixable or 0 for c in self.counts.values())

    def rank_key(self) -> tuple[Any, ...]:
        """Order images as their worst vulnerabilities are ordered: most fixable criticals
        first, then most criticals, then fixable highs, highs, and so on."""
        key: list[Any] = []
        for severity in VulnerabilitySeverity.ordered():
            count = self.count(severity)
            key += [-(count.fixable or 0), -count.total]
        return (*key, self.ref)

    def counts_dict(self) -> dict[str, dict[str, int | None]]:
        """Return the counts as stored JSON: ``{"critical": {"total": n, "fixable": m}, …}``."""
        return {str(s): self.count(s).to_dict() for s in VulnerabilitySeverity.ordered()}


@dataclass
class VulnerabilityScan:
    """Every scanned image of a cluster, worst first, and which image each container runs."""

    images: list[ImageReport]
    # The worst image per workload container (a container scanned twice, e.g. by an old and a
    # new ReplicaSet of one Deployment, counts as its worst report).
    by_workload: dict[WorkloadRef, ImageReport]
    # Entries past REPORT_ENTRIES in some report, not read.
    dropped: int = 0


def image_ref(registry: str, repository: str, tag: str, digest: str) -> str:
    """Return the image's identity: ``registry/repository@digest``, else ``…:tag``."""
    name = f"{registry}/{repository}" if registry and repository else repository
    if digest:
        name = f"{name}@{digest}"
    elif tag:
        name = f"{name}:{tag}"
    return shorten(name, IMAGE_LIMIT)


def _workload(report: Mapping[str, Any],
              workloads: set[tuple[str, str, str]]) -> WorkloadRef | None:
    meta = mapping(report.get("metadata"))
    labels = string_map(meta.get("labels"))
    kind = labels.get(KIND_LABEL, "")
    name = labels.get(NAME_LABEL) or string_map(meta.get("annotations")).get(NAME_LABEL, "")
    namespace = labels.get(NAMESPACE_LABEL) or text(meta.get("namespace"))
    if not kind or not name:
        return None
    owner = _OWNERS.get(kind)
    if owner:
        parent = name.rsplit("-", 1)[0]
        if (owner, namespace, parent) in workloads:
            kind, name = owner, parent
    return WorkloadRef(shorten(kind, 64), shorten(namespace, 253), shorten(name, 253),
                       shorten(labels.get(CONTAINER_LABEL, ""), 253))


def _summary_counts(report: Mapping[str, Any]) -> dict[VulnerabilitySeverity, SeverityCount]:
    summary = mapping(report.get("summary"))
    counts = {}
    for severity, key in _SUMMARY_KEYS.items():
        number = integer(summary.get(key))
        if number and number > 0:
            counts[severity] = SeverityCount(number, None)
    return counts


def _list_counts(vulns: Iterable[Vulnerability]) -> dict[VulnerabilitySeverity, SeverityCount]:
    totals: dict[VulnerabilitySeverity, list[int]] = {}
    for v in vulns:
        pair = totals.setdefault(v.severity, [0, 0])
        pair[0] += 1
        pair[1] += v.fixable
    return {s: SeverityCount(total, fixable) for s, (total, fixable) in totals.items()}


def scan(reports: Iterable[object], workloads: Iterable[tuple[str, str, str]] = ()
         ) -> VulnerabilityScan:
    """Group ``reports`` by image, de-duplicating their vulnerabilities, worst image first.

    ``workloads`` are the cluster's (kind, namespace, name), to name a ReplicaSet's report by
    its Deployment and a Job's by its CronJob. When two reports of one image disagree about an
    entry (one scanned with an older database), the most recently updated report's entry wins.
    """
    known = set(workloads)
    readable = [mapping(r) for r in reports if isinstance(r, dict)]
    # Newest first (RFC 3339 timestamps order as strings), then by name for a stable result.
    readable.sort(key=lambda r: (text(dig(r, "metadata", "namespace")),
                                 text(dig(r, "metadata", "name"))))
    readable.sort(key=lambda r: text(dig(r, "report", "updateTimestamp")), reverse=True)
    images: dict[str, ImageReport] = {}
    entries: dict[str, dict[tuple[str, str, str], Vulnerability]] = {}
    summaries: dict[str, dict[VulnerabilitySeverity, SeverityCount]] = {}
    workload_sets: dict[str, set[WorkloadRef]] = {}
    owners: dict[WorkloadRef, set[str]] = {}
    dropped = 0
    for report in readable:
        body = mapping(report.get("report"))
        artifact = mapping(body.get("artifact"))
        registry = clip(text(dig(body, "registry", "server")).strip(), PART_LIMIT)
        repository = clip(text(artifact.get("repository")).strip(), PART_LIMIT)
        tag = clip(text(artifact.get("tag")).strip(), PART_LIMIT)
        digest = clip(text(artifact.get("digest")).strip(), PART_LIMIT)
        if not repository:
            meta = mapping(report.get("metadata"))
            repository = clip(f"(image of report {text(meta.get('namespace'))}/"
                              f"{text(meta.get('name'))})", PART_LIMIT)
        ref = image_ref(registry, repository, tag, digest)
        image = images.get(ref)
        if image is None:
            os_info = mapping(body.get("os"))
            os_name = " ".join(p for p in (clip(text(os_info.get("family")), 64),
                                           clip(text(os_info.get("name")), 64)) if p)
            image = images[ref] = ImageReport(ref, registry, repository, tag, digest, os_name)
            entries[ref] = {}
        kept, left_out = ranked_entries(body.get("vulnerabilities"))
        dropped += left_out
        seen = entries[ref]
        for vuln in kept:
            seen.setdefault(vuln.key, vuln)
        if not kept and ref not in summaries:
            summaries[ref] = _summary_counts(body)
        workload = _workload(report, known)
        if workload is not None:
            workload_sets.setdefault(ref, set()).add(workload)
            owners.setdefault(workload, set()).add(ref)
    for ref, image in images.items():
        image.vulnerabilities = sorted(entries[ref].values(), key=Vulnerability.rank_key)
        if image.vulnerabilities:
            image.counts = _list_counts(image.vulnerabilities)
        else:
            image.counts = summaries.get(ref, {})
            image.summary_only = bool(image.counts)
        listed = sorted(workload_sets.get(ref, ()))
        image.workloads = listed[:WORKLOADS_PER_IMAGE]
        image.more_workloads = len(listed) - len(image.workloads)
    ranked = sorted(images.values(), key=ImageReport.rank_key)
    by_workload = {w: min((images[r] for r in refs), key=ImageReport.rank_key)
                   for w, refs in owners.items()}
    return VulnerabilityScan(images=ranked, by_workload=by_workload, dropped=dropped)
