"""Domain actions leave their audit row whoever calls them: a page, a command, or code."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from clusters.kubeconfig import credentials
from clusters.models import Cluster
from clusters.registration import register
from posture.checks import Policy
from posture.domain import registry
from posture.domain.models import AuditEvent, OrgPolicy
from posture.domain.policy import change_policy
from tests import kubeconfigs
from tests.posture.snapshot_factories import snapshot

pytestmark = pytest.mark.django_db
A = AuditEvent.Action


def _creds(**kwargs):
    return credentials(kubeconfigs.text(kubeconfigs.kubeconfig(**kwargs)))


def test_registration_records_itself_once_with_the_registering_user(alice):
    done = register(name="plain-call", creds=_creds(), owner=alice)
    event = AuditEvent.objects.get(action=A.REGISTER)
    assert (event.target, event.actor, event.cluster) == ("plain-call", alice, done.cluster)
    assert "via" not in event.detail


def test_registration_and_its_audit_row_are_one_transaction(alice):
    with pytest.raises(RuntimeError), transaction.atomic():
        register(name="rolled-back", creds=_creds(), owner=alice, via="a script")
        assert AuditEvent.objects.get(action=A.REGISTER).detail["via"] == "a script"
        raise RuntimeError
    assert not Cluster.objects.exists() and not AuditEvent.objects.exists()


def test_replacing_the_kubeconfig_records_servers_not_secrets(cluster_a, alice):
    registry.replace_kubeconfig(cluster_a, _creds(server="https://10.0.0.7:6443",
                                                  token="replaced-token-456"), alice)
    event = AuditEvent.objects.get(action=A.KUBECONFIG_REPLACE)
    assert event.actor == alice
    assert event.detail["after"]["server"] == "https://10.0.0.7:6443"
    assert "replaced-token-456" not in str(event.detail)
    assert Cluster.objects.get(pk=cluster_a.pk).credentials().token == "replaced-token-456"


def test_deleting_a_cluster_keeps_its_name_in_the_trail(cluster_a, alice):
    pk = cluster_a.pk
    registry.delete_cluster(cluster_a, alice)
    assert not Cluster.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action=A.DELETE)
    assert (event.target, event.detail["id"], event.cluster) == ("cluster-a", pk, None)


def test_changing_the_policy_records_the_keys_and_rescores_the_fleet(cluster_a, sam):
    snapshot(cluster_a, timezone.now())
    rescored = change_policy(Policy.from_dict({"max_acceptance_days": 30}), sam)
    assert rescored == 1
    assert OrgPolicy.load().policy().max_acceptance_days == 30
    assert OrgPolicy.load().updated_by == sam
    event = AuditEvent.objects.get(action=A.POLICY_CHANGE)
    assert event.actor == sam and event.detail["changed"] == ["max_acceptance_days"]
