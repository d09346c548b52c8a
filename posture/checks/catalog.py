"""The catalog: every check, by stable id, and the version of the set as a whole."""

from __future__ import annotations

import hashlib

from posture.checks import policy
from posture.checks.base import Check
from posture.checks.rules import (
    access,
    admission,
    configuration,
    images,
    network,
    nodes,
    version,
    vulnerabilities,
    workloads,
)

# Bump on a change that the hash below cannot see (e.g. how the engine groups findings).
CHECKSET_SEMVER = "1.0.0"

CHECKS: tuple[Check, ...] = (
    *version.CHECKS,
    *nodes.CHECKS,
    *workloads.CHECKS,
    *images.CHECKS,
    *network.CHECKS,
    *access.CHECKS,
    *vulnerabilities.CHECKS,
    *configuration.CHECKS,
    *admission.CHECKS,
)

CATALOG: dict[str, Check] = {check.id: check for check in CHECKS}
policy.know_checks(CATALOG)
if len(CATALOG) != len(CHECKS):
    raise RuntimeError("two checks share an id")


def _checkset_version() -> str:
    """Return the semantic version plus a hash of every id, severity and logic revision."""
    parts = sorted(f"{c.id}:{c.severity}:{c.revision}:{','.join(c.needs)}" for c in CHECKS)
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]
    return f"{CHECKSET_SEMVER}+{digest}"


# Stored on every snapshot: a score change under a new value may come from the rules, not
# from the cluster.
CHECKSET_VERSION: str = _checkset_version()
