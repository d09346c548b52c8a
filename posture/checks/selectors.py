"""Kubernetes label selectors, matched the way the API server matches them."""

from __future__ import annotations

from posture.checks.safe import string_map, strings, text


def selects(selector: object, labels: dict[str, str]) -> bool:
    """Say whether a LabelSelector selects an object with ``labels``; ``{}`` selects all.

    A selector that is not a mapping, or has an unknown operator, selects nothing: the API
    server would have refused it, so it cannot be relied on to isolate anything.
    """
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if match_labels:
        if not isinstance(match_labels, dict):
            return False
        wanted = string_map(match_labels)
        if len(wanted) != len(match_labels):
            return False
        for key, value in wanted.items():
            if labels.get(key) != value:
                return False
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        return False
    return all(isinstance(e, dict) and _expression(e, labels) for e in expressions)


def _expression(expr: dict[str, object], labels: dict[str, str]) -> bool:
    key = text(expr.get("key"))
    op = expr.get("operator")
    values = strings(expr.get("values"))
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False
