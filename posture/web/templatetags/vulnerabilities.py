"""Template tags of the vulnerabilities partial and page."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from clusters.models import Cluster
from posture.checks.vocabulary import Severity, VulnerabilitySeverity
from posture.web.dashboard import vulnerabilities
from posture.web.dashboard.vulnerabilities import ClusterVulnerabilities
from posture.web.templatetags.untrusted import isolated

register = template.Library()

# A vulnerability severity wears the colour of the finding severity of the same rank.
_BADGE_CLASS = {v: next(s for s in Severity if s.rank == v.rank) for v in VulnerabilitySeverity}


@register.simple_tag
def vulnerability_badge(value: str) -> SafeString:
    """Render a vulnerability severity as a coloured badge (unknown values as plain text)."""
    try:
        severity = VulnerabilitySeverity(str(value))
    except ValueError:
        return isolated(value)
    return format_html('<span class="badge sev-{}">{}</span>', _BADGE_CLASS[severity].value,
                       severity.label)


@register.simple_tag
def cluster_vulnerabilities(cluster: Cluster, scorecard: object = None) -> ClusterVulnerabilities:
    """Return the scorecard's summary: totals and the most urgent images.

    Given the page's scorecard, its newest successful snapshot is read from there rather than
    queried again.
    """
    latest = getattr(scorecard, "snapshot", vulnerabilities.UNREAD)
    return vulnerabilities.build(cluster, per_image=0, images=vulnerabilities.SUMMARY_IMAGES,
                                 latest=latest, vulnerable_only=True)
