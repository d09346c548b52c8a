"""Every sensitive action leaves an audit event with who, what and from where — never a secret."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clusters.models import Cluster
from posture.domain.models import AuditEvent
from posture.domain.risk import accept, revoke
from tests import kubeconfigs

pytestmark = pytest.mark.django_db
A = AuditEvent.Action


def actions():
    return list(AuditEvent.objects.order_by("at", "pk").values_list("action", flat=True))


def test_login_logout_and_failed_login(alice):
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert not client.login(username="alice", password="wrong")
    assert client.login(username="alice", password="correct-horse-battery")
    client.post(reverse("logout"))
    assert actions() == [A.LOGIN_FAILED, A.LOGIN, A.LOGOUT]
    failed = AuditEvent.objects.get(action=A.LOGIN_FAILED)
    assert failed.target == "alice" and "wrong" not in str(failed.detail)


def test_login_through_the_page_records_the_address(alice):
    client = Client(REMOTE_ADDR="198.51.100.4")
    client.post(reverse("login"), {"username": "alice", "password": "correct-horse-battery"})
    event = AuditEvent.objects.get(action=A.LOGIN)
    assert (event.actor_name, event.ip) == ("alice", "198.51.100.4")


def test_registration_by_form_and_by_command(as_alice, tmp_path):
    as_alice.post(reverse("clusters:register"), {
        "name": "web-reg", "poll_interval_minutes": "15", "action": "register",
        "kubeconfig": kubeconfigs.text(kubeconfigs.kubeconfig())})
    path = tmp_path / "k"
    path.write_text(kubeconfigs.text(kubeconfigs.kubeconfig()))
    call_command("register_cluster", "--name", "cli-reg", "--kubeconfig", str(path),
                 "--owner", "alice")
    events = AuditEvent.objects.filter(action=A.REGISTER).order_by("pk")
    assert [e.target for e in events] == ["web-reg", "cli-reg"]
    assert all(kubeconfigs.TOKEN not in str(e.detail) for e in events)


@pytest.mark.threat('The audit log leaks credentials',
                     'Audit events record server and context, never the kubeconfig')
def test_kubeconfig_replacement_and_deletion(as_alice, cluster_a):
    url = reverse("clusters:settings", args=[cluster_a.pk])
    new = kubeconfigs.text(kubeconfigs.kubeconfig(server="https://10.0.0.9:6443",
                                                  token="new-token-value-123"))
    assert as_alice.post(url, {"action": "kubeconfig", "kubeconfig": new}).status_code == 302
    replaced = AuditEvent.objects.get(action=A.KUBECONFIG_REPLACE)
    assert replaced.detail["after"]["server"] == "https://10.0.0.9:6443"
    assert "new-token-value-123" not in str(replaced.detail)
    assert Cluster.objects.get(pk=cluster_a.pk).credentials().token == "new-token-value-123"
    delete = reverse("clusters:delete", args=[cluster_a.pk])
    assert as_alice.post(delete, {"confirm_name": "nope"}).status_code == 200
    assert as_alice.post(delete, {"confirm_name": "cluster-a"}).status_code == 302
    assert not Cluster.objects.exists()
    assert AuditEvent.objects.get(action=A.DELETE).target == "cluster-a"


def test_bob_cannot_change_alices_cluster(as_bob, cluster_a):
    assert as_bob.get(reverse("clusters:settings", args=[cluster_a.pk])).status_code == 404
    assert as_bob.post(reverse("clusters:delete", args=[cluster_a.pk]),
                       {"confirm_name": "cluster-a"}).status_code == 404
    assert Cluster.objects.filter(pk=cluster_a.pk).exists()


def test_poll_now_accept_revoke_policy_and_roles(as_alice, as_sam, alice, sam, cluster_a):
    AuditEvent.objects.all().delete()  # the fixtures' own logins and role grants
    as_alice.post(reverse("clusters:poll", args=[cluster_a.pk]))
    acceptance = accept(cluster=cluster_a, check_id="workload.privileged", namespace="",
                        name_pattern="", reason="vendor agent", user=alice,
                        expires_at=timezone.now() + timedelta(days=10))
    revoke(acceptance, alice)
    as_sam.post(reverse("policy"), {"document": "max_node_age_days: 30\n"})
    alice.groups.add(Group.objects.create(name="payments"))
    assert actions() == [A.POLL_NOW, A.ACCEPT_RISK, A.REVOKE_RISK, A.POLICY_CHANGE, A.ROLE_CHANGE]
    policy = AuditEvent.objects.get(action=A.POLICY_CHANGE)
    assert policy.detail["after"] == {"max_node_age_days": 30}
    assert AuditEvent.objects.get(action=A.ROLE_CHANGE).detail == {"change": "add",
                                                                    "groups": ["payments"]}


def test_role_change_in_the_admin_names_the_admin(sam, alice):
    sam.is_superuser = sam.is_staff = True
    sam.save()
    client = Client()
    client.force_login(sam)
    team = Group.objects.create(name="payments")
    client.post(reverse("admin:auth_user_change", args=[alice.pk]), {
        "username": "alice", "groups": [team.pk], "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00", "is_active": "on", "password": alice.password})
    event = AuditEvent.objects.get(action=A.ROLE_CHANGE, target="alice")
    assert event.actor_name == "sam" and event.detail["groups"] == ["payments"]


def test_log_is_for_the_security_team_and_auditors(as_sam, as_ava, as_alice, alice):
    Client().login(username="alice", password="correct-horse-battery")
    assert "Logged in" in as_sam.get(reverse("audit")).content.decode()
    assert as_ava.get(reverse("audit")).status_code == 200
    assert as_alice.get(reverse("audit")).status_code == 403
    assert as_alice.get(reverse("audit-csv")).status_code == 403


def test_log_filters_and_exports(as_sam, alice, bob):
    Client().login(username="alice", password="correct-horse-battery")
    Client().login(username="bob", password="wrong")
    page = as_sam.get(reverse("audit"), {"action": "login-failed"}).content.decode()
    assert "<bdi>username</bdi>=<bdi>bob</bdi>" in page and "<td>Logged in</td>" not in page
    csv_text = b"".join(as_sam.get(reverse("audit-csv"), {"actor": "alice"})
                        .streaming_content).decode()
    assert "alice" in csv_text and "login-failed" not in csv_text
