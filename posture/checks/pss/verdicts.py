"""The verdict of one pod at one Pod Security level, as ``evaluate`` returns it.

Kept apart from the evaluator, which ``posture.checks.native`` compiles: these dataclasses
cross process boundaries (``posture scan --jobs`` pickles them), and a compiled frozen
dataclass cannot be unpickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["privileged", "baseline", "restricted"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One control a pod fails: upstream's check id and its reason with detail."""

    control: str
    detail: str


@dataclass(frozen=True, slots=True)
class PSSResult:
    """The verdict for one pod at one level and effective policy version."""

    allowed: bool
    level: Level
    version: str
    violations: tuple[Violation, ...]
