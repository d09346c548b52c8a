"""A check: catalog data plus the function that finds its problems."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from posture.checks.vocabulary import Category, Severity

if TYPE_CHECKING:
    from posture.checks.context import Context


class Hit(NamedTuple):
    """One problem a check function found; the engine turns it into a ``Finding``."""

    kind: str
    namespace: str
    name: str
    container: str
    message: str
    evidence: dict[str, Any]


# ``Hit(...)`` runs a Python-level ``__new__``; the rules that report a hit per container of every
# workload build them with ``new_hit(Hit, (kind, namespace, name, container, message, evidence))``
# instead: the same object for half the cost.
new_hit = tuple.__new__


class NotEvaluated(Exception):
    """Raised by a check function that cannot decide (input unknown, policy not configured)."""


@dataclass(frozen=True)
class Check:
    """One rule: stable id, how it is shown and fixed, what it needs, and how it runs.

    ``needs`` names inventory resources (``posture.checks.inventory.RESOURCES``); when any of
    them was not read, the check is reported as not evaluated, never as passed. Bump
    ``revision`` whenever the logic changes so ``CHECKSET_VERSION`` changes with it.
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
    run: Callable[[Context], Iterable[Hit]]
    revision: int = 1
