"""The "who can" page: each dangerous permission's holders, with paths and workloads."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from posture.domain.models import Finding, RiskAcceptance
from posture.domain.polling import policy_for, poll
from posture.web.dashboard import who_can
from tests.emulated import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def neglected(emulate, alice):
    cluster = register(emulate("neglected"), "neglected")
    cluster.owners.add(alice)
    poll(cluster.pk)
    return cluster


def _section(html: str, check_id: str) -> str:
    start = html.index(f'data-check="{check_id}"')
    end = html.find("<section", start)
    return html[start:end if end != -1 else len(html)]


def test_every_dangerous_permission_lists_its_holders_with_path_and_workloads(neglected,
                                                                               as_alice):
    response = as_alice.get(reverse("clusters:who-can", args=[neglected.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for check_id in who_can.CHECK_IDS:
        assert f'data-check="{check_id}"' in html, check_id
    escalate = _section(html, "access.escalate-bind")
    assert "<bdi>ServiceAccount tools/release-bot</bdi>" in escalate
    assert "<bdi>ClusterRoleBinding release-bot</bdi>" in escalate
    assert "<bdi>ClusterRole release-automation</bdi>" in escalate
    assert "<bdi>Deployment tools/release-bot</bdi>" in escalate
    assert "1 of 1 mounts the token" in escalate
    csr = _section(html, "access.csr-approve")
    assert "limited to names <span class=\"mono\"><bdi>kubernetes.io/kube-apiserver-client</bdi>" in csr
    exec_ = _section(html, "access.pods-exec")
    assert "<bdi>User contractor@partner.example</bdi>" in exec_
    assert "<bdi>Group support@acme.example</bdi>" in exec_ and "<bdi>in legacy-app</bdi>" in exec_


def test_cluster_admin_holders_come_first_and_platform_subjects_last_and_marked(neglected,
                                                                               as_alice):
    html = as_alice.get(reverse("clusters:who-can", args=[neglected.pk])).content.decode()
    admin = _section(html, "access.cluster-admin-binding")
    subjects = re.findall(r'<th scope="row" class="mono"><a href="/findings/\d+/"><bdi>([^<]+)'
                          r"</bdi></a>( <span class=\"tag\">platform-managed</span>)?", admin)
    assert subjects[-1] == ("Group system:masters", ' <span class="tag">platform-managed</span>')
    assert ("User jsmith@acme.example", "") in subjects
    assert html.index('data-check="access.cluster-admin-binding"') < html.index(
        'data-check="access.secrets-read"')


def test_the_page_reads_only_open_findings_and_marks_accepted_risks(neglected, as_alice, alice):
    now = timezone.now()
    RiskAcceptance.objects.create(cluster=neglected, check_id="access.impersonate",
                                  name_pattern="release-bot", reason="rotating the bot out",
                                  created_by=alice, expires_at=now + timezone.timedelta(days=3))
    Finding.objects.filter(cluster=neglected, check_id="access.webhook-modify").update(
        resolved_at=now)
    page = who_can.build(neglected, now, policy_for(neglected))
    by_id = {p.check_id: p for p in page.permissions}
    assert by_id["access.webhook-modify"].holders == []
    (bot,) = by_id["access.impersonate"].holders
    assert bot.accepted and bot.subject == "ServiceAccount tools/release-bot"


def test_a_permission_that_could_not_run_says_why(emulate, alice, as_alice):
    # The denied scenario's service account may not list ClusterRoleBindings.
    cluster = register(emulate("denied"), "denied")
    cluster.owners.add(alice)
    poll(cluster.pk)
    page = who_can.build(cluster, timezone.now(), policy_for(cluster))
    reasons = {p.check_id: p.not_evaluated for p in page.permissions}
    assert set(reasons) == set(who_can.CHECK_IDS)
    assert all("clusterrolebindings could not be read (forbidden)" in r for r in reasons.values())
    assert all(p.holders == [] for p in page.permissions)
    html = as_alice.get(reverse("clusters:who-can", args=[cluster.pk])).content.decode()
    assert html.count('class="not-evaluated"') == len(who_can.CHECK_IDS)


def test_a_cluster_never_polled_says_so(as_alice, cluster_a):
    html = as_alice.get(reverse("clusters:who-can", args=[cluster_a.pk])).content.decode()
    assert 'id="who-can-not-polled"' in html


def test_the_scorecard_links_to_the_page(neglected, as_alice):
    html = as_alice.get(reverse("clusters:detail", args=[neglected.pk])).content.decode()
    assert f'href="{reverse("clusters:who-can", args=[neglected.pk])}" id="open-who-can"' in html


def test_the_page_costs_a_fixed_number_of_queries(neglected, as_alice,
                                                  django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        as_alice.get(reverse("clusters:who-can", args=[neglected.pk]))
