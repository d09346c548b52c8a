"""The shipped scenarios score as their names promise, through the whole poll."""

import pytest
from django.utils import timezone

from posture.domain.models import Finding, RiskAcceptance
from posture.domain.polling import policy_for, poll
from posture.domain.scoring import Cap, Grade
from posture.web.dashboard.scorecard import build
from tests.emulated import register

pytestmark = pytest.mark.django_db


def test_scenarios_score_in_the_right_order(emulate):
    scores = {}
    for name in ("well-kept", "typical", "neglected"):
        snapshot = poll(register(emulate(name), name).pk).snapshot
        scores[name] = (snapshot.score, snapshot.grade)
        assert 0 <= snapshot.score <= 100
        assert set(snapshot.category_scores) >= {"workloads", "version", "access"}
    assert scores["well-kept"][0] > scores["typical"][0] > scores["neglected"][0], scores
    assert scores["well-kept"][1] == "A", scores
    assert scores["neglected"][1] in ("D", "F")  # an EOL control plane caps the grade


def test_neglected_eks_system_daemonsets_are_platform_managed(emulate):
    cluster = register(emulate("neglected"), "neglected")
    snapshot = poll(cluster.pk).snapshot
    # The findings are stored and open, like any other...
    proxy = Finding.objects.get(cluster=cluster, check_id="workload.privileged",
                                namespace="kube-system", name="kube-proxy",
                                resolved_at__isnull=True)
    assert proxy.severity == "critical"
    # ...but not in the headline counts, the score or the fix list.
    policy = policy_for(cluster)
    rows = Finding.objects.filter(cluster=cluster, resolved_at__isnull=True)
    platform = [f for f in rows if policy.set_apart(f.kind, f.namespace, f.name)]
    assert {f.namespace for f in platform} == {"kube-system", ""}
    # Kubernetes' own RBAC subjects: system:masters holds cluster-admin, the controller
    # manager reads every Secret.
    assert {(f.check_id, f.kind, f.name) for f in platform if not f.namespace} == {
        ("access.cluster-admin-binding", "Group", "system:masters"),
        ("access.secrets-read", "User", "system:kube-controller-manager"),
    }
    critical = rows.filter(severity="critical")
    assert snapshot.finding_counts["severity"]["critical"] == len(
        [f for f in critical if not policy.set_apart(f.kind, f.namespace, f.name)])
    assert snapshot.finding_counts["platform_severity"]["critical"] == 2
    card = build(cluster, timezone.now(), policy).card
    privileged = card.fix_for("workload.privileged")
    assert (privileged.affected, privileged.out_of) == (4, snapshot.workload_count)
    assert card.platform == len(platform)
    assert {str(f.severity) for f in card.top_fixes(5)} <= {"critical", "high"}


def test_hostile_version_and_node_os_are_not_evaluated_and_cap_the_grade(emulate):
    cluster = register(emulate("hostile"), "hostile")
    snapshot = poll(cluster.pk).snapshot
    assert snapshot.category_scores["version"]["score"] is None
    assert snapshot.node_summary["os_unknown_nodes"] >= 1
    card = build(cluster, timezone.now(), policy_for(cluster)).card
    assert set(card.caps) == {Cap.CONTROL_PLANE_UNKNOWN, Cap.NODE_OS_UNKNOWN}
    assert card.grade.rank <= Grade.C.rank


def test_accepting_a_risk_raises_the_score_and_revoking_restores_it(emulate, alice):
    from datetime import timedelta

    from django.utils import timezone

    from posture.domain.models import Finding
    from posture.domain.risk import accept, revoke

    cluster = register(emulate("typical"), "typical")
    before = poll(cluster.pk).snapshot.score
    check = Finding.objects.filter(cluster=cluster).values_list("check_id", flat=True).first()
    acceptance = accept(cluster=cluster, check_id=check, namespace="", name_pattern="",
                        reason="compensating control", user=alice,
                        expires_at=timezone.now() + timedelta(days=30))
    accepted = cluster.snapshots.first()
    assert accepted.score > before
    revoke(acceptance, alice)
    assert cluster.snapshots.first().score == before
    assert RiskAcceptance.objects.get().revoked_by == alice


def test_without_trivy_vulnerabilities_are_not_evaluated_on_the_scorecard_and_its_page(
        emulate, alice, client):
    from django.urls import reverse

    from posture.web.dashboard import vulnerabilities

    cluster = register(emulate("typical"), "typical")
    cluster.owners.add(alice)
    snapshot = poll(cluster.pk).snapshot
    assert snapshot.coverage["vulnerabilityreports"]["state"] == "absent"
    # No score, out of the weighted mean: not a 100 for what nobody scanned.
    stored = snapshot.category_scores["vulnerabilities"]
    assert (stored["score"], stored["evaluated"], stored["effective_weight"]) == (None, False, 0)
    card = build(cluster, timezone.now(), policy_for(cluster)).card
    assert card.categories["vulnerabilities"].score is None
    assert {"vulnerability.critical", "vulnerability.high"} <= set(card.not_evaluated)
    # The vulnerabilities page says the same, for the same reason.
    page = vulnerabilities.build(cluster, vulnerabilities.Filters(), per_image=None)
    assert page.state == vulnerabilities.State.NOT_EVALUATED
    reason = snapshot.finding_counts["not_evaluated"]["vulnerability.critical"]
    assert snapshot.coverage["vulnerabilityreports"]["message"] in reason
    client.force_login(alice)
    html = client.get(reverse("clusters:detail", args=[cluster.pk])).content.decode()
    category = html[html.index('data-category="vulnerabilities"'):]
    assert "not evaluated" in category[:category.index("</summary>")]
    assert f"Not evaluated: <bdi>{page.reason}</bdi>." in html  # the reason may quote the cluster


WORKLOAD_HYGIENE = {"workload.requests-missing", "workload.default-service-account-token",
                    "image.insecure-registry", "workload.secret-in-env"}


def test_typical_and_neglected_show_every_workload_hygiene_check_and_well_kept_none(emulate):
    for name, expected in (("typical", WORKLOAD_HYGIENE), ("neglected", WORKLOAD_HYGIENE),
                           ("well-kept", set())):
        cluster = register(emulate(name), name)
        poll(cluster.pk)
        found = set(Finding.objects.filter(cluster=cluster, check_id__in=WORKLOAD_HYGIENE,
                                           resolved_at__isnull=True)
                    .values_list("check_id", flat=True))
        assert found == expected, name
