"""What signals carry: audit events (logins, logouts, failed logins, role changes, registrations)
and the fleet rollups that follow every saved snapshot."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from clusters.registration import cluster_registered
from posture.domain import rollups
from posture.domain.audit import Action, record
from posture.domain.models import Snapshot


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(Action.LOGIN, request=request, actor=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(Action.LOGOUT, request=request, actor=user)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None,
                  **kwargs: Any) -> None:
    # Django already masks the password in ``credentials``; only the user name is kept.
    username = str(credentials.get("username", ""))[:150]
    record(Action.LOGIN_FAILED, request=request, target=username,
           detail={"username": username})


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _groups_changed(sender: Any, instance: Any, action: str, pk_set: set[int] | None,
                    **kwargs: Any) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    from django.contrib.auth.models import Group

    names = sorted(Group.objects.filter(pk__in=pk_set or ()).values_list("name", flat=True))
    record(Action.ROLE_CHANGE, target=str(instance),
           detail={"change": action.removeprefix("post_"), "groups": names})


@receiver(cluster_registered)
def _registered(sender: Any, cluster: Any, actor: Any, via: str | None = None,
                **kwargs: Any) -> None:
    detail = {"server": cluster.server, "context": cluster.context}
    if via:
        detail["via"] = via
    record(Action.REGISTER, actor=actor, cluster=cluster, target=cluster.name, detail=detail)


@receiver(post_save, sender=Snapshot)
def _snapshot_saved(sender: Any, instance: Snapshot, update_fields: Any = None,
                    raw: bool = False, **kwargs: Any) -> None:
    # Fixtures loaded raw carry their own rollup rows, if any.
    if not raw:
        rollups.snapshot_saved(instance, frozenset(update_fields) if update_fields else None)
