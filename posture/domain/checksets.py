"""Which checks each check-set version holds: written once per version, read by the frameworks.

A framework control passes only when every one of its checks ran. A snapshot records which
checks did not run and why; which ones it *could* have run is its check-set version's catalog,
kept here once per version rather than on each of a year's snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable

from posture.checks import CATALOG, CHECKSET_VERSION
from posture.domain.models import CheckSet


def remember(version: str) -> None:
    """Store the running catalog's check ids under ``version`` unless they are stored already."""
    if version != CHECKSET_VERSION:
        # A version other than the running one is a rescore of old data: its ids are not ours.
        return
    # One indexed read per poll; cached per process it would go stale across test databases
    # and restored backups, for a saving too small to see beside the poll itself.
    CheckSet.objects.get_or_create(version=version, defaults={"checks": sorted(CATALOG)})


def checks_of(versions: Iterable[str]) -> dict[str, frozenset[str]]:
    """Return the check ids of each of ``versions``, in one query.

    A version never stored (polls recorded before check sets were kept) is taken to be
    today's catalog, which is what the pages assumed before.
    """
    wanted = set(versions)
    found = {c.version: frozenset(c.checks) for c in CheckSet.objects.filter(version__in=wanted)}
    today = frozenset(CATALOG)
    return {v: found.get(v, today) for v in wanted}
