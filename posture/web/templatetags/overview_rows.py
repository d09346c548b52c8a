"""The fleet overview's cluster rows, written in one pass.

Fifty rows of about forty tags and lookups each made the overview's biggest template cost after
its charts. The tag writes the same cells, through the same filters and tags the template used
(``untrusted`` for every text from a cluster, the badges of ``vocabulary``, Django's
``floatformat``, ``date`` and ``pluralize``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat, pluralize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from posture.web.dashboard.overview import COUNTED, Row
from posture.web.templatetags.checklist_rows import local_time
from posture.web.templatetags.untrusted import untrusted
from posture.web.templatetags.vocabulary import (
    grade_badge,
    poll_status,
    signed,
    support_badge,
    trend_class,
)

register = template.Library()
_DASH = "—"


def _text(value: object) -> str:
    """Return ``{{ value|untrusted }}`` as the template renders it."""
    shown = untrusted(value)
    return str(shown) if isinstance(shown, SafeString) else str(conditional_escape(str(shown)))


def _date(value: date | None, format_string: str) -> str:
    """Return ``{{ value|date:format_string }}`` (in the current time zone, as the filter)."""
    return str(conditional_escape(date_filter(local_time(value), format_string)))


def _name(row: Row) -> str:
    cluster = row.cluster
    labels = ""
    if cluster.labels:
        labels = '<div class="labels">' + "".join(
            f'<span class="label">{_text(key)}={_text(value)}</span>'
            for key, value in cluster.labels.items()) + "</div>"
    url = conditional_escape(cluster.get_absolute_url())
    return f'<th scope="row"><a href="{url}">{_text(cluster.name)}</a>{labels}</th>'


def _kubernetes(row: Row) -> str:
    support = row.support
    if not support:
        return _DASH
    version = row.current.kubernetes_version if row.current else ""
    out = f'<span class="mono">{_text(version)}</span><div class="help">'
    out += str(support_badge(support.status))
    if support.eol:
        out += f": {_date(support.eol, 'Y-m-d')}"
    if support.days_left is not None:
        if support.days_left < 0:
            out += f' <span class="past">({abs(support.days_left)} days ago)</span>'
        else:
            out += f' <span class="">({support.days_left} days left)</span>'
    return out + "</div>"


def _os(row: Row) -> str:
    os = row.oldest_os
    if not os:
        return _DASH
    support = os.support
    out = f'{_text(os.image)}<div class="help">{support_badge(support.status)}'
    if support.eol:
        out += f": {_date(support.eol, 'Y-m-d')}"
    if support.days_left is not None and support.days_left < 0:
        out += ' <span class="past">(past)</span>'
    return out + f" · {os.nodes} node{pluralize(os.nodes)}</div>"


def _count(row: Row, severity: str) -> str:
    if not row.scored:
        return _DASH
    count = row.open_counts.get(severity, "")
    marked = f" text-sev-{severity}" if count else ""
    out = f'<span class="count{marked}">{count}</span>'
    accepted = row.accepted_counts.get(severity)
    if accepted:
        out += f' <span class="help accepted">+{accepted} accepted</span>'
    return out


def _last_poll(row: Row) -> str:
    if not row.last_status:
        return "never"
    return (f'{poll_status(row.last_status)} <time datetime="{_date(row.last_taken_at, "c")}">'
            f'{_date(row.last_taken_at, "Y-m-d H:i")}</time>')


@register.simple_tag
def overview_rows(rows: Iterable[Row]) -> SafeString:
    """Render the overview's table rows, one per cluster."""
    parts = []
    for row in rows:
        score = _DASH if row.score is None else str(floatformat(row.score, 1))
        parts.append(
            f'<tr data-cluster="{int(row.cluster.pk)}">{_name(row)}'
            f"<td>{grade_badge(row.grade)}</td>"
            f'<td class="num">{score}</td>'
            f'<td class="num delta-{trend_class(row.change_7d)}">'
            f"{conditional_escape(signed(row.change_7d))}</td>"
            f'<td class="num delta-{trend_class(row.change_30d)}">'
            f"{conditional_escape(signed(row.change_30d))}</td>"
            f"<td>{_kubernetes(row)}</td><td>{_os(row)}</td>"
            + "".join(f'<td class="num">{_count(row, severity)}</td>' for severity in COUNTED)
            + f"<td>{_last_poll(row)}</td></tr>\n")
    # mark_safe is sound: every text from a cluster went through untrusted(), the rest through
    # conditional_escape() or the project's badge tags (format_html).
    return mark_safe("".join(parts))  # noqa: S308
