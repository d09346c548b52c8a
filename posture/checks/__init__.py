"""The rules engine: pure Python, no Django. ``evaluate(inventory, policy, today)``."""

# Before any other import: it decides whether the hot modules load compiled or from source.
from posture.checks.native import guard

guard()

from posture.checks.catalog import CATALOG, CHECKSET_VERSION  # noqa: E402
from posture.checks.engine import evaluate  # noqa: E402
from posture.checks.policy import Policy  # noqa: E402
from posture.checks.results import Evaluation, Finding  # noqa: E402

__all__ = ["CATALOG", "CHECKSET_VERSION", "Evaluation", "Finding", "Policy", "evaluate"]
