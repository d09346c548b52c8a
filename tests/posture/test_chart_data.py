"""A chart's data written in one pass: the same table rows and JSON as the template loop and
``json_script`` gave, hostile text escaped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from django.template import Context, Template
from django.utils.html import json_script

from posture.web.templatetags.chart_data import figure_json

HOSTILE = "<img src=x onerror=alert(1)>\u202e&amp;"
# The loop _chart.html had: the reference for what the tag must write.
LOOP = Template(
    '{% for row in rows %}<tr>{% for v in row %}{% if forloop.first %}<th scope="row">'
    '{{ v|untrusted }}</th>{% else %}<td>{{ v|default_if_none:"—"|untrusted }}</td>{% endif %}'
    "{% endfor %}</tr>\n{% endfor %}")
TAG = Template("{% load chart_data %}{% data_rows rows %}")
ROWS = [
    (HOSTILE, None, 1.5, 3, 0, -2.25, 1e-7, 1e22, True, "", date(2026, 1, 2), Decimal("1.50")),
    ("plain", 72.4, None, "A", float("nan")),
    (None, datetime(2026, 1, 2, 3, 4, tzinfo=UTC)),
]


def test_table_rows_are_what_the_template_loop_wrote():
    written = TAG.render(Context({"rows": ROWS}))
    assert written == LOOP.render(Context({"rows": ROWS}))
    assert "<img" not in written and "\u202e" not in written


def test_figure_json_is_json_script_with_the_same_data_and_no_markup():
    figure = {"data": [{"name": HOSTILE, "x": ["2026-01-02"], "y": [1.5, None]}],
              "when": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "on": date(2026, 1, 2),
              "share": Decimal("0.25"), 7: "seven"}
    ours, django = figure_json(figure, "figure-x"), json_script(figure, "figure-x")
    prefix = '<script id="figure-x" type="application/json">'
    assert ours.startswith(prefix) and ours.endswith("</script>")
    body = ours[len(prefix):-len("</script>")]
    assert not {"<", ">", "&"} & set(body)
    assert json.loads(body) == json.loads(django[len(prefix):-len("</script>")])
