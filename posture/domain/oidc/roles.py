"""Roles from the provider's groups claim, recomputed at every sign-in.

The provider is the source of truth for the people it signs in: their Posture groups become
exactly what the claim maps to — the security team, the auditors, and one team per group whose
value starts with ``POSTURE_OIDC_TEAM_GROUP_PREFIX`` (``posture-team-payments`` → team
``payments``, which owns the clusters assigned to that team). A change is written as one audit
row with what was added and removed.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.http import HttpRequest

from clusters.access import AUDITORS, ROLE_GROUPS, SECURITY_TEAM
from posture.domain.audit import Action, record
from posture.domain.oidc.provider import OidcSettings

GROUP_NAME_MAX = 150  # django.contrib.auth's Group.name
_ROLE_NAMES = {name.casefold() for name in ROLE_GROUPS}


def claim_values(value: Any) -> set[str]:
    """The groups claim as a set of strings (a provider may send one group as a bare string)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {item for item in value if isinstance(item, str)}
    return set()


def posture_groups(claims: dict[str, Any], oidc: OidcSettings) -> set[str]:
    """Return the names of the Posture groups ``claims`` give."""
    values = claim_values(claims.get(oidc.groups_claim))
    names: set[str] = set()
    if values & oidc.security_team_groups:
        names.add(SECURITY_TEAM)
    if values & oidc.auditor_groups:
        names.add(AUDITORS)
    prefix = oidc.team_group_prefix
    if prefix:
        for value in values:
            team = value[len(prefix):].strip() if value.startswith(prefix) else ""
            # A team named like a role would grant that role: never from a team group.
            if team and len(team) <= GROUP_NAME_MAX and team.casefold() not in _ROLE_NAMES:
                names.add(team)
    return names


@transaction.atomic
def apply(user: User, names: set[str], *,
          request: HttpRequest | None = None) -> bool:
    """Make ``user``'s groups exactly ``names``; audit and return True when that changed them."""
    through = User.groups.through
    current = set(user.groups.values_list("name", flat=True))
    added, removed = names - current, current - names
    if not added and not removed:
        return False
    # Rows written directly, not through user.groups.set(): its m2m signals would write one
    # audit row per step, without the sign-in that caused them.
    through.objects.filter(user=user, group__name__in=removed).delete()
    groups = [Group.objects.get_or_create(name=name)[0] for name in sorted(added)]
    through.objects.bulk_create([through(user=user, group=group) for group in groups],
                                ignore_conflicts=True)
    if hasattr(user, "_posture_groups"):
        del user._posture_groups  # clusters.access caches them per user object
    record(Action.ROLE_CHANGE, request=request, actor=user, target=user.get_username(),
           detail={"change": "sign-in", "added": sorted(added), "removed": sorted(removed),
                   "groups": sorted(names)})
    return True
