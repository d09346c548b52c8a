"""Template tags that show severities, categories, grades and support statuses.

They read the vocabulary enums, so a template never decides that critical is red: colours come
from the stylesheet generated from the same enums (``posture.web.views.vocabulary``).
"""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser, User
from django.utils.html import format_html
from django.utils.safestring import SafeString

from clusters.access import can_register as _can_register
from clusters.access import sees_whole_fleet as _sees_whole_fleet
from posture.checks.vocabulary import Category, Severity
from posture.domain.models import SnapshotStatus
from posture.domain.scoring import Grade
from posture.lifecycle import SupportStatus
from posture.web.templatetags.untrusted import isolated

register = template.Library()


@register.simple_tag
def severity_badge(value: str) -> SafeString:
    """Render a severity as a coloured badge (unknown values as plain text)."""
    try:
        severity = Severity(str(value))
    except ValueError:
        return isolated(value)
    return format_html('<span class="badge sev-{}">{}</span>', severity.value, severity.label)


@register.simple_tag
def grade_badge(value: str | None, size: str = "") -> SafeString:
    """Render a grade as a coloured badge; no grade renders as a dash."""
    try:
        grade = Grade(str(value))
    except ValueError:
        return format_html('<span class="badge grade-none" title="{}">—</span>', "No grade yet")
    return format_html('<span class="badge grade grade-{} {}" title="Grade {}">{}</span>',
                       grade.value, size, grade.label, grade.label)


@register.filter
def category_label(value: str) -> str:
    """Return a category's label (the raw value if unknown)."""
    try:
        return Category(str(value)).label
    except ValueError:
        return str(value)


@register.filter
def severity_label(value: str) -> str:
    """Return a severity's label (the raw value if unknown)."""
    try:
        return Severity(str(value)).label
    except ValueError:
        return str(value)


_POLL_STATUS = dict(SnapshotStatus.choices)


@register.simple_tag
def poll_status(status: str) -> SafeString:
    """Render a poll's status as a label (a tag rather than an include: the overview shows one
    per row, and each include is a template render of its own)."""
    return format_html('<span class="status status-{}">{}</span>', status,
                       _POLL_STATUS.get(str(status), status))


@register.simple_tag
def support_badge(status: str) -> SafeString:
    """Render a lifecycle support status; end of life reads as critical, unknown as info."""
    try:
        support = SupportStatus(str(status))
    except ValueError:
        support = SupportStatus.UNKNOWN
    return format_html('<span class="support support-{}">{}</span>', support.value, support.label)


@register.filter
def signed(value: float | None) -> str:
    """Return a score change with its sign ("+2.5", "−1.0", "0.0"); None gives a dash."""
    if value is None:
        return "—"
    if value > 0:
        return f"+{value:.1f}"
    if value < 0:
        return f"\u2212{abs(value):.1f}"
    return "0.0"


@register.filter
def trend_class(value: float | None) -> str:
    """Return the CSS class of a score change: up, down or flat."""
    if value is None or value == 0:
        return "flat"
    return "up" if value > 0 else "down"


@register.filter
def can_register(user: User | AnonymousUser) -> bool:
    """Say whether the navigation offers "Register a cluster" to ``user``."""
    return _can_register(user)


@register.filter
def absolute(value: int | float | None) -> int | float | None:
    """Return the magnitude of a number ("12 days ago" from days_left = -12)."""
    return None if value is None else abs(value)


@register.filter
def check_anchor(check_id: str) -> str:
    """Return the checklist's DOM id suffix for a check (dots become dashes)."""
    return str(check_id).replace(".", "-")


@register.filter
def sees_whole_fleet(user: User | AnonymousUser) -> bool:
    """Say whether ``user`` is on the security team or an auditor (the audit log's readers)."""
    return _sees_whole_fleet(user)


@register.filter
def check_titles(check_ids: list[str]) -> str:
    """Return the titles of ``check_ids`` from the catalog, comma-separated."""
    from posture.checks import CATALOG

    return ", ".join(CATALOG[c].title if c in CATALOG else c for c in check_ids)


@register.filter
def signed_count(value: int | None) -> str:
    """Return a change in a count with its sign ("+3", "−2", "0"); None gives a dash."""
    if value is None:
        return "—"
    if value > 0:
        return f"+{value}"
    if value < 0:
        return f"\u2212{abs(value)}"
    return "0"


@register.filter
def problem_trend_class(value: int | float | None) -> str:
    """Return the CSS class of a change in a count of problems: more is worse (down), fewer is
    better (up) — the reverse of a score's ``trend_class``."""
    if value is None or value == 0:
        return "flat"
    return "down" if value > 0 else "up"


@register.filter
def check_title(check_id: str) -> str:
    """Return the catalog title of ``check_id``, or the id when the catalog has no such check."""
    from posture.checks import CATALOG

    check = CATALOG.get(str(check_id))
    return check.title if check is not None else str(check_id)


@register.simple_tag
def control_status(status: str) -> SafeString:
    """Return a framework control's status as a coloured label (``ControlStatus``)."""
    from posture.checks.frameworks.assess import ControlStatus

    try:
        s = ControlStatus(str(status))
    except ValueError:
        return format_html("<span class=\"control-status\">{}</span>", status)
    return format_html('<span class="control-status control-{}">{}</span>', s.value, s.label)
