"""The rules engine: pure Python, no Django. ``evaluate(inventory, policy, today)``."""

from posture.checks.catalog import CATALOG, CHECKSET_VERSION
from posture.checks.engine import evaluate
from posture.checks.policy import Policy
from posture.checks.results import Evaluation, Finding

__all__ = ["CATALOG", "CHECKSET_VERSION", "Evaluation", "Finding", "Policy", "evaluate"]
