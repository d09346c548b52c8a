"""The provider's groups claim → Posture roles, and the audit row when they change."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from clusters.access import AUDITORS, SECURITY_TEAM, is_security_team, visible_clusters
from posture.domain.models import AuditEvent
from posture.domain.oidc import roles
from posture.domain.oidc.provider import OidcSettings
from tests.factories import ClusterFactory, UserFactory

OIDC = OidcSettings(issuer="https://login.example.com", client_id="posture", client_secret="x",
                    security_team_groups=frozenset({"sec"}), auditor_groups=frozenset({"audit"}),
                    team_group_prefix="posture-team-")


def groups_of(claim) -> set[str]:
    return roles.posture_groups({"groups": claim}, OIDC)


def test_role_and_team_groups_map_and_others_are_ignored():
    assert groups_of(["sec", "audit", "posture-team-payments", "posture-team-web", "staff"]) == {
        SECURITY_TEAM, AUDITORS, "payments", "web"}
    assert groups_of(["staff"]) == set()


def test_one_group_sent_as_a_string_counts_and_odd_values_are_ignored():
    assert groups_of("sec") == {SECURITY_TEAM}
    assert groups_of([None, 3, {"x": 1}, "posture-team-"]) == set()
    assert groups_of(None) == set()


def test_another_claim_can_carry_the_groups():
    oidc = OidcSettings(issuer="https://x", client_id="c", client_secret="s",
                        groups_claim="roles", security_team_groups=frozenset({"Posture.Admin"}))
    assert roles.posture_groups({"roles": ["Posture.Admin"], "groups": []}, oidc) == {
        SECURITY_TEAM}


@pytest.mark.threat("A provider group named like a role grants that role",
                    "Only the configured role groups give the security team or auditor role; "
                    "a team group named like a role is ignored")
def test_a_team_group_named_like_a_role_does_not_grant_it():
    assert groups_of(["posture-team-Security team", "posture-team-AUDITORS",
                      "posture-team-" + "x" * 151]) == set()


@pytest.mark.django_db
def test_applying_writes_one_audit_row_with_what_changed():
    tia = UserFactory(username="tia")
    tia.groups.add(Group.objects.get_or_create(name="payments")[0])
    before = AuditEvent.objects.count()
    assert roles.apply(tia, {SECURITY_TEAM, "web"}) is True
    assert set(tia.groups.values_list("name", flat=True)) == {SECURITY_TEAM, "web"}
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE, detail__change="sign-in")
    assert AuditEvent.objects.count() == before + 1
    assert event.detail == {"change": "sign-in", "added": [SECURITY_TEAM, "web"],
                            "removed": ["payments"], "groups": [SECURITY_TEAM, "web"]}
    assert event.actor == tia


@pytest.mark.django_db
def test_unchanged_roles_write_nothing():
    tia = UserFactory(username="tia")
    roles.apply(tia, {"web"})
    count = AuditEvent.objects.count()
    assert roles.apply(tia, {"web"}) is False
    assert AuditEvent.objects.count() == count


@pytest.mark.django_db
def test_new_roles_take_effect_on_the_same_user_object():
    """clusters.access caches a user's groups on the object; applying must not leave it stale."""
    web = ClusterFactory(name="web-1")
    web.owner_teams.add(Group.objects.get_or_create(name="web")[0])
    tia = UserFactory(username="tia")
    assert not is_security_team(tia) and list(visible_clusters(tia)) == []
    roles.apply(tia, {"web"})
    assert list(visible_clusters(tia)) == [web]
    roles.apply(tia, {SECURITY_TEAM})
    assert is_security_team(tia)
