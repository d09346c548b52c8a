"""Who may see which cluster. Every view, export and task that shows clusters goes through here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from clusters.models import Cluster


def sees_whole_fleet(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The security team (staff) and superusers see every cluster."""
    return bool(user.is_authenticated and (user.is_superuser or getattr(user, "is_staff", False)))


def visible_clusters(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Cluster]:
    """Return the clusters ``user`` may see: all for the security team, else the ones they own."""
    if not user.is_authenticated:
        return Cluster.objects.none()
    if sees_whole_fleet(user):
        return Cluster.objects.all()
    return Cluster.objects.filter(owners=user)


def get_visible_cluster(request: HttpRequest, pk: int) -> Cluster:
    """Return the cluster or raise 404 — the same answer whether it is missing or not yours."""
    try:
        return visible_clusters(request.user).get(pk=pk)
    except Cluster.DoesNotExist:
        raise Http404("No such cluster") from None
