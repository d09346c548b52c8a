"""The vocabulary's colours as a stylesheet, generated from the enums that declare them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from posture.checks.frameworks.assess import ControlStatus
from posture.checks.vocabulary import Category, Severity
from posture.domain.scoring import NOT_EVALUATED_COLOUR, Grade
from posture.lifecycle import SupportStatus
from posture.web.charts import Runway

# Support statuses borrow the colours of the severity they amount to.
SUPPORT_COLOURS = {
    SupportStatus.SUPPORTED: Grade.A.colour,
    SupportStatus.MAINTENANCE: Severity.MEDIUM.colour,
    SupportStatus.EXTENDED: Severity.HIGH.colour,
    SupportStatus.EOL: Severity.CRITICAL.colour,
    SupportStatus.UNKNOWN: Severity.INFO.colour,
}


@require_GET
@cache_control(max_age=3600, public=True)
def vocabulary_css(request: HttpRequest) -> HttpResponse:
    """Serve one CSS class per severity, category, grade, support and control status."""
    css = render_to_string("posture/vocabulary.css", {
        "severities": [(s.value, s.colour) for s in Severity],
        "categories": [(c.value, c.colour) for c in Category],
        "grades": [(g.value, g.colour) for g in Grade],
        "supports": [(s.value, c) for s, c in SUPPORT_COLOURS.items()],
        "runways": [(r.value, r.colour) for r in Runway],
        "control_statuses": [(s.value, s.colour) for s in ControlStatus],
        "not_evaluated": NOT_EVALUATED_COLOUR,
    })
    return HttpResponse(css, content_type="text/css; charset=utf-8")
