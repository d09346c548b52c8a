"""Changing the organisation policy: the new document, its audit row, and the fleet rescored."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from posture.checks import Policy
from posture.domain.audit import Action, record
from posture.domain.models import OrgPolicy
from posture.domain.scorecard import rescore_fleet


def change_policy(policy: Policy, actor: User | AnonymousUser | None = None,
                  now: datetime | None = None) -> int:
    """Save ``policy`` as the organisation's; return how many clusters' newest scores changed.

    The audit row names the keys that changed, with their values before and after.
    """
    row = OrgPolicy.load()
    before = row.policy().to_dict()
    with transaction.atomic():
        row.document = policy.to_dict()
        row.updated_by = actor if isinstance(actor, User) else None
        row.save()
        changed = sorted(k for k in set(before) | set(row.document)
                         if before.get(k) != row.document.get(k))
        record(Action.POLICY_CHANGE, actor=actor, target="organisation policy",
               detail={"changed": changed, "before": {k: before.get(k) for k in changed},
                       "after": {k: row.document.get(k) for k in changed}})
        # What the score leaves out (platform-managed findings) is decided when scoring, as
        # accepted risks are: rescore now, as accepting a risk does.
        return rescore_fleet(now or timezone.now(), policy)
