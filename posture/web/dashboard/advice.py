"""Fix advice as the pages show it: the catalog's, fitted to the cluster's newest poll.

The checklist and the finding page both ask here, so a check's advice reads the same on both.
"""

from __future__ import annotations

from datetime import date

from posture.checks.advice import Advice, ClusterFacts, advise, facts_for
from posture.checks.base import Check
from posture.domain.models import Snapshot


def cluster_facts(snapshot: Snapshot | None, day: date) -> ClusterFacts | None:
    """Return the facts advice needs from a cluster's newest successful snapshot (None: none)."""
    if snapshot is None:
        return None
    return facts_for(snapshot.kubernetes_version or None, snapshot.provider or None, day)


def for_check(check: Check | None, facts: ClusterFacts | None) -> Advice | None:
    """Return how to fix ``check`` on the cluster with ``facts`` (None for an unknown check)."""
    return advise(check, facts) if check is not None else None
