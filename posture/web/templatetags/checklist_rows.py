"""The checklist's finding rows, written in one pass per check.

A checklist holds hundreds of findings; rendered through template tags, each row paid for about
twenty variable lookups, filters, a URL reversal and three date formats. This tag writes the same
rows: every text from the cluster through ``untrusted`` (visible, escaped, isolated), dates in
the site's time zone as the ``date`` filter shows them (``c`` and ``Y-m-d``).
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from posture.web.dashboard.checklist import Group, Item, Status
from posture.web.templatetags.untrusted import untrusted

register = template.Library()

# A finding's URL is this one with the number replaced: one reversal per page, not per row.
_PK_MARK = 2147483647
_DASH = "—"


def _text(value: object) -> str:
    """Return ``{{ value|untrusted }}`` as the template renders it."""
    shown = untrusted(value)
    return str(shown) if isinstance(shown, SafeString) else str(conditional_escape(str(shown)))


def local_time(value: date | None) -> date | None:
    """Return ``value`` as the ``date`` filter sees it: an aware datetime in the current time
    zone (what the template engine's ``template_localtime`` does before the filter)."""
    if isinstance(value, datetime) and settings.USE_TZ and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _iso(value: date | None) -> str:
    """Return ``{{ value|date:'c' }}``."""
    shown = local_time(value)
    return "" if shown is None else str(conditional_escape(shown.isoformat()))


def _day(value: date | None) -> str:
    """Return ``{{ value|date:'Y-m-d' }}``."""
    shown = local_time(value)
    return "" if shown is None else f"{shown.year:04d}-{shown.month:02d}-{shown.day:02d}"


def _status(item: Item) -> str:
    finding = item.finding
    if item.status == Status.RESOLVED:
        return (f'<span class="state state-resolved">resolved</span> '
                f'<time datetime="{_iso(finding.resolved_at)}">{_day(finding.resolved_at)}</time>')
    if item.status == Status.ACCEPTED and item.acceptance is not None:
        acceptance = item.acceptance
        by = acceptance.created_by.get_username() if acceptance.created_by else ""
        return (f'<span class="state state-accepted">accepted risk</span> <span class="help">by '
                f"{_text(by or _DASH)} until {_day(acceptance.expires_at)}: "
                f"{_text(acceptance.reason)}</span>")
    return '<span class="state state-open">open</span>'


@register.simple_tag
def finding_rows(group: Group) -> SafeString:
    """Render ``group``'s findings as table rows, the workload's cells spanning its findings."""
    url = reverse("finding", args=[_PK_MARK])
    parts: list[str] = []
    for workload in group.workloads:
        span = len(workload.items)
        for index, item in enumerate(workload.items):
            finding = item.finding
            parts.append(f'<tr class="status-row-{conditional_escape(item.status)}">')
            if index == 0:
                parts.append(
                    f'<td rowspan="{span}" class="mono">{_text(workload.namespace or _DASH)}</td>'
                    f'<th scope="row" rowspan="{span}" class="mono">{_text(workload.kind)}/'
                    f"{_text(workload.name)}</th>")
            link = conditional_escape(url.replace(str(_PK_MARK), str(int(finding.pk))))
            parts.append(
                f'<td class="mono">{_text(finding.container or _DASH)}</td>'
                f'<td><a href="{link}">{_text(finding.message)}</a></td>'
                f'<td><time datetime="{_iso(finding.first_seen_at)}">'
                f"{_day(finding.first_seen_at)}</time></td>"
                f"<td>{_status(item)}</td></tr>\n")
    # mark_safe is sound: every text above went through untrusted() or conditional_escape().
    return mark_safe("".join(parts))  # noqa: S308
