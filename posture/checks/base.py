"""A check: catalog data plus the function that finds its problems."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from posture.checks.advice import Action
from posture.checks.results import FindingRow, Ordered
from posture.checks.vocabulary import Category, Severity

if TYPE_CHECKING:
    # One way only: the context needs nothing from here (``Ordered`` lives in results).
    from posture.checks.context import Context

__all__ = ["Check", "Hit", "NotEvaluated", "Ordered"]


class Hit(NamedTuple):
    """One problem a check function found; the engine turns it into a ``Finding``.

    A ``FindingRow`` with its fields named. Rules that report a row per container of every
    workload build plain tuples instead, which cost half as much.
    """

    kind: str
    namespace: str
    name: str
    container: str
    message: str
    evidence: dict[str, Any]


class NotEvaluated(Exception):
    """Raised by a check function that cannot decide (input unknown, policy not configured)."""


@dataclass(frozen=True)
class Check:
    """One rule: stable id, how it is shown and fixed, what it needs, and how it runs.

    ``needs`` names inventory resources (``posture.checks.inventory.RESOURCES``); when any of
    them was not read, the check is reported as not evaluated, never as passed. Bump
    ``revision`` whenever the logic changes so ``CHECKSET_VERSION`` changes with it. ``why``
    and ``fix`` are Markdown. A check whose fix depends on the provider names its ``action``:
    its ``snippet`` is then ``advice.generic_snippet(action)`` and pages show
    ``advice.advise(check, facts)`` instead.
    """

    id: str
    category: Category
    severity: Severity
    title: str
    why: str
    fix: str
    snippet: str
    references: tuple[str, ...]
    needs: tuple[str, ...]
    run: Callable[[Context], Iterable[FindingRow]]
    revision: int = 1
    action: Action | None = None
