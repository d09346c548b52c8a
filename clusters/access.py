"""Who may see and change which cluster. Every view, export, API endpoint, chart and email that
shows clusters asks here; nothing decides visibility inline.

Roles come from Django groups: the *security team* sees and administers every cluster and the
policy; *auditors* read everything and change nothing; everyone else is a cluster owner, who sees
the clusters they own directly or through a team (any other group) they belong to.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from clusters.models import Cluster

SECURITY_TEAM = "Security team"
AUDITORS = "Auditors"
ROLE_GROUPS = (SECURITY_TEAM, AUDITORS)

User = AuthUser | AnonymousUser


def _groups(user: User) -> set[str]:
    cached = getattr(user, "_posture_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        user._posture_groups = cached  # type: ignore[union-attr]  # a per-request cache on the user
    return cached


def is_security_team(user: User) -> bool:
    """Superusers and members of the security team administer the whole fleet."""
    return bool(user.is_authenticated and (user.is_superuser or SECURITY_TEAM in _groups(user)))


def is_auditor(user: User) -> bool:
    return bool(user.is_authenticated and AUDITORS in _groups(user))


def sees_whole_fleet(user: User) -> bool:
    return is_security_team(user) or is_auditor(user)


def role_label(user: User) -> str:
    if is_security_team(user):
        return "security team"
    if is_auditor(user):
        return "auditor"
    return "cluster owner"


def visible_clusters(user: User) -> QuerySet[Cluster]:
    """Return the clusters ``user`` may see."""
    if not user.is_authenticated:
        return Cluster.objects.none()
    if sees_whole_fleet(user):
        return Cluster.objects.all()
    return Cluster.objects.filter(
        Q(owners=user) | Q(owner_teams__user=user)
    ).distinct()


def can_change(user: User, cluster: Cluster) -> bool:
    """Poll, accept risks, edit: the security team, or an owner (auditors never)."""
    if is_security_team(user):
        return True
    if not user.is_authenticated or is_auditor(user):
        return False
    return visible_clusters(user).filter(pk=cluster.pk).exists()


def can_register(user: User) -> bool:
    return bool(user.is_authenticated and not (is_auditor(user) and not is_security_team(user)))


def get_visible_cluster(request: HttpRequest, pk: int) -> Cluster:
    """Return the cluster or raise 404 — the same answer whether it is missing or not yours."""
    try:
        return visible_clusters(request.user).get(pk=pk)
    except Cluster.DoesNotExist:
        raise Http404("No such cluster") from None


def get_changeable_cluster(request: HttpRequest, pk: int) -> Cluster:
    """Return a cluster the user may act on; 404 if they cannot see it, 403 if read-only."""
    cluster = get_visible_cluster(request, pk)
    if not can_change(request.user, cluster):
        raise PermissionDenied("Read-only access")
    return cluster


def require_can_register(request: HttpRequest) -> None:
    """Raise 403 unless the user may register clusters (auditors may not)."""
    if not can_register(request.user):
        raise PermissionDenied("Auditors cannot register clusters")


def require_security_team(request: HttpRequest, reason: str) -> None:
    """Raise 403 (with ``reason``) unless the user is on the security team."""
    if not is_security_team(request.user):
        raise PermissionDenied(reason)


def require_whole_fleet(request: HttpRequest, reason: str) -> None:
    """Raise 403 (with ``reason``) unless the user sees the whole fleet (the security team and
    auditors)."""
    if not sees_whole_fleet(request.user):
        raise PermissionDenied(reason)
