"""Pod Security Standards, evaluated exactly as upstream Pod Security Admission does.

``evaluate(obj, level, version)`` checks a Pod, a pod-owning workload or a bare pod-shaped dict
against ``privileged``, ``baseline`` or ``restricted`` at a policy version (``v1.N`` or
``latest``) and reports each failed control under upstream's check id;
``evaluate_levels(obj, version)`` gives the baseline and restricted verdicts in one pass.
"""

from posture.checks.pss.evaluator import (
    CONTROLS,
    LEVELS,
    NEWEST_VERSION,
    Denied,
    Levels,
    controls,
    effective_version,
    evaluate,
    evaluate_levels,
    pod_template,
)
from posture.checks.pss.verdicts import Level, PSSResult, Violation

__all__ = [
    "CONTROLS",
    "LEVELS",
    "Denied",
    "NEWEST_VERSION",
    "Level",
    "Levels",
    "PSSResult",
    "Violation",
    "controls",
    "effective_version",
    "evaluate",
    "evaluate_levels",
    "pod_template",
]
