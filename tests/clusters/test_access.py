"""Who sees which cluster, in the personas' words."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clusters.access import can_change, visible_clusters
from tests.factories import ClusterFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_owners_see_their_own_clusters_only(alice, bob, cluster_a, cluster_b):
    assert list(visible_clusters(alice)) == [cluster_a]
    assert list(visible_clusters(bob)) == [cluster_b]


def test_security_team_and_auditors_see_the_fleet(sam, ava, cluster_a, cluster_b):
    assert set(visible_clusters(sam)) == {cluster_a, cluster_b}
    assert set(visible_clusters(ava)) == {cluster_a, cluster_b}


def test_team_members_see_the_team_clusters(db):
    team = Group.objects.create(name="payments")
    carol = UserFactory(username="carol")
    carol.groups.add(team)
    shared = ClusterFactory(name="payments-prod")
    shared.owner_teams.add(team)
    ClusterFactory(name="other")
    assert list(visible_clusters(carol)) == [shared]
    assert can_change(carol, shared)


def test_auditor_changes_nothing(ava, cluster_a):
    assert not can_change(ava, cluster_a)


def test_bob_cannot_see_cluster_a(as_bob, cluster_a):
    assert as_bob.get(reverse("clusters:detail", args=[cluster_a.pk])).status_code == 404


def test_bob_cannot_poll_cluster_a(as_bob, cluster_a):
    assert as_bob.post(reverse("clusters:poll", args=[cluster_a.pk])).status_code == 404


def test_auditor_may_look_but_not_poll(as_ava, cluster_a):
    assert as_ava.get(reverse("clusters:detail", args=[cluster_a.pk])).status_code == 200
    assert as_ava.post(reverse("clusters:poll", args=[cluster_a.pk])).status_code == 403
    assert as_ava.get(reverse("clusters:register")).status_code == 403


def test_list_shows_only_visible_clusters(as_alice, cluster_a, cluster_b):
    page = as_alice.get(reverse("clusters:list")).content.decode()
    assert "cluster-a" in page and "cluster-b" not in page
