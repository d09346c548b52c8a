"""Compliance frameworks: the CIS Kubernetes Benchmark's and the NSA/CISA Kubernetes Hardening
Guide's controls, which checks evaluate each, and where an evaluation stands on each control.

Pure Python, no Django. The data is ``cis.yaml`` and ``nsa.yaml`` beside this module
(docs/frameworks.md says what is mapped and what cannot be checked, and why).
"""

from posture.checks.frameworks.assess import (
    Assessment,
    ControlResult,
    ControlStatus,
    assess,
    assess_evaluation,
)
from posture.checks.frameworks.data import (
    FRAMEWORK_IDS,
    Control,
    Evaluates,
    Framework,
    FrameworkDataError,
    Section,
    Source,
    catalog_problems,
    framework,
    frameworks,
)

__all__ = [
    "FRAMEWORK_IDS",
    "Assessment",
    "Control",
    "ControlResult",
    "ControlStatus",
    "Evaluates",
    "Framework",
    "FrameworkDataError",
    "Section",
    "Source",
    "assess",
    "assess_evaluation",
    "catalog_problems",
    "framework",
    "frameworks",
]
