"""Fixes as tickets: one check of the checklist as a Markdown issue, and the open fixes of the
clusters a user may see as CSV or JSON rows, for an issue tracker.

Cluster text is attacker-controlled. In Markdown it is written in its visible form
(``posture.checks.hidden``) with every ASCII punctuation character backslash-escaped, which
CommonMark allows for all of them: a name cannot open a link, an image, emphasis, a code span,
raw HTML, a heading or a table cell, and ``://`` or ``www.`` never appear unescaped, so trackers
that link bare addresses do not either. The catalog's own text (why, fix) is Markdown already
and written as it is; a fix snippet goes in a fence longer than any run of backticks in it.

The fix list leaves accepted risks out: an owner who accepted a risk has decided not to fix it
for now, so it is not a ticket to open. Platform-managed findings stay, marked, since someone
(the platform's owners) still has them to fix.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from clusters.models import Cluster
from posture.checks import CATALOG, Policy
from posture.checks.hidden import visible
from posture.domain.models import Finding, RiskAcceptance
from posture.domain.waivers import accepting
from posture.web.dashboard.checklist import Group, Status

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_BACKTICKS = re.compile(r"`+")


def escape(value: object) -> str:
    """Return untrusted text as Markdown that renders as that text and nothing else."""
    return _PUNCTUATION.sub(r"\\\1", visible("" if value is None else str(value)))


def _fence(snippet: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(snippet)), default=0)
    return "`" * max(3, longest + 1)


def site_link(path: str) -> str:
    """Return the absolute link to ``path`` on this installation (``POSTURE_BASE_URL``)."""
    return settings.POSTURE_BASE_URL.rstrip("/") + path


def checklist_link(cluster: Cluster, group: Group) -> str:
    """Return the absolute link to ``group``'s entry on the cluster's checklist."""
    return site_link(reverse("clusters:checklist", args=[cluster.pk]) + f"#check-{group.slug}")


def issue_title(cluster: Cluster, group: Group) -> str:
    """Return the issue's title as plain text (hidden characters visible)."""
    title = group.check.title if group.check else group.check_id
    return f"{title} on {visible(cluster.name)}"


def issue_markdown(cluster: Cluster, group: Group) -> str:
    """Return one check of the checklist as a Markdown issue: title, severity, why, the fix
    fitted to the cluster, the affected workloads still to fix, and a link back."""
    check = group.check
    title = check.title if check else group.check_id
    severity = check.severity.label if check else "unknown"
    lines = [f"# {escape(title)} on {escape(cluster.name)}", ""]
    lines.append(f"**Severity:** {escape(severity)} · **Check:** {escape(group.check_id)} · "
                 f"**Cluster:** {escape(cluster.name)}")
    if not group.platform and group.points_gained:
        lines.append("")
        lines.append(f"Fixing it adds {group.points_gained:.1f} points to the cluster's score.")
    if check is not None:
        lines += ["", "## Why it matters", "", check.why.strip()]
    advice = group.advice
    if advice is not None:
        lines += ["", "## How to fix it", "", advice.fix.strip()]
        if advice.note:
            lines += ["", advice.note.strip()]
        if advice.snippet:
            fence = _fence(advice.snippet)
            lines += ["", f"{fence}sh" if advice.snippet.lstrip().startswith("kubectl")
                      else fence, advice.snippet.rstrip("\n"), fence]
    rows = [(w, item) for w in group.workloads for item in w.items
            if item.status != Status.RESOLVED]
    lines += ["", f"## Affected workloads ({len(rows)})", ""]
    if rows:
        lines.append("| Cluster | Namespace | Kind | Name | Container | Status |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for workload, item in rows:
            status = "open"
            if item.status == Status.ACCEPTED and item.acceptance is not None:
                status = f"accepted risk until {item.acceptance.expires_at:%Y-%m-%d}"
            cells = (cluster.name, workload.namespace or "—", workload.kind, workload.name,
                     item.finding.container or "—", status)
            lines.append("| " + " | ".join(escape(c) for c in cells) + " |")
    else:
        lines.append("None open.")
    lines += ["", f"[The checklist entry on Posture]({checklist_link(cluster, group)})", ""]
    return "\n".join(lines)


# --- The open fixes of a user's clusters ------------------------------------------------------

FIX_COLUMNS = ("cluster", "check", "title", "severity", "category", "namespace", "kind", "name",
               "containers", "findings", "platform_managed", "first_seen", "link")


@dataclass
class FixRow:
    """One check on one workload (or node, namespace, binding …) still to fix."""

    cluster: str
    check: str
    title: str
    severity: str
    category: str
    namespace: str
    kind: str
    name: str
    containers: list[str]
    findings: int
    platform_managed: bool
    first_seen: str
    link: str

    def as_dict(self) -> dict[str, Any]:
        return {column: getattr(self, column) for column in FIX_COLUMNS}


def open_fixes(clusters: Iterable[Cluster], policy: Policy) -> Iterator[FixRow]:
    """Yield the open fixes of ``clusters``, one per check and workload, accepted risks left
    out, in cluster, check, namespace, kind, name order."""
    by_pk = {c.pk: c for c in clusters}
    now = timezone.now()
    active: dict[int, list[RiskAcceptance]] = defaultdict(list)
    for acceptance in RiskAcceptance.objects.filter(
            cluster_id__in=by_pk, revoked_at__isnull=True, expires_at__gt=now):
        active[acceptance.cluster_id].append(acceptance)
    findings = (Finding.objects.filter(cluster_id__in=by_pk, resolved_at__isnull=True)
                .defer("evidence")
                .order_by("cluster__name", "cluster_id", "check_id", "namespace", "kind", "name",
                          "container"))
    current: FixRow | None = None
    key: tuple[Any, ...] = ()
    for finding in findings.iterator(chunk_size=2000):
        if accepting(finding, active.get(finding.cluster_id, [])):
            continue
        identity = (finding.cluster_id, finding.check_id, finding.namespace, finding.kind,
                    finding.name)
        if current is not None and identity == key:
            current.findings += 1
            if finding.container:
                current.containers.append(finding.container)
            current.first_seen = min(current.first_seen, finding.first_seen_at.isoformat())
            continue
        if current is not None:
            yield current
        cluster = by_pk[finding.cluster_id]
        check = CATALOG.get(finding.check_id)
        slug = finding.check_id.replace(".", "-")
        if policy.set_apart(finding.kind, finding.namespace, finding.name):
            slug = f"platform-{slug}"
        key = identity
        current = FixRow(
            cluster=cluster.name, check=finding.check_id,
            title=check.title if check else finding.check_id, severity=finding.severity,
            category=finding.category, namespace=finding.namespace, kind=finding.kind,
            name=finding.name, containers=[finding.container] if finding.container else [],
            findings=1, platform_managed=policy.set_apart(finding.kind, finding.namespace,
                                                          finding.name),
            first_seen=finding.first_seen_at.isoformat(),
            link=site_link(reverse("clusters:checklist", args=[cluster.pk]) + f"#check-{slug}"),
        )
    if current is not None:
        yield current
