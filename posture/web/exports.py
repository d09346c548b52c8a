"""CSV export of findings, safe to open in a spreadsheet.

Cluster text is attacker-controlled: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return would be run as a formula by Excel or LibreOffice (``=HYPERLINK(...)``), so such
cells get a leading apostrophe, the mitigation OWASP recommends. Hidden characters (bidi
overrides, zero-width spaces: ``posture.checks.hidden``) are written as escapes such as
``\\u202e``, as on the pages, so a name cannot look like another in the sheet.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from posture.checks import Policy
from posture.checks.hidden import visible
from posture.domain.models import Finding, RiskAcceptance
from posture.domain.waivers import accepting

if TYPE_CHECKING:
    from clusters.models import Cluster
    from posture.checks.frameworks.assess import Assessment
    from posture.web.dashboard.fleet_findings import CheckRow
    from posture.web.dashboard.vulnerabilities import ImageRow

COLUMNS = ("cluster", "check", "severity", "category", "kind", "namespace", "name", "container",
           "status", "accepted_until", "platform_managed", "first_seen", "resolved", "message")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Return ``value`` as text that a spreadsheet shows as text, never as a formula.

    Hidden characters show as escapes; a cell that started with a formula character (tab and
    carriage return included, though they then read ``\\u0009`` and ``\\u000d``) keeps its
    apostrophe.
    """
    text = "" if value is None else str(value)
    shown = visible(text)
    return "'" + shown if text.startswith(_FORMULA_STARTS) else shown


def file_part(text: str) -> str:
    """Return ``text`` fit for a download's file name: ASCII letters, digits, ``.-_``, else ``_``.

    A cluster name is untrusted: a quote would end the header's quoted name, and a bidi override
    would show ``posture-\u202egnp.exe-findings.csv`` in the browser's downloads as a program.
    """
    return "".join(c if c.isascii() and (c.isalnum() or c in ".-_") else "_" for c in text)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def findings_csv(findings: Iterable[Finding], acceptances: dict[int, list[RiskAcceptance]],
                 policy: Policy) -> Iterator[str]:
    """Yield CSV lines: a header, then one row per finding (cluster preloaded).

    ``platform_managed`` is "yes" for a finding the policy sets apart (``Policy.set_apart``):
    not scored, not in the headline counts.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for f in findings:
        accepted = (accepting(f, acceptances.get(f.cluster_id, []))
                    if f.resolved_at is None else None)
        status = "resolved" if f.resolved_at else ("accepted" if accepted else "open")
        yield writer.writerow([safe_cell(v) for v in (
            f.cluster.name, f.check_id, f.severity, f.category, f.kind, f.namespace, f.name,
            f.container, status, _iso(accepted.expires_at) if accepted else "",
            "yes" if policy.set_apart(f.kind, f.namespace, f.name) else "no",
            _iso(f.first_seen_at), _iso(f.resolved_at), f.message)])


CHECK_COLUMNS = ("check", "title", "severity", "category", "clusters_affected", "clusters_polled",
                 "resources_affected", "open_findings", "accepted_findings", "to_fix",
                 "resources_change_7d", "resources_change_30d", "clusters_not_evaluated",
                 "platform_findings", "platform_clusters")


def checks_csv(rows: Iterable[CheckRow], polled: int) -> Iterator[str]:
    """Yield CSV lines of the fleet findings: a header, then one row per check.

    Counts are written as numbers (a negative change is a number, not a formula); only the text
    cells go through ``safe_cell``.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(CHECK_COLUMNS)
    for r in rows:
        text = [safe_cell(v) for v in (r.check_id, r.title, r.severity or "", r.category)]
        yield writer.writerow([
            *text, r.clusters, polled, r.resources, r.findings, r.accepted, r.to_fix,
            "" if r.change_7d is None else r.change_7d,
            "" if r.change_30d is None else r.change_30d, r.not_evaluated, r.platform,
            r.platform_clusters])
VULNERABILITY_COLUMNS = ("cluster", "image", "severity", "fixable", "vulnerability", "package",
                         "installed_version", "fixed_version", "score", "title", "link",
                         "workloads", "first_seen")


def vulnerabilities_csv(cluster: Cluster, images: Iterable[ImageRow]) -> Iterator[str]:
    """Yield CSV lines: a header, then one row per CVE of each image, in the page's order."""
    writer = csv.writer(_Echo())
    yield writer.writerow(VULNERABILITY_COLUMNS)
    for row in images:
        workloads = " ".join(f"{w.kind}/{w.namespace}/{w.name}/{w.container}"
                             for w in row.workloads)
        for v in row.vulnerabilities:
            yield writer.writerow([safe_cell(value) for value in (
                cluster.name, row.image.ref, v.severity, "yes" if v.fixable else "no",
                v.vulnerability_id, v.package, v.installed_version, v.fixed_version,
                "" if v.score is None else v.score, v.title, v.safe_link, workloads,
                _iso(v.first_seen_at))])


FRAMEWORK_COLUMNS = ("cluster", "framework", "version", "control", "title", "section", "status",
                     "reason", "checks", "findings", "set_apart_findings", "as_of",
                     "checkset_version")


def frameworks_csv(rows: Iterable[tuple[str, datetime | None, str, Assessment[Any]]]
                   ) -> Iterator[str]:
    """Yield CSV lines: a header, then one row per control of each (cluster name, as of, check
    set version, assessment).

    ``findings`` counts the open findings that fail the control; ``set_apart_findings`` those
    left out as accepted risks or platform-managed. Reasons quote the clusters' own words
    (why a check could not run), so every text cell goes through ``safe_cell``.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(FRAMEWORK_COLUMNS)
    for cluster, as_of, checkset, assessment in rows:
        fw = assessment.framework
        for r in assessment.results:
            c = r.control
            yield writer.writerow([
                *(safe_cell(v) for v in (cluster, fw.id, fw.version, c.id, c.title,
                                         c.section, str(r.status), r.reason,
                                         " ".join(c.checks))),
                len(r.findings), len(r.set_apart),
                safe_cell(_iso(as_of)), safe_cell(checkset)])
